//! Changes: the plan a change is requested with, the approvers' decisions,
//! and the change calendar with its conflicts.
//!
//! A change is approved by its named approvers: all of them, or any one,
//! as its approval rule says. One rejection rejects it. Two changes
//! conflict when both are approved (or scheduled, or being implemented),
//! their windows overlap, and they touch an item in common.

use std::collections::BTreeSet;

use contracts::ticket::*;
use contracts::{Actor, Envelope, ErrorBody, ErrorCode};
use runtime::store::micros;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::batch::Batch;
use crate::batch::Change;
use crate::desk::{announce, refused, save, staff};
use crate::error::{Error, Result};
use crate::tickets;
use crate::validate::{MAX_SUMMARY, MAX_TEXT, check_text};
use contracts::limits::{MAX_AFFECTED_ITEMS, MAX_APPROVERS, MAX_CALENDAR_DAYS};

/// Statuses in which a change holds its window.
const HOLDS_WINDOW: &[&str] = &["approved", "scheduled", "implementing"];

/// Checks a new change's plan; returns its details and the incidents and
/// problems it resolves (each to be linked `resolved_by` the change).
pub async fn plan(
    tx: &mut AnyConnection,
    tenant: Uuid,
    plan: &ChangePlanV1,
    actor: &Actor,
) -> Result<(ChangeDetailsV1, Vec<TicketV1>)> {
    check_text("change.reason", &plan.reason, MAX_TEXT, true)?;
    check_text(
        "change.impact_assessment",
        &plan.impact_assessment,
        MAX_TEXT,
        false,
    )?;
    check_text(
        "change.risk_assessment",
        &plan.risk_assessment,
        MAX_TEXT,
        false,
    )?;
    check_text("change.backout_plan", &plan.backout_plan, MAX_TEXT, true)?;
    if plan.planned_end <= plan.planned_start {
        return Err(Error::field(
            "change.planned_end",
            "must be after planned_start",
        ));
    }
    if plan.approvers.is_empty() || plan.approvers.len() > MAX_APPROVERS {
        return Err(Error::field(
            "change.approvers",
            format!("1 to {MAX_APPROVERS} approvers"),
        ));
    }
    if plan.approvers.iter().collect::<BTreeSet<_>>().len() != plan.approvers.len() {
        return Err(Error::field(
            "change.approvers",
            "an approver is named twice",
        ));
    }
    if plan.affected_items.len() > MAX_AFFECTED_ITEMS {
        return Err(Error::field(
            "change.affected_items",
            format!("at most {MAX_AFFECTED_ITEMS} items"),
        ));
    }
    for (n, item) in plan.affected_items.iter().enumerate() {
        check_text(
            &format!("change.affected_items[{n}]"),
            item,
            MAX_SUMMARY,
            true,
        )?;
    }
    let mut resolves = Vec::new();
    for (field, kind, keys) in [
        ("change.incidents", TicketKind::Incident, &plan.incidents),
        ("change.problems", TicketKind::Problem, &plan.problems),
    ] {
        for (n, key) in keys.iter().enumerate() {
            let field = format!("{field}[{n}]");
            let t = tickets::find_named(tx, tenant, kind, key, actor, &field).await?;
            if !resolves.iter().any(|r: &TicketV1| r.id == t.id) {
                resolves.push(t);
            }
        }
    }
    let details = ChangeDetailsV1 {
        reason: plan.reason.clone(),
        impact_assessment: plan.impact_assessment.clone(),
        risk: plan.risk,
        risk_assessment: plan.risk_assessment.clone(),
        backout_plan: plan.backout_plan.clone(),
        planned_start: plan.planned_start,
        planned_end: plan.planned_end,
        affected_items: plan
            .affected_items
            .iter()
            .map(|i| i.trim().to_owned())
            .collect(),
        approval: plan.approval,
        approvals: plan
            .approvers
            .iter()
            .map(|a| ApprovalV1 {
                approver_id: *a,
                decision: None,
                comment: None,
                decided_at: None,
            })
            .collect(),
        review: None,
        backout_reason: None,
        conflicts_with: Vec::new(),
    };
    Ok((details, resolves))
}

/// Statuses in which a change's plan may still be edited.
const REPLANNABLE: &[&str] = &["requested", "approved", "scheduled"];

