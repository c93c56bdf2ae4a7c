//! Email: what the notification service sends and receives, the tenant's
//! templates (eDocs) and settings, the delivery log, and the directory the
//! edge announces so notification knows where to send.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Actor;

/// The queue of the notification service's commands.
pub const NOTIFICATION_QUEUE: &str = "notification.commands";

/// Notification asks other services (a ticket, its SLA) as this agent.
pub const NOTIFICATION_ACTOR_ID: Uuid = Uuid::from_u128(0x5e5c_a1a7_0000_4000_8000_0000_0000_0002);

/// Mail from someone the directory does not know is added to tickets as
/// this integration ("Email"), with the sender's address in the text.
pub const MAILGATE_ACTOR_ID: Uuid = Uuid::from_u128(0x5e5c_a1a7_0000_4000_8000_0000_0000_0003);

pub fn mailgate_actor() -> Actor {
    Actor {
        role: crate::Role::Integration,
        id: MAILGATE_ACTOR_ID,
        name: "Email".into(),
    }
}

/// Every email the desk sends. Each can be switched off per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// To the customer: their ticket was logged.
    Logged,
    /// To the customer: their ticket was resolved, what was done, and the
    /// satisfaction survey's link.
    Resolved,
    /// To the customer: an action flagged for them.
    Action,
    /// To the agent (or the team's agents) a ticket was assigned to.
    Assigned,
    /// To the agents and addresses of a broadcast rule a new ticket matches.
    Broadcast,
    /// To the agents an escalation timepoint alerts.
    EscalationAlert,
    /// To the customer, at an escalation timepoint.
    EscalationCustomer,
    /// To the assignee (or team leader): the response target is being missed.
    ResponseBreach,
    /// To the assignee: the customer added a note (portal or email reply).
    CustomerNote,
    /// To a supplier an incident was handed to.
    Supplier,
}

impl EmailKind {
    pub const ALL: [Self; 10] = [
        Self::Logged,
        Self::Resolved,
        Self::Action,
        Self::Assigned,
        Self::Broadcast,
        Self::EscalationAlert,
        Self::EscalationCustomer,
        Self::ResponseBreach,
        Self::CustomerNote,
        Self::Supplier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logged => "logged",
            Self::Resolved => "resolved",
            Self::Action => "action",
            Self::Assigned => "assigned",
            Self::Broadcast => "broadcast",
            Self::EscalationAlert => "escalation_alert",
            Self::EscalationCustomer => "escalation_customer",
            Self::ResponseBreach => "response_breach",
            Self::CustomerNote => "customer_note",
            Self::Supplier => "supplier",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An address with the name shown beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxV1 {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// Copy a list of agents (and addresses) on every new ticket that matches.
/// An empty criterion matches everything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BroadcastRuleV1 {
    pub name: String,
    /// Ticket kinds (`incident`, `problem`, `change`, `request`).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Priorities this high or higher (1 is the highest).
    #[serde(default)]
    pub priority_at_most: Option<u8>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub agents: Vec<Uuid>,
    #[serde(default)]
    pub emails: Vec<String>,
}

/// Where a supplier's notifications go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplierContactV1 {
    pub supplier_id: Uuid,
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// What a reply to a closed ticket does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedReplyPolicy {
    /// Reopen the ticket and add the reply to it.
    #[default]
    Reopen,
    /// Log a new incident, linked to the closed one.
    NewTicket,
}

/// A tenant's email settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsV1 {
    /// The language of emails to people who have none, and the fallback
    /// when a template is missing in theirs.
    pub default_language: String,
    /// The desk's sender, unless the customer's company has its own.
    pub sender: MailboxV1,
    /// Where replies go (`Reply-To`), if not to the sender: the mailbox the
    /// mail gateway reads, when the desk writes as a customer's company.
    #[serde(default)]
    pub reply_to: Option<MailboxV1>,
    /// Kinds of email not sent.
    #[serde(default)]
    pub disabled: Vec<EmailKind>,
    /// The tenant's own SMTP relay (e.g. `smtp://relay.example.com:587?tls=required`),
    /// instead of the desk's.
    #[serde(default)]
    pub smtp_url: Option<String>,
    /// Where the desk's web address starts, for links in emails (surveys).
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default)]
    pub broadcasts: Vec<BroadcastRuleV1>,
    #[serde(default)]
    pub suppliers: Vec<SupplierContactV1>,
    #[serde(default)]
    pub closed_reply: ClosedReplyPolicy,
    /// Addresses the desk receives mail at, besides its senders: mail from
    /// any of them is a loop and never becomes a ticket.
    #[serde(default)]
    pub desk_addresses: Vec<String>,
}

