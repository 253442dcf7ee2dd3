//! The command-line front end: each subcommand turns its flags into library
//! calls and prints the outcome. Errors are one line, name the problem and
//! end with a non-zero exit status.

mod ingest;
mod listing;
mod report;
mod shell;
mod sql;
mod trace;

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use clap::{Args, Parser, Subcommand};

use crate::output::OutputFormat;
use crate::report::{Condition, When, queries, window};

/// SQL analytics over exported Microsoft Teams device operation histories.
#[derive(Debug, Parser)]
#[command(name = "fleetops", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Turn exported JSON (files, folders, `-` for stdin) into a Parquet dataset.
    Ingest(IngestArgs),
    /// Fold each day's Parquet files of a dataset into one, and give files of
    /// earlier versions their footer's in-flight summary (atomic, waits for no
    /// one: fails if an ingest holds the dataset).
    Compact(CompactArgs),
    /// Run SQL over a dataset or raw exports; without a query, an interactive shell.
    Sql(SqlArgs),
    /// Write the fleet reliability report.
    Report(ReportArgs),
    /// Run a named query from queries/NAME.sql.
    Run(RunArgs),
    /// List the named queries.
    Queries(QueriesArgs),
    /// List the SQL functions fleetops adds, with their exact NULL behaviour.
    Functions,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// The dataset folder.
    pub dataset: PathBuf,
    /// Queue behind an ingest into the same dataset instead of failing.
    #[arg(long)]
    pub wait: bool,
    /// Print what was done as one JSON line on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Export files or folders (walked recursively); `-` reads stdin.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The dataset folder (created, or merged into).
    #[arg(long)]
    pub out: PathBuf,
    /// Print the counts as one JSON line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Ingest the other files when one cannot be read.
    #[arg(long)]
    pub keep_going: bool,
    /// Decoding threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Queue behind another ingest into the same dataset instead of failing.
    #[arg(long)]
    pub wait: bool,
    /// Memory for decoded rows, e.g. `256MiB`, `1GiB` (default 320 MiB);
    /// past a third of it rows are spilled to a folder beside the dataset.
    /// A smaller budget spills more and never changes the table.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_budget: Option<usize>,
    /// Reject records (NDJSON lines, array elements) longer than this.
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    pub max_record_bytes: usize,
    /// Refuse JSON documents read whole (pages, single objects, arrays under a
    /// block) larger than this; larger arrays are cut between elements.
    #[arg(long, default_value_t = 1 << 30, value_name = "BYTES")]
    pub max_document_bytes: u64,
    /// Refuse compressed files that expand to more than this.
    #[arg(long, default_value_t = 256 << 30, value_name = "BYTES")]
    pub max_decompressed_bytes: u64,
    #[command(flatten)]
    pub redact: RedactArgs,
}

/// `--redact`: keyed pseudonyms for the people and programs in the data.
#[derive(Debug, Clone, Default, Args)]
pub struct RedactArgs {
    /// Replace the ids and display names of users, applications and devices
    /// in created_by and last_action_by by keyed pseudonyms (`user-<hex>`,
    /// `User <hex>`). Needs a secret key: --redact-key-file or
    /// FLEETOPS_REDACT_KEY (hex or text, at least 16 bytes); there is no
    /// default key.
    #[arg(long)]
    pub redact: bool,
    /// The secret key file for --redact (implies --redact).
    #[arg(long, value_name = "FILE")]
    pub redact_key_file: Option<PathBuf>,
}

impl RedactArgs {
    /// The redactor these flags ask for, or `None` without --redact.
    pub fn redactor(&self) -> crate::Result<Option<crate::redact::Redactor>> {
        if !self.redact && self.redact_key_file.is_none() {
            return Ok(None);
        }
        crate::redact::Redactor::from_sources(self.redact_key_file.as_deref()).map(Some)
    }
}

#[derive(Debug, Args)]
pub struct DataArgs {
    /// A dataset written by `ingest`, or export files/folders (ingested in
    /// memory). Repeat it for more paths (`--data a --data b`), so a query may
    /// follow it.
    #[arg(long, required = true)]
    pub data: Vec<PathBuf>,
    /// Plan and run on the Apache DataFusion Ballista cluster whose scheduler
    /// listens there (builds with the `cluster` feature); --data is then a
    /// dataset folder at the same path on every machine of the cluster.
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
}

impl DataArgs {
    /// A context with `operations` and `rejects` from --data, on this
    /// process or on --cluster, redacted when `redactor` is given.
    pub(crate) fn open(
        &self,
        rt: &tokio::runtime::Runtime,
        redactor: Option<&crate::redact::Redactor>,
    ) -> crate::Result<(datafusion::prelude::SessionContext, crate::session::Loaded)> {
        let (ctx, loaded) = match &self.cluster {
            None => {
                let ctx = crate::session::new_context()?;
                let loaded = crate::session::register_data(
                    &ctx,
                    &self.data,
                    &crate::ingest::Options::default(),
                )?;
                (ctx, loaded)
            }
            Some(url) => {
                if redactor.is_some() {
                    // The pseudonyms are made with the key by functions that
                    // exist only in this process.
                    return Err(crate::Error::BadArgument(
                        "--redact cannot be used with --cluster (the key stays on this machine):                          run the query without --cluster, or ingest with --redact"
                            .into(),
                    ));
                }
                open_cluster(rt, url, &self.data)?
            }
        };
        if let Some(r) = redactor {
            crate::redact::redact_context(&ctx, r)?;
        }
        Ok((ctx, loaded))
    }
}

