//! The escalation service: calendars and SLAs as the API defines them,
//! the commands that keep them, and what the service announces.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Actor;
#[cfg(feature = "schema")]
use crate::limits::{MAX_PRIORITY, MAX_SUMMARY, NOT_BLANK_PATTERN, ONE_LINE_PATTERN};
#[cfg(feature = "schema")]
use crate::schema::Timestamp;

/// The queue of the escalation service's commands.
pub const ESCALATION_QUEUE: &str = "escalation.commands";

// ---- SLA definitions ----

/// The most escalation timepoints one target may have.
pub const MAX_TIMEPOINTS: usize = 12;
/// The longest target, in business minutes: 366 days of them.
pub const MAX_TARGET_MINUTES: u32 = 366 * 24 * 60;
/// The longest template of a timepoint's action, in characters.
pub const MAX_ACTION_TEMPLATE: usize = 10_000;
/// The most working intervals a calendar's weekday may have.
pub const MAX_INTERVALS: usize = 24;
/// The most holidays a calendar may have.
pub const MAX_HOLIDAYS: usize = 2_000;
/// The most SLA rules a tenant may have.
pub const MAX_RULES: usize = 200;
/// The longest `service` a rule's conditions name, in characters.
pub const MAX_SERVICE: usize = 200;
/// The most breaches one list of them holds.
pub const MAX_BREACHES: usize = 1_000;

/// Where a timepoint sits relative to its target, by `at`. No two
/// timepoints of a target may fall at the same time (+25 % of 8 hours and
/// 120 minutes after are the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Placement {
    /// Before the target: a warning ("breach in 1 hour").
    Before {
        /// Business minutes before the target: more than 0 and less than
        /// the target.
        #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
        minutes: u32,
    },
    /// On the target: the breach.
    Target,
    /// After the target by business minutes.
    After {
        /// Business minutes after the target, more than 0.
        #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
        minutes: u32,
    },
    /// After the target by a percentage of it ("breach by 25 %").
    AfterPercent {
        /// Percent of the target, more than 0: 25 on a target of 8 hours
        /// is 2 hours after it.
        #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
        percent: u16,
    },
}

/// What a timepoint does when it is reached, by `do`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(
    feature = "schema",
    schemars(rename = "TimepointAction", transform = crate::schema::reassign_needs_someone)
)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// Alert the agent the ticket is assigned to (functional escalation).
    AlertAssignee,
    /// Alert the leader of the ticket's team (hierarchical escalation).
    AlertTeamLeader,
    /// Alert these agents.
    AlertAgents {
        /// The agents' ids, at least one: each one of the tenant's
        /// (checked when the SLA is saved).
        #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
        agents: Vec<Uuid>,
    },
    /// Record an action on the ticket.
    RecordAction {
        /// The template its text comes from: not blank.
        #[cfg_attr(
            feature = "schema",
            schemars(length(min = 1, max = MAX_ACTION_TEMPLATE), regex(pattern = NOT_BLANK_PATTERN))
        )]
        template: String,
    },
    /// Email the ticket's customer.
    EmailCustomer {
        /// The template its text comes from: not blank.
        #[cfg_attr(
            feature = "schema",
            schemars(length(min = 1, max = MAX_ACTION_TEMPLATE), regex(pattern = NOT_BLANK_PATTERN))
        )]
        template: String,
    },
    /// Hand the ticket to another team, agent or both: give `team_id`,
    /// `agent_id` or both.
    Reassign {
        /// The team to hand it to: one of the tenant's (checked when the
        /// SLA is saved).
        #[serde(default)]
        team_id: Option<Uuid>,
        /// The agent to hand it to: one of the tenant's (checked when the
        /// SLA is saved).
        #[serde(default)]
        agent_id: Option<Uuid>,
    },
    /// Raise the ticket's priority to `priority`, if it is lower.
    RaisePriority {
        /// The priority to raise it to, 1 (highest) to 5.
        #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
        priority: u8,
    },
    /// Warn that the response target is about to be, or was, missed.
    WarnResponseBreach,
}

/// An escalation timepoint of a target: where it sits and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Timepoint {
    pub placement: Placement,
    /// What it does when reached, at least one action.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub actions: Vec<Action>,
}

/// A response or resolve target and its escalation timepoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SlaTarget"))]
pub struct Target {
    /// The target in business minutes of the SLA's calendar: more than 0,
    /// at most 366 days' worth.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_TARGET_MINUTES)))]
    pub minutes: u32,
    /// Its escalation timepoints, each at a different time.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_TIMEPOINTS)))]
    pub timepoints: Vec<Timepoint>,
}

