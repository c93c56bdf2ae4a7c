//! The ticketing command handler: each command the edge sends, run in one
//! transaction with its audit rows, its outbox events and its inbox record.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::common::ReplyV1;
use contracts::incident::*;
use contracts::knowledge::*;
use contracts::report::*;
use contracts::supplier::*;
use contracts::ticket::*;
use contracts::{Command, Envelope, ErrorBody, ErrorCode, Message, Role};
use runtime::bus::{Bus, Handler, HandlerError};
use runtime::inbox;
use runtime::outbox::Relay;
use runtime::store::Store;
use runtime::writer::GroupFailed;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::batch::{Batch, CONSUMER, Change};
use crate::desk::{self, incident_v1};
use crate::error::{Error, Result};
use crate::incidents;
use crate::validate::{MAX_SUMMARY, check_level, check_logged, check_text};
use crate::{
    changes, fields, knowledge, links, problems, reports, requests, suppliers, surveys, tickets,
};

/// Most incidents one page returns.
pub const MAX_PAGE: u32 = 500;

pub struct Commands {
    store: Store,
    writer: runtime::writer::Writer<Writer>,
    bus: Arc<dyn Bus>,
}

impl Commands {
    /// The handler, and its writer task (ends when the handler is dropped).
    pub fn new(store: Store, relay: Relay, bus: Arc<dyn Bus>) -> (Arc<Self>, JoinHandle<()>) {
        let (writer, task) = runtime::writer::Writer::start(Writer {
            store: store.clone(),
            relay,
        });
        let commands = Arc::new(Self { store, writer, bus });
        (commands, task)
    }
}

/// The command in `env`, or why it is not one (the dead letter's reason).
fn decode<C: Message>(env: &Envelope) -> std::result::Result<C, String> {
    env.decode::<C>().map_err(|e| e.to_string())
}

fn output<C: Command>(value: &C::Output) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

fn reply(env: &Envelope, body: ReplyV1) -> Envelope {
    env.caused(&body)
}

#[async_trait]
impl Handler for Commands {
    async fn handle(&self, env: Envelope) -> std::result::Result<Option<Envelope>, HandlerError> {
        let outcome = match env.message_type.as_str() {
            GetIncidentV1::TYPE => self.query::<GetIncidentV1>(&env).await?,
            ListIncidentsV1::TYPE => self.query::<ListIncidentsV1>(&env).await?,
            ListIncidentActionsV1::TYPE => self.query::<ListIncidentActionsV1>(&env).await?,
            GetIncidentHistoryV1::TYPE => self.query::<GetIncidentHistoryV1>(&env).await?,
            GetPriorityMatrixV1::TYPE => self.query::<GetPriorityMatrixV1>(&env).await?,
            GetTicketV1::TYPE => self.query::<GetTicketV1>(&env).await?,
            ListTicketsV1::TYPE => self.query::<ListTicketsV1>(&env).await?,
            ListActionsV1::TYPE => self.query::<ListActionsV1>(&env).await?,
            GetHistoryV1::TYPE => self.query::<GetHistoryV1>(&env).await?,
            ListLinksV1::TYPE => self.query::<ListLinksV1>(&env).await?,
            GetChangeCalendarV1::TYPE => self.query::<GetChangeCalendarV1>(&env).await?,
            GetFieldDefinitionsV1::TYPE => self.query::<GetFieldDefinitionsV1>(&env).await?,
            ListRequestTypesV1::TYPE => self.query::<ListRequestTypesV1>(&env).await?,
            GetKbTemplateV1::TYPE => self.query::<GetKbTemplateV1>(&env).await?,
            ExportTicketV1::TYPE => self.query::<ExportTicketV1>(&env).await?,
            ListArticlesV1::TYPE => self.query::<ListArticlesV1>(&env).await?,
            GetArticleV1::TYPE => self.query::<GetArticleV1>(&env).await?,
            ListSuppliersV1::TYPE => self.query::<ListSuppliersV1>(&env).await?,
            GetSurveyV1::TYPE => self.query::<GetSurveyV1>(&env).await?,
            GetIncidentSurveyV1::TYPE => self.query::<GetIncidentSurveyV1>(&env).await?,
            GetProblemReportV1::TYPE => self.query::<GetProblemReportV1>(&env).await?,
            GetIncidentReportV1::TYPE => self.query::<GetIncidentReportV1>(&env).await?,
            // Everything else changes state: the writer knows each kind and
            // rejects what it does not know.
            _ => {
                if env.message_type == RegisterSupplierV1::TYPE {
                    // The supplier's queue, declared before its row commits
                    // (and outside the writer's transaction): what is sent
                    // to it waits for it.
                    let id = suppliers::id_for(&env);
                    self.bus
                        .declare(&suppliers::outbound_spec(id))
                        .await
                        .map_err(|e| HandlerError::Retry(e.to_string()))?;
                }
                return self.writer.submit(env).await.map(Some);
            }
        };
        Ok(Some(reply(&env, outcome)))
    }
}

