//! KPI reports: what ticketing answers for the problem and incident
//! management reports, as the seed documents define them. The edge renders
//! them as JSON, CSV and SVG.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Actor;
#[cfg(feature = "schema")]
use crate::limits::{MAX_PRIORITY, MAX_REPORT_LISTED};
#[cfg(feature = "schema")]
use crate::schema::Timestamp;
use crate::ticket::ProblemOutcome;

/// How a report's trend is bucketed: UTC days, weeks from Monday, or
/// calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "ReportPeriod"))]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

/// What a report covers, as asked or by default: `from` (inclusive) to `to`
/// (exclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReportRangeV1 {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub to: OffsetDateTime,
    pub period: Period,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetProblemReportV1 {
    pub viewer: Actor,
    pub range: ReportRangeV1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetIncidentReportV1 {
    pub viewer: Actor,
    pub range: ReportRangeV1,
}

/// Problems raised against incidents raised in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TrendPointV1 {
    /// The period's first day, `YYYY-MM-DD` (a Monday for weeks, the 1st
    /// for months): the first period may start before `from`. Every period
    /// the range touches is listed, with zeros if nothing happened.
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date")))]
    pub period: String,
    /// Problems logged in the period.
    pub problems_raised: u64,
    /// Incidents logged in the period.
    pub incidents_raised: u64,
}

/// A problem resolved in the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ResolvedProblemV1 {
    pub reference: String,
    /// 1 (highest) to 5.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: u8,
    pub summary: String,
    /// How it was resolved.
    pub outcome: Option<ProblemOutcome>,
    /// The incidents linked to it now.
    pub linked_incidents: u64,
}

/// The problems resolved in the range, by outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProblemsResolvedV1 {
    /// Problems resolved in the range (by their latest resolution) and
    /// resolved or closed now.
    pub total: u64,
    /// Of those, resolved with outcome `change`.
    pub by_change: u64,
    /// Resolved with outcome `known_error`.
    pub known_error: u64,
    /// Resolved with outcome `workaround`.
    pub workaround: u64,
    /// Resolved with outcome `other`, or with none recorded.
    pub other: u64,
    /// Of those, problems that were a known error at some point.
    pub reached_known_error: u64,
    /// Of those, problems with a flagged workaround.
    pub workaround_flagged: u64,
    /// The incidents linked to those problems: the incidents whose root
    /// cause the desk got to.
    pub linked_incidents: u64,
    /// The problems, in the order resolved.
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_REPORT_LISTED)))]
    pub problems: Vec<ResolvedProblemV1>,
}

/// An unresolved problem and how long it has been open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DaysOpenV1 {
    pub reference: String,
    /// 1 (highest) to 5.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: u8,
    pub summary: String,
    /// One of a problem's statuses.
    pub status: String,
    /// Whole days from logging to `to`, or to now if `to` is later.
    pub days_open: u64,
}

/// One action on a problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ActivityLineV1 {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub at: OffsetDateTime,
    /// Who wrote it: their name.
    pub author: String,
    /// The action's first line, at most 200 characters.
    pub text: String,
}

/// What was done on an unresolved problem in the range: signs of life, or
/// their absence (no lines).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProblemActivityV1 {
    pub reference: String,
    pub summary: String,
    /// One of a problem's statuses.
    pub status: String,
    /// The actions added to it in the range, oldest first; none is a sign
    /// of no life.
    pub actions: Vec<ActivityLineV1>,
}

/// The problem management report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProblemReportV1 {
    pub range: ReportRangeV1,
    /// Problems raised against incidents raised, per period.
    pub trend: Vec<TrendPointV1>,
    pub resolved: ProblemsResolvedV1,
    /// Every problem logged before `to` that is not resolved or closed now,
    /// oldest first.
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_REPORT_LISTED)))]
    pub days_open: Vec<DaysOpenV1>,
    /// The same problems as `days_open`, in the same order, each with what
    /// was done on it in the range.
    pub activity: Vec<ProblemActivityV1>,
}

/// Incidents raised and resolved in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct VolumePointV1 {
    /// The period's first day, `YYYY-MM-DD` (a Monday for weeks, the 1st
    /// for months): the first period may start before `from`. Every period
    /// the range touches is listed, with zeros if nothing happened.
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date")))]
    pub period: String,
    /// Incidents logged in the period.
    pub raised: u64,
    /// Incidents resolved in the period (by their latest resolution).
    pub resolved: u64,
}

/// Durations over some incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DurationsV1 {
    /// The incidents measured.
    pub count: u64,
    /// The mean, in seconds; null if `count` is 0.
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0)))]
    pub mean_seconds: Option<f64>,
    /// The 90th percentile (nearest rank), in whole seconds; null if
    /// `count` is 0.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub p90_seconds: Option<i64>,
}

/// What customers said in their surveys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SatisfactionV1 {
    /// Surveys answered in the range.
    pub responses: u64,
    /// The mean rating, 1 (poor) to 5 (excellent); null if there are no
    /// responses.
    #[cfg_attr(feature = "schema", schemars(range(min = 1.0, max = 5.0)))]
    pub mean_rating: Option<f64>,
    /// How many answers rated 1, 2, 3, 4 and 5, in that order.
    pub ratings: [u64; 5],
}

/// The incident management report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IncidentReportV1 {
    pub range: ReportRangeV1,
    /// Incidents raised and resolved, per period.
    pub volume: Vec<VolumePointV1>,
    /// From logging to `first_response_at` (the first action by the desk),
    /// over the incidents logged in the range that have one.
    pub first_response: DurationsV1,
    /// From logging to resolution, over the incidents resolved in the range
    /// (by their latest resolution).
    pub resolve: DurationsV1,
    /// Incidents logged in the range that have been resolved.
    pub resolved: u64,
    /// Of those, how many were reopened at least once.
    pub reopened: u64,
    /// `reopened` / `resolved`; null if `resolved` is 0.
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0, max = 1.0)))]
    pub reopen_rate: Option<f64>,
    /// The satisfaction surveys answered in the range.
    pub satisfaction: SatisfactionV1,
    /// The minutes of work recorded on incidents' actions added in the
    /// range.
    #[serde(default)]
    pub time_spent_minutes: u64,
}
