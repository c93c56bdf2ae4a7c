//! The document's service levels, from the handlers in [`crate::slas`], the
//! wire types in [`contracts::escalation`] and the checks the escalation
//! service makes before it stores a definition (its `calendar`, `sla` and
//! `definitions` modules): business-hours calendars, SLAs with their grid
//! and escalation timepoints, and the ordered rules that choose a ticket's
//! SLA; and what the service keeps of tickets: a ticket's targets and
//! their timeline (generated for each kind from
//! [`tickets::TICKETS`](super::tickets::TICKETS), as the routes are), and
//! the SLA compliance and breaches reports (its `queries` module).
//!
//! These bodies are contract types without `deny_unknown_fields`, so, unlike
//! the rest of the API's, their schemas are not `closed`: an unknown field is
//! ignored. The rules are closed (the edge reads them into its own types).

use contracts::escalation::MAX_TIMEPOINTS;
use serde_json::{Value, json};

use super::tickets::{TICKETS, Ticket, ticket_id};
use super::{
    about, admin_only, answer, bad_body, boolean, closed, component, count, idempotency_key,
    internal, list_of, name_input, not_found, not_json, object, operation, or_null, parameter,
    responses, set, staff_only, tag, text, timestamp, timestamp_or_null, too_large, traceparent,
    unauthorized, uuid, uuid_or_null, with_body, with_parameters,
};

pub(super) const SLAS: &str = "SLAs and calendars";

/// The most rules a tenant may have (escalation's `MAX_RULES`).
const MAX_RULES: u32 = 200;

/// The most intervals a weekday may have.
const MAX_INTERVALS: u32 = 24;

/// The most holidays a calendar may have.
const MAX_HOLIDAYS: u32 = 2_000;

/// The longest target, in business minutes: 366 days of them.
const MAX_TARGET_MINUTES: u32 = 366 * 24 * 60;

/// The longest action template, in bytes.
const MAX_TEMPLATE: u32 = 10_000;

/// The most breaches one list holds (escalation's `MAX_BREACHES`).
const MAX_BREACHES: u32 = 1_000;

/// The weekdays, as `WeekV1` names them.
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The ticket kinds a rule may name.
const KINDS: [&str; 4] = ["incident", "problem", "change", "request"];

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        SLAS,
        &format!(
            "Service levels, kept by the escalation service: business-hours calendars, SLAs, and the \
             rules that choose a ticket's SLA. Admin tokens define them; admin, agent and integration \
             tokens read them; a customer token may do neither (403).\n\n\
             A **calendar** is working time in an IANA time zone (`Europe/London`): intervals for each \
             weekday in local wall-clock time, `HH:MM` to `HH:MM` with an end up to `24:00` (a 24×7 \
             calendar is 00:00–24:00 every day), and holidays, local dates `YYYY-MM-DD` on which no \
             time counts. On a day the clocks change, an interval is as long as the wall clock says.\n\n\
             An **SLA** names a calendar and has a grid: for each priority it covers, a response target \
             and a resolve target, in business minutes counted in that calendar. Each target may have \
             up to {MAX_TIMEPOINTS} escalation timepoints, placed before the target, at it (the breach) \
             or after it, by minutes or by a percentage of the target (+25 %, +50 %), each with the \
             actions it takes when reached: alert the assignee, the team leader or named agents, record \
             an action on the ticket, email the customer, reassign the ticket, raise its priority, or \
             warn of a response breach.\n\n\
             The **SLA rules** are one ordered list per tenant: the first rule whose conditions \
             (priority, company, service, kind; each left out matches anything) all hold for a ticket \
             chooses its SLA.\n\n\
             The escalation service follows each ticket: the SLA the rules give it, and a **response** \
             and a **resolve** target, each a clock of business seconds that runs, pauses (while the \
             ticket is pending) and resumes, is recomputed when the priority, SLA or calendar changes, \
             and stops when the target is met; its timepoints fire as the clock reaches them. \
             `GET /api/v1/{{kind}}/{{id}}/sla` shows where a ticket's targets stand and the timeline that \
             explains them; `GET /api/v1/reports/sla` and `GET /api/v1/reports/sla/breaches` report the \
             targets met and breached over a period. Admin, agent and integration tokens.\n\n\
             Unlike the rest of the API, unknown fields inside a calendar or an SLA are ignored, not \
             refused. The rules refuse them: a misspelt condition would otherwise be left out, and the \
             rule would match more tickets than meant."
        ),
    )]
}

// ---- schemas ----

/// A string constant: the tag of one variant of a tagged union.
fn constant(value: &str) -> Value {
    json!({ "type": "string", "const": value })
}

/// One variant of a union tagged by `key`: `key` = `value`, and `fields`.
fn variant(key: &str, value: &str, fields: Vec<(&str, Value)>, description: &str) -> Value {
    let mut required = vec![key];
    required.extend(fields.iter().map(|(name, _)| *name));
    let mut properties = vec![(key, constant(value))];
    properties.extend(fields);
    about(object(&required, properties), description)
}

fn priority(description: &str) -> Value {
    about(
        json!({ "type": "integer", "minimum": 1, "maximum": 5 }),
        description,
    )
}

fn priority_or_null(description: &str) -> Value {
    about(
        json!({ "type": ["integer", "null"], "minimum": 1, "maximum": 5 }),
        description,
    )
}

fn definition_name(what: &str) -> Value {
    about(
        name_input(),
        &format!(
            "1 to 200 characters once trimmed, one line; no other {what} of the tenant may have it, in \
             any case. Kept and answered as given."
        ),
    )
}

pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let mut all = calendar_schemas();
    all.extend(sla_schemas());
    all.extend(rule_schemas());
    all.extend(ticket_sla_schemas());
    all.extend(report_schemas());
    all
}