/// What will meet the response target: the desk's first action on the
/// ticket, its assignment to an agent or team, or whichever comes first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResponseMetBy {
    /// The first action by the desk.
    #[default]
    FirstAction,
    /// Assignment to an agent or team.
    Assignment,
    /// Whichever comes first.
    Either,
}

/// One row of an SLA's grid: the targets of a priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SlaGridRow"))]
pub struct GridRow {
    /// The priority these targets are for, 1 (highest) to 5; once in a
    /// grid. A ticket of a priority no row names takes the nearest row (a
    /// tie goes to the more urgent), and its timeline says so.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: u8,
    /// The response target: not later than the resolve target.
    pub response: Target,
    /// The resolve target.
    pub resolve: Target,
}

/// An SLA to create, or to replace one with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SlaDefinitionV1 {
    /// 1 to 200 characters once trimmed, one line; no other SLA of the
    /// tenant may have it, in any case. Kept and answered as given.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))
    )]
    pub name: String,
    /// One of the tenant's calendars: the targets count its business
    /// minutes.
    pub calendar_id: Uuid,
    #[serde(default)]
    pub response_met_by: ResponseMetBy,
    /// The targets by priority, at least one priority; a priority left out
    /// has none.
    #[cfg_attr(feature = "schema", schemars(length(min = 1)))]
    pub grid: Vec<GridRow>,
}

/// What a rule matches: every condition given must hold; one absent or
/// null matches anything. Answers leave out the ones not given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SlaConditions"))]
pub struct Conditions {
    /// The ticket's priority, 1 (highest) to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: Option<u8>,
    /// The company of the ticket's customer; not checked against the
    /// directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Uuid>,
    /// The ticket's service, in any (ASCII) case: not blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = MAX_SERVICE), regex(pattern = NOT_BLANK_PATTERN))
    )]
    pub service: Option<String>,
    /// The ticket's kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<crate::ticket::TicketKind>")
    )]
    pub kind: Option<String>,
}

/// A rule: when its conditions hold for a ticket, the ticket gets `sla`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SlaRuleV1 {
    /// Absent or `{}`: the rule matches every ticket.
    #[serde(default)]
    pub when: Conditions,
    /// The SLA a ticket it matches gets: one of the tenant's SLAs.
    pub sla: Uuid,
}

// ---- calendars ----

/// A working interval of a weekday, in the calendar's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IntervalV1 {
    /// Local wall-clock time, `HH:MM`, 00:00 to 23:59.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9](?![\s\S])"))
    )]
    pub start: String,
    /// Local wall-clock time, `HH:MM`, after `start`; up to `24:00` (the
    /// end of the day).
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)(?![\s\S])"))
    )]
    pub end: String,
}

/// The working intervals of each weekday, none overlapping another (one may end where the next starts); none or
/// absent: no working time that day. Answers give all seven days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WeekV1 {
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_INTERVALS)))]
    pub monday: Vec<IntervalV1>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_INTERVALS)))]
    pub tuesday: Vec<IntervalV1>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_INTERVALS)))]
    pub wednesday: Vec<IntervalV1>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_INTERVALS)))]
    pub thursday: Vec<IntervalV1>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_INTERVALS)))]
    pub friday: Vec<IntervalV1>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_INTERVALS)))]
    pub saturday: Vec<IntervalV1>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_INTERVALS)))]
    pub sunday: Vec<IntervalV1>,
}

/// A business-hours calendar to create, or to replace one with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CalendarDefinitionV1 {
    /// 1 to 200 characters once trimmed, one line; no other calendar of
    /// the tenant may have it, in any case. Kept and answered as given.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))
    )]
    pub name: String,
    /// An IANA time zone (`Europe/London`, `America/New_York`, `UTC`): the
    /// intervals and holidays are in its local time, daylight saving
    /// included.
    #[cfg_attr(
        feature = "schema",
        schemars(extend("examples" = ["Europe/London", "America/New_York", "UTC"]))
    )]
    pub time_zone: String,
    /// The working intervals of each weekday; at least one day must have
    /// one.
    pub week: WeekV1,
    /// Local dates, `YYYY-MM-DD`, on which no time counts. Listed each
    /// year: a holiday does not repeat by itself.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = MAX_HOLIDAYS), inner(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?![\s\S])")))
    )]
    pub holidays: Vec<String>,
}

