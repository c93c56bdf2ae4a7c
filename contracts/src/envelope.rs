//! The envelope around every message on the bus.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use time::OffsetDateTime;
use uuid::Uuid;

/// A Rust type that travels on the bus under a fixed, versioned name.
pub trait Message: Serialize + DeserializeOwned {
    /// The wire name, with the version in it: `IncidentLoggedV1`.
    const TYPE: &'static str;
    /// The version, repeated as a number so consumers can route on it.
    const VERSION: u32;
}

/// Every message on the bus, event, command or reply, travels in one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Envelope {
    /// Unique per message (UUIDv7); the idempotency key of every consumer.
    pub message_id: Uuid,
    /// The payload's wire name, e.g. `IncidentLoggedV1`.
    pub message_type: String,
    pub type_version: u32,
    pub tenant_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub occurred_at: OffsetDateTime,
    /// The id shared by every message one user action caused.
    pub correlation_id: Uuid,
    /// The message that caused this one, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// W3C trace context (`00-<trace>-<span>-<flags>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// For a command: when its caller stops waiting. A command handled
    /// after this is not carried out (its caller was told it failed).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub expires_at: Option<OffsetDateTime>,
    pub payload: serde_json::Value,
}

/// Why an envelope could not be turned into the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The envelope holds another type.
    WrongType {
        expected: &'static str,
        found: String,
    },
    /// The payload does not match the type's schema.
    Payload(String),
    /// No command or message of the receiver has this type name.
    Unknown(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WrongType { expected, found } => {
                write!(f, "expected message type {expected}, found {found}")
            }
            Self::Payload(e) => write!(f, "payload does not match its type: {e}"),
            Self::Unknown(t) => write!(f, "unknown message type {t}"),
        }
    }
}

impl std::error::Error for DecodeError {}

impl Envelope {
    /// A new message that starts a conversation (its own correlation id).
    pub fn new<M: Message>(tenant_id: Uuid, message: &M) -> Self {
        let id = Uuid::now_v7();
        Self {
            message_id: id,
            message_type: M::TYPE.to_owned(),
            type_version: M::VERSION,
            tenant_id,
            occurred_at: OffsetDateTime::now_utc(),
            correlation_id: id,
            causation_id: None,
            traceparent: None,
            expires_at: None,
            // Serializing a plain data type into a Value cannot fail: every
            // message type is made of strings, numbers, options and vectors.
            payload: serde_json::to_value(message).unwrap_or(serde_json::Value::Null),
        }
    }

    /// A message caused by `self`: same tenant, correlation and trace.
    pub fn caused<M: Message>(&self, message: &M) -> Self {
        let mut next = Self::new(self.tenant_id, message);
        next.correlation_id = self.correlation_id;
        next.causation_id = Some(self.message_id);
        next.traceparent = self.traceparent.clone();
        next
    }

    /// The same message under the id `id`: a caller that retries with the
    /// same id is answered from the consumer's inbox, not served twice.
    pub fn with_id(mut self, id: Uuid) -> Self {
        self.message_id = id;
        self.correlation_id = id;
        self
    }

    pub fn expiring_at(mut self, at: OffsetDateTime) -> Self {
        self.expires_at = Some(at);
        self
    }

    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_some_and(|at| now > at)
    }

    pub fn with_traceparent(mut self, traceparent: Option<String>) -> Self {
        self.traceparent = traceparent;
        self
    }

    pub fn is<M: Message>(&self) -> bool {
        self.message_type == M::TYPE
    }

    pub fn decode<M: Message>(&self) -> Result<M, DecodeError> {
        if !self.is::<M>() {
            return Err(DecodeError::WrongType {
                expected: M::TYPE,
                found: self.message_type.clone(),
            });
        }
        // Name the field that is wrong: a supplier reading a dead letter's
        // reason should not have to guess.
        serde_path_to_error::deserialize(&self.payload).map_err(|e| {
            let path = e.path().to_string();
            DecodeError::Payload(if path == "." {
                e.into_inner().to_string()
            } else {
                format!("{path}: {}", e.into_inner())
            })
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // An Envelope holds only JSON-representable data.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        serde_json::from_slice(bytes).map_err(|e| DecodeError::Payload(e.to_string()))
    }
}
