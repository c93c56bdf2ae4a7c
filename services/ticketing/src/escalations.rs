//! What ticketing does when an escalation timepoint fires: the escalation
//! service announces the timepoint with its actions, and ticketing carries
//! out those that change a ticket (record an action, reassign, raise the
//! priority) as the escalation agent, through the same changes the API
//! uses, handed to the writer as typed values. Alerts and emails are
//! notification's.
//!
//! Each action's command is keyed by the event's id and the action's place
//! in it, so a redelivered event is answered from the inbox, not done twice.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::commands::TicketingChange;
use contracts::common::ReplyV1;
use contracts::escalation::{Action, TimepointReachedV1, escalation_actor};
use contracts::incident::ActionKind;
use contracts::ticket::{AddActionV1, AssignTicketV1, TicketChangesV1, TicketKind, UpdateTicketV1};
use contracts::{Envelope, Event};
use runtime::bus::{Handler, HandlerError, QueueSpec};

use crate::commands::Commands;
use crate::error::Error;
use runtime::commands::Answers;
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

/// The change that carries out `action` on the ticket, if it changes one.
fn change(e: &TimepointReachedV1, kind: TicketKind, action: &Action) -> Option<TicketingChange> {
    let actor = escalation_actor();
    let ticket = e.ticket_id.to_string();
    Some(match action {
        Action::RecordAction { template } => TicketingChange::AddActionV1(AddActionV1 {
            actor,
            kind,
            ticket,
            action_kind: ActionKind::Note,
            text: template.clone(),
            public: false,
            email_customer: false,
            knowledge_base: false,
            minutes: None,
            supplier: None,
        }),
        // To a team alone: into its queue, no longer with the old agent.
        Action::Reassign { team_id, agent_id } => TicketingChange::AssignTicketV1(AssignTicketV1 {
            actor,
            kind,
            ticket,
            if_version: None,
            assignee_id: Some(*agent_id),
            team_id: team_id.map(Some),
            supplier_id: None,
        }),
        // 1 is the highest: only ever raised (checked again against the
        // ticket as it is, in `handle`).
        Action::RaisePriority { priority } if e.priority.is_none_or(|p| p > *priority) => {
            TicketingChange::UpdateTicketV1(UpdateTicketV1 {
                actor,
                kind,
                ticket,
                if_version: None,
                changes: TicketChangesV1 {
                    priority: Some(*priority),
                    ..TicketChangesV1::default()
                },
            })
        }
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
        let key = e.ticket_id.to_string();
        match self
            .commands
            .ticket(env.tenant_id, kind, &key, &escalation_actor())
            .await
        {
            Ok(ticket) => Ok(ticket.priority > priority),
            Err(Error::Refused(_)) => Ok(false),
            Err(err) => Err(HandlerError::retry(err)),
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
            let Some(change) = change(&e, kind, action) else {
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
            let cause = change.caused_by(&env).with_id(key);
            match self.commands.change(&cause, change).await? {
                ReplyV1::Ok(_) => {}
                // The ticket moved on (closed, say): the escalation stands
                // on the timeline; the desk's state wins.
                ReplyV1::Error(body) => tracing::info!(
                    ticket = %e.reference, code = ?body.code, reason = %body.message,
                    "escalation action not carried out"
                ),
            }
        }
        Ok(None)
    }
}
