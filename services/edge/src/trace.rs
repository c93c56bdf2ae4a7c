//! The trace a request belongs to: the caller's (`traceparent`) or a new
//! one, chosen once per request by the edge's middleware. The commands the
//! request sends carry it, and a 500 names its trace id, so a user can
//! quote it to support and support can find every log line of the request.

use std::future::Future;

use runtime::telemetry;

tokio::task_local! {
    static REQUEST: String;
}

/// The traceparent of the request `span` handles: the span's own when
/// spans are exported (so the trace id a 500 names is the exported one),
/// else a child of the caller's when it sent a valid one, else a new trace.
pub fn for_request(span: &tracing::Span, headers: &axum::http::HeaderMap) -> String {
    telemetry::traceparent_of(span).unwrap_or_else(|| {
        headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .filter(|t| telemetry::trace_id(t).is_some())
            .map_or_else(telemetry::new_traceparent, telemetry::child_traceparent)
    })
}

/// Runs `handling` (the request's handler) within the trace `traceparent`.
pub async fn within<F: Future>(traceparent: String, handling: F) -> F::Output {
    REQUEST.scope(traceparent, handling).await
}

/// The traceparent a message sent now passes on: the exported span's
/// context when spans are exported, else the request's trace with a span
/// id of its own, else (outside a request) a new trace.
pub fn outgoing() -> String {
    telemetry::current_traceparent().unwrap_or_else(|| {
        REQUEST
            .try_with(|t| telemetry::child_traceparent(t))
            .unwrap_or_else(|_| telemetry::new_traceparent())
    })
}

/// The trace id of the request being handled, if any.
pub fn id() -> Option<String> {
    REQUEST
        .try_with(|t| telemetry::trace_id(t).map(str::to_owned))
        .ok()
        .flatten()
}
