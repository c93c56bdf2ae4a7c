//! The in-process transport: queues are channels inside this process.
//!
//! Nothing here outlives the process, so the transport keeps no message the
//! caller could lose: `publish` returns only after every bound queue's
//! handler has committed (or dead-lettered) the event, so an outbox row is
//! deleted only once its effects are stored; `request` callers wait for their
//! reply and are told if it never comes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use contracts::Envelope;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    Bus, BusError, DELIVERY_LIMIT, DeadLetter, Handler, HandlerError, QueueSpec, lock, topic,
};

struct Item {
    body: Vec<u8>,
    deliveries: u32,
    expires_at: Option<Instant>,
    /// Told when the message is done with: handled or dead-lettered.
    done: Option<oneshot::Sender<()>>,
    reply: Option<oneshot::Sender<Envelope>>,
}

struct Queue {
    name: String,
    bindings: Vec<String>,
    tx: mpsc::UnboundedSender<Item>,
    /// Shared by the queue's consumers, which compete for its messages.
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Item>>>,
    consumers: usize,
}

#[derive(Default)]
struct Inner {
    queues: Mutex<HashMap<String, Queue>>,
    dead_letters: Mutex<Vec<DeadLetter>>,
}

#[derive(Clone, Default)]
pub struct EmbeddedBus {
    inner: Arc<Inner>,
}

impl EmbeddedBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything dead-lettered so far, oldest first.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.inner.dead_letters).clone()
    }

    /// Publishes raw bytes, as a misbehaving producer would; for tests of
    /// what consumers do with malformed messages.
    pub async fn publish_raw(&self, routing_key: &str, body: Vec<u8>) {
        for done in self.route(routing_key, &body).unwrap_or_default() {
            let _ = done.await;
        }
    }

    fn route(
        &self,
        routing_key: &str,
        body: &[u8],
    ) -> Result<Vec<oneshot::Receiver<()>>, BusError> {
        let queues = lock(&self.inner.queues);
        let mut waits = Vec::new();
        for q in queues.values() {
            if q.bindings.iter().any(|p| topic::matches(p, routing_key)) {
                if q.consumers == 0 {
                    // Nobody would handle it: the publisher keeps it.
                    return Err(BusError::Unavailable(format!("{} has no consumer", q.name)));
                }
                let (done, wait) = oneshot::channel();
                let item = Item {
                    body: body.to_vec(),
                    deliveries: 0,
                    expires_at: None,
                    done: Some(done),
                    reply: None,
                };
                if q.tx.send(item).is_ok() {
                    waits.push(wait);
                }
            }
        }
        Ok(waits)
    }

    fn dead_letter(&self, queue: &str, reason: String, body: Vec<u8>) {
        tracing::warn!(queue, %reason, "message dead-lettered");
        metrics::counter!("bus_dead_lettered_total", "queue" => queue.to_owned()).increment(1);
        lock(&self.inner.dead_letters).push(DeadLetter {
            queue: queue.to_owned(),
            reason,
            body,
        });
    }
}

#[async_trait]
impl Bus for EmbeddedBus {
    async fn publish(&self, routing_key: &str, envelope: &Envelope) -> Result<(), BusError> {
        let waits = self.route(routing_key, &envelope.to_bytes())?;
        for done in waits {
            // A dropped sender means the consumer stopped before handling it:
            // the caller keeps its outbox row and publishes again later.
            done.await
                .map_err(|_| BusError::Unavailable("consumer stopped".into()))?;
        }
        Ok(())
    }

