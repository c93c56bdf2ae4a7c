//! `servicedesk bench --mode reports`: the KPI reports over a tenant with
//! `--tickets` tickets (a million by default) on SQLite and on PostgreSQL,
//! next to the ceiling measured on the same rows in the same run: one full
//! scan of the tenant's tickets that sums a column (the least any report
//! over all of them has to read).
//!
//! The tickets are a year of a busy desk: 95% incidents, 5% problems;
//! incidents mostly answered and resolved, some reopened, a third linked to
//! a problem, one in ten resolved with an answered survey.

use std::time::Instant;

use anyhow::Context;
use contracts::report::{GetIncidentReportV1, GetProblemReportV1, Period, ReportRangeV1};
use contracts::{Actor, Role};
use runtime::store::{Param, Store, insert_many, micros};
use runtime::testing;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::bench::ceilings::fresh_database;

/// A tiny deterministic generator: the same tickets every run.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const COLUMNS: &[&str] = &[
    "tenant_id",
    "id",
    "kind",
    "reference",
    "status",
    "priority",
    "summary",
    "summary_folded",
    "description",
    "logged_by",
    "created_at",
    "updated_at",
    "resolved_at",
    "closed_at",
    "version",
    "problem_id",
    "details",
    "first_response_at",
    "reopened",
];

/// Seeds `count` tickets for `tenant`, created over the year before `now`.
async fn seed(
    store: &Store,
    tenant: Uuid,
    count: usize,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let year = micros(now) - micros(now - Duration::days(365));
    let start = micros(now - Duration::days(365));
    let actor = serde_json::to_string(&Actor {
        role: Role::Agent,
        id: tenant,
        name: "bench".into(),
    })?;
    let problems = count / 20;
    let problem_ids: Vec<Uuid> = (0..problems).map(|_| Uuid::now_v7()).collect();
    let mut rows = Vec::with_capacity(5_000);
    let mut surveys = Vec::new();
    let mut tx = store.begin().await?;
    for n in 0..count {
        let created = start + i64::try_from(dice.below(u64::try_from(year)?))?;
        let hour = 3_600_000_000_i64;
        let is_problem = n < problems;
        let (id, kind, reference) = if is_problem {
            (problem_ids[n], "problem", format!("PRB-{:07}", n + 1))
        } else {
            (Uuid::now_v7(), "incident", format!("INC-{:07}", n + 1))
        };
        let resolved = dice.below(10) < 8;
        let resolved_at =
            resolved.then(|| created + hour + i64::try_from(dice.below(240)).unwrap_or(0) * hour);
        let status = match (is_problem, resolved) {
            (_, false) => "open",
            (true, true) => "resolved",
            (false, true) => "closed",
        };
        let details = if is_problem {
            let outcome = ["change", "known_error", "workaround", "other"][dice.below(4) as usize];
            format!(
                r#"{{"problem":{{"root_cause":null,"workaround":null,"workaround_flagged":{},"known_error":{},"outcome":{}}}}}"#,
                dice.below(3) == 0,
                dice.below(2) == 0,
                if resolved {
                    format!("\"{outcome}\"")
                } else {
                    "null".into()
                }
            )
        } else {
            "{}".to_owned()
        };
        let problem_id = (!is_problem && problems > 0 && dice.below(3) == 0)
            .then(|| problem_ids[dice.below(problems as u64) as usize].to_string());
        let first_response = (dice.below(10) < 9)
            .then(|| created + i64::try_from(dice.below(8 * 3600)).unwrap_or(0) * 1_000_000);
        if !is_problem && resolved && dice.below(10) == 0 {
            surveys.push(vec![
                Param::from(Uuid::new_v4().simple().to_string()),
                Param::from(tenant.to_string()),
                Param::from(id.to_string()),
                Param::from(micros(now)),
                Param::from(micros(now)),
                Param::from(i64::try_from(dice.below(5) + 1)?),
                Param::from(resolved_at),
            ]);
        }
        let summary = format!("bench ticket {n}");
        rows.push(vec![
            Param::from(tenant.to_string()),
            Param::from(id.to_string()),
            Param::from(kind),
            Param::from(reference),
            Param::from(status),
            Param::from(i64::try_from(dice.below(5) + 1)?),
            Param::from(summary.clone()),
            Param::from(summary),
            Param::from(""),
            Param::from(actor.clone()),
            Param::from(created),
            Param::from(resolved_at.unwrap_or(created)),
            Param::from(resolved_at),
            Param::from(None::<i64>),
            Param::from(1),
            Param::from(problem_id),
            Param::from(details),
            Param::from(first_response),
            Param::from(i64::from(resolved && dice.below(20) == 0)),
        ]);
        if rows.len() == 5_000 {
            insert_many(&mut tx, "tickets", COLUMNS, std::mem::take(&mut rows)).await?;
            tx.commit().await?;
            tx = store.begin().await?;
        }
    }
    insert_many(&mut tx, "tickets", COLUMNS, rows).await?;
    insert_many(
        &mut tx,
        "surveys",
        &[
            "token",
            "tenant_id",
            "ticket_id",
            "offered_at",
            "expires_at",
            "rating",
            "answered_at",
        ],
        surveys,
    )
    .await?;
    tx.commit().await?;
    // Fresh statistics, as a database that has lived with its rows has.
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    Ok(())
}

