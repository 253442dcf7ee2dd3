//! Deterministic generator of synthetic Microsoft Graph (beta)
//! `teamworkDeviceOperation` exports, for fleetops's benchmarks, load tests
//! and the bundled `sample-data/` folder. The `fleetops-gen` binary is its
//! command line:
//!
//! ```text
//! cargo run --release -p fleetops-gen -- --ops 1000000 --format ndjson --out /tmp/ops
//! cargo run --release -p fleetops-gen -- --ops 200000 --format pages --gzip --out /tmp/pages
//! cargo run --release -p fleetops-gen -- --format sample --out sample-data
//! ```
//!
//! The same options always give byte-identical output: every random choice
//! comes from one `ChaCha8Rng` seeded with [`Options::seed`].
//!
//! Formats (see "Input" in fleetops' README):
//! - `ndjson`: `operations.ndjson`, one operation per line, each with a `deviceId`;
//! - `pages`: Graph list pages, `pages/<deviceId>-page-NNNN.json`, at most 50
//!   operations each, the device id only in `@odata.context` / `@odata.nextLink`;
//! - `array`: JSON arrays of up to 50,000 operations with `deviceId`, `arrays/operations-NNNN.json`;
//! - `batch`: `$batch` responses of 20 device pages each, `batch/batch-NNNNN.json`;
//! - `pascal`: PowerShell `ConvertTo-Json` output, PascalCase and 4-space
//!   indented, one file per device `devices/<deviceId>.json` (a device with a
//!   single operation gets a bare object, as PowerShell writes it);
//! - `ps-array`: the same layout as one big array of every operation with its
//!   `DeviceId`, `powershell/operations.json`, as a script that merges all
//!   devices and pipes them to `ConvertTo-Json | Out-File` writes it: UTF-8
//!   with BOM, or UTF-16 LE with BOM (`--utf16`, Windows PowerShell's
//!   default), CRLF line ends;
//! - `sample`: the small, story-driven `sample-data/` folder (fixed devices and
//!   dates; only the seed applies). It writes the data files only;
//!   `README.md` and `expected.py` beside them are maintained by hand.
//!
//! Increments of one fleet (weekly exports into a growing dataset): keep
//! `--seed`, `--start`, `--days`, `--ops` and `--devices`, and count
//! `--increment` 0, 1, 2, ... Increment K covers the K-th window of `--days`
//! after `--start`, on the same devices and admins, with operation ids drawn
//! from a random stream of its own (random version 4 GUIDs: 122 random bits, so
//! a collision among a billion ids has a chance below 10⁻¹⁹).
//! `--updates-from-previous F` adds F × `--ops` records that update the first
//! operations of increment K-1, as an export overlapping the previous one
//! shows them: each finishes (or changes between successful and failed) with
//! its last action inside this window, keeping its id, device and creation.
//! `--files N` splits the NDJSON or `ps-array` output into N files of equal
//! record counts, in time order (a later file holds later records).
//! Increment 0 without updates, in one file, is the generator's output for
//! the other options as it always was, so benchmark data stays comparable.
//!
//! [`decode_input`] holds the fixed inputs of the decoder benchmark.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub mod decode_input;
mod sample;

// ---------------------------------------------------------------------------
// What to generate
// ---------------------------------------------------------------------------

/// The shape of the export files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One `operations.ndjson`, each operation with a `deviceId` property.
    Ndjson,
    /// Graph list pages, one file per page, device id in the URLs only.
    Pages,
    /// JSON arrays of operations with `deviceId`.
    Array,
    /// `$batch` responses, one device page per response.
    Batch,
    /// PowerShell `ConvertTo-Json` style, PascalCase, one file per device.
    Pascal,
    /// One PowerShell `ConvertTo-Json` array of every operation (with `DeviceId`).
    PsArray,
    /// The bundled sample-data folder (fixed story; only --seed and --out apply).
    Sample,
}

/// What to generate; [`Options::default`] is the command line's defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of distinct operations.
    pub ops: usize,
    /// Output shape.
    pub format: Format,
    /// Number of devices (`None`: ops / 300, at least 5).
    pub devices: Option<usize>,
    /// Random seed; the same options give byte-identical output.
    pub seed: u64,
    /// Fraction of operations exported a second time, later in the output.
    pub dup_rate: f64,
    /// Fraction of records that are bad (missing id, bad timestamp, not an object, garbled line).
    pub bad_rate: f64,
    /// Gzip every output file (adds `.gz`).
    pub gzip: bool,
    /// First day of the time window (UTC), in days since 1970-01-01
    /// ([`parse_day`] reads `YYYY-MM-DD`).
    pub start_day: i64,
    /// Length of the time window in days.
    pub days: u32,
    /// Which of consecutive increments this is: the window starts
    /// `increment × days` after `start_day`, the ids come from a stream of
    /// their own.
    pub increment: u32,
    /// Records updating the first operations of the previous increment, as a
    /// fraction of `ops` (needs `increment` ≥ 1).
    pub updates_from_previous: f64,
    /// Split the NDJSON or `ps-array` output into this many files.
    pub files: usize,
    /// `ps-array` only: UTF-16 LE with a BOM instead of UTF-8 with a BOM.
    pub utf16: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ops: 100_000,
            format: Format::Ndjson,
            devices: None,
            seed: 42,
            dup_rate: 0.01,
            bad_rate: 0.0,
            gzip: false,
            start_day: days_from_civil(2026, 10, 1),
            days: 28,
            increment: 0,
            updates_from_previous: 0.0,
            files: 1,
            utf16: false,
        }
    }
}

impl Options {
    /// Refuses rates outside 0..=1 and an empty time window.
    pub fn check(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.dup_rate) || !(0.0..=1.0).contains(&self.bad_rate) {
            return Err(Error(
                "--dup-rate and --bad-rate must be between 0 and 1".into(),
            ));
        }
        if self.days == 0 {
            return Err(Error("--days must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&self.updates_from_previous) {
            return Err(Error(
                "--updates-from-previous must be between 0 and 1".into(),
            ));
        }
        if self.updates_from_previous > 0.0 && self.increment == 0 {
            return Err(Error(
                "--updates-from-previous needs --increment 1 or later (increment 0 has no previous one)".into(),
            ));
        }
        if self.files == 0 {
            return Err(Error("--files must be at least 1".into()));
        }
        if self.files > 1 && !matches!(self.format, Format::Ndjson | Format::PsArray) {
            return Err(Error(
                "--files applies to the ndjson and ps-array formats only".into(),
            ));
        }
        if self.utf16 && self.format != Format::PsArray {
            return Err(Error("--utf16 applies to the ps-array format only".into()));
        }
        if self.format == Format::Sample && (self.increment > 0 || self.updates_from_previous > 0.0)
        {
            return Err(Error(
                "the sample has its own dates: --increment and --updates-from-previous do not apply".into(),
            ));
        }
        Ok(())
    }
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Distinct operations.
    pub ops: usize,
    /// Devices they ran on.
    pub devices: usize,
    /// Records written: operations, their re-exports and bad records.
    pub records: usize,
    /// Records made bad.
    pub bad: usize,
    /// Operations of the previous increment updated (included in `ops`).
    pub updates: usize,
    /// Files written.
    pub files: usize,
    /// Bytes written (compressed, for gzipped files).
    pub bytes: u64,
    /// `sample` only: the statuses the generator knows the operations end in,
    /// to cross-check `sample-data/expected.py` against.
    pub truth: Option<String>,
}

/// A generation that failed: bad options or an I/O error, with the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error(e.to_string())
    }
}

/// Writes the export files under `out` (created if missing).
pub fn generate(opts: &Options, out: &Path) -> Result<Summary, Error> {
    opts.check()?;
    fs::create_dir_all(out).map_err(|e| Error(format!("{}: {e}", out.display())))?;
    let mut w = Writer::new(Dest::Folder);
    run(opts, &mut w, out)
}

/// Files in memory: each one's path (relative, as [`generate`] would write
/// it under its folder) and bytes, in the order they were written.
pub type Files = Vec<(PathBuf, Vec<u8>)>;

/// The export files in memory instead of a folder.
pub fn generate_in_memory(opts: &Options) -> Result<(Summary, Files), Error> {
    opts.check()?;
    let mut w = Writer::new(Dest::Memory(Vec::new()));
    let summary = run(opts, &mut w, Path::new(""))?;
    let Dest::Memory(files) = w.dest else {
        unreachable!()
    };
    Ok((summary, files))
}

fn run(opts: &Options, w: &mut Writer, out: &Path) -> Result<Summary, Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    if opts.format == Format::Sample {
        return Ok(sample::make(&mut rng, w, out)?);
    }
    let window = i64::from(opts.days) * DAY;
    let start = opts.start_day * DAY + i64::from(opts.increment) * window;
    let now = start + window;
    let n_devices = opts.devices.unwrap_or(opts.ops / 300).max(5);
    let world = World::random(&mut rng, n_devices, 36);
    // Every increment draws its operations from the state after the world,
    // on a stream of its own; increment 0 keeps the stream (and the bytes)
    // the generator always had.
    let after_world = rng.clone();
    if opts.increment > 0 {
        rng.set_stream(u64::from(opts.increment));
    }
    let params = GenParams {
        ops: opts.ops,
        start,
        now,
        inflight_window: 4 * HOUR,
        stuck_share: 0.1,
    };
    let mut ops = gen_ops(&mut rng, &world, &params);
    let n_updates = (opts.updates_from_previous * opts.ops as f64).round() as usize;
    if n_updates > 0 {
        let mut prev_rng = after_world;
        if opts.increment > 1 {
            prev_rng.set_stream(u64::from(opts.increment - 1));
        }
        let prev_params = GenParams {
            ops: n_updates,
            start: start - window,
            now: start,
            ..params
        };
        let previous = gen_ops(&mut prev_rng, &world, &prev_params);
        ops.extend(
            previous
                .iter()
                .map(|op| update_op(&mut rng, &world, &params, op)),
        );
    }
    let g = Gen::new(world, ops);
    let ndjson = opts.format == Format::Ndjson;
    let recs = plan_records(&mut rng, &g, opts.ops, opts.dup_rate, opts.bad_rate, ndjson);
    let bad = recs.iter().filter(|r| r.bad != Bad::None).count();

    w.gzip = opts.gzip;
    w.level = Compression::fast();
    match opts.format {
        Format::Ndjson => write_ndjson(w, &g, &recs, out, opts.files)?,
        Format::Array => write_arrays(w, &g, &recs, out)?,
        Format::Pages => write_pages(w, &g, &recs, out, opts.seed)?,
        Format::Batch => write_batches(w, &g, &recs, out, opts.seed)?,
        Format::Pascal => write_pascal(w, &g, &recs, out)?,
        Format::PsArray => write_ps_array(w, &g, &recs, out, opts.files, opts.utf16)?,
        Format::Sample => unreachable!(),
    }
    Ok(Summary {
        ops: g.ops.len(),
        devices: g.world.devices.len(),
        records: recs.len(),
        bad,
        updates: n_updates,
        files: w.files,
        bytes: w.bytes,
        truth: None,
    })
}

