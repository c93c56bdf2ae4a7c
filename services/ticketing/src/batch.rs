//! The rows one commit group writes, gathered while its commands run and
//! written at the end with one statement per table.
//!
//! What is gathered is only ever inserted, never read back by a command of
//! the same group: new tickets (nobody knows their ids before the group
//! commits and answers) with their extended data and links, actions, audit
//! rows, outbox events and inbox records. Updates of existing tickets run at
//! once, since a later command of the group may read them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use contracts::incident::ActionV1;
use contracts::ticket::{FieldDefV1, LinkType, TicketKind, TicketV1};
use contracts::{Actor, Envelope, Event};
use runtime::outbox::{self, Outgoing};
use runtime::store::{Param, insert_many, json_text, micros};
use sqlx::AnyConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::incidents;
use crate::tickets;

/// The inbox name of the ticketing command consumer.
pub const CONSUMER: &str = "ticketing.commands";

/// One entry of a ticket's audit trail: what changed, from what, to what.
pub struct Change<'a> {
    pub change: &'a str,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Default)]
pub struct Batch {
    /// (tenant, kind) → (last number handed out, last number stored).
    sequences: HashMap<(Uuid, &'static str), (i64, i64)>,
    /// Field definitions read in this group, by (tenant, kind): read once,
    /// not once per ticket logged.
    field_defs: HashMap<(Uuid, TicketKind), Vec<FieldDefV1>>,
    tickets: Vec<Vec<Param>>,
    field_values: Vec<Vec<Param>>,
    links: Vec<Vec<Param>>,
    /// The two ends of each link in `links`.
    link_ends: Vec<[Uuid; 2]>,
    actions: Vec<Vec<Param>>,
    audits: Vec<Vec<Param>>,
    events: Vec<Outgoing>,
    processed: Vec<(Uuid, Option<String>)>,
}

impl Batch {
    /// The tenant's next reference number of `kind`. The counter row is
    /// locked (and read) once per group and written once at the end, so
    /// numbers stay gap-free: a refused command takes none.
    pub async fn next_number(
        &mut self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        kind: &'static str,
    ) -> Result<i64> {
        if let Some((last, _)) = self.sequences.get_mut(&(tenant, kind)) {
            *last += 1;
            return Ok(*last);
        }
        let current = incidents::lock_sequence(conn, tenant, kind).await?;
        self.sequences
            .insert((tenant, kind), (current + 1, current));
        Ok(current + 1)
    }

    /// Takes the counters (tenant, kind) up front, in one order, so that two
    /// replicas' groups never wait on each other's rows crosswise.
    pub async fn lock_counters(
        &mut self,
        conn: &mut AnyConnection,
        counters: std::collections::BTreeSet<(Uuid, &'static str)>,
    ) -> Result<()> {
        for (tenant, kind) in counters {
            self.counter(conn, tenant, kind).await?;
        }
        Ok(())
    }

    /// The counter's (last handed out, last stored), locked on first use.
    async fn counter(
        &mut self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        kind: &'static str,
    ) -> Result<&mut (i64, i64)> {
        Ok(match self.sequences.entry((tenant, kind)) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let current = incidents::lock_sequence(conn, tenant, kind).await?;
                e.insert((current, current))
            }
        })
    }

    pub fn insert_ticket(&mut self, tenant: Uuid, t: &TicketV1) {
        self.tickets.push(tickets::row(tenant, t));
        self.field_values
            .extend(tickets::field_value_rows(tenant, t.id, &t.fields));
    }

    /// A link between two tickets, of which `from` may be new in this group.
    pub fn insert_link(
        &mut self,
        tenant: Uuid,
        from: Uuid,
        link_type: LinkType,
        to: Uuid,
        actor: &Actor,
        at: OffsetDateTime,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        self.links.push(crate::links::row(
            tenant, id, from, link_type, to, actor, at,
        )?);
        self.link_ends.push([from, to]);
        Ok(id)
    }

    /// Whether a link to or from `ticket` waits in this group.
    pub fn links_pending(&self, ticket: Uuid) -> bool {
        self.link_ends.iter().any(|ends| ends.contains(&ticket))
    }

