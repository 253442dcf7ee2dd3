//! The ingester against every input shape and quirk of README "Input",
//! with exact values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch, StructArray};
use fleetops::ingest::{self, Counts, IngestReport, Options};
use fleetops::internals::ingest::dataset;
use fleetops::schema::idx;

use crate::support::{
    dataset_batches, files_under, gzip, micros, sample_data, text_at as s, time_at as t, write,
};

/// One row of the table, as a test reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    id: String,
    device: Option<String>,
    op_type: Option<String>,
    status: Option<String>,
    status_raw: Option<String>,
    created: Option<i64>,
    started: Option<i64>,
    completed: Option<i64>,
    last: Option<i64>,
    error: Option<(Option<String>, Option<String>)>,
    created_by_user: Option<(Option<String>, Option<String>)>,
    created_by_app: Option<(Option<String>, Option<String>)>,
    last_by_user: Option<(Option<String>, Option<String>)>,
    source: String,
}

fn pair(a: &StructArray, i: usize) -> Option<(Option<String>, Option<String>)> {
    (!a.is_null(i)).then(|| (s(a.column(0), i), s(a.column(1), i)))
}

fn member(set: &dyn Array, m: usize, i: usize) -> Option<(Option<String>, Option<String>)> {
    let set = set.as_struct();
    if set.is_null(i) {
        return None;
    }
    pair(set.column(m).as_struct(), i)
}

fn rows_of(batches: &[RecordBatch]) -> BTreeMap<String, Row> {
    let mut out = BTreeMap::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let row = Row {
                id: s(b.column(idx::ID), i).unwrap(),
                device: s(b.column(idx::DEVICE_ID), i),
                op_type: s(b.column(idx::OPERATION_TYPE), i),
                status: s(b.column(idx::STATUS), i),
                status_raw: s(b.column(idx::STATUS_RAW), i),
                created: t(b.column(idx::CREATED), i),
                started: t(b.column(idx::STARTED), i),
                completed: t(b.column(idx::COMPLETED), i),
                last: t(b.column(idx::LAST_ACTION), i),
                error: pair(b.column(idx::ERROR).as_struct(), i),
                created_by_user: member(b.column(idx::CREATED_BY), 0, i),
                created_by_app: member(b.column(idx::CREATED_BY), 1, i),
                last_by_user: member(b.column(idx::LAST_ACTION_BY), 0, i),
                source: s(b.column(idx::SOURCE_FILE), i).unwrap(),
            };
            assert!(out.insert(row.id.clone(), row).is_none(), "one row per id");
        }
    }
    out
}

/// `ingested_at` per id: which run wrote each row.
fn ingested_at(dir: &Path) -> BTreeMap<String, Option<i64>> {
    let mut out = BTreeMap::new();
    for b in dataset_batches(dir) {
        for i in 0..b.num_rows() {
            out.insert(
                s(b.column(idx::ID), i).unwrap(),
                t(b.column(idx::INGESTED_AT), i),
            );
        }
    }
    out
}

fn read_dataset(dir: &Path) -> BTreeMap<String, Row> {
    rows_of(&dataset_batches(dir))
}

fn us(text: &str) -> Option<i64> {
    Some(micros(text))
}

fn mem(paths: &[PathBuf]) -> (BTreeMap<String, Row>, ingest::MemoryIngest) {
    let m = ingest::ingest_memory(paths, &Options::default()).unwrap();
    let c = &m.report.counts;
    assert_eq!(c.records, c.rows + c.duplicates + c.rejected, "{c:?}");
    (rows_of(&m.batches), m)
}

fn counts(
    files: u64,
    records: u64,
    rows: u64,
    duplicates: u64,
    rejected: u64,
    repaired: u64,
) -> Counts {
    Counts {
        files,
        records,
        rows,
        duplicates,
        rejected,
        repaired,
    }
}

const CTX: &str = "https://graph.microsoft.com/beta/$metadata#teamwork/devices('0f3ce432-e432-0f3c-32e4-3c0f32e43c0f')/operations";
const DEV: &str = "0f3ce432-e432-0f3c-32e4-3c0f32e43c0f";

/// Graph's own documentation example, verbatim in shape.
const GRAPH_PAGE: &str = r##"{
  "@odata.context": "https://graph.microsoft.com/beta/$metadata#teamwork/devices('0f3ce432-e432-0f3c-32e4-3c0f32e43c0f')/operations",
  "@odata.count": 1,
  "value": [
    {
      "@odata.type": "#microsoft.graph.teamworkDeviceOperation",
      "id": "5d1f0a5c-0a5c-5d1f-5c0a-1f5d5c0a1f5d",
      "status": "successful",
      "operationType": "deviceDiagnostics",
      "startedDateTime": "2021-06-19T12-01-03.45Z",
      "completedDateTime": "2021-06-19T12-01-03.45Z",
      "error": {"@odata.type": "microsoft.graph.operationError", "code": null, "message": "Unknown"},
      "lastActionBy": {
        "application": null,
        "device": null,
        "user": {"@odata.type": "microsoft.graph.teamworkUserIdentity", "id": "2fe16a4b-16a4-2fe1-4b6a-e12f4b6ae12f", "displayName": "Amy Jones", "userIdentityType": "aadUser"}
      },
      "createdDateTime": "2021-06-19T12-01-03.45Z",
      "createdBy": {
        "application": null,
        "device": null,
        "user": {"@odata.type": "microsoft.graph.teamworkUserIdentity", "id": "2fe16a4b-16a4-2fe1-4b6a-e12f4b6ae12f", "displayName": "Amy Jones", "userIdentityType": "aadUser"}
      },
      "lastActionDateTime": "2021-06-19T12-01-03.45Z"
    }
  ],
  "@odata.nextLink": "https://graph.microsoft.com/beta/teamwork/devices/0f3ce432-e432-0f3c-32e4-3c0f32e43c0f/operations?$skiptoken=X"
}"##;