// ---------------------------------------------------------------------------
// Time: 100 ns ticks since the Unix epoch (Graph writes up to 7 fraction digits)
// ---------------------------------------------------------------------------

const SEC: i64 = 10_000_000;
const MINUTE: i64 = 60 * SEC;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = (if z >= 0 { z } else { z - 146_096 }) / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD` → days since 1970-01-01; `None` for anything else,
/// impossible dates included.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > 31 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, m, d)).then_some(days)
}

/// Instant from a UTC date and time of day.
fn at(y: i64, m: u32, d: u32, hh: i64, mm: i64, ss: i64) -> i64 {
    days_from_civil(y, m, d) * DAY + hh * HOUR + mm * MINUTE + ss * SEC
}

#[derive(Debug, Clone, Copy, Default)]
struct TsFmt {
    /// Write the local time at this UTC offset (minutes) with `±hh:mm`.
    offset_min: i16,
    /// The docs' example form `12-01-03.45Z` (hyphens in the time).
    hyphen: bool,
}

fn push_2(out: &mut Vec<u8>, v: i64) {
    out.push(b'0' + (v / 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// A quoted ISO 8601 timestamp with trailing fraction zeros trimmed (0–7 digits).
fn push_ts(out: &mut Vec<u8>, ticks: i64, f: TsFmt) {
    let local = ticks + i64::from(f.offset_min) * MINUTE;
    let (y, m, d) = civil_from_days(local.div_euclid(DAY));
    let rem = local.rem_euclid(DAY);
    let secs = rem / SEC;
    let frac = rem % SEC;
    let sep = if f.hyphen { b'-' } else { b':' };
    out.push(b'"');
    push_2(out, y / 100);
    push_2(out, y % 100);
    out.push(b'-');
    push_2(out, i64::from(m));
    out.push(b'-');
    push_2(out, i64::from(d));
    out.push(b'T');
    push_2(out, secs / 3600);
    out.push(sep);
    push_2(out, secs / 60 % 60);
    out.push(sep);
    push_2(out, secs % 60);
    if frac > 0 {
        let mut digits = [0u8; 7];
        let mut v = frac;
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let mut n = 7;
        while digits[n - 1] == b'0' {
            n -= 1;
        }
        out.push(b'.');
        out.extend_from_slice(&digits[..n]);
    }
    if f.offset_min == 0 {
        out.push(b'Z');
    } else {
        let o = i64::from(f.offset_min);
        out.push(if o < 0 { b'-' } else { b'+' });
        push_2(out, o.abs() / 60);
        out.push(b':');
        push_2(out, o.abs() % 60);
    }
    out.push(b'"');
}

/// Graph trims trailing zeros, so values carry 0–7 fraction digits; most
/// have 7, some were stored with less precision.
fn jitter_precision(rng: &mut ChaCha8Rng, t: i64) -> i64 {
    let r: f64 = rng.random();
    let digits = match r {
        r if r < 0.62 => 7,
        r if r < 0.74 => 6,
        r if r < 0.86 => 3,
        r if r < 0.93 => 2,
        r if r < 0.97 => 1,
        _ => 0,
    };
    let unit = 10i64.pow(7 - digits);
    t - t.rem_euclid(unit)
}

// ---------------------------------------------------------------------------
// Random helpers
// ---------------------------------------------------------------------------

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Log-normal with ~95% of the mass between `lo` and `hi`, clamped to [lo/2, 1.5·hi].
fn lognormal_between(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    let mu = (lo.ln() + hi.ln()) / 2.0;
    let sigma = (hi.ln() - lo.ln()) / 4.0;
    (mu + sigma * normal(rng)).exp().clamp(lo / 2.0, hi * 1.5)
}

fn secs(rng: &mut ChaCha8Rng, s: f64) -> i64 {
    (s * SEC as f64) as i64 + rng.random_range(0..SEC)
}

/// A random (version 4) GUID.
fn guid(rng: &mut ChaCha8Rng) -> String {
    op_id(rng).to_string()
}

/// A random (version 4) GUID, kept inline.
fn op_id(rng: &mut ChaCha8Rng) -> Guid {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Guid::new(&b)
}

/// 16 bytes in GUID form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
fn guid_text(b: &[u8; 16]) -> String {
    Guid::new(b).to_string()
}

/// A GUID's text held inline, so that an operation's id sits beside its
/// other fields: the writers visit operations in time order, not in the
/// order they were made, and a separate allocation costs a cache miss each.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Guid([u8; 36]);

impl Guid {
    fn new(b: &[u8; 16]) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b'-'; 36];
        let mut at = 0;
        for (i, byte) in b.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            text[at] = HEX[usize::from(byte >> 4)];
            text[at + 1] = HEX[usize::from(byte & 15)];
            at += 2;
        }
        Guid(text)
    }
}

impl std::ops::Deref for Guid {
    type Target = str;
    fn deref(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits and hyphens")
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl std::fmt::Debug for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

fn pick(rng: &mut ChaCha8Rng, cum: &[f64]) -> usize {
    let x = rng.random::<f64>() * cum[cum.len() - 1];
    cum.partition_point(|&c| c <= x).min(cum.len() - 1)
}

fn pick_weighted(rng: &mut ChaCha8Rng, items: &[(u8, u32)]) -> u8 {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut x = rng.random_range(0..total);
    for &(v, w) in items {
        if x < w {
            return v;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

/// splitmix64, for opaque but reproducible tokens.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A `$skiptoken` that looks like Graph's (base64url-ish, opaque).
fn skiptoken(seed: u64, device: usize, page: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::from("RFNwdAIAAQAAA");
    let mut state = mix(seed ^ mix(device as u64) ^ mix(page as u64 + 0x5151));
    let mut h = 0;
    for i in 0..43 {
        if i % 10 == 0 {
            state = mix(state);
            h = state;
        }
        s.push(ALPHABET[(h & 63) as usize] as char);
        h >>= 6;
    }
    s
}

// ---------------------------------------------------------------------------
// The model: statuses, operation types, errors, identities, devices
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Queued,
    Scheduled,
    InProgress,
    Successful,
    Failed,
    Cancelled,
}

impl Status {
    fn camel(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Scheduled => "scheduled",
            Status::InProgress => "inProgress",
            Status::Successful => "successful",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }
    fn pascal(self) -> &'static str {
        match self {
            Status::Queued => "Queued",
            Status::Scheduled => "Scheduled",
            Status::InProgress => "InProgress",
            Status::Successful => "Successful",
            Status::Failed => "Failed",
            Status::Cancelled => "Cancelled",
        }
    }
    /// The spellings some tools write (the action docs say "succeeded").
    fn alias(self) -> &'static str {
        match self {
            Status::Successful => "succeeded",
            Status::Cancelled => "canceled",
            s => s.camel(),
        }
    }
}

struct OpType {
    name: &'static str,
    weight: f64,
    /// Relative failure propensity.
    fail: f64,
    /// Share started by an application rather than an admin.
    app_share: f64,
    /// Typical duration range in seconds (log-normal between these).
    dur: (f64, f64),
    /// Error codes (index into ERRORS) with weights.
    errors: &'static [(u8, u32)],
}

const E_OFFLINE: u8 = 0;
const E_TIMEOUT: u8 = 1;
const E_DOWNLOAD: u8 = 2;
const E_INSTALL: u8 = 3;
const E_CONFIG: u8 = 4;
const E_UPLOAD: u8 = 5;
const E_BUSY: u8 = 6;
const E_SIGNIN: u8 = 7;
const E_AGENT: u8 = 8;
const E_INTERNAL: u8 = 9;
const E_CANCELLED: u8 = 10;
/// `{"code": null, "message": "Unknown"}`, as Graph writes on some successful operations.
const E_UNKNOWN: u8 = 11;

const ERRORS: [(&str, &str); 11] = [
    (
        "DeviceOffline",
        "The device is offline or could not be reached. Make sure it is powered on and connected to the network, then try again.",
    ),
    (
        "Timeout",
        "The operation did not complete within the allotted time and was stopped.",
    ),
    (
        "UpdateDownloadFailed",
        "The software update package could not be downloaded to the device (HTTP 503 from the content delivery network).",
    ),
    (
        "UpdateInstallFailed",
        "The update was downloaded but installation failed with error 0x80070643; the device rolled back to the previous version.",
    ),
    (
        "ConfigValidationFailed",
        "The configuration was rejected by the device: the value of 'MeetingRoomDisplayName' exceeds the maximum length of 64 characters.",
    ),
    (
        "DiagnosticsUploadFailed",
        "Device logs were collected but could not be uploaded; the upload timed out after 600 seconds.",
    ),
    (
        "DeviceBusy",
        "The operation could not start because the device is in an active meeting.",
    ),
    (
        "SignInFailed",
        "Remote sign-in failed: the resource account password has expired or is invalid (AADSTS50126).",
    ),
    (
        "ManagementAgentUnreachable",
        "The device management agent did not acknowledge the new configuration.",
    ),
    (
        "InternalServerError",
        "An internal server error occurred while processing the operation. Retry the operation later.",
    ),
    (
        "OperationCancelled",
        "The operation was cancelled by an administrator before it completed.",
    ),
];

const T_RESTART: u8 = 0;
const T_CONFIG: u8 = 1;
const T_DIAG: u8 = 2;
const T_SOFTWARE: u8 = 3;
const T_LOGIN: u8 = 5;
const T_LOGOUT: u8 = 6;

const OP_TYPES: [OpType; 8] = [
    OpType {
        name: "deviceRestart",
        weight: 26.0,
        fail: 0.6,
        app_share: 0.35,
        dur: (30.0, 300.0),
        errors: &[(E_OFFLINE, 5), (E_TIMEOUT, 2), (E_BUSY, 3), (E_INTERNAL, 1)],
    },
    OpType {
        name: "configUpdate",
        weight: 30.0,
        fail: 0.8,
        app_share: 0.2,
        dur: (5.0, 60.0),
        errors: &[
            (E_CONFIG, 6),
            (E_OFFLINE, 3),
            (E_TIMEOUT, 1),
            (E_INTERNAL, 1),
        ],
    },
    OpType {
        name: "deviceDiagnostics",
        weight: 10.0,
        fail: 1.1,
        app_share: 0.05,
        dur: (60.0, 900.0),
        errors: &[
            (E_UPLOAD, 5),
            (E_OFFLINE, 3),
            (E_TIMEOUT, 2),
            (E_INTERNAL, 1),
        ],
    },
    OpType {
        name: "softwareUpdate",
        weight: 14.0,
        fail: 2.4,
        app_share: 0.7,
        dur: (600.0, 10_800.0),
        errors: &[
            (E_DOWNLOAD, 5),
            (E_INSTALL, 4),
            (E_TIMEOUT, 2),
            (E_OFFLINE, 2),
            (E_BUSY, 1),
        ],
    },
    OpType {
        name: "deviceManagementAgentConfigUpdate",
        weight: 10.0,
        fail: 0.9,
        app_share: 0.6,
        dur: (10.0, 120.0),
        errors: &[(E_AGENT, 4), (E_CONFIG, 2), (E_OFFLINE, 2), (E_INTERNAL, 1)],
    },
    OpType {
        name: "remoteLogin",
        weight: 4.5,
        fail: 1.6,
        app_share: 0.0,
        dur: (5.0, 90.0),
        errors: &[(E_SIGNIN, 6), (E_OFFLINE, 2), (E_BUSY, 1)],
    },
    OpType {
        name: "remoteLogout",
        weight: 4.0,
        fail: 0.7,
        app_share: 0.0,
        dur: (3.0, 45.0),
        errors: &[(E_OFFLINE, 3), (E_BUSY, 2), (E_INTERNAL, 1)],
    },
    OpType {
        name: "unknownFutureValue",
        weight: 1.5,
        fail: 1.0,
        app_share: 0.5,
        dur: (5.0, 600.0),
        errors: &[(E_INTERNAL, 3), (E_OFFLINE, 1)],
    },
];

const FIRST_NAMES: [&str; 40] = [
    "Amy",
    "Adele",
    "Alex",
    "Allan",
    "Bianca",
    "Brian",
    "Cameron",
    "Christie",
    "Debra",
    "Diego",
    "Emily",
    "Enrico",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Raul",
    "Sanjay",
    "Sofia",
    "Tomasz",
    "Wei",
    "Yuki",
    "Zoe",
    "Aisha",
    "Bruno",
    "Chloe",
    "Dmitri",
    "Elif",
    "Farah",
    "Gustav",
    "Hana",
];
const LAST_NAMES: [&str; 40] = [
    "Jones",
    "Vance",
    "Wilber",
    "Deyoung",
    "Ramos",
    "Johnson",
    "White",
    "Cline",
    "Berger",
    "Siciliani",
    "Braun",
    "Andreatta",
    "Archie",
    "Mueller",
    "Langer",
    "Lauer",
    "Sherman",
    "Gu",
    "Holloway",
    "Robinson",
    "Bowen",
    "Graham",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Razo",
    "Patel",
    "Costa",
    "Nowak",
    "Chen",
    "Tanaka",
    "Okafor",
    "Haddad",
    "Lindqvist",
    "Moreau",
    "Ivanova",
    "Yilmaz",
    "Rahman",
    "Eriksson",
    "Kimura",
];

struct Device {
    id: String,
    weight: f64,
    fail_mult: f64,
}

struct Identity {
    id: String,
    name: String,
    app: bool,
}

struct World {
    devices: Vec<Device>,
    dev_cum: Vec<f64>,
    idents: Vec<Identity>,
    /// Indices of admins (users) in `idents` and their cumulative weights.
    users: Vec<u16>,
    user_cum: Vec<f64>,
    /// Indices of applications in `idents` and their cumulative weights.
    apps: Vec<u16>,
    app_cum: Vec<f64>,
}

impl World {
    fn new(devices: Vec<Device>, users: Vec<(Identity, f64)>, apps: Vec<(Identity, f64)>) -> Self {
        let dev_cum = cumulative(devices.iter().map(|d| d.weight));
        let user_cum = cumulative(users.iter().map(|u| u.1));
        let app_cum = cumulative(apps.iter().map(|a| a.1));
        let mut idents = Vec::new();
        let mut user_ix = Vec::new();
        let mut app_ix = Vec::new();
        for (ident, _) in users {
            user_ix.push(idents.len() as u16);
            idents.push(ident);
        }
        for (ident, _) in apps {
            app_ix.push(idents.len() as u16);
            idents.push(ident);
        }
        World {
            devices,
            dev_cum,
            idents,
            users: user_ix,
            user_cum,
            apps: app_ix,
            app_cum,
        }
    }

    /// Devices with log-normal activity and a per-device failure multiplier:
    /// most near 1, about one in twenty much less reliable.
    fn random(rng: &mut ChaCha8Rng, n_devices: usize, n_admins: usize) -> Self {
        let devices = (0..n_devices)
            .map(|_| {
                let id = guid(rng);
                let weight = (0.7 * normal(rng)).exp();
                let fail_mult = if rng.random::<f64>() < 0.05 {
                    rng.random_range(3.0..8.0)
                } else {
                    (0.4 * normal(rng)).exp()
                };
                Device {
                    id,
                    weight,
                    fail_mult,
                }
            })
            .collect();
        let mut names = Vec::new();
        while names.len() < n_admins {
            let name = format!(
                "{} {}",
                FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())],
                LAST_NAMES[rng.random_range(0..LAST_NAMES.len())]
            );
            if !names.contains(&name) {
                names.push(name);
            }
        }
        // Zipf-like: a few admins do most of the work.
        let users = names
            .into_iter()
            .enumerate()
            .map(|(k, name)| {
                let ident = Identity {
                    id: guid(rng),
                    name,
                    app: false,
                };
                (ident, 1.0 / (k as f64 + 1.0).powf(0.9))
            })
            .collect();
        World::new(devices, users, default_apps(rng))
    }
}

fn default_apps(rng: &mut ChaCha8Rng) -> Vec<(Identity, f64)> {
    vec![
        (
            Identity {
                id: guid(rng),
                name: "Teams Rooms Pro Management".into(),
                app: true,
            },
            3.0,
        ),
        (
            Identity {
                id: guid(rng),
                name: "Contoso Device Automation".into(),
                app: true,
            },
            1.0,
        ),
    ]
}

/// One operation's full life; exports are snapshots of it at some instant.
#[derive(Debug, Clone)]
struct Op {
    id: Guid,
    device: u32,
    kind: u8,
    /// Status at the end of its life (or now, for ones still in flight).
    status: Status,
    created: i64,
    started: Option<i64>,
    completed: Option<i64>,
    by: u16,
    last_by: u16,
    error: Option<u8>,
}

struct GenParams {
    ops: usize,
    start: i64,
    /// The export instant: nothing happens after it.
    now: i64,
    /// In-flight operations were mostly created within this long before `now`.
    inflight_window: i64,
    /// Share of in-flight operations that are stuck (created days ago).
    stuck_share: f64,
}

/// A time of creation: admins work weekdays in business hours, the
/// management applications in a nightly maintenance window.
fn creation_time(rng: &mut ChaCha8Rng, p: &GenParams, app: bool) -> i64 {
    let days = ((p.now - p.start) / DAY).max(1);
    let start_day = p.start.div_euclid(DAY);
    let mut day = rng.random_range(0..days);
    for _ in 0..6 {
        let dow = (start_day + day + 3).rem_euclid(7); // 0 = Monday
        if app || dow < 5 || rng.random::<f64>() < 0.2 {
            break;
        }
        day = rng.random_range(0..days);
    }
    let tod = if app {
        HOUR + rng.random_range(0..7 * HOUR / 2)
    } else if rng.random::<f64>() < 0.06 {
        rng.random_range(0..DAY)
    } else {
        15 * HOUR / 2 + rng.random_range(0..21 * HOUR / 2)
    };
    (p.start + day * DAY + tod).min(p.now - MINUTE)
}

fn gen_ops(rng: &mut ChaCha8Rng, w: &World, p: &GenParams) -> Vec<Op> {
    // Calibrate so that ~8% of all operations fail: 95% are terminal and not cancelled.
    let total_w: f64 = w.devices.iter().map(|d| d.weight).sum();
    let mean_mult = w
        .devices
        .iter()
        .map(|d| d.weight * d.fail_mult)
        .sum::<f64>()
        / total_w;
    let type_w: f64 = OP_TYPES.iter().map(|t| t.weight).sum();
    let mean_type = OP_TYPES.iter().map(|t| t.weight * t.fail).sum::<f64>() / type_w;
    let base_fail = (0.08 / 0.95) / (mean_mult * mean_type);
    let type_cum = cumulative(OP_TYPES.iter().map(|t| t.weight));
    (0..p.ops)
        .map(|_| {
            let device = pick(rng, &w.dev_cum);
            let kind = pick(rng, &type_cum) as u8;
            gen_op(rng, w, p, device, kind, base_fail)
        })
        .collect()
}

fn gen_op(
    rng: &mut ChaCha8Rng,
    w: &World,
    p: &GenParams,
    device: usize,
    kind: u8,
    base_fail: f64,
) -> Op {
    let t = &OP_TYPES[kind as usize];
    let app = rng.random::<f64>() < t.app_share;
    let by = if app {
        w.apps[pick(rng, &w.app_cum)]
    } else {
        w.users[pick(rng, &w.user_cum)]
    };
    let u: f64 = rng.random();
    let status = if u < 0.03 {
        match rng.random::<f64>() {
            v if v < 0.30 => Status::Queued,
            v if v < 0.45 => Status::Scheduled,
            _ => Status::InProgress,
        }
    } else if u < 0.05 {
        Status::Cancelled
    } else {
        let pf = (base_fail * t.fail * w.devices[device].fail_mult).min(0.9);
        if rng.random::<f64>() < pf {
            Status::Failed
        } else {
            Status::Successful
        }
    };
    let queue_s = (15f64.ln() + 1.1 * normal(rng)).exp().clamp(1.0, 1800.0);
    let queue = secs(rng, queue_s);
    let dur_s = lognormal_between(rng, t.dur.0, t.dur.1);
    let dur = secs(rng, dur_s);
    let recent = |rng: &mut ChaCha8Rng, window: i64| {
        if rng.random::<f64>() < p.stuck_share {
            p.now - rng.random_range(DAY..6 * DAY)
        } else {
            let x: f64 = rng.random::<f64>().max(1e-9);
            p.now - ((-x.ln()) * window as f64) as i64 - MINUTE
        }
        .max(p.start)
    };
    let mut error = None;
    let (mut created, started, completed) = match status {
        Status::Queued => (recent(rng, p.inflight_window / 4), None, None),
        Status::Scheduled => (recent(rng, p.inflight_window), None, None),
        Status::InProgress => {
            let c = recent(rng, p.inflight_window).min(p.now - queue - SEC);
            (c, Some(c + queue), None)
        }
        Status::Successful | Status::Failed => {
            let c = creation_time(rng, p, app);
            let d = if status == Status::Failed {
                let e = pick_weighted(rng, t.errors);
                error = Some(e);
                if e == E_TIMEOUT {
                    (if kind == T_SOFTWARE { 4 * HOUR } else { HOUR })
                        + rng.random_range(0..5 * SEC)
                } else {
                    (dur as f64 * rng.random_range(0.1..1.0)) as i64 + SEC
                }
            } else {
                if rng.random::<f64>() < 0.12 {
                    error = Some(E_UNKNOWN);
                }
                dur
            };
            (c, Some(c + queue), Some(c + queue + d))
        }
        Status::Cancelled => {
            let c = creation_time(rng, p, app);
            if rng.random::<f64>() < 0.5 {
                error = Some(E_CANCELLED);
            }
            if rng.random::<f64>() < 0.6 {
                (c, None, Some(c + rng.random_range(30 * SEC..2 * HOUR)))
            } else {
                let part = (dur as f64 * rng.random_range(0.05..0.9)) as i64 + SEC;
                (c, Some(c + queue), Some(c + queue + part))
            }
        }
    };
    let mut started = started;
    let mut completed = completed;
    // Nothing completes after the export instant: move late ones back.
    if let Some(c) = completed
        && c > p.now - MINUTE
    {
        let shift = c - (p.now - MINUTE) + rng.random_range(0..6 * HOUR);
        created -= shift;
        started = started.map(|s| s - shift);
        completed = Some(c - shift);
    }
    let created = jitter_precision(rng, created);
    let started = started.map(|s| jitter_precision(rng, s));
    let completed = completed.map(|c| jitter_precision(rng, c));
    let last_by = if status == Status::Cancelled && (app || rng.random::<f64>() < 0.5) {
        w.users[pick(rng, &w.user_cum)]
    } else {
        by
    };
    Op {
        id: op_id(rng),
        device: device as u32,
        kind,
        status,
        created,
        started,
        completed,
        by,
        last_by,
        error,
    }
}

/// `op` (of the previous window) as this window's export shows it: its last
/// action moves into this window and its status changes: in-flight and
/// cancelled operations finish (successful, or failed about one time in
/// ten), successful ones become failed and failed ones successful (a retry).
/// Id, device, type, creation and creator stay, so the update replaces the
/// stored row wherever its creation put it.
fn update_op(rng: &mut ChaCha8Rng, w: &World, p: &GenParams, op: &Op) -> Op {
    let status = match op.status {
        Status::Successful => Status::Failed,
        Status::Failed => Status::Successful,
        _ if rng.random::<f64>() < 0.1 => Status::Failed,
        _ => Status::Successful,
    };
    let t = &OP_TYPES[op.kind as usize];
    let error = match status {
        Status::Failed => Some(pick_weighted(rng, t.errors)),
        _ => None,
    };
    // Within the window's first half, so most are long finished at its end.
    let done = p.start + rng.random_range(MINUTE..(p.now - p.start) / 2);
    let done = jitter_precision(rng, done);
    let started = op.started.unwrap_or(op.created + SEC).min(done);
    let last_by = if rng.random::<f64>() < 0.2 {
        w.users[pick(rng, &w.user_cum)]
    } else {
        op.last_by
    };
    Op {
        status,
        started: Some(started),
        completed: Some(done),
        last_by,
        error,
        ..*op
    }
}

// ---------------------------------------------------------------------------
// Records: an operation as seen by one export
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    None,
    MissingId,
    EmptyId,
    /// Replace a timestamp with an unparseable value (variant index).
    Timestamp(u8),
    /// Not an object at all (variant index).
    NotObject(u8),
    /// A cut-off NDJSON line.
    Garbled,
}

const BAD_TIMESTAMPS: [&str; 4] = [
    "not-a-date",
    "2026-02-30T10:00:00Z",
    "2026-11-31T07:45:00Z",
    "27/11/2026 09:15",
];

#[derive(Debug, Clone, Copy)]
struct Rec {
    op: u32,
    /// Export instant: the operation is shown as it was then.
    at: i64,
    /// Order of appearance in the output.
    key: i64,
    bad: Bad,
    /// Write this timestamp in the docs' hyphenated form (1 = created, 2 = started, 3 = completed, 4 = last action).
    hyphen: u8,
    /// Leave out `deviceId` even where the file style has it.
    no_device: bool,
}

impl Rec {
    fn new(op: usize, at: i64) -> Self {
        Rec {
            op: op as u32,
            at,
            key: at,
            bad: Bad::None,
            hyphen: 0,
            no_device: false,
        }
    }
}

/// The operation as an export taken at `at` shows it.
struct Snap {
    status: Status,
    started: Option<i64>,
    completed: Option<i64>,
    last: i64,
    last_by: u16,
    error: Option<u8>,
}

fn snapshot(op: &Op, at: i64) -> Snap {
    if op.completed.is_some_and(|c| c <= at)
        || (op.completed.is_none() && op.started.is_none_or(|s| s <= at))
    {
        let last = op.completed.or(op.started).unwrap_or(op.created);
        return Snap {
            status: op.status,
            started: op.started,
            completed: op.completed,
            last,
            last_by: op.last_by,
            error: op.error,
        };
    }
    match op.started {
        Some(s) if s <= at => Snap {
            status: Status::InProgress,
            started: Some(s),
            completed: None,
            last: s,
            last_by: op.by,
            error: None,
        },
        _ => Snap {
            status: if op.status == Status::Scheduled {
                Status::Scheduled
            } else {
                Status::Queued
            },
            started: None,
            completed: None,
            last: op.created,
            last_by: op.by,
            error: None,
        },
    }
}

struct Gen {
    world: World,
    ops: Vec<Op>,
    /// Each identity's set as compact Graph JSON, written once.
    compact_idents: Vec<Vec<u8>>,
    /// Each error (by code index) as compact Graph JSON.
    compact_errors: Vec<Vec<u8>>,
}

impl Gen {
    fn new(world: World, ops: Vec<Op>) -> Self {
        let compact_idents = world
            .idents
            .iter()
            .map(|i| {
                let mut out = Vec::new();
                compact(&mut out, &identity_json(&i.name, &i.id, i.app, false));
                out
            })
            .collect();
        let compact_errors = (0..=E_UNKNOWN)
            .map(|e| {
                let mut out = Vec::new();
                compact(&mut out, &error_json(e));
                out
            })
            .collect();
        Gen {
            world,
            ops,
            compact_idents,
            compact_errors,
        }
    }
}

/// An operation's `error` object.
fn error_json(e: u8) -> J<'static> {
    if e == E_UNKNOWN {
        return J::Obj(vec![("code", J::Null), ("message", J::Str("Unknown"))]);
    }
    let (code, message) = ERRORS[e as usize];
    J::Obj(vec![("code", J::Str(code)), ("message", J::Str(message))])
}

/// Records for the bulk formats: every operation once as it is at the end;
/// `dup_rate` of the first `new_ops` (the others are updates of an earlier
/// increment) also earlier, as an in-flight snapshot or an exact copy;
/// `bad_rate` of all records made bad.
fn plan_records(
    rng: &mut ChaCha8Rng,
    g: &Gen,
    new_ops: usize,
    dup_rate: f64,
    bad_rate: f64,
    ndjson: bool,
) -> Vec<Rec> {
    let mut recs =
        Vec::with_capacity(g.ops.len() + (g.ops.len() as f64 * dup_rate * 1.2) as usize + 16);
    for (i, op) in g.ops.iter().enumerate() {
        let last = op.completed.or(op.started).unwrap_or(op.created);
        let mut fin = Rec::new(i, i64::MAX);
        fin.key = last;
        if i < new_ops && rng.random::<f64>() < dup_rate {
            let progressed = op.completed.is_some() && rng.random::<f64>() < 0.65;
            let mut first = fin;
            if progressed {
                let from = op.started.unwrap_or(op.created);
                let to = op.completed.unwrap_or(from + SEC);
                first.at = from + rng.random_range(0..(to - from).max(1));
                first.key = first.at;
            }
            // The re-export comes later: hours to days after the last action.
            fin.key = last + rng.random_range(HOUR..3 * DAY);
            recs.push(first);
        }
        recs.push(fin);
    }
    recs.sort_by_key(|r| r.key);
    if bad_rate > 0.0 {
        for r in &mut recs {
            if rng.random::<f64>() < bad_rate {
                r.bad = pick_bad(rng, ndjson);
            }
        }
    }
    recs
}

fn pick_bad(rng: &mut ChaCha8Rng, ndjson: bool) -> Bad {
    let v = rng.random_range(0u8..4);
    match rng.random_range(0..20) {
        0..=4 => Bad::MissingId,
        5..=6 => Bad::EmptyId,
        7..=13 => Bad::Timestamp(v),
        14..=16 if ndjson => Bad::Garbled,
        _ => Bad::NotObject(v),
    }
}

// ---------------------------------------------------------------------------
// A small JSON tree with two writers: compact (Graph) and pretty (PowerShell)
// ---------------------------------------------------------------------------

enum J<'a> {
    Null,
    Str(&'a str),
    String(String),
    Ts(i64, TsFmt),
    Int(i64),
    Obj(Vec<(&'a str, J<'a>)>),
    Arr(Vec<J<'a>>),
    /// Compact JSON written beforehand (identity sets, errors, records): the
    /// compact writer copies it; the pretty writer never gets one.
    Raw(&'a [u8]),
    Bytes(Vec<u8>),
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    // Nearly every string needs no escape: copy those whole.
    if !needs_escape(s.as_bytes()) {
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Whether any byte is `"`, `\\` or a control character, eight bytes at a
/// time (the generator's speed is mostly this scan and the copy).
fn needs_escape(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().unwrap());
        // Bytes below 0x20 (ASCII only: bytes >= 0x80 never match), '"', '\\'.
        let below = v.wrapping_sub(0x2020_2020_2020_2020) & !v & HI;
        if below | has_zero(v ^ (LO * u64::from(b'"'))) | has_zero(v ^ (LO * u64::from(b'\\'))) != 0
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b == b'"' || b == b'\\' || b < 0x20)
}

