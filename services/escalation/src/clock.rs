//! The clock of one target (response or resolve) of one ticket: business
//! time counted in the SLA's calendar while the ticket is not pending,
//! paused while it is, recomputed when the target changes (a new priority,
//! SLA or calendar), stopped when the target is met. Every step is kept as
//! a timeline entry, so the ticket's SLA timeline explains itself.
//!
//! Time is always given (`at`): nothing here reads the system clock, so
//! tests drive it and a replayed event computes what it computed the first
//! time.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;

pub use contracts::escalation::SlaStepV1 as Step;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Timestamp,
    #[serde(flatten)]
    pub step: Step,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    /// The target, in business seconds.
    pub target: i64,
    /// Business seconds counted up to `running_since` (or to the pause).
    pub elapsed: i64,
    /// Counting since then; `None` while paused or met.
    pub running_since: Option<Timestamp>,
    pub met_at: Option<Timestamp>,
    /// When the target passed unmet (the breach timer fired, or it was met
    /// late).
    #[serde(default)]
    pub breached_at: Option<Timestamp>,
    /// The timepoints that fired: a recompute never fires one again.
    #[serde(default)]
    pub fired: Vec<u32>,
    pub timeline: Vec<Entry>,
}

impl Clock {
    pub fn start(at: Timestamp, target: i64) -> Self {
        Self {
            target,
            elapsed: 0,
            running_since: Some(at),
            met_at: None,
            breached_at: None,
            fired: Vec::new(),
            timeline: vec![Entry {
                at,
                step: Step::Started {
                    target_seconds: target,
                },
            }],
        }
    }

    /// Business seconds used by `at`.
    pub fn elapsed_at(&self, at: Timestamp, cal: &Calendar) -> i64 {
        match self.running_since {
            Some(since) => self.elapsed + cal.between(since, at),
            None => self.elapsed,
        }
    }

    fn settle(&mut self, at: Timestamp, cal: &Calendar) {
        if let Some(since) = self.running_since {
            self.elapsed += cal.between(since, at);
            self.running_since = Some(at);
        }
    }

    /// The ticket went pending: the clock stops counting.
    pub fn pause(&mut self, at: Timestamp, cal: &Calendar) {
        if self.running_since.is_none() {
            return;
        }
        self.settle(at, cal);
        self.running_since = None;
        self.timeline.push(Entry {
            at,
            step: Step::Paused {
                elapsed_seconds: self.elapsed,
            },
        });
    }

    /// The ticket is worked again: counting resumes.
    pub fn resume(&mut self, at: Timestamp) {
        if self.running_since.is_some() || self.met_at.is_some() {
            return;
        }
        self.running_since = Some(at);
        self.timeline.push(Entry {
            at,
            step: Step::Resumed,
        });
    }

    /// A new target (priority, SLA or calendar changed): what was used so
    /// far stays used; the deadline moves.
    pub fn retarget(&mut self, at: Timestamp, target: i64, cal: &Calendar, reason: &str) {
        if self.met_at.is_some() || target == self.target {
            return;
        }
        self.recompute(at, target, cal, reason);
    }

    /// Counts what was used up to `at` in `old` (the calendar the clock ran
    /// in until now) and moves to `target`, recording why. The caller
    /// counts on in the new calendar from `at`.
    pub fn recompute(&mut self, at: Timestamp, target: i64, old: &Calendar, reason: &str) {
        if self.met_at.is_some() {
            return;
        }
        self.settle(at, old);
        self.timeline.push(Entry {
            at,
            step: Step::Recomputed {
                from_seconds: self.target,
                to_seconds: target,
                elapsed_seconds: self.elapsed,
                reason: reason.to_owned(),
            },
        });
        self.target = target;
    }

    /// The target was met (a response, or the resolution).
    pub fn meet(&mut self, at: Timestamp, cal: &Calendar) {
        if self.met_at.is_some() {
            return;
        }
        self.settle(at, cal);
        self.running_since = None;
        self.met_at = Some(at);
        let breached = self.elapsed > self.target;
        if breached && self.breached_at.is_none() {
            // Met late before the breach timer fired (it was behind).
            self.breached_at = Some(at);
        } else if !breached {
            // Met in time, heard of after the breach timer fired (the event
            // was on its way): it was no breach.
            self.breached_at = None;
        }
        self.timeline.push(Entry {
            at,
            step: Step::Met {
                elapsed_seconds: self.elapsed,
                breached,
            },
        });
    }

    /// The ticket was reopened: counting goes on from what was used.
    pub fn reopen(&mut self, at: Timestamp) {
        if self.met_at.is_none() {
            return;
        }
        self.met_at = None;
        self.running_since = Some(at);
        self.timeline.push(Entry {
            at,
            step: Step::Reopened,
        });
    }

    /// Timepoint `timepoint` fired at `at`.
    pub fn escalated(&mut self, at: Timestamp, timepoint: u32, late: bool) {
        if self.fired.contains(&timepoint) {
            return;
        }
        self.fired.push(timepoint);
        self.timeline.push(Entry {
            at,
            step: Step::Escalated { timepoint, late },
        });
    }

    /// The target passed unmet; `due` is when it did.
    pub fn breach(&mut self, due: Timestamp) {
        if self.breached_at.is_some() || self.met_at.is_some() {
            return;
        }
        self.breached_at = Some(due);
        self.timeline.push(Entry {
            at: due,
            step: Step::Breached,
        });
    }

