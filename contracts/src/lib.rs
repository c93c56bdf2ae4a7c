//! The wire format every service and supplier speaks: the message envelope and
//! every message type. serde only, no I/O.
//!
//! # Layout
//! - [`envelope`]: the [`Envelope`] around every message and the [`Message`] trait
//!   that ties a Rust type to its versioned wire name.
//! - [`common`]: value types shared by several messages (actors, errors, pages).
//! - [`escalation`]: what the escalation service announces.
//! - [`incident`]: incident commands (edge → ticketing), their replies, and events.
//! - [`knowledge`]: the knowledge base: ticket export and published articles.
//! - [`notification`]: email: templates, settings, the delivery log, the
//!   mail gateway, and the directory the edge announces.
//! - [`report`]: the KPI reports ticketing answers.
//! - [`supplier`]: suppliers, and the messages they exchange with the desk.
//! - [`ticket`]: problems, changes, service requests, and what every kind of
//!   ticket shares (links, actions, extended data).
//!
//! # Versioning
//! A message type carries its version in its name (`IncidentLoggedV1`). Adding an
//! optional field keeps the version; any other change is a new type, and both
//! are accepted for a deprecation period. `tests/golden.rs` pins the JSON of
//! every type: a test that changes there is a wire change.

// Tie a type to its wire name and version, and to its queue or routing key.
macro_rules! message {
    ($ty:ident, $version:literal) => {
        impl $crate::Message for $ty {
            const TYPE: &'static str = stringify!($ty);
            const VERSION: u32 = $version;
        }
    };
}

macro_rules! command {
    ($ty:ident, $output:ty) => {
        message!($ty, 1);
        impl $crate::Command for $ty {
            type Output = $output;
            const QUEUE: &'static str = $crate::incident::TICKETING_QUEUE;
        }
    };
}

macro_rules! event {
    ($ty:ident, $key:literal) => {
        message!($ty, 1);
        impl $crate::Event for $ty {
            const ROUTING_KEY: &'static str = $key;
        }
    };
}

pub mod common;
pub mod envelope;
pub mod escalation;
pub mod incident;
pub mod knowledge;
pub mod notification;
pub mod report;
pub mod supplier;
pub mod ticket;

pub use common::{Actor, Command, ErrorBody, ErrorCode, Event, Page, ReplyV1, Role};
pub use envelope::{DecodeError, Envelope, Message};
