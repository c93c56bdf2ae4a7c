//! `servicedesk bench --mode escalation`: the escalation engine with
//! `--tickets` open tickets under SLA, on SQLite and on PostgreSQL, next to
//! the database's own ceiling measured in the same run (plain grouped
//! inserts of as many rows).
//!
//! - events/s: tickets logged through the tracker's commit groups (each
//!   chooses the SLA, starts two clocks and places five timers), then
//!   status changes on open tickets;
//! - restart: from opening the store to the first firing pass done (the
//!   engine keeps no per-ticket state in memory: nothing else to load);
//! - firing lag: 2,000 breaches falling due over five seconds, fired by
//!   the real loop while ticket changes are applied as fast as they go (or
//!   10,000 a second, whichever is less); lag = fired − due, p50 and p99;
//! - memory: the bench process's resident set at the end (engine and
//!   database driver; SQLite's page cache included).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use contracts::escalation::*;
use contracts::{Actor, Role};
use escalation::calendar::Calendar;
use escalation::track::{Change, Event, Snapshot};
use escalation::{definitions, firing, now::SystemNow, tracker};
use jiff::{SignedDuration, Timestamp};
use runtime::bus::Bus;
use runtime::outbox::Relay;
use runtime::store::{Param, Store, insert_many};
use runtime::testing;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::bench::ceilings::fresh_database;

/// Events per commit group: what the tracker's writer takes at most.
const GROUP: usize = 512;
/// Ticket changes per second offered while the lag is measured.
const CHANGE_RATE: usize = 10_000;
/// Tickets logged between two ANALYZEs.
const CHUNK: usize = 20_000;
/// Breaches whose firing lag is measured.
const LAGGED: usize = 2_000;

