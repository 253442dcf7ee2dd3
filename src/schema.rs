//! The one Arrow schema of the `operations` table, and beside it the
//! [`rejects`] table's.
//!
//! Every reader, writer and test takes its columns from here, so a column is
//! added or renamed in exactly one place.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

pub mod rejects;

/// Name of the table registered on a `SessionContext`.
pub const TABLE_NAME: &str = "operations";

/// Time zone of every timestamp column: operations are stored in UTC.
pub const UTC: &str = "UTC";

/// Column names, in schema order.
pub mod col {
    /// `id`: the operation's Graph id (Utf8, not null; the dedup key).
    pub const ID: &str = "id";
    /// `device_id`: the Teams device the operation ran on (Utf8; NULL when the export does not
    /// say).
    pub const DEVICE_ID: &str = "device_id";
    /// `operation_type`: as exported, e.g. `deviceRestart` (Utf8).
    pub const OPERATION_TYPE: &str = "operation_type";
    /// `status`: normalised (`queued`, `scheduled`, `inProgress`, `successful`, `cancelled`,
    /// `failed`; others verbatim).
    pub const STATUS: &str = "status";
    /// `status_raw`: the status text as exported.
    pub const STATUS_RAW: &str = "status_raw";
    /// `created_date_time`: when the operation was asked for (UTC, microseconds).
    pub const CREATED: &str = "created_date_time";
    /// `started_date_time`: when it started (UTC, microseconds).
    pub const STARTED: &str = "started_date_time";
    /// `completed_date_time`: when it finished (UTC, microseconds).
    pub const COMPLETED: &str = "completed_date_time";
    /// `last_action_date_time`: its last change (UTC, microseconds); the latest wins in dedup.
    pub const LAST_ACTION: &str = "last_action_date_time";
    /// `error`: Struct `{code, message}`; NULL when the export had none.
    pub const ERROR: &str = "error";
    /// `created_by`: who asked for it, an identity set `{user, application, device}`.
    pub const CREATED_BY: &str = "created_by";
    /// `last_action_by`: who acted on it last, an identity set.
    pub const LAST_ACTION_BY: &str = "last_action_by";
    /// `source_file`: lineage, the input file as named to ingest.
    pub const SOURCE_FILE: &str = "source_file";
    /// `ingested_at`: lineage, when the row was written (UTC, microseconds).
    pub const INGESTED_AT: &str = "ingested_at";
    /// A column the unit tests add (see `ingest::decode::fields`).
    #[cfg(test)]
    pub const TEST_NOTE: &str = "test_note";
}

/// Column indexes, in schema order (kept in step with [`operations_schema`]).
pub mod idx {
    /// Index of [`col::ID`](super::col::ID).
    pub const ID: usize = 0;
    /// Index of [`col::DEVICE_ID`](super::col::DEVICE_ID).
    pub const DEVICE_ID: usize = 1;
    /// Index of [`col::OPERATION_TYPE`](super::col::OPERATION_TYPE).
    pub const OPERATION_TYPE: usize = 2;
    /// Index of [`col::STATUS`](super::col::STATUS).
    pub const STATUS: usize = 3;
    /// Index of [`col::STATUS_RAW`](super::col::STATUS_RAW).
    pub const STATUS_RAW: usize = 4;
    /// Index of [`col::CREATED`](super::col::CREATED).
    pub const CREATED: usize = 5;
    /// Index of [`col::STARTED`](super::col::STARTED).
    pub const STARTED: usize = 6;
    /// Index of [`col::COMPLETED`](super::col::COMPLETED).
    pub const COMPLETED: usize = 7;
    /// Index of [`col::LAST_ACTION`](super::col::LAST_ACTION).
    pub const LAST_ACTION: usize = 8;
    /// Index of [`col::ERROR`](super::col::ERROR).
    pub const ERROR: usize = 9;
    /// Index of [`col::CREATED_BY`](super::col::CREATED_BY).
    pub const CREATED_BY: usize = 10;
    /// Index of [`col::LAST_ACTION_BY`](super::col::LAST_ACTION_BY).
    pub const LAST_ACTION_BY: usize = 11;
    /// Index of [`col::SOURCE_FILE`](super::col::SOURCE_FILE).
    pub const SOURCE_FILE: usize = 12;
    /// Index of [`col::INGESTED_AT`](super::col::INGESTED_AT).
    pub const INGESTED_AT: usize = 13;
    /// Index of the unit tests' own column (see `src/ingest/decode/fields.rs`).
    #[cfg(test)]
    pub const TEST_NOTE: usize = 14;
    /// Columns that describe the operation itself (everything before lineage).
    pub const CONTENT_COLUMNS: usize = 12;
}

