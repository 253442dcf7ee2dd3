//! The same SQL, functions, named queries and report on an Apache DataFusion
//! Ballista cluster as in one process (the `cluster` feature).
//!
//! Two clusters: Ballista's in-process standalone one, and a loopback one
//! started as a user would, `fleetops-scheduler` and `fleetops-executor`s as
//! processes on 127.0.0.1 ports, so that every plan goes over gRPC and every
//! result over Arrow Flight. The answers are compared with the one-process
//! ones: exact for everything but floating-point values, which agree to
//! 1e-9 relative (a sum's order may differ between plans).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use fleetops::report::queries;
use sha2::{Digest, Sha256};

use crate::support::{fleetops, ok, stderr};

/// Operations generated for the shared dataset (the floor is 100,000).
const OPS: usize = 120_000;

/// Q1–Q4 of `benches/compare`, and queries that split `failure_rate` and
/// `op_percentile` into partial and final aggregates across a shuffle, the
/// per-type statistics and the rejects.
const QUERIES: &[(&str, &str)] = &[
    ("q1", include_str!("../../benches/queries/q1.sql")),
    ("q2", include_str!("../../benches/queries/q2.sql")),
    ("q3", include_str!("../../benches/queries/q3.sql")),
    ("q4", include_str!("../../benches/queries/q4.sql")),
    (
        "grouped aggregates",
        "SELECT device_id, count(*) AS operations, failure_rate(status) AS fr,
                op_percentile(op_duration_seconds(started_date_time, completed_date_time), 0.9) AS p90,
                op_percentile(op_queue_seconds(created_date_time, started_date_time), 0.5) AS q50,
                sum(CASE WHEN is_terminal(status) THEN 1 ELSE 0 END) AS terminal
         FROM operations GROUP BY device_id ORDER BY device_id NULLS LAST",
    ),
    (
        "operation_type_stats",
        "SELECT * FROM operation_type_stats()",
    ),
    (
        "operation_type_stats projected",
        "SELECT operation_type, failed, p95_duration_s FROM operation_type_stats()
         WHERE operations > 0 ORDER BY failed DESC, operation_type NULLS LAST",
    ),
    (
        "rejects",
        "SELECT file, line, response, \"index\", reason, length(record) AS n FROM rejects
         ORDER BY file, line NULLS FIRST, response NULLS FIRST, \"index\" NULLS FIRST, reason",
    ),
];

/// Two named queries, run through the library as `fleetops run` runs them.
const NAMED: &[&str] = &["failure_rate_by_type", "queue_latency"];

// ---------------------------------------------------------------------------
// The dataset
// ---------------------------------------------------------------------------

struct Shared {
    dataset: PathBuf,
    rows: u64,
    rejected: u64,
}

/// A dataset of [`OPS`] generated operations over 90 days (90 day folders,
/// a few hundred devices, some bad records), made once and kept in Cargo's
/// temporary folder for the next runs (the generator and the ingest are
/// deterministic; a run of another version writes it anew).
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let version = env!("CARGO_PKG_VERSION");
        let dir = base.join(format!("cluster-{OPS}-{version}"));
        let dataset = dir.join("fleet");
        let counts = dir.join("counts.json");
        if let Ok(text) = std::fs::read_to_string(&counts) {
            let (rows, rejected): (u64, u64) = serde_json::from_str(&text).unwrap();
            return Shared {
                dataset,
                rows,
                rejected,
            };
        }
        // Made beside, then renamed into place: a run that stops half-way
        // leaves no dataset that looks whole.
        let work = base.join(format!("cluster-{OPS}-{version}.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        let exports = work.join("exports");
        let opts = fleetops_gen::Options {
            ops: OPS,
            days: 90,
            files: 2,
            bad_rate: 0.001,
            ..fleetops_gen::Options::default()
        };
        fleetops_gen::generate(&opts, &exports).unwrap();
        let report = fleetops::ingest::ingest_dataset(
            std::slice::from_ref(&exports),
            &work.join("fleet"),
            &Default::default(),
        )
        .unwrap();
        std::fs::remove_dir_all(&exports).unwrap();
        let (rows, rejected) = (report.counts.rows, report.counts.rejected);
        std::fs::write(
            work.join("counts.json"),
            serde_json::to_string(&(rows, rejected)).unwrap(),
        )
        .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&work, &dir).unwrap();
        Shared {
            dataset,
            rows,
            rejected,
        }
    })
}

