//! Request bodies that carry a wire type. The API refuses a field it does
//! not know (a typo must not be dropped in silence), but the wire types must
//! not: a newer sender may add an optional field (DESIGN §3). So each body
//! here mirrors its contract type field for field, refuses unknown fields,
//! and converts; a field added to the contract fails to compile here until
//! it is added to the mirror.

use contracts::ticket::{
    ApprovalRule, ChangePlanV1, FieldDefV1, FieldType, FieldValues, Risk, TicketChangesV1,
};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// [`TicketChangesV1`] as `PATCH` bodies take it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketChanges {
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    priority: Option<u8>,
    #[serde(default, deserialize_with = "contracts::common::present")]
    category: Option<Option<String>>,
    #[serde(default, deserialize_with = "contracts::common::present")]
    service: Option<Option<String>>,
    #[serde(default)]
    fields: FieldValues,
    #[serde(default, deserialize_with = "contracts::common::present")]
    root_cause: Option<Option<String>>,
    #[serde(default, deserialize_with = "contracts::common::present")]
    workaround: Option<Option<String>>,
    #[serde(default)]
    workaround_flagged: Option<bool>,
}

impl From<TicketChanges> for TicketChangesV1 {
    fn from(c: TicketChanges) -> Self {
        Self {
            summary: c.summary,
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

/// [`ChangePlanV1`] as `POST /changes` takes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePlan {
    reason: String,
    #[serde(default)]
    impact_assessment: String,
    risk: Risk,
    #[serde(default)]
    risk_assessment: String,
    backout_plan: String,
    #[serde(with = "time::serde::rfc3339")]
    planned_start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    planned_end: OffsetDateTime,
    #[serde(default)]
    affected_items: Vec<String>,
    #[serde(default)]
    approval: ApprovalRule,
    approvers: Vec<Uuid>,
    #[serde(default)]
    incidents: Vec<String>,
    #[serde(default)]
    problems: Vec<String>,
}

impl ChangePlan {
    pub fn approvers(&self) -> &[Uuid] {
        &self.approvers
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

/// [`FieldDefV1`] as field definitions and request types take it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    key: String,
    label: String,
    #[serde(rename = "type")]
    field_type: FieldType,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    choices: Vec<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
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
            max_length: d.max_length,
        }
    }
}

/// Converts a list of mirrored definitions.
pub fn field_defs(defs: Vec<FieldDef>) -> Vec<FieldDefV1> {
    defs.into_iter().map(Into::into).collect()
}
