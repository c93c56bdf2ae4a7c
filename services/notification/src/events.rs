//! The consumer of what the desk announces: ticketing's ticket events, the
//! escalation service's timepoints and the edge's directory. Each event
//! updates notification's copies and queues the emails it calls for, in one
//! transaction with its inbox record, so a redelivered event sends nothing
//! twice.
//!
//! One replica at a time takes these events, in the order they were
//! published, and applies them in groups (one transaction, one commit,
//! for up to [`MAX_GROUP`] events), in the order they happened: a ticket's
//! copy is built from them in sequence.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::escalation::{Action, TicketTargetsV1, TimepointReachedV1};
use contracts::incident::{
    ActionV1, IncidentActionAddedV1, IncidentAssignedV1, IncidentLoggedV1, IncidentStatus,
    IncidentStatusChangedV1,
};
use contracts::notification::{DirectoryChangedV1, EmailKind, MAILGATE_ACTOR_ID, MailboxV1};
use contracts::ticket::{TicketChangedV1, TicketKind, TicketV1};
use contracts::{Envelope, Event, Message, Role};
use runtime::bus::{Bus, Handler, HandlerError, QueueSpec, decoded};
use runtime::inbox;
use runtime::store::{Store, StoreError};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use runtime::writer::{GroupFailed, Writer};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::compose::{Composer, Recipient};
use crate::tickets::{self, Ticket};
use crate::{directory, outgoing, targets, tenant};

/// The inbox name of this consumer.
pub const CONSUMER: &str = "notification.events";

/// Most events one transaction applies.
const MAX_GROUP: usize = 256;

/// The queue notification hears the desk on.
pub fn spec() -> QueueSpec {
    QueueSpec::events(
        CONSUMER,
        &[
            TicketChangedV1::ROUTING_KEY,
            TimepointReachedV1::ROUTING_KEY,
            TicketTargetsV1::ROUTING_KEY,
            DirectoryChangedV1::ROUTING_KEY,
            // Deprecated: ticketing's previous version announced incidents
            // on these.
            IncidentLoggedV1::ROUTING_KEY,
            IncidentAssignedV1::ROUTING_KEY,
            IncidentActionAddedV1::ROUTING_KEY,
            IncidentStatusChangedV1::ROUTING_KEY,
        ],
        MAX_GROUP as u16,
    )
    .in_order()
}

pub struct Events {
    pub store: Store,
    pub bus: Arc<dyn Bus>,
    /// Wakes the sender when emails were queued.
    pub queued: Arc<Notify>,
}

/// What one event is, decoded.
enum Happened {
    /// A whole ticket as it is now; `change` and `action` say what moved.
    Snapshot {
        ticket: Box<Ticket>,
        change: String,
        actor_id: Uuid,
        action: Option<ActionV1>,
        survey_token: Option<String>,
        /// A change's approvers who have not decided.
        undecided: Vec<Uuid>,
    },
    // Deprecated: what ticketing of the previous version announced about
    // incidents instead of a snapshot (accepted for a deprecation period).
    Assigned(IncidentAssignedV1),
    Acted(IncidentActionAddedV1),
    Status(IncidentStatusChangedV1),
    Timepoint(TimepointReachedV1),
    Targets(TicketTargetsV1),
    Directory(DirectoryChangedV1),
}

fn decode_event(env: &Envelope) -> Result<Happened, HandlerError> {
    Ok(match env.message_type.as_str() {
        TicketChangedV1::TYPE => {
            let e: TicketChangedV1 = decoded(env)?;
            let undecided = e
                .ticket
                .change
                .iter()
                .flat_map(|c| &c.approvals)
                .filter(|a| a.decision.is_none())
                .map(|a| a.approver_id)
                .collect();
            Happened::Snapshot {
                ticket: Box::new(Ticket::from(&e.ticket)),
                change: e.change,
                actor_id: e.actor.id,
                action: e.action,
                survey_token: e.survey_token,
                undecided,
            }
        }
        // Deprecated incident events (see [`Happened::Assigned`]).
        IncidentLoggedV1::TYPE => {
            let e: IncidentLoggedV1 = decoded(env)?;
            Happened::Snapshot {
                change: "logged".into(),
                actor_id: e.incident.logged_by.id,
                ticket: Box::new(Ticket::from(&TicketV1::from(e.incident))),
                action: None,
                survey_token: None,
                undecided: Vec::new(),
            }
        }
        IncidentAssignedV1::TYPE => Happened::Assigned(decoded(env)?),
        IncidentActionAddedV1::TYPE => Happened::Acted(decoded(env)?),
        IncidentStatusChangedV1::TYPE => Happened::Status(decoded(env)?),
        TimepointReachedV1::TYPE => Happened::Timepoint(decoded(env)?),
        TicketTargetsV1::TYPE => Happened::Targets(decoded(env)?),
        DirectoryChangedV1::TYPE => Happened::Directory(decoded(env)?),
        other => {
            return Err(HandlerError::Reject(format!(
                "not an event we take: {other}"
            )));
        }
    })
}

