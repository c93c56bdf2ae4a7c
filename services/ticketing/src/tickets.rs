//! The ticket store: every kind of ticket in one table, read into
//! [`TicketV1`]. Every query filters on the tenant (and the kind), and a
//! customer sees only their own tickets: anything else is "not found".

use std::collections::HashMap;

use contracts::incident::AuditEntryV1;
use contracts::ticket::{
    ChangeDetailsV1, FieldValues, ProblemDetailsV1, RequestDetailsV1, TicketFilter, TicketKind,
    TicketSort, TicketSummaryV1, TicketV1,
};
use contracts::{Actor, Page};
use runtime::paging::{Key, Paging};
use runtime::store::{Param, bind_all, from_micros, id_at, micros, placeholders, u8_at, uuid_at};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::error::{Error, Result};

const COLUMNS: &str = "id, kind, reference, status, priority, impact, urgency, summary, \
    description, customer_id, category, service, assignee_id, team_id, resolution, logged_by, \
    created_at, updated_at, resolved_at, closed_at, version, problem_id, details, fields, \
    first_response_at, supplier_id, company_id, pending_reason, time_spent";

/// What only one kind has, as stored in the `details` column.
#[derive(Default, Serialize, Deserialize)]
struct Details {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    problem: Option<ProblemDetailsV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    change: Option<ChangeDetailsV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<RequestDetailsV1>,
}

