//! Commands on tickets of any kind: log, update, assign, move through the
//! lifecycle, actions, links and extended data. What only one kind does
//! lives in [`crate::problems`], [`crate::changes`] and [`crate::requests`].
//!
//! Every command checks everything that can refuse it before it writes
//! anything (to the store or the batch): a refusal then needs no undo, and
//! the other commands of its group go on in the same transaction.

use contracts::incident::{ActionV1, IncidentV1};
use contracts::limits::{MAX_LEVEL, MAX_MINUTES, MAX_PRIORITY};
use contracts::supplier::{SupplierAssignmentV1, SupplierUnassignedV1, supplier_key};
use contracts::ticket::*;
use contracts::{Actor, Envelope, ErrorBody, ErrorCode, Role};
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::batch::{Batch, Change};
use crate::error::{Error, Result};
use crate::validate::{MAX_SUMMARY, MAX_TEXT, check_level, check_logged, check_text};
use crate::{
    changes, fields, incidents, lifecycle, links, problems, requests, suppliers, surveys, tickets,
};

/// Staff only: to a customer the ticket does not exist.
pub fn staff(actor: &Actor, kind: TicketKind) -> Result<()> {
    if actor.role == Role::Customer {
        return Err(Error::not_found(kind.noun()));
    }
    Ok(())
}

/// 409: `t` is in a status where `what` cannot be done.
pub fn refused(t: &TicketV1, what: &str) -> Error {
    let mut body = ErrorBody::new(
        ErrorCode::InvalidTransition,
        format!("cannot {what} a {} that is {}", t.kind.noun(), t.status),
    );
    body.details = Some(serde_json::json!({
        "status": t.status,
        "allowed": lifecycle::next_of(t.kind, &t.status),
    }));
    Error::Refused(body)
}

/// A supplier acts only on what is assigned to it, checked in the same
/// transaction as the change (it may have been taken back a moment ago).
fn check_supplier(t: &TicketV1, supplier: Option<Uuid>) -> Result<()> {
    match supplier {
        Some(s) if t.supplier_id != Some(s) => Err(Error::Refused(ErrorBody::new(
            ErrorCode::Forbidden,
            format!("{} is not an incident assigned to you", t.reference),
        ))),
        _ => Ok(()),
    }
}

/// 409 with `message`, for a move the ticket's state does not allow yet.
/// Refuses a change written for another version of `t` than it is at
/// (`If-Match` at the edge): 412, with the version it is at.
pub fn still_at(t: &TicketV1, version: Option<i64>) -> Result<()> {
    match version {
        Some(v) if v != t.version => Err(Error::stale(&t.reference, v, t.version)),
        _ => Ok(()),
    }
}

/// The highest priority a customer may ask for by itself (1 is the
/// highest): the top two are the desk's to give, or the priority matrix's
/// from the impact and urgency the customer reports.
pub const CUSTOMER_HIGHEST_PRIORITY: u8 = 3;

/// Refuses a priority a customer may not choose.
fn customer_priority(actor: &Actor, priority: Option<u8>) -> Result<()> {
    match priority {
        Some(p) if actor.role == Role::Customer && p < CUSTOMER_HIGHEST_PRIORITY => {
            Err(Error::field(
                "priority",
                format!(
                    "a customer may ask for priority {CUSTOMER_HIGHEST_PRIORITY} to {MAX_PRIORITY}; \
                     give impact and urgency instead and the desk's priority matrix decides"
                ),
            ))
        }
        _ => Ok(()),
    }
}

pub fn not_yet(message: impl Into<String>, details: serde_json::Value) -> Error {
    let mut body = ErrorBody::new(ErrorCode::InvalidTransition, message);
    body.details = Some(details);
    Error::Refused(body)
}

/// Writes `t` (one version on) and records what changed.
pub async fn save(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    tenant: Uuid,
    t: &mut TicketV1,
    actor: &Actor,
    now: OffsetDateTime,
    changes: Vec<Change<'_>>,
) -> Result<()> {
    t.updated_at = now;
    t.version += 1;
    tickets::update(tx, tenant, t).await?;
    for c in changes {
        batch.audit(tenant, t.id, actor, now, c)?;
    }
    Ok(())
}