#[test]
fn graph_documentation_page() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "page.json", GRAPH_PAGE.as_bytes());
    let (rows, m) = mem(std::slice::from_ref(&p));
    assert_eq!(m.report.counts, counts(1, 1, 1, 0, 0, 1));
    let r = &rows["5d1f0a5c-0a5c-5d1f-5c0a-1f5d5c0a1f5d"];
    assert_eq!(r.device.as_deref(), Some(DEV));
    assert_eq!(r.op_type.as_deref(), Some("deviceDiagnostics"));
    assert_eq!(r.status.as_deref(), Some("successful"));
    assert_eq!(r.status_raw.as_deref(), Some("successful"));
    assert_eq!(r.created, us("2021-06-19T12:01:03.45Z"));
    assert_eq!(r.started, us("2021-06-19T12:01:03.45Z"));
    assert_eq!(r.last, Some(1_624_104_063_450_000));
    assert_eq!(r.error, Some((None, Some("Unknown".into()))));
    let amy = Some((
        Some("2fe16a4b-16a4-2fe1-4b6a-e12f4b6ae12f".to_string()),
        Some("Amy Jones".to_string()),
    ));
    assert_eq!(r.created_by_user, amy);
    assert_eq!(r.last_by_user, amy);
    assert_eq!(r.created_by_app, None);
    assert_eq!(r.source, p.display().to_string());
}

#[test]
fn device_from_next_link_and_count_only_pages() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "p.json",
        br#"{"@odata.count":2,"value":[{"id":"a"},{"id":"b","deviceId":"own"}],
            "@odata.nextLink":"https://graph.microsoft.com/beta/teamwork/devices/dev-9/operations?$skiptoken=1"}"#,
    );
    let (rows, m) = mem(&[p]);
    assert_eq!(m.report.counts, counts(1, 2, 2, 0, 0, 0));
    assert_eq!(rows["a"].device.as_deref(), Some("dev-9"));
    assert_eq!(
        rows["b"].device.as_deref(),
        Some("own"),
        "a deviceId property comes first"
    );
}

#[test]
fn single_entity_and_bare_object() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.json",
        br#"{"value": {"id": "e1", "status": "queued", "teamworkDeviceId": "t-dev"}}"#,
    );
    let b = write(
        d.path(),
        "b.json",
        format!(
            r#"{{"@odata.context": "{CTX}/$entity",
            "id": "e2", "status": "InProgress", "createdDateTime": "2026-11-01T08:00:00.1234567+01:00"}}"#
        )
        .as_bytes(),
    );
    let (rows, m) = mem(&[a, b]);
    assert_eq!(m.report.counts, counts(2, 2, 2, 0, 0, 0));
    assert_eq!(rows["e1"].device.as_deref(), Some("t-dev"));
    assert_eq!(rows["e1"].status.as_deref(), Some("queued"));
    assert_eq!(rows["e2"].device.as_deref(), Some(DEV));
    assert_eq!(rows["e2"].status.as_deref(), Some("inProgress"));
    assert_eq!(rows["e2"].status_raw.as_deref(), Some("InProgress"));
    assert_eq!(rows["e2"].created, us("2026-11-01T07:00:00.123456Z"));
}

#[test]
fn json_array_with_bad_elements() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "devices/dev-7.json",
        br#"[
  {"id": "x1", "status": "succeeded", "lastActionDateTime": "2026-11-01T00:00:00Z"},
  "not an op",
  {"id": "", "status": "failed"},
  {"id": "x2", "status": "Canceled", "createdDateTime": "2026-02-30T10:00:00Z"},
  {"id": "x3", "status": "CANCELED", "createdDateTime": "0001-01-01T00:00:00Z", "startedDateTime": ""}
]"#,
    );
    let (rows, m) = mem(std::slice::from_ref(&p));
    assert_eq!(m.report.counts, counts(1, 5, 2, 0, 3, 0));
    assert_eq!(
        rows["x1"].device.as_deref(),
        Some("dev-7"),
        "devices/<id>.json"
    );
    assert_eq!(rows["x1"].status.as_deref(), Some("successful"));
    assert_eq!(rows["x1"].status_raw.as_deref(), Some("succeeded"));
    assert_eq!(rows["x3"].status.as_deref(), Some("cancelled"));
    assert_eq!(rows["x3"].created, None);
    assert_eq!(rows["x3"].started, None);
    let rejects: Vec<(Option<u64>, &str)> = m
        .rejects
        .iter()
        .map(|r| (r.reject.location.index, r.reject.reason.as_str()))
        .collect();
    assert_eq!(
        rejects,
        vec![
            (Some(1), "not an object: found a string"),
            (Some(2), "id is empty"),
            (
                Some(3),
                "createdDateTime: not a timestamp: \"2026-02-30T10:00:00Z\""
            ),
        ]
    );
    assert_eq!(m.rejects[0].file, p.display().to_string());
    assert_eq!(m.rejects[0].reject.record, "\"not an op\"");
}

