//! Typed links between tickets of any kinds. A link is stored once, as it
//! was made ("INC-1 caused_by PRB-2"), and read from either end: from
//! PRB-2 the same link reads "causes INC-1".

use contracts::Actor;
use contracts::ticket::{LinkType, LinkV1, TicketKind};
use runtime::store::{Param, from_micros, id_at, micros};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::tickets::{self, json_col};

pub const COLUMNS: &[&str] = &[
    "id",
    "tenant_id",
    "from_id",
    "to_id",
    "link_type",
    "created_by",
    "created_at",
];

pub fn row(
    tenant: Uuid,
    id: Uuid,
    from: Uuid,
    link_type: LinkType,
    to: Uuid,
    actor: &Actor,
    at: OffsetDateTime,
) -> Result<Vec<Param>> {
    Ok(vec![
        id.to_string().into(),
        tenant.to_string().into(),
        from.to_string().into(),
        to.to_string().into(),
        link_type.as_str().into(),
        runtime::store::json_text(actor)?.into(),
        micros(at).into(),
    ])
}

/// A stored link, as seen from `ticket`: (id, type from `ticket`, other end).
struct Seen {
    id: Uuid,
    link_type: LinkType,
    other: Uuid,
    created_by: Actor,
    created_at: OffsetDateTime,
}

async fn seen_from(conn: &mut AnyConnection, tenant: Uuid, ticket: Uuid) -> Result<Vec<Seen>> {
    let rows = sqlx::query(
        "SELECT id, from_id, to_id, link_type, created_by, created_at FROM ticket_links \
         WHERE tenant_id = $1 AND (from_id = $2 OR to_id = $2) ORDER BY id",
    )
    .bind(tenant.to_string())
    .bind(ticket.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let stored: String = r.try_get("link_type")?;
            let link_type = LinkType::parse(&stored)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown link {stored}").into()))?;
            let from = id_at(r, "from_id")?;
            let to = id_at(r, "to_id")?;
            let (link_type, other) = if from == ticket {
                (link_type, to)
            } else {
                (link_type.inverse(), from)
            };
            Ok(Seen {
                id: id_at(r, "id")?,
                link_type,
                other,
                created_by: json_col(r, "created_by")?,
                created_at: from_micros(r.try_get("created_at")?),
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(Error::from)
}

/// The links of `ticket`, oldest first, each with the ticket at its other
/// end. A customer sees only links to their own incidents and requests.
pub async fn list(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
    viewer: &Actor,
) -> Result<Vec<LinkV1>> {
    let seen = seen_from(conn, tenant, ticket).await?;
    let others: Vec<Uuid> = seen.iter().map(|s| s.other).collect();
    let others = tickets::by_ids(conn, tenant, &others).await?;
    Ok(seen
        .into_iter()
        .filter_map(|s| {
            let other = others.iter().find(|t| t.id == s.other)?;
            if !tickets::visible(other.kind, viewer) {
                return None;
            }
            if let Some(customer) = viewer.customer_scope()
                && other.customer_id != Some(customer)
            {
                return None;
            }
            Some(LinkV1 {
                id: s.id,
                link_type: s.link_type,
                ticket: tickets::summary(other),
                created_by: s.created_by,
                created_at: s.created_at,
            })
        })
        .collect())
}

/// Whether `from` is already linked to `to` this way (made from either end).
pub async fn exists(
    conn: &mut AnyConnection,
    tenant: Uuid,
    from: Uuid,
    link_type: LinkType,
    to: Uuid,
) -> Result<bool> {
    Ok(seen_from(conn, tenant, from)
        .await?
        .iter()
        .any(|s| s.other == to && s.link_type == link_type))
}

/// Whether following links of type `up` from `from` (its parents, theirs,
/// and so on, for `child_of`; its causes and theirs for `caused_by`)
/// reaches `to`. Each ticket is visited once, so a chain made contradictory
/// before this check existed still ends.
pub async fn reaches(
    conn: &mut AnyConnection,
    tenant: Uuid,
    from: Uuid,
    up: LinkType,
    to: Uuid,
) -> Result<bool> {
    let mut seen = std::collections::HashSet::from([from]);
    let mut next = vec![from];
    while let Some(ticket) = next.pop() {
        for s in seen_from(conn, tenant, ticket).await? {
            if s.link_type != up {
                continue;
            }
            if s.other == to {
                return Ok(true);
            }
            if seen.insert(s.other) {
                next.push(s.other);
            }
        }
    }
    Ok(false)
}

/// Removes link `id` of `ticket`; false if it has no such link.
pub async fn delete(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
    id: Uuid,
) -> Result<bool> {
    let done = sqlx::query(
        "DELETE FROM ticket_links WHERE tenant_id = $1 AND id = $2 AND (from_id = $3 OR to_id = $3)",
    )
    .bind(tenant.to_string())
    .bind(id.to_string())
    .bind(ticket.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The tickets of `kind` linked to `ticket` by `link_type` (read from `ticket`).
pub async fn linked(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
    link_type: LinkType,
    kind: TicketKind,
) -> Result<Vec<contracts::ticket::TicketV1>> {
    let ids: Vec<Uuid> = seen_from(conn, tenant, ticket)
        .await?
        .into_iter()
        .filter(|s| s.link_type == link_type)
        .map(|s| s.other)
        .collect();
    Ok(tickets::by_ids(conn, tenant, &ids)
        .await?
        .into_iter()
        .filter(|t| t.kind == kind)
        .collect())
}
