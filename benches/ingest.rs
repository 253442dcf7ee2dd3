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
//! The input is `fleetops_gen::decode_input` (the generator crate, `gen/`):
//! fixed bytes shaped like Graph's teamworkDeviceOperation exports, the same
//! from commit to commit.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fleetops::internals::ingest::decode::{FileContext, WorkKind, decode_work, timestamp};
use fleetops_gen::decode_input::{self, START_US};

/// Size of an NDJSON block: the ingester's.
const BLOCK_BYTES: usize = fleetops::internals::ingest::source::DEFAULT_BLOCK;
/// Operations on a Graph list page (the API's maximum page size).
const PAGE_OPS: usize = 50;
const SEC_US: i64 = 1_000_000;

fn file_context(name: &str) -> FileContext {
    FileContext {
        name: name.to_string(),
        path_device: None,
        max_record_bytes: fleetops::ingest::Limits::default().max_record_bytes,
    }
}

fn bench_decode(c: &mut Criterion) {
    let ingested_at = START_US + 60 * 86_400 * SEC_US;

    let (block, page) = decode_input::ndjson_block_and_page(BLOCK_BYTES, PAGE_OPS);
    let lines = WorkKind::Lines {
        data: block.clone(),
        first_line: 1,
    };
    let page_len = page.len();
    let page = WorkKind::Document { data: page };
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
    let texts = decode_input::timestamps(4096);

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
