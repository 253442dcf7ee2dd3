//! The dataset layout (README "Dataset layout"): day partitions, the id
//! index, the upgrade of a version 1 dataset, compaction, and memory
//! bounded by the budget whatever the input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use fleetops::ingest::{self, Options};
use fleetops::internals::ingest::Dataset;
use fleetops::schema::idx;

use fleetops::internals::ingest::dataset::writer_properties;

use crate::support::{assert_ok, dataset_batches, fleetops_command, read_parquet, text_at};

/// A row's status, last action and creation time.
type Row = (Option<String>, Option<i64>, Option<i64>);

/// id → row; panics on a duplicate id.
fn table(dir: &Path) -> BTreeMap<String, Row> {
    let mut out = BTreeMap::new();
    for b in dataset_batches(dir) {
        let last = b
            .column(idx::LAST_ACTION)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        let created = b
            .column(idx::CREATED)
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            let id = text_at(b.column(idx::ID).as_ref(), i).unwrap();
            let row = (
                text_at(b.column(idx::STATUS).as_ref(), i),
                (!last.is_null(i)).then(|| last.value(i)),
                (!created.is_null(i)).then(|| created.value(i)),
            );
            assert!(out.insert(id.clone(), row).is_none(), "duplicate id {id}");
        }
    }
    out
}