fn calendar_schemas() -> Vec<(&'static str, Value)> {
    let interval = object(
        &["start", "end"],
        vec![
            (
                "start",
                about(
                    json!({ "type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$" }),
                    "Local wall-clock time, `HH:MM`, 00:00 to 23:59.",
                ),
            ),
            (
                "end",
                about(
                    json!({ "type": "string", "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$" }),
                    "Local wall-clock time, `HH:MM`, after `start`; up to `24:00` (the end of the day).",
                ),
            ),
        ],
    );
    let day = || {
        about(
            json!({ "type": "array", "items": component("IntervalV1"), "maxItems": MAX_INTERVALS, "default": [] }),
            &format!(
                "The day's working intervals, at most {MAX_INTERVALS}, none overlapping another (one may \
                 end where the next starts); none or absent: no working time that day."
            ),
        )
    };
    let week = object(&[], WEEKDAYS.iter().map(|d| (*d, day())).collect());
    let holidays = about(
        json!({
            "type": "array",
            "items": { "type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
            "maxItems": MAX_HOLIDAYS,
            "default": [],
        }),
        &format!(
            "Local dates, `YYYY-MM-DD`, on which no time counts, at most {MAX_HOLIDAYS}. Listed each \
             year: a holiday does not repeat by itself."
        ),
    );
    let definition = object(
        &["name", "time_zone", "week"],
        vec![
            ("name", definition_name("calendar")),
            (
                "time_zone",
                about(
                    json!({ "type": "string", "examples": ["Europe/London", "America/New_York", "UTC"] }),
                    "An IANA time zone: the intervals and holidays are in its local time, daylight \
                     saving included.",
                ),
            ),
            (
                "week",
                about(
                    component("WeekV1"),
                    "The working intervals of each weekday; at least one day must have one.",
                ),
            ),
            ("holidays", holidays),
        ],
    );
    let calendar = json!({
        "allOf": [
            component("CalendarDefinitionV1"),
            object(&["id", "holidays"], vec![("id", about(uuid(), "The calendar's id."))]),
        ],
    });
    vec![
        (
            "IntervalV1",
            about(
                interval,
                "A working interval of a weekday, in the calendar's local time.",
            ),
        ),
        (
            "WeekV1",
            about(
                week,
                "The working intervals of each weekday. Answers give all seven days.",
            ),
        ),
        (
            "CalendarDefinitionV1",
            about(
                definition,
                "A business-hours calendar to create, or to replace one with.",
            ),
        ),
        (
            "CalendarV1",
            about(
                calendar,
                "A business-hours calendar: its id and its definition, side by side.",
            ),
        ),
    ]
}

fn placement() -> Value {
    let minutes = |what: &str| {
        about(
            json!({ "type": "integer", "minimum": 1, "maximum": u32::MAX }),
            what,
        )
    };
    let variants = vec![
        variant(
            "at",
            "before",
            vec![(
                "minutes",
                minutes(
                    "Business minutes before the target: more than 0 and less than the target.",
                ),
            )],
            "Before the target: a warning (\"breach in 1 hour\").",
        ),
        variant("at", "target", vec![], "On the target: the breach."),
        variant(
            "at",
            "after",
            vec![(
                "minutes",
                minutes("Business minutes after the target, more than 0."),
            )],
            "After the target by business minutes.",
        ),
        variant(
            "at",
            "after_percent",
            vec![(
                "percent",
                about(
                    json!({ "type": "integer", "minimum": 1, "maximum": u16::MAX }),
                    "Percent of the target, more than 0: 25 on a target of 8 hours is 2 hours after it.",
                ),
            )],
            "After the target by a percentage of it (\"breach by 25 %\").",
        ),
    ];
    about(
        json!({ "oneOf": variants }),
        "Where a timepoint sits relative to its target, by `at`. No two timepoints of a target may \
         fall at the same time (+25 % of 8 hours and 120 minutes after are the same).",
    )
}

fn action() -> Value {
    let template = || {
        about(
            json!({ "type": "string", "minLength": 1 }),
            &format!("The template its text comes from: not blank, at most {MAX_TEMPLATE} bytes."),
        )
    };
    let variants = vec![
        variant(
            "do",
            "alert_assignee",
            vec![],
            "Alert the agent the ticket is assigned to (functional escalation).",
        ),
        variant(
            "do",
            "alert_team_leader",
            vec![],
            "Alert the leader of the ticket's team (hierarchical escalation).",
        ),
        variant(
            "do",
            "alert_agents",
            vec![(
                "agents",
                about(
                    json!({ "type": "array", "items": uuid(), "minItems": 1 }),
                    "The agents' ids, at least one; not checked against the directory.",
                ),
            )],
            "Alert these agents.",
        ),
        variant(
            "do",
            "record_action",
            vec![("template", template())],
            "Record an action on the ticket.",
        ),
        variant(
            "do",
            "email_customer",
            vec![("template", template())],
            "Email the ticket's customer.",
        ),
        reassign(),
        variant(
            "do",
            "raise_priority",
            vec![(
                "priority",
                priority("The priority to raise it to, 1 (highest) to 5."),
            )],
            "Raise the ticket's priority to `priority`, if it is lower.",
        ),
        variant(
            "do",
            "warn_response_breach",
            vec![],
            "Warn that the response target is about to be, or was, missed.",
        ),
    ];
    about(
        json!({ "oneOf": variants }),
        "What a timepoint does when it is reached, by `do`.",
    )
}

/// `reassign`: a team, an agent or both; each may be absent or null, not
/// both.
fn reassign() -> Value {
    let reassign = object(
        &["do"],
        vec![
            ("do", constant("reassign")),
            (
                "team_id",
                about(
                    uuid_or_null(),
                    "The team to hand it to; not checked against the directory.",
                ),
            ),
            (
                "agent_id",
                about(
                    uuid_or_null(),
                    "The agent to hand it to; not checked against the directory.",
                ),
            ),
        ],
    );
    let given =
        |field: &str| json!({ "required": [field], "properties": { field: { "type": "string" } } });
    let reassign = set(
        reassign,
        "anyOf",
        Value::Array(vec![given("team_id"), given("agent_id")]),
    );
    about(
        reassign,
        "Hand the ticket to another team, agent or both: give `team_id`, `agent_id` or both.",
    )
}

fn sla_schemas() -> Vec<(&'static str, Value)> {
    let timepoint = object(
        &["placement", "actions"],
        vec![
            ("placement", component("Placement")),
            (
                "actions",
                about(
                    json!({ "type": "array", "items": component("TimepointAction"), "minItems": 1 }),
                    "What it does when reached, at least one action.",
                ),
            ),
        ],
    );
    let target = object(
        &["minutes"],
        vec![
            (
                "minutes",
                about(
                    json!({ "type": "integer", "minimum": 1, "maximum": MAX_TARGET_MINUTES }),
                    &format!(
                        "The target in business minutes of the SLA's calendar: more than 0, at most \
                         {MAX_TARGET_MINUTES} (366 days' worth)."
                    ),
                ),
            ),
            (
                "timepoints",
                about(
                    json!({ "type": "array", "items": component("Timepoint"), "maxItems": MAX_TIMEPOINTS, "default": [] }),
                    &format!(
                        "Its escalation timepoints, at most {MAX_TIMEPOINTS}, each at a different time."
                    ),
                ),
            ),
        ],
    );
    let row = object(
        &["priority", "response", "resolve"],
        vec![
            (
                "priority",
                priority("The priority these targets are for, 1 (highest) to 5; once in a grid."),
            ),
            (
                "response",
                about(
                    component("SlaTarget"),
                    "The response target: not later than the resolve target.",
                ),
            ),
            (
                "resolve",
                about(component("SlaTarget"), "The resolve target."),
            ),
        ],
    );
    let met_by = about(
        json!({ "type": "string", "enum": ["first_action", "assignment", "either"], "default": "first_action" }),
        "What will meet the response target: the desk's first action on the ticket, its assignment \
         to an agent or team, or whichever comes first.",
    );
    let definition = object(
        &["name", "calendar_id", "grid"],
        vec![
            ("name", definition_name("SLA")),
            (
                "calendar_id",
                about(
                    uuid(),
                    "One of the tenant's calendars: the targets count its business minutes.",
                ),
            ),
            ("response_met_by", component("ResponseMetBy")),
            (
                "grid",
                about(
                    json!({ "type": "array", "items": component("SlaGridRow"), "minItems": 1 }),
                    "The targets by priority, at least one priority; a priority left out has none.",
                ),
            ),
        ],
    );
    let sla = json!({
        "allOf": [
            component("SlaDefinitionV1"),
            object(&["id", "response_met_by"], vec![("id", about(uuid(), "The SLA's id."))]),
        ],
    });
    vec![
        ("Placement", placement()),
        ("TimepointAction", action()),
        (
            "Timepoint",
            about(
                timepoint,
                "An escalation timepoint of a target: where it sits and what it does.",
            ),
        ),
        (
            "SlaTarget",
            about(
                target,
                "A response or resolve target and its escalation timepoints.",
            ),
        ),
        (
            "SlaGridRow",
            about(row, "One row of an SLA's grid: the targets of a priority."),
        ),
        ("ResponseMetBy", met_by),
        (
            "SlaDefinitionV1",
            about(definition, "An SLA to create, or to replace one with."),
        ),
        (
            "SlaV1",
            about(sla, "An SLA: its id and its definition, side by side."),
        ),
    ]
}

fn rule_schemas() -> Vec<(&'static str, Value)> {
    let conditions = object(
        &[],
        vec![
            (
                "priority",
                priority_or_null("The ticket's priority, 1 (highest) to 5."),
            ),
            (
                "company_id",
                about(
                    uuid_or_null(),
                    "The company of the ticket's customer; not checked against the directory.",
                ),
            ),
            (
                "service",
                about(
                    json!({ "type": ["string", "null"], "minLength": 1 }),
                    "The ticket's service, in any (ASCII) case: not blank, at most 200 bytes.",
                ),
            ),
            (
                "kind",
                about(
                    json!({ "type": ["string", "null"], "enum": [KINDS[0], KINDS[1], KINDS[2], KINDS[3], null] }),
                    "The ticket's kind.",
                ),
            ),
        ],
    );
    let rule = object(
        &["sla"],
        vec![
            (
                "when",
                about(
                    component("SlaConditions"),
                    "Absent or `{}`: the rule matches every ticket.",
                ),
            ),
            (
                "sla",
                about(
                    uuid(),
                    "The SLA a ticket it matches gets: one of the tenant's SLAs.",
                ),
            ),
        ],
    );
    let rules = || {
        about(
            json!({ "type": "array", "items": component("SlaRuleV1"), "maxItems": MAX_RULES }),
            &format!(
                "In order, at most {MAX_RULES}: the first whose conditions hold chooses a ticket's SLA."
            ),
        )
    };
    vec![
        (
            "SlaConditions",
            about(
                closed(conditions),
                "What a rule matches: every condition given must hold; one absent or null matches \
                 anything. Answers leave out the ones not given.",
            ),
        ),
        (
            "SlaRuleV1",
            about(
                closed(rule),
                "A rule: when its conditions hold for a ticket, the ticket gets `sla`.",
            ),
        ),
        (
            "SlaRulesV1",
            about(
                object(&["rules"], vec![("rules", rules())]),
                "The tenant's SLA rules, in order; none until an admin sets them.",
            ),
        ),
        (
            "SlaRulesInput",
            about(
                closed(object(&["rules"], vec![("rules", rules())])),
                "The tenant's SLA rules, all of them, in order: they replace the ones there are.",
            ),
        ),
    ]
}

/// `response` or `resolve`: which of a ticket's targets.
fn which_target(description: &str) -> Value {
    about(
        json!({ "type": "string", "enum": ["response", "resolve"] }),
        description,
    )
}

/// A number of business seconds.
fn seconds(description: &str) -> Value {
    about(json!({ "type": "integer", "minimum": 0 }), description)
}

/// One event of a target's timeline, by `event`, with when it happened and
/// which target it is of.
fn step(event: &str, fields: Vec<(&'static str, Value)>, description: &str) -> Value {
    let mut all = vec![
        ("at", about(timestamp(), "When it happened. RFC 3339.")),
        ("target", which_target("The target whose clock it is of.")),
    ];
    all.extend(fields);
    variant("event", event, all, description)
}

fn ticket_sla_schemas() -> Vec<(&'static str, Value)> {
    let state = object(
        &[
            "state",
            "target_minutes",
            "elapsed_seconds",
            "due_at",
            "met_at",
            "breached",
        ],
        vec![
            (
                "state",
                about(
                    json!({ "type": "string", "enum": ["running", "paused", "met"] }),
                    "Whether its clock is counting, stopped for now (the ticket is pending, say), or \
                     stopped for good because the target was met.",
                ),
            ),
            (
                "target_minutes",
                about(
                    json!({ "type": "integer", "minimum": 0 }),
                    "The target, in business minutes of the SLA's calendar, as it is now (the grid's, for \
                     the ticket's priority).",
                ),
            ),
            (
                "elapsed_seconds",
                seconds("The business seconds counted so far, up to now while the clock runs."),
            ),
            (
                "due_at",
                about(
                    timestamp_or_null(),
                    "When the target falls due, counting business time from now. RFC 3339; null \
                     unless the clock is running (a paused or met clock does not move).",
                ),
            ),
            (
                "met_at",
                about(
                    timestamp_or_null(),
                    "When the target was met. RFC 3339; null until it is.",
                ),
            ),
            (
                "breached",
                boolean(
                    "Whether the target was missed: it passed unmet, or more business time than the \
                     target has been counted.",
                ),
            ),
        ],
    );
    let entry = json!({
        "oneOf": [
            step(
                "started",
                vec![("target_seconds", seconds("The target, in business seconds."))],
                "The clock started counting toward the target.",
            ),
            step(
                "paused",
                vec![("elapsed_seconds", seconds("The business seconds counted when it stopped."))],
                "The clock stopped for now: the ticket is pending.",
            ),
            step("resumed", vec![], "The clock counts again from where it stopped."),
            step(
                "recomputed",
                vec![
                    ("from_seconds", seconds("The target before, in business seconds.")),
                    ("to_seconds", seconds("The target now, in business seconds.")),
                    (
                        "elapsed_seconds",
                        seconds("The business seconds counted then; they stay counted."),
                    ),
                    (
                        "reason",
                        about(
                            text(),
                            "What moved it: a new priority, SLA or calendar (`priority 3 → 1`); may be \
                             empty.",
                        ),
                    ),
                ],
                "The target moved (the priority, SLA or calendar changed): the time used so far stays \
                 used, and the deadline moves.",
            ),
            step(
                "met",
                vec![
                    (
                        "elapsed_seconds",
                        seconds("The business seconds it took."),
                    ),
                    ("breached", boolean("Whether it was met late.")),
                ],
                "The target was met: the desk responded, or the ticket was resolved.",
            ),
            step(
                "reopened",
                vec![],
                "The ticket was reopened: the resolve clock counts on from where it stopped.",
            ),
            step(
                "escalated",
                vec![
                    (
                        "timepoint",
                        about(
                            json!({ "type": "integer", "minimum": 0, "maximum": MAX_TIMEPOINTS - 1 }),
                            "Which of the target's timepoints, counting from 0 in the SLA's order.",
                        ),
                    ),
                    (
                        "late",
                        boolean(
                            "Whether it fired more than a second after it was due (after a restart, say).",
                        ),
                    ),
                ],
                "An escalation timepoint was reached and its actions were sent to be done.",
            ),
            step("breached", vec![], "The target passed unmet."),
        ],
    });
    let ticket = object(
        &[
            "ticket_id",
            "reference",
            "kind",
            "priority",
            "status",
            "sla",
            "response",
            "resolve",
            "timeline",
        ],
        vec![
            ("ticket_id", about(uuid(), "The ticket's id.")),
            (
                "reference",
                about(text(), "The ticket's reference (`INC-000042`)."),
            ),
            ("kind", component("TicketKind")),
            (
                "priority",
                priority("The ticket's priority as escalation last heard it, 1 (highest) to 5."),
            ),
            (
                "status",
                about(
                    text(),
                    "The ticket's status as escalation last heard it: one of its kind's statuses.",
                ),
            ),
            (
                "sla",
                about(
                    or_null(component("SlaV1")),
                    "The SLA the rules give the ticket, as it is defined now; null when no rule gives it \
                     one.",
                ),
            ),
            (
                "response",
                about(
                    or_null(component("SlaTargetStateV1")),
                    "Where the response target stands; null when the ticket has no SLA or its SLA's grid \
                     has no row for its priority.",
                ),
            ),
            (
                "resolve",
                about(
                    or_null(component("SlaTargetStateV1")),
                    "Where the resolve target stands; null likewise.",
                ),
            ),
            (
                "timeline",
                about(
                    list_of("SlaTimelineEntryV1"),
                    "What happened to both targets' clocks, oldest first: it explains `response` and \
                     `resolve`.",
                ),
            ),
        ],
    );
    vec![
        (
            "SlaTargetStateV1",
            about(state, "Where one of a ticket's targets stands now."),
        ),
        (
            "SlaTimelineEntryV1",
            about(
                entry,
                "One event of a target's clock, by `event`: when it happened, which target, and what it \
                 says.",
            ),
        ),
        (
            "TicketSlaV1",
            about(
                ticket,
                "A ticket's SLA: which one applies, where its response and resolve targets stand, and the \
                 timeline that explains them.",
            ),
        ),
    ]
}

fn report_schemas() -> Vec<(&'static str, Value)> {
    let compliance = object(
        &["met", "breached", "percent"],
        vec![
            (
                "met",
                count("Targets met in the period without being breached."),
            ),
            ("breached", count("Targets breached in the period.")),
            (
                "percent",
                about(
                    json!({ "type": ["number", "null"], "minimum": 0, "maximum": 100 }),
                    "`met` as a percentage of `met` + `breached`, to one decimal place; null when both \
                     are 0.",
                ),
            ),
        ],
    );
    let targets = || {
        vec![
            (
                "response",
                about(component("SlaTargetComplianceV1"), "The response targets."),
            ),
            (
                "resolve",
                about(component("SlaTargetComplianceV1"), "The resolve targets."),
            ),
        ]
    };
    let with_targets = |first: (&'static str, Value)| {
        let mut all = vec![first];
        all.extend(targets());
        object(&[all[0].0, "response", "resolve"], all)
    };
    let by_priority = with_targets((
        "priority",
        priority("The tickets' priority (as escalation last heard it), 1 (highest) to 5."),
    ));
    let by_team = with_targets((
        "team_id",
        about(
            uuid_or_null(),
            "The tickets' team (as escalation last heard it); null for tickets with no team.",
        ),
    ));
    let mut fields = vec![
        (
            "from",
            about(
                timestamp(),
                "The start of the period (inclusive). RFC 3339.",
            ),
        ),
        (
            "to",
            about(timestamp(), "The end of the period (exclusive). RFC 3339."),
        ),
    ];
    fields.extend(targets());
    fields.extend([
        (
            "by_priority",
            about(
                list_of("SlaPriorityComplianceV1"),
                "The same by priority, highest first; only the priorities with a target counted.",
            ),
        ),
        (
            "by_team",
            about(
                list_of("SlaTeamComplianceV1"),
                "The same by team, tickets with no team (null) first; only the teams with a target counted.",
            ),
        ),
    ]);
    let report = object(
        &[
            "from",
            "to",
            "response",
            "resolve",
            "by_priority",
            "by_team",
        ],
        fields,
    );
    let breach = object(
        &[
            "ticket_id",
            "reference",
            "kind",
            "priority",
            "team_id",
            "assignee_id",
            "target",
            "breached_at",
            "met_at",
        ],
        vec![
            ("ticket_id", about(uuid(), "The ticket's id.")),
            (
                "reference",
                about(text(), "The ticket's reference (`INC-000042`)."),
            ),
            ("kind", component("TicketKind")),
            (
                "priority",
                priority("The ticket's priority as escalation last heard it, 1 (highest) to 5."),
            ),
            (
                "team_id",
                about(
                    uuid_or_null(),
                    "The ticket's team as escalation last heard it; null if none.",
                ),
            ),
            (
                "assignee_id",
                about(
                    uuid_or_null(),
                    "The agent the ticket is assigned to, as escalation last heard it; null if none.",
                ),
            ),
            ("target", which_target("The target that was breached.")),
            (
                "breached_at",
                about(timestamp(), "When it passed unmet. RFC 3339."),
            ),
            (
                "met_at",
                about(
                    timestamp_or_null(),
                    "When it was met in the end, late. RFC 3339; null if it has not been.",
                ),
            ),
        ],
    );
    vec![
        (
            "SlaTargetComplianceV1",
            about(
                compliance,
                "How many targets of one kind (response or resolve) were met and breached in the period.",
            ),
        ),
        (
            "SlaPriorityComplianceV1",
            about(by_priority, "Compliance of the tickets of one priority."),
        ),
        (
            "SlaTeamComplianceV1",
            about(by_team, "Compliance of the tickets of one team."),
        ),
        (
            "SlaComplianceV1",
            about(
                report,
                "SLA compliance over a period: a target counts when it was breached in the period \
                 (`breached`), or met in it without a breach (`met`).",
            ),
        ),
        (
            "SlaBreachV1",
            about(breach, "A ticket's target that was breached."),
        ),
    ]
}

// ---- paths ----

/// 503: the escalation service keeps these definitions.
fn escalation_down() -> (u16, String) {
    (
        503,
        "`dependency_unavailable`: the desk's database, the message broker or the escalation service is \
         unavailable, or escalation did not answer in time."
            .to_owned(),
    )
}

fn name_taken(what: &str) -> (u16, String) {
    (
        409,
        format!(
            "`conflict`: the tenant has another {what} of that name, in any case (trimmed). A create \
             retried without its `Idempotency-Key` after an answer that was lost finds its own name \
             taken."
        ),
    )
}

fn calendar_rules() -> String {
    let days = WEEKDAYS.join("|");
    format!(
        "The checks, in order, with the field each names: `name` 1 to 200 characters once trimmed, one \
         line (`name`); at most {MAX_INTERVALS} intervals a day (`week.<day>`, `<day>` one of {days}); \
         each interval's `start` `HH:MM` from 00:00 to 23:59 (`week.<day>[n].start`) and `end` from \
         00:01 to 24:00 (`week.<day>[n].end`), `n` counting from 0 as given; at most {MAX_HOLIDAYS} \
         holidays (`holidays`), each a date `YYYY-MM-DD` (`holidays[n]`); `time_zone` an IANA time \
         zone the desk knows (`time_zone`); an interval that does not end after it starts, or overlaps \
         the one before it (`week.<day>[n]`, here `n` counting the day's intervals in order of \
         `start`); working time on at least one day (`week`)."
    )
}

fn sla_rules() -> String {
    let at = "grid[n].response|resolve";
    format!(
        "The checks, in order, with the field each names (`n`, `t` and `a` count from 0): `name` 1 \
         to 200 \
         characters once trimmed, one line (`name`); at least one row (`grid`); each row's priority 1 \
         to 5 and not given twice (`grid[n].priority`); then for its response and resolve target: \
         minutes from 1 to {MAX_TARGET_MINUTES} (`{at}.minutes`); at most {MAX_TIMEPOINTS} timepoints \
         (`{at}.timepoints`); a `before` placement by more than 0 and less than the target, an `after` \
         or `after_percent` by more than 0 (`{at}.timepoints[t].placement`); at least one action \
         (`{at}.timepoints[t].actions`); each action whole: `alert_agents` with an agent, a \
         `record_action` or `email_customer` template not blank and at most {MAX_TEMPLATE} bytes, \
         `reassign` with a `team_id` or `agent_id`, `raise_priority` to 1 to 5 \
         (`{at}.timepoints[t].actions[a]`); no two timepoints of a target at the same time \
         (`{at}.timepoints[t].placement`); then the response target not after the resolve target \
         (`grid[n].response.minutes`). Last, `calendar_id` must name one of the tenant's calendars \
         (`calendar_id`)."
    )
}

fn rules_rules() -> String {
    format!(
        "At most {MAX_RULES} rules (`rules`); then for each rule, in order (`n` counts from 0): \
         `when.priority` 1 to 5 (`rules[n].when.priority`); `when.kind` one of {} \
         (`rules[n].when.kind`); `when.service` not blank, at most 200 bytes \
         (`rules[n].when.service`); `sla` one of the tenant's SLAs (`rules[n].sla`). `when.company_id` \
         is not checked.",
        KINDS.map(|k| format!("`{k}`")).join(", ")
    )
}

/// The list, create and replace operations of calendars or SLAs.
struct Definitions {
    /// `calendars`, `slas`.
    path: &'static str,
    /// `Calendar`, `Sla`: the end of the operation ids.
    name: &'static str,
    /// `calendar`, `SLA`.
    one: &'static str,
    /// `calendars`, `SLAs`.
    many: &'static str,
    /// `CalendarDefinitionV1`.
    input: &'static str,
    /// `CalendarV1`.
    output: &'static str,
    /// What a definition must be, beyond its schema's shape.
    rules: String,
}

fn definition_paths(d: &Definitions) -> Vec<(String, Value)> {
    let Definitions {
        path,
        name,
        one,
        many,
        input,
        output,
        ..
    } = d;
    let list = operation(
        &format!("list{name}s"),
        SLAS,
        &format!("List {many}"),
        &format!(
            "The tenant's {many}, by name in any case (not paged). Admin, agent and integration tokens."
        ),
        responses(
            vec![(200, answer(&format!("The {many}."), list_of(output)))],
            vec![unauthorized(), staff_only(), internal(), escalation_down()],
        ),
    );
    let create = operation(
        &format!("create{name}"),
        SLAS,
        &format!("Create a {one}"),
        &format!(
            "Checks the {one} and stores it. Send an `Idempotency-Key`: a retry with the same key is \
             answered with the same {one}. Admin tokens only."
        ),
        responses(
            vec![(
                201,
                answer(&format!("Created: the {one}."), component(output)),
            )],
            definition_failures(d, false),
        ),
    );
    let replace = operation(
        &format!("replace{name}"),
        SLAS,
        &format!("Replace a {one}"),
        &format!(
            "Checks the definition and puts it in place of the {one}'s, whole: a field left out takes \
             its default. The id stays, and what names it (an SLA its calendar, a rule its SLA) names \
             the new definition. Admin tokens only."
        ),
        responses(
            vec![(200, answer(&format!("The {one} now."), component(output)))],
            definition_failures(d, true),
        ),
    );
    let id = parameter("id", "path", true, uuid(), &format!("The {one}'s id."));
    vec![
        (
            format!("/api/v1/{path}"),
            json!({
                "get": with_parameters(list, vec![traceparent()]),
                "post": with_parameters(with_body(create, input), vec![traceparent(), idempotency_key()]),
            }),
        ),
        (
            format!("/api/v1/{path}/{{id}}"),
            json!({
                "put": with_parameters(with_body(replace, input), vec![id, traceparent()]),
            }),
        ),
    ]
}

fn definition_failures(d: &Definitions, replace: bool) -> Vec<(u16, String)> {
    let mut failures = vec![bad_body(&d.rules), unauthorized(), admin_only()];
    if replace {
        failures.push(not_found(&format!(
            "the tenant has no {} with this id.",
            d.one
        )));
    }
    failures.extend([
        name_taken(d.one),
        too_large(),
        not_json(),
        internal(),
        escalation_down(),
    ]);
    failures
}

pub(super) fn paths() -> Vec<(String, Value)> {
    let mut all = definition_paths(&Definitions {
        path: "calendars",
        name: "Calendar",
        one: "calendar",
        many: "calendars",
        input: "CalendarDefinitionV1",
        output: "CalendarV1",
        rules: calendar_rules(),
    });
    all.extend(definition_paths(&Definitions {
        path: "slas",
        name: "Sla",
        one: "SLA",
        many: "SLAs",
        input: "SlaDefinitionV1",
        output: "SlaV1",
        rules: sla_rules(),
    }));
    let get = operation(
        "getSlaRules",
        SLAS,
        "Get the SLA rules",
        "The tenant's SLA rules, in order; none until an admin sets them. Admin, agent and integration \
         tokens.",
        responses(
            vec![(200, answer("The rules.", component("SlaRulesV1")))],
            vec![unauthorized(), staff_only(), internal(), escalation_down()],
        ),
    );
    let put = operation(
        "setSlaRules",
        SLAS,
        "Set the SLA rules",
        "Replaces the tenant's SLA rules with these, in this order; an empty list removes them all. \
         The first rule whose conditions hold for a ticket chooses its SLA, so put the narrow rules \
         first and a catch-all (no conditions) last. Admin tokens only.",
        responses(
            vec![(200, answer("The rules now.", component("SlaRulesV1")))],
            vec![
                bad_body(&rules_rules()),
                unauthorized(),
                admin_only(),
                too_large(),
                not_json(),
                internal(),
                escalation_down(),
            ],
        ),
    );
    all.push((
        "/api/v1/sla-rules".to_owned(),
        json!({
            "get": with_parameters(get, vec![traceparent()]),
            "put": with_parameters(with_body(put, "SlaRulesInput"), vec![traceparent()]),
        }),
    ));
    for t in &TICKETS {
        all.extend(ticket_sla_paths(t));
    }
    all.extend(sla_report_paths());
    all
}

/// `GET /api/v1/<kind>/{id}/sla`: a ticket of `t`'s kind's targets and
/// timeline.
fn ticket_sla_paths(t: &Ticket) -> Vec<(String, Value)> {
    let (kind, title) = (t.kind, t.title);
    let (path, noun, one) = (t.path(), t.noun(), t.one());
    let get = operation(
        &format!("get{title}Sla"),
        SLAS,
        &format!("Get {one}'s SLA"),
        &format!(
            "The SLA the rules give the {noun}, where its response and resolve targets stand now (the \
             business seconds counted, when each falls due, whether it was met or breached), and the \
             timeline of their clocks that explains it: started, paused, resumed, recomputed, met, \
             reopened, escalated, breached. Admin, agent and integration tokens."
        ),
        responses(
            vec![(
                200,
                answer(&format!("The {noun}'s SLA."), component("TicketSlaV1")),
            )],
            vec![
                unauthorized(),
                staff_only(),
                not_found(&format!(
                    "no such {noun} in the tenant, or the escalation service does not follow it (it \
                     has not heard of it from ticketing)."
                )),
                internal(),
                escalation_down(),
            ],
        ),
    );
    vec![(
        format!("/api/v1/{path}/{{id}}/sla"),
        json!({ "get": with_parameters(get, vec![ticket_id(kind), traceparent()]) }),
    )]
}

/// `from`, `to` and `kind`, and the trace context: the SLA reports' query.
fn sla_report_parameters() -> Vec<Value> {
    let time = || json!({ "type": "string", "format": "date-time" });
    vec![
        parameter(
            "from",
            "query",
            false,
            time(),
            "The start of the period (inclusive), RFC 3339 (`2026-03-01T00:00:00Z`); by default 30 days \
             before `to`.",
        ),
        parameter(
            "to",
            "query",
            false,
            time(),
            "The end of the period (exclusive), RFC 3339; by default now. After `from`.",
        ),
        parameter(
            "kind",
            "query",
            false,
            component("TicketKind"),
            "Only the tickets of this kind; by default every kind.",
        ),
        traceparent(),
    ]
}

fn sla_report_failures() -> Vec<(u16, String)> {
    vec![
        (
            400,
            "`validation_failed`: `from` or `to` is not RFC 3339, `kind` is not a kind of ticket, `to` \
             is not after `from` (`to` is named then, also when it is now by default), or a query \
             parameter is unknown; `details.fields` names it."
                .to_owned(),
        ),
        unauthorized(),
        staff_only(),
        internal(),
        escalation_down(),
    ]
}

/// `GET /api/v1/reports/sla` and `GET /api/v1/reports/sla/breaches`.
fn sla_report_paths() -> Vec<(String, Value)> {
    let compliance = operation(
        "getSlaCompliance",
        SLAS,
        "Get the SLA compliance report",
        "The response and resolve targets decided in the period, in all and by priority and team: a \
         target counts as `breached` when it was breached in the period, and as `met` when it was met \
         in the period without a breach (a target breached before the period and met in it does not \
         count). Priority and team are the tickets' as escalation last heard them. Admin, agent and \
         integration tokens.",
        responses(
            vec![(200, answer("The report.", component("SlaComplianceV1")))],
            sla_report_failures(),
        ),
    );
    let breaches = operation(
        "listSlaBreaches",
        SLAS,
        "List SLA breaches",
        &format!(
            "The response and resolve targets breached in the period, each once, latest breach first, \
             at most {MAX_BREACHES} (not paged: narrow the period for more). Admin, agent and integration \
             tokens."
        ),
        responses(
            vec![(200, answer("The breaches.", list_of("SlaBreachV1")))],
            sla_report_failures(),
        ),
    );
    vec![
        (
            "/api/v1/reports/sla".to_owned(),
            json!({ "get": with_parameters(compliance, sla_report_parameters()) }),
        ),
        (
            "/api/v1/reports/sla/breaches".to_owned(),
            json!({ "get": with_parameters(breaches, sla_report_parameters()) }),
        ),
    ]
}

#[cfg(test)]
pub(super) mod tests {
    use contracts::escalation::*;
    use serde_json::{Map, Value};
    use uuid::Uuid;

    use super::super::document;

    /// One of each placement. Stops compiling when one is added: add it
    /// here and to the document's `Placement`.
    fn placements() -> Vec<Placement> {
        let all = vec![
            Placement::Before { minutes: 60 },
            Placement::Target,
            Placement::After { minutes: 30 },
            Placement::AfterPercent { percent: 25 },
        ];
        for p in &all {
            match p {
                Placement::Before { .. }
                | Placement::Target
                | Placement::After { .. }
                | Placement::AfterPercent { .. } => {}
            }
        }
        all
    }

    /// One of each action, likewise.
    fn actions() -> Vec<Action> {
        let all = vec![
            Action::AlertAssignee,
            Action::AlertTeamLeader,
            Action::AlertAgents {
                agents: vec![Uuid::nil()],
            },
            Action::RecordAction {
                template: "Breached".into(),
            },
            Action::EmailCustomer {
                template: "Sorry".into(),
            },
            Action::Reassign {
                team_id: Some(Uuid::nil()),
                agent_id: None,
            },
            Action::RaisePriority { priority: 1 },
            Action::WarnResponseBreach,
        ];
        for a in &all {
            match a {
                Action::AlertAssignee
                | Action::AlertTeamLeader
                | Action::AlertAgents { .. }
                | Action::RecordAction { .. }
                | Action::EmailCustomer { .. }
                | Action::Reassign { .. }
                | Action::RaisePriority { .. }
                | Action::WarnResponseBreach => {}
            }
        }
        all
    }

    /// One of each step of a timeline, likewise, as timeline entries.
    fn timeline() -> Vec<SlaTimelineEntryV1> {
        let steps = vec![
            SlaStepV1::Started {
                target_seconds: 1800,
            },
            SlaStepV1::Paused {
                elapsed_seconds: 600,
            },
            SlaStepV1::Resumed,
            SlaStepV1::Recomputed {
                from_seconds: 1800,
                to_seconds: 900,
                elapsed_seconds: 600,
                reason: "priority 3 → 1".into(),
            },
            SlaStepV1::Met {
                elapsed_seconds: 1000,
                breached: true,
            },
            SlaStepV1::Reopened,
            SlaStepV1::Escalated {
                timepoint: 0,
                late: false,
            },
            SlaStepV1::Breached,
        ];
        for s in &steps {
            match s {
                SlaStepV1::Started { .. }
                | SlaStepV1::Paused { .. }
                | SlaStepV1::Resumed
                | SlaStepV1::Recomputed { .. }
                | SlaStepV1::Met { .. }
                | SlaStepV1::Reopened
                | SlaStepV1::Escalated { .. }
                | SlaStepV1::Breached => {}
            }
        }
        steps
            .into_iter()
            .map(|step| SlaTimelineEntryV1 {
                at: time::OffsetDateTime::UNIX_EPOCH,
                target: "response".into(),
                step,
            })
            .collect()
    }

    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                let found = &doc["components"]["schemas"][name];
                assert!(found.is_object(), "$ref {r} names no schema");
                found
            }
            None => schema,
        }
    }

    /// The properties and required fields of `schema`, its `allOf` merged.
    fn parts<'a>(doc: &'a Value, schema: &'a Value) -> (Map<String, Value>, Vec<&'a str>) {
        let schema = resolve(doc, schema);
        let mut properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for part in schema["allOf"].as_array().into_iter().flatten() {
            let (p, r) = parts(doc, part);
            properties.extend(p);
            required.extend(r);
        }
        (properties, required)
    }

    fn type_of(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_f64() => "number",
            Value::Number(_) => "integer",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Whether `value` has the type, const and enum `schema` says (its
    /// shape aside).
    fn fits_here(schema: &Value, value: &Value) -> bool {
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        (types.is_empty() || types.contains(&type_of(value)))
            && (schema["const"].is_null() || schema["const"] == *value)
            && schema["enum"]
                .as_array()
                .is_none_or(|values| values.contains(value))
    }

    /// Every field of `value` is documented by `schema`, of its type, and
    /// every field the schema requires is there. The other groups' tests
    /// check their wire types with it too.
    pub(in crate::openapi) fn check(doc: &Value, schema: &Value, value: &Value, at: &str) {
        let schema = resolve(doc, schema);
        // `or_null`: a schema, or null.
        if let Some(options) = schema["anyOf"]
            .as_array()
            .filter(|_| schema["type"].is_null() && schema["properties"].is_null())
        {
            let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                options.iter().partition(|o| o["type"] == "null");
            if value.is_null() {
                assert!(!nulls.is_empty(), "{at}: null does not fit");
            } else {
                assert_eq!(others.len(), 1, "{at}: not one schema or null");
                check(doc, others[0], value, at);
            }
            return;
        }
        if let Some(variants) = schema["oneOf"].as_array() {
            let matching: Vec<&Value> = variants
                .iter()
                .filter(|v| {
                    parts(doc, v).0.iter().all(|(name, property)| {
                        property["const"].is_null() || value[name] == property["const"]
                    })
                })
                .collect();
            assert_eq!(matching.len(), 1, "{at}: {value} is not one variant");
            check(doc, matching[0], value, at);
            return;
        }
        assert!(fits_here(schema, value), "{at}: {value} does not fit");
        match value {
            Value::Object(fields) => {
                let (properties, required) = parts(doc, schema);
                for (name, inner) in fields {
                    let Some(property) = properties.get(name) else {
                        panic!("{at}.{name} is not documented")
                    };
                    check(doc, property, inner, &format!("{at}.{name}"));
                }
                for name in required {
                    assert!(fields.contains_key(name), "{at}: {name} is missing");
                }
            }
            Value::Array(items) => {
                for (n, item) in items.iter().enumerate() {
                    check(doc, &schema["items"], item, &format!("{at}[{n}]"));
                }
            }
            _ => {}
        }
    }

    pub(in crate::openapi) fn schema(name: &str) -> Value {
        serde_json::json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    pub(in crate::openapi) fn json<T: serde::Serialize>(value: &T) -> Value {
        serde_json::to_value(value).unwrap_or_default()
    }

    /// Each variant of the tagged unions is one of the document's, with
    /// the fields it has, and the document has no others.
    #[test]
    fn placements_and_actions_are_the_contracts() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for (name, tag, values) in [
            (
                "Placement",
                "at",
                placements().iter().map(json).collect::<Vec<_>>(),
            ),
            (
                "TimepointAction",
                "do",
                actions().iter().map(json).collect::<Vec<_>>(),
            ),
            (
                "SlaTimelineEntryV1",
                "event",
                timeline().iter().map(json).collect::<Vec<_>>(),
            ),
        ] {
            for value in &values {
                check(&doc, &schema(name), value, name);
            }
            let documented: Vec<&Value> = schemas[name]["oneOf"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| &v["properties"][tag]["const"])
                .collect();
            let serialized: Vec<&Value> = values.iter().map(|v| &v[tag]).collect();
            assert_eq!(documented, serialized, "{name}: the variants");
        }
    }

    /// What the endpoints answer, every part of it filled in, fits the
    /// document; and so does what they take.
    #[test]
    fn definitions_fit_their_schemas() {
        let doc = document();
        let interval = |start: &str, end: &str| IntervalV1 {
            start: start.into(),
            end: end.into(),
        };
        let day = || vec![interval("09:00", "12:30"), interval("13:30", "17:00")];
        let calendar = CalendarV1 {
            id: Uuid::nil(),
            definition: CalendarDefinitionV1 {
                name: "Office".into(),
                time_zone: "Europe/London".into(),
                week: WeekV1 {
                    monday: day(),
                    tuesday: day(),
                    wednesday: day(),
                    thursday: day(),
                    friday: day(),
                    saturday: vec![interval("10:00", "24:00")],
                    sunday: Vec::new(),
                },
                holidays: vec!["2025-12-25".into()],
            },
        };
        let timepoints: Vec<Timepoint> = placements()
            .into_iter()
            .map(|placement| Timepoint {
                placement,
                actions: actions(),
            })
            .collect();
        let sla = SlaV1 {
            id: Uuid::nil(),
            definition: SlaDefinitionV1 {
                name: "Gold".into(),
                calendar_id: Uuid::nil(),
                response_met_by: ResponseMetBy::Either,
                grid: vec![GridRow {
                    priority: 1,
                    response: Target {
                        minutes: 30,
                        timepoints: Vec::new(),
                    },
                    resolve: Target {
                        minutes: 480,
                        timepoints,
                    },
                }],
            },
        };
        let rules = SlaRulesV1 {
            rules: vec![
                SlaRuleV1 {
                    when: Conditions {
                        priority: Some(1),
                        company_id: Some(Uuid::nil()),
                        service: Some("Email".into()),
                        kind: Some("incident".into()),
                    },
                    sla: Uuid::nil(),
                },
                SlaRuleV1 {
                    when: Conditions::default(),
                    sla: Uuid::nil(),
                },
            ],
        };
        check(&doc, &schema("CalendarV1"), &json(&calendar), "CalendarV1");
        check(
            &doc,
            &schema("CalendarDefinitionV1"),
            &json(&calendar.definition),
            "CalendarDefinitionV1",
        );
        check(&doc, &schema("SlaV1"), &json(&sla), "SlaV1");
        check(
            &doc,
            &schema("SlaDefinitionV1"),
            &json(&sla.definition),
            "SlaDefinitionV1",
        );
        check(&doc, &schema("SlaRulesV1"), &json(&rules), "SlaRulesV1");
        check(
            &doc,
            &schema("SlaRulesInput"),
            &json(&rules),
            "SlaRulesInput",
        );
        for met_by in [
            ResponseMetBy::FirstAction,
            ResponseMetBy::Assignment,
            ResponseMetBy::Either,
        ] {
            check(
                &doc,
                &schema("ResponseMetBy"),
                &json(&met_by),
                "ResponseMetBy",
            );
        }
    }
    /// A ticket's SLA, the compliance report and the breaches, every part
    /// filled in (and every part that may be null, null), fit the document.
    #[test]
    fn ticket_slas_and_reports_fit_their_schemas() {
        let doc = document();
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let running = TargetStateV1 {
            state: "running".into(),
            target_minutes: 30,
            elapsed_seconds: 600,
            due_at: Some(now),
            met_at: None,
            breached: false,
        };
        let met = TargetStateV1 {
            state: "met".into(),
            due_at: None,
            met_at: Some(now),
            breached: true,
            ..running.clone()
        };
        let sla = SlaV1 {
            id: Uuid::nil(),
            definition: SlaDefinitionV1 {
                name: "Gold".into(),
                calendar_id: Uuid::nil(),
                response_met_by: ResponseMetBy::Either,
                grid: Vec::new(),
            },
        };
        let ticket = TicketSlaV1 {
            ticket_id: Uuid::nil(),
            reference: "INC-000042".into(),
            kind: "incident".into(),
            priority: 1,
            status: "in_progress".into(),
            sla: Some(sla),
            response: Some(met),
            resolve: Some(running),
            timeline: timeline(),
        };
        let none = TicketSlaV1 {
            sla: None,
            response: None,
            resolve: None,
            timeline: Vec::new(),
            ..ticket.clone()
        };
        for t in [&ticket, &none] {
            check(&doc, &schema("TicketSlaV1"), &json(t), "TicketSlaV1");
        }
        let mut counted = TargetsComplianceV1::default();
        counted.response.count(false);
        counted.response.count(true);
        let report = SlaComplianceV1 {
            from: now,
            to: now,
            total: counted.clone(),
            by_priority: vec![PriorityComplianceV1 {
                priority: 2,
                targets: counted.clone(),
            }],
            by_team: vec![
                TeamComplianceV1 {
                    team_id: None,
                    targets: counted.clone(),
                },
                TeamComplianceV1 {
                    team_id: Some(Uuid::nil()),
                    targets: counted,
                },
            ],
        };
        check(
            &doc,
            &schema("SlaComplianceV1"),
            &json(&report),
            "SlaComplianceV1",
        );
        let breach = SlaBreachV1 {
            ticket_id: Uuid::nil(),
            reference: "CHG-000007".into(),
            kind: "change".into(),
            priority: 3,
            team_id: Some(Uuid::nil()),
            assignee_id: None,
            target: "resolve".into(),
            breached_at: now,
            met_at: Some(now),
        };
        let open = SlaBreachV1 {
            team_id: None,
            assignee_id: Some(Uuid::nil()),
            met_at: None,
            ..breach.clone()
        };
        let list = serde_json::json!({ "type": "array", "items": schema("SlaBreachV1") });
        check(&doc, &list, &json(&vec![breach, open]), "SlaBreachV1");
    }
}
