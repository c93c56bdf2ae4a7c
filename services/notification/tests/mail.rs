//! Notification with real peers: ticketing on the same (embedded) bus
//! producing the events, a real SMTP server on loopback (aiosmtpd)
//! receiving what is sent, and the message parsed back from its bytes.
//! Each test runs on SQLite and on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use contracts::common::ReplyV1;
use contracts::escalation::{Action, TimepointReachedV1};
use contracts::incident::*;
use contracts::notification::*;
use contracts::ticket::{
    AddActionV1, AssignTicketV1, ChangeTicketStatusV1, GetTicketV1, ListActionsV1, LogTicketV1,
    TicketKind, TicketV1,
};
use contracts::{Actor, Command, Envelope, Event, Role};
use mail_parser::MessageParser;
use runtime::bus::Bus;
use runtime::bus::embedded::EmbeddedBus;
use runtime::store::Backend;
use runtime::testing::{self, SmtpSink};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

struct Desk {
    bus: Arc<dyn Bus>,
    tenant: Uuid,
    sink: SmtpSink,
    stop: CancellationToken,
    /// Notification's store, until it is started.
    waiting: Option<runtime::store::Store>,
    /// Notification's store, to see what it has heard.
    notification_store: runtime::store::Store,
    _dirs: Vec<testing::TempDir>,
}

impl Drop for Desk {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn admin() -> Actor {
    Actor {
        role: Role::Admin,
        id: Uuid::from_u128(1),
        name: "Ada Admin".into(),
    }
}

fn agent(id: Uuid) -> Actor {
    Actor {
        role: Role::Agent,
        id,
        name: "Alan Agent".into(),
    }
}

impl Desk {
    async fn start(backend: Backend, sink: SmtpSink) -> Self {
        let mut desk = Self::without_notification(backend, sink).await;
        desk.start_notification().await;
        desk
    }

    /// Ticketing alone, as before the upgrade that brought notification.
    async fn without_notification(backend: Backend, sink: SmtpSink) -> Self {
        let bus: Arc<dyn Bus> = Arc::new(EmbeddedBus::new());
        let stop = CancellationToken::new();
        let (tstore, tdir) = testing::migrated_store(backend, "mail_ticketing", &[]).await;
        let (nstore, ndir) = testing::migrated_store(backend, "mail_notification", &[]).await;
        ticketing::Ticketing::start(tstore, bus.clone(), stop.clone())
            .await
            .expect("ticketing starts");
        Self {
            bus,
            tenant: Uuid::now_v7(),
            sink,
            stop,
            waiting: Some(nstore.clone()),
            notification_store: nstore,
            _dirs: tdir.into_iter().chain(ndir).collect(),
        }
    }

    async fn start_notification(&mut self) {
        let store = self.waiting.take().expect("not started yet");
        notification::Notification::start(
            store,
            self.bus.clone(),
            notification::Config {
                smtp_url: Some(self.sink.url()),
                smtp_ca: None,
            },
            self.stop.clone(),
        )
        .await
        .expect("notification starts");
    }

    async fn try_call<C: Command>(&self, cmd: &C) -> ReplyV1 {
        let env = Envelope::new(self.tenant, cmd);
        self.bus
            .request(C::QUEUE, &env, Duration::from_secs(20))
            .await
            .expect("reply")
            .decode::<ReplyV1>()
            .expect("a reply")
    }

    async fn call<C: Command>(&self, cmd: &C) -> C::Output {
        match self.try_call(cmd).await {
            ReplyV1::Ok(v) => serde_json::from_value(v).expect("output"),
            ReplyV1::Error(e) => panic!("{} refused: {e:?}", std::any::type_name::<C>()),
        }
    }

    async fn publish<E: Event>(&self, event: &E) {
        self.bus
            .publish(E::ROUTING_KEY, &Envelope::new(self.tenant, event))
            .await
            .expect("published");
    }

    async fn directory(&self, entry: DirectoryEntryV1) {
        self.publish(&DirectoryChangedV1 { entry }).await;
    }

    async fn customer(
        &self,
        name: &str,
        email: &str,
        language: Option<&str>,
        company: Option<Uuid>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        self.directory(DirectoryEntryV1::Customer {
            id,
            name: name.into(),
            email: Some(email.into()),
            company_id: company,
            language: language.map(Into::into),
            active: true,
        })
        .await;
        id
    }

    async fn settings(&self, f: impl FnOnce(&mut NotificationSettingsV1)) {
        let mut s = NotificationSettingsV1 {
            sender: MailboxV1 {
                email: "desk@desk.example".into(),
                name: Some("The Desk".into()),
            },
            public_url: Some("https://desk.example".into()),
            ..NotificationSettingsV1::default()
        };
        f(&mut s);
        self.call(&SetNotificationSettingsV1 {
            actor: admin(),
            settings: s,
        })
        .await;
    }

    async fn log(&self, summary: &str, customer: Option<Uuid>, company: Option<Uuid>) -> TicketV1 {
        self.call(&LogTicketV1 {
            actor: agent(Uuid::from_u128(2)),
            kind: TicketKind::Incident,
            summary: summary.into(),
            description: "It stopped working this morning.".into(),
            priority: Some(2),
            impact: None,
            urgency: None,
            customer_id: customer,
            company_id: company,
            category: None,
            service: Some("Exchange".into()),
            fields: Default::default(),
            change: None,
            request_type: None,
        })
        .await
    }

    async fn deliveries(&self, ticket: &str) -> Vec<DeliveryV1> {
        self.call(&ListDeliveriesV1 {
            viewer: admin(),
            ticket: ticket.into(),
        })
        .await
    }

