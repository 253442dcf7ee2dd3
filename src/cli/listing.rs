//! `fleetops queries` and `fleetops functions`.

use std::process::ExitCode;

use super::QueriesArgs;
use crate::error::{Error, Result};

pub fn functions() -> Result<ExitCode> {
    Err(Error::Usage("functions: not wired yet".into()))
}

pub fn queries(_a: QueriesArgs) -> Result<ExitCode> {
    Err(Error::Usage("queries: not wired yet".into()))
}
