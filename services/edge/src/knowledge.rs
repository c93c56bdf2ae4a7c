//! The public knowledge base: `/{kind}/{id}/export` (a ticket as HTML, a
//! download) and `/{kind}/{id}/publish`, the published articles under
//! `/kb/articles` (readable by every role, customers included), and the
//! tenant's template at `/kb/template`.
//!
//! HTML goes out as a download or, for an article's page, under a CSP that
//! runs no script and loads nothing: the template is the tenant's own, and
//! the values in it are escaped by ticketing.
//!
//! Every operation is documented where its route is declared; the export
//! and the publication are routed with each kind's other routes in
//! [`crate::tickets`].

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use contracts::Page;
use contracts::knowledge::*;
use contracts::limits::{ANY_LINE_PATTERN, MAX_SUMMARY, MAX_TEMPLATE, ONE_LINE_PATTERN};
use contracts::ticket::TicketKind;
use runtime::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Admin, Principal, Staff};
use crate::directory::PageParams;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params, Path};
use crate::incidents::call;
use crate::openapi::declared::Declare;
use crate::openapi::{
    HTML_POLICY, KNOWLEDGE_BASE, bad_body, bad_query, html as html_answer, internal, not_found,
    ticket_id, ticket_of, ticketing_down,
};
use crate::served::served;
use crate::tickets::Kind;

pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/kb/articles", get_with(list, list_docs))
        .api_route(
            "/kb/articles/{id}",
            get_with(read, read_docs).delete_with(withdraw, withdraw_docs),
        )
        .api_route("/kb/articles/{id}/html", get_with(page, page_docs))
        .api_route(
            "/kb/template",
            get_with(template, template_docs).put_with(set_template, set_template_docs),
        )
}

/// An article's id, as a path parameter.
const ARTICLE_ID: &str = "The article's id; a value that is not a UUID answers 404.";

/// An article that is not there.
fn missing() -> (u16, String) {
    not_found("no such article in the tenant (an id that is not a UUID answers this too).")
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

/// A ticket's export to publish: `{}` to title it by the ticket's summary.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewArticle")]
pub struct PublishInput {
    /// The article's title: not blank; stored trimmed. By default the
    /// ticket's summary.
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    title: Option<String>,
}

/// A ticket of `kind` that is not there.
fn no_ticket(kind: TicketKind) -> (u16, String) {
    not_found(&format!("no such {} in the tenant.", kind.noun()))
}

/// `GET /<kind>/{id}/export`.
pub fn export_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = ticket_of(kind);
    let noun = kind.noun();
    let download = json!({
        "description": "`attachment; filename=\"<reference>.html\"`.",
        "schema": { "type": "string" },
    });
    let mut exported = html_answer(&format!(
        "The {noun} as HTML, served as {HTML_POLICY}, to save."
    ));
    exported["headers"] = json!({ "Content-Disposition": download });
    op.about(
        &format!("export{}", t.title),
        KNOWLEDGE_BASE,
        &format!("Export {} to HTML", t.one()),
        &format!(
            "The {noun} rendered through the tenant's template, with only its actions flagged \
             `knowledge_base`, as a download. Admin, agent and integration tokens."
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .answers(200, exported)
    .fails(vec![no_ticket(kind), internal(), ticketing_down()])
}

/// `POST /<kind>/{id}/publish`.
pub fn publish_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = ticket_of(kind);
    let noun = kind.noun();
    op.about(
        &format!("publish{}", t.title),
        KNOWLEDGE_BASE,
        &format!("Publish {} to the knowledge base", t.one()),
        &format!(
            "Publishes the {noun}'s export (as `GET /api/v1/{}/{{id}}/export` gives it now) as \
             an article, titled `title` or by default the {noun}'s summary. Publishing it again \
             replaces its article, keeping the article's id. Admin, agent and integration tokens.",
            crate::tickets::segment(kind)
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<201, Json<ArticleV1>, _>(|r| r.description("Published."))
    .fails(vec![
        bad_body(&format!(
            "`title` must not be blank (at most {MAX_SUMMARY} characters, no control characters)."
        )),
        no_ticket(kind),
        internal(),
        ticketing_down(),
    ])
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

/// The list's filter and page.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct ListQuery {
    /// Only articles whose title contains this text, in any case.
    #[serde(default)]
    #[schemars(length(max = MAX_SUMMARY), regex(pattern = ANY_LINE_PATTERN))]
    q: Option<String>,
    /// The most items the page holds.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_LIMIT), extend("default" = DEFAULT_LIMIT))]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page; absent for the first page.
    #[serde(default)]
    cursor: Option<Uuid>,
}

fn list_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "listArticles",
        KNOWLEDGE_BASE,
        "List articles",
        "One page of the tenant's articles, newest first by when each was first published \
         (publishing again keeps an article's place). Any token.",
    )
    .traced()
    .response_with::<200, Json<Page<ArticleSummaryV1>>, _>(|r| r.description("One page."))
    .fails(vec![bad_query(), internal(), ticketing_down()])
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

fn read_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getArticle",
        KNOWLEDGE_BASE,
        "Get an article",
        "An article with its HTML. Any token.",
    )
    .path_param("id", ARTICLE_ID)
    .traced()
    .response_with::<200, Json<ArticleV1>, _>(|r| r.description("Found."))
    .fails(vec![missing(), internal(), ticketing_down()])
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

fn page_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getArticlePage",
        KNOWLEDGE_BASE,
        "Show an article",
        "The article's HTML as a page to show. Any token.",
    )
    .path_param("id", ARTICLE_ID)
    .traced()
    .answers(
        200,
        html_answer(&format!(
            "The article's page, served as {}.",
            crate::openapi::HTML_POLICY
        )),
    )
    .fails(vec![missing(), internal(), ticketing_down()])
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

