//! The `rejects` table: the records ingest could not take, where they were
//! and why. A dataset keeps them as NDJSON under `_rejects/`, one
//! [`RejectLine`] a line; the same type is written there, read back and
//! turned into the table's rows, so the file and the table cannot drift apart.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Name of the table registered on a `SessionContext`.
pub const TABLE_NAME: &str = "rejects";

/// Column names, in schema order.
pub mod col {
    /// `file`: the input file, as ingest named it (Utf8, not null).
    pub const FILE: &str = "file";
    /// `line`: line number in an NDJSON file, 1-based (UInt64; NULL elsewhere).
    pub const LINE: &str = "line";
    /// `response`: response number in a `$batch` file (UInt64; NULL elsewhere).
    pub const RESPONSE: &str = "response";
    /// `index`: the element's index in an array or a page's `value` (UInt64; NULL elsewhere).
    pub const INDEX: &str = "index";
    /// `reason`: why the record was rejected (Utf8, not null).
    pub const REASON: &str = "reason";
    /// `record`: the record's text, cut short when very long (Utf8, not null).
    pub const RECORD: &str = "record";
}

/// The schema of the `rejects` table.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(col::FILE, DataType::Utf8, false),
        Field::new(col::LINE, DataType::UInt64, true),
        Field::new(col::RESPONSE, DataType::UInt64, true),
        Field::new(col::INDEX, DataType::UInt64, true),
        Field::new(col::REASON, DataType::Utf8, false),
        Field::new(col::RECORD, DataType::Utf8, false),
    ]))
}

/// One rejected record: a line of `_rejects/<run>.ndjson` and a row of the
/// `rejects` table. Borrowed when written, owned when read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectLine<'a> {
    /// The input file, as ingest named it.
    pub file: Cow<'a, str>,
    /// Line number in an NDJSON file (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Response number in a `$batch` file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<u64>,
    /// Index of the element in an array or a page's `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Why the record was rejected.
    pub reason: Cow<'a, str>,
    /// The record's text (cut short when very long).
    pub record: Cow<'a, str>,
}

impl RejectLine<'_> {
    /// The line as NDJSON text (without the newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings and numbers always serialise")
    }
}

/// The rows of the `rejects` table.
pub fn batch(lines: &[RejectLine<'_>]) -> Result<RecordBatch> {
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            lines.iter().map(|r| r.file.as_ref()),
        )),
        Arc::new(UInt64Array::from_iter(lines.iter().map(|r| r.line))),
        Arc::new(UInt64Array::from_iter(lines.iter().map(|r| r.response))),
        Arc::new(UInt64Array::from_iter(lines.iter().map(|r| r.index))),
        Arc::new(StringArray::from_iter_values(
            lines.iter().map(|r| r.reason.as_ref()),
        )),
        Arc::new(StringArray::from_iter_values(
            lines.iter().map(|r| r.record.as_ref()),
        )),
    ];
    Ok(RecordBatch::try_new(schema(), cols)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_back_as_written() {
        let line = RejectLine {
            file: "a.ndjson".into(),
            line: Some(3),
            response: None,
            index: None,
            reason: "malformed JSON".into(),
            record: "{\"id\":".into(),
        };
        let text = line.to_json();
        // Absent locations are left out, not written as null.
        assert_eq!(
            text,
            r#"{"file":"a.ndjson","line":3,"reason":"malformed JSON","record":"{\"id\":"}"#
        );
        assert_eq!(serde_json::from_str::<RejectLine>(&text).unwrap(), line);
        let b = batch(&[line]).unwrap();
        assert_eq!(b.schema(), schema());
        assert_eq!(b.num_rows(), 1);
    }
}
