//! Service requests: tenant-defined request types (new starter, password
//! reset…) with their own fields and fulfilment steps. A request is
//! fulfilled once every step of its type is done.

use contracts::ticket::*;
use contracts::{Envelope, ErrorBody, ErrorCode, Role};
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::batch::Batch;
use crate::batch::Change;
use crate::desk::{announce, not_yet, refused, save, staff};
use crate::error::{Error, Result};
use crate::validate::{MAX_SUMMARY, MAX_TEXT, check_text};
use crate::{fields, lifecycle, tickets};
use contracts::limits::MAX_STEPS;

/// A new request's details: its type and that type's steps, none done.
pub fn details(t: RequestTypeV1) -> RequestDetailsV1 {
    RequestDetailsV1 {
        request_type_id: t.id,
        request_type: t.name,
        steps: t
            .steps
            .into_iter()
            .map(|name| RequestStepV1 {
                name,
                done_at: None,
                done_by: None,
            })
            .collect(),
    }
}

/// Refuses to fulfil a request with steps still to do.
pub fn check_move(t: &TicketV1, to: &str) -> Result<()> {
    if to != "fulfilled" {
        return Ok(());
    }
    let pending: Vec<&str> = t
        .request
        .iter()
        .flat_map(|r| &r.steps)
        .filter(|s| s.done_at.is_none())
        .map(|s| s.name.as_str())
        .collect();
    if pending.is_empty() {
        Ok(())
    } else {
        Err(not_yet(
            "the request has steps still to do",
            serde_json::json!({ "pending_steps": pending }),
        ))
    }
}

pub async fn complete_step(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: CompleteRequestStepV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    let tenant = env.tenant_id;
    staff(&cmd.actor, TicketKind::Request)?;
    let mut t = tickets::find(tx, tenant, TicketKind::Request, &cmd.request, &cmd.actor).await?;
    if lifecycle::is_final(t.kind, &t.status) || t.status == "fulfilled" {
        return Err(refused(&t, "complete a step of"));
    }
    let Some(step) = t
        .request
        .as_mut()
        .and_then(|r| r.steps.get_mut(cmd.step as usize))
    else {
        return Err(Error::not_found("step"));
    };
    if step.done_at.is_some() {
        return Err(Error::Refused(ErrorBody::new(
            ErrorCode::Conflict,
            format!("step {} is already done", step.name),
        )));
    }
    step.done_at = Some(now);
    step.done_by = Some(cmd.actor.clone());
    let c = Change {
        change: "step",
        from: None,
        to: Some(step.name.clone()),
    };
    save(tx, batch, tenant, &mut t, &cmd.actor, now, vec![c]).await?;
    announce(batch, env, &t, "step", &cmd.actor, None);
    let all_done = t
        .request
        .iter()
        .flat_map(|r| &r.steps)
        .all(|s| s.done_at.is_some());
    if !all_done {
        return Ok(t);
    }
    // The last step done fulfils the request, as a status change by the
    // same actor would (its clocks stop, its customer is told).
    let fulfil = ChangeTicketStatusV1 {
        actor: cmd.actor,
        kind: TicketKind::Request,
        ticket: t.id.to_string(),
        if_version: None,
        to: "fulfilled".to_owned(),
        resolution: Some(format!("Every step done: {}", step_names(&t))),
        outcome: None,
        pending_reason: None,
        review: None,
        backout_reason: None,
        supplier: None,
    };
    crate::desk::change_status(tx, batch, env, fulfil, now).await
}

fn step_names(t: &TicketV1) -> String {
    t.request
        .iter()
        .flat_map(|r| &r.steps)
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Retires a request type (the requests logged with it keep their copy of
/// it).
pub async fn delete_type(
    tx: &mut AnyConnection,
    env: &Envelope,
    cmd: DeleteRequestTypeV1,
) -> Result<RequestTypeV1> {
    if cmd.actor.role != Role::Admin {
        return Err(Error::not_found("request type"));
    }
    let t = fields::request_type(tx, env.tenant_id, &cmd.request_type)
        .await?
        .ok_or_else(|| Error::not_found("request type"))?;
    sqlx::query("DELETE FROM request_types WHERE tenant_id = $1 AND id = $2")
        .bind(env.tenant_id.to_string())
        .bind(t.id.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(t)
}

pub async fn define_type(
    tx: &mut AnyConnection,
    env: &Envelope,
    cmd: DefineRequestTypeV1,
) -> Result<RequestTypeV1> {
    if cmd.actor.role != Role::Admin {
        return Err(Error::not_found("request type"));
    }
    check_text("name", &cmd.name, MAX_SUMMARY, true)?;
    check_text("description", &cmd.description, MAX_TEXT, false)?;
    fields::check_definitions("fields", &cmd.fields)?;
    if cmd.steps.len() > MAX_STEPS {
        return Err(Error::field("steps", format!("at most {MAX_STEPS} steps")));
    }
    for (n, s) in cmd.steps.iter().enumerate() {
        check_text(&format!("steps[{n}]"), s, MAX_SUMMARY, true)?;
    }
    let common = fields::definitions(tx, env.tenant_id, TicketKind::Request).await?;
    if let Some((n, _)) = cmd
        .fields
        .iter()
        .enumerate()
        .find(|(_, f)| common.iter().any(|c| c.key == f.key))
    {
        return Err(Error::field(
            &format!("fields[{n}].key"),
            "every service request already has a field with this key",
        ));
    }
    let t = RequestTypeV1 {
        id: Uuid::now_v7(),
        name: cmd.name.trim().to_owned(),
        description: cmd.description,
        fields: cmd.fields,
        steps: cmd.steps.iter().map(|s| s.trim().to_owned()).collect(),
    };
    fields::define_request_type(tx, env.tenant_id, &t).await
}
