//! The distributed desk under test, each process kept running as an
//! orchestrator would (compose's `restart: always`, Kubernetes' liveness
//! probe): one that exits is started again, one whose `/healthz` fails is
//! killed and started again. Both are counted: a process that resumes by
//! itself needs neither.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use servicedesk::process::Served;
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_servicedesk");
/// How often the orchestrator asks each process's `/healthz`.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// One kind of process and how it is started.
pub struct Role {
    pub name: &'static str,
    pub args: Vec<String>,
}

/// What the orchestrator counted of one process.
#[derive(Default)]
pub struct Counts {
    /// Exits the process chose (or a crash), each followed by a restart.
    pub exits: AtomicU32,
    /// Restarts because `/healthz` failed.
    pub liveness_restarts: AtomicU32,
    /// How long each SIGTERM took to end the process.
    pub stops: Mutex<Vec<Duration>>,
}

/// What the suite asks of a process.
enum Signal {
    /// SIGKILL: a crash.
    Kill,
    /// SIGTERM: a rolling restart, timed to the exit.
    Term,
}

pub struct Member {
    pub name: &'static str,
    pub counts: Arc<Counts>,
    /// `http://127.0.0.1:port` of the running process, if one runs.
    url: Arc<Mutex<Option<String>>>,
    signals: mpsc::UnboundedSender<Signal>,
    task: tokio::task::JoinHandle<()>,
}

impl Member {
    pub fn url(&self) -> Option<String> {
        self.url.lock().expect("url").clone()
    }

    /// SIGKILL; the orchestrator starts it again.
    pub fn kill(&self) {
        let _ = self.signals.send(Signal::Kill);
    }

    /// SIGTERM; the time to its exit goes to `counts.stops`, and the
    /// orchestrator starts it again.
    pub fn terminate(&self) {
        let _ = self.signals.send(Signal::Term);
    }

    /// Keeps `role` running, its logs appended to a file in `logs`.
    pub fn run(role: Role, logs: &Path) -> Self {
        let counts = Arc::new(Counts::default());
        let url = Arc::new(Mutex::new(None));
        let (signals, mut signalled) = mpsc::unbounded_channel();
        let log_path = logs.join(format!("{}.log", role.name));
        let name = role.name;
        let task = {
            let (counts, url) = (counts.clone(), url.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(3))
                    .build()
                    .expect("client");
                loop {
                    let mut served = start(&role, &log_path).await;
                    *url.lock().expect("url") = Some(served.url.clone());
                    let healthz = format!("{}/healthz", served.url);
                    let mut terminated: Option<Instant> = None;
                    loop {
                        tokio::select! {
                            status = served.child.wait() => {
                                if let Some(sent) = terminated {
                                    counts.stops.lock().expect("stops").push(sent.elapsed());
                                } else {
                                    eprintln!("chaos: {} exited ({status:?}); starting it again", role.name);
                                    counts.exits.fetch_add(1, Ordering::SeqCst);
                                }
                                break;
                            }
                            Some(signal) = signalled.recv() => match signal {
                                Signal::Kill => {
                                    served.kill().await;
                                    break;
                                }
                                Signal::Term => {
                                    terminated = Some(Instant::now());
                                    if let Some(pid) = served.child.id() {
                                        let _ = tokio::process::Command::new("kill")
                                            .args(["-TERM", &pid.to_string()])
                                            .status()
                                            .await;
                                    }
                                }
                            },
                            () = tokio::time::sleep(PROBE_EVERY) => {
                                let answer = http.get(&healthz).send().await;
                                if answer.is_ok_and(|a| a.status() == 503) {
                                    eprintln!("chaos: {} failed its liveness probe; restarting it", role.name);
                                    counts.liveness_restarts.fetch_add(1, Ordering::SeqCst);
                                    served.kill().await;
                                    break;
                                }
                            }
                        }
                    }
                    *url.lock().expect("url") = None;
                }
            })
        };
        Self {
            name,
            counts,
            url,
            signals,
            task,
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        // The task owns the process, which is killed when dropped.
        self.task.abort();
    }
}

/// Starts the process, trying again each second until it listens (it
/// exits when it cannot reach what it needs at start).
async fn start(role: &Role, log_path: &PathBuf) -> Served {
    let args: Vec<&str> = role.args.iter().map(String::as_str).collect();
    loop {
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .expect("process log");
        match Served::start_logging_to(Path::new(BIN), &args, log).await {
            Ok(served) => return served,
            Err(e) => {
                eprintln!("chaos: {} did not start ({e}); trying again", role.name);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
