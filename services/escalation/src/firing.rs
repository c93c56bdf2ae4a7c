//! Firing: due timers are claimed, recorded on their ticket's timeline and
//! announced, all in one transaction, so each fires once. A timepoint
//! becomes a [`TimepointReachedV1`] carrying its actions (templates
//! rendered for the ticket) for the services that carry them out; the
//! breach becomes an [`SlaBreachedV1`].
//!
//! The loop sleeps until the next timer is due, never longer than
//! [`MAX_SLEEP`] (another replica or a new event may have placed an earlier
//! one), and is woken early when the tracker places timers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use contracts::Envelope;
use contracts::escalation::{Action, SlaBreachedV1, TimepointReachedV1};
use jiff::Timestamp;
use runtime::outbox::{self, Outgoing, Relay};
use runtime::store::{Param, Store, StoreError, bind_all, placeholders};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::calendar::Calendar;
use crate::definitions;
use crate::now::{Now, to_time};
use crate::tickets::{self, Lock, Tracked, Which};
use crate::timers::{self, Claimed};
use crate::track::{self, Defs};

/// Most timers one transaction fires.
pub const MAX_FIRE: i64 = 500;

/// Longest the loop sleeps without looking again.
pub const MAX_SLEEP: Duration = Duration::from_millis(250);

/// How long the loop waits before trying a due timer whose ticket another
/// writer holds.
const HELD_BACK: Duration = Duration::from_millis(20);

/// A timer that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub timer: timers::Timer,
    pub fired_at: Timestamp,
    pub late: bool,
}

/// `{{reference}}`, `{{kind}}`, `{{priority}}`, `{{target}}`, `{{due_at}}`
/// and `{{sla}}` in an action's template, filled in for this ticket.
fn render(template: &str, t: &Tracked, target: Which, due_at: Timestamp, sla: &str) -> String {
    template
        .replace("{{reference}}", &t.reference)
        .replace("{{kind}}", &t.kind)
        .replace("{{priority}}", &t.priority.to_string())
        .replace("{{target}}", target.as_str())
        .replace("{{due_at}}", &due_at.to_string())
        .replace("{{sla}}", sla)
}

/// When `t`'s target `which` falls due, seen from its timepoint `n` due at
/// `due_at`: that many business seconds on from it; for a timepoint after
/// the target, the moment the target was breached.
fn target_due(
    t: &Tracked,
    which: Which,
    n: u32,
    due_at: Timestamp,
    defs: &Defs,
) -> Option<Timestamp> {
    let clock = t.clock(which)?;
    let timepoint = track::target_of(t, which, defs)?
        .timepoints
        .get(n as usize)?;
    let offset = crate::sla::offset(timepoint.placement, clock.target);
    if offset < clock.target {
        defs.calendar_of(t)?.add(due_at, clock.target - offset)
    } else {
        clock.breached_at.or(Some(due_at))
    }
}

fn actions(t: &Tracked, which: Which, n: u32, due_at: Timestamp, defs: &Defs) -> Vec<Action> {
    let sla_name = t
        .sla_id
        .and_then(|id| defs.slas.get(&id))
        .map(|s| s.name.as_str())
        .unwrap_or_default();
    let Some(tp) = track::target_of(t, which, defs).and_then(|tg| tg.timepoints.get(n as usize))
    else {
        return Vec::new();
    };
    tp.actions
        .iter()
        .map(|a| match a {
            Action::RecordAction { template } => Action::RecordAction {
                template: render(template, t, which, due_at, sla_name),
            },
            Action::EmailCustomer { template } => Action::EmailCustomer {
                template: render(template, t, which, due_at, sla_name),
            },
            other => other.clone(),
        })
        .collect()
}

