//! The HTTP edge: the REST API under `/api/v1`, authentication, tenants and
//! their directory, and the operational endpoints.
//!
//! # Layout
//! - [`attachments`]: files on tickets and actions, kept in the edge's store.
//! - [`auth`]: API tokens (stored as SHA-256) and the [`auth::Principal`] extractor.
//! - [`directory`]: companies, customers, teams, agents, tokens (the edge's own store).
//! - [`incidents`]: `/api/v1/incidents`, forwarded to ticketing over the bus.
//! - [`inputs`]: request bodies mirroring wire types, refusing unknown fields.
//! - [`knowledge`]: export to the public knowledge base, and its articles.
//! - [`notifications`]: email settings, templates and previews, the emails
//!   sent about a ticket, and the mail gateway's door.
//! - [`reports`]: the KPI reports as JSON, CSV and SVG.
//! - [`served`]: how answers that are not JSON go out.
//! - [`slas`]: calendars, SLAs and SLA rules, forwarded to escalation.
//! - [`suppliers`]: the suppliers incidents can be handed to.
//! - [`tickets`]: problems, changes, service requests, links and extended
//!   data, forwarded likewise.
//! - [`openapi`]: the OpenAPI document at `/api/v1/openapi.json`,
//!   generated from the routes ([`openapi::declared`]: a route's docs
//!   function beside its handler, its roles from its extractors, its
//!   schemas from its types). Every operation names the roles that may call
//!   it (`x-roles`).
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics` (every target serves these).
//! - [`error`], [`extract`]: JSON errors with stable codes; extractors that
//!   produce them (a body is a JSON object with no field its type lacks).
//! - [`idempotency`]: an `Idempotency-Key` sent again with another request
//!   is refused.
//! - [`limits`]: rate limits on failed authentication (per source address)
//!   and on each token's requests.
//! - [`trace`]: the trace each request belongs to.
//! - [`unread`]: what a handler left of a request body is read, so the
//!   answer reaches the client.

pub mod attachments;
pub mod auth;
pub mod directory;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod incidents;
pub mod inputs;
pub mod knowledge;
pub mod limits;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod reports;
pub mod served;
pub mod slas;
pub mod suppliers;
pub mod tickets;
pub mod trace;
pub mod unread;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use runtime::bus::Bus;
use runtime::store::{Migration, Store, StoreError};
use tracing::Instrument;

use crate::error::{ApiError, Code};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "directory",
        sql: include_str!("../../../migrations/edge/0001_directory.sql"),
    },
    Migration {
        version: 2,
        name: "attachments",
        sql: include_str!("../../../migrations/edge/0002_attachments.sql"),
    },
    Migration {
        version: 3,
        name: "company_senders",
        sql: include_str!("../../../migrations/edge/0003_company_senders.sql"),
    },
    Migration {
        version: 4,
        name: "jobs",
        sql: include_str!("../../../migrations/edge/0004_jobs.sql"),
    },
    Migration {
        version: 5,
        name: "idempotency_keys",
        sql: include_str!("../../../migrations/edge/0005_idempotency_keys.sql"),
    },
    Migration {
        version: 6,
        name: "directory_keys",
        sql: include_str!("../../../migrations/edge/0006_directory_keys.sql"),
    },
    Migration {
        version: 7,
        name: "access",
        sql: include_str!("../../../migrations/edge/0007_access.sql"),
    },
    Migration {
        version: 8,
        name: "rate_limits",
        sql: include_str!("../../../migrations/edge/0008_rate_limits.sql"),
    },
];

/// Largest request body accepted; larger answers 413. A body within every
/// field's own limit is never refused by this one: a change's five texts of
/// `MAX_TEXT` (100,000) characters, each written as a six-byte JSON escape,
/// come to 3 MB.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub bus: Arc<dyn Bus>,
    /// How long a request waits for the service behind it.
    pub request_timeout: Duration,
    pub tokens: Arc<auth::TokenCache>,
    /// Publishes what the edge announces (its directory) after commit.
    pub relay: runtime::outbox::Relay,
    /// What this replica counted against the desk's rate limits.
    pub limiter: Arc<limits::RateLimiter>,
}

/// A running edge: its state (what every handler reads) and its tasks
/// (the relay of its outbox).
pub struct Edge {
    pub state: AppState,
    /// Its tasks: stop it with `running.stop()`, after the HTTP server.
    pub running: runtime::service::Running,
}

impl Edge {
    /// Migrates the edge's store and starts relaying what it announces.
    /// Requests wait `request_timeout` for the service behind them, and are
    /// held to `limits`.
    pub async fn start(
        store: Store,
        bus: Arc<dyn Bus>,
        request_timeout: Duration,
        limits: limits::Limits,
        stop: &tokio_util::sync::CancellationToken,
    ) -> Result<Self, StoreError> {
        migrate(&store).await?;
        let mut running = runtime::service::Running::new("edge", stop);
        let relay = runtime::outbox::Relay::new(store.clone(), bus.clone());
        running.spawn(
            "idempotency keys",
            idempotency::forget_old_keys(store.clone(), Duration::from_secs(600), running.token()),
        );
        running.relay(&relay);
        let state = AppState {
            store,
            bus,
            request_timeout,
            tokens: Arc::default(),
            relay,
            limiter: Arc::new(limits::RateLimiter::new(limits)),
        };
        running.spawn(
            "rate-limit counts",
            limits::keep_sharing(state.clone(), running.token()),
        );
        Ok(Self { state, running })
    }
}

/// Applies the edge's migrations (and the outbox it announces through),
/// then announces the directory that existed before the edge announced
/// each change, once.
pub async fn migrate(store: &Store) -> Result<(), StoreError> {
    store.migrate("runtime", runtime::MIGRATIONS).await?;
    store.migrate("edge", MIGRATIONS).await?;
    directory::announce_existing(store).await?;
    Ok(())
}

/// The whole HTTP surface of the edge target.
pub fn router(state: AppState, readiness: ops::Readiness) -> Router {
    // Every route is one the document declares: the API's here, and the
    // operational endpoints' in `ops::router`.
    let api = Router::from(openapi::declared::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // On the routes' own methods only: a method a route does not take
        // is answered 405 whatever key it carries.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::guard,
        ))
        // Before anything else reads the request.
        .route_layer(middleware::from_fn_with_state(state.clone(), limits::limit))
        .with_state(state);
    layered(
        Router::new()
            .nest("/api/v1", api)
            .merge(ops::router(readiness)),
    )
}

/// `routes` with what every answer goes through: JSON errors for unknown
/// routes and methods, a caught panic, [`track`], and the rest of the body
/// read ([`unread`]).
fn layered(routes: Router) -> Router {
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Inside `track`, so a panic's 500 is counted, logged and names
        // the request's trace like any other.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |panic: Box<dyn std::any::Any + Send>| {
                ApiError::internal(&panic_text(panic.as_ref())).into_response()
            },
        ))
        .layer(middleware::from_fn(track))
        .layer(middleware::from_fn(unread::drained))
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("a handler panicked: {text}")
}

async fn not_found() -> ApiError {
    ApiError::new(Code::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        Code::MethodNotAllowed,
        "method not allowed on this endpoint",
    )
}

/// One span, one trace and one set of metrics per request, labelled by
/// route (the matched pattern, so ids do not explode the label space). An
/// internal error is logged here with its cause, once.
async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let span = tracing::info_span!(
        "request",
        %method,
        route = %route,
        tenant = tracing::field::Empty,
        role = tracing::field::Empty,
        status = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    if let Some(tp) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        runtime::telemetry::continue_trace(&span, tp);
    }
    let traceparent = trace::for_request(&span, req.headers());
    if let Some(id) = runtime::telemetry::trace_id(&traceparent) {
        span.record("trace_id", id);
    }
    let started = Instant::now();
    let mut response = trace::within(traceparent, next.run(req).instrument(span.clone())).await;
    // JSON (and everything else) is read as what it says it is.
    response
        .headers_mut()
        .entry(axum::http::header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(axum::http::HeaderValue::from_static("nosniff"));
    let status = response.status().as_u16();
    span.record("status", status);
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed);
    if let Some(error::InternalCause(cause)) = response.extensions().get() {
        tracing::error!(parent: &span, status, error = %cause, "internal error");
    } else if response.status().is_server_error() {
        tracing::warn!(parent: &span, status, "request failed");
    }
    response
}

/// Serves `router` on `listener` until `stop`, then finishes open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    stop: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    // Each request knows its peer's address, for the rate limits.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn answer(
        uri: &str,
        traceparent: Option<&str>,
    ) -> (StatusCode, Response, serde_json::Value) {
        let routes = Router::new()
            .route(
                "/broken",
                get(|| async { ApiError::internal(&"the disk is on fire") }),
            )
            .route(
                "/panics",
                get(|| async {
                    if true {
                        panic!("a bug");
                    }
                    "unreachable"
                }),
            )
            .route(
                "/things/{id}",
                get(|crate::extract::Path(id): crate::extract::Path<String>| async move { id }),
            );
        let mut req = Request::get(uri);
        if let Some(tp) = traceparent {
            req = req.header("traceparent", tp);
        }
        let response = layered(routes)
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("answered");
        let status = response.status();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, Response::from_parts(parts, Body::empty()), json)
    }

    #[tokio::test]
    async fn an_internal_error_names_the_trace_and_hides_its_cause() {
        let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let (status, response, body) = answer("/broken", Some(caller)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "internal");
        assert_eq!(
            body["details"]["trace_id"],
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(!body.to_string().contains("fire"), "{body}");
        // The middleware has the cause, to log it.
        let cause = response.extensions().get::<error::InternalCause>();
        assert_eq!(cause.map(|c| c.0.as_str()), Some("the disk is on fire"));

        // Without a caller's trace, a new one.
        let (_, _, body) = answer("/broken", None).await;
        let id = body["details"]["trace_id"].as_str().expect("a trace id");
        assert_eq!(id.len(), 32);
    }

    #[tokio::test]
    async fn a_panic_is_a_json_500_with_the_trace() {
        let (status, _, body) = answer("/panics", None).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "internal");
        assert!(body["details"]["trace_id"].is_string(), "{body}");
    }

    #[tokio::test]
    async fn a_path_that_is_not_utf8_is_a_json_400() {
        let (status, response, body) = answer("/things/%FF%FE", None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "validation_failed", "{body}");
        assert_eq!(response.headers()["content-type"], "application/json",);
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let (status, _, body) = answer("/nowhere", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "not_found");
    }
}
