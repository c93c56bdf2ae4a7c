//! What the document says of attachments beyond their types: the tag, and
//! the upload's body and the download's answer (raw bytes, not JSON), for
//! the operations declared in [`crate::attachments`]. The types taken and
//! the largest file are the handlers' own [`ALLOWED`] and [`MAX_SIZE`].

use serde_json::{Value, json};

use super::tag;
use crate::attachments::{ALLOWED, MAX_SIZE};

pub(crate) const ATTACHMENTS: &str = "Attachments";

/// How a file goes out (the download's `Content-Security-Policy`).
const SANDBOX: &str = crate::served::NOTHING_RUNS;

/// The types whose bytes are checked, as the handler's `check_content` does.
pub(crate) const SIGNED: &str = "PNG, JPEG, GIF, WebP, PDF, and ZIP with the Office Open XML documents (Word, \
     Excel and PowerPoint)";

/// The largest file: `10 MiB (10485760 bytes)`.
pub(crate) fn max_size() -> String {
    format!("{} MiB ({MAX_SIZE} bytes)", MAX_SIZE / (1024 * 1024))
}

/// [`ALLOWED`], each in backquotes.
pub(crate) fn allowed() -> String {
    ALLOWED
        .iter()
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        ATTACHMENTS,
        &format!(
            "Files on tickets of every kind, or on one of a ticket's actions. A file is uploaded with \
             `POST /api/v1/{{kind}}/{{id}}/attachments?filename=…` as the raw body (not JSON, not \
             multipart) under its own `Content-Type`, at most {size}. The type must be one of {types}: \
             nothing a browser would run (HTML, SVG, scripts) is taken, whatever the name, and a type \
             with a signature ({SIGNED}) must match the file's first bytes. The other types are taken as \
             declared, so every file goes out as a download (`GET /api/v1/attachments/{{id}}`): under \
             its stored type with `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff` \
             and `Content-Security-Policy: {SANDBOX}`, never inline.\n\n\
             Who may see a file is who may see its ticket, asked of ticketing on every access: once the \
             caller may not see the ticket, its files answer 404 too. A customer token sees only the \
             public files of the customer's own incidents and service requests, and what a customer \
             attaches is always public; staff choose with `public` (a file's own: a public file on a \
             private action is the customer's to see all the same). Problems and changes are the \
             staff's: to a customer token they have no files (404). Only staff delete files.",
            size = max_size(),
            types = allowed(),
        ),
    )]
}

/// A file's bytes, of any type.
fn binary() -> Value {
    json!({ "type": "string", "format": "binary" })
}

/// The upload's body: the file itself, under one of the types taken.
pub(crate) fn file_body() -> Value {
    let content: serde_json::Map<String, Value> = ALLOWED
        .iter()
        .map(|t| {
            let schema = json!({ "type": "string", "format": "binary", "minLength": 1 });
            ((*t).to_owned(), json!({ "schema": schema }))
        })
        .collect();
    json!({
        "required": true,
        "description": format!(
            "The file's bytes, as they are (not JSON, not multipart), under its own `Content-Type`, \
             one of {}; at most {}; not empty.",
            allowed(),
            max_size(),
        ),
        "content": content,
    })
}

/// The download's answer: the bytes under their type, as a download.
pub(crate) fn file_answer() -> Value {
    let header =
        |schema: Value, description: &str| json!({ "schema": schema, "description": description });
    let headers = json!({
        "Content-Disposition": header(
            json!({ "type": "string" }),
            "`attachment; filename=\"<name>\"; filename*=UTF-8''<name>` (RFC 6266, RFC 5987): the \
             name in ASCII, with `_` for every other character and for `\"` and `\\`, then in full, \
             percent-encoded UTF-8.",
        ),
        "X-Content-Type-Options": header(json!({ "type": "string", "const": "nosniff" }), "Always."),
        "Content-Security-Policy": header(
            json!({ "type": "string", "const": SANDBOX }),
            "Always: nothing in the file runs or loads, should it be opened in a browser.",
        ),
    });
    let content: serde_json::Map<String, Value> = ALLOWED
        .iter()
        .map(|t| ((*t).to_owned(), json!({ "schema": binary() })))
        .collect();
    json!({
        "description": "The file's bytes, under the type it was uploaded with (its `content_type`), as a \
                        download.",
        "headers": headers,
        "content": content,
    })
}