#[test]
fn ndjson_lf_crlf_blank_lines_and_bad_lines() {
    let d = tempfile::tempdir().unwrap();
    let lf = write(
        d.path(),
        "device_id=dd1/ops.ndjson",
        b"{\"id\":\"n1\",\"status\":\"failed\",\"error\":{\"code\":\"Timeout\",\"message\":\"no answer\"}}\n\n   \n{\"id\":\"n2\",\"status\":\"weird\"}\n{\"id\": \"n3\", broken\n[1]\n",
    );
    let crlf = write(
        d.path(),
        "b.jsonl",
        b"{\"id\":\"c1\",\"lastActionDateTime\":\"2026-11-01T10:00:00-05:00\"}\r\n\r\n{\"id\":null}\r\n{\"id\":\"c2\"}",
    );
    let (rows, m) = mem(&[lf.clone(), crlf.clone()]);
    assert_eq!(m.report.counts, counts(2, 7, 4, 0, 3, 0));
    assert_eq!(
        rows["n1"].device.as_deref(),
        Some("dd1"),
        "device_id=<id> folder"
    );
    assert_eq!(
        rows["n1"].error,
        Some((Some("Timeout".into()), Some("no answer".into())))
    );
    assert_eq!(
        rows["n2"].status.as_deref(),
        Some("weird"),
        "unknown kept verbatim"
    );
    assert_eq!(rows["n2"].status_raw.as_deref(), Some("weird"));
    assert_eq!(rows["c1"].last, us("2026-11-01T15:00:00Z"));
    assert_eq!(rows["c2"].device, None);
    let rejects: Vec<(String, Option<u64>, String)> = m
        .rejects
        .iter()
        .map(|r| {
            (
                r.file.clone(),
                r.reject.location.line,
                r.reject.reason.clone(),
            )
        })
        .collect();
    assert_eq!(rejects[0].0, lf.display().to_string());
    assert_eq!(rejects[0].1, Some(5));
    assert!(
        rejects[0].2.starts_with("malformed JSON: "),
        "{}",
        rejects[0].2
    );
    assert_eq!(rejects[1].1, Some(6));
    assert_eq!(rejects[1].2, "not an object: found an array");
    assert_eq!(
        (rejects[2].0.as_str(), rejects[2].1, rejects[2].2.as_str()),
        (crlf.display().to_string().as_str(), Some(3), "id is null")
    );
    assert_eq!(m.rejects[0].reject.record, "{\"id\": \"n3\", broken");
}

#[test]
fn ndjson_whose_first_line_is_broken() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "x.ndjson",
        b"{\"id\": \"a\",\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n",
    );
    let (rows, m) = mem(&[p]);
    assert_eq!(m.report.counts, counts(1, 3, 2, 0, 1, 0));
    assert!(rows.contains_key("b") && rows.contains_key("c"));
    assert_eq!(m.rejects[0].reject.location.line, Some(1));
}

#[test]
fn batch_responses() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "batch.json",
        br#"{"responses": [
  {"id": "dev-a-operations", "status": 200, "body": {"value": [{"id": "b1"}, {"id": "b2"}]}},
  {"id": "2", "status": 200, "body": {"@odata.context": "https://graph.microsoft.com/beta/$metadata#teamwork/devices('dev-b')/operations", "value": [{"id": "b3"}]}},
  {"id": "3", "status": 404, "body": {"error": {"code": "NotFound", "message": "gone"}}},
  {"id": "4", "status": 200, "body": {"value": [{"id": "b4"}, 7]}}
],
"requests": [{"id": "4", "method": "GET", "url": "/teamwork/devices/dev-c/operations"}]}"#,
    );
    let (rows, m) = mem(&[p]);
    assert_eq!(m.report.counts, counts(1, 5, 4, 0, 1, 0));
    assert_eq!(rows["b1"].device.as_deref(), Some("dev-a"));
    assert_eq!(rows["b2"].device.as_deref(), Some("dev-a"));
    assert_eq!(rows["b3"].device.as_deref(), Some("dev-b"));
    assert_eq!(rows["b4"].device.as_deref(), Some("dev-c"), "request URL");
    assert_eq!(
        m.rejects[0].reject.location,
        ingest::Location {
            line: None,
            response: Some(3),
            index: Some(1)
        }
    );
    assert_eq!(m.report.notes.len(), 1);
    assert!(m.report.notes[0].ends_with("response 2: HTTP status 404, skipped"));
}