fn push_key(out: &mut Vec<u8>, k: &str, pascal: bool) {
    if pascal && k.as_bytes().first().is_some_and(u8::is_ascii_lowercase) {
        out.push(b'"');
        out.push(k.as_bytes()[0].to_ascii_uppercase());
        out.extend_from_slice(&k.as_bytes()[1..]);
        out.push(b'"');
    } else {
        push_str(out, k);
    }
}

fn push_scalar(out: &mut Vec<u8>, v: &J) {
    match v {
        J::Null => out.extend_from_slice(b"null"),
        J::Str(s) => push_str(out, s),
        J::String(s) => push_str(out, s),
        J::Ts(t, f) => push_ts(out, *t, *f),
        J::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        J::Raw(b) => out.extend_from_slice(b),
        J::Bytes(b) => out.extend_from_slice(b),
        J::Obj(_) | J::Arr(_) => unreachable!(),
    }
}

fn compact(out: &mut Vec<u8>, v: &J) {
    match v {
        J::Obj(fields) => {
            out.push(b'{');
            for (i, (k, val)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_str(out, k);
                out.push(b':');
                compact(out, val);
            }
            out.push(b'}');
        }
        J::Arr(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                compact(out, item);
            }
            out.push(b']');
        }
        scalar => push_scalar(out, scalar),
    }
}

