//! Rate limits: a source address that keeps sending bad tokens, and a token
//! that sends more than its budget, are answered 429 `rate_limited` with
//! `Retry-After` (the seconds left of the minute).
//!
//! Both count per minute, in fixed windows. Each edge replica counts here,
//! and every [`SHARE_EVERY`] adds what it counted to the edge's store and
//! reads back, for each subject it counted, what every replica counted; a
//! subject it meets for the first time in a minute it reads from the store
//! at once. So a limit holds across replicas, to within what they let
//! through in one sharing interval before they learn of each other's
//! counts, with no server beside the edge's database; and a busy token
//! costs one upsert a second, not one per request.
//!
//! Only requests that carry a token to an operation that takes one are
//! limited (a survey link is its own credential). An address over its
//! limit of failed authentications is refused before its token is even
//! looked up (guessing tokens costs the desk nothing more); that refuses
//! a person with a good token behind the same address too, until the
//! minute ends.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use runtime::store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::error::{ApiError, Code};

/// The length of a window, in seconds.
const WINDOW_SECONDS: i64 = 60;
/// How often a replica shares its counts.
pub const SHARE_EVERY: Duration = Duration::from_secs(1);
/// Bound on the subjects a replica holds; past it, it starts over (what it
/// shared stays in the store and is read back).
const MAX_SUBJECTS: usize = 100_000;

/// The limits of one desk, set by its operator; 0 is no limit.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failed authentications (401) one source address may have a minute.
    pub failed_auth_per_minute: u32,
    /// Requests one token may make a minute.
    pub requests_per_token_per_minute: u32,
    /// The source address is the last one of `X-Forwarded-For`, which the
    /// proxy in front of the edge adds, instead of the connection's peer
    /// (the proxy itself).
    pub forwarded_for: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            failed_auth_per_minute: 30,
            requests_per_token_per_minute: 60_000,
            forwarded_for: false,
        }
    }
}

/// A replica's counts, and its limits.
pub struct RateLimiter {
    pub limits: Limits,
    counts: Mutex<HashMap<String, Count>>,
}

/// One subject's count in one window.
#[derive(Debug, Clone, Copy)]
struct Count {
    window: i64,
    /// Counted here since the last sharing.
    here: u64,
    /// Every replica's count, as last read, with this replica's shared ones.
    seen: u64,
}

impl Count {
    fn total(self) -> u64 {
        self.seen + self.here
    }
}

/// `subject`'s count in `window`, started afresh if it was of another one.
fn slot<'c>(counts: &'c mut HashMap<String, Count>, subject: &str, window: i64) -> &'c mut Count {
    let fresh = Count {
        window,
        here: 0,
        seen: 0,
    };
    let count = counts.entry(subject.to_owned()).or_insert(fresh);
    if count.window != window {
        *count = fresh;
    }
    count
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy)]
enum Refused {
    FailedAuthentication,
    TokenBudget,
}

impl Refused {
    fn reason(self) -> &'static str {
        match self {
            Self::FailedAuthentication => "failed_authentication",
            Self::TokenBudget => "token_budget",
        }
    }
}

fn window_of(unix: i64) -> i64 {
    unix.div_euclid(WINDOW_SECONDS)
}

fn unix_now() -> i64 {
    runtime::store::now().unix_timestamp()
}

