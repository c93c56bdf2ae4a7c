//! RabbitMQ through lapin.
//!
//! Topology, every name under a prefix (tests give each run its own):
//! - `<prefix>.events`: topic exchange for domain events.
//! - `<prefix>.<queue>`: durable quorum queues with `x-delivery-limit` and a
//!   dead-letter exchange, so a message that keeps failing ends up there.
//! - `<prefix>.dlx` → `<prefix>.dead-letters`: what could not be processed,
//!   each with an `x-reason` header saying why.
//! - Commands go to their queue through the default exchange, `mandatory`, so
//!   a command nobody can take is an error, not a silent drop; replies come
//!   back over direct reply-to.
//!
//! Publishing uses a confirm-mode channel and a Nack is an error. Consumers
//! set prefetch, ack only after the handler returned (its transaction
//! committed), and on a passing failure nack with requeue so the quorum queue
//! counts the delivery.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use contracts::Envelope;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Bus, BusError, DELIVERY_LIMIT, DeadLetter, Handler, HandlerError, QueueSpec, lock};

const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";
/// Longest wait for the broker to accept a connection or confirm a message.
const BROKER_TIMEOUT: Duration = Duration::from_secs(30);
/// Persistent messages: they survive a broker restart.
const PERSISTENT: u8 = 2;

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Envelope>>>>;

pub struct AmqpBus {
    conn: Connection,
    prefix: String,
    /// Confirm-mode channel for events, replies and dead letters.
    publisher: Channel,
    /// Confirm-mode channel that also consumes direct replies: RabbitMQ
    /// delivers a reply only on the channel that sent the request.
    rpc: Channel,
    pending: Pending,
}

fn unavailable(e: lapin::Error) -> BusError {
    BusError::Unavailable(e.to_string())
}

