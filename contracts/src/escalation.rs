//! What the escalation service announces.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// An escalation timepoint of a ticket's target was reached: the actions
/// it carries are for the services that do them (notification emails,
/// ticketing records and reassigns). Published once per timepoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimepointReachedV1 {
    pub ticket_id: Uuid,
    /// `response` or `resolve`.
    pub target: String,
    /// Which timepoint of the target (0-based).
    pub timepoint: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub fired_at: OffsetDateTime,
    /// Fired more than a second after it was due (after a restart, say).
    pub late: bool,
}

event!(TimepointReachedV1, "escalation.timepoint.reached");
