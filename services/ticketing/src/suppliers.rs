//! Suppliers: who they are, their tokens, and the updates they send over
//! the queue (see [`contracts::supplier`] for the conversation).
//!
//! An update is checked in this order, and the first failure decides:
//! it is a `SupplierUpdateV1` at all; the supplier and its token match (in
//! the envelope's tenant); then the command runs, and in its transaction
//! the incident must be assigned to that supplier and the desk must take the
//! change (its lifecycle may refuse it). Anything refused is
//! dead-lettered with the reason, and, once the supplier is known to be who
//! it says, it is also told why on its own queue. An accepted update runs
//! as the same command an agent's would, under the supplier's name, with the
//! supplier's message id as its idempotency key.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::commands::TicketingChange;
use contracts::common::ReplyV1;
use contracts::incident::{ActionKind, IncidentStatus};
use contracts::supplier::*;
use contracts::ticket::{AddActionV1, ChangeTicketStatusV1, TicketKind};
use contracts::{Actor, Envelope, ErrorBody, ErrorCode, Message, Role};
use runtime::bus::{Handler, HandlerError, QueueSpec};
use runtime::commands::Answers;
use runtime::ids::derived;
use runtime::outbox::{self, Outgoing, Relay};
use runtime::store::{Store, from_micros, id_at, micros};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::commands::Commands;
use crate::error::{Error, Result};
use crate::validate::{MAX_SUMMARY, check_text};

/// The queue the supplier updates collect in (the transport prefixes it).
pub const INBOUND_QUEUE: &str = "ticketing.supplier-updates";

pub fn inbound_spec() -> QueueSpec {
    // One at a time, in the order the supplier sent them: "in progress"
    // then "resolved" must not overtake each other on two replicas.
    QueueSpec {
        exchange: Some(SUPPLIER_EXCHANGE.to_owned()),
        ..QueueSpec::events(INBOUND_QUEUE, &[UPDATE_KEY], 1).in_order()
    }
}

