//! The mail queue: every email, rendered when its event was handled, and
//! what became of it. Rows are written in the same transaction as the
//! event's inbox record, so an event makes its emails once; a sender claims
//! due rows with a lease (`next_attempt_at` moved past the delivery's
//! timeout) so replicas and restarts never hold one email twice at once.

use contracts::notification::{DeliveryV1, EmailKind, MAX_DELIVERIES, MailboxV1};
use runtime::store::{
    Backend, Param, Store, StoreError, bind_all, from_micros, id_at, insert_many, micros,
    placeholders, uuid_at,
};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::message::Outgoing;

/// One email on its way.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub id: Uuid,
    pub tenant: Uuid,
    pub kind: EmailKind,
    pub language: String,
    pub mail: Outgoing,
}

/// A claimed email and how many times it was tried before.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub email: Email,
    pub attempts: i64,
    pub created_at: OffsetDateTime,
}

const COLUMNS: &[&str] = &[
    "id",
    "tenant_id",
    "ticket_id",
    "kind",
    "language",
    "to_email",
    "to_name",
    "from_email",
    "from_name",
    "reply_to_email",
    "reply_to_name",
    "subject",
    "text_body",
    "html_body",
    "message_id",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
];

/// Queues `emails`, due now, inside the caller's transaction.
pub async fn enqueue(
    conn: &mut AnyConnection,
    emails: &[Email],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let at = micros(now);
    let rows = emails
        .iter()
        .map(|e| {
            vec![
                Param::from(e.id.to_string()),
                Param::from(e.tenant.to_string()),
                Param::from(e.mail.ticket_id.map(|t| t.to_string())),
                Param::from(e.kind.as_str()),
                Param::from(e.language.clone()),
                Param::from(e.mail.to.email.clone()),
                Param::from(e.mail.to.name.clone()),
                Param::from(e.mail.from.email.clone()),
                Param::from(e.mail.from.name.clone()),
                Param::from(e.mail.reply_to.as_ref().map(|r| r.email.clone())),
                Param::from(e.mail.reply_to.as_ref().and_then(|r| r.name.clone())),
                Param::from(e.mail.subject.clone()),
                Param::from(e.mail.text.clone()),
                Param::from(e.mail.html.clone()),
                Param::from(e.mail.message_id.clone()),
                Param::from("queued"),
                Param::from(0i64),
                Param::from(at),
                Param::from(at),
            ]
        })
        .collect();
    insert_many(conn, "emails", COLUMNS, rows).await?;
    Ok(())
}

const SELECT: &str = "SELECT id, tenant_id, ticket_id, kind, language, to_email, to_name, \
    from_email, from_name, subject, text_body, html_body, message_id, attempts, created_at, \
    status, last_error, sent_at, reply_to_email, reply_to_name FROM emails";

fn email(r: &sqlx::any::AnyRow) -> sqlx::Result<Email> {
    let kind: String = r.try_get("kind")?;
    Ok(Email {
        id: id_at(r, "id")?,
        tenant: id_at(r, "tenant_id")?,
        kind: EmailKind::parse(&kind).unwrap_or(EmailKind::Logged),
        language: r.try_get("language")?,
        mail: Outgoing {
            to: MailboxV1 {
                email: r.try_get("to_email")?,
                name: r.try_get("to_name")?,
            },
            from: MailboxV1 {
                email: r.try_get("from_email")?,
                name: r.try_get("from_name")?,
            },
            reply_to: r
                .try_get::<Option<String>, _>("reply_to_email")?
                .map(|email| -> sqlx::Result<MailboxV1> {
                    Ok(MailboxV1 {
                        email,
                        name: r.try_get("reply_to_name")?,
                    })
                })
                .transpose()?,
            subject: r.try_get("subject")?,
            text: r.try_get("text_body")?,
            html: r.try_get("html_body")?,
            message_id: r.try_get("message_id")?,
            ticket_id: uuid_at(r, "ticket_id")?,
        },
    })
}

