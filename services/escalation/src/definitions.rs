//! The definitions a tenant keeps here: calendars, SLAs, and the rules that
//! choose a ticket's SLA. Each is checked before it is stored (a calendar
//! must compute, an SLA's calendar must exist, a rule's SLA too), and every
//! query filters on the tenant.

use contracts::escalation::*;
use contracts::limits::MAX_PRIORITY;
use contracts::ticket::TicketKind;
use contracts::{Actor, Role};
use runtime::store::{StoreError, micros, now};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::calendar::{Calendar, Invalid};
use crate::sla;
use crate::track::Defs;

pub use runtime::commands::{Error, Result};

impl From<Invalid> for Error {
    fn from(i: Invalid) -> Self {
        Error::field(&i.field, i.message)
    }
}

fn invalid(field: &str, message: &str) -> Error {
    Error::field(field, message)
}

/// Definitions are the admins'; the desk's staff may read them.
fn admin(actor: &Actor, what: &'static str) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(Error::not_found(what))
    }
}

/// The desk's staff may read; a customer is told there is nothing.
pub(crate) fn staff(viewer: &Actor, what: &'static str) -> Result<()> {
    if viewer.role == Role::Customer {
        Err(Error::not_found(what))
    } else {
        Ok(())
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(runtime::store::json_text(value)?)
}

fn decode<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::from(sqlx::Error::Decode(Box::new(e))))
}

/// What a definition to store is: its table (calendars or slas), the row
/// it replaces (and the version it was read at), its name and JSON.
struct Stored<'a> {
    table: &'a str,
    what: &'static str,
    id: Option<Uuid>,
    if_version: Option<i64>,
    name: &'a str,
    definition: String,
}

/// Stores a row of `s.table` for `s.id`, or a new one; returns its id and
/// version.
async fn upsert(tx: &mut AnyConnection, tenant: Uuid, s: Stored<'_>) -> Result<(Uuid, i64)> {
    let Stored {
        table,
        what,
        id,
        if_version,
        name,
        definition,
    } = s;
    // The row replaced is looked up first: to another tenant it does not
    // exist, whatever its name would clash with.
    let current = match id {
        Some(id) => {
            let version = version_of(tx, table, tenant, id)
                .await?
                .ok_or_else(|| Error::not_found(what))?;
            if let Some(asked) = if_version
                && asked != version
            {
                return Err(Error::stale(&format!("the {what}"), asked, version));
            }
            Some(version)
        }
        None => None,
    };
    let folded = name.trim().to_lowercase();
    let clash: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE tenant_id = $1 AND name_folded = $2"
    )))
    .bind(tenant.to_string())
    .bind(&folded)
    .fetch_optional(&mut *tx)
    .await?;
    if clash.is_some_and(|c| Some(c) != id.map(|i| i.to_string())) {
        return Err(Error::conflict(format!(
            "a {what} called {} exists",
            name.trim()
        )));
    }
    match (id, current) {
        (Some(id), Some(version)) => {
            let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET name_folded = $1, definition = $2, updated_at = $3, \
                 version = version + 1 WHERE tenant_id = $4 AND id = $5 AND version = $6"
            )))
            .bind(&folded)
            .bind(definition)
            .bind(micros(now()))
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(version)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                // Replaced by another writer since it was read: again.
                return Err(Error::retry(format!("concurrent replacement of a {what}")));
            }
            Ok((id, version + 1))
        }
        _ => {
            let id = Uuid::now_v7();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} (id, tenant_id, name_folded, definition, updated_at) \
                 VALUES ($1, $2, $3, $4, $5)"
            )))
            .bind(id.to_string())
            .bind(tenant.to_string())
            .bind(&folded)
            .bind(definition)
            .bind(micros(now()))
            .execute(&mut *tx)
            .await?;
            Ok((id, 1))
        }
    }
}

/// The version row `id` of `table` is at, if the tenant has it.
pub(crate) async fn version_of(
    conn: &mut AnyConnection,
    table: &str,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM {table} WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?)
}

/// The version of each row of `table` the tenant has.
async fn versions(
    conn: &mut AnyConnection,
    table: &str,
    tenant: Uuid,
) -> Result<std::collections::HashMap<Uuid, i64>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, version FROM {table} WHERE tenant_id = $1"
    )))
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((runtime::store::id_at(r, "id")?, r.try_get("version")?)))
        .collect::<sqlx::Result<_>>()
        .map_err(Error::from)
}

