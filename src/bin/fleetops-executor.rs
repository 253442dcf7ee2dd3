//! `fleetops-executor`: an executor of a Ballista cluster that runs
//! fleetops' SQL. It registers with a `fleetops-scheduler`, runs the tasks it
//! is given (reading the dataset's files from the same path as the client
//! named them) and serves its results to the other executors and to clients
//! over Arrow Flight. How to run a cluster: `docs/scaling.md`.

use std::process::ExitCode;

use ballista_executor::executor_process::ExecutorProcessConfig;
use clap::Parser;

/// An executor of a fleetops cluster (Apache DataFusion Ballista).
#[derive(Debug, Parser)]
#[command(name = "fleetops-executor", version, about, long_about = None)]
struct Args {
    /// The scheduler to register with.
    #[arg(
        long,
        default_value = "df://127.0.0.1:50050",
        value_name = "df://HOST:PORT"
    )]
    scheduler: String,
    /// The address to listen on: loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// The host name the scheduler, the other executors and clients reach
    /// this executor by (default: --bind-host).
    #[arg(long)]
    external_host: Option<String>,
    /// The Arrow Flight port results are fetched from.
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// The gRPC port the scheduler talks to.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// Tasks run at once (0: one per core).
    #[arg(long, default_value_t = 0)]
    concurrent_tasks: usize,
    /// The folder for shuffle files (default: a new temporary folder).
    #[arg(long)]
    work_dir: Option<String>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    heartbeat_interval: u64,
    /// Memory for all running tasks, e.g. `4GiB` (default: Ballista's share of
    /// the machine's memory); past its share a task spills to --work-dir.
    #[arg(long, value_name = "SIZE", value_parser = fleetops::cli::parse_size)]
    memory_pool: Option<usize>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleetops-executor: error: {}", fleetops::cli::one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> fleetops::Result<()> {
    let (scheduler_host, scheduler_port) =
        fleetops::cluster::parse_url(&args.scheduler).map_err(|_| {
            fleetops::Error::BadArgument(format!(
                "--scheduler takes df://HOST:PORT, got '{}'",
                args.scheduler
            ))
        })?;
    let config = ExecutorProcessConfig {
        bind_host: args.bind_host.clone(),
        external_host: Some(args.external_host.unwrap_or(args.bind_host)),
        port: args.port,
        grpc_port: args.grpc_port,
        scheduler_host,
        scheduler_port,
        // Started together with its scheduler, it waits for it a while.
        scheduler_connect_timeout_seconds: 30,
        vcores: args.concurrent_tasks,
        work_dir: args.work_dir,
        executor_heartbeat_interval_seconds: args.heartbeat_interval,
        memory_pool_size: args.memory_pool.map(|b| b as u64),
        ..ExecutorProcessConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fleetops::Error::io("<runtime>", e))?;
    eprintln!(
        "fleetops-executor: registering with {} (flight port {}, grpc port {})",
        args.scheduler, config.port, config.grpc_port
    );
    rt.block_on(fleetops::cluster::run_executor(config))
}