/// Announces a change to `t`, of any kind (escalation and notification
/// follow these).
pub fn announce(
    batch: &mut Batch,
    env: &Envelope,
    t: &TicketV1,
    change: &str,
    actor: &Actor,
    action: Option<ActionV1>,
) {
    batch.publish(
        env,
        &TicketChangedV1 {
            ticket: t.clone(),
            change: change.to_owned(),
            actor: actor.clone(),
            action,
            survey_token: None,
        },
    );
}

fn text_change<'a>(
    change: &'a str,
    from: &Option<String>,
    to: &Option<String>,
) -> Option<Change<'a>> {
    (from != to).then(|| Change {
        change,
        from: from.clone(),
        to: to.clone(),
    })
}

fn opt(u: Option<Uuid>) -> Option<String> {
    u.map(|u| u.to_string())
}

/// The field definitions that apply to `t`: its kind's, and for a service
/// request its type's.
pub async fn field_defs(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    tenant: Uuid,
    kind: TicketKind,
    request_type: Option<&RequestTypeV1>,
) -> Result<Vec<FieldDefV1>> {
    let mut defs = batch.field_definitions(tx, tenant, kind).await?;
    if let Some(t) = request_type {
        defs.extend(t.fields.iter().cloned());
    }
    Ok(defs)
}

pub async fn log(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: LogTicketV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    let tenant = env.tenant_id;
    let kind = cmd.kind;
    // Customers log incidents and service requests.
    if !matches!(kind, TicketKind::Incident | TicketKind::Request) {
        staff(&cmd.actor, kind)?;
    }
    check_logged(
        &cmd.summary,
        &cmd.description,
        cmd.category.as_deref(),
        cmd.service.as_deref(),
    )?;
    check_level("priority", cmd.priority, MAX_PRIORITY)?;
    check_level("impact", cmd.impact, MAX_LEVEL)?;
    check_level("urgency", cmd.urgency, MAX_LEVEL)?;
    if kind != TicketKind::Incident && (cmd.impact.is_some() || cmd.urgency.is_some()) {
        return Err(Error::field(
            "impact",
            "only an incident has an impact and an urgency",
        ));
    }
    if cmd.change.is_some() != (kind == TicketKind::Change) {
        return Err(Error::field(
            "change",
            "a change, and only a change, has a plan",
        ));
    }
    if cmd.request_type.is_some() != (kind == TicketKind::Request) {
        return Err(Error::field(
            "request_type",
            "a service request, and only one, has a type",
        ));
    }
    if let Some(key) = &cmd.request_type {
        check_text("request_type", key, MAX_SUMMARY, true)?;
    }
    let request_type = match &cmd.request_type {
        Some(key) => Some(
            fields::request_type(tx, tenant, key)
                .await?
                .ok_or_else(|| Error::field("request_type", "no such request type"))?,
        ),
        None => None,
    };
    // An incident's priority comes from its impact and urgency through the
    // tenant's priority matrix, unless it is given.
    customer_priority(&cmd.actor, cmd.priority)?;
    let priority = match (kind, cmd.priority, cmd.impact, cmd.urgency) {
        (_, Some(p), _, _) => p,
        (TicketKind::Incident, None, Some(i), Some(u)) => {
            incidents::matrix_priority(tx, tenant, i, u).await?
        }
        (TicketKind::Incident, None, _, _) => {
            return Err(Error::field(
                "priority",
                "give a priority, or both impact and urgency",
            ));
        }
        (_, None, _, _) => 3,
    };
    let defs = field_defs(tx, batch, tenant, kind, request_type.as_ref()).await?;
    let values = fields::apply_values(&defs, &FieldValues::new(), &cmd.fields)?;
    let id = Uuid::now_v7();
    // What the change resolves: checked (and found) before anything is written.
    let (change, resolves) = match &cmd.change {
        Some(plan) => {
            let (details, resolves) = changes::plan(tx, tenant, plan, &cmd.actor).await?;
            (Some(details), resolves)
        }
        None => (None, Vec::new()),
    };
    let number = batch.next_number(tx, tenant, kind.as_str()).await?;
    let ticket = TicketV1 {
        id,
        kind,
        reference: format!("{}-{number:06}", kind.prefix()),
        status: kind.statuses()[0].to_owned(),
        priority,
        impact: cmd.impact,
        urgency: cmd.urgency,
        summary: cmd.summary.trim().to_owned(),
        description: cmd.description,
        // A customer logs tickets for themself only.
        customer_id: cmd.actor.customer_scope().or(cmd.customer_id),
        category: cmd.category,
        service: cmd.service,
        assignee_id: None,
        team_id: None,
        resolution: None,
        logged_by: cmd.actor.clone(),
        created_at: now,
        updated_at: now,
        resolved_at: None,
        closed_at: None,
        version: 1,
        first_response_at: None,
        supplier_id: None,
        company_id: cmd.company_id,
        problem_id: None,
        fields: values,
        pending_reason: None,
        time_spent_minutes: 0,
        problem: (kind == TicketKind::Problem).then(ProblemDetailsV1::default),
        change,
        request: request_type.map(requests::details),
    };
    batch.insert_ticket(tenant, &ticket);
    let created = Change {
        change: "created",
        from: None,
        to: Some(ticket.status.clone()),
    };
    batch.audit(tenant, id, &cmd.actor, now, created)?;
    for mut other in resolves {
        batch.insert_link(tenant, other.id, LinkType::ResolvedBy, id, &cmd.actor, now)?;
        let c = Change {
            change: "link",
            from: None,
            to: Some(format!("resolved_by {}", ticket.reference)),
        };
        // A new version: a replica closing the problem at the same time
        // conflicts with this instead of missing the link.
        save(tx, batch, tenant, &mut other, &cmd.actor, now, vec![c]).await?;
    }
    announce(batch, env, &ticket, "logged", &cmd.actor, None);
    Ok(ticket)
}