// ---------------------------------------------------------------------------
// Answers and their comparison
// ---------------------------------------------------------------------------

type Rows = Vec<Vec<ScalarValue>>;

fn rows(batches: &[RecordBatch]) -> Rows {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .map(|c| ScalarValue::try_from_array(c, r).unwrap())
                    .collect(),
            );
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) || (a.is_nan() && b.is_nan())
}

fn same_value(a: &ScalarValue, b: &ScalarValue) -> bool {
    match (a, b) {
        (ScalarValue::Float64(Some(x)), ScalarValue::Float64(Some(y))) => close(*x, *y),
        _ => a == b,
    }
}

#[track_caller]
fn assert_same(what: &str, local: &Rows, cluster: &Rows) {
    assert_eq!(
        local.len(),
        cluster.len(),
        "{what}: {} rows in one process, {} on the cluster",
        local.len(),
        cluster.len()
    );
    for (i, (l, c)) in local.iter().zip(cluster).enumerate() {
        assert!(
            l.len() == c.len() && l.iter().zip(c).all(|(a, b)| same_value(a, b)),
            "{what}: row {i} differs\n one process: {l:?}\n cluster:     {c:?}"
        );
    }
}

/// JSON values equal but for floating-point numbers, which agree to 1e-9.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) if x.is_f64() || y.is_f64() => {
            close(x.as_f64().unwrap(), y.as_f64().unwrap())
        }
        (V::Array(x), V::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (V::Object(x), V::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// CSV text equal but for fields that are floating-point numbers.
fn same_csv(a: &str, b: &str) -> bool {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    la.len() == lb.len()
        && la.iter().zip(&lb).all(|(x, y)| {
            let (fx, fy): (Vec<&str>, Vec<&str>) = (x.split(',').collect(), y.split(',').collect());
            fx.len() == fy.len()
                && fx.iter().zip(&fy).all(|(p, q)| {
                    p == q
                        || matches!((p.parse::<f64>(), q.parse::<f64>()),
                            (Ok(u), Ok(v)) if close(u, v))
                })
        })
}

async fn sql_rows(ctx: &SessionContext, sql: &str) -> fleetops::Result<Rows> {
    let batches = ctx.sql(sql).await?.collect().await?;
    Ok(rows(&batches))
}

/// Every answer of [`QUERIES`] and [`NAMED`], and the JSON report.
async fn answers(ctx: &SessionContext, loaded: &fleetops::session::Loaded) -> Vec<(String, Rows)> {
    let mut out = Vec::new();
    for (name, sql) in QUERIES {
        let r = sql_rows(ctx, sql)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        out.push((name.to_string(), r));
    }
    for name in NAMED {
        let q = queries::find(name, None).unwrap();
        let df = q.dataframe(ctx, &[]).await.unwrap();
        out.push((
            format!("named query {name}"),
            rows(&df.collect().await.unwrap()),
        ));
    }
    let report = fleetops::report::build(ctx, Some(loaded), &Default::default())
        .await
        .unwrap();
    let json = fleetops::report::render(&report, fleetops::report::Format::Json).unwrap();
    out.push(("report".into(), vec![vec![ScalarValue::Utf8(Some(json))]]));
    out
}

/// The one-process answers, computed once.
fn local_answers() -> &'static Vec<(String, Rows)> {
    static LOCAL: OnceLock<Vec<(String, Rows)>> = OnceLock::new();
    LOCAL.get_or_init(|| {
        let s = shared();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let ctx = fleetops::session::new_context().unwrap();
            let loaded = fleetops::session::register_data(
                &ctx,
                std::slice::from_ref(&s.dataset),
                &Default::default(),
            )
            .unwrap();
            answers(&ctx, &loaded).await
        })
    })
}

