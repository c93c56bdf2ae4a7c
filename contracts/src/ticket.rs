//! Tickets of every kind (incidents, problems, changes and service
//! requests): one model, one set of commands that take a [`TicketKind`],
//! and one event family ([`TicketChangedV1`]); and what every kind shares:
//! links between tickets, actions, audit history and extended data
//! (tenant-defined fields).
//!
//! An incident is a ticket of kind `incident`; [`crate::incident`] holds
//! the incident view the REST API and suppliers see (made from a ticket
//! with `IncidentV1::try_from`), and the incident commands and events that
//! are still accepted for a deprecation period.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Actor;
use crate::incident::{ActionKind, ActionV1};
#[cfg(feature = "schema")]
use crate::limits::{
    FIELD_KEY_PATTERN, MAX_LABEL, MAX_LEVEL, MAX_PRIORITY, MAX_SUMMARY, ONE_LINE_PATTERN,
};
#[cfg(feature = "schema")]
use crate::schema::{FieldValuesSchema, Timestamp};

/// Extended data values by field key.
pub type FieldValues = BTreeMap<String, serde_json::Value>;

/// A kind of ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Incident,
    Problem,
    Change,
    Request,
}

impl TicketKind {
    pub const ALL: [Self; 4] = [Self::Incident, Self::Problem, Self::Change, Self::Request];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::Problem => "problem",
            Self::Change => "change",
            Self::Request => "request",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind a reference names by its prefix (`INC-000042`: incident).
    pub fn of_reference(reference: &str) -> Option<Self> {
        let prefix = reference.split('-').next()?;
        Self::ALL.into_iter().find(|k| k.prefix() == prefix)
    }

    /// The status that resolves a ticket of this kind, with its
    /// resolution: `resolved`, or `fulfilled` for a service request. A
    /// change is implemented, not resolved.
    pub fn resolved_status(self) -> Option<&'static str> {
        match self {
            Self::Incident | Self::Problem => Some("resolved"),
            Self::Request => Some("fulfilled"),
            Self::Change => None,
        }
    }

    /// The prefix of its references: `INC-000042`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Incident => "INC",
            Self::Problem => "PRB",
            Self::Change => "CHG",
            Self::Request => "REQ",
        }
    }

    /// What a person calls it, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::Problem => "problem",
            Self::Change => "change",
            Self::Request => "service request",
        }
    }

    /// Its statuses, in the order of its lifecycle.
    pub fn statuses(self) -> &'static [&'static str] {
        match self {
            Self::Incident => &["open", "in_progress", "pending", "resolved", "closed"],
            Self::Problem => &["open", "investigating", "known_error", "resolved", "closed"],
            Self::Change => &[
                "requested",
                "approved",
                "rejected",
                "scheduled",
                "implementing",
                "implemented",
                "backed_out",
                "reviewed",
                "closed",
                "cancelled",
            ],
            Self::Request => &["open", "in_progress", "pending", "fulfilled", "closed"],
        }
    }
}

