//! The `fleetops` command: parses arguments and hands them to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    fleetops::cli::main(fleetops::cli::Cli::parse())
}
