//! The document's email, from the handlers in [`crate::notifications`], the
//! wire types in [`contracts::notification`] and the checks the notification
//! service makes before it stores settings or a template (its `tenant` and
//! `templates` modules): the tenant's email settings, its templates (eDocs)
//! and their preview, the emails sent about a ticket of every kind
//! (generated from [`tickets::TICKETS`](super::tickets::TICKETS), as the
//! routes are), and the mail gateway's door, which takes a raw RFC 5322
//! message of at most [`MAIL_MAX`] bytes, not JSON.
//!
//! A company's own sender is the directory's (`Company`, `NewCompany`).

use contracts::limits::{EMAIL_PATTERN, MAX_EMAIL};
use contracts::notification::{EmailKind, PLACEHOLDERS};
use serde_json::{Value, json};

use super::tickets::{TICKETS, Ticket, ticket_id};
use super::{
    about, admin_only, answer, bad_body, boolean, closed, component, count, internal, list_of,
    not_found, not_json, object, operation, or_null, parameter, responses, set, staff_only, tag,
    text, text_or_null, timestamp, timestamp_or_null, too_large, traceparent, unauthorized, uuid,
    uuid_or_null, with_body, with_parameters,
};
use crate::notifications::MAIL_MAX;

pub(super) const EMAIL: &str = "Email";

/// The longest part of a template (`text` or `html`), in bytes.
const MAX_PART: u32 = 64 * 1024;

/// The longest subject, in characters.
const MAX_SUBJECT: u32 = 400;

/// The most deliveries one list holds.
const MAX_DELIVERIES: u32 = 1_000;

/// The attachments kept of one message, in all: 10 MiB.
const MAX_KEPT: &str = "10 MiB";

/// What each kind of email is, in the order of [`EmailKind::ALL`].
const KINDS: [(EmailKind, &str); 10] = [
    (
        EmailKind::Logged,
        "to the customer: their ticket was logged",
    ),
    (
        EmailKind::Resolved,
        "to the customer: their ticket was resolved, what was done, and the satisfaction survey's link",
    ),
    (
        EmailKind::Action,
        "to the customer: an action flagged `email_customer`",
    ),
    (
        EmailKind::Assigned,
        "to the agent (or the team's agents) a ticket was assigned to",
    ),
    (
        EmailKind::Broadcast,
        "to the agents and addresses of a broadcast rule a new ticket matches",
    ),
    (
        EmailKind::EscalationAlert,
        "to the agents an escalation timepoint alerts",
    ),
    (
        EmailKind::EscalationCustomer,
        "to the customer, at an escalation timepoint",
    ),
    (
        EmailKind::ResponseBreach,
        "to the assignee (or the team leader): the response target is being missed",
    ),
    (
        EmailKind::CustomerNote,
        "to the assignee: the customer added a note (in the portal or by replying)",
    ),
    (
        EmailKind::Supplier,
        "to the supplier an incident was handed to (see the settings' `suppliers`)",
    ),
];

/// `names`, each in backquotes as a placeholder: `{{reference}}`, ….
fn placeholders(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{{{{{n}}}}}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The largest message: `25 MiB (26214400 bytes)`.
fn mail_max() -> String {
    format!("{} MiB ({MAIL_MAX} bytes)", MAIL_MAX / (1024 * 1024))
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
             `default_language`), falling back to the tenant's template in its default language and \
             then to the desk's built-in one (in `en`). A template has a subject, a text part and an \
             optional HTML part, with `{{{{name}}}}` placeholders filled from the ticket: {names}. \
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
             Attachments of the types the desk keeps (see the Attachments tag), up to {MAX_KEPT} in \
             all, go on the ticket. Auto-replies, bulk mail, bounces and mail from the desk's own \
             addresses never make a ticket, and a message (by its Message-ID) is processed once however \
             often it is delivered.",
            names = placeholders(PLACEHOLDERS),
        ),
    )]
}

// ---- schemas ----

pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let mut all = vec![("EmailKind", email_kind()), ("Mailbox", mailbox())];
    all.extend(settings_schemas());
    all.extend(template_schemas());
    all.extend(delivery_schemas());
    all.extend(mail_schemas());
    all
}

fn email_kind() -> Value {
    let kinds = KINDS.map(|(kind, _)| kind.as_str());
    let what = KINDS
        .iter()
        .map(|(kind, what)| format!("`{}`: {what}", kind.as_str()))
        .collect::<Vec<_>>()
        .join("; ");
    about(
        json!({ "type": "string", "enum": kinds }),
        &format!("A kind of email the desk sends. {what}."),
    )
}

/// One address: as the notification service checks it.
fn address(description: &str) -> Value {
    about(
        json!({ "type": "string", "maxLength": MAX_EMAIL, "pattern": EMAIL_PATTERN }),
        &format!(
            "{description} One address (`someone@example.com`), trimmed: 1 to 254 characters, no spaces \
             or control characters, that mail takes (RFC 5321)."
        ),
    )
}