pub async fn update(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: UpdateTicketV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    let tenant = env.tenant_id;
    staff(&cmd.actor, cmd.kind)?;
    let mut t = tickets::find(tx, tenant, cmd.kind, &cmd.ticket, &cmd.actor).await?;
    still_at(&t, cmd.if_version)?;
    if lifecycle::is_final(t.kind, &t.status) {
        return Err(refused(&t, "update"));
    }
    let c = cmd.changes;
    if let Some(s) = &c.summary {
        check_text("summary", s, MAX_SUMMARY, true)?;
    }
    if let Some(d) = &c.description {
        check_text("description", d, MAX_TEXT, false)?;
    }
    for (field, value) in [("category", &c.category), ("service", &c.service)] {
        if let Some(Some(v)) = value {
            check_text(field, v, MAX_SUMMARY, false)?;
        }
    }
    check_level("priority", c.priority, 5)?;
    let problem_only =
        c.root_cause.is_some() || c.workaround.is_some() || c.workaround_flagged.is_some();
    if problem_only && t.kind != TicketKind::Problem {
        return Err(Error::field(
            "root_cause",
            "only a problem has a root cause and workaround",
        ));
    }
    let request_type = match &t.request {
        Some(r) => fields::request_type(tx, tenant, &r.request_type_id.to_string()).await?,
        None => None,
    };
    let defs = field_defs(tx, batch, tenant, t.kind, request_type.as_ref()).await?;
    let values = fields::apply_values(&defs, &t.fields, &c.fields)?;
    let mut audit = Vec::new();
    if let Some(s) = c.summary {
        let s = s.trim().to_owned();
        audit.extend(text_change(
            "summary",
            &Some(t.summary.clone()),
            &Some(s.clone()),
        ));
        t.summary = s;
    }
    if let Some(d) = c.description {
        audit.extend(text_change(
            "description",
            &Some(t.description.clone()),
            &Some(d.clone()),
        ));
        t.description = d;
    }
    if (c.impact.is_some() || c.urgency.is_some()) && t.kind != TicketKind::Incident {
        return Err(Error::field(
            "impact",
            "only an incident has impact and urgency",
        ));
    }
    check_level("impact", c.impact, MAX_LEVEL)?;
    check_level("urgency", c.urgency, MAX_LEVEL)?;
    let show = |v: Option<u8>| v.map(|v| v.to_string());
    if let Some(i) = c.impact {
        audit.extend(text_change("impact", &show(t.impact), &Some(i.to_string())));
        t.impact = Some(i);
    }
    if let Some(u) = c.urgency {
        audit.extend(text_change(
            "urgency",
            &show(t.urgency),
            &Some(u.to_string()),
        ));
        t.urgency = Some(u);
    }
    // New impact or urgency: the matrix gives the priority again, unless
    // one is given.
    let matrix = match (c.priority, c.impact.or(c.urgency), t.impact, t.urgency) {
        (None, Some(_), Some(i), Some(u)) => {
            Some(incidents::matrix_priority(tx, tenant, i, u).await?)
        }
        _ => None,
    };
    if let Some(p) = c.priority.or(matrix) {
        audit.extend(text_change(
            "priority",
            &Some(t.priority.to_string()),
            &Some(p.to_string()),
        ));
        t.priority = p;
    }
    if let Some(customer) = c.customer_id {
        audit.extend(text_change("customer", &opt(t.customer_id), &opt(customer)));
        t.customer_id = customer;
        t.company_id = c.company_id.flatten();
    }
    if let Some(cat) = c.category {
        audit.extend(text_change("category", &t.category, &cat));
        t.category = cat;
    }
    if let Some(svc) = c.service {
        audit.extend(text_change("service", &t.service, &svc));
        t.service = svc;
    }
    if let Some(p) = t.problem.as_mut() {
        problems::update(
            p,
            c.root_cause,
            c.workaround,
            c.workaround_flagged,
            &mut audit,
        )?;
    }
    let fields_changed = values != t.fields;
    if fields_changed {
        let show = |v: &FieldValues| serde_json::to_string(v).ok();
        audit.push(Change {
            change: "fields",
            from: show(&t.fields),
            to: show(&values),
        });
        t.fields = values;
    }
    if audit.is_empty() {
        return Ok(t);
    }
    save(tx, batch, tenant, &mut t, &cmd.actor, now, audit).await?;
    if fields_changed {
        tickets::store_field_values(tx, tenant, t.id, &t.fields).await?;
    }
    announce(batch, env, &t, "updated", &cmd.actor, None);
    Ok(t)
}