/// Seconds for the year's problem report, incident report, and the scan.
async fn measure(store: &Store, tenant: Uuid, now: OffsetDateTime) -> anyhow::Result<[f64; 3]> {
    let viewer = Actor {
        role: Role::Admin,
        id: tenant,
        name: "bench".into(),
    };
    let range = ReportRangeV1 {
        from: now - Duration::days(365),
        to: now + Duration::minutes(1),
        period: Period::Month,
    };
    let mut conn = store.pool().acquire().await?;
    let t = Instant::now();
    let problems = ticketing::reports::problem_report(
        &mut conn,
        tenant,
        &GetProblemReportV1 {
            viewer: viewer.clone(),
            range: range.clone(),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let problem_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let incidents = ticketing::reports::incident_report(
        &mut conn,
        tenant,
        &GetIncidentReportV1 { viewer, range },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let incident_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        incidents.volume.iter().map(|v| v.raised).sum::<u64>() > 0 && problems.resolved.total > 0,
        "the reports saw no tickets"
    );
    let t = Instant::now();
    let (n, sum): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(SUM(priority) AS BIGINT) FROM tickets WHERE tenant_id = $1",
    )
    .bind(tenant.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let scan_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(n > 0 && sum > 0, "the scan saw no tickets");
    Ok([problem_secs, incident_secs, scan_secs])
}

async fn run_on(
    store: &Store,
    tickets: usize,
    rows: &mut Vec<(String, String)>,
    name: &str,
) -> anyhow::Result<()> {
    store.migrate("runtime", runtime::MIGRATIONS).await?;
    store.migrate("ticketing", ticketing::MIGRATIONS).await?;
    let tenant = Uuid::now_v7();
    let now = OffsetDateTime::now_utc();
    let t = Instant::now();
    seed(store, tenant, tickets, now).await.context("seeding")?;
    println!(
        "{name}: seeded {tickets} tickets in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Once to warm the page cache, then the measured run.
    measure(store, tenant, now).await?;
    let [problems, incidents, scan] = measure(store, tenant, now).await?;
    rows.push((
        format!("{name}: problem management report, a year by month"),
        format!("{problems:.2} s"),
    ));
    rows.push((
        format!("{name}: incident management report, a year by month"),
        format!("{incidents:.2} s"),
    ));
    rows.push((
        format!("ceiling: {name}, one scan of the tenant's tickets (COUNT, SUM)"),
        format!("{scan:.2} s"),
    ));
    Ok(())
}

pub async fn run(tickets: usize, postgres_server: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut rows = Vec::new();
    let dir = testing::TempDir::new();
    let sqlite = Store::open_sqlite(&dir.path().join("reports.sqlite")).await?;
    run_on(&sqlite, tickets, &mut rows, "SQLite").await?;
    let url = fresh_database(postgres_server, "bench").await?;
    let pg = Store::connect(&url).await?;
    run_on(&pg, tickets, &mut rows, "PostgreSQL").await?;
    Ok(rows)
}
