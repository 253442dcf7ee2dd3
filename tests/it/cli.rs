//! The `fleetops` binary end to end: `sql` in every output format, `--output`,
//! one-line errors, the shell fed from a pipe, `functions`, and `--data` on a
//! dataset folder written by `ingest`.
//!
//! The fixtures under `tests/fixtures/cli/` hold six records: five operations
//! (a Graph list page for device `dev-1`, NDJSON with a `deviceId`) and one
//! record with an unparseable timestamp that is rejected.

use std::path::{Path, PathBuf};
use std::process::Output;

use arrow::array::{
    Array, AsArray, Float64Array, RecordBatch, StringArray, StructArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, TimeUnit};
use serde_json::{Value, json};

use crate::support::{
    assert_ok, fixture, fleetops, fleetops_stdin, micros, read_arrow, read_parquet, sample_data,
    stderr, stdout,
};

/// The query every format is checked with (also used by tests/interop).
const QUERY: &str = include_str!("../interop/query.sql");

fn fixtures() -> PathBuf {
    fixture("cli")
}

/// `fleetops sql QUERY --data FIXTURES --format FORMAT`.
fn sql(query: &str, format: &str) -> Output {
    let data = fixtures();
    fleetops(&[
        "sql",
        query,
        "--data",
        data.to_str().unwrap(),
        "--format",
        format,
    ])
}

/// The warning every run over the raw fixtures prints (one rejected record).
const REJECT_WARNING: &str =
    "fleetops: warning: 1 of 6 records rejected (query the rejects table for the reasons)";

/// The cells of each row (the header first) of a pretty-printed table.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            let inner = &l[1..l.len() - 1];
            inner.split(" | ").map(|c| c.trim().to_string()).collect()
        })
        .collect()
}

const CSV: &str = "\
id,device_id,operation_type,status,status_raw,created_date_time,completed_date_time,duration_s,error.code,error.message,created_by.user.id,created_by.user.display_name,created_by.application.id,created_by.application.display_name,created_by.device.id,created_by.device.display_name
op-1,dev-1,softwareUpdate,successful,successful,2024-03-08T11:00:00Z,2024-03-08T11:01:35.500Z,90.5,,Unknown,u-1,Ada Admin,,,,
op-2,dev-1,deviceDiagnostics,failed,Failed,2024-03-08T10:00:00Z,2024-03-08T10:02:10.123456Z,120.123456,DeviceOffline,\"The device is \"\"offline\"\", try later\",u-2,\"Bo, Operator\",,,,
op-3,dev-1,restart,inProgress,inProgress,2024-03-09T08:30:00Z,,,,,,,,,,
op-4,dev-2,unknownFutureValue,queued,Queued,2024-03-10T00:00:00Z,,,,,,,,,d-9,Room 4
op-5,,restart,cancelled,canceled,2024-03-10T09:00:00Z,,,Cancelled,,,,,,,
";

fn expected_json() -> Value {
    json!([
        {
            "id": "op-1", "device_id": "dev-1", "operation_type": "softwareUpdate",
            "status": "successful", "status_raw": "successful",
            "created_date_time": "2024-03-08T11:00:00Z",
            "completed_date_time": "2024-03-08T11:01:35.500Z",
            "duration_s": 90.5,
            "error": {"code": null, "message": "Unknown"},
            "created_by": {
                "user": {"id": "u-1", "display_name": "Ada Admin"},
                "application": null, "device": null
            }
        },
        {
            "id": "op-2", "device_id": "dev-1", "operation_type": "deviceDiagnostics",
            "status": "failed", "status_raw": "Failed",
            "created_date_time": "2024-03-08T10:00:00Z",
            "completed_date_time": "2024-03-08T10:02:10.123456Z",
            "duration_s": 120.123456,
            "error": {"code": "DeviceOffline", "message": "The device is \"offline\", try later"},
            "created_by": {
                "user": {"id": "u-2", "display_name": "Bo, Operator"},
                "application": null, "device": null
            }
        },
        {
            "id": "op-3", "device_id": "dev-1", "operation_type": "restart",
            "status": "inProgress", "status_raw": "inProgress",
            "created_date_time": "2024-03-09T08:30:00Z",
            "completed_date_time": null, "duration_s": null,
            "error": null, "created_by": null
        },
        {
            "id": "op-4", "device_id": "dev-2", "operation_type": "unknownFutureValue",
            "status": "queued", "status_raw": "Queued",
            "created_date_time": "2024-03-10T00:00:00Z",
            "completed_date_time": null, "duration_s": null,
            "error": null,
            "created_by": {
                "user": null, "application": null,
                "device": {"id": "d-9", "display_name": "Room 4"}
            }
        },
        {
            "id": "op-5", "device_id": null, "operation_type": "restart",
            "status": "cancelled", "status_raw": "canceled",
            "created_date_time": "2024-03-10T09:00:00Z",
            "completed_date_time": null, "duration_s": null,
            "error": {"code": "Cancelled", "message": null},
            "created_by": null
        }
    ])
}

