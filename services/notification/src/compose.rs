//! Writing the emails one event calls for: who gets them, in which
//! language, from which sender, from which template, with which values.

use contracts::notification::{EmailKind, EmailTemplateV1, MailboxV1, NotificationSettingsV1};
use contracts::ticket::TicketKind;
use runtime::store::StoreError;
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::directory;
use crate::message::{self, Outgoing};
use crate::outgoing::Email;
use crate::templates::{self, Mode, SLA_NAMES, Vars};
use crate::tickets::Ticket;

/// The agent notification asks other services as.
pub fn notification_actor() -> contracts::Actor {
    contracts::Actor {
        role: contracts::Role::Agent,
        id: contracts::notification::NOTIFICATION_ACTOR_ID,
        name: "Notification".into(),
    }
}

/// A ticket's SLA due times as a template's values hold them ([`date`]),
/// and its calendar's time zone: escalation's last announcement
/// (notification's copy), empty where none is known.
pub async fn due_texts(
    conn: &mut AnyConnection,
    tenant: Uuid,
    ticket: Uuid,
) -> Result<(String, String, Option<String>), StoreError> {
    let (response, resolve, zone) = crate::targets::due(conn, tenant, ticket).await?;
    let text = |t: Option<OffsetDateTime>| t.map(date).unwrap_or_default();
    Ok((text(response), text(resolve), zone))
}

