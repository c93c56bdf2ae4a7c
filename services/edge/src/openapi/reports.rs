//! The document's KPI reports, from the handlers in [`crate::reports`] and
//! the wire types in [`contracts::report`]: each report as JSON, and each of
//! its tables as CSV or SVG, generated from [`REPORTS`] as the handlers
//! serve them.

use serde_json::{Value, json};

use super::{
    about, answer, answer_as, component, count, internal, list_of, object, operation, or_null,
    parameter, responses, set, staff_only, tag, text, ticketing_down, timestamp, traceparent,
    unauthorized, with_parameters,
};

const REPORTS_TAG: &str = "Reports";

/// The longest range a report covers, in days (as ticketing checks it).
const MAX_DAYS: u32 = 3 * 366;

/// Most rows a report's listing holds.
const MAX_LISTED: u32 = 5_000;

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        REPORTS_TAG,
        &format!(
            "The KPI reports of problem management and incident management over a range: `from` \
             (inclusive) to `to` (exclusive), by default the 30 days up to now, at most {MAX_DAYS} days \
             (3 × 366), with trends by `period` (UTC days, weeks from Monday, or calendar months; by \
             default weeks). Each report is JSON, and each of its tables is also served as CSV (RFC 4180, \
             a header row, CRLF line ends; a cell a spreadsheet would run as a formula, one starting with \
             `=`, `+`, `-`, `@`, a tab or a carriage return that is not a number, is prefixed with `'`) or, where a chart reads \
             best, as an SVG bar chart, both with `X-Content-Type-Options: nosniff` and the SVG under a \
             Content-Security-Policy that runs nothing. A table name the report does not have answers 404 \
             `not_found`. Listings hold at most {MAX_LISTED} rows; the totals count everything. Admin, \
             agent and integration tokens."
        ),
    )]
}

// ---- the reports and their tables ----

/// One report: `/api/v1/reports/<path>`, and its tables under it.
struct Report {
    /// `problems`.
    path: &'static str,
    /// The middle of its operation ids: `Problem`.
    title: &'static str,
    /// Its JSON schema.
    schema: &'static str,
    summary: &'static str,
    description: &'static str,
    tables: &'static [Table],
}

/// A table of a report, as one file: `trend.csv`.
struct Table {
    file: &'static str,
    summary: &'static str,
    /// What the file holds: its columns, or its chart.
    holds: &'static str,
}

const REPORTS: [Report; 2] = [
    Report {
        path: "problems",
        title: "Problem",
        schema: "ProblemReportV1",
        summary: "Get the problem management report",
        description: "Problem management over the range: problems raised against incidents raised per \
                      period, the problems resolved by outcome with their linked incidents, how long \
                      each unresolved problem has been open, and what was done on each in the range.",
        tables: &[
            Table {
                file: "trend.csv",
                summary: "Problems raised against incidents raised, as CSV",
                holds: "One row per period: `period,problems_raised,incidents_raised` (see `trend`).",
            },
            Table {
                file: "trend.svg",
                summary: "Problems raised against incidents raised, as a chart",
                holds: "A bar chart of problems and incidents raised in each period (see `trend`).",
            },
            Table {
                file: "resolved.csv",
                summary: "Problems resolved, as CSV",
                holds: "One row per problem resolved in the range, in the order resolved: \
                        `reference,priority,summary,outcome,linked_incidents` (see `resolved.problems`).",
            },
            Table {
                file: "resolved.svg",
                summary: "Problems resolved by outcome, as a chart",
                holds: "A bar chart of the problems resolved in the range by outcome: `change`, \
                        `known_error`, `workaround` and `other` (see `resolved`).",
            },
            Table {
                file: "days-open.csv",
                summary: "Days open of unresolved problems, as CSV",
                holds: "One row per unresolved problem, oldest first: \
                        `reference,days_open,priority,status,summary` (see `days_open`).",
            },
            Table {
                file: "days-open.svg",
                summary: "Days open of unresolved problems, as a chart",
                holds: "A bar chart of the days each unresolved problem has been open (see `days_open`).",
            },
            Table {
                file: "activity.csv",
                summary: "Activity on unresolved problems, as CSV",
                holds: "One row per action in the range on each unresolved problem, oldest problem \
                        first: `reference,status,summary,at,author,action`; a problem with none has one row \
                        with `at`, `author` and `action` empty (see `activity`).",
            },
        ],
    },
    Report {
        path: "incidents",
        title: "Incident",
        schema: "IncidentReportV1",
        summary: "Get the incident management report",
        description: "Incident management over the range: incidents raised and resolved per period, time \
                      to first response and to resolution (mean and 90th percentile), the reopen rate, \
                      and customer satisfaction from the surveys answered.",
        tables: &[
            Table {
                file: "volume.csv",
                summary: "Incidents raised and resolved, as CSV",
                holds: "One row per period: `period,raised,resolved` (see `volume`).",
            },
            Table {
                file: "volume.svg",
                summary: "Incidents raised and resolved, as a chart",
                holds: "A bar chart of incidents raised and resolved in each period (see `volume`).",
            },
            Table {
                file: "summary.csv",
                summary: "The incident figures, as CSV",
                holds: "`measure,value`, one row each: `first_response_count`, \
                        `first_response_mean_seconds`, `first_response_p90_seconds`, `resolve_count`, \
                        `resolve_mean_seconds`, `resolve_p90_seconds`, `resolved`, `reopened`, \
                        `reopen_rate`, `satisfaction_responses`, `satisfaction_mean`; a value there is none \
                        of (a mean of nothing) is empty.",
            },
        ],
    },
];