fn mailbox() -> Value {
    let mailbox = object(
        &["email"],
        vec![
            ("email", address("The address.")),
            (
                "name",
                about(
                    text_or_null(),
                    "The name shown beside it; kept to one line when it is sent. Answers carry it, \
                     null if there is none.",
                ),
            ),
        ],
    );
    about(
        mailbox,
        "An address and the name shown beside it. Unknown fields inside it are ignored.",
    )
}

/// A list of `item`s that may be left out (an empty list).
fn list_or_empty(items: Value, description: &str) -> Value {
    about(
        json!({ "type": "array", "items": items, "default": [] }),
        description,
    )
}

fn language() -> Value {
    json!({ "type": "string", "minLength": 2, "maxLength": 12, "pattern": "^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$" })
}

fn settings_schemas() -> Vec<(&'static str, Value)> {
    let rule = object(
        &["name"],
        vec![
            (
                "name",
                about(json!({ "type": "string", "minLength": 1 }), "Not blank."),
            ),
            (
                "kinds",
                list_or_empty(
                    component("TicketKind"),
                    "Only new tickets of these kinds; empty (the default) matches every kind.",
                ),
            ),
            (
                "priority_at_most",
                about(
                    json!({ "type": ["integer", "null"], "minimum": 0, "maximum": 255 }),
                    "Only new tickets of this priority or a higher one (1 is the highest): 2 matches \
                     priorities 1 and 2. Null or absent matches every priority.",
                ),
            ),
            (
                "service",
                about(
                    text_or_null(),
                    "Only new tickets of this service, in any case. Null or absent matches every \
                     service.",
                ),
            ),
            (
                "agents",
                list_or_empty(
                    uuid(),
                    "The agents emailed, at the address the directory has for them (an agent without \
                     one is skipped). Not checked.",
                ),
            ),
            (
                "emails",
                list_or_empty(
                    address("An address emailed."),
                    "Other addresses emailed, each checked.",
                ),
            ),
        ],
    );
    let contact = object(
        &["supplier_id", "email"],
        vec![
            (
                "supplier_id",
                about(
                    uuid(),
                    "A supplier's id (see `/api/v1/suppliers`); not checked.",
                ),
            ),
            ("email", address("Where its `supplier` emails go.")),
            (
                "name",
                about(
                    text_or_null(),
                    "The name they are addressed to, and `{{supplier_name}}` in them.",
                ),
            ),
        ],
    );
    let policy = about(
        json!({ "type": "string", "enum": ["reopen", "new_ticket"], "default": "reopen" }),
        "What a reply to a resolved ticket does: `reopen` reopens it and adds the reply to it; \
         `new_ticket` logs a new incident, linked to it (`related`). A reply to a closed ticket always \
         logs a new one.",
    );
    vec![
        (
            "BroadcastRule",
            about(
                closed(rule),
                "Copy agents and addresses (a `broadcast` email) on every new ticket that matches: each \
                 condition left out matches anything.",
            ),
        ),
        (
            "SupplierContact",
            about(
                closed(contact),
                "Where a supplier's emails go when an incident is handed to it; a supplier without one \
                 is sent no email.",
            ),
        ),
        ("ClosedReplyPolicy", policy),
        ("NotificationSettings", settings()),
    ]
}

fn settings() -> Value {
    let settings = object(
        &["default_language", "sender"],
        vec![
            (
                "default_language",
                about(
                    language(),
                    "A language tag (`en`, `pt-BR`): the language of emails to people who have none, \
                     and the fallback when a template is missing in theirs.",
                ),
            ),
            (
                "sender",
                about(
                    component("Mailbox"),
                    "Who the desk's emails are from, unless the customer's company has its own \
                     `sender`. Mail from it never makes a ticket.",
                ),
            ),
            (
                "reply_to",
                about(
                    or_null(component("Mailbox")),
                    "Where replies go (`Reply-To`), if not to the sender: the mailbox the mail \
                     gateway reads, when the desk writes as a customer's company. Mail from it \
                     never makes a ticket.",
                ),
            ),
            (
                "disabled",
                list_or_empty(component("EmailKind"), "The kinds of email not sent."),
            ),
            (
                "smtp_url",
                about(
                    json!({ "type": ["string", "null"], "pattern": "^smtps?://[^\\s/?#]+" }),
                    "The tenant's own SMTP relay, instead of the desk's: `smtp://host:25`, \
                     `smtp://host:587?tls=required`, `smtps://user:password@host:465`. Its password \
                     is answered to admins only; others see `***` in its place.",
                ),
            ),
            (
                "public_url",
                about(
                    json!({ "type": ["string", "null"], "pattern": "^https?://[^\\s/?#]+" }),
                    "Where the desk's web address starts (`https://desk.example.com`), for the links in \
                     emails: `{{survey_url}}`.",
                ),
            ),
            (
                "broadcasts",
                list_or_empty(
                    component("BroadcastRule"),
                    "The broadcast rules; every one a new ticket matches is followed.",
                ),
            ),
            (
                "suppliers",
                list_or_empty(
                    component("SupplierContact"),
                    "Where each supplier's emails go.",
                ),
            ),
            ("closed_reply", component("ClosedReplyPolicy")),
            (
                "desk_addresses",
                list_or_empty(
                    address("An address."),
                    "Addresses the desk receives mail at besides its senders: mail from any of them is \
                     a loop and never makes a ticket.",
                ),
            ),
        ],
    );
    about(
        closed(settings),
        "A tenant's email settings. Until an admin sets them: `en`, `Service Desk \
         <servicedesk@localhost>`, nothing disabled, the desk's relay. Answers carry every field; a body \
         may leave out all but `default_language` and `sender` (each then takes its default). Unknown \
         fields are refused, but not inside `sender`.",
    )
}