fn op(id: &str, created: Option<&str>, last: &str, status: &str) -> String {
    let created = created.map_or(String::new(), |c| format!(r#","createdDateTime":"{c}""#));
    format!(r#"{{"id":"{id}","status":"{status}","lastActionDateTime":"{last}"{created}}}"#) + "\n"
}

fn partitions(dir: &Path) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = std::fs::read_dir(dir.join("operations"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let n = std::fs::read_dir(e.path()).map_or(0, |r| r.count());
            (e.file_name().to_string_lossy().into_owned(), n)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn rows_go_to_the_folder_of_their_creation_day() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("a.ndjson");
    std::fs::write(
        &input,
        [
            op(
                "a",
                Some("2026-11-01T23:59:59Z"),
                "2026-11-02T01:00:00Z",
                "successful",
            ),
            op(
                "b",
                Some("2026-11-02T00:00:00Z"),
                "2026-11-02T01:00:00Z",
                "failed",
            ),
            op("c", None, "2026-11-02T01:00:00Z", "queued"),
        ]
        .concat(),
    )
    .unwrap();
    let out = d.path().join("ds");
    let r = ingest::ingest_dataset(&[input], &out, &Options::default()).unwrap();
    assert_eq!(r.counts.rows, 3);
    assert_eq!(
        partitions(&out),
        vec![
            ("created_date=2026-11-01".to_string(), 1),
            ("created_date=2026-11-02".to_string(), 1),
            ("created_date=unknown".to_string(), 1),
        ]
    );
    assert_eq!(Dataset::new(&out).manifest().unwrap().version, 2);
    assert!(out.join("_index").read_dir().unwrap().count() == 1);
}

/// An export that gives a stored operation another creation day (or none)
/// does not make a second row: the row stays in the folder it was first
/// stored in, and the same id split over days in one run goes to the latest.
#[test]
fn an_id_stays_in_one_partition_when_its_creation_day_changes() {
    let d = tempfile::tempdir().unwrap();
    let first = d.path().join("1.ndjson");
    let second = d.path().join("2.ndjson");
    std::fs::write(
        &first,
        op(
            "x",
            Some("2026-11-01T10:00:00Z"),
            "2026-11-01T11:00:00Z",
            "inProgress",
        ),
    )
    .unwrap();
    std::fs::write(
        &second,
        [
            op(
                "x",
                Some("2026-11-05T10:00:00Z"),
                "2026-11-05T11:00:00Z",
                "successful",
            ),
            op("y", None, "2026-11-05T11:00:00Z", "queued"),
            op(
                "y",
                Some("2026-11-04T10:00:00Z"),
                "2026-11-06T11:00:00Z",
                "failed",
            ),
            op(
                "z",
                Some("2026-11-03T10:00:00Z"),
                "2026-11-06T11:00:00Z",
                "failed",
            ),
            op("z", None, "2026-11-07T11:00:00Z", "successful"),
        ]
        .concat(),
    )
    .unwrap();
    let out = d.path().join("ds");
    ingest::ingest_dataset(&[first], &out, &Options::default()).unwrap();
    let r =
        ingest::ingest_dataset(std::slice::from_ref(&second), &out, &Options::default()).unwrap();
    assert_eq!((r.counts.rows, r.counts.duplicates), (3, 2));
    let t = table(&out);
    assert_eq!(t.len(), 3);
    assert_eq!(t["x"].0.as_deref(), Some("successful"));
    assert_eq!(t["y"].0.as_deref(), Some("failed"));
    assert_eq!(t["z"].0.as_deref(), Some("successful"));
    let parts = partitions(&out);
    let names: Vec<&str> = parts.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "created_date=2026-11-01",
            "created_date=2026-11-03",
            "created_date=2026-11-04"
        ]
    );
    // The same again changes nothing.
    let again = ingest::ingest_dataset(&[second], &out, &Options::default()).unwrap();
    assert_eq!(again.counts.rows, 0);
    assert_eq!(table(&out), t);
}

fn generated(
    dir: &Path,
    ops: usize,
    format: fleetops_gen::Format,
    start: (i64, u32, u32),
) -> PathBuf {
    let opts = fleetops_gen::Options {
        ops,
        format,
        start_day: fleetops_gen::days_from_civil(start.0, start.1, start.2),
        days: 20,
        dup_rate: 0.05,
        ..fleetops_gen::Options::default()
    };
    fleetops_gen::generate(&opts, dir).unwrap();
    dir.to_path_buf()
}

/// A dataset of the first layout (every file directly in `operations/`) is
/// read as it is, and the next ingest moves its rows into day folders.
#[test]
fn a_version_1_dataset_is_read_and_upgraded_without_loss() {
    let d = tempfile::tempdir().unwrap();
    let old = generated(
        &d.path().join("old"),
        3_000,
        fleetops_gen::Format::Ndjson,
        (2026, 10, 1),
    );
    let new = generated(
        &d.path().join("new"),
        2_000,
        fleetops_gen::Format::Ndjson,
        (2026, 10, 15),
    );
    // The same two ingests into a dataset that never had the old layout.
    let both = d.path().join("both");
    ingest::ingest_dataset(std::slice::from_ref(&old), &both, &Options::default()).unwrap();
    let reference =
        ingest::ingest_dataset(std::slice::from_ref(&new), &both, &Options::default()).unwrap();
    let expected = table(&both);

    // Make the version 1 layout out of an ingest of `old`.
    let ds = d.path().join("ds");
    ingest::ingest_dataset(&[old], &ds, &Options::default()).unwrap();
    let ops = ds.join("operations");
    for (i, f) in Dataset::new(&ds).files().unwrap().into_iter().enumerate() {
        std::fs::rename(&f, ops.join(format!("part-old-{i:05}.parquet"))).unwrap();
    }
    for e in std::fs::read_dir(&ops).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            std::fs::remove_dir(&p).unwrap();
        }
    }
    std::fs::remove_dir_all(ds.join("_index")).unwrap();
    let manifest = std::fs::read_to_string(ds.join("_fleetops.json")).unwrap();
    std::fs::write(
        ds.join("_fleetops.json"),
        manifest.replace("\"version\": 2", "\"version\": 1"),
    )
    .unwrap();
    let stored = table(&ds);
    assert_eq!(stored.len(), 3_000);

    // SQL reads the old layout.
    let o = fleetops_command()
        .args([
            "sql",
            "SELECT count(*) AS n, count(DISTINCT id) AS d FROM operations",
            "--format",
            "csv",
            "--data",
        ])
        .arg(&ds)
        .output()
        .unwrap();
    assert_ok(&o);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "n,d\n3000,3000\n");

    let r = ingest::ingest_dataset(&[new], &ds, &Options::default()).unwrap();
    assert_eq!(r.counts, reference.counts);
    assert_eq!(table(&ds), expected);
    assert!(
        std::fs::read_dir(&ops)
            .unwrap()
            .all(|e| e.unwrap().path().is_dir())
    );
    assert_eq!(Dataset::new(&ds).manifest().unwrap().version, 2);
}

/// Increments that touch the same days leave several files per day;
/// `fleetops compact` folds each day into one without changing a row, and
/// a second compaction does nothing.
#[test]
fn compact_folds_each_day_into_one_file_and_is_idempotent() {
    let d = tempfile::tempdir().unwrap();
    let ds = d.path().join("ds");
    for (i, seed) in [1u64, 2, 3].into_iter().enumerate() {
        let dir = d.path().join(format!("in{i}"));
        let opts = fleetops_gen::Options {
            ops: 800,
            seed,
            start_day: fleetops_gen::days_from_civil(2026, 10, 1),
            days: 5,
            ..fleetops_gen::Options::default()
        };
        fleetops_gen::generate(&opts, &dir).unwrap();
        ingest::ingest_dataset(&[dir], &ds, &Options::default()).unwrap();
    }
    let before = table(&ds);
    assert!(
        partitions(&ds).iter().any(|p| p.1 > 1),
        "{:?}",
        partitions(&ds)
    );
    let o = fleetops_command()
        .arg("compact")
        .arg(&ds)
        .arg("--json")
        .output()
        .unwrap();
    assert_ok(&o);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["files_after"], serde_json::json!(partitions(&ds).len()));
    assert!(partitions(&ds).iter().all(|p| p.1 == 1));
    assert_eq!(table(&ds), before);
    assert_eq!(std::fs::read_dir(ds.join("_index")).unwrap().count(), 1);
    let r = ingest::compact(&ds, &Options::default()).unwrap();
    assert_eq!(
        (r.partitions, r.files_before, r.files_after),
        (0, r.files_after, r.files_after)
    );
    assert_eq!(table(&ds), before);
}

