//! The bus: one interface, two transports.
//!
//! - [`amqp::AmqpBus`]: RabbitMQ through lapin. Events on a topic exchange,
//!   commands by request/reply over direct reply-to, quorum queues with a
//!   delivery limit and a dead-letter exchange, publisher confirms.
//! - [`embedded::EmbeddedBus`]: the same semantics in process, for the
//!   one-binary default.
//!
//! Semantics both keep:
//! - `publish` returns only when the message is safe: confirmed by the broker
//!   (AMQP) or handled by every bound queue's consumer (embedded, where
//!   nothing outlives the process, so the outbox row stays until then).
//! - A consumer's handler runs, and the message is acked only after it
//!   returns `Ok` (after its transaction committed).
//! - `HandlerError::Retry` redelivers; after [`DELIVERY_LIMIT`] deliveries the
//!   message is dead-lettered. `HandlerError::Reject` (and a message that is
//!   not a valid envelope) is dead-lettered at once, with its reason.

pub mod amqp;
pub mod embedded;
pub mod topic;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use contracts::Envelope;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A poisoned lock only means another thread panicked mid-update of a plain
/// map; the data is still usable.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many times a message is delivered before it is dead-lettered.
pub const DELIVERY_LIMIT: u32 = 5;

/// How long a consumer holds a message whose handler asked for a retry
/// before handing it back, after its `deliveries`-th delivery: growing, so
/// that a dependency that is down for a while (the database) is waited out
/// instead of burning the delivery limit in a few milliseconds: 50 ms, then
/// doubling, at most 5 s.
pub fn retry_backoff(deliveries: u32) -> Duration {
    let ms = 50u64 << deliveries.saturating_sub(1).min(7);
    Duration::from_millis(ms.min(5_000))
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// No queue takes this routing key: the service that handles it has
    /// never started.
    #[error("no queue is bound for {0}")]
    NoRoute(String),
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("the broker refused the message (nack)")]
    Nacked,
    #[error("broker unavailable: {0}")]
    Unavailable(String),
}

/// Why a handler did not process a message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The message can never be processed (malformed, unknown type):
    /// dead-letter it now with this reason.
    #[error("rejected: {0}")]
    Reject(String),
    /// Something passing went wrong (database busy or down, a conflict):
    /// deliver it again later.
    #[error("retry: {0}")]
    Retry(String),
}

impl HandlerError {
    /// A passing failure (`e` says what): deliver the message again later.
    pub fn retry(e: impl std::fmt::Display) -> Self {
        Self::Retry(e.to_string())
    }
}

/// The message `env` carries, or its rejection: a message that does not
/// decode never will, so it is dead-lettered with the reason.
pub fn decoded<M: contracts::Message>(env: &Envelope) -> Result<M, HandlerError> {
    env.decode::<M>()
        .map_err(|e| HandlerError::Reject(e.to_string()))
}

/// What a queue is called and what it receives.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    /// Service-level name, e.g. `ticketing.commands`; transports prefix it.
    pub name: String,
    /// Topic patterns on the events exchange (`ticketing.incident.*`). A
    /// command queue has none: commands are addressed to it by name.
    pub bindings: Vec<String>,
    /// Messages in flight per consumer; also how many are handled at once.
    pub prefetch: u16,
    /// The topic exchange `bindings` are on: the events exchange, unless
    /// this names another (e.g. `suppliers`, where suppliers publish, kept
    /// apart from the desk's own events). Transports prefix it.
    pub exchange: Option<String>,
    /// One consumer at a time takes from the queue (the others wait as
    /// standbys), so what it receives stays in the order it was published:
    /// for consumers whose messages about one thing must not overtake each
    /// other. On RabbitMQ, `x-single-active-consumer`; the embedded bus has
    /// one consumer per queue anyway.
    pub single_active: bool,
}

impl QueueSpec {
    pub fn commands(name: &str, prefetch: u16) -> Self {
        Self {
            name: name.to_owned(),
            bindings: Vec::new(),
            prefetch,
            exchange: None,
            single_active: false,
        }
    }

    pub fn events(name: &str, bindings: &[&str], prefetch: u16) -> Self {
        Self {
            name: name.to_owned(),
            bindings: bindings.iter().map(|b| (*b).to_owned()).collect(),
            prefetch,
            exchange: None,
            single_active: false,
        }
    }

    /// The same queue, consumed by one replica at a time (see
    /// [`QueueSpec::single_active`]).
    pub fn in_order(mut self) -> Self {
        self.single_active = true;
        self
    }
}

#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles one message. For a request, the returned envelope is the
    /// reply; for an event, return `Ok(None)`.
    async fn handle(&self, envelope: Envelope) -> Result<Option<Envelope>, HandlerError>;
}

/// A message that was dead-lettered, and why.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub queue: String,
    pub reason: String,
    pub body: Vec<u8>,
}

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes an event on the topic exchange. `Ok` means it is safe
    /// (see the module doc); a message no queue is bound to is dropped, as on
    /// any topic exchange.
    async fn publish(&self, routing_key: &str, envelope: &Envelope) -> Result<(), BusError>;

    /// Sends a command to `queue` and waits up to `timeout` for the reply. The
    /// command expires unprocessed after `timeout`, so a caller that gave up
    /// never sees it done later.
    async fn request(
        &self,
        queue: &str,
        envelope: &Envelope,
        timeout: Duration,
    ) -> Result<Envelope, BusError>;

    /// Declares `spec`'s queue and bindings for a consumer outside the desk
    /// (a supplier), so that what is published for it waits for it. The
    /// embedded bus has no outside consumers: there it does nothing.
    async fn declare(&self, spec: &QueueSpec) -> Result<(), BusError>;

    /// Consumes `spec` with `handler` until `stop` is cancelled; the returned
    /// task ends after in-flight messages finished.
    async fn consume(
        &self,
        spec: QueueSpec,
        handler: Arc<dyn Handler>,
        stop: CancellationToken,
    ) -> Result<JoinHandle<()>, BusError>;

    /// Whether the transport can carry messages now (for `/readyz`).
    async fn ready(&self) -> bool;
}