fn indent(out: &mut Vec<u8>, level: usize) {
    out.extend(std::iter::repeat_n(b' ', 4 * level));
}

/// `ConvertTo-Json` layout: 4-space indent, `"Key": value`, PascalCase keys.
fn pretty(out: &mut Vec<u8>, v: &J, level: usize) {
    match v {
        J::Raw(_) | J::Bytes(_) => unreachable!("compact JSON in a pretty document"),
        J::Obj(fields) if fields.is_empty() => out.extend_from_slice(b"{}"),
        J::Arr(items) if items.is_empty() => out.extend_from_slice(b"[]"),
        J::Obj(fields) => {
            out.extend_from_slice(b"{\n");
            for (i, (k, val)) in fields.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b",\n");
                }
                indent(out, level + 1);
                push_key(out, k, true);
                out.extend_from_slice(b": ");
                pretty(out, val, level + 1);
            }
            out.push(b'\n');
            indent(out, level);
            out.push(b'}');
        }
        J::Arr(items) => {
            out.extend_from_slice(b"[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b",\n");
                }
                indent(out, level + 1);
                pretty(out, item, level + 1);
            }
            out.push(b'\n');
            indent(out, level);
            out.push(b']');
        }
        scalar => push_scalar(out, scalar),
    }
}

/// How one export file writes its operations.
#[derive(Debug, Clone, Copy, Default)]
struct Style {
    /// PowerShell: PascalCase statuses, no `@odata.type`, `AdditionalProperties`.
    pascal: bool,
    /// Add a `deviceId` property (scripts that merge many devices do).
    device_id: bool,
    /// Write unset timestamps as Graph's `0001-01-01T00:00:00Z` instead of null.
    zero_unset: bool,
    /// `succeeded` / `canceled` instead of `successful` / `cancelled`.
    aliases: bool,
    /// Write times at this UTC offset (minutes).
    offset_min: i16,
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn identity_set<'a>(g: &'a Gen, ix: u16, style: Style) -> J<'a> {
    if !style.pascal {
        return J::Raw(&g.compact_idents[ix as usize]);
    }
    let ident = &g.world.idents[ix as usize];
    identity_json(&ident.name, &ident.id, ident.app, style.pascal)
}

