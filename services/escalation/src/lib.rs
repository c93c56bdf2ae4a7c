//! The escalation service: SLAs, business-hours calendars, escalation
//! timepoints and the timers that fire them.
//!
//! # Layout
//! - [`calendar`]: business hours in a time zone, with holidays, and the
//!   arithmetic every SLA target is counted in (deadlines, elapsed business
//!   time), correct across weekends, holidays and DST changes.

pub mod calendar;
