//! The on-disk dataset and its atomic commit.
//!
//! Layout of a dataset folder `DIR` (README "Dataset layout"):
//! - `DIR/operations/created_date=YYYY-MM-DD/*.parquet`: the `operations`
//!   table, one folder per UTC day of `created_date_time` (an operation's
//!   creation time never changes, so its row stays in its folder), and
//!   `created_date=unknown/` for rows without one (zstd, times
//!   delta-encoded, page statistics);
//! - `DIR/_rejects/<run>.ndjson`: the records each run rejected;
//! - `DIR/_fleetops.json`: the manifest (format version and the log of runs).
//!
//! A run builds the next state of the whole folder beside it
//! (`.DIR.fleetops-staging-*`: files it keeps are hard links) and swaps the two
//! folders with one `renameat2(RENAME_EXCHANGE)`, so a reader or a crash sees
//! the old state or the new one, never a mix, and nothing stale stays inside
//! `DIR` for a `DIR/**/*.parquet` glob to find.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::{self, operations_schema};

/// The folder of the `operations` table's Parquet files.
pub const OPERATIONS_DIR: &str = "operations";
/// The folder of each run's rejected records.
pub const REJECTS_DIR: &str = "_rejects";
/// The manifest's file name.
pub const MANIFEST: &str = "_fleetops.json";
/// The manifest's `format`.
pub const FORMAT: &str = "fleetops-dataset";
/// The manifest's `version`: 2 is partitioned by day; 1 kept every file
/// directly in `operations/` (read as it is, and upgraded by the next
/// ingest).
pub const FORMAT_VERSION: u32 = 2;

/// The name of a partition's folder.
pub fn partition_dir(key: crate::ingest::pipeline::route::PartKey) -> String {
    use crate::ingest::pipeline::route::UNKNOWN;
    if key == UNKNOWN {
        return format!("{PARTITION_COLUMN}=unknown");
    }
    let day = chrono::DateTime::UNIX_EPOCH.date_naive();
    let day = day
        .checked_add_signed(chrono::TimeDelta::days(i64::from(key)))
        .unwrap_or(day);
    format!("{PARTITION_COLUMN}={}", day.format("%Y-%m-%d"))
}

/// The partition of a folder name ([`partition_dir`] read back).
pub fn partition_of(dir: &str) -> Option<crate::ingest::pipeline::route::PartKey> {
    use crate::ingest::pipeline::route::UNKNOWN;
    let value = dir.strip_prefix(PARTITION_COLUMN)?.strip_prefix('=')?;
    if value == "unknown" {
        return Some(UNKNOWN);
    }
    let day = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    let days = (day - chrono::DateTime::UNIX_EPOCH.date_naive()).num_days();
    i32::try_from(days).ok()
}

/// The Hive partition column of the folder names.
pub const PARTITION_COLUMN: &str = "created_date";

/// The stored files of a dataset.
#[derive(Debug, Default, Clone)]
pub struct StoredFiles {
    /// Files directly in `operations/` (a version 1 dataset).
    pub flat: Vec<PathBuf>,
    /// Each partition's files, in name order.
    pub partitions:
        std::collections::BTreeMap<crate::ingest::pipeline::route::PartKey, Vec<PathBuf>>,
}

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Rows per Parquet file written by one worker.
pub const PART_ROWS: usize = 4 * ROW_GROUP_ROWS;

/// One run, as logged in the manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunLog {
    /// The run's id (UTC time and process id), also the name of its rejects file.
    pub run_id: String,
    /// When the run committed (RFC 3339, UTC).
    pub finished_at: String,
    /// The inputs as given on the command line.
    pub inputs: Vec<String>,
    /// Input files read.
    pub files: u64,
    /// Records read.
    pub records: u64,
    /// Rows added or replaced.
    pub rows: u64,
    /// Records collapsed into another of the same id.
    pub duplicates: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Records kept whose timestamps were repaired.
    pub repaired: u64,
    /// Files that could not be read (with `--keep-going`).
    #[serde(default)]
    pub failed_files: Vec<String>,
    /// File of this run's rejects under `_rejects/`, if any.
    #[serde(default)]
    pub rejects_file: Option<String>,
    /// `none`, or `hmac-sha256:<key id>` for a `--redact` run (the key id
    /// names the key without revealing it). Absent in runs written before
    /// it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<String>,
}