#[test]
fn table_format_shows_the_cells() {
    let o = sql(QUERY, "table");
    assert_ok(&o);
    assert_eq!(stderr(&o).trim_end(), REJECT_WARNING);
    let rows = table_rows(&stdout(&o));
    let header: Vec<&str> = QUERY_COLUMNS.to_vec();
    assert_eq!(rows[0], header);
    let data = &rows[1..];
    assert_eq!(data.len(), 5);
    assert_eq!(
        data[0],
        [
            "op-1",
            "dev-1",
            "softwareUpdate",
            "successful",
            "successful",
            "2024-03-08T11:00:00Z",
            "2024-03-08T11:01:35.500Z",
            "90.5",
            "{code: NULL, message: Unknown}",
            "{user: {id: u-1, display_name: Ada Admin}, application: NULL, device: NULL}",
        ]
    );
    assert_eq!(
        data[1][..8],
        [
            "op-2",
            "dev-1",
            "deviceDiagnostics",
            "failed",
            "Failed",
            "2024-03-08T10:00:00Z",
            "2024-03-08T10:02:10.123456Z",
            "120.123456",
        ]
    );
    assert_eq!(
        data[1][8],
        "{code: DeviceOffline, message: The device is \"offline\", try later}"
    );
    assert_eq!(
        data[2],
        [
            "op-3",
            "dev-1",
            "restart",
            "inProgress",
            "inProgress",
            "2024-03-09T08:30:00Z",
            "NULL",
            "NULL",
            "NULL",
            "NULL",
        ]
    );
    assert_eq!(data[3][3..5], ["queued", "Queued"]);
    assert_eq!(
        data[3][9],
        "{user: NULL, application: NULL, device: {id: d-9, display_name: Room 4}}"
    );
    assert_eq!(
        data[4][..5],
        ["op-5", "NULL", "restart", "cancelled", "canceled"]
    );
    assert_eq!(data[4][8], "{code: Cancelled, message: NULL}");
}

const QUERY_COLUMNS: [&str; 10] = [
    "id",
    "device_id",
    "operation_type",
    "status",
    "status_raw",
    "created_date_time",
    "completed_date_time",
    "duration_s",
    "error",
    "created_by",
];

#[test]
fn table_format_of_no_rows_shows_the_header() {
    let o = sql("SELECT id, status FROM operations WHERE false", "table");
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        "+----+--------+\n| id | status |\n+----+--------+\n+----+--------+\n"
    );
}

/// `--data` takes one path per flag, so the query may come after it, and
/// several `--data` read together.
#[test]
fn query_may_follow_data_and_data_repeats() {
    let f = fixtures();
    let dir = f.to_str().unwrap();
    let o = fleetops(&[
        "sql",
        "--data",
        dir,
        "SELECT count(*) AS n FROM operations",
        "--format",
        "csv",
    ]);
    assert_ok(&o);
    let one: i64 = stdout(&o).lines().nth(1).unwrap().parse().unwrap();
    assert!(one > 0);
    let o = fleetops(&[
        "sql",
        "--data",
        dir,
        "--data",
        dir,
        "SELECT count(*) AS n FROM operations",
        "--format",
        "csv",
    ]);
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        format!("n\n{one}\n"),
        "the same files twice dedup"
    );
}

#[test]
fn csv_flattens_structs_and_writes_utc_timestamps() {
    let o = sql(QUERY, "csv");
    assert_ok(&o);
    assert_eq!(stdout(&o), CSV);
}

