//! How a ticket's SLA clocks move with what happens to it. Pure: given the
//! ticket as followed so far, one thing that happened (from ticketing's
//! events, at the time it happened) and the tenant's definitions, it moves
//! the clocks and says which targets' timers must be placed again.
//!
//! - The SLA is chosen by the tenant's rules from the ticket's kind,
//!   priority and service, each time one of those changes.
//! - Both clocks start when the ticket first has an SLA with targets for
//!   its priority. A new priority, SLA or calendar recomputes them: what was
//!   used stays used (counted in the calendar it ran in), the deadline moves.
//! - Pending statuses pause them; a resolution meets them (the response
//!   too, if it was never given); reopening restarts the resolve clock
//!   from where it stopped.
//! - The response is met by the desk's first action or assignment, as the
//!   SLA says. What the escalation service itself does never counts.

use std::collections::HashMap;

use contracts::escalation::{ESCALATION_ACTOR_ID, ResponseMetBy};
use jiff::Timestamp;
use uuid::Uuid;

use crate::calendar::Calendar;
use crate::clock::Clock;
use crate::sla::{self, Facts, Rule, Sla};
use crate::tickets::{Tracked, Which};
use crate::timers::Timer;

/// A tenant's definitions, as the engine uses them.
#[derive(Debug, Clone, Default)]
pub struct Defs {
    pub rules: Vec<Rule>,
    pub slas: HashMap<Uuid, Sla>,
    pub calendars: HashMap<Uuid, Calendar>,
}

impl Defs {
    /// The SLA the rules give a ticket with `facts`, if it exists.
    fn choose(&self, facts: &Facts<'_>) -> Option<(Uuid, &Sla)> {
        let id = sla::choose(&self.rules, facts)?;
        Some((id, self.slas.get(&id)?))
    }

    pub fn calendar_of(&self, t: &Tracked) -> Option<&Calendar> {
        self.calendars.get(&t.calendar_id?)
    }
}

/// A ticket as a full snapshot gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// When the ticket was logged.
    pub logged_at: Option<Timestamp>,
    /// Whether the desk has answered it already.
    pub answered: bool,
    pub kind: String,
    pub reference: String,
    pub status: String,
    pub priority: u8,
    pub service: Option<String>,
    pub customer_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
}

/// One thing that happened to a ticket.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Logged, or changed (the ticket as it now is). `assigned_by` and
    /// `acted_by` say whether the change was an assignment or an action,
    /// and by whom (`acted_by`: the author, and whether they are staff).
    Snapshot {
        ticket: Snapshot,
        assigned_by: Option<Uuid>,
        acted_by: Option<(Uuid, bool)>,
    },
    Status(String),
    Assigned {
        assignee_id: Option<Uuid>,
        team_id: Option<Uuid>,
        by: Uuid,
    },
    /// An action was added by `by` (`staff`: by the desk, not the customer).
    Acted {
        by: Uuid,
        staff: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    pub at: Timestamp,
    pub change: Change,
    /// The ticket's version after the change, when the event says: one not
    /// newer than what was applied already arrived late.
    pub version: Option<i64>,
}

/// Where a ticket's status puts its clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Paused,
    Done,
}

pub fn phase(kind: &str, status: &str) -> Phase {
    match (kind, status) {
        ("incident" | "request", "pending") => Phase::Paused,
        ("incident" | "problem", "resolved")
        | ("request", "fulfilled")
        | ("change", "implemented" | "backed_out" | "reviewed" | "cancelled" | "rejected")
        | (_, "closed") => Phase::Done,
        _ => Phase::Running,
    }
}

/// Why the response is met by this change, if it is.
fn responds(change: &Change, met_by: ResponseMetBy) -> bool {
    let by_action = matches!(met_by, ResponseMetBy::FirstAction | ResponseMetBy::Either);
    let by_assignment = matches!(met_by, ResponseMetBy::Assignment | ResponseMetBy::Either);
    let desk = |by: &Uuid| *by != ESCALATION_ACTOR_ID;
    match change {
        Change::Acted { by, staff } => by_action && *staff && desk(by),
        Change::Assigned {
            assignee_id,
            team_id,
            by,
        } => by_assignment && (assignee_id.is_some() || team_id.is_some()) && desk(by),
        Change::Snapshot {
            ticket,
            assigned_by,
            acted_by,
        } => {
            let assigned = assigned_by.is_some_and(|by| {
                desk(&by) && (ticket.assignee_id.is_some() || ticket.team_id.is_some())
            });
            let acted = acted_by.is_some_and(|(by, staff)| staff && desk(&by));
            (by_assignment && assigned) || (by_action && acted)
        }
        Change::Status(_) => false,
    }
}