/// The queue supplier `id` consumes, bound to what is addressed to it.
pub fn outbound_spec(id: Uuid) -> QueueSpec {
    QueueSpec::events(&supplier_queue(id), &[&supplier_key(id, "#")], 16)
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn supplier(r: &sqlx::any::AnyRow) -> sqlx::Result<SupplierV1> {
    Ok(SupplierV1 {
        id: id_at(r, "id")?,
        name: r.try_get("name")?,
        created_at: from_micros(r.try_get("created_at")?),
    })
}

/// The id of the supplier registered by `env`: fixed by the command, so
/// that its queue can be declared before the command runs.
pub fn id_for(env: &Envelope) -> Uuid {
    derived(&[b"supplier", env.message_id.as_bytes()])
}

pub async fn register(
    tx: &mut AnyConnection,
    env: &Envelope,
    cmd: RegisterSupplierV1,
    now: OffsetDateTime,
) -> Result<SupplierRegisteredV1> {
    if cmd.actor.role != Role::Admin {
        return Err(Error::not_found("supplier"));
    }
    check_text("name", &cmd.name, MAX_SUMMARY, true)?;
    let name = cmd.name.trim().to_owned();
    let taken: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM suppliers WHERE tenant_id = $1 AND name_folded = $2",
    )
    .bind(env.tenant_id.to_string())
    .bind(name.to_lowercase())
    .fetch_one(&mut *tx)
    .await?;
    if taken > 0 {
        return Err(Error::Refused(ErrorBody::new(
            ErrorCode::Conflict,
            format!("a supplier called {name} exists"),
        )));
    }
    let id = id_for(env);
    let token = new_token();
    sqlx::query(
        "INSERT INTO suppliers (id, tenant_id, name, name_folded, token_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(env.tenant_id.to_string())
    .bind(&name)
    .bind(name.to_lowercase())
    .bind(digest(&token))
    .bind(micros(now))
    .execute(&mut *tx)
    .await?;
    Ok(SupplierRegisteredV1 {
        supplier: SupplierV1 {
            id,
            name,
            created_at: now,
        },
        token,
        queue: supplier_queue(id),
    })
}

fn new_token() -> String {
    format!("sup_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

pub async fn rotate(
    tx: &mut AnyConnection,
    env: &Envelope,
    cmd: RotateSupplierTokenV1,
) -> Result<SupplierRegisteredV1> {
    if cmd.actor.role != Role::Admin {
        return Err(Error::not_found("supplier"));
    }
    let supplier = find(tx, env.tenant_id, cmd.supplier)
        .await?
        .ok_or_else(|| Error::not_found("supplier"))?;
    let token = new_token();
    sqlx::query("UPDATE suppliers SET token_hash = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(digest(&token))
        .bind(env.tenant_id.to_string())
        .bind(supplier.id.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(SupplierRegisteredV1 {
        queue: supplier_queue(supplier.id),
        supplier,
        token,
    })
}

pub async fn list(conn: &mut AnyConnection, tenant: Uuid) -> Result<Vec<SupplierV1>> {
    let rows = sqlx::query(
        "SELECT id, name, created_at FROM suppliers WHERE tenant_id = $1 ORDER BY name_folded",
    )
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(supplier).collect::<sqlx::Result<_>>()?)
}

pub async fn find(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<Option<SupplierV1>> {
    let row =
        sqlx::query("SELECT id, name, created_at FROM suppliers WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.as_ref().map(supplier).transpose()?)
}

/// The supplier, if `token` is its token in `tenant`.
async fn authenticate(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
    token: &str,
) -> Result<Option<SupplierV1>> {
    let row = sqlx::query(
        "SELECT id, name, created_at FROM suppliers WHERE tenant_id = $1 AND id = $2 \
         AND token_hash = $3",
    )
    .bind(tenant.to_string())
    .bind(id.to_string())
    .bind(digest(token))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(supplier).transpose()?)
}

/// Consumes the supplier updates.
pub struct Inbound {
    pub store: Store,
    pub commands: Arc<Commands>,
    pub relay: Relay,
}

/// What became of an update, short of a retry.
enum Verdict {
    Done,
    /// Refused; `Some` supplier when it proved who it is (it is told why).
    Refused(Option<Uuid>, String),
}

#[async_trait]
impl Handler for Inbound {
    async fn handle(&self, env: Envelope) -> std::result::Result<Option<Envelope>, HandlerError> {
        match self.take(&env).await {
            Ok(Verdict::Done) => Ok(None),
            Ok(Verdict::Refused(supplier, reason)) => {
                if let Some(id) = supplier {
                    self.tell(id, &env, &reason)
                        .await
                        .map_err(|e| HandlerError::Retry(e.to_string()))?;
                }
                tracing::info!(message_id = %env.message_id, %reason, "supplier update refused");
                Err(HandlerError::Reject(reason))
            }
            Err(e) => Err(HandlerError::Retry(e.to_string())),
        }
    }
}

impl Inbound {
    async fn take(&self, env: &Envelope) -> Result<Verdict> {
        if env.message_type != SupplierUpdateV1::TYPE {
            return Ok(Verdict::Refused(
                None,
                format!("expected a SupplierUpdateV1, not {}", env.message_type),
            ));
        }
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(runtime::store::StoreError::from)?;
        // Who it claims to be, read loosely, so that a supplier whose
        // message is malformed still hears why.
        let claimed = env
            .payload
            .get("supplier_id")
            .and_then(|v| v.as_str())
            .and_then(|s| Uuid::parse_str(s).ok());
        let token = env
            .payload
            .get("token")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let Some(supplier) = (match claimed {
            Some(id) => authenticate(&mut conn, env.tenant_id, id, token).await?,
            None => None,
        }) else {
            return Ok(Verdict::Refused(
                None,
                "unknown supplier, or not its token".into(),
            ));
        };
        let refused = |reason: String| Ok(Verdict::Refused(Some(supplier.id), reason));
        let update: SupplierUpdateV1 = match env.decode() {
            Ok(u) => u,
            Err(e) => return refused(format!("not a valid SupplierUpdateV1: {e}")),
        };
        let actor = Actor {
            role: Role::Integration,
            id: supplier.id,
            name: supplier.name.clone(),
        };
        drop(conn);
        // Whether the incident is the supplier's is checked by the command,
        // in the transaction that applies it.
        let ticket = update.incident.clone();
        let change = match update.update {
            SupplierUpdate::Note { text } => TicketingChange::AddActionV1(AddActionV1 {
                actor,
                kind: TicketKind::Incident,
                ticket,
                action_kind: ActionKind::Note,
                text,
                public: false,
                email_customer: false,
                knowledge_base: false,
                minutes: None,
                supplier: Some(supplier.id),
            }),
            SupplierUpdate::Status { status } => {
                if !matches!(status, IncidentStatus::InProgress | IncidentStatus::Pending) {
                    return refused(format!(
                        "a supplier sets in_progress or pending, not {}; send a resolution to resolve",
                        status.as_str()
                    ));
                }
                TicketingChange::ChangeTicketStatusV1(ChangeTicketStatusV1 {
                    actor,
                    kind: TicketKind::Incident,
                    ticket,
                    if_version: None,
                    to: status.as_str().to_owned(),
                    resolution: None,
                    outcome: None,
                    // The customer sees the reason, and is not told who the
                    // supplier is.
                    pending_reason: Some("waiting for a third party".to_owned()),
                    review: None,
                    backout_reason: None,
                    supplier: Some(supplier.id),
                })
            }
            SupplierUpdate::Resolution { resolution } => {
                TicketingChange::ChangeTicketStatusV1(ChangeTicketStatusV1 {
                    actor,
                    kind: TicketKind::Incident,
                    ticket,
                    if_version: None,
                    to: IncidentStatus::Resolved.as_str().to_owned(),
                    resolution: Some(resolution),
                    outcome: None,
                    pending_reason: None,
                    review: None,
                    backout_reason: None,
                    supplier: Some(supplier.id),
                })
            }
        };
        // The supplier's message id keys the command, within its tenant and
        // its own messages: a redelivered update is answered from the inbox,
        // not done twice, and no other sender's id can stand for it.
        let key = derived(&[
            env.tenant_id.as_bytes(),
            supplier.id.as_bytes(),
            env.message_id.as_bytes(),
        ]);
        let keyed = change.caused_by(env).with_id(key);
        let reply = match self.commands.change(&keyed, change).await {
            Ok(reply) => reply,
            Err(HandlerError::Retry(e)) => return Err(Error::Retry(e)),
            Err(HandlerError::Reject(reason)) => return refused(reason),
        };
        match reply {
            ReplyV1::Ok(_) => Ok(Verdict::Done),
            // Not there, or not this supplier's: one answer, so that a
            // supplier cannot learn which references exist.
            ReplyV1::Error(body)
                if matches!(body.code, ErrorCode::NotFound | ErrorCode::Forbidden) =>
            {
                refused(format!(
                    "{} is not an incident assigned to you",
                    update.incident
                ))
            }
            ReplyV1::Error(body) => refused(body.message),
        }
    }

    /// Tells supplier `id` why its message `env` was refused.
    async fn tell(&self, id: Uuid, env: &Envelope, reason: &str) -> Result<()> {
        let notice = env.caused(&SupplierMessageRejectedV1 {
            message_id: env.message_id,
            reason: reason.to_owned(),
        });
        let mut tx = self.store.begin().await?;
        outbox::enqueue(
            &mut tx,
            &[Outgoing::addressed(supplier_key(id, "rejected"), notice)],
        )
        .await?;
        tx.commit()
            .await
            .map_err(runtime::store::StoreError::from)?;
        self.relay.wake();
        Ok(())
    }
}