#[test]
fn csv_of_no_rows_is_the_header() {
    let o = sql("SELECT id, error FROM operations WHERE false", "csv");
    assert_ok(&o);
    assert_eq!(stdout(&o), "id,error.code,error.message\n");
}

#[test]
fn csv_writes_lists_as_json_and_other_zones_in_utc() {
    let o = sql(
        "SELECT array_agg(id ORDER BY id) AS ids, \
         arrow_cast(max(completed_date_time), 'Timestamp(Millisecond, Some(\"+02:00\"))') AS t \
         FROM operations",
        "csv",
    );
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        "ids,t\n\"[\"\"op-1\"\",\"\"op-2\"\",\"\"op-3\"\",\"\"op-4\"\",\"\"op-5\"\"]\",2024-03-08T11:01:35.500Z\n"
    );
}

#[test]
fn json_is_one_array_with_explicit_nulls() {
    let o = sql(QUERY, "json");
    assert_ok(&o);
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("[{\"id\":\"op-1\""), "{text}");
    assert!(text.contains("\"completed_date_time\":null"));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v, expected_json());
}

#[test]
fn json_of_no_rows_is_an_empty_array() {
    let o = sql("SELECT id FROM operations WHERE false", "json");
    assert_ok(&o);
    assert_eq!(stdout(&o), "[]\n");
}

#[test]
fn ndjson_is_one_object_per_line() {
    let o = sql(QUERY, "ndjson");
    assert_ok(&o);
    let text = stdout(&o);
    let rows: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Value::Array(rows), expected_json());
    assert!(text.lines().nth(2).unwrap().contains("\"error\":null"));
}

/// Checks batches of [`QUERY`] read back from Parquet or Arrow IPC.
fn check_binary(batches: &[RecordBatch]) {
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, QUERY_COLUMNS);
    let utc_us = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    assert_eq!(
        schema
            .field_with_name("created_date_time")
            .unwrap()
            .data_type(),
        &utc_us
    );
    assert_eq!(
        schema.field_with_name("id").unwrap().data_type(),
        &DataType::Utf8
    );
    let b = arrow::compute::concat_batches(&schema, batches).unwrap();
    assert_eq!(b.num_rows(), 5);

    let strings = |name: &str| -> Vec<Option<String>> {
        let c = b.column_by_name(name).unwrap();
        c.as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        strings("id"),
        [s("op-1"), s("op-2"), s("op-3"), s("op-4"), s("op-5")]
    );
    assert_eq!(
        strings("device_id"),
        [s("dev-1"), s("dev-1"), s("dev-1"), s("dev-2"), None]
    );
    assert_eq!(
        strings("status"),
        [
            s("successful"),
            s("failed"),
            s("inProgress"),
            s("queued"),
            s("cancelled")
        ]
    );
    assert_eq!(
        strings("status_raw"),
        [
            s("successful"),
            s("Failed"),
            s("inProgress"),
            s("Queued"),
            s("canceled")
        ]
    );

    let ts = |name: &str| -> Vec<Option<i64>> {
        b.column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .unwrap()
            .iter()
            .collect()
    };
    assert_eq!(
        ts("created_date_time"),
        [
            Some(micros("2024-03-08T11:00:00Z")),
            Some(micros("2024-03-08T10:00:00Z")),
            Some(micros("2024-03-09T08:30:00Z")),
            Some(micros("2024-03-10T00:00:00Z")),
            Some(micros("2024-03-10T09:00:00Z")),
        ]
    );
    assert_eq!(
        ts("completed_date_time"),
        [
            Some(micros("2024-03-08T11:01:35.5Z")),
            Some(micros("2024-03-08T10:02:10.123456Z")),
            None,
            None,
            None,
        ]
    );
    let duration: Vec<Option<f64>> = b
        .column_by_name("duration_s")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(duration, [Some(90.5), Some(120.123456), None, None, None]);

    let error: &StructArray = b.column_by_name("error").unwrap().as_struct();
    assert_eq!(
        (0..5).map(|i| error.is_null(i)).collect::<Vec<_>>(),
        [false, false, true, true, false]
    );
    let code = error.column_by_name("code").unwrap().as_string::<i32>();
    let message = error.column_by_name("message").unwrap().as_string::<i32>();
    assert!(code.is_null(0));
    assert_eq!(message.value(0), "Unknown");
    assert_eq!(code.value(1), "DeviceOffline");
    assert_eq!(message.value(1), "The device is \"offline\", try later");
    assert_eq!(code.value(4), "Cancelled");
    assert!(message.is_null(4));

    let created_by: &StructArray = b.column_by_name("created_by").unwrap().as_struct();
    assert_eq!(
        (0..5).map(|i| created_by.is_null(i)).collect::<Vec<_>>(),
        [false, false, true, false, true]
    );
    let user: &StructArray = created_by.column_by_name("user").unwrap().as_struct();
    let device: &StructArray = created_by.column_by_name("device").unwrap().as_struct();
    let user_name = user
        .column_by_name("display_name")
        .unwrap()
        .as_string::<i32>();
    assert_eq!(user_name.value(0), "Ada Admin");
    assert_eq!(user_name.value(1), "Bo, Operator");
    assert!(user.is_null(3));
    assert!(!device.is_null(3));
    assert_eq!(
        device
            .column_by_name("id")
            .unwrap()
            .as_string::<i32>()
            .value(3),
        "d-9"
    );
}

