//! The notification service's command handler: settings, templates,
//! previews and the delivery log the edge forwards, and the mail gateway's
//! messages ([`crate::inbound`]). A change runs in one transaction with its
//! inbox record, so a redelivered command is answered, not done again.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::common::ReplyV1;
use contracts::notification::*;
use contracts::ticket::TicketKind;
use contracts::{Actor, Envelope, ErrorBody, ErrorCode, Message, Role};
use runtime::bus::{Bus, Handler, HandlerError, decoded};
use runtime::inbox;
use runtime::store::{Store, StoreError, now};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::compose::{Composer, Sla};
use crate::templates::{self, Mode, SLA_NAMES};
use crate::tickets::{self, Ticket};
use crate::{inbound, outgoing, tenant};

/// The inbox name of the command consumer.
pub const CONSUMER: &str = "notification.commands";

pub struct Commands {
    pub store: Store,
    pub bus: Arc<dyn Bus>,
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Why a command was refused, or a store failure (retried).
pub enum Refused {
    Error(ErrorBody),
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl Refused {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Error(ErrorBody::field(field, message))
    }

    pub fn not_found(what: &str) -> Self {
        Self::Error(ErrorBody::new(
            ErrorCode::NotFound,
            format!("{what} not found"),
        ))
    }
}

type Outcome = Result<serde_json::Value, Refused>;

fn settle(outcome: Outcome) -> Result<ReplyV1, HandlerError> {
    match outcome {
        Ok(v) => Ok(ReplyV1::Ok(v)),
        Err(Refused::Error(body)) => Ok(ReplyV1::Error(body)),
        Err(Refused::Store(e)) => Err(HandlerError::retry(e)),
    }
}

/// Only the desk's own people (and its integrations) see email settings,
/// templates and the delivery log; customers never.
fn staff(actor: &Actor) -> Result<(), Refused> {
    match actor.role {
        Role::Admin | Role::Agent | Role::Integration => Ok(()),
        _ => Err(Refused::Error(ErrorBody::new(
            ErrorCode::Forbidden,
            "only the desk's staff may do this",
        ))),
    }
}

/// The ticket `key` names (its id or reference): notification's copy, or
/// ticketing's answer if there is none yet.
async fn find_ticket(
    conn: &mut AnyConnection,
    bus: &Arc<dyn Bus>,
    env: &Envelope,
    key: &str,
) -> Result<Ticket, Refused> {
    let tenant = env.tenant_id;
    let found = match Uuid::parse_str(key) {
        Ok(id) => tickets::load(conn, tenant, id).await?,
        Err(_) => tickets::by_reference(conn, tenant, key).await?,
    };
    if let Some(t) = found {
        return Ok(t);
    }
    let kind = TicketKind::of_reference(key).unwrap_or(TicketKind::Incident);
    tickets::fetch(bus, env, kind, key)
        .await
        .map_err(|e| {
            Refused::Error(ErrorBody::new(
                ErrorCode::Conflict,
                format!("ticketing did not answer: {e}"),
            ))
        })?
        .ok_or_else(|| Refused::not_found("ticket"))
}

impl Commands {
    async fn preview(&self, env: &Envelope, c: PreviewEmailV1) -> Outcome {
        staff(&c.viewer)?;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let t = find_ticket(&mut conn, &self.bus, env, &c.ticket).await?;
        let settings = tenant::settings(&mut conn, env.tenant_id).await?;
        let template = match c.template {
            Some(t) => {
                templates::check(&t).map_err(|(f, m)| Refused::field(f, m))?;
                t
            }
            None => {
                tenant::template_for(
                    &mut conn,
                    env.tenant_id,
                    c.kind,
                    &c.language,
                    &settings.default_language,
                )
                .await?
            }
        };
        let public_url = settings.public_url.clone().unwrap_or_default();
        let sla = Sla {
            bus: self.bus.clone(),
            cause: env.clone(),
            unanswered: Default::default(),
        };
        let mut composer = Composer::new(&mut conn, env.tenant_id, settings, None);
        let mut vars = composer.vars(&t).await?;
        // What only some events fill in, shown with this ticket's values.
        let customer = vars.get("customer_name").cloned().unwrap_or_default();
        vars.insert("recipient_name", customer);
        vars.insert("action_text", t.last_action.clone().unwrap_or_default());
        vars.insert(
            "survey_url",
            format!(
                "{}/api/v1/surveys/<token>",
                public_url.trim_end_matches('/')
            ),
        );
        if templates::uses(&template, SLA_NAMES) {
            let (response, resolve) = sla.due(&t).await;
            vars.insert("response_due", response);
            vars.insert("resolve_due", resolve);
        }
        let rendered = RenderedEmailV1 {
            kind: c.kind,
            language: template.language.clone(),
            subject: templates::render(&template.subject, &vars, Mode::Subject),
            text: templates::render(&template.text, &vars, Mode::Text),
            html: template
                .html
                .as_deref()
                .map(|h| templates::render(h, &vars, Mode::Html)),
        };
        Ok(json(&rendered))
    }

