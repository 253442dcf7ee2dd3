//! `fleetops-gen`: synthetic Graph teamworkDeviceOperation exports on disk.
//!
//! ```text
//! cargo run --release -p fleetops-gen -- --ops 1000000 --format ndjson --out /tmp/ops
//! cargo run --release -p fleetops-gen -- --ops 200000 --format pages --gzip --out /tmp/pages
//! cargo run --release -p fleetops-gen -- --format sample --out sample-data
//! # the third weekly increment of a fleet, a tenth of it updating the second
//! cargo run --release -p fleetops-gen -- --ops 1000000 --days 7 --increment 2 \
//!     --updates-from-previous 0.1 --out /tmp/week2
//! # one PowerShell array of about 2 GiB (4 GiB in UTF-16)
//! cargo run --release -p fleetops-gen -- --ops 1500000 --format ps-array --utf16 --out /tmp/ps
//! ```
//!
//! The formats and what they hold are described in the library
//! (`gen/src/lib.rs`).

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use fleetops_gen::{Format, Options, parse_day};

/// Generate synthetic Graph teamworkDeviceOperation exports.
#[derive(Debug, Parser)]
#[command(name = "fleetops-gen")]
struct Args {
    /// Number of distinct operations.
    #[arg(long, default_value_t = 100_000)]
    ops: usize,
    /// Output shape.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    format: Format,
    /// Number of devices (default: ops / 300, at least 5).
    #[arg(long)]
    devices: Option<usize>,
    /// Random seed; the same arguments give byte-identical output.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Fraction of operations exported a second time, later in the output.
    #[arg(long, default_value_t = 0.01)]
    dup_rate: f64,
    /// Fraction of records that are bad (missing id, bad timestamp, not an object, garbled line).
    #[arg(long, default_value_t = 0.0)]
    bad_rate: f64,
    /// Gzip every output file (adds `.gz`).
    #[arg(long)]
    gzip: bool,
    /// First day of the time window (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2026-10-01")]
    start: String,
    /// Length of the time window in days.
    #[arg(long, default_value_t = 28)]
    days: u32,
    /// The K-th of consecutive increments of one fleet (same --seed, --start,
    /// --days, --ops, --devices): its window starts K × --days after --start,
    /// its operation ids are its own.
    #[arg(long, default_value_t = 0)]
    increment: u32,
    /// Also write this fraction of --ops as updates of the first operations of
    /// the previous increment (later last action, new status); needs --increment ≥ 1.
    #[arg(long, default_value_t = 0.0)]
    updates_from_previous: f64,
    /// Split the output into this many files of equal record counts, in time
    /// order (ndjson and ps-array).
    #[arg(long, default_value_t = 1)]
    files: usize,
    /// ps-array: UTF-16 LE with a BOM (Windows PowerShell's `Out-File`
    /// default) instead of UTF-8 with a BOM.
    #[arg(long)]
    utf16: bool,
    /// Also print what was written as one JSON line on stdout (for scripts).
    #[arg(long)]
    json: bool,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("fleetops-gen: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    let mut opts = Options {
        ops: args.ops,
        format: args.format,
        devices: args.devices,
        seed: args.seed,
        dup_rate: args.dup_rate,
        bad_rate: args.bad_rate,
        gzip: args.gzip,
        days: args.days,
        increment: args.increment,
        updates_from_previous: args.updates_from_previous,
        files: args.files,
        utf16: args.utf16,
        ..Options::default()
    };
    opts.check().map_err(|e| e.to_string())?;
    // The sample has its own dates.
    if args.format != Format::Sample {
        opts.start_day = parse_day(&args.start)
            .ok_or_else(|| format!("--start {:?}: expected YYYY-MM-DD", args.start))?;
    }
    let started = Instant::now();
    let s = fleetops_gen::generate(&opts, &args.out).map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();
    if args.json {
        println!(
            "{{\"ops\":{},\"updates\":{},\"devices\":{},\"records\":{},\"bad\":{},\"files\":{},\"bytes\":{},\"seconds\":{secs:.3}}}",
            s.ops, s.updates, s.devices, s.records, s.bad, s.files, s.bytes
        );
    }
    if let Some(truth) = &s.truth {
        eprintln!("fleetops-gen: sample truth: {truth}");
        eprintln!(
            "fleetops-gen: sample: {} ops as {} records ({} bad) in {} files, {} bytes, {secs:.1}s",
            s.ops, s.records, s.bad, s.files, s.bytes
        );
    } else {
        let updates = if s.updates > 0 {
            format!(
                " ({} of them updates of increment {})",
                s.updates,
                args.increment - 1
            )
        } else {
            String::new()
        };
        eprintln!(
            "fleetops-gen: {} ops{updates} on {} devices as {} records ({} re-exports, {} bad) in {} files, {} bytes ({:.0} bytes/record, {:.0} MB/s), {secs:.1}s",
            s.ops,
            s.devices,
            s.records,
            s.records - s.ops,
            s.bad,
            s.files,
            s.bytes,
            s.bytes as f64 / s.records.max(1) as f64,
            s.bytes as f64 / 1e6 / secs.max(1e-9),
        );
    }
    Ok(())
}