/// Claims up to `limit` due emails for `lease`: none of them is due again
/// until the lease ends, so another sender leaves them alone.
pub async fn claim(
    store: &Store,
    now: OffsetDateTime,
    limit: i64,
    lease: time::Duration,
) -> Result<Vec<Claimed>, StoreError> {
    let mut tx = store.begin().await?;
    let lock = match store.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // Emails about one ticket reach each recipient in the order they were
    // written (ids are time-ordered), also after the relay was down and
    // their retries came due together: one waits while an earlier one to
    // the same address about the same ticket is still queued, so a round
    // (which delivers concurrently) holds at most one of them.
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE status = 'queued' AND next_attempt_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM emails earlier WHERE earlier.tenant_id = emails.tenant_id \
             AND earlier.ticket_id = emails.ticket_id AND earlier.to_email = emails.to_email \
             AND earlier.status = 'queued' AND earlier.id < emails.id) \
         ORDER BY next_attempt_at LIMIT {limit}{lock}"
    )))
    .bind(micros(now))
    .fetch_all(&mut *tx)
    .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for r in &rows {
        claimed.push(Claimed {
            email: email(r)?,
            attempts: r.try_get("attempts")?,
            created_at: from_micros(r.try_get("created_at")?),
        });
    }
    if !claimed.is_empty() {
        let ids: Vec<Uuid> = claimed.iter().map(|c| c.email.id).collect();
        set_where(
            &mut tx,
            "next_attempt_at = $1",
            vec![Param::from(micros(now + lease))],
            &ids,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Extends the lease on `ids` (those still queued) to `until`: their
/// sender is alive and still delivering them.
pub async fn renew(store: &Store, ids: &[Uuid], until: OffsetDateTime) -> Result<(), StoreError> {
    let mut conn = store.pool().acquire().await?;
    set_where(
        &mut conn,
        "next_attempt_at = $1",
        vec![Param::from(micros(until))],
        ids,
    )
    .await
}

/// `UPDATE emails SET <set> WHERE id IN (ids)`, `set`'s parameters first.
async fn set_where(
    conn: &mut AnyConnection,
    set: &str,
    mut params: Vec<Param>,
    ids: &[Uuid],
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE emails SET {set} WHERE status = 'queued' AND id IN ({})",
        placeholders(params.len() + 1, ids.len())
    );
    params.extend(ids.iter().map(|id| Param::from(id.to_string())));
    bind_all(sql, params).execute(&mut *conn).await?;
    Ok(())
}

// What a sender records of its deliveries applies only to emails still
// queued: nothing overwrites a delivery already recorded.

/// Marks `ids` delivered (the relay accepted them).
pub async fn sent(store: &Store, ids: &[Uuid], now: OffsetDateTime) -> Result<(), StoreError> {
    let mut conn = store.pool().acquire().await?;
    set_where(
        &mut conn,
        "status = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL",
        vec![Param::from(micros(now))],
        ids,
    )
    .await
}

/// Puts `id` back in the queue until `next`, after a failure that may pass.
pub async fn retry(
    store: &Store,
    id: Uuid,
    error: &str,
    next: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut conn = store.pool().acquire().await?;
    set_where(
        &mut conn,
        "attempts = attempts + 1, last_error = $1, next_attempt_at = $2",
        vec![Param::from(error), Param::from(micros(next))],
        &[id],
    )
    .await
}

/// Records that `id` will never go: the relay refused it for good.
pub async fn failed(store: &Store, id: Uuid, error: &str) -> Result<(), StoreError> {
    let mut conn = store.pool().acquire().await?;
    set_where(
        &mut conn,
        "status = 'failed', attempts = attempts + 1, last_error = $1",
        vec![Param::from(error)],
        &[id],
    )
    .await
}

/// Makes every waiting email of `tenant` due now: its relay is back, so
/// what waited for it goes at once instead of at the end of its back-off.
pub async fn due_now(store: &Store, tenant: Uuid, now: OffsetDateTime) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE emails SET next_attempt_at = $1 \
         WHERE status = 'queued' AND attempts > 0 AND next_attempt_at > $1 AND tenant_id = $2",
    )
    .bind(micros(now))
    .bind(tenant.to_string())
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected())
}

/// When the next queued email falls due, if any.
pub async fn next_due(store: &Store) -> Result<Option<OffsetDateTime>, StoreError> {
    let at: Option<i64> =
        sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM emails WHERE status = 'queued'")
            .fetch_one(store.pool())
            .await?;
    Ok(at.map(from_micros))
}

/// The emails about `ticket`, newest first.
pub async fn for_ticket(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
) -> Result<Vec<DeliveryV1>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY created_at DESC, id DESC \
         LIMIT {MAX_DELIVERIES}"
    )))
    .bind(tenant.to_string())
    .bind(ticket.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let e = email(r)?;
        let sent_at: Option<i64> = r.try_get("sent_at")?;
        out.push(DeliveryV1 {
            id: e.id,
            kind: e.kind,
            language: e.language,
            to: e.mail.to,
            from: e.mail.from,
            subject: e.mail.subject,
            message_id: e.mail.message_id,
            status: r.try_get("status")?,
            attempts: r.try_get("attempts")?,
            last_error: r.try_get("last_error")?,
            created_at: from_micros(r.try_get("created_at")?),
            sent_at: sent_at.map(from_micros),
        });
    }
    Ok(out)
}

/// The ticket the desk's email with this Message-ID was about, if the desk
/// sent one.
pub async fn ticket_of_message(
    conn: &mut AnyConnection,
    tenant: Uuid,
    message_id: &str,
) -> Result<Option<Uuid>, StoreError> {
    let row = sqlx::query("SELECT ticket_id FROM emails WHERE message_id = $1 AND tenant_id = $2")
        .bind(message_id)
        .bind(tenant.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => uuid_at(&r, "ticket_id")?,
        None => None,
    })
}

/// Whether the desk sent `tenant` a message with this Message-ID (mail
/// that came back to it: a loop).
pub async fn is_ours(
    conn: &mut AnyConnection,
    tenant: Uuid,
    message_id: &str,
) -> Result<bool, StoreError> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM emails WHERE message_id = $1 AND tenant_id = $2")
            .bind(message_id)
            .bind(tenant.to_string())
            .fetch_one(&mut *conn)
            .await?;
    Ok(n > 0)
}
