//! Every error the API answers with: `{"error": code, "message", "details"}`,
//! a stable code and the right status. An internal error becomes an opaque
//! 500 in [`ApiError::internal`], which logs its cause once; the caller never
//! sees it. Every response is built here, so none slips out as a bare 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use contracts::{ErrorBody, ErrorCode};
use runtime::bus::BusError;
use runtime::store::StoreError;
use serde::Serialize;

/// The stable error codes of the HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    MalformedJson,
    ValidationFailed,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    InvalidTransition,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    PreconditionFailed,
    RateLimited,
    DependencyUnavailable,
    Internal,
}

impl Code {
    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedJson | Self::ValidationFailed => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::InvalidTransition | Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::DependencyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ApiError {
    pub error: Code,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// What broke, for an internal error: logged by the edge's middleware
    /// with the request's span, never shown to the caller.
    #[serde(skip)]
    cause: Option<String>,
}

/// The cause of a 500, carried on the response to the middleware that logs
/// it.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(error: Code, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
            details: None,
            cause: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    /// A 400 naming the field that is wrong.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::from(ErrorBody::field(field, message))
    }

    pub fn forbidden() -> Self {
        Self::new(Code::Forbidden, "your role may not do this")
    }

    /// Something broke that the caller did not cause: answered without its
    /// cause but with the request's trace id (to quote to support), and
    /// logged with the cause by the middleware.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let mut e = Self::new(Code::Internal, "internal error");
        e.cause = Some(cause.to_string());
        e
    }
}

impl From<ErrorBody> for ApiError {
    fn from(body: ErrorBody) -> Self {
        let error = match body.code {
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::ValidationFailed => Code::ValidationFailed,
            ErrorCode::InvalidTransition => Code::InvalidTransition,
            ErrorCode::Conflict => Code::Conflict,
            ErrorCode::Forbidden => Code::Forbidden,
            ErrorCode::PreconditionFailed => Code::PreconditionFailed,
        };
        Self {
            error,
            message: body.message,
            details: body.details,
            cause: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "edge database unavailable");
            Self::new(
                Code::DependencyUnavailable,
                "the desk's database is unavailable; try again shortly",
            )
        } else {
            Self::internal(&e)
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::from(StoreError::from(e))
    }
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        tracing::warn!(error = %e, "service call failed");
        let message = match e {
            // The queue names the service: `ticketing.commands`.
            BusError::NoRoute(queue) => format!(
                "the {} service is not running; try again shortly",
                queue.split('.').next().unwrap_or("requested")
            ),
            BusError::Timeout(_) => {
                "the service behind this request did not answer in time; try again shortly".into()
            }
            BusError::Nacked | BusError::Unavailable(_) => {
                "the message broker is unavailable; try again shortly".into()
            }
        };
        Self::new(Code::DependencyUnavailable, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        let status = self.error.status();
        let cause = self.cause.take();
        if self.error == Code::Internal
            && let Some(trace_id) = crate::trace::id()
        {
            self.message = format!("internal error; quote trace id {trace_id} to support");
            self.details = Some(serde_json::json!({ "trace_id": trace_id }));
        }
        let mut response = (status, Json(self)).into_response();
        if let Some(cause) = cause {
            response.extensions_mut().insert(InternalCause(cause));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}
