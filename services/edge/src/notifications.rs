//! Email, forwarded to the notification service: the tenant's settings
//! and templates (`/api/v1/notifications/…`), a template previewed against
//! a ticket, the emails sent about a ticket (`/api/v1/{kind}/{id}/emails`),
//! and the mail gateway's door (`POST /api/v1/mail/inbound`), which takes
//! one RFC 5322 message and keeps its attachments on the ticket it became.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use contracts::Role;
use contracts::notification::*;
use contracts::ticket::TicketKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::attachments::{self, File};
use crate::auth::{Admin, Principal, Staff};
use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{Body, Path};
use crate::incidents::call;
use crate::tickets::{Kind, segment};

/// The largest message the mail gateway takes (attachments included).
pub const MAIL_MAX: usize = 25 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/notifications/settings", get(settings).put(set_settings))
        .route("/notifications/templates", get(templates))
        .route(
            "/notifications/templates/{kind}/{language}",
            put(put_template).delete(delete_template),
        )
        .route(
            "/notifications/templates/{kind}/{language}/preview",
            post(preview),
        )
        .route(
            "/mail/inbound",
            post(inbound).layer(DefaultBodyLimit::max(MAIL_MAX)),
        );
    for kind in TicketKind::ALL {
        router = router.route(&format!("/{}/{{id}}/emails", segment(kind)), get(emails));
    }
    router
}

fn kind(kind: &str) -> ApiResult<EmailKind> {
    EmailKind::parse(kind).ok_or_else(|| {
        ApiError::new(
            Code::NotFound,
            format!("no email kind {kind:?}: one of logged, resolved, action, assigned, broadcast, escalation_alert, escalation_customer, response_breach, customer_note, supplier"),
        )
    })
}

