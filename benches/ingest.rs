//! Decoder and timestamp parser throughput.
//!
//! ```text
//! cargo bench --bench ingest
//! cargo bench --bench ingest -- --quick        # a fast, rough pass
//! cargo bench --bench ingest -- decode/pages   # one benchmark
//! ```
//!
//! - `decode/ndjson_block`: `decode_work` on a run of NDJSON lines of the
//!   block size the ingester hands its workers (4 MiB), in MB/s of input;
//! - `decode/page_document`: `decode_work` on one Graph list page of 50
//!   operations (Graph's largest page), device id in `@odata.context`;
//! - `timestamp/fleetops` against `timestamp/chrono_rfc3339`: the ingester's
//!   timestamp parser against chrono's `DateTime::parse_from_rfc3339` on the
//!   same 4,096 Graph-style timestamps (RFC 3339 only, so both accept all).
//!
//! The input is generated here with a fixed seed, shaped like Graph's
//! teamworkDeviceOperation exports (the same properties, identity sets,
//! errors and 0–7 fraction digits as `examples/gen.rs` writes).

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fleetops::ingest::decode::{FileContext, WorkKind, decode_work, timestamp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Size of an NDJSON block: the ingester's.
const BLOCK_BYTES: usize = fleetops::ingest::source::DEFAULT_BLOCK;
/// Operations on a Graph list page (the API's maximum page size).
const PAGE_OPS: usize = 50;
/// 2026-10-01T00:00:00Z in microseconds.
const START_US: i64 = 1_790_812_800_000_000;
const SEC_US: i64 = 1_000_000;

const OPERATION_TYPES: &[&str] = &[
    "softwareUpdate",
    "restart",
    "configUpdate",
    "deviceDiagnostics",
    "deviceManagementAgentConfigUpdate",
    "remoteLogin",
    "remoteLogout",
    "resetDevice",
];

const USERS: &[&str] = &[
    "Ada Admin",
    "Gustav Rahman",
    "Miriam Lauer",
    "Brian Johnson",
    "Aisha Langer",
    "Wei Haddad",
];

const APPS: &[&str] = &["Teams Rooms Pro Management", "Contoso Device Automation"];

fn guid(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        write!(s, "{byte:02x}").unwrap();
    }
    s
}

/// (year, month, day) of a day count since the Unix epoch.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// An RFC 3339 timestamp as Graph writes it: UTC `Z` (one in ten with a
/// `+hh:mm` offset instead), trailing fraction zeros trimmed, 0–7 digits.
fn timestamp_text(rng: &mut ChaCha8Rng, us: i64) -> String {
    let offset_min: i64 = if rng.random_range(0..10) == 0 {
        60 * rng.random_range(1..=5)
    } else {
        0
    };
    let local = us + offset_min * 60 * SEC_US;
    let day_us = 86_400 * SEC_US;
    let (y, m, d) = civil_from_days(local.div_euclid(day_us));
    let rem = local.rem_euclid(day_us);
    let secs = rem / SEC_US;
    // Graph keeps 100 ns ticks: a 7th digit, then a varying precision.
    let ticks = (rem % SEC_US) * 10 + rng.random_range(0..10);
    let keep = [7, 7, 7, 7, 6, 6, 3, 2, 1, 0][rng.random_range(0..10)];
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    let frac = format!("{ticks:07}");
    let frac = frac[..keep].trim_end_matches('0');
    if !frac.is_empty() {
        s.push('.');
        s.push_str(frac);
    }
    if offset_min == 0 {
        s.push('Z');
    } else {
        write!(s, "+{:02}:{:02}", offset_min / 60, offset_min % 60).unwrap();
    }
    s
}

fn identity_set(rng: &mut ChaCha8Rng, out: &mut String) {
    let id = guid(rng);
    if rng.random_bool(0.4) {
        let name = APPS[rng.random_range(0..APPS.len())];
        write!(
            out,
            r##"{{"application":{{"@odata.type":"#microsoft.graph.teamworkApplicationIdentity","id":"{id}","displayName":"{name}","applicationIdentityType":"aadApplication"}},"device":null,"user":null}}"##
        )
        .unwrap();
    } else {
        let name = USERS[rng.random_range(0..USERS.len())];
        write!(
            out,
            r##"{{"application":null,"device":null,"user":{{"@odata.type":"#microsoft.graph.teamworkUserIdentity","id":"{id}","displayName":"{name}","userIdentityType":"aadUser"}}}}"##
        )
        .unwrap();
    }
}

