//! KPI reports, computed in the database so that a tenant with millions of
//! tickets gets its report in seconds: counts per day with `GROUP BY`,
//! sums and one indexed `ORDER BY … OFFSET` for each 90th percentile, and
//! only the listings (resolved problems, unresolved problems and their
//! actions) as rows. Days roll up into weeks or months here.
//!
//! The problem management report follows the seed documents: problems
//! raised against incidents raised, problems resolved by outcome with their
//! linked incidents and a summary listing, days open for each unresolved
//! problem, and the activity on each since the start of the range.

use std::collections::{BTreeMap, HashMap};

use contracts::limits::{MAX_REPORT_DAYS, MAX_REPORT_LISTED};
use contracts::report::*;
use contracts::ticket::{ProblemDetailsV1, ProblemOutcome, TicketKind};
use contracts::{Actor, Role};
use runtime::store::{Param, bind_all, from_micros, micros, placeholders, u8_at};
use sqlx::{AnyConnection, Row};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::tickets::json_col;

const DAY_MICROS: i64 = 86_400_000_000;

fn check(viewer: &Actor, range: &ReportRangeV1) -> Result<()> {
    if viewer.role == Role::Customer {
        return Err(Error::not_found("report"));
    }
    if range.to <= range.from {
        return Err(Error::field("to", "must be after from"));
    }
    if (range.to - range.from).whole_days() > MAX_REPORT_DAYS {
        return Err(Error::field(
            "to",
            format!("at most {MAX_REPORT_DAYS} days after from"),
        ));
    }
    Ok(())
}

/// The first day of the period `day` falls in.
fn period_start(day: Date, period: Period) -> Date {
    match period {
        Period::Day => day,
        Period::Week => day - Duration::days(i64::from(day.weekday().number_days_from_monday())),
        Period::Month => day.replace_day(1).unwrap_or(day),
    }
}

/// Every period the range touches, in order, each with zeroed counters.
fn periods<T: Default>(range: &ReportRangeV1) -> BTreeMap<Date, T> {
    let mut out = BTreeMap::new();
    let last = (range.to - Duration::MICROSECOND).date();
    let mut day = range.from.date();
    while day <= last {
        out.entry(period_start(day, range.period))
            .or_insert_with(T::default);
        day = match day.next_day() {
            Some(d) => d,
            None => break,
        };
    }
    out
}

fn epoch_day(n: i64) -> Date {
    (OffsetDateTime::UNIX_EPOCH + Duration::days(n)).date()
}

/// Tickets of `kind` by the UTC day their `column` falls on in the range.
async fn per_day(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: TicketKind,
    column: &str,
    range: &ReportRangeV1,
) -> Result<Vec<(Date, u64)>> {
    let sql = format!(
        "SELECT {column} / {DAY_MICROS} AS day, COUNT(*) AS ticket_count FROM tickets \
         WHERE tenant_id = $1 AND kind = $2 AND {column} >= $3 AND {column} < $4 GROUP BY 1"
    );
    let rows = bind_all(
        sql,
        vec![
            tenant.to_string().into(),
            kind.as_str().into(),
            micros(range.from).into(),
            micros(range.to).into(),
        ],
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let day: i64 = r.try_get("day")?;
            let n: i64 = r.try_get("ticket_count")?;
            Ok((epoch_day(day), u64::try_from(n).unwrap_or(0)))
        })
        .collect::<sqlx::Result<_>>()
        .map_err(Error::from)
}