pub fn json_col<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> sqlx::Result<T> {
    let s: String = row.try_get(col)?;
    serde_json::from_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub fn small(v: Option<i64>) -> Option<u8> {
    v.and_then(|v| u8::try_from(v).ok())
}

fn ticket_from_row(row: &AnyRow) -> sqlx::Result<TicketV1> {
    let kind: String = row.try_get("kind")?;
    let details: Details = json_col(row, "details")?;
    Ok(TicketV1 {
        id: id_at(row, "id")?,
        kind: TicketKind::parse(&kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown kind {kind}").into()))?,
        reference: row.try_get("reference")?,
        status: row.try_get("status")?,
        priority: u8_at(row, "priority")?,
        impact: small(row.try_get("impact")?),
        urgency: small(row.try_get("urgency")?),
        summary: row.try_get("summary")?,
        description: row.try_get("description")?,
        customer_id: uuid_at(row, "customer_id")?,
        category: row.try_get("category")?,
        service: row.try_get("service")?,
        assignee_id: uuid_at(row, "assignee_id")?,
        team_id: uuid_at(row, "team_id")?,
        resolution: row.try_get("resolution")?,
        logged_by: json_col(row, "logged_by")?,
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
        resolved_at: row
            .try_get::<Option<i64>, _>("resolved_at")?
            .map(from_micros),
        closed_at: row.try_get::<Option<i64>, _>("closed_at")?.map(from_micros),
        version: row.try_get("version")?,
        problem_id: uuid_at(row, "problem_id")?,
        fields: json_col(row, "fields")?,
        first_response_at: row
            .try_get::<Option<i64>, _>("first_response_at")?
            .map(from_micros),
        supplier_id: uuid_at(row, "supplier_id")?,
        company_id: uuid_at(row, "company_id")?,
        pending_reason: row.try_get("pending_reason")?,
        time_spent_minutes: row.try_get::<i64, _>("time_spent")?.unsigned_abs(),
        problem: details.problem,
        change: details.change,
        request: details.request,
    })
}

fn details_json(t: &TicketV1) -> String {
    let details = Details {
        problem: t.problem.clone().map(|mut p| {
            // Counted when read, never stored.
            p.linked_incidents = 0;
            p
        }),
        change: t.change.clone().map(|mut c| {
            // A warning on an answer, never kept.
            c.conflicts_with = Vec::new();
            c
        }),
        request: t.request.clone(),
    };
    serde_json::to_string(&details).unwrap_or_else(|_| "{}".into())
}

fn window(t: &TicketV1) -> (Option<i64>, Option<i64>) {
    t.change.as_ref().map_or((None, None), |c| {
        (Some(micros(c.planned_start)), Some(micros(c.planned_end)))
    })
}

pub const INSERT_COLUMNS: &[&str] = &[
    "tenant_id",
    "id",
    "kind",
    "reference",
    "status",
    "priority",
    "impact",
    "urgency",
    "summary",
    "summary_folded",
    "description",
    "description_folded",
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
    "problem_id",
    "details",
    "fields",
    "planned_start",
    "planned_end",
    "first_response_at",
    "supplier_id",
    "company_id",
    "pending_reason",
    "time_spent",
];

fn id_param(u: Option<Uuid>) -> Param {
    Param::from(u.map(|u| u.to_string()))
}

/// A new ticket as a row of [`INSERT_COLUMNS`].
pub fn row(tenant: Uuid, t: &TicketV1) -> Vec<Param> {
    let (start, end) = window(t);
    vec![
        tenant.to_string().into(),
        t.id.to_string().into(),
        t.kind.as_str().into(),
        t.reference.clone().into(),
        t.status.clone().into(),
        i64::from(t.priority).into(),
        t.impact.map(i64::from).into(),
        t.urgency.map(i64::from).into(),
        t.summary.clone().into(),
        t.summary.to_lowercase().into(),
        t.description.clone().into(),
        t.description.to_lowercase().into(),
        id_param(t.customer_id),
        t.category.clone().into(),
        t.service.clone().into(),
        id_param(t.assignee_id),
        id_param(t.team_id),
        t.resolution.clone().into(),
        serde_json::to_string(&t.logged_by)
            .unwrap_or_default()
            .into(),
        micros(t.created_at).into(),
        micros(t.updated_at).into(),
        t.resolved_at.map(micros).into(),
        t.closed_at.map(micros).into(),
        t.version.into(),
        id_param(t.problem_id),
        details_json(t).into(),
        serde_json::to_string(&t.fields)
            .unwrap_or_else(|_| "{}".into())
            .into(),
        start.into(),
        end.into(),
        t.first_response_at.map(micros).into(),
        id_param(t.supplier_id),
        id_param(t.company_id),
        t.pending_reason.clone().into(),
        i64::try_from(t.time_spent_minutes)
            .unwrap_or(i64::MAX)
            .into(),
    ]
}

/// Writes the mutable fields of `t`, if nobody changed it since
/// `t.version - 1` (else [`Error::Retry`]: the command is retried).
pub async fn update(tx: &mut AnyConnection, tenant: Uuid, t: &TicketV1) -> Result<()> {
    let (start, end) = window(t);
    let done = sqlx::query(
        "UPDATE tickets SET status = $1, priority = $2, assignee_id = $3, team_id = $4, \
         resolution = $5, updated_at = $6, resolved_at = $7, closed_at = $8, version = $9, \
         summary = $10, summary_folded = $11, description = $12, category = $13, service = $14, \
         problem_id = $15, details = $16, fields = $17, planned_start = $18, planned_end = $19, \
         first_response_at = $20, supplier_id = $21, description_folded = $22, \
         pending_reason = $23, time_spent = $24 \
         WHERE tenant_id = $25 AND id = $26 AND version = $27",
    )
    .bind(&t.status)
    .bind(i64::from(t.priority))
    .bind(t.assignee_id.map(|u| u.to_string()))
    .bind(t.team_id.map(|u| u.to_string()))
    .bind(&t.resolution)
    .bind(micros(t.updated_at))
    .bind(t.resolved_at.map(micros))
    .bind(t.closed_at.map(micros))
    .bind(t.version)
    .bind(&t.summary)
    .bind(t.summary.to_lowercase())
    .bind(&t.description)
    .bind(&t.category)
    .bind(&t.service)
    .bind(t.problem_id.map(|u| u.to_string()))
    .bind(details_json(t))
    .bind(serde_json::to_string(&t.fields).unwrap_or_else(|_| "{}".into()))
    .bind(start)
    .bind(end)
    .bind(t.first_response_at.map(micros))
    .bind(t.supplier_id.map(|u| u.to_string()))
    .bind(t.description.to_lowercase())
    .bind(&t.pending_reason)
    .bind(i64::try_from(t.time_spent_minutes).unwrap_or(i64::MAX))
    .bind(tenant.to_string())
    .bind(t.id.to_string())
    .bind(t.version - 1)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Retry(format!(
            "concurrent update of {}",
            t.reference
        )));
    }
    Ok(())
}