/// Statuses that resolve a ticket, for the resolution email.
fn resolves(kind: TicketKind, status: &str) -> bool {
    match kind {
        TicketKind::Incident | TicketKind::Problem => status == "resolved",
        TicketKind::Request => status == "fulfilled",
        TicketKind::Change => status == "implemented",
    }
}

/// An action the customer should hear about, or that the customer wrote.
fn action_emails(action: &ActionV1) -> (bool, bool) {
    let to_customer = action.public && action.email_customer;
    let by_customer = action.author.role == Role::Customer || action.author.id == MAILGATE_ACTOR_ID;
    (to_customer, by_customer)
}

impl Events {
    /// The copy of ticket `id`, or, if notification has none (a ticket
    /// logged before it listened), ticketing's ticket as [`Events::missing`]
    /// fetched it before the transaction, kept as the copy. Whether it was
    /// fetched: a fetched ticket already holds the change the event
    /// announces.
    async fn ticket(
        conn: &mut sqlx::AnyConnection,
        env: &Envelope,
        fetched: &HashMap<Uuid, Ticket>,
        id: Uuid,
    ) -> Result<Option<(Ticket, bool)>, HandlerError> {
        if let Some(t) = tickets::load(conn, env.tenant_id, id)
            .await
            .map_err(HandlerError::retry)?
        {
            return Ok(Some((t, false)));
        }
        let Some(t) = fetched.get(&id) else {
            return Ok(None);
        };
        tickets::save(conn, env.tenant_id, t)
            .await
            .map_err(HandlerError::retry)?;
        Ok(Some((t.clone(), true)))
    }

    /// The tickets the group's events name that notification has no copy
    /// of (logged before it listened, and not logged earlier in the group),
    /// asked of ticketing now: before the group's transaction opens, never
    /// while it is open.
    async fn missing(&self, group: &[Pending]) -> Result<HashMap<Uuid, Ticket>, HandlerError> {
        let mut logged_here = HashSet::new();
        let mut fetched = HashMap::new();
        let mut checked = HashSet::new();
        let mut conn = None;
        for p in group {
            let (kind, id) = match &p.what {
                Happened::Snapshot { ticket, .. } => {
                    logged_here.insert(ticket.id);
                    continue;
                }
                Happened::Assigned(e) => (TicketKind::Incident, e.incident_id),
                Happened::Acted(e) => (TicketKind::Incident, e.incident_id),
                Happened::Status(e) => (TicketKind::Incident, e.incident_id),
                Happened::Timepoint(e) => match TicketKind::parse(&e.kind) {
                    Some(kind) => (kind, e.ticket_id),
                    None => continue,
                },
                Happened::Targets(_) | Happened::Directory(_) => continue,
            };
            if logged_here.contains(&id) || !checked.insert(id) {
                continue;
            }
            let conn = match &mut conn {
                Some(c) => c,
                None => conn.insert(
                    self.store
                        .pool()
                        .acquire()
                        .await
                        .map_err(HandlerError::retry)?,
                ),
            };
            if tickets::load(conn, p.env.tenant_id, id)
                .await
                .map_err(HandlerError::retry)?
                .is_some()
            {
                continue;
            }
            if let Some(t) = tickets::fetch(&self.bus, &p.env, kind, &id.to_string())
                .await
                .map_err(HandlerError::retry)?
            {
                fetched.insert(id, t);
            }
        }
        Ok(fetched)
    }