fn header(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

fn header_str(props: &BasicProperties, key: &str) -> Option<String> {
    let headers = props.headers().as_ref()?;
    match headers.inner().get(&ShortString::from(key))? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// Declares a durable quorum queue (idempotent) with `args` added.
async fn declare_quorum(
    channel: &Channel,
    name: &str,
    mut args: FieldTable,
) -> Result<(), BusError> {
    args.insert("x-queue-type".into(), header("quorum"));
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name.into(), durable, args)
        .await
        .map_err(unavailable)?;
    Ok(())
}

fn header_int(props: &BasicProperties, key: &str) -> Option<u32> {
    match props
        .headers()
        .as_ref()?
        .inner()
        .get(&ShortString::from(key))?
    {
        AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongUInt(n) => Some(*n),
        _ => None,
    }
}

fn properties(envelope: &Envelope) -> BasicProperties {
    let mut headers = FieldTable::default();
    if let Some(tp) = &envelope.traceparent {
        headers.insert("traceparent".into(), header(tp));
    }
    headers.insert(
        "x-tenant-id".into(),
        header(&envelope.tenant_id.to_string()),
    );
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(PERSISTENT)
        .with_message_id(envelope.message_id.to_string().into())
        .with_type(envelope.message_type.as_str().into())
        .with_headers(headers)
}

impl AmqpBus {
    /// Connects and declares the shared topology under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let connecting = Connection::connect(
            url,
            ConnectionProperties::default()
                .with_connection_name(format!("servicedesk-{prefix}").into())
                .enable_auto_recover(),
        );
        let conn = tokio::time::timeout(BROKER_TIMEOUT, connecting)
            .await
            .map_err(|_| {
                BusError::Unavailable(format!("no answer from {url} within {BROKER_TIMEOUT:?}"))
            })?
            .map_err(unavailable)?;
        let publisher = conn.create_channel().await.map_err(unavailable)?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unavailable)?;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        let events = format!("{prefix}.events");
        let dlx = format!("{prefix}.dlx");
        let dead = format!("{prefix}.dead-letters");
        publisher
            .exchange_declare(
                events.into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        publisher
            .exchange_declare(
                dlx.clone().into(),
                ExchangeKind::Fanout,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        declare_quorum(&publisher, &dead, FieldTable::default()).await?;
        publisher
            .queue_bind(
                dead.into(),
                dlx.into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;

        let rpc = conn.create_channel().await.map_err(unavailable)?;
        rpc.confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unavailable)?;
        let mut replies = rpc
            .basic_consume(
                DIRECT_REPLY_TO.into(),
                "replies".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        let pending: Pending = Arc::default();
        let waiting = pending.clone();
        tokio::spawn(async move {
            while let Some(delivery) = replies.next().await {
                let Ok(delivery) = delivery else { continue };
                let Some(corr) = delivery.properties.correlation_id().as_ref() else {
                    continue;
                };
                let waiter = lock(&waiting).remove(corr.as_str());
                if let (Some(waiter), Ok(reply)) = (waiter, Envelope::from_bytes(&delivery.data)) {
                    let _ = waiter.send(reply);
                }
            }
        });
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            publisher,
            rpc,
            pending,
        })
    }

    fn queue_name(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    /// The name of the queue where dead letters collect.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead-letters", self.prefix)
    }

    /// Declares `spec`'s quorum queue and its bindings (idempotent).
    async fn declare_on(&self, channel: &Channel, spec: &QueueSpec) -> Result<String, BusError> {
        let name = self.queue_name(&spec.name);
        let mut args = FieldTable::default();
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongInt(DELIVERY_LIMIT as i32),
        );
        args.insert(
            "x-dead-letter-exchange".into(),
            header(&format!("{}.dlx", self.prefix)),
        );
        // Dead-letter at least once: a dead letter is not dropped if the
        // dead-letter queue is briefly unavailable.
        args.insert("x-dead-letter-strategy".into(), header("at-least-once"));
        args.insert("x-overflow".into(), header("reject-publish"));
        if spec.single_active {
            args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
        }
        declare_quorum(channel, &name, args).await?;
        let exchange = format!(
            "{}.{}",
            self.prefix,
            spec.exchange.as_deref().unwrap_or("events")
        );
        if spec.exchange.is_some() {
            let durable = ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            };
            channel
                .exchange_declare(
                    exchange.clone().into(),
                    ExchangeKind::Topic,
                    durable,
                    FieldTable::default(),
                )
                .await
                .map_err(unavailable)?;
        }
        for binding in &spec.bindings {
            channel
                .queue_bind(
                    name.clone().into(),
                    exchange.clone().into(),
                    binding.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(unavailable)?;
        }
        Ok(name)
    }

    async fn confirm(
        channel: &Channel,
        exchange: &str,
        routing_key: &str,
        mandatory: bool,
        body: &[u8],
        props: BasicProperties,
    ) -> Result<(), BusError> {
        let publishing = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory,
                    ..BasicPublishOptions::default()
                },
                body,
                props,
            )
            .await
            .map_err(unavailable)?;
        // A broker that takes a message but never confirms it (out of file
        // handles, say) must not hang the caller: an unconfirmed message is
        // not safe, and the caller retries.
        let confirm = tokio::time::timeout(BROKER_TIMEOUT, publishing)
            .await
            .map_err(|_| BusError::Unavailable(format!("no confirm within {BROKER_TIMEOUT:?}")))?
            .map_err(unavailable)?;
        match confirm {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_)) => Err(BusError::NoRoute(routing_key.to_owned())),
            Confirmation::Nack(_) => Err(BusError::Nacked),
            Confirmation::NotRequested => {
                Err(BusError::Unavailable("channel not in confirm mode".into()))
            }
        }
    }

    /// Sends `body` to the dead-letter exchange with the reason in a header.
    async fn dead_letter(
        publisher: &Channel,
        dlx: &str,
        queue: &str,
        reason: &str,
        delivery: &lapin::message::Delivery,
    ) -> Result<(), BusError> {
        tracing::warn!(queue, reason, "message dead-lettered");
        metrics::counter!("bus_dead_lettered_total", "queue" => queue.to_owned()).increment(1);
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert("x-reason".into(), header(reason));
        headers.insert("x-original-queue".into(), header(queue));
        headers.insert(
            "x-original-routing-key".into(),
            header(delivery.routing_key.as_str()),
        );
        // Fresh properties: a copied `expiration` (commands carry one) would
        // make the dead letter itself expire out of the dead-letter queue.
        let mut props = BasicProperties::default()
            .with_headers(headers)
            .with_delivery_mode(PERSISTENT);
        if let Some(id) = delivery.properties.message_id() {
            props = props.with_message_id(id.clone());
        }
        if let Some(kind) = delivery.properties.kind() {
            props = props.with_type(kind.clone());
        }
        Self::confirm(publisher, dlx, "", false, &delivery.data, props).await
    }
}