fn settle(outcome: Result<serde_json::Value>) -> std::result::Result<ReplyV1, HandlerError> {
    match outcome {
        Ok(value) => Ok(ReplyV1::Ok(value)),
        Err(Error::Domain(body)) => Ok(ReplyV1::Error(body)),
        Err(e) => Err(HandlerError::Retry(e.to_string())),
    }
}

impl Commands {
    /// Read-only commands: no transaction, no inbox (repeating them is harmless).
    async fn query<C: Command + Query>(
        &self,
        env: &Envelope,
    ) -> std::result::Result<ReplyV1, HandlerError> {
        let cmd: C = decode(env).map_err(HandlerError::Reject)?;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(|e| HandlerError::Retry(e.to_string()))?;
        settle(cmd.run(&mut conn, env.tenant_id).await)
    }
}

/// Applies state changes in groups (see [`runtime::writer`]): whatever
/// commands are waiting commit in one transaction, with one hold of each
/// tenant's reference counter.
pub struct Writer {
    store: Store,
    relay: Relay,
}

type Outcome = std::result::Result<Envelope, HandlerError>;

#[async_trait]
impl runtime::writer::Group for Writer {
    type Item = Envelope;
    type Output = Envelope;
    const NAME: &'static str = CONSUMER;
    const MAX: usize = 128;

    async fn commit(&self, envs: &[Envelope]) -> std::result::Result<Vec<Outcome>, GroupFailed> {
        self.commit_group(envs.iter())
            .await
            .map_err(|e| GroupFailed::retry(&e, e.is_unavailable()))
    }
}

impl Writer {
    /// One transaction for `envs`. `Err` means nothing was committed.
    async fn commit_group<'e>(
        &self,
        envs: impl Iterator<Item = &'e Envelope>,
    ) -> Result<Vec<Outcome>> {
        let envs: Vec<&Envelope> = envs.collect();
        let mut tx = self.store.begin().await?;
        let ids: Vec<Uuid> = envs.iter().map(|e| e.message_id).collect();
        let mut answered = inbox::check(&mut tx, CONSUMER, &ids).await?;
        let mut batch = Batch::default();
        // Counters before any ticket row: every replica takes its locks
        // in the same order.
        let logging = envs
            .iter()
            .filter(|e| !answered.contains_key(&e.message_id))
            .filter_map(|e| Some((e.tenant_id, logs(e)?.as_str())))
            .collect();
        batch.lock_counters(&mut tx, logging).await?;
        let mut outcomes = Vec::with_capacity(envs.len());
        let mut committed = Vec::new();
        for env in envs {
            let applied = match answered.get(&env.message_id) {
                Some(stored) => Applied::Answered(stored_reply(stored.as_deref())),
                // Its caller has been told it failed: doing it now would do
                // behind their back what they may well try again.
                None if env.is_expired(runtime::store::now()) => Applied::Rejected(
                    "expired: the caller stopped waiting before it was handled".into(),
                ),
                None => {
                    let applied = apply(&mut tx, &mut batch, env).await?;
                    if let Applied::Wrote(body) = &applied {
                        committed.push(env.message_type.as_str());
                        let stored = inbox_copy(&env.message_type, body);
                        batch.processed(env.message_id, stored.clone());
                        // A redelivered copy later in this group gets the same answer.
                        answered.insert(env.message_id, Some(stored));
                    }
                    applied
                }
            };
            outcomes.push(applied.into_reply(env));
        }
        let wrote = batch.wrote();
        batch.flush(&mut tx).await?;
        tx.commit().await?;
        if wrote {
            self.relay.wake();
        }
        // Counted once committed: a group that fails and is retried one by
        // one counts each command once.
        for t in committed {
            metrics::counter!("ticketing_commands_total", "type" => t.to_owned()).increment(1);
        }
        Ok(outcomes)
    }
}

