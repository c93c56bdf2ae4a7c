//! The ticketing command handler: each command the edge sends, run in one
//! transaction with its audit rows, its outbox events and its inbox record.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::commands::{TicketingChange, TicketingCommand, TicketingQuery};
use contracts::common::ReplyV1;
use contracts::incident::*;
use contracts::knowledge::*;
use contracts::report::*;
use contracts::supplier::*;
use contracts::ticket::*;
use contracts::{Command, Envelope, Page, Role};
use runtime::bus::{Bus, HandlerError};
use runtime::commands::{self, Answers, reply};
use runtime::inbox;
use runtime::outbox::Relay;
use runtime::paging::{Order, Paging};
use runtime::store::Store;
use runtime::writer::GroupFailed;
use sqlx::AnyConnection;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::batch::{Batch, CONSUMER};
use crate::desk::{self, incident};
use crate::error::{Error, Result};
use crate::incidents;
use crate::validate::{MAX_SUMMARY, check_level, check_text};
use crate::{
    changes, fields, knowledge, links, problems, reports, requests, suppliers, surveys, tickets,
};
use contracts::limits::{MAX_LEVEL, MAX_PRIORITY};

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

#[async_trait]
impl Answers for Commands {
    type Commands = TicketingCommand;

    fn store(&self) -> &Store {
        &self.store
    }

    async fn query(
        &self,
        conn: &mut AnyConnection,
        env: &Envelope,
        query: TicketingQuery,
    ) -> std::result::Result<ReplyV1, HandlerError> {
        answer_query(conn, env.tenant_id, query).await
    }

    /// Hands `change`, which came in `env` (whose id keys it in the inbox:
    /// the same id again is answered, not done again), to the writer, to
    /// commit with the other changes waiting.
    async fn change(
        &self,
        env: &Envelope,
        change: TicketingChange,
    ) -> std::result::Result<ReplyV1, HandlerError> {
        if let TicketingChange::RegisterSupplierV1(_) = &change {
            // The supplier's queue, declared before its row commits (and
            // outside the writer's transaction): what is sent to it waits
            // for it.
            let id = suppliers::id_for(env);
            self.bus
                .declare(&suppliers::outbound_spec(id))
                .await
                .map_err(HandlerError::retry)?;
        }
        self.writer.submit((env.clone(), change)).await
    }
}

impl Commands {
    /// The ticket `key` names (its id or reference), as `viewer` may see it.
    pub async fn ticket(
        &self,
        tenant: Uuid,
        kind: TicketKind,
        key: &str,
        viewer: &contracts::Actor,
    ) -> Result<TicketV1> {
        let mut conn = self.store.pool().acquire().await?;
        tickets::find(&mut conn, tenant, kind, key, viewer).await
    }
}

/// Answers a query.
async fn answer_query(
    conn: &mut AnyConnection,
    tenant: Uuid,
    query: TicketingQuery,
) -> std::result::Result<ReplyV1, HandlerError> {
    match query {
        TicketingQuery::GetIncidentV1(c) => reply::<GetIncidentV1>(c.run(conn, tenant).await),
        TicketingQuery::ListIncidentsV1(c) => reply::<ListIncidentsV1>(c.run(conn, tenant).await),
        TicketingQuery::GetPriorityMatrixV1(c) => {
            reply::<GetPriorityMatrixV1>(c.run(conn, tenant).await)
        }
        TicketingQuery::GetTicketV1(c) => reply::<GetTicketV1>(c.run(conn, tenant).await),
        TicketingQuery::ListTicketsV1(c) => reply::<ListTicketsV1>(c.run(conn, tenant).await),
        TicketingQuery::ListActionsV1(c) => reply::<ListActionsV1>(c.run(conn, tenant).await),
        TicketingQuery::GetHistoryV1(c) => reply::<GetHistoryV1>(c.run(conn, tenant).await),
        TicketingQuery::ListLinksV1(c) => reply::<ListLinksV1>(c.run(conn, tenant).await),
        TicketingQuery::GetChangeCalendarV1(c) => {
            reply::<GetChangeCalendarV1>(c.run(conn, tenant).await)
        }
        TicketingQuery::GetFieldDefinitionsV1(c) => {
            reply::<GetFieldDefinitionsV1>(c.run(conn, tenant).await)
        }
        TicketingQuery::ListRequestTypesV1(c) => {
            reply::<ListRequestTypesV1>(c.run(conn, tenant).await)
        }
        TicketingQuery::GetKbTemplateV1(c) => reply::<GetKbTemplateV1>(c.run(conn, tenant).await),
        TicketingQuery::ExportTicketV1(c) => reply::<ExportTicketV1>(c.run(conn, tenant).await),
        TicketingQuery::ListArticlesV1(c) => reply::<ListArticlesV1>(c.run(conn, tenant).await),
        TicketingQuery::GetArticleV1(c) => reply::<GetArticleV1>(c.run(conn, tenant).await),
        TicketingQuery::ListSuppliersV1(c) => reply::<ListSuppliersV1>(c.run(conn, tenant).await),
        TicketingQuery::GetSurveyV1(c) => reply::<GetSurveyV1>(c.run(conn, tenant).await),
        TicketingQuery::GetIncidentSurveyV1(c) => {
            reply::<GetIncidentSurveyV1>(c.run(conn, tenant).await)
        }
        TicketingQuery::GetProblemReportV1(c) => {
            reply::<GetProblemReportV1>(c.run(conn, tenant).await)
        }
        TicketingQuery::GetIncidentReportV1(c) => {
            reply::<GetIncidentReportV1>(c.run(conn, tenant).await)
        }
    }
}

