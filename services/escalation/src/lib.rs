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
//!   and the command handler that keeps them.
//!
//! Still to come (issue 4): the events it consumes from ticketing and each
//! ticket's clocks, the firing loop and what timepoints do, the SLA state
//! and timeline through the API, and the reports.

pub mod calendar;
pub mod clock;
pub mod commands;
pub mod definitions;
pub mod sla;
pub mod timers;

use std::sync::Arc;

use runtime::bus::{Bus, BusError, QueueSpec};
use runtime::store::{Migration, Store, StoreError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

/// A running escalation service.
pub struct Escalation {
    pub store: Store,
    consumer: JoinHandle<()>,
}

impl Escalation {
    /// Migrates the store and answers commands until `stop`.
    pub async fn start(
        store: Store,
        bus: Arc<dyn Bus>,
        stop: CancellationToken,
    ) -> Result<Self, StartError> {
        store.migrate("runtime", runtime::MIGRATIONS).await?;
        store.migrate("escalation", MIGRATIONS).await?;
        let handler = Arc::new(commands::Commands {
            store: store.clone(),
        });
        let spec = QueueSpec::commands(contracts::escalation::ESCALATION_QUEUE, PREFETCH);
        let consumer = bus.consume(spec, handler, stop).await?;
        Ok(Self { store, consumer })
    }

    /// Waits until the consumer has drained.
    pub async fn run_until_stopped(self) {
        let _ = self.consumer.await;
    }
}
