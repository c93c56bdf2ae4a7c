//! Extended data: the fields a tenant defines for each kind of ticket (and
//! each type of service request), how values are checked against them, and
//! the request types themselves.

use std::collections::HashSet;

use contracts::ticket::{FieldDefV1, FieldType, FieldValues, RequestTypeV1, TicketKind};
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::tickets::json_col;
use crate::validate::{MAX_SUMMARY, check_text};
use contracts::limits::{MAX_FIELDS, MAX_LABEL};

/// Most fields one kind (or request type) may define.
const MAX_TEXT: u32 = 200;
const MAX_MEMO: u32 = 100_000;

/// The fields of `kind` in `tenant`, in their order.
pub async fn definitions(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: TicketKind,
) -> Result<Vec<FieldDefV1>> {
    let row =
        sqlx::query("SELECT definitions FROM field_definitions WHERE tenant_id = $1 AND kind = $2")
            .bind(tenant.to_string())
            .bind(kind.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match row {
        Some(r) => json_col(&r, "definitions")?,
        None => Vec::new(),
    })
}

pub async fn set_definitions(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: TicketKind,
    defs: &[FieldDefV1],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO field_definitions (tenant_id, kind, definitions) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, kind) DO UPDATE SET definitions = excluded.definitions",
    )
    .bind(tenant.to_string())
    .bind(kind.as_str())
    .bind(serde_json::to_string(defs).unwrap_or_else(|_| "[]".into()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Checks a set of definitions given at `path` (`fields` or `fields[2]`…).
pub fn check_definitions(path: &str, defs: &[FieldDefV1]) -> Result<()> {
    if defs.len() > MAX_FIELDS {
        return Err(Error::field(path, format!("at most {MAX_FIELDS} fields")));
    }
    let mut keys = HashSet::new();
    for (n, d) in defs.iter().enumerate() {
        let at = |what: &str| format!("{path}[{n}].{what}");
        let key_ok = d.key.len() <= 40
            && d.key.starts_with(|c: char| c.is_ascii_lowercase())
            && d.key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(Error::field(
                &at("key"),
                "1 to 40 of a-z, 0-9 and _, starting with a letter",
            ));
        }
        if !keys.insert(d.key.as_str()) {
            return Err(Error::field(&at("key"), "given twice"));
        }
        check_text(&at("label"), &d.label, MAX_LABEL, true)?;
        match d.field_type {
            FieldType::Choice if d.choices.is_empty() => {
                return Err(Error::field(&at("choices"), "a choice field needs choices"));
            }
            FieldType::Choice => {
                for (c, choice) in d.choices.iter().enumerate() {
                    check_text(
                        &format!("{}[{c}]", at("choices")),
                        choice,
                        MAX_SUMMARY,
                        true,
                    )?;
                }
            }
            _ if !d.choices.is_empty() => {
                return Err(Error::field(
                    &at("choices"),
                    "only a choice field has choices",
                ));
            }
            _ => {}
        }
        if let (Some(min), Some(max)) = (d.min, d.max)
            && min > max
        {
            return Err(Error::field(&at("min"), "must not be above max"));
        }
        if (d.min.is_some() || d.max.is_some()) && d.field_type != FieldType::Number {
            return Err(Error::field(&at("min"), "only a number field has a range"));
        }
        if d.whole && d.field_type != FieldType::Number {
            return Err(Error::field(&at("whole"), "only a number field is whole"));
        }
        if d.max_length.is_some() && !matches!(d.field_type, FieldType::Text | FieldType::Memo) {
            return Err(Error::field(
                &at("max_length"),
                "only text and memo fields have a length",
            ));
        }
    }
    Ok(())
}

/// `given` checked against `defs` and merged over `current` (the ticket's
/// values so far; empty for a new ticket). A `null` clears a field. Every
/// required field must have a value afterwards. Errors name the field as
/// `fields.<key>`.
pub fn apply_values(
    defs: &[FieldDefV1],
    current: &FieldValues,
    given: &FieldValues,
) -> Result<FieldValues> {
    let mut out = current.clone();
    for (key, value) in given {
        let path = format!("fields.{key}");
        let Some(def) = defs.iter().find(|d| &d.key == key) else {
            return Err(Error::field(&path, "no such field"));
        };
        if value.is_null() {
            out.remove(key);
            continue;
        }
        out.insert(key.clone(), check_value(&path, def, value)?);
    }
    for d in defs.iter().filter(|d| d.required) {
        if !out.contains_key(&d.key) {
            return Err(Error::field(&format!("fields.{}", d.key), "is required"));
        }
    }
    Ok(out)
}

fn check_value(path: &str, def: &FieldDefV1, value: &Value) -> Result<Value> {
    match def.field_type {
        FieldType::Text | FieldType::Memo => {
            let Value::String(s) = value else {
                return Err(Error::field(path, "must be text"));
            };
            let max = def
                .max_length
                .unwrap_or(if def.field_type == FieldType::Text {
                    MAX_TEXT
                } else {
                    MAX_MEMO
                });
            // Memo keeps line breaks; text is one line.
            let room = if def.field_type == FieldType::Memo {
                (max as usize).max(crate::validate::MAX_SUMMARY + 1)
            } else {
                max as usize
            };
            check_text(path, s, room, def.required)?;
            if s.chars().count() > max as usize {
                return Err(Error::field(path, format!("at most {max} characters")));
            }
            Ok(value.clone())
        }
        FieldType::Number => {
            let Some(n) = value.as_f64().filter(|n| n.is_finite()) else {
                return Err(Error::field(path, "must be a number"));
            };
            if def.whole && n.fract() != 0.0 {
                return Err(Error::field(path, "must be a whole number"));
            }
            if def.min.is_some_and(|min| n < min) || def.max.is_some_and(|max| n > max) {
                let range = format!(
                    "{} to {}",
                    def.min.map_or("any".into(), |m| m.to_string()),
                    def.max.map_or("any".into(), |m| m.to_string())
                );
                return Err(Error::field(path, format!("must be in {range}")));
            }
            Ok(number(n))
        }
        FieldType::Date => match value.as_str().and_then(parse_date) {
            Some(_) => Ok(value.clone()),
            None => Err(Error::field(path, "must be a date, YYYY-MM-DD")),
        },
        FieldType::Choice => match value.as_str() {
            Some(s) if def.choices.iter().any(|c| c == s) => Ok(value.clone()),
            _ => Err(Error::field(
                path,
                format!("must be one of {}", def.choices.join(", ")),
            )),
        },
    }
}

/// A number as the desk keeps it: a whole one as an integer (`200.0` is
/// `200`), so that stored values and filters compare as numbers do.
pub fn number(n: f64) -> Value {
    // Within ±2^53 every integer is exact in an f64.
    if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

/// The fields a `field.<key>` filter on tickets of `kind` may name: the
/// kind's, and for service requests every request type's too.
pub async fn filterable(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: TicketKind,
) -> Result<Vec<FieldDefV1>> {
    let mut defs = definitions(conn, tenant, kind).await?;
    if kind == TicketKind::Request {
        for t in request_types(conn, tenant).await? {
            defs.extend(t.fields);
        }
    }
    Ok(defs)
}

/// A `field.<key>` filter's value as the stored values are written: a
/// number field's as [`number`] writes it, so `200.0` finds `200`. A key
/// no field has, or a number field's value that is not a number, is
/// refused, naming the filter.
pub fn filter_value(defs: &[FieldDefV1], key: &str, value: &str) -> Result<String> {
    let name = format!("field.{key}");
    let Some(def) = defs.iter().find(|d| d.key == key) else {
        return Err(Error::field(&name, "no such field"));
    };
    if def.field_type != FieldType::Number {
        return Ok(value.to_owned());
    }
    match value.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(number(n).to_string()),
        _ => Err(Error::field(&name, "must be a number")),
    }
}

fn parse_date(s: &str) -> Option<time::Date> {
    let mut parts = s.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

// ---- request types ----

pub async fn request_types(conn: &mut AnyConnection, tenant: Uuid) -> Result<Vec<RequestTypeV1>> {
    let rows = sqlx::query(
        "SELECT id, name, description, fields, steps FROM request_types WHERE tenant_id = $1 \
         ORDER BY name_folded",
    )
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(request_type_from_row)
        .collect::<sqlx::Result<_>>()
        .map_err(Error::from)
}

fn request_type_from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<RequestTypeV1> {
    Ok(RequestTypeV1 {
        id: runtime::store::id_at(r, "id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        fields: json_col(r, "fields")?,
        steps: json_col(r, "steps")?,
    })
}

/// The request type by id or (case-insensitive) name.
pub async fn request_type(
    conn: &mut AnyConnection,
    tenant: Uuid,
    key: &str,
) -> Result<Option<RequestTypeV1>> {
    let (by, key) = match Uuid::parse_str(key) {
        Ok(id) => ("id", id.to_string()),
        Err(_) => ("name_folded", key.trim().to_lowercase()),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, name, description, fields, steps FROM request_types \
         WHERE tenant_id = $1 AND {by} = $2"
    )))
    .bind(tenant.to_string())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(request_type_from_row).transpose()?)
}