/// An identity set holding one user or application.
fn identity_json<'a>(name: &'a str, id: &'a str, app: bool, pascal: bool) -> J<'a> {
    let (type_name, kind_key, kind_val) = if app {
        (
            "#microsoft.graph.teamworkApplicationIdentity",
            "applicationIdentityType",
            "aadApplication",
        )
    } else {
        (
            "#microsoft.graph.teamworkUserIdentity",
            "userIdentityType",
            "aadUser",
        )
    };
    let inner = if pascal {
        J::Obj(vec![
            ("displayName", J::Str(name)),
            ("id", J::Str(id)),
            (kind_key, J::Str(kind_val)),
            (
                "AdditionalProperties",
                J::Obj(vec![("@odata.type", J::Str(type_name))]),
            ),
        ])
    } else {
        J::Obj(vec![
            ("@odata.type", J::Str(type_name)),
            ("id", J::Str(id)),
            ("displayName", J::Str(name)),
            (kind_key, J::Str(kind_val)),
        ])
    };
    let (application, user) = if app {
        (inner, J::Null)
    } else {
        (J::Null, inner)
    };
    J::Obj(vec![
        ("application", application),
        ("device", J::Null),
        ("user", user),
    ])
}

fn record_json<'a>(g: &'a Gen, r: &Rec, style: Style) -> J<'a> {
    if let Bad::NotObject(v) = r.bad {
        return match v {
            0 => J::Null,
            1 => J::Str("Operation could not be retrieved"),
            2 => J::Int(0),
            _ => J::Arr(Vec::new()),
        };
    }
    let op = &g.ops[r.op as usize];
    let s = snapshot(op, r.at);
    let ts = |field: u8, v: Option<i64>| -> J<'a> {
        if let Bad::Timestamp(b) = r.bad
            && field == 1
        {
            return J::Str(BAD_TIMESTAMPS[b as usize % BAD_TIMESTAMPS.len()]);
        }
        match v {
            Some(t) => J::Ts(
                t,
                TsFmt {
                    offset_min: style.offset_min,
                    hyphen: r.hyphen == field,
                },
            ),
            None if style.zero_unset => J::Str(ZERO_TIME),
            None => J::Null,
        }
    };
    let status = if style.pascal {
        s.status.pascal()
    } else if style.aliases {
        s.status.alias()
    } else {
        s.status.camel()
    };
    let error = match s.error {
        None => J::Null,
        Some(e) if !style.pascal => J::Raw(&g.compact_errors[e as usize]),
        Some(e) => error_json(e),
    };
    let mut f: Vec<(&'a str, J<'a>)> = Vec::with_capacity(13);
    if !style.pascal {
        f.push((
            "@odata.type",
            J::Str("#microsoft.graph.teamworkDeviceOperation"),
        ));
    }
    match r.bad {
        Bad::MissingId => {}
        Bad::EmptyId => f.push(("id", J::Str(""))),
        _ => f.push(("id", J::Str(&op.id))),
    }
    f.push(("operationType", J::Str(OP_TYPES[op.kind as usize].name)));
    f.push(("status", J::Str(status)));
    f.push(("createdDateTime", ts(1, Some(op.created))));
    f.push(("startedDateTime", ts(2, s.started)));
    f.push(("completedDateTime", ts(3, s.completed)));
    f.push(("lastActionDateTime", ts(4, Some(s.last))));
    f.push(("createdBy", identity_set(g, op.by, style)));
    f.push(("lastActionBy", identity_set(g, s.last_by, style)));
    f.push(("error", error));
    if style.device_id && !r.no_device {
        f.push(("deviceId", J::Str(&g.world.devices[op.device as usize].id)));
    }
    if style.pascal {
        f.push(("AdditionalProperties", J::Obj(Vec::new())));
    }
    J::Obj(f)
}

