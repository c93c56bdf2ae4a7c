//! CSV import of the directory, for a desk that moves here: companies
//! (`POST /companies/import`) and customers (`POST /customers/import`).
//!
//! All or nothing. Every row is checked first, against the file's other
//! rows and the tenant's directory. One bad row refuses the file, naming
//! every bad row (`details.rows`), and nothing is written. A good file is
//! written in one transaction, and every entry is announced.

use std::collections::{HashMap, HashSet};

use aide::transform::TransformOperation;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use contracts::notification::MailboxV1;
use schemars::JsonSchema;
use serde::Serialize;
use uuid::Uuid;

use super::{
    Company, Customer, Entry, announce_all, check_email, check_language, check_name,
    insert_company, insert_customer,
};
use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult, Code};
use crate::openapi::declared::Declare;
use crate::openapi::{bad_body, database_down, internal};

/// The most rows one file holds.
pub const MAX_ROWS: usize = 10_000;
/// The most bad rows a refusal names.
const MAX_NAMED: usize = 100;

/// What an import wrote.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Imported {
    /// How many rows were written.
    pub imported: usize,
    /// Each row's new id, in the file's order.
    pub ids: Vec<Uuid>,
}

/// A bad row: its line in the file, its column, and what is wrong.
#[derive(Debug, Serialize)]
struct BadRow {
    line: u64,
    column: String,
    message: String,
}

/// A file's rows, by the columns its header names.
struct Rows {
    columns: Vec<String>,
    records: Vec<(u64, csv::StringRecord)>,
}

impl Rows {
    /// `record`'s value of `column`, trimmed; empty if it has none.
    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| record.get(i))
            .map_or("", str::trim)
    }
}

/// Reads a CSV body with a header row naming some of `known` (and every
/// one of `required`); refuses anything else, naming it.
fn read(
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
    known: &[&str],
    required: &str,
) -> ApiResult<Rows> {
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("text/csv"));
    if !csv {
        return Err(ApiError::new(
            Code::UnsupportedMediaType,
            "send the file as Content-Type: text/csv",
        ));
    }
    let body: &[u8] = match body {
        Ok(body) => body,
        Err(e) => return Err(unread(e)),
    };
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(body);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::field("body", format!("not CSV: {e}")))?
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    if let Some(unknown) = columns.iter().find(|c| !known.contains(&c.as_str())) {
        return Err(ApiError::field(
            "header",
            format!(
                "no column {unknown:?}: the columns are {}",
                known.join(", ")
            ),
        ));
    }
    if !columns.iter().any(|c| c == required) {
        return Err(ApiError::field(
            "header",
            format!("the header must name the column {required:?}"),
        ));
    }
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ApiError::field("body", format!("not CSV: {e}")))?;
        if records.len() == MAX_ROWS {
            return Err(ApiError::field(
                "body",
                format!("at most {MAX_ROWS} rows in one file"),
            ));
        }
        let line = record.position().map_or(0, csv::Position::line);
        records.push((line, record));
    }
    if records.is_empty() {
        return Err(ApiError::field("body", "the file has no rows"));
    }
    Ok(Rows { columns, records })
}

/// A body that could not be read: too large (413), or cut short.
fn unread(e: &BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            Code::PayloadTooLarge,
            format!("a file may be at most {} bytes", crate::BODY_LIMIT),
        )
    } else {
        ApiError::field("body", e.body_text())
    }
}

/// What an import writes: a company or a customer.
trait Imports: Entry {
    fn id(&self) -> Uuid;
    async fn insert(&self, tx: &mut sqlx::AnyConnection, tenant: Uuid) -> ApiResult<()>;
}

impl Imports for Company {
    fn id(&self) -> Uuid {
        self.id
    }
    async fn insert(&self, tx: &mut sqlx::AnyConnection, tenant: Uuid) -> ApiResult<()> {
        insert_company(tx, tenant, self).await
    }
}

