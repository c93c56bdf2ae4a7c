//! What notification knows of each ticket it writes about, kept from
//! ticketing's events: enough to fill a template and to find the ticket a
//! reply is about. A snapshot older than the copy is ignored; a change
//! that carries the ticket's version applies only if it is newer.

use std::sync::Arc;
use std::time::Duration;

use contracts::common::ReplyV1;
use contracts::ticket::{GetTicketV1, TicketKind, TicketV1};
use contracts::{Command, Envelope};
use runtime::bus::{Bus, BusError};
use runtime::store::{Param, StoreError, upsert_many};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: Uuid,
    pub kind: TicketKind,
    pub reference: String,
    pub summary: String,
    pub description: String,
    pub status: String,
    pub priority: u8,
    pub customer_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub supplier_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub service: Option<String>,
    pub category: Option<String>,
    pub resolution: Option<String>,
    /// The text of the latest public action.
    pub last_action: Option<String>,
    pub version: i64,
}

impl From<&TicketV1> for Ticket {
    fn from(t: &TicketV1) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            reference: t.reference.clone(),
            summary: t.summary.clone(),
            description: t.description.clone(),
            status: t.status.clone(),
            priority: t.priority,
            customer_id: t.customer_id,
            assignee_id: t.assignee_id,
            team_id: t.team_id,
            supplier_id: t.supplier_id,
            company_id: t.company_id,
            service: t.service.clone(),
            category: t.category.clone(),
            resolution: t.resolution.clone(),
            last_action: None,
            version: t.version,
        }
    }
}

impl Ticket {
    /// Whether a change at `version` (if it says) is newer than this copy.
    pub fn older_than(&self, version: Option<i64>) -> bool {
        version.is_none_or(|v| v > self.version)
    }

    /// Takes `snapshot` unless this copy is newer; keeps the last action,
    /// which snapshots do not carry.
    pub fn absorb(&mut self, mut snapshot: Ticket) -> bool {
        if snapshot.version < self.version {
            return false;
        }
        if snapshot.last_action.is_none() {
            snapshot.last_action = self.last_action.take();
        }
        *self = snapshot;
        true
    }
}

/// The copy of ticket `id`, if notification has one.
pub async fn load(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<Ticket>, StoreError> {
    find(conn, tenant, "id", &id.to_string()).await
}

/// The copy of the ticket with this reference (`INC-000042`).
pub async fn by_reference(
    conn: &mut AnyConnection,
    tenant: Uuid,
    reference: &str,
) -> Result<Option<Ticket>, StoreError> {
    find(conn, tenant, "reference", reference).await
}

async fn find(
    conn: &mut AnyConnection,
    tenant: Uuid,
    column: &str,
    value: &str,
) -> Result<Option<Ticket>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT ticket FROM mail_tickets WHERE tenant_id = $1 AND {column} = $2"
    )))
    .bind(tenant.to_string())
    .bind(value)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let json: String = row.try_get("ticket")?;
    serde_json::from_str(&json)
        .map(Some)
        .map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))
}

/// Keeps `t` as the copy of its ticket.
pub async fn save(conn: &mut AnyConnection, tenant: Uuid, t: &Ticket) -> Result<(), StoreError> {
    let json = runtime::store::json_text(t)?;
    upsert_many(
        conn,
        "mail_tickets",
        &["tenant_id", "id", "reference", "version", "ticket"],
        "tenant_id, id",
        vec![vec![
            Param::from(tenant.to_string()),
            Param::from(t.id.to_string()),
            Param::from(t.reference.clone()),
            Param::from(t.version),
            Param::from(json),
        ]],
    )
    .await?;
    Ok(())
}

/// Ticket `key` (id or reference) as ticketing has it now, for a ticket
/// notification has no copy of (logged before it listened, or whose event
/// is still on its way). `None` if ticketing knows no such ticket.
pub async fn fetch(
    bus: &Arc<dyn Bus>,
    cause: &Envelope,
    kind: TicketKind,
    key: &str,
) -> Result<Option<Ticket>, BusError> {
    let query = cause.caused(&GetTicketV1 {
        viewer: crate::compose::notification_actor(),
        kind,
        ticket: key.to_owned(),
    });
    let reply = bus
        .request(GetTicketV1::QUEUE, &query, Duration::from_secs(5))
        .await?;
    Ok(match reply.decode::<ReplyV1>() {
        Ok(ReplyV1::Ok(v)) => serde_json::from_value::<TicketV1>(v)
            .ok()
            .map(|t| Ticket::from(&t)),
        _ => None,
    })
}