/// `compact(out, &record_json(g, r, style))` without building the tree:
/// the bulk writers' hot path, the same bytes (`compact_record_is_the_tree`).
fn compact_record(out: &mut Vec<u8>, g: &Gen, r: &Rec, style: Style) {
    if style.pascal || matches!(r.bad, Bad::NotObject(_)) {
        return compact(out, &record_json(g, r, style));
    }
    let op = &g.ops[r.op as usize];
    let s = snapshot(op, r.at);
    let ts = |out: &mut Vec<u8>, key: &[u8], field: u8, v: Option<i64>| {
        out.extend_from_slice(key);
        if let Bad::Timestamp(b) = r.bad
            && field == 1
        {
            return push_str(out, BAD_TIMESTAMPS[b as usize % BAD_TIMESTAMPS.len()]);
        }
        match v {
            Some(t) => push_ts(
                out,
                t,
                TsFmt {
                    offset_min: style.offset_min,
                    hyphen: r.hyphen == field,
                },
            ),
            None if style.zero_unset => push_str(out, ZERO_TIME),
            None => out.extend_from_slice(b"null"),
        }
    };
    out.extend_from_slice(b"{\"@odata.type\":\"#microsoft.graph.teamworkDeviceOperation\"");
    match r.bad {
        Bad::MissingId => {}
        Bad::EmptyId => out.extend_from_slice(b",\"id\":\"\""),
        _ => {
            out.extend_from_slice(b",\"id\":\"");
            out.extend_from_slice(&op.id.0);
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"operationType\":");
    push_str(out, OP_TYPES[op.kind as usize].name);
    out.extend_from_slice(b",\"status\":");
    push_str(
        out,
        if style.aliases {
            s.status.alias()
        } else {
            s.status.camel()
        },
    );
    ts(out, b",\"createdDateTime\":", 1, Some(op.created));
    ts(out, b",\"startedDateTime\":", 2, s.started);
    ts(out, b",\"completedDateTime\":", 3, s.completed);
    ts(out, b",\"lastActionDateTime\":", 4, Some(s.last));
    out.extend_from_slice(b",\"createdBy\":");
    out.extend_from_slice(&g.compact_idents[op.by as usize]);
    out.extend_from_slice(b",\"lastActionBy\":");
    out.extend_from_slice(&g.compact_idents[s.last_by as usize]);
    out.extend_from_slice(b",\"error\":");
    match s.error {
        None => out.extend_from_slice(b"null"),
        Some(e) => out.extend_from_slice(&g.compact_errors[e as usize]),
    }
    if style.device_id && !r.no_device {
        out.extend_from_slice(b",\"deviceId\":");
        push_str(out, &g.world.devices[op.device as usize].id);
    }
    out.push(b'}');
}

/// One NDJSON line (with its line end); a garbled record is cut off mid-way.
fn ndjson_line(out: &mut Vec<u8>, g: &Gen, r: &Rec, style: Style, eol: &[u8]) {
    let from = out.len();
    compact_record(out, g, r, style);
    if r.bad == Bad::Garbled {
        let len = out.len() - from;
        let mut cut = from + len / 2 + (mix(u64::from(r.op)) as usize % (len / 3).max(1));
        while cut > from + 1 && (out[cut] & 0xc0) == 0x80 {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out.extend_from_slice(eol);
}

// ---------------------------------------------------------------------------
// Output files
// ---------------------------------------------------------------------------

/// Where the files go.
enum Dest {
    /// The file system, at the paths given.
    Folder,
    /// Memory.
    Memory(Files),
}

/// What one file is written into.
enum Target {
    File(File),
    Background(Background),
    Memory(Vec<u8>),
}

impl Write for Target {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Target::File(f) => f.write(b),
            Target::Background(f) => f.write(b),
            Target::Memory(v) => v.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::File(f) => f.flush(),
            Target::Background(_) | Target::Memory(_) => Ok(()),
        }
    }
}

/// A file written by a thread of its own: the kernel's copying of the bytes
/// into the page cache, as long as making them on a machine whose memory
/// was not touched before, then overlaps making the next ones.
struct Background {
    full: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    empty: std::sync::mpsc::Receiver<Vec<u8>>,
    writer: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl Background {
    fn new(mut file: File) -> Self {
        let (full, to_write) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (give_back, empty) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            for buf in to_write {
                file.write_all(&buf)?;
                // The maker may be gone (it failed): the buffer is then dropped.
                let _ = give_back.send(buf);
            }
            file.flush()
        });
        Background {
            full: Some(full),
            empty,
            writer: Some(writer),
        }
    }

    /// Waits for the writes; the first error of the writer thread, if any.
    fn finish(&mut self) -> io::Result<()> {
        drop(self.full.take());
        match self.writer.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the writer thread panicked")),
            None => Ok(()),
        }
    }
}

impl Write for Background {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let mut buf = self.empty.try_recv().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(b);
        let sent = self.full.as_ref().map(|full| full.send(buf));
        match sent {
            Some(Ok(())) => Ok(b.len()),
            // The writer stopped: its error says why.
            _ => Err(self
                .finish()
                .err()
                .unwrap_or_else(|| io::Error::other("the writer thread stopped"))),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Sink {
    Plain(BufWriter<Target>),
    Gz(Box<BufWriter<GzEncoder<Target>>>),
}

impl Sink {
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(b),
            Sink::Gz(w) => w.write_all(b),
        }
    }
    fn finish(self) -> io::Result<Target> {
        match self {
            Sink::Plain(w) => w.into_inner().map_err(|e| e.into_error()),
            Sink::Gz(w) => {
                let enc = (*w).into_inner().map_err(|e| e.into_error())?;
                let mut target = enc.finish()?;
                target.flush()?;
                Ok(target)
            }
        }
    }
}

struct Writer {
    gzip: bool,
    level: Compression,
    files: usize,
    bytes: u64,
    dest: Dest,
}

impl Writer {
    fn new(dest: Dest) -> Self {
        Writer {
            gzip: false,
            level: Compression::fast(),
            files: 0,
            bytes: 0,
            dest,
        }
    }

    /// Open `path` (plus `.gz` when gzipping); returns the sink and the real
    /// path. `stream`: a big file written in many pieces, by a thread of its own.
    fn open(&mut self, path: &Path, stream: bool) -> io::Result<(Sink, PathBuf)> {
        let mut path = path.to_path_buf();
        if self.gzip {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".gz");
            path.set_file_name(name);
        }
        let target = match self.dest {
            Dest::Folder => {
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir)?;
                }
                let file = File::create(&path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                if stream {
                    Target::Background(Background::new(file))
                } else {
                    Target::File(file)
                }
            }
            Dest::Memory(_) => Target::Memory(Vec::new()),
        };
        let sink = if self.gzip {
            Sink::Gz(Box::new(BufWriter::with_capacity(
                1 << 20,
                GzEncoder::new(target, self.level),
            )))
        } else {
            Sink::Plain(BufWriter::with_capacity(1 << 20, target))
        };
        Ok((sink, path))
    }

    fn close(&mut self, sink: Sink, path: &Path) -> io::Result<()> {
        let target = sink.finish()?;
        self.files += 1;
        match (target, &mut self.dest) {
            (Target::File(f), _) => {
                drop(f);
                self.bytes += fs::metadata(path)?.len();
            }
            (Target::Background(mut f), _) => {
                f.finish()?;
                self.bytes += fs::metadata(path)?.len();
            }
            (Target::Memory(bytes), Dest::Memory(files)) => {
                self.bytes += bytes.len() as u64;
                files.push((path.to_path_buf(), bytes));
            }
            (Target::Memory(_), Dest::Folder) => unreachable!("a file in memory for a folder"),
        }
        Ok(())
    }

    /// Write a whole file at once.
    fn file(&mut self, path: &Path, content: &[u8]) -> io::Result<()> {
        let (mut sink, real) = self.open(path, false)?;
        sink.write_all(content)?;
        self.close(sink, &real)
    }
}

/// `recs` cut into `n` runs of equal length (give or take one), in order,
/// each with the name of its file: `<stem>.<ext>` for one file, else
/// `<stem>-0001.<ext>`, `<stem>-0002.<ext>`, ... (name order is read order).
fn split<'r>(recs: &'r [Rec], n: usize, stem: &str, ext: &str) -> Vec<(String, &'r [Rec])> {
    if n == 1 {
        return vec![(format!("{stem}.{ext}"), recs)];
    }
    (0..n)
        .map(|i| {
            let part = &recs[i * recs.len() / n..(i + 1) * recs.len() / n];
            (format!("{stem}-{:04}.{ext}", i + 1), part)
        })
        .collect()
}

fn write_ndjson(w: &mut Writer, g: &Gen, recs: &[Rec], out: &Path, files: usize) -> io::Result<()> {
    let style = Style {
        device_id: true,
        ..Style::default()
    };
    let mut buf = Vec::with_capacity(1 << 20);
    for (name, part) in split(recs, files, "operations", "ndjson") {
        let (mut sink, path) = w.open(&out.join(name), true)?;
        buf.clear();
        for r in part {
            ndjson_line(&mut buf, g, r, style, b"\n");
            if buf.len() > (1 << 20) - 4096 {
                sink.write_all(&buf)?;
                buf.clear();
            }
        }
        sink.write_all(&buf)?;
        w.close(sink, &path)?;
    }
    Ok(())
}

