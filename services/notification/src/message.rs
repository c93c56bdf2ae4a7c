//! An email as it goes on the wire: addresses checked, names and subject on
//! one line, a stable Message-ID, the ticket's thread, and the headers that
//! tell other robots not to answer it.
//!
//! Header injection is closed twice: every display name and the subject are
//! put on one line ([`templates::one_line`]) before they reach the builder,
//! and lettre encodes what is not plain ASCII (RFC 2047) and folds the rest.
//! An address is parsed, never pasted, and one with a space, a control
//! character or a line separator in it is refused.

use std::str::FromStr;

use contracts::limits::MAX_EMAIL;
use contracts::notification::MailboxV1;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use uuid::Uuid;

use crate::templates::{breaks_line, one_line};

/// A checked address, or why it is not one.
pub fn address(email: &str) -> Result<lettre::Address, String> {
    let email = email.trim();
    if email.is_empty() || email.chars().count() > MAX_EMAIL {
        return Err(format!("an address has 1 to {MAX_EMAIL} characters"));
    }
    if email.chars().any(|c| breaks_line(c) || c.is_whitespace()) {
        return Err(format!("{email:?} has a space or control character"));
    }
    lettre::Address::from_str(email).map_err(|e| format!("{email:?} is not an address: {e}"))
}

/// `m` as a mailbox: its address checked, its name on one line.
pub fn mailbox(m: &MailboxV1) -> Result<Mailbox, String> {
    let name = m
        .name
        .as_deref()
        .map(|n| one_line(n).trim().to_owned())
        .filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, address(&m.email)?))
}

/// The part of `email` after its `@`, for ids the desk mints.
pub fn domain(email: &str) -> &str {
    email
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d)
        .trim_end_matches('>')
}

/// The Message-ID of the desk's email `id`: stable, so a retried delivery
/// is the same message, and a reply's `In-Reply-To` finds its ticket.
pub fn message_id(id: Uuid, from: &str) -> String {
    format!("<{id}@{}>", domain(from))
}

/// The id every email about a ticket refers to, so mail clients thread
/// them together and a reply that quotes only it still finds the ticket.
pub fn thread_id(ticket: Uuid, from: &str) -> String {
    format!("<ticket.{ticket}@{}>", domain(from))
}

/// The ticket a desk thread id names, if `id` is one.
pub fn ticket_of_thread(id: &str) -> Option<Uuid> {
    let inner = id.trim().trim_start_matches('<').trim_end_matches('>');
    let rest = inner.strip_prefix("ticket.")?;
    let (uuid, _) = rest.split_once('@')?;
    Uuid::parse_str(uuid).ok()
}

/// The Subject header. lettre writes plain ASCII words as they are and
/// encodes the rest (RFC 2047). Text that itself looks like an encoded word
/// (`=?utf-8?q?…?=`) would be decoded by the receiver into whatever it
/// spells, so a subject with one is encoded whole: it arrives as the text
/// it was.
fn subject(text: &str) -> HeaderValue {
    let text = one_line(text);
    let name = HeaderName::new_from_ascii_str("Subject");
    if !text.contains("=?") {
        return HeaderValue::new(name, text);
    }
    use base64::Engine;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        // 45 bytes of text per word: 60 of base64, a line under 76.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    let encoded = words
        .iter()
        .map(|w| {
            format!(
                "=?utf-8?b?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ");
    HeaderValue::dangerous_new_pre_encoded(name, text, encoded)
}

/// What goes into one email.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub to: MailboxV1,
    pub from: MailboxV1,
    /// Where replies go, if not to the sender (the desk's own mailbox,
    /// when it writes as a customer's company).
    pub reply_to: Option<MailboxV1>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub message_id: String,
    pub ticket_id: Option<Uuid>,
}

/// The wire form of `e`.
pub fn build(e: &Outgoing) -> Result<Message, String> {
    let from = mailbox(&e.from)?;
    let mut builder = Message::builder()
        .from(from)
        .to(mailbox(&e.to)?)
        .raw_header(subject(&e.subject))
        .message_id(Some(e.message_id.clone()))
        .date_now()
        // RFC 3834: an auto-responder must not answer this; Precedence for
        // the ones that predate it.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Auto-Response-Suppress"),
            "All".into(),
        ));
    if let Some(ticket) = e.ticket_id {
        builder = builder.references(thread_id(ticket, &e.from.email));
    }
    if let Some(reply_to) = &e.reply_to {
        builder = builder.reply_to(mailbox(reply_to)?);
    }
    let body = match &e.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            e.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(e.text.clone())),
    };
    body.map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_line_breaks_or_spaces_are_refused() {
        for bad in [
            "a@example.com\r\nBcc: x@evil.example",
            "a@example.com\nBcc: x@evil.example",
            "a@exa\u{2028}mple.com",
            "a b@example.com",
            "not-an-address",
            "",
        ] {
            assert!(address(bad).is_err(), "{bad:?}");
        }
        assert!(address(" ada@example.com ").is_ok());
    }

    #[test]
    fn thread_ids_name_their_ticket() {
        let t = Uuid::from_u128(42);
        let id = thread_id(t, "desk@example.com");
        assert_eq!(
            id,
            "<ticket.00000000-0000-0000-0000-00000000002a@example.com>"
        );
        assert_eq!(ticket_of_thread(&id), Some(t));
        assert_eq!(ticket_of_thread("<abc@example.com>"), None);
    }
}
