//! The KPI reports: which there are ([`REPORTS`]), from which
//! [`crate::reports`] makes its routes, and what the document says of each
//! (the reports' schemas are [`contracts::report`]'s).

use aide::transform::TransformOperation;
use axum::Json;
use contracts::limits::{MAX_REPORT_DAYS as MAX_DAYS, MAX_REPORT_LISTED as MAX_LISTED};
use contracts::report::{IncidentReportV1, ProblemReportV1};
use serde_json::{Value, json};

use super::declared::Declare;
use super::{answer_as, internal, tag, ticketing_down};

const REPORTS_TAG: &str = "Reports";

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        REPORTS_TAG,
        &format!(
            "The KPI reports of problem management and incident management over a range: `from` \
             (inclusive) to `to` (exclusive), by default the 30 days up to now, at most {MAX_DAYS} days \
             (3 × 366), with trends by `period` (UTC days, weeks from Monday, or calendar months; by \
             default weeks). Each report is JSON, and each of its tables is also served as CSV (RFC 4180, \
             a header row, CRLF line ends; a cell a spreadsheet would run as a formula, one starting with \
             `=`, `+`, `-`, `@`, a tab or a carriage return that is not a finite number (`-Infinity` is not), is prefixed with `'`) or, where a chart reads \
             best, as an SVG bar chart, both with `X-Content-Type-Options: nosniff` and the SVG under a \
             Content-Security-Policy that runs nothing. A table name the report does not have answers 404 \
             `not_found`. Listings hold at most {MAX_LISTED} rows; the totals count everything. Admin, \
             agent and integration tokens."
        ),
    )]
}

// ---- the reports and their tables ----

/// One report: `/api/v1/reports/<path>`, and its tables under it.
pub(crate) struct Report {
    /// `problems`.
    pub(crate) path: &'static str,
    /// The middle of its operation ids: `Problem`.
    title: &'static str,
    summary: &'static str,
    description: &'static str,
    pub(crate) tables: &'static [Table],
}

/// A table of a report, as one file: `trend.csv`.
pub(crate) struct Table {
    pub(crate) file: &'static str,
    summary: &'static str,
    /// What the file holds: its columns, or its chart.
    holds: &'static str,
}

/// Every report and its tables, as [`crate::reports`] serves them.
pub(crate) const REPORTS: [Report; 2] = [
    Report {
        path: "problems",
        title: "Problem",
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
        internal(),
        ticketing_down(),
    ]
}

/// `GET /reports/<report>`.
pub(crate) fn report_docs<'a>(
    report: &Report,
    op: TransformOperation<'a>,
) -> TransformOperation<'a> {
    let response = match report.path {
        "problems" => {
            op.response_with::<200, Json<ProblemReportV1>, _>(|r| r.description("The report."))
        }
        _ => op.response_with::<200, Json<IncidentReportV1>, _>(|r| r.description("The report.")),
    };
    response
        .id(&format!("get{}Report", report.title))
        .tag(REPORTS_TAG)
        .summary(report.summary)
        .description(&format!(
            "{} Admin, agent and integration tokens.",
            report.description
        ))
        .traced()
        .fails(report_failures())
}

/// `GET /reports/<report>/<table>`.
pub(crate) fn table_docs<'a>(
    report: &Report,
    table: &Table,
    op: TransformOperation<'a>,
) -> TransformOperation<'a> {
    let answer = answer_as(
        "The table.",
        table.media_type(),
        json!({ "type": "string" }),
    );
    op.about(
        &format!("get{}Report{}", report.title, table.title()),
        REPORTS_TAG,
        table.summary,
        &format!(
            "{} From the same report as `GET /api/v1/reports/{}`, over the same range. Admin, \
             agent and integration tokens.",
            table.holds, report.path
        ),
    )
    .traced()
    .answers(200, answer)
    .fails(report_failures())
}
