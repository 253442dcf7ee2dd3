//! Reference documentation of every fleetops SQL function.
//!
//! One [`FunctionDoc`] per function: `fleetops functions` prints them, and the
//! scalar and aggregate functions hand the same text to DataFusion through
//! `documentation()`.

use datafusion::logical_expr::{DocSection, Documentation};

/// The documentation of one SQL function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FunctionDoc {
    /// The SQL name.
    pub name: &'static str,
    /// `"scalar"`, `"aggregate"` or `"table"`.
    pub kind: &'static str,
    /// Arguments and result type, e.g. `is_failed(status: string) -> Boolean`.
    pub signature: &'static str,
    /// What the function computes.
    pub description: &'static str,
    /// Exactly when the result is NULL.
    pub null_behaviour: &'static str,
    /// A SQL example with its result.
    pub example: &'static str,
}

impl FunctionDoc {
    /// The same text as DataFusion [`Documentation`].
    pub fn to_documentation(&self) -> Documentation {
        let section = DocSection {
            include: true,
            label: "fleetops",
            description: Some("Teams device operation analytics"),
        };
        Documentation::builder(
            section,
            format!("{} {}", self.description, self.null_behaviour),
            self.signature,
        )
        .with_sql_example(self.example)
        .build()
    }
}

/// `op_duration_seconds`.
pub const OP_DURATION_SECONDS: FunctionDoc = FunctionDoc {
    name: "op_duration_seconds",
    kind: "scalar",
    signature: "op_duration_seconds(started: timestamp, completed: timestamp) -> Float64",
    description: "Seconds an operation ran, from `started` to `completed`, with the fractional \
                  part (exact to the finer unit of the two arguments, then rounded once to a \
                  Float64). Takes timestamps of any unit and time zone; a timestamp without a \
                  zone is read as UTC; strings and dates are cast to Timestamp(Microsecond, \"UTC\").",
    null_behaviour: "NULL when either argument is NULL or `completed` is earlier than `started`.",
    example: "SELECT op_duration_seconds(TIMESTAMP '2024-03-08T11:00:00Z', \
              TIMESTAMP '2024-03-08T11:01:30.5Z');  -- 90.5",
};

/// `op_queue_seconds`.
pub const OP_QUEUE_SECONDS: FunctionDoc = FunctionDoc {
    name: "op_queue_seconds",
    kind: "scalar",
    signature: "op_queue_seconds(created: timestamp, started: timestamp) -> Float64",
    description: "Seconds an operation waited, from `created` to `started`, with the fractional \
                  part; the same rules as op_duration_seconds.",
    null_behaviour: "NULL when either argument is NULL or `started` is earlier than `created`.",
    example: "SELECT op_queue_seconds(created_date_time, started_date_time) FROM operations;\n\
              SELECT op_queue_seconds(TIMESTAMP '2024-03-08T11:00:00+02:00', \
              TIMESTAMP '2024-03-08T09:00:00.25Z');  -- 0.25",
};

/// `is_terminal`.
pub const IS_TERMINAL: FunctionDoc = FunctionDoc {
    name: "is_terminal",
    kind: "scalar",
    signature: "is_terminal(status: string) -> Boolean",
    description: "True when the status is successful, failed or cancelled (the operation will \
                  not change again). Case-insensitive, with the aliases succeeded (successful) \
                  and canceled (cancelled); any other text, such as queued or \
                  unknownFutureValue, is false. Takes Utf8, LargeUtf8 and Utf8View.",
    null_behaviour: "NULL when `status` is NULL.",
    example: "SELECT is_terminal('Succeeded'), is_terminal('inProgress');  -- true, false",
};

/// `is_failed`.
pub const IS_FAILED: FunctionDoc = FunctionDoc {
    name: "is_failed",
    kind: "scalar",
    signature: "is_failed(status: string) -> Boolean",
    description: "True when the status is failed (case-insensitive); any other text is false. \
                  Failure is read from the status alone, never from the error column. Takes \
                  Utf8, LargeUtf8 and Utf8View.",
    null_behaviour: "NULL when `status` is NULL.",
    example: "SELECT is_failed('FAILED'), is_failed('successful');  -- true, false",
};

/// `failure_rate`.
pub const FAILURE_RATE: FunctionDoc = FunctionDoc {
    name: "failure_rate",
    kind: "aggregate",
    signature: "failure_rate(status: string) -> Float64",
    description: "failed / (successful + failed) over the rows of a group. Statuses match \
                  case-insensitively with the aliases succeeded and canceled; cancelled, \
                  queued, scheduled, inProgress, unknown text and NULL rows are not counted.",
    null_behaviour: "NULL when the group has no successful and no failed row (including an \
                     empty group or only NULL statuses).",
    example: "SELECT operation_type, failure_rate(status) FROM operations GROUP BY operation_type;\n\
              SELECT failure_rate(s) FROM (VALUES ('failed'), ('Succeeded'), ('successful'), \
              ('canceled')) t(s);  -- 0.3333333333333333",
};

/// `op_percentile`.
pub const OP_PERCENTILE: FunctionDoc = FunctionDoc {
    name: "op_percentile",
    kind: "aggregate",
    signature: "op_percentile(value: numeric, fraction: Float64 literal) -> Float64",
    description: "The exact percentile of `value` at `fraction` (0 to 1), interpolating \
                  linearly between the two nearest ranks: rank = fraction * (n - 1), as numpy's \
                  default percentile and DuckDB's quantile_cont. A fraction that is not a \
                  literal between 0 and 1 is an error.",
    null_behaviour: "NULL values are ignored; NULL when there is no non-NULL value.",
    example: "SELECT op_percentile(v, 0.95) FROM generate_series(1, 10) t(v);  -- 9.55",
};

/// `operation_type_stats`.
pub const OPERATION_TYPE_STATS: FunctionDoc = FunctionDoc {
    name: "operation_type_stats",
    kind: "table",
    signature: "operation_type_stats() -> TABLE(operation_type Utf8, operations Int64, \
                successful Int64, failed Int64, cancelled Int64, in_flight Int64, \
                failure_rate Float64, p50_duration_s Float64, p95_duration_s Float64, \
                mean_queue_s Float64)",
    description: "One row per operation_type of the `operations` table, ordered by \
                  operation_type: the number of operations, the counts by status (in_flight = \
                  queued + scheduled + inProgress; case-insensitive, with aliases), \
                  failure_rate as the aggregate of that name, the exact p50 and p95 of \
                  op_duration_seconds (linear interpolation between ranks) and the mean of \
                  op_queue_seconds. Computed when the query runs, over the current \
                  `operations` table.",
    null_behaviour: "A NULL operation_type is a group of its own (listed last). failure_rate is \
                     NULL when a group has no successful or failed operation; the duration \
                     columns are NULL when no row of the group has a duration (NULL or \
                     negative durations are ignored), mean_queue_s likewise.",
    example: "SELECT operation_type, operations, failed, failure_rate, p95_duration_s \
              FROM operation_type_stats();",
};

/// The documentation of every fleetops SQL function, in the order
/// `fleetops functions` lists them.
pub fn function_docs() -> Vec<FunctionDoc> {
    vec![
        OP_DURATION_SECONDS,
        OP_QUEUE_SECONDS,
        IS_TERMINAL,
        IS_FAILED,
        FAILURE_RATE,
        OP_PERCENTILE,
        OPERATION_TYPE_STATS,
    ]
}