/// Fires up to `max` timers due by `now`, each once; returns them.
pub async fn fire_due(store: &Store, now: Timestamp, max: i64) -> Result<Vec<Fired>, StoreError> {
    // As precise as the store keeps time, so what is written reads back the
    // same (and a timeline sorts the same before and after).
    let now = tickets::from_micros(now.as_microsecond());
    let mut tx = store.begin().await?;
    let claimed = timers::claim_due(&mut tx, store.backend(), now, max).await?;
    if claimed.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let mut ids: Vec<Uuid> = claimed.iter().map(|c| c.timer.ticket_id).collect();
    ids.sort();
    ids.dedup();
    // A ticket the tracker holds is left for the next round: waiting for it
    // while holding timers the tracker wants to replace could deadlock.
    let mut tickets = tickets::load(&mut tx, store.backend(), &ids, Lock::SkipLocked).await?;
    let orphans = orphans(&mut tx, &ids, &tickets).await?;
    let mut defs: HashMap<Uuid, Defs> = HashMap::new();
    let mut fired = Vec::new();
    let mut done: Vec<&Claimed> = Vec::new();
    let mut events = Vec::new();
    let mut changed = HashSet::new();
    for c in &claimed {
        let timer = &c.timer;
        if orphans.contains(&timer.ticket_id) {
            done.push(c);
            continue;
        }
        let (Some(t), Some(which)) = (
            tickets.get_mut(&timer.ticket_id),
            Which::parse(&timer.target),
        ) else {
            continue;
        };
        let tenant_defs = definitions::load_once(&mut tx, &mut defs, t.tenant_id).await?;
        let late = timers::is_late(timer.due_at, now);
        let Some(clock) = t.clock_mut(which) else {
            done.push(c);
            continue;
        };
        match timer.timepoint {
            None => {
                clock.breach(timer.due_at);
                let breached = SlaBreachedV1 {
                    ticket_id: t.ticket_id,
                    reference: t.reference.clone(),
                    kind: t.kind.clone(),
                    target: which.as_str().to_owned(),
                    priority: t.priority,
                    assignee_id: t.assignee_id,
                    team_id: t.team_id,
                    due_at: to_time(timer.due_at),
                };
                events.push(Outgoing::event::<SlaBreachedV1>(Envelope::new(
                    t.tenant_id,
                    &breached,
                )));
            }
            Some(n) => {
                clock.escalated(now, n, late);
                let target_due_at = target_due(t, which, n, timer.due_at, tenant_defs);
                let reached = TimepointReachedV1 {
                    ticket_id: t.ticket_id,
                    target: which.as_str().to_owned(),
                    timepoint: n,
                    due_at: to_time(timer.due_at),
                    target_due_at: target_due_at.map(to_time),
                    time_zone: tenant_defs
                        .calendar_of(t)
                        .and_then(Calendar::time_zone)
                        .map(str::to_owned),
                    fired_at: to_time(now),
                    late,
                    reference: t.reference.clone(),
                    kind: t.kind.clone(),
                    priority: Some(t.priority),
                    assignee_id: t.assignee_id,
                    team_id: t.team_id,
                    customer_id: t.customer_id,
                    sla_id: t.sla_id,
                    actions: actions(t, which, n, timer.due_at, tenant_defs),
                };
                events.push(Outgoing::event::<TimepointReachedV1>(Envelope::new(
                    t.tenant_id,
                    &reached,
                )));
            }
        }
        changed.insert(t.ticket_id);
        done.push(c);
        fired.push(Fired {
            timer: timer.clone(),
            fired_at: now,
            late,
        });
    }
    let changed: Vec<&Tracked> = tickets
        .values()
        .filter(|t| changed.contains(&t.ticket_id))
        .collect();
    tickets::save(&mut tx, &changed).await?;
    timers::mark_fired(&mut tx, &done, now).await?;
    outbox::enqueue(&mut tx, &events).await?;
    tx.commit().await?;
    for f in &fired {
        let lag = (now.as_microsecond() - f.timer.due_at.as_microsecond()).max(0) as f64 / 1e6;
        metrics::histogram!("escalation_firing_lag_seconds").record(lag);
    }
    metrics::counter!("escalation_timers_fired_total").increment(fired.len() as u64);
    Ok(fired)
}

/// Of `ids`, those not followed at all (not merely locked by another
/// writer): their timers are dropped, or they would be claimed forever.
async fn orphans(
    tx: &mut sqlx::AnyConnection,
    ids: &[Uuid],
    locked: &HashMap<Uuid, Tracked>,
) -> Result<HashSet<Uuid>, StoreError> {
    let missing: Vec<&Uuid> = ids.iter().filter(|id| !locked.contains_key(id)).collect();
    if missing.is_empty() {
        return Ok(HashSet::new());
    }
    let sql = format!(
        "SELECT ticket_id FROM sla_tickets WHERE ticket_id IN ({})",
        placeholders(1, missing.len())
    );
    let params = missing
        .iter()
        .map(|id| Param::from(id.to_string()))
        .collect();
    let present: HashSet<String> = bind_all(sql, params)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| sqlx::Row::try_get::<String, _>(r, "ticket_id"))
        .collect::<Result<_, _>>()?;
    Ok(missing
        .into_iter()
        .filter(|id| !present.contains(&id.to_string()))
        .copied()
        .collect())
}

/// Fires due timers until `stop`: sleeps until the next is due (at most
/// [`MAX_SLEEP`]), or until `wake` says new timers were placed.
pub async fn run(
    store: Store,
    now: Arc<dyn Now>,
    relay: Relay,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    while !stop.is_cancelled() {
        // Nothing fired although something is due: its ticket is held by
        // another writer. Give it a moment rather than spin.
        let mut least = Duration::ZERO;
        match fire_due(&store, now.now(), MAX_FIRE).await {
            Ok(fired) => {
                if !fired.is_empty() {
                    relay.wake();
                }
                if fired.len() as i64 == MAX_FIRE {
                    continue;
                }
                if fired.is_empty() {
                    least = HELD_BACK;
                }
            }
            Err(e) => tracing::warn!(error = %e, "firing timers failed; trying again"),
        }
        let sleep = match timers::next_due(&store).await {
            Ok(Some(next)) => {
                let wait = next.as_millisecond() - now.now().as_millisecond();
                Duration::from_millis(u64::try_from(wait).unwrap_or(0)).clamp(least, MAX_SLEEP)
            }
            _ => MAX_SLEEP,
        };
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = wake.notified() => {}
            () = stop.cancelled() => {}
        }
    }
}