/// Edits a change's plan: checked as a new plan is, every decision undone,
/// and an approved or scheduled change `requested` again.
pub async fn replan(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: ReplanChangeV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    let tenant = env.tenant_id;
    staff(&cmd.actor, TicketKind::Change)?;
    let mut t = tickets::find(tx, tenant, TicketKind::Change, &cmd.change, &cmd.actor).await?;
    crate::desk::still_at(&t, cmd.if_version)?;
    if !REPLANNABLE.contains(&t.status.as_str()) {
        return Err(refused(&t, "replan"));
    }
    let Some(old) = t.change.clone() else {
        return Err(Error::not_found("change"));
    };
    let p = cmd.plan;
    let merged = ChangePlanV1 {
        reason: p.reason.unwrap_or_else(|| old.reason.clone()),
        impact_assessment: p
            .impact_assessment
            .unwrap_or_else(|| old.impact_assessment.clone()),
        risk: p.risk.unwrap_or(old.risk),
        risk_assessment: p
            .risk_assessment
            .unwrap_or_else(|| old.risk_assessment.clone()),
        backout_plan: p.backout_plan.unwrap_or_else(|| old.backout_plan.clone()),
        planned_start: p.planned_start.unwrap_or(old.planned_start),
        planned_end: p.planned_end.unwrap_or(old.planned_end),
        affected_items: p
            .affected_items
            .unwrap_or_else(|| old.affected_items.clone()),
        approval: p.approval.unwrap_or(old.approval),
        approvers: p
            .approvers
            .unwrap_or_else(|| old.approvals.iter().map(|a| a.approver_id).collect()),
        incidents: Vec::new(),
        problems: Vec::new(),
    };
    let (details, _) = plan(tx, tenant, &merged, &cmd.actor).await?;
    let changed = what_changed(&old, &details);
    if changed.is_empty() {
        return Ok(t);
    }
    let mut audit = vec![Change {
        change: "plan",
        from: None,
        to: Some(changed.join(", ")),
    }];
    if t.status != "requested" {
        audit.push(Change {
            change: "status",
            from: Some(t.status.clone()),
            to: Some("requested".to_owned()),
        });
        t.status = "requested".to_owned();
    }
    t.change = Some(details);
    save(tx, batch, tenant, &mut t, &cmd.actor, now, audit).await?;
    announce(batch, env, &t, "replanned", &cmd.actor, None);
    Ok(t)
}

/// The parts of a plan that differ between `old` and `new`, by name.
fn what_changed(old: &ChangeDetailsV1, new: &ChangeDetailsV1) -> Vec<&'static str> {
    let approvers =
        |d: &ChangeDetailsV1| -> Vec<Uuid> { d.approvals.iter().map(|a| a.approver_id).collect() };
    [
        ("reason", old.reason != new.reason),
        (
            "impact_assessment",
            old.impact_assessment != new.impact_assessment,
        ),
        ("risk", old.risk != new.risk),
        (
            "risk_assessment",
            old.risk_assessment != new.risk_assessment,
        ),
        ("backout_plan", old.backout_plan != new.backout_plan),
        ("planned_start", old.planned_start != new.planned_start),
        ("planned_end", old.planned_end != new.planned_end),
        ("affected_items", old.affected_items != new.affected_items),
        ("approval", old.approval != new.approval),
        ("approvers", approvers(old) != approvers(new)),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect()
}

/// Says on `t` (a change holding its window now) which other changes
/// holding theirs conflict with it: a warning on the answer, not kept.
pub async fn warn_conflicts(tx: &mut AnyConnection, tenant: Uuid, t: &mut TicketV1) -> Result<()> {
    let Some(d) = t.change.as_ref() else {
        return Ok(());
    };
    if !HOLDS_WINDOW.contains(&t.status.as_str()) {
        return Ok(());
    }
    let mut changes: Vec<TicketV1> =
        tickets::changes_between(tx, tenant, micros(d.planned_start), micros(d.planned_end))
            .await?
            .into_iter()
            .filter(|c| c.id != t.id)
            .collect();
    changes.push(t.clone());
    let with: Vec<String> = conflicts(&changes)
        .into_iter()
        .filter_map(|c| {
            let [a, b] = c.changes;
            if a == t.reference {
                Some(b)
            } else if b == t.reference {
                Some(a)
            } else {
                None
            }
        })
        .collect();
    if let Some(d) = t.change.as_mut() {
        d.conflicts_with = with;
    }
    Ok(())
}

