//! The whole desk as a new user runs it: one `servicedesk serve` process on
//! the embedded default (SQLite files, in-process bus).

mod common;

use common::scenarios::Desk;
use common::{Api, Process, dir_arg};
use runtime::testing::{SmtpSink, TempDir};
use serde_json::json;

async fn start(dir: &TempDir) -> (Process, Desk) {
    start_with(dir, &[]).await
}

/// [`start`], with `more` arguments to `serve`.
async fn start_with(dir: &TempDir, more: &[&str]) -> (Process, Desk) {
    let data = dir_arg(dir.path());
    let clock = dir.path().join("clock");
    let clock_arg = dir_arg(&clock);
    let smtp = SmtpSink::start();
    let smtp_url = smtp.url();
    let mut args = vec![
        "--data-dir",
        &data,
        "--test-clock-file",
        &clock_arg,
        "--smtp-url",
        &smtp_url,
    ];
    args.extend_from_slice(more);
    let process = Process::serve(&args).await;
    let desk = Desk {
        base: process.url().to_owned(),
        store_args: vec!["--data-dir".into(), data],
        clock,
        smtp,
    };
    (process, desk)
}

/// An embedded desk of one test's own, running while this lives.
struct Running {
    _process: Process,
    _dir: TempDir,
    desk: Desk,
}

async fn desk(more: &[&str]) -> Running {
    let dir = TempDir::new();
    let (process, desk) = start_with(&dir, more).await;
    Running {
        _process: process,
        _dir: dir,
        desk,
    }
}

common::scenarios::every_scenario!(desk);

#[tokio::test]
async fn nothing_acknowledged_is_lost_across_a_restart() {
    let dir = TempDir::new();
    let (mut process, desk) = start(&dir).await;
    let admin = desk.tenant("Durable").await;
    let mut refs = Vec::new();
    for n in 0..20 {
        let inc = admin
            .post(
                "/api/v1/incidents",
                json!({"summary": format!("n{n}"), "priority": 3}),
            )
            .await
            .expect(201);
        refs.push(inc["reference"].as_str().expect("ref").to_owned());
    }
    // A crash, not a clean stop.
    process.kill().await;
    let (_again, desk) = start(&dir).await;
    let admin = Api::new(&desk.base, admin.token.as_deref());
    for r in &refs {
        admin
            .get(&format!("/api/v1/incidents/{r}"))
            .await
            .expect(200);
    }
    let next = admin
        .post(
            "/api/v1/incidents",
            json!({"summary": "after", "priority": 3}),
        )
        .await
        .expect(201);
    assert_eq!(next["reference"], "INC-000021", "the sequence carries on");
}

#[tokio::test]
async fn sigterm_stops_cleanly() {
    let dir = TempDir::new();
    let (mut process, _desk) = start(&dir).await;
    let status = process.terminate().await;
    assert!(status.success(), "exit status {status}");
}

/// A shutdown is bounded: with a client that never finishes sending its
/// request (the HTTP server would wait for it for ever), SIGTERM still ends
/// the process, once its grace is over, with the status of a shutdown cut
/// short.
#[tokio::test]
async fn sigterm_ends_a_shutdown_that_cannot_finish_within_its_grace() {
    use tokio::io::AsyncWriteExt;

    let dir = TempDir::new();
    let data = dir_arg(dir.path());
    let mut process = Process::serve(&["--data-dir", &data, "--shutdown-grace", "1"]).await;
    let (_, token) = common::create_tenant("Slow", &["--data-dir", &data]).await;
    let address = process.url().trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    // Half a body: the handler waits for the rest, which never comes.
    let head = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"summary\": "
    );
    slow.write_all(head.as_bytes()).await.expect("writes");
    slow.flush().await.expect("flushes");
    // The request is in the server's hands once the desk answers another.
    Api::new(process.url(), Some(&token))
        .get("/api/v1/incidents")
        .await
        .expect(200);
    let status = process.terminate().await;
    assert_eq!(
        status.code(),
        Some(runtime::shutdown::CUT_SHORT),
        "exit status {status}"
    );
    drop(slow);
}

/// A stand-in OTLP/HTTP collector: answers 200 to every POST and keeps the
/// bodies (protobuf `ExportTraceServiceRequest`s).
async fn collector() -> (String, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    // Request line and headers.
                    loop {
                        line.clear();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let _ = tx.send(body);
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if stream.get_mut().write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, rx)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn spans_are_exported_over_otlp_in_the_callers_trace() {
    let (endpoint, mut exported) = collector().await;
    let dir = TempDir::new();
    let data = dir_arg(dir.path());
    let mut process = Process::serve(&["--data-dir", &data, "--otlp-endpoint", &endpoint]).await;
    let desk = Desk {
        base: process.url().to_owned(),
        store_args: vec!["--data-dir".into(), data],
        clock: dir.path().join("clock"),
        smtp: SmtpSink::unstarted(),
    };
    let admin = desk.tenant("Observed").await;
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let reply = reqwest::Client::new()
        .post(format!("{}/api/v1/incidents", desk.base))
        .bearer_auth(admin.token.as_deref().expect("token"))
        .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
        .json(&json!({"summary": "observed", "priority": 3}))
        .send()
        .await
        .expect("sent");
    assert_eq!(reply.status().as_u16(), 201);
    // A clean stop flushes what is not exported yet.
    assert!(process.terminate().await.success());
    let trace_bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&trace[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    let mut bodies = Vec::new();
    while let Ok(Some(body)) =
        tokio::time::timeout(std::time::Duration::from_secs(2), exported.recv()).await
    {
        bodies.push(body);
    }
    let all: Vec<u8> = bodies.concat();
    assert!(!all.is_empty(), "spans were exported");
    assert!(
        contains(&all, &trace_bytes),
        "the request's trace id is in the export"
    );
    // The edge's request span and ticketing's message span, in that trace.
    assert!(contains(&all, b"request"), "the request span");
    assert!(contains(&all, b"message"), "the message span");
    assert!(contains(&all, b"servicedesk"), "the service name");
}

/// The rate limits, on a desk whose limits are small enough to reach.
#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let dir = TempDir::new();
    let data = dir_arg(dir.path());
    let process = Process::serve(&[
        "--data-dir",
        &data,
        "--failed-auth-limit",
        "3",
        "--token-request-limit",
        "12",
    ])
    .await;
    let (_, token) = common::create_tenant("Limited", &["--data-dir", &data]).await;
    let admin = Api::new(process.url(), Some(&token));
    common::limits::limits_hold(&[admin], 3, 12, async |_| {}).await;
}