fn write_arrays(w: &mut Writer, g: &Gen, recs: &[Rec], out: &Path) -> io::Result<()> {
    const PER_FILE: usize = 50_000;
    let style = Style {
        device_id: true,
        ..Style::default()
    };
    for (n, chunk) in recs.chunks(PER_FILE).enumerate() {
        let (mut sink, path) = w.open(
            &out.join(format!("arrays/operations-{:04}.json", n + 1)),
            true,
        )?;
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(b"[\n");
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                buf.extend_from_slice(b",\n");
            }
            compact_record(&mut buf, g, r, style);
            if buf.len() > (1 << 20) - 4096 {
                sink.write_all(&buf)?;
                buf.clear();
            }
        }
        buf.extend_from_slice(b"\n]\n");
        sink.write_all(&buf)?;
        w.close(sink, &path)?;
    }
    Ok(())
}

/// Records grouped by device, in order of appearance within each device.
fn by_device<'r>(g: &Gen, recs: &'r [Rec]) -> Vec<Vec<&'r Rec>> {
    let mut groups: Vec<Vec<&Rec>> = vec![Vec::new(); g.world.devices.len()];
    for r in recs {
        groups[g.ops[r.op as usize].device as usize].push(r);
    }
    groups
}

const GRAPH: &str = "https://graph.microsoft.com/beta";

fn context_url(device: &str) -> String {
    format!("{GRAPH}/$metadata#teamwork/devices('{device}')/operations")
}

fn next_link(device: &str, token: &str) -> String {
    format!("{GRAPH}/teamwork/devices/{device}/operations?$skiptoken={token}")
}

/// A Graph list page as a tree.
fn page_json<'a>(
    g: &'a Gen,
    recs: &[&Rec],
    style: Style,
    context: Option<String>,
    count: Option<usize>,
    next: Option<String>,
) -> J<'a> {
    let mut f = Vec::with_capacity(4);
    if let Some(c) = context {
        f.push(("@odata.context", J::String(c)));
    }
    if let Some(n) = count {
        f.push(("@odata.count", J::Int(n as i64)));
    }
    f.push((
        "value",
        J::Arr(
            recs.iter()
                .map(|r| {
                    let mut out = Vec::with_capacity(1024);
                    compact_record(&mut out, g, r, style);
                    J::Bytes(out)
                })
                .collect(),
        ),
    ));
    if let Some(n) = next {
        f.push(("@odata.nextLink", J::String(n)));
    }
    J::Obj(f)
}

fn write_pages(w: &mut Writer, g: &Gen, recs: &[Rec], out: &Path, seed: u64) -> io::Result<()> {
    let style = Style::default();
    let mut buf = Vec::with_capacity(1 << 16);
    for (d, group) in by_device(g, recs).iter().enumerate() {
        let dev = &g.world.devices[d].id;
        let pages: Vec<&[&Rec]> = group.chunks(50).collect();
        for (p, page) in pages.iter().enumerate() {
            let next = (p + 1 < pages.len()).then(|| next_link(dev, &skiptoken(seed, d, p + 1)));
            buf.clear();
            compact(
                &mut buf,
                &page_json(
                    g,
                    page,
                    style,
                    Some(context_url(dev)),
                    Some(group.len()),
                    next,
                ),
            );
            buf.push(b'\n');
            w.file(
                &out.join(format!("pages/{dev}-page-{:04}.json", p + 1)),
                &buf,
            )?;
        }
    }
    Ok(())
}

/// One `$batch` response: a device page with status 200.
fn batch_response<'a>(
    g: &'a Gen,
    device: usize,
    recs: &[&Rec],
    style: Style,
    next: Option<String>,
) -> J<'a> {
    let dev = &g.world.devices[device].id;
    J::Obj(vec![
        ("id", J::String(format!("{dev}-operations"))),
        ("status", J::Int(200)),
        (
            "headers",
            J::Obj(vec![(
                "Content-Type",
                J::Str(
                    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
                ),
            )]),
        ),
        ("body", page_json(g, recs, style, None, None, next)),
    ])
}

fn write_batches(w: &mut Writer, g: &Gen, recs: &[Rec], out: &Path, seed: u64) -> io::Result<()> {
    // Round r asks every device for its page r (following the nextLinks of
    // round r-1); 20 requests per $batch, so request ids are unique per file.
    let groups = by_device(g, recs);
    let paged: Vec<Vec<&[&Rec]>> = groups.iter().map(|grp| grp.chunks(50).collect()).collect();
    let rounds = paged.iter().map(Vec::len).max().unwrap_or(0);
    let mut file_no = 0;
    let mut buf = Vec::with_capacity(1 << 20);
    for round in 0..rounds {
        let wanted: Vec<usize> = (0..paged.len())
            .filter(|&d| paged[d].len() > round)
            .collect();
        for devs in wanted.chunks(20) {
            let responses = devs
                .iter()
                .map(|&d| {
                    let dev = &g.world.devices[d].id;
                    let next = (round + 1 < paged[d].len())
                        .then(|| next_link(dev, &skiptoken(seed, d, round + 1)));
                    batch_response(g, d, paged[d][round], Style::default(), next)
                })
                .collect();
            buf.clear();
            compact(&mut buf, &J::Obj(vec![("responses", J::Arr(responses))]));
            buf.push(b'\n');
            file_no += 1;
            w.file(&out.join(format!("batch/batch-{file_no:05}.json")), &buf)?;
        }
    }
    Ok(())
}

fn write_pascal(w: &mut Writer, g: &Gen, recs: &[Rec], out: &Path) -> io::Result<()> {
    let style = Style {
        pascal: true,
        ..Style::default()
    };
    let mut buf = Vec::with_capacity(1 << 20);
    for (d, group) in by_device(g, recs).iter().enumerate() {
        if group.is_empty() {
            continue;
        }
        buf.clear();
        pascal_bytes(&mut buf, g, group, style);
        w.file(
            &out.join(format!("devices/{}.json", g.world.devices[d].id)),
            &buf,
        )?;
    }
    Ok(())
}

/// `... | ConvertTo-Json -Depth 5`: an array, or a bare object for a single
/// operation (PowerShell unrolls one-element pipelines). Windows PowerShell's
/// `Out-File -Encoding utf8` adds a UTF-8 BOM and CRLF line ends.
fn pascal_bytes(buf: &mut Vec<u8>, g: &Gen, group: &[&Rec], style: Style) {
    buf.extend_from_slice(b"\xEF\xBB\xBF");
    let from = buf.len();
    if let [only] = group {
        let mut r = **only;
        if matches!(r.bad, Bad::NotObject(_)) {
            r.bad = Bad::MissingId;
        }
        pretty(buf, &record_json(g, &r, style), 0);
    } else {
        let items = group.iter().map(|r| record_json(g, r, style)).collect();
        pretty(buf, &J::Arr(items), 0);
    }
    buf.push(b'\n');
    let body = buf.split_off(from);
    buf.reserve(body.len() + body.len() / 16);
    for b in body {
        if b == b'\n' {
            buf.push(b'\r');
        }
        buf.push(b);
    }
}

/// `... | ConvertTo-Json -Depth 5 | Out-File` over every device at once:
/// one array (a bare object for a single operation) per file, each
/// operation with its `DeviceId`, written as it is made so that files of
/// many GiB need no more memory than the operations themselves.
fn write_ps_array(
    w: &mut Writer,
    g: &Gen,
    recs: &[Rec],
    out: &Path,
    files: usize,
    utf16: bool,
) -> io::Result<()> {
    let style = Style {
        pascal: true,
        device_id: true,
        ..Style::default()
    };
    let mut text = Vec::with_capacity(1 << 16);
    let mut buf = Vec::with_capacity(1 << 20);
    for (name, part) in split(recs, files, "powershell/operations", "json") {
        let (mut sink, path) = w.open(&out.join(name), true)?;
        buf.clear();
        buf.extend_from_slice(if utf16 { b"\xFF\xFE" } else { b"\xEF\xBB\xBF" });
        text.clear();
        if let [only] = part {
            let mut r = *only;
            if matches!(r.bad, Bad::NotObject(_)) {
                r.bad = Bad::MissingId;
            }
            pretty(&mut text, &record_json(g, &r, style), 0);
        } else {
            text.extend_from_slice(b"[");
            for (i, r) in part.iter().enumerate() {
                text.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
                indent(&mut text, 1);
                pretty(&mut text, &record_json(g, r, style), 1);
                if text.len() > 1 << 15 {
                    push_ps_text(&mut buf, &text, utf16);
                    text.clear();
                }
                if buf.len() > (1 << 20) - (1 << 17) {
                    sink.write_all(&buf)?;
                    buf.clear();
                }
            }
            text.extend_from_slice(if part.is_empty() { b"]" } else { b"\n]" });
        }
        text.push(b'\n');
        push_ps_text(&mut buf, &text, utf16);
        sink.write_all(&buf)?;
        w.close(sink, &path)?;
    }
    Ok(())
}

