//! The ticketing service: incidents, problems and known errors, changes and
//! service requests, with their actions, links, extended data, lifecycle
//! and audit history. It answers commands from the edge over request/reply
//! and announces every change as an event through its outbox.
//!
//! # Layout
//! - [`commands`]: what the service answers (`runtime::commands::Answers`):
//!   queries on a pooled connection, changes handed to its group-commit
//!   writer (`runtime::writer`), each dispatched in one exhaustive match to
//!   the modules below.
//! - [`batch`]: the rows a commit group writes, one statement per table.
//! - [`desk`]: commands on tickets of any kind (log, update, assign, status,
//!   actions, links), each announced with `TicketChangedV1`. An incident is
//!   a ticket of kind `incident`: one model, one way to log it, one event
//!   family (the incident commands and events of before are answered and
//!   accepted for a deprecation period; see `contracts::incident`).
//! - [`problems`], [`changes`], [`requests`]: what only that kind does.
//! - [`tickets`]: the ticket store (one table for every kind).
//! - [`incidents`]: the priority matrix (what only incidents have),
//!   reference counters and actions.
//! - [`reports`]: the KPI reports, computed in the database.
//! - [`knowledge`]: export to the public knowledge base; articles.
//! - [`suppliers`]: suppliers and the updates they send over the queue.
//! - [`escalations`]: what an escalation timepoint changes on a ticket.
//! - [`surveys`]: satisfaction surveys on resolved incidents.
//! - [`links`]: typed links between tickets, read from both ends.
//! - [`fields`]: extended data definitions and checks; request types.
//! - [`lifecycle`]: which status may follow which, per kind.
//! - [`validate`], [`error`]: input checks; the error type every service's
//!   commands share.

pub mod batch;
pub mod changes;
pub mod commands;
pub mod desk;
pub mod error;
pub mod escalations;
pub mod fields;
pub mod incidents;
pub mod knowledge;
pub mod lifecycle;
pub mod links;
pub mod problems;
pub mod reports;
pub mod requests;
pub mod suppliers;
pub mod surveys;
pub mod tickets;
pub mod validate;

use std::sync::Arc;

use runtime::bus::{Bus, BusError, QueueSpec};
use runtime::outbox::Relay;
use runtime::service::Running;
use runtime::store::{Migration, Store, StoreError};
use tokio_util::sync::CancellationToken;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "incidents",
        sql: include_str!("../../../migrations/ticketing/0001_incidents.sql"),
    },
    Migration {
        version: 2,
        name: "tickets",
        sql: include_str!("../../../migrations/ticketing/0002_tickets.sql"),
    },
    Migration {
        version: 3,
        name: "reports",
        sql: include_str!("../../../migrations/ticketing/0003_reports.sql"),
    },
    Migration {
        version: 4,
        name: "knowledge_base",
        sql: include_str!("../../../migrations/ticketing/0004_knowledge_base.sql"),
    },
    Migration {
        version: 5,
        name: "suppliers",
        sql: include_str!("../../../migrations/ticketing/0005_suppliers.sql"),
    },
    Migration {
        version: 6,
        name: "company",
        sql: include_str!("../../../migrations/ticketing/0006_company.sql"),
    },
    Migration {
        version: 7,
        name: "search",
        sql: include_str!("../../../migrations/ticketing/0007_search.sql"),
    },
    Migration {
        version: 8,
        name: "work",
        sql: include_str!("../../../migrations/ticketing/0008_work.sql"),
    },
];

/// How many commands one replica handles at once.
const PREFETCH: u16 = 64;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// A running ticketing service.
pub struct Ticketing {
    pub store: Store,
    pub relay: Relay,
    /// Its tasks: stop it with `running.stop()`.
    pub running: Running,
}

impl Ticketing {
    /// Migrates the store and starts consuming commands and relaying events
    /// until `stop`.
    pub async fn start(
        store: Store,
        bus: Arc<dyn Bus>,
        stop: CancellationToken,
    ) -> Result<Self, StartError> {
        store.migrate("runtime", runtime::MIGRATIONS).await?;
        store.migrate("ticketing", MIGRATIONS).await?;
        let mut running = Running::new("ticketing", &stop);
        let relay = Relay::new(store.clone(), bus.clone());
        let (handler, writer) = commands::Commands::new(store.clone(), relay.clone(), bus.clone());
        let inbound = suppliers::Inbound {
            store: store.clone(),
            commands: handler.clone(),
            relay: relay.clone(),
        };
        let escalations = escalations::Escalations {
            commands: handler.clone(),
        };
        let spec = QueueSpec::commands(contracts::incident::TICKETING_QUEUE, PREFETCH);
        for (name, spec, handler) in [
            (
                "supplier updates",
                suppliers::inbound_spec(),
                Arc::new(inbound) as Arc<dyn runtime::bus::Handler>,
            ),
            ("escalations", escalations::spec(), Arc::new(escalations)),
            (
                "commands",
                spec,
                Arc::new(runtime::commands::Answering(handler)),
            ),
        ] {
            running.adopt(name, bus.consume(spec, handler, running.token()).await?);
        }
        // The consumers hold the writer's only senders: it ends when they
        // have drained, after committing what they handed it.
        running.adopt("writer", writer);
        running.relay(&relay);
        Ok(Self {
            store,
            relay,
            running,
        })
    }
}