pub async fn assign(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: AssignTicketV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    let tenant = env.tenant_id;
    staff(&cmd.actor, cmd.kind)?;
    if cmd.assignee_id.is_none() && cmd.team_id.is_none() && cmd.supplier_id.is_none() {
        return Err(Error::field(
            "assignee_id",
            "give an assignee_id, a team_id, a supplier_id or more (null unassigns)",
        ));
    }
    if cmd.supplier_id.is_some() && cmd.kind != TicketKind::Incident {
        return Err(Error::field(
            "supplier_id",
            "only an incident goes to a supplier",
        ));
    }
    let supplier = match cmd.supplier_id {
        Some(Some(id)) => Some(
            suppliers::find(tx, tenant, id)
                .await?
                .ok_or_else(|| Error::field("supplier_id", "no supplier with this id"))?,
        ),
        _ => None,
    };
    let mut t = tickets::find(tx, tenant, cmd.kind, &cmd.ticket, &cmd.actor).await?;
    still_at(&t, cmd.if_version)?;
    if lifecycle::is_final(t.kind, &t.status) {
        return Err(refused(&t, "assign"));
    }
    let (old_assignee, old_team, old_supplier) = (t.assignee_id, t.team_id, t.supplier_id);
    if let Some(assignee) = cmd.assignee_id {
        t.assignee_id = assignee;
    }
    if let Some(team) = cmd.team_id {
        t.team_id = team;
    }
    if let Some(s) = cmd.supplier_id {
        t.supplier_id = s;
    }
    let mut audit = Vec::new();
    audit.extend(text_change(
        "assignee",
        &opt(old_assignee),
        &opt(t.assignee_id),
    ));
    audit.extend(text_change("team", &opt(old_team), &opt(t.team_id)));
    audit.extend(text_change(
        "supplier",
        &opt(old_supplier),
        &opt(t.supplier_id),
    ));
    save(tx, batch, tenant, &mut t, &cmd.actor, now, audit).await?;
    // The supplier hears of it on its own queue.
    if let Some(s) = supplier
        && old_supplier != Some(s.id)
    {
        let assignment = SupplierAssignmentV1 {
            supplier_id: s.id,
            incident: incident(t.clone())?,
            assigned_by: cmd.actor.clone(),
        };
        batch.send(env, supplier_key(s.id, "assignment"), &assignment);
    }
    if let Some(old) = old_supplier
        && t.supplier_id != Some(old)
    {
        let taken_back = SupplierUnassignedV1 {
            supplier_id: old,
            incident_id: t.id,
            reference: t.reference.clone(),
            unassigned_by: cmd.actor.clone(),
        };
        batch.send(env, supplier_key(old, "unassigned"), &taken_back);
    }
    announce(batch, env, &t, "assigned", &cmd.actor, None);
    Ok(t)
}

