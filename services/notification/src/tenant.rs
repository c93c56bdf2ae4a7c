//! A tenant's email settings and its own templates, as stored, with the
//! checks a change must pass.

use contracts::limits::{MAX_PRIORITY, MAX_SUMMARY};
use contracts::notification::{EmailKind, EmailTemplateV1, NotificationSettingsV1};
use runtime::store::{Param, StoreError, micros, upsert_many};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::message;
use crate::templates;

/// The tenant's settings, or the defaults if it never set any.
pub async fn settings(
    conn: &mut AnyConnection,
    tenant: Uuid,
) -> Result<NotificationSettingsV1, StoreError> {
    let json: Option<String> =
        sqlx::query_scalar("SELECT settings FROM mail_settings WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    // No row: the defaults. A row that does not read back is an error.
    Ok(json
        .map(|j| serde_json::from_str(&j))
        .transpose()
        .map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))?
        .unwrap_or_default())
}

/// The settings as [`settings`] reads them, locked for the caller's
/// transaction (a row of defaults is written first if there is none), so
/// two concurrent changes apply one after the other.
pub async fn settings_for_update(
    conn: &mut AnyConnection,
    backend: runtime::store::Backend,
    tenant: Uuid,
) -> Result<NotificationSettingsV1, StoreError> {
    sqlx::query(
        "INSERT INTO mail_settings (tenant_id, settings, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant.to_string())
    .bind(runtime::store::json_text(
        &NotificationSettingsV1::default(),
    )?)
    .bind(micros(runtime::store::now()))
    .execute(&mut *conn)
    .await?;
    let lock = match backend {
        runtime::store::Backend::Postgres => " FOR UPDATE",
        runtime::store::Backend::Sqlite => "",
    };
    let json: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT settings FROM mail_settings WHERE tenant_id = $1{lock}"
    )))
    .bind(tenant.to_string())
    .fetch_one(&mut *conn)
    .await?;
    serde_json::from_str(&json).map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))
}

/// What is wrong with `s`, as (field, message).
pub fn check_settings(s: &NotificationSettingsV1) -> Result<(), (String, String)> {
    let field = |f: &str, m: String| Err((f.to_owned(), m));
    let probe = EmailTemplateV1 {
        language: s.default_language.clone(),
        ..templates::builtin(EmailKind::Logged)
    };
    if let Err((_, m)) = templates::check(&probe) {
        return field("default_language", m);
    }
    // Names go into headers and greetings: one line, as the directory's.
    let mut names = vec![("sender.name".to_owned(), s.sender.name.as_deref())];
    names.extend(
        s.reply_to
            .iter()
            .map(|r| ("reply_to.name".to_owned(), r.name.as_deref())),
    );
    names.extend(
        s.suppliers
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("suppliers[{i}].name"), c.name.as_deref())),
    );
    names.extend(
        s.broadcasts
            .iter()
            .enumerate()
            .map(|(i, b)| (format!("broadcasts[{i}].name"), Some(b.name.as_str()))),
    );
    for (at, name) in names {
        if let Some(name) = name
            && (name.chars().count() > MAX_SUMMARY || name.chars().any(char::is_control))
        {
            return field(
                &at,
                format!("at most {MAX_SUMMARY} characters, no control characters"),
            );
        }
    }
    if let Err(m) = message::mailbox(&s.sender) {
        return field("sender", m);
    }
    if let Some(Err(m)) = s.reply_to.as_ref().map(message::mailbox) {
        return field("reply_to", m);
    }
    if let Some(url) = &s.smtp_url {
        let parsed = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url);
        if !(url.starts_with("smtp://") || url.starts_with("smtps://")) || parsed.is_err() {
            return field(
                "smtp_url",
                "an smtp:// or smtps:// URL, e.g. smtp://relay:587?tls=required".into(),
            );
        }
    }
    if let Some(url) = &s.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return field("public_url", "an http:// or https:// URL".into());
    }
    for (i, b) in s.broadcasts.iter().enumerate() {
        if b.name.trim().is_empty() {
            return field(&format!("broadcasts[{i}].name"), "must not be empty".into());
        }
        if b.priority_at_most
            .is_some_and(|p| !(1..=MAX_PRIORITY).contains(&p))
        {
            return field(
                &format!("broadcasts[{i}].priority_at_most"),
                format!("1 (highest) to {MAX_PRIORITY}"),
            );
        }
        if let Some(bad) = b
            .kinds
            .iter()
            .find(|k| contracts::ticket::TicketKind::parse(k).is_none())
        {
            return field(
                &format!("broadcasts[{i}].kinds"),
                format!("no ticket kind {bad:?}"),
            );
        }
        for e in &b.emails {
            if let Err(m) = message::address(e) {
                return field(&format!("broadcasts[{i}].emails"), m);
            }
        }
    }
    for (i, c) in s.suppliers.iter().enumerate() {
        if let Err(m) = message::address(&c.email) {
            return field(&format!("suppliers[{i}].email"), m);
        }
    }
    for e in &s.desk_addresses {
        if let Err(m) = message::address(e) {
            return field("desk_addresses", m);
        }
    }
    Ok(())
}

