//! `/api/v1/incidents`: the edge checks who may do what and that referenced
//! agents, teams and customers exist (it owns the directory), then asks the
//! ticketing service over the bus. Its routes are documented where they
//! are declared; the docs of what every kind of ticket shares (assignment,
//! status, actions, history) are in [`crate::openapi`]'s `tickets`.

use crate::tickets::TICKET_CURSOR_PATTERN;
use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with};
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use contracts::common::ReplyV1;
use contracts::incident::*;
use contracts::limits::{
    ANY_LINE_PATTERN, ANY_TEXT_PATTERN, MAX_COMMENT, MAX_LEVEL, MAX_PRIORITY, MAX_RATING,
    MAX_SUMMARY, MAX_TEXT, ONE_LINE_PATTERN,
};
use contracts::schema::FieldValuesSchema;
use contracts::ticket::{
    GetTicketV1, ListTicketsV1, LogTicketV1, TicketFilter, TicketKind, TicketSort, TicketV1,
};
use contracts::{Command, Envelope, Page};
use runtime::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Admin, Principal, Staff};
use crate::directory::{self, PageParams};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Filters, Path};
use crate::openapi::declared::Declare;
use crate::openapi::{
    FIELD_FILTERS, INCIDENTS, SATISFACTION, assign_docs, bad_body, incident_id, incident_missing,
    internal, not_found, status_docs, ticketing_down,
};

pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/incidents",
            get_with(list, list_docs).post_with(create, create_docs),
        )
        .api_route(
            "/incidents/{id}",
            get_with(read, read_docs).patch_with(
                crate::tickets::edit_incident,
                crate::tickets::edit_incident_docs,
            ),
        )
        .api_route(
            "/incidents/{id}/assign",
            post_with(crate::tickets::assign_incident, |op| {
                assign_docs(TicketKind::Incident, op)
            }),
        )
        .api_route(
            "/incidents/{id}/status",
            post_with(crate::tickets::change_incident_status, |op| {
                status_docs(TicketKind::Incident, op)
            }),
        )
        .api_route("/incidents/{id}/survey", get_with(survey, survey_docs))
        .api_route(
            "/surveys/{token}",
            get_with(read_survey, read_survey_docs).post_with(answer_survey, answer_survey_docs),
        )
        .api_route(
            "/priority-matrix",
            get_with(priority_matrix, priority_matrix_docs)
                .put_with(set_priority_matrix, set_priority_matrix_docs),
        )
}

/// Sends `command` to its service and turns the reply into a result.
pub async fn call<C: Command>(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    command: &C,
) -> ApiResult<C::Output> {
    let caller = who.actor.id.to_string();
    let customer = who.role() == contracts::Role::Customer;
    ask(state, who.tenant_id, &caller, headers, command, customer).await
}

/// What of a ticket a customer is not told, wherever an answer carries
/// one: the problem behind it, the supplier and the time the desk spent on
/// it (left out, as when there is none), and the internal ids of the agent
/// and team working it (null: the schema has them always). The desk's own
/// business.
const LEFT_OUT_FOR_CUSTOMERS: [&str; 3] = ["problem_id", "supplier_id", "time_spent_minutes"];
const NULL_FOR_CUSTOMERS: [&str; 2] = ["assignee_id", "team_id"];

/// `value` as a customer may see it: every ticket in it (an object with a
/// `reference` and a `logged_by`) without what they are not told.
fn for_customer(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            if fields.contains_key("reference") && fields.contains_key("logged_by") {
                for key in LEFT_OUT_FOR_CUSTOMERS {
                    fields.remove(key);
                }
                for key in NULL_FOR_CUSTOMERS {
                    if let Some(v) = fields.get_mut(key) {
                        *v = serde_json::Value::Null;
                    }
                }
            }
            fields.values_mut().for_each(for_customer);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(for_customer),
        _ => {}
    }
}

