//! The mail gateway's other half: one RFC 5322 message, as an MTA delivered
//! it, becomes a note on its ticket, a reopened ticket, or a new incident.
//!
//! - **Once:** a message is processed once per Message-ID (a message
//!   without one is known by a digest of its bytes). What it makes
//!   ticketing do is sent under ids derived from it, so even a retry after
//!   a crash half way is answered from ticketing's inbox, not done twice.
//! - **Never a loop:** auto-replies (`Auto-Submitted` other than `no`,
//!   `Precedence: bulk|junk|list`, `X-Autoreply`), bounces (no sender, the
//!   mailer daemon), mail from the desk's own addresses and the desk's own
//!   messages coming back are ignored.
//! - **Threading:** by `In-Reply-To`/`References` against the Message-IDs
//!   the desk sent (and its per-ticket thread id), then by the reference
//!   in the subject (`[INC-000042]`); otherwise a new incident for the
//!   sender, matched to a customer by address.
//! - **Closed tickets:** the tenant's policy reopens them or logs a new
//!   incident linked to the old one.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use contracts::common::ReplyV1;
use contracts::files;
use contracts::incident::{ActionKind, ActionV1};
use contracts::notification::{
    ClosedReplyPolicy, EmailReceivedV1, MAX_KEPT, ReceiveEmailV1, ReceivedAttachmentV1,
    mailgate_actor,
};
use contracts::ticket::{
    AddActionV1, ChangeTicketStatusV1, LinkTicketsV1, LinkType, LogTicketV1, TicketKind,
};
use contracts::{Actor, Command, Envelope, Role};
use mail_parser::{HeaderValue, MessageParser, MimeHeaders};
use runtime::bus::Bus;
use runtime::ids::derived;
use runtime::inbox;
use uuid::Uuid;

use crate::tickets::{self, Ticket};
use crate::{directory, message, outgoing, tenant};
use runtime::commands::Error;

/// The inbox name under which received messages are remembered.
pub const CONSUMER: &str = "notification.mailgate";

/// How long the gateway waits for ticketing.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The priority of an incident logged from an email, until the desk
/// triages it.
const EMAIL_PRIORITY: u8 = 3;

fn text_list(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(ToString::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Why a message must not become a ticket, if it must not.
fn automatic(msg: &mail_parser::Message<'_>) -> Option<String> {
    let raw = |name: &str| msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if let Some(v) = raw("Auto-Submitted")
        && v != "no"
    {
        return Some(format!("auto-submitted ({v})"));
    }
    if let Some(v) = raw("Precedence")
        && matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply")
    {
        return Some(format!("precedence {v}"));
    }
    for h in ["X-Autoreply", "X-Autorespond"] {
        if raw(h).is_some() {
            return Some(format!("{h} header"));
        }
    }
    None
}

/// The line a mail client writes above the message it quotes, in the
/// desk's languages: (how it starts, the verb in it). "On Mon, 2 Mar 2026,
/// Desk <desk@example.com> wrote:", "Le lun. 2 mars 2026 à 10:00, Desk a
/// écrit :", "Am 02.03.2026 um 10:00 schrieb Desk:", "Op ma 2 mrt. 2026 om
/// 10:00 schreef Desk:".
const WROTE: [(&str, &str); 4] = [
    ("On ", " wrote"),
    ("Le ", " a écrit"),
    ("Am ", " schrieb "),
    ("Op ", " schreef "),
];

/// Outlook's line above a forwarded or quoted message, in those languages.
const ORIGINAL_MESSAGE: [&str; 4] = [
    "original message",
    "message d'origine",
    "ursprüngliche nachricht",
    "oorspronkelijk bericht",
];

/// Outlook's first header of the quoted message, after a blank line.
const QUOTED_FROM: [&str; 5] = ["From:", "De :", "De:", "Von:", "Van:"];

/// Whether `line` (trimmed) starts the quoted message. A "wrote:" line
/// says when (a digit), as clients write it, so a sentence of the reply
/// ("Le technicien a écrit :") is not taken for one.
fn quote_header(line: &str) -> bool {
    let wrote = WROTE.iter().any(|(start, verb)| {
        line.starts_with(start)
            && line.ends_with(':')
            && line.contains(verb)
            && line.chars().any(|c| c.is_ascii_digit())
    });
    let lower = line.to_lowercase();
    let original = lower.starts_with("-----") && ORIGINAL_MESSAGE.iter().any(|o| lower.contains(o));
    wrote || original
}

/// The new text of a reply: what comes before the quoted message.
pub fn new_text(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut kept = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let t = line.trim();
        // A client may wrap its long "On …, Name <address> wrote:" line.
        let wrapped = lines
            .get(n + 1)
            .is_some_and(|next| quote_header(&format!("{t} {}", next.trim())));
        let from = QUOTED_FROM.iter().any(|f| t.starts_with(f)) && kept.last() == Some(&"");
        if quote_header(t) || wrapped || from || t.starts_with('>') {
            break;
        }
        kept.push(line.trim_end());
    }
    let text = kept.join("\n").trim().to_owned();
    if text.is_empty() {
        body.trim().to_owned()
    } else {
        text
    }
}

/// Longest text ticketing takes in an action or a description.
const MAX_TEXT: usize = 100_000;

/// Mail text as ticketing takes it: control characters other than line
/// breaks and tabs (a form feed, a NUL) dropped, at most [`MAX_TEXT`]
/// characters, and never empty (a message of attachments alone).
pub fn ticket_text(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .take(MAX_TEXT)
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        "(no text)".to_owned()
    } else {
        clean.to_owned()
    }
}