    async fn request(
        &self,
        queue: &str,
        envelope: &Envelope,
        timeout: Duration,
    ) -> Result<Envelope, BusError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        {
            let queues = lock(&self.inner.queues);
            let q = queues
                .get(queue)
                .filter(|q| q.consumers > 0)
                .ok_or_else(|| BusError::NoRoute(queue.to_owned()))?;
            q.tx.send(Item {
                body: envelope.to_bytes(),
                deliveries: 0,
                expires_at: Some(Instant::now() + timeout),
                done: None,
                reply: Some(reply_tx),
            })
            .map_err(|_| BusError::NoRoute(queue.to_owned()))?;
        }
        match tokio::time::timeout(timeout, reply_rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(BusError::Unavailable(format!(
                "{queue} dropped the request (dead-lettered or stopped)"
            ))),
            Err(_) => Err(BusError::Timeout(timeout)),
        }
    }

    async fn declare(&self, _spec: &QueueSpec) -> Result<(), BusError> {
        Ok(())
    }

    async fn consume(
        &self,
        mut spec: QueueSpec,
        handler: Arc<dyn Handler>,
        stop: CancellationToken,
    ) -> Result<JoinHandle<()>, BusError> {
        if spec.exchange.is_some() {
            // Another exchange is for publishers outside the process; in
            // process nothing publishes there.
            spec.bindings.clear();
        }
        let rx = {
            let mut queues = lock(&self.inner.queues);
            let q = queues.entry(spec.name.clone()).or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                Queue {
                    name: spec.name.clone(),
                    bindings: spec.bindings.clone(),
                    tx,
                    rx: Arc::new(tokio::sync::Mutex::new(rx)),
                    consumers: 0,
                }
            });
            for b in &spec.bindings {
                if !q.bindings.contains(b) {
                    q.bindings.push(b.clone());
                }
            }
            q.consumers += 1;
            (q.rx.clone(), q.tx.clone(), q.name.clone())
        };
        let bus = self.clone();
        Ok(tokio::spawn(async move {
            let (rx, tx, name) = rx;
            let permits = Arc::new(Semaphore::new(usize::from(spec.prefetch.max(1))));
            loop {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let item = tokio::select! {
                    _ = stop.cancelled() => break,
                    item = async { rx.lock().await.recv().await } => item,
                };
                let Some(item) = item else { break };
                let (bus, handler, tx, name) =
                    (bus.clone(), handler.clone(), tx.clone(), name.clone());
                tokio::spawn(async move {
                    deliver(&bus, &name, handler.as_ref(), &tx, item).await;
                    drop(permit);
                });
            }
            // Wait for in-flight messages before saying we stopped.
            let _ = permits.acquire_many(u32::from(spec.prefetch.max(1))).await;
            let last = match lock(&bus.inner.queues).get_mut(&name) {
                Some(q) => {
                    q.consumers = q.consumers.saturating_sub(1);
                    q.consumers == 0
                }
                None => false,
            };
            if last {
                // Hand back what nobody will handle now: dropping an item
                // tells its publisher (who keeps it) and its requester.
                let mut rx = rx.lock().await;
                while rx.try_recv().is_ok() {}
            }
        }))
    }

    async fn ready(&self) -> bool {
        true
    }
}

async fn deliver(
    bus: &EmbeddedBus,
    queue: &str,
    handler: &dyn Handler,
    requeue: &mpsc::UnboundedSender<Item>,
    mut item: Item,
) {
    item.deliveries += 1;
    if item.expires_at.is_some_and(|at| Instant::now() > at) {
        bus.dead_letter(queue, "expired before it was handled".into(), item.body);
        return;
    }
    let envelope = match Envelope::from_bytes(&item.body) {
        Ok(e) => e,
        Err(e) => {
            bus.dead_letter(queue, format!("malformed envelope: {e}"), item.body);
            finish(item.done);
            return;
        }
    };
    let span = crate::telemetry::message_span(queue, &envelope);
    let result = tracing::Instrument::instrument(handler.handle(envelope), span).await;
    match result {
        Ok(reply) => {
            if let (Some(tx), Some(reply)) = (item.reply.take(), reply) {
                let _ = tx.send(reply);
            }
            finish(item.done);
        }
        Err(HandlerError::Reject(reason)) => {
            bus.dead_letter(queue, reason, item.body);
            finish(item.done);
        }
        Err(HandlerError::Retry(reason)) if item.deliveries >= DELIVERY_LIMIT => {
            bus.dead_letter(
                queue,
                format!("delivery limit reached; last error: {reason}"),
                item.body,
            );
            finish(item.done);
        }
        Err(HandlerError::Retry(reason)) => {
            tracing::debug!(queue, %reason, deliveries = item.deliveries, "redelivering");
            let requeue = requeue.clone();
            tokio::spawn(async move {
                tokio::time::sleep(super::retry_backoff(item.deliveries)).await;
                let _ = requeue.send(item);
            });
        }
    }
}

fn finish(done: Option<oneshot::Sender<()>>) {
    if let Some(done) = done {
        let _ = done.send(());
    }
}
