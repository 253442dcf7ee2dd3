//! What embedders rely on beyond the command line: stopping an ingest from
//! another thread (the Python module's Ctrl-C).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