    /// The delivery log once nothing in it is queued any more (the sink
    /// has a message a moment before the sender records it sent).
    async fn settled(&self, ticket: &str) -> Vec<DeliveryV1> {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let log = self.deliveries(ticket).await;
            if log.iter().all(|d| d.status != "queued") || std::time::Instant::now() > deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until notification's copy of the ticket `reference` has
    /// `status` (it hears of changes on its own queue).
    async fn heard(&self, reference: &str, status: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let mut conn = self
                .notification_store
                .pool()
                .acquire()
                .await
                .expect("notification's store answers");
            let copy = notification::tickets::by_reference(&mut conn, self.tenant, reference)
                .await
                .expect("notification's copy reads back");
            let now = copy.map(|t| t.status);
            if now.as_deref() == Some(status) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "notification never heard that {reference} is {status} (it has {now:?})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for `n` messages and parses them.
    async fn mail(&self, n: usize) -> Vec<Mail> {
        let got = self.sink.wait_for(n, WAIT).await;
        assert!(got.len() >= n, "expected {n} emails, got {}", got.len());
        got.iter().map(|raw| Mail::parse(raw)).collect()
    }
}

/// A received email, parsed back from its bytes.
#[derive(Debug)]
struct Mail {
    envelope_to: String,
    headers: Vec<(String, String)>,
    from: String,
    from_name: String,
    to: String,
    subject: String,
    text: String,
    html: String,
    message_id: String,
}

impl Mail {
    fn parse(raw: &[u8]) -> Self {
        let m = MessageParser::default().parse(raw).expect("an email");
        let first = |a: Option<&mail_parser::Address<'_>>| {
            a.and_then(|a| a.first())
                .map(|a| {
                    (
                        a.address().unwrap_or_default().to_owned(),
                        a.name().unwrap_or_default().to_owned(),
                    )
                })
                .unwrap_or_default()
        };
        let (from, from_name) = first(m.from());
        let (to, _) = first(m.to());
        // The header block as sent, unfolded: (name, raw value).
        let text = String::from_utf8_lossy(raw);
        let block = text.split("\r\n\r\n").next().unwrap_or_default();
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in block.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = headers.last_mut() {
                    last.1.push_str(line);
                }
            } else if let Some((name, value)) = line.split_once(':') {
                headers.push((name.to_owned(), value.trim().to_owned()));
            } else {
                panic!("a header line without a name: {line:?}");
            }
        }
        Self {
            envelope_to: m
                .header_raw("X-Envelope-To")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            headers,
            from,
            from_name,
            to,
            subject: m.subject().unwrap_or_default().to_owned(),
            text: m.body_text(0).map(|b| b.into_owned()).unwrap_or_default(),
            html: m
                .html_part(0)
                .and_then(|p| p.text_contents())
                .unwrap_or_default()
                .to_owned(),
            message_id: m.message_id().unwrap_or_default().to_owned(),
        }
    }

    fn header_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        names.sort();
        names
    }
}

fn to(mails: &[Mail], address: &str) -> Vec<usize> {
    mails
        .iter()
        .enumerate()
        .filter(|(_, m)| m.to == address)
        .map(|(i, _)| i)
        .collect()
}

fn one<'a>(mails: &'a [Mail], address: &str) -> &'a Mail {
    let found = to(mails, address);
    assert_eq!(found.len(), 1, "one email to {address}: {mails:#?}");
    &mails[found[0]]
}

/// The customer's language picks the template (not their country), the
/// tenant's default covers a language it has none in, a company's own
/// sender is used for its customers, and both parts arrive.
async fn confirmation_in_the_customers_language_from_their_company(backend: Backend) {
    let desk = Desk::start(backend, SmtpSink::start()).await;
    desk.settings(|_| {}).await;
    let acme = Uuid::now_v7();
    desk.directory(DirectoryEntryV1::Company {
        id: acme,
        name: "Acme".into(),
        sender: Some(MailboxV1 {
            email: "it@acme.example".into(),
            name: Some("Acme IT".into()),
        }),
    })
    .await;
    for (language, subject, text) in [
        (
            "fr",
            "[{{reference}}] Bien reçu : {{summary}}",
            "Bonjour {{customer_name}}, nous avons bien reçu {{reference}}. {{desk_name}}",
        ),
        (
            "nl",
            "[{{reference}}] Ontvangen: {{summary}}",
            "Beste {{customer_name}}, we hebben {{reference}} ontvangen.",
        ),
    ] {
        desk.call(&PutTemplateV1 {
            actor: admin(),
            template: EmailTemplateV1 {
                kind: EmailKind::Logged,
                language: language.into(),
                subject: subject.into(),
                text: text.into(),
                html: Some(format!("<p>{text}</p><p>{{{{summary}}}}</p>")),
                builtin: false,
            },
        })
        .await;
    }
    // Two Belgians: one reads French (Canadian French: the French template,
    // along the language tag), one Dutch. A German reader gets the tenant's
    // default (English).
    let fr = desk
        .customer(
            "Chloé Dubois",
            "chloe@acme.example",
            Some("fr-CA"),
            Some(acme),
        )
        .await;
    let nl = desk
        .customer("Pieter Peeters", "pieter@example.be", Some("nl"), None)
        .await;
    let de = desk
        .customer("Dieter Braun", "dieter@example.de", Some("de"), None)
        .await;
    let a = desk
        .log(
            "Imprimante <b>hors ligne</b> & bloquée",
            Some(fr),
            Some(acme),
        )
        .await;
    let b = desk.log("Printer offline", Some(nl), None).await;
    let c = desk.log("Drucker offline", Some(de), None).await;

    let mails = desk.mail(3).await;
    assert_eq!(mails.len(), 3);
    let m = one(&mails, "chloe@acme.example");
    assert_eq!(
        m.subject,
        format!(
            "[{}] Bien reçu : Imprimante <b>hors ligne</b> & bloquée",
            a.reference
        )
    );
    assert_eq!(m.from, "it@acme.example");
    assert_eq!(m.from_name, "Acme IT");
    assert!(m.text.contains("Bonjour Chloé Dubois"), "{}", m.text);
    assert!(
        m.text
            .ends_with(&format!("bien reçu {}. Acme IT", a.reference)),
        "signed as the company's sender: {}",
        m.text
    );
    assert!(
        m.html
            .contains("Imprimante &lt;b&gt;hors ligne&lt;/b&gt; &amp; bloquée"),
        "escaped in HTML: {}",
        m.html
    );
    assert!(m.message_id.ends_with("@acme.example"), "{}", m.message_id);
    let m = one(&mails, "pieter@example.be");
    assert_eq!(
        m.subject,
        format!("[{}] Ontvangen: Printer offline", b.reference)
    );
    assert_eq!(m.from, "desk@desk.example");
    assert_eq!(m.from_name, "The Desk");
    let m = one(&mails, "dieter@example.de");
    assert_eq!(
        m.subject,
        format!(
            "[{}] We have logged your incident: Drucker offline",
            c.reference
        )
    );
    assert!(m.text.contains("Dear Dieter Braun"));
    assert!(m.text.trim_end().ends_with("The Desk"), "{}", m.text);
    assert!(m.html.contains("<strong>Drucker offline</strong>"));
    let references = m
        .headers
        .iter()
        .find(|(n, _)| n == "References")
        .map(|(_, v)| v.clone());
    assert_eq!(references, Some(format!("<ticket.{}@desk.example>", c.id)));
    assert!(
        m.headers
            .contains(&("Auto-Submitted".into(), "auto-generated".into()))
    );

    // The delivery log says what went, to whom, in which language.
    let log = desk.settled(&a.reference).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, "sent");
    assert_eq!(log[0].language, "fr");
    assert_eq!(log[0].kind, EmailKind::Logged);
    assert_eq!(log[0].to.email, "chloe@acme.example");
    assert_eq!(
        format!(
            "<{}>",
            mails[to(&mails, "chloe@acme.example")[0]].message_id
        ),
        log[0].message_id
    );
}

