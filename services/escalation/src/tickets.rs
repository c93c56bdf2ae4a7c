//! The escalation service's copy of the tickets it follows: what chooses a
//! ticket's SLA (kind, priority, service) and what its timepoints need
//! (reference, assignee, team, customer), with the clocks of its two
//! targets. Kept from ticketing's events only.

use std::collections::HashMap;

use jiff::Timestamp;
use runtime::store::{
    Backend, Param, StoreError, bind_all, id_at, placeholders, u8_at, upsert_many, uuid_at,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use crate::clock::Clock;

/// The two targets every SLA row has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Which {
    Response,
    Resolve,
}

impl Which {
    pub const BOTH: [Self; 2] = [Self::Response, Self::Resolve];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Response => "response",
            Self::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::BOTH.into_iter().find(|w| w.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    pub ticket_id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub reference: String,
    pub status: String,
    pub priority: u8,
    pub service: Option<String>,
    pub customer_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub version: i64,
    pub last_at: Timestamp,
    /// When it was logged, if the events said (clocks count from then).
    pub logged_at: Option<Timestamp>,
    pub sla_id: Option<Uuid>,
    pub calendar_id: Option<Uuid>,
    pub response: Option<Clock>,
    pub resolve: Option<Clock>,
}

impl Tracked {
    pub fn clock(&self, which: Which) -> Option<&Clock> {
        match which {
            Which::Response => self.response.as_ref(),
            Which::Resolve => self.resolve.as_ref(),
        }
    }

