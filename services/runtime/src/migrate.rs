//! Schema migrations through sqlx's migrator: each applied once, in order,
//! with its checksum kept, so a migration edited after it was applied is
//! refused at start-up instead of silently skipped.
//!
//! Each scope (`runtime`, `ticketing`, …) has its own version line, in a
//! table of its own (`_sqlx_migrations_<scope>`): the runtime's tables and
//! the service's live in one database. Replicas starting together take
//! turns (PostgreSQL's advisory lock, on the key the desk's migrator used
//! before sqlx's: [`LOCK`]; an embedded desk is one process, and takes
//! turns within it).
//!
//! A store migrated before the desk used sqlx's migrator kept its versions
//! in `schema_migrations (scope, version)`. The first start of this version
//! records those as applied in the new table, with the checksums of the SQL
//! this version ships (the SQL they ran), and runs only what is new.

use std::borrow::Cow;

use sqlx::migrate::{Migrate, MigrateError, MigrationType, Migrator};
use sqlx::{AnyConnection, Row, SqlSafeStr};

use crate::store::{Backend, Migration, StoreError};

impl From<MigrateError> for StoreError {
    fn from(e: MigrateError) -> Self {
        match e {
            MigrateError::Execute(e) => StoreError::from(e),
            other => StoreError::Migrate(other.to_string()),
        }
    }
}

/// Taken by whoever migrates a SQLite store in this process.
static SQLITE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The PostgreSQL advisory lock whoever migrates a database holds: the key
/// the desk's migrator used before sqlx's, so a process of the version
/// before and one of this version that start together during a rolling
/// upgrade take turns too (a session lock and the old transaction lock on
/// one key exclude each other).
pub const LOCK: i64 = 727_274;

/// The table `scope`'s versions are kept in.
pub fn table(scope: &str) -> String {
    format!("_sqlx_migrations_{scope}")
}

/// Applies `scope`'s migrations not applied yet, on `conn`.
pub async fn run(
    conn: &mut AnyConnection,
    backend: Backend,
    scope: &str,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    if scope.is_empty() || !scope.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(StoreError::Migrate(format!(
            "bad migration scope {scope:?}"
        )));
    }
    let table = table(scope);
    let mut migrator = Migrator::with_migrations(
        migrations
            .iter()
            .map(|m| {
                sqlx::migrate::Migration::new(
                    m.version,
                    Cow::Borrowed(m.name),
                    MigrationType::Simple,
                    m.sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    migrator.dangerous_set_table_name(table.clone());
    // Locked here, around the adoption of old versions too, with [`LOCK`]
    // rather than sqlx's key. SQLite has no such lock, and an embedded desk
    // is one process, so a lock in the process serves.
    migrator.set_locking(false);
    let _in_process = match backend {
        Backend::Sqlite => Some(SQLITE.lock().await),
        Backend::Postgres => {
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(LOCK)
                .execute(&mut *conn)
                .await?;
            None
        }
    };
    let outcome = async {
        adopt_legacy(conn, backend, scope, &table, &migrator).await?;
        migrator.run(&mut *conn).await?;
        Ok::<(), StoreError>(())
    }
    .await;
    let unlocked = match backend {
        Backend::Postgres => sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK)
            .execute(&mut *conn)
            .await
            .map(drop),
        Backend::Sqlite => Ok(()),
    };
    outcome?;
    Ok(unlocked?)
}

/// Records the versions `schema_migrations` says were applied (by the desk
/// before it used sqlx's migrator), once: when the new table is empty.
async fn adopt_legacy(
    conn: &mut AnyConnection,
    backend: Backend,
    scope: &str,
    table: &str,
    migrator: &Migrator,
) -> Result<(), StoreError> {
    conn.ensure_migrations_table(table).await?;
    let recorded: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    if recorded > 0 || !legacy_table_exists(conn, backend).await? {
        return Ok(());
    }
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations WHERE scope = $1")
            .bind(scope)
            .fetch_all(&mut *conn)
            .await?;
    // All or none: a start that crashed half way adopts again next time.
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    for m in migrator.iter().filter(|m| applied.contains(&m.version)) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, TRUE, $3, 0)"
        )))
        .bind(m.version)
        .bind(m.description.to_string())
        .bind(m.checksum.to_vec())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if !applied.is_empty() {
        tracing::info!(scope, versions = ?applied, "migrations applied before sqlx's migrator recorded");
    }
    Ok(())
}

async fn legacy_table_exists(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<bool, StoreError> {
    let sql = match backend {
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        }
        Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        }
    };
    let n: i64 = sqlx::query(sql).fetch_one(&mut *conn).await?.try_get("n")?;
    Ok(n > 0)
}
