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
//!
//! Reconnection is the bus's own, not lapin's auto-recovery (which could
//! leave a channel `Reconnecting` for good after a broker restart, with the
//! process alive and deaf: issue 12). A supervisor checks the connection and
//! its channels every [`CHECK_EVERY`]; when any is gone it drops the whole
//! link, connects again with back-off until the broker answers, declares the
//! topology again and hands the new link out. Each consumer watches its own
//! channel and, when it is gone, opens a new one on the newest link and
//! consumes again. Meanwhile publishing and requests fail fast as
//! unavailable (the edge answers 503, the outbox keeps its rows), and
//! [`Bus::ready`] is false until every consumer consumes again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{Bus, BusError, DELIVERY_LIMIT, DeadLetter, Handler, HandlerError, QueueSpec, lock};

mod dead_letters;

pub use dead_letters::{Listed, Settle};

const DIRECT_REPLY_TO: &str = "amq.rabbitmq.reply-to";
/// Longest wait for the broker to accept a connection or confirm a message.
const BROKER_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for the broker to accept a connection when reconnecting:
/// short, so a broker that is back is found within seconds.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the supervisor, and each consumer, checks its channels.
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// Back-off between attempts to connect again: from the first to the last.
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_MOST: Duration = Duration::from_secs(2);
/// The dead-letter depth is measured every this many checks (10 s).
const DEPTH_EVERY: u32 = 40;
/// Persistent messages: they survive a broker restart.
const PERSISTENT: u8 = 2;

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Envelope>>>>;

pub struct AmqpBus {
    shared: Arc<Shared>,
    /// Stops the supervisor (and closes the connection) with the bus.
    _supervisor: DropGuard,
}

/// What the bus, its supervisor and its consumers share.
struct Shared {
    url: String,
    prefix: String,
    /// The link in use; `None` while connecting again.
    link: watch::Sender<Option<Arc<Link>>>,
    /// Requests waiting for their reply, by correlation id.
    pending: Pending,
    /// Consumers started and not stopped, and how many of them consume now.
    consumers_wanted: AtomicUsize,
    consumers_active: AtomicUsize,
}

/// One connection to the broker and the channels the bus keeps on it.
struct Link {
    conn: Connection,
    /// Confirm-mode channel for events, replies and dead letters.
    publisher: Channel,
    /// Confirm-mode channel that also consumes direct replies: RabbitMQ
    /// delivers a reply only on the channel that sent the request.
    rpc: Channel,
    /// False once the direct-reply consumer has ended.
    replies: Arc<AtomicBool>,
}

impl Link {
    /// Connects, declares the shared topology under `prefix` and starts
    /// taking replies into `pending`.
    async fn open(
        url: &str,
        prefix: &str,
        pending: &Pending,
        timeout: Duration,
    ) -> Result<Self, BusError> {
        let connecting = Connection::connect(
            url,
            ConnectionProperties::default()
                .with_connection_name(format!("servicedesk-{prefix}").into()),
        );
        let conn = tokio::time::timeout(timeout, connecting)
            .await
            .map_err(|_| {
                BusError::Unavailable(format!("no answer from the broker within {timeout:?}"))
            })?
            .map_err(unavailable)?;
        match Self::channels(&conn, prefix, pending).await {
            Ok((publisher, rpc, replies)) => Ok(Self {
                conn,
                publisher,
                rpc,
                replies,
            }),
            Err(e) => {
                // Half set up: close it rather than leave it to the broker.
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    conn.close(200, "set-up failed".into()),
                )
                .await;
                Err(e)
            }
        }
    }

    /// The link's channels (publisher, rpc, whether replies still come)
    /// and the shared topology, on a new connection.
    async fn channels(
        conn: &Connection,
        prefix: &str,
        pending: &Pending,
    ) -> Result<(Channel, Channel, Arc<AtomicBool>), BusError> {
        let publisher = conn.create_channel().await.map_err(unavailable)?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unavailable)?;
        declare_shared(&publisher, prefix).await?;
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
        let alive = Arc::new(AtomicBool::new(true));
        let (waiting, replying) = (pending.clone(), alive.clone());
        tokio::spawn(async move {
            while let Some(delivery) = replies.next().await {
                let Ok(delivery) = delivery else { break };
                let Some(corr) = delivery.properties.correlation_id().as_ref() else {
                    continue;
                };
                let waiter = lock(&waiting).remove(corr.as_str());
                if let (Some(waiter), Ok(reply)) = (waiter, Envelope::from_bytes(&delivery.data)) {
                    let _ = waiter.send(reply);
                }
            }
            replying.store(false, Ordering::SeqCst);
        });
        Ok((publisher, rpc, alive))
    }

    /// The connection and every channel of the link still usable.
    fn healthy(&self) -> bool {
        self.conn.status().connected()
            && self.publisher.status().connected()
            && self.rpc.status().connected()
            && self.replies.load(Ordering::SeqCst)
    }
}

