//! The document's ticket processes: problems, changes and service requests,
//! the links between tickets of any kind, and extended data, from the
//! handlers in [`crate::tickets`] and the wire types in [`contracts::ticket`].
//!
//! What every process shares is generated from [`PROCESSES`] (and the links
//! of every kind from [`TICKETS`]), as the handlers' routes are; what only
//! one kind has follows in a function of its own.

use aide::transform::TransformOperation;
use axum::Json;
use contracts::Page;
use contracts::incident::IncidentV1;
use contracts::incident::{ActionV1, AuditEntryV1};
use contracts::limits::{
    ANY_TEXT_PATTERN, MAX_CALENDAR_DAYS, MAX_FIELDS, MAX_LABEL, MAX_LINKED_INCIDENTS, MAX_STEPS,
    MAX_SUMMARY, MAX_TEXT, ONE_LINE_PATTERN, TEXT_PATTERN,
};
use contracts::ticket::{
    ChangeCalendarV1, FieldDefinitionsV1, LinkV1, RequestTypeV1, TicketKind, TicketV1,
    WorkaroundAppliedV1,
};
use serde_json::{Value, json};

use super::declared::Declare;

use super::{
    INCIDENTS, bad_body, bad_query, internal, not_found, parameter, staff_only, tag,
    ticketing_down, unauthorized,
};
use crate::auth::STAFF;
use crate::tickets::segment;

const PROBLEMS: &str = "Problems";
const CHANGES: &str = "Changes";
const REQUESTS: &str = "Service requests";
const LINKS: &str = "Links";
const EXTENDED_DATA: &str = "Extended data";

pub(super) fn tags() -> Vec<Value> {
    vec![
        tag(
            PROBLEMS,
            "Problems: the cause, unknown at first, of one or more incidents, which are linked to it (an \
             incident to at most one problem). Once its root cause is recorded a problem may become a \
             **known error**; a workaround, once flagged, can be applied to every linked incident still \
             open. Resolving a problem needs an outcome it is ready for: `change` (a linked change that resolves \
             it has been implemented), `known_error` (it has been a known error), `workaround` (a flagged workaround) or `other`; \
             closing it waits until the changes that resolve it are done. Staff only: to a customer token \
             no problem exists (404, or an empty list).",
        ),
        tag(
            CHANGES,
            "Change requests: a plan (reason, risk, backout plan, planned window, affected items) and the \
             agents who approve it. As its approval rule says, every approver must approve or any one may; \
             one rejection rejects it. An approved change is scheduled, implemented (or backed out), \
             reviewed and closed. The change calendar shows the changes in a window and their conflicts: \
             two approved, scheduled or implementing changes whose windows overlap and which touch an item \
             in common. Staff only: to a customer token no change exists (404, or an empty list).",
        ),
        tag(
            REQUESTS,
            "Service requests: asking for something standard (a new starter, a password reset), of one of \
             the tenant's request types, which brings its own fields and fulfilment steps. Each step is \
             marked done once; a request is fulfilled only when every step is done. Customers may log \
             requests and see their own.",
        ),
        tag(
            LINKS,
            "Typed links between tickets of any kind (`caused_by`, `resolves`, `parent_of`, `related`...). \
             A link is made once and read from either end: `INC-000001 caused_by PRB-000002` reads \
             `causes INC-000001` from the problem. Staff make and remove links; a customer sees the links \
             of their own incidents and service requests to their own tickets.",
        ),
        tag(
            EXTENDED_DATA,
            "The tenant's own fields on each kind of ticket (text, memo, number, date or choice, with their \
             rules), which admins define. A ticket's values are in its `fields`, checked when it is logged \
             or edited; ticket lists filter on them with `field.<key>=<value>`. Service requests also have \
             the fields of their request type.",
        ),
    ]
}

// ---- the kinds ----

/// One kind of ticket, as its routes name it.
pub(crate) struct Ticket {
    pub(super) kind: TicketKind,
    /// The middle of its operation ids: `ServiceRequest`.
    pub(crate) title: &'static str,
    /// The tag of its own operations.
    pub(crate) tag: &'static str,
}

impl Ticket {
    /// The path segment: `requests`.
    pub(super) fn path(&self) -> &'static str {
        segment(self.kind)
    }

    /// `service request`.
    pub(super) fn noun(&self) -> &'static str {
        self.kind.noun()
    }

    /// `a service request`, `an incident`.
    pub(crate) fn one(&self) -> String {
        let noun = self.noun();
        let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {noun}")
    }
}

/// Every kind of ticket: each has links, an export and a publication.
pub(super) const TICKETS: [Ticket; 4] = [
    Ticket {
        kind: TicketKind::Incident,
        title: "Incident",
        tag: INCIDENTS,
    },
    PROBLEM,
    CHANGE,
    REQUEST,
];

const PROBLEM: Ticket = Ticket {
    kind: TicketKind::Problem,
    title: "Problem",
    tag: PROBLEMS,
};

const CHANGE: Ticket = Ticket {
    kind: TicketKind::Change,
    title: "Change",
    tag: CHANGES,
};

const REQUEST: Ticket = Ticket {
    kind: TicketKind::Request,
    title: "ServiceRequest",
    tag: REQUESTS,
};

