//! Where the service's "now" comes from: the system clock in production, a
//! hand-moved one in tests. Everything that compares against the present
//! (firing, the SLA state's elapsed time) asks a [`Now`], so tests drive
//! time instead of sleeping through it. Also the one place times cross
//! between the contracts' `time` and the engine's `jiff`.

use std::path::PathBuf;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

pub trait Now: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

pub struct SystemNow;

impl Now for SystemNow {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock moved by hand (unit and store tests).
pub struct ManualNow(Mutex<Timestamp>);

impl ManualNow {
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Now for ManualNow {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The system clock moved on by the whole seconds written in a file (none
/// while it is missing): how the cross-service tests drive the time of a
/// separate `servicedesk` process. Only ever set by a test
/// (`--test-clock-file`).
pub struct FileOffsetNow(pub PathBuf);

impl Now for FileOffsetNow {
    fn now(&self) -> Timestamp {
        let seconds = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        Timestamp::now()
            .checked_add(SignedDuration::from_secs(seconds))
            .unwrap_or_else(|_| Timestamp::now())
    }
}

/// A wire time (`time`, as the contracts carry it) as the engine's.
pub fn from_time(t: time::OffsetDateTime) -> Timestamp {
    Timestamp::from_nanosecond(t.unix_timestamp_nanos()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The engine's time as the contracts carry it.
pub fn to_time(t: Timestamp) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}
