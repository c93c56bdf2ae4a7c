//! The notification service's command handler: settings, templates,
//! previews and the delivery log the edge forwards, and the mail gateway's
//! messages ([`crate::inbound`]). A change runs in one transaction with its
//! inbox record, so a redelivered command is answered, not done again.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::commands::{NotificationChange, NotificationCommand, NotificationQuery};
use contracts::common::ReplyV1;
use contracts::notification::*;
use contracts::ticket::TicketKind;
use contracts::{Actor, Envelope, Role};
use runtime::bus::{Bus, HandlerError};
use runtime::commands::{self, Answers, Error, Result, reply};
use runtime::store::{Store, now};
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::compose::{Composer, due_texts};
use crate::templates::{self, Mode, SLA_NAMES};
use crate::tickets::{self, Ticket};
use crate::{inbound, outgoing, tenant};

/// The inbox name of the command consumer.
pub const CONSUMER: &str = "notification.commands";

pub struct Commands {
    pub store: Store,
    pub bus: Arc<dyn Bus>,
}

/// Only the desk's own people (and its integrations) see email settings,
/// templates and the delivery log; customers never.
fn staff(actor: &Actor) -> Result<()> {
    match actor.role {
        Role::Admin | Role::Agent | Role::Integration => Ok(()),
        _ => Err(Error::forbidden("only the desk's staff may do this")),
    }
}

/// The ticket `key` names (its id or reference): notification's copy, or
/// ticketing's answer if there is none yet.
async fn find_ticket(
    conn: &mut AnyConnection,
    bus: &Arc<dyn Bus>,
    env: &Envelope,
    key: &str,
) -> Result<Ticket> {
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
        .map_err(|e| Error::conflict(format!("ticketing did not answer: {e}")))?
        .ok_or_else(|| Error::not_found("ticket"))
}

impl Commands {
    async fn preview(
        &self,
        conn: &mut AnyConnection,
        env: &Envelope,
        c: PreviewEmailV1,
    ) -> Result<RenderedEmailV1> {
        staff(&c.viewer)?;
        let t = find_ticket(conn, &self.bus, env, &c.ticket).await?;
        let settings = tenant::settings(conn, env.tenant_id).await?;
        let template = match c.template {
            Some(t) => {
                templates::check(&t).map_err(|(f, m)| Error::field(f, m))?;
                t
            }
            None => {
                tenant::template_for(
                    conn,
                    env.tenant_id,
                    c.kind,
                    &c.language,
                    &settings.default_language,
                )
                .await?
            }
        };
        let public_url = settings.public_url.clone().unwrap_or_default();
        let mut composer = Composer::new(conn, env.tenant_id, settings);
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
            let (response, resolve, zone) = due_texts(composer.conn, env.tenant_id, t.id).await?;
            vars.insert("response_due", response);
            vars.insert("resolve_due", resolve);
            if let Some(zone) = zone {
                vars.insert(crate::compose::TIME_ZONE, zone);
            }
        }
        crate::compose::for_reader(&mut vars, t.kind, &template.language);
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
        Ok(rendered)
    }

    async fn list_templates(
        &self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        c: ListTemplatesV1,
    ) -> Result<Vec<EmailTemplateV1>> {
        staff(&c.viewer)?;
        let own = tenant::own_templates(conn, tenant).await?;
        let mut all: Vec<EmailTemplateV1> = EmailKind::ALL
            .into_iter()
            .flat_map(|kind| {
                templates::BUILTIN_LANGUAGES
                    .into_iter()
                    .filter_map(move |language| templates::builtin_in(kind, language))
            })
            .filter(|b| {
                !own.iter()
                    .any(|o| o.kind == b.kind && o.language == b.language)
            })
            .collect();
        all.extend(own);
        all.sort_by(|a, b| (a.kind, &a.language).cmp(&(b.kind, &b.language)));
        Ok(all)
    }
    /// A change, in the transaction `tx` ([`commands::once`] records it).
    async fn apply(
        &self,
        tx: &mut AnyConnection,
        tenant: Uuid,
        change: NotificationChange,
    ) -> std::result::Result<ReplyV1, HandlerError> {
        let at = now();
        match change {
            NotificationChange::SetNotificationSettingsV1(c) => reply::<SetNotificationSettingsV1>(
                async {
                    admin(&c.actor)?;
                    tenant::check_settings(&c.settings).map_err(|(f, m)| Error::field(&f, m))?;
                    tenant::save_settings(tx, tenant, &c.settings, at).await?;
                    Ok(c.settings)
                }
                .await,
            ),
            NotificationChange::PatchNotificationSettingsV1(c) => reply::<
                PatchNotificationSettingsV1,
            >(
                async {
                    admin(&c.actor)?;
                    let current =
                        tenant::settings_for_update(tx, self.store.backend(), tenant).await?;
                    let mut value = serde_json::to_value(&current)
                        .map_err(|e| Error::retry(format!("settings as JSON: {e}")))?;
                    contracts::common::merge_patch(&mut value, serde_json::Value::Object(c.patch));
                    let settings: NotificationSettingsV1 = serde_json::from_value(value)
                        .map_err(|e| Error::field("body", e.to_string()))?;
                    tenant::check_settings(&settings).map_err(|(f, m)| Error::field(&f, m))?;
                    tenant::save_settings(tx, tenant, &settings, at).await?;
                    Ok(settings)
                }
                .await,
            ),
            NotificationChange::PutTemplateV1(c) => reply::<PutTemplateV1>(
                async {
                    admin(&c.actor)?;
                    let mut t = c.template;
                    t.builtin = false;
                    templates::check(&t).map_err(|(f, m)| Error::field(f, m))?;
                    tenant::put_template(tx, tenant, &t, at).await?;
                    Ok(t)
                }
                .await,
            ),
            NotificationChange::DeleteTemplateV1(c) => reply::<DeleteTemplateV1>(
                async {
                    admin(&c.actor)?;
                    if !tenant::delete_template(tx, tenant, c.kind, &c.language).await? {
                        return Err(Error::not_found("template"));
                    }
                    // What applies now.
                    let settings = tenant::settings(tx, tenant).await?;
                    Ok(tenant::template_for(
                        tx,
                        tenant,
                        c.kind,
                        &c.language,
                        &settings.default_language,
                    )
                    .await?)
                }
                .await,
            ),
        }
    }
}