fn label(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub async fn problem_report(
    conn: &mut AnyConnection,
    tenant: Uuid,
    cmd: &GetProblemReportV1,
) -> Result<ProblemReportV1> {
    check(&cmd.viewer, &cmd.range)?;
    let range = &cmd.range;
    let mut trend: BTreeMap<Date, (u64, u64)> = periods(range);
    for (day, n) in per_day(conn, tenant, TicketKind::Problem, "created_at", range).await? {
        trend.entry(period_start(day, range.period)).or_default().0 += n;
    }
    for (day, n) in per_day(conn, tenant, TicketKind::Incident, "created_at", range).await? {
        trend.entry(period_start(day, range.period)).or_default().1 += n;
    }
    Ok(ProblemReportV1 {
        range: range.clone(),
        trend: trend
            .into_iter()
            .map(|(d, (problems, incidents))| TrendPointV1 {
                period: label(d),
                problems_raised: problems,
                incidents_raised: incidents,
            })
            .collect(),
        resolved: resolved_problems(conn, tenant, range).await?,
        days_open: days_open(conn, tenant, range).await?,
        activity: activity(conn, tenant, range).await?,
    })
}

async fn resolved_problems(
    conn: &mut AnyConnection,
    tenant: Uuid,
    range: &ReportRangeV1,
) -> Result<ProblemsResolvedV1> {
    let window = vec![
        Param::from(tenant.to_string()),
        Param::from(micros(range.from)),
        Param::from(micros(range.to)),
    ];
    let resolved_in_range = "SELECT id FROM tickets WHERE tenant_id = $1 AND kind = 'problem' \
        AND resolved_at >= $2 AND resolved_at < $3 AND status IN ('resolved', 'closed')";
    let linked: HashMap<String, i64> = bind_all(
        format!(
            "SELECT problem_id, COUNT(*) AS linked_incidents FROM tickets WHERE tenant_id = $1 \
             AND problem_id IN ({resolved_in_range}) GROUP BY problem_id"
        ),
        window.clone(),
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("problem_id")?, r.try_get("linked_incidents")?)))
    .collect::<sqlx::Result<_>>()?;
    let rows = bind_all(
        "SELECT id, reference, priority, summary, details FROM tickets WHERE tenant_id = $1 \
         AND kind = 'problem' AND resolved_at >= $2 AND resolved_at < $3 \
         AND status IN ('resolved', 'closed') ORDER BY resolved_at, id"
            .to_owned(),
        window,
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = ProblemsResolvedV1 {
        total: 0,
        by_change: 0,
        known_error: 0,
        workaround: 0,
        other: 0,
        reached_known_error: 0,
        workaround_flagged: 0,
        linked_incidents: 0,
        problems: Vec::new(),
    };
    #[derive(serde::Deserialize, Default)]
    struct Details {
        #[serde(default)]
        problem: Option<ProblemDetailsV1>,
    }
    for r in &rows {
        let id: String = r.try_get("id")?;
        let details: Details = json_col(r, "details")?;
        let p = details.problem.unwrap_or_default();
        let n = u64::try_from(linked.get(&id).copied().unwrap_or(0)).unwrap_or(0);
        out.total += 1;
        match p.outcome {
            Some(ProblemOutcome::Change) => out.by_change += 1,
            Some(ProblemOutcome::KnownError) => out.known_error += 1,
            Some(ProblemOutcome::Workaround) => out.workaround += 1,
            Some(ProblemOutcome::Other) | None => out.other += 1,
        }
        out.reached_known_error += u64::from(p.known_error);
        out.workaround_flagged += u64::from(p.workaround_flagged);
        out.linked_incidents += n;
        if out.problems.len() < MAX_REPORT_LISTED {
            out.problems.push(ResolvedProblemV1 {
                reference: r.try_get("reference")?,
                priority: u8_at(r, "priority")?,
                summary: r.try_get("summary")?,
                outcome: p.outcome,
                linked_incidents: n,
            });
        }
    }
    Ok(out)
}

/// Problems open at the end of the range ($2): logged before it, and not
/// resolved before it (reopening clears `resolved_at`).
const UNRESOLVED: &str = "tenant_id = $1 AND kind = 'problem' AND created_at < $2 \
    AND (resolved_at IS NULL OR resolved_at >= $2)";

async fn days_open(
    conn: &mut AnyConnection,
    tenant: Uuid,
    range: &ReportRangeV1,
) -> Result<Vec<DaysOpenV1>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT reference, priority, summary, status, created_at FROM tickets WHERE {UNRESOLVED} \
         ORDER BY created_at, id LIMIT {MAX_REPORT_LISTED}"
    )))
    .bind(tenant.to_string())
    .bind(micros(range.to))
    .fetch_all(&mut *conn)
    .await?;
    // Counted to the end of the range, or to now for a range still running.
    let until = range.to.min(runtime::store::now());
    rows.iter()
        .map(|r| {
            let opened = from_micros(r.try_get("created_at")?);
            Ok(DaysOpenV1 {
                reference: r.try_get("reference")?,
                priority: u8_at(r, "priority")?,
                summary: r.try_get("summary")?,
                status: r.try_get("status")?,
                days_open: u64::try_from((until - opened).whole_days()).unwrap_or(0),
            })
        })
        .collect::<sqlx::Result<_>>()
        .map_err(Error::from)
}