pub async fn change_status(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: ChangeTicketStatusV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    may_move(&cmd.actor, cmd.kind, &cmd.to)?;
    move_status(tx, batch, env, cmd, now).await
}

/// Who may move a ticket where: staff, wherever its lifecycle allows; a
/// customer, only their own incident or service request (found as theirs,
/// else it does not exist for them), to close it once it is resolved or
/// fulfilled, or to withdraw an incident (resolved, with their reason as
/// its resolution). A customer reopens by writing on it.
fn may_move(actor: &Actor, kind: TicketKind, to: &str) -> Result<()> {
    if actor.role != Role::Customer {
        return Ok(());
    }
    match (kind, to) {
        (TicketKind::Incident, "resolved" | "closed") | (TicketKind::Request, "closed") => Ok(()),
        (TicketKind::Incident | TicketKind::Request, _) => Err(Error::Refused(ErrorBody::new(
            ErrorCode::Forbidden,
            "a customer may close their resolved ticket or withdraw their incident (resolved, \
             saying why); the desk moves it otherwise",
        ))),
        _ => staff(actor, kind),
    }
}

/// Moves a ticket along its lifecycle, whoever asked (checked before).
async fn move_status(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: ChangeTicketStatusV1,
    now: OffsetDateTime,
) -> Result<TicketV1> {
    let tenant = env.tenant_id;
    let mut t = tickets::find(tx, tenant, cmd.kind, &cmd.ticket, &cmd.actor).await?;
    still_at(&t, cmd.if_version)?;
    check_supplier(&t, cmd.supplier)?;
    let kind = t.kind;
    if !kind.statuses().contains(&cmd.to.as_str()) {
        return Err(Error::field(
            "status",
            format!("one of {}", kind.statuses().join(", ")),
        ));
    }
    let from = t.status.clone();
    if !lifecycle::allowed_for(kind, &from, &cmd.to) {
        let mut body = ErrorBody::new(
            ErrorCode::InvalidTransition,
            format!("a {} cannot go from {from} to {}", kind.noun(), cmd.to),
        );
        body.details = Some(serde_json::json!({
            "from": from, "to": cmd.to, "allowed": lifecycle::next_of(kind, &from),
        }));
        return Err(Error::Refused(body));
    }
    if cmd.outcome.is_some() && !(kind == TicketKind::Problem && cmd.to == "resolved") {
        return Err(Error::field(
            "outcome",
            "only resolving a problem has an outcome",
        ));
    }
    // Pending says what it waits for; any other status waits for nothing.
    let pending_reason = if cmd.to == "pending" {
        let reason = cmd.pending_reason.as_deref().unwrap_or("").trim();
        check_text("pending_reason", reason, MAX_SUMMARY, true)?;
        Some(reason.to_owned())
    } else {
        None
    };
    // A change's review, and why one was backed out, are said as it moves.
    let change_text = match (kind, cmd.to.as_str()) {
        (TicketKind::Change, "reviewed") => Some(("review", cmd.review.as_deref())),
        (TicketKind::Change, "backed_out") => {
            Some(("backout_reason", cmd.backout_reason.as_deref()))
        }
        _ => None,
    };
    let change_text = match change_text {
        Some((field, text)) => {
            let text = text.unwrap_or("").trim();
            check_text(field, text, MAX_TEXT, true)?;
            Some((field, text.to_owned()))
        }
        None => None,
    };
    let resolving = kind.resolved_status() == Some(cmd.to.as_str());
    let resolution = cmd.resolution.as_deref().unwrap_or("");
    if resolving {
        check_text(
            "resolution",
            resolution,
            MAX_TEXT,
            kind != TicketKind::Request,
        )?;
    }
    match kind {
        TicketKind::Problem => {
            let pending = batch.links_pending(t.id);
            problems::check_move(tx, tenant, &t, &cmd.to, cmd.outcome, pending).await?;
        }
        TicketKind::Request => requests::check_move(&t, &cmd.to)?,
        TicketKind::Incident | TicketKind::Change => {}
    }
    let old_resolution = t.resolution.clone();
    if resolving {
        t.resolution = Some(resolution.to_owned()).filter(|r| !r.is_empty());
        t.resolved_at = Some(now);
    }
    if lifecycle::is_final(kind, &cmd.to) {
        t.closed_at = Some(now);
    }
    let reopened = cmd.to == kind.statuses()[0];
    if reopened {
        // Reopened: the old resolution no longer holds (the audit keeps it).
        t.resolved_at = None;
        t.resolution = None;
    }
    if let Some(p) = t.problem.as_mut() {
        problems::moved(p, &cmd.to, cmd.outcome);
    }
    t.status = cmd.to.clone();
    let mut audit = vec![Change {
        change: "status",
        from: Some(from.clone()),
        to: Some(cmd.to.clone()),
    }];
    audit.extend(text_change("resolution", &old_resolution, &t.resolution));
    let old_reason = std::mem::replace(&mut t.pending_reason, pending_reason);
    audit.extend(text_change(
        "pending_reason",
        &old_reason,
        &t.pending_reason,
    ));
    if let (Some((field, text)), Some(d)) = (change_text, t.change.as_mut()) {
        let kept = if field == "review" {
            &mut d.review
        } else {
            &mut d.backout_reason
        };
        let old = kept.replace(text);
        audit.extend(text_change(field, &old, kept));
    }
    save(tx, batch, tenant, &mut t, &cmd.actor, now, audit).await?;
    if reopened {
        tickets::count_reopen(tx, tenant, t.id).await?;
    }
    let survey_token = if kind == TicketKind::Incident && cmd.to == "resolved" {
        surveys::offer(tx, batch, env, &t, now).await?
    } else {
        None
    };
    batch.publish(
        env,
        &TicketChangedV1 {
            ticket: t.clone(),
            change: "status".into(),
            actor: cmd.actor,
            action: None,
            survey_token,
        },
    );
    if kind == TicketKind::Change {
        crate::changes::warn_conflicts(tx, tenant, &mut t).await?;
    }
    Ok(t)
}

