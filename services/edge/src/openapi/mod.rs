//! The OpenAPI 3.1 document of the HTTP API, served at `/api/v1/openapi.json`,
//! generated from the routes, handlers and types (aide on schemars, see
//! [`declared`]): every operation is declared beside its route, its roles
//! come from the handler's extractors, its schemas and limits from the
//! types and the validation's own constants, and the prose sits beside it.
//!
//! This module holds the document's frame (info, tags, security), the
//! `Error` schema and the pieces operations share (the failures, the shared
//! parameters); the other modules hold the tags and prose of their groups
//! (the docs of every kind of ticket's operations are in its `tickets` module).

pub(crate) mod attachments;
pub mod declared;
mod knowledge;
mod notifications;
pub(crate) mod reports;
mod slas;
mod suppliers;
mod surveys;
mod tickets;

use std::collections::HashSet;
use std::sync::OnceLock;

use aide::transform::TransformOperation;
use axum::body::Bytes;
use axum::http::header;
use contracts::ticket::TicketKind;
use serde_json::{Value, json};

use declared::Declare;

pub(crate) use knowledge::{HTML_POLICY, KNOWLEDGE_BASE, html};
pub(crate) use notifications::EMAIL;
pub(crate) use slas::SLAS;
pub(crate) use suppliers::SUPPLIERS;
pub(crate) use surveys::SATISFACTION;
pub(crate) use tickets::{
    actions_docs, add_action_docs, apply_workaround_docs, assign_docs, calendar_docs,
    complete_step_docs, create_docs, customers_see, decide_docs, define_request_type_docs,
    delete_request_type_docs, edit_body_rules, edit_docs, edit_rules, field_definitions_docs,
    history_docs, link_docs, link_incidents_docs, links_docs, list_docs, of as ticket_of,
    problem_incidents_docs, read_docs, replan_docs, request_types_docs, set_field_definitions_docs,
    status_docs, ticket_id, ticket_missing, unlink_docs, unlink_incident_docs,
};

use crate::BODY_LIMIT;
use crate::attachments::MAX_SIZE;
use crate::notifications::MAIL_MAX;
use runtime::paging::{DEFAULT_LIMIT, MAX_LIMIT};

/// The whole document: the operations declared beside their routes
/// ([`declared`]) in the document's frame.
pub fn document() -> serde_json::Value {
    let mut generated = declared::generated();
    let paths = generated["paths"].take();
    let mut schemas = generated["components"]["schemas"].take();
    schemas["Error"] = error_schema();
    json!({
        "openapi": "3.1.0",
        "info": info(),
        "tags": tags(),
        "security": [{ "bearerAuth": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearerAuth": bearer() },
            "schemas": schemas,
        },
    })
}

/// The document, made once per process (it is the same until the binary
/// changes): what it answers, and what the edge reads of it (which
/// operations take an `Idempotency-Key`).
pub fn made() -> &'static serde_json::Value {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    DOCUMENT.get_or_init(document)
}

