//! What a handler left of a request body is read before the answer goes
//! out.
//!
//! A handler that refuses a request before reading its body (a bad token, a
//! role that may not, an unknown route) leaves the body's bytes in the
//! socket. hyper then closes the connection after the answer, and closing a
//! socket with unread bytes makes the TCP stack send a reset, which can
//! destroy the answer before the client read it: a kept-alive client saw
//! its connection closed without a response. Reading what is left (as
//! nginx's lingering close does) keeps the answer and the connection; a
//! body larger than anything the desk accepts is not read, and that
//! connection is closed instead (`Connection: close`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use tokio::sync::Mutex;

/// The most of an unread body read on the handler's behalf: above the
/// largest body any route accepts (a 25 MiB email).
const MOST: u64 = 32 * 1024 * 1024;

/// How long reading what is left may take.
const PATIENCE: Duration = Duration::from_secs(5);

/// The middleware: hands the handler the body through a shared stream, and
/// reads what it left once it answered.
pub async fn drained(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let has_body =
        declared.is_some_and(|n| n > 0) || req.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let shared = Arc::new(Mutex::new(body.into_data_stream()));
    let handlers = futures_util::stream::unfold(shared.clone(), |s| async move {
        let next = s.lock().await.next().await;
        next.map(|chunk| (chunk, s))
    });
    let mut response = next
        .run(Request::from_parts(parts, Body::from_stream(handlers)))
        .await;
    if declared.is_some_and(|n| n > MOST) || !read_rest(&shared).await {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads and drops what is left of the body; whether it all came within
/// the bounds.
async fn read_rest(body: &Mutex<BodyDataStream>) -> bool {
    let mut body = body.lock().await;
    let reading = async {
        let mut read = 0u64;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => read += bytes.len() as u64,
                Err(_) => return false,
            }
            if read > MOST {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(PATIENCE, reading)
        .await
        .unwrap_or(false)
}
