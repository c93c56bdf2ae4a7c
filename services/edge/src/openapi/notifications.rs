//! The document's email tag. Its operations are declared with their
//! routes, in [`crate::notifications`], and their schemas come from the
//! wire types in [`contracts::notification`], which state the limits the
//! notification service checks. A company's own sender is the directory's
//! (`Company`, `NewCompany`).

use contracts::notification::{MAX_KEPT, PLACEHOLDERS};
use serde_json::Value;

use super::tag;

pub(crate) const EMAIL: &str = "Email";

/// `names`, each in backquotes as a placeholder: `{{reference}}`, ….
fn placeholders(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{{{{{n}}}}}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        EMAIL,
        &format!(
            "Email, kept by the notification service: every email the desk sends, the tenant's \
             settings and templates, the log of what was sent about each ticket, and the door through \
             which mail comes in.\n\n\
             The desk sends ten kinds of email (`EmailKind`), each of which the tenant may switch off \
             (`disabled` in the settings). Each is written from a **template** (an eDoc) for its kind in \
             the recipient's language (a customer's `language`; else the tenant's \
             `default_language`), falling back along the language tag (`fr-CA`, then `fr`), then to the \
             tenant's template in its default language and then to the desk's built-in one (in `en`). \
             A template has a subject, a text part and an optional HTML part, with `{{{{name}}}}` \
             placeholders filled from the ticket: {names}; and `{{{{#name}}}}…{{{{/name}}}}` sections, \
             shown only when `name` has a value. Times are written in UTC, to the second; \
             `desk_name` is the name of whom the email is from. \
             Admins replace templates (`PUT /api/v1/notifications/templates/{{kind}}/{{language}}`) and \
             staff preview them against a real ticket without sending anything. Emails go from the \
             sender of the customer's company if it has one (`sender` of a `Company`), else from the \
             tenant's, through the tenant's `smtp_url` or the desk's own relay; \
             `GET /api/v1/{{kind}}/{{id}}/emails` shows each, queued, sent or failed.\n\n\
             Mail comes in through the mail gateway (`servicedesk mailgate`, as an MTA's pipe or an \
             SMTP listener), which hands each message as it is to `POST /api/v1/mail/inbound` with an \
             admin or integration token. A reply finds its ticket by `In-Reply-To`/`References` (the \
             Message-IDs the desk sent), then by the reference in its subject (`[INC-000042]`), and \
             becomes a public note on it; a reply to a resolved ticket reopens it, or logs a new \
             incident linked to it (`closed_reply` in the settings; a closed ticket always gets a new \
             one); any other message logs a new incident for the customer with the sender's address. \
             Attachments of the types the desk keeps (see the Attachments tag), up to {kept} MiB in \
             all, go on the ticket. Auto-replies, bulk mail, bounces and mail from the desk's own \
             addresses never make a ticket, and a message (by its Message-ID) is processed once however \
             often it is delivered.",
            names = placeholders(PLACEHOLDERS),
            kept = MAX_KEPT / (1024 * 1024),
        ),
    )]
}
