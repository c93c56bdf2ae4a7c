//! The incident store: every query filters on the tenant.

use contracts::incident::{
    ActionKind, ActionV1, AuditEntryV1, IncidentFilter, IncidentStatus, IncidentV1, PriorityCell,
};
use contracts::{Actor, Page};
use runtime::store::{Param, bind_all, from_micros, insert_many, micros, uuid_at};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::error::{Error, Result};

const COLUMNS: &str = "id, reference, status, priority, impact, urgency, summary, description, \
    customer_id, category, service, assignee_id, team_id, resolution, logged_by, created_at, \
    updated_at, resolved_at, closed_at, version";

fn json_col<T: serde::de::DeserializeOwned>(row: &AnyRow, i: usize) -> sqlx::Result<T> {
    let s: String = row.try_get(i)?;
    serde_json::from_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn small(v: Option<i64>) -> Option<u8> {
    v.and_then(|v| u8::try_from(v).ok())
}

fn incident_from_row(row: &AnyRow) -> sqlx::Result<IncidentV1> {
    let status: String = row.try_get(2)?;
    Ok(IncidentV1 {
        id: uuid_at(row, 0)?.unwrap_or_default(),
        reference: row.try_get(1)?,
        status: IncidentStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown status {status}").into()))?,
        priority: small(Some(row.try_get(3)?)).unwrap_or(5),
        impact: small(row.try_get(4)?),
        urgency: small(row.try_get(5)?),
        summary: row.try_get(6)?,
        description: row.try_get(7)?,
        customer_id: uuid_at(row, 8)?,
        category: row.try_get(9)?,
        service: row.try_get(10)?,
        assignee_id: uuid_at(row, 11)?,
        team_id: uuid_at(row, 12)?,
        resolution: row.try_get(13)?,
        logged_by: json_col(row, 14)?,
        created_at: from_micros(row.try_get(15)?),
        updated_at: from_micros(row.try_get(16)?),
        resolved_at: row.try_get::<Option<i64>, _>(17)?.map(from_micros),
        closed_at: row.try_get::<Option<i64>, _>(18)?.map(from_micros),
        version: row.try_get(19)?,
    })
}

/// Locks the tenant's counter of `kind` for this transaction and returns
/// the last number handed out (0 if none yet). The no-op update takes the
/// row lock on PostgreSQL (SQLite's transaction holds the write lock
/// already). Replicas queue here, which is why the writer takes it once per
/// group, not once per incident.
pub async fn lock_sequence(conn: &mut AnyConnection, tenant: Uuid, kind: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO ticket_sequences (tenant_id, kind, last) VALUES ($1, $2, 0) \
         ON CONFLICT (tenant_id, kind) DO UPDATE SET last = ticket_sequences.last RETURNING last",
    )
    .bind(tenant.to_string())
    .bind(kind)
    .fetch_one(&mut *conn)
    .await?)
}