/// A time as the values of a template hold it: RFC 3339 in UTC, to the
/// second. [`date_in`] writes it for the email's reader.
pub fn date(t: OffsetDateTime) -> String {
    // To the second: a reader has no use for a fraction of one.
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

/// The values that hold a time ([`date`]).
const DATES: [&str; 3] = ["due_at", "response_due", "resolve_due"];

/// The value naming the time zone the times are written in (the SLA
/// calendar's); not a placeholder.
pub const TIME_ZONE: &str = "time_zone";

/// `vars` as a reader of `language` reads them: the ticket's kind named,
/// and the times written, in that language (and the times in the time
/// zone `vars` names).
pub fn for_reader(vars: &mut Vars, kind: TicketKind, language: &str) {
    vars.insert("kind", templates::kind_noun(kind, language).to_owned());
    if let Some(target) = vars.get("target") {
        let said = templates::target_noun(target, language).to_owned();
        vars.insert("target", said);
    }
    let zone = vars.get(TIME_ZONE).cloned();
    for name in DATES {
        let written = vars
            .get(name)
            .and_then(|v| OffsetDateTime::parse(v, &Rfc3339).ok())
            .map(|t| date_in(t, language, zone.as_deref()));
        if let Some(text) = written {
            vars.insert(name, text);
        }
    }
}

/// A time as a reader of `language` writes it, to the minute, in `zone`
/// (an IANA name; UTC if none or unknown): `Mon 1 Jun 2026, 17:00 UTC`,
/// `lun. 1er juin 2026 à 19:00 (Europe/Paris)`, `ma 1 jun. 2026 om 19:00
/// (Europe/Amsterdam)`; RFC 3339 in UTC for a language the desk does not
/// have.
pub fn date_in(t: OffsetDateTime, language: &str, zone: Option<&str>) -> String {
    let zone = zone.and_then(|z| jiff::tz::TimeZone::get(z).ok().map(|tz| (z, tz)));
    let (t, zone_name) = match zone {
        Some((name, tz)) if name != "UTC" => {
            let offset = jiff::Timestamp::from_second(t.unix_timestamp())
                .map(|ts| tz.to_offset(ts).seconds())
                .unwrap_or(0);
            let offset =
                time::UtcOffset::from_whole_seconds(offset).unwrap_or(time::UtcOffset::UTC);
            (t.to_offset(offset), format!("({name})"))
        }
        _ => (t.to_offset(time::UtcOffset::UTC), "UTC".to_owned()),
    };
    let primary = language
        .split('-')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let (days, months, at): ([&str; 7], [&str; 12], &str) = match primary.as_str() {
        "en" => (
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ],
            ",",
        ),
        "fr" => (
            ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."],
            [
                "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                "nov.", "déc.",
            ],
            " à",
        ),
        "nl" => (
            ["ma", "di", "wo", "do", "vr", "za", "zo"],
            [
                "jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.",
                "nov.", "dec.",
            ],
            " om",
        ),
        _ => return date(t),
    };
    let day = days[usize::from(t.weekday().number_days_from_monday())];
    let month = months[usize::from(u8::from(t.month()) - 1)];
    // The French write the first of the month as an ordinal.
    let date = match (primary.as_str(), t.day()) {
        ("fr", 1) => "1er".to_owned(),
        (_, d) => d.to_string(),
    };
    format!(
        "{day} {date} {month} {}{at} {:02}:{:02} {zone_name}",
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// Someone an email goes to.
pub struct Recipient {
    pub mailbox: MailboxV1,
    /// Their language, if they have one (customers).
    pub language: Option<String>,
    /// Customers hear from their company's sender, if it has one.
    pub customer: bool,
}

impl Recipient {
    pub fn staff(mailbox: MailboxV1) -> Self {
        Self {
            mailbox,
            language: None,
            customer: false,
        }
    }
}

/// The emails of one event, as they are written.
pub struct Composer<'a> {
    pub conn: &'a mut AnyConnection,
    pub tenant: Uuid,
    pub settings: NotificationSettingsV1,
    pub emails: Vec<Email>,
    /// (kind, address) already written for this event: one email each.
    written: HashSet<(EmailKind, String)>,
    /// The ticket's SLA due times, read once per event.
    due: Option<(String, String, Option<String>)>,
    /// Templates and customers already read for this event: an email to
    /// ten agents reads its template once.
    templates: HashMap<(EmailKind, String), EmailTemplateV1>,
    customers: HashMap<Uuid, Option<directory::Customer>>,
}

impl<'a> Composer<'a> {
    pub fn new(
        conn: &'a mut AnyConnection,
        tenant: Uuid,
        settings: NotificationSettingsV1,
    ) -> Self {
        Self {
            conn,
            tenant,
            settings,
            emails: Vec::new(),
            written: HashSet::new(),
            due: None,
            templates: HashMap::new(),
            customers: HashMap::new(),
        }
    }

    pub fn enabled(&self, kind: EmailKind) -> bool {
        !self.settings.disabled.contains(&kind)
    }

    /// The ticket's fields every template may show.
    pub async fn vars(&mut self, t: &Ticket) -> Result<Vars, StoreError> {
        let mut v = Vars::new();
        v.insert("reference", t.reference.clone());
        v.insert("kind", t.kind.noun().to_owned());
        v.insert("summary", t.summary.clone());
        v.insert("description", t.description.clone());
        v.insert("status", t.status.replace('_', " "));
        v.insert("priority", t.priority.to_string());
        v.insert("service", t.service.clone().unwrap_or_default());
        v.insert("category", t.category.clone().unwrap_or_default());
        v.insert("resolution", t.resolution.clone().unwrap_or_default());
        v.insert("last_action", t.last_action.clone().unwrap_or_default());
        let desk = self.settings.sender.name.clone().unwrap_or_default();
        v.insert("desk_name", desk);
        if let Some(c) = self.customer(t).await? {
            v.insert("customer_name", c.name);
        }
        if let Some(company) = t.company_id
            && let Some((name, _)) = directory::company(self.conn, self.tenant, company).await?
        {
            v.insert("company_name", name);
        }
        if let Some(a) = t.assignee_id
            && let Some(p) = directory::agent(self.conn, self.tenant, a).await?
        {
            v.insert("agent_name", p.name);
        }
        if let Some(team) = t.team_id
            && let Some((name, _)) = directory::team(self.conn, self.tenant, team).await?
        {
            v.insert("team_name", name);
        }
        Ok(v)
    }

    pub async fn customer(
        &mut self,
        t: &Ticket,
    ) -> Result<Option<directory::Customer>, StoreError> {
        let Some(id) = t.customer_id else {
            return Ok(None);
        };
        if let Some(known) = self.customers.get(&id) {
            return Ok(known.clone());
        }
        let found = directory::customer(self.conn, self.tenant, id).await?;
        self.customers.insert(id, found.clone());
        Ok(found)
    }

    /// The ticket's customer as a recipient, if they have an address.
    pub async fn customer_recipient(
        &mut self,
        t: &Ticket,
    ) -> Result<Option<Recipient>, StoreError> {
        Ok(self.customer(t).await?.and_then(|c| {
            c.mailbox().map(|mailbox| Recipient {
                mailbox,
                language: c.language.clone(),
                customer: true,
            })
        }))
    }

    pub async fn agent_recipient(&mut self, id: Uuid) -> Result<Option<Recipient>, StoreError> {
        Ok(directory::agent(self.conn, self.tenant, id)
            .await?
            .and_then(|p| p.mailbox())
            .map(Recipient::staff))
    }

    /// Whoever handles `t`: its agent, else every agent of its team.
    pub async fn handlers(&mut self, t: &Ticket) -> Result<Vec<Recipient>, StoreError> {
        if let Some(a) = t.assignee_id {
            return Ok(self.agent_recipient(a).await?.into_iter().collect());
        }
        match t.team_id {
            Some(team) => Ok(directory::members(self.conn, self.tenant, team)
                .await?
                .iter()
                .filter_map(directory::Person::mailbox)
                .map(Recipient::staff)
                .collect()),
            None => Ok(Vec::new()),
        }
    }

    /// The leader of `t`'s team, as a recipient.
    pub async fn team_leader(&mut self, t: &Ticket) -> Result<Option<Recipient>, StoreError> {
        let Some(team) = t.team_id else {
            return Ok(None);
        };
        match directory::team(self.conn, self.tenant, team).await? {
            Some((_, Some(leader))) => self.agent_recipient(leader).await,
            _ => Ok(None),
        }
    }

    /// Who emails to `t`'s customer are from: their company's sender, if it
    /// has one, else the desk's.
    async fn sender(&mut self, t: &Ticket, customer: bool) -> Result<MailboxV1, StoreError> {
        if customer
            && let Some(company) = t.company_id
            && let Some((_, Some(sender))) =
                directory::company(self.conn, self.tenant, company).await?
        {
            return Ok(sender);
        }
        Ok(self.settings.sender.clone())
    }

    /// Writes one email of `kind` about `t` to `to`, unless the kind is
    /// switched off or `to` already has one of this kind for this event.
    pub async fn write(
        &mut self,
        kind: EmailKind,
        t: &Ticket,
        to: Recipient,
        vars: &Vars,
    ) -> Result<(), StoreError> {
        if !self.enabled(kind) {
            return Ok(());
        }
        if let Err(reason) = message::address(&to.mailbox.email) {
            tracing::warn!(ticket = %t.reference, kind = kind.as_str(), %reason, "no email: bad recipient address");
            return Ok(());
        }
        let key = (kind, to.mailbox.email.trim().to_lowercase());
        if !self.written.insert(key) {
            return Ok(());
        }
        let default_language = self.settings.default_language.clone();
        let language = to.language.as_deref().unwrap_or(&default_language);
        let template = match self.templates.get(&(kind, language.to_owned())) {
            Some(t) => t.clone(),
            None => {
                let t = crate::tenant::template_for(
                    self.conn,
                    self.tenant,
                    kind,
                    language,
                    &default_language,
                )
                .await?;
                self.templates
                    .insert((kind, language.to_owned()), t.clone());
                t
            }
        };
        let mut vars = vars.clone();
        vars.insert(
            "recipient_name",
            to.mailbox.name.clone().unwrap_or_default(),
        );
        if templates::uses(&template, SLA_NAMES) {
            if self.due.is_none() {
                self.due = Some(due_texts(self.conn, self.tenant, t.id).await?);
            }
            let (response, resolve, zone) = self.due.clone().unwrap_or_default();
            vars.insert("response_due", response);
            vars.insert("resolve_due", resolve);
            if let Some(zone) = zone {
                vars.entry(TIME_ZONE).or_insert(zone);
            }
        }
        for_reader(&mut vars, t.kind, &template.language);
        let from = self.sender(t, to.customer).await?;
        // The sign-off is who the email is from: a customer's company's own
        // sender where it has one, as the From line says.
        if let Some(name) = from.name.as_deref().filter(|n| !n.trim().is_empty()) {
            vars.insert("desk_name", name.to_owned());
        }
        // Names go into headers and the store: one line, no NUL.
        let to_mailbox = MailboxV1 {
            name: to.mailbox.name.as_deref().map(templates::one_line),
            email: to.mailbox.email.trim().to_owned(),
        };
        let from = MailboxV1 {
            name: from.name.as_deref().map(templates::one_line),
            email: from.email.trim().to_owned(),
        };
        let mut subject = templates::render(&template.subject, &vars, Mode::Subject);
        // Replies thread by the reference in the subject, whatever the
        // tenant's template says.
        let tag = format!("[{}]", t.reference);
        if !subject.contains(&tag) {
            subject = format!("{tag} {subject}");
        }
        let id = Uuid::now_v7();
        self.emails.push(Email {
            id,
            tenant: self.tenant,
            kind,
            language: template.language.clone(),
            mail: Outgoing {
                message_id: message::message_id(id, &from.email),
                from,
                reply_to: self.settings.reply_to.as_ref().map(|r| MailboxV1 {
                    name: r.name.as_deref().map(templates::one_line),
                    email: r.email.trim().to_owned(),
                }),
                to: to_mailbox,
                subject,
                text: templates::render(&template.text, &vars, Mode::Text).replace('\0', ""),
                html: template
                    .html
                    .as_deref()
                    .map(|h| templates::render(h, &vars, Mode::Html).replace('\0', "")),
                ticket_id: Some(t.id),
            },
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_date_is_written_to_the_second() {
        let t = time::macros::datetime!(2026-06-01 17:00:05.123456789 UTC);
        assert_eq!(super::date(t), "2026-06-01T17:00:05Z");
    }

    #[test]
    fn a_date_is_written_as_its_reader_writes_one() {
        let t = time::macros::datetime!(2026-06-01 17:00:05 UTC);
        assert_eq!(super::date_in(t, "en", None), "Mon 1 Jun 2026, 17:00 UTC");
        assert_eq!(
            super::date_in(t, "fr-CA", Some("Europe/Paris")),
            "lun. 1er juin 2026 à 19:00 (Europe/Paris)"
        );
        assert_eq!(
            super::date_in(t, "nl", Some("Europe/Amsterdam")),
            "ma 1 jun. 2026 om 19:00 (Europe/Amsterdam)"
        );
        assert_eq!(
            super::date_in(t, "en", Some("Nowhere/Else")),
            "Mon 1 Jun 2026, 17:00 UTC"
        );
        assert_eq!(super::date_in(t, "de", None), "2026-06-01T17:00:05Z");
    }
}