    /// The tenant's field definitions of `kind`, read once per group.
    pub async fn field_definitions(
        &mut self,
        conn: &mut AnyConnection,
        tenant: Uuid,
        kind: TicketKind,
    ) -> Result<Vec<FieldDefV1>> {
        if let Some(defs) = self.field_defs.get(&(tenant, kind)) {
            return Ok(defs.clone());
        }
        let defs = crate::fields::definitions(conn, tenant, kind).await?;
        self.field_defs.insert((tenant, kind), defs.clone());
        Ok(defs)
    }

    /// Forgets definitions read earlier in the group (they were replaced).
    pub fn definitions_changed(&mut self, tenant: Uuid, kind: TicketKind) {
        self.field_defs.remove(&(tenant, kind));
    }

    pub fn insert_action(&mut self, tenant: Uuid, incident: Uuid, a: &ActionV1) -> Result<()> {
        self.actions.push(vec![
            a.id.to_string().into(),
            tenant.to_string().into(),
            incident.to_string().into(),
            a.kind.as_str().into(),
            a.text.clone().into(),
            a.text.to_lowercase().into(),
            i64::from(a.public).into(),
            i64::from(a.email_customer).into(),
            i64::from(a.knowledge_base).into(),
            json_text(&a.author)?.into(),
            micros(a.created_at).into(),
            a.minutes.map(i64::from).into(),
        ]);
        Ok(())
    }

    pub fn audit(
        &mut self,
        tenant: Uuid,
        incident: Uuid,
        actor: &Actor,
        at: OffsetDateTime,
        change: Change<'_>,
    ) -> Result<()> {
        self.audits.push(vec![
            Uuid::now_v7().to_string().into(),
            tenant.to_string().into(),
            incident.to_string().into(),
            change.change.into(),
            change.from.into(),
            change.to.into(),
            json_text(actor)?.into(),
            micros(at).into(),
        ]);
        Ok(())
    }

    /// Announces `event`, caused by the command `cause`.
    pub fn publish<E: Event>(&mut self, cause: &Envelope, event: &E) {
        self.events.push(Outgoing::event::<E>(cause.caused(event)));
    }

    /// Sends `message` to one addressee by `routing_key` (a supplier).
    pub fn send<M: contracts::Message + serde::Serialize>(
        &mut self,
        cause: &Envelope,
        routing_key: String,
        message: &M,
    ) {
        self.events
            .push(Outgoing::addressed(routing_key, cause.caused(message)));
    }

    /// Marks the command `message_id` processed, with the reply it got.
    pub fn processed(&mut self, message_id: Uuid, reply: String) {
        self.processed.push((message_id, Some(reply)));
    }

    pub fn wrote(&self) -> bool {
        !self.processed.is_empty()
    }

    /// Writes everything gathered: one statement per table.
    pub async fn flush(self, conn: &mut AnyConnection) -> Result<()> {
        for ((tenant, kind), (last, stored)) in self.sequences {
            if last != stored {
                incidents::store_sequence(conn, tenant, kind, last).await?;
            }
        }
        insert_many(conn, "tickets", tickets::INSERT_COLUMNS, self.tickets).await?;
        insert_many(
            conn,
            "ticket_field_values",
            tickets::FIELD_VALUE_COLUMNS,
            self.field_values,
        )
        .await?;
        insert_many(conn, "ticket_links", crate::links::COLUMNS, self.links).await?;
        insert_many(
            conn,
            "ticket_actions",
            &[
                "id",
                "tenant_id",
                "ticket_id",
                "kind",
                "body",
                "body_folded",
                "public",
                "email_customer",
                "knowledge_base",
                "author",
                "created_at",
                "minutes",
            ],
            self.actions,
        )
        .await?;
        insert_many(
            conn,
            "ticket_audit",
            &[
                "id",
                "tenant_id",
                "ticket_id",
                "change",
                "from_value",
                "to_value",
                "actor",
                "at",
            ],
            self.audits,
        )
        .await?;
        outbox::enqueue(conn, &self.events).await?;
        runtime::inbox::record(conn, CONSUMER, self.processed).await?;
        Ok(())
    }
}