/// `text` (UTF-8, LF) as `Out-File` writes it: CRLF, in UTF-8 or UTF-16 LE.
fn push_ps_text(out: &mut Vec<u8>, text: &[u8], utf16: bool) {
    let mut push = |piece: &[u8]| {
        if !utf16 {
            out.extend_from_slice(piece);
        } else if piece.is_ascii() {
            out.extend(piece.iter().flat_map(|&b| [b, 0]));
        } else {
            let s = std::str::from_utf8(piece).expect("the writers write UTF-8");
            out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        }
    };
    let mut lines = text.split(|&b| b == b'\n');
    if let Some(first) = lines.next() {
        push(first);
    }
    for line in lines {
        push(b"\r\n");
        push(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMATS: [Format; 7] = [
        Format::Ndjson,
        Format::Pages,
        Format::Array,
        Format::Batch,
        Format::Pascal,
        Format::PsArray,
        Format::Sample,
    ];

    fn options(format: Format, gzip: bool) -> Options {
        Options {
            ops: 2_000,
            format,
            dup_rate: 0.05,
            bad_rate: 0.02,
            gzip,
            ..Options::default()
        }
    }

    /// The files under `dir` (relative path, bytes), in path order.
    fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, out);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_path_buf();
                    out.push((rel, fs::read(&p).unwrap()));
                }
            }
        }
        let mut out = Vec::new();
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    /// 64-bit FNV-1a over every file's path and content (gzipped files
    /// decompressed: their compressed bytes belong to the compression
    /// library).
    fn fingerprint(files: &[(PathBuf, Vec<u8>)]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (path, bytes) in files {
            let mut content = Vec::new();
            let bytes = if path.extension().is_some_and(|e| e == "gz") {
                io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut content)
                    .unwrap();
                &content
            } else {
                bytes
            };
            for b in path
                .to_string_lossy()
                .bytes()
                .chain([0])
                .chain(bytes.iter().copied())
            {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        h
    }

    #[test]
    fn memory_holds_what_the_folder_gets() {
        for format in FORMATS {
            for gzip in [false, true] {
                let opts = options(format, gzip);
                let dir = tempfile::tempdir().unwrap();
                let on_disk = generate(&opts, dir.path()).unwrap();
                let (in_memory, mut mem) = generate_in_memory(&opts).unwrap();
                mem.sort();
                assert_eq!(files(dir.path()), mem, "{format:?} gzip {gzip}");
                assert_eq!(
                    (on_disk.files, on_disk.bytes, on_disk.records),
                    (in_memory.files, in_memory.bytes, in_memory.records)
                );
            }
        }
    }

    /// The same options give the same bytes: these fingerprints change only
    /// when the generator's output does, which breaks the comparability of
    /// benchmark data and the regeneration of `sample-data/`.
    #[test]
    fn output_is_stable() {
        let got: Vec<(Format, u64)> = FORMATS
            .iter()
            .map(|&f| {
                let (_, mut files) = generate_in_memory(&options(f, false)).unwrap();
                files.sort();
                (f, fingerprint(&files))
            })
            .collect();
        assert_eq!(
            got,
            [
                (Format::Ndjson, 675639723199250360),
                (Format::Pages, 8000271857954410179),
                (Format::Array, 3385685861004572876),
                (Format::Batch, 12262661632722918403),
                (Format::Pascal, 14620715500933264984),
                (Format::PsArray, 11947562836475975226),
                (Format::Sample, 15206006534434315793),
            ]
        );
    }

    /// The value of every `"key":"value"` in compact JSON lines, per line.
    fn values<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
        let pat = format!("\"{key}\":\"");
        text.lines()
            .filter_map(|line| {
                let at = line.find(&pat)? + pat.len();
                Some(&line[at..at + line[at..].find('"')?])
            })
            .collect()
    }

    fn ndjson_text(opts: &Options) -> String {
        let (_, files) = generate_in_memory(opts).unwrap();
        files
            .into_iter()
            .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
            .collect()
    }

    fn increment(k: u32, updates: f64) -> Options {
        Options {
            ops: 3_000,
            days: 7,
            increment: k,
            updates_from_previous: updates,
            ..Options::default()
        }
    }

    #[test]
    fn increments_follow_each_other_on_one_fleet() {
        let texts: Vec<String> = (0..3).map(|k| ndjson_text(&increment(k, 0.0))).collect();
        let mut all_ids = std::collections::HashSet::new();
        for (k, text) in texts.iter().enumerate() {
            let ids = values(text, "id");
            assert!(
                (3_010..3_060).contains(&ids.len()),
                "increment {k}: {} records",
                ids.len()
            );
            let distinct: std::collections::HashSet<_> = ids.into_iter().collect();
            assert_eq!(distinct.len(), 3_000);
            for id in distinct {
                assert!(all_ids.insert(id), "id {id} of increment {k} seen before");
            }
            // Each window is its own week: 2026-10-01 + 7k days.
            let from = format!("2026-10-{:02}", 1 + 7 * k);
            let to = format!("2026-10-{:02}", 8 + 7 * k);
            for t in values(text, "createdDateTime") {
                assert!(
                    t >= from.as_str() && t < to.as_str(),
                    "{t} outside week {k}"
                );
            }
        }
        fn devices(t: &str) -> std::collections::BTreeSet<&str> {
            values(t, "deviceId").into_iter().collect()
        }
        assert_eq!(devices(&texts[0]), devices(&texts[2]));
    }

    #[test]
    fn updates_rewrite_the_previous_increment() {
        let previous = ndjson_text(&increment(1, 0.0));
        let with_updates = ndjson_text(&increment(2, 0.1));
        // The new operations are the same as without updates.
        let plain = ndjson_text(&increment(2, 0.0));
        let new_ids: std::collections::HashSet<_> = values(&plain, "id").into_iter().collect();
        // Per id: its last action and status in the previous increment.
        let last = |text: &str| -> std::collections::HashMap<String, (String, String)> {
            text.lines()
                .map(|l| {
                    let v = |k| values(l, k)[0].to_string();
                    (v("id"), (v("lastActionDateTime"), v("status")))
                })
                .collect()
        };
        let before = last(&previous);
        let after = last(&with_updates);
        let updated: Vec<_> = after
            .keys()
            .filter(|id| !new_ids.contains(id.as_str()))
            .collect();
        assert_eq!(updated.len(), 300);
        for id in updated {
            let (old_t, old_s) = &before[id];
            let (new_t, new_s) = &after[id];
            assert!(
                new_t > old_t && new_t.as_str() >= "2026-10-15",
                "{id}: {old_t} -> {new_t}"
            );
            assert_ne!(old_s, new_s, "{id}");
        }
        assert!(generate_in_memory(&increment(0, 0.1)).is_err());
    }

    #[test]
    fn files_split_the_records_in_order() {
        for format in [Format::Ndjson, Format::PsArray] {
            let one = options(format, false);
            let (s1, whole) = generate_in_memory(&one).unwrap();
            let (s3, parts) = generate_in_memory(&Options {
                files: 3,
                ..one.clone()
            })
            .unwrap();
            assert_eq!((s1.records, s3.files), (s3.records, 3));
            let names: Vec<_> = parts
                .iter()
                .map(|(p, _)| p.to_string_lossy().into_owned())
                .collect();
            let sizes: Vec<usize> = parts.iter().map(|(_, b)| b.len()).collect();
            assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo < hi / 10, "{sizes:?}");
            if format == Format::Ndjson {
                assert_eq!(parts.concat_bytes(), whole[0].1);
            }
        }
        assert!(
            generate_in_memory(&Options {
                files: 2,
                ..options(Format::Pages, false)
            })
            .is_err()
        );
    }

    trait Concat {
        fn concat_bytes(&self) -> Vec<u8>;
    }
    impl Concat for Files {
        fn concat_bytes(&self) -> Vec<u8> {
            self.iter().flat_map(|(_, b)| b.iter().copied()).collect()
        }
    }

    #[test]
    fn ps_array_in_utf16_is_the_same_text() {
        let utf8 = options(Format::PsArray, false);
        let (_, a) = generate_in_memory(&utf8).unwrap();
        let (_, b) = generate_in_memory(&Options {
            utf16: true,
            ..utf8
        })
        .unwrap();
        let text = std::str::from_utf8(&a[0].1).unwrap();
        let text = text.strip_prefix('\u{feff}').unwrap();
        assert!(
            text.starts_with("[\r\n    {\r\n        \"Id\": "),
            "{}",
            &text[..40]
        );
        assert!(text.contains("\"DeviceId\": ") && text.ends_with("}\r\n]\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
        let mut want = vec![0xFF, 0xFE];
        want.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(b[0].1, want);
        assert!(
            generate_in_memory(&Options {
                utf16: true,
                ..options(Format::Ndjson, false)
            })
            .is_err()
        );
    }

    /// The direct writer makes the tree's bytes, for every style and bad record.
    #[test]
    fn compact_record_is_the_tree() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let world = World::random(&mut rng, 20, 8);
        let p = GenParams {
            ops: 500,
            start: days_from_civil(2026, 10, 1) * DAY,
            now: days_from_civil(2026, 10, 8) * DAY,
            inflight_window: 4 * HOUR,
            stuck_share: 0.1,
        };
        let ops = gen_ops(&mut rng, &world, &p);
        let g = Gen::new(world, ops);
        let recs = plan_records(&mut rng, &g, 500, 0.3, 0.3, true);
        let (mut direct, mut tree) = (Vec::new(), Vec::new());
        for (i, r) in recs.iter().enumerate() {
            let mut r = *r;
            r.hyphen = (i % 5) as u8;
            r.no_device = i % 7 == 0;
            r.at = if i % 3 == 0 {
                g.ops[r.op as usize].created + HOUR
            } else {
                r.at
            };
            let style = Style {
                pascal: i % 11 == 0,
                device_id: i % 2 == 0,
                zero_unset: i % 3 == 0,
                aliases: i % 4 == 0,
                offset_min: if i % 6 == 0 { -330 } else { 0 },
            };
            direct.clear();
            tree.clear();
            compact_record(&mut direct, &g, &r, style);
            compact(&mut tree, &record_json(&g, &r, style));
            assert_eq!(
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&tree)
            );
        }
    }

    #[test]
    fn decode_input_is_stable() {
        let (block, page) = decode_input::ndjson_block_and_page(1 << 16, 50);
        let ts = decode_input::timestamps(64).join("\n");
        let got: Vec<u64> = [&block[..], &page[..], ts.as_bytes()]
            .iter()
            .map(|b| fingerprint(&[(PathBuf::new(), b.to_vec())]))
            .collect();
        assert_eq!(
            got,
            [
                7100476154560004584,
                1671761032797705832,
                8347207038050515435
            ]
        );
    }

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(parse_day("2026-10-01"), Some(days_from_civil(2026, 10, 1)));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("2026-1"), None);
    }
}