/// Stores `t`, replacing the type of the same name (keeping its id).
pub async fn define_request_type(
    conn: &mut AnyConnection,
    tenant: Uuid,
    t: &RequestTypeV1,
) -> Result<RequestTypeV1> {
    let existing = request_type(conn, tenant, &t.name).await?;
    let id = existing.as_ref().map_or(t.id, |e| e.id);
    let fields = serde_json::to_string(&t.fields).unwrap_or_else(|_| "[]".into());
    let steps = serde_json::to_string(&t.steps).unwrap_or_else(|_| "[]".into());
    if existing.is_some() {
        sqlx::query(
            "UPDATE request_types SET name = $1, description = $2, fields = $3, steps = $4 \
             WHERE tenant_id = $5 AND id = $6",
        )
        .bind(&t.name)
        .bind(&t.description)
        .bind(fields)
        .bind(steps)
        .bind(tenant.to_string())
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO request_types (id, tenant_id, name, name_folded, description, fields, steps) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(&t.name)
        .bind(t.name.to_lowercase())
        .bind(&t.description)
        .bind(fields)
        .bind(steps)
        .execute(&mut *conn)
        .await?;
    }
    Ok(RequestTypeV1 { id, ..t.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(key: &str, field_type: FieldType) -> FieldDefV1 {
        FieldDefV1 {
            key: key.into(),
            label: key.into(),
            field_type,
            required: false,
            choices: Vec::new(),
            min: None,
            max: None,
            whole: false,
            max_length: None,
        }
    }

    fn values(v: Value) -> FieldValues {
        serde_json::from_value(v).expect("an object")
    }

    fn refused(defs: &[FieldDefV1], given: Value) -> String {
        match apply_values(defs, &FieldValues::new(), &values(given)) {
            Err(Error::Refused(body)) => body.message,
            other => panic!("accepted: {other:?}"),
        }
    }

    #[test]
    fn values_are_checked_against_their_definitions() {
        let mut cost = def("cost", FieldType::Number);
        cost.min = Some(0.0);
        cost.max = Some(1000.0);
        let mut site = def("site", FieldType::Choice);
        site.choices = vec!["Leeds".into(), "York".into()];
        site.required = true;
        let defs = vec![
            cost,
            site,
            def("due", FieldType::Date),
            def("plan", FieldType::Memo),
        ];
        let ok = apply_values(
            &defs,
            &FieldValues::new(),
            &values(json!({"cost": 12.5, "site": "York", "due": "2026-02-28", "plan": "a\nb"})),
        )
        .expect("valid");
        assert_eq!(ok["site"], "York");
        assert!(
            refused(&defs, json!({"cost": 1})).starts_with("fields.site"),
            "required"
        );
        assert!(refused(&defs, json!({"site": "Hull"})).starts_with("fields.site"));
        assert!(refused(&defs, json!({"site": "York", "cost": 1001})).starts_with("fields.cost"));
        assert!(refused(&defs, json!({"site": "York", "cost": "1"})).starts_with("fields.cost"));
        assert!(
            refused(&defs, json!({"site": "York", "due": "2026-02-30"})).starts_with("fields.due")
        );
        assert!(refused(&defs, json!({"site": "York", "nope": 1})).starts_with("fields.nope"));
        // Clearing a required field is refused; clearing another is not.
        let cleared = apply_values(&defs, &ok, &values(json!({"cost": null}))).expect("clears");
        assert!(!cleared.contains_key("cost"));
        assert!(apply_values(&defs, &ok, &values(json!({"site": null}))).is_err());
    }

    #[test]
    fn definitions_are_checked() {
        let bad_key = def("Bad Key", FieldType::Text);
        assert!(check_definitions("fields", &[bad_key]).is_err());
        let no_choices = def("site", FieldType::Choice);
        assert!(check_definitions("fields", &[no_choices]).is_err());
        let twice = [def("a", FieldType::Text), def("a", FieldType::Memo)];
        assert!(check_definitions("fields", &twice).is_err());
        assert!(check_definitions("fields", &[def("a", FieldType::Date)]).is_ok());
    }
}
