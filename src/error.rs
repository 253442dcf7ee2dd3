//! The one error type of the library.
//!
//! Each failure a caller can act on has its own variant: a bad argument to
//! fix, a query to correct, a redaction key to match, a lock to wait for, an
//! input file to leave out. The messages are whole sentences for people; the
//! fields carry the same facts for programs.

use std::path::PathBuf;

/// Everything that can go wrong, with the context a user needs to act on it.
///
/// New variants may be added as new failures get names of their own, so a
/// `match` needs a wildcard arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument is not acceptable: a window or span that does not parse,
    /// a `--fail-if` condition, a query parameter, a redaction key, a named
    /// query that does not exist. Nothing was read or written; fix the
    /// argument and call again.
    #[error("invalid argument: {0}")]
    BadArgument(String),
    /// A query failed: SQL that does not parse or plan, or a failure while it
    /// ran (DataFusion's error, with its own context).
    #[error(transparent)]
    Query(#[from] datafusion::error::DataFusionError),
    /// The dataset was ingested with a different redaction setting than
    /// this run's (another key, or one with and one without): mixing would
    /// leave the same person under two names. Ingest with the same setting
    /// and key, or into a new dataset.
    #[error(
        "invalid argument: {}: this dataset was ingested {}, and this run is {}; ingest with the \
         same setting (and key), or into a new dataset",
        path.display(),
        redaction_setting(dataset.as_deref()),
        redaction_setting(run.as_deref())
    )]
    RedactionMismatch {
        /// The dataset folder.
        path: PathBuf,
        /// The key id the dataset was redacted with (`None`: not redacted).
        dataset: Option<String>,
        /// The key id this run redacts with (`None`: no redaction).
        run: Option<String>,
    },
    /// Another ingest holds the dataset's writer lock. Try again later, or
    /// set `Options::wait_for_lock` to queue behind it.
    #[error(
        "{}: another ingest is writing this dataset ({}); wait for it, or pass --wait to queue \
         behind it",
        path.display(),
        holder.as_deref().unwrap_or("holder unknown")
    )]
    Locked {
        /// The dataset folder.
        path: PathBuf,
        /// Who holds the lock (`pid N since TIME`), when the lock file says.
        holder: Option<String>,
    },
    /// A whole input file could not be read as JSON (not JSON at all, cut
    /// off, damaged, over a limit). With `Options::keep_going` such a file
    /// is skipped and reported instead.
    #[error("{file}: {message}")]
    BadFile {
        /// The file as ingest names it (`-` for standard input).
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// The output folder or dataset is not usable: not a dataset, or a
    /// damaged manifest, part or reject file.
    #[error("{path}: {message}")]
    Dataset {
        /// The folder or file at fault.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The run was stopped through `ingest::Options::interrupt` (Ctrl-C in
    /// an embedding program) before it committed anything: the dataset is
    /// as it was, and the same ingest can simply be run again.
    #[error("interrupted: nothing was committed, the dataset is as it was")]
    Interrupted,
    /// Something fleetops itself got wrong (a bug): please report it.
    #[error("internal error: {0}")]
    Internal(String),
    /// An Arrow operation failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    /// A Parquet file could not be written or read.
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    /// JSON could not be written or read.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// How a run log's redaction reads in a message.
fn redaction_setting(key_id: Option<&str>) -> String {
    match key_id {
        Some(id) => format!("with --redact (key id {id})"),
        None => "without --redact".to_string(),
    }
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// A result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_failures_read_as_sentences() {
        let e = Error::RedactionMismatch {
            path: "ds".into(),
            dataset: None,
            run: Some("8dcc0d7ec4c28fd3".into()),
        };
        assert_eq!(
            e.to_string(),
            "invalid argument: ds: this dataset was ingested without --redact, and this run is \
             with --redact (key id 8dcc0d7ec4c28fd3); ingest with the same setting (and key), or \
             into a new dataset"
        );
        let e = Error::Locked {
            path: "ds".into(),
            holder: None,
        };
        assert_eq!(
            e.to_string(),
            "ds: another ingest is writing this dataset (holder unknown); wait for it, or pass \
             --wait to queue behind it"
        );
    }
}
