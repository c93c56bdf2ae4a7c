//! The same bus tests on both transports: the embedded one and RabbitMQ.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use contracts::{Envelope, Message};
use runtime::bus::amqp::AmqpBus;
use runtime::bus::embedded::EmbeddedBus;
use runtime::bus::{Bus, BusError, DELIVERY_LIMIT, DeadLetter, Handler, HandlerError, QueueSpec};
use runtime::testing;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ping {
    n: u32,
    poison: bool,
}

impl Message for Ping {
    const TYPE: &'static str = "PingV1";
    const VERSION: u32 = 1;
}

enum Transport {
    Embedded(EmbeddedBus),
    Amqp(Arc<AmqpBus>),
}

impl Transport {
    async fn amqp() -> Self {
        let url = testing::amqp_url();
        let bus = AmqpBus::connect(&url, &testing::unique("bustest"))
            .await
            .unwrap_or_else(|e| panic!("RabbitMQ at {url} is needed by this test: {e}"));
        Self::Amqp(Arc::new(bus))
    }

    fn bus(&self) -> Arc<dyn Bus> {
        match self {
            Self::Embedded(b) => Arc::new(b.clone()),
            Self::Amqp(b) => b.clone(),
        }
    }

    async fn publish_raw(&self, key: &str, body: &[u8]) {
        match self {
            Self::Embedded(b) => b.publish_raw(key, body.to_vec()).await,
            Self::Amqp(b) => b.publish_raw(key, body).await.expect("raw publish"),
        }
    }