/// [`call`] for a tenant known without a principal (a survey link), with
/// `caller` what tells this caller from others (the link's token).
pub async fn call_for<C: Command>(
    state: &AppState,
    tenant: Uuid,
    caller: &str,
    headers: &HeaderMap,
    command: &C,
) -> ApiResult<C::Output> {
    ask(state, tenant, caller, headers, command, false).await
}

/// [`call_for`], the answer seen as a customer sees it if `customer`.
async fn ask<C: Command>(
    state: &AppState,
    tenant: Uuid,
    caller: &str,
    headers: &HeaderMap,
    command: &C,
    customer: bool,
) -> ApiResult<C::Output> {
    let mut envelope = Envelope::new(tenant, command)
        .with_traceparent(Some(crate::trace::outgoing()))
        .expiring_at(time::OffsetDateTime::now_utc() + state.request_timeout);
    if let Some(key) = idempotency_key(headers)? {
        let asked = serde_json::to_vec(command).map_err(|e| ApiError::internal(&e))?;
        envelope = envelope.with_id(idempotent_id(tenant, caller, key, C::TYPE, &asked));
    }
    let reply = state
        .bus
        .request(C::QUEUE, &envelope, state.request_timeout)
        .await?;
    match reply
        .decode::<ReplyV1>()
        .map_err(|e| ApiError::internal(&e))?
    {
        ReplyV1::Ok(mut value) => {
            if customer {
                for_customer(&mut value);
            }
            serde_json::from_value(value).map_err(|e| ApiError::internal(&e))
        }
        ReplyV1::Error(body) => Err(body.into()),
    }
}

/// The `Idempotency-Key` header, if the caller sent one.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<&str>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if (1..=200).contains(&key.len()) => Ok(Some(key)),
        _ => Err(ApiError::field(
            "Idempotency-Key",
            "1 to 200 visible ASCII characters",
        )),
    }
}

/// The message id of a request retried under `key`: the same for the same
/// tenant, caller, key and command asked (`asked`, serialised), so the
/// service answers the retry from its inbox. Two callers who pick the same
/// key never share an answer, and neither do two different requests sent
/// under one key (a problem and a change, or a body the desk refuses after
/// one it took): each is done, or refused, as asked.
fn idempotent_id(tenant: Uuid, caller: &str, key: &str, command: &str, asked: &[u8]) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(tenant.as_bytes())
        .chain_update(caller.as_bytes())
        .chain_update([0])
        .chain_update(key.as_bytes())
        .chain_update([0])
        .chain_update(command.as_bytes())
        .chain_update([0])
        .chain_update(asked)
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// An incident to log.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = priority_given)]
struct NewIncident {
    /// Not blank; stored trimmed.
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    summary: String,
    #[serde(default)]
    #[schemars(length(max = MAX_TEXT), regex(pattern = ANY_TEXT_PATTERN))]
    description: String,
    /// 1 (highest) to 5. Required unless both `impact` and `urgency` are
    /// given; wins over them. A customer may ask for 3 to 5 only: they
    /// report impact and urgency, and the priority matrix decides.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_PRIORITY))]
    priority: Option<u8>,
    /// 1 (high) to 3 (low). With `urgency` and no `priority`, the priority
    /// comes from the tenant's priority matrix.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_LEVEL))]
    impact: Option<u8>,
    /// 1 (high) to 3 (low). With `impact` and no `priority`, the priority
    /// comes from the tenant's priority matrix.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_LEVEL))]
    urgency: Option<u8>,
    /// The customer affected: one of the tenant's. Ignored for a customer
    /// token, whose incidents are always their own.
    #[serde(default)]
    customer_id: Option<Uuid>,
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))]
    category: Option<String>,
    /// The service affected.
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))]
    service: Option<String>,
    /// Extended data, by key: values for the tenant's fields for incidents
    /// (see `/api/v1/fields/incidents`); required fields must be given.
    #[serde(default)]
    #[schemars(with = "FieldValuesSchema")]
    fields: contracts::ticket::FieldValues,
}

