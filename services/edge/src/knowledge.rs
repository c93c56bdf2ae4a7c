//! The public knowledge base: `/{kind}/{id}/export` (a ticket as HTML, a
//! download) and `/{kind}/{id}/publish`, the published articles under
//! `/kb/articles` (readable by every role, customers included), and the
//! tenant's template at `/kb/template`.
//!
//! HTML goes out as a download or, for an article's page, under a CSP that
//! runs no script and loads nothing: the template is the tenant's own, and
//! the values in it are escaped by ticketing.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use contracts::Page;
use contracts::knowledge::*;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Admin, Principal, Staff};
use crate::directory::PageParams;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params, Path};
use crate::incidents::call;
use crate::served::served;
use crate::tickets::Kind;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/kb/articles", get(list))
        .route("/kb/articles/{id}", get(read).delete(withdraw))
        .route("/kb/articles/{id}/html", get(page))
        .route("/kb/template", get(template).put(set_template))
}

/// HTML that runs nothing and loads nothing but its own inline style; a
/// download (`<reference>.html`) when named.
fn html(body: String, download: Option<&str>) -> Response {
    let disposition = download
        .filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .and_then(|n| HeaderValue::from_str(&format!("attachment; filename=\"{n}.html\"")).ok());
    served(
        body,
        HeaderValue::from_static("text/html; charset=utf-8"),
        disposition,
    )
}

pub async fn export(
    State(state): State<AppState>,
    Kind(kind): Kind,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let command = ExportTicketV1 {
        viewer: who.actor.clone(),
        kind,
        ticket: id,
    };
    let export = call(&state, &who, &headers, &command).await?;
    Ok(html(export.html, Some(&export.reference)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    #[serde(default)]
    title: Option<String>,
}

pub async fn publish(
    State(state): State<AppState>,
    Kind(kind): Kind,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<PublishInput>,
) -> ApiResult<(StatusCode, Json<ArticleV1>)> {
    let command = PublishArticleV1 {
        actor: who.actor.clone(),
        kind,
        ticket: id,
        title: body.title,
    };
    Ok((
        StatusCode::CREATED,
        Json(call(&state, &who, &headers, &command).await?),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<Uuid>,
}

async fn list(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Params(q): Params<ListQuery>,
) -> ApiResult<Json<Page<ArticleSummaryV1>>> {
    let limit = PageParams {
        limit: q.limit,
        cursor: q.cursor,
    }
    .limit()?;
    let command = ListArticlesV1 {
        viewer: who.actor.clone(),
        text: q.q,
        cursor: q.cursor.map(|c| c.to_string()),
        limit,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn article_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("article"))
}

async fn article(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    id: &str,
) -> ApiResult<ArticleV1> {
    let command = GetArticleV1 {
        viewer: who.actor.clone(),
        article: article_id(id)?,
    };
    call(state, who, headers, &command).await
}

async fn read(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<ArticleV1>> {
    Ok(Json(article(&state, &who, &headers, &id).await?))
}

/// The article as a page to read.
async fn page(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(html(article(&state, &who, &headers, &id).await?.html, None))
}

async fn withdraw(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<ArticleV1>> {
    let command = WithdrawArticleV1 {
        actor: who.actor.clone(),
        article: article_id(&id)?,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn template(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
) -> ApiResult<Json<KbTemplateV1>> {
    let command = GetKbTemplateV1 {
        viewer: who.actor.clone(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateInput {
    /// Required; `null` goes back to the default.
    #[serde(default, deserialize_with = "contracts::common::present")]
    template: Option<Option<String>>,
}

async fn set_template(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(body): Body<TemplateInput>,
) -> ApiResult<Json<KbTemplateV1>> {
    let template = body
        .template
        .ok_or_else(|| ApiError::field("template", "required (null for the default)"))?;
    let command = SetKbTemplateV1 {
        actor: who.actor.clone(),
        template,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}
