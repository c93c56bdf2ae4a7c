//! Attachments: files on tickets of any kind, or on one of their actions.
//!
//! `POST /{kind}/{id}/attachments?filename=…` takes the file as the raw
//! body with its `Content-Type` (up to [`MAX_SIZE`]). The type must be one
//! of [`ALLOWED`]: nothing a browser would run (HTML, SVG, scripts) is
//! taken, and a type with a signature (images, PDF, ZIP-based documents)
//! must match the bytes. Files are always served as downloads, with
//! `nosniff` and a CSP sandbox, never inline.
//!
//! Who may see a file is who may see its ticket, asked of ticketing on
//! every access; customers see only the public ones (what they attach is
//! public).

use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use aide::transform::TransformOperation;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use contracts::incident::ActionV1;
use contracts::schema::Timestamp;
use contracts::ticket::{GetTicketV1, ListActionsV1, TicketKind, TicketV1};
use contracts::{Actor, Role};
use runtime::store::{from_micros, id_at, micros, uuid_at};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Principal, Staff};
use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{Params, Path};
use crate::incidents::call;
use crate::openapi::attachments::{ATTACHMENTS, SIGNED, allowed, file_answer, file_body, max_size};
use crate::openapi::declared::Declare;
use crate::openapi::{
    customers_see, database_down, internal, not_found, ticket_id, ticket_missing, ticket_of as of,
    ticketing_down,
};
use crate::served::served;
use crate::tickets::{Kind, segment};

pub use contracts::files::{ALLOWED, MAX_NAME, MAX_SIZE};

pub fn routes() -> ApiRouter<AppState> {
    let mut router = ApiRouter::new();
    for kind in TicketKind::ALL {
        router = router.api_route(
            &format!("/{}/{{id}}/attachments", segment(kind)),
            get_with(list, move |op| list_docs(kind, op))
                .post_with(upload, move |op| upload_docs(kind, op)),
        );
    }
    router
        .api_route(
            "/attachments/{id}",
            get_with(download, download_docs).delete_with(remove, remove_docs),
        )
        .layer(DefaultBodyLimit::max(MAX_SIZE))
}

/// A file on a ticket or on one of its actions: what is known about it (the
/// bytes are downloaded apart).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Attachment {
    /// The file's id: `GET /api/v1/attachments/{id}` downloads it.
    pub id: Uuid,
    /// The kind of its ticket.
    pub ticket_kind: TicketKind,
    /// Its ticket's id (a UUID, not the reference).
    pub ticket_id: Uuid,
    /// The action of the ticket it is attached to (`id` of an `ActionV1`);
    /// null if it is on the ticket itself.
    pub action_id: Option<Uuid>,
    /// The name it was uploaded under, trimmed: no path separators or
    /// control characters.
    #[schemars(length(min = 1, max = MAX_NAME))]
    pub filename: String,
    /// The type it was uploaded with, lowercase and without parameters
    /// (`charset`); it is served under this type.
    #[schemars(extend("enum" = ALLOWED))]
    pub content_type: String,
    /// In bytes.
    #[schemars(range(min = 1, max = MAX_SIZE))]
    pub size: u64,
    /// The SHA-256 digest of the bytes, in lowercase hex.
    #[schemars(regex(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// Visible to the ticket's customer. Always true for what a customer
    /// attaches.
    pub public: bool,
    /// Who attached it.
    pub uploaded_by: Actor,
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "Timestamp")]
    pub uploaded_at: OffsetDateTime,
}

/// The ticket as `who` may see it (404 if they may not).
async fn ticket(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    kind: TicketKind,
    id: String,
) -> ApiResult<TicketV1> {
    let command = GetTicketV1 {
        viewer: who.actor.clone(),
        kind,
        ticket: id,
    };
    call(state, who, headers, &command).await
}

/// Where a file goes, and under what name.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct UploadQuery {
    /// The file's name, kept trimmed and served in `Content-Disposition`:
    /// not blank, no path separators (`/`, `\`), control characters or
    /// characters that hide or reorder text, not `.` or `..`.
    #[schemars(length(max = MAX_NAME), regex(pattern = FILENAME_PATTERN))]
    filename: String,
    /// An action of the ticket's (`id` of an `ActionV1`) to attach the file
    /// to; absent, the file is on the ticket itself.
    #[serde(default)]
    action_id: Option<Uuid>,
    /// Whether the ticket's customer sees the file. Ignored for a customer
    /// token: what a customer attaches is always public.
    #[serde(default)]
    public: bool,
}

/// A file name as [`check_filename`] takes it.
const FILENAME_PATTERN: &str = contracts::files::FILENAME_PATTERN;

