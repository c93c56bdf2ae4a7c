//! Working the dead-letter queue (`<prefix>.dead-letters`): list what is
//! there with its reason and age, show one, replay some to the queue they
//! came from, purge some; and a retention for expired commands, whose
//! caller already had its 503 and retried.
//!
//! Reading never loses a letter: messages are taken without an ack on a
//! channel of their own, and those not settled go back to the queue when
//! that channel closes. The ones not picked are held (unacked) until then,
//! so a pass sees each letter once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lapin::options::{BasicAckOptions, BasicGetOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel};

use super::{AmqpBus, PERSISTENT, Shared, header_str, unavailable};
use crate::bus::BusError;

/// A dead letter as listed.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The message's id (`message_id`), or empty if it had none.
    pub message_id: String,
    /// The queue it was dead-lettered from, without the bus prefix.
    pub queue: String,
    /// Why: a handler's reason, or the broker's (`expired`,
    /// `delivery_limit`, `rejected`).
    pub reason: String,
    /// The message type (`ticketing.incident.create.v1`, ...), if any.
    pub message_type: Option<String>,
    /// When it was dead-lettered, in seconds since the epoch, if known.
    pub dead_since: Option<u64>,
    pub body: Vec<u8>,
}

impl Listed {
    /// How long it has been a dead letter.
    pub fn age(&self, now: SystemTime) -> Option<Duration> {
        let since = UNIX_EPOCH + Duration::from_secs(self.dead_since?);
        Some(now.duration_since(since).unwrap_or_default())
    }
}

/// What to do with the letters picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Back to the queue each came from, to be handled again.
    Replay,
    /// Gone for good.
    Purge,
}

/// The header our own dead-lettering stamps (seconds since the epoch).
pub(super) const DEAD_AT: &str = "x-dead-lettered-at";

pub(super) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// When the broker, or a consumer of ours, dead-lettered it.
fn dead_since(props: &BasicProperties) -> Option<u64> {
    let headers = props.headers().as_ref()?.inner();
    match headers.get(&ShortString::from(DEAD_AT)) {
        Some(AMQPValue::LongLongInt(n)) => return u64::try_from(*n).ok(),
        Some(AMQPValue::Timestamp(t)) => return Some(*t),
        _ => {}
    }
    // The broker's own: `x-death` is a list of tables, newest first, each
    // with a `time`.
    let Some(AMQPValue::FieldArray(deaths)) = headers.get(&ShortString::from("x-death")) else {
        return None;
    };
    deaths.as_slice().iter().find_map(|death| match death {
        AMQPValue::FieldTable(t) => match t.inner().get(&ShortString::from("time")) {
            Some(AMQPValue::Timestamp(at)) => Some(*at),
            _ => None,
        },
        _ => None,
    })
}

impl AmqpBus {
    /// Up to `limit` dead letters, oldest first, left where they are.
    pub async fn list_dead_letters(&self, limit: usize) -> Result<Vec<Listed>, BusError> {
        let channel = self.shared.letters_channel().await?;
        let queue = self.dead_letter_queue();
        let mut out = Vec::new();
        while out.len() < limit {
            // Each get takes the next letter not yet taken (those taken are
            // held until the channel closes), so this ends at the tail.
            let got = channel
                .basic_get(queue.clone().into(), BasicGetOptions::default())
                .await
                .map_err(unavailable)?;
            let Some(message) = got else { break };
            out.push(self.shared.listed(&message.delivery));
        }
        let _ = channel.close(200, "listed".into()).await;
        Ok(out)
    }

    /// Replays or purges every dead letter `pick` chooses; how many. The
    /// others stay, in their order.
    pub async fn settle_dead_letters(
        &self,
        pick: impl Fn(&Listed) -> bool + Send,
        settle: Settle,
    ) -> Result<usize, BusError> {
        self.shared.settle(pick, settle).await
    }

    /// Purges expired commands dead for longer than `retention`, every
    /// `every`, until `stop`: the caller of each had its 503 long ago.
    pub fn keep_expired_for(
        &self,
        retention: Duration,
        every: Duration,
        stop: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                let now = SystemTime::now();
                let old = |l: &Listed| {
                    l.reason == "expired" && l.age(now).is_some_and(|age| age > retention)
                };
                match shared.settle(old, Settle::Purge).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(purged = n, "expired commands past their retention purged")
                    }
                    Err(e) => tracing::debug!(error = %e, "expired commands not swept this time"),
                }
            }
        })
    }
}

