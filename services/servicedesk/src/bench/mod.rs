//! `servicedesk bench`: incidents created per second end to end through the
//! HTTP edge, in both modes, with p50/p99 latency at full load and at half
//! that rate; and, in the same run, the ceilings of the parts the desk stands
//! on: SQLite and PostgreSQL inserting the same rows with the same
//! durability, RabbitMQ publishing, confirming and consuming the same
//! messages, and request/reply round trips over direct reply-to.
//!
//! `--mode reports` measures the KPI reports over a million tickets instead
//! (see [`reports`]); `--mode escalation` the SLA engine ([`escalation`]);
//! `--mode email` emails rendered and delivered ([`email`]).
//!
//! The desk under test runs as child processes of this one (the real
//! binary, as users run it); the load comes from this process over loopback.

mod ceilings;
mod email;
mod escalation;
mod load;
mod reports;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use runtime::testing;

use crate::bench::load::Stats;
use crate::process::{Served, create_tenant};

async fn tenant(exe: &Path, store_args: &[&str]) -> anyhow::Result<String> {
    Ok(create_tenant(exe, "Bench", store_args).await?.1)
}

#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// Which desk to measure.
    #[arg(long, value_enum, default_value = "both")]
    pub mode: Mode,
    /// Incidents created in the full-load phase.
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent HTTP clients in the full-load phase.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// RabbitMQ for the distributed desk and the broker ceiling (default: the
    /// tests' broker, `SERVICEDESK_TEST_AMQP_URL` or the local one).
    #[arg(long)]
    pub amqp_url: Option<String>,
    /// A PostgreSQL server on which the bench may create databases (default:
    /// the tests' server, `SERVICEDESK_TEST_DATABASE_URL` or the local one).
    #[arg(long)]
    pub postgres_url: Option<String>,
    /// Load a desk that is already running at this URL instead (with `--token`).
    #[arg(long, requires = "token")]
    pub url: Option<String>,
    /// An admin token of a tenant on the desk at `--url`.
    #[arg(long)]
    pub token: Option<String>,
    /// Ticketing replicas in distributed mode.
    #[arg(long, default_value_t = 2)]
    pub replicas: usize,
    /// Tickets of the tenant the reports run over (`--mode reports`), or
    /// open under SLA (`--mode escalation`).
    #[arg(long, default_value_t = 1_000_000)]
    pub tickets: usize,
    /// Emails rendered and delivered (`--mode email`).
    #[arg(long, default_value_t = 20_000)]
    pub emails: usize,
}

/// Incidents per transaction in the grouped ceilings: about what the
/// ticketing writer groups under full load.
const GROUP: usize = 32;

impl BenchArgs {
    fn amqp(&self) -> String {
        self.amqp_url.clone().unwrap_or_else(testing::amqp_url)
    }