    pub fn clock_mut(&mut self, which: Which) -> Option<&mut Clock> {
        match which {
            Which::Response => self.response.as_mut(),
            Which::Resolve => self.resolve.as_mut(),
        }
    }
}

const COLUMNS: [&str; 22] = [
    "ticket_id",
    "tenant_id",
    "kind",
    "reference",
    "status",
    "priority",
    "service",
    "customer_id",
    "company_id",
    "assignee_id",
    "team_id",
    "version",
    "last_at",
    "sla_id",
    "calendar_id",
    "response",
    "resolve",
    "response_met_at",
    "response_breached_at",
    "resolve_met_at",
    "resolve_breached_at",
    "logged_at",
];

fn text(u: Option<Uuid>) -> Param {
    Param::from(u.map(|u| u.to_string()))
}

fn at(t: Option<Timestamp>) -> Param {
    Param::from(t.map(|t| t.as_microsecond()))
}

fn params(t: &Tracked) -> Result<Vec<Param>, StoreError> {
    let clock_json = |c: &Option<Clock>| -> Result<Param, StoreError> {
        Ok(Param::from(
            c.as_ref().map(runtime::store::json_text).transpose()?,
        ))
    };
    let met = |c: &Option<Clock>| at(c.as_ref().and_then(|c| c.met_at));
    let breached = |c: &Option<Clock>| at(c.as_ref().and_then(|c| c.breached_at));
    Ok(vec![
        Param::from(t.ticket_id.to_string()),
        Param::from(t.tenant_id.to_string()),
        Param::from(t.kind.clone()),
        Param::from(t.reference.clone()),
        Param::from(t.status.clone()),
        Param::from(i64::from(t.priority)),
        Param::from(t.service.clone()),
        text(t.customer_id),
        text(t.company_id),
        text(t.assignee_id),
        text(t.team_id),
        Param::from(t.version),
        Param::from(t.last_at.as_microsecond()),
        text(t.sla_id),
        text(t.calendar_id),
        clock_json(&t.response)?,
        clock_json(&t.resolve)?,
        met(&t.response),
        breached(&t.response),
        met(&t.resolve),
        breached(&t.resolve),
        at(t.logged_at),
    ])
}

fn clock(r: &AnyRow, column: &str) -> Result<Option<Clock>, StoreError> {
    let s: Option<String> = r.try_get(column)?;
    s.map(|s| {
        serde_json::from_str(&s).map_err(|e| StoreError::from(sqlx::Error::Decode(Box::new(e))))
    })
    .transpose()
}

pub fn from_micros(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

const SELECT: &str = "SELECT ticket_id, tenant_id, kind, reference, status, priority, service, \
     customer_id, assignee_id, team_id, version, last_at, sla_id, calendar_id, response, resolve, \
     company_id, logged_at FROM sla_tickets";

fn from_row(r: &AnyRow) -> Result<Tracked, StoreError> {
    Ok(Tracked {
        ticket_id: id_at(r, "ticket_id")?,
        tenant_id: id_at(r, "tenant_id")?,
        kind: r.try_get("kind")?,
        reference: r.try_get("reference")?,
        status: r.try_get("status")?,
        priority: u8_at(r, "priority")?,
        service: r.try_get("service")?,
        customer_id: uuid_at(r, "customer_id")?,
        assignee_id: uuid_at(r, "assignee_id")?,
        team_id: uuid_at(r, "team_id")?,
        version: r.try_get("version")?,
        last_at: from_micros(r.try_get("last_at")?),
        logged_at: r.try_get::<Option<i64>, _>("logged_at")?.map(from_micros),
        sla_id: uuid_at(r, "sla_id")?,
        calendar_id: uuid_at(r, "calendar_id")?,
        response: clock(r, "response")?,
        resolve: clock(r, "resolve")?,
        company_id: uuid_at(r, "company_id")?,
    })
}

/// How [`load`] locks the rows it reads (PostgreSQL; SQLite's one writer
/// needs no row locks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Wait for other writers: the tracker, which must apply every event.
    Wait,
    /// Leave what another writer holds: the firer, which tries again soon.
    SkipLocked,
}

/// The tickets among `ids` this service follows, locked for the caller's
/// transaction, in id order (so two writers lock in the same order).
pub async fn load(
    conn: &mut AnyConnection,
    backend: Backend,
    ids: &[Uuid],
    lock: Lock,
) -> Result<HashMap<Uuid, Tracked>, StoreError> {
    let mut found = HashMap::with_capacity(ids.len());
    let suffix = match (backend, lock) {
        (Backend::Sqlite, _) => "",
        (Backend::Postgres, Lock::Wait) => " FOR UPDATE",
        (Backend::Postgres, Lock::SkipLocked) => " FOR UPDATE SKIP LOCKED",
    };
    for chunk in ids.chunks(1000) {
        let sql = format!(
            "{SELECT} WHERE ticket_id IN ({}) ORDER BY ticket_id{suffix}",
            placeholders(1, chunk.len())
        );
        let params = chunk.iter().map(|id| Param::from(id.to_string())).collect();
        for r in bind_all(sql, params).fetch_all(&mut *conn).await? {
            let t = from_row(&r)?;
            found.insert(t.ticket_id, t);
        }
    }
    Ok(found)
}

/// The tickets of `tenant` still counting under what `under` names, locked
/// for the caller.
pub async fn under(
    conn: &mut AnyConnection,
    backend: Backend,
    tenant: Uuid,
    under: Under,
) -> Result<Vec<Tracked>, StoreError> {
    let (filter, id) = match under {
        Under::Calendar(id) => ("calendar_id = $2", id),
        Under::Sla(id) => ("sla_id = $2", id),
    };
    let lock = match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    };
    // Met targets have their time; only open ones move.
    let sql = format!(
        "{SELECT} WHERE tenant_id = $1 AND {filter} \
         AND (response_met_at IS NULL OR resolve_met_at IS NULL) ORDER BY ticket_id{lock}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Every ticket with a target still open (not met), of every tenant.
pub async fn open(conn: &mut AnyConnection) -> Result<Vec<Tracked>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE response_met_at IS NULL OR resolve_met_at IS NULL ORDER BY ticket_id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// What kind of definition [`under`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Under {
    /// The tickets counting in this calendar.
    Calendar(Uuid),
    /// The tickets under this SLA.
    Sla(Uuid),
}

/// Writes `tickets` whole, new or changed, in id order (the order every
/// writer locks in). A changed row is updated in place: a writer waiting to
/// lock it then reads the new version.
pub async fn save(conn: &mut AnyConnection, tickets: &[&Tracked]) -> Result<(), StoreError> {
    let mut sorted = tickets.to_vec();
    sorted.sort_by_key(|t| t.ticket_id);
    let rows = sorted
        .iter()
        .map(|t| params(t))
        .collect::<Result<_, StoreError>>()?;
    upsert_many(conn, "sla_tickets", &COLUMNS, "ticket_id", rows).await?;
    Ok(())
}

/// A ticket of `kind` in `tenant`, by id or reference (`INC-000042`,
/// matched in upper case as ticketing writes them).
pub async fn find(
    conn: &mut AnyConnection,
    tenant: Uuid,
    kind: &str,
    ticket: &str,
) -> Result<Option<Tracked>, StoreError> {
    let (by, value) = match Uuid::parse_str(ticket.trim()) {
        Ok(id) => ("ticket_id", id.to_string()),
        Err(_) => ("reference", ticket.trim().to_uppercase()),
    };
    let sql = format!("{SELECT} WHERE tenant_id = $1 AND kind = $2 AND {by} = $3");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.to_string())
        .bind(kind)
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}
