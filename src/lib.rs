//! fleetops: SQL analytics over exported Microsoft Teams device operation
//! histories (Graph beta `teamworkDeviceOperation`).
//!
//! - [`ingest`] turns exported JSON into Arrow batches and a Parquet dataset;
//! - [`functions`] holds the SQL functions, registered by [`functions::register_all`];
//! - [`session`] registers the `operations` table on any `SessionContext`.

#[cfg(feature = "cli")]
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