/// A kind of ticket with routes of its own under `/api/v1/<path>`.
struct Process {
    ticket: Ticket,
    /// Its lifecycle, for its status changes.
    lifecycle: &'static str,
    /// Its final statuses: no more edits, assignments or actions.
    done: &'static str,
    /// The summary and description of logging one.
    log: &'static str,
    logs: &'static str,
    /// What logging one checks beyond what every kind checks.
    log_rules: &'static str,
    /// What a status change checks (400).
    move_rules: &'static str,
    /// When a move the lifecycle allows is refused all the same (409).
    not_ready: &'static str,
}

const PROCESSES: [Process; 3] = [PROBLEMS_PROCESS, CHANGES_PROCESS, REQUESTS_PROCESS];

const PROBLEMS_PROCESS: Process = Process {
    ticket: PROBLEM,
    lifecycle: "Where a problem is. open → investigating | known_error | resolved; investigating → \
                known_error | resolved; known_error → investigating | resolved; resolved → closed | open \
                (reopen); closed is final. Becoming a known error needs a root cause, resolving an \
                outcome the problem is ready for, closing every change that resolves it done.",
    done: "closed",
    log: "Log a problem",
    logs: "Logs a problem; it starts `open` with the tenant's next `PRB-` reference. Link its incidents \
           with `POST /api/v1/problems/{id}/incidents`. Admin, agent and integration tokens.",
    log_rules: "",
    move_rules: "`status` must be a problem status. Resolving needs a `resolution` (not blank, at most \
                 100000 characters) and an `outcome`; any other move refuses an `outcome`.",
    not_ready: "Or the problem is not ready for the move: a known error needs a root cause \
                (`details.missing`); resolving by `change` needs a linked change that resolves it and has been implemented, by \
                `known_error` the problem to have been a known error, by `workaround` a flagged \
                workaround (`details.outcome`); closing needs the changes that resolve it to be done \
                (`details.changes` names those still under way).",
};

const CHANGES_PROCESS: Process = Process {
    ticket: CHANGE,
    lifecycle: "Where a change is. requested → cancelled, or approved | rejected by the approvers' \
                decisions (never by a status change); approved → scheduled | cancelled; scheduled → \
                implementing | cancelled; implementing → implemented | backed_out; implemented | \
                backed_out → reviewed (the post-implementation review); reviewed → closed. Rejected, \
                cancelled and closed are final.",
    done: "rejected, cancelled or closed",
    log: "Request a change",
    logs: "Requests a change with its plan; it starts `requested` with the tenant's next `CHG-` \
           reference and waits for its approvers' decisions (`POST /api/v1/changes/{id}/decision`). \
           The incidents and problems in `change.incidents` and `change.problems` are linked to it as \
           `resolved_by` it. Admin, agent and integration tokens.",
    log_rules: "`change` is required: `change.reason` and `change.backout_plan` must not be blank, \
                `change.planned_end` must be after `change.planned_start`, `change.approvers` must name \
                1 to 20 different agents of the tenant's (`change.approvers[0]`...), \
                `change.affected_items` at most 100 items of at most 200 characters, and \
                `change.incidents` and `change.problems` the tenant's incidents and problems \
                (`change.incidents[0]`...).",
    move_rules: "`status` must be a change status; `review` must not be blank (at most 100000 \
                 characters) to move to `reviewed`, nor `backout_reason` to move to `backed_out`.",
    not_ready: "`approved` and `rejected` come only from the approvers' decisions.",
};

const REQUESTS_PROCESS: Process = Process {
    ticket: REQUEST,
    lifecycle: "Where a service request is. open → in_progress | pending | fulfilled; in_progress → \
                pending | fulfilled; pending → in_progress | fulfilled; fulfilled → closed | open \
                (reopen); closed is final. Fulfilling needs every step of the request done.",
    done: "closed",
    log: "Log a service request",
    logs: "Logs a service request of one of the tenant's request types; it starts `open` with the \
           tenant's next `REQ-` reference and the type's steps, none done. Any token; a customer's \
           request is always their own.",
    log_rules: "`request_type` is required and must name one of the tenant's request types; `fields` \
                must also fit the type's own fields.",
    move_rules: "`status` must be a service request status; a `resolution` when fulfilling is at most \
                 100000 characters.",
    not_ready: "Or the request has steps still to do (`details.pending_steps`) and cannot be fulfilled \
                yet.",
};

/// Who sees what of a list (`list`) or a ticket of `kind`.
fn own(kind: TicketKind, list: bool) -> String {
    if customers_see(kind) {
        "A customer token sees only the customer's own (those whose `customer_id` is the customer)."
            .to_owned()
    } else if list {
        format!(
            "{}s are the staff's: a customer token gets an empty page.",
            capitalized(kind.noun())
        )
    } else {
        format!(
            "{}s are the staff's: to a customer token none exists (404).",
            capitalized(kind.noun())
        )
    }
}

/// Whether a customer sees their own tickets of `kind` (problems and
/// changes are the staff's).
pub(crate) fn customers_see(kind: TicketKind) -> bool {
    matches!(kind, TicketKind::Incident | TicketKind::Request)
}

// ---- schemas ----

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

// ---- parameters and errors ----

/// The path parameter `id` of a ticket of `kind`.
pub(crate) fn ticket_id(kind: TicketKind) -> Value {
    let example = format!("{}-000042", kind.prefix());
    let schema =
        json!({ "type": "string", "examples": [example, "0190b3a4-7c1e-7d2a-9f3e-5b6c7d8e9f01"] });
    parameter(
        "id",
        "path",
        true,
        schema,
        &format!(
            "The {}'s id (a UUID) or its reference (`{example}`, in any case).",
            kind.noun()
        ),
    )
}

