//! Value types shared by several messages.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Message;

/// What a token may do. `admin`: everything. `agent`, `integration`
/// (another system: a supplier, a monitor, the mail gateway): tickets,
/// reports, and reading the directory, the service levels and the email
/// settings and templates; `integration` also hands in received email.
/// `customer`: logging incidents and service requests, their own incidents
/// and service requests and the public actions and attachments on them,
/// their surveys, and reading the knowledge base; no problems or changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
    Customer,
    Integration,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Agent => "agent",
            Self::Customer => "customer",
            Self::Integration => "integration",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "agent" => Some(Self::Agent),
            "customer" => Some(Self::Customer),
            "integration" => Some(Self::Integration),
            _ => None,
        }
    }
}

/// Who did something.
// Or who is looking: for a customer, `id` is the customer's id, which is
// what scopes what they may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Actor {
    pub role: Role,
    /// The agent's or customer's id for those roles; for admin and
    /// integration tokens, an id of their own; for a supplier's updates
    /// over the queue (role `integration`), the supplier's id.
    pub id: Uuid,
    pub name: String,
}

impl Actor {
    /// The customer this actor is limited to, if it is a customer.
    pub fn customer_scope(&self) -> Option<Uuid> {
        (self.role == Role::Customer).then_some(self.id)
    }

    /// Whether what this actor writes on a ticket is the desk answering
    /// (for first response and SLA response): not the customer, not mail
    /// from an unknown sender that the mail gateway added, and not what the
    /// desk writes by itself (escalation's notes and reassignments, a
    /// problem's workaround copied to its incidents): none of those is a
    /// person answering the customer.
    pub fn answers_for_desk(&self) -> bool {
        self.role != Role::Customer
            && ![
                crate::notification::MAILGATE_ACTOR_ID,
                crate::escalation::ESCALATION_ACTOR_ID,
                WORKAROUND_ACTOR_ID,
            ]
            .contains(&self.id)
    }
}

/// A problem's workaround is copied to its incidents as a note by this
/// actor ("Workaround"), the agent who applied it being in their audit
/// trails: a note the desk wrote by itself, not a response.
pub const WORKAROUND_ACTOR_ID: Uuid = Uuid::from_u128(0x5e5c_a1a7_0000_4000_8000_0000_0000_0004);

pub fn workaround_actor() -> Actor {
    Actor {
        role: Role::Integration,
        id: WORKAROUND_ACTOR_ID,
        name: "Workaround".into(),
    }
}

/// A stable error code. The edge maps each to one HTTP status; the JSON names
/// are part of the API and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotFound,
    ValidationFailed,
    InvalidTransition,
    Conflict,
    /// The actor may see the object but not do this to it (e.g. decide on
    /// a change they are not an approver of).
    Forbidden,
    /// The command said which version of the object it was written for
    /// (`if_version`), and the object has changed since.
    PreconditionFailed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// A validation error naming the field that is wrong.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code: ErrorCode::ValidationFailed,
            details: Some(serde_json::json!({ "fields": { field: message } })),
            message: format!("{field}: {message}"),
        }
    }
}

/// The answer to every command: the result, or a domain error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyV1 {
    Ok(serde_json::Value),
    Error(ErrorBody),
}

impl Message for ReplyV1 {
    const TYPE: &'static str = "ReplyV1";
    const VERSION: u32 = 1;
}

/// One page of a list, with the cursor for the next page if there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "{T}Page"))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[cfg_attr(feature = "schema", schemars(with = "Option<uuid::Uuid>"))]
    pub next_cursor: Option<String>,
}

/// A command sent by request/reply to the service that owns the queue.
pub trait Command: Message {
    /// The type of `ReplyV1::Ok`'s value.
    type Output: serde::de::DeserializeOwned + Serialize;
    /// The queue of the service that handles it.
    const QUEUE: &'static str;
}

/// A domain event, published on the topic exchange.
pub trait Event: Message {
    /// `<service>.<entity>.<event>`.
    const ROUTING_KEY: &'static str;
}

/// For `Option<Option<T>>` fields: absent means "leave it", `null` means
/// "clear it". Use with `#[serde(default, deserialize_with = "...")]`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Applies a JSON merge patch (RFC 7396) to `target`: each field of
/// `patch` replaces the target's, an object is merged field by field, and
/// `null` removes the field.
pub fn merge_patch(target: &mut serde_json::Value, patch: serde_json::Value) {
    use serde_json::Value;
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(fields) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            fields.remove(&key);
        } else {
            merge_patch(fields.entry(key).or_insert(Value::Null), value);
        }
    }
}