/// Applies state changes in groups (see [`runtime::writer`]): whatever
/// commands are waiting commit in one transaction, with one hold of each
/// tenant's reference counter.
pub struct Writer {
    store: Store,
    relay: Relay,
}

type Outcome = std::result::Result<ReplyV1, HandlerError>;

#[async_trait]
impl runtime::writer::Group for Writer {
    /// A change and the envelope it came in.
    type Item = (Envelope, TicketingChange);
    type Output = ReplyV1;
    const NAME: &'static str = CONSUMER;
    const MAX: usize = 128;

    async fn commit(
        &self,
        changes: &[(Envelope, TicketingChange)],
    ) -> std::result::Result<Vec<Outcome>, GroupFailed> {
        self.commit_group(changes)
            .await
            .map_err(|e| GroupFailed::retry(&e, e.is_unavailable()))
    }
}

impl Writer {
    /// One transaction for `envs`. `Err` means nothing was committed.
    async fn commit_group(&self, changes: &[(Envelope, TicketingChange)]) -> Result<Vec<Outcome>> {
        let mut tx = self.store.begin().await?;
        let ids: Vec<Uuid> = changes.iter().map(|(e, _)| e.message_id).collect();
        let mut answered = inbox::check(&mut tx, CONSUMER, &ids).await?;
        let mut batch = Batch::default();
        // Counters before any ticket row: every replica takes its locks
        // in the same order.
        let logging = changes
            .iter()
            .filter(|(e, _)| !answered.contains_key(&e.message_id))
            .filter_map(|(e, c)| Some((e.tenant_id, logs(c)?.as_str())))
            .collect();
        batch.lock_counters(&mut tx, logging).await?;
        let mut outcomes = Vec::with_capacity(changes.len());
        let mut committed = Vec::new();
        for (env, change) in changes {
            let applied = match answered.get(&env.message_id) {
                Some(stored) => match commands::stored_reply(stored.as_deref()) {
                    Ok(reply) => Applied::Answered(reply),
                    Err(e) => Applied::Rejected(e.to_string()),
                },
                None if env.is_expired(runtime::store::now()) => {
                    Applied::Rejected(commands::expired().to_string())
                }
                None => {
                    let applied = apply(&mut tx, &mut batch, env, change.clone()).await?;
                    if let Applied::Wrote(body) = &applied {
                        committed.push(change.type_name());
                        let stored = inbox_copy(change, body)?;
                        batch.processed(env.message_id, stored.clone());
                        // A redelivered copy later in this group gets the same answer.
                        answered.insert(env.message_id, Some(stored));
                    }
                    applied
                }
            };
            outcomes.push(applied.into_reply());
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
fn inbox_copy(change: &TicketingChange, reply: &ReplyV1) -> Result<String> {
    let mut reply = reply.clone();
    if let TicketingChange::RegisterSupplierV1(_) | TicketingChange::RotateSupplierTokenV1(_) =
        change
        && let ReplyV1::Ok(value) = &mut reply
        && let Some(token) = value.get_mut("token")
    {
        *token = serde_json::Value::String(contracts::supplier::TOKEN_SHOWN_ONCE.into());
    }
    serde_json::to_string(&reply).map_err(Error::retry)
}

enum Applied {
    /// Done: the reply, whose effects commit with the group.
    Wrote(ReplyV1),
    /// Refused (nothing written) or answered from the inbox.
    Answered(ReplyV1),
    Rejected(String),
}

impl Applied {
    fn into_reply(self) -> Outcome {
        match self {
            Self::Wrote(body) | Self::Answered(body) => Ok(body),
            Self::Rejected(reason) => Err(HandlerError::Reject(reason)),
        }
    }
}

/// The kind of ticket `change` logs, if it logs one.
fn logs(change: &TicketingChange) -> Option<TicketKind> {
    match change {
        TicketingChange::LogIncidentV1(_) => Some(TicketKind::Incident),
        TicketingChange::LogTicketV1(c) => Some(c.kind),
        _ => None,
    }
}

/// Runs `change`, which came in `env`.
async fn apply(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    change: TicketingChange,
) -> Result<Applied> {
    let now = runtime::store::now();
    match change {
        TicketingChange::LogIncidentV1(c) => answer::<LogIncidentV1>(
            desk::log(conn, batch, env, c.into(), now)
                .await
                .and_then(incident),
        ),
        TicketingChange::SetPriorityMatrixV1(c) => {
            answer::<SetPriorityMatrixV1>(set_matrix(conn, env, c).await)
        }
        TicketingChange::LogTicketV1(c) => {
            answer::<LogTicketV1>(desk::log(conn, batch, env, c, now).await)
        }
        TicketingChange::UpdateTicketV1(c) => {
            answer::<UpdateTicketV1>(desk::update(conn, batch, env, c, now).await)
        }
        TicketingChange::AssignTicketV1(c) => {
            answer::<AssignTicketV1>(desk::assign(conn, batch, env, c, now).await)
        }
        TicketingChange::ChangeTicketStatusV1(c) => {
            answer::<ChangeTicketStatusV1>(desk::change_status(conn, batch, env, c, now).await)
        }
        TicketingChange::AddActionV1(c) => {
            answer::<AddActionV1>(desk::add_action(conn, batch, env, c, now).await)
        }
        TicketingChange::LinkTicketsV1(c) => {
            answer::<LinkTicketsV1>(desk::link(conn, batch, env, c, now).await)
        }
        TicketingChange::UnlinkTicketsV1(c) => {
            answer::<UnlinkTicketsV1>(desk::unlink(conn, batch, env, c, now).await)
        }
        TicketingChange::LinkIncidentsV1(c) => {
            answer::<LinkIncidentsV1>(problems::link_incidents(conn, batch, env, c, now).await)
        }
        TicketingChange::UnlinkIncidentV1(c) => {
            answer::<UnlinkIncidentV1>(problems::unlink_incident(conn, batch, env, c, now).await)
        }
        TicketingChange::ApplyWorkaroundV1(c) => {
            answer::<ApplyWorkaroundV1>(problems::apply_workaround(conn, batch, env, c, now).await)
        }
        TicketingChange::DecideChangeV1(c) => {
            answer::<DecideChangeV1>(changes::decide(conn, batch, env, c, now).await)
        }
        TicketingChange::ReplanChangeV1(c) => {
            answer::<ReplanChangeV1>(changes::replan(conn, batch, env, c, now).await)
        }
        TicketingChange::CompleteRequestStepV1(c) => {
            answer::<CompleteRequestStepV1>(requests::complete_step(conn, batch, env, c, now).await)
        }
        TicketingChange::SetFieldDefinitionsV1(c) => {
            answer::<SetFieldDefinitionsV1>(desk::set_field_definitions(conn, batch, env, c).await)
        }
        TicketingChange::SetKbTemplateV1(c) => {
            answer::<SetKbTemplateV1>(knowledge::set_template(conn, env, c).await)
        }
        TicketingChange::PublishArticleV1(c) => {
            answer::<PublishArticleV1>(knowledge::publish(conn, env, c, now).await)
        }
        TicketingChange::WithdrawArticleV1(c) => {
            answer::<WithdrawArticleV1>(knowledge::withdraw(conn, env, c).await)
        }
        TicketingChange::AnswerSurveyV1(c) => answer::<AnswerSurveyV1>(
            surveys::answer(conn, env.tenant_id, &c.token, c.rating, c.comment, now).await,
        ),
        TicketingChange::RotateSupplierTokenV1(c) => {
            answer::<RotateSupplierTokenV1>(suppliers::rotate(conn, env, c).await)
        }
        TicketingChange::RegisterSupplierV1(c) => {
            answer::<RegisterSupplierV1>(suppliers::register(conn, env, c, now).await)
        }
        TicketingChange::DefineRequestTypeV1(c) => {
            answer::<DefineRequestTypeV1>(requests::define_type(conn, env, c).await)
        }
        TicketingChange::DeleteRequestTypeV1(c) => {
            answer::<DeleteRequestTypeV1>(requests::delete_type(conn, env, c).await)
        }
    }
}

/// What change `C` came to: its answer (committed with the group), its
/// refusal (nothing written), or a failure that fails the group.
fn answer<C: Command>(outcome: Result<C::Output>) -> Result<Applied> {
    match outcome {
        Ok(answer) => Ok(match commands::to_json(&answer) {
            Ok(value) => Applied::Wrote(ReplyV1::Ok(value)),
            Err(e) => Applied::Rejected(e.to_string()),
        }),
        Err(Error::Refused(body)) => Ok(Applied::Answered(ReplyV1::Error(body))),
        Err(e) => Err(e),
    }
}

/// A query: each answers from the store as it is.
#[async_trait]
trait Query: Command + Send {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output>;
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

/// The page a list asks for, newest first.
fn paging(cursor: Option<&str>, limit: u32) -> Result<Paging> {
    Ok(Paging::new(cursor, Some(limit), Order::Newest)?)
}

/// The page a ticket list asks for, in the order it asks for.
fn ticket_paging(cursor: Option<&str>, limit: u32, sort: TicketSort) -> Result<Paging> {
    match tickets::sort_key(sort) {
        None => paging(cursor, limit),
        Some(key) => Ok(Paging::sorted(cursor, Some(limit), key)?),
    }
}

/// Deprecated: [`GetTicketV1`] of an incident, seen as one.
#[async_trait]
impl Query for GetIncidentV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let get = GetTicketV1 {
            viewer: self.viewer,
            kind: TicketKind::Incident,
            ticket: self.incident,
        };
        incident(get.run(conn, tenant).await?)
    }
}

/// Deprecated: [`ListTicketsV1`] of incidents, seen as incidents.
#[async_trait]
impl Query for ListIncidentsV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let list = ListTicketsV1 {
            viewer: self.viewer,
            kind: TicketKind::Incident,
            filter: self.filter.into(),
            cursor: self.cursor,
            limit: self.limit,
        };
        let page = list.run(conn, tenant).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(incident)
                .collect::<Result<_>>()?,
            next_cursor: page.next_cursor,
        })
    }
}

