//! What every service uses: the skeleton a service is built on, the bus
//! (RabbitMQ or embedded), its store, the outbox and inbox, telemetry,
//! metrics and shutdown.
//!
//! # A service's shape
//! Every service (ticketing, escalation, notification; the ones to come
//! copy it) is a library whose `start(store, bus, …, stop)`:
//! 1. migrates its store (`store.migrate("runtime", MIGRATIONS)`, then its
//!    own scope);
//! 2. makes a [`service::Running`] handle and adopts into it every task it
//!    starts: a consumer of its command queue handled by
//!    [`commands::Answering`] over its [`commands::Answers`] (its commands
//!    declared once in `contracts::commands`, decoded once, handled in one
//!    exhaustive match, every refusal a [`commands::Error`]); consumers of
//!    the events it follows, handing them to its [`writer::Writer`] to
//!    commit in groups; its background loops; and last its
//!    [`outbox::Relay`] ([`service::Running::relay`]);
//! 3. returns its store and that handle. The binary serves health and
//!    metrics beside it, exits non-zero when [`service::Running::died`]
//!    says a task died, and stops it with [`service::Running::stop`].
//!
//! # Layout
//! - The skeleton: [`service`] (the start/stop handle that owns a service's
//!   tasks and reports one that died), [`commands`] (the command handler,
//!   the one error type, replies, a change done once), [`writer`] (the
//!   group-commit writer).
//! - Messages: [`bus`] (the [`bus::Bus`] interface and its two transports),
//!   [`outbox`] and [`inbox`] (exactly-once effects over at-least-once
//!   delivery), [`ids`] (ids derived from what they name).
//! - Stores: [`store`] (PostgreSQL or SQLite, portable SQL, row helpers
//!   that refuse NULLs and defaults), [`migrate`] (sqlx's migrator, a
//!   version line per scope, checksums, the upgrade of stores migrated
//!   before it), [`paging`] (cursor paging, one way for every list).
//! - Operations: [`telemetry`] (logs, spans, W3C trace context),
//!   [`metrics`] (the Prometheus recorder), [`shutdown`] (the process-wide
//!   cancellation token).
//! - `testing` (feature `testing`, for tests and the benchmark only):
//!   fresh databases and bus prefixes, an SMTP server to send to.

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