impl Table {
    /// The file's media type, by its extension.
    fn media_type(&self) -> &'static str {
        if self.file.ends_with(".svg") {
            "image/svg+xml"
        } else {
            "text/csv; charset=utf-8"
        }
    }

    /// The end of its operation id: `days-open.csv` → `DaysOpenCsv`.
    fn title(&self) -> String {
        self.file
            .split(['-', '.'])
            .map(|word| {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                    .unwrap_or_default()
            })
            .collect()
    }
}

// ---- schemas ----

pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let period = about(
        json!({ "type": "string", "enum": ["day", "week", "month"] }),
        "How a report's trend is bucketed: UTC days, weeks from Monday, or calendar months.",
    );
    let range = object(
        &["from", "to", "period"],
        vec![
            ("from", about(timestamp(), "Inclusive. RFC 3339.")),
            ("to", about(timestamp(), "Exclusive. RFC 3339.")),
            ("period", component("ReportPeriod")),
        ],
    );
    let mut all = vec![
        ("ReportPeriod", period),
        (
            "ReportRangeV1",
            about(range, "What a report covers, as asked or by default."),
        ),
    ];
    all.extend(problem_report_schemas());
    all.extend(incident_report_schemas());
    all
}

/// A trend's `period`: the first day of the period.
fn period_label() -> Value {
    about(
        json!({ "type": "string", "format": "date" }),
        "The period's first day, `YYYY-MM-DD` (a Monday for weeks, the 1st for months): the first period \
         may start before `from`. Every period the range touches is listed, with zeros if nothing happened.",
    )
}

fn priority() -> Value {
    about(
        json!({ "type": "integer", "minimum": 1, "maximum": 5 }),
        "1 (highest) to 5.",
    )
}

