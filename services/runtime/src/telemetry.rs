//! Logs, spans and the W3C trace context.
//!
//! One span per HTTP request (the edge) and per message handled (the bus),
//! each carrying the trace id from the `traceparent` that travels in the
//! envelope and in the AMQP headers, so the log lines of one user action can
//! be followed from edge to broker to service. With an OTLP endpoint the
//! spans are exported too, each message's span a child of the request that
//! sent it, so one trace shows the whole path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use contracts::Envelope;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use rand::RngExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Whether spans are exported (an OTLP endpoint was configured).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Keeps the trace exporter alive; dropping it flushes the spans not yet
/// sent (so keep it until the process ends).
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("servicedesk: flushing traces failed: {e}");
        }
    }
}

/// Installs the global subscriber: logs to stderr in `format`, filtered by
/// `RUST_LOG` (default `info`), and, if `otlp_endpoint` is given, every span
/// at info or above exported over OTLP/HTTP as `service`.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>, service: &str) -> Telemetry {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
    }
    .with_filter(filter);
    let provider = otlp_endpoint.and_then(|endpoint| match exporter(endpoint, service) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("servicedesk: no trace export to {endpoint}: {e}");
            None
        }
    });
    // Spans are exported at info whatever RUST_LOG says of the logs.
    if provider.is_some() {
        EXPORTING.store(true, Ordering::Relaxed);
    }
    let traces = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("servicedesk"))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    // try_init: a second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init();
    Telemetry { provider }
}

fn exporter(
    endpoint: &str,
    service: &str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::WithExportConfig;
    let url = if endpoint.ends_with("/v1/traces") {
        endpoint.to_owned()
    } else {
        format!("{}/v1/traces", endpoint.trim_end_matches('/'))
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .build())
}

/// The W3C trace context of the current span, when spans are exported
/// (otherwise `None`: the caller makes one of its own).
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// The W3C trace context of `span`, when spans are exported (otherwise
/// `None`).
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    if !EXPORTING.load(Ordering::Relaxed) {
        return None;
    }
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the remote span `traceparent` names, so the
/// exported trace continues across the process boundary.
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    // Per message and request: skip the parsing when nothing is exported.
    if !EXPORTING.load(Ordering::Relaxed) {
        return;
    }
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    // Fails only when spans are not exported, when there is nothing to link.
    let _ = span.set_parent(cx);
}

/// A new trace: `00-<32 hex trace id>-<16 hex span id>-01`.
pub fn new_traceparent() -> String {
    let mut rng = rand::rng();
    let trace: u128 = rng.random::<u128>().max(1);
    let span: u64 = rng.random::<u64>().max(1);
    format!("00-{trace:032x}-{span:016x}-01")
}

/// The same trace with a new span id: what a hop passes on.
pub fn child_traceparent(parent: &str) -> String {
    match trace_id(parent) {
        Some(trace) => {
            let span: u64 = rand::rng().random::<u64>().max(1);
            format!("00-{trace}-{span:016x}-01")
        }
        None => new_traceparent(),
    }
}

/// The trace id of a well-formed `traceparent`, or `None`.
pub fn trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(version, 2)
        && hex(trace, 32)
        && hex(span, 16)
        && hex(flags, 2)
        && parts.next().is_none()
        && trace != "00000000000000000000000000000000")
        .then_some(trace)
}

/// The span a message is handled in.
pub fn message_span(queue: &str, envelope: &Envelope) -> tracing::Span {
    let trace = envelope
        .traceparent
        .as_deref()
        .and_then(trace_id)
        .unwrap_or("");
    let span = tracing::info_span!(
        "message",
        queue,
        message_type = %envelope.message_type,
        message_id = %envelope.message_id,
        tenant = %envelope.tenant_id,
        trace_id = trace,
    );
    if let Some(tp) = &envelope.traceparent {
        continue_trace(&span, tp);
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trip() {
        let t = new_traceparent();
        let trace = trace_id(&t).expect("valid").to_owned();
        let child = child_traceparent(&t);
        assert_eq!(trace_id(&child), Some(trace.as_str()));
        assert_ne!(child, t);
        assert_eq!(trace_id("00-abc-def-01"), None);
        assert_eq!(
            trace_id("00-00000000000000000000000000000000-b7ad6b7169203331-01"),
            None
        );
    }
}
