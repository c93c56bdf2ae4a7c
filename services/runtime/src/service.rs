//! The start/stop handle every service's `start` returns: it owns the
//! service's tasks (consumers, writers, loops, the outbox relay), stops them
//! in order, and reports a task that died instead of dropping it.
//!
//! A task of a service runs as long as the service does, so a task that
//! ends before the service was asked to stop (a panicked consumer, a loop
//! that gave up) means the service can no longer do its work. The binary
//! selects on [`Running::died`] beside its shutdown signal and exits
//! non-zero, so the orchestrator restarts the process rather than leaving
//! it alive and deaf.

use std::future::Future;

use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::outbox::Relay;

/// A task of `service` ended when it should not have, or panicked.
#[derive(Debug, thiserror::Error)]
#[error("{service}: its task `{task}` {how}")]
pub struct Died {
    pub service: &'static str,
    pub task: &'static str,
    /// "panicked: …", "ended before the service was stopped", "was cancelled".
    pub how: String,
}

struct Task {
    name: &'static str,
    /// `None` once it has been waited for.
    handle: Option<JoinHandle<()>>,
    /// A task that stops only after every task before it ended (the outbox
    /// relay, which publishes what they wrote): its own token, cancelled
    /// then. `None`: it stops on the service's token.
    last: Option<CancellationToken>,
    /// How it ended, if it ended before the stop.
    died: Option<String>,
}

/// A started service's tasks. Dropped without [`Running::stop`], they run
/// on until the token the service was started with is cancelled.
pub struct Running {
    service: &'static str,
    stop: CancellationToken,
    tasks: Vec<Task>,
}

impl Running {
    /// The handle of `service`, whose tasks stop when `stop` (the
    /// process's, or a test's) is cancelled or [`Running::stop`] is called.
    pub fn new(service: &'static str, stop: &CancellationToken) -> Self {
        Self {
            service,
            stop: stop.child_token(),
            tasks: Vec::new(),
        }
    }

    /// The token the service's consumers and loops select on.
    pub fn token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Tells the service to stop taking work, without waiting (see
    /// [`Running::stop`]): to halt several services at once, then wait for
    /// each.
    pub fn halt(&self) {
        self.stop.cancel();
    }

    /// Adopts a task already spawned (a bus consumer). Tasks are waited for
    /// in the order they were added.
    pub fn adopt(&mut self, name: &'static str, handle: JoinHandle<()>) {
        self.tasks.push(Task {
            name,
            handle: Some(handle),
            last: None,
            died: None,
        });
    }

    /// Spawns `task`, which ends when the service's token is cancelled or
    /// its input closes.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.adopt(name, tokio::spawn(task));
    }

    /// Spawns the service's outbox relay, to stop after every task added
    /// before it has ended, so it publishes what they committed.
    pub fn relay(&mut self, relay: &Relay) {
        self.spawn_last("outbox relay", |stop| relay.clone().run(stop));
    }

    /// Spawns `run(token)`, whose token is cancelled only once every task
    /// added before it has ended.
    pub fn spawn_last<F: Future<Output = ()> + Send + 'static>(
        &mut self,
        name: &'static str,
        run: impl FnOnce(CancellationToken) -> F,
    ) {
        let stop = CancellationToken::new();
        let handle = tokio::spawn(run(stop.clone()));
        self.tasks.push(Task {
            name,
            handle: Some(handle),
            last: Some(stop),
            died: None,
        });
    }

    /// Waits until one of the tasks ends although the service was not asked
    /// to stop, and says which and how. Pending for ever while every task
    /// runs (and once the stop was asked for, when ends are expected).
    pub async fn died(&mut self) -> Died {
        let service = self.service;
        let live: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| self.tasks[i].handle.is_some())
            .collect();
        if live.is_empty() {
            return std::future::pending().await;
        }
        let ended = {
            let handles = self
                .tasks
                .iter_mut()
                .filter_map(|t| t.handle.as_mut())
                .collect::<Vec<_>>();
            let stop = self.stop.clone();
            tokio::select! {
                // A stop ends tasks: their ends are expected then.
                biased;
                () = stop.cancelled() => None,
                (outcome, i, _) = futures_util::future::select_all(handles) => Some((live[i], outcome)),
            }
        };
        let Some((i, outcome)) = ended else {
            return std::future::pending().await;
        };
        let task = &mut self.tasks[i];
        task.handle = None;
        // Stopped on another thread between the poll of the stop and of the
        // task: an expected end (a panic is reported by `stop`).
        if self.stop.is_cancelled() {
            if let Err(e) = outcome {
                task.died = Some(how(Err(e), true));
            }
            return std::future::pending().await;
        }
        let how = how(outcome, false);
        task.died = Some(how.clone());
        tracing::error!(service, task = task.name, %how, "a task of the service died");
        Died {
            service,
            task: task.name,
            how,
        }
    }

    /// Stops the service: cancels its token (consumers stop taking
    /// messages, loops end), waits for each task in order (in-flight
    /// messages finish and are acked, writers commit what they were handed,
    /// then the relay publishes it), and reports the first task that died
    /// or panicked.
    pub async fn stop(mut self) -> Result<(), Died> {
        self.stop.cancel();
        let mut first: Option<Died> = None;
        for task in &mut self.tasks {
            if let Some(last) = &task.last {
                last.cancel();
            }
            let how = match task.handle.take() {
                Some(handle) => match handle.await {
                    Ok(()) => None,
                    Err(e) => Some(how(Err(e), true)),
                },
                None => task.died.take(),
            };
            if let Some(how) = how
                && first.is_none()
            {
                first = Some(Died {
                    service: self.service,
                    task: task.name,
                    how,
                });
            }
        }
        first.map_or(Ok(()), Err)
    }
}

