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
//!
//! Still to come (issue 4): the service itself (its commands, the events it
//! consumes from ticketing, the firing loop), the API, and the reports.

pub mod calendar;
pub mod clock;
pub mod sla;
pub mod timers;

use runtime::store::Migration;

pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "timers",
    sql: include_str!("../../../migrations/escalation/0001_timers.sql"),
}];
