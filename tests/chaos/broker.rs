//! A RabbitMQ node of the suite's own: its own node name, ports, data and
//! Erlang cookie, no plugins, so stopping, killing and cutting it never
//! touches the broker other tests use.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use runtime::testing::{TempDir, free_port};

/// Where Debian's package puts the scripts; `/usr/sbin`'s wrappers switch
/// to the `rabbitmq` user and its cookie, which would not reach our node.
const SCRIPTS: &str = "/usr/lib/rabbitmq/bin";
/// Ports the broker's own command-line tools take for themselves
/// (`rabbitmqctl` listens on 35672–35682 while it runs), and the shared
/// broker's distribution port: never ours.
const TAKEN: std::ops::RangeInclusive<u16> = 35_672..=35_682;
const SHARED_DIST: u16 = 25_672;

pub struct Broker {
    dir: TempDir,
    node: String,
    port: u16,
    dist_port: u16,
    child: Option<Child>,
}

fn script(name: &str) -> PathBuf {
    let path = Path::new(SCRIPTS).join(name);
    assert!(
        path.exists(),
        "{} is missing: the chaos suite runs a RabbitMQ node of its own (apt-get install rabbitmq-server)",
        path.display()
    );
    path
}

/// A free port the broker's tools will not take.
fn broker_port() -> u16 {
    loop {
        let port = free_port();
        if !TAKEN.contains(&port) && port != SHARED_DIST {
            return port;
        }
    }
}

impl Broker {
    /// Starts a fresh node and waits until it takes connections.
    pub fn start() -> Self {
        let node = format!("chaos-{}@localhost", std::process::id());
        for _ in 0..3 {
            let mut broker = Self {
                node: node.clone(),
                port: broker_port(),
                dist_port: broker_port(),
                child: None,
                dir: TempDir::new(),
            };
            if broker.boot() {
                return broker;
            }
            eprintln!(
                "chaos: the broker did not start; its log: {}",
                std::fs::read_to_string(broker.log_file()).unwrap_or_default()
            );
            let _ = broker.ctl(&["stop"]);
            broker.kill();
        }
        panic!("the chaos suite's RabbitMQ node did not start");
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Starts the node's VM and waits for the broker; false if it did not
    /// come up (a port taken meanwhile, say).
    fn boot(&mut self) -> bool {
        let base = self.dir.path();
        std::fs::write(
            base.join("rabbitmq.conf"),
            format!("listeners.tcp.1 = 127.0.0.1:{}\n", self.port),
        )
        .expect("broker config");
        std::fs::write(base.join("enabled_plugins"), "[].\n").expect("plugins file");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())
            .expect("broker log");
        let child = self
            .env(Command::new(script("rabbitmq-server")))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("rabbitmq-server starts");
        self.child = Some(child);
        self.await_startup()
    }

    /// Waits for the broker to run; false if its VM exited or a minute
    /// passed. The node is unknown to `rabbitmqctl` for its first moments,
    /// so ask until it is known.
    fn await_startup(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.ctl(&["await_startup", "--timeout", "10"]) {
                Ok(_) => return true,
                Err(e) if Instant::now() > deadline => {
                    eprintln!("chaos: the broker is not up: {e}");
                    return false;
                }
                Err(_) => {}
            }
            if let Some(child) = self.child.as_mut()
                && child.try_wait().is_ok_and(|s| s.is_some())
            {
                return false;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn env(&self, mut command: Command) -> Command {
        let base = self.dir.path();
        command
            .env("HOME", base)
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", base.join("rabbitmq.conf"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                base.join("enabled_plugins"),
            )
            .env("RABBITMQ_MNESIA_BASE", base.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", base.join("log"))
            .env("RABBITMQ_PID_FILE", base.join("pid"));
        command
    }

    /// `rabbitmqctl -n <node> <args>`; its output, or why it failed.
    pub fn ctl(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .env(Command::new(script("rabbitmqctl")))
            .arg("-n")
            .arg(&self.node)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "rabbitmqctl {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// The broker stops (its connections closed by it) and its VM stays.
    pub fn stop_app(&self) {
        self.ctl(&["stop_app"]).expect("stop_app");
    }

    pub fn start_app(&mut self) {
        self.ctl(&["start_app"]).expect("start_app");
        assert!(self.await_startup(), "the broker back after start_app");
    }

    /// Every client connection closed by the broker at once.
    pub fn close_all_connections(&self) {
        self.ctl(&["close_all_connections", "chaos: every connection cut"])
            .expect("close_all_connections");
    }

    /// SIGKILL of the node: connections reset, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The script runs the VM under its own pid (it execs `erl`).
            let _ = child.kill();
            let _ = child.wait();
        }
        // The VM if the script did not exec it.
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pid")) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
        let _ = std::fs::remove_file(self.dir.path().join("pid"));
    }

    /// The node again after a kill, on the same ports and data.
    pub fn restart(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.boot() {
            assert!(
                Instant::now() < deadline,
                "the broker did not come back; its log: {}",
                self.log_file().display()
            );
            self.kill();
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// `(queue, messages, consumers)` of every queue.
    pub fn queues(&self) -> Vec<(String, u64, u64)> {
        let out = self
            .ctl(&[
                "list_queues",
                "-q",
                "--no-table-headers",
                "name",
                "messages",
                "consumers",
            ])
            .expect("list_queues");
        out.lines()
            .filter_map(|line| {
                let mut cols = line.split_whitespace();
                Some((
                    cols.next()?.to_owned(),
                    cols.next()?.parse().ok()?,
                    cols.next()?.parse().ok()?,
                ))
            })
            .collect()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.ctl(&["stop"]);
        self.kill();
    }
}