async fn activity(
    conn: &mut AnyConnection,
    tenant: Uuid,
    range: &ReportRangeV1,
) -> Result<Vec<ProblemActivityV1>> {
    let problems = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, reference, summary, status FROM tickets WHERE {UNRESOLVED} \
         ORDER BY created_at, id LIMIT {MAX_REPORT_LISTED}"
    )))
    .bind(tenant.to_string())
    .bind(micros(range.to))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(problems.len());
    let mut index = HashMap::with_capacity(problems.len());
    for r in &problems {
        index.insert(r.try_get::<String, _>("id")?, out.len());
        out.push(ProblemActivityV1 {
            reference: r.try_get("reference")?,
            summary: r.try_get("summary")?,
            status: r.try_get("status")?,
            actions: Vec::new(),
        });
    }
    if index.is_empty() {
        return Ok(out);
    }
    // By the listed problems' ids: each through the actions-by-ticket index,
    // whatever else the tenant did in the range.
    let ids: Vec<String> = index.keys().cloned().collect();
    let sql = format!(
        "SELECT ticket_id, created_at, author, body FROM ticket_actions \
         WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 AND ticket_id IN ({}) \
         ORDER BY created_at, id LIMIT {}",
        placeholders(4, ids.len()),
        MAX_REPORT_LISTED * 20
    );
    let mut args = vec![
        Param::from(tenant.to_string()),
        Param::from(micros(range.from)),
        Param::from(micros(range.to)),
    ];
    args.extend(ids.into_iter().map(Param::from));
    let actions = bind_all(sql, args).fetch_all(&mut *conn).await?;
    for a in &actions {
        let ticket: String = a.try_get("ticket_id")?;
        let Some(&i) = index.get(&ticket) else {
            continue;
        };
        let author: Actor = json_col(a, "author")?;
        let body: String = a.try_get("body")?;
        out[i].actions.push(ActivityLineV1 {
            at: from_micros(a.try_get("created_at")?),
            author: author.name,
            text: body
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect(),
        });
    }
    Ok(out)
}

pub async fn incident_report(
    conn: &mut AnyConnection,
    tenant: Uuid,
    cmd: &GetIncidentReportV1,
) -> Result<IncidentReportV1> {
    check(&cmd.viewer, &cmd.range)?;
    let range = &cmd.range;
    let mut volume: BTreeMap<Date, (u64, u64)> = periods(range);
    for (day, n) in per_day(conn, tenant, TicketKind::Incident, "created_at", range).await? {
        volume.entry(period_start(day, range.period)).or_default().0 += n;
    }
    for (day, n) in per_day(conn, tenant, TicketKind::Incident, "resolved_at", range).await? {
        volume.entry(period_start(day, range.period)).or_default().1 += n;
    }
    let first_response = durations(
        conn,
        tenant,
        range,
        "first_response_at",
        "created_at >= $2 AND created_at < $3 AND first_response_at IS NOT NULL",
    )
    .await?;
    let resolve = durations(
        conn,
        tenant,
        range,
        "resolved_at",
        "resolved_at >= $2 AND resolved_at < $3",
    )
    .await?;
    let row = sqlx::query(
        "SELECT \
         COALESCE(SUM(CASE WHEN resolved_at IS NOT NULL OR reopened > 0 THEN 1 ELSE 0 END), 0) \
         AS resolved_count, \
         COALESCE(SUM(CASE WHEN reopened > 0 THEN 1 ELSE 0 END), 0) AS reopened_count \
         FROM tickets \
         WHERE tenant_id = $1 AND kind = 'incident' AND created_at >= $2 AND created_at < $3",
    )
    .bind(tenant.to_string())
    .bind(micros(range.from))
    .bind(micros(range.to))
    .fetch_one(&mut *conn)
    .await?;
    let count = |col: &str| -> sqlx::Result<u64> {
        // SUM is NUMERIC on PostgreSQL and INTEGER on SQLite.
        let n: i64 = row
            .try_get(col)
            .or_else(|_| row.try_get::<f64, _>(col).map(|f| f as i64))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let (resolved, reopened) = (count("resolved_count")?, count("reopened_count")?);
    Ok(IncidentReportV1 {
        range: range.clone(),
        volume: volume
            .into_iter()
            .map(|(d, (raised, resolved))| VolumePointV1 {
                period: label(d),
                raised,
                resolved,
            })
            .collect(),
        first_response,
        resolve,
        resolved,
        reopened,
        reopen_rate: (resolved > 0).then(|| reopened as f64 / resolved as f64),
        satisfaction: satisfaction(conn, tenant, range).await?,
        time_spent_minutes: time_spent(conn, tenant, range).await?,
    })
}

/// The minutes of work recorded on incidents' actions added in `range`.
async fn time_spent(conn: &mut AnyConnection, tenant: Uuid, range: &ReportRangeV1) -> Result<u64> {
    let minutes: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(a.minutes), 0) AS BIGINT) FROM ticket_actions a \
         JOIN tickets t ON t.id = a.ticket_id \
         WHERE a.tenant_id = $1 AND a.created_at >= $2 AND a.created_at < $3 \
         AND a.minutes IS NOT NULL AND t.kind = 'incident'",
    )
    .bind(tenant.to_string())
    .bind(micros(range.from))
    .bind(micros(range.to))
    .fetch_one(&mut *conn)
    .await?;
    Ok(minutes.unsigned_abs())
}

