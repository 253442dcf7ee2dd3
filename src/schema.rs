//! The one Arrow schema of the `operations` table.
//!
//! Every reader, writer and test takes its columns from here, so a column is
//! added or renamed in exactly one place.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// Name of the table registered on a `SessionContext`.
pub const TABLE_NAME: &str = "operations";

/// Time zone of every timestamp column: operations are stored in UTC.
pub const UTC: &str = "UTC";

/// Column names, in schema order.
pub mod col {
    pub const ID: &str = "id";
    pub const DEVICE_ID: &str = "device_id";
    pub const OPERATION_TYPE: &str = "operation_type";
    pub const STATUS: &str = "status";
    pub const STATUS_RAW: &str = "status_raw";
    pub const CREATED: &str = "created_date_time";
    pub const STARTED: &str = "started_date_time";
    pub const COMPLETED: &str = "completed_date_time";
    pub const LAST_ACTION: &str = "last_action_date_time";
    pub const ERROR: &str = "error";
    pub const CREATED_BY: &str = "created_by";
    pub const LAST_ACTION_BY: &str = "last_action_by";
    pub const SOURCE_FILE: &str = "source_file";
    pub const INGESTED_AT: &str = "ingested_at";
    /// A column the unit tests add (see `ingest::decode::fields`).
    #[cfg(test)]
    pub const TEST_NOTE: &str = "test_note";
}

/// Column indexes, in schema order (kept in step with [`operations_schema`]).
pub mod idx {
    pub const ID: usize = 0;
    pub const DEVICE_ID: usize = 1;
    pub const OPERATION_TYPE: usize = 2;
    pub const STATUS: usize = 3;
    pub const STATUS_RAW: usize = 4;
    pub const CREATED: usize = 5;
    pub const STARTED: usize = 6;
    pub const COMPLETED: usize = 7;
    pub const LAST_ACTION: usize = 8;
    pub const ERROR: usize = 9;
    pub const CREATED_BY: usize = 10;
    pub const LAST_ACTION_BY: usize = 11;
    pub const SOURCE_FILE: usize = 12;
    pub const INGESTED_AT: usize = 13;
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

/// The schema of the `operations` table (contract §3).
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
