//! Limits on hostile input (record size, document size, decompression) and
//! the dataset lock: concurrent ingests, a lock left by a killed ingest, and
//! readers during an ingest.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use arrow::array::AsArray;
use fleetops::ingest::{self, Limits, Options};
use fleetops::schema::idx;

use crate::support::{fleetops_command, gzip, try_dataset_batches, write};

fn ops(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"id\":\"{prefix}-{i:06}\",\"deviceId\":\"dev-{}\",\"status\":\"successful\",\"lastActionDateTime\":\"2026-11-01T10:00:00Z\"}}\n",
                i % 7
            )
        })
        .collect()
}

/// The ids in a dataset, or `None` when a part vanished under the reader
/// (the swap happened between listing and opening: an error, never a mix).
fn ids(dir: &Path) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for b in try_dataset_batches(dir).ok()? {
        let ids = b.column(idx::ID).as_string::<i32>();
        out.extend(ids.iter().flatten().map(String::from));
    }
    Some(out)
}

fn limits(f: impl FnOnce(&mut Limits)) -> Options {
    let mut l = Limits::default();
    f(&mut l);
    Options {
        limits: l,
        keep_going: true,
        ..Options::default()
    }
}

#[test]
fn record_size_at_and_over_the_limit() {
    let d = tempfile::tempdir().unwrap();
    let line = |id: &str, pad: usize| format!("{{\"id\":\"{id}\",\"x\":\"{}\"}}", "p".repeat(pad));
    let at = line("at", 100);
    let limit = at.len();
    let over = line("over", 100 - "over".len() + "at".len() + 1);
    assert_eq!(over.len(), limit + 1);
    // A line far longer than a read block is skipped while reading.
    let huge = line("huge", 5 << 20);
    let p = d.path().join("x.ndjson");
    std::fs::write(&p, format!("{at}\n{over}\n{huge}\n{{\"id\":\"after\"}}\n")).unwrap();
    let opts = limits(|l| {
        l.max_record_bytes = limit;
        l.block_bytes = 1 << 20;
    });
    let m = ingest::ingest_memory(std::slice::from_ref(&p), &opts).unwrap();
    let c = &m.report.counts;
    assert_eq!((c.records, c.rows, c.rejected), (4, 2, 2));
    let reasons: Vec<(Option<u64>, &str)> = m
        .rejects
        .iter()
        .map(|r| (r.reject.location.line, r.reject.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                Some(2),
                format!(
                    "record is {} bytes, over the limit of {limit} (--max-record-bytes)",
                    limit + 1
                )
                .as_str()
            ),
            (
                Some(3),
                format!(
                    "record is {} bytes, over the limit of {limit} (--max-record-bytes)",
                    huge.len()
                )
                .as_str()
            ),
        ]
    );
    // Elements of a page are records too.
    let page = d.path().join("p.json");
    std::fs::write(&page, format!("{{\"value\": [{at}, {over}]}}")).unwrap();
    let m = ingest::ingest_memory(&[page], &opts).unwrap();
    assert_eq!((m.report.counts.rows, m.report.counts.rejected), (1, 1));
    assert_eq!(m.rejects[0].reject.location.index, Some(1));
}

#[test]
fn document_size_at_and_over_the_limit() {
    let d = tempfile::tempdir().unwrap();
    let doc = r#"[{"id":"a"},{"id":"b"}]"#;
    let p = d.path().join("a.json");
    std::fs::write(&p, doc).unwrap();
    let at = limits(|l| l.max_document_bytes = doc.len() as u64);
    let m = ingest::ingest_memory(std::slice::from_ref(&p), &at).unwrap();
    assert_eq!(m.report.counts.rows, 2);
    let over = limits(|l| l.max_document_bytes = doc.len() as u64 - 1);
    let m = ingest::ingest_memory(std::slice::from_ref(&p), &over).unwrap();
    assert_eq!(m.report.counts.rows, 0);
    assert!(
        m.report.failures[0]
            .message
            .contains(&format!("larger than {} bytes", doc.len() - 1)),
        "{:?}",
        m.report.failures
    );
}

