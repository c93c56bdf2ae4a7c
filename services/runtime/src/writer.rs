//! The one group-commit writer every service uses: handlers hand it what
//! they received and wait; it commits whatever is waiting in one
//! transaction. One commit (one fsync, one round of locks) then serves many
//! messages, which is what lets a desk take thousands of them a second with
//! each acknowledged only once it is durable.
//!
//! A group that fails as a whole is tried again item by item, so one bad
//! item never takes its neighbours down with it; when the store is down,
//! every item is told to retry at once instead (item by item would only
//! wait out the same timeout again for each).

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::bus::HandlerError;

/// Why a group committed nothing.
#[derive(Debug)]
pub struct GroupFailed {
    /// What an item alone in its group is told: retry, or (a message that
    /// can never be applied) reject.
    pub error: HandlerError,
    /// The store could not be reached: no use trying item by item.
    pub unavailable: bool,
}

impl GroupFailed {
    /// A passing failure (`e` says what); `unavailable` if the store could
    /// not be reached.
    pub fn retry(e: impl std::fmt::Display, unavailable: bool) -> Self {
        Self {
            error: HandlerError::retry(e),
            unavailable,
        }
    }
}

impl From<HandlerError> for GroupFailed {
    fn from(error: HandlerError) -> Self {
        Self {
            error,
            unavailable: false,
        }
    }
}

impl From<crate::store::StoreError> for GroupFailed {
    fn from(e: crate::store::StoreError) -> Self {
        let unavailable = e.is_unavailable();
        Self::retry(e, unavailable)
    }
}

/// What a service's writer commits.
#[async_trait]
pub trait Group: Send + Sync + 'static {
    /// What a handler hands over (a decoded message).
    type Item: Send + Sync + 'static;
    /// What the handler is told once the item committed (a reply).
    type Output: Send + 'static;

    /// Metric label and log name, e.g. `ticketing.commands`.
    const NAME: &'static str;

    /// Most items one transaction commits.
    const MAX: usize;

    /// Where an item goes in its group: groups are applied in this order
    /// (when things happened, say: concurrent deliveries may reach the
    /// writer in another). By default, the order they arrived in.
    fn order(_item: &Self::Item) -> i128 {
        0
    }

    /// Commits `items` in one transaction: each item's outcome (a refused
    /// item is an outcome too), in their order; `Err` when nothing was
    /// committed.
    async fn commit(
        &self,
        items: &[Self::Item],
    ) -> Result<Vec<Result<Self::Output, HandlerError>>, GroupFailed>;
}

struct Pending<G: Group> {
    item: G::Item,
    done: oneshot::Sender<Result<G::Output, HandlerError>>,
}

/// Hands items to the writer. The writer ends once every handle was
/// dropped and what they handed over is committed.
pub struct Writer<G: Group> {
    tx: mpsc::Sender<Pending<G>>,
}

impl<G: Group> Clone for Writer<G> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<G: Group> Writer<G> {
    /// Starts the writer task for `group`.
    pub fn start(group: G) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(G::MAX * 2);
        (Self { tx }, tokio::spawn(run(group, rx)))
    }

    /// Commits `item` with whatever else is waiting, and says how it went.
    pub async fn submit(&self, item: G::Item) -> Result<G::Output, HandlerError> {
        let (done, outcome) = oneshot::channel();
        let stopping = || HandlerError::Retry(format!("{} is stopping", G::NAME));
        self.tx
            .send(Pending { item, done })
            .await
            .map_err(|_| stopping())?;
        outcome.await.map_err(|_| stopping())?
    }
}

async fn run<G: Group>(group: G, mut rx: mpsc::Receiver<Pending<G>>) {
    let mut waiting = Vec::with_capacity(G::MAX);
    while rx.recv_many(&mut waiting, G::MAX).await > 0 {
        // A stable sort: items with equal keys keep their arrival order.
        waiting.sort_by_key(|p| G::order(&p.item));
        let (items, dones): (Vec<G::Item>, Vec<_>) =
            waiting.drain(..).map(|p| (p.item, p.done)).unzip();
        metrics::histogram!("writer_group_size", "writer" => G::NAME).record(items.len() as f64);
        let outcomes = commit(&group, &items).await;
        for (done, outcome) in dones.into_iter().zip(outcomes) {
            // The handler may have gone (the stop): the outcome is
            // committed all the same, and a redelivery finds it done.
            let _ = done.send(outcome);
        }
    }
}

