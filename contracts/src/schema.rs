//! JSON Schema of what `serde` alone cannot describe, for the documents
//! generated from the types (the OpenAPI and AsyncAPI documents). Only
//! with the `schema` feature.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::ticket::TicketKind;

/// An RFC 3339 timestamp (`time::OffsetDateTime` through
/// `time::serde::rfc3339`).
pub struct Timestamp;

impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "date-time", "description": "RFC 3339." })
    }
}

/// Extended data by field key ([`crate::ticket::FieldValues`]).
pub struct FieldValuesSchema;

impl JsonSchema for FieldValuesSchema {
    fn schema_name() -> Cow<'static, str> {
        "FieldValues".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "propertyNames": { "pattern": crate::limits::FIELD_KEY_PATTERN },
            "additionalProperties": { "type": ["string", "number", "null"] },
            "description": "Extended data by field key (the keys of the tenant's fields). Text, memo, date (`YYYY-MM-DD`) and \
                choice values are strings, number values numbers. In a body each value must fit \
                its field (`details.fields` names `fields.<key>`) and null clears it; an answer \
                leaves out the fields with no value.",
        })
    }
}

/// A ticket's `status` is one of its kind's ([`TicketKind::statuses`]):
/// for each kind, when `kind` is that kind.
pub fn status_of_its_kind(schema: &mut Schema) {
    let by_kind: Vec<serde_json::Value> = TicketKind::ALL
        .into_iter()
        .map(|kind| {
            serde_json::json!({
                "if": { "properties": { "kind": { "const": kind.as_str() } }, "required": ["kind"] },
                "then": { "properties": { "status": { "enum": kind.statuses() } } },
            })
        })
        .collect();
    schema.insert("allOf".into(), by_kind.into());
}

/// A ticket's `status` is one of its kind's, and it has its kind's section
/// (`problem`, `change` or `request`).
pub fn ticket_of_its_kind(schema: &mut Schema) {
    let by_kind: Vec<serde_json::Value> = TicketKind::ALL
        .into_iter()
        .filter(|kind| *kind != TicketKind::Incident)
        .map(|kind| {
            serde_json::json!({
                "if": { "properties": { "kind": { "const": kind.as_str() } }, "required": ["kind"] },
                "then": {
                    "properties": { "status": { "enum": kind.statuses() } },
                    "required": [kind.as_str()],
                },
            })
        })
        .collect();
    schema.insert("allOf".into(), by_kind.into());
}

/// A field definition's rules between its fields: a `choice` field needs
/// choices and only it has them; only a `number` field has a range, only
/// `text` and `memo` a length. (`min` not above `max`, and each key once,
/// are not said here.)
pub fn field_rules(schema: &mut Schema) {
    let is = |types: &[&str]| serde_json::json!({ "properties": { "type": { "enum": types } }, "required": ["type"] });
    let none = |fields: &[&str]| {
        let properties: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|f| ((*f).to_owned(), serde_json::json!({ "type": "null" })))
            .collect();
        serde_json::json!({ "properties": properties })
    };
    schema.insert(
        "allOf".into(),
        serde_json::json!([
            {
                "if": is(&["choice"]),
                "then": { "required": ["choices"], "properties": { "choices": { "minItems": 1 } } },
                "else": { "properties": { "choices": { "maxItems": 0 } } },
            },
            { "if": is(&["number"]), "else": {
                "allOf": [none(&["min", "max"]), { "properties": { "whole": { "const": false } } }],
            } },
            { "if": is(&["text", "memo"]), "else": none(&["max_length"]) },
        ]),
    );
}

/// A timepoint's `reassign` action names a team, an agent or both: each may
/// be absent or null, not both.
pub fn reassign_needs_someone(schema: &mut Schema) {
    let given = |field: &str| serde_json::json!({ "required": [field], "properties": { field: { "type": "string" } } });
    let variants = schema
        .get_mut("oneOf")
        .and_then(serde_json::Value::as_array_mut);
    for variant in variants.into_iter().flatten() {
        if variant["properties"]["do"]["const"] == "reassign" {
            variant["anyOf"] = serde_json::json!([given("team_id"), given("agent_id")]);
        }
    }
}
