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

pub mod calendar;
pub mod clock;
pub mod sla;
