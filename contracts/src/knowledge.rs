//! The public knowledge base: tickets exported to HTML through the tenant's
//! template (only the actions flagged for the knowledge base), and the
//! articles published from them, which customers may read.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Actor;
use crate::ticket::TicketKind;

/// The tenant's export template (HTML with `{{placeholders}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbTemplateV1 {
    pub template: String,
    /// True while the tenant has not set its own.
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetKbTemplateV1 {
    pub viewer: Actor,
}

/// Sets the tenant's template; `null` goes back to the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetKbTemplateV1 {
    pub actor: Actor,
    pub template: Option<String>,
}

/// A ticket rendered to HTML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportV1 {
    pub reference: String,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportTicketV1 {
    pub viewer: Actor,
    pub kind: TicketKind,
    pub ticket: String,
}

/// Publishes the ticket's export as an article (again: replaces it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishArticleV1 {
    pub actor: Actor,
    pub kind: TicketKind,
    pub ticket: String,
    /// By default the ticket's summary.
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleV1 {
    pub id: Uuid,
    pub reference: String,
    pub title: String,
    pub html: String,
    pub published_by: Actor,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
}

/// An article in a list: everything but its body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleSummaryV1 {
    pub id: Uuid,
    pub reference: String,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListArticlesV1 {
    pub viewer: Actor,
    /// Case-insensitive text in the title.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetArticleV1 {
    pub viewer: Actor,
    pub article: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WithdrawArticleV1 {
    pub actor: Actor,
    pub article: Uuid,
}