/// The reply as the inbox keeps it, to answer a redelivery. A secret shown
/// once (a supplier's token) is not kept: a retry hears that it was issued.
fn inbox_copy(message_type: &str, reply: &ReplyV1) -> String {
    let mut reply = reply.clone();
    if matches!(
        message_type,
        RegisterSupplierV1::TYPE | RotateSupplierTokenV1::TYPE
    ) && let ReplyV1::Ok(value) = &mut reply
        && let Some(token) = value.get_mut("token")
    {
        *token = serde_json::Value::String("(shown once, when it was issued)".into());
    }
    serde_json::to_string(&reply).unwrap_or_default()
}

fn stored_reply(stored: Option<&str>) -> ReplyV1 {
    stored
        .and_then(|s| serde_json::from_str::<ReplyV1>(s).ok())
        .unwrap_or(ReplyV1::Error(ErrorBody::new(
            ErrorCode::Conflict,
            "already processed",
        )))
}

enum Applied {
    /// Done: the reply, whose effects commit with the group.
    Wrote(ReplyV1),
    /// Refused (nothing written) or answered from the inbox.
    Answered(ReplyV1),
    Rejected(String),
}

impl Applied {
    fn into_reply(self, env: &Envelope) -> Outcome {
        match self {
            Self::Wrote(body) | Self::Answered(body) => Ok(reply(env, body)),
            Self::Rejected(reason) => Err(HandlerError::Reject(reason)),
        }
    }
}

