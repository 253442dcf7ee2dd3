//! The integration tests: one test binary, one module per area.
//!
//! `cargo test --test it` runs them all; `cargo test --test it ingest::`
//! one area. Helpers the modules share are in `support` (tests that need the
//! `fleetops` command run, through it, the binary Cargo built for this run).

mod support;

mod cli;
#[cfg(all(feature = "cluster", feature = "cli"))]
mod cluster;
mod crash;
mod day_folders;
mod dedup_props;
mod embedding;
mod fuzz_regressions;
mod ingest;
mod layout;
mod limits_and_locks;
mod report;
mod report_cli;
mod scan_props;
mod security;
mod soak;
mod sqllogictest;
mod stream;
