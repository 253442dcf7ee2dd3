//! `fleetops-scheduler`: the scheduler of a Ballista cluster that runs
//! fleetops' SQL (`fleetops sql|run|report --cluster df://HOST:PORT`).
//! Clients send it their plans; it cuts them into stages and hands the tasks
//! to the `fleetops-executor`s that registered with it. How to run a
//! cluster: `docs/scaling.md`.

use std::io::Write;
use std::process::ExitCode;

use ballista_scheduler::config::SchedulerConfig;
use clap::Parser;

/// The scheduler of a fleetops cluster (Apache DataFusion Ballista).
#[derive(Debug, Parser)]
#[command(name = "fleetops-scheduler", version, about, long_about = None)]
struct Args {
    /// The address to listen on: loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// The port to listen on; 0 takes a free one (the line printed at start
    /// names it).
    #[arg(long, default_value_t = fleetops::cluster::DEFAULT_PORT)]
    port: u16,
    /// The host name executors and clients reach this scheduler by
    /// (default: --bind-host).
    #[arg(long)]
    external_host: Option<String>,
    /// Seconds without a heartbeat after which an executor counts as lost
    /// and its tasks are run again elsewhere (keep it above the executors'
    /// --heartbeat-interval).
    #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u64).range(1..))]
    executor_timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleetops-scheduler: error: {}", fleetops::cli::one_line(&e));
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> fleetops::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fleetops::Error::io("<runtime>", e))?;
    rt.block_on(async {
        let where_ = format!("{}:{}", args.bind_host, args.port);
        let listener = tokio::net::TcpListener::bind((args.bind_host.as_str(), args.port))
            .await
            .map_err(|e| {
                fleetops::Error::BadArgument(format!(
                    "cannot listen on {where_} ({e}): choose another --port or --bind-host"
                ))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| fleetops::Error::io("<listener>", e))?;
        // One line a script (or a test) can wait for.
        println!("fleetops-scheduler listening on {addr}");
        std::io::stdout().flush().ok();
        let config = SchedulerConfig {
            bind_host: args.bind_host.clone(),
            bind_port: addr.port(),
            external_host: args.external_host.unwrap_or(args.bind_host),
            executor_timeout_seconds: args.executor_timeout,
            expire_dead_executor_interval_seconds: args.executor_timeout.min(15),
            no_executors_grace_period_seconds: args.executor_timeout,
            ..SchedulerConfig::default()
        };
        fleetops::cluster::serve_scheduler(listener, config).await
    })
}