impl Shared {
    /// The queue where dead letters collect.
    pub(super) fn dead_letter_queue(&self) -> String {
        format!("{}.dead-letters", self.prefix)
    }

    /// How many dead letters there are (asked on `channel`). Asked by
    /// declaring the queue again, as at connect: idempotent, it puts the
    /// queue back should an operator have deleted it, and it counts as use
    /// where a policy expires idle queues (a passive declare does not).
    pub(super) async fn dead_letter_depth(&self, channel: &Channel) -> Result<u32, BusError> {
        super::declare_quorum(channel, &self.dead_letter_queue(), FieldTable::default()).await
    }

    /// A channel of its own: what it takes and does not settle goes back
    /// to the queue when it closes.
    async fn letters_channel(&self) -> Result<Channel, BusError> {
        let link = self.link()?;
        let channel = link.conn.create_channel().await.map_err(unavailable)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unavailable)?;
        Ok(channel)
    }

    async fn settle(
        &self,
        pick: impl Fn(&Listed) -> bool + Send,
        settle: Settle,
    ) -> Result<usize, BusError> {
        let channel = self.letters_channel().await?;
        let queue = self.dead_letter_queue();
        // Only what is there now: a replayed letter that fails again comes
        // back behind them, and must not be replayed again in this pass.
        let there = self.dead_letter_depth(&channel).await?;
        let mut settled = 0;
        let outcome = async {
            for _ in 0..there {
                let got = channel
                    .basic_get(queue.clone().into(), BasicGetOptions::default())
                    .await
                    .map_err(unavailable)?;
                let Some(message) = got else { break };
                let delivery = message.delivery;
                if !pick(&self.listed(&delivery)) {
                    // Held unacked until the channel closes, so the next
                    // get returns the next letter, not this one again.
                    continue;
                }
                if settle == Settle::Replay {
                    self.replay(&channel, &delivery).await?;
                }
                delivery
                    .ack(BasicAckOptions::default())
                    .await
                    .map_err(unavailable)?;
                settled += 1;
            }
            Ok::<_, BusError>(())
        }
        .await;
        let _ = channel.close(200, "settled".into()).await;
        outcome.map(|()| settled)
    }

    fn listed(&self, delivery: &lapin::message::Delivery) -> Listed {
        let letter = super::dead_letter_of(delivery);
        let props = &delivery.properties;
        let prefix = format!("{}.", self.prefix);
        Listed {
            message_id: props
                .message_id()
                .as_ref()
                .map(|id| id.as_str().to_owned())
                .unwrap_or_default(),
            queue: letter
                .queue
                .strip_prefix(&prefix)
                .unwrap_or(&letter.queue)
                .to_owned(),
            reason: letter.reason,
            message_type: props.kind().as_ref().map(|k| k.as_str().to_owned()),
            dead_since: dead_since(props),
            body: letter.body,
        }
    }

    /// Publishes a dead letter again to the queue it came from, as it was
    /// sent (its id, type, tenant and trace), without what dead-lettering
    /// added and without an expiry.
    async fn replay(
        &self,
        channel: &Channel,
        delivery: &lapin::message::Delivery,
    ) -> Result<(), BusError> {
        let props = &delivery.properties;
        let queue = header_str(props, "x-original-queue")
            .or_else(|| header_str(props, "x-first-death-queue"))
            .ok_or_else(|| BusError::NoRoute("a dead letter without its queue".into()))?;
        let mut headers = FieldTable::default();
        for key in ["traceparent", "x-tenant-id"] {
            if let Some(value) = header_str(props, key) {
                headers.insert(key.into(), super::header(&value));
            }
        }
        let mut replayed = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(PERSISTENT)
            .with_headers(headers);
        if let Some(id) = props.message_id() {
            replayed = replayed.with_message_id(id.clone());
        }
        if let Some(kind) = props.kind() {
            replayed = replayed.with_type(kind.clone());
        }
        Self::confirm(channel, "", &queue, true, &delivery.data, replayed).await
    }
}
