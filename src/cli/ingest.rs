//! `fleetops ingest`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use super::IngestArgs;
use crate::error::Result;
use crate::ingest::{self, Options, Progress};

pub fn run(a: IngestArgs) -> Result<ExitCode> {
    let redactor = a.redact.redactor()?.map(Arc::new);
    let mut opts = Options {
        redactor,
        keep_going: a.keep_going,
        threads: a.threads,
        wait_for_lock: a.wait,
        memory_budget: a.memory_budget.unwrap_or(0),
        limits: crate::ingest::Limits {
            max_record_bytes: a.max_record_bytes,
            max_document_bytes: a.max_document_bytes,
            max_decompressed_bytes: a.max_decompressed_bytes,
            ..Default::default()
        },
        ..Options::default()
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {bytes} read ({bytes_per_sec}), {msg}")
                .expect("valid template"),
        );
        bar
    });
    if let Some(bar) = &bar {
        let bar = bar.clone();
        let files = std::sync::atomic::AtomicU64::new(0);
        opts.progress = Some(Arc::new(move |p| match p {
            Progress::Bytes(n) => bar.inc(n),
            Progress::File => {
                let n = files.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                bar.set_message(format!("{n} files"));
            }
        }));
    }
    let report = ingest::ingest_dataset(&a.inputs, &a.out, &opts);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = report?;
    let c = &report.counts;
    if a.json {
        let mut v = serde_json::to_value(c)?;
        v["failed_files"] = report.failures.len().into();
        println!("{v}");
    }
    eprintln!(
        "fleetops: {} files, {} records: {} rows added or replaced, {} duplicates collapsed, {} rejected, {} repaired -> {}",
        c.files,
        c.records,
        c.rows,
        c.duplicates,
        c.rejected,
        c.repaired,
        a.out.display()
    );
    if let Some(p) = &report.rejects_file {
        eprintln!(
            "fleetops: rejected records and their reasons: {}",
            p.display()
        );
    }
    for n in &report.notes {
        eprintln!("fleetops: note: {n}");
    }
    for f in &report.failures {
        eprintln!("fleetops: skipped {}: {}", f.file, f.message);
    }
    Ok(if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn compact(a: super::CompactArgs) -> Result<ExitCode> {
    let opts = Options {
        wait_for_lock: a.wait,
        ..Options::default()
    };
    let r = ingest::compact(&a.dataset, &opts)?;
    if a.json {
        println!("{}", serde_json::to_value(&r)?);
    }
    eprintln!(
        "fleetops: {} partitions compacted, {} -> {} files in {}",
        r.partitions,
        r.files_before,
        r.files_after,
        a.dataset.display()
    );
    Ok(ExitCode::SUCCESS)
}