#[async_trait]
impl Query for GetPriorityMatrixV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let cells = incidents::matrix(conn, tenant).await?;
        Ok(PriorityMatrixV1 { cells })
    }
}

#[async_trait]
impl Query for GetTicketV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let t = tickets::find(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        Ok(t)
    }
}

#[async_trait]
impl Query for ListTicketsV1 {
    async fn run(mut self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let sort = self.filter.sort.unwrap_or_default();
        let paging = ticket_paging(self.cursor.as_deref(), self.limit, sort)?;
        if let Some(text) = &self.filter.text {
            check_text("q", text, MAX_SUMMARY, false)?;
        }
        check_field_filters(&self.filter.fields)?;
        if !self.filter.fields.is_empty() {
            let defs = crate::fields::filterable(conn, tenant, self.kind).await?;
            for (key, value) in &mut self.filter.fields {
                *value = crate::fields::filter_value(&defs, key, value)?;
            }
        }
        // Who works a ticket is the desk's business: a customer's list does
        // not filter by it either (an answer that hides the ids would
        // otherwise still tell them).
        if self.viewer.customer_scope().is_some() {
            let by_staff = [
                ("assignee_id", self.filter.assignee_id.is_some()),
                ("team_id", self.filter.team_id.is_some()),
                ("unassigned", self.filter.unassigned),
            ];
            if let Some((field, _)) = by_staff.into_iter().find(|(_, given)| *given) {
                return Err(Error::field(field, "not a filter for customers"));
            }
        }
        if let Some(s) = &self.filter.status
            && s.split(',')
                .any(|s| !self.kind.statuses().contains(&s.trim()))
        {
            return Err(Error::field(
                "status",
                format!(
                    "one or more of {}, separated by commas",
                    self.kind.statuses().join(", ")
                ),
            ));
        }
        let problem_id = match &self.filter.problem {
            Some(_) if self.kind != TicketKind::Incident => {
                return Err(Error::field(
                    "problem",
                    "only incidents are linked to a problem",
                ));
            }
            Some(p) => {
                let kind = TicketKind::Problem;
                let problem = tickets::find_named(conn, tenant, kind, p, &self.viewer, "problem");
                Some(problem.await?.id)
            }
            None => None,
        };
        let page = tickets::list(
            conn,
            tenant,
            self.kind,
            &self.viewer,
            tickets::Listing {
                filter: &self.filter,
                problem_id,
                paging,
            },
        )
        .await?;
        Ok(page)
    }
}

