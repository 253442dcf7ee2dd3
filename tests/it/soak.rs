//! A soak of damaged exports: 200 deterministic mutations of the sample
//! exports (byte flips, truncations, inserted garbage, duplicated and
//! deleted spans; some gzipped, some with a BOM or in UTF-16) go through the
//! in-memory ingest one by one and all together, and some through the
//! `ingest` command into a dataset. Each ends in rows, clean rejects or a
//! file error: never a panic, and the counts always add up.

use std::path::{Path, PathBuf};

use fleetops::ingest::{self, MemoryIngest, Options};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::support::{fleetops, fleetops_command, gzip_with, sample_data, stderr};

const MUTANTS: usize = 200;
const SEED: u64 = 0x5eed_f1ee_7095;

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(b), &mut out).unwrap();
    out
}

fn gzip(b: &[u8]) -> Vec<u8> {
    gzip_with(b, flate2::Compression::fast())
}

/// The sample exports (relative path, decompressed content), in name order.
fn sources() -> Vec<(PathBuf, Vec<u8>)> {
    let root = sample_data();
    let mut out = Vec::new();
    for p in crate::support::files_under(&root) {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if ![".json", ".ndjson", ".jsonl", ".gz"]
            .iter()
            .any(|x| name.ends_with(x))
        {
            continue;
        }
        let body = std::fs::read(&p).unwrap();
        let body = if name.ends_with(".gz") {
            gunzip(&body)
        } else {
            body
        };
        let rel = p.strip_prefix(&root).unwrap().to_path_buf();
        let rel = match rel.to_string_lossy().strip_suffix(".gz") {
            Some(s) => PathBuf::from(s),
            None => rel,
        };
        out.push((rel, body));
    }
    assert!(out.len() >= 10, "the sample exports are there");
    out
}

/// Bits of JSON and worse that inserted garbage is made of.
const GARBAGE: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"null",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\n",
    b"\r\n",
    b"1e999999",
    b"-0.0e-400",
    b"\"id\":",
    b"{\"id\":\"x\"}",
    b"\"value\":[",
    b"\"responses\":[{\"body\":",
    b"\"createdDateTime\":\"2026-02-30T00:00:00Z\"",
    b"\"lastActionDateTime\":\"/Date(99999999999999999)/\"",
    b"\"deviceId\":\"../../x\"",
    b"\xc3\x28",
    b"\xf0\x9f\x92",
];

fn mutate(rng: &mut ChaCha8Rng, src: &[u8]) -> (Vec<u8>, String) {
    let mut b = src.to_vec();
    let mut what = Vec::new();
    for _ in 0..rng.random_range(1..=4) {
        let len = b.len();
        match rng.random_range(0..6) {
            0 if len > 0 => {
                // Flip a few bytes.
                for _ in 0..rng.random_range(1..=8) {
                    let i = rng.random_range(0..len);
                    b[i] ^= 1 << rng.random_range(0..8);
                }
                what.push("flip");
            }
            1 if len > 0 => {
                b.truncate(rng.random_range(0..len));
                what.push("truncate");
            }
            2 => {
                let at = rng.random_range(0..=len);
                let mut g = Vec::new();
                for _ in 0..rng.random_range(1..=6) {
                    if rng.random_bool(0.2) {
                        let mut r = vec![0u8; rng.random_range(1..=16)];
                        rng.fill_bytes(&mut r);
                        g.extend(r);
                    } else {
                        g.extend_from_slice(GARBAGE[rng.random_range(0..GARBAGE.len())]);
                    }
                }
                b.splice(at..at, g);
                what.push("garbage");
            }
            3 if len > 1 => {
                let start = rng.random_range(0..len);
                let end = (start + rng.random_range(1..=4096)).min(len);
                let span = b[start..end].to_vec();
                let at = rng.random_range(0..=len);
                b.splice(at..at, span);
                what.push("duplicate");
            }
            4 if len > 1 => {
                let start = rng.random_range(0..len);
                let end = (start + rng.random_range(1..=512)).min(len);
                b.drain(start..end);
                what.push("delete");
            }
            _ => {
                // Swap two lines (or two chunks).
                let lines: Vec<&[u8]> = b.split(|&c| c == b'\n').collect();
                if lines.len() > 2 {
                    let i = rng.random_range(0..lines.len());
                    let j = rng.random_range(0..lines.len());
                    let mut l: Vec<Vec<u8>> = lines.iter().map(|x| x.to_vec()).collect();
                    l.swap(i, j);
                    b = l.join(&b'\n');
                }
                what.push("swap");
            }
        }
    }
    // Encodings on top.
    match rng.random_range(0..20) {
        0..=3 => {
            b = gzip(&b);
            what.push("gzip");
        }
        4 => {
            let cut = rng.random_range(0..=b.len());
            b = gzip(&b);
            let keep = (b.len() * cut / src.len().max(1)).min(b.len());
            b.truncate(keep.max(1));
            what.push("gzip-cut");
        }
        5 => {
            b.splice(0..0, *b"\xef\xbb\xbf");
            what.push("bom");
        }
        6 => {
            let text = String::from_utf8_lossy(&b).into_owned();
            let mut u = vec![0xFF, 0xFE];
            for unit in text.encode_utf16() {
                u.extend(unit.to_le_bytes());
            }
            if rng.random_bool(0.3) {
                u.pop();
            }
            b = u;
            what.push("utf16");
        }
        _ => {}
    }
    (b, what.join("+"))
}

