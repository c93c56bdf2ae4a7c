//! The tracker: ticketing's events in, each ticket's clocks and timers
//! moved. Events are applied in groups, one transaction each (with their
//! inbox records, so a redelivered event changes nothing): one commit
//! serves many events, which is what lets one replica keep up with
//! thousands of ticket changes a second. Within a group a ticket's events
//! are applied in the order they happened.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use contracts::escalation::{TargetsOfTicket, TicketTargetsV1};
use contracts::incident::{
    IncidentActionAddedV1, IncidentAssignedV1, IncidentLoggedV1, IncidentStatusChangedV1,
};
use contracts::ticket::{TicketChangedV1, TicketV1};
use contracts::{Envelope, Event as _, Message};
use jiff::Timestamp;
use runtime::bus::{Handler, HandlerError, QueueSpec};
use runtime::inbox;
use runtime::outbox::{self, Outgoing, Relay};
use runtime::store::{Store, StoreError};
use runtime::writer::{GroupFailed, Writer};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::definitions;
use crate::now::from_time;
use crate::tickets::{self, Lock, Tracked, Which};
use crate::timers;
use crate::track::{self, Change, Defs, Event, Snapshot};

/// The inbox name and queue of the tracker.
pub const CONSUMER: &str = "escalation.tickets";

/// What the tracker follows. One replica at a time takes them (the others
/// stand by), so a ticket's events arrive in the order ticketing published
/// them; the others share the firing.
pub fn spec(prefetch: u16) -> QueueSpec {
    QueueSpec::events(
        CONSUMER,
        &[
            TicketChangedV1::ROUTING_KEY,
            // Deprecated: ticketing's previous version announced incidents
            // on these.
            IncidentLoggedV1::ROUTING_KEY,
            IncidentAssignedV1::ROUTING_KEY,
            IncidentActionAddedV1::ROUTING_KEY,
            IncidentStatusChangedV1::ROUTING_KEY,
        ],
        prefetch,
    )
    .in_order()
}

fn ticket_snapshot(t: &TicketV1) -> Snapshot {
    Snapshot {
        logged_at: Some(from_time(t.created_at)),
        answered: t.first_response_at.is_some(),
        kind: t.kind.as_str().into(),
        reference: t.reference.clone(),
        status: t.status.clone(),
        priority: t.priority,
        service: t.service.clone(),
        customer_id: t.customer_id,
        company_id: t.company_id,
        assignee_id: t.assignee_id,
        team_id: t.team_id,
    }
}

/// The event in `env`, or why it is not one (the dead letter's reason).
pub fn event(env: &Envelope) -> Result<Event, String> {
    let decode_err = |e: contracts::envelope::DecodeError| e.to_string();
    let (ticket_id, change, version) = match env.message_type.as_str() {
        TicketChangedV1::TYPE => {
            let e: TicketChangedV1 = env.decode().map_err(decode_err)?;
            let t = &e.ticket;
            let assigned = match e.change.as_str() {
                "assigned" => Some(e.actor.id),
                // Logged straight to someone: that is an assignment.
                "logged" if t.assignee_id.is_some() || t.team_id.is_some() => Some(e.actor.id),
                _ => None,
            };
            let acted = e
                .action
                .as_ref()
                .map(|a| (a.author.id, a.author.answers_for_desk()));
            let change = Change::Snapshot {
                ticket: ticket_snapshot(t),
                assigned_by: assigned,
                acted_by: acted,
            };
            (t.id, change, Some(t.version))
        }
        // Deprecated: the incident events of ticketing's previous version,
        // accepted for a deprecation period.
        IncidentLoggedV1::TYPE => {
            let e: IncidentLoggedV1 = env.decode().map_err(decode_err)?;
            let t = TicketV1::from(e.incident);
            let assigned = t.assignee_id.is_some() || t.team_id.is_some();
            let change = Change::Snapshot {
                ticket: ticket_snapshot(&t),
                assigned_by: assigned.then_some(t.logged_by.id),
                acted_by: None,
            };
            (t.id, change, Some(t.version))
        }
        IncidentAssignedV1::TYPE => {
            let e: IncidentAssignedV1 = env.decode().map_err(decode_err)?;
            let change = Change::Assigned {
                assignee_id: e.assignee_id,
                team_id: e.team_id,
                by: e.actor.id,
            };
            (e.incident_id, change, e.version)
        }
        IncidentActionAddedV1::TYPE => {
            let e: IncidentActionAddedV1 = env.decode().map_err(decode_err)?;
            let author = &e.action.author;
            let change = Change::Acted {
                by: author.id,
                staff: author.answers_for_desk(),
            };
            (e.incident_id, change, e.version)
        }
        IncidentStatusChangedV1::TYPE => {
            let e: IncidentStatusChangedV1 = env.decode().map_err(decode_err)?;
            (
                e.incident_id,
                Change::Status(e.to.as_str().to_owned()),
                e.version,
            )
        }
        other => return Err(format!("not an event the tracker follows: {other}")),
    };
    Ok(Event {
        tenant_id: env.tenant_id,
        ticket_id,
        at: from_time(env.occurred_at),
        change,
        version,
    })
}