/// The exchanges and the dead-letter queue every service shares.
async fn declare_shared(channel: &Channel, prefix: &str) -> Result<(), BusError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    let events = format!("{prefix}.events");
    let dlx = format!("{prefix}.dlx");
    let dead = format!("{prefix}.dead-letters");
    channel
        .exchange_declare(
            events.into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(unavailable)?;
    channel
        .exchange_declare(
            dlx.clone().into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(unavailable)?;
    declare_quorum(channel, &dead, FieldTable::default()).await?;
    channel
        .queue_bind(
            dead.into(),
            dlx.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(unavailable)?;
    Ok(())
}

impl Shared {
    /// The link in use, or unavailable while connecting again.
    fn link(&self) -> Result<Arc<Link>, BusError> {
        self.link
            .borrow()
            .clone()
            .ok_or_else(|| BusError::Unavailable("connecting to the broker again".into()))
    }

    /// Waits for a usable link; `None` once `stop` is cancelled.
    async fn next_link(&self, stop: &CancellationToken) -> Option<Arc<Link>> {
        let mut links = self.link.subscribe();
        loop {
            if let Some(link) = links.borrow_and_update().clone()
                && link.healthy()
            {
                return Some(link);
            }
            tokio::select! {
                () = stop.cancelled() => return None,
                _ = links.changed() => {}
                () = tokio::time::sleep(CHECK_EVERY) => {}
            }
        }
    }

    /// Keeps a usable link: when the connection or one of its channels is
    /// gone, connects again (with back-off, for as long as it takes) and
    /// hands the new link out. Liveness (`/healthz`) tells an orchestrator
    /// when it has taken too long.
    async fn supervise(self: Arc<Self>, stop: CancellationToken) {
        let mut checks = 0u32;
        loop {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return self.close().await,
                    () = tokio::time::sleep(CHECK_EVERY) => {}
                }
                let Some(link) = self.link.borrow().clone().filter(|l| l.healthy()) else {
                    break;
                };
                checks = checks.wrapping_add(1);
                if checks.is_multiple_of(DEPTH_EVERY) {
                    self.measure_dead_letters(&link).await;
                }
            }
            tracing::warn!("broker connection lost; connecting again");
            metrics::gauge!("bus_connected").set(0.0);
            self.close().await;
            let mut wait = RECONNECT_FIRST;
            loop {
                match Link::open(&self.url, &self.prefix, &self.pending, RECONNECT_TIMEOUT).await {
                    Ok(link) => {
                        self.link.send_replace(Some(Arc::new(link)));
                        tracing::info!("broker connection back");
                        metrics::gauge!("bus_connected").set(1.0);
                        metrics::counter!("bus_reconnects_total").increment(1);
                        break;
                    }
                    Err(e) => tracing::debug!(error = %e, "broker not back yet"),
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(RECONNECT_MOST);
            }
        }
    }

    /// The dead-letter queue's depth, as the `bus_dead_letters` gauge.
    async fn measure_dead_letters(&self, link: &Link) {
        let asked = self.dead_letter_depth(&link.publisher);
        if let Ok(Ok(depth)) = tokio::time::timeout(Duration::from_secs(2), asked).await {
            metrics::gauge!("bus_dead_letters").set(f64::from(depth));
        }
    }

    /// Drops the link in use, closing its connection if it still answers.
    async fn close(&self) {
        if let Some(link) = self.link.send_replace(None) {
            let closing = link.conn.close(200, "reconnecting".into());
            let _ = tokio::time::timeout(Duration::from_secs(1), closing).await;
        }
    }
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
/// Returns its messages' count, as the broker answers the declaration.
async fn declare_quorum(
    channel: &Channel,
    name: &str,
    mut args: FieldTable,
) -> Result<u32, BusError> {
    args.insert("x-queue-type".into(), header("quorum"));
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let queue = channel
        .queue_declare(name.into(), durable, args)
        .await
        .map_err(unavailable)?;
    Ok(queue.message_count())
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
    /// Connects and declares the shared topology under `prefix`; fails if
    /// the broker does not answer within [`BROKER_TIMEOUT`]. From then on
    /// the bus connects again by itself whenever the connection is lost.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, BusError> {
        let pending: Pending = Arc::default();
        let link = Link::open(url, prefix, &pending, BROKER_TIMEOUT).await?;
        let (link, _) = watch::channel(Some(Arc::new(link)));
        let shared = Arc::new(Shared {
            url: url.to_owned(),
            prefix: prefix.to_owned(),
            link,
            pending,
            consumers_wanted: AtomicUsize::new(0),
            consumers_active: AtomicUsize::new(0),
        });
        metrics::gauge!("bus_connected").set(1.0);
        let stop = CancellationToken::new();
        tokio::spawn(shared.clone().supervise(stop.clone()));
        Ok(Self {
            shared,
            _supervisor: stop.drop_guard(),
        })
    }

    /// The name of the queue where dead letters collect.
    pub fn dead_letter_queue(&self) -> String {
        self.shared.dead_letter_queue()
    }
}

impl Shared {
    fn queue_name(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
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
        headers.insert(
            dead_letters::DEAD_AT.into(),
            AMQPValue::LongLongInt(i64::try_from(dead_letters::now_secs()).unwrap_or(i64::MAX)),
        );
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
        let publisher = self.shared.link()?.publisher.clone();
        let mut out = Vec::new();
        while out.len() < max {
            let got = publisher
                .basic_get(queue.clone().into(), BasicGetOptions::default())
                .await
                .map_err(unavailable)?;
            let Some(message) = got else { break };
            let delivery = message.delivery;
            let letter = dead_letter_of(&delivery);
            delivery
                .ack(BasicAckOptions::default())
                .await
                .map_err(unavailable)?;
            out.push(letter);
        }
        Ok(out)
    }

    /// Sends raw bytes straight to one of the desk's queues (`queue`
    /// without the prefix), as a misbehaving producer would; for tests of
    /// what each consumer does with poison.
    pub async fn send_raw(&self, queue: &str, body: &[u8]) -> Result<(), BusError> {
        let target = self.shared.queue_name(queue);
        let props = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_message_id(uuid::Uuid::now_v7().to_string().into());
        let link = self.shared.link()?;
        Shared::confirm(&link.publisher, "", &target, true, body, props).await
    }

    /// Publishes raw bytes on the events exchange, as a misbehaving producer
    /// would; for tests of what consumers do with malformed messages.
    pub async fn publish_raw(&self, routing_key: &str, body: &[u8]) -> Result<(), BusError> {
        let exchange = format!("{}.events", self.shared.prefix);
        let props = BasicProperties::default().with_delivery_mode(PERSISTENT);
        let link = self.shared.link()?;
        Shared::confirm(&link.publisher, &exchange, routing_key, false, body, props).await
    }
}

/// A dead letter as read off the queue: where it was and why it is here.
fn dead_letter_of(delivery: &lapin::message::Delivery) -> DeadLetter {
    let props = &delivery.properties;
    let reason = header_str(props, "x-reason")
        .or_else(|| header_str(props, "x-first-death-reason"))
        .unwrap_or_else(|| "unknown".to_owned());
    let original = header_str(props, "x-original-queue")
        .or_else(|| header_str(props, "x-first-death-queue"))
        .unwrap_or_default();
    DeadLetter {
        queue: original,
        reason,
        body: delivery.data.clone(),
    }
}

#[async_trait]
impl Bus for AmqpBus {
    async fn publish(&self, routing_key: &str, envelope: &Envelope) -> Result<(), BusError> {
        let exchange = format!("{}.events", self.shared.prefix);
        let link = self.shared.link()?;
        Shared::confirm(
            &link.publisher,
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
        let link = self.shared.link()?;
        let corr = envelope.message_id.to_string();
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(corr.clone(), tx);
        let props = properties(envelope)
            .with_reply_to(DIRECT_REPLY_TO.into())
            .with_correlation_id(corr.clone().into())
            // A command nobody took in time expires (and is dead-lettered as
            // expired) instead of being done after its caller gave up.
            .with_expiration(timeout.as_millis().to_string().into());
        // The broker's confirm and the service's reply race: a reply means
        // the command was taken, so wait for whichever settles it first, and
        // for the confirm only to learn that nothing could take it.
        let (target, body) = (self.shared.queue_name(queue), envelope.to_bytes());
        let confirmed = Shared::confirm(&link.rpc, "", &target, true, &body, props);
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
        lock(&self.shared.pending).remove(&corr);
        match outcome {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(BusError::NoRoute(_))) => Err(BusError::NoRoute(queue.to_owned())),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BusError::Timeout(timeout)),
        }
    }

    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError> {
        let link = self.shared.link()?;
        let channel = link.conn.create_channel().await.map_err(unavailable)?;
        self.shared.declare_on(&channel, spec).await?;
        let _ = channel.close(200, "declared".into()).await;
        Ok(())
    }

    async fn consume(
        &self,
        spec: QueueSpec,
        handler: Arc<dyn Handler>,
        stop: CancellationToken,
    ) -> Result<JoinHandle<()>, BusError> {
        let shared = self.shared.clone();
        // The first subscription here, so that a queue that cannot be
        // declared fails the start.
        let first = shared.subscribe(&shared.link()?, &spec).await?;
        shared.consumers_wanted.fetch_add(1, Ordering::SeqCst);
        Ok(tokio::spawn(async move {
            let mut subscription = Some(first);
            loop {
                let current = match subscription.take() {
                    Some(s) => s,
                    None => match shared.resubscribe(&spec, &stop).await {
                        Some(s) => s,
                        None => break,
                    },
                };
                shared.consumers_active.fetch_add(1, Ordering::SeqCst);
                let stopped = shared.deliver(&spec, &handler, current, &stop).await;
                shared.consumers_active.fetch_sub(1, Ordering::SeqCst);
                if stopped {
                    break;
                }
            }
            shared.consumers_wanted.fetch_sub(1, Ordering::SeqCst);
        }))
    }

    /// Connected, every channel usable, and every consumer consuming.
    async fn ready(&self) -> bool {
        let shared = &self.shared;
        shared.link.borrow().as_ref().is_some_and(|l| l.healthy())
            && shared.consumers_active.load(Ordering::SeqCst)
                >= shared.consumers_wanted.load(Ordering::SeqCst)
    }
}