async fn rows<T: serde::de::DeserializeOwned>(
    conn: &mut AnyConnection,
    table: &str,
    tenant: Uuid,
) -> Result<Vec<(Uuid, T)>> {
    rows_locked(conn, table, tenant, "").await
}

/// [`rows`], with `lock` (`FOR SHARE`, or nothing) after the query.
async fn rows_locked<T: serde::de::DeserializeOwned>(
    conn: &mut AnyConnection,
    table: &str,
    tenant: Uuid,
    lock: &str,
) -> Result<Vec<(Uuid, T)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, definition FROM {table} WHERE tenant_id = $1 ORDER BY name_folded{lock}"
    )))
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let def: String = r.try_get("definition")?;
            let id = Uuid::parse_str(&id).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok((id, decode(&def)?))
        })
        .collect()
}

pub async fn define_calendar(
    tx: &mut AnyConnection,
    tenant: Uuid,
    cmd: DefineCalendarV1,
) -> Result<CalendarV1> {
    admin(&cmd.actor, "calendar")?;
    Calendar::from_definition(&cmd.definition)?;
    let stored = Stored {
        table: "calendars",
        what: "calendar",
        id: cmd.calendar,
        if_version: cmd.if_version,
        name: &cmd.definition.name,
        definition: json(&cmd.definition)?,
    };
    let (id, version) = upsert(tx, tenant, stored).await?;
    Ok(CalendarV1 {
        id,
        version,
        definition: cmd.definition,
    })
}

pub async fn calendars(
    conn: &mut AnyConnection,
    tenant: Uuid,
    viewer: &Actor,
) -> Result<Vec<CalendarV1>> {
    staff(viewer, "calendar")?;
    let versions = versions(conn, "calendars", tenant).await?;
    Ok(rows(conn, "calendars", tenant)
        .await?
        .into_iter()
        .map(|(id, definition)| CalendarV1 {
            id,
            version: versions.get(&id).copied().unwrap_or(1),
            definition,
        })
        .collect())
}

/// Whether the tenant has row `id` of `table`, locked (on PostgreSQL) for
/// sharing until the caller's transaction ends: a definition that names
/// it (an SLA its calendar, a rule its SLA) and a delete of it then go one
/// after the other, so none is left naming a definition deleted meanwhile.
async fn exists(conn: &mut AnyConnection, table: &str, tenant: Uuid, id: Uuid) -> Result<bool> {
    lock_row(conn, table, tenant, id, "FOR SHARE").await
}

/// Reads row `id` of `table` with `lock` on PostgreSQL (SQLite's one
/// writer needs none); whether it is there.
async fn lock_row(
    conn: &mut AnyConnection,
    table: &str,
    tenant: Uuid,
    id: Uuid,
    lock: &str,
) -> Result<bool> {
    let lock = if conn.backend_name() == "PostgreSQL" {
        format!(" {lock}")
    } else {
        String::new()
    };
    let found: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE tenant_id = $1 AND id = $2{lock}"
    )))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

pub async fn define_sla(tx: &mut AnyConnection, tenant: Uuid, cmd: DefineSlaV1) -> Result<SlaV1> {
    admin(&cmd.actor, "SLA")?;
    sla::check(&cmd.definition)?;
    // The SLA replaced is looked up before the calendar its definition
    // names: to another tenant it does not exist, whatever the calendar.
    if let Some(sla) = cmd.sla
        && !exists(tx, "slas", tenant, sla).await?
    {
        return Err(Error::not_found("SLA"));
    }
    if !exists(tx, "calendars", tenant, cmd.definition.calendar_id).await? {
        return Err(invalid("calendar_id", "no calendar with this id"));
    }
    let stored = Stored {
        table: "slas",
        what: "SLA",
        id: cmd.sla,
        if_version: cmd.if_version,
        name: &cmd.definition.name,
        definition: json(&cmd.definition)?,
    };
    let (id, version) = upsert(tx, tenant, stored).await?;
    Ok(SlaV1 {
        id,
        version,
        definition: cmd.definition,
    })
}

pub async fn slas(conn: &mut AnyConnection, tenant: Uuid, viewer: &Actor) -> Result<Vec<SlaV1>> {
    staff(viewer, "SLA")?;
    let versions = versions(conn, "slas", tenant).await?;
    Ok(rows(conn, "slas", tenant)
        .await?
        .into_iter()
        .map(|(id, definition)| SlaV1 {
            id,
            version: versions.get(&id).copied().unwrap_or(1),
            definition,
        })
        .collect())
}

