//! Email, forwarded to the notification service: the tenant's settings
//! and templates (`/api/v1/notifications/…`), a template previewed against
//! a ticket, the emails sent about a ticket (`/api/v1/{kind}/{id}/emails`),
//! and the mail gateway's door (`POST /api/v1/mail/inbound`), which takes
//! one RFC 5322 message and keeps its attachments on the ticket it became.
//! Each operation's documentation is declared with its route; the wire
//! types' schemas are [`contracts::notification`]'s.

use aide::OperationInput;
use aide::axum::ApiRouter;
use aide::axum::routing::{get_with, post_with, put_with};
use aide::generate::GenContext;
use aide::openapi::Operation;
use aide::transform::TransformOperation;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use contracts::Role;
use contracts::limits::ONE_LINE_PATTERN;
use contracts::notification::*;
use contracts::ticket::TicketKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::attachments::{self, File};
use crate::auth::{Admin, Principal, Staff};
use crate::error::{ApiError, ApiResult, Code};
use crate::extract::{Body, Path};
use crate::incidents::call;
use crate::openapi::declared::{Declare, failures, roles};
use crate::openapi::{
    EMAIL, bad_body, internal, not_found, parameter, service_down, ticket_id, ticket_of,
    unauthorized,
};
use crate::tickets::{Kind, segment};

/// The largest message the mail gateway takes (attachments included).
pub const MAIL_MAX: usize = 25 * 1024 * 1024;

pub fn routes() -> ApiRouter<AppState> {
    let mut router = ApiRouter::new()
        .api_route(
            "/notifications/settings",
            get_with(settings, settings_docs)
                .put_with(set_settings, set_settings_docs)
                .patch_with(patch_settings, patch_settings_docs),
        )
        .api_route(
            "/notifications/templates",
            get_with(templates, templates_docs),
        )
        .api_route(
            "/notifications/templates/{kind}/{language}",
            put_with(put_template, put_template_docs)
                .delete_with(delete_template, delete_template_docs),
        )
        .api_route(
            "/notifications/templates/{kind}/{language}/preview",
            post_with(preview, preview_docs),
        )
        .api_route(
            "/mail/inbound",
            post_with(inbound, inbound_docs).layer(DefaultBodyLimit::max(MAIL_MAX)),
        );
    for kind in TicketKind::ALL {
        router = router.api_route(
            &format!("/{}/{{id}}/emails", segment(kind)),
            get_with(emails, move |op| emails_docs(kind, op)),
        );
    }
    router
}

/// 409: notification had to ask ticketing about the ticket, which did not
/// answer.
fn ticket_not_heard() -> (u16, String) {
    (
        409,
        "`conflict`: the notification service has not heard of the ticket yet and ticketing did not \
         answer it; try again."
            .to_owned(),
    )
}

/// The path's `kind` and `language`; `language` as `what` says.
fn kind_and_language<'a>(op: TransformOperation<'a>, what: &str) -> TransformOperation<'a> {
    let language = json!({
        "type": "string",
        "minLength": 2,
        "maxLength": MAX_LANGUAGE,
        "pattern": LANGUAGE_PATTERN,
    });
    op.param(parameter(
        "kind",
        "path",
        true,
        json!({ "$ref": "#/components/schemas/EmailKind" }),
        "The kind of email; any other value answers 404.",
    ))
    .param(parameter(
        "language",
        "path",
        true,
        language,
        &format!("A language tag: `en`, `pt-BR`. {what}"),
    ))
}

/// What a template must be that its schema cannot say.
fn template_rules() -> String {
    "Besides its schema, in this order, with the field each names: the path's `language` a language \
     tag (`language`); `subject` with no line-breaking character, U+2028 and U+2029 included \
     (`subject`); then the placeholders of `subject`, `text` and `html` in turn, each a name the desk \
     knows and closed with `}}`, and each section `{{#name}}` closed by its own `{{/name}}` (the \
     part's name)."
        .to_owned()
}