/// A problem, change or service request (incidents are `IncidentV1`), as
/// the API shows it. `status` is one of its kind's statuses
/// ([`TicketKind::statuses`]); the section of its kind (`problem`, `change`
/// or `request`) holds what only that kind has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(transform = crate::schema::ticket_of_its_kind))]
pub struct TicketV1 {
    pub id: Uuid,
    /// `problem`, `change` or `request`; incidents are `IncidentV1`.
    pub kind: TicketKind,
    /// Per tenant and kind: `PRB-000042`, `CHG-000042`, `REQ-000042`.
    #[cfg_attr(
        feature = "schema",
        schemars(regex(pattern = "^(INC|PRB|CHG|REQ)-[0-9]{6,}$"))
    )]
    pub reference: String,
    /// One of its kind's statuses.
    pub status: String,
    /// 1 (highest) to 5; 3 unless given when logged.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority: u8,
    /// Incidents only: 1 (high) to 3 (low); absent if not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_LEVEL)))]
    pub impact: Option<u8>,
    /// Incidents only: 1 (high) to 3 (low); absent if not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_LEVEL)))]
    pub urgency: Option<u8>,
    pub summary: String,
    pub description: String,
    /// The customer it is for.
    pub customer_id: Option<Uuid>,
    pub category: Option<String>,
    pub service: Option<String>,
    /// The agent working it.
    pub assignee_id: Option<Uuid>,
    /// The team it is with.
    pub team_id: Option<Uuid>,
    /// How a problem was resolved or a service request fulfilled.
    pub resolution: Option<String>,
    pub logged_by: Actor,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub updated_at: OffsetDateTime,
    /// When a problem was resolved or a service request fulfilled.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub resolved_at: Option<OffsetDateTime>,
    /// When it reached a final status.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub closed_at: Option<OffsetDateTime>,
    /// Bumped on every change.
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
    /// Incidents only: the supplier it is handed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_id: Option<Uuid>,
    /// The company of its customer when it was logged, from the directory;
    /// absent if none. SLA rules may go by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Uuid>,
    /// Incidents only: the problem it is linked to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_id: Option<Uuid>,
    /// Extended data; absent if no field has a value.
    #[serde(default, skip_serializing_if = "FieldValues::is_empty")]
    #[cfg_attr(feature = "schema", schemars(with = "FieldValuesSchema"))]
    pub fields: FieldValues,
    /// While it is pending: what it waits for; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_reason: Option<String>,
    /// The minutes of work its actions record, summed; absent if none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub time_spent_minutes: u64,
    /// Problems only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<ProblemDetailsV1>,
    /// Changes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeDetailsV1>,
    /// Service requests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestDetailsV1>,
}

/// How a problem was resolved (the problem management report counts
/// them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProblemOutcome {
    /// By one or more changes (which must be linked to it).
    Change,
    /// Documented as a known error, with its workaround.
    KnownError,
    /// A workaround that makes the fault harmless.
    Workaround,
    /// The root cause went away or was never found.
    Other,
}

impl ProblemOutcome {
    pub const ALL: [Self; 4] = [
        Self::Change,
        Self::KnownError,
        Self::Workaround,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Change => "change",
            Self::KnownError => "known_error",
            Self::Workaround => "workaround",
            Self::Other => "other",
        }
    }
}

/// What only a problem has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProblemDetailsV1 {
    pub root_cause: Option<String>,
    pub workaround: Option<String>,
    /// The workaround is usable: it may be applied to the linked incidents.
    pub workaround_flagged: bool,
    /// The problem has been a known error (it stays true once set).
    pub known_error: bool,
    /// How it was resolved; null unless resolved or closed.
    pub outcome: Option<ProblemOutcome>,
    /// How many incidents are linked to it (counted, not stored).
    #[serde(default)]
    pub linked_incidents: u64,
}

/// How risky a change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

/// `all`: every approver must approve the change; `any`: one approval is
/// enough. Either way one rejection rejects it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalRule {
    #[default]
    All,
    Any,
}

/// An approver's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// One approver's decision on a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApprovalV1 {
    /// The agent named to approve.
    pub approver_id: Uuid,
    /// Null until the approver decides.
    pub decision: Option<Decision>,
    pub comment: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub decided_at: Option<OffsetDateTime>,
}

/// What only a change has: its plan (why, what it risks, how to back out,
/// when) and its approvals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChangeDetailsV1 {
    pub reason: String,
    pub impact_assessment: String,
    pub risk: Risk,
    pub risk_assessment: String,
    pub backout_plan: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub planned_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub planned_end: OffsetDateTime,
    /// The configuration items it touches (free text until the CMDB exists).
    pub affected_items: Vec<String>,
    pub approval: ApprovalRule,
    /// One per approver, in the order named.
    pub approvals: Vec<ApprovalV1>,
    /// What the review after it was implemented found: given when it
    /// moves to `reviewed`; absent until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// Why it was backed out: given when it moves to `backed_out`; absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backout_reason: Option<String>,
    /// A warning, on the answer to approving or scheduling it:
    /// the approved, scheduled or implementing changes whose window
    /// overlaps its own and that touch an item it touches (their
    /// references). It is allowed all the same. Not kept: the change
    /// calendar says what conflicts now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts_with: Vec<String>,
}

