//! The ceilings: what the parts under the desk do on their own, measured in
//! the same run with the same rows, messages and durability.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use contracts::incident::{IncidentStatus, IncidentV1};
use contracts::ticket::{TicketChangedV1, TicketV1};
use contracts::{Actor, Envelope, Role};
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use runtime::bus::amqp::AmqpBus;
use runtime::bus::{Bus, Handler, HandlerError, QueueSpec};
use runtime::outbox::{self, Outgoing};
use runtime::store::{Store, insert_many};
use runtime::testing;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::load::Stats;

pub async fn fresh_database(server: &str, prefix: &str) -> anyhow::Result<String> {
    testing::create_database(server, prefix)
        .await
        .with_context(|| format!("creating a database on {server}"))
}

/// A new incident, as ticketing logs one.
fn incident(tenant: Uuid, n: usize) -> TicketV1 {
    let now = runtime::store::now();
    TicketV1::from(IncidentV1 {
        id: Uuid::now_v7(),
        reference: format!("INC-{n:06}"),
        status: IncidentStatus::Open,
        priority: 3,
        impact: None,
        urgency: None,
        summary: format!("bench incident {n}"),
        description: "created by servicedesk bench".into(),
        customer_id: None,
        category: None,
        service: None,
        assignee_id: None,
        team_id: None,
        resolution: None,
        logged_by: Actor {
            role: Role::Admin,
            id: tenant,
            name: "admin".into(),
        },
        created_at: now,
        updated_at: now,
        resolved_at: None,
        closed_at: None,
        version: 1,
        first_response_at: None,
        supplier_id: None,
        company_id: None,
        problem_id: None,
        fields: Default::default(),
        pending_reason: None,
        time_spent_minutes: 0,
    })
}

/// What ticketing announces of a new incident `t`.
fn logged(t: TicketV1) -> TicketChangedV1 {
    TicketChangedV1 {
        actor: t.logged_by.clone(),
        ticket: t,
        change: "logged".into(),
        action: None,
        survey_token: None,
    }
}