/// One operation object; `device` adds a `deviceId` property (NDJSON exports).
fn operation(rng: &mut ChaCha8Rng, out: &mut String, device: Option<&str>) {
    let created = START_US + rng.random_range(0..28 * 86_400 * SEC_US);
    let started = created + rng.random_range(SEC_US..120 * SEC_US);
    let completed = started + rng.random_range(5 * SEC_US..3_600 * SEC_US);
    let (status, has_start, has_end) = match rng.random_range(0..100) {
        0..=84 => ("successful", true, true),
        85..=92 => ("failed", true, true),
        93..=95 => ("cancelled", false, true),
        96..=97 => ("inProgress", true, false),
        _ => ("queued", false, false),
    };
    let ts = |rng: &mut ChaCha8Rng, present: bool, us: i64| {
        if present {
            format!("\"{}\"", timestamp_text(rng, us))
        } else {
            "null".to_string()
        }
    };
    let created_s = ts(rng, true, created);
    let started_s = ts(rng, has_start, started);
    let completed_s = ts(rng, has_end, completed);
    let last = if has_end {
        completed_s.clone()
    } else if has_start {
        started_s.clone()
    } else {
        created_s.clone()
    };
    let id = guid(rng);
    let op_type = OPERATION_TYPES[rng.random_range(0..OPERATION_TYPES.len())];
    write!(
        out,
        r##"{{"@odata.type":"#microsoft.graph.teamworkDeviceOperation","id":"{id}","operationType":"{op_type}","status":"{status}","createdDateTime":{created_s},"startedDateTime":{started_s},"completedDateTime":{completed_s},"lastActionDateTime":{last},"createdBy":"##
    )
    .unwrap();
    identity_set(rng, out);
    out.push_str(r#","lastActionBy":"#);
    identity_set(rng, out);
    out.push_str(r#","error":"#);
    match status {
        "failed" => out.push_str(
            r#"{"code":"UpdateInstallFailed","message":"The update was downloaded but installation failed with error 0x80070643; the device rolled back to the previous version."}"#,
        ),
        _ if rng.random_bool(0.1) => out.push_str(r#"{"code":null,"message":"Unknown"}"#),
        _ => out.push_str("null"),
    }
    if let Some(d) = device {
        write!(out, r#","deviceId":"{d}""#).unwrap();
    }
    out.push('}');
}

/// About `bytes` of NDJSON, whole lines, each operation with a `deviceId`.
fn ndjson_block(rng: &mut ChaCha8Rng, bytes: usize) -> Vec<u8> {
    let devices: Vec<String> = (0..50).map(|_| guid(rng)).collect();
    let mut out = String::with_capacity(bytes + 4096);
    while out.len() < bytes {
        let d = &devices[rng.random_range(0..devices.len())];
        operation(rng, &mut out, Some(d));
        out.push('\n');
    }
    out.into_bytes()
}

/// One Graph list page of `n` operations of one device.
fn page_document(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    let device = guid(rng);
    let mut out = format!(
        "{{\"@odata.context\":\"https://graph.microsoft.com/beta/$metadata#teamwork/devices('{device}')/operations\",\"@odata.count\":{},\"value\":[",
        n * 3
    );
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        operation(rng, &mut out, None);
    }
    writeln!(
        out,
        "],\"@odata.nextLink\":\"https://graph.microsoft.com/beta/teamwork/devices/{device}/operations?$skiptoken=RFNwdAIAAQAAAF2iYcXDn3ts8Z\"}}"
    )
    .unwrap();
    out.into_bytes()
}

fn file_context(name: &str) -> FileContext {
    FileContext {
        name: name.to_string(),
        path_device: None,
        max_record_bytes: fleetops::ingest::Limits::default().max_record_bytes,
    }
}

fn bench_decode(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let ingested_at = START_US + 60 * 86_400 * SEC_US;

    let block = ndjson_block(&mut rng, BLOCK_BYTES);
    let lines = WorkKind::Lines {
        data: block.clone(),
        first_line: 1,
    };
    let page = WorkKind::Document {
        data: page_document(&mut rng, PAGE_OPS),
    };
    let page_len = match &page {
        WorkKind::Document { data } => data.len(),
        _ => unreachable!(),
    };
    let ndjson_ctx = file_context("operations.ndjson");
    let page_ctx = file_context("pages/page-0001.json");

    // Both inputs decode cleanly: a benchmark of the rejection path would mislead.
    for (work, ctx) in [(&lines, &ndjson_ctx), (&page, &page_ctx)] {
        let out = decode_work(work, ctx, ingested_at).expect("generated input decodes");
        assert!(out.rejects.is_empty(), "rejects: {:?}", out.rejects.first());
        assert!(out.batch.is_some_and(|b| b.num_rows() > 0));
    }

    let mut g = c.benchmark_group("decode");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(block.len() as u64));
    g.bench_function("ndjson_block", |b| {
        b.iter(|| decode_work(black_box(&lines), &ndjson_ctx, ingested_at).unwrap())
    });
    g.throughput(Throughput::Bytes(page_len as u64));
    g.bench_function("page_document", |b| {
        b.iter(|| decode_work(black_box(&page), &page_ctx, ingested_at).unwrap())
    });
    g.finish();
}

fn bench_timestamp(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let texts: Vec<String> = (0..4096)
        .map(|_| {
            let us = START_US + rng.random_range(0..365 * 86_400 * SEC_US);
            timestamp_text(&mut rng, us)
        })
        .collect();

    // Same instants from both parsers (fleetops truncates to microseconds).
    for t in &texts {
        let ours = match timestamp::parse(t) {
            Ok(timestamp::Parsed::Value(us)) => us,
            other => panic!("{t}: {other:?}"),
        };
        let theirs = chrono::DateTime::parse_from_rfc3339(t).expect(t);
        assert_eq!(ours, theirs.timestamp_micros(), "{t}");
    }

    let mut g = c.benchmark_group("timestamp");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("fleetops", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(timestamp::parse(black_box(t)).ok());
            }
        })
    });
    g.bench_function("chrono_rfc3339", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(chrono::DateTime::parse_from_rfc3339(black_box(t)).ok());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_decode, bench_timestamp);
criterion_main!(benches);