/// A fulfilment step of a service request; done once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RequestStepV1 {
    pub name: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
    pub done_at: Option<OffsetDateTime>,
    pub done_by: Option<Actor>,
}

/// What only a service request has: its type and its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RequestDetailsV1 {
    pub request_type_id: Uuid,
    /// The request type's name.
    pub request_type: String,
    /// Its type's fulfilment steps as they were when it was logged; `POST
    /// /api/v1/requests/{id}/steps/{step}/done` marks one done by its place
    /// here, from 0.
    pub steps: Vec<RequestStepV1>,
}

// ---- extended data and request types ----

/// `text`: one line; `memo`: many lines; `number`; `date`: `YYYY-MM-DD`;
/// `choice`: one of `choices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One line of text.
    Text,
    /// Many lines of text.
    Memo,
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of `choices`.
    Choice,
}

/// A field the tenant defined (extended data): its key (used in the API),
/// label, type and rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(transform = crate::schema::field_rules))]
pub struct FieldDefV1 {
    /// How `fields` and `field.<key>` filters name it; once per kind.
    #[cfg_attr(feature = "schema", schemars(regex(pattern = FIELD_KEY_PATTERN)))]
    pub key: String,
    /// For people: not blank.
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = MAX_LABEL), regex(pattern = ONE_LINE_PATTERN))
    )]
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Every ticket must have a value: when logged, and after every edit
    /// (an edit of a ticket logged before the field was required must
    /// give one).
    #[serde(default)]
    pub required: bool,
    /// `choice` fields only, and required for them: the values allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "schema",
        schemars(inner(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN)))
    )]
    pub choices: Vec<String>,
    /// `number` fields only: the least value allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// `number` fields only: the greatest value allowed; not below `min`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// `number` fields only: only whole numbers (`3`, `3.0`), not `3.5`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole: bool,
    /// `text` and `memo` fields only: the most characters (by default 200
    /// for text, 100000 for memo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

/// The tenant's fields for one kind of ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldDefinitionsV1 {
    pub kind: TicketKind,
    /// In the order defined.
    pub fields: Vec<FieldDefV1>,
}

/// A kind of service request the tenant offers, with its own fields and
/// steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RequestTypeV1 {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// Its own fields, besides those every service request has.
    pub fields: Vec<FieldDefV1>,
    /// The names of its fulfilment steps, in order.
    pub steps: Vec<String>,
}

// ---- links ----

/// How one ticket relates to another, read from the first to the second.
/// Read from the other end a link has the inverse type: `caused_by` and
/// `causes`, `resolved_by` and `resolves`, `parent_of` and `child_of`;
/// `related` is its own inverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    CausedBy,
    Causes,
    ResolvedBy,
    Resolves,
    Related,
    ParentOf,
    ChildOf,
}

impl LinkType {
    pub const ALL: [Self; 7] = [
        Self::CausedBy,
        Self::Causes,
        Self::ResolvedBy,
        Self::Resolves,
        Self::Related,
        Self::ParentOf,
        Self::ChildOf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CausedBy => "caused_by",
            Self::Causes => "causes",
            Self::ResolvedBy => "resolved_by",
            Self::Resolves => "resolves",
            Self::Related => "related",
            Self::ParentOf => "parent_of",
            Self::ChildOf => "child_of",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The same link read from the other end.
    pub fn inverse(self) -> Self {
        match self {
            Self::CausedBy => Self::Causes,
            Self::Causes => Self::CausedBy,
            Self::ResolvedBy => Self::Resolves,
            Self::Resolves => Self::ResolvedBy,
            Self::Related => Self::Related,
            Self::ParentOf => Self::ChildOf,
            Self::ChildOf => Self::ParentOf,
        }
    }
}

/// A ticket of any kind, enough to show it in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(transform = crate::schema::status_of_its_kind))]
pub struct TicketSummaryV1 {
    pub id: Uuid,
    pub kind: TicketKind,
    pub reference: String,
    pub summary: String,
    /// One of its kind's statuses.
    pub status: String,
}

/// A link as seen from one of its tickets: `link_type` reads from that
/// ticket to `ticket` ("this is caused_by PRB-000002").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LinkV1 {
    /// The link's id, the same from both ends: remove it with
    /// `DELETE .../links/{link}`.
    pub id: Uuid,
    /// Read from the ticket whose links these are to `ticket`.
    pub link_type: LinkType,
    /// The other end.
    pub ticket: TicketSummaryV1,
    pub created_by: Actor,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::Timestamp"))]
    pub created_at: OffsetDateTime,
}