fn template_schemas() -> Vec<(&'static str, Value)> {
    let names = placeholders(PLACEHOLDERS);
    let part = |what: &str| {
        about(
            json!({ "type": "string", "maxLength": MAX_PART }),
            &format!("{what} At most {MAX_PART} bytes."),
        )
    };
    let template = object(
        &["kind", "language", "subject", "text", "html", "builtin"],
        vec![
            ("kind", component("EmailKind")),
            (
                "language",
                about(language(), "A language tag: `en`, `pt-BR`."),
            ),
            (
                "subject",
                about(
                    json!({ "type": "string", "minLength": 1, "maxLength": MAX_SUBJECT }),
                    "One line.",
                ),
            ),
            ("text", part("The plain-text part.")),
            (
                "html",
                about(
                    json!({ "type": ["string", "null"], "maxLength": MAX_PART }),
                    "The HTML part, its values escaped; null if there is none (the email is then text \
                     only).",
                ),
            ),
            (
                "builtin",
                boolean(
                    "The desk's own template (in `en`), shown while the tenant has not replaced it; \
                     false for the tenant's.",
                ),
            ),
        ],
    );
    let input = object(
        &["subject", "text"],
        vec![
            (
                "subject",
                about(
                    json!({ "type": "string", "minLength": 1, "maxLength": MAX_SUBJECT }),
                    &format!(
                        "Not blank, 1 to {MAX_SUBJECT} characters, one line (no control or line-breaking \
                         characters)."
                    ),
                ),
            ),
            ("text", part("The plain-text part.")),
            (
                "html",
                about(
                    json!({ "type": ["string", "null"], "maxLength": MAX_PART }),
                    &format!(
                        "The HTML part, if any; its values are escaped. At most {MAX_PART} bytes."
                    ),
                ),
            ),
        ],
    );
    let template_rules = format!(
        "Placeholders are `{{{{name}}}}` (spaces inside the braces are allowed), one of: {names}. \
         A name not listed, or a `{{{{` without its `}}}}`, is refused. A value a kind of email does \
         not have (`{{{{supplier_name}}}}` in a `logged` email) is empty. Values are escaped in the \
         HTML part and kept to one line in the subject."
    );
    vec![
        (
            "EmailTemplate",
            about(
                template,
                &format!(
                    "A template (an eDoc): one kind of email in one language. {template_rules}"
                ),
            ),
        ),
        (
            "EmailTemplateInput",
            about(
                closed(input),
                &format!(
                    "A template's parts, as the tenant writes them; the kind and the language are the \
                     path's. {template_rules}"
                ),
            ),
        ),
        ("EmailPreviewRequest", preview_request()),
        ("RenderedEmail", rendered()),
    ]
}

fn preview_request() -> Value {
    let request = object(
        &["ticket"],
        vec![
            (
                "ticket",
                about(
                    json!({ "type": "string", "examples": ["INC-000042", "0190b3a4-7c1e-7d2a-9f3e-5b6c7d8e9f01"] }),
                    "The ticket to fill the placeholders from: its id (a UUID) or its reference, of any \
                     kind.",
                ),
            ),
            (
                "subject",
                about(
                    text_or_null(),
                    "With `text`: the subject of a template to try instead of the one in use.",
                ),
            ),
            (
                "text",
                about(
                    text_or_null(),
                    "With `subject`: the text part of a template to try instead of the one in use.",
                ),
            ),
            (
                "html",
                about(
                    text_or_null(),
                    "With `subject` and `text`: the HTML part of the template to try.",
                ),
            ),
        ],
    );
    let given = |fields: &[&str]| {
        let properties: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| ((*f).to_owned(), json!({ "type": "string" })))
            .collect();
        json!({ "required": fields, "properties": properties })
    };
    let none = json!({ "properties": {
        "subject": { "type": "null" }, "text": { "type": "null" }, "html": { "type": "null" },
    } });
    let request = set(request, "anyOf", json!([none, given(&["subject", "text"])]));
    about(
        closed(request),
        "What to preview: a ticket, and either a template to try (`subject` and `text`, and `html` if \
         it has one), checked as a saved one is, or none of them, to preview the template in use for \
         the path's kind and language.",
    )
}

