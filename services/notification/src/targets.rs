//! Notification's copy of each ticket's SLA due times, kept from the
//! escalation service's `escalation.ticket.targets` events, for the emails
//! that show them (`{{response_due}}`, `{{resolve_due}}`).

use contracts::escalation::TicketTargetsV1;
use runtime::store::{Param, StoreError, from_micros, micros, upsert_many};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// When a ticket's (response, resolve) targets fall due, as last announced.
/// A ticket's response and resolve due times, and the time zone of its
/// SLA's calendar.
pub type Due = (
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
    Option<String>,
);

/// Keeps what `e` announces as its tickets' due times.
pub async fn save(
    conn: &mut AnyConnection,
    tenant: Uuid,
    e: &TicketTargetsV1,
) -> Result<(), StoreError> {
    let rows = e
        .tickets
        .iter()
        .map(|t| {
            vec![
                Param::from(tenant.to_string()),
                Param::from(t.ticket_id.to_string()),
                Param::from(t.response_due.map(micros)),
                Param::from(t.resolve_due.map(micros)),
                Param::from(t.time_zone.clone()),
            ]
        })
        .collect();
    upsert_many(
        conn,
        "mail_ticket_targets",
        &[
            "tenant_id",
            "ticket_id",
            "response_due",
            "resolve_due",
            "time_zone",
        ],
        "tenant_id, ticket_id",
        rows,
    )
    .await?;
    Ok(())
}

/// The ticket's due times, if escalation announced any.
pub async fn due(conn: &mut AnyConnection, tenant: Uuid, ticket: Uuid) -> Result<Due, StoreError> {
    let row = sqlx::query(
        "SELECT response_due, resolve_due, time_zone FROM mail_ticket_targets \
         WHERE tenant_id = $1 AND ticket_id = $2",
    )
    .bind(tenant.to_string())
    .bind(ticket.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok((None, None, None));
    };
    let at = |name: &str| -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(row.try_get::<Option<i64>, _>(name)?.map(from_micros))
    };
    Ok((
        at("response_due")?,
        at("resolve_due")?,
        row.try_get("time_zone")?,
    ))
}