/// Adds an action to `t` (already found and checked) and announces it.
pub async fn act(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    t: &mut TicketV1,
    actor: &Actor,
    action: ActionV1,
    now: OffsetDateTime,
) -> Result<()> {
    let tenant = env.tenant_id;
    batch.insert_action(tenant, t.id, &action)?;
    // The action's author answers, or not: the actor may have had the desk
    // write it (a problem's workaround).
    if t.first_response_at.is_none() && action.author.answers_for_desk() {
        t.first_response_at = Some(now);
    }
    t.time_spent_minutes += u64::from(action.minutes.unwrap_or(0));
    let c = Change {
        change: "action",
        from: None,
        to: Some(format!("{} {}", action.kind.as_str(), action.id)),
    };
    save(tx, batch, tenant, t, actor, now, vec![c]).await?;
    announce(batch, env, t, "action", actor, Some(action));
    Ok(())
}

pub async fn add_action(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: AddActionV1,
    now: OffsetDateTime,
) -> Result<ActionV1> {
    check_text("text", &cmd.text, MAX_TEXT, true)?;
    let mut t = tickets::find(tx, env.tenant_id, cmd.kind, &cmd.ticket, &cmd.actor).await?;
    check_supplier(&t, cmd.supplier)?;
    if lifecycle::is_final(t.kind, &t.status) {
        return Err(refused(&t, "add an action to"));
    }
    let is_customer = cmd.actor.role == Role::Customer;
    match cmd.minutes {
        Some(_) if is_customer => {
            return Err(Error::field(
                "minutes",
                "the desk records the time it spends; a customer does not",
            ));
        }
        Some(m) if !(1..=MAX_MINUTES).contains(&m) => {
            return Err(Error::field(
                "minutes",
                format!("from 1 to {MAX_MINUTES} (a week)"),
            ));
        }
        _ => {}
    }
    let action = ActionV1 {
        id: Uuid::now_v7(),
        kind: cmd.action_kind,
        text: cmd.text,
        // What a customer writes is for both sides to see; they cannot
        // email themselves or publish to the knowledge base.
        public: cmd.public || is_customer,
        email_customer: cmd.email_customer && !is_customer,
        knowledge_base: cmd.knowledge_base && !is_customer,
        minutes: cmd.minutes,
        author: cmd.actor.clone(),
        created_at: now,
    };
    act(tx, batch, env, &mut t, &cmd.actor, action.clone(), now).await?;
    // A customer writing is the desk's turn again, by the portal or by
    // mail alike: a pending ticket goes back to work (its clock resumes)
    // and a resolved one is reopened. The assignee or team hears of the
    // note from notification.
    let resumed = if t.status == "pending" {
        Some("in_progress")
    } else if t.kind.resolved_status() == Some(t.status.as_str()) {
        Some(t.kind.statuses()[0])
    } else {
        None
    };
    if is_customer
        && let Some(to) = resumed
        && lifecycle::allowed_for(t.kind, &t.status, to)
    {
        let resume = ChangeTicketStatusV1 {
            actor: cmd.actor,
            kind: t.kind,
            ticket: t.id.to_string(),
            if_version: None,
            to: to.to_owned(),
            resolution: None,
            outcome: None,
            pending_reason: None,
            review: None,
            backout_reason: None,
            supplier: None,
        };
        move_status(tx, batch, env, resume, now).await?;
    }
    Ok(action)
}

