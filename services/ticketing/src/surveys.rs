//! Satisfaction surveys: when an incident with a customer is resolved the
//! first time, the customer is offered one survey, answered once through a
//! link (rating 1 to 5 and a comment) within [`VALID_DAYS`]. The answers
//! feed the incident report.

use contracts::incident::{SurveyOfferedV1, SurveyV1};
use contracts::ticket::TicketV1;
use contracts::{Actor, Envelope, ErrorBody, ErrorCode};
use runtime::store::{from_micros, micros};
use sqlx::{AnyConnection, Row};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::tickets::small;
use crate::validate::check_text;

pub use contracts::incident::SURVEY_VALID_DAYS as VALID_DAYS;
use contracts::limits::{MAX_COMMENT, MAX_RATING};

/// A new link's token: the tenant (so the edge knows whose desk to ask)
/// and 244 random bits.
fn new_token(tenant: Uuid) -> String {
    format!(
        "{}{}{}",
        tenant.simple(),
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}

/// Offers `t`'s customer a survey, unless the incident already had one;
/// the new survey's token, if one was offered.
pub async fn offer(
    tx: &mut AnyConnection,
    batch: &mut Batch,
    env: &Envelope,
    t: &TicketV1,
    now: OffsetDateTime,
) -> Result<Option<String>> {
    let Some(customer) = t.customer_id else {
        return Ok(None);
    };
    let tenant = env.tenant_id;
    let offered: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM surveys WHERE tenant_id = $1 AND ticket_id = $2")
            .bind(tenant.to_string())
            .bind(t.id.to_string())
            .fetch_one(&mut *tx)
            .await?;
    if offered > 0 {
        return Ok(None);
    }
    let token = new_token(tenant);
    let expires_at = now + Duration::days(VALID_DAYS);
    sqlx::query(
        "INSERT INTO surveys (token, tenant_id, ticket_id, customer_id, offered_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&token)
    .bind(tenant.to_string())
    .bind(t.id.to_string())
    .bind(customer.to_string())
    .bind(micros(now))
    .bind(micros(expires_at))
    .execute(&mut *tx)
    .await?;
    batch.publish(
        env,
        &SurveyOfferedV1 {
            incident_id: t.id,
            reference: t.reference.clone(),
            customer_id: customer,
            token: token.clone(),
            expires_at,
        },
    );
    Ok(Some(token))
}

const SELECT: &str = "SELECT s.token, t.reference, t.summary, s.expires_at, s.rating, s.comment, \
    s.answered_at FROM surveys s JOIN tickets t ON t.id = s.ticket_id";

fn survey(r: &sqlx::any::AnyRow) -> sqlx::Result<SurveyV1> {
    Ok(SurveyV1 {
        token: r.try_get("token")?,
        reference: r.try_get("reference")?,
        summary: r.try_get("summary")?,
        expires_at: from_micros(r.try_get("expires_at")?),
        rating: small(r.try_get("rating")?),
        comment: r.try_get("comment")?,
        answered_at: r.try_get::<Option<i64>, _>("answered_at")?.map(from_micros),
    })
}

/// The survey behind `token`; an unknown or expired link is not found.
pub async fn by_token(
    conn: &mut AnyConnection,
    tenant: Uuid,
    token: &str,
    now: OffsetDateTime,
) -> Result<SurveyV1> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE s.tenant_id = $1 AND s.token = $2"
    )))
    .bind(tenant.to_string())
    .bind(token)
    .fetch_optional(&mut *conn)
    .await?;
    match row.as_ref().map(survey).transpose()? {
        Some(s) if s.expires_at > now || s.answered_at.is_some() => Ok(s),
        _ => Err(Error::not_found("survey")),
    }
}

/// The survey of an incident, for the incident's own customer.
pub async fn of_incident(
    conn: &mut AnyConnection,
    tenant: Uuid,
    incident: &TicketV1,
    viewer: &Actor,
) -> Result<SurveyV1> {
    if viewer.customer_scope().is_none() || incident.customer_id != viewer.customer_scope() {
        return Err(Error::not_found("survey"));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE s.tenant_id = $1 AND s.ticket_id = $2"
    )))
    .bind(tenant.to_string())
    .bind(incident.id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref()
        .map(survey)
        .transpose()?
        .ok_or_else(|| Error::not_found("survey"))
}

pub async fn answer(
    tx: &mut AnyConnection,
    tenant: Uuid,
    token: &str,
    rating: u8,
    comment: Option<String>,
    now: OffsetDateTime,
) -> Result<SurveyV1> {
    if !(1..=MAX_RATING).contains(&rating) {
        return Err(Error::field("rating", format!("must be 1 to {MAX_RATING}")));
    }
    let comment = comment.filter(|c| !c.trim().is_empty());
    if let Some(c) = &comment {
        check_text("comment", c, MAX_COMMENT, false)?;
    }
    let current = by_token(tx, tenant, token, now).await?;
    if current.answered_at.is_some() {
        return Err(Error::Refused(ErrorBody::new(
            ErrorCode::Conflict,
            "this survey has been answered",
        )));
    }
    let done = sqlx::query(
        "UPDATE surveys SET rating = $1, comment = $2, answered_at = $3 \
         WHERE tenant_id = $4 AND token = $5 AND answered_at IS NULL",
    )
    .bind(i64::from(rating))
    .bind(&comment)
    .bind(micros(now))
    .bind(tenant.to_string())
    .bind(token)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        // Another replica's answer committed first.
        return Err(Error::Retry(format!("concurrent update of survey {token}")));
    }
    Ok(SurveyV1 {
        rating: Some(rating),
        comment,
        answered_at: Some(now),
        ..current
    })
}