/// The tracker's handler; its writer task applies what it hands over.
pub struct Tracker {
    writer: Writer<Group>,
}

impl Tracker {
    /// The handler and its writer task (ends when the handler is dropped).
    /// `wake` is told when timers were placed, for the firing loop.
    /// `relay` publishes the targets it announces.
    pub fn new(store: Store, wake: Arc<Notify>, relay: Relay) -> (Arc<Self>, JoinHandle<()>) {
        let (writer, task) = Writer::start(Group { store, wake, relay });
        (Arc::new(Self { writer }), task)
    }
}

#[async_trait]
impl Handler for Tracker {
    async fn handle(&self, env: Envelope) -> Result<Option<Envelope>, HandlerError> {
        let event = event(&env).map_err(HandlerError::Reject)?;
        self.writer.submit((env.message_id, event)).await?;
        Ok(None)
    }
}

/// Applies ticket events in groups (see [`runtime::writer`]), and wakes
/// the firing loop when timers were placed.
struct Group {
    store: Store,
    wake: Arc<Notify>,
    relay: Relay,
}

#[async_trait]
impl runtime::writer::Group for Group {
    type Item = (Uuid, Event);
    type Output = ();
    const NAME: &'static str = CONSUMER;
    const MAX: usize = 512;

    async fn commit(
        &self,
        events: &[(Uuid, Event)],
    ) -> Result<Vec<Result<(), HandlerError>>, GroupFailed> {
        let all: Vec<(Uuid, &Event)> = events.iter().map(|(id, e)| (*id, e)).collect();
        if apply(&self.store, &all).await? {
            self.relay.wake();
        }
        metrics::counter!("escalation_ticket_events_total").increment(events.len() as u64);
        self.wake.notify_one();
        Ok(events.iter().map(|_| Ok(())).collect())
    }
}

