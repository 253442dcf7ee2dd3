//! What the test modules share: running the `fleetops` binary, the paths of
//! the shipped data and fixtures, writing inputs, reading a dataset back.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampMicrosecondType;
use fleetops::internals::ingest::{Dataset, dataset};

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// `sample-data/` relative to the crate root, the tests' working directory:
/// reports name their input files, and must not name the checkout.
pub const SAMPLE: &str = "sample-data";

/// The crate root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `sample-data/`, absolute.
pub fn sample_data() -> PathBuf {
    root().join(SAMPLE)
}

/// A file or folder under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// The files under `dir`, depth first, each folder's entries in name order.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out
}

// ---------------------------------------------------------------------------
// The fleetops binary
// ---------------------------------------------------------------------------

/// The `fleetops` binary Cargo built for this test run, started in the crate
/// root, without the caller's backtrace setting or redaction key (either
/// would change what it prints).
pub fn fleetops_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetops"));
    cmd.current_dir(root())
        .env_remove("RUST_BACKTRACE")
        .env_remove(fleetops::redact::KEY_ENV);
    cmd
}

/// `fleetops ARGS` run to its end with nothing on standard input.
pub fn fleetops<S: AsRef<OsStr>>(args: &[S]) -> Output {
    fleetops_stdin(args, None)
}

/// `fleetops ARGS` with `stdin` piped in (or nothing), and a fresh `HOME`
/// so that the shell's history file is its own.
pub fn fleetops_stdin<S: AsRef<OsStr>>(args: &[S], stdin: Option<&str>) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut child = fleetops_command()
        .args(args)
        .env("HOME", home.path())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the fleetops binary runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Standard output, which must be UTF-8.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit status; a run killed by a signal fails the test.
#[track_caller]
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

#[track_caller]
pub fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// Standard output of a run that succeeded.
#[track_caller]
pub fn ok(o: &Output) -> String {
    assert_ok(o);
    stdout(o)
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// Writes `dir/name` (creating its folders) and returns its path.
pub fn write(dir: &Path, name: &str, body: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, body).unwrap();
    p
}

pub fn gzip(body: &[u8]) -> Vec<u8> {
    gzip_with(body, flate2::Compression::default())
}

pub fn gzip_with(body: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(body).unwrap();
    e.finish().unwrap()
}

/// An RFC 3339 timestamp in microseconds since the epoch.
pub fn micros(iso: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso)
        .unwrap()
        .timestamp_micros()
}

// ---------------------------------------------------------------------------
// Reading back
// ---------------------------------------------------------------------------

/// Every batch of a dataset's operations table, part by part.
#[track_caller]
pub fn dataset_batches(dir: &Path) -> Vec<RecordBatch> {
    try_dataset_batches(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// The same, or the error of a part that cannot be read (one that vanished
/// under a reader while an ingest swapped in a new state).
///
/// A read that spans an ingest's swap of the folder (the `operations`
/// folder is another one afterwards) is refused, as a reader that cares
/// about whole states does: the day folders are listed, then read by path.
pub fn try_dataset_batches(dir: &Path) -> fleetops::Result<Vec<RecordBatch>> {
    use std::os::unix::fs::MetadataExt;
    let inode = || {
        std::fs::metadata(dir.join("operations"))
            .map(|m| m.ino())
            .ok()
    };
    let before = inode();
    let mut batches = Vec::new();
    for p in Dataset::new(dir).files()? {
        dataset::read_part(&p, |b| {
            batches.push(b);
            Ok(())
        })?;
    }
    if inode() != before {
        return Err(fleetops::Error::Internal(
            "the dataset changed while it was read".into(),
        ));
    }
    Ok(batches)
}

/// Cell `i` of a Utf8 column.
pub fn text_at(a: &dyn Array, i: usize) -> Option<String> {
    let a = a.as_string::<i32>();
    (!a.is_null(i)).then(|| a.value(i).to_string())
}

/// Cell `i` of a timestamp column, in microseconds.
pub fn time_at(a: &dyn Array, i: usize) -> Option<i64> {
    let a = a.as_primitive::<TimestampMicrosecondType>();
    (!a.is_null(i)).then(|| a.value(i))
}

/// The batches of a Parquet file.
pub fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// The batches of an Arrow IPC file.
pub fn read_arrow(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    arrow::ipc::reader::FileReader::try_new(f, None)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}
