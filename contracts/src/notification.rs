//! Email: what the notification service sends and receives, the tenant's
//! templates (eDocs) and settings, the delivery log, and the directory the
//! edge announces so notification knows where to send.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Actor;
#[cfg(feature = "schema")]
use crate::limits::{
    ANY_LINE_PATTERN, EMAIL_PATTERN, MAX_EMAIL, MAX_PRIORITY, MAX_SUMMARY, ONE_LINE_PATTERN,
};
#[cfg(feature = "schema")]
use crate::schema::Timestamp;

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

/// The longest subject of a template, in characters.
pub const MAX_SUBJECT: usize = 400;
/// The longest part of a template (`text` or `html`), in characters.
pub const MAX_PART: usize = 64 * 1024;
/// The longest language tag.
pub const MAX_LANGUAGE: usize = 12;
/// A language tag (`en`, `pt-BR`): letters and digits in parts joined by
/// `-`, 2 to [`MAX_LANGUAGE`] characters in all.
pub const LANGUAGE_PATTERN: &str = "^[A-Za-z0-9]+(-[A-Za-z0-9]+)*(?![\\s\\S])";
/// The most emails one list of a ticket's holds.
pub const MAX_DELIVERIES: usize = 1_000;
/// The attachments of one received message kept on its ticket, in bytes
/// all told: 10 MiB.
pub const MAX_KEPT: usize = 10 * 1024 * 1024;

/// A kind of email the desk sends. Each can be switched off per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// To the customer: their ticket was logged.
    Logged,
    /// To the customer: their ticket was resolved, what was done, and the
    /// satisfaction survey's link.
    Resolved,
    /// To the customer: an action flagged `email_customer`.
    Action,
    /// To the agent (or the team's agents) a ticket was assigned to.
    Assigned,
    /// To the agents and addresses of a broadcast rule a new ticket matches.
    Broadcast,
    /// To the agents an escalation timepoint alerts.
    EscalationAlert,
    /// To the customer, at an escalation timepoint.
    EscalationCustomer,
    /// To the assignee (or the team leader): the response target is being
    /// missed.
    ResponseBreach,
    /// To the assignee: the customer added a note (in the portal or by
    /// replying).
    CustomerNote,
    /// To the supplier an incident was handed to (see the settings'
    /// `suppliers`).
    Supplier,
    /// To each approver of a change whose decision is wanted: when it is
    /// requested, and again when its plan changes.
    ApprovalWanted,
}

impl EmailKind {
    pub const ALL: [Self; 11] = [
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
        Self::ApprovalWanted,
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
            Self::ApprovalWanted => "approval_wanted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An address and the name shown beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Mailbox"))]
#[serde(deny_unknown_fields)]
pub struct MailboxV1 {
    /// One address (`someone@example.com`), trimmed: no spaces or control
    /// characters, and one that mail takes (RFC 5321).
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = MAX_EMAIL), regex(pattern = EMAIL_PATTERN))
    )]
    pub email: String,
    /// The name shown beside it: one line, no control characters, at most
    /// 200 characters. Answers carry it, null if there is none.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))
    )]
    pub name: Option<String>,
}

/// Copy agents and addresses (a `broadcast` email) on every new ticket
/// that matches: each condition left out matches anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "BroadcastRule"))]
#[serde(deny_unknown_fields)]
pub struct BroadcastRuleV1 {
    /// One line, not blank, no control characters, at most 200 characters.
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))
    )]
    pub name: String,
    /// Only new tickets of these kinds; empty (the default) matches every
    /// kind.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<crate::ticket::TicketKind>"))]
    pub kinds: Vec<String>,
    /// Only new tickets of this priority or a higher one (1 is the
    /// highest): 2 matches priorities 1 and 2. Null or absent matches
    /// every priority.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_PRIORITY)))]
    pub priority_at_most: Option<u8>,
    /// Only new tickets of this service, in any case. Null or absent
    /// matches every service.
    #[serde(default)]
    pub service: Option<String>,
    /// The agents emailed, at the address the directory has for them (an
    /// agent without one is skipped). Not checked.
    #[serde(default)]
    pub agents: Vec<Uuid>,
    /// Other addresses emailed, each checked as `Mailbox`'s `email` is.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(inner(length(max = MAX_EMAIL), regex(pattern = EMAIL_PATTERN)))
    )]
    pub emails: Vec<String>,
}

/// Where a supplier's emails go when an incident is handed to it; a
/// supplier without one is sent no email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "SupplierContact"))]
#[serde(deny_unknown_fields)]
pub struct SupplierContactV1 {
    /// A supplier's id (see `/api/v1/suppliers`); not checked.
    pub supplier_id: Uuid,
    /// Where its `supplier` emails go, checked as `Mailbox`'s `email` is.
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = MAX_EMAIL), regex(pattern = EMAIL_PATTERN))
    )]
    pub email: String,
    /// The name they are addressed to, and `{{supplier_name}}` in them:
    /// one line, no control characters, at most 200 characters.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))
    )]
    pub name: Option<String>,
}

/// What a reply to a resolved ticket does: `reopen` reopens it and adds
/// the reply to it; `new_ticket` logs a new incident, linked to it
/// (`related`). A reply to a closed ticket always logs a new one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClosedReplyPolicy {
    /// Reopen the ticket and add the reply to it.
    #[default]
    Reopen,
    /// Log a new incident, linked to the closed one.
    NewTicket,
}