/// A business-hours calendar: its id and its definition, side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CalendarV1 {
    /// The calendar's id.
    pub id: Uuid,
    /// Bumped on every replacement: its `ETag` (send it back as
    /// `If-Match` to replace it only as read).
    #[serde(default = "first_version")]
    pub version: i64,
    #[serde(flatten)]
    pub definition: CalendarDefinitionV1,
}

/// An SLA: its id and its definition, side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SlaV1 {
    /// The SLA's id.
    pub id: Uuid,
    /// Bumped on every replacement: its `ETag` (send it back as
    /// `If-Match` to replace it only as read).
    #[serde(default = "first_version")]
    pub version: i64,
    #[serde(flatten)]
    pub definition: SlaDefinitionV1,
}

/// What a definition announced before it had a version is at.
fn first_version() -> i64 {
    1
}

/// Creates a calendar, or (with `calendar`) replaces one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefineCalendarV1 {
    pub actor: Actor,
    #[serde(default)]
    pub calendar: Option<Uuid>,
    /// Replaces it only if it is at this version still (the edge's
    /// `If-Match`): otherwise refused as `precondition_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<i64>,
    pub definition: CalendarDefinitionV1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListCalendarsV1 {
    pub viewer: Actor,
}

/// Creates an SLA, or (with `sla`) replaces one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefineSlaV1 {
    pub actor: Actor,
    #[serde(default)]
    pub sla: Option<Uuid>,
    /// Replaces it only if it is at this version still (the edge's
    /// `If-Match`): otherwise refused as `precondition_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<i64>,
    pub definition: SlaDefinitionV1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListSlasV1 {
    pub viewer: Actor,
}

/// Deletes a calendar no SLA and no ticket's clock uses (else refused as
/// `conflict`, saying what uses it); answers what it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteCalendarV1 {
    pub actor: Actor,
    pub calendar: Uuid,
}

/// Deletes an SLA no rule names and no ticket has had (else refused as
/// `conflict`, saying what uses it); answers what it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteSlaV1 {
    pub actor: Actor,
    pub sla: Uuid,
}

/// The tenant's SLA rules, in order: the first whose conditions hold for a
/// ticket chooses its SLA. None until an admin sets them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SlaRulesV1 {
    /// In order: the first whose conditions hold chooses a ticket's SLA.
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_RULES)))]
    pub rules: Vec<SlaRuleV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetSlaRulesV1 {
    pub actor: Actor,
    pub rules: Vec<SlaRuleV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetSlaRulesV1 {
    pub viewer: Actor,
}

// ---- a ticket's SLA ----

/// The escalation service acts on tickets (records actions, reassigns,
/// raises priority) as this agent; its own changes never count as the
/// desk's response.
pub const ESCALATION_ACTOR_ID: Uuid = Uuid::from_u128(0x5e5c_a1a7_0000_4000_8000_0000_0000_0001);

pub fn escalation_actor() -> Actor {
    Actor {
        role: crate::Role::Agent,
        id: ESCALATION_ACTOR_ID,
        name: "Escalation".into(),
    }
}

/// One event of a target's clock, by `event`: what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SlaStepV1 {
    /// The clock started counting toward the target.
    Started {
        /// The target, in business seconds.
        #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
        target_seconds: i64,
    },
    /// The clock stopped for now: the ticket is pending.
    Paused {
        /// The business seconds counted when it stopped.
        #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
        elapsed_seconds: i64,
    },
    /// The clock counts again from where it stopped.
    Resumed,
    /// The target moved (the priority, SLA or calendar changed): the time
    /// used so far stays used, and the deadline moves.
    Recomputed {
        /// The target before, in business seconds.
        #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
        from_seconds: i64,
        /// The target now, in business seconds.
        #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
        to_seconds: i64,
        /// The business seconds counted then; they stay counted.
        #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
        elapsed_seconds: i64,
        /// What moved it: a new priority, SLA or calendar (`priority 3 →
        /// 1`); may be empty.
        #[serde(default)]
        reason: String,
    },
    /// The target was met: the desk responded, or the ticket was resolved.
    Met {
        /// The business seconds it took.
        #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
        elapsed_seconds: i64,
        /// Whether it was met late.
        breached: bool,
    },
    /// The ticket was reopened: the resolve clock counts on from where it
    /// stopped.
    Reopened,
    /// An escalation timepoint was reached and its actions were sent to be
    /// done.
    Escalated {
        /// Which of the target's timepoints, counting from 0 in the SLA's
        /// order.
        #[cfg_attr(feature = "schema", schemars(range(max = MAX_TIMEPOINTS - 1)))]
        timepoint: u32,
        /// Whether it fired more than a second after it was due (after a
        /// restart, say).
        late: bool,
    },
    /// The target passed unmet.
    Breached,
}