/// `sql QUERY --format FORMAT --output DIR/NAME` over `data`.
fn export(data: &Path, format: &str, out: &Path) -> Output {
    fleetops(&[
        "sql",
        QUERY,
        "--data",
        data.to_str().unwrap(),
        "--format",
        format,
        "--output",
        out.to_str().unwrap(),
    ])
}

#[test]
fn parquet_reads_back_with_the_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.parquet");
    let o = export(&fixtures(), "parquet", &path);
    assert_ok(&o);
    assert!(o.stdout.is_empty());
    check_binary(&read_parquet(&path));
}

#[test]
fn parquet_to_stdout_is_a_parquet_file() {
    let o = sql(QUERY, "parquet");
    assert_ok(&o);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stdout.parquet");
    std::fs::write(&path, &o.stdout).unwrap();
    check_binary(&read_parquet(&path));
}

#[test]
fn arrow_ipc_file_reads_back_with_the_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.arrow");
    let o = export(&fixtures(), "arrow", &path);
    assert_ok(&o);
    check_binary(&read_arrow(&path));
}

#[test]
fn output_writes_the_file_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    for (format, name) in [
        ("csv", "ops.csv"),
        ("json", "ops.json"),
        ("table", "ops.txt"),
    ] {
        let path = dir.path().join(name);
        let o = export(&fixtures(), format, &path);
        assert_ok(&o);
        assert!(o.stdout.is_empty(), "{format}: {}", stdout(&o));
        assert!(path.is_file());
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ops.csv")).unwrap(),
        CSV
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("ops.json")).unwrap())
            .unwrap();
    assert_eq!(v, expected_json());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // No temporary file is left beside the outputs.
    assert_eq!(names, ["ops.csv", "ops.json", "ops.txt"]);
}

#[test]
fn failed_query_leaves_no_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ops.csv");
    let data = fixtures();
    let o = fleetops(&[
        "sql",
        "SELECT nope FROM operations",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "csv",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The error line of a failed run: exactly one `fleetops: error:` line, no
/// panic, nothing on stdout.
#[track_caller]
fn one_error_line(o: &Output) -> String {
    assert!(!o.status.success(), "succeeded: {}", stdout(o));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(o);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.to_lowercase().contains("backtrace"), "{err}");
    assert!(o.stdout.is_empty(), "{}", stdout(o));
    let lines: Vec<&str> = err.lines().filter(|l| *l != REJECT_WARNING).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("fleetops: error: "), "{err}");
    lines[0].to_string()
}

#[test]
fn bad_sql_is_one_line() {
    let line = one_error_line(&sql("SELEC id FROM operations", "table"));
    assert!(line.contains("SELEC"), "{line}");
}

#[test]
fn unknown_column_is_one_line() {
    let line = one_error_line(&sql("SELECT nope FROM operations", "csv"));
    assert!(line.contains("No field named nope"), "{line}");
}

#[test]
fn unknown_function_is_one_line() {
    let line = one_error_line(&sql("SELECT nope_fn(id) FROM operations", "json"));
    assert!(line.contains("Invalid function 'nope_fn'"), "{line}");
}