/// A priority, or both impact and urgency to take it from the matrix.
fn priority_given(schema: &mut schemars::Schema) {
    let given = |field: &str| json!({ "required": [field], "properties": { field: { "type": "integer" } } });
    schema.insert(
        "anyOf".into(),
        json!([given("priority"), { "allOf": [given("impact"), given("urgency")] }]),
    );
}

fn create_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "createIncident",
        INCIDENTS,
        "Log an incident",
        "Logs an incident; it starts `open` with the tenant's next reference. Any token; a \
         customer's incident is always their own. Give `priority`, or both `impact` and `urgency` \
         to take the priority from the tenant's priority matrix.",
    )
    .traced()
    .idempotent()
    .response_with::<201, Json<IncidentV1>, _>(|r| r.description("Logged."))
    .fails(vec![
        bad_body(&format!(
            "`summary` must not be blank (at most {MAX_SUMMARY} characters); `priority` must be 1 \
             to {MAX_PRIORITY} (3 to {MAX_PRIORITY} for a customer token), `impact` and `urgency` 1 to {MAX_LEVEL}, and a priority or both \
             impact and urgency are required; `customer_id` must name one of the tenant's \
             customers; `fields` must fit the tenant's fields for incidents (`details.fields` \
             names `fields.<key>`)."
        )),
        internal(),
        ticketing_down(),
    ])
}

async fn create(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Body(body): Body<NewIncident>,
) -> ApiResult<(StatusCode, Json<IncidentV1>)> {
    let company_id =
        directory::customer_company(&state, &who, "customer_id", body.customer_id).await?;
    let command = LogTicketV1 {
        actor: who.actor.clone(),
        kind: TicketKind::Incident,
        summary: body.summary,
        description: body.description,
        priority: body.priority,
        impact: body.impact,
        urgency: body.urgency,
        customer_id: body.customer_id,
        company_id,
        category: body.category,
        service: body.service,
        fields: body.fields,
        change: None,
        request_type: None,
    };
    let incident = as_incident(call(&state, &who, &headers, &command).await?)?;
    Ok((StatusCode::CREATED, incident))
}

fn read_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getIncident",
        INCIDENTS,
        "Get an incident",
        "An incident by id or reference. A customer token sees only the customer's own.",
    )
    .param(incident_id())
    .traced()
    .response_with::<200, Json<IncidentV1>, _>(|r| r.description("Found."))
    .fails(vec![incident_missing(), internal(), ticketing_down()])
}

async fn read(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<crate::served::Tagged<IncidentV1>> {
    let command = GetTicketV1 {
        viewer: who.actor.clone(),
        kind: TicketKind::Incident,
        ticket: id,
    };
    crate::tickets::tagged(call(&state, &who, &headers, &command).await?)
}

/// The list's filters and page; `field.<key>` filters besides.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct ListQuery {
    /// Only incidents in this status, or in any of several separated by
    /// commas (`open,in_progress`).
    #[serde(default)]
    #[schemars(regex(
        pattern = "^(open|in_progress|pending|resolved|closed)(,(open|in_progress|pending|resolved|closed))*$"
    ))]
    status: Option<String>,
    /// Only incidents of this priority.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_PRIORITY))]
    priority: Option<u8>,
    /// Only incidents assigned to this agent; `me`, whom the token acts as.
    /// Not for customer tokens (400), like `team_id` and `unassigned`.
    #[serde(default)]
    #[schemars(regex(pattern = crate::directory::AGENT_OR_ME_PATTERN))]
    assignee_id: Option<String>,
    /// Only incidents with this team.
    #[serde(default)]
    team_id: Option<Uuid>,
    /// Only this customer's incidents. Ignored for customer tokens, which
    /// see only their own.
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
    /// Only incidents linked to this problem: its id or reference
    /// (`PRB-000042`). Admin, agent and integration tokens: to a customer
    /// token no problem exists, so this answers 400.
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))]
    problem: Option<String>,
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