/// The kind of ticket `env` logs, if it logs one.
fn logs(env: &Envelope) -> Option<TicketKind> {
    match env.message_type.as_str() {
        LogIncidentV1::TYPE => Some(TicketKind::Incident),
        LogTicketV1::TYPE => env
            .payload
            .get("kind")
            .and_then(|k| k.as_str())
            .and_then(TicketKind::parse)
            .filter(|k| *k != TicketKind::Incident),
        _ => None,
    }
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A ticket as the first version's incident commands answer.
fn incident_json(t: TicketV1) -> Result<serde_json::Value> {
    Ok(json(&tickets::to_incident(t)?))
}

/// Decodes `env` and runs its command.
async fn apply(conn: &mut AnyConnection, batch: &mut Batch, env: &Envelope) -> Result<Applied> {
    let now = runtime::store::now();
    // Decodes the command (a dead letter if it is not one), runs it, and
    // turns what it returns into the reply's value.
    macro_rules! run {
        ($ty:ty, |$cmd:ident| $body:expr) => {
            match decode::<$ty>(env) {
                Ok($cmd) => $body,
                Err(e) => return Ok(Applied::Rejected(e)),
            }
        };
    }
    let outcome: Result<serde_json::Value> = match env.message_type.as_str() {
        LogIncidentV1::TYPE => run!(LogIncidentV1, |c| log(conn, batch, env, c, now).await),
        AssignIncidentV1::TYPE => run!(AssignIncidentV1, |c| {
            match desk::assign(conn, batch, env, incident_v1::assign(c), now).await {
                Ok(t) => incident_json(t),
                Err(e) => Err(e),
            }
        }),
        AddIncidentActionV1::TYPE => run!(AddIncidentActionV1, |c| {
            desk::add_action(conn, batch, env, incident_v1::add_action(c), now)
                .await
                .map(|a| json(&a))
        }),
        ChangeIncidentStatusV1::TYPE => run!(ChangeIncidentStatusV1, |c| {
            match desk::change_status(conn, batch, env, incident_v1::change_status(c), now).await {
                Ok(t) => incident_json(t),
                Err(e) => Err(e),
            }
        }),
        SetPriorityMatrixV1::TYPE => run!(SetPriorityMatrixV1, |c| set_matrix(conn, env, c).await),
        LogTicketV1::TYPE => run!(LogTicketV1, |c| {
            desk::log(conn, batch, env, c, now).await.map(|t| json(&t))
        }),
        UpdateTicketV1::TYPE => run!(UpdateTicketV1, |c| {
            desk::update(conn, batch, env, c, now)
                .await
                .map(|t| json(&t))
        }),
        AssignTicketV1::TYPE => run!(AssignTicketV1, |c| {
            desk::assign(conn, batch, env, c, now)
                .await
                .map(|t| json(&t))
        }),
        ChangeTicketStatusV1::TYPE => run!(ChangeTicketStatusV1, |c| {
            desk::change_status(conn, batch, env, c, now)
                .await
                .map(|t| json(&t))
        }),
        AddActionV1::TYPE => run!(AddActionV1, |c| {
            desk::add_action(conn, batch, env, c, now)
                .await
                .map(|a| json(&a))
        }),
        LinkTicketsV1::TYPE => run!(LinkTicketsV1, |c| {
            desk::link(conn, batch, env, c, now).await.map(|l| json(&l))
        }),
        UnlinkTicketsV1::TYPE => run!(UnlinkTicketsV1, |c| {
            desk::unlink(conn, batch, env, c, now)
                .await
                .map(|l| json(&l))
        }),
        LinkIncidentsV1::TYPE => run!(LinkIncidentsV1, |c| {
            problems::link_incidents(conn, batch, env, c, now)
                .await
                .map(|t| json(&t))
        }),
        UnlinkIncidentV1::TYPE => run!(UnlinkIncidentV1, |c| {
            problems::unlink_incident(conn, batch, env, c, now)
                .await
                .map(|t| json(&t))
        }),
        ApplyWorkaroundV1::TYPE => run!(ApplyWorkaroundV1, |c| {
            problems::apply_workaround(conn, batch, env, c, now)
                .await
                .map(|w| json(&w))
        }),
        DecideChangeV1::TYPE => run!(DecideChangeV1, |c| {
            changes::decide(conn, batch, env, c, now)
                .await
                .map(|t| json(&t))
        }),
        CompleteRequestStepV1::TYPE => run!(CompleteRequestStepV1, |c| {
            requests::complete_step(conn, batch, env, c, now)
                .await
                .map(|t| json(&t))
        }),
        SetFieldDefinitionsV1::TYPE => run!(SetFieldDefinitionsV1, |c| {
            desk::set_field_definitions(conn, batch, env, c)
                .await
                .map(|d| json(&d))
        }),
        SetKbTemplateV1::TYPE => run!(SetKbTemplateV1, |c| {
            knowledge::set_template(conn, env, c)
                .await
                .map(|t| json(&t))
        }),
        PublishArticleV1::TYPE => run!(PublishArticleV1, |c| {
            knowledge::publish(conn, env, c, now)
                .await
                .map(|a| json(&a))
        }),
        WithdrawArticleV1::TYPE => run!(WithdrawArticleV1, |c| {
            knowledge::withdraw(conn, env, c).await.map(|a| json(&a))
        }),
        AnswerSurveyV1::TYPE => run!(AnswerSurveyV1, |c| {
            surveys::answer(conn, env.tenant_id, &c.token, c.rating, c.comment, now)
                .await
                .map(|s| json(&s))
        }),
        RotateSupplierTokenV1::TYPE => run!(RotateSupplierTokenV1, |c| {
            suppliers::rotate(conn, env, c).await.map(|s| json(&s))
        }),
        RegisterSupplierV1::TYPE => run!(RegisterSupplierV1, |c| {
            suppliers::register(conn, env, c, now)
                .await
                .map(|s| json(&s))
        }),
        DefineRequestTypeV1::TYPE => run!(DefineRequestTypeV1, |c| {
            requests::define_type(conn, env, c).await.map(|t| json(&t))
        }),
        other => return Ok(Applied::Rejected(format!("unknown message type {other}"))),
    };
    match outcome {
        Ok(value) => Ok(Applied::Wrote(ReplyV1::Ok(value))),
        Err(Error::Domain(body)) => Ok(Applied::Answered(ReplyV1::Error(body))),
        Err(e) => Err(e),
    }
}

/// A read-only command.
#[async_trait]
trait Query: Command + Send {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value>;
}

/// Extended data filters (`field.<key>=<value>`): one-line text each.
fn check_field_filters(fields: &std::collections::BTreeMap<String, String>) -> Result<()> {
    for (key, value) in fields {
        let name = format!("field.{key}");
        check_text(&name, key, MAX_SUMMARY, true)?;
        check_text(&name, value, MAX_SUMMARY, false)?;
    }
    Ok(())
}

/// A list's cursor: the id of the last item of the page before.
fn check_cursor(cursor: Option<&str>) -> Result<()> {
    if let Some(c) = cursor
        && Uuid::parse_str(c).is_err()
    {
        return Err(Error::field("cursor", "not a cursor this desk issued"));
    }
    Ok(())
}

#[async_trait]
impl Query for GetIncidentV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let i = incidents::find(conn, tenant, &self.incident, &self.viewer).await?;
        Ok(output::<Self>(&i))
    }
}

