//! The document's knowledge base, from the handlers in [`crate::knowledge`]
//! and the wire types in [`contracts::knowledge`]: the export and the
//! publication of a ticket of every kind (generated from
//! [`tickets::TICKETS`](super::tickets::TICKETS), as the routes are), the
//! articles, and the tenant's template.

use serde_json::{Value, json};

use super::tickets::{TICKETS, Ticket, ticket_id};
use super::{
    about, admin_only, answer, answer_as, bad_body, bad_query, closed, component, internal,
    not_found, not_json, object, operation, page, page_parameters, parameter, query, responses,
    set, staff_only, tag, text, text_or_null, ticketing_down, timestamp, too_large, traceparent,
    unauthorized, uuid, with_body, with_parameters,
};

const KNOWLEDGE_BASE: &str = "Knowledge base";

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

/// The longest template, in bytes.
const MAX_TEMPLATE: u32 = 100_000;

/// How the HTML goes out.
const HTML_POLICY: &str = "`text/html; charset=utf-8` under `Content-Security-Policy: default-src 'none'; \
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
    let article = object(
        &[
            "id",
            "reference",
            "title",
            "html",
            "published_by",
            "published_at",
        ],
        vec![
            (
                "id",
                about(
                    uuid(),
                    "The article's id; publishing the ticket again keeps it.",
                ),
            ),
            (
                "reference",
                about(text(), "The reference of the ticket it was published from."),
            ),
            ("title", text()),
            (
                "html",
                about(
                    text(),
                    "The ticket's export as it was when published: a whole HTML page.",
                ),
            ),
            ("published_by", component("Actor")),
            (
                "published_at",
                about(timestamp(), "When it was last published. RFC 3339."),
            ),
        ],
    );
    let summary = object(
        &["id", "reference", "title", "published_at"],
        vec![
            ("id", uuid()),
            ("reference", text()),
            ("title", text()),
            ("published_at", timestamp()),
        ],
    );
    let template = object(
        &["template", "is_default"],
        vec![
            (
                "template",
                about(
                    text(),
                    "HTML with placeholders (see the tag's description).",
                ),
            ),
            (
                "is_default",
                about(
                    json!({ "type": "boolean" }),
                    "True while the tenant has no template of its own and the default is used.",
                ),
            ),
        ],
    );
    let new_article = object(
        &[],
        vec![(
            "title",
            about(
                text_or_null(),
                "The article's title: not blank, at most 200 characters, no control characters; stored \
                 trimmed. By default the ticket's summary.",
            ),
        )],
    );
    let template_input = object(
        &["template"],
        vec![(
            "template",
            about(
                text_or_null(),
                &format!(
                    "The tenant's template (at most {MAX_TEMPLATE} bytes, no NUL), or null to go back to \
                     the default."
                ),
            ),
        )],
    );
    vec![
        (
            "ArticleV1",
            about(
                article,
                "An article of the knowledge base: a ticket's export, published.",
            ),
        ),
        (
            "ArticleSummaryV1",
            about(summary, "An article in a list: all but its HTML."),
        ),
        (
            "ArticlePage",
            page(
                "ArticleSummaryV1",
                "articles, newest first (by first publication)",
            ),
        ),
        (
            "KbTemplateV1",
            about(template, "The template tickets are exported through."),
        ),
        (
            "NewArticle",
            about(
                closed(new_article),
                "A ticket's export to publish: `{}` to title it by the ticket's summary.",
            ),
        ),
        (
            "KbTemplateInput",
            about(closed(template_input), "A template for the tenant."),
        ),
    ]
}

// ---- paths ----

pub(super) fn paths() -> Vec<(String, Value)> {
    let mut all = Vec::new();
    for t in &TICKETS {
        all.extend(ticket_paths(t));
    }
    all.extend(article_paths());
    all.extend(template_paths());
    all
}