fn list_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "listIncidents",
        INCIDENTS,
        "List incidents",
        &format!(
            "One page of the tenant's incidents, newest first unless `sort` says otherwise, \
             filtered. A customer token sees only the customer's own. {FIELD_FILTERS}"
        ),
    )
    .traced()
    .response_with::<200, Json<Page<IncidentV1>>, _>(|r| r.description("One page."))
    .fails(vec![
        (
            400,
            "`validation_failed`: a query parameter is malformed, out of range or unknown, or \
             `problem` names no problem of the tenant's (for a customer token, any problem); \
             `details.fields` names it."
                .to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

async fn list(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Filters(q, fields): Filters<ListQuery>,
) -> ApiResult<Json<Page<IncidentV1>>> {
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
    let filter = TicketFilter {
        status: q.status,
        priority: q.priority,
        assignee_id: crate::directory::agent_or_me(&who, q.assignee_id.as_deref())?,
        team_id: q.team_id,
        customer_id: q.customer_id,
        text: q.q,
        problem: q.problem,
        fields,
        unassigned: q.unassigned.unwrap_or(false),
        company_id: q.company_id,
        created_from: q.created_from,
        created_to: q.created_to,
        updated_from: q.updated_from,
        updated_to: q.updated_to,
        sort: q.sort,
    };
    incident_page(&state, &who, &headers, filter, q.cursor, limit).await
}

/// A page of incidents matching `filter`, as incidents.
pub async fn incident_page(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    filter: TicketFilter,
    cursor: Option<String>,
    limit: u32,
) -> ApiResult<Json<Page<IncidentV1>>> {
    let command = ListTicketsV1 {
        viewer: who.actor.clone(),
        kind: TicketKind::Incident,
        filter,
        cursor,
        limit,
    };
    let page = call(state, who, headers, &command).await?;
    let items = page
        .items
        .into_iter()
        .map(IncidentV1::try_from)
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// A ticket answered as an incident: the shape `/incidents` answers with
/// (a subset of the ticket's fields).
pub fn as_incident(ticket: TicketV1) -> ApiResult<Json<IncidentV1>> {
    IncidentV1::try_from(ticket)
        .map(Json)
        .map_err(|e| ApiError::internal(&e))
}

async fn priority_matrix(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
) -> ApiResult<Json<PriorityMatrixV1>> {
    let command = GetPriorityMatrixV1 {
        viewer: who.actor.clone(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn priority_matrix_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getPriorityMatrix",
        INCIDENTS,
        "Get the priority matrix",
        "How impact and urgency map to priority when an incident is logged with those instead of a \
         priority. Admin, agent and integration tokens.",
    )
    .response_with::<200, Json<PriorityMatrixV1>, _>(|r| r.description("The matrix."))
    .fails(vec![internal(), ticketing_down()])
}

/// The tenant's own cells, each impact × urgency at most once; the cells
/// left out take the default.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PriorityMatrixInput")]
struct MatrixInput {
    cells: Vec<PriorityCell>,
}

/// Sets the tenant's own cells; the ones left out take the default.
async fn set_priority_matrix(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<MatrixInput>,
) -> ApiResult<Json<PriorityMatrixV1>> {
    let command = SetPriorityMatrixV1 {
        actor: who.actor.clone(),
        cells: body.cells,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn set_priority_matrix_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "setPriorityMatrix",
        INCIDENTS,
        "Set the priority matrix",
        "Replaces the tenant's own cells. Admin tokens only.",
    )
    .response_with::<200, Json<PriorityMatrixV1>, _>(|r| r.description("The matrix now."))
    .fails(vec![
        bad_body(&format!(
            "impact and urgency 1 to {MAX_LEVEL}, priority 1 to {MAX_PRIORITY}, each impact × \
             urgency at most once."
        )),
        internal(),
        ticketing_down(),
    ])
}

/// The survey of the caller's own incident: where their portal links to.
async fn survey(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<SurveyV1>> {
    let command = GetIncidentSurveyV1 {
        viewer: who.actor.clone(),
        incident: id,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn survey_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getIncidentSurvey",
        SATISFACTION,
        "Get the survey of an incident",
        "The survey offered on the customer's own incident, answered or not: its `token` makes the \
         link. Customer tokens only: to any other token no survey exists (404).",
    )
    .param(incident_id())
    .traced()
    .response_with::<200, Json<SurveyV1>, _>(|r| r.description("The survey."))
    .fails(vec![
        not_found(
            "no such incident in the tenant or not the customer's own, no survey offered on it (it \
             has not been resolved, or has no customer), or the API token is not a customer's.",
        ),
        internal(),
        ticketing_down(),
    ])
}

/// A survey link's token, as a path parameter.
fn survey_token() -> serde_json::Value {
    crate::openapi::parameter(
        "token",
        "path",
        true,
        json!({ "type": "string", "pattern": SURVEY_TOKEN_PATTERN }),
        "The survey's token, from its link: 96 lowercase hex digits. Anything else answers 404.",
    )
}

/// A link whose survey there is not (or no more).
fn unknown_survey() -> (u16, String) {
    not_found(
        "the token is unknown, malformed, or its survey expired unanswered (an answered survey \
         stays readable).",
    )
}

/// The tenant a survey token belongs to: its first 32 hex digits. Anything
/// that is not a token this desk issued is simply not found.
fn survey_tenant(token: &str) -> ApiResult<Uuid> {
    let well_formed = token.len() == 96 && token.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed
        .then(|| Uuid::parse_str(&token[..32]).ok())
        .flatten()
        .ok_or_else(|| ApiError::not_found("survey"))
}

/// `GET /surveys/{token}`: the one-time link itself is the credential.
async fn read_survey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> ApiResult<Json<SurveyV1>> {
    let tenant = survey_tenant(&token)?;
    let command = GetSurveyV1 {
        token: token.clone(),
    };
    Ok(Json(
        call_for(&state, tenant, &token, &headers, &command).await?,
    ))
}

fn read_survey_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getSurvey",
        SATISFACTION,
        "Read a survey by its link",
        "The survey behind a link, answered or not. No API token: the link's token is the credential.",
    )
    .public()
    .param(survey_token())
    .traced()
    .response_with::<200, Json<SurveyV1>, _>(|r| r.description("The survey."))
    .fails(vec![unknown_survey(), internal(), ticketing_down()])
}

/// The answer to a survey.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SurveyAnswer")]
struct Answer {
    /// 1 (poor) to 5 (excellent).
    #[schemars(range(min = 1, max = MAX_RATING))]
    rating: u8,
    /// No control characters but line breaks and tabs; blank is none.
    #[serde(default)]
    #[schemars(length(max = MAX_COMMENT), regex(pattern = ANY_TEXT_PATTERN))]
    comment: Option<String>,
}

fn answer_survey_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "answerSurvey",
        SATISFACTION,
        "Answer a survey by its link",
        &format!(
            "Rates the incident, once, within {SURVEY_VALID_DAYS} days of the offer. No API token: the \
             link's token is the credential."
        ),
    )
    .public()
    .param(survey_token())
    .traced()
    .idempotent()
    .response_with::<200, Json<SurveyV1>, _>(|r| r.description("The survey as answered."))
    .fails(vec![
        bad_body(&format!(
            "`rating` must be 1 to {MAX_RATING}; `comment` at most {MAX_COMMENT} characters with no \
             control characters but line breaks and tabs."
        )),
        unknown_survey(),
        (
            409,
            "`conflict`: the survey has been answered already.".to_owned(),
        ),
        internal(),
        ticketing_down(),
    ])
}

async fn answer_survey(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Body(body): Body<Answer>,
) -> ApiResult<Json<SurveyV1>> {
    let tenant = survey_tenant(&token)?;
    let command = AnswerSurveyV1 {
        token: token.clone(),
        rating: body.rating,
        comment: body.comment,
    };
    Ok(Json(
        call_for(&state, tenant, &token, &headers, &command).await?,
    ))
}