fn new_ticket(e: &Event, s: &Snapshot) -> Tracked {
    Tracked {
        ticket_id: e.ticket_id,
        tenant_id: e.tenant_id,
        kind: s.kind.clone(),
        reference: s.reference.clone(),
        status: s.status.clone(),
        priority: s.priority,
        service: s.service.clone(),
        customer_id: s.customer_id,
        company_id: s.company_id,
        assignee_id: s.assignee_id,
        team_id: s.team_id,
        version: 0,
        last_at: e.at,
        logged_at: s.logged_at.filter(|_| !s.answered),
        sla_id: None,
        calendar_id: None,
        response: None,
        resolve: None,
    }
}

/// Applies `e` to `t` (`None`: a ticket not followed yet). Returns the
/// ticket, or `None` when there is nothing to follow (an event about a
/// ticket whose logging was never seen), and the targets whose timers must
/// be placed again.
pub fn apply(t: Option<Tracked>, e: &Event, defs: &Defs) -> Option<(Tracked, Vec<Which>)> {
    let mut t = match (t, &e.change) {
        (Some(t), _) => t,
        (None, Change::Snapshot { ticket, .. }) => new_ticket(e, ticket),
        (None, _) => return None,
    };
    // Clocks never run backwards: an event that arrives after a later one
    // counts from the later one's time.
    let at = e.at.max(t.last_at);
    t.last_at = at;
    let before = steps(&t);
    let old_phase = phase(&t.kind, &t.status);
    let (old_priority, old_sla) = (t.priority, t.sla_id);
    if let Some(v) = e.version {
        if t.version > 0 && v <= t.version {
            // Older than a change applied already: its state is out of
            // date, but a response it carries still counts.
            let moved = respond_late(&mut t, at, e, defs);
            return Some((t, moved));
        }
        t.version = v;
    }
    match &e.change {
        Change::Snapshot { ticket: s, .. } => {
            // Its clocks count from its logging only while nobody answered
            // it: one answered before it had an SLA starts from now, as
            // there is no response left to time.
            if !s.answered {
                t.logged_at = t.logged_at.or(s.logged_at);
            } else if t.response.is_none() {
                t.logged_at = None;
            }
            t.reference.clone_from(&s.reference);
            t.status.clone_from(&s.status);
            t.priority = s.priority;
            t.service.clone_from(&s.service);
            t.customer_id = s.customer_id;
            t.company_id = s.company_id;
            t.assignee_id = s.assignee_id;
            t.team_id = s.team_id;
        }
        Change::Status(to) => t.status.clone_from(to),
        Change::Assigned {
            assignee_id,
            team_id,
            ..
        } => {
            t.assignee_id = *assignee_id;
            t.team_id = *team_id;
        }
        Change::Acted { .. } => {}
    }
    let old_cal = defs.calendar_of(&t);
    place_targets(&mut t, at, defs, old_cal, old_priority, false);
    let Some(cal) = defs.calendar_of(&t) else {
        return Some((t, Vec::new()));
    };
    let new_phase = phase(&t.kind, &t.status);
    if let Some(sla) = t.sla_id.and_then(|id| defs.slas.get(&id))
        && responds(&e.change, sla.response_met_by)
        && let Some(c) = t.response.as_mut()
    {
        c.meet(at, cal);
    }
    for which in Which::BOTH {
        let Some(c) = t.clock_mut(which) else {
            continue;
        };
        if which == Which::Resolve && old_phase == Phase::Done && new_phase != Phase::Done {
            c.reopen(at);
        }
        match new_phase {
            Phase::Running => c.resume(at),
            Phase::Paused => c.pause(at, cal),
            Phase::Done => c.meet(at, cal),
        }
    }
    // Another SLA or priority row may place other timepoints at the same
    // times: place them again whenever either changed.
    let regrid = t.priority != old_priority || t.sla_id != old_sla;
    let after = steps(&t);
    let dirty = Which::BOTH
        .into_iter()
        .zip([before.0 != after.0, before.1 != after.1])
        .filter_map(|(w, moved)| (regrid || moved).then_some(w))
        .collect();
    Some((t, dirty))
}

/// How many steps each clock has taken: every move of a clock (a start,
/// pause, resume, recompute, reopen, met) is a step on its timeline, so a
/// change in the count is a change in where its timers go.
fn steps(t: &Tracked) -> (Option<usize>, Option<usize>) {
    let count = |c: Option<&Clock>| c.map(|c| c.timeline.len());
    (
        count(t.clock(Which::Response)),
        count(t.clock(Which::Resolve)),
    )
}

/// A response carried by an out-of-date snapshot: met all the same.
fn respond_late(t: &mut Tracked, at: Timestamp, e: &Event, defs: &Defs) -> Vec<Which> {
    let Some(cal) = defs.calendar_of(t) else {
        return Vec::new();
    };
    let Some(sla) = t.sla_id.and_then(|id| defs.slas.get(&id)) else {
        return Vec::new();
    };
    if !responds(&e.change, sla.response_met_by) {
        return Vec::new();
    }
    match t.response.as_mut() {
        Some(c) if c.met_at.is_none() => {
            c.meet(at, cal);
            vec![Which::Response]
        }
        _ => Vec::new(),
    }
}

