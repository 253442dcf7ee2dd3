//! fleetops: SQL analytics over exported Microsoft Teams device operation
//! histories (Graph beta `teamworkDeviceOperation`).
//!
//! - [`ingest`] turns exported JSON into Arrow batches and a Parquet dataset;
//! - [`functions`] holds the SQL functions, registered by [`functions::register_all`];
//! - [`session`] registers the `operations` table on any `SessionContext`.

// The library prints nothing (the command line does) and states why a value
// must be there (`expect`) rather than `unwrap`.
#![deny(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

#[cfg(feature = "cli")]
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod cli;
pub mod error;
pub mod functions;
pub mod ingest;
pub mod output;
pub mod redact;
pub mod report;
pub mod schema;
pub mod session;
pub mod status;

pub use error::{Error, Result};