fn problem_report_schemas() -> Vec<(&'static str, Value)> {
    let trend = object(
        &["period", "problems_raised", "incidents_raised"],
        vec![
            ("period", period_label()),
            ("problems_raised", count("Problems logged in the period.")),
            ("incidents_raised", count("Incidents logged in the period.")),
        ],
    );
    let resolved_problem = object(
        &[
            "reference",
            "priority",
            "summary",
            "outcome",
            "linked_incidents",
        ],
        vec![
            ("reference", text()),
            ("priority", priority()),
            ("summary", text()),
            (
                "outcome",
                about(or_null(component("ProblemOutcome")), "How it was resolved."),
            ),
            ("linked_incidents", count("The incidents linked to it now.")),
        ],
    );
    let resolved = object(
        &[
            "total",
            "by_change",
            "known_error",
            "workaround",
            "other",
            "reached_known_error",
            "workaround_flagged",
            "linked_incidents",
            "problems",
        ],
        vec![
            (
                "total",
                count(
                    "Problems resolved in the range (by their latest resolution) and resolved or closed now.",
                ),
            ),
            (
                "by_change",
                count("Of those, resolved with outcome `change`."),
            ),
            ("known_error", count("Resolved with outcome `known_error`.")),
            ("workaround", count("Resolved with outcome `workaround`.")),
            (
                "other",
                count("Resolved with outcome `other`, or with none recorded."),
            ),
            (
                "reached_known_error",
                count("Of those, problems that were a known error at some point."),
            ),
            (
                "workaround_flagged",
                count("Of those, problems with a flagged workaround."),
            ),
            (
                "linked_incidents",
                count(
                    "The incidents linked to those problems: the incidents whose root cause the desk got to.",
                ),
            ),
            (
                "problems",
                about(
                    list_of("ResolvedProblemV1"),
                    &format!("The problems, in the order resolved (at most {MAX_LISTED})."),
                ),
            ),
        ],
    );
    let days_open = object(
        &["reference", "priority", "summary", "status", "days_open"],
        vec![
            ("reference", text()),
            ("priority", priority()),
            ("summary", text()),
            ("status", problem_status()),
            (
                "days_open",
                count("Whole days from logging to `to`, or to now if `to` is later."),
            ),
        ],
    );
    let line = object(
        &["at", "author", "text"],
        vec![
            ("at", timestamp()),
            ("author", about(text(), "Who wrote it: their name.")),
            (
                "text",
                about(text(), "The action's first line, at most 200 characters."),
            ),
        ],
    );
    let activity = object(
        &["reference", "summary", "status", "actions"],
        vec![
            ("reference", text()),
            ("summary", text()),
            ("status", problem_status()),
            (
                "actions",
                about(
                    list_of("ActivityLineV1"),
                    "The actions added to it in the range, oldest first; none is a sign of no life.",
                ),
            ),
        ],
    );
    let report = object(
        &["range", "trend", "resolved", "days_open", "activity"],
        vec![
            ("range", component("ReportRangeV1")),
            (
                "trend",
                about(
                    list_of("TrendPointV1"),
                    "Problems raised against incidents raised, per period.",
                ),
            ),
            ("resolved", component("ProblemsResolvedV1")),
            (
                "days_open",
                about(
                    list_of("DaysOpenV1"),
                    &format!(
                        "Every problem logged before `to` that is not resolved or closed now, oldest first \
                         (at most {MAX_LISTED})."
                    ),
                ),
            ),
            (
                "activity",
                about(
                    list_of("ProblemActivityV1"),
                    "The same problems as `days_open`, in the same order, each with what was done on it in \
                     the range.",
                ),
            ),
        ],
    );
    vec![
        (
            "TrendPointV1",
            about(
                trend,
                "Problems raised against incidents raised in one period.",
            ),
        ),
        (
            "ResolvedProblemV1",
            about(resolved_problem, "A problem resolved in the range."),
        ),
        (
            "ProblemsResolvedV1",
            about(resolved, "The problems resolved in the range, by outcome."),
        ),
        (
            "DaysOpenV1",
            about(
                days_open,
                "An unresolved problem and how long it has been open.",
            ),
        ),
        ("ActivityLineV1", about(line, "One action on a problem.")),
        (
            "ProblemActivityV1",
            about(
                activity,
                "What was done on an unresolved problem in the range.",
            ),
        ),
        (
            "ProblemReportV1",
            about(report, "The problem management report."),
        ),
    ]
}

fn incident_report_schemas() -> Vec<(&'static str, Value)> {
    let volume = object(
        &["period", "raised", "resolved"],
        vec![
            ("period", period_label()),
            ("raised", count("Incidents logged in the period.")),
            (
                "resolved",
                count("Incidents resolved in the period (by their latest resolution)."),
            ),
        ],
    );
    let durations = object(
        &["count", "mean_seconds", "p90_seconds"],
        vec![
            ("count", count("The incidents measured.")),
            (
                "mean_seconds",
                about(
                    json!({ "type": ["number", "null"], "minimum": 0 }),
                    "The mean, in seconds; null if `count` is 0.",
                ),
            ),
            (
                "p90_seconds",
                about(
                    json!({ "type": ["integer", "null"], "minimum": 0 }),
                    "The 90th percentile (nearest rank), in whole seconds; null if `count` is 0.",
                ),
            ),
        ],
    );
    let satisfaction = object(
        &["responses", "mean_rating", "ratings"],
        vec![
            ("responses", count("Surveys answered in the range.")),
            (
                "mean_rating",
                about(
                    json!({ "type": ["number", "null"], "minimum": 1, "maximum": 5 }),
                    "The mean rating, 1 (poor) to 5 (excellent); null if there are no responses.",
                ),
            ),
            (
                "ratings",
                about(
                    json!({ "type": "array", "items": { "type": "integer", "minimum": 0 }, "minItems": 5, "maxItems": 5 }),
                    "How many answers rated 1, 2, 3, 4 and 5, in that order.",
                ),
            ),
        ],
    );
    let report = object(
        &[
            "range",
            "volume",
            "first_response",
            "resolve",
            "resolved",
            "reopened",
            "reopen_rate",
            "satisfaction",
        ],
        vec![
            ("range", component("ReportRangeV1")),
            (
                "volume",
                about(
                    list_of("VolumePointV1"),
                    "Incidents raised and resolved, per period.",
                ),
            ),
            (
                "first_response",
                about(
                    component("DurationsV1"),
                    "From logging to `first_response_at` (the first action by the desk), over the incidents \
                     logged in the range that have one.",
                ),
            ),
            (
                "resolve",
                about(
                    component("DurationsV1"),
                    "From logging to resolution, over the incidents resolved in the range (by their latest \
                     resolution).",
                ),
            ),
            (
                "resolved",
                count("Incidents logged in the range that have been resolved."),
            ),
            (
                "reopened",
                count("Of those, how many were reopened at least once."),
            ),
            (
                "reopen_rate",
                about(
                    json!({ "type": ["number", "null"], "minimum": 0, "maximum": 1 }),
                    "`reopened` / `resolved`; null if `resolved` is 0.",
                ),
            ),
            (
                "satisfaction",
                about(
                    component("SatisfactionV1"),
                    "The satisfaction surveys answered in the range.",
                ),
            ),
        ],
    );
    vec![
        (
            "VolumePointV1",
            about(volume, "Incidents raised and resolved in one period."),
        ),
        (
            "DurationsV1",
            about(durations, "Durations over some incidents."),
        ),
        (
            "SatisfactionV1",
            about(satisfaction, "What customers said in their surveys."),
        ),
        (
            "IncidentReportV1",
            about(report, "The incident management report."),
        ),
    ]
}