/// Counts one more reopening of `ticket`, for the reopen rate.
pub async fn count_reopen(tx: &mut AnyConnection, tenant: Uuid, ticket: Uuid) -> Result<()> {
    sqlx::query("UPDATE tickets SET reopened = reopened + 1 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(ticket.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Problems and changes are the desk's own work: customers see their
/// incidents and service requests only.
pub fn visible(kind: TicketKind, viewer: &Actor) -> bool {
    viewer.customer_scope().is_none() || matches!(kind, TicketKind::Incident | TicketKind::Request)
}

/// The ticket of `kind` by id or reference, as `viewer` may see it.
pub async fn find(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: TicketKind,
    key: &str,
    viewer: &Actor,
) -> Result<TicketV1> {
    // Ids compare in their canonical form; references in upper case. A key
    // that can name nothing (control characters) is simply not found.
    if key.chars().any(char::is_control) || !visible(kind, viewer) {
        return Err(Error::not_found(kind.noun()));
    }
    let (by, key) = match Uuid::parse_str(key) {
        Ok(id) => ("id", id.to_string()),
        Err(_) => ("reference", key.to_ascii_uppercase()),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tickets WHERE tenant_id = $1 AND kind = $2 AND {by} = $3"
    )))
    .bind(tenant.to_string())
    .bind(kind.as_str())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    let mut ticket = row
        .as_ref()
        .map(ticket_from_row)
        .transpose()?
        .ok_or_else(|| Error::not_found(kind.noun()))?;
    if let Some(customer) = viewer.customer_scope()
        && ticket.customer_id != Some(customer)
    {
        return Err(Error::not_found(kind.noun()));
    }
    count_linked(conn, tenant, std::slice::from_mut(&mut ticket)).await?;
    Ok(ticket)
}

/// The ticket a field of a command names: one that is not there (or not
/// for `viewer`) is a 400 naming `field`, not a 404 of the command's own
/// ticket.
pub async fn find_named(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: TicketKind,
    key: &str,
    viewer: &Actor,
    field: &str,
) -> Result<TicketV1> {
    match find(conn, tenant, kind, key, viewer).await {
        Err(Error::Refused(b)) if b.code == contracts::ErrorCode::NotFound => {
            Err(Error::field(field, format!("no such {}", kind.noun())))
        }
        found => found,
    }
}

/// Fills in each problem's count of linked incidents.
async fn count_linked(
    conn: &mut AnyConnection,
    tenant: Uuid,
    tickets: &mut [TicketV1],
) -> Result<()> {
    let problems: Vec<String> = tickets
        .iter()
        .filter(|t| t.kind == TicketKind::Problem)
        .map(|t| t.id.to_string())
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT problem_id, COUNT(*) AS linked_incidents FROM tickets WHERE tenant_id = $1 \
         AND problem_id IN ({}) GROUP BY problem_id",
        placeholders(2, problems.len())
    );
    let mut args = vec![Param::from(tenant.to_string())];
    args.extend(problems.into_iter().map(Param::from));
    let counts: HashMap<String, i64> = bind_all(sql, args)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("problem_id")?, r.try_get("linked_incidents")?)))
        .collect::<sqlx::Result<_>>()?;
    for t in tickets {
        if let Some(p) = t.problem.as_mut() {
            let n = counts.get(&t.id.to_string()).copied().unwrap_or(0);
            p.linked_incidents = u64::try_from(n).unwrap_or(0);
        }
    }
    Ok(())
}

/// Which page of a list: the filter, what else it may filter on, and where
/// the page starts.
pub struct Listing<'a> {
    pub filter: &'a TicketFilter,
    /// Incidents linked to this problem.
    pub problem_id: Option<Uuid>,
    /// Which page.
    pub paging: Paging,
}

