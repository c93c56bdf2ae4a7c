//! What a handler left of a request body is read after the answer went
//! out.
//!
//! A handler that refuses a request before reading its body (a bad token, a
//! role that may not, an unknown route) leaves the body's bytes in the
//! socket. hyper then closes the connection after the answer, and closing a
//! socket with unread bytes makes the TCP stack send a reset, which can
//! destroy the answer before the client read it: a kept-alive client saw
//! its connection closed without a response. Reading what is left once the
//! answer is on its way (as nginx's lingering close does) keeps the answer
//! and the connection.
//!
//! Left to hyper as before: a body larger than [`MOST`] (a client sending
//! that much after its refusal is better stopped), and a request that asked
//! `Expect: 100-continue` (it sends its body only if told to, so a refusal
//! costs it no upload).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use tokio::sync::Mutex;

/// The most of an unread body read on the handler's behalf: four times the
/// JSON routes' limit, beyond which a refused client is better cut off.
pub const MOST: u64 = 4 * crate::BODY_LIMIT as u64;

/// How long reading what is left may take.
const PATIENCE: Duration = Duration::from_secs(5);

/// The middleware: hands the handler the body through a shared stream, and
/// once it answered, reads what it left while the answer goes out.
pub async fn drained(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let has_body =
        declared.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING);
    let waits_for_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if !has_body || waits_for_continue || declared.is_some_and(|n| n > MOST) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let shared = Arc::new(Mutex::new(body.into_data_stream()));
    let handlers = futures_util::stream::unfold(shared.clone(), |s| async move {
        let next = s.lock().await.next().await;
        next.map(|chunk| (chunk, s))
    });
    let response = next
        .run(Request::from_parts(parts, Body::from_stream(handlers)))
        .await;
    // hyper writes the answer while this reads; it parses the next request
    // once the body is read.
    tokio::spawn(async move {
        let mut body = shared.lock().await;
        let reading = async {
            let mut read = 0u64;
            while let Some(Ok(chunk)) = body.next().await {
                read += chunk.len() as u64;
                if read > MOST {
                    break;
                }
            }
        };
        // Past either bound the body is dropped, and hyper closes the
        // connection.
        let _ = tokio::time::timeout(PATIENCE, reading).await;
    });
    response
}