// ---- commands (edge → ticketing) ----

/// A new change's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangePlanV1 {
    pub reason: String,
    #[serde(default)]
    pub impact_assessment: String,
    pub risk: Risk,
    #[serde(default)]
    pub risk_assessment: String,
    pub backout_plan: String,
    #[serde(with = "time::serde::rfc3339")]
    pub planned_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub planned_end: OffsetDateTime,
    #[serde(default)]
    pub affected_items: Vec<String>,
    #[serde(default)]
    pub approval: ApprovalRule,
    pub approvers: Vec<Uuid>,
    /// Incidents and problems (ids or references) the change is for: each
    /// is linked to it as `resolved_by`.
    #[serde(default)]
    pub incidents: Vec<String>,
    #[serde(default)]
    pub problems: Vec<String>,
}

/// Logs an incident or a problem, requests a change (with `change`), or
/// logs a service request (with `request_type`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogTicketV1 {
    pub actor: Actor,
    pub kind: TicketKind,
    pub summary: String,
    #[serde(default)]
    pub description: String,
    /// 1 (highest) to 5. An incident without one takes its priority from
    /// `impact` and `urgency` through the tenant's priority matrix; other
    /// kinds default to 3.
    #[serde(default)]
    pub priority: Option<u8>,
    /// Incidents only: 1 (high) to 3 (low).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<u8>,
    /// Incidents only: 1 (high) to 3 (low).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    #[serde(default, skip_serializing_if = "FieldValues::is_empty")]
    pub fields: FieldValues,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangePlanV1>,
    /// A request type's id or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<String>,
}

/// A ticket of `kind` by id or reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetTicketV1 {
    pub viewer: Actor,
    pub kind: TicketKind,
    pub ticket: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketFilter {
    /// One of the kind's statuses, or several separated by commas.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// Case-insensitive text in the reference, summary, description or an
    /// action's text (a public action's, for a customer).
    #[serde(default)]
    pub text: Option<String>,
    /// Only tickets no agent is assigned to.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unassigned: bool,
    /// Only tickets of this company's customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Uuid>,
    /// Only tickets logged at or after this time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_from: Option<time::OffsetDateTime>,
    /// Only tickets logged before this time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_to: Option<time::OffsetDateTime>,
    /// Only tickets last changed at or after this time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_from: Option<time::OffsetDateTime>,
    /// Only tickets last changed before this time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_to: Option<time::OffsetDateTime>,
    /// Incidents linked to this problem (id or reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Extended data equal to these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// The order of the list; the newest first if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<TicketSort>,
}

/// How a list of tickets is ordered: by when they were logged or last
/// changed, or by priority; a leading `-` runs it the other way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum TicketSort {
    /// The newest first.
    #[default]
    #[serde(rename = "-created")]
    Newest,
    /// The oldest first.
    #[serde(rename = "created")]
    Oldest,
    /// The most recently changed first.
    #[serde(rename = "-updated")]
    RecentlyChanged,
    /// The longest unchanged first.
    #[serde(rename = "updated")]
    LongestUnchanged,
    /// The highest priority (1) first.
    #[serde(rename = "priority")]
    HighestPriority,
    /// The lowest priority (5) first.
    #[serde(rename = "-priority")]
    LowestPriority,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListTicketsV1 {
    pub viewer: Actor,
    pub kind: TicketKind,
    #[serde(default)]
    pub filter: TicketFilter,
    #[serde(default)]
    pub cursor: Option<String>,
    pub limit: u32,
}

