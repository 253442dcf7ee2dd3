//! `fleetops report`, `fleetops run` and `fleetops queries` as a scheduler
//! runs them: exit statuses, atomic output files, identical bytes.

#![cfg(feature = "cli")]

use crate::support::{SAMPLE, code, fleetops, fleetops_command, sample_data, stderr, stdout};

#[test]
fn fail_if_exits_3_when_breached_and_0_when_not() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.md");
    let out_s = out.to_str().unwrap();

    // Not breached: 0, and the report is written.
    let o = fleetops(&[
        "report",
        "--data",
        SAMPLE,
        "--output",
        out_s,
        "--fail-if",
        "failure_rate > 0.5",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("ok `failure_rate > 0.5`"), "{text}");
    std::fs::remove_file(&out).unwrap();

    // Breached: 3, after writing the report, which shows the breach.
    let o = fleetops(&[
        "report",
        "--data",
        SAMPLE,
        "--output",
        out_s,
        "--fail-if",
        "failure_rate > 0.01",
    ]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("**BREACHED** `failure_rate > 0.01`"),
        "{text}"
    );
    assert!(stderr(&o).contains("breached: failure_rate > 0.01"));

    // Repeatable; one breach is enough. Every metric and operator parses.
    for (conditions, want) in [
        (vec!["stuck > 100", "operations >= 1"], 3),
        (vec!["stuck > 100", "operations < 1"], 0),
        (vec!["devices == 0", "devices != 0"], 3),
        (vec!["p50_duration_s > 1h", "p95_duration_s <= 1s"], 0),
        (vec!["stuck >= 3"], 3),
        (vec!["failure_rate >= 50%"], 0),
    ] {
        let mut args = vec![
            "report", "--data", SAMPLE, "--format", "json", "--output", out_s,
        ];
        for c in &conditions {
            args.push("--fail-if");
            args.push(c);
        }
        let o = fleetops(&args);
        assert_eq!(code(&o), want, "{conditions:?}: {}", stderr(&o));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(v["checks"].as_array().unwrap().len(), conditions.len());
    }

    // An empty window: a failure rate that does not exist breaches nothing,
    // too few operations does.
    let empty = ["--since", "2020-01-01", "--until", "2020-01-02"];
    let o = fleetops(
        &[
            &["report", "--data", SAMPLE][..],
            &empty,
            &["--fail-if", "failure_rate > 0"],
        ]
        .concat(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("No operations were created"));
    let o = fleetops(
        &[
            &["report", "--data", SAMPLE][..],
            &empty,
            &["--fail-if", "operations < 1"],
        ]
        .concat(),
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
}

#[test]
fn bad_arguments_fail_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.md");
    for args in [
        vec!["--fail-if", "failure_rate >> 1"],
        vec!["--fail-if", "errors > 1"],
        vec!["--since", "last tuesday"],
        vec!["--since", "2026-11-27", "--until", "2026-11-01"],
        vec!["--stuck-after", "soon"],
    ] {
        let o = fleetops(
            &[
                &[
                    "report",
                    "--data",
                    SAMPLE,
                    "--output",
                    out.to_str().unwrap(),
                ][..],
                &args,
            ]
            .concat(),
        );
        assert_eq!(code(&o), 1, "{args:?}");
        let e = stderr(&o);
        // One line, and before any data was read (no ingest warnings).
        assert!(e.starts_with("fleetops: error: "), "{e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(!out.exists(), "{args:?} wrote a report");
    }
    // Nothing but the report is left in the folder (no temporary files).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn same_data_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["md", "json"] {
        let mut runs = Vec::new();
        for i in 0..2 {
            let path = dir.path().join(format!("r{i}.{format}"));
            let o = fleetops(&[
                "report",
                "--data",
                SAMPLE,
                "--format",
                format,
                "--output",
                path.to_str().unwrap(),
            ]);
            assert_eq!(code(&o), 0, "{}", stderr(&o));
            runs.push(std::fs::read(&path).unwrap());
        }
        assert_eq!(runs[0], runs[1], "{format}");
        // stdout gives the same bytes as the file.
        let o = fleetops(&["report", "--data", SAMPLE, "--format", format]);
        assert_eq!(o.stdout, runs[0], "{format}");
    }
    // An ingested dataset reports the same operations as the raw exports.
    let ds = dir.path().join("ds");
    let o = fleetops(&["ingest", SAMPLE, "--out", ds.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let from_dataset = fleetops(&["report", "--data", ds.to_str().unwrap(), "--format", "json"]);
    let from_exports = fleetops(&["report", "--data", SAMPLE, "--format", "json"]);
    let a: serde_json::Value = serde_json::from_slice(&from_dataset.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&from_exports.stdout).unwrap();
    for key in [
        "window",
        "headline",
        "operation_types",
        "daily",
        "top_devices",
        "top_errors",
        "stuck",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
    assert_eq!(a["data_quality"]["ingest"]["runs"], 1);
}

#[cfg(feature = "html")]
#[test]
fn html_report_is_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    let o = fleetops(&[
        "report",
        "--data",
        SAMPLE,
        "--format",
        "html",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let html = std::fs::read_to_string(&path).unwrap();
    assert_eq!(html.matches("<svg").count(), 3);
}

#[test]
fn queries_lists_every_named_query() {
    let o = fleetops(&["queries"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    for q in fleetops::report::queries::builtin() {
        assert!(
            text.contains(&format!("{}  {}", q.name, q.title)),
            "{}",
            q.name
        );
        for p in &q.params {
            assert!(text.contains(&format!("--param {}=", p.name)));
        }
    }
}

#[test]
fn run_binds_parameters_and_writes_formats() {
    let o = fleetops(&[
        "run",
        "top_failing_devices",
        "--data",
        SAMPLE,
        "--param",
        "limit=1",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["device_id"], "8e2f0a91-6b7c-4d3e-a1f2-93b4c5d6e7f8");
    assert_eq!(v[0]["failed"], 25);

    let o = fleetops(&[
        "run",
        "stuck_operations",
        "--data",
        SAMPLE,
        "--param",
        "older_than=48h",
        "--format",
        "csv",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let csv = stdout(&o);
    assert_eq!(csv.lines().count(), 3, "{csv}"); // header + 2 stuck for 2 days

    for (args, needle) in [
        (vec!["--param", "limit=1; DROP TABLE operations"], "limit"),
        (vec!["--param", "wat=1"], "wat"),
        (vec!["--param", "limit"], "key=value"),
    ] {
        let o = fleetops(&[&["run", "top_failing_devices", "--data", SAMPLE][..], &args].concat());
        assert_eq!(code(&o), 1);
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
    }
    let o = fleetops(&["run", "no_such_query", "--data", SAMPLE]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("fleetops queries"));
}

#[test]
fn a_queries_folder_adds_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("by_status.sql"),
        "-- title: Operations by status\n-- description: How many operations are in each status.\n\
         -- param: min int = 1 Leave out statuses with fewer operations.\n\
         SELECT status, count(*) AS n FROM operations GROUP BY status HAVING count(*) >= $min ORDER BY status\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("error_codes.sql"),
        "-- title: Overridden\n-- description: A replacement for the built-in one.\nSELECT 42 AS answer\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let o = fleetops(&["queries", "--queries", d]);
    let text = stdout(&o);
    assert!(text.contains("by_status  Operations by status"));
    assert!(text.contains("error_codes  Overridden"));
    assert!(text.contains("failure_rate_by_type"));

    let o = fleetops(&[
        "run",
        "by_status",
        "--queries",
        d,
        "--data",
        SAMPLE,
        "--param",
        "min=10",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // sample-data/README.md: cancelled 10, failed 38, successful 374.
    assert_eq!(
        v,
        serde_json::json!([
            {"status": "cancelled", "n": 10},
            {"status": "failed", "n": 38},
            {"status": "successful", "n": 374}
        ])
    );
    let o = fleetops(&[
        "run",
        "error_codes",
        "--queries",
        d,
        "--data",
        SAMPLE,
        "--format",
        "json",
    ]);
    assert_eq!(stdout(&o).trim(), r#"[{"answer":42}]"#);

    // Built in: works from any directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let o = fleetops_command()
        .args(["run", "error_codes", "--format", "json", "--data"])
        .arg(sample_data())
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("ConfigValidationFailed"));
}