#[async_trait]
impl Query for ListActionsV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let t = tickets::find(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        let actions = incidents::actions(conn, tenant, t.id, &self.viewer).await?;
        Ok(actions)
    }
}

#[async_trait]
impl Query for GetHistoryV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        desk::staff(&self.viewer, self.kind)?;
        let t = tickets::find(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        let entries = tickets::history(conn, tenant, t.id).await?;
        Ok(entries)
    }
}

#[async_trait]
impl Query for ListLinksV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let t = tickets::find(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        let links = links::list(conn, tenant, t.id, &self.viewer).await?;
        Ok(links)
    }
}

#[async_trait]
impl Query for GetChangeCalendarV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let calendar = changes::calendar(conn, tenant, &self).await?;
        Ok(calendar)
    }
}

#[async_trait]
impl Query for GetFieldDefinitionsV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let defs = FieldDefinitionsV1 {
            kind: self.kind,
            fields: fields::definitions(conn, tenant, self.kind).await?,
        };
        Ok(defs)
    }
}

#[async_trait]
impl Query for ListRequestTypesV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let types = fields::request_types(conn, tenant).await?;
        Ok(types)
    }
}

#[async_trait]
impl Query for GetKbTemplateV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        desk::staff(&self.viewer, TicketKind::Problem)?;
        Ok(knowledge::template(conn, tenant).await?)
    }
}