#[test]
fn wrong_argument_type_is_one_line() {
    let line = one_error_line(&sql("SELECT op_duration_seconds('x', 1)", "table"));
    assert!(line.contains("op_duration_seconds"), "{line}");
    let line = one_error_line(&sql("SELECT is_failed(1)", "table"));
    assert!(line.contains("is_failed"), "{line}");
}

#[test]
fn missing_data_path_is_one_line() {
    let o = fleetops(&["sql", "SELECT 1", "--data", "/no/such/exports"]);
    let line = one_error_line(&o);
    assert_eq!(
        line,
        "fleetops: error: /no/such/exports: no such file or folder"
    );
}

#[test]
fn an_error_in_a_later_statement_fails_the_run() {
    let line = one_error_line(&sql("SELECT 1; SELECT nope FROM operations", "csv"));
    assert!(line.contains("nope"), "{line}");
}

#[test]
fn several_statements_print_the_last_result_or_each_table() {
    let q = "CREATE VIEW failed_ops AS SELECT id FROM operations WHERE is_failed(status); \
             SELECT count(*) AS n FROM failed_ops; SELECT id FROM failed_ops;";
    let o = sql(q, "csv");
    assert_ok(&o);
    assert_eq!(stdout(&o), "id\nop-2\n");
    let o = sql(q, "table");
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        "+---+\n| n |\n+---+\n| 1 |\n+---+\n\n+------+\n| id   |\n+------+\n| op-2 |\n+------+\n"
    );
    // A `;` inside a string does not split statements.
    let o = sql("SELECT 'a;b' AS s", "csv");
    assert_ok(&o);
    assert_eq!(stdout(&o), "s\na;b\n");
}

#[test]
fn rejects_table_holds_the_rejected_record() {
    let o = sql("SELECT file, line, reason FROM rejects", "json");
    assert_ok(&o);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["file"].as_str().unwrap().ends_with("more.ndjson"));
    assert_eq!(rows[0]["line"], json!(3));
    assert!(rows[0]["reason"].as_str().unwrap().contains("not-a-date"));
}

#[test]
fn functions_lists_every_function() {
    let o = fleetops(&["functions"]);
    assert_ok(&o);
    let text = stdout(&o);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let docs = fleetops::functions::function_docs();
    assert!(docs.len() >= 6);
    for d in &docs {
        assert!(
            text.contains(&format!("\n{} ({})\n", d.name, d.kind)),
            "{}",
            d.name
        );
        for part in [d.signature, d.description, d.null_behaviour] {
            let part = part.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains(&part), "{}: {part}", d.name);
        }
        for line in d.example.lines() {
            assert!(text.contains(line.trim()), "{}: {line}", d.name);
        }
    }
    for name in [
        "op_duration_seconds",
        "op_queue_seconds",
        "is_terminal",
        "is_failed",
        "failure_rate",
        "operation_type_stats",
    ] {
        assert!(docs.iter().any(|d| d.name == name), "{name}");
    }
}

#[test]
fn shell_reads_piped_statements_and_commands() {
    let data = fixtures();
    let o = fleetops_stdin(
        &["sql", "--data", data.to_str().unwrap()],
        Some("SELECT 1;\n\\d\n\\d operations\nSELECT count(*)\nFROM operations;\n\\q\nSELECT 2;\n"),
    );
    assert_ok(&o);
    assert_eq!(stderr(&o).trim_end(), REJECT_WARNING);
    let out = stdout(&o);
    // Each result is followed by its row count and time.
    let summaries: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with('|') && !l.starts_with('+'))
        .collect();
    assert_eq!(summaries.len(), 4, "{out}");
    for (line, rows) in summaries
        .iter()
        .zip(["1 row", "2 rows", "34 rows", "1 row"])
    {
        let rest = line
            .strip_prefix(&format!("{rows} in "))
            .unwrap_or_else(|| panic!("{line:?} in\n{out}"));
        let secs = rest.strip_suffix('s').unwrap();
        assert!(secs.parse::<f64>().is_ok(), "{line}");
    }
    let rows = table_rows(&out);
    // SELECT 1
    assert!(rows.contains(&vec!["Int64(1)".to_string()]));
    assert!(rows.contains(&vec!["1".to_string()]));
    // \d
    assert!(rows.contains(&vec!["name".to_string(), "type".to_string()]));
    assert!(rows.contains(&vec!["operations".to_string(), "base table".to_string()]));
    assert!(rows.contains(&vec!["rejects".to_string(), "base table".to_string()]));
    // \d operations
    let cells = |a: &str, b: &str, c: &str| vec![a.to_string(), b.to_string(), c.to_string()];
    assert!(rows.contains(&cells("column", "type", "nullable")));
    assert!(rows.contains(&cells("id", "Utf8", "NO")));
    assert!(rows.contains(&cells(
        "created_date_time",
        "Timestamp(Microsecond, UTC)",
        "YES"
    )));
    assert!(rows.contains(&cells("error", "Struct", "YES")));
    assert!(rows.contains(&cells("error.code", "Utf8", "YES")));
    assert!(rows.contains(&cells("created_by.user.display_name", "Utf8", "YES")));
    // The multi-line SELECT count(*)
    assert!(rows.contains(&vec!["count(*)".to_string()]));
    assert!(rows.contains(&vec!["5".to_string()]));
    // Nothing after \q ran.
    assert!(!rows.contains(&vec!["Int64(2)".to_string()]));
}

