//! How a service answers the commands it is sent: the one error type of
//! every service, the reply to an outcome, and a change done once.
//!
//! A service declares its commands in `contracts::commands` and says what
//! it does with them by implementing [`Answers`]; [`Answering`] is the one
//! command handler, which decodes each command once and hands it over as a
//! query or a change, for the service to handle in one exhaustive match.
//! Each arm turns its typed outcome into the reply with [`reply`]; a change
//! runs in [`once`] (or, for a service that commits changes in groups, its
//! [`crate::writer`] does the same per group).

use std::sync::Arc;

use async_trait::async_trait;
use contracts::commands::{Asked, Commands};
use contracts::common::ReplyV1;
use contracts::{Command, Envelope, ErrorBody, ErrorCode};
use serde::Serialize;
use sqlx::AnyConnection;

use crate::bus::{Handler, HandlerError};
use crate::inbox;
use crate::store::{Store, StoreError};

/// What a service does with the commands it is sent.
#[async_trait]
pub trait Answers: Send + Sync + 'static {
    /// The service's commands, as `contracts::commands` declares them.
    type Commands: Commands;

    /// The store queries read.
    fn store(&self) -> &Store;

    /// Answers a query from the store as it is (no transaction, no inbox:
    /// asking again is harmless).
    async fn query(
        &self,
        conn: &mut AnyConnection,
        env: &Envelope,
        query: <Self::Commands as Commands>::Query,
    ) -> std::result::Result<ReplyV1, HandlerError>;

    /// Does a change once: most services run it in [`once`]; one that
    /// commits changes in groups hands it to its writer.
    async fn change(
        &self,
        env: &Envelope,
        change: <Self::Commands as Commands>::Change,
    ) -> std::result::Result<ReplyV1, HandlerError>;
}

/// The command handler of a service: decodes each command once (one that
/// is not the service's is dead-lettered with the reason), answers it, and
/// replies.
pub struct Answering<S>(pub Arc<S>);

#[async_trait]
impl<S: Answers> Handler for Answering<S> {
    async fn handle(&self, env: Envelope) -> std::result::Result<Option<Envelope>, HandlerError> {
        let reply =
            match S::Commands::decode(&env).map_err(|e| HandlerError::Reject(e.to_string()))? {
                Asked::Query(query) => {
                    let mut conn = self
                        .0
                        .store()
                        .pool()
                        .acquire()
                        .await
                        .map_err(HandlerError::retry)?;
                    self.0.query(&mut conn, &env, query).await?
                }
                Asked::Change(change) => self.0.change(&env, change).await?,
            };
        Ok(Some(env.caused(&reply)))
    }
}

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The desk refuses it (bad input, not found, not allowed, not in this
    /// state): answered to the caller, nothing written.
    #[error("{}", .0.message)]
    Refused(ErrorBody),
    /// The store failed: the command is delivered again.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something passing (another writer changed the same row first, a
    /// dependency did not answer): the command is delivered again.
    #[error("{0}")]
    Retry(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Refused(ErrorBody::new(code, message))
    }

    pub fn not_found(what: &str) -> Self {
        Self::refused(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// A 400 naming the field that is wrong.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Refused(ErrorBody::field(field, message))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::refused(ErrorCode::Conflict, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::refused(ErrorCode::Forbidden, message)
    }

    /// `what` was asked to be changed as it was at version `asked` (the
    /// edge's `If-Match`) and is at `at` now: refused (412), saying the
    /// version it is at, so an edit made on a stale copy loses nothing.
    pub fn stale(what: &str, asked: i64, at: i64) -> Self {
        let mut body = ErrorBody::new(
            ErrorCode::PreconditionFailed,
            format!("{what} changed since version {asked}: it is at version {at}; read it again"),
        );
        body.details = Some(serde_json::json!({ "version": at }));
        Self::Refused(body)
    }

    /// A passing failure (`e` says what): delivered again.
    pub fn retry(e: impl std::fmt::Display) -> Self {
        Self::Retry(e.to_string())
    }

    /// The database could not be reached: retrying item by item would only
    /// wait out the same timeout again for each.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_unavailable())
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

impl From<ErrorBody> for Error {
    fn from(body: ErrorBody) -> Self {
        Self::Refused(body)
    }
}

/// The reply to command `C`'s outcome: its answer, or its refusal. A
/// passing failure is retried; an answer that cannot be written as JSON is
/// a bug, dead-lettered with the reason (never sent as `null`).
pub fn reply<C: Command>(outcome: Result<C::Output>) -> std::result::Result<ReplyV1, HandlerError> {
    match outcome {
        Ok(answer) => Ok(ReplyV1::Ok(to_json(&answer)?)),
        Err(Error::Refused(body)) => Ok(ReplyV1::Error(body)),
        Err(e) => Err(HandlerError::retry(e)),
    }
}

/// `value` as JSON, or the reason it cannot be (a dead letter, not a
/// silent `null`).
pub fn to_json<T: Serialize>(value: &T) -> std::result::Result<serde_json::Value, HandlerError> {
    serde_json::to_value(value)
        .map_err(|e| HandlerError::Reject(format!("the answer cannot be written as JSON: {e}")))
}

/// The reply the inbox kept for a command processed before: the same
/// answer again. A command recorded without one was processed but its
/// answer not kept.
pub fn stored_reply(stored: Option<&str>) -> std::result::Result<ReplyV1, HandlerError> {
    match stored {
        Some(s) => serde_json::from_str(s).map_err(|e| {
            HandlerError::Reject(format!("the inbox's copy of the reply is unreadable: {e}"))
        }),
        None => Ok(ReplyV1::Error(ErrorBody::new(
            ErrorCode::Conflict,
            "already processed",
        ))),
    }
}

/// The refusal of a command whose caller stopped waiting (it had its 503):
/// doing it now would do behind its back what it may well try again.
pub fn expired() -> HandlerError {
    HandlerError::Reject("expired: the caller stopped waiting before it was handled".into())
}

/// Does the change `env` carries once: `change` runs in a transaction
/// that also records the reply in the inbox of `consumer`, and commits
/// only if it succeeded (a refusal writes nothing). A redelivery is
/// answered from the inbox; an expired command is refused.
pub async fn once<F>(
    store: &Store,
    consumer: &str,
    env: &Envelope,
    change: F,
) -> std::result::Result<ReplyV1, HandlerError>
where
    F: AsyncFnOnce(&mut AnyConnection) -> std::result::Result<ReplyV1, HandlerError>,
{
    if env.is_expired(crate::store::now()) {
        return Err(expired());
    }
    let mut tx = store.begin().await.map_err(HandlerError::retry)?;
    let answered = inbox::check(&mut tx, consumer, &[env.message_id])
        .await
        .map_err(HandlerError::retry)?;
    if let Some(stored) = answered.get(&env.message_id) {
        return stored_reply(stored.as_deref());
    }
    let reply = change(&mut tx).await?;
    if let ReplyV1::Ok(_) = &reply {
        let stored = serde_json::to_string(&reply).map_err(HandlerError::retry)?;
        inbox::record(&mut tx, consumer, vec![(env.message_id, Some(stored))])
            .await
            .map_err(HandlerError::retry)?;
        tx.commit().await.map_err(HandlerError::retry)?;
    }
    Ok(reply)
}
