//! The document's attachments, from the handlers in [`crate::attachments`]:
//! the files of a ticket of every kind (generated from
//! [`tickets::TICKETS`](super::tickets::TICKETS), as the routes are), and a
//! file by its id. The types taken and the largest file are the handlers'
//! own [`ALLOWED`] and [`MAX_SIZE`].

use serde_json::{Value, json};

use super::tickets::{TICKETS, Ticket, customers_see, ticket_id, ticket_missing};
use super::{
    about, answer, boolean, component, database_down, internal, list_of, not_found, object,
    operation, parameter, query, responses, set, staff_only, tag, text, ticketing_down, timestamp,
    traceparent, unauthorized, uuid, uuid_or_null, with_parameters,
};
use crate::attachments::{ALLOWED, MAX_SIZE};

const ATTACHMENTS: &str = "Attachments";

/// How a file goes out (the download's `Content-Security-Policy`).
const SANDBOX: &str = crate::served::NOTHING_RUNS;

/// The types whose bytes are checked, as the handler's `check_content` does.
const SIGNED: &str = "PNG, JPEG, GIF, WebP, PDF, and ZIP with the Office Open XML documents (Word, \
     Excel and PowerPoint)";

/// The largest file: `10 MiB (10485760 bytes)`.
fn max_size() -> String {
    format!("{} MiB ({MAX_SIZE} bytes)", MAX_SIZE / (1024 * 1024))
}

