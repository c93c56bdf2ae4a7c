//! API tokens and who is calling.
//!
//! A token is 32 random bytes shown once as `sd_<64 hex>`; the store keeps
//! only its SHA-256. Checking one is a digest and an indexed lookup: a token
//! is a high-entropy secret, so it needs no slow password hash (which would
//! cost every API call hundreds of milliseconds).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use contracts::{Actor, Role};
use rand::RngExt;
use runtime::store::{Store, StoreError, from_micros, id_at, micros};
use sha2::{Digest, Sha256};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::error::{ApiError, Code};

/// The caller of a request: their tenant and who they are in it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: Uuid,
    pub actor: Actor,
}

impl Principal {
    pub fn role(&self) -> Role {
        self.actor.role
    }

    /// Refuses with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.actor.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

pub const STAFF: &[Role] = &[Role::Admin, Role::Agent, Role::Integration];

/// A caller who must be an admin; extracted before the body, so a caller
/// without the role hears 403 whatever they sent.
pub struct Admin(pub Principal);

/// A caller who must be staff (admin, agent or integration), not a customer.
pub struct Staff(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let who = Principal::from_request_parts(parts, state).await?;
        who.require(&[Role::Admin])?;
        Ok(Self(who))
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let who = Principal::from_request_parts(parts, state).await?;
        who.require(STAFF)?;
        Ok(Self(who))
    }
}

/// The token of `Authorization: Bearer <token>`, if sent.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    // The scheme is case-insensitive (RFC 9110).
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// A request's token as [`digest`]ed once, for who reads it after.
#[derive(Debug, Clone)]
pub struct Digested(pub String);

pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Every token: `sd_` and 64 lowercase hex digits.
pub const TOKEN_PATTERN: &str = "^sd_[0-9a-f]{64}$";

fn new_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("sd_{}", hex::encode(bytes))
}

/// A new token; returns its id and the token itself (shown only now).
pub struct Issued {
    pub id: Uuid,
    pub token: String,
}

pub struct TokenFor<'a> {
    pub tenant_id: Uuid,
    pub role: Role,
    pub principal_id: Uuid,
    pub principal_name: &'a str,
    pub name: &'a str,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
}

pub async fn issue(conn: &mut sqlx::AnyConnection, t: TokenFor<'_>) -> Result<Issued, StoreError> {
    let issued = Issued {
        id: Uuid::now_v7(),
        token: new_token(),
    };
    sqlx::query(
        "INSERT INTO api_tokens (token_hash, id, tenant_id, role, principal_id, principal_name, name, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(digest(&issued.token))
    .bind(issued.id.to_string())
    .bind(t.tenant_id.to_string())
    .bind(t.role.as_str())
    .bind(t.principal_id.to_string())
    .bind(t.principal_name)
    .bind(t.name)
    .bind(micros(OffsetDateTime::now_utc()))
    .bind(t.expires_at.map(micros))
    .execute(conn)
    .await?;
    Ok(issued)
}

/// Creates a tenant and its first admin token.
pub async fn create_tenant(store: &Store, name: &str) -> Result<(Uuid, Issued), StoreError> {
    let tenant_id = Uuid::now_v7();
    let mut tx = store.begin().await?;
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(tenant_id.to_string())
        .bind(name)
        .bind(micros(OffsetDateTime::now_utc()))
        .execute(&mut *tx)
        .await?;
    let admin = TokenFor {
        tenant_id,
        role: Role::Admin,
        principal_id: tenant_id,
        principal_name: "admin",
        name: "first admin token",
        expires_at: None,
    };
    let issued = issue(&mut tx, admin).await?;
    tx.commit().await?;
    Ok((tenant_id, issued))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            ApiError::new(Code::Unauthorized, "send Authorization: Bearer <token>")
        })?;
        // The rate limiter digested it already, on a route that limits.
        let digest = match parts.extensions.get::<Digested>() {
            Some(Digested(d)) => d.clone(),
            None => digest(token),
        };
        if let Some(principal) = state.tokens.get(&digest) {
            record(&principal);
            return Ok(principal);
        }
        // A token works until it is revoked or expires, and while the
        // agent or customer it acts as is active.
        let read_at = state.tokens.generation();
        let row = sqlx::query(
            "SELECT tenant_id, role, principal_id, principal_name, expires_at FROM api_tokens t \
             WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
             AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.id = t.principal_id \
                             AND a.deactivated_at IS NOT NULL) \
             AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = t.principal_id \
                             AND c.deactivated_at IS NOT NULL)",
        )
        .bind(&digest)
        .bind(micros(OffsetDateTime::now_utc()))
        .fetch_optional(state.store.pool())
        .await?;
        let row = row.ok_or_else(|| {
            ApiError::new(
                Code::Unauthorized,
                "unknown, revoked or expired token, or its agent or customer is deactivated",
            )
        })?;
        let expires_at: Option<i64> = row.try_get("expires_at")?;
        let role: String = row.try_get("role")?;
        let principal = Principal {
            tenant_id: id_at(&row, "tenant_id")?,
            actor: Actor {
                role: Role::parse(&role)
                    .ok_or_else(|| ApiError::internal(&format!("stored role {role}")))?,
                id: id_at(&row, "principal_id")?,
                name: row.try_get("principal_name")?,
            },
        };
        state
            .tokens
            .put(digest, &principal, expires_at.map(from_micros), read_at);
        record(&principal);
        Ok(principal)
    }
}

/// Names the caller on the request's span.
fn record(principal: &Principal) {
    let span = tracing::Span::current();
    span.record("tenant", tracing::field::display(principal.tenant_id));
    span.record("role", principal.actor.role.as_str());
}

/// How long a token checked against the store is trusted without asking
/// again: a token revoked (or its person deactivated) through another edge
/// replica stops working within this time; through this one, at once (the
/// cache is emptied). An expiry is kept to the moment.
const TOKEN_TTL: Duration = Duration::from_secs(10);
/// Bound on the cache; past it the cache starts over.
const MAX_CACHED: usize = 100_000;

/// Tokens recently found valid, by digest, so a busy client costs a digest
/// per request instead of a database read.
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, Cached>>,
    /// How many times the cache was emptied: a lookup that began before
    /// the last emptying does not put what it read (it may have read a
    /// token just revoked).
    cleared: std::sync::atomic::AtomicU64,
}

/// A token found valid: who it is, when, and when it expires.
struct Cached {
    principal: Principal,
    at: Instant,
    expires_at: Option<OffsetDateTime>,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, digest: &str) -> Option<Principal> {
        let entries = self.lock();
        let cached = entries.get(digest)?;
        let fresh = cached.at.elapsed() < TOKEN_TTL
            && cached
                .expires_at
                .is_none_or(|at| at > OffsetDateTime::now_utc());
        fresh.then(|| cached.principal.clone())
    }

    /// Where the cache stands, for a lookup about to read the store.
    fn generation(&self) -> u64 {
        self.cleared.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn put(
        &self,
        digest: String,
        principal: &Principal,
        expires_at: Option<OffsetDateTime>,
        read_at: u64,
    ) {
        let mut entries = self.lock();
        if self.generation() != read_at {
            return;
        }
        if entries.len() >= MAX_CACHED {
            entries.clear();
        }
        let cached = Cached {
            principal: principal.clone(),
            at: Instant::now(),
            expires_at,
        };
        entries.insert(digest, cached);
    }

    /// Forgets every token: one was revoked, or a person deactivated, and
    /// must stop working at once.
    pub fn clear(&self) {
        let mut entries = self.lock();
        self.cleared
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        entries.clear();
    }
}