fn how(outcome: Result<(), JoinError>, stopping: bool) -> String {
    match outcome {
        Ok(()) if stopping => "ended".into(),
        Ok(()) => "ended before the service was stopped".into(),
        Err(e) if e.is_panic() => {
            let panic = e.into_panic();
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            format!("panicked: {text}")
        }
        Err(_) => "was cancelled".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_panicked_task_is_reported_while_running_and_at_stop() {
        let stop = CancellationToken::new();
        let mut running = Running::new("svc", &stop);
        let token = running.token();
        running.spawn("consumer", async move { token.cancelled().await });
        running.spawn("writer", async { panic!("disk on fire") });
        let died = tokio::time::timeout(Duration::from_secs(5), running.died())
            .await
            .expect("a died task is reported");
        assert_eq!(died.task, "writer");
        assert_eq!(died.how, "panicked: disk on fire");
        let at_stop = running.stop().await.expect_err("and again at stop");
        assert_eq!(at_stop.task, "writer");
    }

    /// Tasks that end because the service was stopped, on other threads,
    /// never count as died, however the polls interleave.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ends_at_a_stop_are_not_deaths() {
        for _ in 0..200 {
            let stop = CancellationToken::new();
            let mut running = Running::new("svc", &stop);
            for name in ["sender", "firing"] {
                let token = running.token();
                running.spawn(name, async move { token.cancelled().await });
            }
            stop.cancel();
            tokio::task::yield_now().await;
            assert!(
                tokio::time::timeout(Duration::from_millis(5), running.died())
                    .await
                    .is_err()
            );
            running.stop().await.expect("a clean stop");
        }
    }

    #[tokio::test]
    async fn a_task_that_ends_early_is_reported() {
        let stop = CancellationToken::new();
        let mut running = Running::new("svc", &stop);
        running.spawn("loop", async {});
        let died = running.died().await;
        assert_eq!(died.how, "ended before the service was stopped");
    }

    #[tokio::test]
    async fn nothing_died_while_every_task_runs_or_after_the_stop() {
        let stop = CancellationToken::new();
        let mut running = Running::new("svc", &stop);
        let token = running.token();
        running.spawn("consumer", async move { token.cancelled().await });
        assert!(
            tokio::time::timeout(Duration::from_millis(100), running.died())
                .await
                .is_err()
        );
        // The outer token stops the service's own.
        stop.cancel();
        assert!(
            tokio::time::timeout(Duration::from_millis(100), running.died())
                .await
                .is_err()
        );
        running.stop().await.expect("a clean stop");
    }

    #[tokio::test]
    async fn a_last_task_is_stopped_after_the_others_ended() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let mut running = Running::new("svc", &stop);
        let (token, writer_order) = (running.token(), order.clone());
        running.spawn("writer", async move {
            token.cancelled().await;
            // It takes a while to commit what it holds.
            tokio::time::sleep(Duration::from_millis(100)).await;
            crate::bus::lock(&writer_order).push("writer committed");
        });
        let relay_order = order.clone();
        running.spawn_last("relay", move |token| async move {
            token.cancelled().await;
            crate::bus::lock(&relay_order).push("relay told to stop");
        });
        stop.cancel();
        running.stop().await.expect("a clean stop");
        assert_eq!(
            *crate::bus::lock(&order),
            ["writer committed", "relay told to stop"]
        );
    }
}