/// The operations of the document that `holds`, as (method, path):
/// `("POST", "/api/v1/incidents")`, the method upper-case and the path as
/// the router matches it.
pub fn operations_where(holds: impl Fn(&serde_json::Value) -> bool) -> HashSet<(String, String)> {
    let mut found = HashSet::new();
    let paths = made()["paths"].as_object().into_iter().flatten();
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            if holds(op) {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

/// The document, answered as its JSON (serialised once).
pub async fn serve() -> ([(header::HeaderName, &'static str); 1], Bytes) {
    static JSON: OnceLock<Bytes> = OnceLock::new();
    let json = JSON
        .get_or_init(|| Bytes::from(serde_json::to_vec(made()).expect("the document serialises")));
    ([(header::CONTENT_TYPE, "application/json")], json.clone())
}

pub(crate) fn serve_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getOpenApiDocument",
        OPERATIONS,
        "This document",
        "The OpenAPI 3.1 description of the API.",
    )
    .public()
    .answers(
        200,
        json!({
            "description": "This document.",
            "content": { "application/json": { "schema": { "type": "object" } } },
        }),
    )
}

// ---- document-level parts ----

fn info() -> Value {
    let description = format!(
        "The service desk's HTTP API: the tenant's directory (companies, customers, teams, \
         agents and API tokens) and its tickets: incidents, problems, changes and service \
         requests, the links between them and the tenant's own fields on them (extended data); \
         the files attached to them, the suppliers incidents are handed to, the KPI reports, \
         satisfaction surveys, the knowledge base, the service levels: business-hours calendars, \
         SLAs and the rules that choose a ticket's SLA; and email: the tenant's email settings and \
         templates, the emails sent about each ticket, and the mail gateway's door.\n\n\
         **Authentication.** Every `/api/v1` endpoint except `/api/v1/openapi.json` and a \
         survey's link (`/api/v1/surveys/{{token}}`, whose token is its own credential) needs \
         `Authorization: Bearer sd_<64 hex>`. A token belongs to one tenant and has one role: \
         `admin` may do everything; `agent` and `integration` work tickets and read the \
         directory, the service levels and the email settings and templates; `customer` logs incidents and service requests, sees \
         only their own incidents and service requests and only the public actions and attachments \
         on them \
         (another customer's ticket answers 404; problems and changes are the staff's, so to a \
         customer none exists: 404, or an empty list), and reads the knowledge base. Admins \
         issue tokens with `POST /api/v1/tokens`.\n\n\
         **Requests.** Bodies are JSON (`Content-Type: application/json`) of at most {kib} KiB, \
         except an attachment's upload: the file itself, under its own type, of at most {mib} MiB; \
         and a received email (`POST /api/v1/mail/inbound`): the RFC 5322 message itself, of at \
         most {mail} MiB. \
         Unknown body fields and unknown query parameters are refused with 400 \
         `validation_failed`, at any depth, except inside an SLA timepoint's `placement` and \
         `actions`, where they are ignored (see \"SLAs and calendars\"). Answers are JSON, except the report tables (CSV or \
         SVG), the knowledge base's HTML and an attachment's download.\n\n\
         **Errors.** Every error under `/api/v1` is an `Error`: a stable `error` code, a \
         `message` for people and, for some codes, `details` (`details.fields` names the field \
         of a `validation_failed`). An unknown path answers 404 `not_found`; a method an \
         `/api/v1` path does not take answers 405 `method_not_allowed`. A 503 carries \
         `Retry-After`.\n\n\
         **Lists.** Directory and ticket lists take `limit` (1 to {MAX_LIMIT}, default \
         {DEFAULT_LIMIT}) and `cursor`, and answer `{{\"items\": [...], \"next_cursor\": ...}}`: \
         pass `next_cursor` as `cursor` for the next page; it is null on the last one. Ticket \
         lists also filter on extended data: `field.<key>=<value>`, any number of them.",
        kib = BODY_LIMIT / 1024,
        mib = MAX_SIZE / (1024 * 1024),
        mail = MAIL_MAX / (1024 * 1024),
    );
    json!({ "title": "Servicedesk API", "version": "1", "description": description })
}

pub(crate) const COMPANIES: &str = "Companies";
pub(crate) const CUSTOMERS: &str = "Customers";
pub(crate) const TEAMS: &str = "Teams";
pub(crate) const AGENTS: &str = "Agents";
pub(crate) const TOKENS: &str = "Tokens";
pub(crate) const INCIDENTS: &str = "Incidents";
pub(crate) const OPERATIONS: &str = "Operations";

fn tag(name: &str, description: &str) -> Value {
    json!({ "name": name, "description": description })
}

fn tags() -> Value {
    let mut all = vec![
        tag(COMPANIES, "The tenant's customer companies."),
        tag(
            CUSTOMERS,
            "The tenant's customers: the people tickets are for.",
        ),
        tag(TEAMS, "The tenant's teams of agents."),
        tag(AGENTS, "The tenant's agents: the people who work tickets."),
        tag(TOKENS, "API tokens."),
        tag(
            INCIDENTS,
            "Incidents: something that does not work as it should. Their actions, their history and \
             the priority matrix. Links, edits and extended data work as for every kind of ticket.",
        ),
    ];
    all.extend(tickets::tags());
    all.extend(attachments::tags());
    all.extend(reports::tags());
    all.extend(surveys::tags());
    all.extend(knowledge::tags());
    all.extend(suppliers::tags());
    all.extend(slas::tags());
    all.extend(notifications::tags());
    all.push(tag(
        OPERATIONS,
        "Health, readiness, metrics and this document; no token needed.",
    ));
    Value::Array(all)
}

fn bearer() -> Value {
    json!({
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "sd_<64 hex>",
        "description": "An API token: `sd_` and 64 lowercase hex digits, issued by \
                        `POST /api/v1/tokens` and shown only then.",
    })
}

/// `Error`: the body of every error answer ([`crate::error`]).
fn error_schema() -> Value {
    let text = |description: &str| json!({ "type": "string", "description": description });
    let strings = |description: &str| json!({ "type": "array", "items": { "type": "string" }, "description": description });
    json!({
        "type": "object",
        "required": ["error", "message"],
        "description": "Every error answer: `{\"error\": code, \"message\": ..., \"details\"?: {...}}`.",
        "properties": {
            "error": {
                "type": "string",
                "enum": ERROR_CODES,
                "description": "Stable; each has one status. 400: `malformed_json` (the body is not JSON), \
                    `validation_failed` (a field or query parameter is wrong). 401: `unauthorized`. 403: \
                    `forbidden` (the token's role may not do this). 404: `not_found`. 405: \
                    `method_not_allowed`. 409: `invalid_transition` (the ticket's status does not allow \
                    it, or the ticket is not ready for it yet), `conflict` (done already: a duplicate \
                    link, a decision already made, a step already done, or an already processed command \
                    whose answer was lost, a survey already answered, a supplier's, calendar's or SLA's \
                    name already taken), or not now (a service behind the one asked did not answer: try \
                    again). 413: `payload_too_large`. 415: `unsupported_media_type`. 422: \
                    `idempotency_key_reused` (the `Idempotency-Key` came before with another \
                    request). 412: `precondition_failed` (`If-Match` named a version the \
                    ticket is no longer at). 429: `rate_limited` (too many failed \
                    authentications from the caller's address, or the token's requests this \
                    minute are spent). 500: `internal`. \
                    503: `dependency_unavailable`.",
            },
            "message": text("For people; not stable."),
            "details": {
                "type": "object",
                "description": "More about some errors; absent from the others.",
                "properties": {
                    "fields": {
                        "type": "object",
                        "additionalProperties": { "type": "string" },
                        "description": "`validation_failed`: the wrong field or query parameter (or \
                            `body` if the body as a whole is wrong) and what is wrong with it.",
                    },
                    "status": text(
                        "`invalid_transition` of anything but a status change (an edit, assignment, \
                         action, decision, step): the ticket's status, one of its kind's.",
                    ),
                    "trace_id": {
                        "type": "string",
                        "pattern": "^[0-9a-f]{32}$",
                        "description": "`internal`: the request's trace id (the caller's \
                            `traceparent`'s, or a new one): quote it to support, who find the \
                            request's log lines by it.",
                    },
                    "field": text(
                        "`conflict` in the directory: the field whose value the tenant has already \
                         (a company's `name`, a customer's `email`).",
                    ),
                    "reason": {
                        "type": "string",
                        "enum": ["failed_authentication", "token_budget"],
                        "description": "`rate_limited`: which limit the request met.",
                    },
                    "retry_after": {
                        "type": "integer",
                        "description": "`rate_limited`: seconds to wait, as `Retry-After` says.",
                    },
                    "from": text("`invalid_transition` of a status change: the ticket's status."),
                    "to": text("`invalid_transition` of a status change: the status asked for."),
                    "allowed": strings(
                        "`invalid_transition` with `status` or `from`: the statuses the ticket may move to.",
                    ),
                    "missing": {
                        "type": "string",
                        "enum": ["root_cause", "workaround_flagged"],
                        "description": "`invalid_transition` of a problem not ready yet: what it needs \
                            first (a root cause to become a known error, a flagged workaround to apply it).",
                    },
                    "outcome": {
                        "$ref": "#/components/schemas/ProblemOutcome",
                        "description": "`invalid_transition` of resolving a problem: the outcome the \
                            problem does not have what it takes for yet.",
                    },
                    "changes": strings(
                        "`invalid_transition` of closing a problem: the changes that resolve it and are \
                         still under way (their references).",
                    ),
                    "pending_steps": strings(
                        "`invalid_transition` of fulfilling a service request: the names of its steps \
                         still to do.",
                    ),
                },
            },
        },
    })
}

/// Every error code the API answers with ([`crate::error::Code`]).
const ERROR_CODES: [&str; 15] = [
    "malformed_json",
    "validation_failed",
    "unauthorized",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "invalid_transition",
    "conflict",
    "payload_too_large",
    "unsupported_media_type",
    "idempotency_key_reused",
    "precondition_failed",
    "rate_limited",
    "dependency_unavailable",
    "internal",
];

/// A success answered as `media_type` (not JSON).
fn answer_as(description: &str, media_type: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { media_type: { "schema": schema } } })
}