    /// Applies `what` and writes its emails.
    async fn apply(
        &self,
        c: &mut Composer<'_>,
        env: &Envelope,
        what: &Happened,
        fetched: &HashMap<Uuid, Ticket>,
    ) -> Result<(), HandlerError> {
        let tenant = env.tenant_id;
        match what {
            Happened::Directory(d) => {
                directory::apply(c.conn, tenant, &d.entry)
                    .await
                    .map_err(HandlerError::retry)?;
            }
            Happened::Targets(e) => {
                targets::save(c.conn, tenant, e)
                    .await
                    .map_err(HandlerError::retry)?;
            }
            Happened::Snapshot {
                ticket,
                change,
                actor_id,
                action,
                survey_token,
                undecided,
            } => {
                let previous = tickets::load(c.conn, tenant, ticket.id)
                    .await
                    .map_err(HandlerError::retry)?;
                let mut t = previous.clone().unwrap_or_else(|| ticket.as_ref().clone());
                let fresh = previous.is_none() || t.absorb(ticket.as_ref().clone());
                if fresh {
                    if let Some(a) = action.as_ref().filter(|a| a.public) {
                        t.last_action = Some(a.text.clone());
                    }
                    tickets::save(c.conn, tenant, &t)
                        .await
                        .map_err(HandlerError::retry)?;
                }
                // What the event says happened is said as the event has it,
                // even if the copy already knows a later version (events
                // may arrive out of order); only an assignment that a later
                // one replaced goes unannounced.
                match change.as_str() {
                    "logged" => {
                        known_customer(c, env, ticket).await?;
                        logged(c, ticket).await.map_err(HandlerError::retry)?;
                        approval_wanted(c, ticket, undecided)
                            .await
                            .map_err(HandlerError::retry)?;
                    }
                    "replanned" => {
                        approval_wanted(c, ticket, undecided)
                            .await
                            .map_err(HandlerError::retry)?;
                    }
                    "assigned" if fresh => {
                        let was = previous.as_ref().map(|p| (p.assignee_id, p.team_id));
                        if was != Some((t.assignee_id, t.team_id)) {
                            assigned(c, &t, *actor_id)
                                .await
                                .map_err(HandlerError::retry)?;
                        }
                        // Handed to a supplier it was not with: the
                        // supplier's desk is told.
                        let supplier_was = previous.as_ref().and_then(|p| p.supplier_id);
                        if let Some(s) = t.supplier_id.filter(|s| supplier_was != Some(*s)) {
                            supplier(c, &t, s).await.map_err(HandlerError::retry)?;
                        }
                    }
                    "status" if resolves(ticket.kind, &ticket.status) => {
                        // The ticket as resolved, with the last public
                        // action the copy knows (snapshots carry none).
                        let mut shown = ticket.as_ref().clone();
                        shown.last_action.clone_from(&t.last_action);
                        resolved(c, &shown, survey_token.as_deref())
                            .await
                            .map_err(HandlerError::retry)?;
                    }
                    "action" => {
                        if let Some(a) = action {
                            acted(c, if fresh { &t } else { ticket }, a)
                                .await
                                .map_err(HandlerError::retry)?;
                        }
                    }
                    _ => {}
                }
            }
            Happened::Assigned(e) => {
                let Some((mut t, fetched)) =
                    Self::ticket(c.conn, env, fetched, e.incident_id).await?
                else {
                    return Ok(());
                };
                if fetched {
                    // Ticketing's ticket holds this assignment already (or a
                    // later one): tell whoever this event assigned.
                    t.assignee_id = e.assignee_id;
                    t.team_id = e.team_id;
                    assigned(c, &t, e.actor.id)
                        .await
                        .map_err(HandlerError::retry)?;
                    if let Some(s) = e.supplier_id {
                        supplier(c, &t, s).await.map_err(HandlerError::retry)?;
                    }
                    return Ok(());
                }
                if !t.older_than(e.version) {
                    return Ok(());
                }
                let supplier_before = t.supplier_id;
                let handlers_before = (t.assignee_id, t.team_id);
                t.assignee_id = e.assignee_id;
                t.team_id = e.team_id;
                t.supplier_id = e.supplier_id;
                if let Some(v) = e.version {
                    t.version = v;
                }
                tickets::save(c.conn, tenant, &t)
                    .await
                    .map_err(HandlerError::retry)?;
                if handlers_before != (t.assignee_id, t.team_id) {
                    assigned(c, &t, e.actor.id)
                        .await
                        .map_err(HandlerError::retry)?;
                }
                if let Some(s) = t.supplier_id.filter(|s| supplier_before != Some(*s)) {
                    supplier(c, &t, s).await.map_err(HandlerError::retry)?;
                }
            }
            Happened::Acted(e) => {
                let Some((mut t, _)) = Self::ticket(c.conn, env, fetched, e.incident_id).await?
                else {
                    return Ok(());
                };
                // The latest public action is the last one; an older event
                // arriving late does not replace it.
                if t.older_than(e.version) {
                    if e.action.public {
                        t.last_action = Some(e.action.text.clone());
                    }
                    if let Some(v) = e.version {
                        t.version = v;
                    }
                    tickets::save(c.conn, tenant, &t)
                        .await
                        .map_err(HandlerError::retry)?;
                }
                acted(c, &t, &e.action).await.map_err(HandlerError::retry)?;
            }
            Happened::Status(e) => {
                let Some((mut t, _)) = Self::ticket(c.conn, env, fetched, e.incident_id).await?
                else {
                    return Ok(());
                };
                if t.older_than(e.version) {
                    t.status = e.to.as_str().to_owned();
                    if e.resolution.is_some() {
                        t.resolution = e.resolution.clone();
                    }
                    if let Some(v) = e.version {
                        t.version = v;
                    }
                    tickets::save(c.conn, tenant, &t)
                        .await
                        .map_err(HandlerError::retry)?;
                }
                if e.to == IncidentStatus::Resolved {
                    resolved(c, &t, e.survey_token.as_deref())
                        .await
                        .map_err(HandlerError::retry)?;
                }
            }
            Happened::Timepoint(e) => {
                if TicketKind::parse(&e.kind).is_none() {
                    return Err(HandlerError::Reject(format!("no ticket kind {:?}", e.kind)));
                }
                let Some((mut t, _)) = Self::ticket(c.conn, env, fetched, e.ticket_id).await?
                else {
                    return Ok(());
                };
                // What the ticket was when the timepoint fired.
                if let Some(p) = e.priority {
                    t.priority = p;
                }
                t.assignee_id = e.assignee_id.or(t.assignee_id);
                t.team_id = e.team_id.or(t.team_id);
                escalated(c, &t, e).await.map_err(HandlerError::retry)?;
            }
        }
        Ok(())
    }
}

