//! Arbitrary bytes through the shape decoder, as a whole document and as a
//! run of NDJSON lines. Invariants: no panic, and every record read is
//! either a row of the batch or a reject.
#![no_main]

use fleetops::ingest::Limits;
use fleetops::internals::ingest::decode::{FileContext, WorkKind, decode_work};
use fleetops::schema::{idx, operations_schema};
use libfuzzer_sys::fuzz_target;

fn check(work: WorkKind, ctx: &FileContext) {
    let first_line = match &work {
        WorkKind::Lines { first_line, .. } => Some(*first_line),
        WorkKind::Document { .. } | WorkKind::Elements { .. } | WorkKind::Oversize { .. } => None,
    };
    let Ok(out) = decode_work(&work, ctx, 0) else {
        // A file error: allowed (not JSON, cut off).
        return;
    };
    let rows = out.batch.as_ref().map_or(0, |b| b.num_rows() as u64);
    assert_eq!(
        out.records,
        rows + out.rejects.len() as u64,
        "records = rows + rejects"
    );
    assert!(out.repaired <= rows, "only rows can be repaired");
    if let Some(b) = &out.batch {
        assert!(b.num_rows() > 0, "an empty batch is returned as None");
        assert_eq!(b.schema(), operations_schema());
        assert_eq!(b.column(idx::ID).null_count(), 0, "id is never NULL");
    }
    for r in &out.rejects {
        assert!(!r.reason.is_empty());
        if let (Some(first), Some(line)) = (first_line, r.location.line) {
            assert!(
                line >= first,
                "reject line {line} before first line {first}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the file context (bit 0: a device id from the
    // path; bit 1: a 256-byte record limit; the rest: the first line
    // number); the rest is the content.
    let (ctx_byte, data) = match data.split_first() {
        Some((b, rest)) => (*b, rest),
        None => (0, data),
    };
    let ctx = FileContext {
        name: "fuzz.json".into(),
        path_device: (ctx_byte & 1 == 1).then(|| "path-device".to_string()),
        // A small record limit sometimes, so records go over it.
        max_record_bytes: if ctx_byte & 2 == 2 {
            256
        } else {
            Limits::default().max_record_bytes
        },
    };
    check(
        WorkKind::Document {
            data: data.to_vec(),
        },
        &ctx,
    );
    check(
        WorkKind::Lines {
            data: data.to_vec(),
            first_line: 1 + u64::from(ctx_byte >> 2),
        },
        &ctx,
    );
});