/// An error answer: when it happens, and the `Error` body.
pub(crate) fn failure(status: u16, when: &str) -> Value {
    let error = json!({ "$ref": "#/components/schemas/Error" });
    let mut response =
        json!({ "description": when, "content": { "application/json": { "schema": error } } });
    if status == 503 || status == 429 {
        let retry = json!({ "description": "Seconds to wait before trying again.", "schema": { "type": "integer" } });
        response["headers"] = json!({ "Retry-After": retry });
    }
    response
}

pub(crate) fn parameter(
    name: &str,
    location: &str,
    required: bool,
    schema: Value,
    description: &str,
) -> Value {
    json!({ "name": name, "in": location, "required": required, "schema": schema, "description": description })
}

// Errors, as (status, when). Each description names the codes it can carry.

pub(crate) fn bad_query() -> (u16, String) {
    (400, "`validation_failed`: a query parameter is malformed, out of range or unknown; `details.fields` names it.".to_owned())
}

pub(crate) fn bad_body(rules: &str) -> (u16, String) {
    let when = format!(
        "`malformed_json`: the body is not JSON. `validation_failed`: a field is missing, unknown, of the \
         wrong type or not valid; `details.fields` names it. {rules}"
    );
    (400, when.trim_end().to_owned())
}

pub(crate) fn unauthorized() -> (u16, String) {
    (
        401,
        "`unauthorized`: no `Authorization: Bearer` token, or an unknown or revoked one."
            .to_owned(),
    )
}