/// The tenant's definitions changed from `old` to `new` at `at` (a
/// calendar, `recalendar`, or an SLA was replaced): each clock counts what
/// it used so far in the calendar it ran in, then goes on under what `new`
/// gives the ticket. Returns the targets whose timers must be placed again.
pub fn redefine(
    t: &mut Tracked,
    at: Timestamp,
    old: &Defs,
    new: &Defs,
    recalendar: bool,
) -> Vec<Which> {
    let at = at.max(t.last_at);
    t.last_at = at;
    let old_cal = old.calendar_of(t);
    place_targets(t, at, new, old_cal, t.priority, recalendar);
    // The timepoints themselves may have moved even where the target did
    // not: every target is placed again.
    Which::BOTH
        .into_iter()
        .filter(|w| t.clock(*w).is_some())
        .collect()
}

/// Chooses the ticket's SLA and starts or recomputes its clocks. `old_cal`
/// is the calendar the clocks ran in until now; `recalendar` says its
/// definition changed even if its id did not.
fn place_targets(
    t: &mut Tracked,
    at: Timestamp,
    defs: &Defs,
    old_cal: Option<&Calendar>,
    old_priority: u8,
    recalendar: bool,
) {
    let facts = Facts {
        priority: t.priority,
        company_id: t.company_id,
        service: t.service.as_deref(),
        kind: &t.kind,
    };
    let Some((sla_id, sla)) = defs.choose(&facts) else {
        return;
    };
    let Some(row) = sla::row(sla, t.priority) else {
        return;
    };
    let Some(cal) = defs.calendars.get(&sla.calendar_id) else {
        return;
    };
    let targets = [sla::seconds(&row.response), sla::seconds(&row.resolve)];
    if t.response.is_none() && t.resolve.is_none() {
        if phase(&t.kind, &t.status) == Phase::Done {
            // Logged already resolved: nothing to count.
            return;
        }
        // From when it was logged: a ticket logged before its SLA (or the
        // rule that gives it one) existed has been waiting since.
        let start = t.logged_at.map_or(at, |logged| logged.min(at));
        t.response = Some(Clock::start(start, targets[0]));
        t.resolve = Some(Clock::start(start, targets[1]));
        t.sla_id = Some(sla_id);
        t.calendar_id = Some(sla.calendar_id);
        return;
    }
    let calendar_changed = recalendar || t.calendar_id != Some(sla.calendar_id);
    let reason = if t.sla_id != Some(sla_id) {
        format!("SLA changed to {}", sla.name)
    } else if calendar_changed {
        "the SLA's calendar changed".to_owned()
    } else if old_priority != t.priority && row.priority != t.priority {
        format!(
            "priority {old_priority} → {}; the SLA has no row for it: the nearest, priority {}'s",
            t.priority, row.priority
        )
    } else if old_priority != t.priority {
        format!("priority {old_priority} → {}", t.priority)
    } else {
        "the SLA's targets changed".to_owned()
    };
    let old_cal = old_cal.unwrap_or(cal);
    for (which, target) in Which::BOTH.into_iter().zip(targets) {
        if let Some(c) = t.clock_mut(which)
            && (calendar_changed || c.target != target)
        {
            c.recompute(at, target, old_cal, &reason);
        }
    }
    t.sla_id = Some(sla_id);
    t.calendar_id = Some(sla.calendar_id);
}

/// The timers of `which` still to fire: each timepoint not fired yet, and
/// the breach, while the clock runs.
pub fn timers(t: &Tracked, which: Which, defs: &Defs) -> Vec<Timer> {
    let (Some(c), Some(cal)) = (t.clock(which), defs.calendar_of(t)) else {
        return Vec::new();
    };
    if c.met_at.is_some() || c.running_since.is_none() {
        return Vec::new();
    }
    // Which timepoint (`None`: the breach) at which offset.
    let mut wanted: Vec<(Option<u32>, i64)> = Vec::new();
    if let Some(target) = target_of(t, which, defs) {
        for (n, tp) in target.timepoints.iter().enumerate() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            if !c.fired.contains(&n) {
                wanted.push((Some(n), sla::offset(tp.placement, c.target)));
            }
        }
    }
    if c.breached_at.is_none() {
        wanted.push((None, c.target));
    }
    let offsets: Vec<i64> = wanted.iter().map(|(_, o)| *o).collect();
    wanted
        .iter()
        .zip(c.due_each(&offsets, cal))
        .filter_map(|((timepoint, _), due)| {
            Some(Timer {
                tenant_id: t.tenant_id,
                ticket_id: t.ticket_id,
                target: which.as_str().to_owned(),
                timepoint: *timepoint,
                due_at: due?,
            })
        })
        .collect()
}

/// The SLA's definition of `which` for the ticket's priority.
pub fn target_of<'d>(t: &Tracked, which: Which, defs: &'d Defs) -> Option<&'d sla::Target> {
    let sla = defs.slas.get(&t.sla_id?)?;
    let row = sla::row(sla, t.priority)?;
    Some(match which {
        Which::Response => &row.response,
        Which::Resolve => &row.resolve,
    })
}