    async fn list_templates(&self, env: &Envelope, c: ListTemplatesV1) -> Outcome {
        staff(&c.viewer)?;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let own = tenant::own_templates(&mut conn, env.tenant_id).await?;
        let mut all: Vec<EmailTemplateV1> = EmailKind::ALL
            .into_iter()
            .map(templates::builtin)
            .filter(|b| {
                !own.iter()
                    .any(|o| o.kind == b.kind && o.language == b.language)
            })
            .collect();
        all.extend(own);
        all.sort_by(|a, b| (a.kind, &a.language).cmp(&(b.kind, &b.language)));
        Ok(json(&all))
    }

    /// A change: done in one transaction with its inbox record.
    async fn change(&self, env: &Envelope) -> Result<ReplyV1, HandlerError> {
        let mut tx = self.store.begin().await.map_err(HandlerError::retry)?;
        let seen = inbox::check(&mut tx, CONSUMER, &[env.message_id])
            .await
            .map_err(HandlerError::retry)?;
        if let Some(Some(reply)) = seen.get(&env.message_id) {
            return serde_json::from_str(reply).map_err(HandlerError::retry);
        }
        let tenant = env.tenant_id;
        let at = now();
        let outcome: Outcome = match env.message_type.as_str() {
            SetNotificationSettingsV1::TYPE => {
                let c: SetNotificationSettingsV1 = decoded(env)?;
                async {
                    admin(&c.actor)?;
                    tenant::check_settings(&c.settings).map_err(|(f, m)| Refused::field(&f, m))?;
                    tenant::save_settings(&mut tx, tenant, &c.settings, at).await?;
                    Ok(json(&c.settings))
                }
                .await
            }
            PutTemplateV1::TYPE => {
                let c: PutTemplateV1 = decoded(env)?;
                async {
                    admin(&c.actor)?;
                    let mut t = c.template;
                    t.builtin = false;
                    templates::check(&t).map_err(|(f, m)| Refused::field(f, m))?;
                    tenant::put_template(&mut tx, tenant, &t, at).await?;
                    Ok(json(&t))
                }
                .await
            }
            DeleteTemplateV1::TYPE => {
                let c: DeleteTemplateV1 = decoded(env)?;
                async {
                    admin(&c.actor)?;
                    if !tenant::delete_template(&mut tx, tenant, c.kind, &c.language).await? {
                        return Err(Refused::not_found("template"));
                    }
                    // What applies now.
                    let settings = tenant::settings(&mut tx, tenant).await?;
                    let now_used = tenant::template_for(
                        &mut tx,
                        tenant,
                        c.kind,
                        &c.language,
                        &settings.default_language,
                    )
                    .await?;
                    Ok(json(&now_used))
                }
                .await
            }
            other => return Err(HandlerError::Reject(format!("unknown command {other}"))),
        };
        let reply = settle(outcome)?;
        let stored = serde_json::to_string(&reply).map_err(HandlerError::retry)?;
        inbox::record(&mut tx, CONSUMER, vec![(env.message_id, Some(stored))])
            .await
            .map_err(HandlerError::retry)?;
        tx.commit().await.map_err(HandlerError::retry)?;
        Ok(reply)
    }
}

fn admin(actor: &Actor) -> Result<(), Refused> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(Refused::Error(ErrorBody::new(
            ErrorCode::Forbidden,
            "only an admin may change email settings and templates",
        )))
    }
}

#[async_trait]
impl Handler for Commands {
    async fn handle(&self, env: Envelope) -> Result<Option<Envelope>, HandlerError> {
        let tenant = env.tenant_id;
        let reply = match env.message_type.as_str() {
            GetNotificationSettingsV1::TYPE => {
                let c: GetNotificationSettingsV1 = decoded(&env)?;
                settle(
                    async {
                        staff(&c.viewer)?;
                        let mut conn = self
                            .store
                            .pool()
                            .acquire()
                            .await
                            .map_err(StoreError::from)?;
                        let mut settings = tenant::settings(&mut conn, tenant).await?;
                        // The relay's password is the admins' to see.
                        if c.viewer.role != Role::Admin {
                            settings.smtp_url = settings.smtp_url.as_deref().map(tenant::masked);
                        }
                        Ok(json(&settings))
                    }
                    .await,
                )?
            }
            ListTemplatesV1::TYPE => settle(self.list_templates(&env, decoded(&env)?).await)?,
            PreviewEmailV1::TYPE => settle(self.preview(&env, decoded(&env)?).await)?,
            ListDeliveriesV1::TYPE => {
                let c: ListDeliveriesV1 = decoded(&env)?;
                settle(
                    async {
                        staff(&c.viewer)?;
                        let mut conn = self
                            .store
                            .pool()
                            .acquire()
                            .await
                            .map_err(StoreError::from)?;
                        let t = find_ticket(&mut conn, &self.bus, &env, &c.ticket).await?;
                        Ok(json(&outgoing::for_ticket(&mut conn, tenant, t.id).await?))
                    }
                    .await,
                )?
            }
            ReceiveEmailV1::TYPE => {
                let c: ReceiveEmailV1 = decoded(&env)?;
                settle(inbound::receive(&self.store, &self.bus, &env, c).await)?
            }
            _ => self.change(&env).await?,
        };
        Ok(Some(env.caused(&reply)))
    }
}
