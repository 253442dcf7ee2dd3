//! The fixed inputs of fleetops's decoder benchmark (`benches/ingest.rs`):
//! a block of NDJSON, one Graph list page and Graph-style timestamps.
//!
//! The operations are shaped like the generator's (the same properties,
//! identity sets, errors and 0–7 fraction digits, written by the same JSON
//! and timestamp writers) but drawn from a simpler model, with their own
//! seeds: these bytes stay the same from commit to commit, so decode
//! figures compare across changes to the generator's model.

use super::*;

/// 2026-10-01T00:00:00Z in microseconds: the operations start here.
pub const START_US: i64 = 1_790_812_800_000_000;
const SEC_US: i64 = 1_000_000;

/// The operation types the benchmark inputs draw from (the functions bench too).
pub const OPERATION_TYPES: &[&str] = &[
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

/// About `block_bytes` of NDJSON (whole lines, operations of 50 devices,
/// each with a `deviceId`), then one Graph list page of `page_ops`
/// operations of one device, the device id in `@odata.context`.
pub fn ndjson_block_and_page(block_bytes: usize, page_ops: usize) -> (Vec<u8>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let block = ndjson_block(&mut rng, block_bytes);
    let page = page_document(&mut rng, page_ops);
    (block, page)
}

/// `n` RFC 3339 timestamps within a year from [`START_US`], as Graph
/// writes them: UTC `Z` (one in ten at a `+hh:mm` offset instead), trailing
/// fraction zeros trimmed, 0–7 fraction digits.
pub fn timestamps(n: usize) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..n)
        .map(|_| {
            let us = START_US + rng.random_range(0..365 * 86_400 * SEC_US);
            timestamp_text(&mut rng, us)
        })
        .collect()
}

/// 16 random bytes as a GUID (no version bits).
fn raw_guid(rng: &mut ChaCha8Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    guid_text(&b)
}

fn timestamp_text(rng: &mut ChaCha8Rng, us: i64) -> String {
    let offset_min: i64 = if rng.random_range(0..10) == 0 {
        60 * rng.random_range(1..=5)
    } else {
        0
    };
    // Graph keeps 100 ns ticks: a 7th digit, then a varying precision.
    let ticks = us * 10 + rng.random_range(0..10);
    let keep: u32 = [7, 7, 7, 7, 6, 6, 3, 2, 1, 0][rng.random_range(0..10)];
    let ticks = ticks - ticks.rem_euclid(10i64.pow(7 - keep));
    let mut quoted = Vec::with_capacity(36);
    push_ts(
        &mut quoted,
        ticks,
        TsFmt {
            offset_min: offset_min as i16,
            hyphen: false,
        },
    );
    String::from_utf8(quoted[1..quoted.len() - 1].to_vec()).unwrap()
}

/// An admin (six in ten) or an application, as (name, id, application).
fn identity(rng: &mut ChaCha8Rng) -> (&'static str, String, bool) {
    let id = raw_guid(rng);
    if rng.random_bool(0.4) {
        (APPS[rng.random_range(0..APPS.len())], id, true)
    } else {
        (USERS[rng.random_range(0..USERS.len())], id, false)
    }
}

/// One operation object; `device` adds a `deviceId` property (NDJSON exports).
fn operation(rng: &mut ChaCha8Rng, out: &mut Vec<u8>, device: Option<&str>) {
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
    let created_s = timestamp_text(rng, created);
    let started_s = has_start.then(|| timestamp_text(rng, started));
    let completed_s = has_end.then(|| timestamp_text(rng, completed));
    let last = completed_s
        .as_deref()
        .or(started_s.as_deref())
        .unwrap_or(&created_s);
    let id = raw_guid(rng);
    let op_type = OPERATION_TYPES[rng.random_range(0..OPERATION_TYPES.len())];
    let by = identity(rng);
    let last_by = identity(rng);
    let error = match status {
        "failed" => J::Obj(vec![
            ("code", J::Str("UpdateInstallFailed")),
            (
                "message",
                J::Str(
                    "The update was downloaded but installation failed with error 0x80070643; the device rolled back to the previous version.",
                ),
            ),
        ]),
        _ if rng.random_bool(0.1) => {
            J::Obj(vec![("code", J::Null), ("message", J::Str("Unknown"))])
        }
        _ => J::Null,
    };
    fn time(t: &Option<String>) -> J<'_> {
        t.as_deref().map_or(J::Null, J::Str)
    }
    let mut fields = vec![
        (
            "@odata.type",
            J::Str("#microsoft.graph.teamworkDeviceOperation"),
        ),
        ("id", J::Str(&id)),
        ("operationType", J::Str(op_type)),
        ("status", J::Str(status)),
        ("createdDateTime", J::Str(&created_s)),
        ("startedDateTime", time(&started_s)),
        ("completedDateTime", time(&completed_s)),
        ("lastActionDateTime", J::Str(last)),
        ("createdBy", identity_json(by.0, &by.1, by.2, false)),
        (
            "lastActionBy",
            identity_json(last_by.0, &last_by.1, last_by.2, false),
        ),
        ("error", error),
    ];
    if let Some(d) = device {
        fields.push(("deviceId", J::Str(d)));
    }
    compact(out, &J::Obj(fields));
}

fn ndjson_block(rng: &mut ChaCha8Rng, bytes: usize) -> Vec<u8> {
    let devices: Vec<String> = (0..50).map(|_| raw_guid(rng)).collect();
    let mut out = Vec::with_capacity(bytes + 4096);
    while out.len() < bytes {
        let d = &devices[rng.random_range(0..devices.len())];
        operation(rng, &mut out, Some(d));
        out.push(b'\n');
    }
    out
}

fn page_document(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    let device = raw_guid(rng);
    let mut out = Vec::new();
    out.extend_from_slice(b"{\"@odata.context\":");
    push_str(&mut out, &context_url(&device));
    out.extend_from_slice(format!(",\"@odata.count\":{},\"value\":[", n * 3).as_bytes());
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        operation(rng, &mut out, None);
    }
    out.extend_from_slice(b"],\"@odata.nextLink\":");
    push_str(&mut out, &next_link(&device, "RFNwdAIAAQAAAF2iYcXDn3ts8Z"));
    out.extend_from_slice(b"}\n");
    out
}
