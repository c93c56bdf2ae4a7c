//! The notification service: every email the desk sends and receives.
//!
//! # Layout
//! - [`events`]: the consumer of ticketing's, escalation's and the edge's
//!   events, whose group-commit writer (`runtime::writer`) queues the
//!   emails each calls for.
//! - [`compose`]: who an email goes to, in which language, from which
//!   sender, written from which template.
//! - [`templates`]: eDocs: placeholders, their checks, escaping, and the
//!   desk's built-in English templates.
//! - [`tenant`]: a tenant's settings and own templates, as stored.
//! - [`directory`], [`tickets`], [`targets`]: notification's copies of
//!   the directory, of the tickets it writes about, and of their SLA due
//!   times (kept from events, so no email asks another service while its
//!   transaction is open).
//! - [`outgoing`]: the mail queue and delivery log.
//! - [`message`]: an email on the wire: checked addresses, one-line
//!   headers, Message-ID and thread.
//! - [`sender`]: delivery over pooled SMTP, with retries.
//! - [`inbound`]: received mail: loops, threading, new incidents.
//! - [`commands`]: what the service answers (`runtime::commands::Answers`):
//!   settings, templates, previews, the delivery log and received mail, as
//!   the edge forwards them.

pub mod commands;
pub mod compose;
pub mod directory;
pub mod events;
pub mod inbound;
pub mod message;
pub mod outgoing;
pub mod sender;
pub mod targets;
pub mod templates;
pub mod tenant;
pub mod tickets;

use std::sync::Arc;

use runtime::bus::{Bus, BusError, QueueSpec};
use runtime::service::Running;
use runtime::store::{Migration, Store, StoreError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "mail",
        sql: include_str!("../../../migrations/notification/0001_mail.sql"),
    },
    Migration {
        version: 2,
        name: "targets",
        sql: include_str!("../../../migrations/notification/0002_targets.sql"),
    },
    Migration {
        version: 3,
        name: "time_zones",
        sql: include_str!("../../../migrations/notification/0003_time_zones.sql"),
    },
];

/// How many commands one replica handles at once.
const PREFETCH: u16 = 16;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// How the service sends.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The desk's SMTP relay (`smtp://host:port`, `smtps://…`,
    /// `smtp://…?tls=required`), for tenants without their own.
    pub smtp_url: Option<String>,
    /// Certificates (PEM) trusted for relays besides the public roots: a
    /// relay whose certificate a private authority signed.
    pub smtp_ca: Option<Vec<u8>>,
}

/// A running notification service.
pub struct Notification {
    pub store: Store,
    /// Its tasks: stop it with `running.stop()`.
    pub running: Running,
}

impl Notification {
    /// Migrates the store, then answers commands, follows the desk's events
    /// and delivers the mail queue until `stop`.
    pub async fn start(
        store: Store,
        bus: Arc<dyn Bus>,
        config: Config,
        stop: CancellationToken,
    ) -> Result<Self, StartError> {
        store.migrate("runtime", runtime::MIGRATIONS).await?;
        store.migrate("notification", MIGRATIONS).await?;
        let mut running = Running::new("notification", &stop);
        let queued = Arc::new(Notify::new());
        let handler = Arc::new(runtime::commands::Answering(Arc::new(commands::Commands {
            store: store.clone(),
            bus: bus.clone(),
        })));
        let spec = QueueSpec::commands(contracts::notification::NOTIFICATION_QUEUE, PREFETCH);
        running.adopt(
            "commands",
            bus.consume(spec, handler, running.token()).await?,
        );
        let (events, writer) = events::consumer(events::Events {
            store: store.clone(),
            bus: bus.clone(),
            queued: queued.clone(),
        });
        running.adopt(
            "events",
            bus.consume(events::spec(), events, running.token()).await?,
        );
        running.adopt("events writer", writer);
        let sender = Arc::new(sender::Sender::new(
            store.clone(),
            config.smtp_url,
            config.smtp_ca,
        ));
        running.spawn("sender", sender.run(queued, running.token()));
        Ok(Self { store, running })
    }
}