/// The outcome of each item: committed as a group, or item by item.
async fn commit<G: Group>(group: &G, items: &[G::Item]) -> Vec<Result<G::Output, HandlerError>> {
    match group.commit(items).await {
        Ok(outcomes) => outcomes,
        Err(e) if items.len() == 1 => vec![Err(e.error)],
        Err(e) if e.unavailable => items
            .iter()
            .map(|_| Err(HandlerError::retry(&e.error)))
            .collect(),
        Err(e) => {
            tracing::debug!(writer = G::NAME, error = %e.error, size = items.len(), "group failed; one by one");
            let mut each = Vec::with_capacity(items.len());
            for item in items {
                each.push(match group.commit(std::slice::from_ref(item)).await {
                    Ok(mut one) => one
                        .pop()
                        .unwrap_or_else(|| Err(HandlerError::Retry("no outcome".into()))),
                    Err(e) => Err(e.error),
                });
            }
            each
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Commits numbers (answering ten times each); a group holding 13
    /// fails as a whole, and 13 alone is rejected; a group holding 0 finds
    /// the store down.
    struct Numbers {
        groups: Arc<Mutex<Vec<Vec<i32>>>>,
    }

    #[async_trait]
    impl Group for Numbers {
        type Item = i32;
        type Output = i32;
        const NAME: &'static str = "test.numbers";
        const MAX: usize = 8;

        fn order(n: &i32) -> i128 {
            i128::from(*n)
        }

        async fn commit(
            &self,
            items: &[i32],
        ) -> Result<Vec<Result<i32, HandlerError>>, GroupFailed> {
            crate::bus::lock(&self.groups).push(items.to_vec());
            if items.contains(&0) {
                return Err(GroupFailed::retry("database down", true));
            }
            if items.contains(&13) {
                return Err(if items.len() == 1 {
                    HandlerError::Reject("13 is unlucky".into()).into()
                } else {
                    GroupFailed::retry("constraint violated", false)
                });
            }
            Ok(items.iter().map(|n| Ok(n * 10)).collect())
        }
    }

    /// Hands `items` over together (before the writer runs, so they make
    /// one group); their outcomes and the groups committed.
    async fn submit_together(items: &[i32]) -> (Vec<Result<i32, HandlerError>>, Vec<Vec<i32>>) {
        let groups = Arc::new(Mutex::new(Vec::new()));
        let (writer, task) = Writer::start(Numbers {
            groups: groups.clone(),
        });
        let outcomes =
            futures_util::future::join_all(items.iter().map(|n| writer.submit(*n))).await;
        drop(writer);
        task.await
            .expect("the writer ends when its handles are gone");
        let groups = crate::bus::lock(&groups).clone();
        (outcomes, groups)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_bad_item_does_not_take_its_group_down() {
        let (outcomes, groups) = submit_together(&[3, 13, 1]).await;
        assert_eq!(outcomes[0].as_ref().ok(), Some(&30));
        assert!(matches!(outcomes[1], Err(HandlerError::Reject(_))));
        assert_eq!(outcomes[2].as_ref().ok(), Some(&10));
        assert_eq!(groups, [vec![1, 3, 13], vec![1], vec![3], vec![13]]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_store_that_is_down_retries_everything_at_once() {
        let (outcomes, groups) = submit_together(&[2, 0, 1]).await;
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Err(HandlerError::Retry(e)) if e.contains("down")))
        );
        assert_eq!(groups.len(), 1, "not item by item");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_group_is_applied_in_its_order_and_outcomes_stay_with_their_items() {
        let (outcomes, groups) = submit_together(&[5, 2, 9]).await;
        let got: Vec<i32> = outcomes.into_iter().map(|o| o.expect("ok")).collect();
        assert_eq!(got, [50, 20, 90]);
        assert_eq!(groups, [vec![2, 5, 9]]);
    }
}