pub async fn set_rules(
    tx: &mut AnyConnection,
    tenant: Uuid,
    cmd: SetSlaRulesV1,
) -> Result<SlaRulesV1> {
    admin(&cmd.actor, "SLA rules")?;
    if cmd.rules.len() > MAX_RULES {
        return Err(invalid("rules", &format!("at most {MAX_RULES} rules")));
    }
    for (n, r) in cmd.rules.iter().enumerate() {
        let at = |what: &str| format!("rules[{n}].{what}");
        if r.when
            .priority
            .is_some_and(|p| !(1..=MAX_PRIORITY).contains(&p))
        {
            return Err(invalid(
                &at("when.priority"),
                &format!("must be 1 to {MAX_PRIORITY}"),
            ));
        }
        if let Some(k) = &r.when.kind
            && TicketKind::parse(k).is_none()
        {
            return Err(invalid(
                &at("when.kind"),
                "incident, problem, change or request",
            ));
        }
        if r.when
            .service
            .as_ref()
            .is_some_and(|s| s.trim().is_empty() || s.chars().count() > MAX_SERVICE)
        {
            return Err(invalid(
                &at("when.service"),
                &format!("1 to {MAX_SERVICE} characters"),
            ));
        }
        if !exists(tx, "slas", tenant, r.sla).await? {
            return Err(invalid(&at("sla"), "no SLA with this id"));
        }
    }
    sqlx::query(
        "INSERT INTO sla_rules (tenant_id, rules, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at",
    )
    .bind(tenant.to_string())
    .bind(json(&cmd.rules)?)
    .bind(micros(now()))
    .execute(&mut *tx)
    .await?;
    Ok(SlaRulesV1 { rules: cmd.rules })
}

/// How many tickets' clocks have run under `column` = `id` (an SLA or a
/// calendar), open or done: each is in the SLA reports, which name them.
async fn tickets_under(
    conn: &mut AnyConnection,
    column: &str,
    tenant: Uuid,
    id: Uuid,
) -> Result<i64> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM sla_tickets WHERE tenant_id = $1 AND {column} = $2"
    )))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_one(&mut *conn)
    .await?)
}

/// Deletes `id` from `table` (calendars or slas).
async fn delete_row(tx: &mut AnyConnection, table: &str, tenant: Uuid, id: Uuid) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM {table} WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Deletes a calendar no SLA uses and no ticket's clock ran in.
pub async fn delete_calendar(
    tx: &mut AnyConnection,
    tenant: Uuid,
    cmd: DeleteCalendarV1,
) -> Result<CalendarV1> {
    admin(&cmd.actor, "calendar")?;
    // Locked first: an SLA defined meanwhile with this calendar waits, and
    // is then told it is gone, or is seen here.
    lock_row(tx, "calendars", tenant, cmd.calendar, "FOR UPDATE").await?;
    let (id, definition) = rows::<CalendarDefinitionV1>(tx, "calendars", tenant)
        .await?
        .into_iter()
        .find(|(id, _)| *id == cmd.calendar)
        .ok_or_else(|| Error::not_found("calendar"))?;
    let users: Vec<String> = rows::<SlaDefinitionV1>(tx, "slas", tenant)
        .await?
        .into_iter()
        .filter(|(_, sla)| sla.calendar_id == id)
        .map(|(_, sla)| sla.name)
        .collect();
    if !users.is_empty() {
        return Err(Error::conflict(format!(
            "the calendar is in use: the SLAs {} count in it",
            users.join(", ")
        )));
    }
    let tickets = tickets_under(tx, "calendar_id", tenant, id).await?;
    if tickets > 0 {
        return Err(Error::conflict(format!(
            "the calendar is in use: {tickets} tickets' clocks ran in it"
        )));
    }
    let version = version_of(tx, "calendars", tenant, id).await?.unwrap_or(1);
    delete_row(tx, "calendars", tenant, id).await?;
    Ok(CalendarV1 {
        id,
        version,
        definition,
    })
}

