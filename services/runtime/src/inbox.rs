//! The idempotent inbox: a consumer records each message id it processed in
//! the same transaction as the effect, with the reply it gave. A redelivered
//! message then changes nothing and gets the same reply.

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::store::{Param, StoreError, bind_all, insert_many, micros, placeholders};

/// Which of `message_ids` this consumer processed before, with the reply
/// each was given (if any).
pub async fn check(
    conn: &mut AnyConnection,
    consumer: &str,
    message_ids: &[Uuid],
) -> Result<HashMap<Uuid, Option<String>>, StoreError> {
    if message_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT message_id, reply FROM inbox WHERE consumer = $1 AND message_id IN ({})",
        placeholders(2, message_ids.len())
    );
    let mut params = vec![Param::from(consumer)];
    params.extend(message_ids.iter().map(|id| Param::from(id.to_string())));
    let rows = bind_all(sql, params).fetch_all(&mut *conn).await?;
    let mut seen = HashMap::new();
    for row in rows {
        let reply: Option<String> = row.try_get("reply")?;
        seen.insert(crate::store::id_at(&row, "message_id")?, reply);
    }
    Ok(seen)
}

/// Records messages as processed, each with its reply. If another replica
/// recorded one first the insert fails and the caller's transaction rolls
/// back: the message is retried and then answered from the inbox.
pub async fn record(
    conn: &mut AnyConnection,
    consumer: &str,
    processed: Vec<(Uuid, Option<String>)>,
) -> Result<(), StoreError> {
    let at = micros(time::OffsetDateTime::now_utc());
    let rows = processed
        .into_iter()
        .map(|(id, reply)| {
            vec![
                Param::from(consumer),
                Param::from(id.to_string()),
                Param::from(reply),
                Param::from(at),
            ]
        })
        .collect();
    insert_many(
        conn,
        "inbox",
        &["consumer", "message_id", "reply", "processed_at"],
        rows,
    )
    .await?;
    Ok(())
}
