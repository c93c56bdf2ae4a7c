//! The document's service levels tag. Their operations are declared with
//! their routes, in [`crate::slas`], and their schemas come from the wire
//! types in [`contracts::escalation`], which state the limits the
//! escalation service checks.

use contracts::escalation::MAX_TIMEPOINTS;
use serde_json::Value;

use super::tag;

pub(crate) const SLAS: &str = "SLAs and calendars";

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        SLAS,
        &format!(
            "Service levels, kept by the escalation service: business-hours calendars, SLAs, and the \
             rules that choose a ticket's SLA. Admin tokens define them; admin, agent and integration \
             tokens read them; a customer token may do neither (403).\n\n\
             A **calendar** is working time in an IANA time zone (`Europe/London`): intervals for each \
             weekday in local wall-clock time, `HH:MM` to `HH:MM` with an end up to `24:00` (a 24×7 \
             calendar is 00:00–24:00 every day), and holidays, local dates `YYYY-MM-DD` on which no \
             time counts. On a day the clocks change, an interval is as long as the wall clock says.\n\n\
             An **SLA** names a calendar and has a grid: for each priority it covers, a response target \
             and a resolve target, in business minutes counted in that calendar. Each target may have \
             up to {MAX_TIMEPOINTS} escalation timepoints, placed before the target, at it (the breach) \
             or after it, by minutes or by a percentage of the target (+25 %, +50 %), each with the \
             actions it takes when reached: alert the assignee, the team leader or named agents, record \
             an action on the ticket, email the customer, reassign the ticket, raise its priority, or \
             warn of a response breach.\n\n\
             The **SLA rules** are one ordered list per tenant: the first rule whose conditions \
             (priority, company, service, kind; each left out matches anything) all hold for a ticket \
             chooses its SLA.\n\n\
             The escalation service follows each ticket: the SLA the rules give it, and a **response** \
             and a **resolve** target, each a clock of business seconds that runs, pauses (while the \
             ticket is pending) and resumes, is recomputed when the priority, SLA or calendar changes, \
             and stops when the target is met; its timepoints fire as the clock reaches them. \
             `GET /api/v1/{{kind}}/{{id}}/sla` shows where a ticket's targets stand and the timeline that \
             explains them; `GET /api/v1/reports/sla` and `GET /api/v1/reports/sla/breaches` report the \
             targets met and breached over a period. Admin, agent and integration tokens.\n\n\
             As everywhere in the API, an unknown field is refused and named, with one exception: \
             inside a timepoint's `placement` and each of its `actions`, whose fields depend on `at` \
             and `do`, an unknown field is ignored."
        ),
    )]
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::{Map, Value};

    fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(r) => {
                let name = r.trim_start_matches("#/components/schemas/");
                let found = &doc["components"]["schemas"][name];
                assert!(found.is_object(), "$ref {r} names no schema");
                found
            }
            None => schema,
        }
    }

    /// The properties and required fields of `schema`, its `allOf` merged.
    fn parts<'a>(doc: &'a Value, schema: &'a Value) -> (Map<String, Value>, Vec<&'a str>) {
        let schema = resolve(doc, schema);
        let mut properties = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for part in schema["allOf"].as_array().into_iter().flatten() {
            let (p, r) = parts(doc, part);
            properties.extend(p);
            required.extend(r);
        }
        (properties, required)
    }

    fn type_of(value: &Value) -> &'static str {
        match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_f64() => "number",
            Value::Number(_) => "integer",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Whether `value` has the type, const and enum `schema` says (its
    /// shape aside).
    fn fits_here(schema: &Value, value: &Value) -> bool {
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        (types.is_empty() || types.contains(&type_of(value)))
            && (schema["const"].is_null() || schema["const"] == *value)
            && schema["enum"]
                .as_array()
                .is_none_or(|values| values.contains(value))
    }

    /// Every field of `value` is documented by `schema`, of its type, and
    /// every field the schema requires is there. The other groups' tests
    /// check their wire types with it too.
    pub(in crate::openapi) fn check(doc: &Value, schema: &Value, value: &Value, at: &str) {
        let schema = resolve(doc, schema);
        // `or_null`: a schema, or null.
        if let Some(options) = schema["anyOf"]
            .as_array()
            .filter(|_| schema["type"].is_null() && schema["properties"].is_null())
        {
            let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                options.iter().partition(|o| o["type"] == "null");
            if value.is_null() {
                assert!(!nulls.is_empty(), "{at}: null does not fit");
            } else {
                assert_eq!(others.len(), 1, "{at}: not one schema or null");
                check(doc, others[0], value, at);
            }
            return;
        }
        if let Some(variants) = schema["oneOf"].as_array() {
            let matching: Vec<&Value> = variants
                .iter()
                .filter(|v| {
                    parts(doc, v).0.iter().all(|(name, property)| {
                        property["const"].is_null() || value[name] == property["const"]
                    })
                })
                .collect();
            assert_eq!(matching.len(), 1, "{at}: {value} is not one variant");
            check(doc, matching[0], value, at);
            return;
        }
        assert!(fits_here(schema, value), "{at}: {value} does not fit");
        match value {
            Value::Object(fields) => {
                let (properties, required) = parts(doc, schema);
                for (name, inner) in fields {
                    let Some(property) = properties.get(name) else {
                        panic!("{at}.{name} is not documented")
                    };
                    check(doc, property, inner, &format!("{at}.{name}"));
                }
                for name in required {
                    assert!(fields.contains_key(name), "{at}: {name} is missing");
                }
            }
            Value::Array(items) => {
                for (n, item) in items.iter().enumerate() {
                    check(doc, &schema["items"], item, &format!("{at}[{n}]"));
                }
            }
            _ => {}
        }
    }

    pub(in crate::openapi) fn schema(name: &str) -> Value {
        serde_json::json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    pub(in crate::openapi) fn json<T: serde::Serialize>(value: &T) -> Value {
        serde_json::to_value(value).unwrap_or_default()
    }
}
