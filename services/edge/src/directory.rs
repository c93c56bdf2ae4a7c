//! The tenant's directory, owned by the edge: customer companies, customers,
//! teams, agents, and the API tokens that let them in. Every entry written
//! is announced (`edge.directory.changed`, through the edge's outbox), so
//! the services that write to people (notification) keep their own copy.

use aide::axum::ApiRouter;
use aide::axum::routing::{delete_with, get_with, post_with};
use aide::transform::TransformOperation;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use contracts::limits::{
    ANY_LINE_PATTERN, EMAIL_PATTERN, MAX_EMAIL, MAX_SUMMARY, ONE_LINE_PATTERN,
};
use contracts::notification::{DirectoryChangedV1, DirectoryEntryV1, MailboxV1};
use contracts::schema::Timestamp;
use contracts::{Envelope, Page, Role};
use runtime::outbox::{self, Outgoing};
use runtime::paging::{DEFAULT_LIMIT, MAX_LIMIT, Order, Paging};
use runtime::store::{Param, bind_all, from_micros, id_at, micros, now, placeholders, uuid_at};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{self, Admin, Principal, Staff, TokenFor};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Params, Path};
use crate::openapi::declared::Declare;
use crate::openapi::{
    AGENTS, COMPANIES, CUSTOMERS, TEAMS, TOKENS, bad_body, bad_query, database_down, internal,
    not_found,
};

mod import;

pub fn routes() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/companies/import",
            post_with(import::companies, |op| {
                import::docs(
                    op,
                    "importCompanies",
                    COMPANIES,
                    "company",
                    "`name`, `sender_email`, `sender_name`",
                )
            }),
        )
        .api_route(
            "/customers/import",
            post_with(import::customers, |op| {
                import::docs(
                    op,
                    "importCustomers",
                    CUSTOMERS,
                    "customer",
                    "`name`, `email`, `company` (a company's name), `language`",
                )
            }),
        )
        .api_route(
            "/companies",
            get_with(list_companies, |op| list_docs::<Company>(op, &COMPANY))
                .post_with(create_company, |op| create_docs::<Company>(op, &COMPANY)),
        )
        .api_route(
            "/companies/{id}",
            get_with(get_company, |op| get_docs::<Company>(op, &COMPANY))
                .patch_with(edit_company, |op| edit_docs::<Company>(op, &COMPANY)),
        )
        .api_route(
            "/customers",
            get_with(list_customers, |op| list_docs::<Customer>(op, &CUSTOMER))
                .post_with(create_customer, |op| create_docs::<Customer>(op, &CUSTOMER)),
        )
        .api_route(
            "/customers/{id}",
            get_with(get_customer, |op| get_docs::<Customer>(op, &CUSTOMER))
                .patch_with(edit_customer, |op| edit_docs::<Customer>(op, &CUSTOMER)),
        )
        .api_route(
            "/teams",
            get_with(list_teams, |op| list_docs::<Team>(op, &TEAM))
                .post_with(create_team, |op| create_docs::<Team>(op, &TEAM)),
        )
        // Each change is announced (notification writes to the new
        // address, in the new language, to the new leader).
        .api_route(
            "/teams/{id}",
            get_with(get_team, |op| get_docs::<Team>(op, &TEAM))
                .patch_with(edit_team, |op| edit_docs::<Team>(op, &TEAM)),
        )
        .api_route(
            "/agents",
            get_with(list_agents, |op| list_docs::<Agent>(op, &AGENT))
                .post_with(create_agent, |op| create_docs::<Agent>(op, &AGENT)),
        )
        .api_route(
            "/agents/{id}",
            get_with(get_agent, |op| get_docs::<Agent>(op, &AGENT))
                .patch_with(edit_agent, |op| edit_docs::<Agent>(op, &AGENT)),
        )
        .api_route(
            "/tokens",
            get_with(list_tokens, list_tokens_docs).post_with(create_token, token_docs),
        )
        .api_route("/tokens/{id}", delete_with(revoke_token, revoke_token_docs))
        .api_route("/me", get_with(me, me_docs))
}

/// A customer company.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Company {
    pub id: Uuid,
    pub name: String,
    /// Who emails to the company's customers are from, instead of the
    /// tenant's sender (see the Email tag); null if the company has none.
    pub sender: Option<MailboxV1>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    pub created_at: OffsetDateTime,
}

/// A customer: someone incidents are logged for.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    /// The customer's company.
    pub company_id: Option<Uuid>,
    /// The language emails to the customer are written in (`en`, `nl`,
    /// `pt-BR`).
    pub language: Option<String>,
    /// False once deactivated: their tokens no longer work; what they
    /// did stays.
    #[serde(default = "active")]
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    pub created_at: OffsetDateTime,
}

fn active() -> bool {
    true
}

/// A team of agents.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    /// The agent who leads the team.
    pub leader_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    pub created_at: OffsetDateTime,
}

/// An agent: someone who works incidents.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Agent {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    /// The agent's team.
    pub team_id: Option<Uuid>,
    /// False once deactivated: their tokens no longer work; what they
    /// did stays.
    #[serde(default = "active")]
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    pub created_at: OffsetDateTime,
}

/// `limit` and `cursor`, as every list takes them (query parameters, so
/// no schema of its own).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub struct PageParams {
    /// The most items the page holds.
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_LIMIT), extend("default" = DEFAULT_LIMIT))]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; absent for the first page.
    #[serde(default)]
    pub cursor: Option<Uuid>,
}

impl PageParams {
    /// The page asked for, of a list in `order`.
    pub fn paging(&self, order: Order) -> ApiResult<Paging> {
        let cursor = self.cursor.map(|c| c.to_string());
        Ok(Paging::new(cursor.as_deref(), self.limit, order)?)
    }

    /// The limit asked for, checked (for a list another service pages).
    pub fn limit(&self) -> ApiResult<u32> {
        Ok(self.paging(Order::Newest)?.limit())
    }
}

/// One table of the directory: how to read its rows.
trait Entry: Serialize + Sized {
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    const WHAT: &'static str;
    /// The lower-case keys a list's `q` searches; none for entries a list
    /// does not search.
    const SEARCHED: &'static [&'static str] = &[];
    fn from_row(row: &AnyRow) -> sqlx::Result<Self>;
    /// The entry as the edge announces it.
    fn announced(&self) -> DirectoryEntryV1;
}

impl Entry for Company {
    const TABLE: &'static str = "companies";
    const COLUMNS: &'static str = "id, name, created_at, sender_email, sender_name";
    const WHAT: &'static str = "company";
    const SEARCHED: &'static [&'static str] = &["name_key"];
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        let email: Option<String> = row.try_get("sender_email")?;
        let name: Option<String> = row.try_get("sender_name")?;
        Ok(Self {
            id: id_at(row, "id")?,
            name: row.try_get("name")?,
            sender: email.map(|email| MailboxV1 { email, name }),
            created_at: from_micros(row.try_get("created_at")?),
        })
    }
    fn announced(&self) -> DirectoryEntryV1 {
        DirectoryEntryV1::Company {
            id: self.id,
            name: self.name.clone(),
            sender: self.sender.clone(),
        }
    }
}