/// The seconds left of the window `unix` is in (at least 1).
fn left_of_window(unix: i64) -> i64 {
    (WINDOW_SECONDS - unix.rem_euclid(WINDOW_SECONDS)).max(1)
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            counts: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Count>> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `subject`'s count this window, if this replica has it.
    fn known(&self, subject: &str, window: i64) -> Option<Count> {
        self.lock()
            .get(subject)
            .copied()
            .filter(|c| c.window == window)
    }

    /// `subject`'s count this window: this replica's, or read from the
    /// store the first time the replica meets it in the window.
    async fn count(&self, store: &Store, subject: &str, window: i64) -> Result<Count, StoreError> {
        if let Some(count) = self.known(subject, window) {
            return Ok(count);
        }
        let used: Option<i64> = sqlx::query_scalar(
            "SELECT used FROM rate_counts WHERE subject = $1 AND window_start = $2",
        )
        .bind(subject)
        .bind(window)
        .fetch_optional(store.pool())
        .await?;
        let mut counts = self.lock();
        if counts.len() >= MAX_SUBJECTS {
            counts.clear();
        }
        let count = slot(&mut counts, subject, window);
        count.seen = count.seen.max(used.unwrap_or(0).unsigned_abs());
        Ok(*count)
    }

    /// Counts one for `subject` in `window`.
    fn add(&self, subject: &str, window: i64) {
        slot(&mut self.lock(), subject, window).here += 1;
    }

    /// Adds this replica's counts to the store's and reads back every
    /// replica's; forgets the windows that are over.
    pub async fn share(&self, store: &Store) -> Result<(), StoreError> {
        let current = window_of(unix_now());
        let taken: Vec<(String, i64, u64)> = {
            let mut counts = self.lock();
            counts.retain(|_, c| c.window >= current);
            counts
                .iter_mut()
                .filter(|(_, c)| c.here > 0)
                .map(|(subject, c)| {
                    let here = std::mem::take(&mut c.here);
                    c.seen += here;
                    (subject.clone(), c.window, here)
                })
                .collect()
        };
        // One transaction for all of them: one commit a second, however
        // many tokens are busy.
        let shared = Self::write(store, &taken).await;
        let totals = match shared {
            Ok(totals) => totals,
            Err(e) => {
                // Nothing was shared: counted here again, to share next time.
                let mut counts = self.lock();
                for (subject, window, here) in &taken {
                    if let Some(c) = counts.get_mut(subject)
                        && c.window == *window
                    {
                        c.here += here;
                        c.seen = c.seen.saturating_sub(*here);
                    }
                }
                return Err(e);
            }
        };
        {
            let mut counts = self.lock();
            for ((subject, window, _), used) in taken.iter().zip(totals) {
                if let Some(c) = counts.get_mut(subject)
                    && c.window == *window
                {
                    c.seen = c.seen.max(used.unsigned_abs());
                }
            }
        }
        sqlx::query("DELETE FROM rate_counts WHERE window_start < $1")
            .bind(current - 1)
            .execute(store.pool())
            .await?;
        Ok(())
    }
}

impl RateLimiter {
    /// Adds `taken` to the store's counts in one transaction; returns each
    /// subject's total of every replica.
    async fn write(store: &Store, taken: &[(String, i64, u64)]) -> Result<Vec<i64>, StoreError> {
        let mut tx = store.begin().await?;
        let mut totals = Vec::with_capacity(taken.len());
        for (subject, window, here) in taken {
            let used: i64 = sqlx::query_scalar(
                "INSERT INTO rate_counts (subject, window_start, used) VALUES ($1, $2, $3) \
                 ON CONFLICT (subject, window_start) DO UPDATE SET used = rate_counts.used + excluded.used \
                 RETURNING used",
            )
            .bind(subject)
            .bind(window)
            .bind(i64::try_from(*here).unwrap_or(i64::MAX))
            .fetch_one(&mut *tx)
            .await?;
            totals.push(used);
        }
        tx.commit().await?;
        Ok(totals)
    }
}

/// Shares the counts every [`SHARE_EVERY`] until `stop`.
pub async fn keep_sharing(state: AppState, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(SHARE_EVERY) => {}
        }
        if let Err(e) = state.limiter.share(&state.store).await {
            tracing::warn!(error = %e, "rate-limit counts could not be shared");
        }
    }
}

