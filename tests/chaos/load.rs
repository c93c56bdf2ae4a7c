//! Steady load: clients that log incidents at a fixed pace and retry each,
//! with the same `Idempotency-Key`, until the desk acknowledges it (a 201),
//! as a careful integration would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::desk::Member;

/// One incident the desk acknowledged.
#[derive(Clone, Debug)]
pub struct Ack {
    pub summary: String,
    pub id: String,
    pub reference: String,
    /// When the 201 arrived.
    pub at: Instant,
}

/// What the clients saw.
#[derive(Default)]
pub struct Seen {
    pub acks: Vec<Ack>,
    /// Answers a retry cannot mend (a 4xx other than 429): a defect.
    pub refused: Vec<String>,
    /// Incidents given up on after [`GIVE_UP`] of retries.
    pub abandoned: Vec<String>,
    /// 500s: a fault must be answered 503 (try again), never "broken".
    pub server_errors: Vec<String>,
}

/// How long a client keeps retrying one incident.
pub const GIVE_UP: Duration = Duration::from_secs(180);
/// The pause between two tries of one incident.
const RETRY_AFTER: Duration = Duration::from_millis(250);

pub struct Load {
    stop: Arc<AtomicBool>,
    clients: Vec<tokio::task::JoinHandle<()>>,
    pub seen: Arc<Mutex<Seen>>,
}

impl Load {
    /// `clients` clients, each logging one incident every `every`, with
    /// summaries `chaos <tag> <client>-<n>` for `customer_id`.
    pub fn start(
        edge: Arc<Member>,
        token: &str,
        customer_id: &str,
        tag: &str,
        clients: usize,
        every: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("client");
        let clients = (0..clients)
            .map(|c| {
                let (edge, stop, seen, http) =
                    (edge.clone(), stop.clone(), seen.clone(), http.clone());
                let (token, customer_id) = (token.to_owned(), customer_id.to_owned());
                let tag = tag.to_owned();
                tokio::spawn(async move {
                    let mut n = 0;
                    let mut next = Instant::now();
                    while !stop.load(Ordering::SeqCst) {
                        n += 1;
                        let summary = format!("chaos {tag} {c}-{n}");
                        let body =
                            json!({"summary": summary, "priority": 3, "customer_id": customer_id});
                        log_one(&http, &edge, &token, &summary, &body, &seen).await;
                        next += every;
                        tokio::time::sleep_until(next.into()).await;
                    }
                })
            })
            .collect();
        Self {
            stop,
            clients,
            seen,
        }
    }

    /// Stops starting new incidents and waits for every started one to be
    /// acknowledged or given up.
    pub async fn finish(self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        for client in self.clients {
            client.await.expect("client");
        }
        std::mem::take(&mut *self.seen.lock().expect("seen"))
    }
}

/// Logs one incident, retrying with the same key until a 201.
async fn log_one(
    http: &reqwest::Client,
    edge: &Member,
    token: &str,
    summary: &str,
    body: &serde_json::Value,
    seen: &Mutex<Seen>,
) {
    let key = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    loop {
        if started.elapsed() > GIVE_UP {
            seen.lock()
                .expect("seen")
                .abandoned
                .push(summary.to_owned());
            return;
        }
        let Some(base) = edge.url() else {
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        };
        let answer = http
            .post(format!("{base}/api/v1/incidents"))
            .bearer_auth(token)
            .header("idempotency-key", &key)
            .json(body)
            .send()
            .await;
        let Ok(answer) = answer else {
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        };
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap_or_default();
        match status {
            201 => {
                let v: serde_json::Value = serde_json::from_str(&text).expect("incident");
                let field = |k: &str| v[k].as_str().expect("field").to_owned();
                seen.lock().expect("seen").acks.push(Ack {
                    summary: summary.to_owned(),
                    id: field("id"),
                    reference: field("reference"),
                    at: Instant::now(),
                });
                return;
            }
            429 | 502..=504 => tokio::time::sleep(RETRY_AFTER).await,
            500 => {
                seen.lock()
                    .expect("seen")
                    .server_errors
                    .push(format!("{summary}: {text}"));
                tokio::time::sleep(RETRY_AFTER).await;
            }
            _ => {
                seen.lock()
                    .expect("seen")
                    .refused
                    .push(format!("{summary}: {status} {text}"));
                return;
            }
        }
    }
}