/// A file's name, checked by the desk's rules ([`contracts::files`]).
pub fn check_filename(name: &str) -> ApiResult<String> {
    contracts::files::check_filename(name).map_err(ApiError::from)
}

/// The declared type (a `Content-Type` value), checked against
/// [`ALLOWED`] and the bytes ([`contracts::files`]).
pub fn check_content(content_type: &str, bytes: &[u8]) -> ApiResult<String> {
    contracts::files::check_content(content_type, bytes).map_err(ApiError::from)
}

impl From<contracts::files::Refused> for ApiError {
    fn from(refused: contracts::files::Refused) -> Self {
        use contracts::files::Refused;
        match refused {
            Refused::Name(m) => ApiError::field("filename", m),
            Refused::Type(m) => ApiError::new(Code::UnsupportedMediaType, m),
            Refused::Bytes(m) => ApiError::field("body", m),
        }
    }
}

async fn upload(
    State(state): State<AppState>,
    Kind(kind): Kind,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(q): Params<UploadQuery>,
    bytes: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let bytes = bytes.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                Code::PayloadTooLarge,
                format!("a file may be at most {MAX_SIZE} bytes"),
            )
        } else {
            ApiError::field("body", e.body_text())
        }
    })?;
    let filename = check_filename(&q.filename)?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let content_type = check_content(declared, &bytes)?;
    let t = ticket(&state, &who, &headers, kind, id).await?;
    if let Some(action) = q.action_id {
        let command = ListActionsV1 {
            viewer: who.actor.clone(),
            kind,
            ticket: t.id.to_string(),
        };
        let actions: Vec<ActionV1> = call(&state, &who, &headers, &command).await?;
        match actions.iter().find(|a| a.id == action) {
            // A file on an action the customer cannot see is not theirs either.
            Some(a) if !a.public && q.public => {
                return Err(ApiError::field(
                    "public",
                    "a file on a private action is private",
                ));
            }
            Some(_) => {}
            None => {
                return Err(ApiError::field(
                    "action_id",
                    "no such action on this ticket",
                ));
            }
        }
    }
    let file = File {
        id: Uuid::now_v7(),
        ticket_kind: kind,
        ticket_id: t.id,
        action_id: q.action_id,
        filename,
        content_type,
        public: q.public || who.role() == Role::Customer,
        uploaded_by: who.actor.clone(),
    };
    let attachment = keep(&state, who.tenant_id, file, &bytes).await?;
    Ok((StatusCode::CREATED, Json(attachment)))
}

/// A checked file on its way into the store.
pub struct File {
    pub id: Uuid,
    pub ticket_kind: TicketKind,
    pub ticket_id: Uuid,
    pub action_id: Option<Uuid>,
    pub filename: String,
    pub content_type: String,
    pub public: bool,
    pub uploaded_by: Actor,
}

/// Keeps `bytes` as `file` (already checked). Keeping the same id twice
/// keeps it once: a file whose id is derived from where it came from (a
/// received email) can be handed over again safely.
pub async fn keep(state: &AppState, tenant: Uuid, f: File, bytes: &[u8]) -> ApiResult<Attachment> {
    let attachment = Attachment {
        id: f.id,
        ticket_kind: f.ticket_kind,
        ticket_id: f.ticket_id,
        action_id: f.action_id,
        filename: f.filename,
        content_type: f.content_type,
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        public: f.public,
        uploaded_by: f.uploaded_by,
        uploaded_at: runtime::store::now(),
    };
    sqlx::query(
        "INSERT INTO attachments (id, tenant_id, ticket_kind, ticket_id, action_id, filename, \
         content_type, size, sha256, public, uploaded_by, uploaded_at, content) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(attachment.id.to_string())
    .bind(tenant.to_string())
    .bind(attachment.ticket_kind.as_str())
    .bind(attachment.ticket_id.to_string())
    .bind(attachment.action_id.map(|a| a.to_string()))
    .bind(&attachment.filename)
    .bind(&attachment.content_type)
    .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
    .bind(&attachment.sha256)
    .bind(i64::from(attachment.public))
    .bind(runtime::store::json_text(&attachment.uploaded_by)?)
    .bind(micros(attachment.uploaded_at))
    .bind(bytes.to_vec())
    .execute(state.store.pool())
    .await
    .map_err(ApiError::from)?;
    Ok(attachment)
}

const COLUMNS: &str = "id, ticket_kind, ticket_id, action_id, filename, content_type, size, \
    sha256, public, uploaded_by, uploaded_at";

fn from_row(r: &sqlx::any::AnyRow) -> sqlx::Result<Attachment> {
    let kind: String = r.try_get("ticket_kind")?;
    let by: String = r.try_get("uploaded_by")?;
    Ok(Attachment {
        id: id_at(r, "id")?,
        ticket_kind: TicketKind::parse(&kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown kind {kind}").into()))?,
        ticket_id: id_at(r, "ticket_id")?,
        action_id: uuid_at(r, "action_id")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size: u64::try_from(r.try_get::<i64, _>("size")?).unwrap_or(0),
        sha256: r.try_get("sha256")?,
        public: r.try_get::<i64, _>("public")? != 0,
        uploaded_by: serde_json::from_str(&by).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        uploaded_at: from_micros(r.try_get("uploaded_at")?),
    })
}

async fn list(
    State(state): State<AppState>,
    Kind(kind): Kind,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Attachment>>> {
    let t = ticket(&state, &who, &headers, kind, id).await?;
    let public_only = if who.role() == Role::Customer {
        " AND public = 1"
    } else {
        ""
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM attachments WHERE tenant_id = $1 AND ticket_id = $2{public_only} \
         ORDER BY id"
    )))
    .bind(who.tenant_id.to_string())
    .bind(t.id.to_string())
    .fetch_all(state.store.pool())
    .await
    .map_err(ApiError::from)?;
    let items = rows
        .iter()
        .map(from_row)
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(items))
}