#[test]
fn shell_continues_after_an_error_and_exits_non_zero() {
    let data = fixtures();
    let o = fleetops_stdin(
        &["sql", "--data", data.to_str().unwrap(), "--format", "csv"],
        Some(
            "SELECT nope FROM operations;\nSELECT 'a;\nb' AS s; -- two lines\n\\nope\nSELECT id FROM operations WHERE status = 'failed'",
        ),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "s\n\"a;\nb\"\nid\nop-2\n");
    let err = stderr(&o);
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("fleetops: error: "))
        .collect();
    assert_eq!(errors.len(), 2, "{err}");
    assert!(errors[0].contains("No field named nope"));
    assert!(errors[1].contains("unknown command \\nope"));
    assert!(!err.contains("panicked"));
}

#[test]
fn shell_refuses_binary_formats() {
    let data = fixtures();
    let o = fleetops_stdin(
        &[
            "sql",
            "--data",
            data.to_str().unwrap(),
            "--format",
            "parquet",
        ],
        Some("SELECT 1;\n"),
    );
    let line = one_error_line(&o);
    assert!(line.contains("need a QUERY"), "{line}");
}

#[test]
fn data_on_an_ingested_dataset_folder() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    let fx = fixtures();
    let o = fleetops(&[
        "ingest",
        fx.to_str().unwrap(),
        "--out",
        ds.to_str().unwrap(),
        "--json",
    ]);
    assert_ok(&o);
    let counts: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(counts["records"], json!(6));
    assert_eq!(counts["rows"], json!(5));
    assert_eq!(counts["rejected"], json!(1));

    let run = |format: &str| {
        fleetops(&[
            "sql",
            QUERY,
            "--data",
            ds.to_str().unwrap(),
            "--format",
            format,
        ])
    };
    let o = run("csv");
    assert_ok(&o);
    // A dataset is read as it is: no ingest warning.
    assert_eq!(stderr(&o), "");
    assert_eq!(stdout(&o), CSV);
    let o = run("json");
    assert_ok(&o);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&o)).unwrap(),
        expected_json()
    );
    let out = dir.path().join("ds.parquet");
    let o = export(&ds, "parquet", &out);
    assert_ok(&o);
    check_binary(&read_parquet(&out));

    let o = fleetops(&[
        "sql",
        "SELECT count(*) AS n FROM rejects",
        "--data",
        ds.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "n\n1\n");

    // The shell on a dataset.
    let o = fleetops_stdin(
        &["sql", "--data", ds.to_str().unwrap(), "--format", "csv"],
        Some("SELECT count(*) AS n FROM operations;\n"),
    );
    assert_ok(&o);
    assert_eq!(stdout(&o), "n\n5\n");
}

#[test]
fn a_query_may_start_with_a_comment_in_any_argument_order() {
    let data = fixtures();
    let data = data.to_str().unwrap();
    let q = "-- how many\nSELECT count(*) AS n FROM operations";
    for args in [
        vec!["sql", q, "--data", data, "--format", "csv"],
        vec!["sql", "--data", data, "--format", "csv", q],
        vec!["sql", "--format", "csv", "--data", data, "--", q],
    ] {
        let o = fleetops(&args);
        assert_ok(&o);
        assert_eq!(stdout(&o), "n\n5\n", "{args:?}");
    }
}