pub async fn store_sequence(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: &str,
    last: i64,
) -> Result<()> {
    sqlx::query("UPDATE ticket_sequences SET last = $1 WHERE tenant_id = $2 AND kind = $3")
        .bind(last)
        .bind(tenant.to_string())
        .bind(kind)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub const INSERT_COLUMNS: &[&str] = &[
    "tenant_id",
    "id",
    "reference",
    "status",
    "priority",
    "impact",
    "urgency",
    "summary",
    "summary_folded",
    "description",
    "customer_id",
    "category",
    "service",
    "assignee_id",
    "team_id",
    "resolution",
    "logged_by",
    "created_at",
    "updated_at",
    "resolved_at",
    "closed_at",
    "version",
];

/// An incident as a row of [`INSERT_COLUMNS`].
pub fn incident_row(tenant: Uuid, i: &IncidentV1) -> Vec<Param> {
    let id = |u: Option<Uuid>| Param::from(u.map(|u| u.to_string()));
    vec![
        tenant.to_string().into(),
        i.id.to_string().into(),
        i.reference.clone().into(),
        i.status.as_str().into(),
        i64::from(i.priority).into(),
        i.impact.map(i64::from).into(),
        i.urgency.map(i64::from).into(),
        i.summary.clone().into(),
        i.summary.to_lowercase().into(),
        i.description.clone().into(),
        id(i.customer_id),
        i.category.clone().into(),
        i.service.clone().into(),
        id(i.assignee_id),
        id(i.team_id),
        i.resolution.clone().into(),
        serde_json::to_string(&i.logged_by)
            .unwrap_or_default()
            .into(),
        micros(i.created_at).into(),
        micros(i.updated_at).into(),
        i.resolved_at.map(micros).into(),
        i.closed_at.map(micros).into(),
        i.version.into(),
    ]
}

/// Writes the mutable fields of `i`, if nobody changed it since `i.version - 1`.
pub async fn update(tx: &mut AnyConnection, tenant: Uuid, i: &IncidentV1) -> Result<()> {
    let done = sqlx::query(
        "UPDATE incidents SET status = $1, priority = $2, assignee_id = $3, team_id = $4, \
         resolution = $5, updated_at = $6, resolved_at = $7, closed_at = $8, version = $9 \
         WHERE tenant_id = $10 AND id = $11 AND version = $12",
    )
    .bind(i.status.as_str())
    .bind(i64::from(i.priority))
    .bind(i.assignee_id.map(|u| u.to_string()))
    .bind(i.team_id.map(|u| u.to_string()))
    .bind(&i.resolution)
    .bind(micros(i.updated_at))
    .bind(i.resolved_at.map(micros))
    .bind(i.closed_at.map(micros))
    .bind(i.version)
    .bind(tenant.to_string())
    .bind(i.id.to_string())
    .bind(i.version - 1)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict(i.reference.clone()));
    }
    Ok(())
}

/// The incident by id or reference, as `viewer` may see it: a customer sees
/// only their own, and anything else is "not found".
pub async fn find(
    conn: &mut AnyConnection,
    tenant: Uuid,
    key: &str,
    viewer: &Actor,
) -> Result<IncidentV1> {
    // Ids compare in their canonical form; references in upper case. A key
    // that can name nothing (control characters) is simply not found.
    if key.chars().any(char::is_control) {
        return Err(Error::not_found("incident"));
    }
    let (by, key) = match Uuid::parse_str(key) {
        Ok(id) => ("id", id.to_string()),
        Err(_) => ("reference", key.to_ascii_uppercase()),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM incidents WHERE tenant_id = $1 AND {by} = $2"
    )))
    .bind(tenant.to_string())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let incident = row
        .as_ref()
        .map(incident_from_row)
        .transpose()?
        .ok_or_else(|| Error::not_found("incident"))?;
    if let Some(customer) = viewer.customer_scope()
        && incident.customer_id != Some(customer)
    {
        return Err(Error::not_found("incident"));
    }
    Ok(incident)
}