impl Entry for Customer {
    const TABLE: &'static str = "customers";
    const COLUMNS: &'static str =
        "id, name, email, company_id, language, created_at, deactivated_at";
    const WHAT: &'static str = "customer";
    const SEARCHED: &'static [&'static str] = &["name_key", "email_key"];
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: id_at(row, "id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            company_id: uuid_at(row, "company_id")?,
            language: row.try_get("language")?,
            active: row.try_get::<Option<i64>, _>("deactivated_at")?.is_none(),
            created_at: from_micros(row.try_get("created_at")?),
        })
    }
    fn announced(&self) -> DirectoryEntryV1 {
        DirectoryEntryV1::Customer {
            id: self.id,
            name: self.name.clone(),
            email: self.email.clone(),
            company_id: self.company_id,
            language: self.language.clone(),
            active: self.active,
        }
    }
}

impl Entry for Team {
    const TABLE: &'static str = "teams";
    const COLUMNS: &'static str = "id, name, leader_id, created_at";
    const WHAT: &'static str = "team";
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: id_at(row, "id")?,
            name: row.try_get("name")?,
            leader_id: uuid_at(row, "leader_id")?,
            created_at: from_micros(row.try_get("created_at")?),
        })
    }
    fn announced(&self) -> DirectoryEntryV1 {
        DirectoryEntryV1::Team {
            id: self.id,
            name: self.name.clone(),
            leader_id: self.leader_id,
        }
    }
}

impl Entry for Agent {
    const TABLE: &'static str = "agents";
    const COLUMNS: &'static str = "id, name, email, team_id, created_at, deactivated_at";
    const WHAT: &'static str = "agent";
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: id_at(row, "id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            team_id: uuid_at(row, "team_id")?,
            active: row.try_get::<Option<i64>, _>("deactivated_at")?.is_none(),
            created_at: from_micros(row.try_get("created_at")?),
        })
    }
    fn announced(&self) -> DirectoryEntryV1 {
        DirectoryEntryV1::Agent {
            id: self.id,
            name: self.name.clone(),
            email: self.email.clone(),
            team_id: self.team_id,
            active: self.active,
        }
    }
}

async fn find<E: Entry>(state: &AppState, tenant: Uuid, id: Uuid) -> ApiResult<Option<E>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM {} WHERE tenant_id = $1 AND id = $2",
        E::COLUMNS,
        E::TABLE
    )))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(state.store.pool())
    .await?;
    Ok(row.as_ref().map(E::from_row).transpose()?)
}

/// The entry, or a 400 naming `field` if the tenant has no such entry.
async fn must_exist<E: Entry>(
    state: &AppState,
    tenant: Uuid,
    field: &str,
    id: Uuid,
) -> ApiResult<E> {
    find(state, tenant, id)
        .await?
        .ok_or_else(|| ApiError::field(field, format!("no {} with this id", E::WHAT)))
}

pub async fn agent_exists(state: &AppState, tenant: Uuid, field: &str, id: Uuid) -> ApiResult<()> {
    must_exist::<Agent>(state, tenant, field, id)
        .await
        .map(drop)
}

pub async fn team_exists(state: &AppState, tenant: Uuid, field: &str, id: Uuid) -> ApiResult<()> {
    must_exist::<Team>(state, tenant, field, id).await.map(drop)
}

/// The company of a new ticket's customer: the caller's own when a
/// customer logs it, else that of `customer` (given in `field`), which must
/// exist. Ticketing keeps it with the ticket, for SLA rules by company.
pub async fn customer_company(
    state: &AppState,
    who: &crate::auth::Principal,
    field: &str,
    customer: Option<Uuid>,
) -> ApiResult<Option<Uuid>> {
    if let Some(me) = who.actor.customer_scope() {
        return Ok(find::<Customer>(state, who.tenant_id, me)
            .await?
            .and_then(|c| c.company_id));
    }
    match customer {
        Some(id) => Ok(must_exist::<Customer>(state, who.tenant_id, field, id)
            .await?
            .company_id),
        None => Ok(None),
    }
}

async fn get_one<E: Entry>(state: &AppState, who: &Principal, id: &str) -> ApiResult<Json<E>> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found(E::WHAT))?;
    find(state, who.tenant_id, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(E::WHAT))
}

async fn list<E: Entry>(
    state: &AppState,
    who: &Principal,
    page: &PageParams,
) -> ApiResult<Json<Page<E>>> {
    search::<E>(state, who, page, None).await
}