#[test]
fn powershell_pascal_case_utf16_and_ms_dates() {
    let d = tempfile::tempdir().unwrap();
    let body = r#"[
    {
        "Id":  "p1",
        "OperationType":  "softwareUpdate",
        "Status":  "Failed",
        "CreatedDateTime":  "\/Date(1624104063450)\/",
        "StartedDateTime":  "2021-06-19T12:05:00Z",
        "CompletedDateTime":  "2021-06-19T12:35:00.5Z",
        "LastActionDateTime":  "2021-06-19T12:35:00.5Z",
        "Error":  { "Code":  "UpdateDownloadFailed", "Message":  "Download failed" },
        "CreatedBy":  { "User":  { "Id":  "u9", "DisplayName":  "Bo" }, "Application":  null, "Device":  null },
        "LastActionBy":  "Microsoft.Graph.Beta.PowerShell.Models.MicrosoftGraphIdentitySet",
        "AdditionalProperties":  { "deviceId":  "nope" }
    }
]"#;
    // Windows PowerShell's Out-File writes UTF-16 LE with a BOM.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in body.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let p = write(d.path(), "ps.json", &utf16);
    let (rows, m) = mem(&[p]);
    assert_eq!(m.report.counts, counts(1, 1, 1, 0, 0, 1));
    let r = &rows["p1"];
    assert_eq!(r.status.as_deref(), Some("failed"));
    assert_eq!(r.status_raw.as_deref(), Some("Failed"));
    assert_eq!(r.created, Some(1_624_104_063_450_000));
    assert_eq!(r.completed, us("2021-06-19T12:35:00.5Z"));
    assert_eq!(
        r.error,
        Some((
            Some("UpdateDownloadFailed".into()),
            Some("Download failed".into())
        ))
    );
    assert_eq!(
        r.created_by_user,
        Some((Some("u9".into()), Some("Bo".into())))
    );
    assert_eq!(
        r.last_by_user, None,
        "a truncated identity set reads as NULL"
    );
    assert_eq!(r.device, None, "nested unknown properties are ignored");
}

#[test]
fn gzip_bom_and_folders() {
    let d = tempfile::tempdir().unwrap();
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(br#"{"id":"g1","status":"successful"}"#);
    bom.extend_from_slice(b"\n{\"id\":\"g2\"}\n");
    write(d.path(), "in/a/x.ndjson.gz", gzip(&bom));
    write(
        d.path(),
        "in/b/y.json.gz",
        gzip("\u{feff}[{\"id\":\"g3\"}]".as_bytes()),
    );
    write(d.path(), "in/b/empty.json", b"");
    write(d.path(), "in/notes.txt", b"not an export");
    write(d.path(), "in/_rejects/old.ndjson", b"{\"id\":\"hidden\"}");
    let (rows, m) = mem(&[d.path().join("in")]);
    assert_eq!(m.report.counts, counts(3, 3, 3, 0, 0, 0));
    assert_eq!(rows.keys().collect::<Vec<_>>(), vec!["g1", "g2", "g3"]);
}

#[test]
fn dedup_latest_wins_ties_read_last_device_kept() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.ndjson",
        br#"{"id":"o1","deviceId":"d1","status":"inProgress","lastActionDateTime":"2026-11-01T10:00:00Z"}
{"id":"o2","status":"queued","lastActionDateTime":"2026-11-01T10:00:00Z"}
{"id":"o3","deviceId":"d3","status":"queued"}
"#,
    );
    let b = write(
        d.path(),
        "b.ndjson",
        br#"{"id":"o1","status":"successful","lastActionDateTime":"2026-11-01T11:00:00Z"}
{"id":"o2","status":"failed","lastActionDateTime":"2026-11-01T10:00:00Z"}
{"id":"o1","deviceId":"d1-old","status":"queued","lastActionDateTime":"2026-11-01T09:00:00Z"}
{"id":"o3","status":"scheduled"}
"#,
    );
    let (rows, m) = mem(&[a.clone(), b.clone()]);
    assert_eq!(m.report.counts, counts(2, 7, 3, 4, 0, 0));
    assert_eq!(
        rows["o1"].status.as_deref(),
        Some("successful"),
        "latest wins"
    );
    assert_eq!(
        rows["o1"].device.as_deref(),
        Some("d1"),
        "NULL never replaces a known device; the latest known one is used"
    );
    assert_eq!(
        rows["o2"].status.as_deref(),
        Some("failed"),
        "tie: read last wins"
    );
    assert_eq!(
        rows["o3"].status.as_deref(),
        Some("scheduled"),
        "both NULL: read last wins"
    );
    assert_eq!(rows["o3"].device.as_deref(), Some("d3"));
    // The same through the on-disk dataset, in one run and in two.
    let one = d.path().join("one");
    let r = ingest::ingest_dataset(&[a.clone(), b.clone()], &one, &Options::default()).unwrap();
    assert_eq!(r.counts, m.report.counts);
    let two = d.path().join("two");
    let ra = ingest::ingest_dataset(std::slice::from_ref(&a), &two, &Options::default()).unwrap();
    assert_eq!(ra.counts, counts(1, 3, 3, 0, 0, 0));
    let rb = ingest::ingest_dataset(std::slice::from_ref(&b), &two, &Options::default()).unwrap();
    assert_eq!(rb.counts, counts(1, 4, 3, 1, 0, 0));
    let strip = |m: BTreeMap<String, Row>| -> BTreeMap<String, Row> {
        m.into_iter()
            .map(|(k, mut r)| {
                r.source = String::new();
                (k, r)
            })
            .collect()
    };
    assert_eq!(strip(read_dataset(&one)), strip(read_dataset(&two)));
    assert_eq!(strip(read_dataset(&one)), strip(rows));
}