#[cfg(feature = "cluster")]
fn open_cluster(
    rt: &tokio::runtime::Runtime,
    url: &str,
    data: &[PathBuf],
) -> crate::Result<(datafusion::prelude::SessionContext, crate::session::Loaded)> {
    crate::cluster::dataset_root(data)?;
    let ctx = rt.block_on(crate::cluster::connect(url))?;
    let loaded = crate::cluster::register_data(&ctx, data)?;
    Ok((ctx, loaded))
}

#[cfg(not(feature = "cluster"))]
fn open_cluster(
    _rt: &tokio::runtime::Runtime,
    _url: &str,
    _data: &[PathBuf],
) -> crate::Result<(datafusion::prelude::SessionContext, crate::session::Loaded)> {
    Err(crate::Error::BadArgument(
        "this build of fleetops has no --cluster (build it with the `cluster` feature)".into(),
    ))
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query; without it, an interactive shell. It may start with a
    /// `--` comment.
    #[arg(allow_hyphen_values = true)]
    pub query: Option<String>,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub redact: RedactArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, value_enum, default_value_t = crate::report::Format::Markdown)]
    pub format: crate::report::Format,
    /// Start of the window: a date, a timestamp, or a span back from --until (`7d`, `24h`).
    #[arg(long, value_parser = When::from_str)]
    pub since: Option<When>,
    /// End of the window (default: the latest operation in the data).
    #[arg(long, value_parser = When::from_str)]
    pub until: Option<When>,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Exit with status 3 when a headline metric breaches, e.g. 'failure_rate > 0.10'
    /// (metrics: operations, successful, failed, cancelled, in_flight, devices,
    /// failure_rate, p50_duration_s, p95_duration_s, stuck; repeatable).
    #[arg(long, value_name = "CONDITION", value_parser = Condition::from_str)]
    pub fail_if: Vec<Condition>,
    // Microseconds once parsed.
    /// An operation unfinished this long after creation counts as stuck.
    #[arg(long, default_value = "24h", value_name = "SPAN", value_parser = window::parse_span)]
    pub stuck_after: i64,
    /// Rows in the top-N tables (devices, error codes, stuck operations, rejects).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    #[command(flatten)]
    pub redact: RedactArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The query name (a file queries/NAME.sql).
    pub name: String,
    #[command(flatten)]
    pub data: DataArgs,
    /// A parameter, bound as a typed value: key=value.
    #[arg(long = "param", value_parser = queries::parse_assignment)]
    pub params: Vec<(String, String)>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Folder of named queries (default: ./queries, then the ones built in).
    #[arg(long)]
    pub queries: Option<PathBuf>,
    #[command(flatten)]
    pub redact: RedactArgs,
}

#[derive(Debug, Args)]
pub struct QueriesArgs {
    /// Folder of named queries (default: ./queries, then the ones built in).
    #[arg(long)]
    pub queries: Option<PathBuf>,
}

/// Folds an error onto one line (DataFusion's span several).
pub fn one_line(e: &dyn std::fmt::Display) -> String {
    let s = e.to_string();
    let mut out = String::with_capacity(s.len());
    for part in s.split('\n').map(str::trim).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(part);
    }
    out
}

/// Exit status for a breached `--fail-if`.
pub const EXIT_BREACH: u8 = 3;

/// Ends a command line that clap refused. A value the library refused (a
/// window, a span, a condition, a parameter) is one error line that names
/// its flag, with status 1 like any other bad argument; anything else is
/// clap's own message and status (help and version: stdout and 0).
pub fn refused(e: clap::Error) -> ExitCode {
    use clap::error::{ContextKind, ContextValue};
    let Some(refusal) =
        std::error::Error::source(&e).and_then(|s| s.downcast_ref::<crate::Error>())
    else {
        e.exit()
    };
    // `--since <SINCE>`: the flag without its value name.
    let flag = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg.split(' ').next().unwrap_or_default(),
        _ => "",
    };
    let named = match refusal {
        crate::Error::BadArgument(why) => crate::Error::BadArgument(format!("{flag} {why}")),
        other => crate::Error::BadArgument(format!("{flag}: {other}")),
    };
    eprintln!("fleetops: error: {}", one_line(&named));
    ExitCode::FAILURE
}

/// Runs a parsed command line.
pub fn main(cli: Cli) -> ExitCode {
    trace::install_from_env();
    let result = match cli.command {
        Command::Ingest(a) => ingest::run(a),
        Command::Compact(a) => ingest::compact(a),
        Command::Sql(a) => sql::run(a),
        Command::Report(a) => report::run(a),
        Command::Run(a) => report::run_named(a),
        Command::Queries(a) => report::queries(a),
        Command::Functions => listing::functions(),
    };
    trace::peak_memory();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fleetops: error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// A size such as `512MiB`, `1GiB`, `64M` or `1000000` (bytes).
pub fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size: give bytes or a number with KiB, MiB or GiB"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("`{s}` is not a size: use KiB, MiB or GiB")),
    };
    n.checked_mul(mult)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("`{s}` is not a usable size"))
}