    /// `running`, `paused` or `met`.
    pub fn state(&self) -> &'static str {
        match (self.met_at, self.running_since) {
            (Some(_), _) => "met",
            (None, Some(_)) => "running",
            (None, None) => "paused",
        }
    }

    /// When the clock reaches `offset` business seconds (a timepoint, or
    /// the target itself): `None` while paused or met, since then it does
    /// not move; if it was reached already, the moment the clock last
    /// started counting (it is overdue: fire it now).
    pub fn due(&self, offset: i64, cal: &Calendar) -> Option<Timestamp> {
        self.due_each(&[offset], cal).pop().flatten()
    }

    /// [`Clock::due`] for each of `offsets`, in one walk of the calendar.
    pub fn due_each(&self, offsets: &[i64], cal: &Calendar) -> Vec<Option<Timestamp>> {
        let Some(since) = self.running_since else {
            return vec![None; offsets.len()];
        };
        let left: Vec<i64> = offsets.iter().map(|o| o - self.elapsed).collect();
        cal.add_each(since, &left)
    }

    pub fn breached(&self, at: Timestamp, cal: &Calendar) -> bool {
        self.elapsed_at(at, cal) > self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{Interval, minutes};
    use jiff::civil::date;
    use jiff::tz::TimeZone;

    fn office() -> Calendar {
        let day = vec![Interval {
            start: 9 * 60,
            end: 17 * 60,
        }];
        let week = std::array::from_fn(|d| if d < 5 { day.clone() } else { vec![] });
        Calendar::new("Europe/Paris", week, []).expect("valid")
    }

    fn at(d: i8, h: i8, m: i8) -> Timestamp {
        date(2026, 6, d)
            .at(h, m, 0, 0)
            .to_zoned(TimeZone::get("Europe/Paris").expect("zone"))
            .expect("time")
            .timestamp()
    }

    #[test]
    fn pending_time_does_not_count() {
        let cal = office();
        // Monday 2026-06-01 09:00, a 4-hour target.
        let mut clock = Clock::start(at(1, 9, 0), minutes(240));
        assert_eq!(clock.due(clock.target, &cal), Some(at(1, 13, 0)));
        // Pending from 10:00 to 15:00: five hours that do not count.
        clock.pause(at(1, 10, 0), &cal);
        assert_eq!(
            clock.due(clock.target, &cal),
            None,
            "no deadline while paused"
        );
        assert_eq!(clock.elapsed_at(at(1, 14, 0), &cal), minutes(60));
        clock.resume(at(1, 15, 0));
        // Three business hours left: 15:00–17:00 today, then 09:00–10:00.
        assert_eq!(clock.due(clock.target, &cal), Some(at(2, 10, 0)));
        assert!(!clock.breached(at(2, 9, 59), &cal));
        assert!(clock.breached(at(2, 10, 1), &cal));
        clock.meet(at(2, 9, 30), &cal);
        assert_eq!(clock.met_at, Some(at(2, 9, 30)));
        let steps: Vec<&str> = clock
            .timeline
            .iter()
            .map(|e| match e.step {
                Step::Started { .. } => "started",
                Step::Paused { .. } => "paused",
                Step::Resumed => "resumed",
                Step::Recomputed { .. } => "recomputed",
                Step::Met {
                    breached: false, ..
                } => "met",
                Step::Met { breached: true, .. } => "met late",
                _ => "other",
            })
            .collect();
        assert_eq!(steps, ["started", "paused", "resumed", "met"]);
    }

    #[test]
    fn a_new_target_keeps_what_was_used() {
        let cal = office();
        let mut clock = Clock::start(at(1, 9, 0), minutes(8 * 60));
        // At 11:00 the priority rises: the target becomes 4 h, 2 h used.
        clock.retarget(at(1, 11, 0), minutes(240), &cal, "priority 3 → 1");
        assert_eq!(clock.elapsed, minutes(120));
        assert_eq!(clock.due(clock.target, &cal), Some(at(1, 13, 0)));
        // Timepoints follow: 1 h before the new target is 12:00.
        assert_eq!(
            clock.due(clock.target - minutes(60), &cal),
            Some(at(1, 12, 0))
        );
        // Already passed: a timepoint at 1 h is overdue since the recompute.
        assert_eq!(clock.due(minutes(60), &cal), Some(at(1, 11, 0)));
        assert!(matches!(
            clock.timeline.last().map(|e| &e.step),
            Some(Step::Recomputed {
                from_seconds: 28800,
                to_seconds: 14400,
                elapsed_seconds: 7200,
                ..
            })
        ));
    }

    #[test]
    fn met_late_is_recorded_as_a_breach_and_nothing_moves_after() {
        let cal = office();
        let mut clock = Clock::start(at(5, 16, 0), minutes(60));
        // Friday 16:00 + 1 h is Monday 09:00 business-wise... it is due
        // Friday 17:00; met Monday 09:30 is 30 minutes late.
        assert_eq!(clock.due(clock.target, &cal), Some(at(5, 17, 0)));
        clock.meet(at(8, 9, 30), &cal);
        assert!(matches!(
            clock.timeline.last().map(|e| &e.step),
            Some(Step::Met {
                elapsed_seconds: 5400,
                breached: true
            })
        ));
        clock.pause(at(8, 10, 0), &cal);
        clock.resume(at(8, 11, 0));
        clock.retarget(at(8, 11, 0), minutes(5), &cal, "priority");
        assert_eq!(clock.timeline.len(), 2, "a met clock is done");
        assert_eq!(clock.due(clock.target, &cal), None);
    }
}
