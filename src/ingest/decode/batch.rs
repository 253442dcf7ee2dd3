//! Arrow builders for the `operations` schema.
//!
//! Struct columns are assembled from leaf builders and null buffers, so a NULL
//! parent always has NULL children (DataFusion's field access does not apply
//! the parent's null mask itself).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, NullBufferBuilder, RecordBatch, StringArray, StringBuilder, StructArray,
    TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use arrow::datatypes::Fields;

use crate::schema::{self, operations_schema};

/// One `{id, display_name}` identity, borrowed from the input.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IdentityRef<'a> {
    pub id: Option<&'a str>,
    pub display_name: Option<&'a str>,
}

/// A Graph identitySet: `None` members are JSON null or absent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IdentitySetRef<'a> {
    pub user: Option<IdentityRef<'a>>,
    pub application: Option<IdentityRef<'a>>,
    pub device: Option<IdentityRef<'a>>,
}

/// An operationError's `(code, message)`.
pub type ErrorRef<'a> = (Option<&'a str>, Option<&'a str>);

/// A status as exported and in its normal form (README "Input").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRef<'a> {
    pub normal: &'a str,
    pub raw: &'a str,
}

/// A validated operation, ready to append.
#[derive(Debug, Default, Clone, Copy)]
pub struct OperationRow<'a> {
    pub id: &'a str,
    pub device_id: Option<&'a str>,
    pub operation_type: Option<&'a str>,
    /// The `status` and `status_raw` columns.
    pub status: Option<StatusRef<'a>>,
    pub created: Option<i64>,
    pub started: Option<i64>,
    pub completed: Option<i64>,
    pub last_action: Option<i64>,
    /// `(code, message)`; `None` when `error` is null or absent.
    pub error: Option<ErrorRef<'a>>,
    pub created_by: Option<IdentitySetRef<'a>>,
    pub last_action_by: Option<IdentitySetRef<'a>>,
    #[cfg(test)]
    pub test_note: Option<&'a str>,
}

struct IdentityBuilder {
    nulls: NullBufferBuilder,
    id: StringBuilder,
    display_name: StringBuilder,
}

impl IdentityBuilder {
    /// `usual`: the member is usually present (room for its text up front;
    /// others grow as needed, since a batch keeps its builders' capacity
    /// for as long as it is held).
    fn new(cap: usize, usual: bool) -> Self {
        let (ids, names) = if usual { (cap * 36, cap * 16) } else { (0, 0) };
        Self {
            nulls: NullBufferBuilder::new(cap),
            id: StringBuilder::with_capacity(cap, ids),
            display_name: StringBuilder::with_capacity(cap, names),
        }
    }