impl Default for NotificationSettingsV1 {
    fn default() -> Self {
        Self {
            default_language: "en".into(),
            sender: MailboxV1 {
                email: "servicedesk@localhost".into(),
                name: Some("Service Desk".into()),
            },
            reply_to: None,
            disabled: Vec::new(),
            smtp_url: None,
            public_url: None,
            broadcasts: Vec::new(),
            suppliers: Vec::new(),
            closed_reply: ClosedReplyPolicy::Reopen,
            desk_addresses: Vec::new(),
        }
    }
}

/// Every `{{placeholder}}` a template may use: the ticket's fields, and
/// what only some emails fill in (the action, the survey link, the
/// escalation's target and text, the supplier, the SLA's due times).
pub const PLACEHOLDERS: &[&str] = &[
    "reference",
    "kind",
    "summary",
    "description",
    "status",
    "priority",
    "service",
    "category",
    "resolution",
    "customer_name",
    "company_name",
    "agent_name",
    "team_name",
    "recipient_name",
    "last_action",
    "action_text",
    "action_author",
    "survey_url",
    "target",
    "due_at",
    "escalation_text",
    "supplier_name",
    "response_due",
    "resolve_due",
    "desk_name",
];

/// An eDoc: one kind of email in one language. `{{name}}` placeholders are
/// filled from the ticket; values are escaped in the HTML part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailTemplateV1 {
    pub kind: EmailKind,
    pub language: String,
    pub subject: String,
    pub text: String,
    #[serde(default)]
    pub html: Option<String>,
    /// Built into the desk (shown when the tenant has not replaced it).
    #[serde(default)]
    pub builtin: bool,
}

/// An email as it would go out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedEmailV1 {
    pub kind: EmailKind,
    pub language: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// One email the desk sent (or is sending) about a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryV1 {
    pub id: Uuid,
    pub kind: EmailKind,
    pub language: String,
    pub to: MailboxV1,
    pub from: MailboxV1,
    pub subject: String,
    pub message_id: String,
    /// `queued`, `sent` or `failed` (permanently refused).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

// ---- commands (edge → notification) ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetNotificationSettingsV1 {
    pub viewer: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetNotificationSettingsV1 {
    pub actor: Actor,
    pub settings: NotificationSettingsV1,
}

/// The tenant's templates, and the built-in ones it has not replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListTemplatesV1 {
    pub viewer: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PutTemplateV1 {
    pub actor: Actor,
    pub template: EmailTemplateV1,
}

/// Removes the tenant's template; the built-in one applies again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteTemplateV1 {
    pub actor: Actor,
    pub kind: EmailKind,
    pub language: String,
}

/// Renders a template against a ticket without sending: the one given, or
/// the one that would be used for `kind` in `language`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewEmailV1 {
    pub viewer: Actor,
    pub kind: EmailKind,
    pub language: String,
    /// The ticket's id or reference.
    pub ticket: String,
    #[serde(default)]
    pub template: Option<EmailTemplateV1>,
}

/// The emails about a ticket, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListDeliveriesV1 {
    pub viewer: Actor,
    /// The ticket's id or reference.
    pub ticket: String,
}

/// One RFC 5322 message for the desk, as an MTA delivered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiveEmailV1 {
    pub actor: Actor,
    /// The message's bytes, base64 (mail need not be UTF-8).
    pub raw_base64: String,
}

/// What became of a received message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailReceivedV1 {
    /// `added` (to an existing ticket), `reopened`, `logged` (a new
    /// incident), `ignored` (an auto-reply or a loop) or `duplicate` (a
    /// Message-ID seen before).
    pub outcome: String,
    pub reason: Option<String>,
    pub ticket_id: Option<Uuid>,
    pub reference: Option<String>,
    /// Attachments kept on the ticket, for the edge to store: name, type
    /// and base64 content.
    #[serde(default)]
    pub attachments: Vec<ReceivedAttachmentV1>,
    /// The action the message became, which the attachments belong to.
    #[serde(default)]
    pub action_id: Option<Uuid>,
    /// Whether the ticket's customer may see what the message became (and
    /// its attachments): only what they wrote themselves is public.
    #[serde(default)]
    pub public: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedAttachmentV1 {
    pub filename: String,
    pub content_type: String,
    pub content_base64: String,
}

// ---- the directory (edge → anyone) ----

/// One entry of a tenant's directory, as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DirectoryEntryV1 {
    Company {
        id: Uuid,
        name: String,
        /// The sender of emails to this company's customers.
        #[serde(default)]
        sender: Option<MailboxV1>,
    },
    Customer {
        id: Uuid,
        name: String,
        email: Option<String>,
        company_id: Option<Uuid>,
        language: Option<String>,
    },
    Team {
        id: Uuid,
        name: String,
        leader_id: Option<Uuid>,
    },
    Agent {
        id: Uuid,
        name: String,
        email: Option<String>,
        team_id: Option<Uuid>,
    },
}

/// A directory entry was created or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryChangedV1 {
    pub entry: DirectoryEntryV1,
}

event!(DirectoryChangedV1, "edge.directory.changed");
