//! What tests need to reach the real servers: a fresh PostgreSQL database
//! and a fresh bus prefix per test (so tests never see each other's data),
//! found through environment variables with the local defaults.
//!
//! A test that needs a server that is not running fails, loudly: nothing
//! here skips.

use uuid::Uuid;

/// `SERVICEDESK_TEST_DATABASE_URL`: a PostgreSQL server URL whose user may
/// create databases. Default: the local server with trust auth.
pub fn postgres_server_url() -> String {
    std::env::var("SERVICEDESK_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `SERVICEDESK_TEST_AMQP_URL`. Default: the local RabbitMQ as guest.
pub fn amqp_url() -> String {
    std::env::var("SERVICEDESK_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A fresh store on `backend` for one test (a new PostgreSQL database named
/// after `name`, or a SQLite file in a temporary directory, kept while the
/// returned `TempDir` lives), migrated with the runtime's migrations and
/// `migrations` (scope, list).
///
/// # Panics
/// If the store cannot be opened or migrated.
pub async fn migrated_store(
    backend: crate::store::Backend,
    name: &str,
    migrations: &[(&str, &[crate::store::Migration])],
) -> (crate::store::Store, Option<TempDir>) {
    let (url, dir) = match backend {
        crate::store::Backend::Postgres => (fresh_postgres(name).await, None),
        crate::store::Backend::Sqlite => {
            let (dir, url) = fresh_sqlite();
            (url, Some(dir))
        }
    };
    let store = crate::store::Store::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    store
        .migrate("runtime", crate::MIGRATIONS)
        .await
        .unwrap_or_else(|e| panic!("runtime migrations: {e}"));
    for (scope, list) in migrations {
        store
            .migrate(scope, list)
            .await
            .unwrap_or_else(|e| panic!("{scope} migrations: {e}"));
    }
    (store, dir)
}

/// A name no other test run uses, for databases and queue prefixes.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::now_v7().simple())
}

/// Creates a new empty database on the test server and returns its URL.
///
/// # Panics
/// If the server cannot be reached: the test needs it and must not pass
/// without it.
pub async fn fresh_postgres(prefix: &str) -> String {
    let server = postgres_server_url();
    create_database(&server, prefix).await.unwrap_or_else(|e| {
        panic!("PostgreSQL at {server} is needed by this test and did not create a database: {e}")
    })
}

/// Creates a database named `<prefix>_<unique>` on the PostgreSQL server at
/// `server` and returns its URL.
pub async fn create_database(server: &str, prefix: &str) -> Result<String, sqlx::Error> {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let name = unique(prefix);
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(server).await?;
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// A SQLite file in a fresh temporary directory (kept for the test's
/// lifetime by the returned guard).
pub fn fresh_sqlite() -> (TempDir, String) {
    let dir = TempDir::new();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("test.sqlite").display()
    );
    (dir, url)
}

/// A temporary directory, removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(unique("servicedesk"));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Self(path)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs each named `async fn(Backend)` as two tests, `sqlite::<name>` and
/// `postgres::<name>`: the same store test on both databases.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::store::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::store::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// How many times a sink is tried before a test gives up on it.
const SINK_TRIES: usize = 5;

/// A real SMTP server on loopback (`tests/peers/smtp_sink.py`, on
/// aiosmtpd from PyPI) keeping each message it accepts as a file. Stopped
/// on drop.
///
/// # Panics
/// If Python or aiosmtpd is missing: the test needs a real SMTP peer.
pub struct SmtpSink {
    pub port: u16,
    dir: TempDir,
    child: Option<std::process::Child>,
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub fn start() -> Self {
        Self::start_anywhere(None)
    }

    /// Starts a sink that offers STARTTLS with this certificate and key
    /// (PEM files) and takes no mail without it.
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> Self {
        Self::start_anywhere(Some((cert, key)))
    }

    /// A port nothing listens on yet, for a sink started later (an SMTP
    /// relay that is down, then comes back).
    pub fn unstarted() -> Self {
        Self {
            port: free_port(),
            dir: TempDir::new(),
            child: None,
        }
    }

    /// On a free port: one found free may be taken by another test before
    /// the sink binds it, so a sink that could not start tries another.
    fn start_anywhere(tls: Option<(&std::path::Path, &std::path::Path)>) -> Self {
        let dir = TempDir::new();
        for _ in 0..SINK_TRIES {
            let port = free_port();
            if let Some(child) = Self::spawn(port, &dir, tls) {
                return Self {
                    port,
                    dir,
                    child: Some(child),
                };
            }
        }
        panic!("the SMTP sink did not start (is aiosmtpd installed? pip install aiosmtpd)")
    }

    /// The sink on `port`, if it started (it prints `ready` once it
    /// listens, and nothing if it could not bind).
    fn spawn(
        port: u16,
        dir: &TempDir,
        tls: Option<(&std::path::Path, &std::path::Path)>,
    ) -> Option<std::process::Child> {
        use std::io::BufRead;
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/peers/smtp_sink.py"
        );
        let mut command = std::process::Command::new("python3");
        command
            .arg(script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(dir.path());
        if let Some((cert, key)) = tls {
            command
                .arg("--tls-cert")
                .arg(cert)
                .arg("--tls-key")
                .arg(key);
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the SMTP sink (python3 {script}): {e}"));
        let stdout = child.stdout.take().expect("sink stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("sink output");
        if line.trim() == "ready" {
            Some(child)
        } else {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }

    /// Starts the sink if it is not running (the relay comes back), on the
    /// port its URL names: tried a few times, should another test hold
    /// that port for a moment.
    pub fn start_now(&mut self) {
        if self.child.is_some() {
            return;
        }
        for _ in 0..SINK_TRIES {
            if let Some(child) = Self::spawn(self.port, &self.dir, None) {
                self.child = Some(child);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        panic!(
            "the SMTP sink did not start on port {} (is aiosmtpd installed? pip install aiosmtpd)",
            self.port
        )
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first, as its raw bytes.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.received().into_iter().map(|(_, m)| m).collect()
    }

    /// Every message received so far, oldest first, with when the sink
    /// took it (its file's modification time).
    pub fn received(&self) -> Vec<(std::time::SystemTime, Vec<u8>)> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .filter_map(|p| {
                let at = std::fs::metadata(p).and_then(|m| m.modified()).ok()?;
                Some((at, std::fs::read(p).ok()?))
            })
            .collect()
    }

    /// Waits up to `timeout` for at least `n` messages.
    pub async fn wait_for(&self, n: usize, timeout: std::time::Duration) -> Vec<Vec<u8>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let got = self.messages();
            if got.len() >= n || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
