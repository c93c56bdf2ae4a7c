//! What the suite counts after each fault, from the databases, the SMTP
//! server, the broker and what the clients were answered.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::time::{Duration, Instant, SystemTime};

use runtime::bus::amqp::AmqpBus;
use sqlx::Row;

use crate::Suite;
use crate::load::Seen;

/// Longest a fault may keep the desk from working end to end after it
/// ends: every process ready, every queue with its consumers, and an
/// incident logged then with its SLA clock and its email.
pub const RECOVERY_BOUND: Duration = Duration::from_secs(30);
/// Longest from a 201 to the customer's confirmation in the SMTP server.
pub const EMAIL_BOUND: Duration = Duration::from_secs(90);
/// How long the checker waits for what was acknowledged to settle (clocks
/// started, emails sent, outboxes drained) before it counts.
const SETTLE: Duration = Duration::from_secs(120);
/// The processes' `--shutdown-grace`: a SIGTERM must end one within it
/// (and a moment to exit), whatever its connections are doing.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const STOP_BOUND: Duration = Duration::from_secs(7);
/// What a sender may have in flight when it is killed: at most this many
/// emails may go twice after a crash of notification.
pub const SENDER_IN_FLIGHT: usize = 64;

pub struct Databases {
    pub edge: String,
    pub ticketing: String,
    pub escalation: String,
    pub notification: String,
}

/// What a fault may leave, beyond zero.
pub struct Expect {
    pub doubled_emails: usize,
}

/// How the desk came back after a fault.
pub struct Recovery {
    /// From the fault's end to an incident logged, clocked and confirmed.
    pub took: Option<Duration>,
    pub detail: String,
}

pub struct Figures {
    pub tag: String,
    pub fault: String,
    pub acknowledged: usize,
    pub lost: Vec<String>,
    pub doubled: Vec<String>,
    pub stored_unacknowledged: Vec<String>,
    pub abandoned: usize,
    pub refused: Vec<String>,
    pub server_errors: usize,
    pub clocks_missing: usize,
    pub clocks_doubled: usize,
    pub emails_missing: usize,
    pub emails_doubled: usize,
    pub emails_late: usize,
    pub latest_email: Duration,
    pub outbox_unsent: i64,
    pub dead_letters: BTreeMap<String, usize>,
    pub consumers_missing: Vec<String>,
    pub exits: u32,
    pub liveness_restarts: u32,
    /// SIGTERM to exit, for each process sent one.
    pub stops: Vec<Duration>,
    pub longest_stall: Duration,
    pub recovery: Recovery,
    pub expect: Expect,
}

impl Figures {
    /// Each way the fault was not healed.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut must_be_none = |what: &str, items: &[String]| {
            if !items.is_empty() {
                out.push(format!(
                    "{}: {what}: {} (first: {:?})",
                    self.tag,
                    items.len(),
                    &items[..items.len().min(5)]
                ));
            }
        };
        must_be_none("acknowledged incidents lost", &self.lost);
        must_be_none("incidents stored twice", &self.doubled);
        must_be_none(
            "incidents stored but never acknowledged",
            &self.stored_unacknowledged,
        );
        must_be_none("requests refused", &self.refused);
        must_be_none("queues without their consumers", &self.consumers_missing);
        let counts = [
            ("incidents abandoned by their client", self.abandoned, 0),
            ("500 answers", self.server_errors, 0),
            ("SLA clocks missing", self.clocks_missing, 0),
            ("SLA clocks doubled", self.clocks_doubled, 0),
            ("emails missing", self.emails_missing, 0),
            (
                "emails doubled",
                self.emails_doubled,
                self.expect.doubled_emails,
            ),
            ("emails late", self.emails_late, 0),
            (
                "outbox rows unsent",
                usize::try_from(self.outbox_unsent).unwrap_or(usize::MAX),
                0,
            ),
        ];
        for (what, n, allowed) in counts {
            if n > allowed {
                out.push(format!("{}: {what}: {n} (allowed {allowed})", self.tag));
            }
        }
        for (reason, n) in &self.dead_letters {
            // An expired command is one whose caller had its 503 and
            // retried; anything else dead-lettered is a defect.
            if !reason.ends_with(" expired") {
                out.push(format!("{}: dead letters {reason}: {n}", self.tag));
            }
        }
        for stop in &self.stops {
            if *stop > STOP_BOUND {
                out.push(format!(
                    "{}: a SIGTERM took {stop:?} to end the process (bound {STOP_BOUND:?})",
                    self.tag
                ));
            }
        }
        if self.recovery.took.is_none() {
            out.push(format!(
                "{}: not recovered within {RECOVERY_BOUND:?}: {}",
                self.tag, self.recovery.detail
            ));
        }
        out
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64())
}

