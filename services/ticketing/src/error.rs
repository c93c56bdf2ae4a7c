//! The ticketing service's error type: the one every service's commands
//! share ([`runtime::commands::Error`]).

pub use runtime::commands::{Error, Result};