impl RunLog {
    /// What [`RunLog::redaction`] says for a run with `redactor`.
    pub fn redaction_of(redactor: Option<&crate::redact::Redactor>) -> String {
        match redactor {
            None => "none".into(),
            Some(r) => format!("hmac-sha256:{}", r.key_id()),
        }
    }
}

/// `_fleetops.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Always `fleetops-dataset`.
    pub format: String,
    /// The layout's version (1).
    pub version: u32,
    /// Every committed run, oldest first.
    pub runs: Vec<RunLog>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            runs: Vec::new(),
        }
    }
}

/// Writer settings shared by every Parquet file fleetops writes.
pub fn writer_properties() -> WriterProperties {
    let mut b = WriterProperties::builder();
    // Unique per row: a dictionary only costs time before Parquet falls back.
    for col in [
        schema::col::ID,
        schema::col::CREATED,
        schema::col::STARTED,
        schema::col::COMPLETED,
        schema::col::LAST_ACTION,
    ] {
        b = b.set_column_dictionary_enabled(ColumnPath::from(col), false);
    }
    // A fleet's devices are tens of thousands of ids of about 40 bytes: past
    // the default 1 MiB dictionary page a day's file fell back to plain
    // strings part way. One dictionary a file keeps them as small indexes,
    // which the reader turns into views without copying each id.
    b = b.set_column_dictionary_page_size_limit(
        ColumnPath::from(schema::col::DEVICE_ID),
        8 * 1024 * 1024,
    );
    // Times arrive nearly in order, so their deltas bit-pack to about 4
    // bytes a value (19.8 -> 17.2 MB per million rows against plain + zstd),
    // and zstd then gains nothing: skipping it saved 4% of an ingest's CPU.
    for col in [
        schema::col::CREATED,
        schema::col::STARTED,
        schema::col::COMPLETED,
        schema::col::LAST_ACTION,
    ] {
        b = b
            .set_column_encoding(ColumnPath::from(col), Encoding::DELTA_BINARY_PACKED)
            .set_column_compression(ColumnPath::from(col), Compression::UNCOMPRESSED);
    }
    // Min/max statistics prune only columns whose values cluster by row
    // group (times, device, type, status, lineage). Random ids, names and
    // messages span every page, and comparing each value for their min and
    // max was a visible share of encoding.
    let mut no_stats = vec![
        ColumnPath::from(schema::col::ID),
        ColumnPath::from(schema::col::STATUS_RAW),
        ColumnPath::new(vec![schema::col::ERROR.into(), "message".into()]),
    ];
    for set in [schema::col::CREATED_BY, schema::col::LAST_ACTION_BY] {
        for member in ["user", "application", "device"] {
            for leaf in ["id", "display_name"] {
                no_stats.push(ColumnPath::new(vec![
                    set.into(),
                    member.into(),
                    leaf.into(),
                ]));
            }
        }
    }
    for col in no_stats {
        b = b.set_column_statistics_enabled(col, EnabledStatistics::None);
    }
    b.set_compression(Compression::ZSTD(
        ZstdLevel::try_new(1).expect("valid level"),
    ))
    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
    // Values are handed to the column encoders 8,192 at a time instead of
    // 1,024: fewer calls and page-size checks per column (a page may then
    // pass the 1 MiB target by one such batch).
    .set_write_batch_size(8192)
    .set_statistics_enabled(EnabledStatistics::Page)
    .set_created_by(format!("fleetops {}", env!("CARGO_PKG_VERSION")))
    .build()
}

/// Opens a Parquet writer for the `operations` schema.
pub fn parquet_writer(path: &Path) -> Result<ArrowWriter<File>> {
    let f = File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(ArrowWriter::try_new(
        f,
        operations_schema(),
        Some(writer_properties()),
    )?)
}

/// Reads every batch of a part file written by fleetops.
pub fn read_part(path: &Path, mut each: impl FnMut(RecordBatch) -> Result<()>) -> Result<()> {
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| Error::Dataset {
            path: path.into(),
            message: format!("not a readable Parquet file: {e}"),
        })?
        .with_batch_size(64 * 1024)
        .build()?;
    for b in reader {
        let b = b?;
        if b.schema().fields() != operations_schema().fields() {
            return Err(Error::Dataset {
                path: path.into(),
                message: "its columns are not the operations schema of this fleetops version"
                    .into(),
            });
        }
        each(b)?;
    }
    Ok(())
}

