//! `/api/v1/reports`: the KPI reports from ticketing, as JSON, and each
//! table as CSV (`…/trend.csv`) or, where a chart is the natural reading,
//! as an SVG bar chart (`…/days-open.svg`).
//!
//! Which reports and tables there are, and what the document says of them,
//! is `openapi::reports::REPORTS`; the routes are made from it.
//!
//! CSV cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`
//! first) are prefixed with `'`; SVG text is escaped, and both are
//! [`served`] with `nosniff` and a CSP that runs nothing.

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use contracts::report::*;
use contracts::schema::Timestamp;
use schemars::JsonSchema;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::AppState;
use crate::auth::Staff;
use crate::error::{ApiError, ApiResult};
use crate::extract::Params;
use crate::incidents::call;
use crate::openapi::reports::{REPORTS, report_docs, table_docs};
use crate::served::served;

/// Each report as JSON, and each of its tables (`REPORTS`) as a file of
/// its own.
pub fn routes() -> ApiRouter<AppState> {
    let [problem, incident] = &REPORTS;
    let mut router = ApiRouter::new()
        .api_route(
            &format!("/reports/{}", problem.path),
            get_with(problems, |op| report_docs(problem, op)),
        )
        .api_route(
            &format!("/reports/{}", incident.path),
            get_with(incidents, |op| report_docs(incident, op)),
        );
    for report in &REPORTS {
        for table in report.tables {
            let handler = move |State(state): State<AppState>,
                                Staff(who): Staff,
                                headers: HeaderMap,
                                Params(q): Params<RangeQuery>| async move {
                if report.path == problem.path {
                    problem_table(state, who, headers, table.file, q).await
                } else {
                    incident_table(state, who, headers, table.file, q).await
                }
            };
            router = router.api_route(
                &format!("/reports/{}/{}", report.path, table.file),
                get_with(handler, move |op| table_docs(report, table, op)),
            );
        }
    }
    router
}

/// A report's range: `from` and `to` (by default the 30 days up to now)
/// and the trend's `period`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct RangeQuery {
    /// The start of the range (inclusive), `2026-03-01T00:00:00Z`; by
    /// default 30 days before `to`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<Timestamp>")]
    from: Option<OffsetDateTime>,
    /// The end of the range (exclusive); by default now. After `from`, and
    /// no further from it than a report reaches (its 400 says how far).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<Timestamp>")]
    to: Option<OffsetDateTime>,
    /// How the trends are bucketed; by default weeks.
    #[serde(default)]
    #[schemars(extend("default" = "week"))]
    period: Option<Period>,
}

/// A report's period from the query: `to` by default now, `from` by
/// default the 30 days before it.
pub fn window(
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
) -> (OffsetDateTime, OffsetDateTime) {
    let to = to.unwrap_or_else(OffsetDateTime::now_utc);
    (from.unwrap_or(to - Duration::days(30)), to)
}

impl RangeQuery {
    fn range(self) -> ReportRangeV1 {
        let (from, to) = window(self.from, self.to);
        ReportRangeV1 {
            from,
            to,
            period: self.period.unwrap_or(Period::Week),
        }
    }
}

async fn problem_report(
    state: &AppState,
    who: &crate::auth::Principal,
    headers: &HeaderMap,
    q: RangeQuery,
) -> ApiResult<ProblemReportV1> {
    let command = GetProblemReportV1 {
        viewer: who.actor.clone(),
        range: q.range(),
    };
    call(state, who, headers, &command).await
}

async fn incident_report(
    state: &AppState,
    who: &crate::auth::Principal,
    headers: &HeaderMap,
    q: RangeQuery,
) -> ApiResult<IncidentReportV1> {
    let command = GetIncidentReportV1 {
        viewer: who.actor.clone(),
        range: q.range(),
    };
    call(state, who, headers, &command).await
}

async fn problems(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Params(q): Params<RangeQuery>,
) -> ApiResult<Json<ProblemReportV1>> {
    Ok(Json(problem_report(&state, &who, &headers, q).await?))
}

async fn incidents(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Params(q): Params<RangeQuery>,
) -> ApiResult<Json<IncidentReportV1>> {
    Ok(Json(incident_report(&state, &who, &headers, q).await?))
}

/// A table of a report: a header and rows of cells.
struct Table {
    title: String,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A bar chart of the columns `values` against the first column.
    fn chart(&self, values: &[usize]) -> Response {
        let series: Vec<(&str, Vec<f64>)> = values
            .iter()
            .map(|&c| {
                let v = self
                    .rows
                    .iter()
                    .map(|r| r.get(c).and_then(|v| v.parse().ok()).unwrap_or(0.0))
                    .collect();
                (self.header[c], v)
            })
            .collect();
        let labels: Vec<&str> = self.rows.iter().map(|r| r[0].as_str()).collect();
        svg_response(bar_chart(&self.title, &labels, &series))
    }

