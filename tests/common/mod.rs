//! What the cross-service tests share: running the real `servicedesk` binary
//! as OS processes, and a small API client.
#![allow(dead_code)] // each test binary uses a different part of this

pub mod authorization;
pub mod email;
pub mod escalations;
pub mod limits;
pub mod processes;
pub mod scenarios;
pub mod schemathesis;

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use servicedesk::process::Served;

pub const BIN: &str = env!("CARGO_BIN_EXE_servicedesk");

/// One `servicedesk serve` process (see `servicedesk::process`), killed
/// when dropped.
pub struct Process(pub Served);

impl Process {
    pub async fn serve(args: &[&str]) -> Self {
        Self(
            Served::start(Path::new(BIN), args)
                .await
                .expect("servicedesk starts and listens"),
        )
    }

    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// SIGKILL: the crash case.
    pub async fn kill(&mut self) {
        self.0.kill().await;
    }

    /// SIGTERM and wait for the exit.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        self.0.terminate().await.expect("stops after SIGTERM")
    }
}

/// `servicedesk tenant create <name> <store args>`; returns (tenant_id, token).
pub async fn create_tenant(name: &str, store_args: &[&str]) -> (String, String) {
    servicedesk::process::create_tenant(Path::new(BIN), name, store_args)
        .await
        .expect("tenant create")
}

/// A client for one caller of the API.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: Option<String>,
    http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The body, after checking the status.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Checks an error reply's status and stable code.
    #[track_caller]
    pub fn error(self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(body["error"], code, "error code; body: {body}");
        assert!(
            body["message"].is_string(),
            "errors carry a message: {body}"
        );
        body
    }
}

impl Api {
    pub fn new(base: &str, token: Option<&str>) -> Self {
        Self {
            base: base.to_owned(),
            token: token.map(str::to_owned),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    pub fn as_token(&self, token: &str) -> Self {
        Self::new(&self.base, Some(token))
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, body }
    }

    /// Sends raw bytes with the given content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("body read");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    /// A GET whose body is kept as bytes, with the response's headers.
    pub async fn download(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request sent");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.bytes().await.expect("body read").to_vec();
        (status, headers, bytes)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }
}

/// `data_dir` as a string argument.
pub fn dir_arg(p: &Path) -> String {
    p.display().to_string()
}
