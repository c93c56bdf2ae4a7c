//! An `Idempotency-Key` sent again with another request is refused (422
//! `idempotency_key_reused`, as the IETF's Idempotency-Key draft says),
//! not answered with the first request's result nor done as a new one.
//!
//! The services make a retry harmless: the edge gives a request sent under
//! a key a message id made from the key and the command
//! ([`crate::incidents::call_for`]), and each service answers a message id
//! it has seen from its inbox. What they cannot tell is a key used again
//! for something else, since that is another message id; so the edge
//! remembers, in its store (shared by its replicas), what each key was
//! first sent with.

use axum::body::{Body, Bytes};
use std::collections::HashSet;
use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use runtime::store::{micros, now};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, Code};
use crate::{AppState, BODY_LIMIT};

/// How long a key stays its caller's after a request under it succeeded.
pub const KEPT_FOR: time::Duration = time::Duration::hours(24);

/// The middleware: a request with a key is let through if the key is new,
/// or was sent with this same request before; the key is kept if the
/// request succeeded, and let go if it failed (a refused body may be
/// corrected and sent again under its key).
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(key) = key_of(&req) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::new(Code::PayloadTooLarge, "request body too large").into_response();
        }
    };
    let owner = owner(&parts);
    let fingerprint = fingerprint(&parts, &bytes);
    let taken = match claim(&state, &owner, &key, &fingerprint).await {
        Ok(taken) => taken,
        Err(e) => return e.into_response(),
    };
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if let Some(claimed_at) = taken
        && !response.status().is_success()
    {
        // Nothing was done: a 4xx refused it, and a command the desk could
        // not answer in time (503) is never carried out afterwards. Only
        // this request's own claim is let go (a twin that succeeded in the
        // meantime keeps the key).
        if let Err(e) = release(&state, &owner, &key, &fingerprint, claimed_at).await {
            tracing::warn!(error = %e, "an idempotency key could not be let go");
        }
    } else if taken.is_none() && response.status().is_success() {
        // A retry that succeeded keeps the key even if the first try, still
        // running, fails after it: the claim is this request's now.
        if let Err(e) = renew(&state, &owner, &key, &fingerprint).await {
            tracing::warn!(error = %e, "an idempotency key could not be renewed");
        }
    }
    response
}

/// The operations the document says take an `Idempotency-Key`, as
/// (method, path): `("POST", "/api/v1/incidents")`.
fn keyed() -> &'static HashSet<(String, String)> {
    static KEYED: OnceLock<HashSet<(String, String)>> = OnceLock::new();
    KEYED.get_or_init(|| {
        crate::openapi::operations_where(|op| {
            op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"))
        })
    })
}

/// The key of a request to an operation that takes one (the document
/// says which: those that create or do something); uploads and the mail
/// gateway's messages are not made idempotent by a key (the mail gateway
/// has the Message-ID), nor is a method a route does not take (405).
fn key_of(req: &Request) -> Option<String> {
    let route = req.extensions().get::<MatchedPath>()?.as_str().to_owned();
    if !keyed().contains(&(req.method().as_str().to_owned(), route)) {
        return None;
    }
    let key = req.headers().get("idempotency-key")?.to_str().ok()?;
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_none_or(|n| n <= BODY_LIMIT);
    // A key the handler refuses as malformed is its to refuse.
    (json && small && (1..=200).contains(&key.len())).then(|| key.to_owned())
}

/// Whose the key is: a digest of the credentials sent (a token), or of
/// the path for a caller without any (a survey link's token is in it).
fn owner(parts: &axum::http::request::Parts) -> String {
    let credentials = parts
        .headers
        .get(header::AUTHORIZATION)
        .map_or_else(|| parts.uri.path().as_bytes(), |v| v.as_bytes());
    hex(&Sha256::digest(credentials))
}

fn fingerprint(parts: &axum::http::request::Parts, body: &Bytes) -> String {
    let digest = Sha256::new()
        .chain_update(parts.method.as_str())
        .chain_update([0])
        .chain_update(parts.uri.path())
        .chain_update([0])
        .chain_update(parts.uri.query().unwrap_or_default())
        .chain_update([0])
        .chain_update(body)
        .finalize();
    hex(&digest)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Takes `key` for this request: when, if this request took it now; none
/// if the same request took it before; the 422 if another did.
async fn claim(
    state: &AppState,
    owner: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Option<i64>, ApiError> {
    let pool = state.store.pool();
    let at = now();
    let taken = sqlx::query(
        "INSERT INTO idempotency_keys (owner, idempotency_key, fingerprint, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (owner, idempotency_key) DO NOTHING",
    )
    .bind(owner)
    .bind(key)
    .bind(fingerprint)
    .bind(micros(at))
    .execute(pool)
    .await
    .map_err(ApiError::from)?;
    if taken.rows_affected() == 1 {
        return Ok(Some(micros(at)));
    }
    // Taken before: by this request, by another, or so long ago it is
    // free again (then this request takes it over).
    let renewed = sqlx::query(
        "UPDATE idempotency_keys SET fingerprint = $3, created_at = $4 \
         WHERE owner = $1 AND idempotency_key = $2 AND created_at < $5",
    )
    .bind(owner)
    .bind(key)
    .bind(fingerprint)
    .bind(micros(at))
    .bind(micros(at - KEPT_FOR))
    .execute(pool)
    .await
    .map_err(ApiError::from)?;
    if renewed.rows_affected() == 1 {
        return Ok(Some(micros(at)));
    }
    let first: Option<String> = sqlx::query_scalar(
        "SELECT fingerprint FROM idempotency_keys WHERE owner = $1 AND idempotency_key = $2",
    )
    .bind(owner)
    .bind(key)
    .fetch_optional(pool)
    .await
    .map_err(ApiError::from)?;
    match first {
        Some(first) if first != fingerprint => Err(ApiError::new(
            Code::IdempotencyKeyReused,
            "this Idempotency-Key was sent before with another request: use a new key for a new \
             request",
        )),
        Some(_) => Ok(None),
        // Let go in between (that request failed): this one may take it.
        None => Box::pin(claim(state, owner, key, fingerprint)).await,
    }
}

async fn release(
    state: &AppState,
    owner: &str,
    key: &str,
    fingerprint: &str,
    claimed_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE owner = $1 AND idempotency_key = $2 \
         AND fingerprint = $3 AND created_at = $4",
    )
    .bind(owner)
    .bind(key)
    .bind(fingerprint)
    .bind(claimed_at)
    .execute(state.store.pool())
    .await?;
    Ok(())
}

async fn renew(
    state: &AppState,
    owner: &str,
    key: &str,
    fingerprint: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET created_at = $4 WHERE owner = $1 AND idempotency_key = $2 \
         AND fingerprint = $3",
    )
    .bind(owner)
    .bind(key)
    .bind(fingerprint)
    .bind(micros(now()))
    .execute(state.store.pool())
    .await?;
    Ok(())
}

/// Forgets the keys kept longer than [`KEPT_FOR`], every `every`, until
/// `stop`.
pub async fn forget_old_keys(
    store: runtime::store::Store,
    every: std::time::Duration,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        let old = micros(now() - KEPT_FOR);
        if let Err(e) = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(old)
            .execute(store.pool())
            .await
        {
            tracing::warn!(error = %e, "old idempotency keys could not be forgotten");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
