//! The document's knowledge base, from the handlers in [`crate::knowledge`]
//! and the wire types in [`contracts::knowledge`]: the export and the
//! publication of a ticket of every kind (generated from
//! [`tickets::TICKETS`](super::tickets::TICKETS), as the routes are), the
//! articles, and the tenant's template.

use contracts::limits::{MAX_SUMMARY, ONE_LINE_PATTERN};
use serde_json::{Value, json};

use super::tickets::{TICKETS, Ticket, ticket_id};
use super::{
    about, answer, answer_as, bad_body, closed, component, internal, not_found, not_json, object,
    operation, responses, set, staff_only, tag, ticketing_down, too_large, traceparent,
    unauthorized, with_body, with_parameters,
};

pub(crate) const KNOWLEDGE_BASE: &str = "Knowledge base";

/// The template's placeholders for the ticket, and in `{{#actions}}` for
/// each action (ticketing's `TICKET_FIELDS` and `ACTION_FIELDS`).
const TICKET_PLACEHOLDERS: [&str; 11] = [
    "reference",
    "kind",
    "summary",
    "description",
    "resolution",
    "status",
    "priority",
    "category",
    "service",
    "created_at",
    "resolved_at",
];
const ACTION_PLACEHOLDERS: [&str; 4] = ["text", "kind", "author", "created_at"];
const FIELD_PLACEHOLDERS: [&str; 2] = ["label", "value"];

/// How the HTML goes out.
pub(crate) const HTML_POLICY: &str = "`text/html; charset=utf-8` under `Content-Security-Policy: default-src 'none'; \
     style-src 'unsafe-inline'; sandbox` (no script runs and nothing loads but inline style) and \
     `X-Content-Type-Options: nosniff`";

fn placeholders(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{{{{{n}}}}}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn tags() -> Vec<Value> {
    vec![tag(
        KNOWLEDGE_BASE,
        &format!(
            "The tenant's knowledge base. Staff export a ticket of any kind to HTML through the tenant's \
             template (`GET /api/v1/{{kind}}/{{id}}/export`, a download) and publish the export as an \
             article (`POST /api/v1/{{kind}}/{{id}}/publish`; publishing again replaces it). Only the \
             ticket's public actions flagged `knowledge_base` go in (a private note stays out even if \
             flagged), and its extended data. Every token of the tenant, customers \
             included, reads the articles.\n\n\
             **Templates** are HTML with placeholders for the ticket: {}; and two sections: \
             `{{{{#actions}}}}…{{{{/actions}}}}`, repeated for each flagged action, oldest first, inside which \
             the placeholders are the action's: {}; and `{{{{#fields}}}}…{{{{/fields}}}}`, repeated for each \
             extended data value in the order the fields are defined, with {}. Spaces inside the braces are allowed \
             (`{{{{ summary }}}}`). Every value is HTML-escaped, line breaks becoming `<br>`, so nothing \
             anyone typed becomes markup; dates are RFC 3339, empty if none. The rest of the template is \
             kept as written. A template is checked when it is saved: an unclosed `{{{{`, an unknown \
             placeholder (or a ticket one inside the section, an action one outside it), or a section \
             not closed, closed without being opened or nested, is refused. While the tenant has no \
             template of its own, a plain default is used. HTML is served as {HTML_POLICY}.",
            placeholders(&TICKET_PLACEHOLDERS),
            placeholders(&ACTION_PLACEHOLDERS),
            placeholders(&FIELD_PLACEHOLDERS),
        ),
    )]
}

// ---- schemas ----

pub(super) fn schemas() -> Vec<(&'static str, Value)> {
    let new_article = object(
        &[],
        vec![(
            "title",
            about(
                json!({ "type": ["string", "null"], "maxLength": MAX_SUMMARY, "pattern": ONE_LINE_PATTERN }),
                "The article's title: not blank, no control characters; stored trimmed. By default \
                 the ticket's summary.",
            ),
        )],
    );
    vec![(
        "NewArticle",
        about(
            closed(new_article),
            "A ticket's export to publish: `{}` to title it by the ticket's summary.",
        ),
    )]
}

// ---- paths ----

pub(super) fn paths() -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for t in &TICKETS {
        all.extend(ticket_paths(t));
    }
    all
}

/// An HTML answer.
pub(crate) fn html(description: &str) -> Value {
    answer_as(
        description,
        "text/html; charset=utf-8",
        json!({ "type": "string" }),
    )
}

/// The export and the publication of a ticket of `t`'s kind.
fn ticket_paths(t: &Ticket) -> Vec<(String, Value)> {
    let (kind, title) = (t.kind, t.title);
    let (path, noun, one) = (t.path(), t.noun(), t.one());
    let missing = || not_found(&format!("no such {noun} in the tenant."));
    let download = json!({
        "description": "`attachment; filename=\"<reference>.html\"`.",
        "schema": { "type": "string" },
    });
    let exported = set(
        html(&format!(
            "The {noun} as HTML, served as {HTML_POLICY}, to save."
        )),
        "headers",
        json!({ "Content-Disposition": download }),
    );
    let export = operation(
        &format!("export{title}"),
        KNOWLEDGE_BASE,
        &format!("Export {one} to HTML"),
        &format!(
            "The {noun} rendered through the tenant's template, with only its actions flagged \
             `knowledge_base`, as a download. Admin, agent and integration tokens."
        ),
        responses(
            vec![(200, exported)],
            vec![
                unauthorized(),
                staff_only(),
                missing(),
                internal(),
                ticketing_down(),
            ],
        ),
    );
    let publish = operation(
        &format!("publish{title}"),
        KNOWLEDGE_BASE,
        &format!("Publish {one} to the knowledge base"),
        &format!(
            "Publishes the {noun}'s export (as `GET /api/v1/{path}/{{id}}/export` gives it now) as an \
             article, titled `title` or by default the {noun}'s summary. Publishing it again replaces its \
             article, keeping the article's id. Admin, agent and integration tokens."
        ),
        responses(
            vec![(201, answer("Published.", component("ArticleV1")))],
            vec![
                bad_body(
                    "`title` must not be blank (at most 200 characters, no control characters).",
                ),
                unauthorized(),
                staff_only(),
                missing(),
                too_large(),
                not_json(),
                internal(),
                ticketing_down(),
            ],
        ),
    );
    vec![
        (
            format!("/api/v1/{path}/{{id}}/export"),
            json!({ "get": with_parameters(export, vec![ticket_id(kind), traceparent()]) }),
        ),
        (
            format!("/api/v1/{path}/{{id}}/publish"),
            json!({
                "post": with_parameters(with_body(publish, "NewArticle"), vec![ticket_id(kind), traceparent()]),
            }),
        ),
    ]
}