/// How long after a ticket was logged notification waits for its
/// customer's directory entry: the edge announces a new customer on its
/// own path, which may arrive a moment after the ticket. Well inside the
/// bus's retries (five deliveries over about 750 ms), so a ticket whose
/// customer never comes goes on without its confirmation instead of being
/// dead-lettered.
const CUSTOMER_GRACE: time::Duration = time::Duration::milliseconds(500);

/// Retries a fresh event whose customer the directory copy does not know
/// yet; an old one goes on without (waiting will not bring the customer).
async fn known_customer(
    c: &mut Composer<'_>,
    env: &Envelope,
    t: &Ticket,
) -> Result<(), HandlerError> {
    if t.customer_id.is_none() || c.customer(t).await.map_err(HandlerError::retry)?.is_some() {
        return Ok(());
    }
    if runtime::store::now() - env.occurred_at < CUSTOMER_GRACE {
        return Err(HandlerError::Retry(format!(
            "{}: its customer is not in the directory yet",
            t.reference
        )));
    }
    tracing::warn!(ticket = %t.reference, "customer unknown to notification: no confirmation");
    Ok(())
}

async fn logged(c: &mut Composer<'_>, t: &Ticket) -> Result<(), StoreError> {
    let vars = c.vars(t).await?;
    if let Some(to) = c.customer_recipient(t).await? {
        c.write(EmailKind::Logged, t, to, &vars).await?;
    }
    let rules: Vec<_> = c
        .settings
        .broadcasts
        .iter()
        .filter(|b| b.kinds.is_empty() || b.kinds.iter().any(|k| k == t.kind.as_str()))
        .filter(|b| b.priority_at_most.is_none_or(|p| t.priority <= p))
        .filter(|b| {
            b.service.as_ref().is_none_or(|s| {
                t.service
                    .as_ref()
                    .is_some_and(|ts| ts.eq_ignore_ascii_case(s))
            })
        })
        .cloned()
        .collect();
    for rule in rules {
        for agent in &rule.agents {
            if let Some(to) = c.agent_recipient(*agent).await? {
                c.write(EmailKind::Broadcast, t, to, &vars).await?;
            }
        }
        for email in &rule.emails {
            let to = Recipient::staff(MailboxV1 {
                email: email.clone(),
                name: None,
            });
            c.write(EmailKind::Broadcast, t, to, &vars).await?;
        }
    }
    Ok(())
}