/// Whether a part file's footer has the in-flight summary reports read.
fn has_in_flight_summary(path: &Path) -> bool {
    let f = std::fs::File::open(path).unwrap();
    let r = parquet::file::reader::SerializedFileReader::new(f).unwrap();
    let kv = parquet::file::reader::FileReader::metadata(&r)
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default();
    kv.iter().any(|kv| kv.key == "fleetops.in_flight")
}

/// A dataset whose files were written before footers carried in-flight
/// summaries (made by rewriting each file without it) gets them from
/// `fleetops compact`, rows unchanged; compacting again does nothing.
#[test]
fn compact_gives_older_files_their_in_flight_summaries() {
    let d = tempfile::tempdir().unwrap();
    let ds = d.path().join("ds");
    let dir = d.path().join("in");
    let opts = fleetops_gen::Options {
        ops: 600,
        seed: 4,
        start_day: fleetops_gen::days_from_civil(2026, 10, 1),
        days: 4,
        ..fleetops_gen::Options::default()
    };
    fleetops_gen::generate(&opts, &dir).unwrap();
    ingest::ingest_dataset(&[dir], &ds, &Options::default()).unwrap();
    let files = Dataset::new(&ds).files().unwrap();
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        assert!(has_in_flight_summary(f), "{}", f.display());
        let rows = read_parquet(f);
        let mut w = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(f).unwrap(),
            fleetops::schema::operations_schema(),
            Some(writer_properties()),
        )
        .unwrap();
        for b in &rows {
            w.write(b).unwrap();
        }
        w.close().unwrap();
        assert!(!has_in_flight_summary(f));
    }
    let before = table(&ds);
    let r = ingest::compact(&ds, &Options::default()).unwrap();
    assert_eq!(r.partitions, files.len() as u64);
    assert_eq!(
        (r.files_before, r.files_after),
        (r.partitions, r.partitions)
    );
    let after = Dataset::new(&ds).files().unwrap();
    assert!(after.iter().all(|f| has_in_flight_summary(f)), "{after:?}");
    assert_eq!(table(&ds), before);
    let r = ingest::compact(&ds, &Options::default()).unwrap();
    assert_eq!(r.partitions, 0);
    assert_eq!(Dataset::new(&ds).files().unwrap(), after);
}

