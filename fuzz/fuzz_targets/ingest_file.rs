//! Arbitrary bytes written to a file (gzipped when the flag byte says so)
//! and ingested in memory with `keep_going`. Invariants: no panic, no error
//! for a readable file, and the counts add up.
#![no_main]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use fleetops::ingest::{self, Limits, Options};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temp folder"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    // bit 0: gzip; bit 1: a `devices/<id>.json` path; bit 2: one thread.
    let bytes = if flags & 1 == 1 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(body).expect("in memory");
        gz.finish().expect("in memory")
    } else {
        body.to_vec()
    };
    let path: PathBuf = if flags & 2 == 2 {
        let d = dir().path().join("devices");
        std::fs::create_dir_all(&d).expect("create devices/");
        d.join("fuzz-device.json")
    } else {
        dir().path().join("input.json")
    };
    std::fs::write(&path, &bytes).expect("write the input");

    let opts = Options {
        keep_going: true,
        threads: if flags & 4 == 4 { 1 } else { 2 },
        // Small blocks, so NDJSON is cut into several units of work.
        limits: Limits {
            block_bytes: 1024,
            ..Limits::default()
        },
        ..Options::default()
    };
    let mem = ingest::ingest_memory(std::slice::from_ref(&path), &opts)
        .expect("a readable file never fails the run with keep_going");
    let c = &mem.report.counts;
    let rows: u64 = mem.batches.iter().map(|b| b.num_rows() as u64).sum();
    assert_eq!(c.rows, rows, "rows counted = rows returned");
    assert_eq!(c.rejected, mem.rejects.len() as u64);
    assert_eq!(
        c.records,
        c.rows + c.duplicates + c.rejected,
        "records = rows + duplicates + rejected"
    );
    match mem.report.failures.len() {
        0 => assert_eq!(c.files, 1),
        1 => {
            assert_eq!(c.files, 0);
            assert_eq!(c.records, 0, "a failed file contributes nothing");
            assert!(mem.batches.is_empty());
        }
        n => panic!("{n} failures for one file"),
    }
    let _ = std::fs::remove_file(&path);
});