/// One event of a target's clock, by `event`: when it happened, which
/// target, and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SlaTimelineEntryV1 {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub at: OffsetDateTime,
    /// The target whose clock it is of: `response` or `resolve`.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["response", "resolve"])))]
    pub target: String,
    #[serde(flatten)]
    pub step: SlaStepV1,
}

/// Where one of a ticket's targets stands now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SlaTargetStateV1"))]
pub struct TargetStateV1 {
    /// Whether its clock is counting (`running`), stopped for now
    /// (`paused`: the ticket is pending, say), or stopped for good because
    /// the target was met (`met`).
    #[cfg_attr(
        feature = "schema",
        schemars(extend("enum" = ["running", "paused", "met"]))
    )]
    pub state: String,
    /// The target, in business minutes of the SLA's calendar, as it is now
    /// (the grid's, for the ticket's priority).
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub target_minutes: i64,
    /// The business seconds counted so far, up to now while the clock
    /// runs.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub elapsed_seconds: i64,
    /// When the target falls due, counting business time from now; null
    /// unless the clock is running (a paused or met clock does not move).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub due_at: Option<OffsetDateTime>,
    /// When the target was met; null until it is.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub met_at: Option<OffsetDateTime>,
    /// Whether the target was missed: it passed unmet, or more business
    /// time than the target has been counted.
    pub breached: bool,
}

/// A ticket's SLA: which one applies, where its response and resolve
/// targets stand, and the timeline that explains them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TicketSlaV1 {
    /// The ticket's id.
    pub ticket_id: Uuid,
    /// The ticket's reference (`INC-000042`).
    pub reference: String,
    #[cfg_attr(feature = "schema", schemars(with = "crate::ticket::TicketKind"))]
    pub kind: String,
    /// The ticket's priority as escalation last heard it, 1 (highest) to 5.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: u8,
    /// The ticket's status as escalation last heard it: one of its kind's
    /// statuses.
    pub status: String,
    /// The SLA the rules give the ticket, as it is defined now; null when
    /// no rule gives it one.
    pub sla: Option<SlaV1>,
    /// Where the response target stands; null when the ticket has no SLA
    /// or its SLA's grid has no row for its priority.
    pub response: Option<TargetStateV1>,
    /// Where the resolve target stands; null likewise.
    pub resolve: Option<TargetStateV1>,
    /// What happened to both targets' clocks, oldest first: it explains
    /// `response` and `resolve`.
    pub timeline: Vec<SlaTimelineEntryV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetTicketSlaV1 {
    pub viewer: Actor,
    /// `incident`, `problem`, `change` or `request`.
    pub kind: String,
    /// Its id or reference.
    pub ticket: String,
}

/// How many targets of one kind (response or resolve) were met and
/// breached in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SlaTargetComplianceV1"))]
pub struct ComplianceV1 {
    /// Targets met in the period without being breached.
    pub met: u64,
    /// Targets breached in the period.
    pub breached: u64,
    /// `met` as a percentage of `met` + `breached`, to one decimal place;
    /// null when both are 0.
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 100)))]
    pub percent: Option<f64>,
}