/// A page of `E`s whose keys ([`Entry::SEARCHED`]) contain `q`, in any
/// case.
async fn search<E: Entry>(
    state: &AppState,
    who: &Principal,
    page: &PageParams,
    q: Option<&str>,
) -> ApiResult<Json<Page<E>>> {
    let paging = page.paging(Order::Oldest)?;
    let mut args = vec![Param::from(who.tenant_id.to_string())];
    let mut matching = String::new();
    if q.is_some_and(|q| q.chars().count() > MAX_SUMMARY || q.chars().any(char::is_control)) {
        return Err(ApiError::field(
            "q",
            format!("at most {MAX_SUMMARY} characters, no control characters"),
        ));
    }
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        args.push(Param::from(runtime::store::contains_pattern(q)));
        let n = args.len();
        let any: Vec<String> = E::SEARCHED
            .iter()
            .map(|key| format!("{key} LIKE ${n} ESCAPE '\\'"))
            .collect();
        matching = format!(" AND ({})", any.join(" OR "));
    }
    let sql = format!(
        "SELECT {} FROM {} WHERE tenant_id = $1{matching}{}",
        E::COLUMNS,
        E::TABLE,
        paging.sql(&mut args)
    );
    let rows = bind_all(sql, args).fetch_all(state.store.pool()).await?;
    let items = rows
        .iter()
        .map(|r| Ok((id_at(r, "id")?, E::from_row(r)?)))
        .collect::<sqlx::Result<Vec<_>>>()?;
    let page = paging.page(items, |(id, _)| *id);
    Ok(Json(Page {
        items: page.items.into_iter().map(|(_, e)| e).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A write the tenant's unique keys refused: 409 `conflict`, saying which
/// (`field` the body's field, `what` the one there is); any other error
/// as it is.
fn taken(e: sqlx::Error, field: &str, what: &str) -> ApiError {
    if e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
    {
        let mut error = ApiError::new(
            crate::error::Code::Conflict,
            format!("the tenant has {what} already, in any case"),
        );
        error.details = Some(serde_json::json!({ "field": field }));
        error
    } else {
        ApiError::from(e)
    }
}

fn check_name(value: &str) -> ApiResult<String> {
    let name = value.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    if name.chars().count() > MAX_SUMMARY || name.chars().any(char::is_control) {
        return Err(ApiError::field(
            "name",
            format!("at most {MAX_SUMMARY} characters, no control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// A plausible single address: one `@`, no spaces or control characters.
/// (Deliverability is the mail service's business.)
fn check_email(value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(email) = value.map(str::trim) else {
        return Ok(None);
    };
    let ok = email.chars().count() <= MAX_EMAIL
        && email.split('@').count() == 2
        && email.split('@').all(|p| !p.is_empty())
        && !email.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        });
    if ok {
        Ok(Some(email.to_owned()))
    } else {
        Err(ApiError::field("email", "not a valid email address"))
    }
}

/// A language tag as [`check_language`] takes it.
const LANGUAGE_PATTERN: &str = "^[A-Za-z0-9]+(-[A-Za-z0-9]+)*(?![\\s\\S])";

fn check_language(value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(lang) = value else { return Ok(None) };
    let ok = (2..=12).contains(&lang.len())
        && lang
            .split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(Some(lang.to_owned()))
    } else {
        Err(ApiError::field(
            "language",
            "a language tag such as en or pt-BR",
        ))
    }
}

/// Writes `entry`'s announcement to the outbox in the transaction that
/// wrote the entry, commits it, and wakes the relay to publish it.
async fn announce<E: Entry>(
    state: &AppState,
    tx: runtime::store::Tx,
    tenant: Uuid,
    entry: &E,
) -> ApiResult<()> {
    announce_all(state, tx, tenant, vec![entry.announced()]).await
}

/// Commits `tx` with the announcement of `entries`, changed in it.
async fn announce_all(
    state: &AppState,
    mut tx: runtime::store::Tx,
    tenant: Uuid,
    entries: Vec<DirectoryEntryV1>,
) -> ApiResult<()> {
    let events: Vec<Outgoing> = entries
        .into_iter()
        .map(|entry| {
            let envelope = Envelope::new(tenant, &DirectoryChangedV1 { entry });
            Outgoing::event::<DirectoryChangedV1>(envelope)
        })
        .collect();
    outbox::enqueue(&mut tx, &events).await?;
    tx.commit().await?;
    state.relay.wake();
    Ok(())
}

/// The announcement of every entry of `E`'s table, of every tenant.
async fn every<E: Entry>(tx: &mut sqlx::AnyConnection) -> sqlx::Result<Vec<Outgoing>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, tenant_id FROM {}",
        E::COLUMNS,
        E::TABLE
    )))
    .fetch_all(&mut *tx)
    .await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        let tenant = id_at(row, "tenant_id")?;
        let entry = E::from_row(row)?.announced();
        let envelope = Envelope::new(tenant, &DirectoryChangedV1 { entry });
        events.push(Outgoing::event::<DirectoryChangedV1>(envelope));
    }
    Ok(events)
}

/// Announces the whole directory again, whether or not it was before (for
/// a service that started listening after the first announcement).
pub async fn announce_again(
    store: &runtime::store::Store,
) -> Result<usize, runtime::store::StoreError> {
    sqlx::query("DELETE FROM edge_jobs WHERE name = $1")
        .bind(ANNOUNCE_JOB)
        .execute(store.pool())
        .await?;
    announce_existing(store).await
}

/// The job of announcing the directory that existed before announcements.
const ANNOUNCE_JOB: &str = "announce_directory";

/// Announces every entry of every tenant's directory, once per store: the
/// services that keep a copy (notification) learn the people who were in
/// the directory before the edge announced each change. Several replicas
/// starting at once do it once (the job's row is taken first). How many
/// entries it announced.
pub async fn announce_existing(
    store: &runtime::store::Store,
) -> Result<usize, runtime::store::StoreError> {
    let mut tx = store.begin().await?;
    let taken = sqlx::query(
        "INSERT INTO edge_jobs (name, done_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(ANNOUNCE_JOB)
    .bind(micros(now()))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if taken == 0 {
        return Ok(0);
    }
    // Teams and companies first: agents and customers refer to them.
    let mut events = every::<Team>(&mut tx).await?;
    events.extend(every::<Company>(&mut tx).await?);
    events.extend(every::<Agent>(&mut tx).await?);
    events.extend(every::<Customer>(&mut tx).await?);
    let announced = events.len();
    for chunk in events.chunks(1_000) {
        outbox::enqueue(&mut tx, chunk).await?;
    }
    tx.commit().await?;
    Ok(announced)
}

/// Who emails to the company's customers are from, instead of the
/// tenant's sender; absent or null for the tenant's. Mail from it never
/// makes a ticket.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewSender {
    /// Trimmed; one address: a single `@` with text on both sides, no
    /// whitespace, control characters or `<>,;"`.
    #[schemars(length(max = MAX_EMAIL), regex(pattern = EMAIL_PATTERN))]
    email: String,
    /// The name shown beside it: trimmed; no control characters.
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    name: Option<String>,
}

/// A company's sender, checked.
fn check_sender(s: NewSender) -> ApiResult<MailboxV1> {
    Ok(MailboxV1 {
        email: check_email(Some(&s.email))
            .map_err(|_| ApiError::field("sender.email", "not a valid email address"))?
            .unwrap_or_default(),
        name: s.name.as_deref().map(check_name).transpose().map_err(|_| {
            ApiError::field("sender.name", "1 to 200 characters, no control characters")
        })?,
    })
}

/// A company to add.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewCompany {
    /// Trimmed; no control characters.
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    name: String,
    #[serde(default)]
    sender: Option<NewSender>,
}

async fn create_company(
    State(state): State<AppState>,
    Admin(who): Admin,
    Body(body): Body<NewCompany>,
) -> ApiResult<(StatusCode, Json<Company>)> {
    let sender = match body.sender {
        Some(s) => Some(MailboxV1 {
            email: check_email(Some(&s.email))
                .map_err(|_| ApiError::field("sender.email", "not a valid email address"))?
                .unwrap_or_default(),
            name: s.name.as_deref().map(check_name).transpose().map_err(|_| {
                ApiError::field("sender.name", "1 to 200 characters, no control characters")
            })?,
        }),
        None => None,
    };
    let c = Company {
        id: Uuid::now_v7(),
        name: check_name(&body.name)?,
        sender,
        created_at: now(),
    };
    let mut tx = state.store.begin().await?;
    insert_company(&mut tx, who.tenant_id, &c).await?;
    announce(&state, tx, who.tenant_id, &c).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Writes a new company (its name checked), keyed by its name in any case.
async fn insert_company(tx: &mut sqlx::AnyConnection, tenant: Uuid, c: &Company) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO companies (id, tenant_id, name, created_at, sender_email, sender_name, \
         name_key) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.id.to_string())
    .bind(tenant.to_string())
    .bind(&c.name)
    .bind(micros(c.created_at))
    .bind(c.sender.as_ref().map(|s| s.email.clone()))
    .bind(c.sender.as_ref().and_then(|s| s.name.clone()))
    .bind(c.name.to_lowercase())
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, "name", "a company of that name"))?;
    Ok(())
}

/// A page of a searched list.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct SearchParams {
    /// Only those whose name (a customer's: or address) contains this, in
    /// any case.
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

