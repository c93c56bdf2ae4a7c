//! Request bodies that carry a wire type. The API refuses a field it does
//! not know (a typo must not be dropped in silence), but the wire types must
//! not: a newer sender may add an optional field (DESIGN §3). So each body
//! here mirrors its contract type field for field, refuses unknown fields,
//! and converts; a field added to the contract fails to compile here until
//! it is added to the mirror.

use contracts::limits::{
    ANY_LINE_PATTERN, ANY_TEXT_PATTERN, FIELD_KEY_PATTERN, MAX_AFFECTED_ITEMS, MAX_APPROVERS,
    MAX_LABEL, MAX_LEVEL, MAX_PRIORITY, MAX_SUMMARY, MAX_TEXT, ONE_LINE_PATTERN, TEXT_PATTERN,
};
use contracts::schema::{FieldValuesSchema, Timestamp};
use contracts::ticket::{
    ApprovalRule, ChangePlanV1, FieldDefV1, FieldType, FieldValues, PlanChangesV1, Risk,
    TicketChangesV1,
};
use schemars::JsonSchema;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// [`TicketChangesV1`] as `PATCH` bodies take it.
///
/// An edit of a ticket of any kind: a field left out is unchanged, and null
/// clears an optional one. An edit that changes nothing answers the ticket
/// as it is.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TicketChangesV1")]
pub struct TicketChanges {
    /// Not blank; stored trimmed.
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    summary: Option<String>,
    /// The customer it is for: one of the tenant's (their company comes
    /// with them); null: none. Gives a ticket logged by mail from an
    /// unknown sender its customer.
    #[serde(default, deserialize_with = "contracts::common::present")]
    pub customer_id: Option<Option<Uuid>>,
    /// Incidents only: 1 (high) to 3. With `urgency` (given, or as it is),
    /// the priority comes from the tenant's priority matrix again, unless
    /// `priority` is given.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_LEVEL))]
    impact: Option<u8>,
    /// Incidents only: 1 (high) to 3; as `impact`.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_LEVEL))]
    urgency: Option<u8>,
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    description: Option<String>,
    /// 1 (highest) to 5.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_PRIORITY))]
    priority: Option<u8>,
    /// Null clears it.
    #[serde(default, deserialize_with = "contracts::common::present")]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))]
    category: Option<Option<String>>,
    /// Null clears it.
    #[serde(default, deserialize_with = "contracts::common::present")]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))]
    service: Option<Option<String>>,
    /// Extended data to set, by key; null clears a field; fields left out
    /// keep their values.
    #[serde(default)]
    #[schemars(with = "FieldValuesSchema")]
    fields: FieldValues,
    /// Problems only: the fault behind the problem; null or blank clears
    /// it. A problem needs one to become a known error.
    #[serde(default, deserialize_with = "contracts::common::present")]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    root_cause: Option<Option<String>>,
    /// Problems only: how to work around the fault; null or blank clears
    /// it, and unflags it unless `workaround_flagged` is given.
    #[serde(default, deserialize_with = "contracts::common::present")]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    workaround: Option<Option<String>>,
    /// Problems only: the workaround is usable and may be applied to the
    /// linked incidents. Needs a workaround.
    #[serde(default)]
    workaround_flagged: Option<bool>,
}

impl From<TicketChanges> for TicketChangesV1 {
    fn from(c: TicketChanges) -> Self {
        Self {
            summary: c.summary,
            customer_id: c.customer_id,
            // Set by the edge from its directory with the customer.
            company_id: None,
            impact: c.impact,
            urgency: c.urgency,
            description: c.description,
            priority: c.priority,
            category: c.category,
            service: c.service,
            fields: c.fields,
            root_cause: c.root_cause,
            workaround: c.workaround,
            workaround_flagged: c.workaround_flagged,
        }
    }
}

/// [`ChangePlanV1`] as `POST /changes` takes it: a new change's plan.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ChangePlanV1")]
pub struct ChangePlan {
    /// Why: not blank.
    #[schemars(length(max = MAX_TEXT), regex(pattern = TEXT_PATTERN))]
    reason: String,
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    impact_assessment: String,
    risk: Risk,
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    risk_assessment: String,
    /// How to undo it: not blank.
    #[schemars(length(max = MAX_TEXT), regex(pattern = TEXT_PATTERN))]
    backout_plan: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    planned_start: OffsetDateTime,
    /// After `planned_start`.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    planned_end: OffsetDateTime,
    /// The configuration items it touches (free text, each not blank;
    /// compared in any case for conflicts).
    #[serde(default)]
    #[schemars(length(max = MAX_AFFECTED_ITEMS), inner(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN)))]
    affected_items: Vec<String>,
    #[serde(default)]
    approval: ApprovalRule,
    /// The agents who decide on it: the tenant's, each once.
    #[schemars(length(min = 1, max = MAX_APPROVERS), extend("uniqueItems" = true))]
    approvers: Vec<Uuid>,
    /// Incidents (ids or references) the change resolves: each is linked
    /// `resolved_by` it.
    #[serde(default)]
    incidents: Vec<String>,
    /// Problems (ids or references) the change resolves: each is linked
    /// `resolved_by` it.
    #[serde(default)]
    problems: Vec<String>,
}

