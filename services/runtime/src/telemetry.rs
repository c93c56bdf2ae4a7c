//! Logs, spans and the W3C trace context.
//!
//! One span per HTTP request (the edge) and per message handled (the bus),
//! each carrying the trace id from the `traceparent` that travels in the
//! envelope and in the AMQP headers, so the log lines of one user action can
//! be followed from edge to broker to service.

use contracts::Envelope;
use rand::RngExt;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

/// Installs the global subscriber; `RUST_LOG` filters (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // try_init: a second call (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
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
    tracing::info_span!(
        "message",
        queue,
        message_type = %envelope.message_type,
        message_id = %envelope.message_id,
        tenant = %envelope.tenant_id,
        trace_id = trace,
    )
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