/// CR, LF, CRLF, U+2028, encoded words and control characters in a
/// subject, a display name or a sender name never make a header: the
/// message has exactly the headers the desk writes.
async fn header_injection_never_adds_a_header(backend: Backend) {
    let desk = Desk::start(backend, SmtpSink::start()).await;
    // The settings' names are refused with a line break in them…
    let mut bad = NotificationSettingsV1::default();
    bad.sender.name = Some("Desk\r\nBcc: evil@attacker.example".into());
    let refused = desk
        .try_call(&SetNotificationSettingsV1 {
            actor: admin(),
            settings: bad,
        })
        .await;
    assert!(matches!(refused, ReplyV1::Error(_)), "{refused:?}");
    desk.settings(|s| {
        s.reply_to = Some(MailboxV1 {
            email: "help@desk.example".into(),
            name: Some("Help".into()),
        });
    })
    .await;
    // The customer's name goes into the subject as well as the To header.
    desk.call(&PutTemplateV1 {
        actor: admin(),
        template: EmailTemplateV1 {
            kind: EmailKind::Logged,
            language: "en".into(),
            subject: "[{{reference}}] {{summary}} for {{customer_name}}".into(),
            text: "Hello {{customer_name}}".into(),
            html: Some("<p>Hello {{customer_name}}</p>".into()),
            builtin: false,
        },
    })
    .await;
    // Ticketing refuses control characters in a summary, so those come in
    // by the directory (names), which notification must not trust either.
    let attacks = [
        "crlf\r\nBcc: evil@attacker.example",
        "lf\nBcc: evil@attacker.example",
        "cr\rBcc: evil@attacker.example",
        "sep\u{2028}Bcc: evil@attacker.example",
        "nel\u{85}Bcc: evil@attacker.example",
        "=?utf-8?q?enc=0D=0ABcc:_evil@attacker.example?=",
        "tab\tnul\u{0}esc\u{1b}Bcc: evil@attacker.example",
    ];
    let summaries = [
        "para\u{2029}Bcc: evil@attacker.example",
        "=?utf-8?b?c3ViamVjdA0KQmNjOiBldmlsQGF0dGFja2VyLmV4YW1wbGU=?=",
    ];
    for (i, attack) in attacks.iter().enumerate() {
        let customer = desk
            .customer(attack, &format!("victim{i}@example.com"), None, None)
            .await;
        desk.log(summaries[i % 2], Some(customer), None).await;
    }
    // An address with a line break in it is not an address: no email.
    let bad = desk
        .customer(
            "Bad",
            "victim@example.com\r\nBcc: evil@attacker.example",
            None,
            None,
        )
        .await;
    let refused = desk.log("bad address", Some(bad), None).await;

    let mails = desk.mail(attacks.len()).await;
    assert_eq!(mails.len(), attacks.len());
    let expected = [
        "auto-submitted",
        "content-type",
        "date",
        "from",
        "message-id",
        "mime-version",
        "references",
        "reply-to",
        "subject",
        "to",
        "x-auto-response-suppress",
        "x-envelope-from",
        "x-envelope-to",
    ];
    for m in &mails {
        assert_eq!(m.header_names(), expected, "headers of {m:#?}");
        assert_eq!(m.envelope_to, m.to, "only the customer receives it");
        assert!(m.to.starts_with("victim"), "{}", m.to);
        for text in [&m.subject, &m.from_name] {
            assert!(
                !text.contains(['\r', '\n', '\u{2028}', '\u{2029}', '\u{85}']),
                "{text:?}"
            );
        }
        assert_eq!(m.from_name, "The Desk");
        let reply_to = m
            .headers
            .iter()
            .find(|(n, _)| n == "Reply-To")
            .map(|(_, v)| v.as_str());
        assert!(
            reply_to.is_some_and(|r| r.ends_with("<help@desk.example>") && !r.contains('\n')),
            "{reply_to:?}"
        );
    }
    // Each attack arrives as the text it was, on one line.
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    for want in [
        "for crlf  Bcc: evil@attacker.example",
        "for lf Bcc: evil@attacker.example",
        "for cr Bcc: evil@attacker.example",
        "for sep Bcc: evil@attacker.example",
        "for nel Bcc: evil@attacker.example",
        "for tab nul esc Bcc: evil@attacker.example",
        "para Bcc: evil@attacker.example for",
    ] {
        assert!(
            subjects.iter().any(|s| s.contains(want)),
            "{want:?} in {subjects:#?}"
        );
    }
    // An encoded word typed as text stays text: the receiver decodes it to
    // the characters it spells, inside the one Subject header.
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("=?utf-8?q?enc=0D=0ABcc:_evil@attacker.example?=")),
        "{subjects:#?}"
    );
    assert!(desk.deliveries(&refused.reference).await.is_empty());
}