fn rendered() -> Value {
    let rendered = object(
        &["kind", "language", "subject", "text", "html"],
        vec![
            ("kind", component("EmailKind")),
            (
                "language",
                about(
                    text(),
                    "The language of the template used: the one asked for, or the fallback (the \
                     tenant's default language, or `en` for the built-in template).",
                ),
            ),
            ("subject", about(text(), "On one line.")),
            ("text", text()),
            (
                "html",
                about(text_or_null(), "Null if the template has no HTML part."),
            ),
        ],
    );
    about(
        rendered,
        "An email as it would go out, filled from a ticket. In a preview, the values only some events \
         have are the ticket's: `{{recipient_name}}` is the customer's name, `{{action_text}}` the \
         ticket's last action, and `{{survey_url}}` a link with `<token>` for its token.",
    )
}

fn delivery_schemas() -> Vec<(&'static str, Value)> {
    let status = about(
        json!({ "type": "string", "enum": ["queued", "sent", "failed"] }),
        "`queued`: waiting for its (next) attempt; `sent`: the relay took it; `failed`: refused for \
         good (the relay answered 5xx).",
    );
    let delivery = object(
        &[
            "id",
            "kind",
            "language",
            "to",
            "from",
            "subject",
            "message_id",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
        ],
        vec![
            ("id", uuid()),
            ("kind", component("EmailKind")),
            (
                "language",
                about(text(), "The language of the template it was written from."),
            ),
            ("to", component("Mailbox")),
            (
                "from",
                about(
                    component("Mailbox"),
                    "The company's sender or the tenant's.",
                ),
            ),
            ("subject", text()),
            (
                "message_id",
                about(
                    text(),
                    "Its `Message-ID` (`<id@domain>`), the same on every attempt: replies find the \
                     ticket by it.",
                ),
            ),
            ("status", status),
            ("attempts", count("How many times the relay was tried.")),
            (
                "last_error",
                about(
                    text_or_null(),
                    "What went wrong the last time, if anything did.",
                ),
            ),
            ("created_at", timestamp()),
            ("sent_at", timestamp_or_null()),
        ],
    );
    vec![(
        "Delivery",
        about(
            delivery,
            "One email the desk sent, or is sending, about a ticket.",
        ),
    )]
}

fn mail_schemas() -> Vec<(&'static str, Value)> {
    let outcome = about(
        json!({ "type": "string", "enum": ["added", "reopened", "logged", "ignored", "duplicate"] }),
        "`added`: a note on the ticket it answers; `reopened`: the ticket it answers was resolved (or \
         otherwise done), is open again and has the note; `logged`: a new incident; `ignored`: an auto-reply, bulk mail, a \
         bounce or mail from the desk itself, which makes no ticket; `duplicate`: a message (by its \
         Message-ID) processed before: the answer is the first one's, with its attachments again.",
    );
    let receipt = object(
        &[
            "outcome",
            "reason",
            "ticket_id",
            "reference",
            "action_id",
            "attachments",
        ],
        vec![
            ("outcome", outcome),
            (
                "reason",
                about(
                    text_or_null(),
                    "Why, when there is more to say: why it was ignored, what it duplicates (`already \
                     processed as added`), or why a reply became a new incident (`INC-000042 is \
                     closed`).",
                ),
            ),
            (
                "ticket_id",
                about(
                    uuid_or_null(),
                    "The ticket it was added to or logged as; null if it was ignored.",
                ),
            ),
            (
                "reference",
                about(text_or_null(), "That ticket's reference."),
            ),
            (
                "action_id",
                about(
                    uuid_or_null(),
                    "The note it became (`id` of an `ActionV1`), which its attachments are on; null for \
                     a new incident (they are on the ticket) or an ignored message.",
                ),
            ),
            (
                "attachments",
                about(
                    json!({ "type": "array", "items": component("MailAttachment") }),
                    &format!(
                        "The message's attachments, in order, up to {MAX_KEPT} in all (the rest are \
                         left out); empty if it made no ticket."
                    ),
                ),
            ),
        ],
    );
    let attachment = object(
        &["filename", "content_type", "id", "refused"],
        vec![
            (
                "filename",
                about(
                    text(),
                    "Its name in the message (`attachment` if it has none).",
                ),
            ),
            (
                "content_type",
                about(text(), "Its type in the message, lowercase."),
            ),
            (
                "id",
                about(
                    uuid_or_null(),
                    "The kept file's id (`GET /api/v1/attachments/{id}`); null if it was refused. The \
                     same message delivered again keeps it once, under the same id.",
                ),
            ),
            (
                "refused",
                about(
                    text_or_null(),
                    "Why it was not kept: a type the desk does not keep, bytes that are not of their \
                     type, a name it cannot take; null if it was kept. A public file on the ticket \
                     otherwise.",
                ),
            ),
        ],
    );
    vec![
        (
            "MailReceipt",
            about(receipt, "What the desk did with a message."),
        ),
        (
            "MailAttachment",
            about(attachment, "One attachment of a message, kept or not."),
        ),
    ]
}

