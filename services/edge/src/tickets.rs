//! `/api/v1/problems`, `/api/v1/changes`, `/api/v1/requests`, and what
//! every kind of ticket shares (links, edits, extended data definitions),
//! forwarded to ticketing over the bus. Incidents keep their own routes in
//! [`crate::incidents`]; the shared ones here serve them too.
//!
//! Which kind a route is for comes from its path ([`Kind`]), so one handler
//! serves `/problems/{id}/actions` and `/changes/{id}/actions`.

use aide::axum::ApiRouter;
use aide::axum::routing::{delete_with, get_with, patch_with, post_with};
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::{FromRequestParts, MatchedPath, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use contracts::incident::{ActionKind, ActionV1, AuditEntryV1, IncidentV1};
use contracts::limits::{
    ANY_LINE_PATTERN, ANY_TEXT_PATTERN, MAX_FIELDS, MAX_LINKED_INCIDENTS, MAX_MINUTES,
    MAX_PRIORITY, MAX_STEPS, MAX_SUMMARY, MAX_TEXT, ONE_LINE_PATTERN, TEXT_PATTERN,
};
use contracts::schema::{FieldValuesSchema, Timestamp};
use contracts::ticket::*;
use contracts::{Page, Role};
use runtime::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use schemars::JsonSchema;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Admin, Principal, Staff};
use crate::directory::{self, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Filters, Params, Path};
use crate::incidents::{as_incident, call};
use crate::inputs;
use crate::knowledge;
use crate::openapi::declared::Declare;
use crate::openapi::{
    INCIDENTS, actions_docs, add_action_docs, apply_workaround_docs, assign_docs, bad_body,
    calendar_docs, complete_step_docs, create_docs, decide_docs, define_request_type_docs,
    delete_request_type_docs, edit_body_rules, edit_docs, edit_rules, field_definitions_docs,
    history_docs, internal, link_docs, link_incidents_docs, links_docs, list_docs,
    problem_incidents_docs, read_docs, replan_docs, request_types_docs, set_field_definitions_docs,
    status_docs, ticket_id, ticket_missing, ticketing_down, unlink_docs, unlink_incident_docs,
};
use crate::served::Tagged;

/// The path segment of each kind: `/api/v1/<segment>`.
pub fn segment(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::Incident => "incidents",
        TicketKind::Problem => "problems",
        TicketKind::Change => "changes",
        TicketKind::Request => "requests",
    }
}

/// The kind of ticket the matched route is for.
pub struct Kind(pub TicketKind);

/// Each kind's routes are documented apart: the kind is in the path.
impl aide::OperationInput for Kind {}

impl<S: Send + Sync> FromRequestParts<S> for Kind {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let matched = parts
            .extensions
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        matched
            .split('/')
            .find_map(|s| TicketKind::ALL.into_iter().find(|k| segment(*k) == s))
            .map(Kind)
            .ok_or_else(|| ApiError::not_found("ticket kind"))
    }
}

pub fn routes() -> ApiRouter<AppState> {
    let mut router = ApiRouter::new();
    for kind in [TicketKind::Problem, TicketKind::Change, TicketKind::Request] {
        let base = format!("/{}", segment(kind));
        router = router
            .api_route(
                &base,
                get_with(list, move |op| list_docs(kind, op))
                    .post_with(create, move |op| create_docs(kind, op)),
            )
            .api_route(
                &format!("{base}/{{id}}"),
                get_with(read, move |op| read_docs(kind, op))
                    .patch_with(edit, move |op| edit_docs(kind, op)),
            )
            .api_route(
                &format!("{base}/{{id}}/assign"),
                post_with(assign, move |op| assign_docs(kind, op)),
            )
            .api_route(
                &format!("{base}/{{id}}/status"),
                post_with(change_status, move |op| status_docs(kind, op)),
            );
    }
    for kind in TicketKind::ALL {
        let base = format!("/{}", segment(kind));
        router = router
            .api_route(
                &format!("{base}/bulk"),
                post_with(bulk, move |op| bulk_docs(kind, op)),
            )
            .api_route(
                &format!("{base}/{{id}}/links"),
                get_with(links, move |op| links_docs(kind, op))
                    .post_with(link, move |op| link_docs(kind, op)),
            )
            .api_route(
                &format!("{base}/{{id}}/actions"),
                get_with(actions, move |op| actions_docs(kind, op))
                    .post_with(add_action, move |op| add_action_docs(kind, op)),
            )
            .api_route(
                &format!("{base}/{{id}}/history"),
                get_with(history, move |op| history_docs(kind, op)),
            )
            .api_route(
                &format!("{base}/{{id}}/links/{{link}}"),
                delete_with(unlink, move |op| unlink_docs(kind, op)),
            )
            .api_route(
                &format!("{base}/{{id}}/export"),
                get_with(knowledge::export, move |op| {
                    knowledge::export_docs(kind, op)
                }),
            )
            .api_route(
                &format!("{base}/{{id}}/publish"),
                post_with(knowledge::publish, move |op| {
                    knowledge::publish_docs(kind, op)
                }),
            );
    }
    router
        .api_route(
            "/problems/{id}/incidents",
            get_with(problem_incidents, problem_incidents_docs)
                .post_with(link_incidents, link_incidents_docs),
        )
        .api_route(
            "/problems/{id}/incidents/{incident}",
            delete_with(unlink_incident, unlink_incident_docs),
        )
        .api_route(
            "/problems/{id}/workaround/apply",
            post_with(apply_workaround, apply_workaround_docs),
        )
        .api_route("/changes/{id}/decision", post_with(decide, decide_docs))
        .api_route("/changes/{id}/plan", patch_with(replan, replan_docs))
        .api_route("/changes/calendar", get_with(calendar, calendar_docs))
        .api_route(
            "/requests/{id}/steps/{step}/done",
            post_with(complete_step, complete_step_docs),
        )
        .api_route(
            "/request-types",
            get_with(request_types, request_types_docs)
                .post_with(define_request_type, define_request_type_docs),
        )
        .api_route(
            "/request-types/{id}",
            delete_with(delete_request_type, delete_request_type_docs),
        )
        .api_route(
            "/fields/{kind}",
            get_with(field_definitions, field_definitions_docs)
                .put_with(set_field_definitions, set_field_definitions_docs),
        )
}