/// The mutants, written under `dir` at their sources' paths (so path-borne
/// device ids still apply).
fn mutants(dir: &Path) -> Vec<(PathBuf, String)> {
    let sources = sources();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    (0..MUTANTS)
        .map(|i| {
            let (rel, body) = &sources[rng.random_range(0..sources.len())];
            let (bytes, what) = mutate(&mut rng, body);
            let name = rel.file_name().unwrap().to_string_lossy().to_string();
            let path = dir
                .join(rel.parent().unwrap())
                .join(format!("m{i:03}-{name}"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            (path, format!("mutant {i} ({what}) of {}", rel.display()))
        })
        .collect()
}

fn check(m: &MemoryIngest, files: usize, label: &str) {
    let c = &m.report.counts;
    let rows: u64 = m.batches.iter().map(|b| b.num_rows() as u64).sum();
    assert_eq!(c.rows, rows, "{label}: {c:?}");
    assert_eq!(c.rejected, m.rejects.len() as u64, "{label}: {c:?}");
    assert_eq!(
        c.records,
        c.rows + c.duplicates + c.rejected,
        "{label}: records = rows + duplicates + rejected: {c:?}"
    );
    assert_eq!(
        c.files as usize + m.report.failures.len(),
        files,
        "{label}: every file is read or failed"
    );
    for r in &m.rejects {
        assert!(
            !r.reject.reason.is_empty(),
            "{label}: a reject has a reason"
        );
    }
    for f in &m.report.failures {
        assert!(!f.message.is_empty(), "{label}: a failure says why");
    }
}

fn opts() -> Options {
    Options {
        keep_going: true,
        threads: 2,
        // Small blocks: NDJSON is cut into several units of work.
        limits: ingest::Limits {
            block_bytes: 4096,
            ..ingest::Limits::default()
        },
        ..Options::default()
    }
}

#[test]
fn mutants_one_by_one_and_all_together() {
    let d = tempfile::tempdir().unwrap();
    let all = mutants(d.path());
    let (mut read, mut failed, mut rejected) = (0, 0, 0);
    for (path, label) in &all {
        let m = ingest::ingest_memory(std::slice::from_ref(path), &opts())
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        check(&m, 1, label);
        if m.report.failures.is_empty() {
            read += 1;
        } else {
            failed += 1;
            assert_eq!(
                m.report.counts.records, 0,
                "{label}: a failed file adds nothing"
            );
            assert!(m.batches.is_empty(), "{label}");
        }
        rejected += m.rejects.len();
    }
    eprintln!("{read} mutants read, {failed} failed as files, {rejected} records rejected");
    // The mutations are strong enough to exercise every outcome.
    assert!(
        read > 20 && failed > 20 && rejected > 20,
        "{read} {failed} {rejected}"
    );

    let paths: Vec<PathBuf> = all.iter().map(|(p, _)| p.clone()).collect();
    let m = ingest::ingest_memory(&paths, &opts()).unwrap();
    check(&m, paths.len(), "all mutants together");
    assert_eq!(m.report.failures.len(), failed);
}

#[test]
fn mutants_through_the_ingest_command() {
    let d = tempfile::tempdir().unwrap();
    let all = mutants(&d.path().join("in"));
    let out = d.path().join("ds");
    let mut total_rows = 0u64;
    // Three runs that merge into one dataset.
    for chunk in all.chunks(MUTANTS / 3).take(3) {
        let mut cmd = fleetops_command();
        cmd.arg("ingest");
        for (p, _) in chunk {
            cmd.arg(p);
        }
        let o = cmd
            .args(["--out".as_ref(), out.as_os_str(), "--keep-going".as_ref()])
            .arg("--json")
            .output()
            .unwrap();
        let stderr = stderr(&o);
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(matches!(o.status.code(), Some(0 | 1)), "{stderr}");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)));
        let n = |k: &str| v[k].as_u64().unwrap();
        assert_eq!(
            n("records"),
            n("rows") + n("duplicates") + n("rejected"),
            "{v}"
        );
        assert_eq!(n("files") + n("failed_files"), chunk.len() as u64, "{v}");
        assert_eq!(o.status.success(), n("failed_files") == 0, "{v}");
        total_rows += n("rows");
    }
    // The dataset reads back whole.
    let o = fleetops(&[
        "sql".as_ref(),
        "SELECT count(*) AS n, count(DISTINCT id) AS d FROM operations".as_ref(),
        "--data".as_ref(),
        out.as_os_str(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = v[0]["n"].as_u64().unwrap();
    assert_eq!(n, v[0]["d"].as_u64().unwrap(), "one row per id");
    assert!(
        n > 0 && n <= total_rows,
        "{n} rows of {total_rows} added or replaced"
    );
}
