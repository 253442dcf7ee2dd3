//! Each part file's in-flight operations, summarised in its own footer.
//!
//! A report counts the operations stuck at the end of its window, created at
//! any time before it (README, "Reports"). Over a year of data that would
//! read every file, because some operation of any old day is still in flight.
//! Each file therefore carries, in its Parquet key-value metadata, how many of
//! its rows are in flight and the oldest few of them: a report takes the
//! figure of a file wholly before its window from the footer it reads anyway
//! and scans only the rest. The summary travels with the file (files are never
//! changed, only replaced), so it cannot go stale; a file without one (written
//! by an earlier version) is scanned as before.

use std::cmp::Ordering;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampMicrosecondType;
use parquet::file::metadata::{KeyValue, ParquetMetaDataReader};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::idx;
use crate::status;

/// The key of the summary in a part file's key-value metadata.
pub const KEY: &str = "fleetops.in_flight";

/// How many of a file's oldest in-flight rows its summary lists: a report's
/// `--top` up to this is answered from summaries alone.
pub const OLDEST_KEPT: usize = 25;

/// The statuses of an operation still in flight.
pub const IN_FLIGHT: [&str; 3] = [status::QUEUED, status::SCHEDULED, status::IN_PROGRESS];

/// The in-flight rows of a file that have a creation time (a row without one
/// is stuck at no time).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// How many.
    pub rows: u64,
    /// The oldest of them by (creation time, id), at most [`OLDEST_KEPT`].
    pub oldest: Vec<InFlightRow>,
}

/// One in-flight row, with the columns a report lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlightRow {
    /// `created_date_time`, microseconds since the epoch.
    pub created: i64,
    pub id: String,
    pub device_id: Option<String>,
    pub operation_type: Option<String>,
    pub status: String,
}

impl InFlightRow {
    /// Oldest first; ties by id, as the report orders them.
    pub fn order(&self, other: &Self) -> Ordering {
        (self.created, &self.id).cmp(&(other.created, &other.id))
    }
}

impl InFlight {
    /// The summary of the rows of `batches` (in the `operations` schema).
    pub fn of(batches: &[RecordBatch]) -> InFlight {
        let mut rows = 0u64;
        let mut oldest: Vec<InFlightRow> = Vec::new();
        for b in batches {
            let status = b.column(idx::STATUS).as_string::<i32>();
            let created = b
                .column(idx::CREATED)
                .as_primitive::<TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                if status.is_null(i) || created.is_null(i) {
                    continue;
                }
                let s = status.value(i);
                if !IN_FLIGHT.contains(&s) {
                    continue;
                }
                rows += 1;
                let c = created.value(i);
                let id = b.column(idx::ID).as_string::<i32>().value(i);
                // Only rows that would enter the kept list are built.
                if oldest.len() == OLDEST_KEPT
                    && let Some(last) = oldest.last()
                    && (c, id) >= (last.created, last.id.as_str())
                {
                    continue;
                }
                let text = |column: usize| {
                    let a = b.column(column).as_string::<i32>();
                    a.is_valid(i).then(|| a.value(i).to_string())
                };
                let row = InFlightRow {
                    created: c,
                    id: id.to_string(),
                    device_id: text(idx::DEVICE_ID),
                    operation_type: text(idx::OPERATION_TYPE),
                    status: s.to_string(),
                };
                let at = oldest
                    .binary_search_by(|r| r.order(&row))
                    .unwrap_or_else(|e| e);
                oldest.insert(at, row);
                oldest.truncate(OLDEST_KEPT);
            }
        }
        InFlight { rows, oldest }
    }

    /// The summary as the key-value pair a part file's footer keeps.
    pub fn key_value(&self) -> KeyValue {
        let json = serde_json::to_string(self).expect("plain data serialises");
        KeyValue::new(KEY.to_string(), json)
    }

    /// The summary in a footer's key-value metadata; `None` when there is
    /// none or it does not parse (the file is then scanned).
    pub fn from_key_values(kv: Option<&Vec<KeyValue>>) -> Option<InFlight> {
        let value = kv?.iter().find(|kv| kv.key == KEY)?.value.as_deref()?;
        serde_json::from_str(value).ok()
    }

    /// Adds `other` in, keeping the `keep` oldest rows.
    pub fn add(&mut self, other: InFlight, keep: usize) {
        self.rows += other.rows;
        self.oldest.extend(other.oldest);
        self.oldest.sort_by(InFlightRow::order);
        self.oldest.truncate(keep);
    }
}

