//! A service's own database: PostgreSQL in distributed mode, one SQLite file
//! embedded. Both go through sqlx's `Any` driver so one set of queries (with
//! `$1` placeholders, which SQLite accepts too) serves both.
//!
//! Portable SQL only: TEXT for ids (UUIDv7, which sorts by time as text),
//! BIGINT for numbers, booleans and times (microseconds since the epoch).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A migration failed, or one applied before was edited since.
    #[error("migrations: {0}")]
    Migrate(String),
}

impl StoreError {
    /// True when the database could not be reached (as opposed to a query
    /// that the database refused): callers answer 503 and retry later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Query(e) => is_connection_error(e),
            Self::Migrate(_) => false,
        }
    }
}

/// Whether `e` says the database could not be reached or refused the
/// connection (rather than refusing a query).
pub fn is_connection_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        // PostgreSQL: connection exceptions (class 08), shutting down or not
        // accepting connections (57P01-57P03), too many connections (53300),
        // a database closed to connections (55000, as when it is being
        // restored or moved).
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08")
                || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300" | "55000")
        }),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One schema change, applied once, in order, at start-up.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url`: `postgres://…` or `sqlite://path`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let options = AnyConnectOptions::from_str(url).map_err(StoreError::Unavailable)?;
        let pool = match backend {
            // Durability: WAL with synchronous=FULL syncs the log on every
            // commit, so an acknowledged write survives a power cut.
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                             PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;",
                        )
                        .await?;
                        Ok(())
                    })
                }),
            Backend::Postgres => AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5)),
        }
        .connect_with(options)
        .await
        .map_err(StoreError::Unavailable)?;
        Ok(Self { pool, backend })
    }

    /// Opens (creating if needed) the SQLite file at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        Self::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that will write. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout
    /// instead of failing when one upgrades a read snapshot.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        tx.map_err(|e| {
            if is_connection_error(&e) {
                StoreError::Unavailable(e)
            } else {
                StoreError::Query(e)
            }
        })
    }

    /// Cheap round trip for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(())
    }

    /// Applies `scope`'s migrations not applied yet, in order, each in
    /// its own transaction; refuses to start if one applied before was
    /// edited since (see [`crate::migrate`]).
    pub async fn migrate(&self, scope: &str, migrations: &[Migration]) -> Result<(), StoreError> {
        // A connection of its own, closed when done: one that holds the
        // migrations' session lock after a failure or a cancelled start
        // must never go back to the pool.
        let mut conn = self.pool.acquire().await?.detach();
        let outcome = crate::migrate::run(&mut conn, self.backend, scope, migrations).await;
        let closed = sqlx::Connection::close(conn).await;
        outcome?;
        Ok(closed?)
    }
}

/// Now, at the precision the store keeps (microseconds), so what a command
/// answers equals what a later read returns.
pub fn now() -> OffsetDateTime {
    from_micros(micros(OffsetDateTime::now_utc()))
}

/// Times are stored as microseconds since the Unix epoch.
pub fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Column `i` of `row` as a UUID (stored as text), or `None` for NULL.
pub fn uuid_at<I>(row: &sqlx::any::AnyRow, i: I) -> sqlx::Result<Option<uuid::Uuid>>
where
    I: sqlx::ColumnIndex<sqlx::any::AnyRow>,
{
    use sqlx::Row;
    let s: Option<String> = row.try_get(i)?;
    s.map(|s| uuid::Uuid::parse_str(&s).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .transpose()
}

/// A column that must hold an id: NULL is an error, never the nil UUID.
pub fn id_at<I>(row: &sqlx::any::AnyRow, i: I) -> sqlx::Result<uuid::Uuid>
where
    I: sqlx::ColumnIndex<sqlx::any::AnyRow> + std::fmt::Debug + Copy,
{
    uuid_at(row, i)?.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: format!("{i:?}"),
        source: "NULL where an id must be".into(),
    })
}

/// A column that must hold a small number (a priority, a level): NULL or
/// out of range is an error, never a default.
pub fn u8_at<I>(row: &sqlx::any::AnyRow, i: I) -> sqlx::Result<u8>
where
    I: sqlx::ColumnIndex<sqlx::any::AnyRow> + std::fmt::Debug + Copy,
{
    use sqlx::Row;
    let n: i64 = row.try_get(i)?;
    u8::try_from(n).map_err(|e| sqlx::Error::ColumnDecode {
        index: format!("{i:?}"),
        source: Box::new(e),
    })
}

/// `value` as the JSON text a column keeps. A value that cannot be written
/// is an error, never an empty string.
pub fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Query(sqlx::Error::Encode(Box::new(e))))
}

/// A value bound to a portable statement: text, a number, or NULL of either.
#[derive(Debug, Clone)]
pub enum Param {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<String> for Param {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}

impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

/// Binds `params` in order to `sql`.
pub fn bind_all(
    sql: String,
    params: Vec<Param>,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in params {
        query = match p {
            Param::Text(v) => query.bind(v),
            Param::Int(v) => query.bind(v),
        };
    }
    query
}

/// Most parameters one statement binds. The databases allow far more
/// (SQLite 32766, PostgreSQL 65535), but a statement's cost grows faster
/// than its size: 512 rows of 20 columns took 300 ms as one statement and
/// 25 ms as eight (`servicedesk bench --mode escalation`, both databases).
const MAX_PARAMS: usize = 1_000;

/// Inserts `rows` into `table` with as few statements as the parameter
/// limits allow: one round trip for a whole group of rows instead of one
/// each, which is what group commit saves its time on.
pub async fn insert_many(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Param>>,
) -> Result<(), sqlx::Error> {
    write_many(conn, table, columns, rows, "").await
}

/// As [`insert_many`], but a row whose `key` exists already is updated in
/// place (every other column), so a transaction waiting to lock it sees
/// the new version. A delete and insert would hide it from such a waiter
/// on PostgreSQL.
pub async fn upsert_many(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    key: &str,
    rows: Vec<Vec<Param>>,
) -> Result<(), sqlx::Error> {
    let set: Vec<String> = columns
        .iter()
        .filter(|c| **c != key)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let suffix = format!(" ON CONFLICT ({key}) DO UPDATE SET {}", set.join(", "));
    write_many(conn, table, columns, rows, &suffix).await
}

async fn write_many(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Param>>,
    suffix: &str,
) -> Result<(), sqlx::Error> {
    let per_statement = (MAX_PARAMS / columns.len().max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Param>> = rows.by_ref().take(per_statement).collect();
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut params = Vec::with_capacity(chunk.len() * columns.len());
        for (r, row) in chunk.into_iter().enumerate() {
            debug_assert_eq!(row.len(), columns.len(), "a row per column");
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for (c, p) in row.into_iter().enumerate() {
                if c > 0 {
                    sql.push_str(", ");
                }
                params.push(p);
                sql.push_str(&format!("${}", params.len()));
            }
            sql.push(')');
        }
        sql.push_str(suffix);
        bind_all(sql, params).execute(&mut *conn).await?;
    }
    Ok(())
}

/// A `LIKE … ESCAPE '\'` pattern for "contains `text`, in any case" against
/// a column folded to lower case: `text` folded the same way, its `%`, `_`
/// and `\` taken literally.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// `$first, $first+1, …` for `n` parameters, for `IN (…)` lists.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