    fn append(&mut self, v: Option<IdentityRef<'_>>) {
        match v {
            Some(i) => {
                self.nulls.append_non_null();
                self.id.append_option(i.id);
                self.display_name.append_option(i.display_name);
            }
            None => {
                self.nulls.append_null();
                self.id.append_null();
                self.display_name.append_null();
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        Arc::new(StructArray::new(
            schema::identity_fields(),
            vec![
                Arc::new(self.id.finish()) as ArrayRef,
                Arc::new(self.display_name.finish()),
            ],
            self.nulls.finish(),
        ))
    }
}

struct IdentitySetBuilder {
    nulls: NullBufferBuilder,
    user: IdentityBuilder,
    application: IdentityBuilder,
    device: IdentityBuilder,
}

impl IdentitySetBuilder {
    fn new(cap: usize) -> Self {
        Self {
            nulls: NullBufferBuilder::new(cap),
            user: IdentityBuilder::new(cap, true),
            application: IdentityBuilder::new(cap, false),
            device: IdentityBuilder::new(cap, false),
        }
    }

    fn append(&mut self, v: Option<IdentitySetRef<'_>>) {
        let set = v.unwrap_or_default();
        if v.is_some() {
            self.nulls.append_non_null();
        } else {
            self.nulls.append_null();
        }
        self.user.append(set.user);
        self.application.append(set.application);
        self.device.append(set.device);
    }

    fn finish(&mut self) -> ArrayRef {
        let fields: Fields = schema::identity_set_fields();
        Arc::new(StructArray::new(
            fields,
            vec![
                self.user.finish(),
                self.application.finish(),
                self.device.finish(),
            ],
            self.nulls.finish(),
        ))
    }
}

/// Builds `operations` record batches row by row.
pub struct OperationsBuilder {
    len: usize,
    id: StringBuilder,
    device_id: StringBuilder,
    operation_type: StringBuilder,
    status: StringBuilder,
    status_raw: StringBuilder,
    created: TimestampMicrosecondBuilder,
    started: TimestampMicrosecondBuilder,
    completed: TimestampMicrosecondBuilder,
    last_action: TimestampMicrosecondBuilder,
    error_nulls: NullBufferBuilder,
    error_code: StringBuilder,
    error_message: StringBuilder,
    created_by: IdentitySetBuilder,
    last_action_by: IdentitySetBuilder,
    #[cfg(test)]
    test_note: StringBuilder,
}

impl OperationsBuilder {
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            len: 0,
            id: StringBuilder::with_capacity(cap, cap * 36),
            device_id: StringBuilder::with_capacity(cap, cap * 36),
            operation_type: StringBuilder::with_capacity(cap, cap * 12),
            status: StringBuilder::with_capacity(cap, cap * 10),
            status_raw: StringBuilder::with_capacity(cap, cap * 10),
            created: TimestampMicrosecondBuilder::with_capacity(cap),
            started: TimestampMicrosecondBuilder::with_capacity(cap),
            completed: TimestampMicrosecondBuilder::with_capacity(cap),
            last_action: TimestampMicrosecondBuilder::with_capacity(cap),
            error_nulls: NullBufferBuilder::new(cap),
            error_code: StringBuilder::with_capacity(cap, cap),
            error_message: StringBuilder::with_capacity(cap, cap),
            created_by: IdentitySetBuilder::new(cap),
            last_action_by: IdentitySetBuilder::new(cap),
            #[cfg(test)]
            test_note: StringBuilder::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn append(&mut self, row: &OperationRow<'_>) {
        self.len += 1;
        self.id.append_value(row.id);
        self.device_id.append_option(row.device_id);
        self.operation_type.append_option(row.operation_type);
        self.status.append_option(row.status.map(|s| s.normal));
        self.status_raw.append_option(row.status.map(|s| s.raw));
        self.created.append_option(row.created);
        self.started.append_option(row.started);
        self.completed.append_option(row.completed);
        self.last_action.append_option(row.last_action);
        match row.error {
            Some((code, message)) => {
                self.error_nulls.append_non_null();
                self.error_code.append_option(code);
                self.error_message.append_option(message);
            }
            None => {
                self.error_nulls.append_null();
                self.error_code.append_null();
                self.error_message.append_null();
            }
        }
        self.created_by.append(row.created_by);
        self.last_action_by.append(row.last_action_by);
        #[cfg(test)]
        self.test_note.append_option(row.test_note);
    }

    /// Finishes the batch. `lineage` names the source file of each run of
    /// rows, in order, and covers every row.
    pub fn finish(&mut self, lineage: &[(&str, usize)], ingested_at: i64) -> RecordBatch {
        let n = std::mem::take(&mut self.len);
        debug_assert_eq!(lineage.iter().map(|l| l.1).sum::<usize>(), n);
        let mut source_file = StringBuilder::with_capacity(
            n,
            lineage.iter().map(|(name, rows)| name.len() * rows).sum(),
        );
        for (name, rows) in lineage {
            for _ in 0..*rows {
                source_file.append_value(name);
            }
        }
        let ts = |b: &mut TimestampMicrosecondBuilder| -> ArrayRef {
            Arc::new(b.finish().with_timezone(schema::UTC))
        };
        let error: ArrayRef = Arc::new(StructArray::new(
            schema::error_fields(),
            vec![
                Arc::new(self.error_code.finish()) as ArrayRef,
                Arc::new(self.error_message.finish()),
            ],
            self.error_nulls.finish(),
        ));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.device_id.finish()),
            Arc::new(self.operation_type.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.status_raw.finish()),
            ts(&mut self.created),
            ts(&mut self.started),
            ts(&mut self.completed),
            ts(&mut self.last_action),
            error,
            self.created_by.finish(),
            self.last_action_by.finish(),
            Arc::new(source_file.finish()),
            Arc::new(
                TimestampMicrosecondArray::from_value(ingested_at, n).with_timezone(schema::UTC),
            ),
            #[cfg(test)]
            Arc::new(self.test_note.finish()),
        ];
        RecordBatch::try_new(operations_schema(), columns)
            .expect("builder columns follow the operations schema")
    }
}

/// Replaces the `device_id` column of a batch.
pub fn with_device_ids(batch: &RecordBatch, device_ids: StringArray) -> RecordBatch {
    debug_assert_eq!(device_ids.len(), batch.num_rows());
    let mut columns = batch.columns().to_vec();
    columns[schema::idx::DEVICE_ID] = Arc::new(device_ids);
    RecordBatch::try_new(batch.schema(), columns).expect("same schema")
}
