//! Business-hours calendars: working intervals per weekday in a time zone,
//! and holidays. SLA targets are counted in business seconds of a calendar
//! (24x7 is just a calendar whose every day is one interval 00:00–24:00).
//!
//! Intervals are local wall-clock times. On a day the clocks change, an
//! interval is as long as the wall clock says it is in real time: 09:00–17:00
//! on the day clocks go forward at 01:00 is still eight hours, while
//! 00:00–24:00 that day is twenty-three. A local time the change skips is
//! read as the first instant after the gap; a repeated one as its first
//! occurrence.

use std::collections::BTreeSet;

use contracts::escalation::{CalendarDefinitionV1, MAX_HOLIDAYS, MAX_INTERVALS};
use contracts::limits::MAX_SUMMARY;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Minutes in a day: an interval may end at 24:00.
pub const DAY_MINUTES: u16 = 24 * 60;

/// How far ahead a deadline is looked for before the calendar is declared
/// unable to reach it (every day a holiday, say): ten years.
const HORIZON_DAYS: i32 = 3660;

/// A working interval: from `start` to `end` minutes after local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Interval {
    pub start: u16,
    pub end: u16,
}

/// Why a calendar's definition is refused; `field` names what is wrong the
/// way the API spells it (`time_zone`, `week.monday[1]`, `holidays[0]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

pub const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "monday"),
    (Weekday::Tuesday, "tuesday"),
    (Weekday::Wednesday, "wednesday"),
    (Weekday::Thursday, "thursday"),
    (Weekday::Friday, "friday"),
    (Weekday::Saturday, "saturday"),
    (Weekday::Sunday, "sunday"),
];

#[derive(Debug, Clone)]
pub struct Calendar {
    tz: TimeZone,
    /// Monday first; each day's intervals sorted and apart.
    week: [Vec<Interval>; 7],
    holidays: BTreeSet<Date>,
}

impl Calendar {
    /// Its IANA time zone's name (`Europe/Paris`).
    pub fn time_zone(&self) -> Option<&str> {
        self.tz.iana_name()
    }