/// One consumer's subscription: its channel and its stream of deliveries.
struct Subscription {
    link: Arc<Link>,
    channel: Channel,
    consumer: lapin::Consumer,
    queue: String,
    tag: String,
}

impl Shared {
    /// Opens a channel on `link`, declares the queue and consumes it.
    async fn subscribe(
        &self,
        link: &Arc<Link>,
        spec: &QueueSpec,
    ) -> Result<Subscription, BusError> {
        let channel = link.conn.create_channel().await.map_err(unavailable)?;
        channel
            .basic_qos(spec.prefetch.max(1), BasicQosOptions::default())
            .await
            .map_err(unavailable)?;
        let queue = self.declare_on(&channel, spec).await?;
        let tag = format!("{}-{}", queue, uuid::Uuid::now_v7());
        let consumer = channel
            .basic_consume(
                queue.clone().into(),
                tag.clone().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        Ok(Subscription {
            link: link.clone(),
            channel,
            consumer,
            queue,
            tag,
        })
    }

    /// Subscribes again once there is a usable link; `None` if stopped
    /// first.
    async fn resubscribe(
        &self,
        spec: &QueueSpec,
        stop: &CancellationToken,
    ) -> Option<Subscription> {
        loop {
            let link = self.next_link(stop).await?;
            match self.subscribe(&link, spec).await {
                Ok(subscription) => {
                    tracing::info!(queue = %spec.name, "consuming again");
                    return Some(subscription);
                }
                Err(e) => {
                    tracing::warn!(queue = %spec.name, error = %e, "cannot consume yet");
                    tokio::select! {
                        () = stop.cancelled() => return None,
                        () = tokio::time::sleep(RECONNECT_MOST) => {}
                    }
                }
            }
        }
    }

    /// Hands each delivery of `subscription` to the handler until `stop`
    /// (true: in-flight deliveries finished, channel closed) or until the
    /// channel or its link is gone (false: subscribe again; what was in
    /// flight goes back to the queue with the channel).
    async fn deliver(
        self: &Arc<Self>,
        spec: &QueueSpec,
        handler: &Arc<dyn Handler>,
        subscription: Subscription,
        stop: &CancellationToken,
    ) -> bool {
        let Subscription {
            link,
            channel,
            mut consumer,
            queue,
            tag,
        } = subscription;
        let in_flight = u32::from(spec.prefetch.max(1));
        let permits = Arc::new(Semaphore::new(in_flight as usize));
        let mut check = tokio::time::interval(CHECK_EVERY);
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => break,
                _ = check.tick() => {
                    if channel.status().connected() && link.healthy() {
                        continue;
                    }
                    tracing::warn!(queue, "consumer's channel lost; consuming again");
                    return false;
                }
                next = consumer.next() => next,
            };
            let delivery = match next {
                Some(Ok(d)) => d,
                Some(Err(e)) => {
                    tracing::warn!(queue, error = %e, "consumer error; consuming again");
                    return false;
                }
                None => {
                    tracing::warn!(queue, "consumer ended by the broker; consuming again");
                    let _ = channel.close(200, "consuming again".into()).await;
                    return false;
                }
            };
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            let (shared, handler, queue) = (self.clone(), handler.clone(), queue.clone());
            tokio::spawn(async move {
                handle_delivery(&queue, handler.as_ref(), &shared, delivery).await;
                drop(permit);
            });
        }
        // Stop taking deliveries, let in-flight ones finish (and be acked),
        // then close: anything unacked goes back to the queue.
        let _ = channel
            .basic_cancel(tag.into(), BasicCancelOptions::default())
            .await;
        let _ = permits.acquire_many(in_flight).await;
        let _ = channel.close(200, "consumer stopped".into()).await;
        true
    }
}