    /// Waits until `n` dead letters are there, and returns them.
    async fn dead_letters(&self, n: usize) -> Vec<DeadLetter> {
        let mut got = Vec::new();
        for _ in 0..200 {
            match self {
                Self::Embedded(b) => got = b.dead_letters(),
                Self::Amqp(b) => {
                    got.extend(b.take_dead_letters(100).await.expect("read dead letters"))
                }
            }
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {n} dead letters, found {}: {got:?}", got.len());
    }
}

/// Records what it handles; rejects poison; asks for a retry on the first
/// `fail_first` deliveries of each message.
struct Recorder {
    seen: mpsc::UnboundedSender<Envelope>,
    deliveries: AtomicU32,
    fail_first: u32,
    always_retry: bool,
}

#[async_trait]
impl Handler for Recorder {
    async fn handle(&self, env: Envelope) -> Result<Option<Envelope>, HandlerError> {
        let attempt = self.deliveries.fetch_add(1, Ordering::SeqCst) + 1;
        let ping: Ping = env
            .decode()
            .map_err(|e| HandlerError::Reject(e.to_string()))?;
        if ping.poison {
            return Err(HandlerError::Reject(format!("poison ping {}", ping.n)));
        }
        if self.always_retry || attempt <= self.fail_first {
            return Err(HandlerError::Retry(format!(
                "attempt {attempt} fails on purpose"
            )));
        }
        let _ = self.seen.send(env.clone());
        Ok(Some(env.caused(&Ping {
            n: ping.n * 10,
            poison: false,
        })))
    }
}

fn recorder(
    fail_first: u32,
    always_retry: bool,
) -> (Arc<Recorder>, mpsc::UnboundedReceiver<Envelope>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let r = Recorder {
        seen: tx,
        deliveries: AtomicU32::new(0),
        fail_first,
        always_retry,
    };
    (Arc::new(r), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Envelope>) -> Envelope {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a message within 10 s")
        .expect("channel open")
}

fn ping(n: u32, poison: bool) -> Envelope {
    Envelope::new(Uuid::now_v7(), &Ping { n, poison })
}

async fn events_reach_bound_queues(t: Transport) {
    let bus = t.bus();
    let stop = CancellationToken::new();
    let (handler, mut rx) = recorder(0, false);
    let spec = QueueSpec::events("test.pings", &["test.ping.*"], 8);
    let task = bus
        .consume(spec, handler, stop.clone())
        .await
        .expect("consume");
    let sent = ping(1, false);
    bus.publish("test.ping.sent", &sent).await.expect("publish");
    // Not bound: goes nowhere, and that is not an error.
    bus.publish("other.thing.happened", &ping(2, false))
        .await
        .expect("publish unbound");
    let got = next(&mut rx).await;
    assert_eq!(got, sent);
    stop.cancel();
    task.await.expect("consumer stops");
    assert!(
        rx.try_recv().is_err(),
        "the unbound event was not delivered"
    );
}

async fn request_gets_reply(t: Transport) {
    let bus = t.bus();
    let stop = CancellationToken::new();
    let (handler, _rx) = recorder(0, false);
    let _task = bus
        .consume(
            QueueSpec::commands("test.commands", 8),
            handler,
            stop.clone(),
        )
        .await
        .expect("consume");
    let req = ping(7, false);
    let reply = bus
        .request("test.commands", &req, Duration::from_secs(10))
        .await
        .expect("reply");
    assert_eq!(
        reply.decode::<Ping>().expect("ping"),
        Ping {
            n: 70,
            poison: false
        }
    );
    assert_eq!(reply.causation_id, Some(req.message_id));
    assert_eq!(reply.correlation_id, req.correlation_id);
    stop.cancel();
}

async fn request_to_nobody_is_no_route(t: Transport) {
    let err = t
        .bus()
        .request("nobody.listens", &ping(1, false), Duration::from_secs(5))
        .await
        .expect_err("nobody consumes that queue");
    assert!(matches!(err, BusError::NoRoute(_)), "{err:?}");
}

async fn retry_then_success(t: Transport) {
    let bus = t.bus();
    let stop = CancellationToken::new();
    let (handler, mut rx) = recorder(2, false);
    let _task = bus
        .consume(
            QueueSpec::events("test.flaky", &["test.flaky"], 4),
            handler.clone(),
            stop.clone(),
        )
        .await
        .expect("consume");
    let sent = ping(3, false);
    bus.publish("test.flaky", &sent).await.expect("publish");
    assert_eq!(next(&mut rx).await, sent);
    assert_eq!(
        handler.deliveries.load(Ordering::SeqCst),
        3,
        "two failures, then success"
    );
    stop.cancel();
}

async fn poison_and_malformed_are_dead_lettered_and_consumer_goes_on(t: Transport) {
    let bus = t.bus();
    let stop = CancellationToken::new();
    let (handler, mut rx) = recorder(0, false);
    let _task = bus
        .consume(
            QueueSpec::events("test.mixed", &["test.mixed"], 4),
            handler,
            stop.clone(),
        )
        .await
        .expect("consume");
    bus.publish("test.mixed", &ping(13, true))
        .await
        .expect("publish poison");
    t.publish_raw("test.mixed", b"{ this is not an envelope")
        .await;
    let good = ping(14, false);
    bus.publish("test.mixed", &good)
        .await
        .expect("publish good");
    assert_eq!(next(&mut rx).await, good, "the consumer kept running");
    let dead = t.dead_letters(2).await;
    let reasons: Vec<&str> = dead.iter().map(|d| d.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("poison ping 13")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("malformed envelope")),
        "{reasons:?}"
    );
    assert!(
        dead.iter().all(|d| d.queue.ends_with("test.mixed")),
        "{dead:?}"
    );
    assert!(
        dead.iter().any(|d| d.body == b"{ this is not an envelope"),
        "the body is kept"
    );
    stop.cancel();
}

async fn endless_retries_stop_at_the_delivery_limit(t: Transport) {
    let bus = t.bus();
    let stop = CancellationToken::new();
    let (handler, _rx) = recorder(0, true);
    let _task = bus
        .consume(
            QueueSpec::events("test.doomed", &["test.doomed"], 4),
            handler.clone(),
            stop.clone(),
        )
        .await
        .expect("consume");
    let sent = ping(99, false);
    // The embedded publish returns once the message is dead-lettered; the
    // broker's once it is queued.
    bus.publish("test.doomed", &sent).await.expect("publish");
    let dead = t.dead_letters(1).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        Envelope::from_bytes(&dead[0].body)
            .expect("envelope")
            .message_id,
        sent.message_id
    );
    let deliveries = handler.deliveries.load(Ordering::SeqCst);
    assert!(
        (DELIVERY_LIMIT..=DELIVERY_LIMIT + 1).contains(&deliveries),
        "delivered {deliveries} times with a limit of {DELIVERY_LIMIT}"
    );
    stop.cancel();
}

async fn rejected_commands_stay_dead_lettered(t: Transport) {
    let bus = t.bus();
    let stop = CancellationToken::new();
    let (handler, _rx) = recorder(0, false);
    let _task = bus
        .consume(QueueSpec::commands("test.strict", 4), handler, stop.clone())
        .await
        .expect("consume");
    let timeout = Duration::from_millis(500);
    let refused = bus.request("test.strict", &ping(5, true), timeout).await;
    assert!(refused.is_err(), "a rejected command gets no reply");
    // Commands carry an expiry; their dead letters must not inherit it:
    // a wait past the expiry is the point (no condition to wait for).
    tokio::time::sleep(timeout * 3).await;
    let dead = t.dead_letters(1).await;
    assert!(
        dead.iter().any(|d| d.reason.contains("poison ping 5")),
        "{dead:?}"
    );
    stop.cancel();
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Transport::Embedded(super::EmbeddedBus::new())).await;
                }
            )*
        }
        mod rabbitmq {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Transport::amqp().await).await;
                }
            )*
        }
    };
}

