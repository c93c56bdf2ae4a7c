//! `/api/v1/calendars`, `/api/v1/slas` and `/api/v1/sla-rules`: the
//! escalation service's definitions, forwarded to it over the bus. Admins
//! define them; the desk's staff read them. Also what it keeps of tickets:
//! `/api/v1/{kind}/{id}/sla` (the targets now and the timeline), and the
//! SLA reports (`/api/v1/reports/sla`, `/api/v1/reports/sla/breaches`).
//! Each operation's documentation is declared with its route; the wire
//! types' schemas are [`contracts::escalation`]'s.

use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, put_with};
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use contracts::escalation::*;
use contracts::schema::Timestamp;
use contracts::ticket::TicketKind;
use schemars::JsonSchema;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Admin, Principal, Staff};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params, Path};
use crate::incidents::call;
use crate::openapi::declared::Declare;
use crate::openapi::{SLAS, bad_body, internal, not_found, service_down, ticket_id, ticket_of};
use crate::served::Tagged;
use crate::tickets::{Kind, segment};

pub fn routes() -> ApiRouter<AppState> {
    let mut router = ApiRouter::new()
        .api_route(
            "/calendars",
            get_with(calendars, |op| list_docs::<CalendarV1>(&CALENDARS, op))
                .post_with(create_calendar, |op| {
                    create_docs::<CalendarV1>(&CALENDARS, op)
                }),
        )
        .api_route(
            "/calendars/{id}",
            put_with(replace_calendar, |op| {
                replace_docs::<CalendarV1>(&CALENDARS, op)
            })
            .delete_with(delete_calendar, |op| {
                delete_docs::<CalendarV1>(&CALENDARS, CALENDAR_IN_USE, op)
            }),
        )
        .api_route(
            "/slas",
            get_with(slas, |op| list_docs::<SlaV1>(&SLA_DEFINITIONS, op))
                .post_with(create_sla, |op| create_docs::<SlaV1>(&SLA_DEFINITIONS, op)),
        )
        .api_route(
            "/slas/{id}",
            put_with(replace_sla, |op| {
                replace_docs::<SlaV1>(&SLA_DEFINITIONS, op)
            })
            .delete_with(delete_sla, |op| {
                delete_docs::<SlaV1>(&SLA_DEFINITIONS, SLA_IN_USE, op)
            }),
        )
        .api_route(
            "/sla-rules",
            get_with(rules, rules_docs).put_with(set_rules, set_rules_docs),
        )
        .api_route("/reports/sla", get_with(compliance, compliance_docs))
        .api_route("/reports/sla/breaches", get_with(breaches, breaches_docs));
    for kind in TicketKind::ALL {
        router = router.api_route(
            &format!("/{}/{{id}}/sla", segment(kind)),
            get_with(ticket_sla, move |op| ticket_sla_docs(kind, op)),
        );
    }
    router
}

// ---- calendars and SLAs ----

/// Calendars or SLAs: what their list, create and replace operations say.
struct Definitions {
    /// `Calendar`, `Sla`: the end of the operation ids.
    name: &'static str,
    /// `calendar`, `SLA`.
    one: &'static str,
    /// `calendars`, `SLAs`.
    many: &'static str,
    /// What a definition must be that its schema cannot say.
    rules: fn() -> String,
}

const CALENDARS: Definitions = Definitions {
    name: "Calendar",
    one: "calendar",
    many: "calendars",
    rules: calendar_rules,
};

const SLA_DEFINITIONS: Definitions = Definitions {
    name: "Sla",
    one: "SLA",
    many: "SLAs",
    rules: sla_rules,
};

fn calendar_rules() -> String {
    "Besides its schema, and in this order after it: `time_zone` an IANA time zone the desk knows \
     (`time_zone`); each day's intervals, in order of `start`, each ending after it starts and not \
     overlapping the one before it (`week.<day>[n]`, `n` counting the day's intervals in that order); \
     working time on at least one day (`week`)."
        .to_owned()
}

fn sla_rules() -> String {
    let at = "grid[n].response|resolve";
    "Besides its schema (`n`, `t` and `a` count from 0): each row's priority given once \
     (`grid[n].priority`); a `before` placement less than its target (`{at}.timepoints[t].placement`); \
     each action whole (`{at}.timepoints[t].actions[a]`); no two timepoints of a target at the same \
     time, counted in business minutes (`{at}.timepoints[t].placement`); the response target not after \
     the resolve target (`grid[n].response.minutes`). Last, `calendar_id` must name one of the \
     tenant's calendars (`calendar_id`), and every agent and team an action names one of the \
     tenant's (`{at}.timepoints[t].actions[a].agents[i]`, `.agent_id`, `.team_id`)."
        .replace("{at}", at)
}

