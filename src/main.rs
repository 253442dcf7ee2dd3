//! The `fleetops` command: parses arguments and hands them to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    match fleetops::cli::Cli::try_parse() {
        Ok(cli) => fleetops::cli::main(cli),
        Err(refused) => fleetops::cli::refused(refused),
    }
}