pub(crate) fn rate_limited() -> (u16, String) {
    (
        429,
        "`rate_limited`: the caller's address has failed to authenticate too often this minute, \
         or the token has made all the requests it may this minute (`details.reason`: \
         `failed_authentication` or `token_budget`); `Retry-After` and `details.retry_after` \
         say how many seconds are left of the minute."
            .to_owned(),
    )
}

pub(crate) fn admin_only() -> (u16, String) {
    (
        403,
        "`forbidden`: only admin tokens may do this.".to_owned(),
    )
}

pub(crate) fn staff_only() -> (u16, String) {
    (
        403,
        "`forbidden`: customer tokens may not do this.".to_owned(),
    )
}

pub(crate) fn not_found(when: &str) -> (u16, String) {
    (404, format!("`not_found`: {when}"))
}

pub(crate) fn too_large() -> (u16, String) {
    (
        413,
        format!(
            "`payload_too_large`: the body is larger than {} KiB.",
            BODY_LIMIT / 1024
        ),
    )
}

pub(crate) fn not_json() -> (u16, String) {
    (
        415,
        "`unsupported_media_type`: the body must be sent as `Content-Type: application/json`."
            .to_owned(),
    )
}

pub(crate) fn internal() -> (u16, String) {
    (
        500,
        "`internal`: something broke on the desk's side; it is logged there, and `details.trace_id` \
         names the request to quote to support."
            .to_owned(),
    )
}

pub(crate) fn database_down() -> (u16, String) {
    (
        503,
        "`dependency_unavailable`: the desk's database is unavailable.".to_owned(),
    )
}

/// 503: the desk's database (the token's), the bus or `service` (which
/// answers the operation) is unavailable.
pub(crate) fn service_down(service: &str) -> (u16, String) {
    (
        503,
        format!(
            "`dependency_unavailable`: the desk's database, the message broker or the {service} \
             service is unavailable, or {service} did not answer in time."
        ),
    )
}

pub(crate) fn ticketing_down() -> (u16, String) {
    service_down("ticketing")
}

pub(crate) fn traceparent() -> Value {
    parameter(
        "traceparent",
        "header",
        false,
        json!({ "type": "string" }),
        "W3C trace context: the request joins this trace if it is well-formed, else starts a new one.",
    )
}

pub(crate) fn idempotency_key() -> Value {
    let schema = json!({ "type": "string", "minLength": 1, "maxLength": 200 });
    parameter(
        "Idempotency-Key",
        "header",
        false,
        schema,
        "Send the same key when retrying: the retry is answered with the first result and nothing is done twice. The key is the caller's for 24 hours after a request sent with it succeeded; sent again with another method, path or body, it answers 422 `idempotency_key_reused`. A request that failed leaves the key free for a corrected one.",
    )
}