impl ComplianceV1 {
    pub fn count(&mut self, breached: bool) {
        if breached {
            self.breached += 1;
        } else {
            self.met += 1;
        }
        let decided = self.met + self.breached;
        self.percent = Some((self.met as f64 * 1000.0 / decided as f64).round() / 10.0);
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TargetsComplianceV1 {
    /// The response targets.
    pub response: ComplianceV1,
    /// The resolve targets.
    pub resolve: ComplianceV1,
}

/// Compliance of the tickets of one priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SlaPriorityComplianceV1"))]
pub struct PriorityComplianceV1 {
    /// The tickets' priority (as escalation last heard it), 1 (highest) to
    /// 5.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: u8,
    #[serde(flatten)]
    pub targets: TargetsComplianceV1,
}

/// Compliance of the tickets of one team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SlaTeamComplianceV1"))]
pub struct TeamComplianceV1 {
    /// The tickets' team (as escalation last heard it); null for tickets
    /// with no team.
    pub team_id: Option<Uuid>,
    #[serde(flatten)]
    pub targets: TargetsComplianceV1,
}

/// SLA compliance over a period: a target counts when it was breached in
/// the period (`breached`), or met in it without a breach (`met`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SlaComplianceV1 {
    /// The start of the period (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub from: OffsetDateTime,
    /// The end of the period (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub to: OffsetDateTime,
    #[serde(flatten)]
    pub total: TargetsComplianceV1,
    /// The same by priority, highest first; only the priorities with a
    /// target counted.
    pub by_priority: Vec<PriorityComplianceV1>,
    /// The same by team, tickets with no team (null) first; only the teams
    /// with a target counted.
    pub by_team: Vec<TeamComplianceV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetSlaComplianceV1 {
    pub viewer: Actor,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    /// Only this kind of ticket (`incident`, ...); all when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A ticket's target that was breached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SlaBreachV1 {
    /// The ticket's id.
    pub ticket_id: Uuid,
    /// The ticket's reference (`INC-000042`).
    pub reference: String,
    #[cfg_attr(feature = "schema", schemars(with = "crate::ticket::TicketKind"))]
    pub kind: String,
    /// The ticket's priority as escalation last heard it, 1 (highest) to 5.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: u8,
    /// The ticket's team as escalation last heard it; null if none.
    pub team_id: Option<Uuid>,
    /// The agent the ticket is assigned to, as escalation last heard it;
    /// null if none.
    pub assignee_id: Option<Uuid>,
    /// The target that was breached: `response` or `resolve`.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["response", "resolve"])))]
    pub target: String,
    /// When it passed unmet.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub breached_at: OffsetDateTime,
    /// When it was met in the end, late; null if it has not been.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub met_at: Option<OffsetDateTime>,
}

/// Breaches in a period, latest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListSlaBreachesV1 {
    pub viewer: Actor,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

// ---- events ----

/// An escalation timepoint of a ticket's target was reached: the actions
/// it carries are for the services that do them (ticketing records the
/// action, reassigns and raises the priority; notification sends alerts
/// and emails). Published once per timepoint. What the ticket was when it
/// fired comes with it, so no one has to ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimepointReachedV1 {
    pub ticket_id: Uuid,
    /// `response` or `resolve`.
    pub target: String,
    /// Which timepoint of the target (0-based).
    pub timepoint: u32,
    /// When this timepoint was due.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// When the target itself falls (or fell) due: what an alert or a
    /// warning tells people, not when the timepoint was. Absent from
    /// senders of before it was added, and when the calendar is unknown.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub target_due_at: Option<OffsetDateTime>,
    /// The IANA time zone of the SLA's calendar (`Europe/Paris`): emails
    /// write the times in it. Absent from older escalation services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub fired_at: OffsetDateTime,
    /// Fired more than a second after it was due (after a restart, say).
    pub late: bool,
    #[serde(default)]
    pub reference: String,
    /// `incident`, `problem`, `change` or `request`.
    #[serde(default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_id: Option<Uuid>,
    /// What to do, in the SLA's order, each template already rendered for
    /// this ticket.
    #[serde(default)]
    pub actions: Vec<Action>,
}

/// A ticket's target passed unmet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaBreachedV1 {
    pub ticket_id: Uuid,
    pub reference: String,
    pub kind: String,
    /// `response` or `resolve`.
    pub target: String,
    pub priority: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
}

/// When tickets' targets fall due now, for tickets of one tenant whose due
/// times moved together (the ticket was logged, paused, resumed,
/// recomputed, or a target was met): announced so that a service that
/// shows them (notification's emails) keeps a copy instead of asking. One
/// event carries the tickets of one commit group, at most
/// [`TicketTargetsV1::MAX`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketTargetsV1 {
    pub tickets: Vec<TargetsOfTicket>,
}

impl TicketTargetsV1 {
    /// The most tickets one event carries.
    pub const MAX: usize = 500;
}

/// One ticket's targets in a [`TicketTargetsV1`]. `None`: the target has
/// no due time now (met, paused, or no SLA applies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetsOfTicket {
    pub ticket_id: Uuid,
    pub reference: String,
    pub kind: String,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub response_due: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub resolve_due: Option<OffsetDateTime>,
    /// The IANA time zone of the SLA's calendar: emails write the due times
    /// in it. Absent when no SLA applies, or from older services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

event!(TimepointReachedV1, "escalation.timepoint.reached");
event!(SlaBreachedV1, "escalation.sla.breached");
event!(TicketTargetsV1, "escalation.ticket.targets");