#[test]
fn decompression_limits_stop_bombs() {
    let d = tempfile::tempdir().unwrap();
    let body = ops("z", 200);
    let p = d.path().join("a.ndjson.gz");
    std::fs::write(&p, gzip(body.as_bytes())).unwrap();
    let at = limits(|l| l.max_decompressed_bytes = body.len() as u64);
    assert_eq!(
        ingest::ingest_memory(std::slice::from_ref(&p), &at)
            .unwrap()
            .report
            .counts
            .rows,
        200
    );
    let over = limits(|l| l.max_decompressed_bytes = body.len() as u64 - 1);
    let m = ingest::ingest_memory(std::slice::from_ref(&p), &over).unwrap();
    assert_eq!(m.report.counts.rows, 0);
    assert!(
        m.report.failures[0]
            .message
            .contains("expands to more than")
    );

    // A bomb: 40 MiB of blank lines in about 40 KiB, stopped by the ratio
    // check without any size limit set.
    let bomb = d.path().join("bomb.ndjson.gz");
    std::fs::write(&bomb, gzip(&vec![b'\n'; 40 << 20])).unwrap();
    let m = ingest::ingest_memory(
        &[bomb],
        &Options {
            keep_going: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(
        m.report.failures[0].message.contains("decompression bomb"),
        "{:?}",
        m.report.failures
    );
}

fn spawn_ingest(input: &Path, out: &Path, extra: &[&str]) -> std::process::Child {
    fleetops_command()
        .arg("ingest")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn concurrent_ingests_queue_or_fail_clearly() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.ndjson", ops("a", 120_000));
    let b = write(d.path(), "b.ndjson", ops("b", 1_000));
    let c = write(d.path(), "c.ndjson", ops("c", 1_000));
    let out = d.path().join("ds");
    let first = spawn_ingest(&a, &out, &[]);
    // Let the first take the lock.
    let lock = d.path().join(".ds.fleetops-lock");
    for _ in 0..200 {
        if std::fs::read_to_string(&lock).is_ok_and(|s| s.starts_with("pid")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let queued = spawn_ingest(&b, &out, &["--wait"]);
    let refused = spawn_ingest(&c, &out, &[]).wait_with_output().unwrap();
    let first = first.wait_with_output().unwrap();
    let queued = queued.wait_with_output().unwrap();
    assert!(first.status.success());
    assert!(queued.status.success());
    let msg = String::from_utf8_lossy(&refused.stderr);
    if refused.status.success() {
        // The first ingest was already done: then C simply went in.
        assert!(ids(&out).unwrap().contains("c-000000"));
    } else {
        assert!(
            msg.contains("another ingest is writing this dataset (pid "),
            "{msg}"
        );
        assert!(msg.contains("--wait"), "{msg}");
        assert_eq!(msg.lines().count(), 1, "{msg}");
    }
    let got = ids(&out).unwrap();
    assert!(got.contains("a-119999") && got.contains("a-000000"));
    assert!(got.contains("b-000999") && got.contains("b-000000"));
    assert_eq!(
        got.len(),
        121_000 + if refused.status.success() { 1_000 } else { 0 }
    );
}

#[test]
fn a_killed_ingest_leaves_no_stale_lock_and_readers_see_whole_states() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.ndjson", ops("a", 1_000));
    let b = write(d.path(), "b.ndjson", ops("b", 100_000));
    let out = d.path().join("ds");
    ingest::ingest_dataset(std::slice::from_ref(&a), &out, &Options::default()).unwrap();
    let old = ids(&out).unwrap();

    // Killed while holding the lock.
    let mut child = spawn_ingest(&b, &out, &[]);
    std::thread::sleep(Duration::from_millis(150));
    let _ = child.kill();
    let _ = child.wait();
    assert!(d.path().join(".ds.fleetops-lock").exists());
    assert_eq!(ids(&out).unwrap(), old);

    // A reader during a whole ingest sees the old state or the new one.
    let mut writer = spawn_ingest(&b, &out, &[]);
    let mut new_seen = 0;
    let mut reads = 0;
    loop {
        let done = writer.try_wait().unwrap().is_some();
        if let Some(now) = ids(&out) {
            reads += 1;
            if now != old {
                assert_eq!(now.len(), 101_000, "a mix of states");
                new_seen += 1;
            }
        }
        if done {
            break;
        }
    }
    assert!(
        writer.wait().unwrap().success(),
        "the lock of the killed run was not stale"
    );
    assert!(reads > 0);
    assert_eq!(ids(&out).unwrap().len(), 101_000);
    let _ = new_seen;
}