/// Whether the part file at `path` carries the summary (files written by
/// an earlier fleetops do not; `fleetops compact` rewrites them).
pub fn file_has_summary(path: &Path) -> Result<bool> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata = ParquetMetaDataReader::new()
        .parse_and_finish(&f)
        .map_err(|e| Error::Dataset {
            path: path.into(),
            message: format!("not a readable Parquet file: {e}"),
        })?;
    Ok(InFlight::from_key_values(metadata.file_metadata().key_value_metadata()).is_some())
}

/// Whether every file of `files` carries the summary.
pub fn all_summarised(files: &[PathBuf]) -> Result<bool> {
    for f in files {
        if !file_has_summary(f)? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::operations_schema;
    use arrow::array::{ArrayRef, StringArray, TimestampMicrosecondArray};
    use std::sync::Arc;

    fn batch(rows: &[(&str, Option<&str>, Option<i64>)]) -> RecordBatch {
        let schema = operations_schema();
        let n = rows.len();
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| match i {
                idx::ID => {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))) as ArrayRef
                }
                idx::STATUS => Arc::new(StringArray::from_iter(rows.iter().map(|r| r.1))),
                idx::CREATED => Arc::new(
                    TimestampMicrosecondArray::from_iter(rows.iter().map(|r| r.2))
                        .with_timezone("UTC"),
                ),
                _ => arrow::array::new_null_array(f.data_type(), n),
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    #[test]
    fn counts_in_flight_rows_with_a_creation_time_and_keeps_the_oldest() {
        let mut rows = vec![
            ("done", Some("successful"), Some(1)),
            ("no-created", Some("queued"), None),
            ("no-status", None, Some(1)),
            ("raw", Some("InProgress"), Some(1)),
        ];
        let ids: Vec<String> = (0..40).map(|i| format!("op-{i:02}")).collect();
        for (i, id) in ids.iter().enumerate() {
            // Creation times 100, 99, …: the last ids are the oldest.
            rows.push((id, Some("inProgress"), Some(100 - i as i64)));
        }
        rows.push(("tie-a", Some("scheduled"), Some(61)));
        let s = InFlight::of(&[batch(&rows[..20]), batch(&rows[20..])]);
        assert_eq!(s.rows, 41);
        assert_eq!(s.oldest.len(), OLDEST_KEPT);
        let kept: Vec<(i64, &str)> = s
            .oldest
            .iter()
            .map(|r| (r.created, r.id.as_str()))
            .collect();
        assert_eq!(kept[0], (61, "op-39"));
        // Same creation time: by id.
        assert_eq!(kept[1], (61, "tie-a"));
        assert_eq!(kept[24], (84, "op-16"));

        let back = InFlight::from_key_values(Some(&vec![s.key_value()])).unwrap();
        assert_eq!(back, s);
        assert_eq!(InFlight::from_key_values(None), None);
        let garbled = KeyValue::new(KEY.to_string(), "{".to_string());
        assert_eq!(InFlight::from_key_values(Some(&vec![garbled])), None);
    }

    #[test]
    fn adding_keeps_the_oldest_of_both() {
        let a = InFlight::of(&[batch(&[("a", Some("queued"), Some(5))])]);
        let mut b = InFlight::of(&[batch(&[
            ("b", Some("queued"), Some(3)),
            ("c", Some("queued"), Some(9)),
        ])]);
        b.add(a, 2);
        assert_eq!(b.rows, 3);
        let ids: Vec<&str> = b.oldest.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
    }
}
