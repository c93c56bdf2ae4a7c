//! `servicedesk bench --mode email`: emails rendered and delivered per
//! second by the notification service, to a local SMTP sink (Postfix's
//! `smtp-sink`, from Debian's `postfix`), next to two ceilings measured in
//! the same run: the sink's own (ready-made messages over plain pipelined
//! connections) and lettre's (the same messages through the pooled client
//! the desk sends with).
//!
//! The desk side: `--emails` "incident logged" events for customers of a
//! company with its own sender, published on the bus as ticketing would;
//! each becomes the customer's confirmation, rendered from the template,
//! queued, claimed and delivered. Measured from the first event to the
//! last email accepted by the sink (the mail queue says `sent`), on the
//! embedded desk (SQLite, in-process bus) and the distributed one
//! (PostgreSQL, RabbitMQ).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use contracts::incident::{IncidentStatus, IncidentV1};
use contracts::notification::{DirectoryChangedV1, DirectoryEntryV1, MailboxV1};
use contracts::ticket::{TicketChangedV1, TicketV1};
use contracts::{Actor, Envelope, Event, Role};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use runtime::bus::Bus;
use runtime::bus::amqp::AmqpBus;
use runtime::bus::embedded::EmbeddedBus;
use runtime::store::Store;
use runtime::testing;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::bench::ceilings::fresh_database;

/// Customers the emails go to.
const CUSTOMERS: usize = 100;
/// Tasks publishing events at once.
const PUBLISHERS: usize = 8;
/// Deliveries in flight and connections in the lettre ceiling: what the
/// desk's sender uses.
const IN_FLIGHT: usize = 64;
const CONNECTIONS: u32 = 32;
/// Connections of the raw ceiling.
const RAW_CONNECTIONS: usize = 16;

/// Postfix's `smtp-sink` on a free loopback port, stopped on drop.
struct Sink {
    url: String,
    child: std::process::Child,
}

impl Sink {
    fn start() -> anyhow::Result<Self> {
        let port = testing::free_port();
        let child = std::process::Command::new("/usr/sbin/smtp-sink")
            .args(["-u", "nobody", &format!("127.0.0.1:{port}"), "1024"])
            .stdout(Stdio::null())
            .spawn()
            .context("starting Postfix's smtp-sink (apt-get install postfix)")?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "smtp-sink did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            url: format!("smtp://127.0.0.1:{port}"),
            child,
        })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A ready-made confirmation-sized message, as bytes.
fn raw_message(i: usize) -> String {
    format!(
        "From: Acme IT <it@acme.example>\r\nTo: <c{i}@example.com>\r\nSubject: [INC-{i:06}] We have logged your incident\r\nMessage-ID: <{i}@acme.example>\r\n\r\n{}",
        "Dear customer, thank you: we have logged your incident.\r\n".repeat(40)
    )
}

