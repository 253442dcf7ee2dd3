//! Deterministic generator of synthetic Microsoft Graph (beta)
//! `teamworkDeviceOperation` exports, for benchmarks, load tests and the
//! bundled `sample-data/` folder.
//!
//! ```text
//! cargo run --release --example gen -- --ops 1000000 --format ndjson --out /tmp/ops
//! cargo run --release --example gen -- --ops 200000 --format pages --gzip --out /tmp/pages
//! cargo run --release --example gen -- --format sample --out sample-data
//! ```
//!
//! The same arguments always give byte-identical output: every random choice
//! comes from one `ChaCha8Rng` seeded with `--seed`.
//!
//! Formats (see the fleetops input contract):
//! - `ndjson`: `operations.ndjson`, one operation per line, each with a `deviceId`;
//! - `pages`: Graph list pages, `pages/<deviceId>-page-NNNN.json`, at most 50
//!   operations each, the device id only in `@odata.context` / `@odata.nextLink`;
//! - `array`: JSON arrays of up to 50,000 operations with `deviceId`, `arrays/operations-NNNN.json`;
//! - `batch`: `$batch` responses of 20 device pages each, `batch/batch-NNNNN.json`;
//! - `pascal`: PowerShell `ConvertTo-Json` output, PascalCase and 4-space
//!   indented, one file per device `devices/<deviceId>.json` (a device with a
//!   single operation gets a bare object, as PowerShell writes it);
//! - `sample`: the small, story-driven `sample-data/` folder (fixed devices and
//!   dates; only `--seed` and `--out` apply). It writes the data files only;
//!   `README.md` and `expected.py` beside them are maintained by hand.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, ValueEnum};
use flate2::Compression;
use flate2::write::GzEncoder;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
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
    /// The bundled sample-data folder (fixed story; only --seed and --out apply).
    Sample,
}

/// Generate synthetic Graph teamworkDeviceOperation exports.
#[derive(Debug, Parser)]
#[command(name = "gen")]
struct Args {
    /// Number of distinct operations.
    #[arg(long, default_value_t = 100_000)]
    ops: usize,
    /// Output shape.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    format: Format,
    /// Number of devices (default: ops / 300, at least 5).
    #[arg(long)]
    devices: Option<usize>,
    /// Random seed; the same arguments give byte-identical output.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Fraction of operations exported a second time, later in the output.
    #[arg(long, default_value_t = 0.01)]
    dup_rate: f64,
    /// Fraction of records that are bad (missing id, bad timestamp, not an object, garbled line).
    #[arg(long, default_value_t = 0.0)]
    bad_rate: f64,
    /// Gzip every output file (adds `.gz`).
    #[arg(long)]
    gzip: bool,
    /// First day of the time window (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2026-10-01")]
    start: String,
    /// Length of the time window in days.
    #[arg(long, default_value_t = 28)]
    days: u32,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("gen: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.dup_rate) || !(0.0..=1.0).contains(&args.bad_rate) {
        return Err("--dup-rate and --bad-rate must be between 0 and 1".into());
    }
    if args.days == 0 {
        return Err("--days must be at least 1".into());
    }
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;