/// `Timestamp(Microsecond, "UTC")`, the type of every timestamp column.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
}

/// `{id, display_name}`: one identity of a Graph identitySet.
pub fn identity_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("display_name", DataType::Utf8, true),
    ])
}

/// `{user, application, device}`: a Graph identitySet.
pub fn identity_set_fields() -> Fields {
    let identity = DataType::Struct(identity_fields());
    Fields::from(vec![
        Field::new("user", identity.clone(), true),
        Field::new("application", identity.clone(), true),
        Field::new("device", identity, true),
    ])
}

/// `{code, message}`: a Graph operationError.
pub fn error_fields() -> Fields {
    Fields::from(vec![
        Field::new("code", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, true),
    ])
}

/// The schema of the `operations` table (README "The `operations` table").
pub fn operations_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let ts = timestamp_type();
            Arc::new(Schema::new(vec![
                Field::new(col::ID, DataType::Utf8, false),
                Field::new(col::DEVICE_ID, DataType::Utf8, true),
                Field::new(col::OPERATION_TYPE, DataType::Utf8, true),
                Field::new(col::STATUS, DataType::Utf8, true),
                Field::new(col::STATUS_RAW, DataType::Utf8, true),
                Field::new(col::CREATED, ts.clone(), true),
                Field::new(col::STARTED, ts.clone(), true),
                Field::new(col::COMPLETED, ts.clone(), true),
                Field::new(col::LAST_ACTION, ts.clone(), true),
                Field::new(col::ERROR, DataType::Struct(error_fields()), true),
                Field::new(
                    col::CREATED_BY,
                    DataType::Struct(identity_set_fields()),
                    true,
                ),
                Field::new(
                    col::LAST_ACTION_BY,
                    DataType::Struct(identity_set_fields()),
                    true,
                ),
                Field::new(col::SOURCE_FILE, DataType::Utf8, true),
                Field::new(col::INGESTED_AT, ts, true),
                #[cfg(test)]
                Field::new(col::TEST_NOTE, DataType::Utf8, true),
            ]))
        })
        .clone()
}

/// The `operations` table as queries read it from a dataset's Parquet files:
/// [`operations_schema`] with `device_id`, `operation_type` and `status` as
/// Utf8View. Those are the columns queries group and filter by, all
/// dictionary-encoded in the files; the Parquet reader fills views of them
/// without copying each value, and grouping compares them inline. The files
/// keep Utf8 (what every reader expects); exports are written as Utf8.
pub fn operations_read_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let fields: Vec<Field> = operations_schema()
                .fields()
                .iter()
                .map(|f| match f.name().as_str() {
                    col::DEVICE_ID | col::OPERATION_TYPE | col::STATUS => {
                        f.as_ref().clone().with_data_type(DataType::Utf8View)
                    }
                    _ => f.as_ref().clone(),
                })
                .collect();
            Arc::new(Schema::new(fields))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_match_names() {
        let schema = operations_schema();
        let names = [
            (idx::ID, col::ID),
            (idx::DEVICE_ID, col::DEVICE_ID),
            (idx::OPERATION_TYPE, col::OPERATION_TYPE),
            (idx::STATUS, col::STATUS),
            (idx::STATUS_RAW, col::STATUS_RAW),
            (idx::CREATED, col::CREATED),
            (idx::STARTED, col::STARTED),
            (idx::COMPLETED, col::COMPLETED),
            (idx::LAST_ACTION, col::LAST_ACTION),
            (idx::ERROR, col::ERROR),
            (idx::CREATED_BY, col::CREATED_BY),
            (idx::LAST_ACTION_BY, col::LAST_ACTION_BY),
            (idx::SOURCE_FILE, col::SOURCE_FILE),
            (idx::INGESTED_AT, col::INGESTED_AT),
            (idx::TEST_NOTE, col::TEST_NOTE),
        ];
        assert_eq!(schema.fields().len(), names.len());
        for (i, name) in names {
            assert_eq!(schema.field(i).name(), name);
        }
    }
}