fn name_taken(d: &Definitions) -> (u16, String) {
    (
        409,
        format!(
            "`conflict`: the tenant has another {} of that name, in any case (trimmed). A create \
             retried without its `Idempotency-Key` after an answer that was lost finds its own name \
             taken.",
            d.one
        ),
    )
}

fn list_docs<'a, T: JsonSchema>(
    d: &Definitions,
    op: TransformOperation<'a>,
) -> TransformOperation<'a> {
    let many = d.many;
    op.about(
        &format!("list{}s", d.name),
        SLAS,
        &format!("List {many}"),
        &format!(
            "The tenant's {many}, by name in any case (not paged). Admin, agent and integration \
                 tokens."
        ),
    )
    .traced()
    .response_with::<200, Json<Vec<T>>, _>(|r| r.description(&format!("The {many}.")))
    .fails(vec![internal(), service_down("escalation")])
}

fn create_docs<'a, T: JsonSchema>(
    d: &Definitions,
    op: TransformOperation<'a>,
) -> TransformOperation<'a> {
    let one = d.one;
    op.about(
        &format!("create{}", d.name),
        SLAS,
        &format!("Create a {one}"),
        &format!(
            "Checks the {one} and stores it. Send an `Idempotency-Key`: a retry with the same key \
                 is answered with the same {one}. Admin tokens only."
        ),
    )
    .traced()
    .idempotent()
    .response_with::<201, Json<T>, _>(|r| r.description(&format!("Created: the {one}.")))
    .fails(vec![
        bad_body(&(d.rules)()),
        name_taken(d),
        internal(),
        service_down("escalation"),
    ])
}

fn replace_docs<'a, T: JsonSchema>(
    d: &Definitions,
    op: TransformOperation<'a>,
) -> TransformOperation<'a> {
    let one = d.one;
    op.about(
            &format!("replace{}", d.name),
            SLAS,
            &format!("Replace a {one}"),
            &format!(
                "Checks the definition and puts it in place of the {one}'s, whole: a field left out \
                 takes its default. The id stays, and what names it (an SLA its calendar, a rule its \
                 SLA) names the new definition. Admin tokens only."
            ),
        )
        .path_param("id", &format!("The {one}'s id."))
    .traced()
    .guarded()
    .response_with::<200, Json<T>, _>(|r| {
        r.description(&format!("The {one} now; its `ETag` is its new `version`."))
    })
    .fails(vec![
        bad_body(&(d.rules)()),
        not_found(&format!("the tenant has no {one} with this id.")),
        name_taken(d),
        internal(),
        service_down("escalation"),
    ])
}

/// When a calendar is in use.
const CALENDAR_IN_USE: &str = "an SLA counts in it, or a ticket's clock ran in it (the SLA \
    reports count in it still)";
/// When an SLA is in use.
const SLA_IN_USE: &str = "an SLA rule names it, or a ticket has had it (the SLA reports name it \
    still)";

fn delete_docs<'a, T: JsonSchema>(
    d: &Definitions,
    in_use: &str,
    op: TransformOperation<'a>,
) -> TransformOperation<'a> {
    let one = d.one;
    op.about(
        &format!("delete{}", d.name),
        SLAS,
        &format!("Delete a {one}"),
        &format!("Deletes a {one} that is not in use; one in use stays (409). Admin tokens only."),
    )
    .path_param("id", &format!("The {one}'s id."))
    .traced()
    .response_with::<200, Json<T>, _>(|r| r.description(&format!("The {one} deleted.")))
    .fails(vec![
        not_found(&format!("the tenant has no {one} with this id.")),
        (
            409,
            format!("`conflict`: the {one} is in use: {in_use}; the message says what uses it."),
        ),
        internal(),
        service_down("escalation"),
    ])
}