    fn postgres(&self) -> String {
        self.postgres_url
            .clone()
            .unwrap_or_else(testing::postgres_server_url)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Embedded,
    Distributed,
    Both,
    /// The KPI reports over `--tickets` tickets, on SQLite and PostgreSQL.
    Reports,
    /// The escalation engine with `--tickets` open tickets under SLA.
    Escalation,
    /// `--emails` emails rendered and delivered to a local SMTP sink.
    Email,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let mut rows: Vec<(String, String)> = Vec::new();
    let exe = std::env::current_exe().context("finding the servicedesk binary")?;
    if args.mode == Mode::Escalation {
        println!(
            "servicedesk bench: escalation, {} open tickets",
            args.tickets
        );
        rows = escalation::run(args.tickets, &args.postgres()).await?;
        print_table(rows);
        return Ok(());
    }
    if args.mode == Mode::Email {
        println!("servicedesk bench: email, {} emails", args.emails);
        rows = email::run(args.emails, &args.postgres(), &args.amqp()).await?;
        print_table(rows);
        return Ok(());
    }
    if args.mode == Mode::Reports {
        println!("servicedesk bench: reports, {} tickets", args.tickets);
        rows = reports::run(args.tickets, &args.postgres()).await?;
        print_table(rows);
        return Ok(());
    }
    println!(
        "servicedesk bench: {} incidents, {} clients per run",
        args.requests, args.concurrency
    );
    if let (Some(url), Some(token)) = (&args.url, &args.token) {
        let (full, half) = measure(url, token, &args).await?;
        println!("{url}: {}", full.line());
        println!("{url} at half that rate: {}", half.line());
        return Ok(());
    }
    if matches!(args.mode, Mode::Embedded | Mode::Both) {
        let full = embedded(&exe, &args).await?;
        let (sqlite, sqlite_grouped) = ceilings::sqlite(args.requests, GROUP).await?;
        rows.push((
            "embedded: incidents created end to end".into(),
            full.0.line(),
        ));
        rows.push(("embedded: at half that rate".into(), full.1.line()));
        rows.push((
            "ceiling: SQLite (WAL, synchronous=FULL), incident + outbox row, 1 tx each".into(),
            sqlite.line(),
        ));
        rows.push((
            format!("ceiling: SQLite, the same rows, {GROUP} incidents per tx"),
            sqlite_grouped.line(),
        ));
    }
    if matches!(args.mode, Mode::Distributed | Mode::Both) {
        let full = distributed(&exe, &args).await?;
        let (pg, pg_grouped) =
            ceilings::postgres(&args.postgres(), args.requests, 16, GROUP).await?;
        let broker = ceilings::rabbitmq(&args.amqp(), args.requests).await?;
        let rpc =
            ceilings::request_reply(&args.amqp(), args.requests / 2, args.concurrency).await?;
        rows.push((
            "distributed: incidents created end to end".into(),
            full.0.line(),
        ));
        rows.push(("distributed: at half that rate".into(), full.1.line()));
        rows.push((
            "ceiling: PostgreSQL, incident + outbox row, 1 tx each, 16 clients".into(),
            pg.line(),
        ));
        rows.push((
            format!("ceiling: PostgreSQL, the same rows, {GROUP} incidents per tx, 16 clients"),
            pg_grouped.line(),
        ));
        rows.push((
            "ceiling: RabbitMQ quorum queue, publish + confirm + consume".into(),
            broker.line(),
        ));
        rows.push((
            "ceiling: bus request/reply (direct reply-to), echo handler".into(),
            rpc.line(),
        ));
    }
    print_table(rows);
    Ok(())
}

fn print_table(rows: Vec<(String, String)>) {
    println!();
    println!("| what | result |");
    println!("| --- | --- |");
    for (what, result) in rows {
        println!("| {what} | {result} |");
    }
}

/// Full load, then half of that rate.
async fn measure(base: &str, token: &str, args: &BenchArgs) -> anyhow::Result<(Stats, Stats)> {
    // Warm up connections, caches and the JIT-less but cold page cache.
    load::create_incidents(base, token, 500.min(args.requests), args.concurrency, None).await?;
    let full = load::create_incidents(base, token, args.requests, args.concurrency, None).await?;
    let half_rate = full.per_second / 2.0;
    let half_count = (args.requests / 2).max(100);
    let half =
        load::create_incidents(base, token, half_count, args.concurrency, Some(half_rate)).await?;
    Ok((full, half))
}

/// The one token's budget: the load's requests are counted against it (what
/// counting costs is measured) but never reach it.
const NO_BUDGET: &str = "100000000";

async fn embedded(exe: &Path, args: &BenchArgs) -> anyhow::Result<(Stats, Stats)> {
    let dir = testing::TempDir::new();
    let data = dir.path().display().to_string();
    let desk = Served::start(
        exe,
        &["--data-dir", &data, "--token-request-limit", NO_BUDGET],
    )
    .await?;
    let token = tenant(exe, &["--data-dir", &data]).await?;
    let stats = measure(&desk.url, &token, args).await;
    drop(desk);
    stats
}

async fn distributed(exe: &Path, args: &BenchArgs) -> anyhow::Result<(Stats, Stats)> {
    let edge_db = ceilings::fresh_database(&args.postgres(), "bench").await?;
    let ticketing_db = ceilings::fresh_database(&args.postgres(), "bench").await?;
    let prefix = testing::unique("bench");
    let mut children = Vec::new();
    for _ in 0..args.replicas.max(1) {
        children.push(
            Served::start(
                exe,
                &[
                    "--target",
                    "ticketing",
                    "--amqp-url",
                    &args.amqp(),
                    "--bus-prefix",
                    &prefix,
                    "--database-url",
                    &ticketing_db,
                ],
            )
            .await?,
        );
    }
    let edge = Served::start(
        exe,
        &[
            "--target",
            "edge",
            "--amqp-url",
            &args.amqp(),
            "--bus-prefix",
            &prefix,
            "--database-url",
            &edge_db,
            "--token-request-limit",
            NO_BUDGET,
        ],
    )
    .await?;
    let token = tenant(exe, &["--database-url", &edge_db]).await?;
    let stats = measure(&edge.url, &token, args).await;
    drop(edge);
    drop(children);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stats
}