    /// A calendar from its definition: an IANA time zone, the intervals of
    /// each weekday (Monday first), and the holidays (local dates).
    pub fn new(
        time_zone: &str,
        week: [Vec<Interval>; 7],
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<Self, Invalid> {
        let tz = TimeZone::get(time_zone)
            .map_err(|_| invalid("time_zone", format!("no time zone called {time_zone:?}")))?;
        let mut week = week;
        for (day, (_, name)) in week.iter_mut().zip(WEEKDAYS) {
            day.sort();
            for (n, i) in day.iter().enumerate() {
                let at = format!("week.{name}[{n}]");
                if i.end > DAY_MINUTES {
                    return Err(invalid(at, "ends after 24:00"));
                }
                if i.start >= i.end {
                    return Err(invalid(at, "must end after it starts"));
                }
                if n > 0 && day[n - 1].end > i.start {
                    return Err(invalid(at, "overlaps the interval before it"));
                }
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(invalid("week", "a calendar needs working time on some day"));
        }
        Ok(Self {
            tz,
            week,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// The definition of a calendar of every day, all day, in UTC (24x7).
    pub fn around_the_clock(name: &str) -> CalendarDefinitionV1 {
        let day = || {
            vec![contracts::escalation::IntervalV1 {
                start: "00:00".into(),
                end: "24:00".into(),
            }]
        };
        CalendarDefinitionV1 {
            name: name.to_owned(),
            time_zone: "UTC".into(),
            week: contracts::escalation::WeekV1 {
                monday: day(),
                tuesday: day(),
                wednesday: day(),
                thursday: day(),
                friday: day(),
                saturday: day(),
                sunday: day(),
            },
            holidays: Vec::new(),
        }
    }

    /// Every day, all day, in UTC.
    pub fn always() -> Self {
        let all = vec![Interval {
            start: 0,
            end: DAY_MINUTES,
        }];
        Self {
            tz: TimeZone::UTC,
            week: std::array::from_fn(|_| all.clone()),
            holidays: BTreeSet::new(),
        }
    }

    fn day_index(date: Date) -> usize {
        usize::from(date.weekday().to_monday_zero_offset().unsigned_abs())
    }

    /// The instant of `minutes` after local midnight of `date`.
    fn instant(&self, date: Date, minutes: u16) -> Timestamp {
        let (day, minutes) = if minutes >= DAY_MINUTES {
            (date.tomorrow().unwrap_or(date), minutes - DAY_MINUTES)
        } else {
            (date, minutes)
        };
        let local = day.at(
            i8::try_from(minutes / 60).unwrap_or(0),
            i8::try_from(minutes % 60).unwrap_or(0),
            0,
            0,
        );
        // Compatible disambiguation: a skipped time reads as after the gap,
        // a repeated one as its first occurrence.
        self.tz
            .to_ambiguous_timestamp(local)
            .compatible()
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// The working periods of `date` as instants (none on a holiday).
    fn periods(&self, date: Date) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let working = !self.holidays.contains(&date);
        self.week[Self::day_index(date)]
            .iter()
            .filter(move |_| working)
            .map(move |i| (self.instant(date, i.start), self.instant(date, i.end)))
    }

    /// When `seconds` business seconds after `from` have passed: the
    /// deadline of a target. `None` if the calendar cannot reach it within
    /// ten years.
    pub fn add(&self, from: Timestamp, seconds: i64) -> Option<Timestamp> {
        self.add_each(from, &[seconds]).pop().flatten()
    }

    /// [`Calendar::add`] for each of `seconds`, in one walk through the
    /// calendar (a target's timepoints are placed together).
    pub fn add_each(&self, from: Timestamp, seconds: &[i64]) -> Vec<Option<Timestamp>> {
        let mut order: Vec<usize> = (0..seconds.len()).collect();
        order.sort_by_key(|&i| seconds[i]);
        let mut out = vec![None; seconds.len()];
        let mut next = order.iter().peekable();
        // Business seconds passed before the period being looked at.
        let mut passed = 0;
        let first = from.to_zoned(self.tz.clone()).date();
        // The day before too: a period of local yesterday may still run.
        let mut date = first.yesterday().unwrap_or(first);
        'days: for _ in 0..HORIZON_DAYS {
            for (start, end) in self.periods(date) {
                let start = start.max(from);
                if end <= start {
                    continue;
                }
                let available = end.as_second() - start.as_second();
                while let Some(&&i) = next.peek() {
                    let wanted = seconds[i].max(0) - passed;
                    if wanted > available {
                        break;
                    }
                    out[i] = start.checked_add(wanted.seconds()).ok();
                    next.next();
                }
                if next.peek().is_none() {
                    break 'days;
                }
                passed += available;
            }
            match date.tomorrow() {
                Ok(d) => date = d,
                Err(_) => break,
            }
        }
        out
    }

    /// Business seconds between `from` and `to` (0 if `to` is not after it).
    pub fn between(&self, from: Timestamp, to: Timestamp) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let first = from.to_zoned(self.tz.clone()).date();
        let last = to.to_zoned(self.tz.clone()).date();
        let mut date = first.yesterday().unwrap_or(first);
        while date <= last {
            for (start, end) in self.periods(date) {
                let (start, end) = (start.max(from), end.min(to));
                if end > start {
                    total += end.as_second() - start.as_second();
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        total
    }
}

/// `HH:MM` (to `24:00`) as minutes after midnight.
fn clock_time(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    let digits = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(h) && digits(m)) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h * 60 + m;
    (m < 60 && minutes <= DAY_MINUTES).then_some(minutes)
}

impl Calendar {
    /// A calendar from the API's definition; errors name the field.
    pub fn from_definition(d: &CalendarDefinitionV1) -> Result<Self, Invalid> {
        let name = d.name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_SUMMARY
            || name.chars().any(char::is_control)
        {
            return Err(invalid(
                "name",
                format!("1 to {MAX_SUMMARY} characters, one line"),
            ));
        }
        let days = [
            &d.week.monday,
            &d.week.tuesday,
            &d.week.wednesday,
            &d.week.thursday,
            &d.week.friday,
            &d.week.saturday,
            &d.week.sunday,
        ];
        let mut week: [Vec<Interval>; 7] = Default::default();
        for ((day, (_, name)), out) in days.iter().zip(WEEKDAYS).zip(week.iter_mut()) {
            if day.len() > MAX_INTERVALS {
                return Err(invalid(
                    format!("week.{name}"),
                    format!("at most {MAX_INTERVALS} intervals a day"),
                ));
            }
            for (n, i) in day.iter().enumerate() {
                let at = |what: &str| format!("week.{name}[{n}].{what}");
                let start = clock_time(&i.start)
                    .filter(|m| *m < DAY_MINUTES)
                    .ok_or_else(|| invalid(at("start"), "a time HH:MM, 00:00 to 23:59"))?;
                let end = clock_time(&i.end)
                    .ok_or_else(|| invalid(at("end"), "a time HH:MM, 00:01 to 24:00"))?;
                out.push(Interval { start, end });
            }
        }
        if d.holidays.len() > MAX_HOLIDAYS {
            return Err(invalid("holidays", format!("at most {MAX_HOLIDAYS}")));
        }
        let mut holidays = Vec::with_capacity(d.holidays.len());
        for (n, h) in d.holidays.iter().enumerate() {
            let ok = h.len() == 10 && h.as_bytes()[4] == b'-' && h.as_bytes()[7] == b'-';
            let date = ok
                .then(|| h.parse::<Date>().ok())
                .flatten()
                .ok_or_else(|| invalid(format!("holidays[{n}]"), "a date, YYYY-MM-DD"))?;
            holidays.push(date);
        }
        // Overlaps are found after sorting each day by start, so
        // `week.<day>[n]` in those errors counts intervals in that order.
        Calendar::new(&d.time_zone, week, holidays)
    }
}

/// `minutes` as business seconds, for tests that think in minutes.
#[cfg(test)]
pub(crate) fn minutes(minutes: i64) -> i64 {
    minutes * 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn hours(start: u16, end: u16) -> Vec<Interval> {
        vec![Interval {
            start: start * 60,
            end: end * 60,
        }]
    }

    /// 09:00–17:00 Monday to Friday in `tz`.
    fn office(tz: &str, holidays: &[Date]) -> Calendar {
        let day = hours(9, 17);
        let week = [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            vec![],
            vec![],
        ];
        Calendar::new(tz, week, holidays.iter().copied()).expect("valid")
    }

    fn at(tz: &str, y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
        date(y, m, d)
            .at(h, min, 0, 0)
            .to_zoned(TimeZone::get(tz).expect("zone"))
            .expect("local time")
            .timestamp()
    }

    #[test]
    fn a_target_runs_over_the_weekend() {
        let cal = office("Europe/Amsterdam", &[]);
        // Friday 2026-03-06 16:00 + 2 h → Monday 10:00.
        let from = at("Europe/Amsterdam", 2026, 3, 6, 16, 0);
        let due = cal.add(from, minutes(120)).expect("reachable");
        assert_eq!(due, at("Europe/Amsterdam", 2026, 3, 9, 10, 0));
        assert_eq!(cal.between(from, due), minutes(120));
        // Outside hours the clock starts at opening time.
        let saturday = at("Europe/Amsterdam", 2026, 3, 7, 11, 0);
        assert_eq!(
            cal.add(saturday, minutes(30)),
            Some(at("Europe/Amsterdam", 2026, 3, 9, 9, 30))
        );
        assert_eq!(
            cal.between(saturday, at("Europe/Amsterdam", 2026, 3, 8, 23, 0)),
            0
        );
    }

    #[test]
    fn holidays_are_skipped() {
        let easter_monday = date(2026, 4, 6);
        let cal = office("Europe/London", &[easter_monday]);
        let thursday = at("Europe/London", 2026, 4, 2, 16, 0);
        let good_friday_too = office("Europe/London", &[date(2026, 4, 3), easter_monday]);
        // Thursday 16:00 + 2 h: Friday 10:00, or with Good Friday and Easter
        // Monday off, Tuesday 10:00.
        assert_eq!(
            cal.add(thursday, minutes(120)),
            Some(at("Europe/London", 2026, 4, 3, 10, 0))
        );
        assert_eq!(
            good_friday_too.add(thursday, minutes(120)),
            Some(at("Europe/London", 2026, 4, 7, 10, 0))
        );
    }

    #[test]
    fn office_hours_keep_their_length_when_the_clocks_change() {
        // Europe/London springs forward on Sunday 2026-03-29 and falls back
        // on Sunday 2026-10-25: Friday 16:00 + 2 h is Monday 10:00 local,
        // 65 or 67 real hours later (66 in a week without a change).
        let cal = office("Europe/London", &[]);
        let spring = at("Europe/London", 2026, 3, 27, 16, 0);
        let due = cal.add(spring, minutes(120)).expect("reachable");
        assert_eq!(due, at("Europe/London", 2026, 3, 30, 10, 0));
        assert_eq!(due.as_second() - spring.as_second(), 65 * 3600);
        let autumn = at("Europe/London", 2026, 10, 23, 16, 0);
        let due = cal.add(autumn, minutes(120)).expect("reachable");
        assert_eq!(due, at("Europe/London", 2026, 10, 26, 10, 0));
        assert_eq!(due.as_second() - autumn.as_second(), 67 * 3600);
    }

    #[test]
    fn a_24x7_day_is_as_long_as_the_clock_says() {
        let all = hours(0, 24);
        let cal = Calendar::new("America/New_York", std::array::from_fn(|_| all.clone()), [])
            .expect("valid");
        // New York falls back on Sunday 2026-11-01 (a 25-hour day): 24
        // business hours from Saturday noon end Sunday 11:00 local.
        let from = at("America/New_York", 2026, 10, 31, 12, 0);
        let due = cal.add(from, minutes(24 * 60)).expect("reachable");
        assert_eq!(due.as_second() - from.as_second(), 24 * 3600, "real hours");
        assert_eq!(due, at("America/New_York", 2026, 11, 1, 11, 0));
        // And springs forward on 2026-03-08 (a 23-hour day).
        let from = at("America/New_York", 2026, 3, 7, 12, 0);
        let due = cal.add(from, minutes(24 * 60)).expect("reachable");
        assert_eq!(due, at("America/New_York", 2026, 3, 8, 13, 0));
        assert_eq!(Calendar::always().between(from, due), 24 * 3600);
    }

    #[test]
    fn several_intervals_a_day_and_a_late_start() {
        // 08:00–12:00 and 13:00–17:00; a target started at 11:30 with 1 h
        // left runs 30 min, breaks for lunch, and ends 13:30.
        let day = vec![
            Interval {
                start: 13 * 60,
                end: 17 * 60,
            },
            Interval {
                start: 8 * 60,
                end: 12 * 60,
            },
        ];
        let week = std::array::from_fn(|_| day.clone());
        let cal = Calendar::new("UTC", week, []).expect("valid");
        let from = at("UTC", 2026, 5, 4, 11, 30);
        assert_eq!(
            cal.add(from, minutes(60)),
            Some(at("UTC", 2026, 5, 4, 13, 30))
        );
        assert_eq!(cal.add(from, 0), Some(from));
    }

    #[test]
    fn bad_definitions_name_the_field() {
        let empty: [Vec<Interval>; 7] = Default::default();
        assert_eq!(
            Calendar::new("UTC", empty, []).err().map(|e| e.field),
            Some("week".into())
        );
        assert_eq!(
            Calendar::new(
                "Mars/Olympus_Mons",
                std::array::from_fn(|_| hours(9, 17)),
                []
            )
            .err()
            .map(|e| e.field),
            Some("time_zone".into())
        );
        let mut overlapping: [Vec<Interval>; 7] = Default::default();
        overlapping[1] = vec![
            Interval {
                start: 9 * 60,
                end: 13 * 60,
            },
            Interval {
                start: 12 * 60,
                end: 17 * 60,
            },
        ];
        assert_eq!(
            Calendar::new("UTC", overlapping, []).err().map(|e| e.field),
            Some("week.tuesday[1]".into())
        );
        let mut backwards: [Vec<Interval>; 7] = Default::default();
        backwards[0] = hours(17, 9);
        assert!(Calendar::new("UTC", backwards, []).is_err());
    }

    #[test]
    fn definitions_read_as_the_api_writes_them() {
        use contracts::escalation::{IntervalV1, WeekV1};
        let iv = |s: &str, e: &str| IntervalV1 {
            start: s.into(),
            end: e.into(),
        };
        let mut d = CalendarDefinitionV1 {
            name: "Office".into(),
            time_zone: "Europe/Dublin".into(),
            week: WeekV1 {
                monday: vec![iv("09:00", "12:30"), iv("13:30", "17:30")],
                sunday: vec![iv("00:00", "24:00")],
                ..WeekV1::default()
            },
            holidays: vec!["2026-03-17".into()],
        };
        let cal = Calendar::from_definition(&d).expect("valid");
        assert_eq!(
            cal.add(at("Europe/Dublin", 2026, 3, 16, 12, 0), minutes(60)),
            Some(at("Europe/Dublin", 2026, 3, 16, 14, 0))
        );
        let field = |d: &CalendarDefinitionV1| Calendar::from_definition(d).err().map(|e| e.field);
        d.week.monday[1].end = "+7:30".into();
        assert_eq!(field(&d), Some("week.monday[1].end".into()));
        d.week.monday[1].end = "17:61".into();
        assert_eq!(field(&d), Some("week.monday[1].end".into()));
        d.week.monday[1].end = "17:30".into();
        d.week.monday[0].start = "24:00".into();
        assert_eq!(field(&d), Some("week.monday[0].start".into()));
        d.week.monday[0].start = "09:00".into();
        d.holidays.push("17/03/2027".into());
        assert_eq!(field(&d), Some("holidays[1]".into()));
        d.holidays.pop();
        d.time_zone = "Europe/Atlantis".into();
        assert_eq!(field(&d), Some("time_zone".into()));
        d.time_zone = "UTC".into();
        d.week = WeekV1::default();
        assert_eq!(field(&d), Some("week".into()));
    }

    #[test]
    fn a_calendar_that_never_works_reaches_nothing() {
        // Open only on Sundays, and every Sunday is a holiday.
        let mut week: [Vec<Interval>; 7] = Default::default();
        week[6] = hours(9, 10);
        let sundays = (0..600).filter_map(|w| date(2026, 1, 4).checked_add((7 * w).days()).ok());
        let cal = Calendar::new("UTC", week, sundays).expect("valid");
        assert_eq!(cal.add(at("UTC", 2026, 1, 1, 0, 0), minutes(1)), None);
    }
}
