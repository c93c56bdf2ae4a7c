//! The escalation service's command handler: the definitions (calendars,
//! SLAs, rules) the edge forwards, a ticket's SLA and the SLA reports. A
//! change runs once, in its own transaction with its inbox record
//! ([`runtime::commands::once`]); a query needs neither.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::Envelope;
use contracts::commands::{EscalationChange, EscalationCommand, EscalationQuery};
use contracts::common::ReplyV1;
use contracts::escalation::*;
use runtime::bus::HandlerError;
use runtime::commands::{self, Answers, reply};
use runtime::store::Store;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::definitions;
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

#[async_trait]
impl Answers for Commands {
    type Commands = EscalationCommand;

    fn store(&self) -> &Store {
        &self.store
    }

    async fn query(
        &self,
        conn: &mut AnyConnection,
        env: &Envelope,
        query: EscalationQuery,
    ) -> Result<ReplyV1, HandlerError> {
        let tenant = env.tenant_id;
        match query {
            EscalationQuery::ListCalendarsV1(c) => {
                reply::<ListCalendarsV1>(definitions::calendars(conn, tenant, &c.viewer).await)
            }
            EscalationQuery::ListSlasV1(c) => {
                reply::<ListSlasV1>(definitions::slas(conn, tenant, &c.viewer).await)
            }
            EscalationQuery::GetSlaRulesV1(c) => {
                reply::<GetSlaRulesV1>(definitions::rules(conn, tenant, &c.viewer).await)
            }
            EscalationQuery::GetTicketSlaV1(c) => {
                reply::<GetTicketSlaV1>(queries::ticket_sla(conn, tenant, &c, self.now.now()).await)
            }
            EscalationQuery::GetSlaComplianceV1(c) => {
                reply::<GetSlaComplianceV1>(queries::compliance(conn, tenant, &c).await)
            }
            EscalationQuery::ListSlaBreachesV1(c) => {
                reply::<ListSlaBreachesV1>(queries::breaches(conn, tenant, &c).await)
            }
        }
    }

    async fn change(
        &self,
        env: &Envelope,
        change: EscalationChange,
    ) -> Result<ReplyV1, HandlerError> {
        commands::once(&self.store, CONSUMER, env, async |tx| {
            self.apply(tx, env.tenant_id, change).await
        })
        .await
    }
}

impl Commands {
    /// A change, in the transaction `tx`. A calendar or SLA replaced moves
    /// the open tickets under it, in the same transaction, from what the
    /// definitions were before.
    async fn apply(
        &self,
        tx: &mut AnyConnection,
        tenant: Uuid,
        change: EscalationChange,
    ) -> Result<ReplyV1, HandlerError> {
        // The tickets a change of definitions moves: those under a calendar
        // or SLA replaced.
        let replaced = match &change {
            EscalationChange::DefineCalendarV1(c) => c.calendar.map(Under::Calendar),
            EscalationChange::DefineSlaV1(c) => c.sla.map(Under::Sla),
            EscalationChange::SetSlaRulesV1(_)
            | EscalationChange::DeleteCalendarV1(_)
            | EscalationChange::DeleteSlaV1(_) => None,
        };
        let before = match replaced {
            Some(_) => Some(
                definitions::load_for_engine(tx, tenant)
                    .await
                    .map_err(HandlerError::retry)?,
            ),
            None => None,
        };
        let reply = match change {
            EscalationChange::DefineCalendarV1(c) => {
                reply::<DefineCalendarV1>(definitions::define_calendar(tx, tenant, c).await)
            }
            EscalationChange::DefineSlaV1(c) => {
                reply::<DefineSlaV1>(definitions::define_sla(tx, tenant, c).await)
            }
            EscalationChange::SetSlaRulesV1(c) => {
                reply::<SetSlaRulesV1>(definitions::set_rules(tx, tenant, c).await)
            }
            EscalationChange::DeleteCalendarV1(c) => {
                reply::<DeleteCalendarV1>(definitions::delete_calendar(tx, tenant, c).await)
            }
            EscalationChange::DeleteSlaV1(c) => {
                reply::<DeleteSlaV1>(definitions::delete_sla(tx, tenant, c).await)
            }
        }?;
        if let (ReplyV1::Ok(_), Some(under), Some(before)) = (&reply, replaced, &before) {
            let at = self.now.now();
            let moved = tracker::redefined(tx, self.store.backend(), tenant, before, under, at)
                .await
                .map_err(HandlerError::retry)?;
            tracing::info!(
                tickets = moved,
                "definition replaced: open tickets recomputed"
            );
        }
        Ok(reply)
    }
}