impl Imports for Customer {
    fn id(&self) -> Uuid {
        self.id
    }
    async fn insert(&self, tx: &mut sqlx::AnyConnection, tenant: Uuid) -> ApiResult<()> {
        insert_customer(tx, tenant, self).await
    }
}

/// Refuses the file if a row is `bad`; else writes every row `made` in
/// one transaction, announces each, and answers what was written.
async fn write<E: Imports>(
    state: &AppState,
    tenant: Uuid,
    bad: Vec<BadRow>,
    made: Vec<E>,
) -> ApiResult<(StatusCode, Json<Imported>)> {
    if !bad.is_empty() {
        return Err(refused(bad));
    }
    let mut tx = state.store.begin().await?;
    for entry in &made {
        entry.insert(&mut tx, tenant).await?;
    }
    let announced = made.iter().map(Entry::announced).collect();
    announce_all(state, tx, tenant, announced).await?;
    let ids: Vec<Uuid> = made.iter().map(Imports::id).collect();
    Ok((
        StatusCode::CREATED,
        Json(Imported {
            imported: ids.len(),
            ids,
        }),
    ))
}

/// The refusal of a file with bad rows: each named, up to [`MAX_NAMED`].
fn refused(bad: Vec<BadRow>) -> ApiError {
    let mut error = ApiError::new(
        Code::ValidationFailed,
        format!(
            "{} rows are wrong, and nothing was imported: correct them and send the file again",
            bad.len()
        ),
    );
    let named: Vec<&BadRow> = bad.iter().take(MAX_NAMED).collect();
    error.details = Some(serde_json::json!({ "rows": named }));
    error
}

/// The message of a check's 400.
fn why(e: &ApiError) -> String {
    e.message
        .split_once(": ")
        .map_or_else(|| e.message.clone(), |(_, m)| m.to_owned())
}

/// The tenant's keys in `column` of `table` (lower-case names or
/// addresses), and the ids they name.
async fn keys(
    state: &AppState,
    table: &str,
    column: &str,
    tenant: Uuid,
) -> ApiResult<HashMap<String, Uuid>> {
    let rows: Vec<(Option<String>, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {column}, id FROM {table} WHERE tenant_id = $1"
    )))
    .bind(tenant.to_string())
    .fetch_all(state.store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(key, id)| Some((key?, Uuid::parse_str(&id).ok()?)))
        .collect())
}

/// `POST /companies/import`: columns `name`, `sender_email`, `sender_name`.
pub async fn companies(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Imported>)> {
    let rows = read(
        &headers,
        &body,
        &["name", "sender_email", "sender_name"],
        "name",
    )?;
    let existing = keys(&state, "companies", "name_key", who.tenant_id).await?;
    let mut seen = HashSet::new();
    let mut bad = Vec::new();
    let mut made = Vec::new();
    for (line, record) in &rows.records {
        let mut wrong = |column: &str, message: String| {
            bad.push(BadRow {
                line: *line,
                column: column.to_owned(),
                message,
            });
        };
        let name = match check_name(rows.get(record, "name")) {
            Ok(name) => name,
            Err(e) => {
                wrong("name", why(&e));
                continue;
            }
        };
        let key = name.to_lowercase();
        if existing.contains_key(&key) || !seen.insert(key) {
            wrong("name", format!("the tenant has a company called {name:?}"));
            continue;
        }
        let sender_email = rows.get(record, "sender_email");
        let sender_name = rows.get(record, "sender_name");
        let sender = if sender_email.is_empty() {
            None
        } else {
            match (
                check_email(Some(sender_email)),
                (!sender_name.is_empty())
                    .then(|| check_name(sender_name))
                    .transpose(),
            ) {
                (Ok(email), Ok(name)) => Some(MailboxV1 {
                    email: email.unwrap_or_default(),
                    name,
                }),
                (Err(e), _) => {
                    wrong("sender_email", why(&e));
                    continue;
                }
                (_, Err(e)) => {
                    wrong("sender_name", why(&e));
                    continue;
                }
            }
        };
        made.push(Company {
            id: Uuid::now_v7(),
            name,
            sender,
            created_at: runtime::store::now(),
        });
    }
    write(&state, who.tenant_id, bad, made).await
}

