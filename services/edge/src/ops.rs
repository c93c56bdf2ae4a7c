//! `/healthz`, `/readyz` and `/metrics`, served by every target, each
//! documented with its route (in the edge's document, under "Operations").
//!
//! Readiness says whether the target reaches its databases and the bus
//! now: a load balancer stops sending it work while it does not. Liveness
//! says whether it should be restarted: it fails once the bus has been out
//! of reach for longer than a bound ([`Liveness`]), so a process that
//! cannot reconnect by itself is restarted by its orchestrator instead of
//! staying alive and disconnected.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    pub liveness: Liveness,
}

impl Readiness {
    /// `stores` and `bus`, with the bus watched for liveness: out of reach
    /// for longer than `bound`, the target is not alive.
    pub fn new(stores: Vec<(&'static str, Store)>, bus: Arc<dyn Bus>, bound: Duration) -> Self {
        let liveness = Liveness::watch(bus.clone(), bound, Duration::from_secs(1));
        Self {
            stores,
            bus,
            liveness,
        }
    }
}

/// Since when the bus has been out of reach, sampled by a task of its own
/// (so the answer does not depend on how often `/healthz` is asked).
#[derive(Clone)]
pub struct Liveness {
    unreachable_since: Arc<Mutex<Option<Instant>>>,
    bound: Duration,
}

impl Liveness {
    /// Samples `bus` every `every`, for as long as the process runs.
    pub fn watch(bus: Arc<dyn Bus>, bound: Duration, every: Duration) -> Self {
        let unreachable_since = Arc::new(Mutex::new(None));
        let since = unreachable_since.clone();
        tokio::spawn(async move {
            loop {
                let reachable = bus.ready().await;
                {
                    let mut since = since.lock().unwrap_or_else(|e| e.into_inner());
                    match (reachable, *since) {
                        (true, _) => *since = None,
                        (false, None) => *since = Some(Instant::now()),
                        (false, Some(_)) => {}
                    }
                }
                tokio::time::sleep(every).await;
            }
        });
        Self {
            unreachable_since,
            bound,
        }
    }

    /// How long the bus has been out of reach, once that is past the bound.
    fn dead_for(&self) -> Option<Duration> {
        let since = *self
            .unreachable_since
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        since.map(|s| s.elapsed()).filter(|out| *out > self.bound)
    }
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

/// Whether the process is alive.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Health")]
struct Health {
    /// `ok`, or `bus_unreachable` when the bus has been out of reach for
    /// longer than the target's bound.
    #[schemars(extend("enum" = ["ok", "bus_unreachable"]))]
    status: &'static str,
    /// With `bus_unreachable`: for how many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    unreachable_seconds: Option<u64>,
}

async fn healthz(State(r): State<Readiness>) -> (StatusCode, Json<Health>) {
    match r.liveness.dead_for() {
        None => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                unreachable_seconds: None,
            }),
        ),
        Some(out) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "bus_unreachable",
                unreachable_seconds: Some(out.as_secs()),
            }),
        ),
    }
}

fn healthz_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getHealth",
        OPERATIONS,
        "Liveness",
        "Whether the process should go on running: it answers 503 once the message bus has been out \
         of reach for longer than the target's bound (`--liveness-bus-bound`), so an orchestrator \
         restarts a process that cannot reconnect by itself. Databases are readiness's: a process \
         that cannot reach its database waits for it.",
    )
    .public()
    .response_with::<200, Json<Health>, _>(|r| r.description("Alive."))
    .response_with::<503, Json<Health>, _>(|r| {
        r.description("The bus has been out of reach for too long: restart the process.")
    })
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use async_trait::async_trait;
    use axum::body::Body;
    use axum::http::Request;
    use contracts::Envelope;
    use runtime::bus::{BusError, Handler, QueueSpec};
    use tokio::task::JoinHandle;
    use tokio_util::sync::CancellationToken;
    use tower::ServiceExt;

    use super::*;

    /// A bus whose reach a test switches; it carries nothing.
    #[derive(Default)]
    struct Switched(AtomicBool);

    #[async_trait]
    impl Bus for Switched {
        async fn publish(&self, _: &str, _: &Envelope) -> Result<(), BusError> {
            unreachable!("liveness only asks whether the bus is ready")
        }
        async fn request(&self, _: &str, _: &Envelope, _: Duration) -> Result<Envelope, BusError> {
            unreachable!("liveness only asks whether the bus is ready")
        }
        async fn declare(&self, _: &QueueSpec) -> Result<(), BusError> {
            unreachable!("liveness only asks whether the bus is ready")
        }
        async fn consume(
            &self,
            _: QueueSpec,
            _: Arc<dyn Handler>,
            _: CancellationToken,
        ) -> Result<JoinHandle<()>, BusError> {
            unreachable!("liveness only asks whether the bus is ready")
        }
        async fn ready(&self) -> bool {
            self.0.load(Ordering::SeqCst)
        }
    }

    async fn health(router: &Router) -> (StatusCode, serde_json::Value) {
        let request = Request::get("/healthz")
            .body(Body::empty())
            .expect("a request");
        let response = router.clone().oneshot(request).await.expect("an answer");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a body");
        (status, serde_json::from_slice(&body).expect("JSON"))
    }

    /// Polls `/healthz` until it answers `status`.
    async fn until(router: &Router, status: StatusCode) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (now, body) = health(router).await;
            if now == status {
                return body;
            }
            assert!(Instant::now() < deadline, "/healthz stayed {now}: {body}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Alive while the bus is in reach and for the bound after it went;
    /// not alive past that (503, saying so); alive again once it is back.
    #[tokio::test]
    async fn liveness_fails_once_the_bus_is_out_of_reach_past_its_bound() {
        let bus = Arc::new(Switched(AtomicBool::new(true)));
        let bound = Duration::from_millis(200);
        let readiness = Readiness {
            stores: Vec::new(),
            bus: bus.clone(),
            liveness: Liveness::watch(bus.clone(), bound, Duration::from_millis(5)),
        };
        let router = router(readiness);
        assert_eq!(health(&router).await.0, StatusCode::OK);
        bus.0.store(false, Ordering::SeqCst);
        let gone = Instant::now();
        let body = until(&router, StatusCode::SERVICE_UNAVAILABLE).await;
        assert!(gone.elapsed() > bound, "not alive before the bound");
        assert_eq!(body["status"], "bus_unreachable");
        bus.0.store(true, Ordering::SeqCst);
        let body = until(&router, StatusCode::OK).await;
        assert_eq!(body, serde_json::json!({ "status": "ok" }));
    }
}