/// One transaction for `group` incidents: their rows and outbox rows, as
/// ticketing writes them (one multi-row statement per table).
async fn insert_group(
    store: &Store,
    tenant: Uuid,
    first: usize,
    group: usize,
) -> anyhow::Result<()> {
    let mut rows = Vec::with_capacity(group);
    let mut events = Vec::with_capacity(group);
    for n in first..first + group {
        let t = incident(tenant, n);
        rows.push(ticketing::tickets::row(tenant, &t));
        events.push(Outgoing::event::<TicketChangedV1>(Envelope::new(
            tenant,
            &logged(t),
        )));
    }
    let mut tx = store.begin().await?;
    insert_many(&mut tx, "tickets", ticketing::tickets::INSERT_COLUMNS, rows).await?;
    outbox::enqueue(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(())
}

async fn migrated(store: &Store) -> anyhow::Result<()> {
    store.migrate("runtime", runtime::MIGRATIONS).await?;
    store.migrate("ticketing", ticketing::MIGRATIONS).await?;
    Ok(())
}

/// Inserts `count` incidents with `clients` concurrent writers, `group`
/// incidents per transaction; latency is per transaction.
async fn inserts(
    store: Store,
    count: usize,
    clients: usize,
    group: usize,
) -> anyhow::Result<Stats> {
    let tenant = Uuid::now_v7();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (store, next) = (store.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let first = next.fetch_add(group, std::sync::atomic::Ordering::Relaxed);
                if first >= count {
                    break;
                }
                let t = Instant::now();
                insert_group(&store, tenant, first, group.min(count - first)).await?;
                latencies.push(t.elapsed().as_secs_f64());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = start.elapsed();
    let mut stats = Stats::new(latencies, 0, elapsed);
    // Throughput in incidents, not transactions.
    stats.count = count;
    stats.per_second = count as f64 / elapsed.as_secs_f64();
    Ok(stats)
}

/// SQLite: one transaction per incident, and in groups of `group`.
pub async fn sqlite(count: usize, group: usize) -> anyhow::Result<(Stats, Stats)> {
    let dir = testing::TempDir::new();
    let store = Store::open_sqlite(&dir.path().join("ceiling.sqlite")).await?;
    migrated(&store).await?;
    // SQLite has one writer at a time; more clients only queue.
    let single = inserts(store.clone(), count, 1, 1).await?;
    let grouped = inserts(store, count, 1, group).await?;
    Ok((single, grouped))
}

/// PostgreSQL: one transaction per incident, and in groups of `group`.
pub async fn postgres(
    server: &str,
    count: usize,
    clients: usize,
    group: usize,
) -> anyhow::Result<(Stats, Stats)> {
    let url = fresh_database(server, "bench").await?;
    let store = Store::connect(&url).await?;
    migrated(&store).await?;
    let single = inserts(store.clone(), count, clients, 1).await?;
    let grouped = inserts(store, count, clients, group).await?;
    Ok((single, grouped))
}

/// Raw lapin on a quorum queue: publish with confirms (a window of
/// outstanding confirms) while a consumer with prefetch acks each message.
pub async fn rabbitmq(url: &str, count: usize) -> anyhow::Result<Stats> {
    const WINDOW: usize = 256;
    let conn = Connection::connect(url, ConnectionProperties::default()).await?;
    let publisher = conn.create_channel().await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let consumer_channel = conn.create_channel().await?;
    consumer_channel
        .basic_qos(WINDOW as u16, BasicQosOptions::default())
        .await?;
    let queue = testing::unique("bench.ceiling");
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from(b"quorum".to_vec())),
    );
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    publisher
        .queue_declare(queue.clone().into(), durable, args)
        .await?;
    let tenant = Uuid::now_v7();
    let body = Envelope::new(tenant, &logged(incident(tenant, 1))).to_bytes();
    let mut consumer = consumer_channel
        .basic_consume(
            queue.clone().into(),
            "ceiling".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let start = Instant::now();
    let consumed = tokio::spawn(async move {
        let mut n = 0;
        while n < count {
            let Some(d) = consumer.next().await else {
                break;
            };
            d?.ack(BasicAckOptions::default()).await?;
            n += 1;
        }
        anyhow::Ok((n, consumer))
    });
    let mut pending = futures_util::stream::FuturesUnordered::new();
    let mut latencies = Vec::with_capacity(count);
    for _ in 0..count {
        if pending.len() >= WINDOW
            && let Some(r) = pending.next().await
        {
            latencies.push(r?);
        }
        let t = Instant::now();
        let confirm = publisher
            .basic_publish(
                "".into(),
                queue.clone().into(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await?;
        pending.push(async move {
            let c = confirm.await?;
            anyhow::ensure!(c.is_ack(), "broker nacked");
            anyhow::Ok(t.elapsed().as_secs_f64())
        });
    }
    while let Some(r) = pending.next().await {
        latencies.push(r?);
    }
    let (n, consumer) = tokio::time::timeout(Duration::from_secs(120), consumed).await???;
    anyhow::ensure!(n == count, "consumed {n} of {count}");
    let stats = Stats::new(latencies, 0, start.elapsed());
    publisher
        .queue_delete(queue.into(), QueueDeleteOptions::default())
        .await?;
    // The consumer goes only after the connection: lapin cancels an active
    // consumer when it is dropped, and the broker's cancel-ok then came
    // back unexpected (a hard error that closed the connection before the
    // queue was deleted, failing the whole run).
    let _ = conn.close(200, "ceiling measured".into()).await;
    drop(consumer);
    Ok(stats)
}

struct Echo;

#[async_trait]
impl Handler for Echo {
    async fn handle(&self, env: Envelope) -> Result<Option<Envelope>, HandlerError> {
        Ok(Some(env))
    }
}

/// Round trips through our bus over RabbitMQ, to a handler that answers at once.
pub async fn request_reply(url: &str, count: usize, clients: usize) -> anyhow::Result<Stats> {
    let prefix = testing::unique("bench");
    let server = AmqpBus::connect(url, &prefix).await?;
    let client = Arc::new(AmqpBus::connect(url, &prefix).await?);
    let stop = CancellationToken::new();
    server
        .consume(
            QueueSpec::commands("echo", 64),
            Arc::new(Echo),
            stop.clone(),
        )
        .await?;
    let tenant = Uuid::now_v7();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, next) = (client.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                let env = Envelope::new(tenant, &logged(incident(tenant, 1)));
                let t = Instant::now();
                client
                    .request("echo", &env, Duration::from_secs(10))
                    .await?;
                latencies.push(t.elapsed().as_secs_f64());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let stats = Stats::new(latencies, 0, start.elapsed());
    stop.cancel();
    Ok(stats)
}
