//! Problems and known errors: root cause, workaround, the incidents linked
//! to a problem, and what a problem must have before it may move on.
//!
//! - Known error: the root cause is recorded.
//! - Resolved: with an outcome. `change` needs a linked change (the problem
//!   is `resolved_by` it) that was carried out (implemented or later), `known_error` needs the problem to have been a
//!   known error, `workaround` a flagged workaround.
//! - Closed: every linked change is done (implemented, backed out,
//!   reviewed, closed, rejected or cancelled).

use contracts::incident::{ActionKind, ActionV1};
use contracts::ticket::*;
use contracts::{Envelope, ErrorBody, ErrorCode};
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::batch::Batch;
use crate::batch::Change;
use crate::desk::{self, announce, not_yet, refused, save, staff};
use crate::error::{Error, Result};
use crate::validate::{MAX_TEXT, check_text};
use crate::{incidents, lifecycle, links, tickets};
use contracts::limits::MAX_LINKED_INCIDENTS;

/// Changes still under way block closing the problem they resolve.
const CHANGE_UNDER_WAY: &[&str] = &["requested", "approved", "scheduled", "implementing"];
/// A problem is resolved by a change only once the change was carried out.
const CHANGE_DONE: &[&str] = &["implemented", "reviewed", "closed"];

/// Applies an edit's problem fields to `p`, recording what changed.
pub fn update(
    p: &mut ProblemDetailsV1,
    root_cause: Option<Option<String>>,
    workaround: Option<Option<String>>,
    flagged: Option<bool>,
    audit: &mut Vec<Change<'static>>,
) -> Result<()> {
    for (field, value) in [("root_cause", &root_cause), ("workaround", &workaround)] {
        if let Some(Some(v)) = value {
            check_text(field, v, MAX_TEXT, false)?;
        }
    }
    let blank = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    let root_cause = root_cause.map(blank);
    let workaround = workaround.map(blank);
    let will_have = workaround.clone().unwrap_or_else(|| p.workaround.clone());
    let will_flag = flagged.unwrap_or(p.workaround_flagged && will_have.is_some());
    if will_flag && will_have.is_none() {
        return Err(Error::field(
            "workaround_flagged",
            "record a workaround before flagging it",
        ));
    }
    if let Some(rc) = root_cause
        && rc != p.root_cause
    {
        audit.push(Change {
            change: "root_cause",
            from: p.root_cause.take(),
            to: rc.clone(),
        });
        p.root_cause = rc;
    }
    if let Some(w) = workaround
        && w != p.workaround
    {
        audit.push(Change {
            change: "workaround",
            from: p.workaround.take(),
            to: w.clone(),
        });
        p.workaround = w;
    }
    if will_flag != p.workaround_flagged {
        audit.push(Change {
            change: "workaround_flagged",
            from: Some(p.workaround_flagged.to_string()),
            to: Some(will_flag.to_string()),
        });
        p.workaround_flagged = will_flag;
    }
    Ok(())
}

/// Refuses a move the problem is not ready for. `pending_links`: links to
/// it are waiting in this commit group (not yet readable).
pub async fn check_move(
    tx: &mut AnyConnection,
    tenant: Uuid,
    t: &TicketV1,
    to: &str,
    outcome: Option<ProblemOutcome>,
    pending_links: bool,
) -> Result<()> {
    let p = t.problem.clone().unwrap_or_default();
    match to {
        "known_error" if p.root_cause.is_none() => Err(not_yet(
            "record the root cause before making the problem a known error",
            serde_json::json!({ "missing": "root_cause" }),
        )),
        "resolved" => {
            let outcome = outcome.ok_or_else(|| {
                Error::field(
                    "outcome",
                    "how it was resolved: change, known_error, workaround or other",
                )
            })?;
            let ready = match outcome {
                ProblemOutcome::Change => resolving_changes(tx, tenant, t.id)
                    .await?
                    .iter()
                    .any(|c| CHANGE_DONE.contains(&c.status.as_str())),
                ProblemOutcome::KnownError => p.known_error,
                ProblemOutcome::Workaround => p.workaround_flagged,
                ProblemOutcome::Other => true,
            };
            if ready {
                Ok(())
            } else {
                Err(not_yet(
                    format!(
                        "a problem resolved by {} needs {}",
                        outcome.as_str(),
                        match outcome {
                            ProblemOutcome::Change => {
                                "a linked change that resolves it, implemented"
                            }
                            ProblemOutcome::KnownError => "to have been a known error",
                            _ => "a flagged workaround",
                        }
                    ),
                    serde_json::json!({ "outcome": outcome.as_str() }),
                ))
            }
        }
        "closed" if pending_links => Err(not_yet(
            "a change that resolves this problem is being linked; try again",
            serde_json::json!({ "changes": [] }),
        )),
        "closed" => {
            let open: Vec<String> = resolving_changes(tx, tenant, t.id)
                .await?
                .into_iter()
                .filter(|c| CHANGE_UNDER_WAY.contains(&c.status.as_str()))
                .map(|c| c.reference)
                .collect();
            if open.is_empty() {
                Ok(())
            } else {
                Err(not_yet(
                    "the changes that resolve this problem are not done yet",
                    serde_json::json!({ "changes": open }),
                ))
            }
        }
        _ => Ok(()),
    }
}

