//! The ticketing command handler: each command the edge sends, run in one
//! transaction with its audit rows, its outbox events and its inbox record.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::common::ReplyV1;
use contracts::incident::*;
use contracts::{Command, Envelope, ErrorBody, ErrorCode, Message, Role};
use runtime::bus::{Handler, HandlerError};
use runtime::inbox;
use runtime::outbox::Relay;
use runtime::store::Store;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::batch::{Batch, CONSUMER};
use crate::error::{Error, Result};
use crate::incidents::{self, Change};
use crate::lifecycle;

/// Longest summary accepted; longer is a validation error, not a truncation.
const MAX_SUMMARY: usize = 200;
const MAX_TEXT: usize = 100_000;
/// Most incidents one page returns.
pub const MAX_PAGE: u32 = 500;

pub struct Commands {
    store: Store,
    writer: mpsc::Sender<Pending>,
}

/// A state change waiting for the writer, and where its outcome goes.
struct Pending {
    env: Envelope,
    done: oneshot::Sender<std::result::Result<Envelope, HandlerError>>,
}

/// Most commands one transaction commits together.
const MAX_BATCH: usize = 128;

impl Commands {
    /// The handler, and its writer task (ends when the handler is dropped).
    pub fn new(store: Store, relay: Relay) -> (Arc<Self>, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let commands = Arc::new(Self {
            store: store.clone(),
            writer: tx,
        });
        let writer = tokio::spawn(Writer { store, relay }.run(rx));
        (commands, writer)
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
            // Everything else changes state: the writer knows each kind and
            // rejects what it does not know.
            _ => {
                let (done, outcome) = oneshot::channel();
                self.writer
                    .send(Pending { env, done })
                    .await
                    .map_err(|_| HandlerError::Retry("ticketing is stopping".into()))?;
                return outcome
                    .await
                    .map_err(|_| HandlerError::Retry("ticketing is stopping".into()))?
                    .map(Some);
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

/// Applies state changes in groups: whatever commands are waiting are
/// committed in one transaction. One commit
/// (one fsync, one hold of the tenant's reference counter) then serves many
/// commands, which is what lets a desk log thousands of incidents a second
/// with every 201 durable. A group that fails as a whole is retried command
/// by command, so one bad command never takes its neighbours down with it.
struct Writer {
    store: Store,
    relay: Relay,
}

type Outcome = std::result::Result<Envelope, HandlerError>;

impl Writer {
    async fn run(self, mut rx: mpsc::Receiver<Pending>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let group: Vec<Pending> = std::mem::take(&mut batch);
            metrics::histogram!("ticketing_commit_group_size").record(group.len() as f64);
            let outcomes = match self.commit(group.iter().map(|p| &p.env)).await {
                Ok(outcomes) => outcomes,
                Err(e) if group.len() == 1 || e.is_unavailable() => group
                    .iter()
                    .map(|_| Err(HandlerError::Retry(e.to_string())))
                    .collect(),
                Err(e) => {
                    tracing::debug!(error = %e, size = group.len(), "group failed; one by one");
                    let mut alone = Vec::with_capacity(group.len());
                    for p in &group {
                        alone.push(match self.commit(std::iter::once(&p.env)).await {
                            Ok(mut o) => o
                                .pop()
                                .unwrap_or_else(|| Err(HandlerError::Retry("no outcome".into()))),
                            Err(e) => Err(HandlerError::Retry(e.to_string())),
                        });
                    }
                    alone
                }
            };
            for (p, outcome) in group.into_iter().zip(outcomes) {
                let _ = p.done.send(outcome);
            }
        }
    }

    /// One transaction for `envs`. `Err` means nothing was committed.
    async fn commit<'e>(&self, envs: impl Iterator<Item = &'e Envelope>) -> Result<Vec<Outcome>> {
        let envs: Vec<&Envelope> = envs.collect();
        let mut tx = self.store.begin().await?;
        let ids: Vec<Uuid> = envs.iter().map(|e| e.message_id).collect();
        let mut answered = inbox::check(&mut tx, CONSUMER, &ids).await?;
        let mut batch = Batch::default();
        // Counters before any incident row: every replica takes its locks
        // in the same order.
        let logging = envs
            .iter()
            .filter(|e| {
                e.message_type == LogIncidentV1::TYPE && !answered.contains_key(&e.message_id)
            })
            .map(|e| e.tenant_id)
            .collect();
        batch.lock_counters(&mut tx, logging, "incident").await?;
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
                        let stored = serde_json::to_string(body).unwrap_or_default();
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

/// Decodes `env` and runs its command.
///
/// Every command checks everything that can refuse it before it writes
/// anything (to the store or the batch): a refusal then needs no undo, and
/// the group's other commands go on in the same transaction.
async fn apply(conn: &mut AnyConnection, batch: &mut Batch, env: &Envelope) -> Result<Applied> {
    let now = runtime::store::now();
    let outcome = match env.message_type.as_str() {
        LogIncidentV1::TYPE => match decode(env) {
            Ok(cmd) => log(conn, batch, env, cmd, now).await,
            Err(e) => return Ok(Applied::Rejected(e)),
        },
        AssignIncidentV1::TYPE => match decode(env) {
            Ok(cmd) => assign(conn, batch, env, cmd, now).await,
            Err(e) => return Ok(Applied::Rejected(e)),
        },
        AddIncidentActionV1::TYPE => match decode(env) {
            Ok(cmd) => add_action(conn, batch, env, cmd, now).await,
            Err(e) => return Ok(Applied::Rejected(e)),
        },
        ChangeIncidentStatusV1::TYPE => match decode(env) {
            Ok(cmd) => change_status(conn, batch, env, cmd, now).await,
            Err(e) => return Ok(Applied::Rejected(e)),
        },
        SetPriorityMatrixV1::TYPE => match decode(env) {
            Ok(cmd) => set_matrix(conn, env, cmd).await,
            Err(e) => return Ok(Applied::Rejected(e)),
        },
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
        if let Some(c) = &self.cursor
            && Uuid::parse_str(c).is_err()
        {
            return Err(Error::field("cursor", "not a cursor this desk issued"));
        }
        if let Some(text) = &self.filter.text {
            check_text("q", text, MAX_SUMMARY, false)?;
        }
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
        let i = incidents::find(conn, tenant, &self.incident, &self.viewer).await?;
        let actions = incidents::actions(conn, tenant, i.id, &self.viewer).await?;
        Ok(output::<Self>(&actions))
    }
}

#[async_trait]
impl Query for GetIncidentHistoryV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        if self.viewer.role == Role::Customer {
            return Err(Error::not_found("incident"));
        }
        let i = incidents::find(conn, tenant, &self.incident, &self.viewer).await?;
        let entries = incidents::history(conn, tenant, i.id).await?;
        Ok(output::<Self>(&entries))
    }
}

/// Text a person typed: `required` non-blank, at most `max` characters, and
/// no control characters but line breaks and tabs (and none at all in a
/// one-line field). PostgreSQL cannot store NUL; nobody means to send it.
#[async_trait]
impl Query for GetPriorityMatrixV1 {
    async fn run(self, conn: &mut sqlx::AnyConnection, tenant: Uuid) -> Result<serde_json::Value> {
        let cells = incidents::matrix(conn, tenant).await?;
        Ok(output::<Self>(&PriorityMatrixV1 { cells }))
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

fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(Error::field(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(Error::field(field, format!("at most {max} characters")));
    }
    let one_line = max <= MAX_SUMMARY;
    if value
        .chars()
        .any(|c| c.is_control() && (one_line || !matches!(c, '\n' | '\r' | '\t')))
    {
        return Err(Error::field(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_level(field: &str, value: Option<u8>, max: u8) -> Result<()> {
    match value {
        Some(v) if !(1..=max).contains(&v) => {
            Err(Error::field(field, format!("must be 1 to {max}")))
        }
        _ => Ok(()),
    }
}

async fn log(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: LogIncidentV1,
    now: OffsetDateTime,
) -> Result<serde_json::Value> {
    check_text("summary", &cmd.summary, MAX_SUMMARY, true)?;
    check_text("description", &cmd.description, MAX_TEXT, false)?;
    for (field, value) in [("category", &cmd.category), ("service", &cmd.service)] {
        check_text(field, value.as_deref().unwrap_or(""), MAX_SUMMARY, false)?;
    }
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

fn opt(u: Option<Uuid>) -> Option<String> {
    u.map(|u| u.to_string())
}

async fn assign(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: AssignIncidentV1,
    now: OffsetDateTime,
) -> Result<serde_json::Value> {
    let tenant = env.tenant_id;
    if cmd.assignee_id.is_none() && cmd.team_id.is_none() {
        return Err(Error::field(
            "assignee_id",
            "give an assignee_id, a team_id or both (null unassigns)",
        ));
    }
    let mut i = incidents::find(tx, tenant, &cmd.incident, &cmd.actor).await?;
    if i.status == IncidentStatus::Closed {
        return Err(invalid(i.status, "assign"));
    }
    let (old_assignee, old_team) = (i.assignee_id, i.team_id);
    if let Some(assignee) = cmd.assignee_id {
        i.assignee_id = assignee;
    }
    if let Some(team) = cmd.team_id {
        i.team_id = team;
    }
    i.updated_at = now;
    i.version += 1;
    incidents::update(tx, tenant, &i).await?;
    if old_assignee != i.assignee_id {
        let c = Change {
            change: "assignee",
            from: opt(old_assignee),
            to: opt(i.assignee_id),
        };
        batch.audit(tenant, i.id, &cmd.actor, now, c);
    }
    if old_team != i.team_id {
        let c = Change {
            change: "team",
            from: opt(old_team),
            to: opt(i.team_id),
        };
        batch.audit(tenant, i.id, &cmd.actor, now, c);
    }
    let event = IncidentAssignedV1 {
        incident_id: i.id,
        reference: i.reference.clone(),
        assignee_id: i.assignee_id,
        team_id: i.team_id,
        actor: cmd.actor,
    };
    batch.publish(env, &event);
    Ok(output::<AssignIncidentV1>(&i))
}

async fn add_action(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: AddIncidentActionV1,
    now: OffsetDateTime,
) -> Result<serde_json::Value> {
    let tenant = env.tenant_id;
    check_text("text", &cmd.text, MAX_TEXT, true)?;
    let mut i = incidents::find(tx, tenant, &cmd.incident, &cmd.actor).await?;
    if i.status == IncidentStatus::Closed {
        return Err(invalid(i.status, "add an action to"));
    }
    let is_customer = cmd.actor.role == Role::Customer;
    let action = ActionV1 {
        id: Uuid::now_v7(),
        kind: cmd.kind,
        text: cmd.text,
        // What a customer writes is for both sides to see; they cannot
        // email themselves or publish to the knowledge base.
        public: cmd.public || is_customer,
        email_customer: cmd.email_customer && !is_customer,
        knowledge_base: cmd.knowledge_base && !is_customer,
        author: cmd.actor.clone(),
        created_at: now,
    };
    batch.insert_action(tenant, i.id, &action);
    i.updated_at = now;
    i.version += 1;
    incidents::update(tx, tenant, &i).await?;
    let kind = action.kind.as_str();
    let c = Change {
        change: "action",
        from: None,
        to: Some(format!("{kind} {}", action.id)),
    };
    batch.audit(tenant, i.id, &cmd.actor, now, c);
    let event = IncidentActionAddedV1 {
        incident_id: i.id,
        reference: i.reference,
        action: action.clone(),
    };
    batch.publish(env, &event);
    Ok(output::<AddIncidentActionV1>(&action))
}

fn invalid(from: IncidentStatus, what: &str) -> Error {
    let mut body = ErrorBody::new(
        ErrorCode::InvalidTransition,
        format!("cannot {what} an incident that is {}", from.as_str()),
    );
    body.details =
        Some(serde_json::json!({ "status": from.as_str(), "allowed": lifecycle::next(from) }));
    Error::Domain(body)
}

async fn change_status(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: ChangeIncidentStatusV1,
    now: OffsetDateTime,
) -> Result<serde_json::Value> {
    let tenant = env.tenant_id;
    if cmd.actor.role == Role::Customer {
        return Err(Error::not_found("incident"));
    }
    let mut i = incidents::find(tx, tenant, &cmd.incident, &cmd.actor).await?;
    let from = i.status;
    if !lifecycle::allowed(from, cmd.to) {
        let mut body = ErrorBody::new(
            ErrorCode::InvalidTransition,
            format!(
                "an incident cannot go from {} to {}",
                from.as_str(),
                cmd.to.as_str()
            ),
        );
        body.details = Some(
            serde_json::json!({ "from": from.as_str(), "to": cmd.to.as_str(), "allowed": lifecycle::next(from) }),
        );
        return Err(Error::Domain(body));
    }
    let old_resolution = i.resolution.clone();
    if cmd.to == IncidentStatus::Resolved {
        let resolution = cmd.resolution.as_deref().unwrap_or("");
        check_text("resolution", resolution, MAX_TEXT, true)?;
        i.resolution = Some(resolution.to_owned());
        i.resolved_at = Some(now);
    }
    if cmd.to == IncidentStatus::Closed {
        i.closed_at = Some(now);
    }
    if from == IncidentStatus::Resolved && cmd.to == IncidentStatus::Open {
        // Reopened: the old resolution no longer holds (the audit keeps it).
        i.resolved_at = None;
        i.resolution = None;
    }
    i.status = cmd.to;
    i.updated_at = now;
    i.version += 1;
    incidents::update(tx, tenant, &i).await?;
    let c = Change {
        change: "status",
        from: Some(from.as_str().to_owned()),
        to: Some(cmd.to.as_str().to_owned()),
    };
    batch.audit(tenant, i.id, &cmd.actor, now, c);
    if old_resolution != i.resolution {
        let c = Change {
            change: "resolution",
            from: old_resolution,
            to: i.resolution.clone(),
        };
        batch.audit(tenant, i.id, &cmd.actor, now, c);
    }
    let event = IncidentStatusChangedV1 {
        incident_id: i.id,
        reference: i.reference.clone(),
        from,
        to: cmd.to,
        resolution: i
            .resolution
            .clone()
            .filter(|_| cmd.to == IncidentStatus::Resolved),
        actor: cmd.actor,
    };
    batch.publish(env, &event);
    Ok(output::<ChangeIncidentStatusV1>(&i))
}