fn withdraw_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "withdrawArticle",
        KNOWLEDGE_BASE,
        "Withdraw an article",
        "Removes the article from the knowledge base; its ticket stays, and may be published again \
         (as a new article). Admin, agent and integration tokens.",
    )
    .path_param("id", ARTICLE_ID)
    .traced()
    .response_with::<200, Json<ArticleV1>, _>(|r| r.description("The article withdrawn."))
    .fails(vec![missing(), internal(), ticketing_down()])
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

fn template_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getKbTemplate",
        KNOWLEDGE_BASE,
        "Get the knowledge base template",
        "The template tickets are exported through: the tenant's own, or the default while it has \
         none. Admin, agent and integration tokens.",
    )
    .traced()
    .response_with::<200, Json<KbTemplateV1>, _>(|r| r.description("The template."))
    .fails(vec![internal(), ticketing_down()])
}

/// A template for the tenant.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "KbTemplateInput", transform = template_required)]
struct TemplateInput {
    /// The tenant's template (no NUL, and no more bytes than `maxLength`),
    /// or null to go back to the default.
    #[serde(default, deserialize_with = "contracts::common::present")]
    #[schemars(length(max = MAX_TEMPLATE))]
    template: Option<Option<String>>,
}

/// `template` may be null but not left out: the handler refuses a body
/// without it.
fn template_required(schema: &mut schemars::Schema) {
    schema.insert("required".into(), serde_json::json!(["template"]));
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

fn set_template_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "setKbTemplate",
        KNOWLEDGE_BASE,
        "Set the knowledge base template",
        "Sets the tenant's template, or with `template: null` goes back to the default. Articles \
         already published keep their HTML until published again. Admin tokens only.",
    )
    .traced()
    .response_with::<200, Json<KbTemplateV1>, _>(|r| r.description("The template now."))
    .fails(vec![
        bad_body(&format!(
            "`template` must be at most {MAX_TEMPLATE} bytes without NUL, and a template: every `{{{{` \
             closed by `}}}}`, only known placeholders, each where it belongs, and each section \
             (`{{{{#actions}}}}`, `{{{{#fields}}}}`) closed by its own end, not nested; \
             `details.fields.template` says what is wrong."
        )),
        internal(),
        ticketing_down(),
    ])
}
