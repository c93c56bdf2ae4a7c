//! The idempotent inbox: a consumer records each message id it processed in
//! the same transaction as the effect, with the reply it gave. A redelivered
//! message then changes nothing and gets the same reply.

use uuid::Uuid;

use sqlx::AnyConnection;

use crate::store::{StoreError, micros};

pub enum Seen {
    New,
    /// Processed before; here is the reply that was given (if any).
    Done(Option<String>),
}

pub async fn check(
    tx: &mut AnyConnection,
    consumer: &str,
    message_id: Uuid,
) -> Result<Seen, StoreError> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT reply FROM inbox WHERE consumer = $1 AND message_id = $2")
            .bind(consumer)
            .bind(message_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    Ok(match row {
        Some((reply,)) => Seen::Done(reply),
        None => Seen::New,
    })
}

/// Records `message_id` as processed. If another replica recorded it first
/// the insert fails and the caller's transaction rolls back: the message is
/// retried and then answered from the inbox.
pub async fn record(
    tx: &mut AnyConnection,
    consumer: &str,
    message_id: Uuid,
    reply: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO inbox (consumer, message_id, reply, processed_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(consumer)
    .bind(message_id.to_string())
    .bind(reply)
    .bind(micros(time::OffsetDateTime::now_utc()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}
