//! The ticketing command handler: each command the edge sends, run in one
//! transaction with its audit rows, its outbox events and its inbox record.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::common::ReplyV1;
use contracts::incident::*;
use contracts::{Command, Envelope, ErrorBody, ErrorCode, Event, Message, Role};
use runtime::bus::{Handler, HandlerError};
use runtime::inbox::{self, Seen};
use runtime::outbox::{self, Relay};
use runtime::store::{Store, Tx};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::incidents::{self, Change};
use crate::lifecycle;

/// The inbox name of this consumer.
const CONSUMER: &str = "ticketing.commands";
/// Longest summary accepted; longer is a validation error, not a truncation.
const MAX_SUMMARY: usize = 200;
const MAX_TEXT: usize = 100_000;
/// Most incidents one page returns.
pub const MAX_PAGE: u32 = 500;

pub struct Commands {
    store: Store,
    relay: Relay,
}

impl Commands {
    pub fn new(store: Store, relay: Relay) -> Arc<Self> {
        Arc::new(Self { store, relay })
    }
}

fn decode<C: Message>(env: &Envelope) -> std::result::Result<C, HandlerError> {
    env.decode::<C>()
        .map_err(|e| HandlerError::Reject(e.to_string()))
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
            LogIncidentV1::TYPE
            | AssignIncidentV1::TYPE
            | AddIncidentActionV1::TYPE
            | ChangeIncidentStatusV1::TYPE => return self.mutate(&env).await.map(Some),
            other => {
                return Err(HandlerError::Reject(format!(
                    "unknown message type {other}"
                )));
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
        let cmd: C = decode(env)?;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(|e| HandlerError::Retry(e.to_string()))?;
        settle(cmd.run(&mut conn, env.tenant_id).await)
    }

    /// State changes: inbox check, effect, audit, outbox, inbox record, commit.
    async fn mutate(&self, env: &Envelope) -> std::result::Result<Envelope, HandlerError> {
        let retry = |e: runtime::store::StoreError| HandlerError::Retry(e.to_string());
        let mut tx = self.store.begin().await.map_err(retry)?;
        if let Seen::Done(stored) = inbox::check(&mut tx, CONSUMER, env.message_id)
            .await
            .map_err(retry)?
        {
            let body = stored
                .and_then(|s| serde_json::from_str::<ReplyV1>(&s).ok())
                .unwrap_or(ReplyV1::Error(ErrorBody::new(
                    ErrorCode::Conflict,
                    "already processed",
                )));
            return Ok(reply(env, body));
        }
        let now = runtime::store::now();
        let outcome = match env.message_type.as_str() {
            LogIncidentV1::TYPE => log(&mut tx, env, decode(env)?, now).await,
            AssignIncidentV1::TYPE => assign(&mut tx, env, decode(env)?, now).await,
            AddIncidentActionV1::TYPE => add_action(&mut tx, env, decode(env)?, now).await,
            ChangeIncidentStatusV1::TYPE => change_status(&mut tx, env, decode(env)?, now).await,
            other => {
                return Err(HandlerError::Reject(format!(
                    "unknown message type {other}"
                )));
            }
        };
        let body = settle(outcome)?;
        if let ReplyV1::Error(_) = body {
            // Refused: nothing to keep; a retry is judged afresh.
            return Ok(reply(env, body));
        }
        let stored = serde_json::to_string(&body).unwrap_or_default();
        inbox::record(&mut tx, CONSUMER, env.message_id, Some(&stored))
            .await
            .map_err(retry)?;
        tx.commit()
            .await
            .map_err(|e| HandlerError::Retry(e.to_string()))?;
        self.relay.wake();
        metrics::counter!("ticketing_commands_total", "type" => env.message_type.clone())
            .increment(1);
        Ok(reply(env, body))
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

fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(Error::field(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(Error::field(field, format!("at most {max} characters")));
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

async fn publish<E: Event>(tx: &mut Tx, env: &Envelope, event: &E) -> Result<()> {
    outbox::enqueue::<E>(tx, &env.caused(event)).await?;
    Ok(())
}

async fn log(
    tx: &mut Tx,
    env: &Envelope,
    cmd: LogIncidentV1,
    now: OffsetDateTime,
) -> Result<serde_json::Value> {
    check_text("summary", &cmd.summary, MAX_SUMMARY, true)?;
    check_text("description", &cmd.description, MAX_TEXT, false)?;
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
    let number = incidents::next_number(tx, tenant, "incident").await?;
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
    incidents::insert(tx, tenant, &incident).await?;
    let created = Change {
        change: "created",
        from: None,
        to: Some(incident.status.as_str().to_owned()),
    };
    incidents::audit(tx, tenant, incident.id, &cmd.actor, now, created).await?;
    publish(
        tx,
        env,
        &IncidentLoggedV1 {
            incident: incident.clone(),
        },
    )
    .await?;
    Ok(output::<LogIncidentV1>(&incident))
}

fn opt(u: Option<Uuid>) -> Option<String> {
    u.map(|u| u.to_string())
}

async fn assign(
    tx: &mut Tx,
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
        incidents::audit(tx, tenant, i.id, &cmd.actor, now, c).await?;
    }
    if old_team != i.team_id {
        let c = Change {
            change: "team",
            from: opt(old_team),
            to: opt(i.team_id),
        };
        incidents::audit(tx, tenant, i.id, &cmd.actor, now, c).await?;
    }
    let event = IncidentAssignedV1 {
        incident_id: i.id,
        reference: i.reference.clone(),
        assignee_id: i.assignee_id,
        team_id: i.team_id,
        actor: cmd.actor,
    };
    publish(tx, env, &event).await?;
    Ok(output::<AssignIncidentV1>(&i))
}

async fn add_action(
    tx: &mut Tx,
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
    incidents::insert_action(tx, tenant, i.id, &action).await?;
    i.updated_at = now;
    i.version += 1;
    incidents::update(tx, tenant, &i).await?;
    let kind = match action.kind {
        ActionKind::Note => "note",
        ActionKind::Progress => "progress",
    };
    let c = Change {
        change: "action",
        from: None,
        to: Some(format!("{kind} {}", action.id)),
    };
    incidents::audit(tx, tenant, i.id, &cmd.actor, now, c).await?;
    let event = IncidentActionAddedV1 {
        incident_id: i.id,
        reference: i.reference,
        action: action.clone(),
    };
    publish(tx, env, &event).await?;
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
    tx: &mut Tx,
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
    incidents::audit(tx, tenant, i.id, &cmd.actor, now, c).await?;
    if old_resolution != i.resolution {
        let c = Change {
            change: "resolution",
            from: old_resolution,
            to: i.resolution.clone(),
        };
        incidents::audit(tx, tenant, i.id, &cmd.actor, now, c).await?;
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
    publish(tx, env, &event).await?;
    Ok(output::<ChangeIncidentStatusV1>(&i))
}