/// A dataset folder.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The folder.
    pub root: PathBuf,
}

impl Dataset {
    /// The dataset at `root` (nothing is read yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Dataset { root: root.into() }
    }

    /// Where its Parquet files are.
    pub fn operations_dir(&self) -> PathBuf {
        self.root.join(OPERATIONS_DIR)
    }

    /// True when `path` holds a fleetops dataset.
    pub fn is_dataset(path: &Path) -> bool {
        path.join(MANIFEST).is_file()
    }

    /// The manifest, or an empty one for a folder that is not a dataset yet.
    pub fn manifest(&self) -> Result<Manifest> {
        let p = self.root.join(MANIFEST);
        match fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Dataset {
                path: p.clone(),
                message: format!("the manifest is damaged ({e})"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(Error::io(p, e)),
        }
    }

    /// The Parquet files of the `operations` table, by partition.
    pub fn stored(&self) -> Result<StoredFiles> {
        let dir = self.operations_dir();
        let mut out = StoredFiles {
            flat: self.parts()?,
            ..StoredFiles::default()
        };
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::io(dir, e)),
        };
        for e in rd {
            let e = e.map_err(|err| Error::io(&dir, err))?;
            let Some(key) = e.file_name().to_str().and_then(partition_of) else {
                continue;
            };
            let p = e.path();
            if !p.is_dir() {
                continue;
            }
            let mut files = Vec::new();
            for f in fs::read_dir(&p).map_err(|err| Error::io(&p, err))? {
                let f = f.map_err(|err| Error::io(&p, err))?.path();
                if f.extension().is_some_and(|x| x == "parquet") {
                    files.push(f);
                }
            }
            files.sort();
            if !files.is_empty() {
                out.partitions.insert(key, files);
            }
        }
        Ok(out)
    }

    /// Every Parquet file of the `operations` table: partitions in order,
    /// then any left directly in `operations/`.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        let s = self.stored()?;
        Ok(s.partitions.into_values().flatten().chain(s.flat).collect())
    }

    /// The Parquet files directly in `operations/` (version 1), by name.
    pub fn parts(&self) -> Result<Vec<PathBuf>> {
        let dir = self.operations_dir();
        let mut out = Vec::new();
        match fs::read_dir(&dir) {
            Ok(rd) => {
                for e in rd {
                    let e = e.map_err(|err| Error::io(&dir, err))?;
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "parquet") {
                        out.push(p);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(dir, e)),
        }
        out.sort();
        Ok(out)
    }

    /// Checks that `root` can receive a dataset: new, empty, or a dataset.
    pub fn check_writable(&self) -> Result<()> {
        match fs::read_dir(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&self.root, e)),
            Ok(mut rd) => {
                if Self::is_dataset(&self.root) || rd.next().is_none() {
                    Ok(())
                } else {
                    Err(Error::Dataset {
                        path: self.root.clone(),
                        message: "exists and is not a fleetops dataset (no _fleetops.json); \
                                  choose a new or empty folder for --out"
                            .into(),
                    })
                }
            }
        }
    }

    fn sibling(&self, tag: &str) -> Result<PathBuf> {
        let name = self
            .root
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::Dataset {
                path: self.root.clone(),
                message: "the dataset folder needs a plain name".into(),
            })?;
        let parent = match self.root.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(parent.join(format!(".{name}.fleetops-{tag}")))
    }

    /// Takes the dataset's writer lock (a lock file beside the folder): one
    /// ingest at a time. The kernel releases it when its holder dies, so a
    /// killed ingest leaves no stale lock. `wait` queues behind the holder.
    pub fn lock(&self, wait: bool) -> Result<DatasetLock> {
        let path = self.sibling("lock")?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) if wait => {
                file.lock().map_err(|e| Error::io(&path, e))?
            }
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                return Err(Error::Locked {
                    path: self.root.clone(),
                    holder: (!holder.is_empty()).then(|| holder.to_string()),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let mut f = &file;
        let _ = f.set_len(0);
        let _ = writeln!(
            f,
            "pid {} since {}",
            std::process::id(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        Ok(DatasetLock { _file: file })
    }

    /// Removes staging folders that killed runs left behind.
    pub fn clean_stale(&self) -> Result<()> {
        let probe = self.sibling("staging-")?;
        let parent = probe.parent().unwrap_or(Path::new("."));
        let prefix = probe
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Ok(rd) = fs::read_dir(parent) {
            for e in rd.flatten() {
                if e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(prefix))
                {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }

    /// Starts the next state of the dataset in a staging folder.
    pub fn stage(&self, run_id: &str) -> Result<Staging> {
        let dir = self.sibling(&format!("staging-{run_id}"))?;
        let _ = fs::remove_dir_all(&dir);
        for d in [dir.join(OPERATIONS_DIR), dir.join(REJECTS_DIR)] {
            fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        Ok(Staging {
            dir,
            root: self.root.clone(),
            committed: false,
        })
    }
}

/// Held while a run writes a dataset; dropping it releases the lock.
#[derive(Debug)]
pub struct DatasetLock {
    _file: File,
}

impl Drop for DatasetLock {
    /// Unlocks before the file is closed: a child process the host is
    /// spawning may still hold a copy of the descriptor (between fork and
    /// exec), and closing ours alone would leave the dataset locked until
    /// that copy is closed too.
    fn drop(&mut self) {
        let _ = self._file.unlock();
    }
}

/// The next state of a dataset, being written.
#[derive(Debug)]
pub struct Staging {
    /// The folder being written beside the dataset.
    pub dir: PathBuf,
    root: PathBuf,
    committed: bool,
}

impl Staging {
    /// Where the next state's Parquet files go.
    pub fn operations_dir(&self) -> PathBuf {
        self.dir.join(OPERATIONS_DIR)
    }

    /// Where the next state's rejects go.
    pub fn rejects_dir(&self) -> PathBuf {
        self.dir.join(REJECTS_DIR)
    }

    /// Carries a file of the current dataset into the staged state unchanged.
    pub fn carry(&self, from: &Path, to: &Path) -> Result<()> {
        if fs::hard_link(from, to).is_err() {
            fs::copy(from, to).map_err(|e| Error::io(from, e))?;
        }
        Ok(())
    }

    /// Makes the staged state the dataset, atomically, and removes the old one.
    pub fn commit(mut self, manifest: &Manifest) -> Result<()> {
        let mpath = self.dir.join(MANIFEST);
        {
            let f = File::create(&mpath).map_err(|e| Error::io(&mpath, e))?;
            let mut w = BufWriter::new(f);
            serde_json::to_writer_pretty(&mut w, manifest)?;
            w.write_all(b"\n").map_err(|e| Error::io(&mpath, e))?;
            let f = w
                .into_inner()
                .map_err(|e| Error::io(&mpath, e.into_error()))?;
            f.sync_all().map_err(|e| Error::io(&mpath, e))?;
        }
        for d in [self.operations_dir(), self.rejects_dir(), self.dir.clone()] {
            sync_dir(&d)?;
        }
        if let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        if self.root.exists() {
            exchange(&self.dir, &self.root)?;
        } else {
            fs::rename(&self.dir, &self.root).map_err(|e| Error::io(&self.root, e))?;
        }
        self.committed = true;
        if let Some(parent) = self.root.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            let _ = sync_dir(parent);
        }
        // The staging path now holds the previous state.
        let _ = fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Makes a folder's entries durable.
pub fn sync_dir(d: &Path) -> Result<()> {
    File::open(d)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(d, e))
}

/// Swaps two folders in one step where the file system allows it.
fn exchange(a: &Path, b: &Path) -> Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(_) => {
            // No RENAME_EXCHANGE here: two renames; a crash between them
            // leaves the old state in the `-old` sibling, restored by hand.
            let old = a.with_extension("old");
            fs::rename(b, &old).map_err(|e| Error::io(b, e))?;
            fs::rename(a, b).map_err(|e| Error::io(b, e))?;
            fs::rename(&old, a).map_err(|e| Error::io(a, e))?;
            Ok(())
        }
    }
}