/// [`ALLOWED`], each in backquotes.
fn allowed() -> String {
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

// ---- schemas ----

pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let attachment = object(
        &[
            "id",
            "ticket_kind",
            "ticket_id",
            "action_id",
            "filename",
            "content_type",
            "size",
            "sha256",
            "public",
            "uploaded_by",
            "uploaded_at",
        ],
        vec![
            (
                "id",
                about(
                    uuid(),
                    "The file's id: `GET /api/v1/attachments/{id}` downloads it.",
                ),
            ),
            (
                "ticket_kind",
                about(component("TicketKind"), "The kind of its ticket."),
            ),
            (
                "ticket_id",
                about(uuid(), "Its ticket's id (a UUID, not the reference)."),
            ),
            (
                "action_id",
                about(
                    uuid_or_null(),
                    "The action of the ticket it is attached to (`id` of an `ActionV1`); null if it is \
                     on the ticket itself.",
                ),
            ),
            (
                "filename",
                about(
                    json!({ "type": "string", "minLength": 1, "maxLength": 200 }),
                    "The name it was uploaded under, trimmed: no path separators or control characters.",
                ),
            ),
            (
                "content_type",
                about(
                    json!({ "type": "string", "enum": ALLOWED }),
                    "The type it was uploaded with, lowercase and without parameters (`charset`); it is \
                     served under this type.",
                ),
            ),
            (
                "size",
                about(
                    json!({ "type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_SIZE }),
                    "In bytes.",
                ),
            ),
            (
                "sha256",
                about(
                    json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" }),
                    "The SHA-256 digest of the bytes, in lowercase hex.",
                ),
            ),
            (
                "public",
                boolean(
                    "Visible to the ticket's customer. Always true for what a customer attaches.",
                ),
            ),
            ("uploaded_by", about(component("Actor"), "Who attached it.")),
            ("uploaded_at", timestamp()),
        ],
    );
    vec![(
        "Attachment",
        about(
            attachment,
            "A file on a ticket or on one of its actions: what is known about it (the bytes are \
             downloaded apart).",
        ),
    )]
}

// ---- paths ----

pub(super) fn paths() -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for t in &TICKETS {
        all.extend(ticket_paths(t));
    }
    all.extend(file_paths());
    all
}

/// A file's bytes, of any type.
fn binary() -> Value {
    json!({ "type": "string", "format": "binary" })
}

/// The upload's body: the file itself.
fn with_file(operation: Value) -> Value {
    let body = json!({
        "required": true,
        "description": format!(
            "The file's bytes, as they are (not JSON, not multipart), under its own `Content-Type`, \
             one of {}; at most {}.",
            allowed(),
            max_size(),
        ),
        "content": {
            "application/octet-stream": { "schema": binary() },
            "*/*": { "schema": binary() },
        },
    });
    set(operation, "requestBody", body)
}

/// The files of a ticket of `t`'s kind: list and upload.
fn ticket_paths(t: &Ticket) -> Vec<(String, Value)> {
    let (kind, title) = (t.kind, t.title);
    let (path, noun, one) = (t.path(), t.noun(), t.one());
    let who_lists = if customers_see(kind) {
        format!(
            "A customer token sees only the public ones, and only on the customer's own {noun}s."
        )
    } else {
        format!("Admin, agent and integration tokens: to a customer token no {noun} exists (404).")
    };
    let who_uploads = if customers_see(kind) {
        format!(
            "Admin, agent and integration tokens choose `public`; a customer token may attach to the \
             customer's own {noun}s (and their public actions), and what it attaches is public."
        )
    } else {
        format!("Admin, agent and integration tokens: to a customer token no {noun} exists (404).")
    };
    let list = operation(
        &format!("list{title}Attachments"),
        ATTACHMENTS,
        &format!("List {one}'s attachments"),
        &format!(
            "What is known about the files on the {noun} and on its actions, oldest first (not paged); \
             `GET /api/v1/attachments/{{id}}` downloads one. {who_lists}"
        ),
        responses(
            vec![(200, answer("The files.", list_of("Attachment")))],
            vec![
                unauthorized(),
                ticket_missing(kind),
                internal(),
                ticketing_down(),
            ],
        ),
    );
    let upload = operation(
        &format!("upload{title}Attachment"),
        ATTACHMENTS,
        &format!("Attach a file to {one}"),
        &format!(
            "Keeps the body as a file on the {noun}, or on one of its actions with `action_id`. The file \
             and its name are checked before the {noun} is looked up. Sending it again keeps it again: \
             an upload is not made idempotent by `Idempotency-Key`. {who_uploads}"
        ),
        responses(
            vec![(201, answer("Attached.", component("Attachment")))],
            vec![
                (
                    400,
                    format!(
                        "`validation_failed`, `details.fields` naming what is wrong: `filename` is \
                         missing, blank, longer than 200 characters, `.` or `..`, or has a path \
                         separator or a control character; `body` is empty, or its bytes are not of \
                         the type declared (checked for {SIGNED}); `action_id` is not a UUID or no such \
                         action is on the {noun}{public}; `public` is not `true` or `false`; or a query \
                         parameter is unknown.",
                        public = if customers_see(kind) {
                            " (for a customer token, no such public action)"
                        } else {
                            ""
                        },
                    ),
                ),
                unauthorized(),
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
            ],
        ),
    );
    let filename = parameter(
        "filename",
        "query",
        true,
        json!({ "type": "string", "minLength": 1, "maxLength": 200 }),
        "The file's name, kept trimmed and served in `Content-Disposition`: 1 to 200 characters, no \
         path separators (`/`, `\\`) or control characters, not `.` or `..`.",
    );
    let action_id = query(
        "action_id",
        uuid(),
        &format!(
            "An action of the {noun}'s (`id` of an `ActionV1`) to attach the file to; absent, the file \
             is on the {noun} itself."
        ),
    );
    let public = query(
        "public",
        json!({ "type": "boolean", "default": false }),
        "Whether the ticket's customer sees the file. Ignored for a customer token: what a customer \
         attaches is always public.",
    );
    vec![(
        format!("/api/v1/{path}/{{id}}/attachments"),
        json!({
            "get": with_parameters(list, vec![ticket_id(kind), traceparent()]),
            "post": with_parameters(
                with_file(upload),
                vec![ticket_id(kind), filename, action_id, public, traceparent()],
            ),
        }),
    )]
}

/// A file by its id: download and delete.
fn file_paths() -> Vec<(String, Value)> {
    let missing = || {
        not_found(
            "no such file in the tenant (an id that is not a UUID answers this too), or the caller may \
             not see it: a customer token and a file that is not public, or a ticket the caller may not \
             see (now), or whose visibility ticketing could not be asked about.",
        )
    };
    let header =
        |schema: Value, description: &str| json!({ "schema": schema, "description": description });
    let headers = json!({
        "Content-Disposition": header(
            text(),
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
    let file = json!({
        "description": "The file's bytes, under the type it was uploaded with (its `content_type`), as a \
                        download.",
        "headers": headers,
        "content": content,
    });
    let download = operation(
        "downloadAttachment",
        ATTACHMENTS,
        "Download an attachment",
        "The file's bytes, always as a download, never inline. Every token that may see the file: a \
         customer token only the public files of the customer's own incidents and service requests.",
        responses(
            vec![(200, file)],
            vec![unauthorized(), missing(), internal(), database_down()],
        ),
    );
    let delete = operation(
        "deleteAttachment",
        ATTACHMENTS,
        "Delete an attachment",
        "Deletes the file, bytes and all. Admin, agent and integration tokens, whoever attached it.",
        responses(
            vec![(
                200,
                answer("Deleted: the file as it was.", component("Attachment")),
            )],
            vec![
                unauthorized(),
                staff_only(),
                missing(),
                internal(),
                database_down(),
            ],
        ),
    );
    let id = parameter(
        "id",
        "path",
        true,
        uuid(),
        "The file's id (`id` of an `Attachment`); a value that is not a UUID answers 404.",
    );
    vec![(
        "/api/v1/attachments/{id}".to_owned(),
        json!({
            "get": with_parameters(download, vec![id.clone(), traceparent()]),
            "delete": with_parameters(delete, vec![id, traceparent()]),
        }),
    )]
}