async fn handle_delivery(
    queue: &str,
    handler: &dyn Handler,
    shared: &Shared,
    delivery: lapin::message::Delivery,
) {
    let mut envelope = match Envelope::from_bytes(&delivery.data) {
        Ok(e) => e,
        Err(e) => {
            let reason = format!("malformed envelope: {e}");
            return finish_dead(queue, shared, &reason, delivery).await;
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
                let sent = match shared.link() {
                    Ok(link) => link
                        .publisher
                        .basic_publish(
                            "".into(),
                            reply_to.clone(),
                            BasicPublishOptions::default(),
                            &reply.to_bytes(),
                            props,
                        )
                        .await
                        .map(drop)
                        .map_err(unavailable),
                    Err(e) => Err(e),
                };
                if let Err(e) = sent {
                    tracing::warn!(queue, error = %e, "reply not sent");
                }
            }
            if let Err(e) = delivery.ack(BasicAckOptions::default()).await {
                // The broker redelivers it; the inbox makes that harmless.
                tracing::warn!(queue, error = %e, "ack failed");
            }
        }
        Err(HandlerError::Reject(reason)) => finish_dead(queue, shared, &reason, delivery).await,
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
    shared: &Shared,
    reason: &str,
    delivery: lapin::message::Delivery,
) {
    let dlx = format!("{}.dlx", shared.prefix);
    let published = match shared.link() {
        Ok(link) => Shared::dead_letter(&link.publisher, &dlx, queue, reason, &delivery).await,
        Err(e) => Err(e),
    };
    match published {
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