/// `url` with its password (if any) hidden: `smtp://user:***@host:587`.
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

pub async fn save_settings(
    conn: &mut AnyConnection,
    tenant: Uuid,
    s: &NotificationSettingsV1,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    upsert_many(
        conn,
        "mail_settings",
        &["tenant_id", "settings", "updated_at"],
        "tenant_id",
        vec![vec![
            Param::from(tenant.to_string()),
            Param::from(runtime::store::json_text(s)?),
            Param::from(micros(now)),
        ]],
    )
    .await?;
    Ok(())
}

fn template(r: &sqlx::any::AnyRow) -> sqlx::Result<EmailTemplateV1> {
    let kind: String = r.try_get("kind")?;
    let kind = EmailKind::parse(&kind)
        .ok_or_else(|| sqlx::Error::Decode(format!("no email kind {kind:?}").into()))?;
    Ok(EmailTemplateV1 {
        kind,
        language: r.try_get("language")?,
        subject: r.try_get("subject")?,
        text: r.try_get("text_body")?,
        html: r.try_get("html_body")?,
        builtin: false,
    })
}

const SELECT: &str =
    "SELECT kind, language, subject, text_body, html_body FROM mail_templates WHERE tenant_id = $1";

/// The tenant's own templates, by kind and language.
pub async fn own_templates(
    conn: &mut AnyConnection,
    tenant: Uuid,
) -> Result<Vec<EmailTemplateV1>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} ORDER BY kind, language"
    )))
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        out.push(template(r)?);
    }
    Ok(out)
}

/// The template an email of `kind` to someone who reads `language` is
/// written from: the tenant's in that language, else the tenant's in its
/// default language, else the desk's own (English). The language it is in
/// comes with it.
pub async fn template_for(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: EmailKind,
    language: &str,
    default_language: &str,
) -> Result<EmailTemplateV1, StoreError> {
    // Along the language tag: the tenant's own template, else the desk's in
    // that language (English, French, Dutch), else the next tag's.
    for lang in fallbacks(language, default_language) {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} AND kind = $2 AND language = $3"
        )))
        .bind(tenant.to_string())
        .bind(kind.as_str())
        .bind(&lang)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(t) = row.as_ref().map(template).transpose()? {
            return Ok(t);
        }
        // The desk's own for this very tag (a tenant's `fr` comes before
        // the desk's, for a reader of `fr-CA`).
        let desks = templates::BUILTIN_LANGUAGES
            .iter()
            .any(|b| b.eq_ignore_ascii_case(&lang));
        if let Some(t) = desks.then(|| templates::builtin_in(kind, &lang)).flatten() {
            return Ok(t);
        }
    }
    Ok(templates::builtin(kind))
}

