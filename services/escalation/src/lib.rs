//! The escalation service: SLAs, business-hours calendars, escalation
//! timepoints and the timers that fire them.
//!
//! # Layout
//! - [`calendar`]: business hours in a time zone, with holidays, and the
//!   arithmetic every SLA target is counted in (deadlines, elapsed business
//!   time), correct across weekends, holidays and DST changes.
//! - [`sla`]: SLA grids, escalation timepoints and their actions, and the
//!   rules that choose a ticket's SLA; their checks.
//! - [`clock`]: one target's clock: pauses, resumes, recomputes, met or
//!   breached, with the timeline that explains it.
//! - [`timers`]: the timer store: due timepoints fired once, across
//!   replicas and restarts.
//! - [`definitions`], [`commands`]: the tenant's calendars, SLAs and rules,
//!   and what the service answers (`runtime::commands::Answers`): the
//!   changes that keep them, and the queries ([`queries`]: a ticket's SLA,
//!   compliance, breaches).
//! - [`tickets`], [`track`], [`tracker`]: the copy of each ticket it
//!   follows, how ticketing's events move its clocks, and the consumer that
//!   hands them to its group-commit writer (`runtime::writer`) and
//!   announces a ticket's due times when they move (`TicketTargetsV1`, for
//!   the services that keep a copy; those of the tickets followed before,
//!   once at start).
//! - [`firing`]: the loop that fires due timers and announces them.
//! - [`now`]: the present, injectable so tests drive time.

pub mod calendar;
pub mod clock;
pub mod commands;
pub mod definitions;
pub mod firing;
pub mod now;
pub mod queries;
pub mod sla;
pub mod tickets;
pub mod timers;
pub mod track;
pub mod tracker;

use std::sync::Arc;

use runtime::bus::{Bus, BusError, QueueSpec};
use runtime::outbox::Relay;
use runtime::service::Running;
use runtime::store::{Migration, Store, StoreError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::now::Now;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "timers",
        sql: include_str!("../../../migrations/escalation/0001_timers.sql"),
    },
    Migration {
        version: 2,
        name: "definitions",
        sql: include_str!("../../../migrations/escalation/0002_definitions.sql"),
    },
    Migration {
        version: 3,
        name: "tickets",
        sql: include_str!("../../../migrations/escalation/0003_tickets.sql"),
    },
    Migration {
        version: 4,
        name: "jobs",
        sql: include_str!("../../../migrations/escalation/0004_jobs.sql"),
    },
    Migration {
        version: 5,
        name: "logged_at",
        sql: include_str!("../../../migrations/escalation/0005_logged_at.sql"),
    },
    Migration {
        version: 6,
        name: "versions",
        sql: include_str!("../../../migrations/escalation/0006_versions.sql"),
    },
];

/// How many commands one replica handles at once.
const PREFETCH: u16 = 16;

/// How many ticket events one replica has in hand at once: enough to fill
/// the tracker's commit groups.
const EVENT_PREFETCH: u16 = 512;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// A running escalation service.
pub struct Escalation {
    pub store: Store,
    pub relay: Relay,
    /// Its tasks: stop it with `running.stop()`.
    pub running: Running,
}

impl Escalation {
    /// Migrates the store, then answers commands, follows ticketing's
    /// events, fires timers (by `now`) and relays what it announces, until
    /// `stop`.
    pub async fn start(
        store: Store,
        bus: Arc<dyn Bus>,
        now: Arc<dyn Now>,
        stop: CancellationToken,
    ) -> Result<Self, StartError> {
        store.migrate("runtime", runtime::MIGRATIONS).await?;
        store.migrate("escalation", MIGRATIONS).await?;
        tracker::announce_existing_targets(&store).await?;
        let mut running = Running::new("escalation", &stop);
        let relay = Relay::new(store.clone(), bus.clone());
        let handler = Arc::new(runtime::commands::Answering(Arc::new(commands::Commands {
            store: store.clone(),
            now: now.clone(),
        })));
        let spec = QueueSpec::commands(contracts::escalation::ESCALATION_QUEUE, PREFETCH);
        running.adopt(
            "commands",
            bus.consume(spec, handler, running.token()).await?,
        );
        let wake = Arc::new(Notify::new());
        let (tracker, writer) = tracker::Tracker::new(store.clone(), wake.clone(), relay.clone());
        let events = bus
            .consume(tracker::spec(EVENT_PREFETCH), tracker, running.token())
            .await?;
        running.adopt("ticket events", events);
        running.adopt("tracker writer", writer);
        running.spawn(
            "firing",
            firing::run(store.clone(), now, relay.clone(), wake, running.token()),
        );
        running.relay(&relay);
        Ok(Self {
            store,
            relay,
            running,
        })
    }
}
