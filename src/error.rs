//! The one error type of the library.

use std::path::PathBuf;

/// Everything that can go wrong, with the context a user needs to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A whole input file could not be read as JSON (not JSON at all, or cut off).
    #[error("{file}: {message}")]
    BadFile { file: String, message: String },
    /// The output folder or dataset is not usable.
    #[error("{path}: {message}")]
    Dataset { path: PathBuf, message: String },
    #[error("invalid argument: {0}")]
    Usage(String),
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
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

pub type Result<T, E = Error> = std::result::Result<T, E>;
