//! The wire format every service and supplier speaks: the message envelope and
//! every message type. serde only, no I/O.
//!
//! # Layout
//! - [`envelope`]: the [`Envelope`] around every message and the [`Message`] trait
//!   that ties a Rust type to its versioned wire name.
//! - [`common`]: value types shared by several messages (actors, errors, pages).
//! - [`incident`]: incident commands (edge → ticketing), their replies, and events.
//!
//! # Versioning
//! A message type carries its version in its name (`IncidentLoggedV1`). Adding an
//! optional field keeps the version; any other change is a new type, and both
//! are accepted for a deprecation period. `tests/golden.rs` pins the JSON of
//! every type: a test that changes there is a wire change.

pub mod common;
pub mod envelope;
pub mod incident;

pub use common::{Actor, Command, ErrorBody, ErrorCode, Event, Page, ReplyV1, Role};
pub use envelope::{DecodeError, Envelope, Message};