pub(crate) fn ticket_missing(kind: TicketKind) -> (u16, String) {
    let noun = kind.noun();
    if customers_see(kind) {
        not_found(&format!(
            "no such {noun} in the tenant, or (for a customer token) not one of the customer's own."
        ))
    } else {
        not_found(&format!(
            "no such {noun} in the tenant (to a customer token, none exists)."
        ))
    }
}

/// 409: the ticket is in a final status.
fn done(p: &Process) -> (u16, String) {
    (
        409,
        format!(
            "`invalid_transition`: the {} is {}; `details.status` and `details.allowed` say so.",
            p.ticket.noun(),
            p.done
        ),
    )
}

/// What logging a ticket of `p`'s kind checks.
fn log_rules(p: &Process) -> String {
    format!(
        "`summary` must not be blank (at most 200 characters), `description` at most 100000 characters, \
         `category` and `service` at most 200, `priority` 1 to 5 (3 to 5 for a customer token); `customer_id` must name one of the \
         tenant's customers; `fields` must fit the tenant's fields for {}s (`details.fields` names \
         `fields.<key>`). {}",
        p.ticket.noun(),
        p.log_rules
    )
}

/// What an edit of a ticket of `kind` must not hold: what only a problem
/// has, for any other kind (a root cause or workaround even null, which
/// would clear it; `workaround_flagged` null is no flag).
pub(crate) fn edit_body_rules(kind: TicketKind) -> Option<Value> {
    (kind != TicketKind::Problem).then(|| {
        json!({
            "not": { "anyOf": [{ "required": ["root_cause"] }, { "required": ["workaround"] }] },
            "properties": { "workaround_flagged": { "type": "null" } },
        })
    })
}

/// What an edit of a ticket of `kind` checks.
pub(crate) fn edit_rules(kind: TicketKind) -> String {
    let fields = if kind == TicketKind::Request {
        "service requests and for its request type"
    } else {
        &format!("{}s", kind.noun())
    };
    let problems = if kind == TicketKind::Problem {
        "`root_cause` and `workaround` are at most 100000 characters, and `workaround_flagged` needs a \
         workaround."
    } else {
        "`root_cause`, `workaround` and `workaround_flagged` are refused: only problems have them."
    };
    format!(
        "`summary` must not be blank (at most 200 characters), `description` at most 100000 characters, \
         `category` and `service` at most 200, `priority` 1 to 5; `customer_id` must name one of the \
         tenant's customers; `impact` and `urgency` are 1 to 3, and only incidents have them \
         (`impact` is named); `fields` must fit the tenant's fields \
         for {fields}, and a required field cannot be cleared (`details.fields` names `fields.<key>`). \
         {problems}"
    )
}

// ---- paths ----

// ---- declared beside their routes in [`crate::tickets`] ----