// ---- paths ----

/// `from`, `to` and `period`, and the trace context: every report's query.
fn range_parameters() -> Vec<Value> {
    let time = || json!({ "type": "string", "format": "date-time" });
    vec![
        parameter(
            "from",
            "query",
            false,
            time(),
            "The start of the range (inclusive), RFC 3339 (`2026-03-01T00:00:00Z`); by default 30 days \
             before `to`.",
        ),
        parameter(
            "to",
            "query",
            false,
            time(),
            &format!(
                "The end of the range (exclusive), RFC 3339; by default now. After `from`, at most \
                 {MAX_DAYS} days after it."
            ),
        ),
        parameter(
            "period",
            "query",
            false,
            set(component("ReportPeriod"), "default", json!("week")),
            "How the trends are bucketed.",
        ),
        traceparent(),
    ]
}

fn report_failures() -> Vec<(u16, String)> {
    vec![
        (
            400,
            format!(
                "`validation_failed`: `from` or `to` is not RFC 3339, `period` is not `day`, `week` or \
                 `month`, `to` is not after `from` or is more than {MAX_DAYS} days after it (`to` is named \
                 then, also when it is now by default), or a query parameter is unknown; \
                 `details.fields` names it."
            ),
        ),
        unauthorized(),
        staff_only(),
        internal(),
        ticketing_down(),
    ]
}

pub(super) fn paths() -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for report in &REPORTS {
        all.extend(report_paths(report));
    }
    all
}

fn report_paths(report: &Report) -> Vec<(String, Value)> {
    let Report {
        path,
        title,
        schema,
        summary,
        description,
        tables,
    } = report;
    let json_report = operation(
        &format!("get{title}Report"),
        REPORTS_TAG,
        summary,
        &format!("{description} Admin, agent and integration tokens."),
        responses(
            vec![(200, answer("The report.", component(schema)))],
            report_failures(),
        ),
    );
    let mut all = vec![(
        format!("/api/v1/reports/{path}"),
        json!({ "get": with_parameters(json_report, range_parameters()) }),
    )];
    for table in *tables {
        let file = operation(
            &format!("get{title}Report{}", table.title()),
            REPORTS_TAG,
            table.summary,
            &format!(
                "{} From the same report as `GET /api/v1/reports/{path}`, over the same range. Admin, \
                 agent and integration tokens.",
                table.holds
            ),
            responses(
                vec![(
                    200,
                    answer_as(
                        "The table.",
                        table.media_type(),
                        json!({ "type": "string" }),
                    ),
                )],
                report_failures(),
            ),
        );
        all.push((
            format!("/api/v1/reports/{path}/{}", table.file),
            json!({ "get": with_parameters(file, range_parameters()) }),
        ));
    }
    all
}

/// A problem's status, in a report.
fn problem_status() -> Value {
    json!({
        "type": "string",
        "enum": contracts::ticket::TicketKind::Problem.statuses(),
        "description": "One of a problem's statuses.",
    })
}
