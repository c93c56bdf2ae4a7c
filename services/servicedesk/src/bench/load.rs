//! The HTTP load: incidents created through the edge by concurrent clients,
//! either as fast as they go or at a fixed rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

/// Throughput and latency of one run.
pub struct Stats {
    pub count: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Stats {
    /// `latencies` in seconds, `elapsed` for the whole run.
    pub fn new(mut latencies: Vec<f64>, errors: usize, elapsed: Duration) -> Self {
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i] * 1000.0
        };
        Self {
            count: latencies.len(),
            errors,
            per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
        }
    }

    pub fn line(&self) -> String {
        let errors = if self.errors > 0 {
            format!(", {} errors", self.errors)
        } else {
            String::new()
        };
        format!(
            "{:.0}/s (n={}), p50 {:.2} ms, p99 {:.2} ms{errors}",
            self.per_second, self.count, self.p50_ms, self.p99_ms
        )
    }
}

/// Creates `count` incidents with `clients` concurrent clients; with `rate`
/// (per second) each request is sent at its scheduled time and its latency
/// counts from then, so a stall is not hidden by the requests it delays.
pub async fn create_incidents(
    base: &str,
    token: &str,
    count: usize,
    clients: usize,
    rate: Option<f64>,
) -> anyhow::Result<Stats> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let url = format!("{base}/api/v1/incidents");
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (http, url, token, next) = (http.clone(), url.clone(), token.to_owned(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let scheduled = match rate {
                    Some(r) => {
                        let at = start + Duration::from_secs_f64(i as f64 / r);
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                let body = serde_json::json!({
                    "summary": format!("bench incident {i}"),
                    "description": "created by servicedesk bench",
                    "priority": 1 + (i % 5),
                });
                let sent = http.post(&url).bearer_auth(&token).json(&body).send().await;
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => {
                        latencies.push(scheduled.elapsed().as_secs_f64())
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.context("load client")?;
        latencies.extend(l);
        errors += e;
    }
    Ok(Stats::new(latencies, errors, start.elapsed()))
}