/// The attachment `id` if `who` may see it, with or without its bytes.
async fn visible(
    state: &AppState,
    who: &Principal,
    headers: &HeaderMap,
    id: &str,
    with_content: bool,
) -> ApiResult<(Attachment, Vec<u8>)> {
    let missing = || ApiError::not_found("attachment");
    let id = Uuid::parse_str(id).map_err(|_| missing())?;
    let content = if with_content { ", content" } else { "" };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}{content} FROM attachments WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(who.tenant_id.to_string())
    .bind(id.to_string())
    .fetch_optional(state.store.pool())
    .await
    .map_err(ApiError::from)?
    .ok_or_else(missing)?;
    let a = from_row(&row).map_err(|e| ApiError::internal(&e))?;
    if who.role() == Role::Customer && !a.public {
        return Err(missing());
    }
    // Asked of ticketing each time: the ticket's visibility may have changed.
    ticket(state, who, headers, a.ticket_kind, a.ticket_id.to_string())
        .await
        .map_err(|e| {
            if e.error == Code::NotFound {
                missing()
            } else {
                e
            }
        })?;
    let bytes = if with_content {
        row.try_get::<Vec<u8>, _>("content")
            .map_err(|e| ApiError::internal(&e))?
    } else {
        Vec::new()
    };
    Ok((a, bytes))
}

