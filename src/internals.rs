//! Not part of the library's API: the one door through which fleetops' own
//! integration tests, benches and fuzz targets reach its internals (the
//! decoder, the dataset's files, the report's helpers). Anything here may
//! change in any release; embedders use the documented modules.

/// Exports in every format (`--format` of `fleetops sql`).
pub mod output {
    pub use crate::output::*;
}

/// Status names and their normal forms.
pub mod status {
    pub use crate::status::*;
}

/// Report windows and durations.
pub mod window {
    pub use crate::report::window::*;
}

/// The ingester's steps.
pub mod ingest {
    pub use crate::ingest::dataset::Dataset;

    /// The dataset folder, its parts and its commit.
    pub mod dataset {
        pub use crate::ingest::dataset::*;
    }

    /// From bytes to rows: envelopes, the fields tables, both readers.
    pub mod decode {
        pub use crate::ingest::decode::*;
    }

    /// Opening and cutting input files.
    pub mod source {
        pub use crate::ingest::source::*;
    }
}
