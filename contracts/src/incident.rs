//! Incidents as the REST API and suppliers see them ([`IncidentV1`], made
//! from the one ticket model with `IncidentV1::try_from(ticket)`), what
//! only incidents have (the priority matrix, satisfaction surveys), and
//! the incident commands and events of before the one ticket model.
//!
//! **Deprecated wire types.** Ticketing logs, reads and lists incidents
//! through the ticket commands ([`crate::ticket::LogTicketV1`] and its
//! siblings, kind `incident`) and announces them with
//! [`crate::ticket::TicketChangedV1`]. For a deprecation period it still
//! answers [`LogIncidentV1`], [`GetIncidentV1`] and [`ListIncidentsV1`]
//! (an edge of the previous version, during a rolling upgrade), and its
//! consumers still accept the `Incident…V1` events (published by a
//! ticketing of the previous version, or waiting in a queue). Nothing
//! sends or publishes them any more.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Actor;
#[cfg(feature = "schema")]
use crate::limits::{MAX_LEVEL, MAX_PRIORITY, MAX_RATING};
#[cfg(feature = "schema")]
use crate::schema::{FieldValuesSchema, Timestamp};
use crate::ticket::{FieldValues, LogTicketV1, TicketFilter, TicketKind, TicketV1};

/// The queue of the ticketing service's commands.
pub const TICKETING_QUEUE: &str = "ticketing.commands";

/// Where an incident is. open → in_progress | pending | resolved;
/// in_progress → pending | resolved; pending → in_progress | resolved;
/// resolved → closed | open (reopen); closed is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    InProgress,
    Pending,
    Resolved,
    Closed,
}

impl IncidentStatus {
    pub const ALL: [Self; 5] = [
        Self::Open,
        Self::InProgress,
        Self::Pending,
        Self::Resolved,
        Self::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::InProgress => "in_progress",
            Self::Pending => "pending",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A note, or an update on progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Note,
    Progress,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Progress => "progress",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Note, Self::Progress]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

// A ticket of kind `incident` (`TicketV1`) with its status typed and no
// kind sections.
/// An incident as the API and suppliers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IncidentV1 {
    pub id: Uuid,
    /// Per tenant: `INC-000042`.
    #[cfg_attr(feature = "schema", schemars(regex(pattern = "^INC-[0-9]{6,}$")))]
    pub reference: String,
    pub status: IncidentStatus,
    /// 1 (highest) to 5.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: u8,
    /// 1 (high) to 3 (low); absent if not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_LEVEL)))]
    pub impact: Option<u8>,
    /// 1 (high) to 3 (low); absent if not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_LEVEL)))]
    pub urgency: Option<u8>,
    pub summary: String,
    pub description: String,
    /// The customer affected.
    pub customer_id: Option<Uuid>,
    pub category: Option<String>,
    pub service: Option<String>,
    /// The agent working it.
    pub assignee_id: Option<Uuid>,
    /// The team it is with.
    pub team_id: Option<Uuid>,
    /// How it was resolved.
    pub resolution: Option<String>,
    pub logged_by: Actor,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub resolved_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub closed_at: Option<OffsetDateTime>,
    /// Bumped on every change; lets clients detect concurrent edits.
    #[cfg_attr(feature = "schema", schemars(range(min = 1)))]
    pub version: i64,
    /// When the desk first acted on it: the first action added by an
    /// admin, agent or integration token; absent until then.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub first_response_at: Option<OffsetDateTime>,
    /// The supplier it is handed to (see `/api/v1/suppliers`); absent if
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_id: Option<Uuid>,
    /// The company of its customer when it was logged, from the directory;
    /// absent if none. SLA rules may go by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Uuid>,
    /// The problem it is linked to; absent if none (see
    /// `/api/v1/problems/{id}/incidents`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_id: Option<Uuid>,
    /// Extended data: the tenant's own fields for incidents; absent if none
    /// has a value.
    #[serde(default, skip_serializing_if = "FieldValues::is_empty")]
    #[cfg_attr(feature = "schema", schemars(with = "FieldValuesSchema"))]
    pub fields: FieldValues,
    /// While it is pending: what it waits for; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_reason: Option<String>,
    /// The minutes of work its actions record, summed; absent if none.
    #[serde(default, skip_serializing_if = "crate::ticket::is_zero")]
    pub time_spent_minutes: u64,
}

/// A note or progress update on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ActionV1 {
    pub id: Uuid,
    pub kind: ActionKind,
    pub text: String,
    /// Visible to the customer (portal and emails).
    pub public: bool,
    /// Emailed to the customer.
    pub email_customer: bool,
    /// Included when the ticket is exported to the knowledge base.
    pub knowledge_base: bool,
    /// The minutes of work it records; absent if none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    pub author: Actor,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub created_at: OffsetDateTime,
}