impl SearchParams {
    async fn search<E: Entry>(self, state: &AppState, who: &Principal) -> ApiResult<Json<Page<E>>> {
        let page = PageParams {
            limit: self.limit,
            cursor: self.cursor,
        };
        search::<E>(state, who, &page, self.q.as_deref()).await
    }
}

async fn list_companies(
    State(s): State<AppState>,
    Staff(who): Staff,
    Params(p): Params<SearchParams>,
) -> ApiResult<Json<Page<Company>>> {
    p.search(&s, &who).await
}

async fn get_company(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Company>> {
    get_one(&s, &who, &id).await
}

/// A customer to add.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewCustomer {
    /// Trimmed; no control characters.
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    name: String,
    /// Trimmed; one address: a single `@` with text on both sides, no
    /// whitespace, control characters or `<>,;"`.
    #[serde(default)]
    #[schemars(length(max = MAX_EMAIL), regex(pattern = EMAIL_PATTERN))]
    email: Option<String>,
    /// One of the tenant's companies.
    #[serde(default)]
    company_id: Option<Uuid>,
    /// A language tag such as `en` or `pt-BR`: emails to the customer are
    /// written in it.
    #[schemars(length(min = 2, max = 12), regex(pattern = LANGUAGE_PATTERN))]
    #[serde(default)]
    language: Option<String>,
}

async fn create_customer(
    State(state): State<AppState>,
    Admin(who): Admin,
    Body(body): Body<NewCustomer>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    if let Some(company) = body.company_id {
        must_exist::<Company>(&state, who.tenant_id, "company_id", company).await?;
    }
    let c = Customer {
        id: Uuid::now_v7(),
        name: check_name(&body.name)?,
        email: check_email(body.email.as_deref())?,
        company_id: body.company_id,
        language: check_language(body.language.as_deref())?,
        active: true,
        created_at: now(),
    };
    let mut tx = state.store.begin().await?;
    insert_customer(&mut tx, who.tenant_id, &c).await?;
    announce(&state, tx, who.tenant_id, &c).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// Writes a new customer (its fields checked), keyed by their address in
/// any case.
async fn insert_customer(
    tx: &mut sqlx::AnyConnection,
    tenant: Uuid,
    c: &Customer,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO customers (id, tenant_id, name, email, company_id, language, created_at, \
         name_key, email_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(c.id.to_string())
    .bind(tenant.to_string())
    .bind(&c.name)
    .bind(&c.email)
    .bind(c.company_id.map(|u| u.to_string()))
    .bind(&c.language)
    .bind(micros(c.created_at))
    .bind(c.name.to_lowercase())
    .bind(c.email.as_deref().map(str::to_lowercase))
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, "email", "a customer at that address"))?;
    Ok(())
}

async fn list_customers(
    State(s): State<AppState>,
    Staff(who): Staff,
    Params(p): Params<SearchParams>,
) -> ApiResult<Json<Page<Customer>>> {
    p.search(&s, &who).await
}

async fn get_customer(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Customer>> {
    get_one(&s, &who, &id).await
}

/// What to change of a customer (their address, language, company): a
/// field left out stays as it is, `null` clears it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CustomerChanges {
    /// Trimmed; no control characters.
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    #[serde(default)]
    name: Option<String>,
    /// Trimmed; one address: a single `@` with text on both sides, no
    /// whitespace, control characters or `<>,;"`.
    #[serde(default, deserialize_with = "contracts::common::present")]
    #[schemars(length(max = MAX_EMAIL), regex(pattern = EMAIL_PATTERN))]
    email: Option<Option<String>>,
    /// One of the tenant's companies.
    #[serde(default, deserialize_with = "contracts::common::present")]
    company_id: Option<Option<Uuid>>,
    /// A language tag such as `en` or `pt-BR`: emails to the customer are
    /// written in it.
    #[schemars(length(min = 2, max = 12), regex(pattern = LANGUAGE_PATTERN))]
    #[serde(default, deserialize_with = "contracts::common::present")]
    language: Option<Option<String>>,
    /// `false` deactivates them: their tokens stop working at once (on
    /// other edge replicas within 10 seconds), what they did stays; `true`
    /// makes them active again.
    #[serde(default)]
    active: Option<bool>,
}

/// Changes a customer (their address, language, company) and announces it.
async fn edit_customer(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Body(body): Body<CustomerChanges>,
) -> ApiResult<Json<Customer>> {
    let Json(mut c) = get_one::<Customer>(&state, &who, &id).await?;
    if let Some(name) = body.name {
        c.name = check_name(&name)?;
    }
    if let Some(email) = body.email {
        c.email = check_email(email.as_deref())?;
    }
    if let Some(company) = body.company_id {
        if let Some(company) = company {
            must_exist::<Company>(&state, who.tenant_id, "company_id", company).await?;
        }
        c.company_id = company;
    }
    if let Some(language) = body.language {
        c.language = check_language(language.as_deref())?;
    }
    let deactivated = deactivation(c.active, body.active);
    c.active = body.active.unwrap_or(c.active);
    let mut tx = state.store.begin().await?;
    set_deactivated(&mut tx, "customers", who.tenant_id, c.id, deactivated).await?;
    sqlx::query(
        "UPDATE customers SET name = $1, email = $2, company_id = $3, language = $4, \
         name_key = $5, \
         email_key = CASE WHEN email = $2 THEN email_key ELSE $6 END \
         WHERE tenant_id = $7 AND id = $8",
    )
    .bind(&c.name)
    .bind(&c.email)
    .bind(c.company_id.map(|u| u.to_string()))
    .bind(&c.language)
    .bind(c.name.to_lowercase())
    .bind(c.email.as_deref().map(str::to_lowercase))
    .bind(who.tenant_id.to_string())
    .bind(c.id.to_string())
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, "email", "a customer at that address"))?;
    announce(&state, tx, who.tenant_id, &c).await?;
    if deactivated.is_some() {
        state.tokens.clear();
    }
    Ok(Json(c))
}

/// What an edit's `active` does: `Some(Some(now))` deactivates, `Some(None)`
/// activates again, `None` leaves it (also when it asks for what is).
fn deactivation(active: bool, asked: Option<bool>) -> Option<Option<OffsetDateTime>> {
    match asked {
        Some(false) if active => Some(Some(now())),
        Some(true) if !active => Some(None),
        _ => None,
    }
}

/// Writes an agent's or customer's deactivation, if it changed.
async fn set_deactivated(
    tx: &mut sqlx::AnyConnection,
    table: &str,
    tenant: Uuid,
    id: Uuid,
    deactivated: Option<Option<OffsetDateTime>>,
) -> ApiResult<()> {
    let Some(at) = deactivated else {
        return Ok(());
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET deactivated_at = $1 WHERE tenant_id = $2 AND id = $3"
    )))
    .bind(at.map(micros))
    .bind(tenant.to_string())
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What to change of a company: a field left out stays as it is;
/// `sender: null` removes its own sender.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CompanyChanges {
    /// Trimmed; no control characters.
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "contracts::common::present")]
    sender: Option<Option<NewSender>>,
}

