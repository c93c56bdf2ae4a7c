//! The answers that are not JSON (report tables and charts, knowledge base
//! pages, attachments) go out one way: with their type, `nosniff` (a
//! browser never guesses another type), a CSP that runs no script, and,
//! for a download, its `Content-Disposition`.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use contracts::incident::IncidentV1;
use contracts::ticket::TicketV1;

/// A ticket or definition answered as JSON with its version as its `ETag`
/// (`"7"`): send it back as `If-Match` with an edit, and an edit made on a
/// stale copy is refused (412) instead of undoing what was written since.
pub struct Tagged<T>(pub T);

/// What has a version to tag.
pub trait Versioned {
    fn version(&self) -> i64;
}

impl Versioned for TicketV1 {
    fn version(&self) -> i64 {
        self.version
    }
}

impl Versioned for IncidentV1 {
    fn version(&self) -> i64 {
        self.version
    }
}

impl Versioned for contracts::escalation::CalendarV1 {
    fn version(&self) -> i64 {
        self.version
    }
}

impl Versioned for contracts::escalation::SlaV1 {
    fn version(&self) -> i64 {
        self.version
    }
}

impl<T: serde::Serialize + Versioned> IntoResponse for Tagged<T> {
    fn into_response(self) -> Response {
        let tag = format!("\"{}\"", self.0.version());
        ([(header::ETAG, tag)], Json(self.0)).into_response()
    }
}

/// Declared by each operation (`response_with`), as `Json<T>` is.
impl<T> aide::OperationOutput for Tagged<T> {
    type Inner = T;
}

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