async fn download(
    State(state): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (a, bytes) = visible(&state, &who, &headers, &id, true).await?;
    let content_type = HeaderValue::from_str(&a.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let response = served(bytes, content_type, Some(disposition(&a.filename)));
    Ok(response)
}

/// `attachment`, with the name as ASCII and in full (RFC 6266 / 5987).
fn disposition(filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

async fn remove(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Attachment>> {
    let (a, _) = visible(&state, &who, &headers, &id, false).await?;
    sqlx::query("DELETE FROM attachments WHERE tenant_id = $1 AND id = $2")
        .bind(who.tenant_id.to_string())
        .bind(a.id.to_string())
        .execute(state.store.pool())
        .await
        .map_err(ApiError::from)?;
    Ok(Json(a))
}

// ---- what the document says of each operation ----

fn list_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    let (noun, one) = (kind.noun(), t.one());
    let who = if customers_see(kind) {
        format!(
            "A customer token sees only the public ones, and only on the customer's own {noun}s."
        )
    } else {
        format!("Admin, agent and integration tokens: to a customer token no {noun} exists (404).")
    };
    op.about(
        &format!("list{}Attachments", t.title),
        ATTACHMENTS,
        &format!("List {one}'s attachments"),
        &format!(
            "What is known about the files on the {noun} and on its actions, oldest first (not \
             paged); `GET /api/v1/attachments/{{id}}` downloads one. {who}"
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<Vec<Attachment>>, _>(|r| r.description("The files."))
    .fails(vec![ticket_missing(kind), internal(), ticketing_down()])
}

fn upload_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = of(kind);
    let (noun, one) = (kind.noun(), t.one());
    let who = if customers_see(kind) {
        format!(
            "Admin, agent and integration tokens choose `public`; a customer token may attach to \
             the customer's own {noun}s (and their public actions), and what it attaches is public."
        )
    } else {
        format!("Admin, agent and integration tokens: to a customer token no {noun} exists (404).")
    };
    let public = if customers_see(kind) {
        " (for a customer token, no such public action)"
    } else {
        ""
    };
    op.about(
        &format!("upload{}Attachment", t.title),
        ATTACHMENTS,
        &format!("Attach a file to {one}"),
        &format!(
            "Keeps the body as a file on the {noun}, or on one of its actions with `action_id`. The \
             file and its name are checked before the {noun} is looked up. Sending it again keeps it \
             again: an upload is not made idempotent by `Idempotency-Key`. {who}"
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .raw_body(file_body())
    .response_with::<201, Json<Attachment>, _>(|r| r.description("Attached."))
    .fails(vec![
        (
            400,
            format!(
                "`validation_failed`, `details.fields` naming what is wrong: `filename` is \
                 missing, blank, longer than {MAX_NAME} characters, `.` or `..`, or has a path \
                 separator or a control character; `body` is empty, or its bytes are not of the \
                 type declared (checked for {SIGNED}); `action_id` is not a UUID or no such action \
                 is on the {noun}{public}; `public` is not `true` or `false`; or a query parameter \
                 is unknown."
            ),
        ),
        ticket_missing(kind),
        (
            413,
            format!(
                "`payload_too_large`: the file is larger than {}.",
                max_size()
            ),
        ),
        (
            415,
            format!(
                "`unsupported_media_type`: no `Content-Type`, or one this desk does not keep \
                 (HTML, SVG, scripts and every type not in {}).",
                allowed()
            ),
        ),
        internal(),
        ticketing_down(),
    ])
}

/// A file that is not there, or not the caller's to see.
fn missing_file() -> (u16, String) {
    not_found(
        "no such file in the tenant (an id that is not a UUID answers this too), or the caller \
         may not see it: a customer token and a file that is not public, or a ticket the caller \
         may not see (now), or whose visibility ticketing could not be asked about.",
    )
}

/// A file's id, as a path parameter.
const FILE_ID: &str =
    "The file's id (`id` of an `Attachment`); a value that is not a UUID answers 404.";

fn download_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "downloadAttachment",
        ATTACHMENTS,
        "Download an attachment",
        "The file's bytes, always as a download, never inline. Every token that may see the file: \
         a customer token only the public files of the customer's own incidents and service \
         requests.",
    )
    .path_param("id", FILE_ID)
    .traced()
    .answers(200, file_answer())
    .fails(vec![missing_file(), internal(), database_down()])
}

fn remove_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "deleteAttachment",
        ATTACHMENTS,
        "Delete an attachment",
        "Deletes the file, bytes and all. Admin, agent and integration tokens, whoever attached it.",
    )
    .path_param("id", FILE_ID)
    .traced()
    .response_with::<200, Json<Attachment>, _>(|r| r.description("Deleted: the file as it was."))
    .fails(vec![
        missing_file(),
        internal(),
        database_down(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_checked_against_the_bytes() {
        assert!(check_content("image/png", b"\x89PNG\r\n\x1a\nrest").is_ok());
        assert!(check_content("image/png", b"<html>").is_err());
        assert!(check_content("application/pdf", b"%PDF-1.7").is_ok());
        assert!(check_content("application/msword", b"<html>").is_err());
        assert!(check_content("text/plain; charset=utf-8", b"hello").is_ok());
        for active in ["text/html", "image/svg+xml", "application/javascript", ""] {
            let e = check_content(active, b"<svg onload=alert(1)>")
                .err()
                .map(|e| e.error);
            assert_eq!(e, Some(Code::UnsupportedMediaType), "{active}");
        }
        assert!(check_content("text/plain", b"").is_err());
    }

    #[test]
    fn filenames_cannot_climb_or_inject_headers() {
        assert!(check_filename("../etc/passwd").is_err());
        assert!(check_filename("a\r\nSet-Cookie: x").is_err());
        assert!(check_filename("invoice\u{202E}fdp.exe").is_err());
        assert_eq!(
            check_filename(" report.pdf ").ok().as_deref(),
            Some("report.pdf")
        );
        let header = disposition("résumé \"final\".pdf");
        let text = header.to_str().expect("ascii header");
        assert!(
            text.starts_with("attachment; filename=\"r_sum_ _final_.pdf\""),
            "{text}"
        );
        assert!(
            text.contains("filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf"),
            "{text}"
        );
    }

    /// The README says which types the desk keeps; it says exactly these.
    #[test]
    fn the_readme_names_the_types_kept() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("of these types only:")
            .expect("the README's list");
        let end = start + readme[start..].find(';').expect("the list's end");
        let listed: Vec<&str> = readme[start..end].split('`').skip(1).step_by(2).collect();
        assert_eq!(listed, ALLOWED);
    }
}