/// One recorded change to a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditEntryV1 {
    pub id: Uuid,
    /// What changed. Every kind: `created`, `status`, `resolution`,
    /// `summary`, `description`, `priority`, `category`, `service`,
    /// `fields`, `assignee`, `team`, `action`, `link`, `unlink`. Incidents:
    /// `problem`, `supplier`. Problems: `root_cause`, `workaround`,
    /// `workaround_flagged`, `incident_linked`, `incident_unlinked`,
    /// `workaround_applied`. Changes: `approval`. Service requests: `step`.
    #[cfg_attr(
        feature = "schema",
        schemars(extend("examples" = ["created", "status", "assignee", "team", "action"]))
    )]
    pub change: String,
    /// The value before: a status, an agent's, team's or supplier's id, the
    /// text or value replaced.
    pub from: Option<String>,
    /// The value after: a status, an agent's, team's or supplier's id, the
    /// new text or value; for `action` its kind and id (`note <id>`), for
    /// `link` the link type and the other ticket (`caused_by PRB-000002`),
    /// for `approval` the decision and who (`approve by Ann`).
    pub to: Option<String>,
    pub actor: Actor,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub at: OffsetDateTime,
}

impl TryFrom<TicketV1> for IncidentV1 {
    type Error = crate::DecodeError;

    /// The incident view of `t`; a ticket of another kind, or with a
    /// status incidents do not have, is not one.
    fn try_from(t: TicketV1) -> Result<Self, Self::Error> {
        let status = IncidentStatus::parse(&t.status)
            .filter(|_| t.kind == TicketKind::Incident)
            .ok_or_else(|| {
                crate::DecodeError::Payload(format!(
                    "{} ({} {}) is not an incident",
                    t.reference,
                    t.kind.as_str(),
                    t.status
                ))
            })?;
        Ok(Self {
            id: t.id,
            reference: t.reference,
            status,
            priority: t.priority,
            impact: t.impact,
            urgency: t.urgency,
            summary: t.summary,
            description: t.description,
            customer_id: t.customer_id,
            category: t.category,
            service: t.service,
            assignee_id: t.assignee_id,
            team_id: t.team_id,
            resolution: t.resolution,
            logged_by: t.logged_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
            resolved_at: t.resolved_at,
            closed_at: t.closed_at,
            version: t.version,
            first_response_at: t.first_response_at,
            supplier_id: t.supplier_id,
            company_id: t.company_id,
            problem_id: t.problem_id,
            fields: t.fields,
            pending_reason: t.pending_reason,
            time_spent_minutes: t.time_spent_minutes,
        })
    }
}

impl From<IncidentV1> for TicketV1 {
    /// The ticket an incident view shows (for a deprecated
    /// [`IncidentLoggedV1`]).
    fn from(i: IncidentV1) -> Self {
        Self {
            id: i.id,
            kind: TicketKind::Incident,
            reference: i.reference,
            status: i.status.as_str().to_owned(),
            priority: i.priority,
            impact: i.impact,
            urgency: i.urgency,
            summary: i.summary,
            description: i.description,
            customer_id: i.customer_id,
            category: i.category,
            service: i.service,
            assignee_id: i.assignee_id,
            team_id: i.team_id,
            resolution: i.resolution,
            logged_by: i.logged_by,
            created_at: i.created_at,
            updated_at: i.updated_at,
            resolved_at: i.resolved_at,
            closed_at: i.closed_at,
            version: i.version,
            first_response_at: i.first_response_at,
            supplier_id: i.supplier_id,
            company_id: i.company_id,
            problem_id: i.problem_id,
            fields: i.fields,
            pending_reason: i.pending_reason,
            time_spent_minutes: i.time_spent_minutes,
            problem: None,
            change: None,
            request: None,
        }
    }
}

// ---- deprecated commands (an edge of the previous version → ticketing) ----

/// Deprecated: [`LogTicketV1`] with kind `incident`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogIncidentV1 {
    pub actor: Actor,
    pub summary: String,
    #[serde(default)]
    pub description: String,
    /// 1 (highest) to 5. If absent, derived from impact and urgency.
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub impact: Option<u8>,
    #[serde(default)]
    pub urgency: Option<u8>,
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// The customer's company, filled in by the edge from its directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    /// Extended data, checked against the tenant's field definitions.
    #[serde(default, skip_serializing_if = "FieldValues::is_empty")]
    pub fields: FieldValues,
}

/// The incident by id or by reference (`INC-000042`), as seen by `viewer`.
/// Deprecated: [`crate::ticket::GetTicketV1`] with kind `incident`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetIncidentV1 {
    pub viewer: Actor,
    pub incident: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentFilter {
    #[serde(default)]
    pub status: Option<IncidentStatus>,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// Case-insensitive text in the summary.
    #[serde(default)]
    pub text: Option<String>,
    /// Incidents linked to this problem (id or reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Extended data equal to these values.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<String, String>,
}

/// Deprecated: [`crate::ticket::ListTicketsV1`] with kind `incident`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListIncidentsV1 {
    pub viewer: Actor,
    #[serde(default)]
    pub filter: IncidentFilter,
    #[serde(default)]
    pub cursor: Option<String>,
    pub limit: u32,
}

