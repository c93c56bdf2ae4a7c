//! The public knowledge base: a ticket rendered to HTML through the
//! tenant's template, with exactly the actions flagged for the knowledge
//! base (the flag decides, as in the seed: a private note an agent flagged
//! goes in, a public action not flagged stays out; staff see the export
//! before they publish it), and the articles published from such exports.
//!
//! Templates are HTML with `{{placeholders}}` for the ticket (`reference`,
//! `kind`, `summary`, `description`, `resolution`, `status`, `priority`,
//! `category`, `service`, `created_at`, `resolved_at`) and one section,
//! `{{#actions}}…{{/actions}}`, repeated per flagged action with `text`,
//! `kind`, `author` and `created_at`, and `{{#fields}}…{{/fields}}`, per
//! extended data value, with `label` and `value`. Every value is HTML-escaped (line
//! breaks become `<br>`): what users typed can never become markup. A
//! template is checked when it is saved, so rendering cannot fail.

use contracts::incident::ActionV1;
use contracts::knowledge::*;
use contracts::limits::MAX_TEMPLATE;
use contracts::ticket::{TicketKind, TicketV1};
use contracts::{Actor, Envelope, Page, Role};
use runtime::paging::Paging;
use runtime::store::{Param, bind_all, from_micros, id_at, micros};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::desk::staff;
use crate::error::{Error, Result};
use crate::incidents;
use crate::tickets::{self, json_col};
use crate::validate::{MAX_SUMMARY, check_text};

