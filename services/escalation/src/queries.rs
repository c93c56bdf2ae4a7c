//! What the API reads of the escalation service: one ticket's SLA (its
//! targets now, and the timeline that explains them), compliance over a
//! period, and the breaches in it.

use contracts::escalation::*;
use jiff::Timestamp;
use runtime::store::{Param, bind_all, id_at, u8_at, uuid_at};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::clock::Clock;
use crate::definitions::{self, Error, Result, staff};
use crate::now::to_time;
use crate::tickets::{self, Which, from_micros};
use crate::track::Defs;

fn target_state(c: &Clock, now: Timestamp, defs: &Defs, calendar: Option<Uuid>) -> TargetStateV1 {
    let cal = calendar.and_then(|id| defs.calendars.get(&id));
    let elapsed = cal.map_or(c.elapsed, |cal| c.elapsed_at(now, cal));
    TargetStateV1 {
        state: c.state().to_owned(),
        target_minutes: c.target / 60,
        elapsed_seconds: elapsed,
        due_at: cal.and_then(|cal| c.due(c.target, cal)).map(to_time),
        met_at: c.met_at.map(to_time),
        breached: c.breached_at.is_some() || elapsed > c.target,
    }
}

pub async fn ticket_sla(
    conn: &mut AnyConnection,
    tenant: Uuid,
    cmd: &GetTicketSlaV1,
    now: Timestamp,
) -> Result<TicketSlaV1> {
    staff(&cmd.viewer, "ticket")?;
    let Some(t) = tickets::find(conn, tenant, &cmd.kind, &cmd.ticket).await? else {
        return Err(Error::not_found("ticket"));
    };
    let defs = definitions::load(conn, tenant).await?;
    let sla_version = match t.sla_id {
        Some(id) => definitions::version_of(conn, "slas", tenant, id).await?,
        None => None,
    };
    let mut timeline: Vec<SlaTimelineEntryV1> = Which::BOTH
        .into_iter()
        .filter_map(|w| Some((w, t.clock(w)?)))
        .flat_map(|(w, c)| {
            c.timeline.iter().map(move |e| SlaTimelineEntryV1 {
                at: to_time(e.at),
                target: w.as_str().to_owned(),
                step: e.step.clone(),
            })
        })
        .collect();
    timeline.sort_by_key(|e| e.at);
    let state = |w| {
        t.clock(w)
            .map(|c| target_state(c, now, &defs, t.calendar_id))
    };
    Ok(TicketSlaV1 {
        ticket_id: t.ticket_id,
        reference: t.reference.clone(),
        kind: t.kind.clone(),
        priority: t.priority,
        status: t.status.clone(),
        sla: t.sla_id.and_then(|id| {
            Some(SlaV1 {
                id,
                version: sla_version.unwrap_or(1),
                definition: defs.slas.get(&id)?.clone(),
            })
        }),
        response: state(Which::Response),
        resolve: state(Which::Resolve),
        timeline,
    })
}

/// A report's period, `[from, to)`, as the store keeps time.
struct Window {
    from: i64,
    to: i64,
}

impl Window {
    /// 400 naming `to` unless it is after `from`.
    fn new(from: time::OffsetDateTime, to: time::OffsetDateTime) -> Result<Self> {
        if to <= from {
            return Err(Error::field("to", "must be after from"));
        }
        Ok(Self {
            from: runtime::store::micros(from),
            to: runtime::store::micros(to),
        })
    }

    fn holds(&self, at: Option<i64>) -> bool {
        at.is_some_and(|t| t >= self.from && t < self.to)
    }
}

