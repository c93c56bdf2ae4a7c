//! The tenant's directory as the edge announces it (`edge.directory.changed`):
//! who the customers, agents, teams and companies are, their addresses,
//! languages and senders. Notification keeps its own copy so an email never
//! waits on the edge.

use contracts::notification::{DirectoryEntryV1, MailboxV1};
use runtime::store::{Param, StoreError, upsert_many};
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

fn id_of(e: &DirectoryEntryV1) -> Uuid {
    match e {
        DirectoryEntryV1::Company { id, .. }
        | DirectoryEntryV1::Customer { id, .. }
        | DirectoryEntryV1::Team { id, .. }
        | DirectoryEntryV1::Agent { id, .. } => *id,
    }
}

/// Keeps `entry` as it is now.
pub async fn apply(
    conn: &mut AnyConnection,
    tenant: Uuid,
    entry: &DirectoryEntryV1,
) -> Result<(), StoreError> {
    let (kind, team, email) = match entry {
        DirectoryEntryV1::Company { .. } => ("company", None, None),
        DirectoryEntryV1::Customer { email, .. } => ("customer", None, email.clone()),
        DirectoryEntryV1::Team { .. } => ("team", None, None),
        DirectoryEntryV1::Agent { email, team_id, .. } => {
            ("agent", team_id.map(|t| t.to_string()), email.clone())
        }
    };
    upsert_many(
        conn,
        "mail_directory",
        &["tenant_id", "id", "entry_type", "team_id", "email", "entry"],
        "tenant_id, id",
        vec![vec![
            Param::from(tenant.to_string()),
            Param::from(id_of(entry).to_string()),
            Param::from(kind),
            Param::from(team),
            Param::from(email.map(|e| e.trim().to_lowercase())),
            Param::from(runtime::store::json_text(entry)?),
        ]],
    )
    .await?;
    Ok(())
}

/// The entry in a row whose `entry` column is the entry's JSON.
fn decoded(row: &sqlx::any::AnyRow) -> Option<DirectoryEntryV1> {
    let json: String = row.try_get("entry").ok()?;
    serde_json::from_str(&json).ok()
}

async fn entry(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<DirectoryEntryV1>, StoreError> {
    let row = sqlx::query("SELECT entry FROM mail_directory WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().and_then(decoded))
}

#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub company_id: Option<Uuid>,
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
}

impl Person {
    pub fn mailbox(&self) -> Option<MailboxV1> {
        self.email.as_ref().map(|email| MailboxV1 {
            email: email.clone(),
            name: Some(self.name.clone()),
        })
    }
}

impl Customer {
    pub fn mailbox(&self) -> Option<MailboxV1> {
        self.email.as_ref().map(|email| MailboxV1 {
            email: email.clone(),
            name: Some(self.name.clone()),
        })
    }
}

/// A customer entry as notification uses it.
fn customer_of(entry: DirectoryEntryV1) -> Option<Customer> {
    match entry {
        DirectoryEntryV1::Customer {
            id,
            name,
            email,
            company_id,
            language,
            ..
        } => Some(Customer {
            id,
            name,
            email,
            company_id,
            language,
        }),
        _ => None,
    }
}

/// An agent entry as notification uses it.
fn person_of(entry: DirectoryEntryV1) -> Option<Person> {
    match entry {
        DirectoryEntryV1::Agent {
            id, name, email, ..
        } => Some(Person { id, name, email }),
        _ => None,
    }
}

pub async fn customer(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<Customer>, StoreError> {
    Ok(entry(conn, tenant, id).await?.and_then(customer_of))
}

/// The active entry of type `entry_type` whose address is `email`
/// (compared without case).
async fn by_email(
    conn: &mut AnyConnection,
    tenant: Uuid,
    entry_type: &str,
    email: &str,
) -> Result<Option<DirectoryEntryV1>, StoreError> {
    let rows = sqlx::query(
        "SELECT entry FROM mail_directory WHERE tenant_id = $1 AND email = $2 \
         AND entry_type = $3 ORDER BY id",
    )
    .bind(tenant.to_string())
    .bind(email.trim().to_lowercase())
    .bind(entry_type)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().filter_map(decoded).find(|e| match e {
        DirectoryEntryV1::Customer { active, .. } | DirectoryEntryV1::Agent { active, .. } => {
            *active
        }
        _ => false,
    }))
}

/// The active customer whose address is `email` (compared without case):
/// a deactivated one's mail no longer acts as them.
pub async fn customer_by_email(
    conn: &mut AnyConnection,
    tenant: Uuid,
    email: &str,
) -> Result<Option<Customer>, StoreError> {
    Ok(by_email(conn, tenant, "customer", email)
        .await?
        .and_then(customer_of))
}

/// The active agent whose address is `email` (compared without case).
pub async fn agent_by_email(
    conn: &mut AnyConnection,
    tenant: Uuid,
    email: &str,
) -> Result<Option<Person>, StoreError> {
    Ok(by_email(conn, tenant, "agent", email)
        .await?
        .and_then(person_of))
}

pub async fn agent(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<Person>, StoreError> {
    Ok(entry(conn, tenant, id).await?.and_then(person_of))
}

/// A team's name and leader.
pub async fn team(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<(String, Option<Uuid>)>, StoreError> {
    Ok(match entry(conn, tenant, id).await? {
        Some(DirectoryEntryV1::Team {
            name, leader_id, ..
        }) => Some((name, leader_id)),
        _ => None,
    })
}

/// The agents of team `team`.
pub async fn members(
    conn: &mut AnyConnection,
    tenant: Uuid,
    team: Uuid,
) -> Result<Vec<Person>, StoreError> {
    let rows = sqlx::query(
        "SELECT entry FROM mail_directory WHERE tenant_id = $1 AND team_id = $2 \
         AND entry_type = 'agent' ORDER BY id",
    )
    .bind(tenant.to_string())
    .bind(team.to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .filter_map(decoded)
        .filter_map(person_of)
        .collect())
}

/// A company's name and its own sender, if it has one.
pub async fn company(
    conn: &mut AnyConnection,
    tenant: Uuid,
    id: Uuid,
) -> Result<Option<(String, Option<MailboxV1>)>, StoreError> {
    Ok(match entry(conn, tenant, id).await? {
        Some(DirectoryEntryV1::Company { name, sender, .. }) => Some((name, sender)),
        _ => None,
    })
}

/// Every company sender of the tenant (mail from one is the desk's own).
pub async fn company_senders(
    conn: &mut AnyConnection,
    tenant: Uuid,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT entry FROM mail_directory WHERE tenant_id = $1 AND entry_type = 'company'",
    )
    .bind(tenant.to_string())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .filter_map(decoded)
        .filter_map(|e| match e {
            DirectoryEntryV1::Company {
                sender: Some(s), ..
            } => Some(s.email.to_lowercase()),
            _ => None,
        })
        .collect())
}