#[track_caller]
fn assert_same_answers(cluster: &[(String, Rows)]) {
    let local = local_answers();
    let s = shared();
    // The answers are about the data, not empty agreement.
    let q1 = &local[0].1;
    let total: i64 = q1
        .iter()
        .map(|r| match &r[1] {
            ScalarValue::Int64(Some(n)) => *n,
            other => panic!("q1 operations: {other:?}"),
        })
        .sum();
    assert_eq!(total as u64, s.rows, "Q1 counts every stored operation");
    assert!(s.rejected > 0, "the generator wrote bad records");
    for (name, r) in local {
        assert!(!r.is_empty(), "{name}: no rows in one process");
    }
    let rejects = &local.iter().find(|(n, _)| n == "rejects").unwrap().1;
    assert_eq!(rejects.len() as u64, s.rejected);

    assert_eq!(local.len(), cluster.len());
    for ((name, l), (_, c)) in local.iter().zip(cluster) {
        if name == "report" {
            let text = |r: &Rows| match &r[0][0] {
                ScalarValue::Utf8(Some(s)) => serde_json::from_str::<serde_json::Value>(s).unwrap(),
                other => panic!("{other:?}"),
            };
            let (a, b) = (text(l), text(c));
            assert!(
                same_json(&a, &b),
                "the JSON report differs\n one process: {a}\n cluster:     {b}"
            );
            assert_eq!(
                a["data"]["operations"].as_u64(),
                Some(s.rows),
                "the report counts every operation"
            );
        } else {
            assert_same(name, l, c);
        }
    }
}

// ---------------------------------------------------------------------------
// A loopback cluster of processes
// ---------------------------------------------------------------------------

/// `fleetops-scheduler` and `fleetops-executor` processes on 127.0.0.1,
/// killed when dropped.
struct Loopback {
    scheduler: Child,
    executors: Vec<Child>,
    url: String,
    _work: tempfile::TempDir,
}