/// A timestamp no format can show is an error in every text format, never an
/// `ERROR: …` string passed off as the value.
#[test]
fn unprintable_timestamps_fail_every_text_format() {
    let q = "SELECT id, to_timestamp_micros(9223372036854775807) AS t FROM operations LIMIT 1";
    for format in ["table", "csv", "json", "ndjson"] {
        let o = sql(q, format);
        assert!(!o.status.success(), "{format}: {}", stdout(&o));
        assert!(!stdout(&o).contains("ERROR"), "{format}: {}", stdout(&o));
    }
    let o = sql(q, "json");
    assert!(
        stderr(&o).contains("column t, row 1: a Timestamp(µs) value no format can show"),
        "{}",
        stderr(&o)
    );
    // Parquet and Arrow keep the value as it is.
    assert_ok(&sql(q, "parquet"));
}

/// Control characters from an export are shown escaped in a table, so a
/// crafted id cannot drive the terminal; other formats keep them verbatim.
#[test]
fn table_escapes_control_characters() {
    let q = "SELECT 'a' || chr(27) || '[31mred' || chr(10) || 'x' AS s";
    let o = sql(q, "table");
    assert_ok(&o);
    assert!(
        stdout(&o).contains("| a\\u{1b}[31mred\\nx |"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains('\u{1b}'));
    let o = sql(q, "csv");
    assert_ok(&o);
    assert_eq!(stdout(&o), "s\n\"a\u{1b}[31mred\nx\"\n");
}

/// `--memory-budget 1` spills every decoded batch to disk at once (so every
/// row is read back for the merge): the same counts and the same table as
/// the default.
#[test]
fn memory_budget_changes_memory_not_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_data();
    let sample = sample.to_str().unwrap();
    let table = |name: &str, extra: &[&str]| {
        let ds = dir.path().join(name);
        let mut args = vec!["ingest", sample, "--out", ds.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        let o = fleetops(&args);
        assert_ok(&o);
        let counts: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        let o = fleetops(&[
            "sql",
            "SELECT id, device_id, status, status_raw, last_action_date_time, error['message'] AS m \
             FROM operations ORDER BY id",
            "--data",
            ds.to_str().unwrap(),
            "--format",
            "csv",
        ]);
        assert_ok(&o);
        (counts, stdout(&o))
    };
    let (counts, rows) = table("default", &[]);
    assert_eq!(counts["rows"], json!(435));
    assert_eq!(rows.lines().count(), 436);
    assert_eq!(table("spilled", &["--memory-budget", "1"]), (counts, rows));
}

/// Standard input is cut by the reader thread while workers read the named
/// files: both land, in read order for dedup.
#[test]
fn ingest_reads_standard_input_among_named_files() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("p.json");
    std::fs::write(
        &page,
        r#"{"value":[{"id":"b","status":"failed","lastActionDateTime":"2026-11-02T00:00:00Z"}]}"#,
    )
    .unwrap();
    let ds = dir.path().join("ds");
    let o = fleetops_stdin(
        &[
            "ingest",
            "-",
            page.to_str().unwrap(),
            "--out",
            ds.to_str().unwrap(),
            "--json",
        ],
        Some(
            "{\"id\":\"a\",\"status\":\"queued\"}\n{\"id\":\"b\",\"status\":\"queued\",\"lastActionDateTime\":\"2026-11-01T00:00:00Z\"}\n",
        ),
    );
    assert_ok(&o);
    let counts: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(counts["files"], json!(2));
    assert_eq!(counts["records"], json!(3));
    assert_eq!(counts["rows"], json!(2));
    assert_eq!(counts["duplicates"], json!(1));
    let o = fleetops(&[
        "sql",
        "SELECT id, status, source_file FROM operations ORDER BY id",
        "--data",
        ds.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_ok(&o);
    assert_eq!(
        stdout(&o),
        format!(
            "id,status,source_file\na,queued,<stdin>\nb,failed,{}\n",
            page.display()
        )
    );
}
