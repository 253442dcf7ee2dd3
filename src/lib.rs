//! fleetops: SQL analytics over exported Microsoft Teams device operation
//! histories (Graph beta `teamworkDeviceOperation`).
//!
//! The library's face, for embedders (the command line uses the same calls):
//!
//! - [`ingest`] turns exported JSON into a deduplicated Parquet dataset
//!   ([`ingest::ingest_dataset`]) or Arrow batches in memory
//!   ([`ingest::ingest_memory`]), with every rejected record accounted for;
//! - [`functions`] holds the SQL functions, all registered on any
//!   `SessionContext` by [`functions::register_all`], with their `Expr` builders;
//! - [`session`] makes a context and puts the `operations` and `rejects`
//!   tables on it, from a dataset folder or raw exports;
//! - [`report`] builds the fleet reliability report and renders it as
//!   Markdown, HTML or JSON, and runs the named queries;
//! - [`redact`] pseudonymises names and ids with a key;
//! - [`schema`] is the one definition of the `operations` and `rejects` tables;
//! - [`Error`] is the one error type;
//! - `cluster` (the `cluster` feature) runs the same SQL, named queries and
//!   reports on an Apache DataFusion Ballista cluster.
//!
//! ```no_run
//! # async fn demo() -> fleetops::Result<()> {
//! let ctx = fleetops::session::new_context()?; // every SQL function registered
//! fleetops::session::register_data(&ctx, &["sample-data".into()], &Default::default())?;
//! ctx.sql("SELECT * FROM operation_type_stats()").await?.show().await?;
//! # Ok(()) }
//! ```
//!
//! How the code is laid out, and how to add a property, an export shape, a
//! SQL function or a named query: `docs/architecture.md` in the repository.

// The library prints nothing (the command line does) and states why a value
// must be there (`expect`) rather than `unwrap`.
#![deny(clippy::print_stdout, clippy::print_stderr)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
// Everything an embedder can reach is documented.
#![warn(missing_docs)]

/// The command line (the `cli` feature): `src/main.rs` parses the arguments
/// and calls [`cli::main`]. Not part of the library's API.
#[cfg(feature = "cli")]
#[doc(hidden)]
#[allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]
pub mod cli;
#[cfg(feature = "cluster")]
pub mod cluster;
mod error;
pub mod functions;
pub mod ingest;
#[doc(hidden)]
pub mod internals;
// Internal modules: documented at module level, their items for the crate.
#[allow(missing_docs)]
pub(crate) mod output;
pub mod redact;
pub mod report;
pub mod schema;
pub mod session;
#[allow(missing_docs)]
pub(crate) mod status;

pub use error::{Error, Result};
