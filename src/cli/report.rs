//! `fleetops report` and `fleetops run`.

use std::process::ExitCode;

use super::{ReportArgs, RunArgs};
use crate::error::{Error, Result};

pub fn run(_a: ReportArgs) -> Result<ExitCode> {
    Err(Error::Usage("report: not wired yet".into()))
}

pub fn run_named(_a: RunArgs) -> Result<ExitCode> {
    Err(Error::Usage("run: not wired yet".into()))
}