/// Applies `events` in one transaction: nothing is committed on `Err`.
/// Whether it announced tickets' targets (for the relay to publish).
pub async fn apply(store: &Store, events: &[(Uuid, &Event)]) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    let ids: Vec<Uuid> = events.iter().map(|(id, _)| *id).collect();
    let seen = inbox::check(&mut tx, CONSUMER, &ids).await?;
    let mut todo: Vec<(Uuid, &Event)> = Vec::with_capacity(events.len());
    let mut in_group = HashSet::new();
    for (id, e) in events {
        // Done before, or a second copy in this group.
        if !seen.contains_key(id) && in_group.insert(*id) {
            todo.push((*id, e));
        }
    }
    // A ticket's events in the order they happened (the group may hold
    // them in the order concurrent deliveries reached the writer).
    todo.sort_by_key(|(_, e)| (e.ticket_id, e.at));
    let mut ticket_ids: Vec<Uuid> = todo.iter().map(|(_, e)| e.ticket_id).collect();
    ticket_ids.dedup();
    let mut defs: HashMap<Uuid, Defs> = HashMap::new();
    let mut tenants: Vec<Uuid> = todo.iter().map(|(_, e)| e.tenant_id).collect();
    tenants.sort();
    tenants.dedup();
    for tenant in tenants {
        let loaded = definitions::load_shared(&mut tx, store.backend(), tenant).await?;
        defs.insert(tenant, loaded);
    }
    let mut followed = tickets::load(&mut tx, store.backend(), &ticket_ids, Lock::Wait).await?;
    let existing: HashSet<Uuid> = followed.keys().copied().collect();
    let due_before: HashMap<Uuid, Due> = followed
        .values()
        .filter_map(|t| Some((t.ticket_id, due_times(t, defs.get(&t.tenant_id)?))))
        .collect();
    let mut dirty: HashSet<(Uuid, Which)> = HashSet::new();
    let mut changed: HashSet<Uuid> = HashSet::new();
    for (_, e) in &todo {
        let Some(tenant_defs) = defs.get(&e.tenant_id) else {
            continue;
        };
        let current = followed.remove(&e.ticket_id);
        if current.as_ref().is_some_and(|t| t.tenant_id != e.tenant_id) {
            // Another tenant's ticket id: never applied across tenants.
            followed.extend(current.map(|t| (t.ticket_id, t)));
            continue;
        }
        if let Some((t, moved)) = track::apply(current, e, tenant_defs) {
            dirty.extend(moved.into_iter().map(|w| (t.ticket_id, w)));
            changed.insert(t.ticket_id);
            followed.insert(t.ticket_id, t);
        }
    }
    let saved: Vec<&Tracked> = followed
        .values()
        .filter(|t| changed.contains(&t.ticket_id))
        .collect();
    tickets::save(&mut tx, &saved).await?;
    let dirty: Vec<(Uuid, Which)> = dirty.into_iter().collect();
    let placed: Vec<timers::Timer> = dirty
        .iter()
        .filter_map(|(id, w)| {
            let t = followed.get(id)?;
            Some(track::timers(t, *w, &defs[&t.tenant_id]))
        })
        .flatten()
        .collect();
    let replaced: Vec<(Uuid, Which)> = dirty
        .iter()
        .filter(|(id, _)| existing.contains(id))
        .copied()
        .collect();
    timers::replace(&mut tx, &replaced, &placed).await?;
    let announced = announce_targets(
        &mut tx,
        saved_ids(&followed, &changed),
        &due_before,
        |tenant| defs.get(&tenant),
    )
    .await?;
    inbox::record(
        &mut tx,
        CONSUMER,
        todo.iter().map(|(id, _)| (*id, None)).collect(),
    )
    .await?;
    tx.commit().await?;
    Ok(announced)
}

/// The tickets of `followed` that `changed` names.
fn saved_ids<'a>(
    followed: &'a HashMap<Uuid, Tracked>,
    changed: &'a HashSet<Uuid>,
) -> impl Iterator<Item = &'a Tracked> {
    followed.values().filter(|t| changed.contains(&t.ticket_id))
}

/// When a ticket's (response, resolve) targets fall due now.
type Due = (Option<Timestamp>, Option<Timestamp>);

fn due_times(t: &Tracked, defs: &Defs) -> Due {
    let calendar = t.calendar_id.and_then(|id| defs.calendars.get(&id));
    let due = |c: Option<&crate::clock::Clock>| {
        let (c, calendar) = (c?, calendar?);
        c.due(c.target, calendar)
    };
    (due(t.response.as_ref()), due(t.resolve.as_ref()))
}

