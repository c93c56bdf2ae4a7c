//! One cancellation token for the whole process, cancelled on SIGTERM or
//! Ctrl-C; every loop selects on it.
//!
//! A shutdown is bounded whatever state the process is in (a client that
//! never finishes sending its request, a broker connection that never
//! answers): if it has not finished within its grace, or a second signal
//! comes, the process exits at once, non-zero, and says why.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How long a shutdown may take by default: well inside Kubernetes' 30 s
/// before it kills the process itself.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(20);

/// The exit status of a shutdown cut short.
pub const CUT_SHORT: i32 = 1;

pub fn on_signal(grace: Duration) -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!(
            grace_seconds = grace.as_secs_f64(),
            "shutdown requested; finishing in-flight work"
        );
        t.cancel();
        tokio::select! {
            _ = tokio::time::sleep(grace) => {
                tracing::error!(grace_seconds = grace.as_secs_f64(), "shutdown did not finish within its grace; exiting now");
            }
            _ = wait_for_signal() => {
                tracing::warn!("a second signal during shutdown; exiting now");
            }
        }
        std::process::exit(CUT_SHORT);
    });
    token
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