/// Changes a company (its name, its sender) and announces it.
async fn edit_company(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Body(body): Body<CompanyChanges>,
) -> ApiResult<Json<Company>> {
    let Json(mut c) = get_one::<Company>(&state, &who, &id).await?;
    if let Some(name) = body.name {
        c.name = check_name(&name)?;
    }
    if let Some(sender) = body.sender {
        c.sender = sender.map(check_sender).transpose()?;
    }
    let mut tx = state.store.begin().await?;
    sqlx::query(
        "UPDATE companies SET name = $1, sender_email = $2, sender_name = $3, \
         name_key = CASE WHEN name = $1 THEN name_key ELSE $4 END \
         WHERE tenant_id = $5 AND id = $6",
    )
    .bind(&c.name)
    .bind(c.sender.as_ref().map(|s| s.email.clone()))
    .bind(c.sender.as_ref().and_then(|s| s.name.clone()))
    .bind(c.name.to_lowercase())
    .bind(who.tenant_id.to_string())
    .bind(c.id.to_string())
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, "name", "a company of that name"))?;
    announce(&state, tx, who.tenant_id, &c).await?;
    Ok(Json(c))
}

/// What to change of an agent (their address, team): a field left out
/// stays as it is, `null` clears it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AgentChanges {
    /// Trimmed; no control characters.
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    #[serde(default)]
    name: Option<String>,
    /// Trimmed; one address: a single `@` with text on both sides, no
    /// whitespace, control characters or `<>,;"`.
    #[serde(default, deserialize_with = "contracts::common::present")]
    #[schemars(length(max = MAX_EMAIL), regex(pattern = EMAIL_PATTERN))]
    email: Option<Option<String>>,
    /// One of the tenant's teams.
    #[serde(default, deserialize_with = "contracts::common::present")]
    team_id: Option<Option<Uuid>>,
    /// `false` deactivates them: their tokens stop working at once (on
    /// other edge replicas within 10 seconds), what they did stays; `true`
    /// makes them active again.
    #[serde(default)]
    active: Option<bool>,
}

/// Changes an agent (their address, team) and announces it.
async fn edit_agent(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Body(body): Body<AgentChanges>,
) -> ApiResult<Json<Agent>> {
    let Json(mut a) = get_one::<Agent>(&state, &who, &id).await?;
    if let Some(name) = body.name {
        a.name = check_name(&name)?;
    }
    if let Some(email) = body.email {
        a.email = check_email(email.as_deref())?;
    }
    if let Some(team) = body.team_id {
        if let Some(team) = team {
            team_exists(&state, who.tenant_id, "team_id", team).await?;
        }
        a.team_id = team;
    }
    let deactivated = deactivation(a.active, body.active);
    a.active = body.active.unwrap_or(a.active);
    let mut tx = state.store.begin().await?;
    set_deactivated(&mut tx, "agents", who.tenant_id, a.id, deactivated).await?;
    sqlx::query(
        "UPDATE agents SET name = $1, email = $2, team_id = $3 WHERE tenant_id = $4 AND id = $5",
    )
    .bind(&a.name)
    .bind(&a.email)
    .bind(a.team_id.map(|u| u.to_string()))
    .bind(who.tenant_id.to_string())
    .bind(a.id.to_string())
    .execute(&mut *tx)
    .await?;
    announce(&state, tx, who.tenant_id, &a).await?;
    if deactivated.is_some() {
        state.tokens.clear();
    }
    Ok(Json(a))
}

/// A team to add.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewTeam {
    /// Trimmed; no control characters.
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    name: String,
    /// One of the tenant's agents.
    #[serde(default)]
    leader_id: Option<Uuid>,
}

