//! `/healthz`, `/readyz` and `/metrics`, served by every target.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::{Json, Router, routing::get};
use runtime::bus::Bus;
use runtime::store::Store;

/// What a target needs to be able to reach to do its work.
#[derive(Clone)]
pub struct Readiness {
    pub stores: Vec<(&'static str, Store)>,
    pub bus: Arc<dyn Bus>,
}

pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(readiness)
}

async fn readyz(State(r): State<Readiness>) -> impl IntoResponse {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    for (name, store) in &r.stores {
        let ok = store.ping().await.is_ok();
        ready &= ok;
        checks.insert(
            format!("{name}_database"),
            if ok { "ok" } else { "unavailable" }.into(),
        );
    }
    let bus_ok = r.bus.ready().await;
    ready &= bus_ok;
    checks.insert(
        "bus".into(),
        if bus_ok { "ok" } else { "unavailable" }.into(),
    );
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks });
    (status, Json(body))
}

async fn metrics() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        runtime::metrics::render(),
    )
}