#[test]
fn ingesting_twice_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "p.json", GRAPH_PAGE.as_bytes());
    let q = write(
        d.path(),
        "q.ndjson",
        b"{\"id\":\"q1\",\"status\":\"failed\"}\n{\"id\":\"q1\",\"status\":\"failed\"}\n{\"nope\":1}\n",
    );
    let out = d.path().join("ds");
    let first = ingest::ingest_dataset(&[p.clone(), q.clone()], &out, &Options::default()).unwrap();
    assert_eq!(first.counts, counts(2, 4, 2, 1, 1, 1));
    let before = read_dataset(&out);
    let ingested_at_before = ingested_at(&out);
    let parts_before = dataset::Dataset::new(&out).files().unwrap();
    let second: IngestReport = ingest::ingest_dataset(&[p, q], &out, &Options::default()).unwrap();
    assert_eq!(second.counts, counts(2, 4, 0, 3, 1, 1));
    assert_eq!(read_dataset(&out), before, "lineage included");
    assert_eq!(ingested_at(&out), ingested_at_before, "no row rewritten");
    assert_eq!(
        dataset::Dataset::new(&out).files().unwrap(),
        parts_before,
        "no file rewritten"
    );
    let manifest = dataset::Dataset::new(&out).manifest().unwrap();
    assert_eq!(manifest.runs.len(), 2);
    // Each run's rejects stay, with file, line and reason.
    let rejects = fleetops::session::read_rejects(&out).unwrap();
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0].reject.location.line, Some(3));
    assert_eq!(rejects[0].reject.reason, "missing id");
}

/// Tied records (same id and time, different content) fold "read last wins";
/// re-reading them over the stored winner passes through the other one first,
/// and must still end on the stored row, not a copy of it.
#[test]
fn ingesting_tied_records_twice_keeps_the_stored_winner() {
    let d = tempfile::tempdir().unwrap();
    let a = write(
        d.path(),
        "a.ndjson",
        b"{\"id\":\"t\",\"status\":\"successful\",\"lastActionDateTime\":\"2026-11-26T15:17:41Z\"}\n",
    );
    let b = write(
        d.path(),
        "b.ndjson",
        b"{\"id\":\"t\",\"status\":\"succeeded\",\"lastActionDateTime\":\"2026-11-26T16:17:41+01:00\",\"deviceId\":\"dev\"}\n",
    );
    let out = d.path().join("ds");
    let first = ingest::ingest_dataset(&[a.clone(), b.clone()], &out, &Options::default()).unwrap();
    assert_eq!(first.counts, counts(2, 2, 1, 1, 0, 0));
    let before = read_dataset(&out);
    let written = ingested_at(&out);
    assert_eq!(
        before["t"].status_raw.as_deref(),
        Some("succeeded"),
        "read last wins"
    );
    let parts_before = dataset::Dataset::new(&out).files().unwrap();
    let second =
        ingest::ingest_dataset(&[a.clone(), b.clone()], &out, &Options::default()).unwrap();
    assert_eq!(second.counts, counts(2, 2, 0, 2, 0, 0));
    assert_eq!(read_dataset(&out), before);
    assert_eq!(ingested_at(&out), written, "no row rewritten");
    assert_eq!(dataset::Dataset::new(&out).files().unwrap(), parts_before);
    // Only `a` again: the tie is read last now, so it replaces the row.
    let third = ingest::ingest_dataset(&[a], &out, &Options::default()).unwrap();
    assert_eq!(third.counts, counts(1, 1, 1, 0, 0, 0));
    let after = read_dataset(&out);
    assert_eq!(after["t"].status_raw.as_deref(), Some("successful"));
    assert_eq!(
        after["t"].device.as_deref(),
        Some("dev"),
        "known device kept"
    );
}

/// The shipped exports hold such ties (one operation exported twice with
/// Graph's two spellings of a successful status).
#[test]
fn ingesting_sample_data_twice_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("ds");
    let input = [sample_data()];
    let first = ingest::ingest_dataset(&input, &out, &Options::default()).unwrap();
    assert_eq!(first.counts, counts(18, 537, 435, 96, 6, 3));
    let before = read_dataset(&out);
    let written = ingested_at(&out);
    let parts_before = dataset::Dataset::new(&out).files().unwrap();
    let second = ingest::ingest_dataset(&input, &out, &Options::default()).unwrap();
    assert_eq!(second.counts, counts(18, 537, 0, 531, 6, 3));
    assert_eq!(read_dataset(&out), before);
    assert_eq!(ingested_at(&out), written, "no row rewritten");
    assert_eq!(dataset::Dataset::new(&out).files().unwrap(), parts_before);
}

