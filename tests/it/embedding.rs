//! What embedders rely on beyond the command line: stopping an ingest from
//! another thread, and the per-type statistics as plain SQL for engines that
//! take fleetops' functions by name (the Python module).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::util::pretty::pretty_format_batches;
use fleetops::functions::{helper_udfs, operation_type_stats_sql};
use fleetops::ingest::{self, Options, Progress};

use crate::support::{files_under, sample_data};

/// Every file of a dataset with its bytes, to compare before and after.
fn snapshot(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f, bytes)
        })
        .collect()
}

#[test]
fn an_interrupted_ingest_commits_nothing_and_the_next_one_does() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ds");
    let first =
        ingest::ingest_dataset(&[sample_data().join("pages")], &out, &Options::default()).unwrap();
    assert!(first.counts.rows > 0);
    let before = snapshot(&out);

    // Interrupted from the progress callback, as a notebook's Ctrl-C is:
    // the flag is set while the run is reading.
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    let opts = Options {
        interrupt: Some(Arc::clone(&flag)),
        progress: Some(Arc::new(move |_: Progress| {
            set.store(true, Ordering::Relaxed)
        })),
        threads: 1,
        ..Options::default()
    };
    let err = ingest::ingest_dataset(&[sample_data()], &out, &opts).unwrap_err();
    assert!(matches!(err, fleetops::Error::Interrupted), "{err}");
    assert_eq!(
        err.to_string(),
        "interrupted: nothing was committed, the dataset is as it was"
    );
    assert_eq!(snapshot(&out), before, "the dataset changed");

    // Set before the run starts: nothing is read at all.
    let opts = Options {
        interrupt: Some(Arc::new(AtomicBool::new(true))),
        ..Options::default()
    };
    let err = ingest::ingest_dataset(&[sample_data()], &out, &opts).unwrap_err();
    assert!(matches!(err, fleetops::Error::Interrupted), "{err}");
    assert_eq!(snapshot(&out), before);

    // The lock and the staging folders are gone: the same ingest runs.
    let again = ingest::ingest_dataset(&[sample_data()], &out, &Options::default()).unwrap();
    assert_eq!(again.counts.records, 537);
}

#[tokio::test]
async fn operation_type_stats_as_sql_gives_the_table_function_s_rows() {
    let ctx = fleetops::session::new_context().unwrap();
    fleetops::session::register_data(&ctx, &[sample_data()], &Options::default()).unwrap();
    for udf in helper_udfs() {
        ctx.register_udf(udf.as_ref().clone());
    }
    let sql = operation_type_stats_sql().unwrap();
    let show = |sql: String| {
        let ctx = ctx.clone();
        async move {
            let df = ctx.sql(&sql).await.unwrap_or_else(|e| panic!("{e}: {sql}"));
            let batches = df.collect().await.unwrap();
            pretty_format_batches(&batches).unwrap().to_string()
        }
    };
    let by_function = show("SELECT * FROM operation_type_stats()".into()).await;
    let by_sql = show(sql.clone()).await;
    assert_eq!(by_sql, by_function, "{sql}");
    // The eight operation types of sample-data, between four frame lines.
    assert_eq!(by_function.lines().count(), 4 + 8, "{by_function}");
    assert!(
        by_function
            .contains("| configUpdate                      | 122        | 106        | 9      |"),
        "{by_function}"
    );
    // The schema is the table function's, names and types.
    let df = ctx.sql(&sql).await.unwrap();
    assert_eq!(
        df.schema().as_arrow(),
        fleetops::functions::operation_type_stats_schema().as_ref()
    );
}
