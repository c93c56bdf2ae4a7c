//! What every service uses: the bus (RabbitMQ or embedded), its store, the
//! outbox and inbox, telemetry, metrics and shutdown.
//!
//! # Layout
//! - [`bus`]: the [`bus::Bus`] interface and its two transports.
//! - [`store`]: a service's database (PostgreSQL or SQLite) and migrations.
//! - [`ids`]: ids derived from what they name.
//! - [`outbox`], [`inbox`]: exactly-once effects over at-least-once delivery.
//! - [`telemetry`]: logs, spans, W3C trace context.
//! - [`metrics`]: the Prometheus recorder.
//! - [`shutdown`]: the process-wide cancellation token.

pub mod bus;
pub mod ids;
pub mod inbox;
pub mod metrics;
pub mod outbox;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod testing;

/// The runtime's own migrations (outbox and inbox), applied to every
/// service's store before the service's own.
pub const MIGRATIONS: &[store::Migration] = &[store::Migration {
    version: 1,
    name: "messaging",
    sql: include_str!("../../../migrations/runtime/0001_messaging.sql"),
}];