/// `[INC-000042]` in a subject.
fn reference_in(subject: &str) -> Option<String> {
    let mut rest = subject;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else { break };
        let inner = &after[..close];
        if let Some((_, digits)) = inner.split_once('-')
            && TicketKind::of_reference(inner).is_some()
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
        {
            return Some(inner.to_owned());
        }
        rest = &after[close + 1..];
    }
    None
}

/// Resolved or closed: a reply reopens it or starts a new ticket, by the
/// tenant's policy (a closed ticket cannot be reopened, so a reply to one
/// always starts a new ticket).
fn closed(t: &Ticket) -> bool {
    matches!(
        t.status.as_str(),
        "resolved" | "fulfilled" | "closed" | "cancelled" | "rejected"
    )
}

fn received(outcome: &str, reason: Option<String>, t: Option<&Ticket>) -> EmailReceivedV1 {
    EmailReceivedV1 {
        outcome: outcome.into(),
        reason,
        ticket_id: t.map(|t| t.id),
        reference: t.map(|t| t.reference.clone()),
        attachments: Vec::new(),
        action_id: None,
        public: false,
    }
}

/// Asks ticketing to do `cmd` under the id derived from the message and
/// `step`; its answer, or the domain error it gave.
async fn ask<C: Command>(
    bus: &Arc<dyn Bus>,
    env: &Envelope,
    key: Uuid,
    step: &str,
    cmd: &C,
) -> Result<Result<C::Output, contracts::ErrorBody>, Error> {
    let id = derived(&[key.as_bytes(), step.as_bytes()]);
    let request = env.caused(cmd).with_id(id);
    let reply = bus
        .request(C::QUEUE, &request, TIMEOUT)
        .await
        .map_err(|e| Error::Refused(unavailable(e)))?;
    match reply.decode::<ReplyV1>() {
        Ok(ReplyV1::Ok(v)) => serde_json::from_value(v)
            .map(Ok)
            .map_err(|e| Error::Refused(unavailable(e))),
        Ok(ReplyV1::Error(body)) => Ok(Err(body)),
        Err(e) => Err(Error::Refused(unavailable(e))),
    }
}

/// Ticketing did not answer: the MTA should try again later.
fn unavailable(e: impl std::fmt::Display) -> contracts::ErrorBody {
    contracts::ErrorBody::new(
        contracts::ErrorCode::Conflict,
        format!("the desk could not take the message now, try again: {e}"),
    )
}

