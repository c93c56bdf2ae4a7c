//! Suppliers: the companies an incident can be handed to, who work it over
//! the message queue instead of the API.
//!
//! - The desk registers a supplier ([`RegisterSupplierV1`]) and hands it a
//!   token once. The supplier's queue, `<prefix>.supplier.<id>`, is declared
//!   then, bound to `supplier.<id>.#` on the events exchange.
//! - Assigning an incident to the supplier puts a [`SupplierAssignmentV1`]
//!   (routing key `supplier.<id>.assignment`) on that queue.
//! - The supplier sends [`SupplierUpdateV1`]s (a note, a status, a
//!   resolution) to the `<prefix>.suppliers` exchange, routing key
//!   `updates`, with its id and token in each. The desk checks the token and
//!   that the incident is assigned to that supplier, in that tenant.
//! - Taking the incident back (or handing it to another supplier) puts a
//!   [`SupplierUnassignedV1`] (`supplier.<id>.unassigned`) on its queue.
//! - An update the desk cannot take is dead-lettered with its reason, and
//!   the supplier gets a [`SupplierMessageRejectedV1`] (routing key
//!   `supplier.<id>.rejected`) on its queue saying why.
//!
//! These are the types `docs/asyncapi.json` documents.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Actor;
use crate::incident::{IncidentStatus, IncidentV1};

/// The exchange suppliers publish their updates to (under the prefix).
pub const SUPPLIER_EXCHANGE: &str = "suppliers";
/// The routing key of updates on [`SUPPLIER_EXCHANGE`].
pub const UPDATE_KEY: &str = "updates";

/// The routing key of a message for supplier `id`: `supplier.<id>.<what>`.
pub fn supplier_key(id: Uuid, what: &str) -> String {
    format!("supplier.{id}.{what}")
}

/// The queue a supplier consumes (the transport prefixes it).
pub fn supplier_queue(id: Uuid) -> String {
    format!("supplier.{id}")
}

/// Every [`supplier_queue`]: `supplier.<id>`.
pub const SUPPLIER_QUEUE_PATTERN: &str =
    "^supplier\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/// Every supplier's token: `sup_` and 64 lowercase hex digits.
pub const SUPPLIER_TOKEN_PATTERN: &str = "^sup_[0-9a-f]{64}$";

/// What a registration's answer holds in place of the token when it is
/// answered again (a retry under its `Idempotency-Key`): the desk keeps no
/// copy of it.
pub const TOKEN_SHOWN_ONCE: &str = "(shown once, when it was issued)";

/// A token as a registration answers it: the token, or, answered again,
/// [`TOKEN_SHOWN_ONCE`].
pub const ANSWERED_TOKEN_PATTERN: &str =
    "^(sup_[0-9a-f]{64}|\\(shown once, when it was issued\\))$";

/// A supplier incidents can be handed to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SupplierV1 {
    /// The supplier's id: `supplier_id` in an assignment and in its messages.
    pub id: Uuid,
    /// Unique in the tenant, in any case; what its notes and status changes
    /// are by.
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::Timestamp"))]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterSupplierV1 {
    pub actor: Actor,
    pub name: String,
}

/// A supplier just registered, with what it needs to connect: its token
/// (shown this once) and its queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SupplierRegisteredV1 {
    pub supplier: SupplierV1,
    /// The supplier's credential on the queue: `token` in each of its
    /// `SupplierUpdateV1`s. Shown only now: the desk keeps only its SHA-256
    /// digest, and no endpoint shows it again (a new one replaces it); a
    /// retry answered from the first answer says `(shown once, when it was
    /// issued)` in its place.
    #[cfg_attr(feature = "schema", schemars(regex(pattern = ANSWERED_TOKEN_PATTERN)))]
    pub token: String,
    /// The queue the supplier consumes, `supplier.<id>`, before the
    /// deployment's prefix: on the broker it is `<prefix>.supplier.<id>`.
    #[cfg_attr(feature = "schema", schemars(regex(pattern = SUPPLIER_QUEUE_PATTERN)))]
    pub queue: String,
}

/// Issues the supplier a new token; the old one stops working at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RotateSupplierTokenV1 {
    pub actor: Actor,
    pub supplier: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListSuppliersV1 {
    pub viewer: Actor,
}

// ---- supplier-facing messages ----

/// An incident handed to the supplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SupplierAssignmentV1 {
    pub supplier_id: Uuid,
    pub incident: IncidentV1,
    pub assigned_by: Actor,
}

/// An incident was taken back from the supplier (or handed to another):
/// its updates on it are refused from now on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SupplierUnassignedV1 {
    pub supplier_id: Uuid,
    pub incident_id: Uuid,
    pub reference: String,
    pub unassigned_by: Actor,
}

/// What a supplier reports on an incident assigned to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SupplierUpdate {
    /// A note for the desk (not shown to the customer).
    Note { text: String },
    /// Work under way (`in_progress`) or waiting (`pending`).
    Status { status: IncidentStatus },
    /// Resolved, with what was done.
    Resolution { resolution: String },
}

/// A supplier's update, authenticated by its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SupplierUpdateV1 {
    pub supplier_id: Uuid,
    /// The token the desk handed the supplier when it was registered.
    pub token: String,
    /// The incident's reference (`INC-000042`) or id.
    pub incident: String,
    pub update: SupplierUpdate,
}

/// Why the desk did not take one of the supplier's messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SupplierMessageRejectedV1 {
    /// The `message_id` of the envelope that was rejected.
    pub message_id: Uuid,
    pub reason: String,
}

message!(SupplierAssignmentV1, 1);
message!(SupplierUnassignedV1, 1);
message!(SupplierUpdateV1, 1);
message!(SupplierMessageRejectedV1, 1);