async fn assigned(c: &mut Composer<'_>, t: &Ticket, actor: Uuid) -> Result<(), StoreError> {
    // Nobody needs telling what they did themselves.
    if t.assignee_id == Some(actor) {
        return Ok(());
    }
    let vars = c.vars(t).await?;
    for to in c.handlers(t).await? {
        c.write(EmailKind::Assigned, t, to, &vars).await?;
    }
    Ok(())
}

/// Asks each of `approvers` (a change's, undecided) for their decision.
async fn approval_wanted(
    c: &mut Composer<'_>,
    t: &Ticket,
    approvers: &[Uuid],
) -> Result<(), StoreError> {
    if approvers.is_empty() {
        return Ok(());
    }
    let vars = c.vars(t).await?;
    for approver in approvers {
        if let Some(to) = c.agent_recipient(*approver).await? {
            c.write(EmailKind::ApprovalWanted, t, to, &vars).await?;
        }
    }
    Ok(())
}

async fn supplier(c: &mut Composer<'_>, t: &Ticket, supplier: Uuid) -> Result<(), StoreError> {
    let Some(contact) = c
        .settings
        .suppliers
        .iter()
        .find(|s| s.supplier_id == supplier)
        .cloned()
    else {
        return Ok(());
    };
    let mut vars = c.vars(t).await?;
    vars.insert("supplier_name", contact.name.clone().unwrap_or_default());
    let to = Recipient::staff(MailboxV1 {
        email: contact.email,
        name: contact.name,
    });
    c.write(EmailKind::Supplier, t, to, &vars).await
}

async fn resolved(
    c: &mut Composer<'_>,
    t: &Ticket,
    survey: Option<&str>,
) -> Result<(), StoreError> {
    let Some(to) = c.customer_recipient(t).await? else {
        return Ok(());
    };
    let mut vars = c.vars(t).await?;
    if let Some(token) = survey {
        let base = c.settings.public_url.clone().unwrap_or_default();
        vars.insert(
            "survey_url",
            format!("{}/api/v1/surveys/{token}", base.trim_end_matches('/')),
        );
    }
    c.write(EmailKind::Resolved, t, to, &vars).await
}

async fn acted(c: &mut Composer<'_>, t: &Ticket, action: &ActionV1) -> Result<(), StoreError> {
    let (to_customer, by_customer) = action_emails(action);
    if !to_customer && !by_customer {
        return Ok(());
    }
    let mut vars = c.vars(t).await?;
    vars.insert("action_text", action.text.clone());
    vars.insert("action_author", action.author.name.clone());
    if to_customer && let Some(to) = c.customer_recipient(t).await? {
        c.write(EmailKind::Action, t, to, &vars).await?;
    }
    if by_customer {
        for to in c.handlers(t).await? {
            c.write(EmailKind::CustomerNote, t, to, &vars).await?;
        }
    }
    Ok(())
}

async fn escalated(
    c: &mut Composer<'_>,
    t: &Ticket,
    e: &TimepointReachedV1,
) -> Result<(), StoreError> {
    let mut vars = c.vars(t).await?;
    vars.insert("target", e.target.clone());
    // The target's due time, which is what people act on; a warning's own
    // time only from a sender that does not say it.
    vars.insert(
        "due_at",
        crate::compose::date(e.target_due_at.unwrap_or(e.due_at)),
    );
    if let Some(zone) = &e.time_zone {
        vars.insert(crate::compose::TIME_ZONE, zone.clone());
    }
    for action in &e.actions {
        match action {
            Action::AlertAssignee => {
                // Nobody assigned (nor a team's agents with an address):
                // the team's leader, so the alert reaches someone.
                let mut to = c.handlers(t).await?;
                if to.is_empty() {
                    to.extend(c.team_leader(t).await?);
                }
                for r in to {
                    c.write(EmailKind::EscalationAlert, t, r, &vars).await?;
                }
            }
            Action::AlertTeamLeader => {
                if let Some(to) = c.team_leader(t).await? {
                    c.write(EmailKind::EscalationAlert, t, to, &vars).await?;
                }
            }
            Action::AlertAgents { agents } => {
                for a in agents {
                    if let Some(to) = c.agent_recipient(*a).await? {
                        c.write(EmailKind::EscalationAlert, t, to, &vars).await?;
                    }
                }
            }
            Action::EmailCustomer { template } => {
                if let Some(to) = c.customer_recipient(t).await? {
                    let mut v = vars.clone();
                    v.insert("escalation_text", template.clone());
                    c.write(EmailKind::EscalationCustomer, t, to, &v).await?;
                }
            }
            Action::WarnResponseBreach => {
                let mut to = c.handlers(t).await?;
                if to.is_empty() {
                    to.extend(c.team_leader(t).await?);
                }
                for r in to {
                    c.write(EmailKind::ResponseBreach, t, r, &vars).await?;
                }
            }
            Action::RecordAction { .. }
            | Action::Reassign { .. }
            | Action::RaisePriority { .. } => {}
        }
    }
    Ok(())
}