pub async fn receive(
    conn: &mut sqlx::AnyConnection,
    bus: &Arc<dyn Bus>,
    env: &Envelope,
    c: ReceiveEmailV1,
) -> Result<EmailReceivedV1, Error> {
    let tenant = env.tenant_id;
    let raw = BASE64
        .decode(c.raw_base64.as_bytes())
        .map_err(|_| Error::field("raw_base64", "not base64"))?;
    let msg = MessageParser::default()
        .parse(&raw)
        .filter(|m| m.from().is_some() || m.subject().is_some())
        .ok_or_else(|| Error::field("message", "not an RFC 5322 message"))?;
    let message_id = msg
        .message_id()
        .map(|id| format!("<{id}>"))
        .unwrap_or_else(|| format!("<{}@digest>", derived(&[b"mail", tenant.as_bytes(), &raw])));
    let key = derived(&[b"mail", tenant.as_bytes(), message_id.as_bytes()]);
    let seen = inbox::check(conn, CONSUMER, &[key]).await?;
    if let Some(Some(reply)) = seen.get(&key)
        && let Ok(mut before) = serde_json::from_str::<EmailReceivedV1>(reply)
    {
        // The same attachments again (the edge keeps them under ids derived
        // from where they go), so an edge that failed to keep them the
        // first time keeps them now.
        before.reason = Some(format!("already processed as {}", before.outcome));
        before.outcome = "duplicate".into();
        if before.ticket_id.is_some() {
            before.attachments = attachments(&msg).handed;
        }
        return Ok(before);
    }
    let result = process(conn, bus, env, key, &message_id, &msg).await?;
    // Remembered without the files: the message brings them again.
    let stored = serde_json::to_string(&EmailReceivedV1 {
        attachments: Vec::new(),
        ..result.clone()
    })
    .map_err(Error::retry)?;
    // Another delivery of the same message may have finished first: its
    // record stands, and both did the same (derived ids).
    if let Err(e) = inbox::record(conn, CONSUMER, vec![(key, Some(stored))]).await {
        tracing::debug!(error = %e, "message recorded by another delivery");
    }
    Ok(result)
}