/// An HTML answer.
fn html(description: &str) -> Value {
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

fn article_paths() -> Vec<(String, Value)> {
    let missing =
        || not_found("no such article in the tenant (an id that is not a UUID answers this too).");
    let mut filters = vec![query(
        "q",
        text(),
        "Only articles whose title contains this text, in any case (at most 200 characters).",
    )];
    filters.extend(page_parameters());
    filters.push(traceparent());
    let list = operation(
        "listArticles",
        KNOWLEDGE_BASE,
        "List articles",
        "One page of the tenant's articles, newest first by when each was first published (publishing \
         again keeps an article's place). Any token.",
        responses(
            vec![(200, answer("One page.", component("ArticlePage")))],
            vec![bad_query(), unauthorized(), internal(), ticketing_down()],
        ),
    );
    let get = operation(
        "getArticle",
        KNOWLEDGE_BASE,
        "Get an article",
        "An article with its HTML. Any token.",
        responses(
            vec![(200, answer("Found.", component("ArticleV1")))],
            vec![unauthorized(), missing(), internal(), ticketing_down()],
        ),
    );
    let show = operation(
        "getArticlePage",
        KNOWLEDGE_BASE,
        "Show an article",
        "The article's HTML as a page to show. Any token.",
        responses(
            vec![(
                200,
                html(&format!("The article's page, served as {HTML_POLICY}.")),
            )],
            vec![unauthorized(), missing(), internal(), ticketing_down()],
        ),
    );
    let withdraw = operation(
        "withdrawArticle",
        KNOWLEDGE_BASE,
        "Withdraw an article",
        "Removes the article from the knowledge base; its ticket stays, and may be published again (as a \
         new article). Admin, agent and integration tokens.",
        responses(
            vec![(
                200,
                answer("The article withdrawn.", component("ArticleV1")),
            )],
            vec![
                unauthorized(),
                staff_only(),
                missing(),
                internal(),
                ticketing_down(),
            ],
        ),
    );
    let id = || {
        parameter(
            "id",
            "path",
            true,
            uuid(),
            "The article's id; a value that is not a UUID answers 404.",
        )
    };
    vec![
        (
            "/api/v1/kb/articles".to_owned(),
            json!({ "get": with_parameters(list, filters) }),
        ),
        (
            "/api/v1/kb/articles/{id}".to_owned(),
            json!({
                "get": with_parameters(get, vec![id(), traceparent()]),
                "delete": with_parameters(withdraw, vec![id(), traceparent()]),
            }),
        ),
        (
            "/api/v1/kb/articles/{id}/html".to_owned(),
            json!({ "get": with_parameters(show, vec![id(), traceparent()]) }),
        ),
    ]
}

fn template_paths() -> Vec<(String, Value)> {
    let get = operation(
        "getKbTemplate",
        KNOWLEDGE_BASE,
        "Get the knowledge base template",
        "The template tickets are exported through: the tenant's own, or the default while it has none. \
         Admin, agent and integration tokens.",
        responses(
            vec![(200, answer("The template.", component("KbTemplateV1")))],
            vec![unauthorized(), staff_only(), internal(), ticketing_down()],
        ),
    );
    let put = operation(
        "setKbTemplate",
        KNOWLEDGE_BASE,
        "Set the knowledge base template",
        "Sets the tenant's template, or with `template: null` goes back to the default. Articles already \
         published keep their HTML until published again. Admin tokens only.",
        responses(
            vec![(200, answer("The template now.", component("KbTemplateV1")))],
            vec![
                bad_body(&format!(
                    "`template` must be at most {MAX_TEMPLATE} bytes without NUL, and a template: every \
                     `{{{{` closed by `}}}}`, only known placeholders, each where it belongs, and \
                     each section (`{{{{#actions}}}}`, `{{{{#fields}}}}`) closed by its own end, not nested; \
                     `details.fields.template` \
                     says what is wrong."
                )),
                unauthorized(),
                admin_only(),
                too_large(),
                not_json(),
                internal(),
                ticketing_down(),
            ],
        ),
    );
    vec![(
        "/api/v1/kb/template".to_owned(),
        json!({
            "get": with_parameters(get, vec![traceparent()]),
            "put": with_parameters(with_body(put, "KbTemplateInput"), vec![traceparent()]),
        }),
    )]
}