impl ChangePlan {
    pub fn approvers(&self) -> &[Uuid] {
        &self.approvers
    }
}

/// What of a change's plan to change ([`PlanChangesV1`]): what is left out
/// stays; each part is checked as a new plan's is.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ChangePlanChanges")]
pub struct PlanChanges {
    /// Why: not blank.
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = TEXT_PATTERN))]
    reason: Option<String>,
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    impact_assessment: Option<String>,
    #[serde(default)]
    risk: Option<Risk>,
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    risk_assessment: Option<String>,
    /// How to undo it: not blank.
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = TEXT_PATTERN))]
    backout_plan: Option<String>,
    /// Before `planned_end` (given or as it is).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<Timestamp>")]
    planned_start: Option<OffsetDateTime>,
    /// After `planned_start` (given or as it is).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<Timestamp>")]
    planned_end: Option<OffsetDateTime>,
    /// Every item it touches (replaces the list).
    #[serde(default)]
    #[schemars(length(max = MAX_AFFECTED_ITEMS), inner(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN)))]
    affected_items: Option<Vec<String>>,
    #[serde(default)]
    approval: Option<ApprovalRule>,
    /// Every approver (replaces the list): the tenant's agents, each once.
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_APPROVERS), extend("uniqueItems" = true))]
    approvers: Option<Vec<Uuid>>,
}

impl PlanChanges {
    pub fn approvers(&self) -> &[Uuid] {
        self.approvers.as_deref().unwrap_or_default()
    }
}

impl From<PlanChanges> for PlanChangesV1 {
    fn from(p: PlanChanges) -> Self {
        Self {
            reason: p.reason,
            impact_assessment: p.impact_assessment,
            risk: p.risk,
            risk_assessment: p.risk_assessment,
            backout_plan: p.backout_plan,
            planned_start: p.planned_start,
            planned_end: p.planned_end,
            affected_items: p.affected_items,
            approval: p.approval,
            approvers: p.approvers,
        }
    }
}

impl From<ChangePlan> for ChangePlanV1 {
    fn from(p: ChangePlan) -> Self {
        Self {
            reason: p.reason,
            impact_assessment: p.impact_assessment,
            risk: p.risk,
            risk_assessment: p.risk_assessment,
            backout_plan: p.backout_plan,
            planned_start: p.planned_start,
            planned_end: p.planned_end,
            affected_items: p.affected_items,
            approval: p.approval,
            approvers: p.approvers,
            incidents: p.incidents,
            problems: p.problems,
        }
    }
}

/// [`FieldDefV1`] as field definitions and request types take it: a field
/// to define, with its rules.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewFieldDef", transform = contracts::schema::field_rules)]
pub struct FieldDef {
    /// How `fields` and `field.<key>` filters name it; once per kind.
    #[schemars(regex(pattern = FIELD_KEY_PATTERN))]
    key: String,
    /// For people: not blank.
    #[schemars(length(max = MAX_LABEL), regex(pattern = ONE_LINE_PATTERN))]
    label: String,
    #[serde(rename = "type")]
    field_type: FieldType,
    /// Every ticket must have a value: when logged, and after every edit
    /// (an edit of a ticket logged before the field was required must give
    /// one).
    #[serde(default)]
    required: bool,
    /// `choice` fields only, and required for them: the values allowed.
    #[serde(default)]
    #[schemars(inner(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN)))]
    choices: Vec<String>,
    /// `number` fields only: the least value allowed.
    #[serde(default)]
    min: Option<f64>,
    /// `number` fields only: the greatest value allowed; not below `min`.
    #[serde(default)]
    max: Option<f64>,
    /// `number` fields only: only whole numbers (`3`, `3.0`), not `3.5`.
    #[serde(default)]
    whole: bool,
    /// `text` and `memo` fields only: the most characters (by default 200
    /// for text, 100000 for memo).
    #[serde(default)]
    max_length: Option<u32>,
}

impl From<FieldDef> for FieldDefV1 {
    fn from(d: FieldDef) -> Self {
        Self {
            key: d.key,
            label: d.label,
            field_type: d.field_type,
            required: d.required,
            choices: d.choices,
            min: d.min,
            max: d.max,
            whole: d.whole,
            max_length: d.max_length,
        }
    }
}

/// Converts a list of mirrored definitions.
pub fn field_defs(defs: Vec<FieldDef>) -> Vec<FieldDefV1> {
    defs.into_iter().map(Into::into).collect()
}