#[async_trait]
impl Query for ListIncidentsV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        check_cursor(self.cursor.as_deref())?;
        if let Some(text) = &self.filter.text {
            check_text("q", text, MAX_SUMMARY, false)?;
        }
        check_field_filters(&self.filter.fields)?;
        let limit = self.limit.clamp(1, MAX_PAGE);
        let page = incidents::list(
            conn,
            tenant,
            &self.viewer,
            &self.filter,
            self.cursor.as_deref(),
            limit,
        )
        .await?;
        Ok(output::<Self>(&page))
    }
}

#[async_trait]
impl Query for ListIncidentActionsV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        incident_v1::actions(self).run(conn, tenant).await
    }
}

#[async_trait]
impl Query for GetIncidentHistoryV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        incident_v1::history(self).run(conn, tenant).await
    }
}

#[async_trait]
impl Query for GetPriorityMatrixV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let cells = incidents::matrix(conn, tenant).await?;
        Ok(output::<Self>(&PriorityMatrixV1 { cells }))
    }
}

#[async_trait]
impl Query for GetTicketV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let t = tickets::find(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        Ok(output::<Self>(&t))
    }
}

#[async_trait]
impl Query for ListTicketsV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        check_cursor(self.cursor.as_deref())?;
        if let Some(text) = &self.filter.text {
            check_text("q", text, MAX_SUMMARY, false)?;
        }
        check_field_filters(&self.filter.fields)?;
        if let Some(s) = &self.filter.status
            && !self.kind.statuses().contains(&s.as_str())
        {
            return Err(Error::field(
                "status",
                format!("one of {}", self.kind.statuses().join(", ")),
            ));
        }
        let limit = self.limit.clamp(1, MAX_PAGE);
        let page = tickets::list(
            conn,
            tenant,
            self.kind,
            &self.viewer,
            tickets::Listing {
                filter: &self.filter,
                problem_id: None,
                cursor: self.cursor.as_deref(),
                limit,
            },
        )
        .await?;
        Ok(output::<Self>(&page))
    }
}

#[async_trait]
impl Query for ListActionsV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let t = tickets::find(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        let actions = incidents::actions(conn, tenant, t.id, &self.viewer).await?;
        Ok(output::<Self>(&actions))
    }
}

#[async_trait]
impl Query for GetHistoryV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        desk::staff(&self.viewer, self.kind)?;
        let t = tickets::find(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        let entries = tickets::history(conn, tenant, t.id).await?;
        Ok(output::<Self>(&entries))
    }
}

#[async_trait]
impl Query for ListLinksV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let t = tickets::find(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        let links = links::list(conn, tenant, t.id, &self.viewer).await?;
        Ok(output::<Self>(&links))
    }
}

#[async_trait]
impl Query for GetChangeCalendarV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let calendar = changes::calendar(conn, tenant, &self).await?;
        Ok(output::<Self>(&calendar))
    }
}

#[async_trait]
impl Query for GetFieldDefinitionsV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let defs = FieldDefinitionsV1 {
            kind: self.kind,
            fields: fields::definitions(conn, tenant, self.kind).await?,
        };
        Ok(output::<Self>(&defs))
    }
}

#[async_trait]
impl Query for ListRequestTypesV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let types = fields::request_types(conn, tenant).await?;
        Ok(output::<Self>(&types))
    }
}

#[async_trait]
impl Query for GetKbTemplateV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        desk::staff(&self.viewer, TicketKind::Problem)?;
        Ok(output::<Self>(&knowledge::template(conn, tenant).await?))
    }
}

#[async_trait]
impl Query for ExportTicketV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let (_, export) =
            knowledge::export(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        Ok(output::<Self>(&export))
    }
}

#[async_trait]
impl Query for ListArticlesV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        check_cursor(self.cursor.as_deref())?;
        if let Some(text) = &self.text {
            check_text("q", text, MAX_SUMMARY, false)?;
        }
        let limit = self.limit.clamp(1, MAX_PAGE);
        Ok(output::<Self>(
            &knowledge::list(conn, tenant, &self, limit).await?,
        ))
    }
}

#[async_trait]
impl Query for GetArticleV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        Ok(output::<Self>(
            &knowledge::get(conn, tenant, self.article).await?,
        ))
    }
}

#[async_trait]
impl Query for ListSuppliersV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        desk::staff(&self.viewer, TicketKind::Incident)?;
        Ok(output::<Self>(&suppliers::list(conn, tenant).await?))
    }
}

