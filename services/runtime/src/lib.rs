//! What every service uses: the bus (RabbitMQ or embedded), its store, the
//! outbox and inbox, telemetry, metrics and shutdown.
//!
//! # Layout
//! - [`bus`]: the [`bus::Bus`] interface and its two transports.
//! - [`commands`]: how a service answers commands: its one error type,
//!   replies, a change done once.
//! - [`store`]: a service's database (PostgreSQL or SQLite).
//! - [`migrate`]: schema migrations (sqlx's migrator, a version line per
//!   scope, checksums), and the upgrade of stores migrated before it.
//! - [`ids`]: ids derived from what they name.
//! - [`paging`]: cursor paging, one way for every list.
//! - [`outbox`], [`inbox`]: exactly-once effects over at-least-once delivery.
//! - [`writer`]: the group-commit writer handlers hand their messages to.
//! - [`telemetry`]: logs, spans, W3C trace context.
//! - [`metrics`]: the Prometheus recorder.
//! - [`service`]: the start/stop handle of a running service, which owns
//!   its tasks and reports one that died.
//! - [`shutdown`]: the process-wide cancellation token.
//! - `testing` (feature `testing`, for tests and the benchmark): fresh
//!   databases and bus prefixes, an SMTP server to send to.

pub mod bus;
pub mod commands;
pub mod ids;
pub mod inbox;
pub mod metrics;
pub mod migrate;
pub mod outbox;
pub mod paging;
pub mod service;
pub mod shutdown;
pub mod store;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod writer;

/// The runtime's own migrations (outbox and inbox), applied to every
/// service's store before the service's own.
pub const MIGRATIONS: &[store::Migration] = &[store::Migration {
    version: 1,
    name: "messaging",
    sql: include_str!("../../../migrations/runtime/0001_messaging.sql"),
}];