/// What the consumer hands events to.
pub struct Consumer {
    writer: Writer<Events>,
}

/// The consumer, and the writer task that applies what it hands over in
/// groups (ending when the consumer is dropped).
pub fn consumer(events: Events) -> (Arc<Consumer>, tokio::task::JoinHandle<()>) {
    let (writer, task) = Writer::start(events);
    (Arc::new(Consumer { writer }), task)
}

#[async_trait]
impl Handler for Consumer {
    async fn handle(&self, env: Envelope) -> Result<Option<Envelope>, HandlerError> {
        let what = decode_event(&env)?;
        self.writer.submit(Pending { env, what }).await?;
        Ok(None)
    }
}

/// An event on its way to the writer.
pub struct Pending {
    env: Envelope,
    what: Happened,
}

#[async_trait]
impl runtime::writer::Group for Events {
    type Item = Pending;
    type Output = ();
    const NAME: &'static str = CONSUMER;
    const MAX: usize = MAX_GROUP;

    /// In the order they happened.
    fn order(p: &Pending) -> i128 {
        p.env.occurred_at.unix_timestamp_nanos()
    }

    async fn commit(
        &self,
        group: &[Pending],
    ) -> Result<Vec<Result<(), HandlerError>>, GroupFailed> {
        self.apply_group(group).await?;
        Ok(group.iter().map(|_| Ok(())).collect())
    }
}

impl Events {
    /// Applies `group` in one transaction, with its inbox records: each
    /// event's copies updated and its emails queued, or nothing.
    async fn apply_group(&self, group: &[Pending]) -> Result<(), HandlerError> {
        let fetched = self.missing(group).await?;
        let mut tx = self.store.begin().await.map_err(HandlerError::retry)?;
        let ids: Vec<Uuid> = group.iter().map(|p| p.env.message_id).collect();
        let seen = inbox::check(&mut tx, CONSUMER, &ids)
            .await
            .map_err(HandlerError::retry)?;
        let mut done = HashSet::new();
        let mut emails = Vec::new();
        let mut settings = HashMap::new();
        for p in group {
            // Done before, or a second copy in this group.
            if seen.contains_key(&p.env.message_id) || !done.insert(p.env.message_id) {
                continue;
            }
            let tenant = p.env.tenant_id;
            if let Entry::Vacant(slot) = settings.entry(tenant) {
                slot.insert(
                    tenant::settings(&mut tx, tenant)
                        .await
                        .map_err(HandlerError::retry)?,
                );
            }
            let mut c = Composer::new(&mut tx, tenant, settings[&tenant].clone());
            self.apply(&mut c, &p.env, &p.what, &fetched).await?;
            emails.append(&mut c.emails);
        }
        outgoing::enqueue(&mut tx, &emails, runtime::store::now())
            .await
            .map_err(HandlerError::retry)?;
        inbox::record(
            &mut tx,
            CONSUMER,
            done.into_iter().map(|id| (id, None)).collect(),
        )
        .await
        .map_err(HandlerError::retry)?;
        tx.commit().await.map_err(HandlerError::retry)?;
        if !emails.is_empty() {
            metrics::counter!("notification_emails_queued_total").increment(emails.len() as u64);
            self.queued.notify_one();
        }
        Ok(())
    }
}