pub async fn link(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: LinkTicketsV1,
    now: OffsetDateTime,
) -> Result<LinkV1> {
    let tenant = env.tenant_id;
    staff(&cmd.actor, cmd.kind)?;
    let mut t = tickets::find(tx, tenant, cmd.kind, &cmd.ticket, &cmd.actor).await?;
    let mut other =
        tickets::find_named(tx, tenant, cmd.other_kind, &cmd.other, &cmd.actor, "ticket").await?;
    if t.id == other.id {
        return Err(Error::field(
            "ticket",
            "a ticket cannot be linked to itself",
        ));
    }
    if links::exists(tx, tenant, t.id, cmd.link_type, other.id).await? {
        return Err(Error::Refused(ErrorBody::new(
            ErrorCode::Conflict,
            format!(
                "{} is already {} {}",
                t.reference,
                cmd.link_type.as_str(),
                other.reference
            ),
        )));
    }
    // Parent and child, cause and effect, resolver and resolved are
    // orders: a link that makes a ticket its own ancestor (or cause) is a
    // contradiction, the other way round of one there already is included.
    let order = match cmd.link_type {
        LinkType::ChildOf | LinkType::CausedBy | LinkType::ResolvedBy => {
            Some((t.id, cmd.link_type, other.id))
        }
        LinkType::ParentOf | LinkType::Causes | LinkType::Resolves => {
            Some((other.id, cmd.link_type.inverse(), t.id))
        }
        LinkType::Related => None,
    };
    if let Some((lower, up, upper)) = order
        && links::reaches(tx, tenant, upper, up, lower).await?
    {
        return Err(Error::field(
            "ticket",
            format!(
                "{} {} {} contradicts the links there are: {} would be its own {}",
                t.reference,
                cmd.link_type.as_str(),
                other.reference,
                t.reference,
                match up {
                    LinkType::ChildOf => "ancestor",
                    LinkType::CausedBy => "cause",
                    _ => "resolver",
                }
            ),
        ));
    }
    let id = batch.insert_link(tenant, t.id, cmd.link_type, other.id, &cmd.actor, now)?;
    let here = Change {
        change: "link",
        from: None,
        to: Some(format!("{} {}", cmd.link_type.as_str(), other.reference)),
    };
    save(tx, batch, tenant, &mut t, &cmd.actor, now, vec![here]).await?;
    let there = Change {
        change: "link",
        from: None,
        to: Some(format!(
            "{} {}",
            cmd.link_type.inverse().as_str(),
            t.reference
        )),
    };
    save(tx, batch, tenant, &mut other, &cmd.actor, now, vec![there]).await?;
    announce(batch, env, &t, "linked", &cmd.actor, None);
    announce(batch, env, &other, "linked", &cmd.actor, None);
    Ok(LinkV1 {
        id,
        link_type: cmd.link_type,
        ticket: tickets::summary(&other),
        created_by: cmd.actor,
        created_at: now,
    })
}