async fn define(store: &Store, tenant: Uuid) -> anyhow::Result<()> {
    let admin = Actor {
        role: Role::Admin,
        id: tenant,
        name: "bench".into(),
    };
    let mut tx = store.begin().await?;
    let calendar = definitions::define_calendar(
        &mut tx,
        tenant,
        DefineCalendarV1 {
            actor: admin.clone(),
            calendar: None,
            if_version: None,
            definition: Calendar::around_the_clock("24x7"),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let timepoint = |placement| Timepoint {
        placement,
        actions: vec![Action::AlertAssignee],
    };
    let sla = definitions::define_sla(
        &mut tx,
        tenant,
        DefineSlaV1 {
            actor: admin.clone(),
            sla: None,
            if_version: None,
            definition: SlaDefinitionV1 {
                name: "Bench".into(),
                calendar_id: calendar.id,
                response_met_by: ResponseMetBy::FirstAction,
                grid: vec![GridRow {
                    priority: 3,
                    response: Target {
                        minutes: 60,
                        timepoints: vec![],
                    },
                    resolve: Target {
                        minutes: 30 * 24 * 60,
                        timepoints: vec![
                            timepoint(Placement::Before { minutes: 60 }),
                            timepoint(Placement::Target),
                            timepoint(Placement::AfterPercent { percent: 50 }),
                        ],
                    },
                }],
            },
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    definitions::set_rules(
        &mut tx,
        tenant,
        SetSlaRulesV1 {
            actor: admin,
            rules: vec![SlaRuleV1 {
                when: Conditions::default(),
                sla: sla.id,
            }],
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(())
}

fn logged(tenant: Uuid, ticket: Uuid, n: usize, at: Timestamp) -> Event {
    Event {
        tenant_id: tenant,
        ticket_id: ticket,
        at,
        version: Some(1),
        change: Change::Snapshot {
            ticket: Snapshot {
                logged_at: Some(at),
                answered: false,
                kind: "incident".into(),
                reference: format!("INC-{n:07}"),
                status: "open".into(),
                priority: 3,
                service: None,
                customer_id: None,
                company_id: None,
                assignee_id: None,
                team_id: None,
            },
            assigned_by: None,
            acted_by: None,
        },
    }
}

async fn apply_all(store: &Store, events: &[Event]) -> anyhow::Result<()> {
    for group in events.chunks(GROUP) {
        let ids: Vec<(Uuid, &Event)> = group.iter().map(|e| (Uuid::now_v7(), e)).collect();
        tracker::apply(store, &ids).await?;
    }
    Ok(())
}

/// Toggles pending/in progress on `tickets`, `n` changes from `from`.
fn changes(tenant: Uuid, tickets: &[Uuid], from: usize, n: usize) -> Vec<Event> {
    (from..from + n)
        .map(|i| Event {
            tenant_id: tenant,
            ticket_id: tickets[(i * 7919) % tickets.len()],
            at: Timestamp::now(),
            version: None,
            change: Change::Status(if i % 2 == 0 { "pending" } else { "in_progress" }.into()),
        })
        .collect()
}

/// The ceiling: `n` rows of about a ticket's size inserted in groups.
async fn ceiling(store: &Store, n: usize) -> anyhow::Result<f64> {
    sqlx::query("CREATE TABLE bench_ceiling (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        .execute(store.pool())
        .await?;
    let body = "x".repeat(600);
    let t = Instant::now();
    for group in (0..n).collect::<Vec<_>>().chunks(GROUP) {
        let mut tx = store.begin().await?;
        let rows = group
            .iter()
            .map(|_| {
                vec![
                    Param::from(Uuid::now_v7().to_string()),
                    Param::from(body.clone()),
                ]
            })
            .collect();
        insert_many(&mut tx, "bench_ceiling", &["id", "body"], rows).await?;
        tx.commit().await?;
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn run_on(
    store: Store,
    reopen: impl AsyncFnOnce() -> anyhow::Result<Store>,
    tickets: usize,
    rows: &mut Vec<(String, String)>,
    name: &str,
) -> anyhow::Result<()> {
    store.migrate("runtime", runtime::MIGRATIONS).await?;
    store.migrate("escalation", escalation::MIGRATIONS).await?;
    let tenant = Uuid::now_v7();
    define(&store, tenant).await?;
    let ids: Vec<Uuid> = (0..tickets).map(|_| Uuid::now_v7()).collect();
    let now = Timestamp::now();
    let t = Instant::now();
    for (chunk_no, chunk) in ids.chunks(CHUNK).enumerate() {
        let events: Vec<Event> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| logged(tenant, *id, chunk_no * CHUNK + i, now))
            .collect();
        apply_all(&store, &events).await?;
        // Statistics as autovacuum keeps them on a database that lives
        // with its rows; without them PostgreSQL plans for empty tables.
        sqlx::query("ANALYZE").execute(store.pool()).await?;
    }
    let logging = tickets as f64 / t.elapsed().as_secs_f64();
    println!("{name}: {tickets} tickets logged at {logging:.0} events/s");
    let ceiling = ceiling(&store, tickets.min(200_000)).await?;
    let n = tickets.min(100_000);
    let status = changes(tenant, &ids, 0, n);
    let t = Instant::now();
    apply_all(&store, &status).await?;
    let changing = n as f64 / t.elapsed().as_secs_f64();
    drop(store);

    // Restart: open, migrate (nothing to do), first firing pass.
    let t = Instant::now();
    let store = reopen().await?;
    store.migrate("runtime", runtime::MIGRATIONS).await?;
    store.migrate("escalation", escalation::MIGRATIONS).await?;
    firing::fire_due(&store, Timestamp::now(), firing::MAX_FIRE).await?;
    let restart = t.elapsed().as_secs_f64();

    // Breaches falling due over the next five seconds: their response
    // clock (60 min) started just under an hour ago.
    let lagged: Vec<Uuid> = (0..LAGGED).map(|_| Uuid::now_v7()).collect();
    let start = Timestamp::now() - SignedDuration::from_mins(60) + SignedDuration::from_secs(2);
    let events: Vec<Event> = lagged
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let spread = SignedDuration::from_millis(i as i64 * 5_000 / LAGGED as i64);
            logged(tenant, *id, tickets + i, start + spread)
        })
        .collect();
    apply_all(&store, &events).await?;
    let bus: Arc<dyn Bus> = Arc::new(runtime::bus::embedded::EmbeddedBus::new());
    let relay = Relay::new(store.clone(), bus);
    let stop = CancellationToken::new();
    let firer = tokio::spawn(firing::run(
        store.clone(),
        Arc::new(SystemNow),
        relay,
        Arc::new(Notify::new()),
        stop.clone(),
    ));
    // Ticket changes meanwhile, at up to CHANGE_RATE a second.
    let t = Instant::now();
    let mut applied = 0;
    while t.elapsed() < Duration::from_secs(8) {
        let second = Instant::now();
        let batch = changes(tenant, &ids, n + applied, CHANGE_RATE / 10);
        apply_all(&store, &batch).await?;
        applied += batch.len();
        if let Some(rest) = Duration::from_millis(100).checked_sub(second.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    let under_load = applied as f64 / t.elapsed().as_secs_f64();
    stop.cancel();
    firer.await?;
    let mut lags: Vec<f64> = Vec::with_capacity(LAGGED);
    for chunk in lagged.chunks(1000) {
        let sql = format!(
            "SELECT due_at, fired_at FROM timers WHERE timepoint = -1 AND target = 'response' \
             AND ticket_id IN ({})",
            runtime::store::placeholders(1, chunk.len())
        );
        let params = chunk.iter().map(|id| Param::from(id.to_string())).collect();
        for r in runtime::store::bind_all(sql, params)
            .fetch_all(store.pool())
            .await?
        {
            use sqlx::Row;
            let due: i64 = r.try_get("due_at")?;
            let fired: Option<i64> = r.try_get("fired_at")?;
            let fired = fired.context("a breach did not fire")?;
            lags.push((fired - due) as f64 / 1e6);
        }
    }
    anyhow::ensure!(lags.len() == LAGGED, "every measured breach fired");
    lags.sort_by(f64::total_cmp);
    let timers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timers WHERE fired_at IS NULL")
        .fetch_one(store.pool())
        .await?;
    println!("{name}: {timers} timers waiting");
    for (what, value) in [
        (
            format!("{name}: tickets logged under SLA (tracker groups)"),
            format!("{logging:.0} events/s"),
        ),
        (
            format!("{name}: status changes on {tickets} open tickets"),
            format!("{changing:.0} events/s"),
        ),
        (
            format!("ceiling: {name}, plain grouped inserts of 600-byte rows"),
            format!("{ceiling:.0} rows/s"),
        ),
        (
            format!("{name}: restart to first firing pass"),
            format!("{:.0} ms", restart * 1000.0),
        ),
        (
            format!("{name}: changes applied while firing (offered {CHANGE_RATE}/s)"),
            format!("{under_load:.0} events/s"),
        ),
        (
            format!("{name}: firing lag p50 / p99 ({LAGGED} breaches)"),
            format!(
                "{:.0} ms / {:.0} ms",
                percentile(&lags, 0.5) * 1000.0,
                percentile(&lags, 0.99) * 1000.0
            ),
        ),
        (
            format!("{name}: bench process resident memory"),
            format!("{:.0} MiB", resident_mib()),
        ),
    ] {
        rows.push((what, value));
    }
    Ok(())
}

pub async fn run(tickets: usize, postgres_server: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut rows = Vec::new();
    let dir = testing::TempDir::new();
    let path = dir.path().join("escalation.sqlite");
    let sqlite = Store::open_sqlite(&path).await?;
    run_on(
        sqlite,
        async || Ok(Store::open_sqlite(&path).await?),
        tickets,
        &mut rows,
        "SQLite",
    )
    .await?;
    let url = fresh_database(postgres_server, "bench").await?;
    let pg = Store::connect(&url).await?;
    run_on(
        pg,
        async || Ok(Store::connect(&url).await?),
        tickets,
        &mut rows,
        "PostgreSQL",
    )
    .await?;
    Ok(rows)
}