#[test]
fn bad_files_name_the_file_and_keep_going_ingests_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let good = write(d.path(), "good.json", br#"[{"id":"ok"}]"#);
    let cut = write(d.path(), "cut.json", br#"{"value": [{"id": "a"}, {"id": "#);
    let junk = write(d.path(), "junk.json", b"\x00\x01binary\xff\xfe garbage");
    let out = d.path().join("ds");
    let err = ingest::ingest_dataset(&[good.clone(), cut.clone()], &out, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&cut.display().to_string()), "{err}");
    assert!(err.contains("cut off"), "{err}");
    assert!(!out.exists(), "a failed ingest leaves nothing");
    let opts = Options {
        keep_going: true,
        ..Options::default()
    };
    let r = ingest::ingest_dataset(&[cut.clone(), good, junk.clone()], &out, &opts).unwrap();
    assert_eq!(r.counts, counts(1, 1, 1, 0, 0, 0));
    let failed: Vec<&str> = r.failures.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(
        failed,
        vec![cut.display().to_string(), junk.display().to_string()]
    );
    assert!(
        r.failures[1].message.contains("not valid JSON"),
        "{:?}",
        r.failures[1]
    );
    assert_eq!(read_dataset(&out).len(), 1);
}

#[test]
fn hostile_input_never_panics() {
    let d = tempfile::tempdir().unwrap();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_line = format!(
        "{{\"id\":\"deep\",\"x\":{}{}}}\n{{\"id\":\"fine\"}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let huge = format!(
        "{{\"id\":\"{}\",\"status\":\"failed\"}}",
        "x".repeat(20 << 20)
    );
    let files = [
        write(d.path(), "deep.json", deep.as_bytes()),
        write(d.path(), "deep.ndjson", deep_line.as_bytes()),
        write(d.path(), "huge.json", huge.as_bytes()),
        write(
            d.path(),
            "bin.json",
            (0..=255u8).cycle().take(100_000).collect::<Vec<_>>(),
        ),
        write(
            d.path(),
            "trunc.json.gz",
            &gzip(GRAPH_PAGE.as_bytes())[..60],
        ),
        write(d.path(), "utf16odd.json", b"\xFF\xFE{\x00"),
    ];
    let opts = Options {
        keep_going: true,
        ..Options::default()
    };
    let m = ingest::ingest_memory(&files, &opts).unwrap();
    let c = &m.report.counts;
    assert_eq!(c.records, c.rows + c.duplicates + c.rejected);
    let rows = rows_of(&m.batches);
    // Nesting is skipped iteratively: a deep unknown property is ignored,
    // a deep array is one record that is not an object.
    assert!(rows.contains_key("deep") && rows.contains_key("fine"));
    assert_eq!(rows.len(), 2, "deep and fine");
    assert_eq!(m.rejects.len(), 2);
    assert_eq!(m.rejects[0].file, files[0].display().to_string());
    assert_eq!(m.rejects[0].reject.reason, "not an object: found an array");
    // The 20 MiB record is over the default 16 MiB record limit.
    assert_eq!(m.rejects[1].file, files[2].display().to_string());
    assert_eq!(
        m.rejects[1].reject.reason,
        format!(
            "record is {} bytes, over the limit of {} (--max-record-bytes)",
            huge.len(),
            16 << 20
        )
    );
    let failed: Vec<String> = m.report.failures.iter().map(|f| f.file.clone()).collect();
    assert_eq!(
        failed,
        vec![
            files[3].display().to_string(),
            files[4].display().to_string(),
            files[5].display().to_string()
        ]
    );
    assert!(m.report.failures[0].message.contains("not valid JSON"));
    assert!(m.report.failures[1].message.contains("cut off"));
    assert!(m.report.failures[2].message.contains("cut off"));
}

#[test]
fn redacted_ingest_writes_no_names_or_ids() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "page.json", GRAPH_PAGE.as_bytes());
    let bad = write(
        d.path(),
        "bad.ndjson",
        br#"{"createdBy":{"user":{"id":"2fe16a4b-16a4-2fe1-4b6a-e12f4b6ae12f","displayName":"Amy Jones"}}}"#,
    );
    let key = b"a secret key of 32 bytes........";
    let opts = Options {
        redactor: Some(std::sync::Arc::new(
            fleetops::redact::Redactor::from_key(key).unwrap(),
        )),
        ..Options::default()
    };
    let out = d.path().join("ds");
    let r = ingest::ingest_dataset(&[p.clone(), bad.clone()], &out, &opts).unwrap();
    assert_eq!(r.counts, counts(2, 2, 1, 0, 1, 1));
    let rows = read_dataset(&out);
    let row = &rows["5d1f0a5c-0a5c-5d1f-5c0a-1f5d5c0a1f5d"];
    let (id, name) = row.created_by_user.clone().unwrap();
    assert!(id.unwrap().starts_with("user-"));
    assert!(name.unwrap().starts_with("User "));
    assert_eq!(
        row.device.as_deref(),
        Some(DEV),
        "device ids are not people"
    );
    // Nothing written anywhere holds the name or the user id.
    for e in files_under(&out) {
        let bytes = std::fs::read(&e).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("Amy Jones"), "{}", e.display());
        assert!(!text.contains("2fe16a4b-16a4"), "{}", e.display());
    }
    // The same key gives the same pseudonyms in another run.
    let again = d.path().join("again");
    ingest::ingest_dataset(&[p, bad], &again, &opts).unwrap();
    assert_eq!(
        read_dataset(&again)["5d1f0a5c-0a5c-5d1f-5c0a-1f5d5c0a1f5d"].created_by_user,
        row.created_by_user
    );
}