// ---- paths ----

/// 503: the notification service answers these.
fn notification_down() -> (u16, String) {
    (
        503,
        "`dependency_unavailable`: the message broker or the notification service is unavailable, or \
         notification did not answer in time."
            .to_owned(),
    )
}

/// 409: notification had to ask ticketing about the ticket, which did not
/// answer.
fn ticket_not_heard() -> (u16, String) {
    (
        409,
        "`conflict`: the notification service has not heard of the ticket yet and ticketing did not \
         answer it; try again."
            .to_owned(),
    )
}

fn kind_parameter() -> Value {
    parameter(
        "kind",
        "path",
        true,
        component("EmailKind"),
        "The kind of email; any other value answers 404.",
    )
}

fn language_parameter(what: &str) -> Value {
    parameter(
        "language",
        "path",
        true,
        language(),
        &format!("A language tag: `en`, `pt-BR`. {what}"),
    )
}

fn settings_rules() -> String {
    format!(
        "The checks, in order, with the field each names: `default_language` a language tag (2 to 12 \
         characters, letters and digits in parts joined by `-`); `sender` an address; `smtp_url` an \
         `smtp://` or `smtps://` URL; `public_url` an `http://` or `https://` URL; each broadcast rule's \
         `name` not blank (`broadcasts[n].name`), `kinds` ticket kinds, one of {kinds} \
         (`broadcasts[n].kinds`) and `emails` addresses (`broadcasts[n].emails`); each supplier \
         contact's `email` an address (`suppliers[n].email`); each of `desk_addresses` an address \
         (`desk_addresses`). An address is 1 to 254 characters, with no space or control character, \
         that parses as one. A kind of email `disabled` does not know, or a `closed_reply` other than \
         `reopen` and `new_ticket`, is refused as the body is read (`details.fields` names it: \
         `disabled[0]`).",
        kinds = ["incident", "problem", "change", "request"]
            .map(|k| format!("`{k}`"))
            .join(", "),
    )
}

fn template_rules() -> String {
    format!(
        "The checks, in order, with the field each names: the path's `language` a language tag \
         (`language`); `subject` not blank, at most {MAX_SUBJECT} characters (`subject`) and one line \
         (`subject`); `text` and `html` at most {MAX_PART} bytes each (`text`); then the placeholders of \
         `subject`, `text` and `html` in turn, each a name the desk knows and closed with `}}}}` (the \
         part's name)."
    )
}

pub(super) fn paths() -> Vec<(String, Value)> {
    let mut all = settings_paths();
    all.extend(template_paths());
    for t in &TICKETS {
        all.extend(ticket_email_paths(t));
    }
    all.extend(inbound_paths());
    all
}

fn settings_paths() -> Vec<(String, Value)> {
    let get = operation(
        "getNotificationSettings",
        EMAIL,
        "Get the email settings",
        "The tenant's email settings, every field; the defaults until an admin sets them. Admin, agent \
         and integration tokens.",
        responses(
            vec![(
                200,
                answer("The settings.", component("NotificationSettings")),
            )],
            vec![
                unauthorized(),
                staff_only(),
                internal(),
                notification_down(),
            ],
        ),
    );
    let put = operation(
        "setNotificationSettings",
        EMAIL,
        "Set the email settings",
        "Checks the settings and puts them in place of the tenant's, whole: a field left out takes its \
         default. Admin tokens only.",
        responses(
            vec![(
                200,
                answer("The settings now.", component("NotificationSettings")),
            )],
            vec![
                bad_body(&settings_rules()),
                unauthorized(),
                admin_only(),
                too_large(),
                not_json(),
                internal(),
                notification_down(),
            ],
        ),
    );
    vec![(
        "/api/v1/notifications/settings".to_owned(),
        json!({
            "get": with_parameters(get, vec![traceparent()]),
            "put": with_parameters(with_body(put, "NotificationSettings"), vec![traceparent()]),
        }),
    )]
}