pub(crate) fn incident_id() -> Value {
    tickets::ticket_id(TicketKind::Incident)
}

pub(crate) fn incident_missing() -> (u16, String) {
    tickets::ticket_missing(TicketKind::Incident)
}

/// What an assignment of a ticket of `kind` checks.
pub(crate) fn assignment_rules(kind: TicketKind) -> String {
    if kind == TicketKind::Incident {
        "`assignee_id` must name one of the tenant's agents, `team_id` one of its teams and `supplier_id` \
         one of its suppliers; at least one of them must be given (else `details.fields` names \
         `assignee_id`)."
            .to_owned()
    } else {
        format!(
            "`assignee_id` must name one of the tenant's agents and `team_id` one of its teams, and at \
             least one of them must be given (else `details.fields` names `assignee_id`); `supplier_id` \
             is refused, even null (`details.fields` names it): only an incident goes to a supplier, \
             not a {}.",
            kind.noun()
        )
    }
}

/// How lists filter on extended data.
pub(crate) const FIELD_FILTERS: &str = "Filter on extended data with `field.<key>=<value>` (any number of them, all \
     must hold): the value is compared as text with the stored one (a number as JSON writes it, `12` or \
     `12.5`; a date as `YYYY-MM-DD`); a key no field has matches nothing.";

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::{Map, Value};

    use super::document;
    use crate::error::Code;

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    /// Every [`Code`] the API answers with.
    const ALL_CODES: [Code; 15] = [
        Code::MalformedJson,
        Code::ValidationFailed,
        Code::Unauthorized,
        Code::Forbidden,
        Code::NotFound,
        Code::MethodNotAllowed,
        Code::InvalidTransition,
        Code::Conflict,
        Code::PayloadTooLarge,
        Code::UnsupportedMediaType,
        Code::IdempotencyKeyReused,
        Code::PreconditionFailed,
        Code::RateLimited,
        Code::DependencyUnavailable,
        Code::Internal,
    ];

    /// Stops compiling when a [`Code`] is added: list it in `ALL_CODES` and
    /// in the document's `Error` schema.
    fn listed(code: Code) -> bool {
        match code {
            Code::MalformedJson
            | Code::ValidationFailed
            | Code::Unauthorized
            | Code::Forbidden
            | Code::NotFound
            | Code::MethodNotAllowed
            | Code::InvalidTransition
            | Code::Conflict
            | Code::PayloadTooLarge
            | Code::UnsupportedMediaType
            | Code::IdempotencyKeyReused
            | Code::PreconditionFailed
            | Code::RateLimited
            | Code::DependencyUnavailable
            | Code::Internal => ALL_CODES.contains(&code),
        }
    }

    fn code_name(code: Code) -> String {
        serde_json::to_value(code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    fn paths(doc: &Value) -> &Map<String, Value> {
        let Some(paths) = doc["paths"].as_object() else {
            panic!("paths is not an object")
        };
        paths
    }

    /// Every operation: (method, path, operation).
    fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
        let mut all = Vec::new();
        for (path, item) in paths(doc) {
            let Some(item) = item.as_object() else {
                panic!("{path} is not an object")
            };
            for (method, operation) in item {
                assert!(
                    METHODS.contains(&method.as_str()),
                    "{path}: {method} is not a method"
                );
                all.push((method.as_str(), path.as_str(), operation));
            }
        }
        all
    }

    /// Every `$ref` under `value`.
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    if key == "$ref" {
                        found.push(inner.as_str().unwrap_or("(not a string)"));
                    } else {
                        refs(inner, found);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|inner| refs(inner, found)),
            _ => {}
        }
    }

    #[test]
    fn is_openapi_3_1() {
        assert_eq!(document()["openapi"], "3.1.0");
    }

    #[test]
    fn paths_are_the_api_or_operational() {
        let doc = document();
        assert!(!paths(&doc).is_empty());
        for path in paths(&doc).keys() {
            assert!(
                path.starts_with("/api/v1/")
                    || ["/healthz", "/readyz", "/metrics"].contains(&path.as_str()),
                "unexpected path {path}"
            );
        }
    }

    /// Each operation declares the parameters its path names, and no others.
    #[test]
    fn path_parameters_are_declared() {
        let doc = document();
        for (method, path, operation) in operations(&doc) {
            let named: BTreeSet<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split('}').next())
                .collect();
            let declared: BTreeSet<&str> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str())
                .collect();
            assert_eq!(named, declared, "{method} {path}: path parameters");
        }
    }

    /// Uploads take the raw file, not JSON, under each type
    /// [`crate::attachments::ALLOWED`] takes, and a download answers each
    /// of them, and no other.
    #[test]
    fn attachments_are_raw_files_of_the_allowed_types() {
        use crate::attachments::ALLOWED;

        let doc = document();
        let uploads: Vec<&Value> = operations(&doc)
            .into_iter()
            .filter(|(method, path, _)| *method == "post" && path.ends_with("/attachments"))
            .map(|(_, _, operation)| operation)
            .collect();
        assert_eq!(uploads.len(), 4, "one upload per kind of ticket");
        for upload in uploads {
            let Some(content) = upload["requestBody"]["content"].as_object() else {
                panic!("{}: no request body", upload["operationId"])
            };
            let types: BTreeSet<&str> = content.keys().map(String::as_str).collect();
            assert_eq!(types, ALLOWED.iter().copied().collect::<BTreeSet<_>>());
        }
        let download = &doc["paths"]["/api/v1/attachments/{id}"]["get"]["responses"]["200"];
        let served: BTreeSet<&str> = download["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(served, ALLOWED.iter().copied().collect::<BTreeSet<_>>());
    }

    /// Any one field of an `Assignment` is enough ("give at least one of"),
    /// and every assign says what becomes of `supplier_id`: taken for
    /// incidents, refused for the other kinds.
    #[test]
    fn an_assignment_takes_any_of_its_fields() {
        let doc = document();
        let assignment = &doc["components"]["schemas"]["Assignment"];
        let fields: BTreeSet<&str> = assignment["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, _)| name.as_str())
            .collect();
        let alternatives: BTreeSet<&str> = assignment["anyOf"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["required"][0].as_str())
            .collect();
        assert_eq!(fields, alternatives);
        assert!(fields.contains("supplier_id"));
        let assigns: Vec<(&str, &Value)> = operations(&doc)
            .into_iter()
            .filter(|(method, path, _)| *method == "post" && path.ends_with("/{id}/assign"))
            .map(|(_, path, operation)| (path, operation))
            .collect();
        assert_eq!(assigns.len(), 4, "one assign per kind of ticket");
        for (path, operation) in assigns {
            let rules = operation["responses"]["400"]["description"]
                .as_str()
                .unwrap_or("");
            assert!(rules.contains("`supplier_id`"), "{path}: {rules}");
            let refused = rules.contains("`supplier_id` is refused");
            assert_eq!(refused, path != "/api/v1/incidents/{id}/assign", "{path}");
        }
    }

    /// An answer's schema is what the desk sends (serde's serialize
    /// contract), a body's what it takes (deserialize): a field with a
    /// default is required in the email settings' answer, and may be left
    /// out of their body.
    #[test]
    fn answers_require_what_is_always_sent_and_bodies_what_must_be_given() {
        let doc = document();
        let operation = &doc["paths"]["/api/v1/notifications/settings"]["put"];
        let required = |at: &Value| -> BTreeSet<String> {
            let target = at["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .unwrap_or_default();
            let name = target.trim_start_matches("#/components/schemas/");
            doc["components"]["schemas"][name]["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        };
        let body = required(&operation["requestBody"]);
        let answer = required(&operation["responses"]["200"]);
        assert_eq!(
            body,
            BTreeSet::from(["default_language".to_owned(), "sender".to_owned()])
        );
        assert!(answer.is_superset(&body), "{answer:?}");
        assert!(answer.contains("broadcasts"), "{answer:?}");
    }

    /// A timepoint's `reassign` names a team, an agent or both
    /// (`contracts::schema::reassign_needs_someone`), in bodies and answers.
    #[test]
    fn a_reassign_needs_a_team_or_an_agent() {
        let doc = document();
        for name in ["TimepointAction", "TimepointActionInput"] {
            let variants = doc["components"]["schemas"][name]["oneOf"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let reassign = variants
                .iter()
                .find(|v| v["properties"]["do"]["const"] == "reassign")
                .unwrap_or_else(|| panic!("{name} has no reassign"));
            let needs: BTreeSet<&str> = reassign["anyOf"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["required"][0].as_str())
                .collect();
            assert_eq!(needs, BTreeSet::from(["team_id", "agent_id"]), "{name}");
        }
    }

    #[test]
    fn every_ref_names_a_schema_and_every_schema_is_used() {
        let doc = document();
        let Some(schemas) = doc["components"]["schemas"].as_object() else {
            panic!("components.schemas is not an object")
        };
        let mut found = Vec::new();
        refs(&doc, &mut found);
        let mut used = BTreeSet::new();
        for target in found {
            let name = target.strip_prefix("#/components/schemas/");
            assert!(
                name.is_some_and(|n| schemas.contains_key(n)),
                "$ref {target} names no schema"
            );
            used.extend(name);
        }
        for name in schemas.keys() {
            assert!(used.contains(name.as_str()), "schema {name} is never used");
        }
    }

    #[test]
    fn operations_have_unique_ids_summaries_and_tags() {
        let doc = document();
        let mut ids = BTreeSet::new();
        for (method, path, operation) in operations(&doc) {
            let Some(id) = operation["operationId"]
                .as_str()
                .filter(|id| !id.is_empty())
            else {
                panic!("{method} {path} has no operationId")
            };
            assert!(ids.insert(id), "operationId {id} is used twice");
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has no summary"
            );
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tags"
            );
        }
    }

    /// The operations of the API that need no token: a survey's link, whose
    /// token is its own credential.
    const TOKENLESS: [(&str, &str); 2] = [
        ("get", "/api/v1/surveys/{token}"),
        ("post", "/api/v1/surveys/{token}"),
    ];

    #[test]
    fn only_the_operational_endpoints_need_no_token() {
        let doc = document();
        assert_eq!(doc["security"][0]["bearerAuth"], Value::Array(Vec::new()));
        for (method, path) in TOKENLESS {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not documented"
            );
        }
        for (method, path, operation) in operations(&doc) {
            let open = path == "/api/v1/openapi.json"
                || !path.starts_with("/api/v1/")
                || TOKENLESS.contains(&(method, path));
            let public = operation["security"] == Value::Array(Vec::new());
            assert_eq!(open, public, "{method} {path}: security");
        }
    }

    /// Which roles may call it is part of every operation that needs a
    /// token: an operation declared beside its route without an extractor
    /// that checks the caller has none, and fails here.
    #[test]
    fn every_operation_that_needs_a_token_names_its_roles() {
        let doc = document();
        let known = ["admin", "agent", "customer", "integration"];
        for (method, path, operation) in operations(&doc) {
            let public = operation["security"] == Value::Array(Vec::new());
            let roles = operation["x-roles"].as_array();
            if public {
                assert!(roles.is_none(), "{method} {path}: public, with roles");
                continue;
            }
            let roles = roles.unwrap_or_else(|| panic!("{method} {path}: no x-roles"));
            assert!(!roles.is_empty(), "{method} {path}: no role may call it");
            assert!(
                roles
                    .iter()
                    .all(|r| known.contains(&r.as_str().unwrap_or(""))),
                "{method} {path}: {roles:?}"
            );
        }
    }

    #[test]
    fn error_codes_are_the_ones_the_api_answers_with() {
        assert!(ALL_CODES.iter().all(|code| listed(*code)));
        let doc = document();
        let documented: BTreeSet<String> =
            doc["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|code| code.as_str().map(str::to_owned))
                .collect();
        let actual: BTreeSet<String> = ALL_CODES.iter().map(|code| code_name(*code)).collect();
        assert_eq!(documented, actual);
    }

    /// Each error answer names (in backquotes) codes whose status it is.
    #[test]
    fn error_responses_name_codes_of_their_status() {
        let status_of: BTreeMap<String, u16> = ALL_CODES
            .iter()
            .map(|code| (code_name(*code), code.status().as_u16()))
            .collect();
        let doc = document();
        for (method, path, operation) in operations(&doc) {
            let Some(responses) = operation["responses"].as_object() else {
                panic!("{method} {path} has no responses")
            };
            for (status, response) in responses {
                if response["content"]["application/json"]["schema"]["$ref"]
                    != "#/components/schemas/Error"
                {
                    continue;
                }
                let description = response["description"].as_str().unwrap_or("");
                let codes: Vec<&str> = description
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .filter(|w| status_of.contains_key(*w))
                    .collect();
                assert!(
                    !codes.is_empty(),
                    "{method} {path} {status}: names no error code"
                );
                for code in codes {
                    assert_eq!(
                        status_of[code].to_string(),
                        *status,
                        "{method} {path}: `{code}` under {status}"
                    );
                }
            }
        }
    }
}
