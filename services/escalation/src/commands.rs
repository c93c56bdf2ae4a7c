//! The escalation service's command handler: the definitions (calendars,
//! SLAs, rules) the edge forwards. A change runs in its own transaction
//! with its inbox record, so a redelivered command is answered, not done
//! again; a read needs neither.

use async_trait::async_trait;
use contracts::common::ReplyV1;
use contracts::escalation::*;
use contracts::{Envelope, ErrorBody, ErrorCode, Message};
use runtime::bus::{Handler, HandlerError, decoded};
use runtime::inbox;
use runtime::store::Store;
use std::sync::Arc;
use uuid::Uuid;

use crate::definitions::{self, Refused};
use crate::now::Now;
use crate::queries;
use crate::tickets::Under;
use crate::tracker;

/// The inbox name of the escalation command consumer.
pub const CONSUMER: &str = "escalation.commands";

pub struct Commands {
    pub store: Store,
    pub now: Arc<dyn Now>,
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The reply for a command's outcome; a store failure is retried.
fn settle(outcome: Result<serde_json::Value, Refused>) -> Result<ReplyV1, HandlerError> {
    match outcome {
        Ok(value) => Ok(ReplyV1::Ok(value)),
        Err(Refused::Invalid(i)) => Ok(ReplyV1::Error(ErrorBody::field(&i.field, i.message))),
        Err(Refused::NotFound(what)) => Ok(ReplyV1::Error(ErrorBody::new(
            ErrorCode::NotFound,
            format!("{what} not found"),
        ))),
        Err(Refused::Conflict(m)) => Ok(ReplyV1::Error(ErrorBody::new(ErrorCode::Conflict, m))),
        Err(Refused::Store(e)) => Err(HandlerError::retry(e)),
    }
}

#[async_trait]
impl Handler for Commands {
    async fn handle(&self, env: Envelope) -> Result<Option<Envelope>, HandlerError> {
        let tenant = env.tenant_id;
        let reply = match env.message_type.as_str() {
            ListCalendarsV1::TYPE => {
                let c: ListCalendarsV1 = decoded(&env)?;
                let mut conn = self
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(HandlerError::retry)?;
                settle(
                    definitions::calendars(&mut conn, tenant, &c.viewer)
                        .await
                        .map(|v| json(&v)),
                )?
            }
            ListSlasV1::TYPE => {
                let c: ListSlasV1 = decoded(&env)?;
                let mut conn = self
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(HandlerError::retry)?;
                settle(
                    definitions::slas(&mut conn, tenant, &c.viewer)
                        .await
                        .map(|v| json(&v)),
                )?
            }
            GetSlaRulesV1::TYPE => {
                let c: GetSlaRulesV1 = decoded(&env)?;
                let mut conn = self
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(HandlerError::retry)?;
                settle(
                    definitions::rules(&mut conn, tenant, &c.viewer)
                        .await
                        .map(|v| json(&v)),
                )?
            }
            GetTicketSlaV1::TYPE => {
                let c: GetTicketSlaV1 = decoded(&env)?;
                let mut conn = self
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(HandlerError::retry)?;
                settle(
                    queries::ticket_sla(&mut conn, tenant, &c, self.now.now())
                        .await
                        .map(|v| json(&v)),
                )?
            }
            GetSlaComplianceV1::TYPE => {
                let c: GetSlaComplianceV1 = decoded(&env)?;
                let mut conn = self
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(HandlerError::retry)?;
                settle(
                    queries::compliance(&mut conn, tenant, &c)
                        .await
                        .map(|v| json(&v)),
                )?
            }
            ListSlaBreachesV1::TYPE => {
                let c: ListSlaBreachesV1 = decoded(&env)?;
                let mut conn = self
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(HandlerError::retry)?;
                settle(
                    queries::breaches(&mut conn, tenant, &c)
                        .await
                        .map(|v| json(&v)),
                )?
            }
            _ => self.write(&env).await?,
        };
        Ok(Some(env.caused(&reply)))
    }
}

impl Commands {
    /// A change, once: in a transaction with its inbox record.
    async fn write(&self, env: &Envelope) -> Result<ReplyV1, HandlerError> {
        if env.is_expired(runtime::store::now()) {
            return Err(HandlerError::Reject(
                "expired: the caller stopped waiting before it was handled".into(),
            ));
        }
        let mut tx = self.store.begin().await.map_err(HandlerError::retry)?;
        let answered = inbox::check(&mut tx, CONSUMER, &[env.message_id])
            .await
            .map_err(HandlerError::retry)?;
        if let Some(stored) = answered.get(&env.message_id) {
            return Ok(stored
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(ReplyV1::Error(ErrorBody::new(
                    ErrorCode::Conflict,
                    "already processed",
                ))));
        }
        let tenant: Uuid = env.tenant_id;
        // A calendar or SLA replaced: the open tickets under it move, in
        // this transaction, from what the definitions were before.
        let replaced = match env.message_type.as_str() {
            DefineCalendarV1::TYPE => decoded::<DefineCalendarV1>(env)?
                .calendar
                .map(|id| (Under::Calendar, id)),
            DefineSlaV1::TYPE => decoded::<DefineSlaV1>(env)?.sla.map(|id| (Under::Sla, id)),
            _ => None,
        };
        let before = match replaced {
            Some(_) => Some(
                definitions::load_for_engine(&mut tx, tenant)
                    .await
                    .map_err(HandlerError::retry)?,
            ),
            None => None,
        };
        let outcome = match env.message_type.as_str() {
            DefineCalendarV1::TYPE => definitions::define_calendar(&mut tx, tenant, decoded(env)?)
                .await
                .map(|v| json(&v)),
            DefineSlaV1::TYPE => definitions::define_sla(&mut tx, tenant, decoded(env)?)
                .await
                .map(|v| json(&v)),
            SetSlaRulesV1::TYPE => definitions::set_rules(&mut tx, tenant, decoded(env)?)
                .await
                .map(|v| json(&v)),
            other => {
                return Err(HandlerError::Reject(format!(
                    "unknown message type {other}"
                )));
            }
        };
        let reply = settle(outcome)?;
        if let (ReplyV1::Ok(_), Some((under, id)), Some(before)) = (&reply, replaced, &before) {
            let at = self.now.now();
            let moved =
                tracker::redefined(&mut tx, self.store.backend(), tenant, before, under, id, at)
                    .await
                    .map_err(HandlerError::retry)?;
            tracing::info!(
                tickets = moved,
                "definition replaced: open tickets recomputed"
            );
        }
        if let ReplyV1::Ok(_) = &reply {
            let stored = serde_json::to_string(&reply).unwrap_or_default();
            inbox::record(&mut tx, CONSUMER, vec![(env.message_id, Some(stored))])
                .await
                .map_err(HandlerError::retry)?;
            tx.commit().await.map_err(HandlerError::retry)?;
        }
        Ok(reply)
    }
}
