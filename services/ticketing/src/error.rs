//! The ticketing service's one error type.

use contracts::{ErrorBody, ErrorCode};
use runtime::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller asked for something the desk refuses (answered in the
    /// reply, nothing is written).
    #[error("{}", .0.message)]
    Domain(ErrorBody),
    /// Another writer changed the incident first: the command is retried.
    #[error("concurrent update of {0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something the command needs is not there now (the broker, a reply):
    /// the command is retried.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

impl Error {
    pub fn not_found(what: &str) -> Self {
        Self::Domain(ErrorBody::new(
            ErrorCode::NotFound,
            format!("{what} not found"),
        ))
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Domain(ErrorBody::field(field, message))
    }

    /// The database could not be reached: retrying command by command would
    /// only wait out the same timeout again for each.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_unavailable())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