async fn create_team(
    State(state): State<AppState>,
    Admin(who): Admin,
    Body(body): Body<NewTeam>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    if let Some(leader) = body.leader_id {
        agent_exists(&state, who.tenant_id, "leader_id", leader).await?;
    }
    let t = Team {
        id: Uuid::now_v7(),
        name: check_name(&body.name)?,
        leader_id: body.leader_id,
        created_at: now(),
    };
    let mut tx = state.store.begin().await?;
    sqlx::query("INSERT INTO teams (id, tenant_id, name, leader_id, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(t.id.to_string())
        .bind(who.tenant_id.to_string())
        .bind(&t.name)
        .bind(t.leader_id.map(|u| u.to_string()))
        .bind(micros(t.created_at))
        .execute(&mut *tx)
        .await?;
    announce(&state, tx, who.tenant_id, &t).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// The most agents one team may have.
const MAX_MEMBERS: usize = 500;

/// Changes to a team.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TeamChanges {
    /// Trimmed; no control characters.
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    #[serde(default)]
    name: Option<String>,
    /// One of the tenant's agents; `null` leaves the team without a leader
    /// (escalation alerts for its unassigned tickets then go to its
    /// members).
    #[serde(default, deserialize_with = "contracts::common::present")]
    leader_id: Option<Option<Uuid>>,
    /// Every agent of the team, each once: those listed join it (leaving the
    /// team they were in), those left out leave it (to no team).
    #[serde(default)]
    #[schemars(length(max = MAX_MEMBERS), extend("uniqueItems" = true))]
    member_ids: Option<Vec<Uuid>>,
}

/// Changes a team (its name, leader, members) and announces it, and each
/// agent who joined or left it.
async fn edit_team(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Body(body): Body<TeamChanges>,
) -> ApiResult<Json<Team>> {
    let tenant = who.tenant_id;
    let Json(t) = get_one::<Team>(&state, &who, &id).await?;
    let name_given = body.name.as_deref().map(check_name).transpose()?;
    let leader_given = body.leader_id;
    if let Some(Some(leader)) = leader_given {
        agent_exists(&state, tenant, "leader_id", leader).await?;
    }
    let moved = match body.member_ids {
        Some(members) => members_moved(&state, tenant, t.id, &members).await?,
        None => Vec::new(),
    };
    let mut tx = state.store.begin().await?;
    // Only what was given is written: a concurrent edit of the other field
    // stays.
    if let Some(name) = name_given {
        sqlx::query("UPDATE teams SET name = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(name)
            .bind(tenant.to_string())
            .bind(t.id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    if let Some(leader) = leader_given {
        sqlx::query("UPDATE teams SET leader_id = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(leader.map(|u| u.to_string()))
            .bind(tenant.to_string())
            .bind(t.id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    // The team as it is now, with both writes.
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM teams WHERE tenant_id = $1 AND id = $2",
        Team::COLUMNS
    )))
    .bind(tenant.to_string())
    .bind(t.id.to_string())
    .fetch_one(&mut *tx)
    .await?;
    let t = Team::from_row(&row)?;
    for a in &moved {
        sqlx::query("UPDATE agents SET team_id = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(a.team_id.map(|u| u.to_string()))
            .bind(tenant.to_string())
            .bind(a.id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    let mut announced = vec![t.announced()];
    announced.extend(moved.iter().map(Entry::announced));
    announce_all(&state, tx, tenant, announced).await?;
    Ok(Json(t))
}

/// The agents whose team changes when `team`'s members become `members`
/// (each an agent of the tenant's), as they will be.
async fn members_moved(
    state: &AppState,
    tenant: Uuid,
    team: Uuid,
    members: &[Uuid],
) -> ApiResult<Vec<Agent>> {
    let wanted: std::collections::HashSet<Uuid> = members.iter().copied().collect();
    if wanted.len() != members.len() {
        return Err(ApiError::field("member_ids", "each agent at most once"));
    }
    if members.len() > MAX_MEMBERS {
        return Err(ApiError::field(
            "member_ids",
            format!("at most {MAX_MEMBERS} agents"),
        ));
    }
    let mut args = vec![
        Param::from(tenant.to_string()),
        Param::from(team.to_string()),
    ];
    args.extend(members.iter().map(|m| Param::from(m.to_string())));
    let listed = if members.is_empty() {
        String::new()
    } else {
        format!(" OR id IN ({})", placeholders(3, members.len()))
    };
    let rows = bind_all(
        format!(
            "SELECT {} FROM agents WHERE tenant_id = $1 AND (team_id = $2{listed})",
            Agent::COLUMNS
        ),
        args,
    )
    .fetch_all(state.store.pool())
    .await?;
    let agents = rows
        .iter()
        .map(Agent::from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    if let Some(missing) = members.iter().find(|m| !agents.iter().any(|a| a.id == **m)) {
        return Err(ApiError::field(
            "member_ids",
            format!("no agent with the id {missing}"),
        ));
    }
    Ok(agents
        .into_iter()
        .filter_map(|mut a| {
            let to = wanted.contains(&a.id).then_some(team);
            (a.team_id != to).then(|| {
                a.team_id = to;
                a
            })
        })
        .collect())
}

async fn list_teams(
    State(s): State<AppState>,
    Staff(who): Staff,
    Params(p): Params<PageParams>,
) -> ApiResult<Json<Page<Team>>> {
    list(&s, &who, &p).await
}

async fn get_team(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Team>> {
    get_one(&s, &who, &id).await
}

/// An agent to add.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NewAgent {
    /// Trimmed; no control characters.
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    name: String,
    /// Trimmed; one address: a single `@` with text on both sides, no
    /// whitespace, control characters or `<>,;"`.
    #[serde(default)]
    #[schemars(length(max = MAX_EMAIL), regex(pattern = EMAIL_PATTERN))]
    email: Option<String>,
    /// One of the tenant's teams.
    #[serde(default)]
    team_id: Option<Uuid>,
}

async fn create_agent(
    State(state): State<AppState>,
    Admin(who): Admin,
    Body(body): Body<NewAgent>,
) -> ApiResult<(StatusCode, Json<Agent>)> {
    if let Some(team) = body.team_id {
        team_exists(&state, who.tenant_id, "team_id", team).await?;
    }
    let a = Agent {
        id: Uuid::now_v7(),
        name: check_name(&body.name)?,
        email: check_email(body.email.as_deref())?,
        team_id: body.team_id,
        active: true,
        created_at: now(),
    };
    let mut tx = state.store.begin().await?;
    sqlx::query("INSERT INTO agents (id, tenant_id, name, email, team_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(a.id.to_string())
        .bind(who.tenant_id.to_string())
        .bind(&a.name)
        .bind(&a.email)
        .bind(a.team_id.map(|u| u.to_string()))
        .bind(micros(a.created_at))
        .execute(&mut *tx)
        .await?;
    announce(&state, tx, who.tenant_id, &a).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

async fn list_agents(
    State(s): State<AppState>,
    Staff(who): Staff,
    Params(p): Params<PageParams>,
) -> ApiResult<Json<Page<Agent>>> {
    list(&s, &who, &p).await
}

async fn get_agent(
    State(s): State<AppState>,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> ApiResult<Json<Agent>> {
    get_one(&s, &who, &id).await
}

/// A token to issue.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = token_rules)]
struct NewToken {
    /// The role the token acts in.
    role: Role,
    /// Required for an `agent` token, and only for one: the agent it acts
    /// as (one of the tenant's).
    #[serde(default)]
    agent_id: Option<Uuid>,
    /// Required for a `customer` token, and only for one: the customer it
    /// acts as (one of the tenant's).
    #[serde(default)]
    customer_id: Option<Uuid>,
    /// Required for an `admin` or `integration` token: the name it acts
    /// under (trimmed; no control characters). For an `agent` or
    /// `customer` token: the token's label, by default the agent's or
    /// customer's name.
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_SUMMARY), regex(pattern = ONE_LINE_PATTERN))]
    name: Option<String>,
    /// When the token stops working (RFC 3339, in the future); by default
    /// never, until it is revoked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<Timestamp>")]
    expires_at: Option<OffsetDateTime>,
}

/// Which fields of a [`NewToken`] each role requires, and refuses.
fn token_rules(schema: &mut schemars::Schema) {
    let when = |roles: serde_json::Value, then: serde_json::Value| {
        serde_json::json!({
            "if": { "properties": { "role": { "enum": roles } }, "required": ["role"] },
            "then": then,
        })
    };
    // Given, and not null.
    let given = |field: &str| serde_json::json!({ "required": [field], "properties": { field: { "type": "string" } } });
    let needs = given;
    let refuses = |fields: &[&str]| {
        let any: Vec<_> = fields.iter().map(|f| given(f)).collect();
        serde_json::json!({ "not": { "anyOf": any } })
    };
    schema.insert(
        "allOf".into(),
        serde_json::json!([
            when(serde_json::json!(["agent"]), needs("agent_id")),
            when(serde_json::json!(["customer"]), needs("customer_id")),
            when(serde_json::json!(["admin", "integration"]), needs("name")),
            when(
                serde_json::json!(["admin", "customer", "integration"]),
                refuses(&["agent_id"])
            ),
            when(
                serde_json::json!(["admin", "agent", "integration"]),
                refuses(&["customer_id"])
            ),
        ]),
    );
}

/// A new token.
#[derive(Serialize, JsonSchema)]
struct IssuedToken {
    /// The token's id.
    id: Uuid,
    role: Role,
    /// Send as `Authorization: Bearer <token>`. Shown only now: the desk
    /// keeps only its SHA-256 digest.
    #[schemars(regex(pattern = auth::TOKEN_PATTERN))]
    token: String,
}

/// Issues a token. Agent and customer tokens act as that agent or customer;
/// admin and integration tokens act under their own name.
async fn create_token(
    State(state): State<AppState>,
    Admin(who): Admin,
    Body(body): Body<NewToken>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    let tenant = who.tenant_id;
    if body.agent_id.is_some() && body.role != Role::Agent {
        return Err(ApiError::field("agent_id", "only for an agent token"));
    }
    if body.customer_id.is_some() && body.role != Role::Customer {
        return Err(ApiError::field("customer_id", "only for a customer token"));
    }
    let given_name = body.name.as_deref().map(check_name).transpose()?;
    let (principal_id, principal_name) = match body.role {
        Role::Agent => {
            let id = body
                .agent_id
                .ok_or_else(|| ApiError::field("agent_id", "required for an agent token"))?;
            (
                id,
                must_exist::<Agent>(&state, tenant, "agent_id", id)
                    .await?
                    .name,
            )
        }
        Role::Customer => {
            let id = body
                .customer_id
                .ok_or_else(|| ApiError::field("customer_id", "required for a customer token"))?;
            (
                id,
                must_exist::<Customer>(&state, tenant, "customer_id", id)
                    .await?
                    .name,
            )
        }
        Role::Admin | Role::Integration => {
            let name = given_name.clone().ok_or_else(|| {
                ApiError::field("name", "required for an admin or integration token")
            })?;
            (Uuid::now_v7(), name)
        }
    };
    let name = given_name.unwrap_or_else(|| principal_name.clone());
    if body.expires_at.is_some_and(|at| at <= now()) {
        return Err(ApiError::field("expires_at", "must be in the future"));
    }
    let mut conn = state.store.pool().acquire().await?;
    let issued = auth::issue(
        &mut conn,
        TokenFor {
            tenant_id: tenant,
            role: body.role,
            principal_id,
            principal_name: &principal_name,
            name: &name,
            expires_at: body.expires_at,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            id: issued.id,
            role: body.role,
            token: issued.token,
        }),
    ))
}

/// A token as admins see it: never the token itself.
#[derive(Serialize, JsonSchema)]
struct TokenInfo {
    id: Uuid,
    role: Role,
    /// Its label.
    name: String,
    /// The agent or customer it acts as; for admin and integration tokens,
    /// an id of their own.
    principal_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    created_at: OffsetDateTime,
    /// When it stops working, if it does.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<Timestamp>")]
    expires_at: Option<OffsetDateTime>,
    /// When it was revoked, if it was: it no longer works.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<Timestamp>")]
    revoked_at: Option<OffsetDateTime>,
}

const TOKEN_COLUMNS: &str = "id, role, name, principal_id, created_at, expires_at, revoked_at";

fn token_info(row: &AnyRow) -> sqlx::Result<TokenInfo> {
    let role: String = row.try_get("role")?;
    let at = |column: &str| -> sqlx::Result<Option<OffsetDateTime>> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(from_micros))
    };
    Ok(TokenInfo {
        id: id_at(row, "id")?,
        role: Role::parse(&role)
            .ok_or_else(|| sqlx::Error::Decode(format!("stored role {role}").into()))?,
        name: row.try_get("name")?,
        principal_id: id_at(row, "principal_id")?,
        created_at: from_micros(row.try_get("created_at")?),
        expires_at: at("expires_at")?,
        revoked_at: at("revoked_at")?,
    })
}

/// The tenant's tokens, oldest first, revoked ones included.
async fn list_tokens(
    State(state): State<AppState>,
    Admin(who): Admin,
    Params(p): Params<PageParams>,
) -> ApiResult<Json<Page<TokenInfo>>> {
    let paging = p.paging(Order::Oldest)?;
    let mut args = vec![Param::from(who.tenant_id.to_string())];
    let sql = format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1{}",
        paging.sql(&mut args)
    );
    let rows = bind_all(sql, args).fetch_all(state.store.pool()).await?;
    let items = rows
        .iter()
        .map(token_info)
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(Json(paging.page(items, |t| t.id)))
}

fn list_tokens_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "listTokens",
        TOKENS,
        "List API tokens",
        "One page of the tenant's tokens, oldest first, revoked and expired ones included; never the \
         tokens themselves. Admin tokens only.",
    )
    .response_with::<200, Json<Page<TokenInfo>>, _>(|r| r.description("One page."))
    .fails(vec![bad_query(), internal(), database_down()])
}

/// Revokes a token: it stops working at once (on other edge replicas
/// within 10 seconds).
async fn revoke_token(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<TokenInfo>> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("token"))?;
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3 \
         AND revoked_at IS NULL",
    )
    .bind(micros(now()))
    .bind(who.tenant_id.to_string())
    .bind(id.to_string())
    .execute(state.store.pool())
    .await?;
    state.tokens.clear();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(who.tenant_id.to_string())
    .bind(id.to_string())
    .fetch_optional(state.store.pool())
    .await?
    .ok_or_else(|| ApiError::not_found("token"))?;
    Ok(Json(token_info(&row)?))
}

