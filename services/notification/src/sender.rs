//! Delivery: claims due emails and hands them to the SMTP relay (the
//! tenant's own, else the desk's `--smtp-url`) over pooled connections.
//!
//! - Accepted by the relay: `sent`.
//! - Refused for good (a 55x answer: no such mailbox, not accepted):
//!   `failed`, with the relay's words.
//! - Anything else (relay down, a 4xx, a timeout, no relay configured, a
//!   relay that refuses us rather than the address: a 5xx other than 55x,
//!   such as failed authentication): tried again after 1 s, 2 s, 4 s … at
//!   most [`MAX_BACKOFF`], for [`GIVE_UP_AFTER`]. The first email a relay
//!   takes after failures makes every waiting one of that tenant due at
//!   once, so an outage of an hour ends with the backlog going out, not
//!   trickling out at the back-off's pace.
//!
//! A round claims a few times what it delivers at once, under a short
//! lease that it renews while it delivers, so no email is held by two
//! senders, and a dead sender's emails are taken over once its lease ends
//! ([`LEASE`]); outcomes are recorded as deliveries finish, and apply only
//! to emails still queued. A failure to record them (the database away for a
//! moment) is tried again until it is done, never a reason to leave
//! delivered emails to be sent again when their lease ends.
//!
//! An email is marked sent after the relay accepted it; a crash between the
//! two sends it again, with the same Message-ID, which is what receivers
//! deduplicate on.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use runtime::store::{Store, now};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::message;
use crate::outgoing::{self, Claimed};
use crate::tenant;

/// The longest wait between two tries of one email.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How long a relay may stay unreachable before an email is given up.
pub const GIVE_UP_AFTER: time::Duration = time::Duration::days(3);
/// How long a claimed email is a sender's without news from it: the
/// sender renews the lease of what it still holds every third of it, so
/// its deliveries may take longer (each SMTP command may take
/// [`SMTP_TIMEOUT`]); a sender that died has its emails taken over this
/// long after it last renewed.
pub const LEASE: time::Duration = time::Duration::minutes(1);
/// The longest wait between two tries to record outcomes.
const MAX_RECORD_WAIT: Duration = Duration::from_secs(5);
/// SMTP command timeout.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Emails claimed per round, and deliveries in flight at once.
const BATCH: i64 = 256;
const IN_FLIGHT: usize = 64;
/// Connections kept open per relay. lettre writes a message's end (`.`)
/// apart from its body without TCP_NODELAY, so each delivery waits out the
/// relay's delayed ACK (about 40 ms on Linux): throughput comes from many
/// connections, each mostly waiting (`bench --mode email`).
const POOL_SIZE: u32 = 32;
/// How often the sender looks even if nobody woke it (emails queued by
/// another replica, a back-off ending).
const POLL: Duration = Duration::from_millis(500);

type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// Sends the mail queue.
pub struct Sender {
    store: Store,
    /// The desk's relay (`--smtp-url`), for tenants without their own.
    default_relay: Option<String>,
    /// Certificates trusted for relays besides the public roots.
    ca: Option<Vec<u8>>,
    transports: Mutex<HashMap<String, Transport>>,
    lease: time::Duration,
}

/// How a relay URL asks for TLS, as lettre reads it: `smtps://` is TLS from
/// the start, `?tls=required` or `?tls=opportunistic` STARTTLS.
enum TlsMode {
    Wrapper,
    Required,
    Opportunistic,
}

fn tls_mode(url: &str) -> Option<TlsMode> {
    if url.starts_with("smtps://") {
        Some(TlsMode::Wrapper)
    } else if url.contains("tls=required") {
        Some(TlsMode::Required)
    } else if url.contains("tls=opportunistic") {
        Some(TlsMode::Opportunistic)
    } else {
        None
    }
}

/// The host a relay URL names (the name its certificate must carry).
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// What became of one delivery.
enum Outcome {
    Sent,
    Retry(String),
    Failed(String),
}

/// A permanent answer about the message or its address (55x: no such
/// mailbox, not accepted), not about us (a 5xx at the greeting, failed
/// authentication, a relay that does not relay for us: a configuration to
/// fix, after which the email should still go).
fn refuses_the_address(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent()
        && e.status()
            .is_some_and(|code| (550..560).contains(&u16::from(code)))
}

