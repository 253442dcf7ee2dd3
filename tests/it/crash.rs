//! A killed ingest leaves the dataset as it was: SIGKILL at many points of a
//! run, and the dataset always reads as the old state or the new one, and the
//! next ingest succeeds.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fleetops::ingest::{self, Options};
use fleetops::internals::ingest::Dataset;
use fleetops::schema::idx;

use crate::support::{dataset_batches, fleetops_command, text_at, time_at};

/// `id → (status, last action)`, one row per id.
fn table(dir: &Path) -> BTreeMap<String, (String, Option<i64>)> {
    let mut out = BTreeMap::new();
    for b in dataset_batches(dir) {
        for i in 0..b.num_rows() {
            let prev = out.insert(
                text_at(b.column(idx::ID), i).unwrap(),
                (
                    text_at(b.column(idx::STATUS), i).unwrap(),
                    time_at(b.column(idx::LAST_ACTION), i),
                ),
            );
            assert!(prev.is_none(), "duplicate id in the dataset");
        }
    }
    out
}

fn ops(from: usize, to: usize, status: &str, day: u32) -> String {
    let mut s = String::new();
    for i in from..to {
        s += &format!(
            concat!(
                r#"{{"id":"op-{:07}","deviceId":"dev-{}","operationType":"restart","status":"{}","#,
                r#""createdDateTime":"2026-11-{:02}T10:00:00.1234567Z","lastActionDateTime":"2026-11-{:02}T11:{:02}:00Z","#,
                r#""createdBy":{{"user":{{"id":"u-{}","displayName":"Admin {}"}},"application":null,"device":null}}}}"#,
                "\n"
            ),
            i,
            i % 97,
            status,
            day,
            day,
            i % 60,
            i % 13,
            i % 13
        );
    }
    s
}

#[test]
fn sigkill_at_any_point_leaves_old_or_new_state() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.ndjson");
    let b = d.path().join("b.ndjson");
    std::fs::write(&a, ops(0, 2_000, "inProgress", 1)).unwrap();
    // B replaces every row of A and adds many more.
    std::fs::write(&b, ops(0, 150_000, "successful", 2)).unwrap();

    let ds = d.path().join("ds");
    ingest::ingest_dataset(std::slice::from_ref(&a), &ds, &Options::default()).unwrap();
    let old = table(&ds);
    assert_eq!(old.len(), 2_000);
    let reference = d.path().join("reference");
    ingest::ingest_dataset(&[a, b.clone()], &reference, &Options::default()).unwrap();
    let new = table(&reference);
    assert_eq!(new.len(), 150_000);

    let (mut saw_old, mut saw_new) = (0, 0);
    for delay_ms in [
        0u64, 5, 15, 30, 60, 100, 150, 250, 400, 600, 900, 1300, 2000, 3000,
    ] {
        let mut child = fleetops_command()
            .arg("ingest")
            .arg(&b)
            .arg("--out")
            .arg(&ds)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = table(&ds);
        if now == old {
            saw_old += 1;
        } else if now == new {
            saw_new += 1;
            // Back to the old state for the next kill.
            std::fs::remove_dir_all(&ds).unwrap();
            ingest::ingest_dataset(&[d.path().join("a.ndjson")], &ds, &Options::default()).unwrap();
        } else {
            panic!(
                "after a kill at {delay_ms} ms the dataset is neither the old nor the new state"
            );
        }
        assert!(Dataset::new(&ds).manifest().is_ok());
    }
    assert!(saw_old > 0, "no kill landed before the commit");
    // The next ingest succeeds and cleans what killed runs left beside the dataset.
    let r = ingest::ingest_dataset(&[b], &ds, &Options::default()).unwrap();
    assert_eq!(r.counts.records, 150_000);
    assert_eq!(table(&ds), new);
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("fleetops-staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    eprintln!("kills that left the old state: {saw_old}, the new state: {saw_new}");
}