/// Where the request comes from: the connection's peer, or the address
/// the proxy in front added last to `X-Forwarded-For`.
fn address_of(req: &Request, forwarded_for: bool) -> Option<IpAddr> {
    if forwarded_for {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The operations that take a token, as (method, path): those the
/// document says may answer 401.
fn authenticated() -> &'static HashSet<(String, String)> {
    static AUTHENTICATED: OnceLock<HashSet<(String, String)>> = OnceLock::new();
    AUTHENTICATED
        .get_or_init(|| crate::openapi::operations_where(|op| op["responses"].get("401").is_some()))
}

/// The middleware: refuses a request whose address has failed too often or
/// whose token has spent its budget; counts what it lets through.
pub async fn limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let limits = state.limiter.limits;
    let operation = req
        .extensions()
        .get::<MatchedPath>()
        .map(|route| (req.method().as_str().to_owned(), route.as_str().to_owned()));
    let takes_token = operation.is_some_and(|op| authenticated().contains(&op));
    let digest = crate::auth::bearer(req.headers())
        .filter(|_| takes_token)
        .map(crate::auth::digest);
    let Some(digest) = digest else {
        return next.run(req).await;
    };
    let token = format!("token:{digest}");
    req.extensions_mut().insert(crate::auth::Digested(digest));
    let address = address_of(&req, limits.forwarded_for).map(|a| format!("address:{a}"));
    let at = unix_now();
    let window = window_of(at);
    let refused = match check(&state, address.as_deref(), &token, window).await {
        Ok(refused) => refused,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Some(refused) = refused {
        return too_many(refused, left_of_window(at));
    }
    let response = next.run(req).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        if let Some(address) = &address
            && limits.failed_auth_per_minute > 0
        {
            state.limiter.add(address, window);
        }
    } else if limits.requests_per_token_per_minute > 0 {
        state.limiter.add(&token, window);
    }
    response
}

async fn check(
    state: &AppState,
    address: Option<&str>,
    token: &str,
    window: i64,
) -> Result<Option<Refused>, StoreError> {
    let limits = state.limiter.limits;
    if let Some(address) = address
        && limits.failed_auth_per_minute > 0
    {
        let failed = state.limiter.count(&state.store, address, window).await?;
        if failed.total() >= u64::from(limits.failed_auth_per_minute) {
            return Ok(Some(Refused::FailedAuthentication));
        }
    }
    if limits.requests_per_token_per_minute > 0 {
        let used = state.limiter.count(&state.store, token, window).await?;
        if used.total() >= u64::from(limits.requests_per_token_per_minute) {
            return Ok(Some(Refused::TokenBudget));
        }
    }
    Ok(None)
}

/// The 429: the JSON error, with how long to wait in `Retry-After` and in
/// `details`.
fn too_many(refused: Refused, retry_after: i64) -> Response {
    metrics::counter!("http_rate_limited_total", "reason" => refused.reason()).increment(1);
    let message = match refused {
        Refused::FailedAuthentication => format!(
            "too many failed authentications from this address; try again in {retry_after} seconds"
        ),
        Refused::TokenBudget => format!(
            "this token has made all the requests it may this minute; try again in {retry_after} seconds"
        ),
    };
    let mut error = ApiError::new(Code::RateLimited, message);
    error.details = Some(serde_json::json!({
        "reason": refused.reason(),
        "retry_after": retry_after,
    }));
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_a_minute_and_retry_after_is_what_is_left_of_it() {
        assert_eq!(window_of(0), 0);
        assert_eq!(window_of(59), 0);
        assert_eq!(window_of(60), 1);
        assert_eq!(window_of(-1), -1);
        assert_eq!(left_of_window(120), 60);
        assert_eq!(left_of_window(179), 1);
    }

    #[test]
    fn counts_start_over_each_window() {
        let limiter = RateLimiter::new(Limits::default());
        limiter.add("s", 5);
        limiter.add("s", 5);
        assert_eq!(limiter.known("s", 5).map(Count::total), Some(2));
        assert!(limiter.known("s", 6).is_none());
        limiter.add("s", 6);
        assert_eq!(limiter.known("s", 6).map(Count::total), Some(1));
    }

    #[tokio::test]
    async fn replicas_share_their_counts_through_the_store() {
        let dir = runtime::testing::TempDir::new();
        let store = Store::open_sqlite(&dir.path().join("edge.db"))
            .await
            .expect("store");
        crate::migrate(&store).await.expect("migrated");
        let one = RateLimiter::new(Limits::default());
        let two = RateLimiter::new(Limits::default());
        let window = window_of(unix_now());
        for _ in 0..3 {
            one.add("token:a", window);
        }
        one.share(&store).await.expect("shared");
        // The other replica meets the token for the first time: it reads
        // what the first shared.
        let seen = two.count(&store, "token:a", window).await.expect("read");
        assert_eq!(seen.total(), 3);
        two.add("token:a", window);
        two.share(&store).await.expect("shared");
        one.add("token:a", window);
        one.share(&store).await.expect("shared");
        assert_eq!(one.known("token:a", window).map(Count::total), Some(5));
    }
}