pub async fn unlink(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: UnlinkTicketsV1,
    now: OffsetDateTime,
) -> Result<Vec<LinkV1>> {
    let tenant = env.tenant_id;
    staff(&cmd.actor, cmd.kind)?;
    let mut t = tickets::find(tx, tenant, cmd.kind, &cmd.ticket, &cmd.actor).await?;
    let Some(link) = links::list(tx, tenant, t.id, &cmd.actor)
        .await?
        .into_iter()
        .find(|l| l.id == cmd.link_id)
    else {
        return Err(Error::not_found("link"));
    };
    links::delete(tx, tenant, t.id, cmd.link_id).await?;
    let here = Change {
        change: "unlink",
        from: Some(format!(
            "{} {}",
            link.link_type.as_str(),
            link.ticket.reference
        )),
        to: None,
    };
    save(tx, batch, tenant, &mut t, &cmd.actor, now, vec![here]).await?;
    let mut other = tickets::find(
        tx,
        tenant,
        link.ticket.kind,
        &link.ticket.id.to_string(),
        &cmd.actor,
    )
    .await?;
    let there = Change {
        change: "unlink",
        from: Some(format!(
            "{} {}",
            link.link_type.inverse().as_str(),
            t.reference
        )),
        to: None,
    };
    save(tx, batch, tenant, &mut other, &cmd.actor, now, vec![there]).await?;
    announce(batch, env, &t, "linked", &cmd.actor, None);
    announce(batch, env, &other, "linked", &cmd.actor, None);
    links::list(tx, tenant, t.id, &cmd.actor).await
}

pub async fn set_field_definitions(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    cmd: SetFieldDefinitionsV1,
) -> Result<FieldDefinitionsV1> {
    if cmd.actor.role != Role::Admin {
        return Err(Error::not_found("field definitions"));
    }
    fields::check_definitions("fields", &cmd.fields)?;
    fields::set_definitions(tx, env.tenant_id, cmd.kind, &cmd.fields).await?;
    batch.definitions_changed(env.tenant_id, cmd.kind);
    Ok(FieldDefinitionsV1 {
        kind: cmd.kind,
        fields: cmd.fields,
    })
}

/// The incident view of `t` (suppliers and the deprecated incident
/// commands see it).
pub fn incident(t: TicketV1) -> Result<IncidentV1> {
    IncidentV1::try_from(t).map_err(|e| Error::from(sqlx::Error::Decode(Box::new(e))))
}
