//! A PostgreSQL cluster of the suite's own (`initdb` and `pg_ctl` on another
//! port), so restarting it never touches the server other tests use.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use runtime::testing::{TempDir, free_port};

pub struct Database {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// The user the server runs as: PostgreSQL refuses to run as root.
    user: Option<String>,
}

/// The newest PostgreSQL's programs (Debian keeps them out of `PATH`).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    versions.sort();
    let bin = versions
        .pop()
        .map(|v| v.join("bin"))
        .filter(|b| b.join("initdb").exists());
    bin.expect(
        "initdb is missing: the chaos suite runs a PostgreSQL cluster of its own (apt-get install postgresql)",
    )
}

impl Database {
    /// A new cluster, started, taking connections as `postgres` without a
    /// password on 127.0.0.1.
    pub fn start() -> Self {
        let dir = TempDir::new();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let user = root.then(|| "postgres".to_owned());
        if let Some(user) = &user {
            let status = Command::new("chown")
                .args([user.as_str(), &dir.path().display().to_string()])
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the cluster's folder");
        }
        let database = Self {
            bin: bin_dir(),
            port: free_port(),
            user,
            dir,
        };
        let data = database.data();
        database.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        database.start_server();
        database
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// One of PostgreSQL's programs, as the server's user.
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        match &self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start_server(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    /// The server URL, for `CREATE DATABASE`.
    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fast shutdown (every session ended), `down` without a server, and
    /// a start.
    pub fn restart(&self, down: Duration) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
        std::thread::sleep(down);
        self.start_server();
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}