/// Announces the targets of each of `tickets` whose due times are not
/// what they were (`before`; a ticket not there is new), in the
/// transaction that moved them. Whether it announced any.
async fn announce_targets<'d>(
    tx: &mut sqlx::AnyConnection,
    tickets: impl Iterator<Item = &Tracked>,
    before: &HashMap<Uuid, Due>,
    defs: impl Fn(Uuid) -> Option<&'d Defs>,
) -> Result<bool, StoreError> {
    // One event per tenant (and per MAX tickets): one outbox row for a
    // commit group's tickets, not one each.
    let mut by_tenant: HashMap<Uuid, Vec<TargetsOfTicket>> = HashMap::new();
    for t in tickets {
        let Some(d) = defs(t.tenant_id) else { continue };
        let now = due_times(t, d);
        if before.get(&t.ticket_id) == Some(&now) {
            continue;
        }
        by_tenant
            .entry(t.tenant_id)
            .or_default()
            .push(TargetsOfTicket {
                ticket_id: t.ticket_id,
                reference: t.reference.clone(),
                kind: t.kind.clone(),
                response_due: now.0.map(crate::now::to_time),
                resolve_due: now.1.map(crate::now::to_time),
                time_zone: d
                    .calendar_of(t)
                    .and_then(crate::calendar::Calendar::time_zone)
                    .map(str::to_owned),
            });
    }
    let events: Vec<Outgoing> = by_tenant
        .into_iter()
        .flat_map(|(tenant, targets)| {
            targets
                .chunks(TicketTargetsV1::MAX)
                .map(|chunk| {
                    let event = TicketTargetsV1 {
                        tickets: chunk.to_vec(),
                    };
                    Outgoing::event::<TicketTargetsV1>(Envelope::new(tenant, &event))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    outbox::enqueue(tx, &events).await?;
    Ok(!events.is_empty())
}

/// The job that announces, once per store, the targets of the tickets
/// escalation followed before it announced each change.
const ANNOUNCE_JOB: &str = "announce-existing-targets";

/// Announces the due times of every ticket with a target still open, once
/// per store: the services that keep a copy (notification) learn those of
/// tickets followed before escalation announced targets. Several replicas
/// starting at once do it once (the job's row is taken first). How many it
/// announced.
pub async fn announce_existing_targets(store: &Store) -> Result<usize, StoreError> {
    let mut tx = store.begin().await?;
    let taken = sqlx::query(
        "INSERT INTO escalation_jobs (name, done_at) VALUES ($1, $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(ANNOUNCE_JOB)
    .bind(runtime::store::micros(runtime::store::now()))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if taken == 0 {
        return Ok(0);
    }
    let open = tickets::open(&mut tx).await?;
    let mut defs = HashMap::new();
    for t in &open {
        if let std::collections::hash_map::Entry::Vacant(e) = defs.entry(t.tenant_id) {
            e.insert(definitions::load_for_engine(&mut tx, t.tenant_id).await?);
        }
    }
    // None was announced: every one is new to the copy.
    let before = HashMap::new();
    let announced = announce_targets(&mut tx, open.iter(), &before, |t| defs.get(&t)).await?;
    tx.commit().await?;
    Ok(if announced { open.len() } else { 0 })
}

/// A calendar or SLA of `tenant` was replaced in `tx` (`under` names it),
/// and `old` is what the tenant's definitions were before: the open tickets
/// under it are recomputed at `at` (what they used counted in the old
/// definitions) and their timers placed again. Returns how many moved.
pub async fn redefined(
    tx: &mut sqlx::AnyConnection,
    backend: runtime::store::Backend,
    tenant: Uuid,
    old: &Defs,
    under: tickets::Under,
    at: Timestamp,
) -> Result<usize, StoreError> {
    let new = definitions::load_for_engine(tx, tenant).await?;
    let mut moved = tickets::under(tx, backend, tenant, under).await?;
    let due_before: HashMap<Uuid, Due> = moved
        .iter()
        .map(|t| (t.ticket_id, due_times(t, old)))
        .collect();
    let recalendar = matches!(under, tickets::Under::Calendar(_));
    let mut dirty = Vec::new();
    for t in &mut moved {
        let targets = track::redefine(t, at, old, &new, recalendar);
        dirty.extend(targets.into_iter().map(|w| (t.ticket_id, w)));
    }
    let saved: Vec<&Tracked> = moved.iter().collect();
    tickets::save(tx, &saved).await?;
    let by_id: HashMap<Uuid, &Tracked> = moved.iter().map(|t| (t.ticket_id, t)).collect();
    let placed: Vec<timers::Timer> = dirty
        .iter()
        .filter_map(|(id, w)| Some(track::timers(by_id.get(id)?, *w, &new)))
        .flatten()
        .collect();
    timers::replace(tx, &dirty, &placed).await?;
    announce_targets(tx, moved.iter(), &due_before, |_| Some(&new)).await?;
    Ok(moved.len())
}
