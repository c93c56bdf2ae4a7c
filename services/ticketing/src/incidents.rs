//! What incidents add to the ticket store (the priority matrix), and what
//! lives beside tickets of every kind: reference counters and actions.
//! Every query filters on the tenant.

use contracts::Actor;
use contracts::incident::{ActionKind, ActionV1, PriorityCell};
use runtime::store::{from_micros, id_at, insert_many};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::tickets::{json_col, small};

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

/// The actions on a ticket, oldest first; only public ones for customers.
/// Whether `ticket` has an action whose text is `text` (a workaround
/// applied before).
pub async fn has_action_text(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
    text: &str,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM ticket_actions WHERE tenant_id = $1 AND ticket_id = $2 AND body = $3 LIMIT 1",
    )
    .bind(tenant.to_string())
    .bind(ticket.to_string())
    .bind(text)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

pub async fn actions(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
    viewer: &Actor,
) -> Result<Vec<ActionV1>> {
    let public_only = if viewer.customer_scope().is_some() {
        " AND public = 1"
    } else {
        ""
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, kind, body, public, email_customer, knowledge_base, author, created_at, minutes \
         FROM ticket_actions WHERE tenant_id = $1 AND ticket_id = $2{public_only} ORDER BY id"
    )))
    .bind(tenant.to_string())
    .bind(ticket.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            Ok(ActionV1 {
                id: id_at(row, "id")?,
                kind: ActionKind::parse(&kind).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown action kind {kind}").into())
                })?,
                text: row.try_get("body")?,
                public: row.try_get::<i64, _>("public")? != 0,
                email_customer: row.try_get::<i64, _>("email_customer")? != 0,
                knowledge_base: row.try_get::<i64, _>("knowledge_base")? != 0,
                // The desk's own accounting, not the customer's to see.
                minutes: row
                    .try_get::<Option<i64>, _>("minutes")?
                    .and_then(|m| u32::try_from(m).ok())
                    .filter(|_| viewer.customer_scope().is_none()),
                author: json_col(row, "author")?,
                created_at: from_micros(row.try_get("created_at")?),
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