/// Count, mean and 90th percentile of `end - created_at` (in seconds) over
/// the incidents `filter` selects ($1 tenant, $2 from, $3 to).
async fn durations(
    conn: &mut AnyConnection,
    tenant: Uuid,
    range: &ReportRangeV1,
    end: &str,
    filter: &str,
) -> Result<DurationsV1> {
    let seconds = format!("(({end} - created_at) / 1000000)");
    let from_where =
        format!("FROM tickets WHERE tenant_id = $1 AND kind = 'incident' AND {filter}");
    let args = || {
        vec![
            Param::from(tenant.to_string()),
            Param::from(micros(range.from)),
            Param::from(micros(range.to)),
        ]
    };
    let row = bind_all(
        format!(
            "SELECT COUNT(*) AS incident_count, \
             CAST(COALESCE(SUM({seconds}), 0) AS BIGINT) AS total_seconds {from_where}"
        ),
        args(),
    )
    .fetch_one(&mut *conn)
    .await?;
    let count: i64 = row.try_get("incident_count")?;
    let sum: i64 = row.try_get("total_seconds")?;
    if count == 0 {
        return Ok(DurationsV1 {
            count: 0,
            mean_seconds: None,
            p90_seconds: None,
        });
    }
    // The smallest duration at or above 90% of them (nearest rank).
    let rank = (count * 9 + 9) / 10 - 1;
    let p90: i64 = bind_all(
        format!("SELECT {seconds} AS d {from_where} ORDER BY d LIMIT 1 OFFSET {rank}"),
        args(),
    )
    .fetch_one(&mut *conn)
    .await?
    .try_get("d")?;
    Ok(DurationsV1 {
        count: u64::try_from(count).unwrap_or(0),
        mean_seconds: Some(sum as f64 / count as f64),
        p90_seconds: Some(p90),
    })
}

async fn satisfaction(
    conn: &mut AnyConnection,
    tenant: Uuid,
    range: &ReportRangeV1,
) -> Result<SatisfactionV1> {
    let rows = sqlx::query(
        "SELECT rating, COUNT(*) AS survey_count FROM surveys WHERE tenant_id = $1 \
         AND answered_at >= $2 AND answered_at < $3 GROUP BY rating",
    )
    .bind(tenant.to_string())
    .bind(micros(range.from))
    .bind(micros(range.to))
    .fetch_all(&mut *conn)
    .await?;
    let mut ratings = [0u64; 5];
    for r in &rows {
        let rating: i64 = r.try_get("rating")?;
        let n: i64 = r.try_get("survey_count")?;
        if let Some(slot) = usize::try_from(rating - 1)
            .ok()
            .and_then(|i| ratings.get_mut(i))
        {
            *slot += u64::try_from(n).unwrap_or(0);
        }
    }
    let responses: u64 = ratings.iter().sum();
    let total: u64 = ratings
        .iter()
        .enumerate()
        .map(|(i, n)| (i as u64 + 1) * n)
        .sum();
    Ok(SatisfactionV1 {
        responses,
        mean_rating: (responses > 0).then(|| total as f64 / responses as f64),
        ratings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Weekday;
    use time::macros::datetime;

    #[test]
    fn periods_cover_the_range_on_calendar_boundaries() {
        let range = |period| ReportRangeV1 {
            from: datetime!(2026-01-28 10:00 UTC),
            to: datetime!(2026-03-01 00:00 UTC),
            period,
        };
        let months: Vec<String> = periods::<u8>(&range(Period::Month))
            .into_keys()
            .map(label)
            .collect();
        assert_eq!(months, ["2026-01-01", "2026-02-01"], "to is exclusive");
        let weeks: Vec<String> = periods::<u8>(&range(Period::Week))
            .into_keys()
            .map(label)
            .collect();
        assert_eq!(
            weeks.first().map(String::as_str),
            Some("2026-01-26"),
            "a Monday"
        );
        assert_eq!(weeks.len(), 5);
        assert_eq!(periods::<u8>(&range(Period::Day)).len(), 32);
        assert_eq!(
            period_start(
                Date::from_calendar_date(2026, time::Month::March, 1).expect("date"),
                Period::Week
            )
            .weekday(),
            Weekday::Monday
        );
    }
}