/// A list page whose elements are all valid operations is decoded in one
/// pass; one bad element sends it down the record-by-record path. Both must
/// give the same rows.
#[test]
fn one_pass_pages_equal_record_by_record() {
    use fleetops::internals::ingest::decode::{FileContext, WorkKind, decode_work};
    let root = sample_data();
    let files = [
        "device_id=8e2f0a91-6b7c-4d3e-a1f2-93b4c5d6e7f8/operations-page-1.json",
        "device_id=8e2f0a91-6b7c-4d3e-a1f2-93b4c5d6e7f8/operations-page-2.json",
        "pages/board-room/page-01.json",
        "pages/new-display/page-01.json",
        "array/panel-and-focus-room-2026-11-26.json",
    ];
    let mut fast_pages = 0;
    for f in files {
        let text = std::fs::read(root.join(f)).unwrap();
        let ctx = FileContext {
            name: f.into(),
            path_device: Some("from-the-path".into()),
            max_record_bytes: 1 << 20,
        };
        let mut doc: serde_json::Value = serde_json::from_slice(&text).unwrap();
        let list = match &mut doc {
            serde_json::Value::Array(a) => a,
            v => v["value"].as_array_mut().unwrap(),
        };
        let n = list.len();
        list.push(serde_json::json!(42));
        let spoiled = serde_json::to_vec(&doc).unwrap();
        let one = decode_work(&WorkKind::Document { data: text }, &ctx, 7).unwrap();
        let slow = decode_work(&WorkKind::Document { data: spoiled }, &ctx, 7).unwrap();
        assert_eq!(slow.rejects.len(), one.rejects.len() + 1, "{f}");
        assert_eq!(
            slow.rejects.last().unwrap().reason,
            "not an object: found a number"
        );
        assert_eq!(slow.rejects.last().unwrap().location.index, Some(n as u64));
        assert_eq!(slow.records, one.records + 1);
        assert_eq!(slow.repaired, one.repaired);
        let rows = |b: Option<RecordBatch>| b.map(|b| rows_of(&[b]));
        assert_eq!(rows(slow.batch), rows(one.batch), "{f}");
        fast_pages += usize::from(one.rejects.is_empty());
    }
    assert!(fast_pages >= 3, "most of these pages have no bad record");
}

/// A file that fails after some of its records were merged (a gzip stream
/// cut off after many NDJSON blocks) contributes nothing with --keep-going:
/// no row, no reject, no count, even when rows were already written.
#[test]
fn a_file_failing_part_way_contributes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let good = write(
        d.path(),
        "a-good.ndjson",
        b"{\"id\":\"g1\"}\n{\"id\":\"shared\",\"status\":\"queued\"}\n",
    );
    let mut text = String::new();
    for i in 0..3000 {
        text += &format!("{{\"id\":\"t{i}\",\"status\":\"failed\"}}\nnot json {i}\n");
    }
    text += "{\"id\":\"shared\",\"status\":\"failed\",\"lastActionDateTime\":\"2026-11-01T00:00:00Z\"}\n";
    let gz = gzip(text.as_bytes());
    let cut = write(d.path(), "b-cut.ndjson.gz", &gz[..gz.len() - 12]);
    let late = write(d.path(), "c-late.ndjson", b"{\"id\":\"l1\"}\n");
    let inputs = [good, cut.clone(), late];
    let opts = Options {
        keep_going: true,
        // Small blocks, every batch spilled at once: the cut file's first
        // blocks are decoded and spilled before its end turns out to be
        // missing.
        memory_budget: 1,
        limits: ingest::Limits {
            block_bytes: 4096,
            ..Default::default()
        },
        ..Options::default()
    };
    let check = |r: &IngestReport| {
        assert_eq!(r.counts, counts(2, 3, 3, 0, 0, 0));
        let failed: Vec<&str> = r.failures.iter().map(|f| f.file.as_str()).collect();
        assert_eq!(failed, vec![cut.display().to_string()]);
    };
    let m = ingest::ingest_memory(&inputs, &opts).unwrap();
    check(&m.report);
    assert!(m.rejects.is_empty(), "{:?}", m.rejects.first());
    let rows = rows_of(&m.batches);
    assert_eq!(
        rows.keys().map(String::as_str).collect::<Vec<_>>(),
        ["g1", "l1", "shared"]
    );
    assert_eq!(rows["shared"].status.as_deref(), Some("queued"));

    let out = d.path().join("ds");
    let r = ingest::ingest_dataset(&inputs, &out, &opts).unwrap();
    check(&r);
    assert_eq!(r.rejects_file, None);
    assert_eq!(read_dataset(&out), rows);
    assert!(
        out.join(dataset::REJECTS_DIR)
            .read_dir()
            .unwrap()
            .next()
            .is_none()
    );
}