/// The caller, who may log a ticket of the route's kind: problems and
/// changes are the staff's, customers may log service requests. Checked
/// before the body is read, so a role that may not hears 403 whatever it
/// sent.
struct MayLog(Principal);

/// Which roles may log each kind (and so its 403) is declared with each
/// kind's route; the token's 401 is [`Principal`]'s.
impl aide::OperationInput for MayLog {
    fn operation_input(
        ctx: &mut aide::generate::GenContext,
        operation: &mut aide::openapi::Operation,
    ) {
        Principal::operation_input(ctx, operation);
    }
}

impl FromRequestParts<AppState> for MayLog {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Kind(kind) = Kind::from_request_parts(parts, state).await?;
        let who = Principal::from_request_parts(parts, state).await?;
        if who.role() == Role::Customer && kind != TicketKind::Request {
            return Err(ApiError::forbidden());
        }
        Ok(Self(who))
    }
}

/// Who may move a ticket of the route's kind along its lifecycle: staff;
/// customers too on incidents and service requests (their own, to close or
/// withdraw them: ticketing says what else). Checked before the body is
/// read, like [`MayLog`].
pub struct MayMove(Principal);

impl aide::OperationInput for MayMove {
    fn operation_input(
        ctx: &mut aide::generate::GenContext,
        operation: &mut aide::openapi::Operation,
    ) {
        Principal::operation_input(ctx, operation);
    }
}

impl FromRequestParts<AppState> for MayMove {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let kind = match Kind::from_request_parts(parts, state).await {
            Ok(Kind(kind)) => kind,
            // `/incidents/{id}/status` has a route of its own.
            Err(_) => TicketKind::Incident,
        };
        let who = Principal::from_request_parts(parts, state).await?;
        if who.role() == Role::Customer && !crate::openapi::customers_see(kind) {
            return Err(ApiError::forbidden());
        }
        Ok(Self(who))
    }
}