fn revoke_token_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "revokeToken",
        TOKENS,
        "Revoke an API token",
        "The token stops working: at once on this edge, within 10 seconds on the others. Revoking one \
         revoked before changes nothing. A token may revoke itself. Admin tokens only.",
    )
    .path_param("id", "The token's id; a value that is not a UUID answers 404.")
    .response_with::<200, Json<TokenInfo>, _>(|r| r.description("The token, revoked."))
    .fails(vec![
        not_found("the tenant has no token with this id."),
        internal(),
        database_down(),
    ])
}

// ---- what the document says of each operation ----

/// One kind of directory entry, as its operations are documented.
struct Described {
    /// The path segment: `companies`.
    path: &'static str,
    /// The tag and the end of the list's operation id: `Companies`.
    title: &'static str,
    /// The end of the other operation ids: `Company`.
    name: &'static str,
    /// `a company`.
    one: &'static str,
    /// What creating or changing one checks beyond the schema's shape.
    rules: &'static str,
    /// What the tenant has only one of (a 409), if anything.
    unique: Option<&'static str>,
}

impl Described {
    /// The 409 of a create or change that would make a second of `unique`.
    fn taken(&self) -> Vec<(u16, String)> {
        self.unique
            .map(|u| {
                (
                    409,
                    format!(
                        "`conflict`: the tenant has {u} already, in any case (trimmed); \
                         `details.field` names the field."
                    ),
                )
            })
            .into_iter()
            .collect()
    }
}

const COMPANY: Described = Described {
    path: "companies",
    title: COMPANIES,
    name: "Company",
    one: "a company",
    rules: "`name` must not be blank; `sender.email` must be one plausible address and \
            `sender.name`, if given, 1 to 200 characters with no control characters.",
    unique: Some("a company of that name"),
};

const CUSTOMER: Described = Described {
    path: "customers",
    title: CUSTOMERS,
    name: "Customer",
    one: "a customer",
    rules: "`name` must not be blank, `email` must be one plausible address, `language` a language \
            tag, and `company_id` must name one of the tenant's companies.",
    unique: Some("a customer at that address"),
};

const TEAM: Described = Described {
    path: "teams",
    title: TEAMS,
    name: "Team",
    one: "a team",
    rules: "`name` must not be blank, `leader_id` must name one of the tenant's agents, and \
            `member_ids` must name each of the tenant's agents at most once.",
    unique: None,
};

const AGENT: Described = Described {
    path: "agents",
    title: AGENTS,
    name: "Agent",
    one: "an agent",
    rules: "`name` must not be blank, `email` must be one plausible address, and `team_id` must \
            name one of the tenant's teams.",
    unique: None,
};

