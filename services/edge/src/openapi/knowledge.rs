//! What the document says of the knowledge base beyond its operations
//! (declared in [`crate::knowledge`]): its tag, with the template's
//! placeholders, and how HTML is served.

use serde_json::{Value, json};

use super::{answer_as, tag};

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
             article (`POST /api/v1/{{kind}}/{{id}}/publish`; publishing again replaces it). Exactly the \
             ticket's actions flagged `knowledge_base` go in, public or private (the flag is the \
             decision to publish; a public action not flagged stays out), and its extended data. Every token of the tenant, customers \
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

/// An HTML answer.
pub(crate) fn html(description: &str) -> Value {
    answer_as(
        description,
        "text/html; charset=utf-8",
        json!({ "type": "string" }),
    )
}
