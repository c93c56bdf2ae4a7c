//! The wire format every service and supplier speaks: the message envelope and
//! every message type. serde only, no I/O.
//!
//! # Layout
//! - [`envelope`]: the [`Envelope`] around every message and the [`Message`] trait
//!   that ties a Rust type to its versioned wire name.
//! - [`commands`]: the commands each service answers, one enum each.
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

/// Declares the commands one service answers on `$queue`: each type's
/// `Message` and `Command` impls (its reply type), and the service's
/// command enum, split into queries (read-only: answered from the store as
/// it is, no transaction, no inbox) and changes (done once each, in a
/// transaction with the inbox record). A service decodes the enum once from
/// an envelope and handles it in one exhaustive match.
macro_rules! commands {
    (
        $(#[$meta:meta])*
        pub enum $name:ident on $queue:expr;
        queries $query:ident { $($q:ident -> $q_out:ty),+ $(,)? }
        changes $change:ident { $($c:ident -> $c_out:ty),+ $(,)? }
    ) => {
        $(
            message!($q, 1);
            impl $crate::Command for $q {
                type Output = $q_out;
                const QUEUE: &'static str = $queue;
            }
        )+
        $(
            message!($c, 1);
            impl $crate::Command for $c {
                type Output = $c_out;
                const QUEUE: &'static str = $queue;
            }
        )+

        $(#[$meta])*
        pub struct $name;

        /// The queries: read-only, answered without a transaction.
        #[derive(Debug)]
        #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
        pub enum $query {
            $($q($q),)+
        }

        /// The changes: each done once, in a transaction with its inbox
        /// record.
        #[derive(Debug, Clone)]
        #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
        pub enum $change {
            $($c($c),)+
        }

        impl $crate::commands::Commands for $name {
            type Query = $query;
            type Change = $change;
            const TYPES: &'static [&'static str] = &[$(stringify!($q),)+ $(stringify!($c),)+];

            fn decode(
                env: &$crate::Envelope,
            ) -> Result<$crate::commands::Asked<$query, $change>, $crate::DecodeError> {
                use $crate::commands::Asked;
                match env.message_type.as_str() {
                    $(stringify!($q) => env.decode::<$q>().map(|c| Asked::Query($query::$q(c))),)+
                    $(stringify!($c) => env.decode::<$c>().map(|c| Asked::Change($change::$c(c))),)+
                    other => Err($crate::DecodeError::Unknown(other.to_owned())),
                }
            }
        }

        impl $change {
            /// The change as a message caused by `cause` (its correlation
            /// and trace), for a service that hands itself a change.
            pub fn caused_by(&self, cause: &$crate::Envelope) -> $crate::Envelope {
                match self {
                    $(Self::$c(c) => cause.caused(c),)+
                }
            }

            /// Its wire type name.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Self::$c(_) => stringify!($c),)+
                }
            }
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

pub mod commands;
pub mod common;
pub mod envelope;
pub mod escalation;
pub mod files;
pub mod incident;
pub mod knowledge;
pub mod limits;
pub mod notification;
pub mod report;
#[cfg(feature = "schema")]
pub mod schema;
pub mod supplier;
pub mod ticket;

pub use common::{Actor, Command, ErrorBody, ErrorCode, Event, Page, ReplyV1, Role};
pub use envelope::{DecodeError, Envelope, Message};