/// One page, newest first. The cursor is the id of the last incident of the
/// previous page (ids sort by creation time).
pub async fn list(
    conn: &mut AnyConnection,
    tenant: Uuid,
    viewer: &Actor,
    filter: &IncidentFilter,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<IncidentV1>> {
    let mut sql = format!("SELECT {COLUMNS} FROM incidents WHERE tenant_id = $1");
    let mut args: Vec<Param> = vec![Param::from(tenant.to_string())];
    let mut push = |clause: &str, arg: Param, suffix: &str| {
        args.push(arg);
        sql.push_str(&format!(" AND {clause} ${}{suffix}", args.len()));
    };
    let customer = viewer.customer_scope().or(filter.customer_id);
    if let Some(c) = customer {
        push("customer_id =", Param::from(c.to_string()), "");
    }
    if let Some(s) = filter.status {
        push("status =", Param::from(s.as_str().to_owned()), "");
    }
    if let Some(p) = filter.priority {
        push("priority =", Param::from(i64::from(p)), "");
    }
    if let Some(a) = filter.assignee_id {
        push("assignee_id =", Param::from(a.to_string()), "");
    }
    if let Some(t) = filter.team_id {
        push("team_id =", Param::from(t.to_string()), "");
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        push(
            "summary_folded LIKE",
            Param::from(format!("%{escaped}%")),
            " ESCAPE '\\'",
        );
    }
    if let Some(c) = cursor {
        push("id <", Param::from(c.to_owned()), "");
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", i64::from(limit) + 1));
    let rows = bind_all(sql, args).fetch_all(&mut *conn).await?;
    let mut items = rows
        .iter()
        .map(incident_from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|i| i.id.to_string())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// The actions on an incident, oldest first; only public ones for customers.
pub async fn actions(
    conn: &mut AnyConnection,
    tenant: Uuid,
    incident: Uuid,
    viewer: &Actor,
) -> Result<Vec<ActionV1>> {
    let public_only = if viewer.customer_scope().is_some() {
        " AND public = 1"
    } else {
        ""
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, kind, body, public, email_customer, knowledge_base, author, created_at \
         FROM incident_actions WHERE tenant_id = $1 AND incident_id = $2{public_only} ORDER BY id"
    )))
    .bind(tenant.to_string())
    .bind(incident.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get(1)?;
            Ok(ActionV1 {
                id: uuid_at(row, 0)?.unwrap_or_default(),
                kind: ActionKind::parse(&kind).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown action kind {kind}").into())
                })?,
                text: row.try_get(2)?,
                public: row.try_get::<i64, _>(3)? != 0,
                email_customer: row.try_get::<i64, _>(4)? != 0,
                knowledge_base: row.try_get::<i64, _>(5)? != 0,
                author: json_col(row, 6)?,
                created_at: from_micros(row.try_get(7)?),
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(Error::from)
}

pub struct Change<'a> {
    pub change: &'a str,
    pub from: Option<String>,
    pub to: Option<String>,
}

pub async fn history(
    conn: &mut AnyConnection,
    tenant: Uuid,
    incident: Uuid,
) -> Result<Vec<AuditEntryV1>> {
    let rows = sqlx::query(
        "SELECT id, change, from_value, to_value, actor, at FROM incident_audit \
         WHERE tenant_id = $1 AND incident_id = $2 ORDER BY id",
    )
    .bind(tenant.to_string())
    .bind(incident.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntryV1 {
                id: uuid_at(row, 0)?.unwrap_or_default(),
                change: row.try_get(1)?,
                from: row.try_get(2)?,
                to: row.try_get(3)?,
                actor: json_col(row, 4)?,
                at: from_micros(row.try_get(5)?),
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(Error::from)
}

/// The tenant's matrix: all nine cells, its own where it set them.
pub async fn matrix(conn: &mut AnyConnection, tenant: Uuid) -> Result<Vec<PriorityCell>> {
    let own: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT impact, urgency, priority FROM priority_matrix WHERE tenant_id = $1",
    )
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut cells = Vec::with_capacity(9);
    for impact in 1..=3u8 {
        for urgency in 1..=3u8 {
            let set = own
                .iter()
                .find(|(i, u, _)| *i == i64::from(impact) && *u == i64::from(urgency))
                .and_then(|(_, _, p)| small(Some(*p)));
            cells.push(PriorityCell {
                impact,
                urgency,
                priority: set.unwrap_or(impact + urgency - 1),
            });
        }
    }
    Ok(cells)
}

/// Replaces the tenant's own cells with `cells`.
pub async fn set_matrix(
    conn: &mut AnyConnection,
    tenant: Uuid,
    cells: &[PriorityCell],
) -> Result<()> {
    sqlx::query("DELETE FROM priority_matrix WHERE tenant_id = $1")
        .bind(tenant.to_string())
        .execute(&mut *conn)
        .await?;
    let rows = cells
        .iter()
        .map(|c| {
            vec![
                tenant.to_string().into(),
                i64::from(c.impact).into(),
                i64::from(c.urgency).into(),
                i64::from(c.priority).into(),
            ]
        })
        .collect();
    insert_many(
        conn,
        "priority_matrix",
        &["tenant_id", "impact", "urgency", "priority"],
        rows,
    )
    .await?;
    Ok(())
}

/// The tenant's priority for `impact` × `urgency` (each 1 high … 3 low).
pub async fn matrix_priority(
    tx: &mut AnyConnection,
    tenant: Uuid,
    impact: u8,
    urgency: u8,
) -> Result<u8> {
    let own: Option<i64> = sqlx::query_scalar(
        "SELECT priority FROM priority_matrix WHERE tenant_id = $1 AND impact = $2 AND urgency = $3",
    )
    .bind(tenant.to_string())
    .bind(i64::from(impact))
    .bind(i64::from(urgency))
    .fetch_optional(&mut *tx)
    .await?;
    Ok(small(own).unwrap_or(impact + urgency - 1))
}