/// A tenant's email settings. Until an admin sets them: `en`, `Service
/// Desk <servicedesk@localhost>`, nothing disabled, the desk's relay.
/// Answers carry every field; a body may leave out all but
/// `default_language` and `sender` (each then takes its default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "NotificationSettings"))]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsV1 {
    /// A language tag (`en`, `pt-BR`): the language of emails to people
    /// who have none, and the fallback when a template is missing in
    /// theirs.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 2, max = MAX_LANGUAGE), regex(pattern = LANGUAGE_PATTERN))
    )]
    pub default_language: String,
    /// Who the desk's emails are from, unless the customer's company has
    /// its own `sender`. Mail from it never makes a ticket.
    pub sender: MailboxV1,
    /// Where replies go (`Reply-To`), if not to the sender: the mailbox the
    /// mail gateway reads, when the desk writes as a customer's company.
    /// Mail from it never makes a ticket.
    #[serde(default)]
    pub reply_to: Option<MailboxV1>,
    /// The kinds of email not sent.
    #[serde(default)]
    pub disabled: Vec<EmailKind>,
    /// The tenant's own SMTP relay, instead of the desk's: `smtp://host:25`,
    /// `smtp://host:587?tls=required`, `smtps://user:password@host:465`.
    /// Its password is answered to admins only; others see `***` in its
    /// place.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"^smtps?://[^\s/?#]+")))]
    pub smtp_url: Option<String>,
    /// Where the desk's web address starts (`https://desk.example.com`),
    /// for the links in emails: `{{survey_url}}`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(regex(pattern = r"^https?://[^\s/?#]+")))]
    pub public_url: Option<String>,
    /// The broadcast rules; every one a new ticket matches is followed.
    #[serde(default)]
    pub broadcasts: Vec<BroadcastRuleV1>,
    /// Where each supplier's emails go.
    #[serde(default)]
    pub suppliers: Vec<SupplierContactV1>,
    #[serde(default)]
    pub closed_reply: ClosedReplyPolicy,
    /// Addresses the desk receives mail at besides its senders: mail from
    /// any of them is a loop and never makes a ticket. Each is checked as
    /// `Mailbox`'s `email` is.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(inner(length(max = MAX_EMAIL), regex(pattern = EMAIL_PATTERN)))
    )]
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

/// A template (an eDoc): one kind of email in one language. `{{name}}`
/// placeholders are filled from the ticket (spaces inside the braces are
/// allowed), each one of the desk's ([`PLACEHOLDERS`]); a name not listed,
/// or a `{{` without its `}}`, is refused. A value a kind of email does not
/// have (`{{supplier_name}}` in a `logged` email) is empty. Values are
/// escaped in the HTML part and kept to one line in the subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "EmailTemplate"))]
pub struct EmailTemplateV1 {
    pub kind: EmailKind,
    /// A language tag: `en`, `pt-BR`.
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 2, max = MAX_LANGUAGE), regex(pattern = LANGUAGE_PATTERN))
    )]
    pub language: String,
    /// One line.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = MAX_SUBJECT)))]
    pub subject: String,
    /// The plain-text part.
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_PART)))]
    pub text: String,
    /// The HTML part, its values escaped; null if there is none (the email
    /// is then text only).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_PART)))]
    pub html: Option<String>,
    /// The desk's own template (in `en`), shown while the tenant has not
    /// replaced it; false for the tenant's.
    #[serde(default)]
    pub builtin: bool,
}

/// An email as it would go out, filled from a ticket. In a preview, the
/// values only some events have are the ticket's: `{{recipient_name}}` is
/// the customer's name, `{{action_text}}` the ticket's last action, and
/// `{{survey_url}}` a link with `<token>` for its token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "RenderedEmail"))]
pub struct RenderedEmailV1 {
    pub kind: EmailKind,
    /// The language of the template used: the one asked for, or the
    /// fallback (the tenant's default language, or `en` for the built-in
    /// template).
    pub language: String,
    /// On one line.
    pub subject: String,
    pub text: String,
    /// Null if the template has no HTML part.
    pub html: Option<String>,
}

/// One email the desk sent, or is sending, about a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Delivery"))]
pub struct DeliveryV1 {
    pub id: Uuid,
    pub kind: EmailKind,
    /// The language of the template it was written from.
    pub language: String,
    pub to: MailboxV1,
    /// The company's sender or the tenant's.
    pub from: MailboxV1,
    pub subject: String,
    /// Its `Message-ID` (`<id@domain>`), the same on every attempt: replies
    /// find the ticket by it.
    pub message_id: String,
    /// `queued`: waiting for its (next) attempt; `sent`: the relay took it;
    /// `failed`: refused for good (the relay answered 5xx).
    #[cfg_attr(
        feature = "schema",
        schemars(extend("enum" = ["queued", "sent", "failed"]))
    )]
    pub status: String,
    /// How many times the relay was tried.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub attempts: i64,
    /// What went wrong the last time, if anything did.
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "Timestamp"))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Timestamp>"))]
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

/// Changes some of the settings: a JSON merge patch (RFC 7396,
/// [`crate::common::merge_patch`]) applied to the settings as they are
/// when the command runs, so a concurrent change is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchNotificationSettingsV1 {
    pub actor: Actor,
    pub patch: serde_json::Map<String, serde_json::Value>,
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
        /// False once deactivated: their mail no longer acts as them.
        #[serde(default = "active", skip_serializing_if = "is_active")]
        active: bool,
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
        /// False once deactivated: their mail no longer acts as them.
        #[serde(default = "active", skip_serializing_if = "is_active")]
        active: bool,
    },
}

/// An entry announced before entries said whether they are active is.
fn active() -> bool {
    true
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde passes a reference"
)]
fn is_active(active: &bool) -> bool {
    *active
}

/// A directory entry was created or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryChangedV1 {
    pub entry: DirectoryEntryV1,
}

event!(DirectoryChangedV1, "edge.directory.changed");