fn backoff(attempts: i64) -> Duration {
    let secs = 1u64 << attempts.clamp(0, 16);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

impl Sender {
    pub fn new(store: Store, default_relay: Option<String>, ca: Option<Vec<u8>>) -> Self {
        Self {
            store,
            default_relay,
            ca,
            transports: Mutex::new(HashMap::new()),
            lease: LEASE,
        }
    }

    /// A lease of `lease` instead of [`LEASE`] (tests that cannot wait a
    /// minute).
    pub fn with_lease(mut self, lease: time::Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The pooled transport for `url`, made once.
    fn transport(&self, url: &str) -> Result<Transport, String> {
        let mut map = self
            .transports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = map.get(url) {
            return Ok(t.clone());
        }
        let mut builder = Transport::from_url(url).map_err(|e| format!("bad SMTP URL: {e}"))?;
        if let (Some(ca), Some(mode)) = (&self.ca, tls_mode(url)) {
            let certificate =
                Certificate::from_pem(ca).map_err(|e| format!("--smtp-ca-file: {e}"))?;
            let parameters = TlsParameters::builder(host_of(url).to_owned())
                .add_root_certificate(certificate)
                .build_rustls()
                .map_err(|e| format!("TLS for {}: {e}", host_of(url)))?;
            builder = builder.tls(match mode {
                TlsMode::Wrapper => Tls::Wrapper(parameters),
                TlsMode::Required => Tls::Required(parameters),
                TlsMode::Opportunistic => Tls::Opportunistic(parameters),
            });
        }
        let t = builder
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(POOL_SIZE))
            .build();
        map.insert(url.to_owned(), t.clone());
        Ok(t)
    }

    async fn deliver(&self, c: &Claimed, relay: Option<&str>) -> Outcome {
        let Some(url) = relay else {
            return Outcome::Retry("no SMTP relay configured (--smtp-url)".into());
        };
        let transport = match self.transport(url) {
            Ok(t) => t,
            Err(e) => return Outcome::Retry(e),
        };
        let message = match message::build(&c.email.mail) {
            Ok(m) => m,
            Err(e) => return Outcome::Failed(format!("cannot be written: {e}")),
        };
        match transport.send(message).await {
            Ok(_) => Outcome::Sent,
            Err(e) if refuses_the_address(&e) => Outcome::Failed(e.to_string()),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    /// Records what became of some deliveries, trying again until it is
    /// done: an email the relay took and that is not recorded sent would
    /// be sent again once its lease ends. Recording is idempotent (each
    /// outcome applies only to an email still queued), so a try that
    /// failed half way is simply made again.
    async fn record_until_done(&self, outcomes: &[(Claimed, Outcome)]) {
        let mut wait = Duration::from_millis(100);
        loop {
            match self.record(outcomes).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, emails = outcomes.len(), "delivery outcomes not recorded; trying again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_RECORD_WAIT);
                }
            }
        }
    }

    /// Records what became of some deliveries: what went first.
    async fn record(
        &self,
        outcomes: &[(Claimed, Outcome)],
    ) -> Result<(), runtime::store::StoreError> {
        let done = now();
        let sent: Vec<Uuid> = outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Sent))
            .map(|(c, _)| c.email.id)
            .collect();
        outgoing::sent(&self.store, &sent, done).await?;
        metrics::counter!("notification_emails_sent_total").increment(sent.len() as u64);
        let mut back: Vec<Uuid> = outcomes
            .iter()
            .filter(|(c, o)| matches!(o, Outcome::Sent) && c.attempts > 0)
            .map(|(c, _)| c.email.tenant)
            .collect();
        back.sort();
        back.dedup();
        for tenant in back {
            outgoing::due_now(&self.store, tenant, done).await?;
        }
        for (c, outcome) in outcomes {
            let recorded = match outcome {
                Outcome::Sent => Ok(()),
                Outcome::Failed(e) => {
                    tracing::warn!(email = %c.email.id, error = %e, "email refused for good");
                    metrics::counter!("notification_emails_failed_total").increment(1);
                    outgoing::failed(&self.store, c.email.id, e).await
                }
                Outcome::Retry(e) if done - c.created_at > GIVE_UP_AFTER => {
                    let e = format!("gave up after {GIVE_UP_AFTER}: {e}");
                    outgoing::failed(&self.store, c.email.id, &e).await
                }
                Outcome::Retry(e) => {
                    tracing::info!(email = %c.email.id, attempts = c.attempts + 1, error = %e, "email will be retried");
                    let next = done + backoff(c.attempts);
                    outgoing::retry(&self.store, c.email.id, e, next).await
                }
            };
            if let Err(e) = recorded {
                tracing::warn!(email = %c.email.id, error = %e, "delivery outcome not recorded");
            }
        }
        Ok(())
    }

    /// Claims and delivers one round; how many were claimed.
    pub async fn round(&self) -> Result<usize, runtime::store::StoreError> {
        let started = now();
        let claimed = outgoing::claim(&self.store, started, BATCH, self.lease).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        // Each tenant's relay, read once per round.
        let mut relays: HashMap<Uuid, Option<String>> = HashMap::new();
        for c in &claimed {
            if let Entry::Vacant(slot) = relays.entry(c.email.tenant) {
                let mut conn = self.store.pool().acquire().await?;
                let s = tenant::settings(&mut conn, c.email.tenant).await?;
                slot.insert(s.smtp_url.or_else(|| self.default_relay.clone()));
            }
        }
        let count = claimed.len();
        // What this round still holds: its lease is renewed until each is
        // recorded.
        let held: Mutex<HashSet<Uuid>> = Mutex::new(claimed.iter().map(|c| c.email.id).collect());
        let deliveries: Vec<_> = claimed
            .into_iter()
            .map(|c| {
                let relay = relays.get(&c.email.tenant).cloned().flatten();
                Box::pin(async move {
                    let outcome = self.deliver(&c, relay.as_deref()).await;
                    (c, outcome)
                })
            })
            .collect();
        // Outcomes are recorded as they come, a handful at a time, not
        // after the whole round: a delivered email is marked sent within
        // moments, whatever its neighbours are waiting for.
        let mut outcomes = futures_util::stream::iter(deliveries)
            .buffer_unordered(IN_FLIGHT)
            .ready_chunks(IN_FLIGHT);
        let deliver = async {
            while let Some(done) = outcomes.next().await {
                {
                    let mut still = lock(&held);
                    for (c, _) in &done {
                        still.remove(&c.email.id);
                    }
                }
                self.record_until_done(&done).await;
            }
        };
        let renew = async {
            let every: Duration = (self.lease / 3_i32).unsigned_abs();
            loop {
                tokio::time::sleep(every).await;
                let ids: Vec<Uuid> = lock(&held).iter().copied().collect();
                if let Err(e) = outgoing::renew(&self.store, &ids, now() + self.lease).await {
                    tracing::warn!(error = %e, emails = ids.len(), "lease not renewed");
                }
            }
        };
        tokio::select! {
            () = deliver => {}
            _ = renew => {}
        }
        Ok(count)
    }

    /// Delivers until `stop`: a round whenever emails are queued (`queued`),
    /// a back-off ends, or [`POLL`] passes.
    pub async fn run(self: Arc<Self>, queued: Arc<Notify>, stop: CancellationToken) {
        loop {
            let claimed = match self.round().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "mail queue unavailable");
                    0
                }
            };
            if claimed as i64 == BATCH {
                continue; // more are due
            }
            let wait = match outgoing::next_due(&self.store).await {
                Ok(Some(at)) => until(at).min(POLL),
                _ => POLL,
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = queued.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn until(at: OffsetDateTime) -> Duration {
    let d = at - now();
    Duration::from_micros(d.whole_microseconds().clamp(0, i128::from(u64::MAX)) as u64)
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn a_relays_host_is_what_its_certificate_names() {
        assert_eq!(
            host_of("smtps://desk:s3cret@relay.example:465"),
            "relay.example"
        );
        assert_eq!(
            host_of("smtp://relay.example:587?tls=required"),
            "relay.example"
        );
        assert_eq!(host_of("smtp://relay.example"), "relay.example");
    }
}