async fn process(
    conn: &mut sqlx::AnyConnection,
    bus: &Arc<dyn Bus>,
    env: &Envelope,
    key: Uuid,
    message_id: &str,
    msg: &mail_parser::Message<'_>,
) -> Result<EmailReceivedV1, Error> {
    let tenant = env.tenant_id;
    let settings = tenant::settings(conn, tenant).await?;
    let from = msg.from().and_then(|a| a.first());
    let address = from
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .unwrap_or_default();
    let name = from.and_then(|a| a.name()).map(str::to_owned);
    if let Some(reason) = automatic(msg) {
        return Ok(received("ignored", Some(reason), None));
    }
    let local = address.split('@').next().unwrap_or_default();
    if message::address(&address).is_err() || matches!(local, "mailer-daemon" | "postmaster") {
        return Ok(received(
            "ignored",
            Some("a bounce or no sender address".into()),
            None,
        ));
    }
    let mut desk: Vec<String> = settings
        .desk_addresses
        .iter()
        .map(|a| a.trim().to_lowercase())
        .collect();
    desk.push(settings.sender.email.trim().to_lowercase());
    desk.extend(
        settings
            .reply_to
            .iter()
            .map(|r| r.email.trim().to_lowercase()),
    );
    desk.extend(directory::company_senders(conn, tenant).await?);
    if desk.contains(&address) || outgoing::is_ours(conn, tenant, message_id).await? {
        return Ok(received(
            "ignored",
            Some("mail from the desk itself".into()),
            None,
        ));
    }
    let customer = directory::customer_by_email(conn, tenant, &address).await?;
    // An agent answering a notification by mail writes as themself.
    let agent = match customer {
        Some(_) => None,
        None => directory::agent_by_email(conn, tenant, &address).await?,
    };

    // The ticket it answers.
    let mut ids = text_list(msg.in_reply_to());
    ids.extend(text_list(msg.references()));
    let mut ticket = None;
    for id in ids.iter().rev() {
        let id = format!(
            "<{}>",
            id.trim().trim_start_matches('<').trim_end_matches('>')
        );
        let found = match message::ticket_of_thread(&id) {
            Some(t) => Some(t),
            None => outgoing::ticket_of_message(conn, tenant, &id).await?,
        };
        if let Some(t) = found
            && let Some(t) = tickets::load(conn, tenant, t).await?
        {
            ticket = Some(t);
            break;
        }
    }
    let subject = msg.subject().map(str::trim).unwrap_or_default().to_owned();
    if ticket.is_none()
        && let Some(reference) = reference_in(&subject)
    {
        ticket = match tickets::by_reference(conn, tenant, &reference).await? {
            Some(t) => Some(t),
            // A ticket from before notification listened.
            None => match TicketKind::of_reference(&reference) {
                Some(kind) => tickets::fetch(bus, env, kind, &reference)
                    .await
                    .map_err(|e| Error::Refused(unavailable(e)))?,
                None => None,
            },
        };
    }

    let body = msg.body_text(0).map(|b| b.into_owned()).unwrap_or_default();
    let actor_for = |t: Option<&Ticket>| -> Actor {
        match (&customer, &agent) {
            (Some(c), _) if t.is_none_or(|t| t.customer_id == Some(c.id)) => Actor {
                role: Role::Customer,
                id: c.id,
                name: c.name.clone(),
            },
            (_, Some(a)) => Actor {
                role: Role::Agent,
                id: a.id,
                name: a.name.clone(),
            },
            _ => mailgate_actor(),
        }
    };
    let sender_line = match &name {
        Some(n) => format!("{n} <{address}>"),
        None => address.clone(),
    };
    let mail = Mail {
        customer: &customer,
        subject: &subject,
        body: &body,
        sender_line: &sender_line,
        attachments: attachments(msg),
    };
    let Some(t) = ticket else {
        return log_new(bus, env, key, actor_for(None), mail, None).await;
    };
    // Only the ticket's customer writes on it in public and reopens it;
    // anyone else (a colleague in copy, someone who read or guessed the
    // reference) leaves a private note for the desk.
    let theirs = matches!(&customer, Some(c) if t.customer_id == Some(c.id));
    let reopen = closed(&t) && theirs && settings.closed_reply == ClosedReplyPolicy::Reopen;
    if closed(&t) && !reopen {
        return log_new(bus, env, key, actor_for(None), mail, Some(&t)).await;
    }
    if reopen {
        let cmd = ChangeTicketStatusV1 {
            actor: mailgate_actor(),
            kind: t.kind,
            ticket: t.id.to_string(),
            if_version: None,
            to: t.kind.statuses()[0].to_owned(),
            resolution: None,
            outcome: None,
            pending_reason: None,
            review: None,
            backout_reason: None,
            supplier: None,
        };
        if let Err(refused) = ask(bus, env, key, "reopen", &cmd).await? {
            tracing::info!(ticket = %t.reference, reason = %refused.message, "a reply cannot reopen its ticket: a new one is logged");
            return log_new(bus, env, key, actor_for(None), mail, Some(&t)).await;
        }
    }
    let actor = actor_for(Some(&t));
    let mut text = new_text(&body);
    // The mail gateway writes for someone the desk does not know: it says
    // who.
    if !matches!(actor.role, Role::Customer | Role::Agent) {
        text = format!("Email from {sender_line}:\n\n{text}");
    }
    let text = mail.attachments.said_after(text);
    let cmd = AddActionV1 {
        actor,
        kind: t.kind,
        ticket: t.id.to_string(),
        action_kind: ActionKind::Note,
        text: ticket_text(&text),
        public: theirs,
        email_customer: false,
        knowledge_base: false,
        minutes: None,
        supplier: None,
    };
    let action: ActionV1 = match ask(bus, env, key, "action", &cmd).await? {
        Ok(action) => action,
        // The ticket moved on since notification heard (closed, say): the
        // message is not lost, it starts a ticket of its own.
        Err(refused) => {
            tracing::info!(ticket = %t.reference, reason = %refused.message, "a reply cannot be added to its ticket: a new one is logged");
            return log_new(bus, env, key, actor_for(None), mail, Some(&t)).await;
        }
    };
    let mut r = received(if reopen { "reopened" } else { "added" }, None, Some(&t));
    r.action_id = Some(action.id);
    r.public = theirs;
    r.attachments = mail.attachments.handed;
    Ok(r)
}

/// What a received message says, for a new ticket.
struct Mail<'a> {
    customer: &'a Option<directory::Customer>,
    subject: &'a str,
    body: &'a str,
    sender_line: &'a str,
    attachments: Attached,
}