/// Edits a ticket. A field left out is unchanged; for the optional ones,
/// `null` clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketChangesV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The customer it is for (null: none); the edge checks them and
    /// gives their company with them.
    #[serde(
        default,
        deserialize_with = "crate::common::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer_id: Option<Option<Uuid>>,
    /// The customer's company, set with `customer_id`.
    #[serde(
        default,
        deserialize_with = "crate::common::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub company_id: Option<Option<Uuid>>,
    /// Incidents only, 1 (high) to 3: with `urgency` (given or as it is),
    /// the priority comes from the priority matrix again, unless
    /// `priority` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<u8>,
    /// Incidents only, 1 (high) to 3; as `impact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(
        default,
        deserialize_with = "crate::common::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub category: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::common::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub service: Option<Option<String>>,
    /// Extended data to set; a `null` value clears that field.
    #[serde(default, skip_serializing_if = "FieldValues::is_empty")]
    pub fields: FieldValues,
    /// Problems only.
    #[serde(
        default,
        deserialize_with = "crate::common::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub root_cause: Option<Option<String>>,
    /// Problems only.
    #[serde(
        default,
        deserialize_with = "crate::common::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub workaround: Option<Option<String>>,
    /// Problems only: the workaround may be applied to linked incidents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workaround_flagged: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateTicketV1 {
    pub actor: Actor,
    pub kind: TicketKind,
    pub ticket: String,
    pub changes: TicketChangesV1,
    /// Only if the ticket is at this version still (its `version`, the
    /// edge's `If-Match`): otherwise refused as `precondition_failed`, so
    /// an edit made on a stale copy loses nothing written since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignTicketV1 {
    pub actor: Actor,
    pub kind: TicketKind,
    pub ticket: String,
    /// Only if the ticket is at this version still (its `version`, the
    /// edge's `If-Match`): otherwise refused as `precondition_failed`, so
    /// an edit made on a stale copy loses nothing written since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<i64>,
    #[serde(
        default,
        deserialize_with = "crate::common::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assignee_id: Option<Option<Uuid>>,
    #[serde(
        default,
        deserialize_with = "crate::common::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub team_id: Option<Option<Uuid>>,
    /// Incidents only: the supplier to hand it to (`null` takes it back).
    #[serde(
        default,
        deserialize_with = "crate::common::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub supplier_id: Option<Option<Uuid>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeTicketStatusV1 {
    pub actor: Actor,
    pub kind: TicketKind,
    pub ticket: String,
    /// Only if the ticket is at this version still (its `version`, the
    /// edge's `If-Match`): otherwise refused as `precondition_failed`, so
    /// an edit made on a stale copy loses nothing written since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<i64>,
    pub to: String,
    /// Required to resolve a problem or fulfil a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Required to resolve a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ProblemOutcome>,
    /// What it waits for: required to make it pending (a supplier's move
    /// says the supplier), ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_reason: Option<String>,
    /// Changes only: what the post-implementation review found, required
    /// to move to `reviewed`; ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    /// Changes only: why it was backed out, required to move to
    /// `backed_out`; ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backout_reason: Option<String>,
    /// Set when a supplier acts: the ticket must be assigned to it when the
    /// command runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Uuid>,
}

/// Whether a count is 0 (then it is left out of what is sent).
pub fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Adds an action to a ticket of any kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddActionV1 {
    pub actor: Actor,
    pub kind: TicketKind,
    pub ticket: String,
    pub action_kind: ActionKind,
    pub text: String,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub email_customer: bool,
    #[serde(default)]
    pub knowledge_base: bool,
    /// The minutes of work it records (staff only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    /// Set when a supplier acts: the ticket must be assigned to it when the
    /// command runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListActionsV1 {
    pub viewer: Actor,
    pub kind: TicketKind,
    pub ticket: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetHistoryV1 {
    pub viewer: Actor,
    pub kind: TicketKind,
    pub ticket: String,
}

/// Links incidents to a problem (an incident has at most one problem; a
/// linked one moves).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkIncidentsV1 {
    pub actor: Actor,
    pub problem: String,
    pub incidents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnlinkIncidentV1 {
    pub actor: Actor,
    pub problem: String,
    pub incident: String,
}

/// Adds the problem's flagged workaround as an action to every linked
/// incident that is still open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyWorkaroundV1 {
    pub actor: Actor,
    pub problem: String,
    /// Also tell each incident's customer: the note is public and emailed
    /// to them. By default it is a private note for the desk.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notify_customer: bool,
}