/// Rows with a target met or breached in `window`: priority, team,
/// assignee, then met and breached times of response and resolve.
async fn decided(
    conn: &mut AnyConnection,
    tenant: Uuid,
    window: &Window,
    kind: Option<&str>,
) -> Result<Vec<sqlx::any::AnyRow>> {
    let in_range = |c: &str| format!("({c} >= $2 AND {c} < $3)");
    let mut sql = format!(
        "SELECT priority, team_id, assignee_id, response_met_at, response_breached_at, \
         resolve_met_at, resolve_breached_at, ticket_id, reference, kind FROM sla_tickets \
         WHERE tenant_id = $1 AND ({} OR {} OR {} OR {})",
        in_range("response_met_at"),
        in_range("response_breached_at"),
        in_range("resolve_met_at"),
        in_range("resolve_breached_at"),
    );
    let mut params = vec![
        Param::from(tenant.to_string()),
        Param::from(window.from),
        Param::from(window.to),
    ];
    if let Some(k) = kind {
        sql.push_str(" AND kind = $4");
        params.push(Param::from(k));
    }
    Ok(bind_all(sql, params).fetch_all(&mut *conn).await?)
}

pub async fn compliance(
    conn: &mut AnyConnection,
    tenant: Uuid,
    cmd: &GetSlaComplianceV1,
) -> Result<SlaComplianceV1> {
    staff(&cmd.viewer, "report")?;
    let window = Window::new(cmd.from, cmd.to)?;
    let rows = decided(conn, tenant, &window, cmd.kind.as_deref()).await?;
    let mut total = TargetsComplianceV1::default();
    let mut by_priority: std::collections::BTreeMap<u8, TargetsComplianceV1> = Default::default();
    let mut by_team: std::collections::BTreeMap<Option<Uuid>, TargetsComplianceV1> =
        Default::default();
    for r in &rows {
        let priority = u8_at(r, "priority")?;
        let team = uuid_at(r, "team_id")?;
        for (met_col, breached_col, pick) in [
            (
                "response_met_at",
                "response_breached_at",
                (|t| &mut t.response) as fn(&mut TargetsComplianceV1) -> &mut ComplianceV1,
            ),
            ("resolve_met_at", "resolve_breached_at", |t| &mut t.resolve),
        ] {
            let met: Option<i64> = r.try_get(met_col)?;
            let breached: Option<i64> = r.try_get(breached_col)?;
            let outcome = if window.holds(breached) {
                Some(true)
            } else if window.holds(met) && breached.is_none() {
                Some(false)
            } else {
                None
            };
            if let Some(late) = outcome {
                pick(&mut total).count(late);
                pick(by_priority.entry(priority).or_default()).count(late);
                pick(by_team.entry(team).or_default()).count(late);
            }
        }
    }
    Ok(SlaComplianceV1 {
        from: cmd.from,
        to: cmd.to,
        total,
        by_priority: by_priority
            .into_iter()
            .map(|(priority, targets)| PriorityComplianceV1 { priority, targets })
            .collect(),
        by_team: by_team
            .into_iter()
            .map(|(team_id, targets)| TeamComplianceV1 { team_id, targets })
            .collect(),
    })
}

pub async fn breaches(
    conn: &mut AnyConnection,
    tenant: Uuid,
    cmd: &ListSlaBreachesV1,
) -> Result<Vec<SlaBreachV1>> {
    staff(&cmd.viewer, "report")?;
    let window = Window::new(cmd.from, cmd.to)?;
    let rows = decided(conn, tenant, &window, cmd.kind.as_deref()).await?;
    let mut out = Vec::new();
    for r in &rows {
        for (which, met_col, breached_col) in [
            ("response", "response_met_at", "response_breached_at"),
            ("resolve", "resolve_met_at", "resolve_breached_at"),
        ] {
            let breached: Option<i64> = r.try_get(breached_col)?;
            let Some(at) = breached.filter(|_| window.holds(breached)) else {
                continue;
            };
            let met: Option<i64> = r.try_get(met_col)?;
            out.push(SlaBreachV1 {
                ticket_id: id_at(r, "ticket_id")?,
                reference: r.try_get("reference")?,
                kind: r.try_get("kind")?,
                priority: u8_at(r, "priority")?,
                team_id: uuid_at(r, "team_id")?,
                assignee_id: uuid_at(r, "assignee_id")?,
                target: which.to_owned(),
                breached_at: to_time(from_micros(at)),
                met_at: met.map(|m| to_time(from_micros(m))),
            });
        }
    }
    out.sort_by_key(|b| std::cmp::Reverse(b.breached_at));
    out.truncate(MAX_BREACHES);
    Ok(out)
}
