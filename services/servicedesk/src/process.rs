//! Running `servicedesk` as a child process, as the benchmark and the
//! cross-service tests do: start it on a free port, learn where it listens,
//! stop it by SIGTERM or SIGKILL.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// One `servicedesk serve` process, killed when dropped.
pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:port`, as the process announced it.
    pub url: String,
}

impl Served {
    /// Starts `<exe> serve --listen 127.0.0.1:0 <args>` and waits until it
    /// says where it listens. Its logs go to this process's stderr, at
    /// `RUST_LOG` (default `warn`).
    pub async fn start(exe: &Path, args: &[&str]) -> anyhow::Result<Self> {
        Self::start_logging_to(exe, args, Stdio::inherit()).await
    }

    /// As [`Served::start`], with the process's logs going to `stderr` (a
    /// file of its own, when many run and each log is read apart).
    pub async fn start_logging_to(
        exe: &Path,
        args: &[&str],
        stderr: impl Into<Stdio>,
    ) -> anyhow::Result<Self> {
        let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned());
        let mut child = Command::new(exe)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(args)
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split(" listening on ").nth(1) {
                    return Ok(rest.trim().to_owned());
                }
            }
            bail!("servicedesk {args:?} exited before it listened")
        })
        .await
        .context("servicedesk did not listen within 60 s")??;
        // Keep reading so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, url })
    }

    /// SIGKILL: the crash case.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, then wait up to 30 s for the exit.
    pub async fn terminate(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(pid) = self.child.id() {
            Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await?;
        }
        Ok(
            tokio::time::timeout(Duration::from_secs(30), self.child.wait())
                .await
                .context("no exit within 30 s of SIGTERM")??,
        )
    }
}

/// `<exe> tenant create <name> <store args>`; returns (tenant id, token).
pub async fn create_tenant(
    exe: &Path,
    name: &str,
    store_args: &[&str],
) -> anyhow::Result<(String, String)> {
    let out = Command::new(exe)
        .args(["tenant", "create", name])
        .args(store_args)
        .output()
        .await
        .context("running tenant create")?;
    if !out.status.success() {
        bail!(
            "tenant create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("tenant create prints JSON")?;
    let field = |k: &str| {
        v[k].as_str()
            .map(str::to_owned)
            .with_context(|| format!("no {k} in {v}"))
    };
    Ok((field("tenant_id")?, field("token")?))
}