impl AmqpBus {
    /// Takes up to `max` messages off the dead-letter queue, with the reason
    /// each carries: `x-reason` when a handler rejected it, else the
    /// broker's own (`delivery_limit`, `expired`) from `x-death`.
    pub async fn take_dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, BusError> {
        let queue = self.dead_letter_queue();
        let mut out = Vec::new();
        while out.len() < max {
            let got = self
                .publisher
                .basic_get(queue.clone().into(), BasicGetOptions::default())
                .await
                .map_err(unavailable)?;
            let Some(message) = got else { break };
            let delivery = message.delivery;
            let props = &delivery.properties;
            let reason = header_str(props, "x-reason")
                .or_else(|| header_str(props, "x-first-death-reason"))
                .unwrap_or_else(|| "unknown".to_owned());
            let original = header_str(props, "x-original-queue")
                .or_else(|| header_str(props, "x-first-death-queue"))
                .unwrap_or_default();
            delivery
                .ack(BasicAckOptions::default())
                .await
                .map_err(unavailable)?;
            out.push(DeadLetter {
                queue: original,
                reason,
                body: delivery.data,
            });
        }
        Ok(out)
    }

    /// Publishes raw bytes on the events exchange, as a misbehaving producer
    /// would; for tests of what consumers do with malformed messages.
    pub async fn publish_raw(&self, routing_key: &str, body: &[u8]) -> Result<(), BusError> {
        let exchange = format!("{}.events", self.prefix);
        let props = BasicProperties::default().with_delivery_mode(PERSISTENT);
        Self::confirm(&self.publisher, &exchange, routing_key, false, body, props).await
    }
}

#[async_trait]
impl Bus for AmqpBus {
    async fn publish(&self, routing_key: &str, envelope: &Envelope) -> Result<(), BusError> {
        let exchange = format!("{}.events", self.prefix);
        Self::confirm(
            &self.publisher,
            &exchange,
            routing_key,
            false,
            &envelope.to_bytes(),
            properties(envelope),
        )
        .await
    }

    async fn request(
        &self,
        queue: &str,
        envelope: &Envelope,
        timeout: Duration,
    ) -> Result<Envelope, BusError> {
        let corr = envelope.message_id.to_string();
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(corr.clone(), tx);
        let props = properties(envelope)
            .with_reply_to(DIRECT_REPLY_TO.into())
            .with_correlation_id(corr.clone().into())
            // A command nobody took in time expires (and is dead-lettered as
            // expired) instead of being done after its caller gave up.
            .with_expiration(timeout.as_millis().to_string().into());
        // The broker's confirm and the service's reply race: a reply means
        // the command was taken, so wait for whichever settles it first, and
        // for the confirm only to learn that nothing could take it.
        let (target, body) = (self.queue_name(queue), envelope.to_bytes());
        let confirmed = Self::confirm(&self.rpc, "", &target, true, &body, props);
        let outcome = tokio::time::timeout(timeout, async {
            tokio::pin!(confirmed);
            tokio::pin!(rx);
            tokio::select! {
                reply = &mut rx => reply.map_err(|_| BusError::Unavailable("reply channel closed".into())),
                sent = &mut confirmed => {
                    sent?;
                    rx.await.map_err(|_| BusError::Unavailable("reply channel closed".into()))
                }
            }
        })
        .await;
        lock(&self.pending).remove(&corr);
        match outcome {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(BusError::NoRoute(_))) => Err(BusError::NoRoute(queue.to_owned())),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BusError::Timeout(timeout)),
        }
    }

    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        let channel = self.conn.create_channel().await.map_err(unavailable)?;
        self.declare_on(&channel, spec).await?;
        let _ = channel.close(200, "declared".into()).await;
        Ok(())
    }

    async fn consume(
        &self,
        spec: QueueSpec,
        handler: Arc<dyn Handler>,
        stop: CancellationToken,
    ) -> Result<JoinHandle<()>, BusError> {
        let channel = self.conn.create_channel().await.map_err(unavailable)?;
        channel
            .basic_qos(spec.prefetch.max(1), BasicQosOptions::default())
            .await
            .map_err(unavailable)?;
        let queue = self.declare_on(&channel, &spec).await?;
        let tag = format!("{}-{}", queue, uuid::Uuid::now_v7());
        let mut consumer = channel
            .basic_consume(
                queue.clone().into(),
                tag.clone().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        let publisher = self.publisher.clone();
        let dlx = format!("{}.dlx", self.prefix);
        let in_flight = u32::from(spec.prefetch.max(1));
        Ok(tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(in_flight as usize));
            loop {
                let next = tokio::select! {
                    _ = stop.cancelled() => break,
                    next = consumer.next() => next,
                };
                let delivery = match next {
                    Some(Ok(d)) => d,
                    Some(Err(e)) => {
                        tracing::warn!(queue, error = %e, "consumer error; waiting for recovery");
                        if let Err(e) = channel.wait_for_recovery(e).await {
                            // Our supervisor: the orchestrator restarts us.
                            tracing::error!(queue, error = %e, "broker connection lost for good; exiting");
                            std::process::exit(1);
                        }
                        continue;
                    }
                    None => break,
                };
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let (handler, publisher, dlx, queue) = (
                    handler.clone(),
                    publisher.clone(),
                    dlx.clone(),
                    queue.clone(),
                );
                tokio::spawn(async move {
                    handle_delivery(&queue, handler.as_ref(), &publisher, &dlx, delivery).await;
                    drop(permit);
                });
            }
            // Stop taking deliveries, let in-flight ones finish (and be
            // acked), then close: anything unacked goes back to the queue.
            let _ = channel
                .basic_cancel(tag.into(), BasicCancelOptions::default())
                .await;
            let _ = permits.acquire_many(in_flight).await;
            let _ = channel.close(200, "consumer stopped".into()).await;
        }))
    }

    async fn ready(&self) -> bool {
        self.conn.status().connected()
    }
}

