//! `/healthz`, `/readyz` and `/metrics`, served by every target, each
//! documented with its route (in the edge's document, under "Operations").

use std::collections::BTreeMap;
use std::sync::Arc;

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::{Json, Router};
use runtime::bus::Bus;
use runtime::store::Store;
use schemars::JsonSchema;
use serde::Serialize;

use crate::openapi::OPERATIONS;
use crate::openapi::declared::Declare;

/// What a target needs to be able to reach to do its work.
#[derive(Clone)]
pub struct Readiness {
    pub stores: Vec<(&'static str, Store)>,
    pub bus: Arc<dyn Bus>,
}

pub fn router(readiness: Readiness) -> Router {
    Router::from(routes()).with_state(readiness)
}

/// The routes, with their documentation.
pub fn routes() -> ApiRouter<Readiness> {
    ApiRouter::new()
        .api_route("/healthz", get_with(healthz, healthz_docs))
        .api_route("/readyz", get_with(readyz, readyz_docs))
        .api_route("/metrics", get_with(metrics, metrics_docs))
}

/// The process is up.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Health")]
struct Health {
    #[schemars(extend("const" = "ok"))]
    status: &'static str,
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

fn healthz_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getHealth",
        OPERATIONS,
        "Liveness",
        "Answers while the process serves requests; checks nothing else.",
    )
    .public()
    .response_with::<200, Json<Health>, _>(|r| r.description("Alive."))
}

/// Whether the target can reach what it needs.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Readiness")]
struct Ready {
    /// `ready`, or `not_ready` when a check is `unavailable`.
    #[schemars(extend("enum" = ["ready", "not_ready"]))]
    status: &'static str,
    /// One entry per dependency: `<name>_database` for each database the
    /// target uses, and `bus`; each `ok` or `unavailable`.
    #[schemars(extend("additionalProperties" = { "type": "string", "enum": ["ok", "unavailable"] }))]
    checks: BTreeMap<String, &'static str>,
}

fn state(ok: bool) -> &'static str {
    if ok { "ok" } else { "unavailable" }
}

async fn readyz(State(r): State<Readiness>) -> (StatusCode, Json<Ready>) {
    let mut checks = BTreeMap::new();
    for (name, store) in &r.stores {
        checks.insert(
            format!("{name}_database"),
            state(store.ping().await.is_ok()),
        );
    }
    checks.insert("bus".into(), state(r.bus.ready().await));
    let ready = checks.values().all(|c| *c == "ok");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let status_text = if ready { "ready" } else { "not_ready" };
    (
        status,
        Json(Ready {
            status: status_text,
            checks,
        }),
    )
}

fn readyz_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getReadiness",
        OPERATIONS,
        "Readiness",
        "Whether the target reaches its databases and the message bus.",
    )
    .public()
    .response_with::<200, Json<Ready>, _>(|r| r.description("Everything is reachable."))
    .response_with::<503, Json<Ready>, _>(|r| {
        r.description("Something is not reachable; `checks` says what.")
    })
}

/// The Prometheus text format's media type.
const PROMETHEUS: &str = "text/plain; version=0.0.4";

async fn metrics() -> ([(header::HeaderName, &'static str); 1], String) {
    (
        [(header::CONTENT_TYPE, PROMETHEUS)],
        runtime::metrics::render(),
    )
}

fn metrics_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getMetrics",
        OPERATIONS,
        "Metrics",
        "The target's metrics in the Prometheus text format.",
    )
    .public()
    .answers(
        200,
        serde_json::json!({
            "description": "The metrics.",
            "content": { PROMETHEUS: { "schema": { "type": "string" } } },
        }),
    )
}