/// The languages a template is looked for in, in order: `language`, then
/// it less its last subtag, and so on (`fr-CA`, `fr`), then the tenant's
/// default likewise, each once and in any case.
pub fn fallbacks(language: &str, default_language: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in [language, default_language] {
        let mut tag = tag.trim().to_owned();
        while !tag.is_empty() {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&tag)) {
                out.push(tag.clone());
            }
            match tag.rfind('-') {
                Some(i) => tag.truncate(i),
                None => break,
            }
        }
    }
    out
}

pub async fn put_template(
    conn: &mut AnyConnection,
    tenant: Uuid,
    t: &EmailTemplateV1,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    upsert_many(
        conn,
        "mail_templates",
        &[
            "tenant_id",
            "kind",
            "language",
            "subject",
            "text_body",
            "html_body",
            "updated_at",
        ],
        "tenant_id, kind, language",
        vec![vec![
            Param::from(tenant.to_string()),
            Param::from(t.kind.as_str()),
            Param::from(t.language.clone()),
            Param::from(t.subject.clone()),
            Param::from(t.text.clone()),
            Param::from(t.html.clone()),
            Param::from(micros(now)),
        ]],
    )
    .await?;
    Ok(())
}

/// Removes the tenant's template; whether there was one.
pub async fn delete_template(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: EmailKind,
    language: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "DELETE FROM mail_templates WHERE tenant_id = $1 AND kind = $2 AND language = $3",
    )
    .bind(tenant.to_string())
    .bind(kind.as_str())
    .bind(language)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

#[cfg(test)]
mod tests {
    use contracts::notification::{BroadcastRuleV1, MailboxV1, SupplierContactV1};
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_relays_password_is_masked() {
        assert_eq!(
            masked("smtps://desk:s3cret@relay.example:465"),
            "smtps://desk:***@relay.example:465"
        );
        assert_eq!(masked("smtp://relay.example:25"), "smtp://relay.example:25");
    }

    #[test]
    fn a_language_falls_back_along_its_tag() {
        assert_eq!(fallbacks("fr-CA", "en"), ["fr-CA", "fr", "en"]);
        assert_eq!(
            fallbacks("zh-Hant-TW", "en-GB"),
            ["zh-Hant-TW", "zh-Hant", "zh", "en-GB", "en"]
        );
        assert_eq!(fallbacks("en", "en"), ["en"]);
    }

    #[test]
    fn every_name_refuses_control_characters() {
        let named = |name: &str| MailboxV1 {
            email: "desk@example.com".into(),
            name: Some(name.into()),
        };
        let refused = |s: NotificationSettingsV1| check_settings(&s).expect_err("refused").0;
        let bad = "Desk\r\nBcc: x@example.com";
        assert!(check_settings(&NotificationSettingsV1::default()).is_ok());
        assert_eq!(
            refused(NotificationSettingsV1 {
                sender: named(bad),
                ..Default::default()
            }),
            "sender.name"
        );
        assert_eq!(
            refused(NotificationSettingsV1 {
                reply_to: Some(named("a\u{7}")),
                ..Default::default()
            }),
            "reply_to.name"
        );
        assert_eq!(
            refused(NotificationSettingsV1 {
                suppliers: vec![SupplierContactV1 {
                    supplier_id: Uuid::nil(),
                    email: "s@example.com".into(),
                    name: Some(bad.into()),
                }],
                ..Default::default()
            }),
            "suppliers[0].name"
        );
        assert_eq!(
            refused(NotificationSettingsV1 {
                broadcasts: vec![BroadcastRuleV1 {
                    name: bad.into(),
                    kinds: vec![],
                    priority_at_most: None,
                    service: None,
                    agents: vec![],
                    emails: vec![],
                }],
                ..Default::default()
            }),
            "broadcasts[0].name"
        );
        assert_eq!(
            refused(NotificationSettingsV1 {
                sender: named(&"n".repeat(MAX_SUMMARY + 1)),
                ..Default::default()
            }),
            "sender.name"
        );
    }
}
