//! Inputs that crashed the ingester or broke what it feeds (found by the
//! fuzz targets under `fuzz/` and by review), kept as regression tests.
//! The inputs are under `tests/fixtures/fuzz/`. Inputs that crash the whole
//! process (a stack overflow aborts it) run through the `fleetops` binary,
//! so a regression fails one test instead of the whole test binary.

use std::path::{Path, PathBuf};
use std::process::Output;

use fleetops::ingest::{self, Options};
use fleetops::internals::ingest::decode::timestamp::{self, Invalid};

use crate::support::{fleetops, stderr};

fn fixture(name: &str) -> PathBuf {
    crate::support::fixture("fuzz").join(name)
}

/// Exit 0, or a clean one-line error: never a signal, a panic or an abort.
fn assert_clean_exit(o: &Output, what: &str) {
    let stderr = stderr(o);
    assert!(
        o.status.code().is_some(),
        "{what}: killed by a signal ({:?}): {stderr}",
        o.status
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("overflowed its stack"),
        "{what}: {stderr}"
    );
}

/// The `ingest_file` fuzz target's checks, on one file.
fn ingest_checks(path: &Path) -> ingest::MemoryIngest {
    let opts = Options {
        keep_going: true,
        ..Options::default()
    };
    let m = ingest::ingest_memory(&[path.to_path_buf()], &opts).unwrap();
    let c = &m.report.counts;
    assert_eq!(c.records, c.rows + c.duplicates + c.rejected, "{c:?}");
    assert_eq!(c.files as usize + m.report.failures.len(), 1);
    m
}

/// `$batch` responses nested in each other's bodies, 3000 deep (141 kB,
/// 495 bytes gzipped). `envelope::expand` recursed once per level, so this
/// overflowed a decoding thread's stack and aborted the process (about 600
/// levels are enough in a debug build, 3000 in a release build), and the
/// time grew with the square of the depth. Real `$batch` responses never
/// nest.
#[test]
fn deeply_nested_batch_responses_do_not_overflow_the_stack() {
    let path = fixture("nested-batch-3000.json.gz");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("ds");
    let sql: [&std::ffi::OsStr; 4] = [
        "sql".as_ref(),
        "SELECT count(*) AS n FROM operations".as_ref(),
        "--data".as_ref(),
        path.as_os_str(),
    ];
    let ingest: [&std::ffi::OsStr; 5] = [
        "ingest".as_ref(),
        path.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--keep-going".as_ref(),
    ];
    assert_clean_exit(&fleetops(&sql), "sql over a nested $batch");
    assert_clean_exit(&fleetops(&ingest), "ingest of a nested $batch");
    // In process too, once it no longer aborts.
    ingest_checks(&path);
}

/// `/Date(ms)/` with a huge `ms` was accepted as a timestamp far outside
/// what Arrow and chrono can show: the table printed `ERROR: Cast error`,
/// CSV export and the report failed as a whole, and `--format json` wrote
/// invalid JSON (an unescaped `"UTC"` inside the error text). Such a
/// record must be rejected like any unparseable timestamp (README "Input").
#[test]
fn out_of_range_ms_dates_are_rejected() {
    for text in [
        "/Date(9223372036854775)/",
        "/Date(-9223372036854775)/",
        "/Date(253402300800000)/",
    ] {
        assert_eq!(timestamp::parse(text), Err(Invalid), "{text}");
    }
    let path = fixture("date-out-of-range.ndjson");
    let m = ingest_checks(&path);
    assert_eq!(m.report.counts.rows, 1, "only `fine` is a row");
    assert_eq!(m.rejects.len(), 2);
    let o = fleetops(&[
        "report".as_ref(),
        "--data".as_ref(),
        path.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert_clean_exit(&o, "report");
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The largest and smallest dates Graph can write still parse, and the
/// ones around `/Date(ms)/`'s edges agree with the ISO form.
#[test]
fn in_range_dates_still_parse() {
    use timestamp::Parsed;
    assert_eq!(
        timestamp::parse("9999-12-31T23:59:59.999999Z"),
        Ok(Parsed::Value(253_402_300_799_999_999))
    );
    assert_eq!(
        timestamp::parse("/Date(253402300799999)/"),
        Ok(Parsed::Repaired(253_402_300_799_999_000))
    );
    assert_eq!(
        timestamp::parse("/Date(-62135596800000)/"),
        Ok(Parsed::Repaired(-62_135_596_800_000_000))
    );
}