pub const DEFAULT_TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{reference}}: {{summary}}</title>
<style>
body { font-family: sans-serif; max-width: 48em; margin: 2em auto; line-height: 1.5; color: #222; }
.ref, .by { color: #666; font-size: 0.9em; }
section { border-top: 1px solid #ddd; padding-top: 0.5em; }
</style>
</head>
<body>
<article>
<h1>{{summary}}</h1>
<p class="ref">{{reference}} &middot; {{kind}} &middot; logged {{created_at}}</p>
<h2>Description</h2>
<p>{{description}}</p>
<h2>Resolution</h2>
<p>{{resolution}}</p>
<dl>
{{#fields}}<dt>{{label}}</dt><dd>{{value}}</dd>
{{/fields}}</dl>
<h2>Notes</h2>
{{#actions}}<section>
<p>{{text}}</p>
<p class="by">{{author}}, {{created_at}}</p>
</section>
{{/actions}}</article>
</body>
</html>
"#;

const TICKET_FIELDS: &[&str] = &[
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
const ACTION_FIELDS: &[&str] = &["text", "kind", "author", "created_at"];
const FIELD_FIELDS: &[&str] = &["label", "value"];

/// A repeated section: once per flagged action, or per extended data field.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Section {
    Actions,
    Fields,
}

impl Section {
    fn parse(tag: &str) -> Option<Self> {
        match tag {
            "actions" => Some(Self::Actions),
            "fields" => Some(Self::Fields),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Actions => "actions",
            Self::Fields => "fields",
        }
    }

    fn known(self) -> &'static [&'static str] {
        match self {
            Self::Actions => ACTION_FIELDS,
            Self::Fields => FIELD_FIELDS,
        }
    }
}

#[derive(Debug, PartialEq)]
enum Part<'a> {
    Text(&'a str),
    Value(&'a str),
    Repeat(Section, Vec<Part<'a>>),
}

/// Parses a template; errors say what is wrong.
fn parse(template: &str) -> std::result::Result<Vec<Part<'_>>, String> {
    let mut top = Vec::new();
    // The section being read, if any (sections do not nest).
    let mut open: Option<(Section, Vec<Part<'_>>)> = None;
    let mut rest = template;
    while let Some(at) = rest.find("{{") {
        let (text, after) = rest.split_at(at);
        let here = match open.as_mut() {
            Some((_, parts)) => parts,
            None => &mut top,
        };
        if !text.is_empty() {
            here.push(Part::Text(text));
        }
        let Some(close) = after.find("}}") else {
            return Err("a {{ is not closed".into());
        };
        let name = after[2..close].trim();
        rest = &after[close + 2..];
        if let Some(tag) = name.strip_prefix('#') {
            let section = Section::parse(tag).ok_or(format!("unknown section {{{{#{tag}}}}}"))?;
            if let Some((outer, _)) = open {
                return Err(format!("{{{{#{tag}}}}} inside {{{{#{}}}}}", outer.name()));
            }
            open = Some((section, Vec::new()));
            continue;
        }
        if let Some(tag) = name.strip_prefix('/') {
            match open.take() {
                Some((section, parts)) if section.name() == tag => {
                    top.push(Part::Repeat(section, parts));
                }
                _ => return Err(format!("{{{{/{tag}}}}} closes no section")),
            }
            continue;
        }
        let known = open.as_ref().map_or(TICKET_FIELDS, |(s, _)| s.known());
        if !known.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{{{name}}}}} here; known: {}",
                known.join(", ")
            ));
        }
        match open.as_mut() {
            Some((_, parts)) => parts.push(Part::Value(name)),
            None => top.push(Part::Value(name)),
        }
    }
    if let Some((section, _)) = open {
        return Err(format!("{{{{#{}}}}} is not closed", section.name()));
    }
    if !rest.is_empty() {
        top.push(Part::Text(rest));
    }
    Ok(top)
}

/// HTML-escapes `s`; line breaks become `<br>`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn date(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

fn ticket_value(t: &TicketV1, name: &str) -> String {
    match name {
        "reference" => t.reference.clone(),
        "kind" => t.kind.noun().to_owned(),
        "summary" => t.summary.clone(),
        "description" => t.description.clone(),
        "resolution" => t.resolution.clone().unwrap_or_default(),
        "status" => t.status.clone(),
        "priority" => t.priority.to_string(),
        "category" => t.category.clone().unwrap_or_default(),
        "service" => t.service.clone().unwrap_or_default(),
        "created_at" => date(Some(t.created_at)),
        "resolved_at" => date(t.resolved_at),
        _ => String::new(),
    }
}

fn action_value(a: &ActionV1, name: &str) -> String {
    match name {
        "text" => a.text.clone(),
        "kind" => a.kind.as_str().to_owned(),
        "author" => a.author.name.clone(),
        "created_at" => date(Some(a.created_at)),
        _ => String::new(),
    }
}

/// Renders `t` with `actions` (already only the flagged ones) and
/// its extended data as (label, value) rows.
fn render(
    template: &str,
    t: &TicketV1,
    actions: &[ActionV1],
    fields: &[(String, String)],
) -> Result<String> {
    let parts = parse(template).map_err(|e| Error::field("template", e))?;
    let mut out = String::with_capacity(template.len() + t.description.len());
    for part in &parts {
        match part {
            Part::Text(s) => out.push_str(s),
            Part::Value(name) => out.push_str(&escape(&ticket_value(t, name))),
            Part::Repeat(section, inner) => {
                // Each repetition's values by placeholder name.
                let rows: Vec<Vec<(&str, String)>> = match section {
                    Section::Actions => actions
                        .iter()
                        .map(|a| {
                            ACTION_FIELDS
                                .iter()
                                .map(|n| (*n, action_value(a, n)))
                                .collect()
                        })
                        .collect(),
                    Section::Fields => fields
                        .iter()
                        .map(|(label, value)| {
                            vec![("label", label.clone()), ("value", value.clone())]
                        })
                        .collect(),
                };
                for row in &rows {
                    for p in inner {
                        match p {
                            Part::Text(s) => out.push_str(s),
                            Part::Value(name) => {
                                let value = row.iter().find(|(n, _)| n == name);
                                out.push_str(&escape(value.map_or("", |(_, v)| v)));
                            }
                            Part::Repeat(..) => {}
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `t`'s extended data as (label, value), in the order the fields are
/// defined; a value whose field was since removed shows under its key.
async fn field_rows(
    conn: &mut AnyConnection,
    tenant: Uuid,
    t: &TicketV1,
) -> Result<Vec<(String, String)>> {
    let mut defs = crate::fields::definitions(conn, tenant, t.kind).await?;
    if let Some(r) = &t.request
        && let Some(rt) =
            crate::fields::request_type(conn, tenant, &r.request_type_id.to_string()).await?
    {
        defs.extend(rt.fields);
    }
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut rows: Vec<(String, String)> = defs
        .iter()
        .filter_map(|d| t.fields.get(&d.key).map(|v| (d.label.clone(), text(v))))
        .collect();
    rows.extend(
        t.fields
            .iter()
            .filter(|(k, _)| !defs.iter().any(|d| &d.key == *k))
            .map(|(k, v)| (k.clone(), text(v))),
    );
    Ok(rows)
}

pub async fn template(conn: &mut AnyConnection, tenant: Uuid) -> Result<KbTemplateV1> {
    let own: Option<String> =
        sqlx::query_scalar("SELECT template FROM kb_templates WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match own {
        Some(template) => KbTemplateV1 {
            template,
            is_default: false,
        },
        None => KbTemplateV1 {
            template: DEFAULT_TEMPLATE.to_owned(),
            is_default: true,
        },
    })
}

pub async fn set_template(
    conn: &mut AnyConnection,
    env: &Envelope,
    cmd: SetKbTemplateV1,
) -> Result<KbTemplateV1> {
    if cmd.actor.role != Role::Admin {
        return Err(Error::not_found("knowledge base template"));
    }
    let tenant = env.tenant_id.to_string();
    match &cmd.template {
        Some(t) => {
            if t.len() > MAX_TEMPLATE {
                return Err(Error::field(
                    "template",
                    format!("at most {MAX_TEMPLATE} bytes"),
                ));
            }
            if t.contains('\0') {
                return Err(Error::field("template", "must not contain NUL"));
            }
            parse(t).map_err(|e| Error::field("template", e))?;
            sqlx::query(
                "INSERT INTO kb_templates (tenant_id, template) VALUES ($1, $2) \
                 ON CONFLICT (tenant_id) DO UPDATE SET template = excluded.template",
            )
            .bind(&tenant)
            .bind(t)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM kb_templates WHERE tenant_id = $1")
                .bind(&tenant)
                .execute(&mut *conn)
                .await?;
        }
    }
    template(conn, env.tenant_id).await
}

/// The ticket as the tenant's template renders it (staff only).
pub async fn export(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: TicketKind,
    key: &str,
    viewer: &Actor,
) -> Result<(TicketV1, ExportV1)> {
    staff(viewer, kind)?;
    let t = tickets::find(conn, tenant, kind, key, viewer).await?;
    let actions: Vec<ActionV1> = incidents::actions(conn, tenant, t.id, viewer)
        .await?
        .into_iter()
        .filter(|a| a.knowledge_base)
        .collect();
    let fields = field_rows(conn, tenant, &t).await?;
    let template = template(conn, tenant).await?.template;
    let html = render(&template, &t, &actions, &fields)?;
    let export = ExportV1 {
        reference: t.reference.clone(),
        html,
    };
    Ok((t, export))
}

pub async fn publish(
    tx: &mut AnyConnection,
    env: &Envelope,
    cmd: PublishArticleV1,
    now: OffsetDateTime,
) -> Result<ArticleV1> {
    let tenant = env.tenant_id;
    if let Some(title) = &cmd.title {
        check_text("title", title, MAX_SUMMARY, true)?;
    }
    let (t, export) = export(tx, tenant, cmd.kind, &cmd.ticket, &cmd.actor).await?;
    let title = cmd
        .title
        .map_or_else(|| t.summary.clone(), |s| s.trim().to_owned());
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM kb_articles WHERE tenant_id = $1 AND ticket_id = $2")
            .bind(tenant.to_string())
            .bind(t.id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
    let id = match existing.as_deref().map(Uuid::parse_str) {
        Some(Ok(id)) => id,
        _ => Uuid::now_v7(),
    };
    let actor = runtime::store::json_text(&cmd.actor)?;
    sqlx::query(
        "INSERT INTO kb_articles (id, tenant_id, ticket_id, reference, title, title_folded, html, \
         published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET title = excluded.title, \
         title_folded = excluded.title_folded, html = excluded.html, \
         published_by = excluded.published_by, published_at = excluded.published_at",
    )
    .bind(id.to_string())
    .bind(tenant.to_string())
    .bind(t.id.to_string())
    .bind(&t.reference)
    .bind(&title)
    .bind(title.to_lowercase())
    .bind(&export.html)
    .bind(actor)
    .bind(micros(now))
    .execute(&mut *tx)
    .await?;
    Ok(ArticleV1 {
        id,
        reference: t.reference,
        title,
        html: export.html,
        published_by: cmd.actor,
        published_at: now,
    })
}

pub async fn list(
    conn: &mut AnyConnection,
    tenant: Uuid,
    cmd: &ListArticlesV1,
    paging: Paging,
) -> Result<Page<ArticleSummaryV1>> {
    let mut sql = "SELECT id, reference, title, published_at FROM kb_articles WHERE tenant_id = $1"
        .to_owned();
    let mut args = vec![Param::from(tenant.to_string())];
    if let Some(text) = cmd.text.as_deref().filter(|t| !t.is_empty()) {
        args.push(Param::from(runtime::store::contains_pattern(text)));
        sql.push_str(&format!(
            " AND title_folded LIKE ${} ESCAPE '\\'",
            args.len()
        ));
    }
    sql.push_str(&paging.sql(&mut args));
    let rows = bind_all(sql, args).fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(ArticleSummaryV1 {
                id: id_at(r, "id")?,
                reference: r.try_get("reference")?,
                title: r.try_get("title")?,
                published_at: from_micros(r.try_get("published_at")?),
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(paging.page(items, |a| a.id))
}

pub async fn get(conn: &mut AnyConnection, tenant: Uuid, id: Uuid) -> Result<ArticleV1> {
    let row = sqlx::query(
        "SELECT id, reference, title, html, published_by, published_at FROM kb_articles \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found("article"))?;
    Ok(ArticleV1 {
        id: id_at(&row, "id")?,
        reference: row.try_get("reference")?,
        title: row.try_get("title")?,
        html: row.try_get("html")?,
        published_by: json_col(&row, "published_by")?,
        published_at: from_micros(row.try_get("published_at")?),
    })
}

pub async fn withdraw(
    tx: &mut AnyConnection,
    env: &Envelope,
    cmd: WithdrawArticleV1,
) -> Result<ArticleV1> {
    staff(&cmd.actor, TicketKind::Problem)?;
    let article = get(tx, env.tenant_id, cmd.article).await?;
    sqlx::query("DELETE FROM kb_articles WHERE tenant_id = $1 AND id = $2")
        .bind(env.tenant_id.to_string())
        .bind(cmd.article.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(article)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_template_parses() {
        assert!(parse(DEFAULT_TEMPLATE).is_ok());
    }

    #[test]
    fn templates_are_checked() {
        assert!(parse("{{summary").is_err());
        assert!(parse("{{nope}}").is_err());
        assert!(
            parse("{{text}}").is_err(),
            "an action field outside the section"
        );
        assert!(parse("{{#actions}}{{summary}}{{/actions}}").is_err());
        assert!(parse("{{#actions}}").is_err());
        assert!(parse("{{/actions}}").is_err());
        assert!(
            parse("{{#fields}}{{text}}{{/fields}}").is_err(),
            "an action field in fields"
        );
        assert!(parse("{{#fields}}{{#actions}}{{/actions}}{{/fields}}").is_err());
        assert!(parse("{{#fields}}{{/actions}}").is_err());
        assert!(parse("{{#nope}}{{/nope}}").is_err());
        assert!(
            parse("<dl>{{#fields}}<dt>{{label}}</dt><dd>{{value}}</dd>{{/fields}}</dl>").is_ok()
        );
        assert_eq!(
            parse("a{{ summary }}b").expect("parses"),
            vec![Part::Text("a"), Part::Value("summary"), Part::Text("b")]
        );
    }

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\"\nnext"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;<br>\nnext"
        );
    }
}