/// The sink's own ceiling: `n` ready-made messages over
/// [`RAW_CONNECTIONS`] plain SMTP connections with TCP_NODELAY and
/// pipelining (MAIL, RCPT and DATA in one write, the message and its end in
/// another): two round trips a message, nothing else in the way.
async fn raw_ceiling(addr: &str, n: usize) -> anyhow::Result<f64> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    async fn reply<R: AsyncBufReadExt + Unpin>(r: &mut R) -> anyhow::Result<String> {
        loop {
            let mut line = String::new();
            anyhow::ensure!(r.read_line(&mut line).await? > 0, "the sink hung up");
            // A multi-line reply goes on while the fourth byte is '-'.
            if line.as_bytes().get(3) != Some(&b'-') {
                anyhow::ensure!(!line.starts_with(['4', '5']), "the sink said {line}");
                return Ok(line);
            }
        }
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..RAW_CONNECTIONS {
        let addr = addr.to_owned();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr).await?;
            stream.set_nodelay(true)?;
            let (read, mut write) = stream.into_split();
            let mut read = BufReader::new(read);
            reply(&mut read).await?;
            write.write_all(b"EHLO bench\r\n").await?;
            reply(&mut read).await?;
            for i in (c..n).step_by(RAW_CONNECTIONS) {
                write
                    .write_all(
                        format!(
                            "MAIL FROM:<it@acme.example>\r\nRCPT TO:<c{i}@example.com>\r\nDATA\r\n"
                        )
                        .as_bytes(),
                    )
                    .await?;
                for _ in 0..3 {
                    reply(&mut read).await?;
                }
                write
                    .write_all(format!("{}\r\n.\r\n", raw_message(i)).as_bytes())
                    .await?;
                reply(&mut read).await?;
            }
            write.write_all(b"QUIT\r\n").await?;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// The same messages through lettre's pooled client as the desk's sender
/// configures it ([`CONNECTIONS`], [`IN_FLIGHT`]).
async fn lettre_ceiling(url: &str, n: usize) -> anyhow::Result<f64> {
    use futures_util::StreamExt;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
        .pool_config(PoolConfig::new().max_size(CONNECTIONS))
        .build();
    let from: Mailbox = "Acme IT <it@acme.example>".parse()?;
    let message = |i: usize| -> anyhow::Result<Message> {
        let to: Mailbox = format!("Customer {i} <c{i}@example.com>").parse()?;
        Ok(Message::builder()
            .from(from.clone())
            .to(to)
            .subject(format!(
                "[INC-{i:06}] We have logged your incident: Printer {i}"
            ))
            .multipart(MultiPart::alternative_plain_html(
                "Dear customer,\n\nThank you: we have logged your incident.\n".repeat(3),
                "<p>Dear customer,</p><p>Thank you: we have logged your incident.</p>".repeat(3),
            ))?)
    };
    let messages: Vec<Message> = (0..n).map(message).collect::<anyhow::Result<_>>()?;
    let started = Instant::now();
    let sent: Vec<bool> = futures_util::stream::iter(messages)
        .map(|m| {
            let t = transport.clone();
            async move { t.send(m).await.is_ok() }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();
    anyhow::ensure!(sent.iter().all(|ok| *ok), "the sink refused messages");
    Ok(n as f64 / elapsed.as_secs_f64())
}

async fn count(store: &Store, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(store.pool())
        .await?)
}

/// Waits until `sql` counts `n`; when it did.
async fn until(store: &Store, sql: &str, n: usize, deadline: Instant) -> anyhow::Result<Instant> {
    loop {
        if count(store, sql).await? >= n as i64 {
            return Ok(Instant::now());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "timed out waiting for {n}: {sql}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn incident(i: usize, customer: Uuid, company: Uuid) -> IncidentV1 {
    let now = time::OffsetDateTime::now_utc();
    IncidentV1 {
        id: Uuid::now_v7(),
        reference: format!("INC-{i:06}"),
        status: IncidentStatus::Open,
        priority: 3,
        impact: None,
        urgency: None,
        summary: format!("Printer {i} offline on floor {}", i % 7),
        description: "The printer shows an error and nothing prints.".into(),
        customer_id: Some(customer),
        category: None,
        service: Some("Printing".into()),
        assignee_id: None,
        team_id: None,
        resolution: None,
        logged_by: Actor {
            role: Role::Agent,
            id: Uuid::from_u128(7),
            name: "Bench".into(),
        },
        created_at: now,
        updated_at: now,
        resolved_at: None,
        closed_at: None,
        version: 1,
        first_response_at: None,
        supplier_id: None,
        company_id: Some(company),
        problem_id: None,
        fields: Default::default(),
        pending_reason: None,
        time_spent_minutes: 0,
    }
}

/// `n` confirmations through the notification service on `store` and
/// `bus`; (events queued per second, emails delivered per second).
async fn desk(store: Store, bus: Arc<dyn Bus>, smtp: &str, n: usize) -> anyhow::Result<(f64, f64)> {
    let stop = CancellationToken::new();
    let service = notification::Notification::start(
        store.clone(),
        bus.clone(),
        notification::Config {
            smtp_url: Some(smtp.to_owned()),
            smtp_ca: None,
        },
        stop.clone(),
    )
    .await?;
    let tenant = Uuid::now_v7();
    let company = Uuid::now_v7();
    let publish = |event: DirectoryChangedV1| {
        let bus = bus.clone();
        async move {
            bus.publish(
                DirectoryChangedV1::ROUTING_KEY,
                &Envelope::new(tenant, &event),
            )
            .await
        }
    };
    publish(DirectoryChangedV1 {
        entry: DirectoryEntryV1::Company {
            id: company,
            name: "Acme".into(),
            sender: Some(MailboxV1 {
                email: "it@acme.example".into(),
                name: Some("Acme IT".into()),
            }),
        },
    })
    .await?;
    let mut customers = Vec::new();
    for c in 0..CUSTOMERS {
        let id = Uuid::now_v7();
        customers.push(id);
        publish(DirectoryChangedV1 {
            entry: DirectoryEntryV1::Customer {
                id,
                name: format!("Customer {c}"),
                email: Some(format!("c{c}@example.com")),
                company_id: Some(company),
                language: None,
                active: true,
            },
        })
        .await?;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    until(
        &store,
        "SELECT COUNT(*) FROM mail_directory",
        CUSTOMERS + 1,
        deadline,
    )
    .await?;

    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..PUBLISHERS {
        let bus = bus.clone();
        let customers = customers.clone();
        tasks.push(tokio::spawn(async move {
            for i in (p..n).step_by(PUBLISHERS) {
                let ticket = TicketV1::from(incident(i, customers[i % CUSTOMERS], company));
                let event = TicketChangedV1 {
                    actor: ticket.logged_by.clone(),
                    ticket,
                    change: "logged".into(),
                    action: None,
                    survey_token: None,
                };
                bus.publish(TicketChangedV1::ROUTING_KEY, &Envelope::new(tenant, &event))
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let queued = until(&store, "SELECT COUNT(*) FROM emails", n, deadline).await?;
    let sent = until(
        &store,
        "SELECT COUNT(*) FROM emails WHERE status = 'sent'",
        n,
        deadline,
    )
    .await?;
    service.running.stop().await?;
    let rate = |at: Instant| n as f64 / (at - started).as_secs_f64();
    Ok((rate(queued), rate(sent)))
}

pub async fn run(n: usize, postgres: &str, amqp: &str) -> anyhow::Result<Vec<(String, String)>> {
    let sink = Sink::start()?;
    let mut rows = Vec::new();
    let per_second = |r: f64| format!("{r:.0} emails/s");

    let dir = testing::TempDir::new();
    let store = Store::open_sqlite(&dir.path().join("notification.sqlite")).await?;
    let (queued, sent) = desk(store, Arc::new(EmbeddedBus::new()), &sink.url, n).await?;
    rows.push((
        format!("embedded (SQLite, in-process bus): {n} confirmations rendered and queued"),
        per_second(queued),
    ));
    rows.push((
        "embedded: rendered and delivered to the sink, end to end".into(),
        per_second(sent),
    ));

    let db = fresh_database(postgres, "bench").await?;
    let store = Store::connect(&db).await?;
    let bus = AmqpBus::connect(amqp, &testing::unique("bench"))
        .await
        .context("connecting to RabbitMQ")?;
    let (queued, sent) = desk(store, Arc::new(bus), &sink.url, n).await?;
    rows.push((
        format!("distributed (PostgreSQL, RabbitMQ): {n} confirmations rendered and queued"),
        per_second(queued),
    ));
    rows.push((
        "distributed: rendered and delivered to the sink, end to end".into(),
        per_second(sent),
    ));

    let raw = raw_ceiling(sink.url.trim_start_matches("smtp://"), n).await?;
    rows.push((
        format!("ceiling: the sink (smtp-sink), {n} ready-made messages, {RAW_CONNECTIONS} pipelined TCP_NODELAY connections"),
        per_second(raw),
    ));
    let pooled = lettre_ceiling(&sink.url, n).await?;
    rows.push((
        format!("ceiling: the same through lettre's pooled client ({CONNECTIONS} connections, {IN_FLIGHT} in flight), as the desk sends"),
        per_second(pooled),
    ));
    Ok(rows)
}