both!(
    events_reach_bound_queues,
    request_gets_reply,
    request_to_nobody_is_no_route,
    retry_then_success,
    poison_and_malformed_are_dead_lettered_and_consumer_goes_on,
    endless_retries_stop_at_the_delivery_limit,
    rejected_commands_stay_dead_lettered,
);

/// RabbitMQ only (the embedded bus has no broker to expire a command): an
/// expired command is a dead letter until its retention passes, then the
/// sweep purges it and leaves every other dead letter where it was.
#[tokio::test]
async fn expired_commands_are_purged_after_their_retention_and_nothing_else() {
    let Transport::Amqp(bus) = Transport::amqp().await else {
        unreachable!()
    };
    let stop = CancellationToken::new();
    // A rejected command: a dead letter that is not expired.
    let (handler, _rx) = recorder(0, false);
    let _task = bus
        .consume(QueueSpec::commands("test.strict", 4), handler, stop.clone())
        .await
        .expect("consume");
    let _ = bus
        .request("test.strict", &ping(1, true), Duration::from_millis(500))
        .await;
    // A command nobody takes in time: declared, never consumed.
    bus.declare(&QueueSpec::commands("test.nobody", 1))
        .await
        .expect("declare");
    let expired = bus
        .request("test.nobody", &ping(2, false), Duration::from_millis(100))
        .await;
    assert!(matches!(expired, Err(BusError::Timeout(_))), "{expired:?}");
    let reasons = |letters: Vec<runtime::bus::amqp::Listed>| {
        let mut r: Vec<String> = letters
            .into_iter()
            .map(|l| format!("{} {}", l.queue, l.reason))
            .collect();
        r.sort();
        r
    };
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = reasons(bus.list_dead_letters(100).await.expect("list"));
        if seen.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        seen,
        ["test.nobody expired", "test.strict poison ping 1"],
        "both dead letters, listed with their queue and reason"
    );
    // Within its retention the expired command stays.
    let sweep = bus.keep_expired_for(
        Duration::from_secs(3600),
        Duration::from_millis(50),
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    sweep.abort();
    assert_eq!(
        reasons(bus.list_dead_letters(100).await.expect("list")).len(),
        2
    );
    // Past it, the sweep takes it and only it.
    let _sweep = bus.keep_expired_for(Duration::ZERO, Duration::from_millis(50), stop.clone());
    let mut left = Vec::new();
    for _ in 0..100 {
        left = reasons(bus.list_dead_letters(100).await.expect("list"));
        if left.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, ["test.strict poison ping 1"]);
    stop.cancel();
}

/// RabbitMQ only: a channel the broker closes while the connection stays
/// up (here the publisher's, by a `basic.get` on a queue an operator
/// deleted) is not a deaf process. The bus notices, connects again,
/// declares what it needs again, and publishes and consumes as before; it
/// says it is not ready until then. With lapin's auto-recovery the channel
/// stayed closed for good while the connection said "connected".
#[tokio::test]
async fn a_channel_the_broker_closes_is_opened_again() {
    use lapin::options::QueueDeleteOptions;
    let url = testing::amqp_url();
    let prefix = testing::unique("bustest");
    let bus = AmqpBus::connect(&url, &prefix).await.expect("RabbitMQ");
    let stop = CancellationToken::new();
    let (handler, mut rx) = recorder(0, false);
    let _task = bus
        .consume(
            QueueSpec::events("test.heard", &["test.heard"], 4),
            handler,
            stop.clone(),
        )
        .await
        .expect("consume");
    bus.publish("test.heard", &ping(1, false))
        .await
        .expect("publish");
    assert_eq!(next(&mut rx).await.decode::<Ping>().expect("ping").n, 1);

    // An operator deletes the dead-letter queue; the next read of it is a
    // channel error (404) that closes the channel it was read on.
    let admin = lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
        .await
        .expect("admin connection");
    let channel = admin.create_channel().await.expect("channel");
    channel
        .queue_delete(
            bus.dead_letter_queue().into(),
            QueueDeleteOptions::default(),
        )
        .await
        .expect("queue deleted");
    assert!(bus.take_dead_letters(1).await.is_err(), "the read fails");

    // It heals: ready again, publishing and consuming, the queue back.
    let mut healed = false;
    for _ in 0..100 {
        if bus.ready().await && bus.publish("test.heard", &ping(2, false)).await.is_ok() {
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healed, "ready and publishing again within 10 s");
    assert_eq!(next(&mut rx).await.decode::<Ping>().expect("ping").n, 2);
    assert!(
        bus.take_dead_letters(1).await.is_ok(),
        "the queue is declared again"
    );
    stop.cancel();
}