/// Logs a new incident from the message, linked to `old` if it answers a
/// closed ticket.
async fn log_new(
    bus: &Arc<dyn Bus>,
    env: &Envelope,
    key: Uuid,
    actor: Actor,
    mail: Mail<'_>,
    old: Option<&Ticket>,
) -> Result<EmailReceivedV1, Error> {
    let Mail {
        customer,
        subject,
        body,
        sender_line,
        attachments,
    } = mail;
    let mut summary: String = crate::templates::one_line(subject)
        .trim()
        .chars()
        .take(200)
        .collect();
    if summary.is_empty() {
        summary = format!("Email from {sender_line}");
    }
    let mut description = body.trim().to_owned();
    if !matches!(actor.role, Role::Customer | Role::Agent) {
        description = format!("Email from {sender_line}:\n\n{description}");
    }
    let description = ticket_text(&attachments.said_after(description));
    let cmd = LogTicketV1 {
        actor,
        kind: TicketKind::Incident,
        summary,
        description,
        // The desk triages what arrives by email; until then it is an
        // ordinary one.
        priority: Some(EMAIL_PRIORITY),
        impact: None,
        urgency: None,
        customer_id: customer.as_ref().map(|c| c.id),
        company_id: customer.as_ref().and_then(|c| c.company_id),
        category: None,
        service: None,
        fields: Default::default(),
        change: None,
        request_type: None,
    };
    // Not the step "log" of the deprecated LogIncidentV1, whose inbox
    // reply (an incident view) this would not read as a ticket.
    let incident = ask(bus, env, key, "log ticket", &cmd)
        .await?
        .map_err(Error::Refused)?;
    if let Some(old) = old {
        let link = LinkTicketsV1 {
            actor: mailgate_actor(),
            kind: TicketKind::Incident,
            ticket: incident.id.to_string(),
            link_type: LinkType::Related,
            other_kind: old.kind,
            other: old.id.to_string(),
        };
        if let Err(refused) = ask(bus, env, key, "link", &link).await? {
            tracing::warn!(reason = %refused.message, "new ticket from a reply not linked");
        }
    }
    let t = Ticket::from(&incident);
    let why = old.map(|o| format!("{} is {}", o.reference, o.status.replace('_', " ")));
    let mut r = received("logged", why, Some(&t));
    r.public = customer.is_some();
    r.attachments = attachments.handed;
    Ok(r)
}

/// The most attachments not kept that a note names one by one.
const MAX_NAMED_NOT_KEPT: usize = 50;

/// A message's attachments: those handed on to be kept on the ticket (up to
/// [`MAX_KEPT`] bytes in all; the edge keeps those its rules take), and a
/// line for each the desk will not keep, saying why, for the note or
/// incident the message becomes.
struct Attached {
    handed: Vec<ReceivedAttachmentV1>,
    not_kept: Vec<String>,
}

impl Attached {
    /// `text` with what was not kept said after it (the text cut short
    /// if the two would be longer than ticketing takes).
    fn said_after(&self, text: String) -> String {
        if self.not_kept.is_empty() {
            return text;
        }
        let mut lines: Vec<String> = self
            .not_kept
            .iter()
            .take(MAX_NAMED_NOT_KEPT)
            .map(|line| format!("Not kept from this email: {line}."))
            .collect();
        if self.not_kept.len() > MAX_NAMED_NOT_KEPT {
            lines.push(format!(
                "And {} more attachments not kept.",
                self.not_kept.len() - MAX_NAMED_NOT_KEPT
            ));
        }
        let said = lines.join("\n");
        let room = MAX_TEXT.saturating_sub(said.chars().count() + 2);
        let text: String = text.trim().chars().take(room).collect();
        format!("{text}\n\n{said}")
    }
}

