//! The timer store: each timepoint still to fire is a row, found by due
//! time through an index of only the unfired ones, so firing costs work in
//! proportion to what is due, not to how many tickets are open.
//!
//! A firer claims due rows and marks them fired in the transaction that
//! writes what they did (see [`crate::firing`]): a timer fires once. On
//! PostgreSQL replicas claim with `FOR UPDATE SKIP LOCKED`, so two never
//! take the same timer and a replica killed mid-firing leaves its rows to
//! the others (its transaction never committed). SQLite has one writer at a
//! time. A timer found more than [`LATE_AFTER_MS`] after it was due (after a
//! restart, or behind a backlog) fires all the same, marked late.

use jiff::Timestamp;
use runtime::store::{
    Backend, Param, Store, StoreError, bind_all, id_at, insert_many, placeholders,
};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::tickets::{Which, from_micros};

/// How late a firing may be and still count as on time.
pub const LATE_AFTER_MS: i64 = 1_000;

/// One timepoint of one ticket's target, to fire at `due_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub tenant_id: Uuid,
    pub ticket_id: Uuid,
    /// `response` or `resolve`.
    pub target: String,
    /// Which timepoint of the target (0-based); `None` is the breach: the
    /// target itself passing unmet.
    pub timepoint: Option<u32>,
    pub due_at: Timestamp,
}

/// How the breach is kept in the `timepoint` column.
const BREACH: i64 = -1;

/// A due timer, claimed by a firer's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: String,
    pub timer: Timer,
}

fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// Replaces the unfired timers of each `(ticket, target)` in `targets`
/// with `timers` (after a start, a resume or a recompute; none after a
/// pause or when met). Fired ones stay: they happened. `targets` need only
/// name tickets that may have timers already (not ones new in this
/// transaction).
pub async fn replace(
    conn: &mut AnyConnection,
    targets: &[(Uuid, Which)],
    timers: &[Timer],
) -> Result<(), StoreError> {
    for which in Which::BOTH {
        let tickets: Vec<Param> = targets
            .iter()
            .filter(|(_, w)| *w == which)
            .map(|(t, _)| Param::from(t.to_string()))
            .collect();
        for chunk in tickets.chunks(1000) {
            let sql = format!(
                "DELETE FROM timers WHERE target = $1 AND fired_at IS NULL \
                 AND ticket_id IN ({})",
                placeholders(2, chunk.len())
            );
            let mut args = vec![Param::from(which.as_str())];
            args.extend(chunk.iter().cloned());
            bind_all(sql, args).execute(&mut *conn).await?;
        }
    }
    let rows = timers
        .iter()
        .map(|t| {
            vec![
                Param::from(Uuid::now_v7().to_string()),
                Param::from(t.tenant_id.to_string()),
                Param::from(t.ticket_id.to_string()),
                Param::from(t.target.clone()),
                Param::from(t.timepoint.map_or(BREACH, i64::from)),
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

/// When the next unfired timer is due, for the poller to sleep until.
pub async fn next_due(store: &Store) -> Result<Option<Timestamp>, StoreError> {
    let next: Option<i64> =
        sqlx::query_scalar("SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL")
            .fetch_one(store.pool())
            .await?;
    Ok(next.map(from_micros))
}

/// Whether a timer due at `due_at` and fired at `now` is late.
pub fn is_late(due_at: Timestamp, now: Timestamp) -> bool {
    micros(now) - micros(due_at) > LATE_AFTER_MS * 1_000
}

/// Claims up to `max` unfired timers due by `now`, oldest first, for the
/// caller's transaction (skipping those another replica holds).
pub async fn claim_due(
    tx: &mut AnyConnection,
    backend: Backend,
    now: Timestamp,
    max: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        // The transaction holds SQLite's one write lock already.
        Backend::Sqlite => "",
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, tenant_id, ticket_id, target, timepoint, due_at FROM timers \
         WHERE fired_at IS NULL AND due_at <= $1 ORDER BY due_at, timepoint LIMIT $2{lock}"
    )))
    .bind(micros(now))
    .bind(max)
    .fetch_all(&mut *tx)
    .await?;
    rows.iter()
        .map(|r| {
            let timepoint: i64 = r.try_get("timepoint")?;
            Ok(Claimed {
                id: r.try_get("id")?,
                timer: Timer {
                    tenant_id: id_at(r, "tenant_id")?,
                    ticket_id: id_at(r, "ticket_id")?,
                    target: r.try_get("target")?,
                    timepoint: u32::try_from(timepoint).ok(),
                    due_at: from_micros(r.try_get("due_at")?),
                },
            })
        })
        .collect()
}

/// Marks claimed timers fired at `now` (late or not, each as it was).
pub async fn mark_fired(
    tx: &mut AnyConnection,
    fired: &[&Claimed],
    now: Timestamp,
) -> Result<(), StoreError> {
    for late in [false, true] {
        let these: Vec<Param> = fired
            .iter()
            .filter(|c| is_late(c.timer.due_at, now) == late)
            .map(|c| Param::from(c.id.clone()))
            .collect();
        for chunk in these.chunks(1000) {
            let sql = format!(
                "UPDATE timers SET fired_at = $1, late = $2 WHERE id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut args = vec![Param::from(micros(now)), Param::from(i64::from(late))];
            args.extend(chunk.iter().cloned());
            bind_all(sql, args).execute(&mut *tx).await?;
        }
    }
    Ok(())
}