/// `POST /customers/import`: columns `name`, `email`, `company` (a
/// company's name), `language`.
pub async fn customers(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Imported>)> {
    let rows = read(
        &headers,
        &body,
        &["name", "email", "company", "language"],
        "name",
    )?;
    let companies = keys(&state, "companies", "name_key", who.tenant_id).await?;
    let existing = keys(&state, "customers", "email_key", who.tenant_id).await?;
    let mut seen = HashSet::new();
    let mut bad = Vec::new();
    let mut made = Vec::new();
    for (line, record) in &rows.records {
        let mut wrong = |column: &str, message: String| {
            bad.push(BadRow {
                line: *line,
                column: column.to_owned(),
                message,
            });
        };
        let name = match check_name(rows.get(record, "name")) {
            Ok(name) => name,
            Err(e) => {
                wrong("name", why(&e));
                continue;
            }
        };
        let email = rows.get(record, "email");
        let email = match check_email((!email.is_empty()).then_some(email)) {
            Ok(email) => email,
            Err(e) => {
                wrong("email", why(&e));
                continue;
            }
        };
        if let Some(email) = &email {
            let key = email.to_lowercase();
            if existing.contains_key(&key) || !seen.insert(key) {
                wrong("email", format!("the tenant has a customer at {email}"));
                continue;
            }
        }
        let company = rows.get(record, "company");
        let company_id = if company.is_empty() {
            None
        } else {
            match companies.get(&company.to_lowercase()) {
                Some(id) => Some(*id),
                None => {
                    wrong(
                        "company",
                        format!("the tenant has no company called {company:?}"),
                    );
                    continue;
                }
            }
        };
        let language = rows.get(record, "language");
        let language = match check_language((!language.is_empty()).then_some(language)) {
            Ok(language) => language,
            Err(e) => {
                wrong("language", why(&e));
                continue;
            }
        };
        made.push(Customer {
            id: Uuid::now_v7(),
            name,
            email,
            company_id,
            language,
            active: true,
            created_at: runtime::store::now(),
        });
    }
    write(&state, who.tenant_id, bad, made).await
}

/// The docs of an import of `what` with `columns` (`name` required).
pub fn docs<'t>(
    op: TransformOperation<'t>,
    id: &str,
    tag: &str,
    what: &str,
    columns: &str,
) -> TransformOperation<'t> {
    let body = serde_json::json!({
        "required": true,
        "description": format!(
            "A CSV file (RFC 4180), sent as `text/csv`: a header row naming its columns ({columns}; \
             `name` is required), then one row per {what}, at most {MAX_ROWS}."
        ),
        "content": { "text/csv": { "schema": { "type": "string" } } },
    });
    op.about(
        id,
        tag,
        &format!("Import {what}s from CSV"),
        &format!(
            "Adds every {what} of the file, or none: each row is checked first, as a new {what} \
             is, against the file's other rows and the tenant's directory. A file with a wrong \
             row answers 400 naming each wrong row (`details.rows`: its `line`, `column` and \
             `message`, the first {MAX_NAMED}), and nothing is written. Each {what} added is \
             announced, as one added alone is. Admin tokens only."
        ),
    )
    .raw_body(body)
    .response_with::<201, Json<Imported>, _>(|r| r.description("Every row was added."))
    .fails(vec![
        bad_body(
            "Also: the file is not CSV, names a column it may not, has no `name` column, no rows, \
             or more rows than it may (`header`, `body`); or rows are wrong (`details.rows`).",
        ),
        (
            409,
            "`conflict`: a row's name or address was taken by another request meanwhile; send \
             the file again."
                .to_owned(),
        ),
        (
            415,
            "`unsupported_media_type`: the body must be sent as `Content-Type: text/csv`."
                .to_owned(),
        ),
        internal(),
        database_down(),
    ])
}