fn attachments(msg: &mail_parser::Message<'_>) -> Attached {
    let mut total = 0;
    let mut attached = Attached {
        handed: Vec::new(),
        not_kept: Vec::new(),
    };
    for part in msg.attachments() {
        let bytes = part.contents();
        let filename = part
            .attachment_name()
            .map_or_else(|| "attachment".to_owned(), str::to_owned);
        let shown = crate::templates::one_line(&filename);
        // Only what is handed on counts against the message's limit.
        if total + bytes.len() > MAX_KEPT {
            attached.not_kept.push(format!(
                "{shown} (past the {} MiB the desk keeps from one message)",
                MAX_KEPT / (1024 * 1024)
            ));
            continue;
        }
        total += bytes.len();
        let content_type = part
            .content_type()
            .map_or_else(
                || "application/octet-stream".to_owned(),
                |ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                },
            )
            .to_ascii_lowercase();
        let checked = files::check_filename(&filename)
            .and_then(|_| files::check_content(&content_type, bytes));
        match checked {
            Err(files::Refused::Type(_)) => attached.not_kept.push(format!(
                "{shown} ({content_type} is not a type the desk keeps)"
            )),
            Err(refused) => attached
                .not_kept
                .push(format!("{shown} ({})", refused.message())),
            Ok(_) => {}
        }
        // Handed on even if it will not be kept: the gateway's receipt
        // says, file by file, what was kept and why not.
        attached.handed.push(ReceivedAttachmentV1 {
            filename,
            content_type,
            content_base64: BASE64.encode(bytes),
        });
    }
    attached
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_is_left_out_of_a_reply() {
        let body = "Still broken after the restart.\nThanks\n\nOn Mon, 2 Mar 2026, Desk <desk@example.com> wrote:\n> We restarted it.\n";
        assert_eq!(new_text(body), "Still broken after the restart.\nThanks");
        let outlook = "Works now.\n\n-----Original Message-----\nFrom: Desk\n";
        assert_eq!(new_text(outlook), "Works now.");
        assert_eq!(new_text("> only a quote"), "> only a quote");
    }

    #[test]
    fn quotes_are_cut_in_french_german_and_dutch_too() {
        let french = "Toujours en panne.\n\nLe lun. 2 mars 2026 à 10:00, Desk <desk@example.com> a écrit :\n> Nous avons redémarré.\n";
        assert_eq!(new_text(french), "Toujours en panne.");
        let german = "Geht wieder.\n\nAm 02.03.2026 um 10:00 schrieb Desk <desk@example.com>:\n> Neu gestartet.\n";
        assert_eq!(new_text(german), "Geht wieder.");
        let dutch = "Werkt weer.\n\nOp ma 2 mrt. 2026 om 10:00 schreef Desk <desk@example.com>:\n> Herstart.\n";
        assert_eq!(new_text(dutch), "Werkt weer.");
        let outlook_fr = "Merci.\n\n-----Message d'origine-----\nDe : Desk\n";
        assert_eq!(new_text(outlook_fr), "Merci.");
        let outlook_de = "Danke.\n\nVon: Desk <desk@example.com>\nGesendet: Montag\n";
        assert_eq!(new_text(outlook_de), "Danke.");
        let wrapped = "Still down.\n\nOn Mon, 2 Mar 2026 at 10:00, Service Desk <\ndesk@example.com> wrote:\n> We restarted it.\n";
        assert_eq!(new_text(wrapped), "Still down.");
        // A sentence that merely starts like one is kept.
        assert_eq!(
            new_text("On Monday it broke again.\nAm I the only one?"),
            "On Monday it broke again.\nAm I the only one?"
        );
        assert_eq!(
            new_text("Le technicien a écrit :\nredémarrez le poste."),
            "Le technicien a écrit :\nredémarrez le poste."
        );
    }

    #[test]
    fn mail_text_is_what_ticketing_takes() {
        assert_eq!(ticket_text("a\u{c}b\u{0}c\r\nd\te"), "abc\nd\te");
        assert_eq!(ticket_text("  \r\n "), "(no text)");
        assert_eq!(ticket_text(&"x".repeat(200_000)).len(), MAX_TEXT);
    }

    #[test]
    fn references_are_found_in_subjects() {
        assert_eq!(
            reference_in("Re: [INC-000042] Mail down").as_deref(),
            Some("INC-000042")
        );
        assert_eq!(
            reference_in("Re: [urgent] [REQ-7] laptop").as_deref(),
            Some("REQ-7")
        );
        assert_eq!(reference_in("[XYZ-1] nope"), None);
        assert_eq!(reference_in("INC-000042 without brackets"), None);
    }
}