/// The changes linked to problem `id` as resolving it.
async fn resolving_changes(
    tx: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<Vec<TicketV1>> {
    links::linked(tx, tenant, id, LinkType::ResolvedBy, TicketKind::Change).await
}

/// What a move does to the problem's own state.
pub fn moved(p: &mut ProblemDetailsV1, to: &str, outcome: Option<ProblemOutcome>) {
    match to {
        "known_error" => p.known_error = true,
        "resolved" => p.outcome = outcome,
        "open" => p.outcome = None,
        _ => {}
    }
}

/// The problem `key`, not closed (staff only).
async fn open_problem(
    tx: &mut AnyConnection,
    tenant: Uuid,
    key: &str,
    actor: &contracts::Actor,
) -> Result<TicketV1> {
    staff(actor, TicketKind::Problem)?;
    let p = tickets::find(tx, tenant, TicketKind::Problem, key, actor).await?;
    if lifecycle::is_final(p.kind, &p.status) {
        return Err(refused(&p, "change the incidents of"));
    }
    Ok(p)
}

pub async fn link_incidents(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: LinkIncidentsV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    let tenant = env.tenant_id;
    let problem = open_problem(tx, tenant, &cmd.problem, &cmd.actor).await?;
    if cmd.incidents.is_empty() || cmd.incidents.len() > MAX_LINKED_INCIDENTS {
        return Err(Error::field(
            "incidents",
            format!("1 to {MAX_LINKED_INCIDENTS} incidents"),
        ));
    }
    let mut found = Vec::with_capacity(cmd.incidents.len());
    for (n, key) in cmd.incidents.iter().enumerate() {
        let field = format!("incidents[{n}]");
        let kind = TicketKind::Incident;
        found.push(tickets::find_named(tx, tenant, kind, key, &cmd.actor, &field).await?);
    }
    // The same incident named twice (by id and by reference) is linked once.
    let mut seen = std::collections::HashSet::new();
    found.retain(|i| seen.insert(i.id));
    for mut incident in found {
        if incident.problem_id == Some(problem.id) {
            continue;
        }
        let old = incident.problem_id;
        if let Some(previous) = old {
            // A closed problem's record is history: its incidents stay.
            let previous_key = previous.to_string();
            let was = tickets::find(tx, tenant, TicketKind::Problem, &previous_key, &cmd.actor);
            let was = was.await?;
            if lifecycle::is_final(was.kind, &was.status) {
                let mut body = ErrorBody::new(
                    ErrorCode::InvalidTransition,
                    format!(
                        "{} belongs to {}, which is {}: a closed problem's incidents stay with it",
                        incident.reference, was.reference, was.status
                    ),
                );
                body.details = Some(serde_json::json!({ "status": was.status, "allowed": [] }));
                return Err(Error::Refused(body));
            }
            // Moved from another problem: that one's trail says so too.
            let c = Change {
                change: "incident_unlinked",
                from: Some(incident.reference.clone()),
                to: None,
            };
            batch.audit(tenant, previous, &cmd.actor, now, c)?;
        }
        incident.problem_id = Some(problem.id);
        let c = Change {
            change: "problem",
            from: old.map(|u| u.to_string()),
            to: Some(problem.reference.clone()),
        };
        save(tx, batch, tenant, &mut incident, &cmd.actor, now, vec![c]).await?;
        batch.audit(
            tenant,
            problem.id,
            &cmd.actor,
            now,
            Change {
                change: "incident_linked",
                from: None,
                to: Some(incident.reference.clone()),
            },
        )?;
        announce(batch, env, &incident, "problem", &cmd.actor, None);
    }
    let problem = tickets::find(
        tx,
        tenant,
        TicketKind::Problem,
        &problem.id.to_string(),
        &cmd.actor,
    )
    .await?;
    announce(batch, env, &problem, "linked", &cmd.actor, None);
    Ok(problem)
}

pub async fn unlink_incident(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: UnlinkIncidentV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    let tenant = env.tenant_id;
    let problem = open_problem(tx, tenant, &cmd.problem, &cmd.actor).await?;
    let mut incident =
        tickets::find(tx, tenant, TicketKind::Incident, &cmd.incident, &cmd.actor).await?;
    if incident.problem_id != Some(problem.id) {
        return Err(Error::Refused(ErrorBody::new(
            ErrorCode::NotFound,
            format!(
                "{} is not linked to {}",
                incident.reference, problem.reference
            ),
        )));
    }
    incident.problem_id = None;
    let c = Change {
        change: "problem",
        from: Some(problem.reference.clone()),
        to: None,
    };
    save(tx, batch, tenant, &mut incident, &cmd.actor, now, vec![c]).await?;
    let c = Change {
        change: "incident_unlinked",
        from: Some(incident.reference.clone()),
        to: None,
    };
    batch.audit(tenant, problem.id, &cmd.actor, now, c)?;
    announce(batch, env, &incident, "problem", &cmd.actor, None);
    tickets::find(
        tx,
        tenant,
        TicketKind::Problem,
        &problem.id.to_string(),
        &cmd.actor,
    )
    .await
}

/// Adds the flagged workaround to every linked incident not yet resolved.
pub async fn apply_workaround(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: ApplyWorkaroundV1,
    now: OffsetDateTime,
) -> Result<WorkaroundAppliedV1> {
    let tenant = env.tenant_id;
    let problem = open_problem(tx, tenant, &cmd.problem, &cmd.actor).await?;
    let details = problem.problem.clone().unwrap_or_default();
    let workaround = match details.workaround {
        Some(w) if details.workaround_flagged => w,
        _ => {
            return Err(not_yet(
                "the problem has no flagged workaround",
                serde_json::json!({ "missing": "workaround_flagged" }),
            ));
        }
    };
    let linked = tickets::incidents_of(tx, tenant, problem.id).await?;
    let text = format!("Workaround from {}:\n{workaround}", problem.reference);
    let (mut applied, mut already) = (Vec::new(), Vec::new());
    for mut incident in linked {
        if matches!(incident.status.as_str(), "resolved" | "closed") {
            continue;
        }
        if incidents::has_action_text(tx, tenant, incident.id, &text).await? {
            already.push(incident.reference);
            continue;
        }
        // Written by the desk (not a response to the customer); the agent
        // who applied it is in the incident's audit trail.
        let action = ActionV1 {
            id: Uuid::now_v7(),
            kind: ActionKind::Note,
            text: text.clone(),
            public: cmd.notify_customer,
            email_customer: cmd.notify_customer && incident.customer_id.is_some(),
            knowledge_base: false,
            minutes: None,
            author: contracts::common::workaround_actor(),
            created_at: now,
        };
        desk::act(tx, batch, env, &mut incident, &cmd.actor, action, now).await?;
        applied.push(incident.reference);
    }
    let c = Change {
        change: "workaround_applied",
        from: None,
        to: Some(applied.join(", ")),
    };
    batch.audit(tenant, problem.id, &cmd.actor, now, c)?;
    Ok(WorkaroundAppliedV1 {
        incidents: applied,
        already,
    })
}