impl Drop for Loopback {
    fn drop(&mut self) {
        for c in self.executors.iter_mut().chain([&mut self.scheduler]) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on `port` of 127.0.0.1.
fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what} did not start listening on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A scheduler and `executors` executors of two task slots each. Executors
/// that send a heartbeat every second are taken as lost after
/// `executor_timeout` seconds without one.
fn loopback(executors: usize, executor_timeout: u64) -> Loopback {
    let work = tempfile::tempdir().unwrap();
    let mut scheduler = Command::new(env!("CARGO_BIN_EXE_fleetops-scheduler"))
        .args(["--port", "0", "--executor-timeout"])
        .arg(executor_timeout.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(scheduler.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("fleetops-scheduler listening on ")
        .unwrap_or_else(|| panic!("the scheduler's first line: {line:?}"))
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "bound to loopback: {addr}");
    let url = format!("df://{addr}");
    let mut cluster = Loopback {
        scheduler,
        executors: Vec::new(),
        url,
        _work: work,
    };
    for i in 0..executors {
        let (port, grpc) = (free_port(), free_port());
        let dir = cluster._work.path().join(format!("executor-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_fleetops-executor"))
            .arg("--scheduler")
            .arg(&cluster.url)
            .args([
                "--port",
                &port.to_string(),
                "--grpc-port",
                &grpc.to_string(),
            ])
            .args(["--concurrent-tasks", "2", "--heartbeat-interval", "1"])
            .arg("--work-dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        cluster.executors.push(child);
        wait_for_port(port, "an executor");
    }
    cluster
}

async fn cluster_context(url: &str) -> (SessionContext, fleetops::session::Loaded) {
    let ctx = fleetops::cluster::connect(url).await.unwrap();
    let loaded = fleetops::cluster::register_data(&ctx, &[shared().dataset.clone()]).unwrap();
    (ctx, loaded)
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// Ballista's standalone cluster (a scheduler and an executor in this
/// process, plans serialized between them) gives the one-process answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_cluster_answers_as_one_process() {
    let s = shared();
    let local = tokio::task::spawn_blocking(local_answers).await.unwrap();
    let ctx = fleetops::cluster::standalone(2).await.unwrap();
    let loaded = fleetops::cluster::register_data(&ctx, std::slice::from_ref(&s.dataset)).unwrap();
    let cluster = answers(&ctx, &loaded).await;
    assert_eq!(local.len(), cluster.len());
    assert_same_answers(&cluster);
}

/// A scheduler and two executors started as processes on loopback ports:
/// the library's client and the command line get the one-process answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_cluster_answers_as_one_process() {
    let s = shared();
    tokio::task::spawn_blocking(local_answers).await.unwrap();
    let cluster = loopback(2, 30);
    let (ctx, loaded) = cluster_context(&cluster.url).await;
    let answers = answers(&ctx, &loaded).await;
    assert_same_answers(&answers);
    assert_split_across_a_shuffle(&ctx).await;

    // The command line: the same output, through `--cluster`.
    let data = s.dataset.to_str().unwrap().to_string();
    let url = cluster.url.clone();
    tokio::task::spawn_blocking(move || {
        let local = ok(&fleetops(&["report", "--data", &data, "--format", "json"]));
        let remote = ok(&fleetops(&[
            "report",
            "--data",
            &data,
            "--format",
            "json",
            "--cluster",
            &url,
        ]));
        let (a, b): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(&local).unwrap(),
            serde_json::from_str(&remote).unwrap(),
        );
        assert!(same_json(&a, &b), "report --cluster:\n{local}\n{remote}");

        let run = |cluster: Option<&str>| {
            let mut args = vec![
                "run",
                "top_failing_devices",
                "--data",
                &data,
                "--format",
                "csv",
                "--param",
                "limit=50",
            ];
            if let Some(u) = cluster {
                args.extend(["--cluster", u]);
            }
            ok(&fleetops(&args))
        };
        let (local, remote) = (run(None), run(Some(&url)));
        assert_eq!(local.lines().count(), 51, "{local}");
        assert!(
            same_csv(&local, &remote),
            "run --cluster:\n{local}\n{remote}"
        );

        let q = "SELECT operation_type, operations, failure_rate FROM operation_type_stats()";
        let local = ok(&fleetops(&[
            "sql", q, "--data", &data, "--format", "ndjson",
        ]));
        let remote = ok(&fleetops(&[
            "sql",
            q,
            "--data",
            &data,
            "--format",
            "ndjson",
            "--cluster",
            &url,
        ]));
        let parse = |t: &str| -> Vec<serde_json::Value> {
            t.lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        let (a, b) = (parse(&local), parse(&remote));
        assert!(a.len() > 1 && a.len() == b.len(), "{local}\n{remote}");
        assert!(
            a.iter().zip(&b).all(|(x, y)| same_json(x, y)),
            "{local}\n{remote}"
        );

        // The same error as in one process (planning happens on the client).
        let bad = "SELECT no_such_column FROM operations";
        let local = fleetops(&["sql", bad, "--data", &data]);
        let remote = fleetops(&["sql", bad, "--data", &data, "--cluster", &url]);
        assert_eq!(local.status.code(), Some(1));
        assert_eq!(remote.status.code(), Some(1));
        assert_eq!(stderr(&local), stderr(&remote));
        assert!(
            stderr(&local).contains("no_such_column"),
            "{}",
            stderr(&local)
        );

        // The hidden helper of the per-type statistics is no function of the
        // user's on a cluster either.
        let hidden = "SELECT canonical_status('Succeeded') AS s";
        let local = fleetops(&["sql", hidden, "--data", &data]);
        let remote = fleetops(&["sql", hidden, "--data", &data, "--cluster", &url]);
        assert_eq!(local.status.code(), Some(1));
        assert_eq!(remote.status.code(), Some(1));
        assert_eq!(stderr(&local), stderr(&remote));
        assert!(
            stderr(&local).contains("canonical_status"),
            "{}",
            stderr(&local)
        );
    })
    .await
    .unwrap();
}

/// The scheduler's stages of the grouped aggregates: the partial
/// aggregates of `failure_rate` and `op_percentile` in one stage, their
/// final aggregation in another that reads the first's shuffle output.
async fn assert_split_across_a_shuffle(ctx: &SessionContext) {
    let sql = QUERIES
        .iter()
        .find(|(n, _)| *n == "grouped aggregates")
        .unwrap()
        .1;
    let explain = sql_rows(ctx, &format!("EXPLAIN {sql}")).await.unwrap();
    let distributed = explain
        .iter()
        .find(|r| r[0] == ScalarValue::Utf8(Some("distributed_plan".into())))
        .map(|r| r[1].to_string())
        .expect("EXPLAIN on a cluster shows the distributed plan");
    let stages: Vec<&str> = distributed.split("Stage[").skip(1).collect();
    let has = |stage: &&str, mode: &str| {
        stage.contains(mode) && stage.contains("failure_rate(") && stage.contains("op_percentile(")
    };
    let partial = stages.iter().position(|s| has(s, "mode=Partial,"));
    let last = stages.iter().position(|s| {
        (has(s, "mode=Final,") || has(s, "mode=FinalPartitioned,"))
            && s.contains("UnresolvedShuffleExec")
    });
    assert!(
        matches!((partial, last), (Some(p), Some(f)) if p < f),
        "partial and final aggregates in stages {partial:?} and {last:?}:\n{distributed}"
    );
}

/// Exports given to `--data` would only exist in the client's memory: one
/// line says to ingest them first. An address without a scheduler, and one
/// that is not `df://`, are one line each too.
#[test]
fn cluster_refuses_raw_exports_and_bad_addresses() {
    // Nothing listens on a port just freed.
    let url = format!("df://127.0.0.1:{}", free_port());
    let o = fleetops(&[
        "sql",
        "SELECT 1",
        "--data",
        "sample-data",
        "--cluster",
        &url,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("ingest them to a dataset first"), "{e}");

    let dataset = shared().dataset.to_str().unwrap().to_string();
    let o = fleetops(&["report", "--data", &dataset, "--cluster", &url]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains(&format!("--cluster {url}: cannot reach a scheduler there")),
        "{e}"
    );

    let o = fleetops(&[
        "run",
        "error_codes",
        "--data",
        &dataset,
        "--cluster",
        "http://x:1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(
        e,
        "fleetops: error: invalid argument: --cluster takes df://HOST:PORT (the scheduler's \
         address), got 'http://x:1'\n"
    );
}

/// Every file of a dataset with its SHA-256.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, String)> {
    crate::support::files_under(dir)
        .into_iter()
        .map(|p| {
            let hash = Sha256::digest(std::fs::read(&p).unwrap());
            let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
            (p.strip_prefix(dir).unwrap().to_path_buf(), hex)
        })
        .collect()
}

/// An executor killed while a query runs: the query either fails with an
/// error or is finished by the other executor with the right answer, the
/// cluster answers the next query, and the dataset is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executor_killed_during_a_query() {
    let s = shared();
    let before = fingerprint(&s.dataset);
    assert!(
        before.len() > 90,
        "a file per day and more: {}",
        before.len()
    );
    // A join of each device's operations with its unsuccessful ones of the
    // same type: long enough to be killed in the middle (seconds in a debug
    // build), with shuffles between the executors.
    let sql = "SELECT a.device_id, count(*) AS pairs, failure_rate(b.status) AS fr
               FROM operations a JOIN operations b
                 ON a.device_id = b.device_id AND a.operation_type = b.operation_type
               WHERE b.status <> 'successful'
               GROUP BY a.device_id ORDER BY a.device_id NULLS LAST";
    let local_ctx = fleetops::session::new_context().unwrap();
    fleetops::session::register_data(
        &local_ctx,
        std::slice::from_ref(&s.dataset),
        &Default::default(),
    )
    .unwrap();
    let expected = sql_rows(&local_ctx, sql).await.unwrap();
    assert!(expected.len() > 100);

    let mut cluster = loopback(2, 3);
    let (ctx, _) = cluster_context(&cluster.url).await;
    let started = Instant::now();
    let query = {
        let ctx = ctx.clone();
        tokio::spawn(async move { sql_rows(&ctx, sql).await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!query.is_finished(), "the query ended before the kill");
    let mut victim = cluster.executors.remove(0);
    victim.kill().unwrap();
    victim.wait().unwrap();

    let outcome = tokio::time::timeout(Duration::from_secs(180), query)
        .await
        .expect("the query neither failed nor finished within 3 minutes")
        .unwrap();
    match outcome {
        Ok(rows) => assert_same("the query that lost an executor", &expected, &rows),
        Err(e) => {
            let line = fleetops::cli::one_line(&e);
            eprintln!("the query that lost an executor failed: {line}");
            assert!(!line.is_empty() && !line.contains('\n'));
        }
    }
    eprintln!(
        "the query that lost an executor ended after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    // The other executor goes on answering.
    let again = tokio::time::timeout(Duration::from_secs(180), sql_rows(&ctx, sql))
        .await
        .expect("the next query ended")
        .unwrap();
    assert_same("the next query", &expected, &again);
    assert_eq!(fingerprint(&s.dataset), before, "the dataset changed");
}