#[async_trait]
impl Query for ExportTicketV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let (_, export) =
            knowledge::export(conn, tenant, self.kind, &self.ticket, &self.viewer).await?;
        Ok(export)
    }
}

#[async_trait]
impl Query for ListArticlesV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let paging = paging(self.cursor.as_deref(), self.limit)?;
        if let Some(text) = &self.text {
            check_text("q", text, MAX_SUMMARY, false)?;
        }
        Ok(knowledge::list(conn, tenant, &self, paging).await?)
    }
}

#[async_trait]
impl Query for GetArticleV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        Ok(knowledge::get(conn, tenant, self.article).await?)
    }
}

#[async_trait]
impl Query for ListSuppliersV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        desk::staff(&self.viewer, TicketKind::Incident)?;
        Ok(suppliers::list(conn, tenant).await?)
    }
}

#[async_trait]
impl Query for GetSurveyV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let survey = surveys::by_token(conn, tenant, &self.token, runtime::store::now()).await?;
        Ok(survey)
    }
}

#[async_trait]
impl Query for GetIncidentSurveyV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let t = tickets::find(
            conn,
            tenant,
            TicketKind::Incident,
            &self.incident,
            &self.viewer,
        )
        .await?;
        let survey = surveys::of_incident(conn, tenant, &t, &self.viewer).await?;
        Ok(survey)
    }
}

#[async_trait]
impl Query for GetProblemReportV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let report = reports::problem_report(conn, tenant, &self).await?;
        Ok(report)
    }
}

#[async_trait]
impl Query for GetIncidentReportV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<Self::Output> {
        let report = reports::incident_report(conn, tenant, &self).await?;
        Ok(report)
    }
}

async fn set_matrix(
    conn: &mut AnyConnection,
    env: &Envelope,
    cmd: SetPriorityMatrixV1,
) -> Result<PriorityMatrixV1> {
    if cmd.actor.role != Role::Admin {
        return Err(Error::not_found("priority matrix"));
    }
    for (n, c) in cmd.cells.iter().enumerate() {
        check_level(&format!("cells[{n}].impact"), Some(c.impact), MAX_LEVEL)?;
        check_level(&format!("cells[{n}].urgency"), Some(c.urgency), MAX_LEVEL)?;
        check_level(
            &format!("cells[{n}].priority"),
            Some(c.priority),
            MAX_PRIORITY,
        )?;
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
    Ok(PriorityMatrixV1 { cells })
}