async fn delete_calendar(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path(calendar): Path<String>,
) -> ApiResult<Json<CalendarV1>> {
    let command = DeleteCalendarV1 {
        actor: who.actor.clone(),
        calendar: id("calendar", &calendar)?,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn delete_sla(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path(sla): Path<String>,
) -> ApiResult<Json<SlaV1>> {
    let command = DeleteSlaV1 {
        actor: who.actor.clone(),
        sla: id("SLA", &sla)?,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn id(what: &str, id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(what))
}

async fn calendars(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<CalendarV1>>> {
    let command = ListCalendarsV1 {
        viewer: who.actor.clone(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn define_calendar(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    calendar: Option<Uuid>,
    definition: CalendarDefinitionV1,
) -> ApiResult<CalendarV1> {
    let command = DefineCalendarV1 {
        actor: who.actor.clone(),
        calendar,
        if_version: calendar.and_then(|_| crate::extract::if_match(headers)),
        definition,
    };
    call(state, who, headers, &command).await
}

async fn create_calendar(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<CalendarDefinitionV1>,
) -> ApiResult<(StatusCode, Tagged<CalendarV1>)> {
    let calendar = define_calendar(&state, &who, &headers, None, body).await?;
    Ok((StatusCode::CREATED, Tagged(calendar)))
}

async fn replace_calendar(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path(calendar): Path<String>,
    Body(body): Body<CalendarDefinitionV1>,
) -> ApiResult<Tagged<CalendarV1>> {
    let calendar = id("calendar", &calendar)?;
    Ok(Tagged(
        define_calendar(&state, &who, &headers, Some(calendar), body).await?,
    ))
}

async fn slas(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<SlaV1>>> {
    let command = ListSlasV1 {
        viewer: who.actor.clone(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn define_sla(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    sla: Option<Uuid>,
    definition: SlaDefinitionV1,
) -> ApiResult<SlaV1> {
    let command = DefineSlaV1 {
        actor: who.actor.clone(),
        sla,
        if_version: sla.and_then(|_| crate::extract::if_match(headers)),
        definition,
    };
    call(state, who, headers, &command).await
}

/// Refuses an SLA whose actions name an agent or team the tenant does not
/// have (the edge owns the directory; escalation would only find out when
/// the timepoint fires, and then notify nobody).
async fn names_who_exists(
    state: &AppState,
    who: &Principal,
    sla: &SlaDefinitionV1,
) -> ApiResult<()> {
    for (n, row) in sla.grid.iter().enumerate() {
        for (target, at) in [(&row.response, "response"), (&row.resolve, "resolve")] {
            for (t, timepoint) in target.timepoints.iter().enumerate() {
                for (a, action) in timepoint.actions.iter().enumerate() {
                    let path = format!("grid[{n}].{at}.timepoints[{t}].actions[{a}]");
                    match action {
                        Action::AlertAgents { agents } => {
                            for (i, agent) in agents.iter().enumerate() {
                                let field = format!("{path}.agents[{i}]");
                                crate::directory::agent_exists(
                                    state,
                                    who.tenant_id,
                                    &field,
                                    *agent,
                                )
                                .await?;
                            }
                        }
                        Action::Reassign { team_id, agent_id } => {
                            if let Some(team) = team_id {
                                let field = format!("{path}.team_id");
                                crate::directory::team_exists(state, who.tenant_id, &field, *team)
                                    .await?;
                            }
                            if let Some(agent) = agent_id {
                                let field = format!("{path}.agent_id");
                                crate::directory::agent_exists(
                                    state,
                                    who.tenant_id,
                                    &field,
                                    *agent,
                                )
                                .await?;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(())
}

async fn create_sla(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<SlaDefinitionV1>,
) -> ApiResult<(StatusCode, Tagged<SlaV1>)> {
    names_who_exists(&state, &who, &body).await?;
    let sla = define_sla(&state, &who, &headers, None, body).await?;
    Ok((StatusCode::CREATED, Tagged(sla)))
}

async fn replace_sla(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path(sla): Path<String>,
    Body(body): Body<SlaDefinitionV1>,
) -> ApiResult<Tagged<SlaV1>> {
    let sla = id("SLA", &sla)?;
    names_who_exists(&state, &who, &body).await?;
    Ok(Tagged(
        define_sla(&state, &who, &headers, Some(sla), body).await?,
    ))
}

// ---- rules ----

async fn rules(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
) -> ApiResult<Json<SlaRulesV1>> {
    let command = GetSlaRulesV1 {
        viewer: who.actor.clone(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn rules_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getSlaRules",
        SLAS,
        "Get the SLA rules",
        "The tenant's SLA rules, in order; none until an admin sets them. Admin, agent and \
         integration tokens.",
    )
    .traced()
    .response_with::<200, Json<SlaRulesV1>, _>(|r| r.description("The rules."))
    .fails(vec![internal(), service_down("escalation")])
}

async fn set_rules(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<SlaRulesV1>,
) -> ApiResult<Json<SlaRulesV1>> {
    let command = SetSlaRulesV1 {
        actor: who.actor.clone(),
        rules: body.rules,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn set_rules_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "setSlaRules",
        SLAS,
        "Set the SLA rules",
        "Replaces the tenant's SLA rules with these, in this order; an empty list removes them all. \
         The first rule whose conditions hold for a ticket chooses its SLA, so put the narrow rules \
         first and a catch-all (no conditions) last. Admin tokens only.",
    )
    .traced()
    .response_with::<200, Json<SlaRulesV1>, _>(|r| r.description("The rules now."))
    .fails(vec![
        bad_body(
            "Besides its schema: each rule's `sla` one of the tenant's SLAs (`rules[n].sla`, `n` \
             counting from 0). `when.company_id` is not checked.",
        ),
        internal(),
        service_down("escalation"),
    ])
}

// ---- a ticket's SLA ----

async fn ticket_sla(
    State(state): State<AppState>,
    Staff(who): Staff,
    Kind(kind): Kind,
    headers: HeaderMap,
    Path(ticket): Path<String>,
) -> ApiResult<Json<TicketSlaV1>> {
    let command = GetTicketSlaV1 {
        viewer: who.actor.clone(),
        kind: kind.as_str().to_owned(),
        ticket,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

/// `GET /<kind>/{id}/sla`.
fn ticket_sla_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = ticket_of(kind);
    let noun = kind.noun();
    op.about(
        &format!("get{}Sla", t.title),
        SLAS,
        &format!("Get {}'s SLA", t.one()),
        &format!(
            "The SLA the rules give the {noun}, where its response and resolve targets stand now (the \
             business seconds counted, when each falls due, whether it was met or breached), and the \
             timeline of their clocks that explains it: started, paused, resumed, recomputed, met, \
             reopened, escalated, breached. Admin, agent and integration tokens."
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<TicketSlaV1>, _>(|r| r.description(&format!("The {noun}'s SLA.")))
    .fails(vec![
        not_found(&format!(
            "no such {noun} in the tenant, or the escalation service does not follow it (it has not \
             heard of it from ticketing)."
        )),
        internal(),
        service_down("escalation"),
    ])
}

// ---- the SLA reports ----

/// The SLA reports' period (by default the 30 days up to now) and kind.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct SlaRange {
    /// The start of the period (inclusive), `2026-03-01T00:00:00Z`; by
    /// default 30 days before `to`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<Timestamp>")]
    from: Option<time::OffsetDateTime>,
    /// The end of the period (exclusive); by default now. After `from`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<Timestamp>")]
    to: Option<time::OffsetDateTime>,
    /// Only the tickets of this kind; by default every kind.
    #[serde(default)]
    kind: Option<TicketKind>,
}

impl SlaRange {
    fn bounds(&self) -> (time::OffsetDateTime, time::OffsetDateTime, Option<String>) {
        let (from, to) = crate::reports::window(self.from, self.to);
        (from, to, self.kind.map(|k| k.as_str().to_owned()))
    }
}

/// 400: the period's bounds, which JSON Schema cannot relate.
fn bad_range() -> (u16, String) {
    (
        400,
        "`validation_failed`: `from` or `to` is not RFC 3339, `kind` is not a kind of ticket, `to` is \
         not after `from` (`to` is named then, also when it is now by default), or a query parameter \
         is unknown; `details.fields` names it."
            .to_owned(),
    )
}

async fn compliance(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Params(q): Params<SlaRange>,
) -> ApiResult<Json<SlaComplianceV1>> {
    let (from, to, kind) = q.bounds();
    let command = GetSlaComplianceV1 {
        viewer: who.actor.clone(),
        from,
        to,
        kind,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn compliance_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getSlaCompliance",
        SLAS,
        "Get the SLA compliance report",
        "The response and resolve targets decided in the period, in all and by priority and team: a \
         target counts as `breached` when it was breached in the period, and as `met` when it was met \
         in the period without a breach (a target breached before the period and met in it does not \
         count). Priority and team are the tickets' as escalation last heard them. Admin, agent and \
         integration tokens.",
    )
    .traced()
    .response_with::<200, Json<SlaComplianceV1>, _>(|r| r.description("The report."))
    .fails(vec![bad_range(), internal(), service_down("escalation")])
}

async fn breaches(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Params(q): Params<SlaRange>,
) -> ApiResult<Json<Vec<SlaBreachV1>>> {
    let (from, to, kind) = q.bounds();
    let command = ListSlaBreachesV1 {
        viewer: who.actor.clone(),
        from,
        to,
        kind,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn breaches_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "listSlaBreaches",
        SLAS,
        "List SLA breaches",
        &format!(
            "The response and resolve targets breached in the period, each once, latest breach first, \
             at most {MAX_BREACHES} (not paged: narrow the period for more). Admin, agent and \
             integration tokens."
        ),
    )
    .traced()
    .response_with::<200, Json<Vec<SlaBreachV1>>, _>(|r| r.description("The breaches."))
    .fails(vec![bad_range(), internal(), service_down("escalation")])
}