fn template_paths() -> Vec<(String, Value)> {
    let list = operation(
        "listEmailTemplates",
        EMAIL,
        "List email templates",
        "The tenant's templates, and the desk's built-in one (`builtin`, in `en`) of each kind the \
         tenant has not replaced in `en`, by kind (in the order of `EmailKind`) and language (not \
         paged). Admin, agent and integration tokens.",
        responses(
            vec![(200, answer("The templates.", list_of("EmailTemplate")))],
            vec![
                unauthorized(),
                staff_only(),
                internal(),
                notification_down(),
            ],
        ),
    );
    let put = operation(
        "setEmailTemplate",
        EMAIL,
        "Set an email template",
        "Checks the template and keeps it as the tenant's for this kind and language, in place of the \
         one it had (a built-in one is replaced only in its language, `en`). Admin tokens only.",
        responses(
            vec![(200, answer("The template now.", component("EmailTemplate")))],
            vec![
                bad_body(&template_rules()),
                unauthorized(),
                admin_only(),
                not_found("`kind` is not a kind of email."),
                too_large(),
                not_json(),
                internal(),
                notification_down(),
            ],
        ),
    );
    let delete = operation(
        "deleteEmailTemplate",
        EMAIL,
        "Delete an email template",
        "Removes the tenant's template of this kind and language. Emails of the kind in the language are \
         then written from the tenant's template in its default language, or else the built-in one. \
         Admin tokens only.",
        responses(
            vec![(
                200,
                answer(
                    "Deleted: the template that applies now to the kind in the language (the tenant's \
                     in its default language, or the built-in one).",
                    component("EmailTemplate"),
                ),
            )],
            vec![
                unauthorized(),
                admin_only(),
                not_found(
                    "`kind` is not a kind of email, or the tenant has no template of its own for it in \
                     this language.",
                ),
                internal(),
                notification_down(),
            ],
        ),
    );
    let preview = operation(
        "previewEmail",
        EMAIL,
        "Preview an email",
        "Fills a template from a ticket and answers the email as it would go out; nothing is sent or \
         stored. Without `subject` and `text` the template is the one in use for the kind in the \
         language (with the same fallbacks as a real email); with them, the template given, checked \
         as a saved one is. Admin, agent and integration tokens.",
        responses(
            vec![(200, answer("The email.", component("RenderedEmail")))],
            vec![
                bad_body(&format!(
                    "Only some of `subject` and `text` given, or `html` without them (`details.fields` \
                     names `subject`); a template given is checked as `PUT \
                     /api/v1/notifications/templates/{{kind}}/{{language}}` checks it: {}",
                    template_rules()
                )),
                unauthorized(),
                staff_only(),
                not_found("`kind` is not a kind of email, or the tenant has no such ticket."),
                ticket_not_heard(),
                too_large(),
                not_json(),
                internal(),
                notification_down(),
            ],
        ),
    );
    let on = |what: &str| vec![kind_parameter(), language_parameter(what), traceparent()];
    vec![
        (
            "/api/v1/notifications/templates".to_owned(),
            json!({ "get": with_parameters(list, vec![traceparent()]) }),
        ),
        (
            "/api/v1/notifications/templates/{kind}/{language}".to_owned(),
            json!({
                "put": with_parameters(
                    with_body(put, "EmailTemplateInput"),
                    on("Any other value answers 400."),
                ),
                "delete": with_parameters(
                    delete,
                    on("As the template was set; any other value answers 404."),
                ),
            }),
        ),
        (
            "/api/v1/notifications/templates/{kind}/{language}/preview".to_owned(),
            json!({
                "post": with_parameters(
                    with_body(preview, "EmailPreviewRequest"),
                    on("The recipient's language: a template given is refused (400) with any other \
                        value; without one, a language with no template falls back."),
                ),
            }),
        ),
    ]
}

/// `GET /api/v1/<kind>/{id}/emails`: the emails about a ticket of `t`'s
/// kind.
fn ticket_email_paths(t: &Ticket) -> Vec<(String, Value)> {
    let (kind, title) = (t.kind, t.title);
    let (path, noun, one) = (t.path(), t.noun(), t.one());
    let list = operation(
        &format!("list{title}Emails"),
        EMAIL,
        &format!("List the emails about {one}"),
        &format!(
            "Every email the desk sent, or is sending, about the {noun}, to anyone, newest first, at \
             most {MAX_DELIVERIES} (not paged). Admin, agent and integration tokens."
        ),
        responses(
            vec![(200, answer("The emails.", list_of("Delivery")))],
            vec![
                unauthorized(),
                staff_only(),
                not_found(&format!("no such {noun} in the tenant.")),
                ticket_not_heard(),
                internal(),
                (
                    503,
                    "`dependency_unavailable`: the message broker, the ticketing service or the \
                     notification service is unavailable, or one of them did not answer in time."
                        .to_owned(),
                ),
            ],
        ),
    );
    vec![(
        format!("/api/v1/{path}/{{id}}/emails"),
        json!({ "get": with_parameters(list, vec![ticket_id(kind), traceparent()]) }),
    )]
}

