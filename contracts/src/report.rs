//! KPI reports: what ticketing answers for the problem and incident
//! management reports, as the seed documents define them. The edge renders
//! them as JSON, CSV and SVG.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Actor;
use crate::ticket::ProblemOutcome;

/// How a report's trend is bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

/// The range a report covers: `from` (inclusive) to `to` (exclusive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRangeV1 {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
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
pub struct TrendPointV1 {
    /// The first day of the period, `YYYY-MM-DD`.
    pub period: String,
    pub problems_raised: u64,
    pub incidents_raised: u64,
}

/// A problem resolved in the range, for the summary listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedProblemV1 {
    pub reference: String,
    pub priority: u8,
    pub summary: String,
    pub outcome: Option<ProblemOutcome>,
    pub linked_incidents: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemsResolvedV1 {
    pub total: u64,
    pub by_change: u64,
    pub known_error: u64,
    pub workaround: u64,
    pub other: u64,
    /// Problems resolved in the range that were a known error at some point.
    pub reached_known_error: u64,
    /// Problems resolved in the range with a flagged workaround.
    pub workaround_flagged: u64,
    /// Incidents linked to the problems resolved: the incidents whose root
    /// cause the desk got to.
    pub linked_incidents: u64,
    pub problems: Vec<ResolvedProblemV1>,
}

/// An unresolved problem and how long it has been open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaysOpenV1 {
    pub reference: String,
    pub priority: u8,
    pub summary: String,
    pub status: String,
    pub days_open: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityLineV1 {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub author: String,
    /// The action's first line.
    pub text: String,
}

/// What was done on an unresolved problem in the range: signs of life, or
/// their absence (no lines).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemActivityV1 {
    pub reference: String,
    pub summary: String,
    pub status: String,
    pub actions: Vec<ActivityLineV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemReportV1 {
    pub range: ReportRangeV1,
    pub trend: Vec<TrendPointV1>,
    pub resolved: ProblemsResolvedV1,
    pub days_open: Vec<DaysOpenV1>,
    pub activity: Vec<ProblemActivityV1>,
}

/// Incidents raised and resolved in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumePointV1 {
    pub period: String,
    pub raised: u64,
    pub resolved: u64,
}

/// Durations in seconds over `count` incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DurationsV1 {
    pub count: u64,
    pub mean_seconds: Option<f64>,
    pub p90_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SatisfactionV1 {
    pub responses: u64,
    pub mean_rating: Option<f64>,
    /// Responses rating 1, 2, 3, 4 and 5.
    pub ratings: [u64; 5],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentReportV1 {
    pub range: ReportRangeV1,
    pub volume: Vec<VolumePointV1>,
    /// From logging to the first action by the desk, over incidents raised
    /// in the range that have one.
    pub first_response: DurationsV1,
    /// From logging to resolution, over incidents resolved in the range.
    pub resolve: DurationsV1,
    /// Incidents raised in the range that were resolved, and how many of
    /// those were reopened at least once.
    pub resolved: u64,
    pub reopened: u64,
    pub reopen_rate: Option<f64>,
    /// Survey answers given in the range.
    pub satisfaction: SatisfactionV1,
}