async fn handle_delivery(
    queue: &str,
    handler: &dyn Handler,
    publisher: &Channel,
    dlx: &str,
    delivery: lapin::message::Delivery,
) {
    let mut envelope = match Envelope::from_bytes(&delivery.data) {
        Ok(e) => e,
        Err(e) => {
            let reason = format!("malformed envelope: {e}");
            return finish_dead(queue, publisher, dlx, &reason, delivery).await;
        }
    };
    if envelope.traceparent.is_none() {
        envelope.traceparent = header_str(&delivery.properties, "traceparent");
    }
    let span = crate::telemetry::message_span(queue, &envelope);
    let outcome = tracing::Instrument::instrument(handler.handle(envelope), span).await;
    match outcome {
        Ok(reply) => {
            if let (Some(reply), Some(reply_to), Some(corr)) = (
                reply,
                delivery.properties.reply_to().as_ref(),
                delivery.properties.correlation_id().as_ref(),
            ) {
                // The requester may be gone; its retry is answered from the
                // inbox, so a lost reply loses nothing.
                let props = properties(&reply)
                    .with_correlation_id(corr.clone())
                    .with_delivery_mode(1);
                let sent = publisher
                    .basic_publish(
                        "".into(),
                        reply_to.clone(),
                        BasicPublishOptions::default(),
                        &reply.to_bytes(),
                        props,
                    )
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(queue, error = %e, "reply not sent");
                }
            }
            if let Err(e) = delivery.ack(BasicAckOptions::default()).await {
                // The broker redelivers it; the inbox makes that harmless.
                tracing::warn!(queue, error = %e, "ack failed");
            }
        }
        Err(HandlerError::Reject(reason)) => {
            finish_dead(queue, publisher, dlx, &reason, delivery).await
        }
        Err(HandlerError::Retry(reason)) => {
            // Quorum queues count deliveries in `x-delivery-count` (absent
            // on the first).
            let deliveries = header_int(&delivery.properties, "x-delivery-count").unwrap_or(0) + 1;
            tracing::debug!(queue, %reason, deliveries, "handler asked for a retry");
            tokio::time::sleep(super::retry_backoff(deliveries)).await;
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await;
        }
    }
}

/// Dead-letters with the reason, then acks; if the dead letter could not be
/// published the message goes back to the queue instead of being lost.
async fn finish_dead(
    queue: &str,
    publisher: &Channel,
    dlx: &str,
    reason: &str,
    delivery: lapin::message::Delivery,
) {
    match AmqpBus::dead_letter(publisher, dlx, queue, reason, &delivery).await {
        Ok(()) => {
            let _ = delivery.ack(BasicAckOptions::default()).await;
        }
        Err(e) => {
            tracing::warn!(queue, error = %e, "dead letter not published; requeueing");
            let _ = delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await;
        }
    }
}