/// Deletes an SLA no rule names and no ticket has had.
pub async fn delete_sla(tx: &mut AnyConnection, tenant: Uuid, cmd: DeleteSlaV1) -> Result<SlaV1> {
    admin(&cmd.actor, "SLA")?;
    // Locked first: rules set meanwhile naming this SLA wait, and are then
    // told it is gone, or are seen here.
    lock_row(tx, "slas", tenant, cmd.sla, "FOR UPDATE").await?;
    let (id, definition) = rows::<SlaDefinitionV1>(tx, "slas", tenant)
        .await?
        .into_iter()
        .find(|(id, _)| *id == cmd.sla)
        .ok_or_else(|| Error::not_found("SLA"))?;
    let naming: Vec<String> = stored_rules(tx, tenant, "")
        .await?
        .iter()
        .enumerate()
        .filter(|(_, rule)| rule.sla == id)
        .map(|(n, _)| format!("rules[{n}]"))
        .collect();
    if !naming.is_empty() {
        return Err(Error::conflict(format!(
            "the SLA is in use: the SLA rules name it ({})",
            naming.join(", ")
        )));
    }
    let tickets = tickets_under(tx, "sla_id", tenant, id).await?;
    if tickets > 0 {
        return Err(Error::conflict(format!(
            "the SLA is in use: {tickets} tickets have had it, and the SLA reports name it"
        )));
    }
    let version = version_of(tx, "slas", tenant, id).await?.unwrap_or(1);
    delete_row(tx, "slas", tenant, id).await?;
    Ok(SlaV1 {
        id,
        version,
        definition,
    })
}

pub async fn rules(conn: &mut AnyConnection, tenant: Uuid, viewer: &Actor) -> Result<SlaRulesV1> {
    staff(viewer, "SLA rules")?;
    Ok(SlaRulesV1 {
        rules: stored_rules(conn, tenant, "").await?,
    })
}

/// The tenant's rules (none until set), with `lock` after the query.
async fn stored_rules(
    conn: &mut AnyConnection,
    tenant: Uuid,
    lock: &str,
) -> Result<Vec<SlaRuleV1>> {
    let stored: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT rules FROM sla_rules WHERE tenant_id = $1{lock}"
    )))
    .bind(tenant.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(stored.map(|s| decode(&s)).transpose()?.unwrap_or_default())
}

/// [`load`] into `cache` once per tenant, for the engine (a stored
/// definition that no longer reads back is a store failure there).
pub async fn load_once<'c>(
    conn: &mut AnyConnection,
    cache: &'c mut std::collections::HashMap<Uuid, Defs>,
    tenant: Uuid,
) -> std::result::Result<&'c Defs, StoreError> {
    if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(tenant) {
        slot.insert(load_for_engine(conn, tenant).await?);
    }
    Ok(&cache[&tenant])
}

/// [`load`], where a definition that does not read back is a store failure.
pub async fn load_for_engine(
    conn: &mut AnyConnection,
    tenant: Uuid,
) -> std::result::Result<Defs, StoreError> {
    load(conn, tenant).await.map_err(engine_error)
}

fn engine_error(e: Error) -> StoreError {
    match e {
        Error::Store(e) => e,
        other => StoreError::from(sqlx::Error::Protocol(other.to_string())),
    }
}

/// Everything of `tenant`'s that places a ticket's clocks. A stored
/// calendar that no longer computes (a time zone gone from the database)
/// is left out, so the tickets under it wait instead of failing.
pub async fn load(conn: &mut AnyConnection, tenant: Uuid) -> Result<Defs> {
    load_with(conn, tenant, "").await
}

/// [`load`] for the tracker: on PostgreSQL the definitions are share-locked
/// until its transaction ends, so a calendar or SLA being replaced waits
/// for the tickets it is placing (and then recomputes them), or they wait
/// for it (and are placed under the new one). Taken before any ticket row,
/// as the replacing command takes its definition row first too.
pub async fn load_shared(
    conn: &mut AnyConnection,
    backend: runtime::store::Backend,
    tenant: Uuid,
) -> std::result::Result<Defs, StoreError> {
    let lock = match backend {
        runtime::store::Backend::Postgres => " FOR SHARE",
        runtime::store::Backend::Sqlite => "",
    };
    load_with(conn, tenant, lock).await.map_err(engine_error)
}

async fn load_with(conn: &mut AnyConnection, tenant: Uuid, lock: &str) -> Result<Defs> {
    let calendars = rows_locked::<CalendarDefinitionV1>(conn, "calendars", tenant, lock)
        .await?
        .into_iter()
        .filter_map(|(id, def)| Some((id, Calendar::from_definition(&def).ok()?)))
        .collect();
    let slas = rows_locked::<SlaDefinitionV1>(conn, "slas", tenant, lock)
        .await?
        .into_iter()
        .collect();
    Ok(Defs {
        rules: stored_rules(conn, tenant, lock).await?,
        slas,
        calendars,
    })
}