fn admin(actor: &Actor) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(Error::forbidden(
            "only an admin may change email settings and templates",
        ))
    }
}

#[async_trait]
impl Answers for Commands {
    type Commands = NotificationCommand;

    fn store(&self) -> &Store {
        &self.store
    }

    async fn query(
        &self,
        conn: &mut AnyConnection,
        env: &Envelope,
        query: NotificationQuery,
    ) -> std::result::Result<ReplyV1, HandlerError> {
        let tenant = env.tenant_id;
        match query {
            NotificationQuery::GetNotificationSettingsV1(c) => {
                reply::<GetNotificationSettingsV1>(
                    async {
                        staff(&c.viewer)?;
                        let mut settings = tenant::settings(conn, tenant).await?;
                        // The relay's password is the admins' to see.
                        if c.viewer.role != Role::Admin {
                            settings.smtp_url = settings.smtp_url.as_deref().map(tenant::masked);
                        }
                        Ok(settings)
                    }
                    .await,
                )
            }
            NotificationQuery::ListTemplatesV1(c) => {
                reply::<ListTemplatesV1>(self.list_templates(conn, tenant, c).await)
            }
            NotificationQuery::PreviewEmailV1(c) => {
                reply::<PreviewEmailV1>(self.preview(conn, env, c).await)
            }
            NotificationQuery::ListDeliveriesV1(c) => reply::<ListDeliveriesV1>(
                async {
                    staff(&c.viewer)?;
                    let t = find_ticket(conn, &self.bus, env, &c.ticket).await?;
                    Ok(outgoing::for_ticket(conn, tenant, t.id).await?)
                }
                .await,
            ),
            NotificationQuery::ReceiveEmailV1(c) => {
                reply::<ReceiveEmailV1>(inbound::receive(conn, &self.bus, env, c).await)
            }
        }
    }

    async fn change(
        &self,
        env: &Envelope,
        change: NotificationChange,
    ) -> std::result::Result<ReplyV1, HandlerError> {
        commands::once(&self.store, CONSUMER, env, async |tx| {
            self.apply(tx, env.tenant_id, change).await
        })
        .await
    }
}