/// Peak resident memory of `fleetops ingest` over `inputs` (kB), as the
/// command reports it with `FLEETOPS_TRACE=1`.
fn peak_kb(inputs: &[PathBuf], out: &Path, extra: &[&str]) -> u64 {
    let o = fleetops_command()
        .arg("ingest")
        .args(inputs)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("FLEETOPS_TRACE", "1")
        .output()
        .unwrap();
    assert_ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    err.lines()
        .find_map(|l| l.strip_prefix("fleetops: peak memory: "))
        .and_then(|v| v.trim_end_matches(" kB").parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in {err}"))
}

/// With a small budget the decoded rows are spilled instead of held: peak
/// memory stays near that of ingesting one record, and far below what
/// holding the rows takes, for one big NDJSON file, many page files and a
/// big JSON array (about 100 MB each); the table is the same. One thread,
/// so the blocks in flight are few and the figures steady.
#[test]
fn memory_stays_within_a_lowered_budget() {
    let d = tempfile::tempdir().unwrap();
    let tiny = d.path().join("tiny.json");
    std::fs::write(&tiny, "{\"id\":\"x\"}\n").unwrap();
    let one = &["--threads", "1"];
    let base = peak_kb(&[tiny], &d.path().join("tiny"), one);
    for (name, format) in [
        ("ndjson", fleetops_gen::Format::Ndjson),
        ("pages", fleetops_gen::Format::Pages),
        ("array", fleetops_gen::Format::Array),
    ] {
        let input = generated(&d.path().join(name), 120_000, format, (2026, 10, 1));
        let held = d.path().join(format!("{name}-held"));
        let spilled = d.path().join(format!("{name}-spilled"));
        let full = peak_kb(
            std::slice::from_ref(&input),
            &held,
            &["--threads", "1", "--memory-budget", "1GiB"],
        );
        let small = peak_kb(
            &[input],
            &spilled,
            &["--threads", "1", "--memory-budget", "2MiB"],
        );
        assert!(
            small + 25_000 < full && small < base + 32_000,
            "{name}: {small} kB with a 2 MiB budget, {full} kB with 1 GiB, {base} kB for one record"
        );
        assert_eq!(table(&spilled), table(&held), "{name}");
    }
}

/// Past eight index runs an ingest merges the newest ones with its own ids
/// (equal runs: all of them), and ids stored long before keep their folder.
#[test]
fn the_index_is_rewritten_as_one_run_past_eight() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("ds");
    for i in 0..10u32 {
        let f = d.path().join(format!("{i}.ndjson"));
        let last = format!("2026-11-{:02}T11:00:00Z", i + 10);
        let created = format!("2026-11-{:02}T10:00:00Z", i + 10);
        std::fs::write(
            &f,
            [
                op(&format!("new{i}"), Some(&created), &last, "queued"),
                // `first` was stored on the 10th; later records say otherwise.
                op("first", Some(&created), &last, "inProgress"),
            ]
            .concat(),
        )
        .unwrap();
        ingest::ingest_dataset(&[f], &out, &Options::default()).unwrap();
        let runs = std::fs::read_dir(out.join("_index")).unwrap().count();
        assert!(runs <= 8, "{runs} index runs after ingest {i}");
    }
    let t = table(&out);
    assert_eq!(t.len(), 11);
    assert_eq!(t["first"].1, Some(1_795_086_000_000_000));
    // Its row is in the folder it was first stored in.
    let names: Vec<String> = partitions(&out).into_iter().map(|p| p.0).collect();
    assert_eq!(names.len(), 10, "{names:?}");
    let first_day = Dataset::new(&out)
        .files()
        .unwrap()
        .into_iter()
        .filter(|f| f.to_string_lossy().contains("created_date=2026-11-10"))
        .collect::<Vec<_>>();
    let mut ids = Vec::new();
    for f in first_day {
        fleetops::internals::ingest::dataset::read_part(&f, |b| {
            for i in 0..b.num_rows() {
                ids.push(text_at(b.column(idx::ID).as_ref(), i).unwrap());
            }
            Ok(())
        })
        .unwrap();
    }
    ids.sort();
    assert_eq!(ids, ["first", "new0"]);
}

/// A large first index run is left alone while the small runs of later
/// ingests are merged: a weekly ingest does not rewrite the whole index.
#[test]
fn small_index_runs_are_merged_and_the_large_first_one_kept() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("ds");
    let first = d.path().join("first.ndjson");
    let body: String = (0..500)
        .map(|n| {
            op(
                &format!("old{n}"),
                Some("2026-11-01T10:00:00Z"),
                "2026-11-01T11:00:00Z",
                "successful",
            )
        })
        .collect();
    std::fs::write(&first, body).unwrap();
    ingest::ingest_dataset(&[first], &out, &Options::default()).unwrap();
    let runs = |out: &std::path::Path| {
        let mut r: Vec<String> = std::fs::read_dir(out.join("_index"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        r.sort();
        r
    };
    let big = runs(&out);
    assert_eq!(big.len(), 1);
    for i in 0..12u32 {
        let f = d.path().join(format!("{i}.ndjson"));
        std::fs::write(
            &f,
            op(
                &format!("new{i}"),
                Some("2026-11-02T10:00:00Z"),
                "2026-11-02T11:00:00Z",
                "queued",
            ),
        )
        .unwrap();
        ingest::ingest_dataset(&[f], &out, &Options::default()).unwrap();
        let now = runs(&out);
        assert!(now.len() <= 8, "{} index runs after ingest {i}", now.len());
        assert_eq!(now[0], big[0], "the first run was rewritten by ingest {i}");
    }
    // The merges happened (13 runs would be there otherwise) and every id
    // is still found: re-ingesting an old id adds no row.
    assert!(runs(&out).len() < 8);
    let again = d.path().join("again.ndjson");
    std::fs::write(
        &again,
        op(
            "old7",
            Some("2026-11-01T10:00:00Z"),
            "2026-11-01T12:00:00Z",
            "failed",
        ),
    )
    .unwrap();
    ingest::ingest_dataset(&[again], &out, &Options::default()).unwrap();
    let t = table(&out);
    assert_eq!(t.len(), 512);
}
