//! fleetops SQL functions against the plain SQL they replace.
//!
//! ```text
//! cargo bench --bench functions
//! cargo bench --bench functions -- --quick
//! ```
//!
//! 10,000,000 operations in a `MemTable` (two partitions of 8,192-row
//! batches), queried through a `SessionContext` with
//! `fleetops::functions::register_all`:
//!
//! - `op_duration_seconds/{fleetops,plain_sql}`:
//!   `sum(op_duration_seconds(started, completed))` against
//!   `sum(CASE WHEN completed >= started THEN (arrow_cast(completed, 'Int64')
//!   - arrow_cast(started, 'Int64')) / 1e6 END)`;
//! - `failure_rate/{fleetops,plain_sql}`: `failure_rate(status)` against
//!   `sum(CASE WHEN status = 'failed' ...) / sum(CASE WHEN status IN
//!   ('successful', 'failed') ...)`;
//! - `failure_rate_by_type/{fleetops,plain_sql}`: the same, `GROUP BY
//!   operation_type` (8 groups).
//!
//! The target: each fleetops function no slower than 1.2 times the plain
//! expression. Before handing over to criterion, each pair is timed
//! alternately (median of 7 runs) and the ratio printed on one line,
//! `acceptance: ...`, with `ok` or `TOO SLOW`. Both sides of a pair are
//! checked to give the same answer first.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use criterion::{Criterion, criterion_group, criterion_main};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use fleetops_gen::decode_input::OPERATION_TYPES;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::runtime::Runtime;

const ROWS: usize = 10_000_000;
const BATCH_ROWS: usize = 8_192;
const PARTITIONS: usize = 2;
/// Slowest acceptable fleetops time / plain SQL time.
const ACCEPTANCE: f64 = 1.2;
/// 2026-10-01T00:00:00Z in microseconds.
const START_US: i64 = 1_790_812_800_000_000;
const SEC_US: i64 = 1_000_000;

const STATUSES: &[&str] = &[
    "successful",
    "failed",
    "cancelled",
    "inProgress",
    "queued",
    "scheduled",
];
const PAIRS: &[(&str, &str, &str)] = &[
    (
        "op_duration_seconds",
        "SELECT sum(op_duration_seconds(started_date_time, completed_date_time)) FROM operations",
        "SELECT sum(CASE WHEN completed_date_time >= started_date_time \
         THEN (arrow_cast(completed_date_time, 'Int64') - arrow_cast(started_date_time, 'Int64')) / 1e6 \
         END) FROM operations",
    ),
    (
        "failure_rate",
        "SELECT failure_rate(status) FROM operations",
        "SELECT CAST(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS DOUBLE) \
         / nullif(sum(CASE WHEN status IN ('successful', 'failed') THEN 1 ELSE 0 END), 0) \
         FROM operations",
    ),
    (
        "failure_rate_by_type",
        "SELECT operation_type, failure_rate(status) FROM operations \
         GROUP BY operation_type ORDER BY operation_type",
        "SELECT operation_type, CAST(sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS DOUBLE) \
         / nullif(sum(CASE WHEN status IN ('successful', 'failed') THEN 1 ELSE 0 END), 0) \
         FROM operations GROUP BY operation_type ORDER BY operation_type",
    ),
];

fn schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("operation_type", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("started_date_time", ts.clone(), true),
        Field::new("completed_date_time", ts, true),
    ]))
}