pub async fn decide(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: DecideChangeV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    let tenant = env.tenant_id;
    staff(&cmd.actor, TicketKind::Change)?;
    if let Some(c) = &cmd.comment {
        check_text("comment", c, MAX_TEXT, false)?;
    }
    let mut t = tickets::find(tx, tenant, TicketKind::Change, &cmd.change, &cmd.actor).await?;
    if t.status != "requested" {
        return Err(refused(&t, "decide on"));
    }
    let Some(details) = t.change.as_mut() else {
        return Err(Error::not_found("change"));
    };
    let Some(approval) = details
        .approvals
        .iter_mut()
        .find(|a| a.approver_id == cmd.actor.id)
    else {
        return Err(Error::Refused(ErrorBody::new(
            ErrorCode::Forbidden,
            "only the change's named approvers decide on it",
        )));
    };
    if approval.decision.is_some() {
        return Err(Error::Refused(ErrorBody::new(
            ErrorCode::Conflict,
            "you have already decided on this change",
        )));
    }
    approval.decision = Some(cmd.decision);
    approval.comment = cmd.comment.filter(|c| !c.trim().is_empty());
    approval.decided_at = Some(now);
    let approved = |a: &ApprovalV1| a.decision == Some(Decision::Approve);
    let outcome = match (cmd.decision, details.approval) {
        (Decision::Reject, _) => Some("rejected"),
        (Decision::Approve, ApprovalRule::Any) => Some("approved"),
        (Decision::Approve, ApprovalRule::All) => {
            details.approvals.iter().all(approved).then_some("approved")
        }
    };
    let decision = match cmd.decision {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    };
    let mut audit = vec![Change {
        change: "approval",
        from: None,
        to: Some(format!("{decision} by {}", cmd.actor.name)),
    }];
    if let Some(status) = outcome {
        audit.push(Change {
            change: "status",
            from: Some(t.status.clone()),
            to: Some(status.to_owned()),
        });
        t.status = status.to_owned();
        if status == "rejected" {
            t.closed_at = Some(now);
        }
    }
    save(tx, batch, tenant, &mut t, &cmd.actor, now, audit).await?;
    announce(batch, env, &t, "approval", &cmd.actor, None);
    warn_conflicts(tx, tenant, &mut t).await?;
    Ok(t)
}

pub async fn calendar(
    conn: &mut AnyConnection,
    tenant: Uuid,
    cmd: &GetChangeCalendarV1,
) -> Result<ChangeCalendarV1> {
    staff(&cmd.viewer, TicketKind::Change)?;
    if cmd.to <= cmd.from {
        return Err(Error::field("to", "must be after from"));
    }
    if (cmd.to - cmd.from).whole_days() > MAX_CALENDAR_DAYS {
        return Err(Error::field(
            "to",
            format!("at most {MAX_CALENDAR_DAYS} days after from"),
        ));
    }
    let changes: Vec<TicketV1> =
        tickets::changes_between(conn, tenant, micros(cmd.from), micros(cmd.to))
            .await?
            .into_iter()
            .filter(|c| !matches!(c.status.as_str(), "rejected" | "cancelled"))
            .collect();
    Ok(ChangeCalendarV1 {
        conflicts: conflicts(&changes),
        changes,
    })
}

/// Pairs of window-holding changes that overlap in time on a common item.
pub fn conflicts(changes: &[TicketV1]) -> Vec<ConflictV1> {
    let holding: Vec<(&TicketV1, &ChangeDetailsV1, BTreeSet<String>)> = changes
        .iter()
        .filter(|c| HOLDS_WINDOW.contains(&c.status.as_str()))
        .filter_map(|c| {
            let d = c.change.as_ref()?;
            let items = d.affected_items.iter().map(|i| i.to_lowercase()).collect();
            Some((c, d, items))
        })
        .collect();
    let mut out = Vec::new();
    for (n, (a, da, ia)) in holding.iter().enumerate() {
        for (b, db, ib) in &holding[n + 1..] {
            let overlap = da.planned_start < db.planned_end && db.planned_start < da.planned_end;
            if !overlap {
                continue;
            }
            let common: Vec<String> = da
                .affected_items
                .iter()
                .filter(|i| ia.contains(&i.to_lowercase()) && ib.contains(&i.to_lowercase()))
                .cloned()
                .collect();
            if !common.is_empty() {
                out.push(ConflictV1 {
                    changes: [a.reference.clone(), b.reference.clone()],
                    affected_items: common,
                });
            }
        }
    }
    out
}