/// Where a problem's workaround went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WorkaroundAppliedV1 {
    /// The references of the linked incidents that got the workaround:
    /// those not resolved or closed that did not have it already.
    pub incidents: Vec<String>,
    /// Those that had this workaround already (applied before): left as
    /// they are.
    #[serde(default)]
    pub already: Vec<String>,
}

/// Edits a change's plan while it is `requested`, `approved` or
/// `scheduled`: every decision on it is undone, and an approved or
/// scheduled change is `requested` again (its approvers decide anew).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplanChangeV1 {
    pub actor: Actor,
    pub change: String,
    /// Only if the change is at this version still (its `version`, the
    /// edge's `If-Match`): otherwise refused as `precondition_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<i64>,
    pub plan: PlanChangesV1,
}

/// What of a change's plan to change; what is left out stays.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanChangesV1 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_assessment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_assessment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backout_plan: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub planned_start: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub planned_end: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affected_items: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<Vec<Uuid>>,
}

/// An approver's decision on a change they are named on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecideChangeV1 {
    pub actor: Actor,
    pub change: String,
    pub decision: Decision,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Changes whose window overlaps `from`..`to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetChangeCalendarV1 {
    pub viewer: Actor,
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
}

/// Two approved, scheduled or implementing changes whose windows overlap
/// and which touch an item in common.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConflictV1 {
    /// The two changes' references.
    pub changes: [String; 2],
    /// The items both touch.
    pub affected_items: Vec<String>,
}

/// The changes in a range, and their conflicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChangeCalendarV1 {
    /// The changes whose planned window overlaps the range, by planned
    /// start; rejected and cancelled ones left out.
    pub changes: Vec<TicketV1>,
    pub conflicts: Vec<ConflictV1>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkTicketsV1 {
    pub actor: Actor,
    pub kind: TicketKind,
    pub ticket: String,
    pub link_type: LinkType,
    pub other_kind: TicketKind,
    pub other: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnlinkTicketsV1 {
    pub actor: Actor,
    pub kind: TicketKind,
    pub ticket: String,
    pub link_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListLinksV1 {
    pub viewer: Actor,
    pub kind: TicketKind,
    pub ticket: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetFieldDefinitionsV1 {
    pub viewer: Actor,
    pub kind: TicketKind,
}

/// Replaces the extended data fields of `kind`. Values already stored for a
/// removed field stay on their tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetFieldDefinitionsV1 {
    pub actor: Actor,
    pub kind: TicketKind,
    pub fields: Vec<FieldDefV1>,
}

/// Creates a request type, or replaces the one of the same name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DefineRequestTypeV1 {
    pub actor: Actor,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub fields: Vec<FieldDefV1>,
    #[serde(default)]
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRequestTypesV1 {
    pub viewer: Actor,
}

/// Retires a request type: no new request is logged with it. The requests
/// logged with it keep what they were logged with (its name and steps).
/// Answers what it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteRequestTypeV1 {
    pub actor: Actor,
    /// Its id or name.
    pub request_type: String,
}

/// Marks step `step` (0-based) of a service request done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompleteRequestStepV1 {
    pub actor: Actor,
    pub request: String,
    pub step: u32,
}

// ---- events ----

/// Something happened to a ticket of any kind: `change` says what
/// (`logged`, `updated`, `assigned`, `status`, `action`, `linked`,
/// `approval`, `step`), `ticket` is how it is now (its `version` orders
/// events that arrive out of order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketChangedV1 {
    pub ticket: TicketV1,
    pub change: String,
    pub actor: Actor,
    /// The action added (`change` is `action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionV1>,
    /// An incident's resolution offered its customer this satisfaction
    /// survey (`change` is `status`), for the resolution email's link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_token: Option<String>,
}

event!(TicketChangedV1, "ticketing.ticket.changed");
