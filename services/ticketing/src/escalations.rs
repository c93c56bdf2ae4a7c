//! What ticketing does when an escalation timepoint fires: the escalation
//! service announces the timepoint with its actions, and ticketing carries
//! out those that change a ticket (record an action, reassign, raise the
//! priority) as the escalation agent, through the same commands the API
//! uses. Alerts and emails are notification's.
//!
//! Each action's command is keyed by the event's id and the action's place
//! in it, so a redelivered event is answered from the inbox, not done twice.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::common::ReplyV1;
use contracts::escalation::{Action, TimepointReachedV1, escalation_actor};
use contracts::incident::ActionKind;
use contracts::ticket::{
    AddActionV1, AssignTicketV1, GetTicketV1, TicketChangesV1, TicketKind, UpdateTicketV1,
};
use contracts::{Envelope, Event};
use runtime::bus::{Handler, HandlerError, QueueSpec};

use crate::commands::Commands;
use runtime::ids::derived;

/// The queue ticketing hears escalations on.
pub fn spec() -> QueueSpec {
    QueueSpec::events(
        "ticketing.escalations",
        &[TimepointReachedV1::ROUTING_KEY],
        16,
    )
}

pub struct Escalations {
    pub commands: Arc<Commands>,
}

/// The command that carries out `action` on the ticket, if it changes one.
fn command(
    env: &Envelope,
    e: &TimepointReachedV1,
    kind: TicketKind,
    action: &Action,
) -> Option<Envelope> {
    let actor = escalation_actor();
    let ticket = e.ticket_id.to_string();
    Some(match action {
        Action::RecordAction { template } => env.caused(&AddActionV1 {
            actor,
            kind,
            ticket,
            action_kind: ActionKind::Note,
            text: template.clone(),
            public: false,
            email_customer: false,
            knowledge_base: false,
            supplier: None,
        }),
        // To a team alone: into its queue, no longer with the old agent.
        Action::Reassign { team_id, agent_id } => env.caused(&AssignTicketV1 {
            actor,
            kind,
            ticket,
            assignee_id: Some(*agent_id),
            team_id: team_id.map(Some),
            supplier_id: None,
        }),
        // 1 is the highest: only ever raised (checked again against the
        // ticket as it is, in `handle`).
        Action::RaisePriority { priority } if e.priority.is_none_or(|p| p > *priority) => env
            .caused(&UpdateTicketV1 {
                actor,
                kind,
                ticket,
                changes: TicketChangesV1 {
                    priority: Some(*priority),
                    ..TicketChangesV1::default()
                },
            }),
        _ => return None,
    })
}

impl Escalations {
    /// Whether the ticket's priority is still lower than `priority` (the
    /// desk may have raised it since the escalation service last heard).
    async fn lower_now(
        &self,
        env: &Envelope,
        e: &TimepointReachedV1,
        kind: TicketKind,
        priority: u8,
    ) -> Result<bool, HandlerError> {
        let query = env.caused(&GetTicketV1 {
            viewer: escalation_actor(),
            kind,
            ticket: e.ticket_id.to_string(),
        });
        let reply = self
            .commands
            .handle(query)
            .await?
            .ok_or_else(|| HandlerError::Retry("no reply from the query".into()))?;
        match reply.decode::<ReplyV1>() {
            Ok(ReplyV1::Ok(ticket)) => Ok(ticket["priority"]
                .as_u64()
                .is_some_and(|p| p > u64::from(priority))),
            Ok(ReplyV1::Error(_)) => Ok(false),
            Err(err) => Err(HandlerError::Retry(err.to_string())),
        }
    }
}

#[async_trait]
impl Handler for Escalations {
    async fn handle(&self, env: Envelope) -> Result<Option<Envelope>, HandlerError> {
        let e: TimepointReachedV1 = env
            .decode()
            .map_err(|e| HandlerError::Reject(e.to_string()))?;
        let Some(kind) = TicketKind::parse(&e.kind) else {
            return Err(HandlerError::Reject(format!("no ticket kind {:?}", e.kind)));
        };
        for (n, action) in e.actions.iter().enumerate() {
            let Some(cmd) = command(&env, &e, kind, action) else {
                continue;
            };
            if let Action::RaisePriority { priority } = action
                && !self.lower_now(&env, &e, kind, *priority).await?
            {
                continue;
            }
            let key = derived(&[
                env.tenant_id.as_bytes(),
                env.message_id.as_bytes(),
                &n.to_le_bytes(),
            ]);
            let reply = self
                .commands
                .handle(cmd.with_id(key))
                .await?
                .ok_or_else(|| HandlerError::Retry("no reply from the command".into()))?;
            match reply.decode::<ReplyV1>() {
                Ok(ReplyV1::Ok(_)) => {}
                // The ticket moved on (closed, say): the escalation stands
                // on the timeline; the desk's state wins.
                Ok(ReplyV1::Error(body)) => tracing::info!(
                    ticket = %e.reference, code = ?body.code, reason = %body.message,
                    "escalation action not carried out"
                ),
                Err(err) => return Err(HandlerError::Retry(err.to_string())),
            }
        }
        Ok(None)
    }
}