/// Everything a ticket's life sends: the assignee's notice, the customer's
/// email for a flagged action, the assignee's notice of the customer's
/// note, the broadcast alert, the supplier's, the resolution with its
/// survey link, and escalation's alerts and customer email. A kind the
/// tenant switched off is not sent.
async fn a_tickets_life_in_email(backend: Backend) {
    let desk = Desk::start(backend, SmtpSink::start()).await;
    let team = Uuid::now_v7();
    let alan = Uuid::now_v7();
    let lead = Uuid::now_v7();
    let grace = Uuid::now_v7();
    let supplier = desk
        .call(&contracts::supplier::RegisterSupplierV1 {
            actor: admin(),
            name: "Supplier Ltd".into(),
        })
        .await
        .supplier
        .id;
    desk.settings(|s| {
        s.broadcasts = vec![BroadcastRuleV1 {
            name: "P1/P2 on Exchange".into(),
            kinds: vec!["incident".into()],
            priority_at_most: Some(2),
            service: Some("exchange".into()),
            agents: vec![grace],
            emails: vec!["oncall@desk.example".into()],
        }];
        s.suppliers = vec![SupplierContactV1 {
            supplier_id: supplier,
            email: "support@supplier.example".into(),
            name: Some("Supplier Support".into()),
        }];
        s.disabled = vec![EmailKind::Logged];
    })
    .await;
    desk.directory(DirectoryEntryV1::Team {
        id: team,
        name: "Messaging".into(),
        leader_id: Some(lead),
    })
    .await;
    for (id, name, email) in [
        (alan, "Alan", "alan@desk.example"),
        (lead, "Lena Lead", "lena@desk.example"),
        (grace, "Grace", "grace@desk.example"),
    ] {
        desk.directory(DirectoryEntryV1::Agent {
            id,
            name: name.into(),
            email: Some(email.into()),
            team_id: Some(team),
            active: true,
        })
        .await;
    }
    let chloe = desk
        .customer("Chloé", "chloe@example.com", None, None)
        .await;
    let i = desk.log("Mail down", Some(chloe), None).await;
    // Broadcast: Grace and the on-call list; no confirmation (switched off).
    let mails = desk.mail(2).await;
    assert_eq!(mails.len(), 2, "{mails:#?}");
    assert!(
        one(&mails, "grace@desk.example")
            .subject
            .contains("New priority 2 incident: Mail down")
    );
    one(&mails, "oncall@desk.example");

    desk.call(&AssignTicketV1 {
        actor: agent(lead),
        kind: TicketKind::Incident,
        ticket: i.id.to_string(),
        if_version: None,
        assignee_id: Some(Some(alan)),
        team_id: Some(Some(team)),
        supplier_id: None,
    })
    .await;
    let mails = desk.mail(3).await;
    let m = one(&mails, "alan@desk.example");
    assert_eq!(
        m.subject,
        format!("[{}] Assigned to you: Mail down", i.reference)
    );
    assert!(
        m.text.contains("assigned to Alan of Messaging"),
        "{}",
        m.text
    );

    desk.call(&AddActionV1 {
        actor: agent(alan),
        kind: TicketKind::Incident,
        ticket: i.id.to_string(),
        action_kind: ActionKind::Progress,
        text: "Restarted the transport service.".into(),
        public: true,
        email_customer: true,
        knowledge_base: false,
        minutes: None,
        supplier: None,
    })
    .await;
    let customer = Actor {
        role: Role::Customer,
        id: chloe,
        name: "Chloé".into(),
    };
    desk.call(&AddActionV1 {
        actor: customer,
        kind: TicketKind::Incident,
        ticket: i.id.to_string(),
        action_kind: ActionKind::Note,
        text: "Still failing for the sales team.".into(),
        public: true,
        email_customer: false,
        knowledge_base: false,
        minutes: None,
        supplier: None,
    })
    .await;
    let mails = desk.mail(5).await;
    let m = one(&mails, "chloe@example.com");
    assert!(
        m.text.contains("Restarted the transport service."),
        "{}",
        m.text
    );
    let notes: Vec<_> = to(&mails, "alan@desk.example")
        .into_iter()
        .map(|n| &mails[n])
        .collect();
    assert_eq!(notes.len(), 2);
    assert!(
        notes[1].text.contains("Still failing for the sales team."),
        "{}",
        notes[1].text
    );
    assert!(notes[1].subject.contains("The customer wrote"));

    // Handed to the supplier.
    desk.call(&AssignTicketV1 {
        actor: agent(lead),
        kind: TicketKind::Incident,
        ticket: i.id.to_string(),
        if_version: None,
        assignee_id: Some(Some(alan)),
        team_id: None,
        supplier_id: Some(Some(supplier)),
    })
    .await;
    let mails = desk.mail(6).await;
    let m = one(&mails, "support@supplier.example");
    assert_eq!(
        m.subject,
        format!("[{}] Assigned to Supplier Support: Mail down", i.reference)
    );

    // Escalation fires: the assignee and the team leader are alerted, the
    // customer gets the timepoint's text, the response warning goes.
    desk.publish(&TimepointReachedV1 {
        ticket_id: i.id,
        target: "resolve".into(),
        timepoint: 0,
        // A warning two hours before the target: the emails say when the
        // target is due, not when the warning was.
        due_at: time::macros::datetime!(2026-06-01 15:00 UTC),
        target_due_at: Some(time::macros::datetime!(2026-06-01 17:00 UTC)),
        // In the SLA calendar's time zone.
        time_zone: Some("Europe/London".into()),
        fired_at: time::macros::datetime!(2026-06-01 13:00 UTC),
        late: false,
        reference: i.reference.clone(),
        kind: "incident".into(),
        priority: Some(1),
        assignee_id: Some(alan),
        team_id: Some(team),
        customer_id: Some(chloe),
        sla_id: None,
        actions: vec![
            Action::AlertAssignee,
            Action::AlertTeamLeader,
            Action::EmailCustomer {
                template: "We have escalated INC to our senior engineers.".into(),
            },
            Action::WarnResponseBreach,
            Action::RecordAction {
                template: "not an email".into(),
            },
        ],
    })
    .await;
    let mails = desk.mail(10).await;
    let esc: Vec<&Mail> = mails
        .iter()
        .filter(|m| {
            m.subject
                .contains("Escalation: resolve due Mon 1 Jun 2026, 18:00 (Europe/London)")
        })
        .collect();
    assert_eq!(esc.len(), 2, "{mails:#?}");
    assert!(
        esc.iter().any(|m| m.to == "alan@desk.example")
            && esc.iter().any(|m| m.to == "lena@desk.example")
    );
    assert!(
        esc[0].text.contains("priority 1"),
        "priority as it was when it fired"
    );
    let c: Vec<&Mail> = mails
        .iter()
        .filter(|m| m.to == "chloe@example.com")
        .collect();
    assert!(
        c[1].text
            .contains("We have escalated INC to our senior engineers."),
        "{}",
        c[1].text
    );
    assert!(
        mails
            .iter()
            .any(|m| m.to == "alan@desk.example" && m.subject.contains("Response target"))
    );

    // Resolved: the customer gets what was done and the survey's link.
    desk.call(&ChangeTicketStatusV1 {
        actor: agent(alan),
        kind: TicketKind::Incident,
        ticket: i.id.to_string(),
        if_version: None,
        to: IncidentStatus::Resolved.as_str().to_owned(),
        resolution: Some("Replaced the failed disk in the mail server.".into()),
        outcome: None,
        pending_reason: None,
        review: None,
        backout_reason: None,
        supplier: None,
    })
    .await;
    let mails = desk.mail(11).await;
    let m = mails
        .iter()
        .rev()
        .find(|m| m.to == "chloe@example.com")
        .expect("resolution");
    assert_eq!(m.subject, format!("[{}] Resolved: Mail down", i.reference));
    assert!(m.text.contains("Replaced the failed disk"), "{}", m.text);
    assert!(
        m.text.contains("https://desk.example/api/v1/surveys/"),
        "{}",
        m.text
    );
    assert!(
        m.html
            .contains("href=\"https://desk.example/api/v1/surveys/"),
        "{}",
        m.html
    );
    let log = desk.settled(&i.reference).await;
    assert_eq!(log.len(), 11);
    assert!(log.iter().all(|d| d.status == "sent"));
    assert!(!log.iter().any(|d| d.kind == EmailKind::Logged));
}