/// The figures as a Markdown table, one row per fault.
pub fn report(figures: &[Figures]) -> String {
    let mut out = String::from(
        "| fault | acknowledged | lost | stored twice | stored, never acknowledged | 500s | SLA clocks missing / doubled | emails missing / doubled / late | slowest email (s) | outbox unsent | dead letters | exits / liveness restarts | SIGTERM to exit (s) | longest stall (s) | recovered in (s) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in figures {
        let dead = if f.dead_letters.is_empty() {
            "0".to_owned()
        } else {
            f.dead_letters
                .iter()
                .map(|(reason, n)| format!("{n} {reason}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} / {} | {} / {} / {} | {} | {} | {} | {} / {} | {} | {} | {} |",
            f.fault,
            f.acknowledged,
            f.lost.len(),
            f.doubled.len(),
            f.stored_unacknowledged.len(),
            f.server_errors,
            f.clocks_missing,
            f.clocks_doubled,
            f.emails_missing,
            f.emails_doubled,
            f.emails_late,
            seconds(f.latest_email),
            f.outbox_unsent,
            dead,
            f.exits,
            f.liveness_restarts,
            if f.stops.is_empty() {
                "-".to_owned()
            } else {
                f.stops
                    .iter()
                    .map(|d| seconds(*d))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            seconds(f.longest_stall),
            f.recovery.took.map_or_else(
                || format!("not within {}", seconds(RECOVERY_BOUND)),
                seconds
            ),
        );
    }
    out
}

async fn connect(url: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Every process running and answering 200 on `/readyz`.
pub async fn all_ready(suite: &Suite, deadline: Instant) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("client");
    'wait: loop {
        let mut waiting = None;
        for member in &suite.members {
            let ready = match member.url() {
                Some(url) => http
                    .get(format!("{url}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|a| a.status() == 200),
                None => false,
            };
            if !ready {
                waiting = Some(member.name);
                break;
            }
        }
        let Some(name) = waiting else {
            break 'wait Ok(());
        };
        if Instant::now() > deadline {
            break Err(format!("{name} not ready"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Queues of the desk with fewer consumers than at the start.
fn consumers_missing(suite: &Suite) -> Vec<String> {
    let now: HashMap<String, u64> = tokio::task::block_in_place(|| suite.broker.queues())
        .into_iter()
        .map(|(name, _, consumers)| (name, consumers))
        .collect();
    suite
        .consumers
        .iter()
        .filter(|(name, want)| now.get(name).copied().unwrap_or(0) < *want)
        .map(|(name, want)| format!("{name} ({} of {want})", now.get(name).copied().unwrap_or(0)))
        .collect()
}

/// The desk's queues and their consumers, once all run.
pub fn consumers(suite: &Suite) -> Vec<(String, u64)> {
    let dead = format!("{}.dead-letters", suite.prefix);
    tokio::task::block_in_place(|| suite.broker.queues())
        .into_iter()
        .filter(|(name, _, _)| name.starts_with(&format!("{}.", suite.prefix)) && *name != dead)
        .map(|(name, _, consumers)| (name, consumers))
        .collect()
}

/// Waits, from `ended`, until the desk works end to end again: every
/// process ready, every queue consumed as before, and a probe incident
/// acknowledged, clocked and confirmed by email.
pub async fn recovery(suite: &Suite, ended: Instant) -> Recovery {
    let deadline = ended + RECOVERY_BOUND;
    let failed = |detail: String| Recovery { took: None, detail };
    if let Err(e) = all_ready(suite, deadline).await {
        return failed(e);
    }
    loop {
        let missing = consumers_missing(suite);
        if missing.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            return failed(format!("queues without their consumers: {missing:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let Some(probe) = probe(suite, deadline).await else {
        return failed("the probe incident was not acknowledged".into());
    };
    let escalation = connect(&suite.dbs.escalation).await;
    loop {
        let clocked: i64 = sqlx::query("SELECT count(*) FROM timers WHERE ticket_id = $1")
            .bind(&probe.0)
            .fetch_one(&escalation)
            .await
            .map_or(0, |r| r.get(0));
        let mailed = emails(suite).contains_key(&probe.1);
        if clocked > 0 && mailed {
            break;
        }
        if Instant::now() > deadline {
            return failed(format!(
                "the probe incident {}: clock {}, email {}",
                probe.1,
                clocked > 0,
                mailed
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    escalation.close().await;
    Recovery {
        took: Some(ended.elapsed()),
        detail: String::new(),
    }
}

/// Logs one incident outside the load; its (id, reference).
async fn probe(suite: &Suite, deadline: Instant) -> Option<(String, String)> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let key = uuid::Uuid::new_v4().to_string();
    let body =
        serde_json::json!({"summary": "probe", "priority": 3, "customer_id": suite.customer_id});
    while Instant::now() < deadline {
        if let Some(base) = suite.member("edge").url() {
            let answer = http
                .post(format!("{base}/api/v1/incidents"))
                .bearer_auth(&suite.token)
                .header("idempotency-key", &key)
                .json(&body)
                .send()
                .await;
            if let Ok(answer) = answer
                && answer.status() == 201
            {
                let v: serde_json::Value = answer.json().await.ok()?;
                return Some((
                    v["id"].as_str()?.to_owned(),
                    v["reference"].as_str()?.to_owned(),
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// The confirmations the SMTP server took, by ticket reference: when each
/// copy arrived.
fn emails(suite: &Suite) -> HashMap<String, Vec<SystemTime>> {
    let mut out: HashMap<String, Vec<SystemTime>> = HashMap::new();
    for (at, raw) in suite.smtp.received() {
        let Some(message) = mail_parser::MessageParser::default().parse(&raw) else {
            continue;
        };
        let Some(subject) = message.subject() else {
            continue;
        };
        if let Some(reference) = subject
            .strip_prefix('[')
            .and_then(|s| s.split_once(']'))
            .map(|(r, _)| r.to_owned())
        {
            out.entry(reference).or_default().push(at);
        }
    }
    out
}

/// Rows still in each service's outbox.
async fn outbox_rows(suite: &Suite) -> i64 {
    let mut total = 0;
    for url in [
        &suite.dbs.edge,
        &suite.dbs.ticketing,
        &suite.dbs.escalation,
        &suite.dbs.notification,
    ] {
        let pool = connect(url).await;
        let n: i64 = sqlx::query("SELECT count(*) FROM outbox")
            .fetch_one(&pool)
            .await
            .map_or(0, |r| r.get(0));
        pool.close().await;
        total += n;
    }
    total
}

/// The SLA timers of `ids`: (tickets without both targets' breach timers,
/// timepoints held twice).
async fn clocks(suite: &Suite, ids: &[String]) -> (usize, usize) {
    let pool = connect(&suite.dbs.escalation).await;
    let rows = sqlx::query(
        "SELECT ticket_id, target, timepoint, count(*) FROM timers \
         WHERE ticket_id = ANY($1) AND fired_at IS NULL GROUP BY 1, 2, 3",
    )
    .bind(ids)
    .fetch_all(&pool)
    .await
    .expect("timers");
    pool.close().await;
    let mut targets: HashMap<String, usize> = HashMap::new();
    let mut doubled = 0;
    for row in rows {
        let (ticket, timepoint, n): (String, i64, i64) = (row.get(0), row.get(2), row.get(3));
        if timepoint == -1 {
            *targets.entry(ticket).or_default() += 1;
        }
        if n > 1 {
            doubled += 1;
        }
    }
    let missing = ids
        .iter()
        .filter(|id| targets.get(*id).copied().unwrap_or(0) < 2)
        .count();
    (missing, doubled)
}

/// Counts what the fault left, once what was acknowledged has settled.
#[allow(clippy::too_many_arguments)]
pub async fn count(
    suite: &Suite,
    tag: &str,
    fault: String,
    seen: Seen,
    started: Instant,
    recovery: Recovery,
    expect: Expect,
) -> Figures {
    let ids: Vec<String> = seen.acks.iter().map(|a| a.id.clone()).collect();
    // Settle: clocks, emails and outboxes catch up with what was acked.
    let deadline = Instant::now() + SETTLE;
    loop {
        let (missing, _) = clocks(suite, &ids).await;
        let mailed = emails(suite);
        let unmailed = seen
            .acks
            .iter()
            .filter(|a| !mailed.contains_key(&a.reference))
            .count();
        if (missing == 0 && unmailed == 0 && outbox_rows(suite).await == 0)
            || Instant::now() > deadline
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Tickets as stored, by summary.
    let ticketing = connect(&suite.dbs.ticketing).await;
    let stored: HashMap<String, i64> =
        sqlx::query("SELECT summary, count(*) FROM tickets WHERE summary LIKE $1 GROUP BY summary")
            .bind(format!("chaos {tag} %"))
            .fetch_all(&ticketing)
            .await
            .expect("tickets")
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    ticketing.close().await;
    let acked: HashMap<&str, &crate::load::Ack> =
        seen.acks.iter().map(|a| (a.summary.as_str(), a)).collect();
    let lost = seen
        .acks
        .iter()
        .filter(|a| !stored.contains_key(&a.summary))
        .map(|a| a.summary.clone())
        .collect();
    let doubled = stored
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(s, n)| format!("{s} ×{n}"))
        .collect();
    let stored_unacknowledged = stored
        .keys()
        .filter(|s| !acked.contains_key(s.as_str()) && !seen.abandoned.contains(s))
        .cloned()
        .collect();
    let (clocks_missing, clocks_doubled) = clocks(suite, &ids).await;
    // Emails: one per acknowledged incident, within the bound.
    let mailed = emails(suite);
    let now = (SystemTime::now(), Instant::now());
    let (mut emails_missing, mut emails_doubled, mut emails_late) = (0, 0, 0);
    let mut latest_email = Duration::ZERO;
    for ack in &seen.acks {
        let Some(copies) = mailed.get(&ack.reference) else {
            emails_missing += 1;
            continue;
        };
        emails_doubled += copies.len() - 1;
        // When the 201 came, on the wall clock the files are stamped by.
        let acked_at = now.0 - now.1.duration_since(ack.at);
        let first = copies.iter().min().copied().unwrap_or(now.0);
        let took = first.duration_since(acked_at).unwrap_or_default();
        latest_email = latest_email.max(took);
        if took > EMAIL_BOUND {
            emails_late += 1;
        }
    }
    let outbox_unsent = outbox_rows(suite).await;
    let dead_letters = dead_letters(suite).await;
    let consumers_missing = consumers_missing(suite);
    let (exits, liveness_restarts) = suite.members.iter().fold((0, 0), |(e, l), m| {
        use std::sync::atomic::Ordering::SeqCst;
        (
            e + m.counts.exits.swap(0, SeqCst),
            l + m.counts.liveness_restarts.swap(0, SeqCst),
        )
    });
    let stops = suite
        .members
        .iter()
        .flat_map(|m| std::mem::take(&mut *m.counts.stops.lock().expect("stops")))
        .collect();
    let mut times: Vec<Instant> = seen.acks.iter().map(|a| a.at).collect();
    times.sort();
    let longest_stall = times
        .iter()
        .scan(started, |last, at| {
            let gap = at.duration_since(*last);
            *last = *at;
            Some(gap)
        })
        .max()
        .unwrap_or_default();
    Figures {
        tag: tag.to_owned(),
        fault,
        acknowledged: seen.acks.len(),
        lost,
        doubled,
        stored_unacknowledged,
        abandoned: seen.abandoned.len(),
        refused: seen.refused,
        server_errors: seen.server_errors.len(),
        clocks_missing,
        clocks_doubled,
        emails_missing,
        emails_doubled,
        emails_late,
        latest_email,
        outbox_unsent,
        dead_letters,
        consumers_missing,
        exits,
        liveness_restarts,
        stops,
        longest_stall,
        recovery,
        expect,
    }
}

/// Takes every dead letter off the queue: how many, by queue and reason.
async fn dead_letters(suite: &Suite) -> BTreeMap<String, usize> {
    let bus = AmqpBus::connect(&suite.broker.url(), &suite.prefix)
        .await
        .expect("the suite's broker");
    let prefix = format!("{}.", suite.prefix);
    let mut out = BTreeMap::new();
    for letter in bus.take_dead_letters(100_000).await.expect("dead letters") {
        let queue = letter.queue.strip_prefix(&prefix).unwrap_or(&letter.queue);
        *out.entry(format!("{queue} {}", letter.reason)).or_default() += 1;
    }
    out
}
