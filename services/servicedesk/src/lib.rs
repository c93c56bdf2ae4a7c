//! The `servicedesk` binary's parts, as a library so the cross-service tests
//! in the workspace's `tests/` can drive the binary the way the benchmark does.
//!
//! # Layout
//! - [`cli`]: the command line (every flag also reads an environment variable).
//! - [`serve`]: the targets and how they are wired in each mode.
//! - [`tenant`]: `tenant create`.
//! - [`dead_letters`]: `dead-letters`, the bus's dead-letter queue by hand.
//! - [`mailgate`]: `mailgate`, email into the desk (a pipe or SMTP).
//! - [`asyncapi`]: `asyncapi`, the AsyncAPI document of the supplier messages.
//! - `bench` (feature `bench`): `bench`, the end-to-end benchmark and its
//!   ceilings.
//! - [`process`]: running `servicedesk` as a child process.

pub mod asyncapi;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cli;
pub mod dead_letters;
pub mod mailgate;
pub mod process;
pub mod serve;
pub mod tenant;