    fn csv(&self) -> Response {
        let mut out = String::new();
        let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
            let cells: Vec<String> = cells.map(csv_cell).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        };
        line(&mut self.header.iter().copied(), &mut out);
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str), &mut out);
        }
        served(
            out,
            HeaderValue::from_static("text/csv; charset=utf-8"),
            None,
        )
    }
}

/// One CSV cell (RFC 4180), defused for spreadsheets.
fn csv_cell(value: &str) -> String {
    // A number stays as written; `-Infinity`, `+inf` and `-NaN` parse as
    // floats too, but a spreadsheet reads them as text it may evaluate.
    let number = value.parse::<f64>().is_ok_and(f64::is_finite);
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) && !number {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

const COLOURS: [&str; 3] = ["#4e79a7", "#f28e2b", "#59a14f"];

/// A grouped bar chart: one group per label, one bar per series.
fn bar_chart(title: &str, labels: &[&str], series: &[(&str, Vec<f64>)]) -> String {
    let (left, top, bottom, plot_h) = (60.0, 50.0, 110.0, 300.0);
    let group_w = 16.0 * series.len().max(1) as f64 + 12.0;
    let width = (left + 20.0 + group_w * labels.len() as f64).max(480.0);
    let height = top + plot_h + bottom;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\
         <title>{t}</title><text x=\"{left}\" y=\"20\" font-size=\"14\">{t}</text>",
        t = xml_escape(title)
    );
    for (i, (name, _)) in series.iter().enumerate() {
        let x = left + 160.0 * i as f64;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"30\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"39\">{}</text>",
            COLOURS[i % COLOURS.len()],
            x + 14.0,
            xml_escape(name)
        ));
    }
    let base = top + plot_h;
    svg.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#333\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
         <text x=\"{}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        width - 10.0,
        left - 6.0,
        top + 4.0,
        max,
        left - 6.0
    ));
    for (g, label) in labels.iter().enumerate() {
        let gx = left + 6.0 + group_w * g as f64;
        for (s, (_, values)) in series.iter().enumerate() {
            let v = values.get(g).copied().unwrap_or(0.0);
            let h = plot_h * v / max;
            svg.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"{h}\" fill=\"{}\"><title>{}: {v}</title></rect>",
                gx + 16.0 * s as f64,
                base - h,
                COLOURS[s % COLOURS.len()],
                xml_escape(label)
            ));
        }
        let lx = gx + group_w / 2.0 - 6.0;
        svg.push_str(&format!(
            "<text x=\"{lx}\" y=\"{}\" transform=\"rotate(60 {lx} {})\">{}</text>",
            base + 12.0,
            base + 12.0,
            xml_escape(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn svg_response(svg: String) -> Response {
    served(svg, HeaderValue::from_static("image/svg+xml"), None)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `trend`, `resolved`, `days-open` or `activity`, each `.csv`; `trend`,
/// `resolved` and `days-open` also `.svg`.
/// A table of the problem report: `table` one of its `REPORTS` files.
async fn problem_table(
    state: AppState,
    who: crate::auth::Principal,
    headers: HeaderMap,
    table: &str,
    q: RangeQuery,
) -> ApiResult<Response> {
    let (name, format) = split(table)?;
    let r = problem_report(&state, &who, &headers, q).await?;
    let t = match name {
        "trend" => Table {
            title: "Problems raised against incidents raised".into(),
            header: vec!["period", "problems_raised", "incidents_raised"],
            rows: r
                .trend
                .iter()
                .map(|p| {
                    vec![
                        p.period.clone(),
                        p.problems_raised.to_string(),
                        p.incidents_raised.to_string(),
                    ]
                })
                .collect(),
        },
        "resolved" => {
            let s = &r.resolved;
            match format {
                Format::Svg => {
                    return Ok(svg_response(bar_chart(
                        "Problems resolved by outcome",
                        &["change", "known_error", "workaround", "other"],
                        &[(
                            "problems",
                            [s.by_change, s.known_error, s.workaround, s.other]
                                .iter()
                                .map(|n| *n as f64)
                                .collect(),
                        )],
                    )));
                }
                Format::Csv => Table {
                    title: "Problems resolved".into(),
                    header: vec![
                        "reference",
                        "priority",
                        "summary",
                        "outcome",
                        "linked_incidents",
                    ],
                    rows: s
                        .problems
                        .iter()
                        .map(|p| {
                            vec![
                                p.reference.clone(),
                                p.priority.to_string(),
                                p.summary.clone(),
                                opt(p.outcome.map(|o| o.as_str())),
                                p.linked_incidents.to_string(),
                            ]
                        })
                        .collect(),
                },
            }
        }
        "days-open" => Table {
            title: "Days open, unresolved problems".into(),
            header: vec!["reference", "days_open", "priority", "status", "summary"],
            rows: r
                .days_open
                .iter()
                .map(|p| {
                    vec![
                        p.reference.clone(),
                        p.days_open.to_string(),
                        p.priority.to_string(),
                        p.status.clone(),
                        p.summary.clone(),
                    ]
                })
                .collect(),
        },
        "activity" if format == Format::Csv => Table {
            title: "Activity since the last period".into(),
            header: vec!["reference", "status", "summary", "at", "author", "action"],
            rows: r
                .activity
                .iter()
                .flat_map(|p| {
                    let none = [None];
                    let lines: Vec<Option<&ActivityLineV1>> = if p.actions.is_empty() {
                        none.to_vec()
                    } else {
                        p.actions.iter().map(Some).collect()
                    };
                    lines.into_iter().map(move |a| {
                        vec![
                            p.reference.clone(),
                            p.status.clone(),
                            p.summary.clone(),
                            opt(a.and_then(|a| {
                                a.at.format(&time::format_description::well_known::Rfc3339)
                                    .ok()
                            })),
                            opt(a.map(|a| a.author.clone())),
                            opt(a.map(|a| a.text.clone())),
                        ]
                    })
                })
                .collect(),
        },
        _ => return Err(ApiError::not_found("report table")),
    };
    Ok(match format {
        Format::Csv => t.csv(),
        Format::Svg if name == "trend" => t.chart(&[1, 2]),
        Format::Svg => t.chart(&[1]),
    })
}

/// `volume.csv`/`.svg`, and `summary.csv` (the figures as name, value).
/// A table of the incident report: `table` one of its `REPORTS` files.
async fn incident_table(
    state: AppState,
    who: crate::auth::Principal,
    headers: HeaderMap,
    table: &str,
    q: RangeQuery,
) -> ApiResult<Response> {
    let (name, format) = split(table)?;
    let r = incident_report(&state, &who, &headers, q).await?;
    let t = match (name, format) {
        ("volume", _) => Table {
            title: "Incidents raised and resolved".into(),
            header: vec!["period", "raised", "resolved"],
            rows: r
                .volume
                .iter()
                .map(|v| {
                    vec![
                        v.period.clone(),
                        v.raised.to_string(),
                        v.resolved.to_string(),
                    ]
                })
                .collect(),
        },
        ("summary", Format::Csv) => Table {
            title: "Incident management".into(),
            header: vec!["measure", "value"],
            rows: [
                ("first_response_count", r.first_response.count.to_string()),
                (
                    "first_response_mean_seconds",
                    opt(r.first_response.mean_seconds),
                ),
                (
                    "first_response_p90_seconds",
                    opt(r.first_response.p90_seconds),
                ),
                ("resolve_count", r.resolve.count.to_string()),
                ("resolve_mean_seconds", opt(r.resolve.mean_seconds)),
                ("resolve_p90_seconds", opt(r.resolve.p90_seconds)),
                ("resolved", r.resolved.to_string()),
                ("reopened", r.reopened.to_string()),
                ("reopen_rate", opt(r.reopen_rate)),
                (
                    "satisfaction_responses",
                    r.satisfaction.responses.to_string(),
                ),
                ("satisfaction_mean", opt(r.satisfaction.mean_rating)),
                ("time_spent_minutes", r.time_spent_minutes.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| vec![k.to_owned(), v])
            .collect(),
        },
        _ => return Err(ApiError::not_found("report table")),
    };
    Ok(match format {
        Format::Csv => t.csv(),
        Format::Svg => t.chart(&[1, 2]),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Svg,
}

fn split(table: &str) -> ApiResult<(&str, Format)> {
    match table.rsplit_once('.') {
        Some((name, "csv")) => Ok((name, Format::Csv)),
        Some((name, "svg")) => Ok((name, Format::Svg)),
        _ => Err(ApiError::not_found("report table")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-12"), "-12", "numbers stay numbers");
        assert_eq!(csv_cell("-1.5e3"), "-1.5e3");
        for special in ["-Infinity", "+inf", "-NaN", "+nan", "-infinity"] {
            assert_eq!(
                csv_cell(special),
                format!("'{special}"),
                "{special} is not a number"
            );
        }
    }

    #[test]
    fn chart_text_is_escaped() {
        let svg = bar_chart("<script>", &["PRB-1 <b>"], &[("days", vec![3.0])]);
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