fn kind(kind: &str) -> ApiResult<EmailKind> {
    EmailKind::parse(kind).ok_or_else(|| {
        ApiError::new(
            Code::NotFound,
            format!(
                "no email kind {kind:?}: one of {}",
                EmailKind::ALL.map(EmailKind::as_str).join(", ")
            ),
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

fn settings_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "getNotificationSettings",
        EMAIL,
        "Get the email settings",
        "The tenant's email settings, every field; the defaults until an admin sets them. Admin, agent \
         and integration tokens.",
    )
    .traced()
    .response_with::<200, Json<NotificationSettingsV1>, _>(|r| r.description("The settings."))
    .fails(vec![internal(), service_down("notification")])
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

fn set_settings_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "setNotificationSettings",
        EMAIL,
        "Replace the email settings",
        "Checks the settings and puts them in place of the tenant's, whole: a field left out takes its \
         default (a save of two fields clears the reply-to, the public URL and the broadcasts). To \
         change some fields and keep the rest, `PATCH`. Admin tokens only.",
    )
    .traced()
    .response_with::<200, Json<NotificationSettingsV1>, _>(|r| r.description("The settings now."))
    .fails(vec![
        bad_body(SETTINGS_RULES),
        internal(),
        service_down("notification"),
    ])
}

/// What the settings must be that their schema cannot say.
const SETTINGS_RULES: &str = "Besides its schema, with the field each names: `default_language` a \
     language the built-in templates can be written in (`default_language`); each address one that \
     mail takes (RFC 5321: `sender`, `reply_to`, `broadcasts[n].emails`, `suppliers[n].email`, \
     `desk_addresses`); `smtp_url` a URL the desk's mailer can connect with (`smtp_url`).";

async fn patch_settings(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: HeaderMap,
    Body(patch): Body<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Json<NotificationSettingsV1>> {
    let current = call(
        &state,
        &who,
        &headers,
        &GetNotificationSettingsV1 {
            viewer: who.actor.clone(),
        },
    )
    .await?;
    // Checked here, where a wrong field is said in plain words; applied by
    // notification to the settings as they are then, so a change made
    // since this read is kept.
    let _checked: NotificationSettingsV1 = crate::extract::merged(&current, patch.clone())?;
    let command = PatchNotificationSettingsV1 {
        actor: who.actor.clone(),
        patch,
    };
    Ok(Json(call(&state, &who, &headers, &command).await?))
}

fn patch_settings_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "patchNotificationSettings",
        EMAIL,
        "Change some email settings",
        "A JSON merge patch (RFC 7396) of the settings: each field given replaces that field, an object \
         (`sender`, `reply_to`) is merged field by field, `null` puts a field back to its default, and \
         every field not given stays as it is. Lists (`broadcasts`, `disabled`) are replaced whole. \
         The result is checked as a `PUT` body is. The patch is applied to the settings as they \
         are when it is written, so a change made meanwhile (another patch) is kept. Admin tokens \
         only.",
    )
    .traced()
    .response_with::<200, Json<NotificationSettingsV1>, _>(|r| r.description("The settings now."))
    .fails(vec![
        bad_body(SETTINGS_RULES),
        internal(),
        service_down("notification"),
    ])
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

fn templates_docs(op: TransformOperation) -> TransformOperation {
    op.about(
        "listEmailTemplates",
        EMAIL,
        "List email templates",
        "The tenant's templates, and the desk's built-in one (`builtin`, in `en`) of each kind the \
         tenant has not replaced in `en`, by kind (in the order of `EmailKind`) and language (not \
         paged). Admin, agent and integration tokens.",
    )
    .traced()
    .response_with::<200, Json<Vec<EmailTemplateV1>>, _>(|r| r.description("The templates."))
    .fails(vec![internal(), service_down("notification")])
}

/// A template's parts, as the tenant writes them; the kind and the
/// language are the path's. Its placeholders are as `EmailTemplate` says.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EmailTemplateInput")]
struct TemplateBody {
    /// Not blank, one line (no control or line-breaking characters).
    #[schemars(length(min = 1, max = MAX_SUBJECT), regex(pattern = ONE_LINE_PATTERN))]
    subject: String,
    /// The plain-text part.
    #[schemars(length(max = MAX_PART))]
    text: String,
    /// The HTML part, if any; its values are escaped.
    #[serde(default)]
    #[schemars(length(max = MAX_PART))]
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

fn put_template_docs(op: TransformOperation) -> TransformOperation {
    let op = op.about(
        "setEmailTemplate",
        EMAIL,
        "Set an email template",
        "Checks the template and keeps it as the tenant's for this kind and language, in place of the \
         one it had (a built-in one is replaced only in its language, `en`). Admin tokens only.",
    );
    kind_and_language(op, "Any other value answers 400.")
        .traced()
        .response_with::<200, Json<EmailTemplateV1>, _>(|r| r.description("The template now."))
        .fails(vec![
            bad_body(&template_rules()),
            not_found("`kind` is not a kind of email."),
            internal(),
            service_down("notification"),
        ])
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

fn delete_template_docs(op: TransformOperation) -> TransformOperation {
    let op = op.about(
        "deleteEmailTemplate",
        EMAIL,
        "Delete an email template",
        "Removes the tenant's template of this kind and language. Emails of the kind in the language \
         are then written from the tenant's template in its default language, or else the built-in \
         one. Admin tokens only.",
    );
    kind_and_language(op, "As the template was set; any other value answers 404.")
        .traced()
        .response_with::<200, Json<EmailTemplateV1>, _>(|r| {
            r.description(
                "Deleted: the template that applies now to the kind in the language (the tenant's in \
                 its default language, or the built-in one).",
            )
        })
        .fails(vec![
            not_found(
                "`kind` is not a kind of email, or the tenant has no template of its own for it in \
                 this language.",
            ),
            internal(),
            service_down("notification"),
        ])
}

/// What to preview: a ticket, and either a template to try (`subject` and
/// `text`, and `html` if it has one), checked as a saved one is, or none
/// of them, to preview the template in use for the path's kind and
/// language.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "EmailPreviewRequest", transform = all_or_none_of_a_template)]
struct PreviewBody {
    /// The ticket to fill the placeholders from: its id (a UUID) or its
    /// reference, of any kind.
    #[schemars(extend("examples" = ["INC-000042", "0190b3a4-7c1e-7d2a-9f3e-5b6c7d8e9f01"]))]
    ticket: String,
    /// With `text`: the subject of a template to try instead of the one in
    /// use, as `EmailTemplateInput`'s.
    #[serde(default)]
    #[schemars(length(min = 1, max = MAX_SUBJECT), regex(pattern = ONE_LINE_PATTERN))]
    subject: Option<String>,
    /// With `subject`: the text part of a template to try instead of the
    /// one in use.
    #[serde(default)]
    #[schemars(length(max = MAX_PART))]
    text: Option<String>,
    /// With `subject` and `text`: the HTML part of the template to try.
    #[serde(default)]
    #[schemars(length(max = MAX_PART))]
    html: Option<String>,
}

/// A preview gives `subject` and `text` (and maybe `html`), or none of
/// them.
fn all_or_none_of_a_template(schema: &mut schemars::Schema) {
    let given = json!({
        "required": ["subject", "text"],
        "properties": { "subject": { "type": "string" }, "text": { "type": "string" } },
    });
    let none = json!({ "properties": {
        "subject": { "type": "null" }, "text": { "type": "null" }, "html": { "type": "null" },
    } });
    schema.insert("anyOf".into(), json!([none, given]));
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

fn preview_docs(op: TransformOperation) -> TransformOperation {
    let op = op.about(
        "previewEmail",
        EMAIL,
        "Preview an email",
        "Fills a template from a ticket and answers the email as it would go out; nothing is sent or \
         stored. Without `subject` and `text` the template is the one in use for the kind in the \
         language (with the same fallbacks as a real email); with them, the template given, checked as \
         a saved one is. Admin, agent and integration tokens.",
    );
    kind_and_language(
        op,
        "The recipient's language: a template given is refused (400) with any other value; without \
         one, a language with no template falls back.",
    )
    .traced()
    .response_with::<200, Json<RenderedEmailV1>, _>(|r| r.description("The email."))
    .fails(vec![
        bad_body(&format!(
            "A template given is checked as `PUT /api/v1/notifications/templates/{{kind}}/{{language}}` \
             checks it. {}",
            template_rules()
        )),
        not_found("`kind` is not a kind of email, or the tenant has no such ticket."),
        ticket_not_heard(),
        internal(),
        service_down("notification"),
    ])
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

/// `GET /<kind>/{id}/emails`.
fn emails_docs(kind: TicketKind, op: TransformOperation) -> TransformOperation {
    let t = ticket_of(kind);
    let noun = kind.noun();
    op.about(
        &format!("list{}Emails", t.title),
        EMAIL,
        &format!("List the emails about {}", t.one()),
        &format!(
            "Every email the desk sent, or is sending, about the {noun}, to anyone, newest first, at \
             most {MAX_DELIVERIES} (not paged). Admin, agent and integration tokens."
        ),
    )
    .param(ticket_id(kind))
    .traced()
    .response_with::<200, Json<Vec<DeliveryV1>>, _>(|r| r.description("The emails."))
    .fails(vec![
        not_found(&format!("no such {noun} in the tenant.")),
        ticket_not_heard(),
        internal(),
        (
            503,
            "`dependency_unavailable`: the message broker, the ticketing service or the notification \
             service is unavailable, or one of them did not answer in time."
                .to_owned(),
        ),
    ])
}

/// What the desk did with a message.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct MailReceipt {
    /// `added`: a note on the ticket it answers; `reopened`: the ticket it
    /// answers was resolved (or otherwise done), is open again and has the
    /// note; `logged`: a new incident; `ignored`: an auto-reply, bulk mail,
    /// a bounce or mail from the desk itself, which makes no ticket;
    /// `duplicate`: a message (by its Message-ID) processed before: the
    /// answer is the first one's, with its attachments again.
    #[schemars(extend("enum" = ["added", "reopened", "logged", "ignored", "duplicate"]))]
    pub outcome: String,
    /// Why, when there is more to say: why it was ignored, what it
    /// duplicates (`already processed as added`), or why a reply became a
    /// new incident (`INC-000042 is closed`).
    pub reason: Option<String>,
    /// The ticket it was added to or logged as; null if it was ignored.
    pub ticket_id: Option<Uuid>,
    /// That ticket's reference.
    pub reference: Option<String>,
    /// The note it became (`id` of an `ActionV1`), which its attachments
    /// are on; null for a new incident (they are on the ticket) or an
    /// ignored message.
    pub action_id: Option<Uuid>,
    /// The message's attachments, in order, up to the size the Email tag
    /// says in all (the rest are left out); empty if it made no ticket.
    pub attachments: Vec<KeptAttachment>,
}

/// One attachment of a message, kept or not.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "MailAttachment")]
pub struct KeptAttachment {
    /// Its name in the message (`attachment` if it has none).
    pub filename: String,
    /// Its type in the message, lowercase.
    pub content_type: String,
    /// The kept file's id (`GET /api/v1/attachments/{id}`); null if it was
    /// refused. The same message delivered again keeps it once, under the
    /// same id.
    pub id: Option<Uuid>,
    /// Why it was not kept: a type the desk does not keep, bytes that are
    /// not of their type, a name it cannot take; null if it was kept. A
    /// public file on the ticket otherwise.
    pub refused: Option<String>,
}

/// The mail gateway's caller: an admin or integration token, checked
/// before the (large) body is read.
pub struct Gateway(pub Principal);

impl OperationInput for Gateway {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        roles(operation, &[Role::Admin, Role::Integration]);
        failures(
            operation,
            vec![
                unauthorized(),
                crate::openapi::rate_limited(),
                (
                    403,
                    "`forbidden`: only admin and integration tokens may hand in mail.".to_owned(),
                ),
            ],
        );
    }
}

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

/// The largest message: `25 MiB (26214400 bytes)`.
fn mail_max() -> String {
    format!("{} MiB ({MAIL_MAX} bytes)", MAIL_MAX / (1024 * 1024))
}

fn inbound_docs(op: TransformOperation) -> TransformOperation {
    let body = json!({
        "required": true,
        "description": format!(
            "The message's bytes, as they are (not JSON, not multipart), headers and body, at most \
             {}. Send it as `message/rfc822`; the `Content-Type` is not checked.",
            mail_max()
        ),
        "content": {
            "message/rfc822": { "schema": { "type": "string", "format": "binary" } },
        },
    });
    op.about(
        "receiveMail",
        EMAIL,
        "Hand in a received email",
        &format!(
            "The mail gateway's door: one RFC 5322 message, as an MTA delivered it, becomes a note on \
             the ticket it answers, reopens that ticket, logs a new incident, or is ignored (see the \
             Email tag); its attachments of the types the desk keeps are kept on the ticket as public \
             files, on the note it became. The message is processed once by its Message-ID (by a \
             digest of its bytes if it has none): handing it in again answers `duplicate`, and keeps \
             any attachment not kept yet. A 409 or 503 means \"not now\": hand the same message in \
             again later (the gateway answers the MTA 75 or 451). Admin and integration tokens, of \
             the tenant the mail is for; at most {}.",
            mail_max()
        ),
    )
    .raw_body(body)
    .traced()
    .response_with::<200, Json<MailReceipt>, _>(|r| r.description("What the desk did."))
    .fails(vec![
        (
            400,
            format!(
                "`validation_failed`: the body is empty or could not be read (`body`); it is not an \
                 RFC 5322 message, with a `From` or a `Subject` (`message`); or ticketing refused the \
                 note or incident it would become (`details.fields` names the field: a text over {} \
                 characters, or with control characters; a customer's reply with no text).",
                contracts::limits::MAX_TEXT
            ),
        ),
        (
            409,
            "`conflict`: not now: ticketing did not answer the notification service; hand the \
             message in again later."
                .to_owned(),
        ),
        (
            413,
            format!(
                "`payload_too_large`: the message is larger than {}.",
                mail_max()
            ),
        ),
        internal(),
        (
            503,
            "`dependency_unavailable`: the desk's database, the message broker or the notification \
             service is unavailable, or notification did not answer in time; hand the message in \
             again later."
                .to_owned(),
        ),
    ])
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