fn list_docs<'t, E: JsonSchema>(
    op: TransformOperation<'t>,
    d: &Described,
) -> TransformOperation<'t> {
    op.about(
        &format!("list{}", d.title),
        d.title,
        &format!("List {}", d.path),
        &format!(
            "One page of the tenant's {}, oldest first. Admin, agent and integration tokens.",
            d.path
        ),
    )
    .response_with::<200, Json<Page<E>>, _>(|r| r.description("One page."))
    .fails(vec![bad_query(), internal(), database_down()])
}

fn create_docs<'t, E: JsonSchema>(
    op: TransformOperation<'t>,
    d: &Described,
) -> TransformOperation<'t> {
    op.about(
        &format!("create{}", d.name),
        d.title,
        &format!("Create {}", d.one),
        &format!(
            "Adds {} to the tenant's directory. Admin tokens only.",
            d.one
        ),
    )
    .response_with::<201, Json<E>, _>(|r| r.description("Created."))
    .fails(vec![bad_body(d.rules), internal(), database_down()])
    .fails(d.taken())
}

fn get_docs<'t, E: JsonSchema>(
    op: TransformOperation<'t>,
    d: &Described,
) -> TransformOperation<'t> {
    op.about(
        &format!("get{}", d.name),
        d.title,
        &format!("Get {}", d.one),
        &format!(
            "Gets {} of the tenant's by id. Admin, agent and integration tokens.",
            d.one
        ),
    )
    .path_param("id", "Its id; a value that is not a UUID answers 404.")
    .response_with::<200, Json<E>, _>(|r| r.description("Found."))
    .fails(vec![
        not_found("the tenant has none with this id (an id that is not a UUID answers this too)."),
        internal(),
        database_down(),
    ])
}

fn edit_docs<'t, E: JsonSchema>(
    op: TransformOperation<'t>,
    d: &Described,
) -> TransformOperation<'t> {
    op.about(
        &format!("edit{}", d.name),
        d.title,
        &format!("Change {}", d.one),
        &format!(
            "Changes {}: fields left out stay as they are, `null` clears one. Announced to the \
             services that keep a copy of the directory. Admin tokens only.",
            d.one
        ),
    )
    .path_param("id", "Its id; a value that is not a UUID answers 404.")
    .response_with::<200, Json<E>, _>(|r| r.description("Changed."))
    .fails(vec![
        bad_body(d.rules),
        not_found("the tenant has none with this id."),
        internal(),
        database_down(),
    ])
    .fails(d.taken())
}

fn token_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "createToken",
        TOKENS,
        "Issue an API token",
        "Admin tokens only. An `agent` token acts as the agent `agent_id` and a `customer` token as \
         the customer `customer_id`; an `admin` or `integration` token acts under `name`. The token \
         itself is in this answer only.",
    )
    .response_with::<201, Json<IssuedToken>, _>(|r| r.description("Issued."))
    .fails(vec![
        bad_body(
            "`agent_id` (agent tokens) and `customer_id` (customer tokens) are required and must \
             name one of the tenant's, and are refused for other roles; `name` is required and must \
             not be blank for admin and integration tokens.",
        ),
        internal(),
        database_down(),
    ])
}

/// Who a token acts as.
#[derive(Serialize, JsonSchema)]
struct Me {
    tenant_id: Uuid,
    role: Role,
    /// The agent's or customer's id for those roles (what `assignee_id=me`
    /// and `customer_id` name); for admin and integration tokens, an id of
    /// their own.
    id: Uuid,
    name: String,
}

async fn me(who: Principal) -> Json<Me> {
    Json(Me {
        tenant_id: who.tenant_id,
        role: who.actor.role,
        id: who.actor.id,
        name: who.actor.name,
    })
}

fn me_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getMe",
        TOKENS,
        "Who am I",
        "The tenant, role, id and name the token acts as. Any token.",
    )
    .response_with::<200, Json<Me>, _>(|r| r.description("Who the token acts as."))
    .fails(vec![internal(), database_down()])
}

/// `assignee_id=me` and its like: a UUID, or `me`.
pub const AGENT_OR_ME_PATTERN: &str =
    "^(me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\\s\\S])";

/// An agent filter's value at `assignee_id`: an id, or `me` for whom the
/// token acts as (`GET /me`'s `id`: an agent's, or for other tokens an id
/// nothing is assigned to).
pub fn agent_or_me(who: &Principal, value: Option<&str>) -> ApiResult<Option<Uuid>> {
    match value {
        None => Ok(None),
        Some("me") => Ok(Some(who.actor.id)),
        Some(id) => Uuid::parse_str(id)
            .map(Some)
            .map_err(|_| ApiError::field("assignee_id", "an agent's id, or `me`")),
    }
}

#[cfg(test)]
mod tests {
    use contracts::Event;
    use runtime::store::Backend;

    use super::*;

    /// A directory from before the edge announced changes is announced
    /// once, whatever the number of starts.
    #[tokio::test]
    async fn the_directory_that_was_is_announced_once() {
        let (store, _dir) = runtime::testing::migrated_store(
            Backend::Sqlite,
            "edge",
            &[("edge", crate::MIGRATIONS)],
        )
        .await;
        let tenant = Uuid::now_v7();
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, 'Old', 0)")
            .bind(tenant.to_string())
            .execute(store.pool())
            .await
            .expect("tenant");
        sqlx::query(
            "INSERT INTO customers (id, tenant_id, name, email, language, created_at) \
             VALUES ($1, $2, 'Chloé', 'chloe@example.com', 'fr', 0)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(tenant.to_string())
        .execute(store.pool())
        .await
        .expect("customer");
        sqlx::query(
            "INSERT INTO teams (id, tenant_id, name, created_at) VALUES ($1, $2, 'Desk', 0)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(tenant.to_string())
        .execute(store.pool())
        .await
        .expect("team");
        assert_eq!(announce_existing(&store).await.expect("announced"), 2);
        assert_eq!(announce_existing(&store).await.expect("again"), 0);
        assert_eq!(announce_again(&store).await.expect("on demand"), 2);
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT routing_key, envelope FROM outbox ORDER BY created_at")
                .fetch_all(store.pool())
                .await
                .expect("outbox");
        assert_eq!(rows.len(), 4);
        let customer = rows
            .iter()
            .map(|(_, e)| Envelope::from_bytes(e.as_bytes()).expect("envelope"))
            .map(|e| e.decode::<DirectoryChangedV1>().expect("announcement"))
            .find(|d| matches!(d.entry, DirectoryEntryV1::Customer { .. }))
            .expect("the customer");
        assert!(matches!(
            customer.entry,
            DirectoryEntryV1::Customer { ref email, ref language, .. }
                if email.as_deref() == Some("chloe@example.com") && language.as_deref() == Some("fr")
        ));
        assert!(
            rows.iter()
                .all(|(k, _)| k == DirectoryChangedV1::ROUTING_KEY)
        );
    }
}