/// Workers read a folder's files themselves: small ones into one buffer, the
/// blocks of a large one shared between them. Whatever reads a file, its
/// records, rejects (with their lines) and counts are those of the file.
#[test]
fn a_folder_of_mixed_files_is_read_by_the_workers_exactly() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("in");
    // A large NDJSON file: many blocks of 4 KiB, a bad line every 97th.
    let mut big = String::new();
    let mut bad_lines = Vec::new();
    for n in 1..=3000u64 {
        if n % 97 == 0 {
            big += "{\"id\": broken\n";
            bad_lines.push(n);
        } else {
            big += &format!("{{\"id\":\"big-{n}\",\"status\":\"queued\"}}\n");
        }
    }
    write(&dir, "b-big.ndjson", big.as_bytes());
    // Small pages, a small gzip file that expands past a block, an empty
    // file, one with a byte order mark, and one that is not JSON.
    for p in 0..40 {
        let ops: Vec<String> = (0..5)
            .map(|i| format!("{{\"id\":\"page-{p}-{i}\",\"status\":\"successful\"}}"))
            .collect();
        let page = format!(
            "{{\"@odata.context\":\"{CTX}\",\"value\":[{}]}}",
            ops.join(",")
        );
        write(&dir, &format!("a-page-{p:02}.json"), page.as_bytes());
    }
    let mut packed = String::new();
    for n in 1..=400 {
        packed += &format!("{{\"id\":\"gz-{n}\",\"status\":\"failed\"}}\n");
    }
    write(&dir, "c-packed.ndjson.gz", gzip(packed.as_bytes()));
    write(&dir, "d-empty.json", b"");
    write(&dir, "e-bom.json", b"\xEF\xBB\xBF[{\"id\":\"bom-1\"}]");
    write(&dir, "f-bad.json", b"{\"value\": [");
    let opts = Options {
        keep_going: true,
        threads: 2,
        limits: ingest::Limits {
            block_bytes: 4096,
            ..ingest::Limits::default()
        },
        ..Options::default()
    };
    let m = ingest::ingest_memory(std::slice::from_ref(&dir), &opts).unwrap();
    let good_big = 3000 - bad_lines.len() as u64;
    let rows = good_big + 200 + 400 + 1;
    assert_eq!(
        m.report.counts,
        counts(
            44,
            rows + bad_lines.len() as u64,
            rows,
            0,
            bad_lines.len() as u64,
            0
        )
    );
    let failed: Vec<String> = m.report.failures.iter().map(|f| f.file.clone()).collect();
    assert_eq!(failed, vec![dir.join("f-bad.json").display().to_string()]);
    let lines: Vec<(String, Option<u64>)> = m
        .rejects
        .iter()
        .map(|r| (r.file.clone(), r.reject.location.line))
        .collect();
    let big_name = dir.join("b-big.ndjson").display().to_string();
    let expected: Vec<(String, Option<u64>)> = bad_lines
        .iter()
        .map(|&n| (big_name.clone(), Some(n)))
        .collect();
    assert_eq!(lines, expected, "rejects in read order, with their lines");
    let got = rows_of(&m.batches);
    assert_eq!(got.len() as u64, rows);
    assert_eq!(got["page-7-3"].device.as_deref(), Some(DEV));
    assert_eq!(got["gz-400"].status.as_deref(), Some("failed"));
    assert_eq!(got["big-2999"].source, big_name);
    assert!(got.contains_key("bom-1"));
}

/// A worker's bundle of many small files with a large one among them: the
/// small files before it are handed on before the large one is cut, and
/// everything lands once, in read order.
#[test]
fn a_large_file_inside_a_bundle_of_small_ones() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("in");
    for i in 0..200 {
        let op = format!("{{\"id\":\"small-{i:03}\",\"status\":\"queued\"}}\n");
        write(&dir, &format!("a-{i:03}.ndjson"), op.as_bytes());
    }
    // Read after "a-099" and before "a-100"; the later small copy of
    // "small-150" (same time, other content) wins as the one read last.
    let mut big = String::new();
    for n in 0..600 {
        big += &format!("{{\"id\":\"big-{n}\",\"status\":\"failed\"}}\n");
    }
    big += "{\"id\":\"small-150\",\"status\":\"failed\"}\n";
    write(&dir, "a-099-big.ndjson", big.as_bytes());
    let opts = Options {
        threads: 2,
        memory_budget: 1,
        limits: ingest::Limits {
            block_bytes: 4096,
            ..ingest::Limits::default()
        },
        ..Options::default()
    };
    let out = d.path().join("ds");
    let r = ingest::ingest_dataset(std::slice::from_ref(&dir), &out, &opts).unwrap();
    assert_eq!(r.counts, counts(201, 801, 800, 1, 0, 0));
    let rows = read_dataset(&out);
    assert_eq!(rows.len(), 800);
    assert_eq!(rows["small-150"].status.as_deref(), Some("queued"));
    assert_eq!(rows["big-599"].status.as_deref(), Some("failed"));
}