/// One batch of operations: statuses weighted like a real fleet, 3% without
/// a start, 4% without completion, 1% completed before they started.
fn batch(rng: &mut ChaCha8Rng, rows: usize) -> RecordBatch {
    let mut types = Vec::with_capacity(rows);
    let mut statuses = Vec::with_capacity(rows);
    let mut started = Vec::with_capacity(rows);
    let mut completed = Vec::with_capacity(rows);
    for _ in 0..rows {
        types.push(Some(
            OPERATION_TYPES[rng.random_range(0..OPERATION_TYPES.len())],
        ));
        let s = match rng.random_range(0..100) {
            0..=84 => 0,
            85..=92 => 1,
            93..=95 => 2,
            96..=97 => 3,
            98 => 4,
            _ => 5,
        };
        statuses.push(Some(STATUSES[s]));
        let start = START_US + rng.random_range(0..90 * 86_400 * SEC_US);
        let r = rng.random_range(0..100);
        started.push((r >= 3).then_some(start));
        completed.push(match r {
            3..=6 => None,
            7 => Some(start - rng.random_range(1..60 * SEC_US)),
            _ => Some(start + rng.random_range(SEC_US..3_600 * SEC_US)),
        });
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(types)),
        Arc::new(StringArray::from(statuses)),
        Arc::new(TimestampMicrosecondArray::from(started).with_timezone("UTC")),
        Arc::new(TimestampMicrosecondArray::from(completed).with_timezone("UTC")),
    ];
    RecordBatch::try_new(schema(), cols).expect("valid batch")
}

fn context() -> SessionContext {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); PARTITIONS];
    let mut left = ROWS;
    let mut i = 0;
    while left > 0 {
        let n = left.min(BATCH_ROWS);
        parts[i % PARTITIONS].push(batch(&mut rng, n));
        left -= n;
        i += 1;
    }
    let ctx = SessionContext::new();
    fleetops::functions::register_all(&ctx).expect("functions register");
    let table = MemTable::try_new(schema(), parts).expect("mem table");
    ctx.register_table("operations", Arc::new(table))
        .expect("table registers");
    ctx
}

async fn query(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    let df = ctx.sql(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    df.collect().await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The Float64 column of a result, for comparing the two sides of a pair.
fn floats(batches: &[RecordBatch]) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|b| {
            let col = b.column(b.num_columns() - 1);
            let col = col
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("a Float64 result");
            col.iter().collect::<Vec<_>>()
        })
        .collect()
}

fn same(a: &[Option<f64>], b: &[Option<f64>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
            (None, None) => true,
            _ => false,
        })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Times both sides alternately and prints the acceptance line.
fn acceptance(rt: &Runtime, ctx: &SessionContext, name: &str, ours: &str, plain: &str) {
    let a = rt.block_on(query(ctx, ours));
    let b = rt.block_on(query(ctx, plain));
    assert!(
        same(&floats(&a), &floats(&b)),
        "{name}: fleetops {:?} but plain SQL {:?}",
        floats(&a),
        floats(&b)
    );
    let (mut t_ours, mut t_plain) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let t = Instant::now();
        black_box(rt.block_on(query(ctx, ours)));
        t_ours.push(t.elapsed());
        let t = Instant::now();
        black_box(rt.block_on(query(ctx, plain)));
        t_plain.push(t.elapsed());
    }
    let (o, p) = (median(t_ours), median(t_plain));
    let ratio = o.as_secs_f64() / p.as_secs_f64();
    println!(
        "acceptance: {name}: fleetops {:.1} ms, plain SQL {:.1} ms, ratio {ratio:.2} (at most {ACCEPTANCE}): {}",
        o.as_secs_f64() * 1e3,
        p.as_secs_f64() * 1e3,
        if ratio <= ACCEPTANCE {
            "ok"
        } else {
            "TOO SLOW"
        }
    );
}

fn bench_functions(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let ctx = context();
    for (name, ours, plain) in PAIRS {
        acceptance(&rt, &ctx, name, ours, plain);
    }
    for (name, ours, plain) in PAIRS {
        let mut g = c.benchmark_group(*name);
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(10));
        g.bench_function("fleetops", |b| b.iter(|| rt.block_on(query(&ctx, ours))));
        g.bench_function("plain_sql", |b| b.iter(|| rt.block_on(query(&ctx, plain))));
        g.finish();
    }
}

criterion_group!(benches, bench_functions);
criterion_main!(benches);
