//! The fleet reliability report and the named queries, on `sample-data/`.
//!
//! - Golden files: `tests/golden/report.{md,json}` (default window) and
//!   `tests/golden/report-month.{md,json}` (an explicit window, with checks).
//!   Any difference fails; `UPDATE_GOLDEN=1 cargo test --test it report::golden`
//!   rewrites them (review the diff before committing).
//! - Every named query runs on the sample and key cells are checked against
//!   a small computation in this file over the same rows (plain Rust over the
//!   ingested Arrow batches, no SQL), and against the numbers of
//!   `sample-data/README.md`, which come from an independent checker.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimestampMicrosecondType};
use datafusion::prelude::{SessionConfig, SessionContext};
use fleetops::internals::window::parse_when;
use fleetops::report::{self, Condition, Format, ReportOptions, apply_fail_if, queries};
use fleetops::schema::idx;
use fleetops::session::{self, Loaded};

use crate::support::SAMPLE;

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

fn sample() -> Vec<PathBuf> {
    // Relative, so that file names in the report do not depend on the checkout.
    assert!(
        Path::new(SAMPLE).is_dir(),
        "run the tests from the crate root"
    );
    vec![PathBuf::from(SAMPLE)]
}

fn context_with(config: Option<SessionConfig>) -> (SessionContext, Loaded) {
    let ctx = match config {
        None => session::new_context().unwrap(),
        Some(c) => {
            let ctx = SessionContext::new_with_config(c);
            fleetops::functions::register_all(&ctx).unwrap();
            ctx
        }
    };
    let loaded = session::register_data(&ctx, &sample(), &Default::default()).unwrap();
    (ctx, loaded)
}

fn context() -> (SessionContext, Loaded) {
    context_with(None)
}

// ---------------------------------------------------------------------------
// The rows, read without SQL
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Op {
    id: String,
    device: Option<String>,
    ty: Option<String>,
    status: Option<String>,
    created: Option<i64>,
    started: Option<i64>,
    completed: Option<i64>,
    last_action: Option<i64>,
    code: Option<String>,
    creator: Option<String>,
}

impl Op {
    fn failed(&self) -> bool {
        self.status.as_deref() == Some("failed")
    }
    fn successful(&self) -> bool {
        self.status.as_deref() == Some("successful")
    }
    fn in_flight(&self) -> bool {
        matches!(
            self.status.as_deref(),
            Some("queued" | "scheduled" | "inProgress")
        )
    }
    fn duration(&self) -> Option<f64> {
        match (self.started, self.completed) {
            (Some(s), Some(c)) if c >= s => Some((c - s) as f64 / 1e6),
            _ => None,
        }
    }
    fn queue(&self) -> Option<f64> {
        match (self.created, self.started) {
            (Some(c), Some(s)) if s >= c => Some((s - c) as f64 / 1e6),
            _ => None,
        }
    }
    fn in_range(&self, lo: i64, hi_inclusive: i64) -> bool {
        self.created.is_some_and(|c| c >= lo && c <= hi_inclusive)
    }
}