    if args.format == Format::Sample {
        let stats = sample::make(&mut rng, &args.out).map_err(|e| e.to_string())?;
        eprintln!(
            "gen: sample: {} ops as {} records ({} bad) in {} files, {} bytes, {:.1}s",
            stats.ops,
            stats.records,
            stats.bad,
            stats.files,
            stats.bytes,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }

    let start_day = parse_day(&args.start)
        .ok_or_else(|| format!("--start {:?}: expected YYYY-MM-DD", args.start))?;
    let start = start_day * DAY;
    let now = start + i64::from(args.days) * DAY;
    let n_devices = args.devices.unwrap_or(args.ops / 300).max(5);
    let world = World::random(&mut rng, n_devices, 36);
    let params = GenParams {
        ops: args.ops,
        start,
        now,
        inflight_window: 4 * HOUR,
        stuck_share: 0.1,
    };
    let ops = gen_ops(&mut rng, &world, &params);
    let g = Gen { world, ops };
    let ndjson = args.format == Format::Ndjson;
    let recs = plan_records(&mut rng, &g, args.dup_rate, args.bad_rate, ndjson);
    let bad = recs.iter().filter(|r| r.bad != Bad::None).count();

    let mut w = Writer {
        gzip: args.gzip,
        level: Compression::fast(),
        files: 0,
        bytes: 0,
    };
    let io_err = |e: io::Error| e.to_string();
    match args.format {
        Format::Ndjson => write_ndjson(&mut w, &g, &recs, &args.out).map_err(io_err)?,
        Format::Array => write_arrays(&mut w, &g, &recs, &args.out).map_err(io_err)?,
        Format::Pages => write_pages(&mut w, &g, &recs, &args.out, args.seed).map_err(io_err)?,
        Format::Batch => write_batches(&mut w, &g, &recs, &args.out, args.seed).map_err(io_err)?,
        Format::Pascal => write_pascal(&mut w, &g, &recs, &args.out).map_err(io_err)?,
        Format::Sample => unreachable!(),
    }
    eprintln!(
        "gen: {} ops on {} devices as {} records ({} re-exports, {} bad) in {} files, {} bytes ({:.0} bytes/record), {:.1}s",
        g.ops.len(),
        g.world.devices.len(),
        recs.len(),
        recs.len() - g.ops.len(),
        bad,
        w.files,
        w.bytes,
        w.bytes as f64 / recs.len().max(1) as f64,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Time: 100 ns ticks since the Unix epoch (Graph writes up to 7 fraction digits)
// ---------------------------------------------------------------------------

const SEC: i64 = 10_000_000;
const MINUTE: i64 = 60 * SEC;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = (if y >= 0 { y } else { y - 399 }) / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

/// `YYYY-MM-DD` → days since the epoch.
fn parse_day(s: &str) -> Option<i64> {
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

fn guid(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
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
    id: String,
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
        id: guid(rng),
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
}

/// Records for the bulk formats: every operation once as it is at the end;
/// `dup_rate` of them also earlier, as an in-flight snapshot or an exact
/// copy; `bad_rate` of all records made bad.
fn plan_records(
    rng: &mut ChaCha8Rng,
    g: &Gen,
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
        if rng.random::<f64>() < dup_rate {
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
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
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
    let ident = &g.world.idents[ix as usize];
    let (type_name, kind_key, kind_val) = if ident.app {
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
    let inner = if style.pascal {
        J::Obj(vec![
            ("displayName", J::Str(&ident.name)),
            ("id", J::Str(&ident.id)),
            (kind_key, J::Str(kind_val)),
            (
                "AdditionalProperties",
                J::Obj(vec![("@odata.type", J::Str(type_name))]),
            ),
        ])
    } else {
        J::Obj(vec![
            ("@odata.type", J::Str(type_name)),
            ("id", J::Str(&ident.id)),
            ("displayName", J::Str(&ident.name)),
            (kind_key, J::Str(kind_val)),
        ])
    };
    let (app, user) = if ident.app {
        (inner, J::Null)
    } else {
        (J::Null, inner)
    };
    J::Obj(vec![
        ("application", app),
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
        Some(E_UNKNOWN) => J::Obj(vec![("code", J::Null), ("message", J::Str("Unknown"))]),
        Some(e) => {
            let (code, message) = ERRORS[e as usize];
            J::Obj(vec![("code", J::Str(code)), ("message", J::Str(message))])
        }
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

/// One NDJSON line (with its line end); a garbled record is cut off mid-way.
fn ndjson_line(out: &mut Vec<u8>, g: &Gen, r: &Rec, style: Style, eol: &[u8]) {
    let from = out.len();
    compact(out, &record_json(g, r, style));
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

enum Sink {
    Plain(BufWriter<File>),
    Gz(Box<BufWriter<GzEncoder<File>>>),
}

impl Sink {
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(b),
            Sink::Gz(w) => w.write_all(b),
        }
    }
    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gz(w) => {
                let enc = (*w).into_inner().map_err(|e| e.into_error())?;
                enc.finish()?.flush()
            }
        }
    }
}

struct Writer {
    gzip: bool,
    level: Compression,
    files: usize,
    bytes: u64,
}

impl Writer {
    /// Open `path` (plus `.gz` when gzipping); returns the sink and the real path.
    fn open(&mut self, path: &Path) -> io::Result<(Sink, PathBuf)> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut path = path.to_path_buf();
        if self.gzip {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".gz");
            path.set_file_name(name);
        }
        let file = File::create(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let sink = if self.gzip {
            Sink::Gz(Box::new(BufWriter::with_capacity(
                1 << 20,
                GzEncoder::new(file, self.level),
            )))
        } else {
            Sink::Plain(BufWriter::with_capacity(1 << 20, file))
        };
        Ok((sink, path))
    }

    fn close(&mut self, sink: Sink, path: &Path) -> io::Result<()> {
        sink.finish()?;
        self.files += 1;
        self.bytes += fs::metadata(path)?.len();
        Ok(())
    }

    /// Write a whole file at once.
    fn file(&mut self, path: &Path, content: &[u8]) -> io::Result<()> {
        let (mut sink, real) = self.open(path)?;
        sink.write_all(content)?;
        self.close(sink, &real)
    }
}

fn write_ndjson(w: &mut Writer, g: &Gen, recs: &[Rec], out: &Path) -> io::Result<()> {
    let style = Style {
        device_id: true,
        ..Style::default()
    };
    let (mut sink, path) = w.open(&out.join("operations.ndjson"))?;
    let mut buf = Vec::with_capacity(1 << 20);
    for r in recs {
        ndjson_line(&mut buf, g, r, style, b"\n");
        if buf.len() > (1 << 20) - 4096 {
            sink.write_all(&buf)?;
            buf.clear();
        }
    }
    sink.write_all(&buf)?;
    w.close(sink, &path)
}

fn write_arrays(w: &mut Writer, g: &Gen, recs: &[Rec], out: &Path) -> io::Result<()> {
    const PER_FILE: usize = 50_000;
    let style = Style {
        device_id: true,
        ..Style::default()
    };
    for (n, chunk) in recs.chunks(PER_FILE).enumerate() {
        let (mut sink, path) = w.open(&out.join(format!("arrays/operations-{:04}.json", n + 1)))?;
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(b"[\n");
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                buf.extend_from_slice(b",\n");
            }
            compact(&mut buf, &record_json(g, r, style));
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
        J::Arr(recs.iter().map(|r| record_json(g, r, style)).collect()),
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

// ---------------------------------------------------------------------------
// The bundled sample-data folder
// ---------------------------------------------------------------------------

mod sample {
    //! A small fleet with a story, exported the many ways real tenants do.
    //!
    //! Each file is a snapshot of the fleet at its export instant: operations
    //! still running then appear as queued / inProgress, and a later export
    //! shows them finished. Folders and devices:
    //!
    //! | device | what | exported as |
    //! |---|---|---|
    //! | D0 | Board room, Teams Rooms on Windows | Graph list pages, 20 per page, `pages/board-room/` |
    //! | D1 | Huddle 3.12, Teams Rooms on Android (unreliable) | pages without `@odata.context` in `device_id=<D1>/` |
    //! | D2 | Training room, Teams Rooms on Windows | `$batch` response |
    //! | D3 | Reception phone | `$batch` response, a bare single operation |
    //! | D4 | Executive office phone | PowerShell export `devices/<D4>.json` |
    //! | D5 | Board room panel | JSON array; older gzipped page |
    //! | D6 | Lobby display | CRLF NDJSON, local times, status aliases |
    //! | D7 | Focus room collaboration bar | JSON array |
    //! | D8 | New display, no operations yet | an empty page |
    //!
    //! plus a gzipped NDJSON archive (with a BOM) of everything up to 9 Nov
    //! and a fleet-wide NDJSON of the last days.

    use super::*;

    pub struct Stats {
        pub ops: usize,
        pub records: usize,
        pub bad: usize,
        pub files: usize,
        pub bytes: u64,
    }

    const DEVICES: [(&str, f64, f64); 9] = [
        ("5c1d8b2e-3f4a-4b6c-9d7e-0a1b2c3d4e5f", 1.4, 0.7),
        ("8e2f0a91-6b7c-4d3e-a1f2-93b4c5d6e7f8", 1.25, 5.0),
        ("0b7a4c63-2d1e-4f59-8a6b-7c8d9e0f1a2b", 1.0, 0.8),
        ("c4d5e6f7-1a2b-4c3d-9e8f-5a6b7c8d9e0f", 0.55, 0.6),
        ("71e3a9d4-5b2c-4e8f-b6a7-2c3d4e5f6a7b", 0.45, 0.9),
        ("2a9f6e1d-7c3b-4a58-9e4d-6f5a4b3c2d1e", 0.55, 0.8),
        ("d93b2c4e-8f1a-4b7d-a2c3-4e5f6a7b8c9d", 0.5, 1.0),
        ("46c8e1f2-9a3b-4d5c-8e7f-1a2b3c4d5e6f", 0.9, 0.9),
        ("e58a7b6c-4d3e-4f2a-9b1c-0d9e8f7a6b5c", 0.0, 1.0),
    ];
    /// A device that was retired: its `$batch` request answers 404.
    const RETIRED: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

    const ADMINS: [(&str, f64); 8] = [
        ("Megan Bowen", 12.0),
        ("Diego Siciliani", 3.0),
        ("Adele Vance", 2.0),
        ("Lee Gu", 2.0),
        ("Patti Fernandez", 1.0),
        ("Nestor Wilke", 1.0),
        ("Johanna Lorenz", 0.5),
        ("Pradeep Gupta", 0.5),
    ];

    /// Every record goes through here: counts it and notes which operations
    /// some valid record covers.
    struct Tally {
        records: usize,
        bad: usize,
        covered: Vec<bool>,
    }

    impl Tally {
        fn add(&mut self, recs: &[Rec]) {
            self.records += recs.len();
            self.bad += recs.iter().filter(|r| r.bad != Bad::None).count();
            for r in recs.iter().filter(|r| r.bad == Bad::None) {
                self.covered[r.op as usize] = true;
            }
        }
    }

    pub fn make(rng: &mut ChaCha8Rng, out: &Path) -> io::Result<Stats> {
        let devices = DEVICES
            .iter()
            .map(|&(id, weight, fail_mult)| Device {
                id: id.into(),
                weight,
                fail_mult,
            })
            .collect();
        let users = ADMINS
            .iter()
            .map(|&(name, w)| {
                let ident = Identity {
                    id: guid(rng),
                    name: name.into(),
                    app: false,
                };
                (ident, w)
            })
            .collect();
        let apps = default_apps(rng);
        let world = World::new(devices, users, apps);
        let start = at(2026, 10, 31, 0, 0, 0);
        let now = at(2026, 11, 27, 18, 0, 0);
        let params = GenParams {
            ops: 420,
            start,
            now,
            inflight_window: 3 * HOUR,
            stuck_share: 0.0,
        };
        let mut ops = gen_ops(rng, &world, &params);

        // Hand-placed operations that carry the story.
        let admin = |k: usize| world.users[k];
        let app = world.apps[0];
        let automation = world.apps[1];
        let mut inject = |device: u32,
                          kind: u8,
                          status: Status,
                          times: [Option<i64>; 3],
                          by: u16,
                          error: Option<u8>| {
            ops.push(Op {
                id: guid(rng),
                device,
                kind,
                status,
                created: times[0].unwrap_or_default(),
                started: times[1],
                completed: times[2],
                by,
                last_by: by,
                error,
            });
            ops.len() - 1
        };
        // Two operations stuck in progress for days.
        inject(
            1,
            T_SOFTWARE,
            Status::InProgress,
            [
                Some(at(2026, 11, 21, 2, 4, 11) + 3_276_115),
                Some(at(2026, 11, 21, 2, 5, 37) + 1_180_000),
                None,
            ],
            app,
            None,
        );
        inject(
            6,
            T_DIAG,
            Status::InProgress,
            [
                Some(at(2026, 11, 24, 10, 29, 2) + 5_500_000),
                Some(at(2026, 11, 24, 10, 30, 14) + 9_128_437),
                None,
            ],
            admin(0),
            None,
        );
        // A software update waiting for tonight's maintenance window.
        inject(
            0,
            T_SOFTWARE,
            Status::Scheduled,
            [Some(at(2026, 11, 26, 16, 45, 3) + 1_873_402), None, None],
            app,
            None,
        );
        // Running at the fleet export, finished (with the "Unknown" error
        // object) by the time someone fetched it alone: `{"value": {...}}`.
        let fetched_later = inject(
            2,
            T_SOFTWARE,
            Status::Successful,
            [
                Some(at(2026, 11, 27, 16, 20, 8) + 4_500_000),
                Some(at(2026, 11, 27, 16, 24, 51)),
                Some(at(2026, 11, 27, 19, 41, 3) + 4_500_000),
            ],
            app,
            Some(E_UNKNOWN),
        );
        // A restart on the reception phone, fetched on its own.
        let fetched_bare = inject(
            3,
            T_RESTART,
            Status::Successful,
            [
                Some(at(2026, 11, 27, 9, 12, 40) + 1_100_000),
                Some(at(2026, 11, 27, 9, 12, 58) + 7_300_000),
                Some(at(2026, 11, 27, 9, 14, 31) + 2_000_000),
            ],
            admin(0),
            None,
        );
        // A cancelled restart on the lobby display (written as "canceled").
        let cancelled = inject(
            6,
            T_RESTART,
            Status::Cancelled,
            [
                Some(at(2026, 11, 17, 12, 2, 9) + 6_600_000),
                None,
                Some(at(2026, 11, 17, 12, 9, 45) + 10_000),
            ],
            admin(2),
            Some(E_CANCELLED),
        );
        // Running when an export was taken, finished in a later one: the
        // nightly exports catch the maintenance window in progress.
        let t = |d: u32, hh: i64, mm: i64, ss: i64, ticks: i64| {
            Some(at(2026, 11, d, hh, mm, ss) + ticks)
        };
        for (device, kind, status, times, by, error) in [
            // archive (9 Nov 02:40) → D1 pages: the unreliable huddle room fails its update.
            (
                1,
                T_SOFTWARE,
                Status::Failed,
                [
                    t(9, 1, 55, 2, 1_183_004),
                    t(9, 2, 1, 47, 0),
                    t(9, 4, 12, 31, 5_770_000),
                ],
                app,
                Some(E_DOWNLOAD),
            ),
            // archive → array: the panel's nightly restart.
            (
                5,
                T_RESTART,
                Status::Successful,
                [
                    t(9, 2, 38, 10, 6_400_000),
                    t(9, 2, 39, 55, 2_017_336),
                    t(9, 2, 41, 30, 9_000_000),
                ],
                app,
                None,
            ),
            // D1 pages (26 Nov 03:05) → fleet export.
            (
                1,
                T_RESTART,
                Status::Successful,
                [
                    t(26, 3, 3, 0, 7_731_205),
                    t(26, 3, 4, 12, 0),
                    t(26, 3, 7, 40, 3_100_000),
                ],
                app,
                None,
            ),
            // D0 pages (27 Nov 02:50) → fleet export.
            (
                0,
                T_SOFTWARE,
                Status::Successful,
                [
                    t(27, 2, 31, 16, 4_410_000),
                    t(27, 2, 33, 2, 8_853_219),
                    t(27, 3, 58, 44, 1_000_000),
                ],
                app,
                Some(E_UNKNOWN),
            ),
            // batch (27 Nov 03:10) → fleet export: in progress, then failed.
            (
                2,
                T_SOFTWARE,
                Status::Failed,
                [
                    t(27, 2, 58, 12, 0),
                    t(27, 3, 2, 37, 6_120_000),
                    t(27, 4, 47, 9, 2_298_113),
                ],
                app,
                Some(E_INSTALL),
            ),
            // batch → fleet export: still queued at 03:10.
            (
                3,
                T_CONFIG,
                Status::Successful,
                [
                    t(27, 3, 9, 51, 3_000_000),
                    t(27, 3, 10, 22, 9_731_000),
                    t(27, 3, 10, 49, 5_000_000),
                ],
                automation,
                None,
            ),
            // PowerShell export (27 Nov 08:00) → fleet export: diagnostics running.
            (
                4,
                T_DIAG,
                Status::Successful,
                [
                    t(27, 7, 51, 40, 2_210_000),
                    t(27, 7, 52, 3, 8_002_114),
                    t(27, 8, 6, 19, 4_400_000),
                ],
                admin(1),
                None,
            ),
            // Only in the PowerShell export: the phone's sign-in failed.
            (
                4,
                T_LOGIN,
                Status::Failed,
                [
                    t(18, 9, 14, 5, 6_900_000),
                    t(18, 9, 14, 9, 1_000_000),
                    t(18, 9, 14, 38, 5_531_000),
                ],
                admin(0),
                Some(E_SIGNIN),
            ),
        ] {
            inject(device, kind, status, times, by, error);
        }
        // A sign-out whose export line lost its deviceId.
        let orphan = inject(
            7,
            T_LOGOUT,
            Status::Successful,
            [
                Some(at(2026, 11, 27, 14, 5, 12) + 8_000_000),
                Some(at(2026, 11, 27, 14, 5, 20)),
                Some(at(2026, 11, 27, 14, 5, 41) + 330_000),
            ],
            admin(3),
            None,
        );
        ops[cancelled].last_by = admin(0);

        // Extra ids for records that must be rejected (they appear nowhere else).
        let reject_ops: Vec<usize> = (0..5)
            .map(|k| {
                let mut op = ops[k * 37 % 400].clone();
                op.id = guid(rng);
                ops.push(op);
                ops.len() - 1
            })
            .collect();
        let g = Gen { world, ops };
        let n_real = g.ops.len() - reject_ops.len();

        let mut w = Writer {
            gzip: false,
            level: Compression::default(),
            files: 0,
            bytes: 0,
        };
        let mut tally = Tally {
            records: 0,
            bad: 0,
            covered: vec![false; g.ops.len()],
        };
        // Operations of `devices` created in [from, t] as an export at `t`
        // shows them, in order of creation.
        let select = |devices: &[u32], from: i64, t: i64, pred: &dyn Fn(&Op) -> bool| -> Vec<Rec> {
            let mut v: Vec<Rec> = (0..n_real)
                .filter(|&i| {
                    let op = &g.ops[i];
                    devices.contains(&op.device)
                        && op.created >= from
                        && op.created <= t
                        && pred(op)
                })
                .map(|i| Rec::new(i, t))
                .collect();
            v.sort_by_key(|r| (g.ops[r.op as usize].created, r.op));
            v
        };
        let all = |_: &Op| true;
        let dev = |d: usize| g.world.devices[d].id.as_str();
        let nov9 = at(2026, 11, 9, 0, 0, 0);

        // 1. archive/operations-2026-11-09.ndjson.gz: every device up to the
        //    nightly export of 9 Nov 02:40, as it saw them; UTF-8 BOM, LF.
        let t = at(2026, 11, 9, 2, 40, 0);
        let recs = select(&[0, 1, 2, 3, 4, 5, 6, 7], start, t, &all);
        tally.add(&recs);
        let mut buf = b"\xEF\xBB\xBF".to_vec();
        let style = Style {
            device_id: true,
            ..Style::default()
        };
        for r in &recs {
            ndjson_line(&mut buf, &g, r, style, b"\n");
        }
        w.gzip = true;
        w.file(&out.join("archive/operations-2026-11-09.ndjson"), &buf)?;

        // 2. archive/board-room-panel-2026-11-02.json.gz: one list page of D5.
        let t = at(2026, 11, 2, 12, 0, 0);
        let recs = select(&[5], start, t, &all);
        tally.add(&recs);
        let refs: Vec<&Rec> = recs.iter().collect();
        let page = page_json(
            &g,
            &refs,
            Style::default(),
            Some(context_url(dev(5))),
            Some(refs.len()),
            None,
        );
        buf.clear();
        compact(&mut buf, &page);
        buf.push(b'\n');
        w.file(&out.join("archive/board-room-panel-2026-11-02.json"), &buf)?;
        w.gzip = false;

        // 3. pages/board-room/: D0's whole history, newest first, 20 per page,
        //    pretty-printed as Graph Explorer shows it; unset times as 0001-01-01;
        //    three records in the docs' hyphenated time form.
        let t = at(2026, 11, 27, 2, 50, 0);
        let mut recs = select(&[0], start, t, &all);
        tally.add(&recs);
        recs.reverse();
        let late = at(2026, 11, 24, 0, 0, 0);
        let mut hyphens = 0u8;
        for r in recs.iter_mut().rev() {
            let op = &g.ops[r.op as usize];
            // Only records that appear once: not in the archive, not in the fleet export.
            if hyphens < 3
                && op.created > at(2026, 11, 10, 0, 0, 0)
                && op.completed.is_some_and(|c| c < late)
                && op.started.is_some()
            {
                hyphens += 1;
                r.hyphen = hyphens + 1; // started, completed, last action
            }
        }
        let style = Style {
            zero_unset: true,
            ..Style::default()
        };
        let refs: Vec<&Rec> = recs.iter().collect();
        let pages: Vec<&[&Rec]> = refs.chunks(20).collect();
        for (p, chunk) in pages.iter().enumerate() {
            let next = (p + 1 < pages.len()).then(|| next_link(dev(0), &skiptoken(7, 0, p + 1)));
            let page = page_json(
                &g,
                chunk,
                style,
                Some(context_url(dev(0))),
                Some(refs.len()),
                next,
            );
            buf.clear();
            pretty_graph(&mut buf, &page);
            w.file(
                &out.join(format!("pages/board-room/page-{:02}.json", p + 1)),
                &buf,
            )?;
        }

        // 4. pages/new-display/page-01.json: D8 has no operations yet.
        let page = page_json(
            &g,
            &[],
            Style::default(),
            Some(context_url(dev(8))),
            Some(0),
            None,
        );
        buf.clear();
        compact(&mut buf, &page);
        buf.push(b'\n');
        w.file(&out.join("pages/new-display/page-01.json"), &buf)?;

        // 5. device_id=<D1>/: D1 since 9 Nov, fetched with odata.metadata=none:
        //    no @odata.context; the device id is in the nextLinks and the folder.
        let t = at(2026, 11, 26, 3, 5, 0);
        let mut recs = select(&[1], nov9, t, &all);
        tally.add(&recs);
        recs.reverse();
        let refs: Vec<&Rec> = recs.iter().collect();
        let pages: Vec<&[&Rec]> = refs.chunks(20).collect();
        for (p, chunk) in pages.iter().enumerate() {
            let next = (p + 1 < pages.len()).then(|| next_link(dev(1), &skiptoken(11, 1, p + 1)));
            let page = page_json(&g, chunk, Style::default(), None, None, next);
            buf.clear();
            compact(&mut buf, &page);
            buf.push(b'\n');
            w.file(
                &out.join(format!(
                    "device_id={}/operations-page-{}.json",
                    dev(1),
                    p + 1
                )),
                &buf,
            )?;
        }

        // 6. batch/batch-2026-11-27.json: D2 and D3 since 9 Nov, plus a 404
        //    for a retired device. Pages of 50 with nextLinks in further files.
        let t = at(2026, 11, 27, 3, 10, 0);
        let d2 = select(&[2], nov9, t, &all);
        let d3 = select(&[3], nov9, t, &all);
        tally.add(&d2);
        tally.add(&d3);
        let d2: Vec<&Rec> = d2.iter().rev().collect();
        let d3: Vec<&Rec> = d3.iter().rev().collect();
        let style = Style {
            zero_unset: true,
            ..Style::default()
        };
        let parts: [(usize, Vec<&[&Rec]>); 2] =
            [(2, d2.chunks(50).collect()), (3, d3.chunks(50).collect())];
        let rounds = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
        for round in 0..rounds.max(1) {
            let mut responses = Vec::new();
            for (d, pages) in &parts {
                if let Some(chunk) = pages.get(round) {
                    let next = (round + 1 < pages.len())
                        .then(|| next_link(dev(*d), &skiptoken(13, *d, round + 1)));
                    responses.push(batch_response(&g, *d, chunk, style, next));
                }
            }
            if round == 0 {
                responses.push(J::Obj(vec![
                    ("id", J::String(format!("{RETIRED}-operations"))),
                    ("status", J::Int(404)),
                    (
                        "headers",
                        J::Obj(vec![("Content-Type", J::Str("application/json"))]),
                    ),
                    (
                        "body",
                        J::Obj(vec![(
                            "error",
                            J::Obj(vec![
                                ("code", J::Str("NotFound")),
                                (
                                    "message",
                                    J::String(format!(
                                        "Teamwork device '{RETIRED}' was not found."
                                    )),
                                ),
                            ]),
                        )]),
                    ),
                ]));
            }
            buf.clear();
            compact(&mut buf, &J::Obj(vec![("responses", J::Arr(responses))]));
            buf.push(b'\n');
            let name = if round == 0 {
                "batch/batch-2026-11-27.json".to_string()
            } else {
                format!("batch/batch-2026-11-27-{}.json", round + 1)
            };
            w.file(&out.join(name), &buf)?;
        }

        // 7. devices/<D4>.json: PowerShell, Get-MgBetaTeamworkDeviceOperation | ConvertTo-Json.
        let t = at(2026, 11, 27, 8, 0, 0);
        let recs = select(&[4], nov9, t, &all);
        tally.add(&recs);
        let refs: Vec<&Rec> = recs.iter().collect();
        buf.clear();
        pascal_bytes(
            &mut buf,
            &g,
            &refs,
            Style {
                pascal: true,
                ..Style::default()
            },
        );
        w.file(&out.join(format!("devices/{}.json", dev(4))), &buf)?;

        // 8. array/panel-and-focus-room-2026-11-26.json: D5 and D7 since 9 Nov,
        //    with deviceId; one null element, one record dated 31 November.
        let t = at(2026, 11, 26, 17, 0, 0);
        let mut recs = select(&[5, 7], nov9, t, &all);
        let mut null_el = Rec::new(reject_ops[0], t);
        null_el.bad = Bad::NotObject(0);
        let mut nov31 = Rec::new(reject_ops[1], t);
        nov31.bad = Bad::Timestamp(2);
        recs.insert(recs.len() / 3, null_el);
        recs.insert(2 * recs.len() / 3, nov31);
        tally.add(&recs);
        let style = Style {
            device_id: true,
            ..Style::default()
        };
        buf.clear();
        buf.extend_from_slice(b"[\n");
        for (i, r) in recs.iter().enumerate() {
            if i > 0 {
                buf.extend_from_slice(b",\n");
            }
            compact(&mut buf, &record_json(&g, r, style));
        }
        buf.extend_from_slice(b"\n]\n");
        w.file(
            &out.join("array/panel-and-focus-room-2026-11-26.json"),
            &buf,
        )?;

        // 9. ndjson/lobby-display-export.ndjson: D6 since 9 Nov from a Windows
        //    script: CRLF, local time (+01:00), "succeeded"/"canceled", one
        //    record with an empty id, a trailing blank line.
        let t = at(2026, 11, 27, 9, 0, 0);
        let mut recs = select(&[6], nov9, t, &all);
        let mut empty_id = Rec::new(reject_ops[2], t);
        empty_id.bad = Bad::EmptyId;
        recs.insert(recs.len() / 2, empty_id);
        tally.add(&recs);
        let style = Style {
            device_id: true,
            aliases: true,
            offset_min: 60,
            ..Style::default()
        };
        buf.clear();
        for r in &recs {
            ndjson_line(&mut buf, &g, r, style, b"\r\n");
        }
        buf.extend_from_slice(b"\r\n");
        w.file(&out.join("ndjson/lobby-display-export.ndjson"), &buf)?;

        // 10. ndjson/fleet-2026-11-27.ndjson: every device, everything created
        //     since 24 Nov or still running then, at 18:00 on 27 Nov; one line
        //     lost its deviceId; a cut-off line, a record without id, one with
        //     "not-a-date"; a blank line.
        let t = now;
        let mut recs = select(&[0, 1, 2, 3, 4, 5, 6, 7], start, t, &|op: &Op| {
            op.created >= late || op.completed.is_none_or(|c| c >= late)
        });
        recs.sort_by_key(|r| (snapshot(&g.ops[r.op as usize], t).last, r.op));
        for r in &mut recs {
            if r.op as usize == orphan {
                r.no_device = true;
            }
        }
        let mut garbled = recs[recs.len() / 4];
        garbled.bad = Bad::Garbled;
        let mut missing = Rec::new(reject_ops[3], t);
        missing.bad = Bad::MissingId;
        let mut not_a_date = Rec::new(reject_ops[4], t);
        not_a_date.bad = Bad::Timestamp(0);
        let n = recs.len();
        recs.insert(n / 4, garbled);
        recs.insert(n / 2, missing);
        recs.insert(3 * n / 4, not_a_date);
        tally.add(&recs);
        let style = Style {
            device_id: true,
            ..Style::default()
        };
        buf.clear();
        for (i, r) in recs.iter().enumerate() {
            if i == n / 3 {
                buf.extend_from_slice(b"\n");
            }
            ndjson_line(&mut buf, &g, r, style, b"\n");
        }
        w.file(&out.join("ndjson/fleet-2026-11-27.ndjson"), &buf)?;

        // 11. single/: two operations fetched one by one.
        //     GET .../operations/{id} as the docs show it: {"value": {...}}.
        let r = Rec::new(fetched_later, at(2026, 11, 27, 21, 0, 0));
        tally.add(&[r]);
        buf.clear();
        pretty_graph(
            &mut buf,
            &J::Obj(vec![("value", record_json(&g, &r, Style::default()))]),
        );
        w.file(
            &out.join(format!("single/operation-{}.json", g.ops[fetched_later].id)),
            &buf,
        )?;
        //     A bare entity with its @odata.context.
        let r = Rec::new(fetched_bare, at(2026, 11, 27, 9, 30, 0));
        tally.add(&[r]);
        let mut entity = record_json(&g, &r, Style::default());
        if let J::Obj(f) = &mut entity {
            f.insert(
                0,
                (
                    "@odata.context",
                    J::String(format!(
                        "{GRAPH}/$metadata#teamwork/devices('{}')/operations/$entity",
                        dev(3)
                    )),
                ),
            );
        }
        buf.clear();
        compact(&mut buf, &entity);
        buf.push(b'\n');
        w.file(
            &out.join(format!("single/{}.json", g.ops[fetched_bare].id)),
            &buf,
        )?;

        if let Some(i) = (0..n_real).find(|&i| !tally.covered[i]) {
            return Err(io::Error::other(format!(
                "operation {} is in no file",
                g.ops[i].id
            )));
        }
        print_truth(&g, n_real);
        Ok(Stats {
            ops: n_real,
            records: tally.records,
            bad: tally.bad,
            files: w.files,
            bytes: w.bytes,
        })
    }

    /// Graph Explorer / `jq .` layout: 2-space indent, camelCase kept.
    fn pretty_graph(out: &mut Vec<u8>, v: &J) {
        let mut tmp = Vec::new();
        compact(&mut tmp, v);
        // Re-indent the compact text (strings never contain structural bytes unescaped).
        let mut level = 0usize;
        let mut in_str = false;
        let mut esc = false;
        let mut i = 0;
        while i < tmp.len() {
            let b = tmp[i];
            if in_str {
                out.push(b);
                if esc {
                    esc = false;
                } else if b == b'\\' {
                    esc = true;
                } else if b == b'"' {
                    in_str = false;
                }
                i += 1;
                continue;
            }
            match b {
                b'"' => {
                    in_str = true;
                    out.push(b);
                }
                b'{' | b'[' => {
                    let close = if b == b'{' { b'}' } else { b']' };
                    if tmp.get(i + 1) == Some(&close) {
                        out.push(b);
                        out.push(close);
                        i += 2;
                        continue;
                    }
                    level += 1;
                    out.push(b);
                    out.push(b'\n');
                    out.extend(std::iter::repeat_n(b' ', 2 * level));
                }
                b'}' | b']' => {
                    level -= 1;
                    out.push(b'\n');
                    out.extend(std::iter::repeat_n(b' ', 2 * level));
                    out.push(b);
                }
                b',' => {
                    out.push(b);
                    out.push(b'\n');
                    out.extend(std::iter::repeat_n(b' ', 2 * level));
                }
                b':' => out.extend_from_slice(b": "),
                _ => out.push(b),
            }
            i += 1;
        }
        out.push(b'\n');
    }

    /// What the generator knows to be true, for cross-checking `expected.py`.
    fn print_truth(g: &Gen, n_real: usize) {
        let end = i64::MAX;
        let mut counts = [0usize; 6];
        for op in &g.ops[..n_real] {
            let s = snapshot(op, end).status;
            counts[s as usize] += 1;
        }
        eprintln!(
            "gen: sample truth: {n_real} operations; queued {} scheduled {} inProgress {} successful {} failed {} cancelled {}",
            counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
        );
    }
}
