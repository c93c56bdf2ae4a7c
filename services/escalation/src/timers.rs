//! The timer store: each timepoint still to fire is a row, found by due
//! time through an index of only the unfired ones, so firing costs work in
//! proportion to what is due, not to how many tickets are open.
//!
//! Firing claims due rows, marks them fired and writes their events to the
//! outbox in one transaction: a timer fires once. On PostgreSQL replicas
//! claim with `FOR UPDATE SKIP LOCKED`, so two never take the same timer
//! and a replica killed mid-firing leaves its rows to the others (its
//! transaction never committed). SQLite has one writer at a time. A timer
//! found more than [`LATE_AFTER_MS`] after it was due (after a restart, or
//! behind a backlog) fires all the same, marked late.

use contracts::Envelope;
use contracts::escalation::TimepointReachedV1;
use jiff::Timestamp;
use runtime::outbox::{self, Outgoing};
use runtime::store::{Backend, Param, Store, StoreError, bind_all, insert_many, placeholders};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

/// How late a firing may be and still count as on time.
pub const LATE_AFTER_MS: i64 = 1_000;

/// One timepoint of one ticket's target, to fire at `due_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    /// `response` or `resolve`.
    pub target: String,
    pub timepoint: u32,
    pub due_at: Timestamp,
}

/// A timer that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub timer: Timer,
    pub fired_at: Timestamp,
    pub late: bool,
}

fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn from_micros(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Replaces the unfired timers of a ticket's target with `timers` (after a
/// start, a resume or a recompute). Fired ones stay: they happened.
pub async fn schedule(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
    target: &str,
    timers: &[Timer],
) -> Result<(), StoreError> {
    cancel(conn, tenant, ticket, target).await?;
    let rows = timers
        .iter()
        .map(|t| {
            vec![
                Param::from(Uuid::now_v7().to_string()),
                Param::from(t.tenant_id.to_string()),
                Param::from(t.ticket_id.to_string()),
                Param::from(t.target.clone()),
                Param::from(i64::from(t.timepoint)),
                Param::from(micros(t.due_at)),
            ]
        })
        .collect();
    insert_many(
        conn,
        "timers",
        &[
            "id",
            "tenant_id",
            "ticket_id",
            "target",
            "timepoint",
            "due_at",
        ],
        rows,
    )
    .await?;
    Ok(())
}

/// Drops the unfired timers of a ticket's target (paused, or met).
pub async fn cancel(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
    target: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM timers WHERE tenant_id = $1 AND ticket_id = $2 AND target = $3 \
         AND fired_at IS NULL",
    )
    .bind(tenant.to_string())
    .bind(ticket.to_string())
    .bind(target)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// When the next unfired timer is due, for the poller to sleep until.
pub async fn next_due(store: &Store) -> Result<Option<Timestamp>, StoreError> {
    let next: Option<i64> =
        sqlx::query_scalar("SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL")
            .fetch_one(store.pool())
            .await?;
    Ok(next.map(from_micros))
}

/// Fires up to `max` timers due by `now`, each once; returns them.
pub async fn fire_due(store: &Store, now: Timestamp, max: i64) -> Result<Vec<Fired>, StoreError> {
    let mut tx = store.begin().await?;
    let lock = match store.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        // The transaction holds SQLite's one write lock already.
        Backend::Sqlite => "",
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, tenant_id, ticket_id, target, timepoint, due_at FROM timers \
         WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT $2{lock}"
    )))
    .bind(micros(now))
    .bind(max)
    .fetch_all(&mut *tx)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut fired = Vec::with_capacity(rows.len());
    for r in &rows {
        let uuid = |i: usize| -> Result<Uuid, StoreError> {
            let s: String = r.try_get(i)?;
            Uuid::parse_str(&s).map_err(|e| StoreError::from(sqlx::Error::Decode(Box::new(e))))
        };
        ids.push(r.try_get::<String, _>(0)?);
        let due_at = from_micros(r.try_get(5)?);
        let timepoint: i64 = r.try_get(4)?;
        fired.push(Fired {
            timer: Timer {
                tenant_id: uuid(1)?,
                ticket_id: uuid(2)?,
                target: r.try_get(3)?,
                timepoint: u32::try_from(timepoint).unwrap_or(0),
                due_at,
            },
            fired_at: now,
            late: micros(now) - micros(due_at) > LATE_AFTER_MS * 1_000,
        });
    }
    if fired.is_empty() {
        tx.commit().await?;
        return Ok(fired);
    }
    for late in [false, true] {
        let these: Vec<Param> = ids
            .iter()
            .zip(&fired)
            .filter(|(_, f)| f.late == late)
            .map(|(id, _)| Param::from(id.clone()))
            .collect();
        if these.is_empty() {
            continue;
        }
        let sql = format!(
            "UPDATE timers SET fired_at = $1, late = $2 WHERE id IN ({})",
            placeholders(3, these.len())
        );
        let mut args = vec![Param::from(micros(now)), Param::from(i64::from(late))];
        args.extend(these);
        bind_all(sql, args).execute(&mut *tx).await?;
    }
    let events: Vec<Outgoing> = fired.iter().map(event).collect();
    outbox::enqueue(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(fired)
}

fn to_time(t: Timestamp) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn event(f: &Fired) -> Outgoing {
    let reached = TimepointReachedV1 {
        ticket_id: f.timer.ticket_id,
        target: f.timer.target.clone(),
        timepoint: f.timer.timepoint,
        due_at: to_time(f.timer.due_at),
        fired_at: to_time(f.fired_at),
        late: f.late,
    };
    Outgoing::event::<TimepointReachedV1>(Envelope::new(f.timer.tenant_id, &reached))
}