/// One page of tickets of `kind`, newest first. The cursor is the id of the
/// last ticket of the previous page (ids sort by creation time).
pub async fn list(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: TicketKind,
    viewer: &Actor,
    listing: Listing<'_>,
) -> Result<Page<TicketV1>> {
    let Listing {
        filter,
        problem_id,
        paging,
    } = listing;
    if !visible(kind, viewer) {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let mut sql = format!("SELECT {COLUMNS} FROM tickets WHERE tenant_id = $1 AND kind = $2");
    let mut args: Vec<Param> = vec![Param::from(tenant.to_string()), Param::from(kind.as_str())];
    // ` AND <clause> $n<suffix>`, `arg` being `$n`.
    let push = |sql: &mut String, args: &mut Vec<Param>, clause: &str, arg: Param, suffix: &str| {
        args.push(arg);
        sql.push_str(&format!(" AND {clause} ${}{suffix}", args.len()));
    };
    let customer = viewer.customer_scope().or(filter.customer_id);
    let id = |u: Uuid| Param::from(u.to_string());
    let equal = [
        ("customer_id =", customer.map(id)),
        ("company_id =", filter.company_id.map(id)),
        (
            "priority =",
            filter.priority.map(|p| Param::from(i64::from(p))),
        ),
        ("assignee_id =", filter.assignee_id.map(id)),
        ("team_id =", filter.team_id.map(id)),
        ("problem_id =", problem_id.map(id)),
        (
            "created_at >=",
            filter.created_from.map(|t| Param::from(micros(t))),
        ),
        (
            "created_at <",
            filter.created_to.map(|t| Param::from(micros(t))),
        ),
        (
            "updated_at >=",
            filter.updated_from.map(|t| Param::from(micros(t))),
        ),
        (
            "updated_at <",
            filter.updated_to.map(|t| Param::from(micros(t))),
        ),
    ];
    for (clause, arg) in equal {
        if let Some(arg) = arg {
            push(&mut sql, &mut args, clause, arg, "");
        }
    }
    if let Some(statuses) = &filter.status {
        let statuses: Vec<&str> = statuses.split(',').map(str::trim).collect();
        sql.push_str(&format!(
            " AND status IN ({})",
            placeholders(args.len() + 1, statuses.len())
        ));
        args.extend(statuses.into_iter().map(Param::from));
    }
    if filter.unassigned {
        sql.push_str(" AND assignee_id IS NULL");
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.is_empty()) {
        args.push(Param::from(runtime::store::contains_pattern(text)));
        let n = args.len();
        // A customer finds their tickets by what they may read of them.
        let public = if viewer.customer_scope().is_some() {
            " AND public = 1"
        } else {
            ""
        };
        sql.push_str(&format!(
            " AND (summary_folded LIKE ${n} ESCAPE '\\' OR description_folded LIKE ${n} ESCAPE '\\' \
             OR LOWER(reference) LIKE ${n} ESCAPE '\\' OR id IN (SELECT ticket_id FROM ticket_actions \
             WHERE tenant_id = $1 AND body_folded LIKE ${n} ESCAPE '\\'{public}))"
        ));
    }
    for (field, value) in &filter.fields {
        push(
            &mut sql,
            &mut args,
            "id IN (SELECT ticket_id FROM ticket_field_values WHERE tenant_id = $1 AND field =",
            Param::from(field.clone()),
            "",
        );
        push(
            &mut sql,
            &mut args,
            "value =",
            Param::from(value.clone()),
            ")",
        );
    }
    sql.push_str(&paging.sql(&mut args));
    let rows = bind_all(sql, args).fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(ticket_from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    let sort = filter.sort.unwrap_or_default();
    let mut page = paging.page_by(items, |t| (sort_value(sort, t), t.id));
    count_linked(conn, tenant, &mut page.items).await?;
    Ok(page)
}

/// The column a ticket list sorted by `sort` pages by, besides the id;
/// none for the newest first (ids sort by creation).
pub fn sort_key(sort: TicketSort) -> Option<Key> {
    let key = |column, descending| Some(Key { column, descending });
    match sort {
        TicketSort::Newest => None,
        TicketSort::Oldest => key("created_at", false),
        TicketSort::RecentlyChanged => key("updated_at", true),
        TicketSort::LongestUnchanged => key("updated_at", false),
        TicketSort::HighestPriority => key("priority", false),
        TicketSort::LowestPriority => key("priority", true),
    }
}

/// `t`'s value of the column [`sort_key`] gives `sort`.
fn sort_value(sort: TicketSort, t: &TicketV1) -> i64 {
    match sort {
        TicketSort::Newest | TicketSort::Oldest => micros(t.created_at),
        TicketSort::RecentlyChanged | TicketSort::LongestUnchanged => micros(t.updated_at),
        TicketSort::HighestPriority | TicketSort::LowestPriority => i64::from(t.priority),
    }
}

/// Tickets of `kind` by id, for linking (any that is not there is left out).
pub async fn by_ids(conn: &mut AnyConnection, tenant: Uuid, ids: &[Uuid]) -> Result<Vec<TicketV1>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM tickets WHERE tenant_id = $1 AND id IN ({})",
        placeholders(2, ids.len())
    );
    let mut args = vec![Param::from(tenant.to_string())];
    args.extend(ids.iter().map(|i| Param::from(i.to_string())));
    let rows = bind_all(sql, args).fetch_all(&mut *conn).await?;
    Ok(rows
        .iter()
        .map(ticket_from_row)
        .collect::<sqlx::Result<Vec<_>>>()?)
}