fn inbound_paths() -> Vec<(String, Value)> {
    let receive = operation(
        "receiveMail",
        EMAIL,
        "Hand in a received email",
        &format!(
            "The mail gateway's door: one RFC 5322 message, as an MTA delivered it, becomes a note on \
             the ticket it answers, reopens that ticket, logs a new incident, or is ignored (see the \
             Email tag); its attachments of the types the desk keeps are kept on the ticket as public \
             files, on the note it became. The message is processed once by its Message-ID (by a \
             digest of its bytes if it has none): handing it in again answers `duplicate`, and keeps \
             any attachment not kept yet. A 409 or 503 means \"not now\": hand the same message in \
             again later (the gateway answers the MTA 75 or 451). Admin and integration tokens, of \
             the tenant the mail is for; at most {}.",
            mail_max()
        ),
        responses(
            vec![(200, answer("What the desk did.", component("MailReceipt")))],
            vec![
                (
                    400,
                    "`validation_failed`: the body is empty or could not be read (`body`); it is not \
                     an RFC 5322 message, with a `From` or a `Subject` (`message`); or ticketing \
                     refused the note or incident it would become (`details.fields` names the field: \
                     a text over 100000 characters, or with control characters; a customer's reply \
                     with no text)."
                        .to_owned(),
                ),
                unauthorized(),
                (
                    403,
                    "`forbidden`: only admin and integration tokens may hand in mail.".to_owned(),
                ),
                (
                    409,
                    "`conflict`: not now: ticketing did not answer the notification service; hand the \
                     message in again later."
                        .to_owned(),
                ),
                (
                    413,
                    format!(
                        "`payload_too_large`: the message is larger than {}.",
                        mail_max()
                    ),
                ),
                internal(),
                (
                    503,
                    "`dependency_unavailable`: the desk's database, the message broker or the \
                     notification service is unavailable, or notification did not answer in time; \
                     hand the message in again later."
                        .to_owned(),
                ),
            ],
        ),
    );
    let body = json!({
        "required": true,
        "description": format!(
            "The message's bytes, as they are (not JSON, not multipart), headers and body, at most \
             {}. Send it as `message/rfc822`; the `Content-Type` is not checked.",
            mail_max()
        ),
        "content": {
            "message/rfc822": { "schema": { "type": "string", "format": "binary" } },
        },
    });
    let receive = set(receive, "requestBody", body);
    vec![(
        "/api/v1/mail/inbound".to_owned(),
        json!({ "post": with_parameters(receive, vec![traceparent()]) }),
    )]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use contracts::notification::*;
    use contracts::ticket::TicketKind;
    use serde_json::Value;
    use time::OffsetDateTime;
    use uuid::Uuid;

    use super::super::document;
    use super::super::slas::tests::{check, json, schema};
    use super::{KINDS, MAIL_MAX, PLACEHOLDERS};
    use crate::directory::Company;
    use crate::notifications::{KeptAttachment, MailReceipt};

    /// Every placeholder is described.
    #[test]
    fn every_placeholder_is_described() {
        let doc = document();
        let described = doc["components"]["schemas"]["EmailTemplate"]["description"]
            .as_str()
            .unwrap_or("");
        for name in PLACEHOLDERS {
            assert!(
                described.contains(&format!("`{{{{{name}}}}}`")),
                "{{{{{name}}}}} is not listed"
            );
        }
    }

    /// `EmailKind` is the contract's, in its order, each described.
    #[test]
    fn email_kinds_are_the_contracts() {
        let kinds: Vec<EmailKind> = KINDS.iter().map(|(kind, _)| *kind).collect();
        assert_eq!(kinds, EmailKind::ALL);
        let doc = document();
        let documented = &doc["components"]["schemas"]["EmailKind"]["enum"];
        let serialized: Vec<Value> = EmailKind::ALL.iter().map(json).collect();
        assert_eq!(*documented, Value::Array(serialized));
    }

    /// The message is taken raw, not as JSON, up to [`MAIL_MAX`] bytes.
    #[test]
    fn inbound_mail_is_a_raw_message() {
        let doc = document();
        let receive = &doc["paths"]["/api/v1/mail/inbound"]["post"];
        let types: Vec<&String> = receive["requestBody"]["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(types, ["message/rfc822"]);
        let limit = receive["responses"]["413"]["description"]
            .as_str()
            .unwrap_or("");
        assert!(limit.contains(&format!("{MAIL_MAX} bytes")), "{limit}");
        assert!(receive["responses"]["415"].is_null(), "no type is refused");
    }

    fn mailbox(name: Option<&str>) -> MailboxV1 {
        MailboxV1 {
            email: "desk@example.com".into(),
            name: name.map(str::to_owned),
        }
    }

    /// What the endpoints answer and take, every part filled in (and every
    /// part that may be null, null), fits the document.
    #[test]
    fn email_wire_types_fit_their_schemas() {
        let doc = document();
        let full = NotificationSettingsV1 {
            default_language: "pt-BR".into(),
            sender: mailbox(Some("Desk")),
            reply_to: Some(mailbox(Some("Help"))),
            disabled: EmailKind::ALL.to_vec(),
            smtp_url: Some("smtp://relay.example.com:587?tls=required".into()),
            public_url: Some("https://desk.example.com".into()),
            broadcasts: vec![BroadcastRuleV1 {
                name: "Major".into(),
                kinds: TicketKind::ALL.map(|k| k.as_str().to_owned()).to_vec(),
                priority_at_most: Some(2),
                service: Some("Email".into()),
                agents: vec![Uuid::nil()],
                emails: vec!["ops@example.com".into()],
            }],
            suppliers: vec![SupplierContactV1 {
                supplier_id: Uuid::nil(),
                email: "support@supplier.example".into(),
                name: Some("Supplier".into()),
            }],
            closed_reply: ClosedReplyPolicy::NewTicket,
            desk_addresses: vec!["help@example.com".into()],
        };
        for settings in [&full, &NotificationSettingsV1::default()] {
            check(
                &doc,
                &schema("NotificationSettings"),
                &json(settings),
                "NotificationSettings",
            );
        }
        let template = EmailTemplateV1 {
            kind: EmailKind::Logged,
            language: "en".into(),
            subject: "[{{reference}}] {{summary}}".into(),
            text: "Dear {{customer_name}}".into(),
            html: Some("<p>Dear {{customer_name}}</p>".into()),
            builtin: true,
        };
        let text_only = EmailTemplateV1 {
            html: None,
            builtin: false,
            ..template.clone()
        };
        let list = serde_json::json!({ "type": "array", "items": schema("EmailTemplate") });
        check(
            &doc,
            &list,
            &json(&vec![template, text_only]),
            "EmailTemplate",
        );
        let input = serde_json::json!({ "subject": "s", "text": "t", "html": null });
        check(
            &doc,
            &schema("EmailTemplateInput"),
            &input,
            "EmailTemplateInput",
        );
        let preview =
            serde_json::json!({ "ticket": "INC-000042", "subject": "s", "text": "t", "html": "h" });
        check(
            &doc,
            &schema("EmailPreviewRequest"),
            &preview,
            "EmailPreviewRequest",
        );
        for html in [Some("<p>Hi</p>".to_owned()), None] {
            let rendered = RenderedEmailV1 {
                kind: EmailKind::Resolved,
                language: "en".into(),
                subject: "[INC-000042] Resolved".into(),
                text: "Hi".into(),
                html,
            };
            check(
                &doc,
                &schema("RenderedEmail"),
                &json(&rendered),
                "RenderedEmail",
            );
        }
        let now = OffsetDateTime::UNIX_EPOCH;
        let sent = DeliveryV1 {
            id: Uuid::nil(),
            kind: EmailKind::Assigned,
            language: "en".into(),
            to: mailbox(Some("Ann")),
            from: mailbox(None),
            subject: "[INC-000042] Assigned to you".into(),
            message_id: "<id@example.com>".into(),
            status: "sent".into(),
            attempts: 2,
            last_error: Some("421 busy".into()),
            created_at: now,
            sent_at: Some(now),
        };
        let queued = DeliveryV1 {
            status: "queued".into(),
            attempts: 0,
            last_error: None,
            sent_at: None,
            ..sent.clone()
        };
        let list = serde_json::json!({ "type": "array", "items": schema("Delivery") });
        check(&doc, &list, &json(&vec![sent, queued]), "Delivery");
    }

    #[test]
    fn mail_receipts_and_companies_fit_their_schemas() {
        let doc = document();
        let kept = MailReceipt {
            outcome: "added".into(),
            reason: None,
            ticket_id: Some(Uuid::nil()),
            reference: Some("INC-000042".into()),
            action_id: Some(Uuid::nil()),
            attachments: vec![
                KeptAttachment {
                    filename: "screen.png".into(),
                    content_type: "image/png".into(),
                    id: Some(Uuid::nil()),
                    refused: None,
                },
                KeptAttachment {
                    filename: "page.html".into(),
                    content_type: "text/html".into(),
                    id: None,
                    refused: Some("text/html is not a type this desk keeps".into()),
                },
            ],
        };
        let ignored = MailReceipt {
            outcome: "ignored".into(),
            reason: Some("auto-submitted (auto-replied)".into()),
            ticket_id: None,
            reference: None,
            action_id: None,
            attachments: Vec::new(),
        };
        for receipt in [&kept, &ignored] {
            check(&doc, &schema("MailReceipt"), &json(receipt), "MailReceipt");
        }
        for sender in [Some(mailbox(Some("Acme IT"))), Some(mailbox(None)), None] {
            let company = Company {
                id: Uuid::nil(),
                name: "Acme".into(),
                sender,
                created_at: OffsetDateTime::UNIX_EPOCH,
            };
            check(&doc, &schema("Company"), &json(&company), "Company");
        }
        let new_company = serde_json::json!({ "name": "Acme", "sender": { "email": "it@acme.example", "name": "Acme IT" } });
        check(&doc, &schema("NewCompany"), &new_company, "NewCompany");
        let senders: BTreeSet<&str> = doc["components"]["schemas"]["NewSender"]["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(senders, BTreeSet::from(["email", "name"]));
    }
}