#[async_trait]
impl Query for GetSurveyV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let survey = surveys::by_token(conn, tenant, &self.token, runtime::store::now()).await?;
        Ok(output::<Self>(&survey))
    }
}

#[async_trait]
impl Query for GetIncidentSurveyV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let t = tickets::find(
            conn,
            tenant,
            TicketKind::Incident,
            &self.incident,
            &self.viewer,
        )
        .await?;
        let survey = surveys::of_incident(conn, tenant, &t, &self.viewer).await?;
        Ok(output::<Self>(&survey))
    }
}

#[async_trait]
impl Query for GetProblemReportV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let report = reports::problem_report(conn, tenant, &self).await?;
        Ok(output::<Self>(&report))
    }
}

#[async_trait]
impl Query for GetIncidentReportV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let report = reports::incident_report(conn, tenant, &self).await?;
        Ok(output::<Self>(&report))
    }
}

async fn set_matrix(
    conn: &mut AnyConnection,
    env: &Envelope,
    cmd: SetPriorityMatrixV1,
) -> Result<serde_json::Value> {
    if cmd.actor.role != Role::Admin {
        return Err(Error::not_found("priority matrix"));
    }
    for (n, c) in cmd.cells.iter().enumerate() {
        check_level(&format!("cells[{n}].impact"), Some(c.impact), 3)?;
        check_level(&format!("cells[{n}].urgency"), Some(c.urgency), 3)?;
        check_level(&format!("cells[{n}].priority"), Some(c.priority), 5)?;
        if cmd.cells[..n]
            .iter()
            .any(|o| (o.impact, o.urgency) == (c.impact, c.urgency))
        {
            return Err(Error::field(
                &format!("cells[{n}]"),
                "this impact and urgency are given twice",
            ));
        }
    }
    incidents::set_matrix(conn, env.tenant_id, &cmd.cells).await?;
    let cells = incidents::matrix(conn, env.tenant_id).await?;
    Ok(output::<SetPriorityMatrixV1>(&PriorityMatrixV1 { cells }))
}

async fn log(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: LogIncidentV1,
    now: OffsetDateTime,
) -> Result<serde_json::Value> {
    check_logged(
        &cmd.summary,
        &cmd.description,
        cmd.category.as_deref(),
        cmd.service.as_deref(),
    )?;
    check_level("priority", cmd.priority, 5)?;
    check_level("impact", cmd.impact, 3)?;
    check_level("urgency", cmd.urgency, 3)?;
    let tenant = env.tenant_id;
    let priority = match (cmd.priority, cmd.impact, cmd.urgency) {
        (Some(p), _, _) => p,
        (None, Some(i), Some(u)) => incidents::matrix_priority(tx, tenant, i, u).await?,
        _ => {
            return Err(Error::field(
                "priority",
                "give a priority, or both impact and urgency",
            ));
        }
    };
    let defs = desk::field_defs(tx, batch, tenant, TicketKind::Incident, None).await?;
    let fields = fields::apply_values(&defs, &Default::default(), &cmd.fields)?;
    // A customer logs incidents for themself only.
    let customer_id = cmd.actor.customer_scope().or(cmd.customer_id);
    let number = batch.next_number(tx, tenant, "incident").await?;
    let incident = IncidentV1 {
        id: Uuid::now_v7(),
        reference: format!("INC-{number:06}"),
        status: IncidentStatus::Open,
        priority,
        impact: cmd.impact,
        urgency: cmd.urgency,
        summary: cmd.summary.trim().to_owned(),
        description: cmd.description,
        customer_id,
        category: cmd.category,
        service: cmd.service,
        assignee_id: None,
        team_id: None,
        resolution: None,
        logged_by: cmd.actor.clone(),
        created_at: now,
        updated_at: now,
        resolved_at: None,
        closed_at: None,
        version: 1,
        first_response_at: None,
        supplier_id: None,
        company_id: cmd.company_id,
        problem_id: None,
        fields,
    };
    batch.insert_incident(tenant, &incident);
    let created = Change {
        change: "created",
        from: None,
        to: Some(incident.status.as_str().to_owned()),
    };
    batch.audit(tenant, incident.id, &cmd.actor, now, created);
    batch.publish(
        env,
        &IncidentLoggedV1 {
            incident: incident.clone(),
        },
    );
    Ok(output::<LogIncidentV1>(&incident))
}