/// A problem, change or service request to log (each kind's operation
/// says what else it needs).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewTicket {
    /// Not blank; stored trimmed.
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    summary: String,
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    description: String,
    /// 1 (highest) to 5; 3 if not given.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_PRIORITY))]
    priority: Option<u8>,
    /// The customer it is for: one of the tenant's. Ignored for a customer
    /// token, whose requests are always their own.
    #[serde(default)]
    customer_id: Option<Uuid>,
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))]
    category: Option<String>,
    /// The service concerned.
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))]
    service: Option<String>,
    /// Extended data, by key: values for the tenant's fields for its kind
    /// (see `/api/v1/fields/{kind}`), and a service request's for its
    /// type's; required fields must be given.
    #[serde(default)]
    #[schemars(with = "FieldValuesSchema")]
    fields: FieldValues,
    /// Changes only, and required for them: the plan.
    #[serde(default)]
    change: Option<inputs::ChangePlan>,
    /// Service requests only, and required for them: one of the tenant's
    /// request types (see `/api/v1/request-types`), its id or its name in
    /// any case.
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    request_type: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    Kind(kind): Kind,
    MayLog(who): MayLog,
    headers: HeaderMap,
    Body(body): Body<NewTicket>,
) -> ApiResult<(StatusCode, Json<TicketV1>)> {
    let company_id =
        directory::customer_company(&state, &who, "customer_id", body.customer_id).await?;
    if let Some(plan) = &body.change {
        for (n, approver) in plan.approvers().iter().enumerate() {
            let field = format!("change.approvers[{n}]");
            directory::agent_exists(&state, who.tenant_id, &field, *approver).await?;
        }
    }
    let command = LogTicketV1 {
        actor: who.actor.clone(),
        kind,
        summary: body.summary,
        description: body.description,
        priority: body.priority,
        impact: None,
        urgency: None,
        customer_id: body.customer_id,
        company_id,
        category: body.category,
        service: body.service,
        fields: body.fields,
        change: body.change.map(Into::into),
        request_type: body.request_type,
    };
    let ticket = call(&state, &who, &headers, &command).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

async fn read(
    State(state): State<AppState>,
    Kind(kind): Kind,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Tagged<TicketV1>> {
    let command = GetTicketV1 {
        viewer: who.actor.clone(),
        kind,
        ticket: id,
    };
    Ok(Tagged(call(&state, &who, &headers, &command).await?))
}

/// A list's filters and page; `field.<key>` filters besides.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct ListQuery {
    /// Only those in this status (one of their kind's), or in any of
    /// several separated by commas (`scheduled,implementing`).
    #[serde(default)]
    #[schemars(regex(pattern = "^[a-z_]+(,[a-z_]+)*$"))]
    status: Option<String>,
    /// Only those of this priority.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_PRIORITY))]
    priority: Option<u8>,
    /// Only those assigned to this agent; `me`, whom the token acts as.
    /// Not for customer tokens (400), like `team_id` and `unassigned`.
    #[serde(default)]
    #[schemars(regex(pattern = crate::directory::AGENT_OR_ME_PATTERN))]
    assignee_id: Option<String>,
    /// Only those with this team.
    #[serde(default)]
    team_id: Option<Uuid>,
    /// Only this customer's. Ignored for customer tokens, which see only
    /// their own.
    #[serde(default)]
    customer_id: Option<Uuid>,
    /// Only those whose reference, summary, description or an action's
    /// text contains this, in any case (a customer's search reads only
    /// public actions).
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))]
    q: Option<String>,
    /// Only those no agent is assigned to.
    #[serde(default)]
    unassigned: Option<bool>,
    /// Only those of this company's customers.
    #[serde(default)]
    company_id: Option<Uuid>,
    /// Only those logged at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<contracts::schema::Timestamp>")]
    created_from: Option<time::OffsetDateTime>,
    /// Only those logged before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<contracts::schema::Timestamp>")]
    created_to: Option<time::OffsetDateTime>,
    /// Only those last changed at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<contracts::schema::Timestamp>")]
    updated_from: Option<time::OffsetDateTime>,
    /// Only those last changed before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<contracts::schema::Timestamp>")]
    updated_to: Option<time::OffsetDateTime>,
    /// The most items the page holds.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_LIMIT), extend("default" = DEFAULT_LIMIT))]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page, with the same `sort`;
    /// absent for the first page.
    #[serde(default)]
    #[schemars(length(max = 80), regex(pattern = TICKET_CURSOR_PATTERN))]
    cursor: Option<String>,
    /// The order: `-created` (the newest first, if absent), `created`,
    /// `-updated` (the most recently changed first), `updated`, `priority`
    /// (1 first) or `-priority`.
    #[serde(default)]
    sort: Option<TicketSort>,
}

