//! The public knowledge base: tickets exported to HTML through the tenant's
//! template (only the actions flagged for the knowledge base), and the
//! articles published from them, which customers may read.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Actor;
use crate::ticket::TicketKind;

/// The template tickets are exported through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct KbTemplateV1 {
    /// HTML with placeholders (see the tag's description).
    pub template: String,
    /// True while the tenant has no template of its own and the default is
    /// used.
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

/// An article of the knowledge base: a ticket's export, published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ArticleV1 {
    /// The article's id; publishing the ticket again keeps it.
    pub id: Uuid,
    /// The reference of the ticket it was published from.
    pub reference: String,
    pub title: String,
    /// The ticket's export as it was when published: a whole HTML page.
    pub html: String,
    pub published_by: Actor,
    /// When it was last published.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::Timestamp"))]
    pub published_at: OffsetDateTime,
}

/// An article in a list: all but its HTML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ArticleSummaryV1 {
    pub id: Uuid,
    pub reference: String,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::schema::Timestamp"))]
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
