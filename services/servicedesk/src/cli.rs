//! The command line. Every flag can also be set by the environment variable
//! named beside it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "servicedesk",
    version,
    about = "An IT service desk: incidents, SLAs, email, CMDB, inventory, monitoring."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the desk (all of it embedded, or one target against RabbitMQ + PostgreSQL).
    Serve(ServeArgs),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// The tenants' directory (companies, customers, teams, agents).
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Measure incidents created per second end to end, next to the ceilings of the parts.
    #[cfg(feature = "bench")]
    Bench(crate::bench::BenchArgs),
    /// Print the AsyncAPI document of the messages suppliers exchange with the desk.
    Asyncapi,
    /// Hand email to the desk: one message on standard input (as an MTA's
    /// pipe delivers it), or an SMTP listener with --smtp-listen.
    Mailgate(crate::mailgate::MailgateArgs),
    /// The bus's dead letters (distributed mode): list, show, replay, purge.
    #[command(subcommand)]
    DeadLetters(crate::dead_letters::DeadLettersCommand),
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints JSON with its id and first admin token.
    Create(TenantArgs),
}

#[derive(Subcommand)]
pub enum DirectoryCommand {
    /// Announce every entry again, for the services that keep a copy
    /// (notification): run it if notification first started after the edge
    /// (a running edge publishes what this writes to its outbox).
    Announce(StoreArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Every service in one process (embedded default).
    All,
    /// The HTTP edge.
    Edge,
    /// The ticketing service.
    Ticketing,
    /// The escalation service (SLAs, calendars, escalation timers).
    Escalation,
    /// The notification service (email out and in).
    Notification,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Args, Clone)]
pub struct StoreArgs {
    /// Where the embedded default keeps one SQLite file per service.
    #[arg(long, env = "SERVICEDESK_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// This target's own PostgreSQL database (distributed mode).
    #[arg(long, env = "SERVICEDESK_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, value_enum, env = "SERVICEDESK_TARGET", default_value = "all")]
    pub target: Target,
    /// Address for HTTP: the API on the edge, health and metrics on every target.
    #[arg(long, env = "SERVICEDESK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// RabbitMQ (distributed mode), e.g. amqp://guest:guest@127.0.0.1:5672/%2f
    #[arg(long, env = "SERVICEDESK_AMQP_URL")]
    pub amqp_url: Option<String>,
    /// Prefix of every exchange and queue name, so several desks can share a broker.
    #[arg(long, env = "SERVICEDESK_BUS_PREFIX", default_value = "servicedesk")]
    pub bus_prefix: String,
    /// Seconds the edge waits for a service's answer before answering 503.
    #[arg(long, env = "SERVICEDESK_REQUEST_TIMEOUT", default_value_t = 10)]
    pub request_timeout: u64,
    /// Seconds a shutdown (SIGTERM, Ctrl-C) may take to finish in-flight
    /// work; past them, or at a second signal, the process exits at once
    /// with status 1.
    #[arg(long, env = "SERVICEDESK_SHUTDOWN_GRACE", default_value_t = runtime::shutdown::DEFAULT_GRACE.as_secs())]
    pub shutdown_grace: u64,
    /// Seconds the message bus may be out of reach before `/healthz`
    /// answers 503, so an orchestrator restarts a process that does not
    /// reconnect by itself.
    #[arg(long, env = "SERVICEDESK_LIVENESS_BUS_BOUND", default_value_t = 60)]
    pub liveness_bus_bound: u64,
    /// Seconds an expired command (its caller had a 503 and retried) stays
    /// among the dead letters before the edge purges it.
    #[arg(long, env = "SERVICEDESK_EXPIRED_RETENTION", default_value_t = 86_400)]
    pub expired_retention: u64,
    /// Failed authentications one source address may have a minute before
    /// the edge answers its requests 429 until the minute ends (0: no
    /// limit).
    #[arg(long, env = "SERVICEDESK_FAILED_AUTH_LIMIT", default_value_t = edge::limits::Limits::default().failed_auth_per_minute)]
    pub failed_auth_limit: u32,
    /// Requests one API token may make a minute before the edge answers it
    /// 429 until the minute ends (0: no limit).
    #[arg(long, env = "SERVICEDESK_TOKEN_REQUEST_LIMIT", default_value_t = edge::limits::Limits::default().requests_per_token_per_minute)]
    pub token_request_limit: u32,
    /// The edge is behind a proxy that adds the client's address to
    /// `X-Forwarded-For`: the rate limits count by that address (the last
    /// one) instead of the proxy's. Only set it when every request comes
    /// through such a proxy: a client could otherwise name any address.
    #[arg(long, env = "SERVICEDESK_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    #[arg(
        long,
        value_enum,
        env = "SERVICEDESK_LOG_FORMAT",
        default_value = "json"
    )]
    pub log_format: LogFormat,
    /// Export spans over OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The SMTP relay email goes out through, e.g. smtp://127.0.0.1:25,
    /// smtps://user:pass@relay:465 or smtp://relay:587?tls=required. A
    /// tenant may set its own. Without one, emails wait in the queue.
    #[arg(long, env = "SERVICEDESK_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Certificates (PEM) to trust for SMTP relays besides the public
    /// roots: a relay whose certificate a private authority signed.
    #[arg(long, env = "SERVICEDESK_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// Tests only: escalation's clock runs ahead of the system clock by the
    /// seconds written in this file, so a test drives SLA time instead of
    /// waiting for it.
    #[arg(long, env = "SERVICEDESK_TEST_CLOCK_FILE", hide = true)]
    pub test_clock_file: Option<PathBuf>,
}

impl ServeArgs {
    /// How long the bus may be out of reach before the process is not alive.
    pub fn liveness_bound(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.liveness_bus_bound)
    }

    /// How notification sends.
    pub fn mail(&self) -> anyhow::Result<notification::Config> {
        let smtp_ca =
            match &self.smtp_ca_file {
                Some(path) => Some(std::fs::read(path).map_err(|e| {
                    anyhow::anyhow!("reading --smtp-ca-file {}: {e}", path.display())
                })?),
                None => None,
            };
        Ok(notification::Config {
            smtp_url: self.smtp_url.clone(),
            smtp_ca,
        })
    }

    /// The edge's rate limits.
    pub fn limits(&self) -> edge::limits::Limits {
        edge::limits::Limits {
            failed_auth_per_minute: self.failed_auth_limit,
            requests_per_token_per_minute: self.token_request_limit,
            forwarded_for: self.trust_forwarded_for,
        }
    }

    /// Escalation's present: the system clock, unless a test drives it.
    pub fn now(&self) -> std::sync::Arc<dyn escalation::now::Now> {
        match &self.test_clock_file {
            Some(file) => std::sync::Arc::new(escalation::now::FileOffsetNow(file.clone())),
            None => std::sync::Arc::new(escalation::now::SystemNow),
        }
    }
}

#[derive(Args)]
pub struct TenantArgs {
    /// The tenant's name (e.g. the company running the desk).
    pub name: String,
    #[command(flatten)]
    pub store: StoreArgs,
}