/// The incidents linked to problem `problem`, oldest first.
pub async fn incidents_of(
    conn: &mut AnyConnection,
    tenant: Uuid,
    problem: Uuid,
) -> Result<Vec<TicketV1>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tickets WHERE tenant_id = $1 AND problem_id = $2 ORDER BY id"
    )))
    .bind(tenant.to_string())
    .bind(problem.to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(ticket_from_row)
        .collect::<sqlx::Result<Vec<_>>>()?)
}

/// Changes whose window overlaps `from`..`to`, by start.
pub async fn changes_between(
    conn: &mut AnyConnection,
    tenant: Uuid,
    from: i64,
    to: i64,
) -> Result<Vec<TicketV1>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tickets WHERE tenant_id = $1 AND kind = 'change' \
         AND planned_start < $2 AND planned_end > $3 \
         AND status NOT IN ('rejected', 'cancelled') ORDER BY planned_start, id LIMIT 10000"
    )))
    .bind(tenant.to_string())
    .bind(to)
    .bind(from)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(ticket_from_row)
        .collect::<sqlx::Result<Vec<_>>>()?)
}

pub fn summary(t: &TicketV1) -> TicketSummaryV1 {
    TicketSummaryV1 {
        id: t.id,
        kind: t.kind,
        reference: t.reference.clone(),
        summary: t.summary.clone(),
        status: t.status.clone(),
    }
}

/// Replaces the stored extended data values of a ticket (they mirror its
/// `fields` so that lists can filter on them).
pub async fn store_field_values(
    tx: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
    fields: &FieldValues,
) -> Result<()> {
    sqlx::query("DELETE FROM ticket_field_values WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.to_string())
        .bind(ticket.to_string())
        .execute(&mut *tx)
        .await?;
    let rows = field_value_rows(tenant, ticket, fields);
    runtime::store::insert_many(tx, "ticket_field_values", FIELD_VALUE_COLUMNS, rows).await?;
    Ok(())
}

pub const FIELD_VALUE_COLUMNS: &[&str] = &["tenant_id", "ticket_id", "field", "value"];

/// The rows that mirror `fields` for filtering: each value as text.
pub fn field_value_rows(tenant: Uuid, ticket: Uuid, fields: &FieldValues) -> Vec<Vec<Param>> {
    fields
        .iter()
        .filter_map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => return None,
                serde_json::Value::Number(n) => n
                    .as_f64()
                    .map_or_else(|| n.to_string(), |n| crate::fields::number(n).to_string()),
                other => other.to_string(),
            };
            Some(vec![
                tenant.to_string().into(),
                ticket.to_string().into(),
                k.clone().into(),
                text.into(),
            ])
        })
        .collect()
}

/// The audit trail of a ticket, oldest first.
pub async fn history(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
) -> Result<Vec<AuditEntryV1>> {
    let rows = sqlx::query(
        "SELECT id, change, from_value, to_value, actor, at FROM ticket_audit \
         WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id",
    )
    .bind(tenant.to_string())
    .bind(ticket.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntryV1 {
                id: id_at(row, "id")?,
                change: row.try_get("change")?,
                from: row.try_get("from_value")?,
                to: row.try_get("to_value")?,
                actor: json_col(row, "actor")?,
                at: from_micros(row.try_get("at")?),
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(Error::from)
}