impl From<LogIncidentV1> for LogTicketV1 {
    fn from(c: LogIncidentV1) -> Self {
        Self {
            actor: c.actor,
            kind: TicketKind::Incident,
            summary: c.summary,
            description: c.description,
            priority: c.priority,
            impact: c.impact,
            urgency: c.urgency,
            customer_id: c.customer_id,
            company_id: c.company_id,
            category: c.category,
            service: c.service,
            fields: c.fields,
            change: None,
            request_type: None,
        }
    }
}

impl From<IncidentFilter> for TicketFilter {
    fn from(f: IncidentFilter) -> Self {
        Self {
            status: f.status.map(|s| s.as_str().to_owned()),
            priority: f.priority,
            assignee_id: f.assignee_id,
            team_id: f.team_id,
            customer_id: f.customer_id,
            text: f.text,
            problem: f.problem,
            fields: f.fields,
            ..Self::default()
        }
    }
}

// ---- the priority matrix and surveys (edge → ticketing) ----

/// One cell of a priority matrix: impact × urgency → priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PriorityCell {
    /// 1 (high) to 3 (low).
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_LEVEL)))]
    pub impact: u8,
    /// 1 (high) to 3 (low).
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_LEVEL)))]
    pub urgency: u8,
    /// 1 (highest) to 5.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: u8,
}

/// All nine impact × urgency cells as they apply; a cell the tenant did not
/// set is impact + urgency - 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PriorityMatrixV1 {
    pub cells: Vec<PriorityCell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetPriorityMatrixV1 {
    pub viewer: Actor,
}

/// Replaces the tenant's own cells; a cell not given takes the default
/// (impact + urgency - 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetPriorityMatrixV1 {
    pub actor: Actor,
    pub cells: Vec<PriorityCell>,
}

/// How long a survey may be answered after it is offered, in days.
pub const SURVEY_VALID_DAYS: i64 = 30;

/// Every survey's token: the tenant's id and 64 random hex digits.
pub const SURVEY_TOKEN_PATTERN: &str = "^[0-9a-f]{96}$";

/// A satisfaction survey on a resolved incident, answered once: offered to
/// its customer, answered through a link that carries `token`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SurveyV1 {
    /// The survey's token: its link is `/api/v1/surveys/{token}`. Whoever
    /// has it may read and answer the survey.
    #[cfg_attr(feature = "schema", schemars(regex(pattern = SURVEY_TOKEN_PATTERN)))]
    pub token: String,
    /// The incident's reference.
    pub reference: String,
    /// The incident's summary.
    pub summary: String,
    /// Until when it may be answered. Once expired unanswered its link
    /// answers 404; an answered survey stays readable.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::Timestamp"))]
    pub expires_at: OffsetDateTime,
    /// 1 (poor) to 5 (excellent); null until answered.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_RATING)))]
    pub rating: Option<u8>,
    /// Null until answered, or if none was given.
    pub comment: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<crate::schema::Timestamp>")
    )]
    pub answered_at: Option<OffsetDateTime>,
}

/// The survey behind a link (no principal: the token is the credential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetSurveyV1 {
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerSurveyV1 {
    pub token: String,
    pub rating: u8,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The survey of an incident, for its customer (their portal's link).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetIncidentSurveyV1 {
    pub viewer: Actor,
    pub incident: String,
}

// ---- events (ticketing → anyone, on the topic exchange) ----

/// A survey was offered: notification emails the customer the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyOfferedV1 {
    pub incident_id: Uuid,
    pub reference: String,
    pub customer_id: Uuid,
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Deprecated: [`crate::ticket::TicketChangedV1`] (`logged`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentLoggedV1 {
    pub incident: IncidentV1,
}

/// Deprecated: [`crate::ticket::TicketChangedV1`] (`assigned`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentAssignedV1 {
    pub incident_id: Uuid,
    pub reference: String,
    pub assignee_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub actor: Actor,
    /// The incident's version after this change: a consumer that sees an
    /// older one after a newer change knows it arrived late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The supplier it is handed to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_id: Option<Uuid>,
}

/// Deprecated: [`crate::ticket::TicketChangedV1`] (`action`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentActionAddedV1 {
    pub incident_id: Uuid,
    pub reference: String,
    pub action: ActionV1,
    /// The incident's version after this change: a consumer that sees an
    /// older one after a newer change knows it arrived late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// Deprecated: [`crate::ticket::TicketChangedV1`] (`status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentStatusChangedV1 {
    pub incident_id: Uuid,
    pub reference: String,
    pub from: IncidentStatus,
    pub to: IncidentStatus,
    pub resolution: Option<String>,
    pub actor: Actor,
    /// The incident's version after this change: a consumer that sees an
    /// older one after a newer change knows it arrived late.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The token of the satisfaction survey this resolution offered the
    /// customer, for the resolution email's link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_token: Option<String>,
}

event!(SurveyOfferedV1, "ticketing.survey.offered");
// Deprecated (consumers accept them): ticketing announces incidents with
// `TicketChangedV1`.
event!(IncidentLoggedV1, "ticketing.incident.logged");
event!(IncidentAssignedV1, "ticketing.incident.assigned");
event!(IncidentActionAddedV1, "ticketing.incident.action_added");
event!(IncidentStatusChangedV1, "ticketing.incident.status_changed");
