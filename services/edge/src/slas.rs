//! `/api/v1/calendars`, `/api/v1/slas` and `/api/v1/sla-rules`: the
//! escalation service's definitions, forwarded to it over the bus. Admins
//! define them; the desk's staff read them. Also what it keeps of tickets:
//! `/api/v1/{kind}/{id}/sla` (the targets now and the timeline), and the
//! SLA reports (`/api/v1/reports/sla`, `/api/v1/reports/sla/breaches`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use axum::{Json, Router};
use contracts::escalation::*;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Admin, Staff};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params, Path};
use crate::incidents::call;
use crate::tickets::Kind;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/calendars", get(calendars).post(create_calendar))
        .route("/calendars/{id}", put(replace_calendar))
        .route("/slas", get(slas).post(create_sla))
        .route("/slas/{id}", put(replace_sla))
        .route("/sla-rules", get(rules).put(set_rules))
        .route("/incidents/{id}/sla", get(ticket_sla))
        .route("/problems/{id}/sla", get(ticket_sla))
        .route("/changes/{id}/sla", get(ticket_sla))
        .route("/requests/{id}/sla", get(ticket_sla))
        .route("/reports/sla", get(compliance))
        .route("/reports/sla/breaches", get(breaches))
}

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

/// `from` and `to` (RFC 3339; by default the 30 days up to now), and
/// optionally one `kind` of ticket.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlaRange {
    #[serde(default, with = "time::serde::rfc3339::option")]
    from: Option<time::OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    to: Option<time::OffsetDateTime>,
    #[serde(default)]
    kind: Option<contracts::ticket::TicketKind>,
}

impl SlaRange {
    fn bounds(&self) -> (time::OffsetDateTime, time::OffsetDateTime, Option<String>) {
        let (from, to) = crate::reports::window(self.from, self.to);
        (from, to, self.kind.map(|k| k.as_str().to_owned()))
    }
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
    who: &crate::auth::Principal,
    headers: &HeaderMap,
    calendar: Option<Uuid>,
    definition: CalendarDefinitionV1,
) -> ApiResult<CalendarV1> {
    let command = DefineCalendarV1 {
        actor: who.actor.clone(),
        calendar,
        definition,
    };
    call(state, who, headers, &command).await
}

async fn create_calendar(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<CalendarDefinitionV1>,
) -> ApiResult<(StatusCode, Json<CalendarV1>)> {
    let calendar = define_calendar(&state, &who, &headers, None, body).await?;
    Ok((StatusCode::CREATED, Json(calendar)))
}

async fn replace_calendar(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path(calendar): Path<String>,
    Body(body): Body<CalendarDefinitionV1>,
) -> ApiResult<Json<CalendarV1>> {
    let calendar = id("calendar", &calendar)?;
    Ok(Json(
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
    who: &crate::auth::Principal,
    headers: &HeaderMap,
    sla: Option<Uuid>,
    definition: SlaDefinitionV1,
) -> ApiResult<SlaV1> {
    let command = DefineSlaV1 {
        actor: who.actor.clone(),
        sla,
        definition,
    };
    call(state, who, headers, &command).await
}

async fn create_sla(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<SlaDefinitionV1>,
) -> ApiResult<(StatusCode, Json<SlaV1>)> {
    let sla = define_sla(&state, &who, &headers, None, body).await?;
    Ok((StatusCode::CREATED, Json(sla)))
}

async fn replace_sla(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path(sla): Path<String>,
    Body(body): Body<SlaDefinitionV1>,
) -> ApiResult<Json<SlaV1>> {
    let sla = id("SLA", &sla)?;
    Ok(Json(
        define_sla(&state, &who, &headers, Some(sla), body).await?,
    ))
}

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

/// The rules as the API takes them: a misspelt condition must be refused,
/// not dropped (it would make the rule match every ticket). The wire types
/// accept new optional fields (DESIGN §3), so these mirror them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesInput {
    rules: Vec<RuleInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleInput {
    #[serde(default)]
    when: ConditionsInput,
    sla: Uuid,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConditionsInput {
    #[serde(default)]
    priority: Option<u8>,
    #[serde(default)]
    company_id: Option<Uuid>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

impl From<RuleInput> for SlaRuleV1 {
    fn from(r: RuleInput) -> Self {
        Self {
            when: Conditions {
                priority: r.when.priority,
                company_id: r.when.company_id,
                service: r.when.service,
                kind: r.when.kind,
            },
            sla: r.sla,
        }
    }
}

async fn set_rules(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<RulesInput>,
) -> ApiResult<Json<SlaRulesV1>> {
    let command = SetSlaRulesV1 {
        actor: who.actor.clone(),
        rules: body.rules.into_iter().map(Into::into).collect(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}
