//! `fleetops sql`.

use std::process::ExitCode;

use super::SqlArgs;
use crate::error::{Error, Result};

pub fn run(_a: SqlArgs) -> Result<ExitCode> {
    Err(Error::Usage("sql: not wired yet".into()))
}
