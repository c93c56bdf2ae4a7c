//! The escalation service: calendars and SLAs as the API defines them,
//! the commands that keep them, and what the service announces.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Actor;

/// The queue of the escalation service's commands.
pub const ESCALATION_QUEUE: &str = "escalation.commands";

// ---- SLA definitions ----

/// The most escalation timepoints one target may have.
pub const MAX_TIMEPOINTS: usize = 12;

/// Where a timepoint sits, relative to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Placement {
    /// `minutes` business minutes before the target.
    Before { minutes: u32 },
    /// On the target: the breach.
    Target,
    /// `minutes` business minutes after the target.
    After { minutes: u32 },
    /// After the target by `percent` of it (+25 %, +50 %).
    AfterPercent { percent: u16 },
}

/// What a timepoint does when it fires; each is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// Alert the agent the ticket is assigned to (functional escalation).
    AlertAssignee,
    /// Alert the leader of the ticket's team (hierarchical escalation).
    AlertTeamLeader,
    /// Alert these agents by name.
    AlertAgents { agents: Vec<Uuid> },
    /// Record an action on the ticket, its text from the tenant's template.
    RecordAction { template: String },
    /// Email the customer, from the tenant's template.
    EmailCustomer { template: String },
    /// Hand the ticket to another team and/or agent.
    Reassign {
        #[serde(default)]
        team_id: Option<Uuid>,
        #[serde(default)]
        agent_id: Option<Uuid>,
    },
    /// Raise the priority to `priority` (1 highest), if it is lower.
    RaisePriority { priority: u8 },
    /// Warn that the response target is about to be (or was) missed.
    WarnResponseBreach,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timepoint {
    pub placement: Placement,
    pub actions: Vec<Action>,
}

/// A response or resolve target: business minutes, and its timepoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub minutes: u32,
    #[serde(default)]
    pub timepoints: Vec<Timepoint>,
}

/// What meets the response target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// One row of the grid: the targets for a priority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridRow {
    pub priority: u8,
    pub response: Target,
    pub resolve: Target,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaDefinitionV1 {
    pub name: String,
    pub calendar_id: Uuid,
    #[serde(default)]
    pub response_met_by: ResponseMetBy,
    pub grid: Vec<GridRow>,
}

/// What a rule matches on; a condition left out matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `incident`, `problem`, `change` or `request`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One rule: when its conditions hold, the ticket gets `sla`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaRuleV1 {
    #[serde(default)]
    pub when: Conditions,
    pub sla: Uuid,
}

// ---- calendars ----

/// A working interval, local wall-clock times `HH:MM`; `end` may be `24:00`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntervalV1 {
    pub start: String,
    pub end: String,
}

/// The working intervals of each weekday.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekV1 {
    #[serde(default)]
    pub monday: Vec<IntervalV1>,
    #[serde(default)]
    pub tuesday: Vec<IntervalV1>,
    #[serde(default)]
    pub wednesday: Vec<IntervalV1>,
    #[serde(default)]
    pub thursday: Vec<IntervalV1>,
    #[serde(default)]
    pub friday: Vec<IntervalV1>,
    #[serde(default)]
    pub saturday: Vec<IntervalV1>,
    #[serde(default)]
    pub sunday: Vec<IntervalV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDefinitionV1 {
    pub name: String,
    /// An IANA time zone (`Europe/London`).
    pub time_zone: String,
    pub week: WeekV1,
    /// Local dates, `YYYY-MM-DD`, on which nothing counts.
    #[serde(default)]
    pub holidays: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarV1 {
    pub id: Uuid,
    #[serde(flatten)]
    pub definition: CalendarDefinitionV1,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaV1 {
    pub id: Uuid,
    #[serde(flatten)]
    pub definition: SlaDefinitionV1,
}

/// Creates a calendar, or (with `calendar`) replaces one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefineCalendarV1 {
    pub actor: Actor,
    #[serde(default)]
    pub calendar: Option<Uuid>,
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
    pub definition: SlaDefinitionV1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListSlasV1 {
    pub viewer: Actor,
}

/// The tenant's rules, in order: the first that matches a ticket chooses
/// its SLA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaRulesV1 {
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

/// One step of a target's clock, as its timeline explains it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SlaStepV1 {
    Started {
        target_seconds: i64,
    },
    Paused {
        elapsed_seconds: i64,
    },
    Resumed,
    /// The target moved: a new priority, SLA or calendar (`reason`).
    Recomputed {
        from_seconds: i64,
        to_seconds: i64,
        elapsed_seconds: i64,
        #[serde(default)]
        reason: String,
    },
    Met {
        elapsed_seconds: i64,
        breached: bool,
    },
    /// The ticket was reopened: the clock counts on from where it stopped.
    Reopened,
    /// Escalation timepoint `timepoint` (0-based, in the SLA's order) fired.
    Escalated {
        timepoint: u32,
        late: bool,
    },
    /// The target passed unmet.
    Breached,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaTimelineEntryV1 {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `response` or `resolve`.
    pub target: String,
    #[serde(flatten)]
    pub step: SlaStepV1,
}

/// Where one target of a ticket stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetStateV1 {
    /// `running`, `paused` or `met`.
    pub state: String,
    pub target_minutes: i64,
    /// Business seconds counted so far.
    pub elapsed_seconds: i64,
    /// When the target falls due, while the clock runs.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub met_at: Option<OffsetDateTime>,
    pub breached: bool,
}

/// A ticket's SLA: which one applies, its targets, and the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketSlaV1 {
    pub ticket_id: Uuid,
    pub reference: String,
    pub kind: String,
    pub priority: u8,
    pub status: String,
    /// `None`: no rule gives this ticket an SLA.
    pub sla: Option<SlaV1>,
    pub response: Option<TargetStateV1>,
    pub resolve: Option<TargetStateV1>,
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

/// Met and breached targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplianceV1 {
    pub met: u64,
    pub breached: u64,
    /// Met, as a percentage of those decided; `None` when none were.
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
pub struct TargetsComplianceV1 {
    pub response: ComplianceV1,
    pub resolve: ComplianceV1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorityComplianceV1 {
    pub priority: u8,
    #[serde(flatten)]
    pub targets: TargetsComplianceV1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamComplianceV1 {
    /// `None`: tickets with no team.
    pub team_id: Option<Uuid>,
    #[serde(flatten)]
    pub targets: TargetsComplianceV1,
}

/// SLA compliance of targets decided (met, or breached) in a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaComplianceV1 {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    #[serde(flatten)]
    pub total: TargetsComplianceV1,
    pub by_priority: Vec<PriorityComplianceV1>,
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

/// A target that was breached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaBreachV1 {
    pub ticket_id: Uuid,
    pub reference: String,
    pub kind: String,
    pub priority: u8,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    /// `response` or `resolve`.
    pub target: String,
    #[serde(with = "time::serde::rfc3339")]
    pub breached_at: OffsetDateTime,
    /// When it was met in the end, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
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
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
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
}

event!(TimepointReachedV1, "escalation.timepoint.reached");
event!(SlaBreachedV1, "escalation.sla.breached");
event!(TicketTargetsV1, "escalation.ticket.targets");