async fn list(
    State(state): State<AppState>,
    Kind(kind): Kind,
    who: Principal,
    headers: HeaderMap,
    Filters(q, fields): Filters<ListQuery>,
) -> ApiResult<Json<Page<TicketV1>>> {
    if q.priority.is_some_and(|p| !(1..=MAX_PRIORITY).contains(&p)) {
        return Err(ApiError::field(
            "priority",
            format!("must be 1 to {MAX_PRIORITY}"),
        ));
    }
    let limit = PageParams {
        limit: q.limit,
        cursor: None,
    }
    .limit()?;
    let command = ListTicketsV1 {
        viewer: who.actor.clone(),
        kind,
        filter: TicketFilter {
            status: q.status,
            priority: q.priority,
            assignee_id: crate::directory::agent_or_me(&who, q.assignee_id.as_deref())?,
            team_id: q.team_id,
            customer_id: q.customer_id,
            text: q.q,
            problem: None,
            fields,
            unassigned: q.unassigned.unwrap_or(false),
            company_id: q.company_id,
            created_from: q.created_from,
            created_to: q.created_to,
            updated_from: q.updated_from,
            updated_to: q.updated_to,
            sort: q.sort,
        },
        cursor: q.cursor,
        limit,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn update(
    state: &AppState,
    kind: TicketKind,
    who: &Principal,
    headers: &HeaderMap,
    id: String,
    mut changes: TicketChangesV1,
) -> ApiResult<TicketV1> {
    // A new customer must be the tenant's; their company goes with them.
    if let Some(customer) = changes.customer_id {
        changes.company_id = Some(match customer {
            Some(c) => directory::customer_company(state, who, "customer_id", Some(c)).await?,
            None => None,
        });
    }
    let command = UpdateTicketV1 {
        actor: who.actor.clone(),
        kind,
        ticket: id,
        if_version: crate::extract::if_match(headers),
        changes,
    };
    call(state, who, headers, &command).await
}

async fn edit(
    State(state): State<AppState>,
    Kind(kind): Kind,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(changes): Body<inputs::TicketChanges>,
) -> ApiResult<Tagged<TicketV1>> {
    Ok(Tagged(
        update(&state, kind, &who, &headers, id, changes.into()).await?,
    ))
}

pub fn edit_incident_docs(op: TransformOperation) -> TransformOperation {
    let kind = TicketKind::Incident;
    op.about(
        "updateIncident",
        INCIDENTS,
        "Edit an incident",
        "Changes what is given: summary, description, customer, impact and urgency (the priority \
         matrix then gives the priority again, unless it is given), priority, category, service \
         and extended data (see `TicketChangesV1`), each change in its history. Admin, agent and \
         integration tokens.",
    )
    .param(ticket_id(kind))
    .traced()
    .guarded()
    .body_rules(edit_body_rules(kind).expect("an incident has no root cause"))
    .response_with::<200, Json<IncidentV1>, _>(|r| r.description("The incident as edited."))
    .fails(vec![
        bad_body(&edit_rules(kind)),
        ticket_missing(kind),
        (
            409,
            "`invalid_transition`: the incident is closed; `details.status` and \
             `details.allowed` say so."
                .to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

/// `PATCH /incidents/{id}`: the same edit, answered as an incident.
pub async fn edit_incident(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(changes): Body<inputs::TicketChanges>,
) -> ApiResult<Tagged<IncidentV1>> {
    let kind = TicketKind::Incident;
    tagged(update(&state, kind, &who, &headers, id, changes.into()).await?)
}

/// A ticket answered as an incident, tagged with its version.
pub fn tagged(ticket: TicketV1) -> ApiResult<Tagged<IncidentV1>> {
    as_incident(ticket).map(|Json(incident)| Tagged(incident))
}

/// A new assignee, team or supplier (incidents only), or more than one,
/// for a ticket of any kind: give at least one of `assignee_id`, `team_id`
/// and `supplier_id`.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = any_one_given)]
pub struct Assignment {
    /// One of the tenant's agents; null unassigns; absent leaves the
    /// assignee unchanged.
    #[serde(default, deserialize_with = "contracts::common::present")]
    assignee_id: Option<Option<Uuid>>,
    /// One of the tenant's teams; null clears the team; absent leaves it
    /// unchanged.
    #[serde(default, deserialize_with = "contracts::common::present")]
    team_id: Option<Option<Uuid>>,
    /// Incidents only: one of the tenant's suppliers (see
    /// `/api/v1/suppliers`) to hand the incident to; null takes it back;
    /// absent leaves it unchanged. For any other kind it is refused, even
    /// null.
    #[serde(default, deserialize_with = "contracts::common::present")]
    supplier_id: Option<Option<Uuid>>,
}

/// An assignment gives at least one of its fields.
fn any_one_given(schema: &mut schemars::Schema) {
    let fields = ["assignee_id", "team_id", "supplier_id"];
    let alternatives: Vec<serde_json::Value> = fields
        .iter()
        .map(|f| serde_json::json!({ "required": [f] }))
        .collect();
    schema.insert("anyOf".into(), alternatives.into());
}

/// Checks the agent and team against the directory, then assigns.
async fn assignment(
    state: &AppState,
    kind: TicketKind,
    who: &Principal,
    headers: &HeaderMap,
    id: String,
    body: Assignment,
) -> ApiResult<TicketV1> {
    if let Some(Some(agent)) = body.assignee_id {
        directory::agent_exists(state, who.tenant_id, "assignee_id", agent).await?;
    }
    if let Some(Some(team)) = body.team_id {
        directory::team_exists(state, who.tenant_id, "team_id", team).await?;
    }
    let command = AssignTicketV1 {
        actor: who.actor.clone(),
        kind,
        ticket: id,
        if_version: crate::extract::if_match(headers),
        assignee_id: body.assignee_id,
        team_id: body.team_id,
        supplier_id: body.supplier_id,
    };
    call(state, who, headers, &command).await
}

async fn assign(
    State(state): State<AppState>,
    Kind(kind): Kind,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<Assignment>,
) -> ApiResult<Tagged<TicketV1>> {
    Ok(Tagged(
        assignment(&state, kind, &who, &headers, id, body).await?,
    ))
}

/// `POST /incidents/{id}/assign`: the same, answered as an incident.
pub async fn assign_incident(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<Assignment>,
) -> ApiResult<Tagged<IncidentV1>> {
    let kind = TicketKind::Incident;
    tagged(assignment(&state, kind, &who, &headers, id, body).await?)
}

/// A move along the ticket's lifecycle (each operation says its kind's
/// statuses and what a move needs).
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The status to move to.
    status: String,
    /// How it was resolved: required (not blank) to resolve an incident or
    /// a problem, taken when a service request is fulfilled, ignored
    /// otherwise.
    #[serde(default)]
    resolution: Option<String>,
    /// Problems only, to resolve one: how it was resolved.
    #[serde(default)]
    outcome: Option<ProblemOutcome>,
    /// What it waits for (a customer's answer, a part, a supplier):
    /// required (not blank) to make it pending, ignored otherwise.
    #[serde(default)]
    pending_reason: Option<String>,
    /// Changes only: what the post-implementation review found, required
    /// (not blank) to move to `reviewed`; ignored otherwise.
    #[serde(default)]
    review: Option<String>,
    /// Changes only: why it was backed out, required (not blank) to move to
    /// `backed_out`; ignored otherwise.
    #[serde(default)]
    backout_reason: Option<String>,
}

async fn move_to(
    state: &AppState,
    kind: TicketKind,
    who: &Principal,
    headers: &HeaderMap,
    id: String,
    body: StatusChange,
) -> ApiResult<TicketV1> {
    let command = ChangeTicketStatusV1 {
        actor: who.actor.clone(),
        kind,
        ticket: id,
        if_version: crate::extract::if_match(headers),
        to: body.status,
        resolution: body.resolution,
        outcome: body.outcome,
        pending_reason: body.pending_reason,
        review: body.review,
        backout_reason: body.backout_reason,
        supplier: None,
    };
    call(state, who, headers, &command).await
}

async fn change_status(
    State(state): State<AppState>,
    Kind(kind): Kind,
    MayMove(who): MayMove,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<StatusChange>,
) -> ApiResult<Tagged<TicketV1>> {
    Ok(Tagged(
        move_to(&state, kind, &who, &headers, id, body).await?,
    ))
}

/// `POST /incidents/{id}/status`: the same, answered as an incident.
pub async fn change_incident_status(
    State(state): State<AppState>,
    MayMove(who): MayMove,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<StatusChange>,
) -> ApiResult<Tagged<IncidentV1>> {
    let kind = TicketKind::Incident;
    tagged(move_to(&state, kind, &who, &headers, id, body).await?)
}

/// A ticket list's cursor: an id (the newest first), or a sort key's value
/// and an id (`3~<id>`).
pub const TICKET_CURSOR_PATTERN: &str = "^(-?[0-9]{1,20}~)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\\s\\S])";

// ---- many tickets at once ----

/// Most tickets one bulk call changes.
pub const MAX_BULK: usize = 500;

/// The same change to many tickets of one kind: an edit, an assignment, a
/// status change, or more than one (done in that order for each ticket).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = something_to_do)]
struct Bulk {
    /// The tickets: ids or references, 1 to 500, each once (in any case).
    #[schemars(
        length(min = 1, max = MAX_BULK),
        inner(length(min = 1, max = MAX_SUMMARY)),
        extend("uniqueItems" = true)
    )]
    tickets: Vec<String>,
    /// What to edit, as `PATCH` takes it.
    #[serde(default, deserialize_with = "given")]
    changes: Option<inputs::TicketChanges>,
    /// Whom to assign them to, as `POST …/assign` takes it.
    #[serde(default, deserialize_with = "given")]
    assign: Option<Assignment>,
    /// Where to move them, as `POST …/status` takes it.
    #[serde(default, deserialize_with = "given")]
    status: Option<StatusChange>,
}

/// A part of a body that may be left out but, given, is not null.
fn given<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A bulk call gives at least one of `changes`, `assign` and `status`.
fn something_to_do(schema: &mut schemars::Schema) {
    let given = |field: &str| serde_json::json!({ "required": [field], "properties": { field: { "type": "object" } } });
    schema.insert(
        "anyOf".into(),
        serde_json::json!([given("changes"), given("assign"), given("status")]),
    );
}

/// What became of one ticket of a bulk call.
#[derive(serde::Serialize, JsonSchema)]
struct BulkResult {
    /// The ticket as the call named it.
    ticket: String,
    /// Done: the ticket as it is now (absent if refused).
    #[serde(skip_serializing_if = "Option::is_none")]
    done: Option<TicketV1>,
    /// Refused: why, as the single call's error would say (absent if
    /// done). What was done before the refused step (an edit before a
    /// refused status change) stays done.
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<serde_json::Value>,
}

/// Every ticket's outcome, in the order named.
#[derive(serde::Serialize, JsonSchema)]
struct BulkResults {
    results: Vec<BulkResult>,
}

async fn bulk(
    State(state): State<AppState>,
    Kind(kind): Kind,
    Staff(who): Staff,
    headers: HeaderMap,
    Body(body): Body<Bulk>,
) -> ApiResult<Json<BulkResults>> {
    if body.tickets.is_empty() || body.tickets.len() > MAX_BULK {
        return Err(ApiError::field(
            "tickets",
            format!("1 to {MAX_BULK} tickets"),
        ));
    }
    for (n, t) in body.tickets.iter().enumerate() {
        if t.trim().is_empty() || t.chars().count() > MAX_SUMMARY {
            return Err(ApiError::field(
                &format!("tickets[{n}]"),
                format!("an id or a reference, 1 to {MAX_SUMMARY} characters"),
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = body.tickets.iter().find(|t| !seen.insert(t.to_lowercase())) {
        return Err(ApiError::field(
            "tickets",
            format!("{twice} is named twice"),
        ));
    }
    if body.changes.is_none() && body.assign.is_none() && body.status.is_none() {
        return Err(ApiError::field(
            "body",
            "give changes, assign or status (or more than one)",
        ));
    }
    let changes: Option<TicketChangesV1> = body.changes.map(Into::into);
    // Each ticket is its own command (and its own audit entry), without the
    // caller's Idempotency-Key, which names this call, not each change, and
    // without an If-Match, which could name the version of one ticket only.
    let mut headers = headers;
    headers.remove("idempotency-key");
    headers.remove(axum::http::header::IF_MATCH);
    let mut results = Vec::with_capacity(body.tickets.len());
    let mut unavailable: Option<serde_json::Value> = None;
    for ticket in body.tickets {
        // A service went away: the rest are not tried (each would wait
        // its timeout), and say so; the caller sends them again.
        if let Some(why) = &unavailable {
            results.push(BulkResult {
                ticket,
                done: None,
                refused: Some(why.clone()),
            });
            continue;
        }
        let mut outcome = Ok(None);
        if let Some(c) = &changes {
            outcome = update(&state, kind, &who, &headers, ticket.clone(), c.clone())
                .await
                .map(Some);
        }
        if let (Ok(_), Some(a)) = (&outcome, &body.assign) {
            outcome = assignment(&state, kind, &who, &headers, ticket.clone(), a.clone())
                .await
                .map(Some);
        }
        if let (Ok(_), Some(to)) = (&outcome, &body.status) {
            outcome = move_to(&state, kind, &who, &headers, ticket.clone(), to.clone())
                .await
                .map(Some);
        }
        results.push(match outcome {
            Ok(done) => BulkResult {
                ticket,
                done,
                refused: None,
            },
            Err(e) => BulkResult {
                ticket,
                done: None,
                refused: Some({
                    let why = serde_json::to_value(&e).unwrap_or_default();
                    if e.error == crate::error::Code::DependencyUnavailable {
                        unavailable = Some(why.clone());
                    }
                    why
                }),
            },
        });
    }
    Ok(Json(BulkResults { results }))
}

fn bulk_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = crate::openapi::ticket_of(kind);
    let noun = kind.noun();
    op.about(
        &format!("bulk{}", t.title),
        t.tag,
        &format!("Change many {noun}s at once"),
        &format!(
            "The same edit, assignment or status change (or more than one, done in that order) to up \
             to {MAX_BULK} {noun}s, each by id or reference: for example resolving the incidents of a \
             problem being closed. Each {noun} is changed on its own, as the single operation would, \
             with its own history entry and events; one refused does not stop the others, and each \
             outcome is in `results`, in the order named. If a service is unavailable, that ticket \
             and every one after it is `refused` with `dependency_unavailable` (not tried): send \
             those again. Admin, agent and integration tokens."
        ),
    )
    .traced()
    .response_with::<200, Json<BulkResults>, _>(|r| {
        r.description("Each ticket's outcome: `done` (the ticket now) or `refused` (the error).")
    })
    .fails(vec![
        crate::openapi::bad_body(&format!(
            "`tickets` must name 1 to {MAX_BULK} {noun}s, each once (in any case), each not blank \
             (`tickets[n]`); at least one of \
             `changes`, `assign` and `status` is needed (`body`). Each ticket's own refusal is in \
             its result, not here."
        )),
        crate::openapi::internal(),
        crate::openapi::ticketing_down(),
    ])
}

/// A note or progress update to add.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewAction {
    #[serde(default = "note")]
    kind: ActionKind,
    /// Not blank.
    #[schemars(length(max = MAX_TEXT), regex(pattern = TEXT_PATTERN))]
    text: String,
    /// Visible to the customer. Always true when a customer writes.
    #[serde(default)]
    public: bool,
    /// Email it to the customer. Always false when a customer writes.
    #[serde(default)]
    email_customer: bool,
    /// Include it when the ticket is exported to the knowledge base (a
    /// private note too: the flag decides). Always
    /// false when a customer writes.
    #[serde(default)]
    knowledge_base: bool,
    /// The minutes of work it records, added to the ticket's
    /// `time_spent_minutes`. Staff only.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_MINUTES))]
    minutes: Option<u32>,
}

fn note() -> ActionKind {
    ActionKind::Note
}

async fn add_action(
    State(state): State<AppState>,
    Kind(kind): Kind,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<NewAction>,
) -> ApiResult<(StatusCode, Json<ActionV1>)> {
    let command = AddActionV1 {
        actor: who.actor.clone(),
        kind,
        ticket: id,
        action_kind: body.kind,
        text: body.text,
        public: body.public,
        email_customer: body.email_customer,
        knowledge_base: body.knowledge_base,
        minutes: body.minutes,
        supplier: None,
    };
    Ok((
        StatusCode::CREATED,
        Json(call(&state, &who, &headers, &command).await?),
    ))
}

async fn actions(
    State(state): State<AppState>,
    Kind(kind): Kind,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<ActionV1>>> {
    let command = ListActionsV1 {
        viewer: who.actor.clone(),
        kind,
        ticket: id,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn history(
    State(state): State<AppState>,
    Kind(kind): Kind,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AuditEntryV1>>> {
    let command = GetHistoryV1 {
        viewer: who.actor.clone(),
        kind,
        ticket: id,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

// ---- links ----

/// A link from this ticket to another.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = kind_or_reference)]
struct NewLink {
    /// Read from this ticket to `ticket`: `caused_by` says this ticket is
    /// caused by that one.
    link_type: LinkType,
    /// The other ticket: its reference (`PRB-000002`, whose prefix says its
    /// kind), or its id with `kind`.
    #[schemars(length(min = 1))]
    ticket: String,
    /// The other ticket's kind: needed with an id; wins over a reference's
    /// prefix.
    #[serde(default)]
    kind: Option<TicketKind>,
}

/// `kind` is needed unless `ticket` is a reference, whose prefix (in any
/// case) says the kind ([`kind_of`]).
fn kind_or_reference(schema: &mut schemars::Schema) {
    let prefixes: Vec<String> = TicketKind::ALL
        .iter()
        .map(|k| {
            k.prefix()
                .chars()
                .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()))
                .collect()
        })
        .collect();
    let reference = format!("^({})-", prefixes.join("|"));
    schema.insert(
        "anyOf".into(),
        serde_json::json!([
            { "required": ["kind"], "properties": { "kind": { "$ref": "#/components/schemas/TicketKind" } } },
            { "properties": { "ticket": { "pattern": reference } } },
        ]),
    );
}

/// The kind a reference names by its prefix (`PRB-…`).
fn kind_of(reference: &str) -> Option<TicketKind> {
    let prefix = reference.split('-').next()?.to_ascii_uppercase();
    TicketKind::ALL.into_iter().find(|k| k.prefix() == prefix)
}

async fn link(
    State(state): State<AppState>,
    Kind(kind): Kind,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<NewLink>,
) -> ApiResult<(StatusCode, Json<LinkV1>)> {
    let other_kind = body.kind.or_else(|| kind_of(&body.ticket)).ok_or_else(|| {
        ApiError::field(
            "kind",
            "give the other ticket's kind, or its reference (INC-, PRB-, CHG-, REQ-)",
        )
    })?;
    let command = LinkTicketsV1 {
        actor: who.actor.clone(),
        kind,
        ticket: id,
        link_type: body.link_type,
        other_kind,
        other: body.ticket,
    };
    Ok((
        StatusCode::CREATED,
        Json(call(&state, &who, &headers, &command).await?),
    ))
}

async fn links(
    State(state): State<AppState>,
    Kind(kind): Kind,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<LinkV1>>> {
    let command = ListLinksV1 {
        viewer: who.actor.clone(),
        kind,
        ticket: id,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn unlink(
    State(state): State<AppState>,
    Kind(kind): Kind,
    Staff(who): Staff,
    headers: HeaderMap,
    Path((id, link)): Path<(String, String)>,
) -> ApiResult<Json<Vec<LinkV1>>> {
    let link_id = Uuid::parse_str(&link).map_err(|_| ApiError::not_found("link"))?;
    let command = UnlinkTicketsV1 {
        actor: who.actor.clone(),
        kind,
        ticket: id,
        link_id,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

// ---- problems ----

/// Incidents to link to a problem.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ProblemIncidents")]
struct IncidentList {
    /// Incidents by id or reference (`INC-000042`). One linked to another
    /// problem moves to this one; one already linked to it stays.
    #[schemars(length(min = 1, max = MAX_LINKED_INCIDENTS))]
    incidents: Vec<String>,
}

async fn link_incidents(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<IncidentList>,
) -> ApiResult<Json<TicketV1>> {
    let command = LinkIncidentsV1 {
        actor: who.actor.clone(),
        problem: id,
        incidents: body.incidents,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn unlink_incident(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path((id, incident)): Path<(String, String)>,
) -> ApiResult<Json<TicketV1>> {
    let command = UnlinkIncidentV1 {
        actor: who.actor.clone(),
        problem: id,
        incident,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

/// The incidents linked to a problem, as a page of incidents.
async fn problem_incidents(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(page): Params<PageParams>,
) -> ApiResult<Json<Page<IncidentV1>>> {
    // The problem is the path's: one that is not there is 404, not a
    // filter that names nothing (400).
    let problem = GetTicketV1 {
        viewer: who.actor.clone(),
        kind: TicketKind::Problem,
        ticket: id,
    };
    let problem = call(&state, &who, &headers, &problem).await?;
    let filter = TicketFilter {
        problem: Some(problem.id.to_string()),
        ..TicketFilter::default()
    };
    let limit = page.limit()?;
    let cursor = page.cursor.map(|c| c.to_string());
    crate::incidents::incident_page(&state, &who, &headers, filter, cursor, limit).await
}

/// How a workaround is applied.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct ApplyQuery {
    /// Also tell each incident's customer: the note is public and emailed
    /// to them. By default it is a private note for the desk.
    #[serde(default)]
    notify_customer: Option<bool>,
}

async fn apply_workaround(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(q): Params<ApplyQuery>,
) -> ApiResult<Json<WorkaroundAppliedV1>> {
    let command = ApplyWorkaroundV1 {
        actor: who.actor.clone(),
        problem: id,
        notify_customer: q.notify_customer.unwrap_or(false),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

// ---- changes ----

/// An approver's decision on a change.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ChangeDecision")]
struct DecisionInput {
    decision: Decision,
    /// Why; blank is none.
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    comment: Option<String>,
}

async fn decide(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<DecisionInput>,
) -> ApiResult<Json<TicketV1>> {
    let command = DecideChangeV1 {
        actor: who.actor.clone(),
        change: id,
        decision: body.decision,
        comment: body.comment,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

/// `PATCH /changes/{id}/plan`: edits and reschedules a change's plan.
async fn replan(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<inputs::PlanChanges>,
) -> ApiResult<Tagged<TicketV1>> {
    for (n, approver) in body.approvers().iter().enumerate() {
        let field = format!("approvers[{n}]");
        directory::agent_exists(&state, who.tenant_id, &field, *approver).await?;
    }
    let command = ReplanChangeV1 {
        actor: who.actor.clone(),
        change: id,
        if_version: crate::extract::if_match(&headers),
        plan: body.into(),
    };
    Ok(Tagged(call(&state, &who, &headers, &command).await?))
}

/// The calendar's range.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct Range {
    /// The start of the range (`2026-03-01T00:00:00Z`).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    from: OffsetDateTime,
    /// The end of the range: after `from`, and no further from it than
    /// the calendar reaches (its 400 says how far).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    to: OffsetDateTime,
}

async fn calendar(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Params(range): Params<Range>,
) -> ApiResult<Json<ChangeCalendarV1>> {
    let command = GetChangeCalendarV1 {
        viewer: who.actor.clone(),
        from: range.from,
        to: range.to,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

// ---- service requests ----

async fn complete_step(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path((id, step)): Path<(String, String)>,
) -> ApiResult<Json<TicketV1>> {
    let step = step.parse().map_err(|_| ApiError::not_found("step"))?;
    let command = CompleteRequestStepV1 {
        actor: who.actor.clone(),
        request: id,
        step,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn request_types(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<RequestTypeV1>>> {
    let command = ListRequestTypesV1 {
        viewer: who.actor.clone(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

/// A request type to create, or to replace the one of the same name.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewRequestType")]
struct RequestTypeInput {
    /// Not blank; unique in any case: a type of the same name is replaced.
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    name: String,
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    description: String,
    /// Its own fields: none may have the key of a field every service
    /// request has.
    #[serde(default)]
    #[schemars(length(max = MAX_FIELDS))]
    fields: Vec<inputs::FieldDef>,
    /// Its fulfilment steps, in order, each not blank.
    #[serde(default)]
    #[schemars(
        length(max = MAX_STEPS),
        inner(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))
    )]
    steps: Vec<String>,
}

/// Creates a request type, or replaces the one of the same name.
async fn define_request_type(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<RequestTypeInput>,
) -> ApiResult<Json<RequestTypeV1>> {
    let command = DefineRequestTypeV1 {
        actor: who.actor.clone(),
        name: body.name,
        description: body.description,
        fields: inputs::field_defs(body.fields),
        steps: body.steps,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn delete_request_type(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<RequestTypeV1>> {
    let command = DeleteRequestTypeV1 {
        actor: who.actor.clone(),
        request_type: id,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

// ---- extended data ----

fn kind_segment(segment_name: &str) -> ApiResult<TicketKind> {
    TicketKind::ALL
        .into_iter()
        .find(|k| segment(*k) == segment_name)
        .ok_or_else(|| ApiError::not_found("ticket kind"))
}

async fn field_definitions(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(kind): Path<String>,
) -> ApiResult<Json<FieldDefinitionsV1>> {
    let command = GetFieldDefinitionsV1 {
        viewer: who.actor.clone(),
        kind: kind_segment(&kind)?,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

/// The fields for one kind of ticket. Values already stored for a field
/// left out stay on their tickets.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "FieldDefinitionsInput")]
struct FieldsInput {
    /// All the kind's fields, in order: these replace the ones it had.
    #[schemars(length(max = MAX_FIELDS))]
    fields: Vec<inputs::FieldDef>,
}

async fn set_field_definitions(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Body(body): Body<FieldsInput>,
) -> ApiResult<Json<FieldDefinitionsV1>> {
    let command = SetFieldDefinitionsV1 {
        actor: who.actor.clone(),
        kind: kind_segment(&kind)?,
        fields: inputs::field_defs(body.fields),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}
