//! The transactional outbox: events are written in the same transaction as
//! the state change, and a relay publishes them after commit. A row is
//! deleted only after the bus confirmed it, so a crash between commit and
//! publish delays an event but never loses it (consumers dedupe by message
//! id, so a second publish after a crash changes nothing).

use std::sync::Arc;
use std::time::Duration;

use contracts::{Envelope, Event};
use futures_util::future::join_all;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use sqlx::AnyConnection;

use crate::bus::Bus;
use crate::store::{
    Backend, Param, Store, StoreError, bind_all, insert_many, json_text, micros, placeholders,
};

/// How many events one relay step publishes at most.
const BATCH: i64 = 256;
/// How long the relay lets events gather before it publishes a batch.
const LINGER: Duration = Duration::from_millis(10);
/// How often the relay looks even if nobody woke it (events written by
/// another replica, or left by a crash).
const POLL: Duration = Duration::from_millis(500);

/// An event on its way to the outbox.
pub struct Outgoing {
    pub routing_key: std::borrow::Cow<'static, str>,
    pub envelope: Envelope,
}

impl Outgoing {
    pub fn event<E: Event>(envelope: Envelope) -> Self {
        Self {
            routing_key: E::ROUTING_KEY.into(),
            envelope,
        }
    }

    /// A message for one addressee, whose routing key names them
    /// (`supplier.<id>.assignment`).
    pub fn addressed(routing_key: String, envelope: Envelope) -> Self {
        Self {
            routing_key: routing_key.into(),
            envelope,
        }
    }
}

/// Writes `events` to the outbox inside the caller's transaction.
pub async fn enqueue(conn: &mut AnyConnection, events: &[Outgoing]) -> Result<(), StoreError> {
    let rows = events
        .iter()
        .map(|e| {
            Ok(vec![
                Param::from(e.envelope.message_id.to_string()),
                Param::from(e.routing_key.to_string()),
                Param::from(json_text(&e.envelope)?),
                Param::from(micros(e.envelope.occurred_at)),
            ])
        })
        .collect::<Result<_, StoreError>>()?;
    insert_many(
        conn,
        "outbox",
        &["message_id", "routing_key", "envelope", "created_at"],
        rows,
    )
    .await?;
    Ok(())
}

/// An event waiting in the outbox.
struct Pending {
    message_id: String,
    routing_key: String,
    envelope: String,
}

impl Pending {
    fn read(row: &sqlx::any::AnyRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        Ok(Self {
            message_id: row.try_get("message_id")?,
            routing_key: row.try_get("routing_key")?,
            envelope: row.try_get("envelope")?,
        })
    }
}

fn pending(rows: &[sqlx::any::AnyRow]) -> sqlx::Result<Vec<Pending>> {
    rows.iter().map(Pending::read).collect()
}

/// Deletes what was confirmed and counts an attempt on what was not.
async fn settle(
    conn: &mut AnyConnection,
    outcomes: Vec<(&str, Result<(), String>)>,
) -> Result<usize, StoreError> {
    let mut sent = Vec::new();
    let mut failed = Vec::new();
    for (id, outcome) in outcomes {
        match outcome {
            Ok(()) => sent.push(Param::from(id)),
            Err(reason) => {
                tracing::warn!(message_id = %id, %reason, "outbox publish failed; will retry");
                failed.push(Param::from(id));
            }
        }
    }
    let count = sent.len();
    for (sql, ids) in [
        ("DELETE FROM outbox WHERE message_id IN", sent),
        (
            "UPDATE outbox SET attempts = attempts + 1 WHERE message_id IN",
            failed,
        ),
    ] {
        if !ids.is_empty() {
            let sql = format!("{sql} ({})", placeholders(1, ids.len()));
            bind_all(sql, ids).execute(&mut *conn).await?;
        }
    }
    metrics::counter!("outbox_published_total").increment(count as u64);
    Ok(count)
}

#[derive(Clone)]
pub struct Relay {
    store: Store,
    bus: Arc<dyn Bus>,
    wake: Arc<Notify>,
}

impl Relay {
    pub fn new(store: Store, bus: Arc<dyn Bus>) -> Self {
        Self {
            store,
            bus,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Tells the relay there is something to publish (call after commit).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Publishes one batch of pending events; returns how many were
    /// confirmed (0: nothing to do).
    pub async fn relay_once(&self) -> Result<usize, StoreError> {
        const SELECT: &str =
            "SELECT message_id, routing_key, envelope FROM outbox ORDER BY message_id LIMIT $1";
        match self.store.backend() {
            // Replicas lock the rows they publish and skip each other's, so
            // an event is not published twice by two relays.
            Backend::Postgres => {
                let mut tx = self.store.begin().await?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{SELECT} FOR UPDATE SKIP LOCKED"
                )))
                .bind(BATCH)
                .fetch_all(&mut *tx)
                .await?;
                let rows = pending(&rows)?;
                let outcomes = self.publish(&rows).await;
                let sent = settle(&mut tx, outcomes).await?;
                tx.commit().await?;
                Ok(sent)
            }
            // One process, and the embedded bus's publish waits for consumers
            // that may write this same file: hold no lock while publishing.
            Backend::Sqlite => {
                let rows = sqlx::query(SELECT)
                    .bind(BATCH)
                    .fetch_all(self.store.pool())
                    .await?;
                let rows = pending(&rows)?;
                if rows.is_empty() {
                    return Ok(0);
                }
                let outcomes = self.publish(&rows).await;
                let mut tx = self.store.begin().await?;
                let sent = settle(&mut tx, outcomes).await?;
                tx.commit().await?;
                Ok(sent)
            }
        }
    }

    async fn publish<'r>(&self, rows: &'r [Pending]) -> Vec<(&'r str, Result<(), String>)> {
        join_all(rows.iter().map(|row| async move {
            let outcome = match serde_json::from_str::<Envelope>(&row.envelope) {
                Ok(envelope) => self
                    .bus
                    .publish(&row.routing_key, &envelope)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("outbox row is not an envelope: {e}")),
            };
            (row.message_id.as_str(), outcome)
        }))
        .await
    }

    /// Relays until `stop`, then once more to flush what committed meanwhile.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            let outcome = self.relay_once().await;
            let idle = match &outcome {
                Ok(n) => *n == 0,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay step failed");
                    true
                }
            };
            if stop.is_cancelled() {
                break;
            }
            if idle {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
            // Let a few commits gather before the next step: each step is a
            // write transaction of its own, which on SQLite takes the same
            // lock (and fsync) as the commands whose events it publishes.
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::sleep(LINGER) => {}
            }
        }
        // Flush what committed meanwhile, batch by batch.
        loop {
            match self.relay_once().await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "final outbox flush failed; rows stay for the next start");
                    break;
                }
            }
        }
    }

    /// Rows not yet published (for tests and `/metrics`).
    pub async fn pending(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
            .fetch_one(self.store.pool())
            .await?)
    }
}