/// The relay is down: emails wait, their attempts and the error in the
/// log; when it comes back every one goes, once. A relay that refuses an
/// address for good marks that email failed.
async fn relay_down_then_back_loses_nothing(backend: Backend) {
    let desk = Desk::start(backend, SmtpSink::unstarted()).await;
    desk.settings(|_| {}).await;
    let mut refs = Vec::new();
    for n in 0..5 {
        let c = desk
            .customer(&format!("C{n}"), &format!("c{n}@example.com"), None, None)
            .await;
        refs.push(
            desk.log(&format!("Down {n}"), Some(c), None)
                .await
                .reference,
        );
    }
    let rejected = desk
        .customer("Gone", "reject-me@example.com", None, None)
        .await;
    let gone = desk.log("To nobody", Some(rejected), None).await;
    // Until the sender has tried and failed once.
    let deadline = std::time::Instant::now() + WAIT;
    let log = loop {
        let log = desk.deliveries(&refs[0]).await;
        if log.iter().any(|d| d.attempts >= 1) || std::time::Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, "queued");
    assert!(log[0].attempts >= 1, "{log:?}");
    assert!(log[0].last_error.is_some());

    let mut desk = desk;
    desk.sink.start_now();
    let mails = desk.mail(5).await;
    // Once every one is recorded sent, nothing is in flight: what the
    // sink holds then is all there will be.
    for r in &refs {
        let log = desk.settled(r).await;
        assert_eq!(log[0].status, "sent", "{log:?}");
    }
    let mails_after = desk.sink.messages();
    assert_eq!(mails.len(), 5);
    assert_eq!(mails_after.len(), 5, "each once");
    for r in &refs {
        let log = desk.settled(r).await;
        assert_eq!(log[0].status, "sent", "{log:?}");
    }
    let log = desk.settled(&gone.reference).await;
    assert_eq!(log[0].status, "failed", "{log:?}");
    assert!(
        log[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("550"),
        "{log:?}"
    );
}

/// Tickets logged before notification listened: an assignment is still
/// announced (the ticket is asked of ticketing and kept), and a reply by
/// the subject's reference finds it.
async fn tickets_from_before_notification(backend: Backend) {
    let mut desk = Desk::without_notification(backend, SmtpSink::start()).await;
    let i = desk.log("Logged before email existed", None, None).await;
    let old = desk
        .log("Replied to before anything else", None, None)
        .await;
    desk.start_notification().await;
    desk.settings(|_| {}).await;
    // Nothing has happened to `old` since: notification has no copy of it.
    let reply = ReceiveEmailV1 {
        actor: admin(),
        raw_base64: raw(&format!(
            "From: someone@example.org\nSubject: Re: [{}] old one\nMessage-ID: <old-1@example.org>\n\nStill here.\n",
            old.reference
        )),
    };
    let r: EmailReceivedV1 = desk.call(&reply).await;
    assert_eq!(
        (r.outcome.as_str(), r.ticket_id),
        ("added", Some(old.id)),
        "{r:?}"
    );
    let alan = Uuid::now_v7();
    desk.directory(DirectoryEntryV1::Agent {
        id: alan,
        name: "Alan".into(),
        email: Some("alan@desk.example".into()),
        team_id: None,
        active: true,
    })
    .await;
    desk.call(&AssignTicketV1 {
        actor: admin(),
        kind: TicketKind::Incident,
        ticket: i.id.to_string(),
        if_version: None,
        assignee_id: Some(Some(alan)),
        team_id: None,
        supplier_id: None,
    })
    .await;
    let mails = desk.mail(1).await;
    assert_eq!(
        one(&mails, "alan@desk.example").subject,
        format!(
            "[{}] Assigned to you: Logged before email existed",
            i.reference
        )
    );
}

/// A tenant with its own relay sends through it, not the desk's.
async fn a_tenants_own_relay(backend: Backend) {
    let desk = Desk::start(backend, SmtpSink::start()).await;
    let own = SmtpSink::start();
    let url = own.url();
    desk.settings(|s| s.smtp_url = Some(url)).await;
    let c = desk
        .customer("Chloé", "chloe@example.com", None, None)
        .await;
    let i = desk.log("Through our relay", Some(c), None).await;
    let got = own.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert!(String::from_utf8_lossy(&got[0]).contains(&i.reference));
    assert!(
        desk.sink.messages().is_empty(),
        "not through the desk's relay"
    );
    // An agent sees the relay without its password.
    desk.settings(|s| s.smtp_url = Some(format!("smtp://desk:s3cret@127.0.0.1:{}", own.port)))
        .await;
    let seen: NotificationSettingsV1 = desk
        .call(&GetNotificationSettingsV1 {
            viewer: agent(Uuid::now_v7()),
        })
        .await;
    assert_eq!(
        seen.smtp_url,
        Some(format!("smtp://desk:***@127.0.0.1:{}", own.port))
    );
}

/// Templates are checked when saved, previewed against a ticket without
/// sending, and a deleted one gives way to the built-in one again.
async fn templates_are_checked_and_previewed(backend: Backend) {
    let desk = Desk::start(backend, SmtpSink::start()).await;
    desk.settings(|s| s.disabled = EmailKind::ALL.to_vec())
        .await;
    let c = desk
        .customer("Chloé <script>", "chloe@example.com", Some("fr"), None)
        .await;
    let i = desk.log("Écran noir", Some(c), None).await;
    let bad = desk
        .try_call(&PutTemplateV1 {
            actor: admin(),
            template: EmailTemplateV1 {
                kind: EmailKind::Logged,
                language: "fr".into(),
                subject: "{{reference}} {{sumary}}".into(),
                text: "x".into(),
                html: None,
                builtin: false,
            },
        })
        .await;
    let ReplyV1::Error(e) = bad else {
        panic!("accepted a bad placeholder")
    };
    assert_eq!(e.code, contracts::ErrorCode::ValidationFailed);
    assert!(e.message.contains("sumary"), "{}", e.message);
    let not_admin = desk
        .try_call(&PutTemplateV1 {
            actor: agent(Uuid::now_v7()),
            template: EmailTemplateV1 {
                kind: EmailKind::Logged,
                language: "fr".into(),
                subject: "{{reference}}".into(),
                text: "x".into(),
                html: None,
                builtin: false,
            },
        })
        .await;
    assert!(
        matches!(not_admin, ReplyV1::Error(ref e) if e.code == contracts::ErrorCode::Forbidden)
    );

    // A preview of a template not saved: rendered, escaped, nothing sent.
    let preview: RenderedEmailV1 = desk
        .call(&PreviewEmailV1 {
            viewer: admin(),
            kind: EmailKind::Logged,
            language: "fr".into(),
            ticket: i.reference.clone(),
            template: Some(EmailTemplateV1 {
                kind: EmailKind::Logged,
                language: "fr".into(),
                subject: "[{{reference}}] {{summary}}".into(),
                text: "Bonjour {{customer_name}}".into(),
                html: Some("<p>Bonjour {{customer_name}}</p>".into()),
                builtin: false,
            }),
        })
        .await;
    assert_eq!(preview.subject, format!("[{}] Écran noir", i.reference));
    assert_eq!(preview.text, "Bonjour Chloé <script>");
    assert_eq!(
        preview.html.as_deref(),
        Some("<p>Bonjour Chloé &lt;script&gt;</p>")
    );
    // The stored one in French, then deleted: English again.
    desk.call(&PutTemplateV1 {
        actor: admin(),
        template: EmailTemplateV1 {
            kind: EmailKind::Logged,
            language: "fr".into(),
            subject: "[{{reference}}] Reçu".into(),
            text: "Reçu".into(),
            html: None,
            builtin: false,
        },
    })
    .await;
    let list: Vec<EmailTemplateV1> = desk.call(&ListTemplatesV1 { viewer: admin() }).await;
    // The desk's own in English, French and Dutch; the tenant's French one
    // in place of the desk's.
    assert_eq!(list.len(), EmailKind::ALL.len() * 3);
    assert!(list.iter().any(|t| t.language == "fr" && !t.builtin));
    let preview: RenderedEmailV1 = desk
        .call(&PreviewEmailV1 {
            viewer: admin(),
            kind: EmailKind::Logged,
            language: "fr".into(),
            ticket: i.id.to_string(),
            template: None,
        })
        .await;
    assert_eq!(preview.subject, format!("[{}] Reçu", i.reference));
    let now_used: EmailTemplateV1 = desk
        .call(&DeleteTemplateV1 {
            actor: admin(),
            kind: EmailKind::Logged,
            language: "fr".into(),
        })
        .await;
    // The desk's own French one is used now.
    assert!(
        now_used.builtin && now_used.language == "fr",
        "{now_used:?}"
    );
    // The delivery log is the mail queue: a preview queues nothing (it has
    // answered, so anything it queued would be there now).
    assert!(
        desk.deliveries(&i.reference).await.is_empty(),
        "a preview sends nothing"
    );
    assert!(desk.sink.messages().is_empty());
}

fn raw(message: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(message.replace('\n', "\r\n"))
}

/// Mail in: a new message logs an incident for its customer; a reply
/// (by In-Reply-To to what the desk sent, or by the subject's reference)
/// becomes a note; a second delivery changes nothing; auto-replies and the
/// desk's own mail are ignored; a reply to a closed ticket reopens it or,
/// by the tenant's policy, logs a new one linked to it.
async fn mail_in_threads_and_never_loops(backend: Backend) {
    let desk = Desk::start(backend, SmtpSink::start()).await;
    desk.settings(|s| s.desk_addresses = vec!["help@desk.example".into()])
        .await;
    let chloe = desk
        .customer("Chloé Dubois", "Chloe@Example.com", Some("fr"), None)
        .await;
    let receive = |text: String| ReceiveEmailV1 {
        actor: admin(),
        raw_base64: raw(&text),
    };

    let first = "From: =?utf-8?q?Chlo=C3=A9_Dubois?= <chloe@example.com>\nTo: help@desk.example\nSubject: =?utf-8?q?Imprimante_bloqu=C3=A9e?=\nMessage-ID: <first@mail.example.com>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nLa file d'impression est bloquée.\n--b1\nContent-Type: text/csv; name=\"queue.csv\"\nContent-Disposition: attachment; filename=\"queue.csv\"\nContent-Transfer-Encoding: base64\n\nam9iLHN0YXRlCjEsc3R1Y2sK\n--b1--\n".to_owned();
    let r: EmailReceivedV1 = desk.call(&receive(first.clone())).await;
    assert_eq!(r.outcome, "logged", "{r:?}");
    let reference = r.reference.clone().expect("a reference");
    assert_eq!(r.attachments.len(), 1);
    assert_eq!(r.attachments[0].filename, "queue.csv");
    assert_eq!(r.attachments[0].content_type, "text/csv");
    let incident: TicketV1 = desk
        .call(&GetTicketV1 {
            viewer: admin(),
            kind: TicketKind::Incident,
            ticket: reference.clone(),
        })
        .await;
    assert_eq!(incident.summary, "Imprimante bloquée");
    assert_eq!(incident.customer_id, Some(chloe));
    assert!(
        incident
            .description
            .contains("La file d'impression est bloquée.")
    );
    assert_eq!(incident.logged_by.role, Role::Customer);

    // Delivered twice: once.
    let again: EmailReceivedV1 = desk.call(&receive(first)).await;
    assert_eq!(again.outcome, "duplicate");
    assert_eq!(again.reference.as_deref(), Some(reference.as_str()));

    // The confirmation went out; a reply to it, quoting it, is a note.
    let mails = desk.mail(1).await;
    let confirmation = &mails[0];
    let reply = format!(
        "From: Chloe Dubois <chloe@example.com>\nTo: help@desk.example\nSubject: Re: something else entirely\nMessage-ID: <second@mail.example.com>\nIn-Reply-To: <{}>\nReferences: <ticket.{}@desk.example> <{}>\nContent-Type: text/plain; charset=utf-8\n\nIt works again, thanks.\n\nOn Mon, 1 Jun 2026, The Desk <desk@desk.example> wrote:\n> We have logged your incident\n",
        confirmation.message_id, incident.id, confirmation.message_id
    );
    let r: EmailReceivedV1 = desk.call(&receive(reply)).await;
    assert_eq!(
        (r.outcome.as_str(), r.reference.as_deref()),
        ("added", Some(reference.as_str()))
    );
    // By the subject's reference alone, from someone the desk does not
    // know: a private note for the desk, not a public one on Chloé's ticket.
    let by_subject = format!(
        "From: Bob <bob@elsewhere.example>\nSubject: RE: [{reference}] Imprimante\nMessage-ID: <third@elsewhere.example>\n\nSame here on floor 2.\n"
    );
    let r: EmailReceivedV1 = desk.call(&receive(by_subject)).await;
    assert_eq!((r.outcome.as_str(), r.public), ("added", false));
    let actions: Vec<ActionV1> = desk
        .call(&ListActionsV1 {
            viewer: admin(),
            kind: TicketKind::Incident,
            ticket: reference.clone(),
        })
        .await;
    assert_eq!(actions.len(), 2, "{actions:#?}");
    assert_eq!(actions[0].text, "It works again, thanks.");
    assert_eq!(actions[0].author.role, Role::Customer);
    assert!(
        actions[1]
            .text
            .starts_with("Email from Bob <bob@elsewhere.example>:"),
        "{}",
        actions[1].text
    );
    assert!(actions[1].text.contains("Same here on floor 2."));
    assert!(actions[0].public && !actions[1].public, "{actions:#?}");

    // An agent answering by mail (in French, quoting in French) writes as
    // themself, for the desk; once deactivated, their mail is a stranger's.
    let ada = Uuid::now_v7();
    let ada_entry = |active: bool| DirectoryEntryV1::Agent {
        id: ada,
        name: "Ada".into(),
        email: Some("ada@desk.example".into()),
        team_id: None,
        active,
    };
    desk.directory(ada_entry(true)).await;
    let by_agent = |n: u32| {
        format!(
            "From: Ada <Ada@Desk.example>\nSubject: RE: [{reference}] Imprimante\nMessage-ID: <agent{n}@desk.example>\n\nJ'ai vidé la file.\n\nLe lun. 1 juin 2026 à 10:00, Chloé Dubois <chloe@example.com> a écrit :\n> La file est bloquée.\n"
        )
    };
    let r: EmailReceivedV1 = desk.call(&receive(by_agent(1))).await;
    assert_eq!((r.outcome.as_str(), r.public), ("added", false));
    desk.directory(ada_entry(false)).await;
    let r: EmailReceivedV1 = desk.call(&receive(by_agent(2))).await;
    assert_eq!(r.outcome, "added");
    let actions: Vec<ActionV1> = desk
        .call(&ListActionsV1 {
            viewer: admin(),
            kind: TicketKind::Incident,
            ticket: reference.clone(),
        })
        .await;
    assert_eq!(actions.len(), 4, "{actions:#?}");
    assert_eq!(actions[2].author.id, ada);
    assert_eq!(actions[2].author.role, Role::Agent);
    assert_eq!(actions[2].text, "J'ai vidé la file.");
    assert!(!actions[2].public);
    assert_ne!(actions[3].author.id, ada);
    assert!(
        actions[3]
            .text
            .starts_with("Email from Ada <ada@desk.example>:"),
        "{}",
        actions[3].text
    );
    // Another tenant's mail that carries a Message-ID this tenant sent is
    // not this tenant's loop: it is that tenant's new incident.
    let elsewhere = ReceiveEmailV1 {
        actor: admin(),
        raw_base64: raw(&format!(
            "From: zoe@other.example\nSubject: Hello\nMessage-ID: <{}>\n\nHi.\n",
            confirmation.message_id
        )),
    };
    let other = Uuid::now_v7();
    let r = desk
        .bus
        .request(
            ReceiveEmailV1::QUEUE,
            &Envelope::new(other, &elsewhere),
            Duration::from_secs(20),
        )
        .await
        .expect("reply")
        .decode::<ReplyV1>()
        .expect("a reply");
    let ReplyV1::Ok(r) = r else { panic!("{r:?}") };
    assert_eq!(r["outcome"], "logged", "{r}");

    // Never a ticket: auto-replies, bulk, the desk's own address, and the
    // desk's own message coming back.
    for (n, loopy) in [
        "From: chloe@example.com\nSubject: Out of office\nAuto-Submitted: auto-replied\nMessage-ID: <ooo@x>\n\nAway.\n".to_owned(),
        "From: chloe@example.com\nSubject: News\nPrecedence: bulk\nMessage-ID: <bulk@x>\n\nNews.\n".to_owned(),
        format!("From: The Desk <help@desk.example>\nSubject: [{reference}] loop\nMessage-ID: <desk@x>\n\nLoop.\n"),
        "From: MAILER-DAEMON@mx.example\nSubject: Undelivered\nMessage-ID: <bounce@x>\n\nBounce.\n".to_owned(),
        format!("From: someone@example.org\nSubject: fwd\nMessage-ID: <{}>\n\nOurs.\n", confirmation.message_id),
    ]
    .into_iter()
    .enumerate()
    {
        let r: EmailReceivedV1 = desk.call(&receive(loopy)).await;
        assert_eq!(r.outcome, "ignored", "case {n}: {r:?}");
        assert!(r.ticket_id.is_none());
    }

    // Resolved: a reply reopens it (the default policy).
    let resolve = |incident: &str| ChangeTicketStatusV1 {
        actor: agent(Uuid::now_v7()),
        kind: TicketKind::Incident,
        ticket: incident.to_owned(),
        if_version: None,
        to: IncidentStatus::Resolved.as_str().to_owned(),
        resolution: Some("Cleared the queue.".into()),
        outcome: None,
        pending_reason: None,
        review: None,
        backout_reason: None,
        supplier: None,
    };
    desk.call(&resolve(&reference)).await;
    desk.heard(&reference, "resolved").await;
    let late = format!(
        "From: chloe@example.com\nSubject: Re: [{reference}] again\nMessage-ID: <late@mail.example.com>\n\nIt is stuck again.\n"
    );
    let r: EmailReceivedV1 = desk.call(&receive(late)).await;
    assert_eq!(r.outcome, "reopened", "{r:?}");
    let i: TicketV1 = desk
        .call(&GetTicketV1 {
            viewer: admin(),
            kind: TicketKind::Incident,
            ticket: reference.clone(),
        })
        .await;
    assert_eq!(i.status, "open");
    // Closed for good: a reply starts a new incident, linked to it.
    desk.call(&resolve(&reference)).await;
    desk.call(&ChangeTicketStatusV1 {
        actor: agent(Uuid::now_v7()),
        kind: TicketKind::Incident,
        ticket: reference.clone(),
        if_version: None,
        to: IncidentStatus::Closed.as_str().to_owned(),
        resolution: None,
        outcome: None,
        pending_reason: None,
        review: None,
        backout_reason: None,
        supplier: None,
    })
    .await;
    desk.heard(&reference, "closed").await;
    let closed = format!(
        "From: chloe@example.com\nSubject: Re: [{reference}] once more\nMessage-ID: <closed@mail.example.com>\n\nAnd again.\n"
    );
    let r: EmailReceivedV1 = desk.call(&receive(closed)).await;
    assert_eq!(r.outcome, "logged", "{r:?}");
    let linked = r.reference.clone().expect("new");
    assert_ne!(linked, reference);
    let links: Vec<contracts::ticket::LinkV1> = desk
        .call(&contracts::ticket::ListLinksV1 {
            viewer: admin(),
            kind: TicketKind::Incident,
            ticket: linked.clone(),
        })
        .await;
    assert_eq!(links.len(), 1, "{links:#?}");
    // The other policy: a reply to a resolved ticket starts a new one too.
    desk.settings(|s| s.closed_reply = ClosedReplyPolicy::NewTicket)
        .await;
    desk.call(&resolve(&linked)).await;
    desk.heard(&linked, "resolved").await;
    let newer = format!(
        "From: chloe@example.com\nSubject: Re: [{linked}] still\nMessage-ID: <newer@mail.example.com>\n\nStill.\n"
    );
    let r: EmailReceivedV1 = desk.call(&receive(newer)).await;
    assert_eq!(r.outcome, "logged", "{r:?}");
    assert_eq!(r.reason, Some(format!("{linked} is resolved")));

    // Not an email at all.
    let junk = desk
        .try_call(&ReceiveEmailV1 {
            actor: admin(),
            raw_base64: "%%%".into(),
        })
        .await;
    assert!(
        matches!(junk, ReplyV1::Error(ref e) if e.code == contracts::ErrorCode::ValidationFailed)
    );
    let _ = (
        AddActionV1::QUEUE,
        AssignTicketV1::QUEUE,
        ChangeTicketStatusV1::QUEUE,
    );
}

/// Emails about one ticket reach their recipient in the order they were
/// written, also when the relay was down and the first had waited longer
/// between its retries than those written after it.
async fn emails_about_a_ticket_leave_in_order(backend: Backend) {
    let desk = Desk::start(backend, SmtpSink::unstarted()).await;
    desk.settings(|_| {}).await;
    let c = desk.customer("Orla", "orla@example.com", None, None).await;
    let i = desk.log("In order", Some(c), None).await;
    // The confirmation has failed twice: its next try is seconds away.
    let deadline = std::time::Instant::now() + WAIT;
    while desk
        .deliveries(&i.reference)
        .await
        .first()
        .is_none_or(|d| d.attempts < 2)
    {
        assert!(std::time::Instant::now() < deadline, "never retried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for text in ["First update.", "Second update."] {
        desk.call(&AddActionV1 {
            actor: agent(Uuid::now_v7()),
            kind: TicketKind::Incident,
            ticket: i.id.to_string(),
            action_kind: ActionKind::Progress,
            text: text.into(),
            public: true,
            email_customer: true,
            knowledge_base: false,
            minutes: None,
            supplier: None,
        })
        .await;
    }
    let mut desk = desk;
    desk.sink.start_now();
    let mails = desk.mail(3).await;
    let order: Vec<&str> = mails
        .iter()
        .map(|m| {
            if m.text.contains("First update.") {
                "first"
            } else if m.text.contains("Second update.") {
                "second"
            } else {
                "logged"
            }
        })
        .collect();
    assert_eq!(order, ["logged", "first", "second"]);
}

runtime::on_both_stores!(
    emails_about_a_ticket_leave_in_order,
    confirmation_in_the_customers_language_from_their_company,
    header_injection_never_adds_a_header,
    a_tickets_life_in_email,
    relay_down_then_back_loses_nothing,
    a_tenants_own_relay,
    tickets_from_before_notification,
    templates_are_checked_and_previewed,
    mail_in_threads_and_never_loops,
);