async fn settings(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
) -> ApiResult<Json<NotificationSettingsV1>> {
    let command = GetNotificationSettingsV1 {
        viewer: who.actor.clone(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn set_settings(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(settings): Body<NotificationSettingsV1>,
) -> ApiResult<Json<NotificationSettingsV1>> {
    let command = SetNotificationSettingsV1 {
        actor: who.actor.clone(),
        settings,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn templates(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<EmailTemplateV1>>> {
    let command = ListTemplatesV1 {
        viewer: who.actor.clone(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

/// A template's parts, as a tenant writes them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    subject: String,
    text: String,
    #[serde(default)]
    html: Option<String>,
}

async fn put_template(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path((email_kind, language)): Path<(String, String)>,
    Body(body): Body<TemplateBody>,
) -> ApiResult<Json<EmailTemplateV1>> {
    let command = PutTemplateV1 {
        actor: who.actor.clone(),
        template: EmailTemplateV1 {
            kind: kind(&email_kind)?,
            language,
            subject: body.subject,
            text: body.text,
            html: body.html,
            builtin: false,
        },
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn delete_template(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Path((email_kind, language)): Path<(String, String)>,
) -> ApiResult<Json<EmailTemplateV1>> {
    let command = DeleteTemplateV1 {
        actor: who.actor.clone(),
        kind: kind(&email_kind)?,
        language,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

/// The ticket to render against; a template to try instead of the one in
/// use (all three parts, or none).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    ticket: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    html: Option<String>,
}

async fn preview(
    State(state): State<AppState>,
    Staff(who): Staff,
    headers: HeaderMap,
    Path((email_kind, language)): Path<(String, String)>,
    Body(body): Body<PreviewBody>,
) -> ApiResult<Json<RenderedEmailV1>> {
    let email_kind = kind(&email_kind)?;
    let template = match (body.subject, body.text) {
        (Some(subject), Some(text)) => Some(EmailTemplateV1 {
            kind: email_kind,
            language: language.clone(),
            subject,
            text,
            html: body.html,
            builtin: false,
        }),
        (None, None) if body.html.is_none() => None,
        _ => {
            return Err(ApiError::field(
                "subject",
                "give subject and text (and html) to preview a template, or none to preview the one in use",
            ));
        }
    };
    let command = PreviewEmailV1 {
        viewer: who.actor.clone(),
        kind: email_kind,
        language,
        ticket: body.ticket,
        template,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

async fn emails(
    State(state): State<AppState>,
    Staff(who): Staff,
    Kind(ticket_kind): Kind,
    headers: HeaderMap,
    Path(ticket): Path<String>,
) -> ApiResult<Json<Vec<DeliveryV1>>> {
    // The ticket must be of the kind the path says (and visible).
    let command = contracts::ticket::GetTicketV1 {
        viewer: who.actor.clone(),
        kind: ticket_kind,
        ticket,
    };
    let t = call(&state, &who, &headers, &command).await?;
    let command = ListDeliveriesV1 {
        viewer: who.actor.clone(),
        ticket: t.id.to_string(),
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

/// What the gateway did with a message.
#[derive(Debug, Serialize, Deserialize)]
pub struct MailReceipt {
    pub outcome: String,
    pub reason: Option<String>,
    pub ticket_id: Option<Uuid>,
    pub reference: Option<String>,
    pub action_id: Option<Uuid>,
    pub attachments: Vec<KeptAttachment>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct KeptAttachment {
    pub filename: String,
    pub content_type: String,
    /// The attachment's id, if it was kept.
    pub id: Option<Uuid>,
    /// Why it was not kept (a type the desk does not take).
    pub refused: Option<String>,
}

/// The mail gateway's caller: an admin or integration token, checked
/// before the (large) body is read.
pub struct Gateway(pub Principal);

impl axum::extract::FromRequestParts<AppState> for Gateway {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let who = Principal::from_request_parts(parts, state).await?;
        who.require(&[Role::Admin, Role::Integration])?;
        Ok(Self(who))
    }
}

/// One RFC 5322 message (the body, as an MTA delivers it), from the mail
/// gateway.
async fn inbound(
    State(state): State<AppState>,
    Gateway(who): Gateway,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<MailReceipt>> {
    let raw = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                Code::PayloadTooLarge,
                format!("a message may be at most {MAIL_MAX} bytes"),
            )
        } else {
            ApiError::field("body", e.body_text())
        }
    })?;
    if raw.is_empty() {
        return Err(ApiError::field("body", "an RFC 5322 message"));
    }
    let command = ReceiveEmailV1 {
        actor: who.actor.clone(),
        raw_base64: BASE64.encode(&raw),
    };
    let r: EmailReceivedV1 = call(&state, &who, &headers, &command).await?;
    let mut kept = Vec::new();
    if let (Some(ticket_id), Some(reference)) = (r.ticket_id, r.reference.as_deref()) {
        let ticket_kind = TicketKind::of_reference(reference).unwrap_or(TicketKind::Incident);
        for (n, a) in r.attachments.iter().enumerate() {
            kept.push(keep_attachment(&state, &who, ticket_kind, ticket_id, &r, n, a).await?);
        }
    }
    Ok(Json(MailReceipt {
        outcome: r.outcome,
        reason: r.reason,
        ticket_id: r.ticket_id,
        reference: r.reference,
        action_id: r.action_id,
        attachments: kept,
    }))
}

/// Keeps one attachment of a received message on its ticket (public if
/// what the message became is), if it is of a type the desk takes; its id
/// is derived from the ticket, the action and its place, so the same
/// message delivered again keeps it once.
async fn keep_attachment(
    state: &AppState,
    who: &Principal,
    ticket_kind: TicketKind,
    ticket_id: Uuid,
    r: &EmailReceivedV1,
    n: usize,
    a: &ReceivedAttachmentV1,
) -> ApiResult<KeptAttachment> {
    let (action_id, public) = (r.action_id, r.public);
    let mut receipt = KeptAttachment {
        filename: a.filename.clone(),
        content_type: a.content_type.clone(),
        id: None,
        refused: None,
    };
    let Ok(bytes) = BASE64.decode(a.content_base64.as_bytes()) else {
        receipt.refused = Some("not base64".into());
        return Ok(receipt);
    };
    let checked = attachments::check_filename(&a.filename)
        .and_then(|name| Ok((name, attachments::check_content(&a.content_type, &bytes)?)));
    let (filename, content_type) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            receipt.refused = Some(e.message);
            return Ok(receipt);
        }
    };
    let id = runtime::ids::derived(&[
        b"mail-attachment",
        ticket_id.as_bytes(),
        action_id.unwrap_or_default().as_bytes(),
        &n.to_le_bytes(),
    ]);
    let file = File {
        id,
        ticket_kind,
        ticket_id,
        action_id,
        filename,
        content_type,
        public,
        uploaded_by: who.actor.clone(),
    };
    attachments::keep(state, who.tenant_id, file, &bytes).await?;
    receipt.id = Some(id);
    Ok(receipt)
}