fn ops() -> Vec<Op> {
    let mem = fleetops::ingest::ingest_memory(&sample(), &Default::default()).unwrap();
    let mut out = Vec::new();
    for b in &mem.batches {
        let text = |i: usize| {
            let c = arrow::compute::cast(b.column(i), &DataType::Utf8).unwrap();
            c.as_string::<i32>()
                .iter()
                .map(|s| s.map(str::to_string))
                .collect::<Vec<_>>()
        };
        let time = |i: usize| {
            b.column(i)
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .collect::<Vec<_>>()
        };
        let child = |s: &arrow::array::StructArray, name: &str, row: usize| {
            if s.is_null(row) {
                return None;
            }
            let c = s.column_by_name(name).unwrap();
            if c.is_null(row) {
                None
            } else if let Some(st) = c.as_struct_opt() {
                // An identity {id, display_name}.
                (!st.is_null(row))
                    .then(|| {
                        let d = st
                            .column_by_name("display_name")
                            .unwrap()
                            .as_string::<i32>();
                        (!d.is_null(row)).then(|| d.value(row).to_string())
                    })
                    .flatten()
            } else {
                Some(c.as_string::<i32>().value(row).to_string())
            }
        };
        let (ids, devices, types, statuses) = (
            text(idx::ID),
            text(idx::DEVICE_ID),
            text(idx::OPERATION_TYPE),
            text(idx::STATUS),
        );
        let (created, started, completed, last) = (
            time(idx::CREATED),
            time(idx::STARTED),
            time(idx::COMPLETED),
            time(idx::LAST_ACTION),
        );
        let error = b.column(idx::ERROR).as_struct();
        let by = b.column(idx::CREATED_BY).as_struct();
        for r in 0..b.num_rows() {
            let creator = child(by, "user", r)
                .or_else(|| child(by, "application", r))
                .or_else(|| child(by, "device", r));
            out.push(Op {
                id: ids[r].clone().unwrap(),
                device: devices[r].clone(),
                ty: types[r].clone(),
                status: statuses[r].clone(),
                created: created[r],
                started: started[r],
                completed: completed[r],
                last_action: last[r],
                code: child(error, "code", r),
                creator,
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn latest(ops: &[Op]) -> i64 {
    ops.iter()
        .flat_map(|o| [o.created, o.started, o.completed, o.last_action])
        .flatten()
        .max()
        .unwrap()
}

/// Exact percentile, linear between ranks: rank = f * (n - 1).
fn percentile(mut v: Vec<f64>, f: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = f * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

fn rate(ops: &[&Op]) -> Option<f64> {
    let f = ops.iter().filter(|o| o.failed()).count();
    let s = ops.iter().filter(|o| o.successful()).count();
    (f + s > 0).then(|| f as f64 / (f + s) as f64)
}

fn close(a: Option<f64>, b: Option<f64>, tol: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tol,
        (None, None) => true,
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Running named queries
// ---------------------------------------------------------------------------

struct Rows {
    batch: RecordBatch,
}

impl Rows {
    fn rows(&self) -> usize {
        self.batch.num_rows()
    }
    fn col(&self, name: &str, to: DataType) -> arrow::array::ArrayRef {
        let c = self
            .batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"));
        arrow::compute::cast(c, &to).unwrap()
    }
    fn str(&self, name: &str) -> Vec<Option<String>> {
        self.col(name, DataType::Utf8)
            .as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect()
    }
    fn i64(&self, name: &str) -> Vec<Option<i64>> {
        self.col(name, DataType::Int64)
            .as_primitive::<Int64Type>()
            .iter()
            .collect()
    }
    fn f64(&self, name: &str) -> Vec<Option<f64>> {
        self.col(name, DataType::Float64)
            .as_primitive::<Float64Type>()
            .iter()
            .collect()
    }
}

async fn run(ctx: &SessionContext, name: &str, params: &[(&str, &str)]) -> Rows {
    let q = queries::builtin()
        .into_iter()
        .find(|q| q.name == name)
        .unwrap_or_else(|| panic!("no query {name}"));
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let df = q.dataframe(ctx, &params).await.unwrap();
    let schema = df.schema().inner().clone();
    let batches = df.collect().await.unwrap();
    Rows {
        batch: arrow::compute::concat_batches(&schema, &batches).unwrap(),
    }
}

#[tokio::test]
async fn every_named_query_runs_on_the_sample() {
    let (ctx, _) = context();
    let all = queries::builtin();
    assert!(all.len() >= 8);
    for q in &all {
        // The placeholders of the SQL are exactly the declared parameters.
        let plan = ctx.state().create_logical_plan(&q.sql).await.unwrap();
        let used = plan.get_parameter_names().unwrap();
        let declared: std::collections::HashSet<String> =
            q.params.iter().map(|p| format!("${}", p.name)).collect();
        assert_eq!(used, declared, "{}", q.name);
        let r = run(&ctx, &q.name, &[]).await;
        assert!(r.rows() > 0, "{} returned no rows on the sample", q.name);
    }
}

#[tokio::test]
async fn failure_rate_by_type() {
    let (ctx, _) = context();
    let ops = ops();
    let r = run(&ctx, "failure_rate_by_type", &[]).await;
    let (types, n, failed, fr) = (
        r.str("operation_type"),
        r.i64("operations"),
        r.i64("failed"),
        r.f64("failure_rate"),
    );
    let mut by_type: BTreeMap<Option<String>, Vec<&Op>> = BTreeMap::new();
    for o in &ops {
        by_type.entry(o.ty.clone()).or_default().push(o);
    }
    assert_eq!(r.rows(), by_type.len());
    for i in 0..r.rows() {
        let group = &by_type[&types[i]];
        assert_eq!(n[i], Some(group.len() as i64), "{:?}", types[i]);
        assert_eq!(
            failed[i],
            Some(group.iter().filter(|o| o.failed()).count() as i64)
        );
        assert!(close(fr[i], rate(group), 1e-12), "{:?}", types[i]);
    }
    // Worst first.
    assert!(fr.windows(2).all(|w| w[0] >= w[1]));
    // sample-data/README.md: softwareUpdate 60 operations, 10 failed, 0.1818.
    let i = types
        .iter()
        .position(|t| t.as_deref() == Some("softwareUpdate"))
        .unwrap();
    assert_eq!((n[i], failed[i]), (Some(60), Some(10)));
    assert!(close(fr[i], Some(10.0 / 55.0), 1e-12));

    // A window and a minimum, bound as typed values.
    let r = run(
        &ctx,
        "failure_rate_by_type",
        &[
            ("since", "2026-11-20"),
            ("until", "2026-11-26"),
            ("min_finished", "10"),
        ],
    )
    .await;
    let lo = parse_when("2026-11-20T00:00:00Z").unwrap();
    let report::When::At(lo) = lo else { panic!() };
    let hi = lo + 7 * DAY - 1;
    let in_window: Vec<&Op> = ops.iter().filter(|o| o.in_range(lo, hi)).collect();
    let mut expected: BTreeMap<Option<String>, Vec<&Op>> = BTreeMap::new();
    for o in in_window {
        expected.entry(o.ty.clone()).or_default().push(o);
    }
    expected.retain(|_, v| v.iter().filter(|o| o.failed() || o.successful()).count() >= 10);
    let got: BTreeSet<Option<String>> = r.str("operation_type").into_iter().collect();
    assert_eq!(got, expected.keys().cloned().collect());
    for (t, n) in r.str("operation_type").iter().zip(r.i64("operations")) {
        assert_eq!(n, Some(expected[t].len() as i64));
    }
}

#[tokio::test]
async fn daily_failure_trend() {
    let (ctx, _) = context();
    let ops = ops();
    let r = run(&ctx, "daily_failure_trend", &[("since", "earliest")]).await;
    let mut expected: BTreeMap<(String, Option<String>), (i64, i64)> = BTreeMap::new();
    for o in &ops {
        let Some(c) = o.created else { continue };
        let day = fleetops::internals::window::day_of(c)
            .format("%Y-%m-%d")
            .to_string();
        let e = expected.entry((day, o.ty.clone())).or_default();
        e.0 += 1;
        e.1 += o.failed() as i64;
    }
    assert_eq!(r.rows(), expected.len());
    let (days, types, n, failed) = (
        r.str("day"),
        r.str("operation_type"),
        r.i64("operations"),
        r.i64("failed"),
    );
    for i in 0..r.rows() {
        let key = (days[i].clone().unwrap(), types[i].clone());
        assert_eq!(
            (n[i].unwrap(), failed[i].unwrap()),
            expected[&key],
            "{key:?}"
        );
    }
    // The default window is the 30 days before the latest timestamp.
    let r = run(&ctx, "daily_failure_trend", &[]).await;
    assert!(r.str("day")[0].as_deref().unwrap() >= "2026-10-28");
}

#[tokio::test]
async fn slowest_operations() {
    let (ctx, _) = context();
    let ops = ops();
    let r = run(&ctx, "slowest_operations", &[]).await;
    let (types, p50, p95, max, slowest) = (
        r.str("operation_type"),
        r.f64("p50_duration_s"),
        r.f64("p95_duration_s"),
        r.f64("max_duration_s"),
        r.str("slowest_id"),
    );
    for i in 0..r.rows() {
        let durations: Vec<f64> = ops
            .iter()
            .filter(|o| o.ty == types[i])
            .filter_map(Op::duration)
            .collect();
        assert!(close(p50[i], percentile(durations.clone(), 0.5), 1e-9));
        assert!(close(p95[i], percentile(durations.clone(), 0.95), 1e-9));
        assert!(close(
            max[i],
            durations.iter().copied().reduce(f64::max),
            1e-9
        ));
        let top = ops
            .iter()
            .filter(|o| o.ty == types[i] && o.duration().is_some())
            .max_by(|a, b| {
                a.duration()
                    .unwrap()
                    .total_cmp(&b.duration().unwrap())
                    .then_with(|| b.id.cmp(&a.id))
            })
            .unwrap();
        assert_eq!(slowest[i].as_deref(), Some(top.id.as_str()));
    }
    // Slowest p95 first: software updates, as sample-data/README.md gives
    // them (p50 2626.194 s, p95 12561.667 s from the independent checker).
    assert_eq!(types[0].as_deref(), Some("softwareUpdate"));
    assert!(close(p50[0], Some(2626.194), 5e-4));
    assert!(close(p95[0], Some(12561.667), 5e-4));
}

#[tokio::test]
async fn top_failing_devices() {
    let (ctx, _) = context();
    let ops = ops();
    let r = run(&ctx, "top_failing_devices", &[]).await;
    let mut by_device: BTreeMap<Option<String>, Vec<&Op>> = BTreeMap::new();
    for o in &ops {
        by_device.entry(o.device.clone()).or_default().push(o);
    }
    let (devices, n, failed, fr, code) = (
        r.str("device_id"),
        r.i64("operations"),
        r.i64("failed"),
        r.f64("failure_rate"),
        r.str("top_error_code"),
    );
    assert_eq!(
        r.rows(),
        by_device
            .values()
            .filter(|v| v.iter().any(|o| o.failed()))
            .count()
            .min(10)
    );
    for i in 0..r.rows() {
        let g = &by_device[&devices[i]];
        assert_eq!(n[i], Some(g.len() as i64));
        assert_eq!(
            failed[i],
            Some(g.iter().filter(|o| o.failed()).count() as i64)
        );
        assert!(close(fr[i], rate(g), 1e-12));
        let mut codes: BTreeMap<String, i64> = BTreeMap::new();
        for o in g.iter().filter(|o| o.failed()) {
            *codes
                .entry(o.code.clone().unwrap_or_else(|| "(no code)".into()))
                .or_default() += 1;
        }
        let best = codes.values().max().unwrap();
        let first = codes.iter().find(|(_, v)| *v == best).unwrap().0;
        assert_eq!(code[i].as_deref(), Some(first.as_str()));
    }
    // The unreliable Huddle 3.12 (sample-data/README.md: 90 rows, 25 failed, 0.284).
    assert_eq!(
        devices[0].as_deref(),
        Some("8e2f0a91-6b7c-4d3e-a1f2-93b4c5d6e7f8")
    );
    assert_eq!((n[0], failed[0]), (Some(90), Some(25)));
    assert!(close(fr[0], Some(25.0 / 88.0), 1e-12));

    let r = run(
        &ctx,
        "top_failing_devices",
        &[("limit", "2"), ("min_failures", "3")],
    )
    .await;
    assert_eq!(r.rows(), 2);
    assert!(r.i64("failed").iter().all(|f| f.unwrap() >= 3));
}

#[tokio::test]
async fn error_codes() {
    let (ctx, _) = context();
    let ops = ops();
    let r = run(&ctx, "error_codes", &[]).await;
    let failed: Vec<&Op> = ops.iter().filter(|o| o.failed()).collect();
    let mut expected: BTreeMap<Option<String>, i64> = BTreeMap::new();
    for o in &failed {
        *expected.entry(o.code.clone()).or_default() += 1;
    }
    let got: BTreeMap<Option<String>, i64> = r
        .str("error_code")
        .into_iter()
        .zip(r.i64("failures").into_iter().map(Option::unwrap))
        .collect();
    assert_eq!(got, expected);
    let shares: f64 = r.f64("share").into_iter().map(Option::unwrap).sum();
    assert!((shares - 1.0).abs() < 1e-9);
    // sample-data/README.md: 38 failed operations.
    assert_eq!(failed.len(), 38);
    assert_eq!(
        r.i64("failures").iter().map(|v| v.unwrap()).sum::<i64>(),
        38
    );
}

#[tokio::test]
async fn stuck_operations() {
    let (ctx, _) = context();
    let ops = ops();
    let as_of = latest(&ops);
    for (older, span) in [("24h", DAY), ("2h", 2 * HOUR), ("7d", 7 * DAY)] {
        let r = run(&ctx, "stuck_operations", &[("older_than", older)]).await;
        let mut expected: Vec<&Op> = ops
            .iter()
            .filter(|o| o.in_flight() && o.created.is_some_and(|c| c <= as_of - span))
            .collect();
        expected.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        let ids: Vec<String> = r.str("id").into_iter().map(Option::unwrap).collect();
        let want: Vec<String> = expected.iter().map(|o| o.id.clone()).collect();
        assert_eq!(ids, want, "older_than {older}");
    }
    // The story's two operations stuck in progress, and the update waiting
    // for its maintenance window.
    let r = run(&ctx, "stuck_operations", &[]).await;
    assert_eq!(
        r.str("id"),
        vec![
            Some("b06fc618-94ca-454b-9ce0-501884b209a7".to_string()),
            Some("eaf1e749-8ed4-4329-aa68-0f95a6aff0d2".to_string()),
            Some("e536b4ac-597f-45e9-95ee-fa4e886270ab".to_string()),
        ]
    );
    let age = r.f64("age_hours")[0].unwrap();
    let created = ops
        .iter()
        .find(|o| o.id == "b06fc618-94ca-454b-9ce0-501884b209a7")
        .unwrap()
        .created
        .unwrap();
    assert!((age - (as_of - created) as f64 / HOUR as f64).abs() < 1e-9);
    // Judged from an earlier moment, operations that finished later count.
    let r = run(
        &ctx,
        "stuck_operations",
        &[("as_of", "2026-11-09T02:40:00Z"), ("older_than", "30m")],
    )
    .await;
    let report::When::At(t) = parse_when("2026-11-09T02:40:00Z").unwrap() else {
        panic!()
    };
    let expected = ops
        .iter()
        .filter(|o| o.created.is_some_and(|c| c <= t - HOUR / 2))
        .filter(|o| {
            o.in_flight()
                || (matches!(
                    o.status.as_deref(),
                    Some("successful" | "failed" | "cancelled")
                ) && o.completed.is_some_and(|c| c > t))
        })
        .count();
    assert_eq!(r.rows(), expected);
}

#[tokio::test]
async fn queue_latency() {
    let (ctx, _) = context();
    let ops = ops();
    let r = run(&ctx, "queue_latency", &[("slow_after_s", "60.5")]).await;
    let (types, p50, p95, slow) = (
        r.str("operation_type"),
        r.f64("p50_queue_s"),
        r.f64("p95_queue_s"),
        r.i64("slow_starts"),
    );
    for i in 0..r.rows() {
        let q: Vec<f64> = ops
            .iter()
            .filter(|o| o.ty == types[i])
            .filter_map(Op::queue)
            .collect();
        assert!(close(p50[i], percentile(q.clone(), 0.5), 1e-9));
        assert!(close(p95[i], percentile(q.clone(), 0.95), 1e-9));
        assert_eq!(
            slow[i],
            Some(q.iter().filter(|s| **s > 60.5).count() as i64)
        );
    }
}

#[tokio::test]
async fn operator_activity() {
    let (ctx, _) = context();
    let ops = ops();
    let r = run(&ctx, "operator_activity", &[]).await;
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for o in &ops {
        *totals
            .entry(o.creator.clone().unwrap_or_else(|| "(unknown)".into()))
            .or_default() += 1;
    }
    let (who, total, n, failed, types) = (
        r.str("operator"),
        r.i64("operator_total"),
        r.i64("operations"),
        r.i64("failed"),
        r.str("operation_type"),
    );
    for i in 0..r.rows() {
        let name = who[i].clone().unwrap();
        assert_eq!(total[i], Some(totals[&name]), "{name}");
        let g: Vec<&Op> = ops
            .iter()
            .filter(|o| o.creator.as_deref().unwrap_or("(unknown)") == name && o.ty == types[i])
            .collect();
        assert_eq!(n[i], Some(g.len() as i64));
        assert_eq!(
            failed[i],
            Some(g.iter().filter(|o| o.failed()).count() as i64)
        );
    }
    // sample-data/README.md: Megan Bowen started 162 of the 435 operations.
    assert_eq!(who[0].as_deref(), Some("Megan Bowen"));
    assert_eq!(total[0], Some(162));
    assert_eq!(r.str("operator_kind")[0].as_deref(), Some("user"));
}

#[tokio::test]
async fn repeated_restarts() {
    let (ctx, _) = context();
    let ops = ops();
    for (min, within, span) in [("3", "24h", DAY), ("2", "1h", HOUR), ("4", "2d", 2 * DAY)] {
        let r = run(
            &ctx,
            "repeated_restarts",
            &[("min_restarts", min), ("within", within)],
        )
        .await;
        let mut by_device: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for o in &ops {
            let restart = o.ty.as_deref().is_some_and(|t| {
                t.eq_ignore_ascii_case("restart") || t.eq_ignore_ascii_case("deviceRestart")
            });
            if let (true, Some(d), Some(c)) = (restart, &o.device, o.created) {
                by_device.entry(d.clone()).or_default().push(c);
            }
        }
        let min: i64 = min.parse().unwrap();
        let mut expected: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for (d, mut times) in by_device {
            times.sort();
            let most = times
                .iter()
                .map(|t| times.iter().filter(|u| **u >= *t && **u < t + span).count() as i64)
                .max()
                .unwrap();
            if most >= min {
                expected.insert(d, (most, times.len() as i64));
            }
        }
        let got: BTreeMap<String, (i64, i64)> = r
            .str("device_id")
            .into_iter()
            .zip(r.i64("most_in_span").into_iter().zip(r.i64("restarts")))
            .map(|(d, (m, n))| (d.unwrap(), (m.unwrap(), n.unwrap())))
            .collect();
        assert_eq!(got, expected, "min {min} within {within}");
    }
}

#[tokio::test]
async fn recent_failures() {
    let (ctx, _) = context();
    let ops = ops();
    let r = run(&ctx, "recent_failures", &[("limit", "3")]).await;
    let l = latest(&ops);
    let mut failed: Vec<&Op> = ops
        .iter()
        .filter(|o| o.failed() && o.in_range(l - 7 * DAY, l))
        .collect();
    failed.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
    let want: Vec<Option<String>> = failed.iter().take(3).map(|o| Some(o.id.clone())).collect();
    assert_eq!(r.str("id"), want);
    assert_eq!(r.str("error_code")[0], failed[0].code.clone());
}

#[tokio::test]
async fn parameters_are_typed_not_spliced() {
    let (ctx, _) = context();
    let q = queries::find("top_failing_devices", None).unwrap();
    for bad in [
        ("limit", "1; DROP TABLE operations"),
        ("limit", "1.5"),
        ("since", "yesterday"),
        ("nope", "1"),
    ] {
        let err = q
            .dataframe(&ctx, &[(bad.0.to_string(), bad.1.to_string())])
            .await
            .err()
            .unwrap_or_else(|| panic!("{bad:?} was accepted"));
        assert!(err.to_string().contains(bad.0), "{err}");
    }
    // Text reaches SQL as a value: a quote is just a character.
    let q = queries::NamedQuery::parse(
        "t",
        "-- title: T\n-- param: s text S.\nSELECT count(*) AS n FROM operations WHERE operation_type = $s",
        queries::Origin::BuiltIn,
    )
    .unwrap();
    let df = q
        .dataframe(&ctx, &[("s".into(), "x' OR '1'='1".into())])
        .await
        .unwrap();
    let b = df.collect().await.unwrap();
    assert_eq!(b[0].column(0).as_primitive::<Int64Type>().value(0), 0);
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

fn month_options() -> ReportOptions {
    ReportOptions {
        since: Some(parse_when("2026-11-13").unwrap()),
        until: Some(parse_when("2026-11-26").unwrap()),
        stuck_after: 2 * HOUR,
        top: 5,
    }
}

fn month_conditions() -> Vec<Condition> {
    ["failure_rate > 10%", "stuck >= 1", "p95_duration_s > 4h"]
        .iter()
        .map(|c| Condition::parse(c).unwrap())
        .collect()
}

async fn reports(ctx: &SessionContext, loaded: &Loaded) -> Vec<(&'static str, String)> {
    let default = report::build(ctx, Some(loaded), &ReportOptions::default())
        .await
        .unwrap();
    let mut month = report::build(ctx, Some(loaded), &month_options())
        .await
        .unwrap();
    apply_fail_if(&mut month, &month_conditions());
    vec![
        (
            "report.md",
            report::render(&default, Format::Markdown).unwrap(),
        ),
        (
            "report.json",
            report::render(&default, Format::Json).unwrap(),
        ),
        (
            "report-month.md",
            report::render(&month, Format::Markdown).unwrap(),
        ),
        (
            "report-month.json",
            report::render(&month, Format::Json).unwrap(),
        ),
    ]
}

#[tokio::test]
async fn golden_reports() {
    let (ctx, loaded) = context();
    let dir = Path::new("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0");
    let mut stale = Vec::new();
    for (name, text) in reports(&ctx, &loaded).await {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
        if want != text {
            let line = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(text.lines().count()));
            stale.push(format!(
                "{}: first difference at line {}:\n  golden: {:?}\n  now:    {:?}",
                path.display(),
                line + 1,
                want.lines().nth(line),
                text.lines().nth(line)
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "reports differ from the golden files (UPDATE_GOLDEN=1 rewrites them):\n{}",
        stale.join("\n")
    );
}

#[tokio::test]
async fn same_data_same_bytes() {
    // A fresh session, one partition instead of many: the same bytes.
    let (ctx1, loaded1) = context();
    let (ctx2, loaded2) = context_with(Some(session::session_config().with_target_partitions(1)));
    let (ctx3, loaded3) = context_with(Some(session::session_config().with_target_partitions(7)));
    let a = reports(&ctx1, &loaded1).await;
    let b = reports(&ctx2, &loaded2).await;
    let c = reports(&ctx3, &loaded3).await;
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[tokio::test]
async fn headline_matches_an_independent_count() {
    let (ctx, loaded) = context();
    let ops = ops();
    let r = report::build(&ctx, Some(&loaded), &ReportOptions::default())
        .await
        .unwrap();
    let until = latest(&ops);
    let since = until - 7 * DAY;
    assert_eq!(r.window.until.0, until);
    assert_eq!(r.window.since.0, since);
    let check = |lo: i64,
                 hi: i64,
                 stuck_at: i64,
                 which: fn(&report::model::Metric) -> Option<report::model::Num>| {
        let w: Vec<&Op> = ops.iter().filter(|o| o.in_range(lo, hi)).collect();
        let get = |k: &str| which(r.headline.get(k).unwrap()).map(|n| n.as_f64());
        assert_eq!(get("operations"), Some(w.len() as f64));
        assert_eq!(
            get("failed"),
            Some(w.iter().filter(|o| o.failed()).count() as f64)
        );
        assert_eq!(
            get("in_flight"),
            Some(w.iter().filter(|o| o.in_flight()).count() as f64)
        );
        assert!(close(get("failure_rate"), rate(&w), 5e-7));
        let d: Vec<f64> = w.iter().filter_map(|o| o.duration()).collect();
        assert!(close(
            get("p50_duration_s"),
            percentile(d.clone(), 0.5),
            5e-4
        ));
        assert!(close(get("p95_duration_s"), percentile(d, 0.95), 5e-4));
        let stuck = ops
            .iter()
            .filter(|o| o.created.is_some_and(|c| c <= stuck_at - DAY))
            .filter(|o| {
                o.in_flight()
                    || (matches!(
                        o.status.as_deref(),
                        Some("successful" | "failed" | "cancelled")
                    ) && o.completed.is_some_and(|c| c > stuck_at))
            })
            .count();
        assert_eq!(get("stuck"), Some(stuck as f64));
    };
    check(since, until, until, |m| m.current);
    check(since - 7 * DAY, since - 1, since - 1, |m| m.previous);

    // Per type and per device, against the same rows.
    let w: Vec<&Op> = ops.iter().filter(|o| o.in_range(since, until)).collect();
    for t in &r.operation_types {
        let g: Vec<&Op> = w
            .iter()
            .copied()
            .filter(|o| o.ty == t.operation_type)
            .collect();
        assert_eq!(t.operations, g.len() as i64);
        assert!(close(t.failure_rate, rate(&g), 5e-7));
    }
    let d = &r.top_devices[0];
    let g: Vec<&Op> = w
        .iter()
        .copied()
        .filter(|o| o.device == d.device_id)
        .collect();
    assert_eq!(d.failed, g.iter().filter(|o| o.failed()).count() as i64);
    let most = w
        .iter()
        .filter_map(|o| o.failed().then_some(&o.device))
        .fold(BTreeMap::<&Option<String>, i64>::new(), |mut m, d| {
            *m.entry(d).or_default() += 1;
            m
        })
        .into_values()
        .max()
        .unwrap();
    assert_eq!(d.failed, most);
    // Every day of the window, each operation counted once.
    assert_eq!(
        r.daily.iter().map(|d| d.operations).sum::<i64>(),
        w.len() as i64
    );
    assert_eq!(
        r.durations.iter().map(|b| b.operations).sum::<i64>(),
        w.iter().filter(|o| o.duration().is_some()).count() as i64
    );
    // Ingest counts from sample-data/README.md.
    let q = r.data_quality.ingest.as_ref().unwrap();
    assert_eq!(
        (q.files, q.records, q.duplicates, q.rejected, q.repaired),
        (18, 537, 96, 6, 3)
    );
    assert_eq!(r.data_quality.rejects.total, 6);
    assert_eq!(r.data.operations, 435);
}

#[tokio::test]
async fn an_empty_window_says_so() {
    let (ctx, loaded) = context();
    let opts = ReportOptions {
        since: Some(parse_when("2020-01-01").unwrap()),
        until: Some(parse_when("2020-01-07").unwrap()),
        ..ReportOptions::default()
    };
    let mut r = report::build(&ctx, Some(&loaded), &opts).await.unwrap();
    assert!(r.empty);
    assert_eq!(r.daily.len(), 7);
    let conditions = [
        Condition::parse("failure_rate > 0").unwrap(),
        Condition::parse("operations < 1").unwrap(),
    ];
    assert!(apply_fail_if(&mut r, &conditions));
    assert!(!r.checks[0].breached && r.checks[0].value.is_none());
    assert!(r.checks[1].breached);
    let md = report::render(&r, Format::Markdown).unwrap();
    assert!(
        md.contains("No operations were created in this window"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&report::render(&r, Format::Json).unwrap()).unwrap();
    assert_eq!(json["empty"], true);
    assert_eq!(
        json["headline"]["failure_rate"]["current"],
        serde_json::Value::Null
    );
    #[cfg(feature = "html")]
    assert!(
        report::render(&r, Format::Html)
            .unwrap()
            .contains("No operations were created in this window")
    );
}

#[tokio::test]
async fn json_has_stable_keys() {
    let (ctx, loaded) = context();
    let r = report::build(&ctx, Some(&loaded), &ReportOptions::default())
        .await
        .unwrap();
    let text = report::render(&r, Format::Json).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Keys in this order, at the top level (two spaces of indent).
    let top = [
        "format",
        "version",
        "window",
        "data",
        "settings",
        "empty",
        "headline",
        "operation_types",
        "daily",
        "top_devices",
        "top_errors",
        "stuck",
        "durations",
        "data_quality",
        "checks",
    ];
    assert_eq!(v.as_object().unwrap().len(), top.len());
    let at: Vec<usize> = top
        .iter()
        .map(|k| {
            text.find(&format!("\n  \"{k}\": "))
                .unwrap_or_else(|| panic!("{k}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    // One object per headline metric, in the order of METRICS.
    let headline = &text[at[6]..at[7]];
    let at: Vec<usize> = report::model::METRICS
        .iter()
        .map(|m| {
            headline
                .find(&format!("\n    \"{m}\": {{"))
                .unwrap_or_else(|| panic!("{m}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    for m in report::model::METRICS {
        let mut keys: Vec<&str> = v["headline"][m]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            ["change", "current", "direction", "previous", "worse"]
        );
    }
}

#[cfg(feature = "html")]
#[tokio::test]
async fn html_is_self_contained_with_three_charts() {
    let (ctx, loaded) = context();
    let r = report::build(&ctx, Some(&loaded), &ReportOptions::default())
        .await
        .unwrap();
    let html = report::render(&r, Format::Html).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in [
        "chart-failure-by-type",
        "chart-daily-failure-rate",
        "chart-durations",
    ] {
        let at = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id}"));
        assert!(html[at..].contains("<svg"), "{id}");
    }
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(!html.contains("could not be drawn"));
    // Nothing is fetched.
    for external in ["<script", "<link", "src=\"http", "url(http", "@import"] {
        assert!(!html.contains(external), "{external}");
    }
}

#[tokio::test]
async fn findings_count_the_windows_operations() {
    // Flaws inside the window (the 10th) and the same flaws outside it (the
    // 2nd); no creation time is outside every window and counts everywhere.
    let op = |id: &str, day: u32, extra: &str| {
        format!(
            r#"{{"id":"{id}","deviceId":"d1","operationType":"deviceRestart","status":"successful","createdDateTime":"2026-06-{day:02}T10:00:00Z","startedDateTime":"2026-06-{day:02}T10:01:00Z","completedDateTime":"2026-06-{day:02}T10:02:00Z"{extra}}}"#
        )
    };
    let mut lines = Vec::new();
    for (day, tag) in [(10, "in"), (2, "out")] {
        lines.push(op(&format!("{tag}-fine"), day, ""));
        lines.push(op(&format!("{tag}-nodev"), day, r#","deviceId":null"#));
        lines.push(op(
            &format!("{tag}-notype"),
            day,
            r#","operationType":null"#,
        ));
        lines.push(op(&format!("{tag}-nostatus"), day, r#","status":null"#));
        lines.push(op(
            &format!("{tag}-backwards"),
            day,
            r#","completedDateTime":"2026-06-01T00:00:00Z""#,
        ));
        lines.push(op(
            &format!("{tag}-early"),
            day,
            r#","startedDateTime":"2026-06-01T00:00:00Z""#,
        ));
        lines.push(op(
            &format!("{tag}-open"),
            day,
            r#","completedDateTime":null"#,
        ));
        lines.push(op(&format!("{tag}-odd"), day, r#","status":"paused""#));
    }
    lines.push(op("nocreated", 10, r#","createdDateTime":null"#));
    let dir = tempfile::tempdir().unwrap();
    let file = crate::support::write(dir.path(), "ops.ndjson", lines.join("\n"));
    let ctx = session::new_context().unwrap();
    let loaded = session::register_data(&ctx, &[file], &Default::default()).unwrap();
    let opts = ReportOptions {
        since: Some(parse_when("2026-06-08").unwrap()),
        until: Some(parse_when("2026-06-14").unwrap()),
        ..Default::default()
    };
    let r = report::build(&ctx, Some(&loaded), &opts).await.unwrap();
    let found: Vec<(&str, i64)> = r
        .data_quality
        .findings
        .iter()
        .map(|f| (f.key, f.count))
        .collect();
    assert_eq!(
        found,
        [
            ("no_device", 1),
            ("no_created", 1),
            ("no_type", 1),
            ("no_status", 1),
            ("completed_before_started", 1),
            ("started_before_created", 1),
            ("finished_without_completion", 1),
            ("unknown_status", 1),
        ]
    );
    assert_eq!(r.data.operations, 17);
}
