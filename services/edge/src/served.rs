//! The answers that are not JSON (report tables and charts, knowledge base
//! pages, attachments) go out one way: with their type, `nosniff` (a
//! browser never guesses another type), a CSP that runs no script, and,
//! for a download, its `Content-Disposition`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// Nothing runs or loads; inline style (charts, page templates) is allowed.
pub const NOTHING_RUNS: &str = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

pub fn served(
    body: impl IntoResponse,
    content_type: HeaderValue,
    disposition: Option<HeaderValue>,
) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(NOTHING_RUNS),
    );
    if let Some(d) = disposition {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    response
}