/// `GET /problems/{id}/incidents`.
pub(crate) fn problem_incidents_docs(op: TransformOperation) -> TransformOperation {
    let kind = TicketKind::Problem;
    op.about(
        "listProblemIncidents",
        PROBLEMS,
        "List a problem's incidents",
        "One page of the incidents linked to the problem, newest first: the same as `GET \
         /api/v1/incidents?problem={id}`. Admin, agent and integration tokens.",
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<Page<IncidentV1>>, _>(|r| r.description("One page."))
    .fails(vec![
        bad_query(),
        ticket_missing(kind),
        internal(),
        ticketing_down(),
    ])
}

/// `POST /problems/{id}/incidents`.
pub(crate) fn link_incidents_docs(op: TransformOperation) -> TransformOperation {
    let kind = TicketKind::Problem;
    op.about(
        "linkProblemIncidents",
        PROBLEMS,
        "Link incidents to a problem",
        "Links incidents to the problem. An incident has at most one problem: one linked to \
         another problem moves to this one, unless that problem is closed (a closed problem's \
         record is history). Admin, agent and integration tokens.",
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<TicketV1>, _>(|r| {
        r.description("The problem, its `problem.linked_incidents` counted anew.")
    })
    .fails(vec![
        bad_body(&format!(
            "`incidents` must name 1 to {MAX_LINKED_INCIDENTS} of the tenant's incidents \
             (`details.fields` names `incidents[0]`...)."
        )),
        ticket_missing(kind),
        (
            409,
            "`invalid_transition`: the problem is closed, or an incident named belongs to a closed \
             problem; `details.status` is that problem's."
                .to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

/// `DELETE /problems/{id}/incidents/{incident}`.
pub(crate) fn unlink_incident_docs(op: TransformOperation) -> TransformOperation {
    let incident = parameter(
        "incident",
        "path",
        true,
        json!({ "type": "string" }),
        "The incident's id (a UUID) or its reference (`INC-000042`, in any case).",
    );
    op.about(
        "unlinkProblemIncident",
        PROBLEMS,
        "Unlink an incident from a problem",
        "The incident no longer has a problem. The problem must not be closed. Admin, agent and \
         integration tokens.",
    )
    .param(ticket_id(TicketKind::Problem))
    .param(incident)
    .traced()
    .response_with::<200, Json<TicketV1>, _>(|r| r.description("The problem."))
    .fails(vec![
        not_found(
            "no such problem or incident in the tenant, or the incident is not linked to this \
             problem.",
        ),
        done(&PROBLEMS_PROCESS),
        internal(),
        ticketing_down(),
    ])
}

/// `POST /problems/{id}/workaround/apply`.
pub(crate) fn apply_workaround_docs(op: TransformOperation) -> TransformOperation {
    let kind = TicketKind::Problem;
    op.about(
        "applyProblemWorkaround",
        PROBLEMS,
        "Apply a problem's workaround",
        "Adds the problem's flagged workaround as a note to every linked incident that is not \
         resolved or closed and does not have it already (applying it again adds it only where it \
         is new). The note is private unless `notify_customer=true`, which makes it public and \
         emails it to each incident's customer. The desk writes it (author `Workaround`), so it is \
         not a response to the customer; the agent who applied it is in each incident's history. \
         The problem must not be closed. Admin, agent and integration tokens.",
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<WorkaroundAppliedV1>, _>(|r| {
        r.description("The incidents that got it.")
    })
    .fails(vec![
        bad_query(),
        ticket_missing(kind),
        (
            409,
            "`invalid_transition`: the problem is closed (`details.status` and \
             `details.allowed` say so), or it has no flagged workaround (`details.missing` is \
             `workaround_flagged`)."
                .to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

/// `POST /changes/{id}/decision`.
/// `PATCH /changes/{id}/plan`.
pub(crate) fn replan_docs(op: TransformOperation) -> TransformOperation {
    let kind = TicketKind::Change;
    op.about(
        "replanChange",
        CHANGES,
        "Edit a change's plan",
        "Edits or reschedules a change's plan while it is `requested`, `approved` or `scheduled`: \
         what is left out stays, and the plan is checked as a new one is. A plan that changes \
         undoes every decision on it: an approved or scheduled change is `requested` again, and \
         its approvers are emailed to decide anew. The history says which parts changed. Admin, \
         agent and integration tokens.",
    )
    .param(ticket_id(kind))
    .traced()
    .guarded()
    .response_with::<200, Json<TicketV1>, _>(|r| {
        r.description("The change as planned now (as it was, if nothing changed).")
    })
    .fails(vec![
        bad_body(
            "`reason` and `backout_plan` must not be blank, `planned_end` must be after \
             `planned_start` (as given or as they are), `approvers` must name 1 to 20 of the \
             tenant's agents, each once (`approvers[0]`...), and each of `affected_items` must \
             not be blank.",
        ),
        ticket_missing(kind),
        (
            409,
            "`invalid_transition`: the change is past being planned (rejected, being \
             implemented, or later); `details.status` says where it is."
                .to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

pub(crate) fn decide_docs(op: TransformOperation) -> TransformOperation {
    let kind = TicketKind::Change;
    op.about(
        "decideChange",
        CHANGES,
        "Decide on a change",
        "An approver named on the change approves or rejects it, once. With approval rule `all` \
         the change is approved when every approver has approved, with `any` at the first \
         approval; one rejection rejects it. Approvers are agents, so only their agent tokens \
         decide.",
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<TicketV1>, _>(|r| {
        r.description("The change with the decision, in its new status if the decision settled it.")
    })
    .fails(vec![
        bad_body(&format!(
            "`comment` is at most {MAX_TEXT} characters, with no control characters but line \
             breaks and tabs."
        )),
        (
            403,
            "`forbidden`: customer tokens may not do this, and only the change's named approvers \
             decide on it."
                .to_owned(),
        ),
        ticket_missing(kind),
        (
            409,
            "`invalid_transition`: the change is no longer `requested`; `details.status` and \
             `details.allowed` say where it is. `conflict`: this approver has already decided."
                .to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

/// `GET /changes/calendar`.
pub(crate) fn calendar_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getChangeCalendar",
        CHANGES,
        "Get the change calendar",
        "The changes whose planned window overlaps `from`..`to`, by planned start, leaving out \
         rejected and cancelled ones, and their conflicts: pairs of approved, scheduled or \
         implementing changes whose windows overlap and which touch an item in common. Admin, \
         agent and integration tokens.",
    )
    .traced()
    .response_with::<200, Json<ChangeCalendarV1>, _>(|r| {
        r.description("The changes and conflicts.")
    })
    .fails(vec![
        (
            400,
            format!(
                "`validation_failed`: `from` or `to` is missing or not RFC 3339, `to` is not \
                 after `from` or is more than {MAX_CALENDAR_DAYS} days after it, or a query \
                 parameter is unknown; `details.fields` names it."
            ),
        ),
        internal(),
        ticketing_down(),
    ])
}

/// `POST /requests/{id}/steps/{step}/done`.
pub(crate) fn complete_step_docs(op: TransformOperation) -> TransformOperation {
    let kind = TicketKind::Request;
    let step = parameter(
        "step",
        "path",
        true,
        json!({ "type": "integer", "minimum": 0 }),
        "The step's place in `request.steps`, from 0; a place with no step (or not a number) \
         answers 404.",
    );
    op.about(
        "completeServiceRequestStep",
        REQUESTS,
        "Mark a step of a service request done",
        "Marks one fulfilment step done, by whom and when. The last step done fulfils the request: \
         it moves to `fulfilled` as a status change by the same caller would (its resolution \
         names the steps; its SLA clocks stop; its customer is sent the resolution email). Admin, \
         agent and integration tokens.",
    )
    .param(ticket_id(kind))
    .param(step)
    .traced()
    .response_with::<200, Json<TicketV1>, _>(|r| {
        r.description("The request with the step done (`fulfilled` if it was the last).")
    })
    .fails(vec![
        not_found(
            "no such service request in the tenant, or it has no step at this place (`step` is \
             past its last step, or not a number).",
        ),
        (
            409,
            "`invalid_transition`: the request is fulfilled or closed; `details.status` and \
             `details.allowed` say so. `conflict`: the step is already done."
                .to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

/// `GET /request-types`.
pub(crate) fn request_types_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "listRequestTypes",
        REQUESTS,
        "List request types",
        "The tenant's request types, by name (not paged). Any token: a customer picks one to log \
         a request.",
    )
    .traced()
    .response_with::<200, Json<Vec<RequestTypeV1>>, _>(|r| r.description("The types."))
    .fails(vec![unauthorized(), internal(), ticketing_down()])
}

/// What a set of field definitions must hold that its schema cannot say.
fn field_rules() -> String {
    format!(
        "At most {MAX_FIELDS} fields; each `key` 1 to 40 of a-z, 0-9 and _, starting with a \
         letter, and given once; `label` not blank (at most {MAX_LABEL} characters); a `choice` \
         field needs `choices`, and only it may have them; only a `number` field has `min` and \
         `max` (`min` not above `max`), only `text` and `memo` a `max_length`."
    )
}

/// `POST /request-types`.
pub(crate) fn define_request_type_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "defineRequestType",
        REQUESTS,
        "Define a request type",
        "Creates a request type, or replaces the one of the same name (in any case), keeping its \
         id. Requests already logged keep the steps they were logged with. Admin tokens only.",
    )
    .traced()
    .response_with::<200, Json<RequestTypeV1>, _>(|r| r.description("The type as defined."))
    .fails(vec![
        bad_body(&format!(
            "`name` must not be blank (at most {MAX_SUMMARY} characters), `description` at most \
             {MAX_TEXT} characters; `fields`: {} None may have the key of a field every service \
             request has (`fields[0].key`...); at most {MAX_STEPS} `steps`, each not blank and at \
             most {MAX_SUMMARY} characters (`steps[0]`...).",
            field_rules()
        )),
        internal(),
        ticketing_down(),
    ])
}

/// `DELETE /request-types/{id}`.
pub(crate) fn delete_request_type_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "deleteRequestType",
        REQUESTS,
        "Retire a request type",
        "Deletes a request type: no request is logged with it from now on. The requests logged \
         with it keep what they were logged with (its name and steps), so a type in use may go. \
         Admin tokens only.",
    )
    .path_param("id", "The type's id or its name (in any case).")
    .traced()
    .response_with::<200, Json<RequestTypeV1>, _>(|r| r.description("The type retired."))
    .fails(vec![
        not_found("the tenant has no request type with this id or name."),
        internal(),
        ticketing_down(),
    ])
}

/// The path parameter `kind` of the extended data routes.
fn kind_param() -> Value {
    let paths: Vec<&str> = TICKETS.iter().map(Ticket::path).collect();
    parameter(
        "kind",
        "path",
        true,
        json!({ "type": "string", "enum": paths }),
        "The kind of ticket, as its path names it.",
    )
}

/// 404: a `kind` that names no kind of ticket.
fn no_kind() -> (u16, String) {
    let paths: Vec<String> = TICKETS.iter().map(|t| format!("`{}`", t.path())).collect();
    not_found(&format!("`kind` is not one of {}.", paths.join(", ")))
}

/// `GET /fields/{kind}`.
pub(crate) fn field_definitions_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getFieldDefinitions",
        EXTENDED_DATA,
        "Get the fields of a kind of ticket",
        "The tenant's own fields for tickets of this kind, in order. Any token. A service request \
         also has the fields of its request type (see `/api/v1/request-types`).",
    )
    .param(kind_param())
    .traced()
    .response_with::<200, Json<FieldDefinitionsV1>, _>(|r| r.description("The fields."))
    .fails(vec![no_kind(), internal(), ticketing_down()])
}

/// `PUT /fields/{kind}`.
pub(crate) fn set_field_definitions_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "setFieldDefinitions",
        EXTENDED_DATA,
        "Set the fields of a kind of ticket",
        "Replaces the tenant's fields for tickets of this kind. Values already stored for a field \
         left out stay on their tickets; tickets logged or edited from now on are checked against \
         the new fields. Admin tokens only.",
    )
    .param(kind_param())
    .traced()
    .response_with::<200, Json<FieldDefinitionsV1>, _>(|r| r.description("The fields now."))
    .fails(vec![
        bad_body(&format!(
            "{} `details.fields` names the field as `fields[0].key`.",
            field_rules()
        )),
        no_kind(),
        internal(),
        ticketing_down(),
    ])
}

/// The process of a kind that has routes of its own.
fn process(kind: TicketKind) -> &'static Process {
    PROCESSES
        .iter()
        .find(|p| p.ticket.kind == kind)
        .expect("problems, changes and service requests have routes of their own")
}

/// `GET /<kind>`.
pub(crate) fn list_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let p = process(kind);
    let Ticket { title, tag, .. } = p.ticket;
    let noun = p.ticket.noun();
    op.about(
        &format!("list{title}s"),
        tag,
        &format!("List {noun}s"),
        &format!(
            "One page of the tenant's {noun}s, newest first unless `sort` says otherwise, \
             filtered. {} {}",
            own(kind, true),
            super::FIELD_FILTERS
        ),
    )
    .param_schema("status", json!({ "enum": kind.statuses() }))
    .traced()
    .response_with::<200, Json<Page<TicketV1>>, _>(|r| r.description("One page."))
    .fails(vec![super::bad_query(), internal(), ticketing_down()])
}

/// What a new ticket of `kind` must hold besides what every kind does: a
/// change its plan, a service request its type; nothing of another kind's.
fn new_ticket_rules(kind: TicketKind) -> Value {
    let given = |field: &str, schema: Value| json!({ "required": [field], "properties": { field: schema } });
    let absent = |field: &str| json!({ "properties": { field: { "type": "null" } } });
    let plan = json!({ "$ref": "#/components/schemas/ChangePlanV1" });
    let request_type = json!({ "type": "string" });
    match kind {
        TicketKind::Change => json!({ "allOf": [given("change", plan), absent("request_type")] }),
        TicketKind::Request => {
            json!({ "allOf": [given("request_type", request_type), absent("change")] })
        }
        _ => json!({ "allOf": [absent("change"), absent("request_type")] }),
    }
}

/// `POST /<kind>`.
pub(crate) fn create_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let p = process(kind);
    let mut failures = vec![bad_body(&log_rules(p)), internal(), ticketing_down()];
    if kind != TicketKind::Request {
        failures.push(staff_only());
    }
    // Customers may ask for service requests; the rest is the staff's.
    let roles = if kind == TicketKind::Request {
        super::declared::ANY_ROLE
    } else {
        STAFF
    };
    op.roles(roles)
        .about(
            &format!("create{}", p.ticket.title),
            p.ticket.tag,
            p.log,
            p.logs,
        )
        .traced()
        .idempotent()
        .body_rules(new_ticket_rules(kind))
        .response_with::<201, Json<TicketV1>, _>(|r| r.description("Logged."))
        .fails(failures)
}

/// `GET /<kind>/{id}`.
pub(crate) fn read_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let p = process(kind);
    let one = p.ticket.one();
    op.about(
        &format!("get{}", p.ticket.title),
        p.ticket.tag,
        &format!("Get {one}"),
        &format!(
            "{} by id or reference. {}",
            capitalized(&one),
            own(kind, false)
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<TicketV1>, _>(|r| r.description("Found."))
    .fails(vec![ticket_missing(kind), internal(), ticketing_down()])
}

/// `PATCH /<kind>/{id}`.
pub(crate) fn edit_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let p = process(kind);
    let (noun, one) = (p.ticket.noun(), p.ticket.one());
    let problems = if kind == TicketKind::Problem {
        ", including the root cause and the workaround"
    } else {
        ""
    };
    let mut op = op
        .about(
            &format!("update{}", p.ticket.title),
            p.ticket.tag,
            &format!("Edit {one}"),
            &format!(
                "Changes what is given (see `TicketChangesV1`){problems}. Admin, agent and \
                 integration tokens."
            ),
        )
        .param(ticket_id(kind))
        .traced()
        .guarded();
    if let Some(rules) = edit_body_rules(kind) {
        op = op.body_rules(rules);
    }
    let edited = format!("The {noun} as edited.");
    op.response_with::<200, Json<TicketV1>, _>(|r| r.description(&edited))
        .fails(vec![
            bad_body(&edit_rules(kind)),
            ticket_missing(kind),
            done(p),
            internal(),
            ticketing_down(),
        ])
}

/// The answer of an operation on a ticket of `kind`: an incident's is the
/// incident view.
fn answered<'a>(
    kind: TicketKind,
    status: u16,
    description: &str,
    op: TransformOperation<'a>,
) -> TransformOperation<'a> {
    match (kind, status) {
        (TicketKind::Incident, 200) => {
            op.response_with::<200, Json<IncidentV1>, _>(|r| r.description(description))
        }
        (TicketKind::Incident, _) => {
            op.response_with::<201, Json<IncidentV1>, _>(|r| r.description(description))
        }
        (_, 200) => op.response_with::<200, Json<TicketV1>, _>(|r| r.description(description)),
        _ => op.response_with::<201, Json<TicketV1>, _>(|r| r.description(description)),
    }
}

/// `POST /<kind>/{id}/assign`.
pub(crate) fn assign_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    let (noun, one) = (t.noun(), t.one());
    let about = if kind == TicketKind::Incident {
        "Sets the assignee, the team, the supplier, or more than one; a field left out is \
         unchanged and null clears it. Handing the incident to a supplier it is not already with \
         puts a `SupplierAssignmentV1` on that supplier's queue (see the Suppliers tag); null \
         takes it back, and the supplier's updates on it are refused from then on (it is sent \
         nothing). Admin, agent and integration tokens."
    } else {
        "Sets the assignee, the team, or both; a field left out is unchanged and null clears \
         it. Only incidents go to suppliers: `supplier_id` is refused here. Admin, agent and \
         integration tokens."
    };
    let mut op = op
        .about(
            &format!("assign{}", t.title),
            t.tag,
            &format!("Assign {one}"),
            about,
        )
        .param(ticket_id(kind))
        .traced()
        .guarded();
    if kind != TicketKind::Incident {
        // Only an incident goes to a supplier: for any other kind the field
        // is refused, even null.
        op = op.body_rules(json!({ "not": { "required": ["supplier_id"] } }));
    }
    answered(kind, 200, &format!("The {noun} as assigned."), op).fails(vec![
        bad_body(&super::assignment_rules(kind)),
        ticket_missing(kind),
        finished(kind),
        internal(),
        ticketing_down(),
    ])
}

/// What a status change of a ticket of `kind` must hold: one of its
/// kind's statuses; to resolve it, a resolution (not blank but for a
/// service request's) and, for a problem, an outcome; no outcome else.
fn status_rules(kind: TicketKind) -> Value {
    let mut rules = vec![];
    if let Some(resolved) = kind.resolved_status() {
        let resolution = if kind == TicketKind::Request {
            json!({ "type": ["string", "null"], "maxLength": MAX_TEXT, "pattern": ANY_TEXT_PATTERN })
        } else {
            json!({ "type": "string", "maxLength": MAX_TEXT, "pattern": TEXT_PATTERN })
        };
        let mut then = json!({ "properties": { "resolution": resolution } });
        if kind != TicketKind::Request {
            then["required"] = json!(["resolution"]);
        }
        rules.push(json!({
            "if": { "properties": { "status": { "const": resolved } }, "required": ["status"] },
            "then": then,
        }));
    }
    if kind.statuses().contains(&"pending") {
        let reason =
            json!({ "type": "string", "maxLength": MAX_SUMMARY, "pattern": ONE_LINE_PATTERN });
        rules.push(json!({
            "if": { "properties": { "status": { "const": "pending" } }, "required": ["status"] },
            "then": { "required": ["pending_reason"], "properties": { "pending_reason": reason } },
        }));
    }
    if kind == TicketKind::Change {
        let text = json!({ "type": "string", "maxLength": MAX_TEXT, "pattern": TEXT_PATTERN });
        for (status, field) in [("reviewed", "review"), ("backed_out", "backout_reason")] {
            rules.push(json!({
                "if": { "properties": { "status": { "const": status } }, "required": ["status"] },
                "then": { "required": [field], "properties": { field: text.clone() } },
            }));
        }
    }
    let no_outcome = json!({ "properties": { "outcome": { "type": "null" } } });
    if kind == TicketKind::Problem {
        rules.push(json!({
            "if": { "properties": { "status": { "const": "resolved" } }, "required": ["status"] },
            "then": {
                "required": ["outcome"],
                "properties": { "outcome": { "$ref": "#/components/schemas/ProblemOutcome" } },
            },
            "else": no_outcome,
        }));
    } else {
        rules.push(no_outcome);
    }
    json!({ "properties": { "status": { "enum": kind.statuses() } }, "allOf": rules })
}

/// `POST /<kind>/{id}/status`.
pub(crate) fn status_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    let (noun, one) = (t.noun(), t.one());
    let (lifecycle, move_rules, not_ready) = match PROCESSES.iter().find(|p| p.ticket.kind == kind)
    {
        Some(p) => (p.lifecycle, p.move_rules.to_owned(), p.not_ready),
        None => (
            "open → in_progress | pending | resolved; in_progress → pending | resolved; pending \
             → in_progress | resolved; resolved → closed | open (reopen); closed is final.",
            format!(
                "`status` must be an incident status; `resolution` must not be blank (at most \
                 {MAX_TEXT} characters) when `status` is `resolved`."
            ),
            "",
        ),
    };
    let move_rules = if kind.statuses().contains(&"pending") {
        format!(
            "{move_rules} `pending_reason` must not be blank (one line, at most {MAX_SUMMARY} \
             characters) when `status` is `pending`; the {noun} shows it while pending."
        )
    } else {
        move_rules
    };
    let (roles, who) = if customers_see(kind) {
        (
            super::declared::ANY_ROLE,
            format!(
                "Any token: a customer token only on the customer's own {noun}s, to close one that \
                 is {} or {}; any other status answers 403 `forbidden` (and closing one not yet \
                 done, 409 as its lifecycle says).",
                kind.resolved_status().unwrap_or("done"),
                if kind == TicketKind::Incident {
                    "to withdraw it (`resolved`, saying why as the `resolution`)"
                } else {
                    "nothing more (the desk fulfils it)"
                }
            ),
        )
    } else {
        (STAFF, "Admin, agent and integration tokens.".to_owned())
    };
    let op = op
        .roles(roles)
        .about(
            &format!("change{}Status", t.title),
            t.tag,
            &format!("Change {one}'s status"),
            &format!("Moves the {noun} along its lifecycle. {lifecycle} {who}"),
        )
        .param(ticket_id(kind))
        .traced()
        .guarded()
        .body_rules(status_rules(kind));
    let forbidden = if customers_see(kind) {
        (
            403,
            "`forbidden`: a customer token may only close its own resolved ticket, or withdraw its \
             incident."
                .to_owned(),
        )
    } else {
        staff_only()
    };
    answered(kind, 200, &format!("The {noun} in its new status."), op).fails(vec![
        forbidden,
        bad_body(&move_rules),
        ticket_missing(kind),
        (
            409,
            format!(
                "`invalid_transition`: the lifecycle does not allow this move; `details.from`, \
                 `details.to` and `details.allowed` say where it is and where it may go. \
                 {not_ready}"
            )
            .trim_end()
            .to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

/// `GET /<kind>/{id}/links`.
pub(crate) fn links_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    let (noun, one) = (t.noun(), t.one());
    let who = if customers_see(kind) {
        format!(
            "A customer token sees only the links of the customer's own {noun}s to the \
             customer's own tickets."
        )
    } else {
        "Admin, agent and integration tokens.".to_owned()
    };
    op.about(
        &format!("list{}Links", t.title),
        LINKS,
        &format!("List {one}'s links"),
        &format!(
            "The links between the {noun} and other tickets, oldest first (not paged), each read \
             from the {noun}. {who}"
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<Vec<LinkV1>>, _>(|r| r.description("The links."))
    .fails(vec![ticket_missing(kind), internal(), ticketing_down()])
}

/// `POST /<kind>/{id}/links`.
pub(crate) fn link_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    op.about(
        &format!("add{}Link", t.title),
        LINKS,
        &format!("Link {} to another ticket", t.one()),
        &format!(
            "Links the {} to another ticket of any kind; the other ticket reads the link the \
             other way round. Admin, agent and integration tokens.",
            t.noun()
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<201, Json<LinkV1>, _>(|r| {
        r.description("Linked: the link as seen from this ticket.")
    })
    .fails(vec![
        bad_body(
            "`kind` must be given when `ticket` is not a reference; `ticket` must name one of \
             the tenant's tickets of that kind, and not this one; and the link must not contradict \
             the links there are (`ticket`): `parent_of`/`child_of`, `causes`/`caused_by` and \
             `resolves`/`resolved_by` are orders, so no ticket may become its own ancestor, cause \
             or resolver, directly (A parent of B, B parent of A) or through others.",
        ),
        ticket_missing(kind),
        (
            409,
            "`conflict`: the tickets are already linked this way (made from either end)."
                .to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

/// `DELETE /<kind>/{id}/links/{link}`.
pub(crate) fn unlink_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    op.about(
        &format!("remove{}Link", t.title),
        LINKS,
        &format!("Remove a link of {}", t.one()),
        "Removes the link from both of its tickets. Admin, agent and integration tokens.",
    )
    .param(ticket_id(kind))
    .path_param("link", "The link's id (`id` of a `LinkV1`).")
    .traced()
    .response_with::<200, Json<Vec<LinkV1>>, _>(|r| r.description("The links left on this ticket."))
    .fails(vec![
        not_found(&format!(
            "no such {} in the tenant, or it has no link with this id (a link id that is not a \
             UUID answers this too).",
            t.noun()
        )),
        internal(),
        ticketing_down(),
    ])
}

/// The kind's descriptor.
pub(crate) fn of(kind: TicketKind) -> &'static Ticket {
    TICKETS
        .iter()
        .find(|t| t.kind == kind)
        .expect("every kind is in TICKETS")
}

/// 409: a ticket of `kind` in a final status.
fn finished(kind: TicketKind) -> (u16, String) {
    match PROCESSES.iter().find(|p| p.ticket.kind == kind) {
        Some(p) => done(p),
        None => (
            409,
            "`invalid_transition`: the incident is closed; `details.status` and \
             `details.allowed` say so."
                .to_owned(),
        ),
    }
}

/// `GET /<kind>/{id}/actions`.
pub(crate) fn actions_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    let (noun, one) = (t.noun(), t.one());
    let who = if customers_see(kind) {
        format!("A customer token sees only public actions, on the customer's own {noun}s.")
    } else {
        "Admin, agent and integration tokens.".to_owned()
    };
    op.about(
        &format!("list{}Actions", t.title),
        t.tag,
        &format!("List {one}'s actions"),
        &format!("Every action on the {noun}, oldest first (not paged). {who}"),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<Vec<ActionV1>>, _>(|r| r.description("The actions."))
    .fails(vec![ticket_missing(kind), internal(), ticketing_down()])
}

/// `POST /<kind>/{id}/actions`.
pub(crate) fn add_action_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    let (noun, one) = (t.noun(), t.one());
    let who = if customers_see(kind) {
        format!(
            "Any token, a customer's to the customer's own {noun}s only; what a customer writes \
             is always public and is neither emailed nor exported to the knowledge base."
        )
    } else {
        "Admin, agent and integration tokens.".to_owned()
    };
    let failures = vec![
        bad_body(&format!(
            "`text` must not be blank (at most {MAX_TEXT} characters, no control characters but \
             line breaks and tabs)."
        )),
        ticket_missing(kind),
        finished(kind),
        internal(),
        ticketing_down(),
    ];
    op.about(
        &format!("add{}Action", t.title),
        t.tag,
        &format!("Add an action to {one}"),
        &format!("Adds a note or progress update. {who}"),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<201, Json<ActionV1>, _>(|r| r.description("Added."))
    .fails(failures)
}

/// `GET /<kind>/{id}/history`.
pub(crate) fn history_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    op.about(
        &format!("get{}History", t.title),
        t.tag,
        &format!("Get {}'s history", t.one()),
        &format!(
            "Every recorded change to the {}, oldest first (not paged). Admin, agent and \
             integration tokens.",
            t.noun()
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<Vec<AuditEntryV1>>, _>(|r| r.description("The changes."))
    .fails(vec![ticket_missing(kind), internal(), ticketing_down()])
}
