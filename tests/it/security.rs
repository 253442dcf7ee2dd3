//! Hostile names and ids: device and operation ids that look like paths
//! (`../../etc/x`, `/abs`), hold NUL or control characters, and input files
//! whose names hold control characters. An ingest writes nothing outside its
//! dataset folder, and every such id is stored verbatim, as data.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow::array::{AsArray, RecordBatch};
use fleetops::ingest::{self, Options};
use fleetops::schema::idx;

use crate::support::{
    dataset_batches, fleetops_command, ok, read_arrow, read_parquet, sample_data, stderr, text_at,
};

/// Every entry under `root` (relative path → what it is and holds), except
/// those under `skip`.
fn snapshot(root: &Path, skip: Option<&Path>) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, skip: Option<&Path>, out: &mut BTreeMap<PathBuf, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if Some(p.as_path()) == skip {
                continue;
            }
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if meta.is_dir() {
                out.insert(rel, "dir".into());
                walk(root, &p, skip, out);
            } else if meta.file_type().is_symlink() {
                out.insert(rel, format!("link {:?}", std::fs::read_link(&p).unwrap()));
            } else {
                let mut body = Vec::new();
                std::fs::File::open(&p)
                    .unwrap()
                    .read_to_end(&mut body)
                    .unwrap();
                out.insert(rel, format!("file {} {:?}", body.len(), hash(&body)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, skip, &mut out);
    out
}

/// The snapshot of `parent` without the dataset `ds`, and without the one
/// entry a dataset keeps beside itself: its lock file `.NAME.fleetops-lock`
/// (its staging folder, also beside it, must be gone after a run).
fn outside(parent: &Path, ds: &Path) -> BTreeMap<PathBuf, String> {
    let lock = format!(
        ".{}.fleetops-lock",
        ds.file_name().unwrap().to_string_lossy()
    );
    let mut snap = snapshot(parent, Some(ds));
    if let Some(kind) = snap.remove(Path::new(&lock)) {
        assert!(kind.starts_with("file "), "the lock is a file: {kind}");
    }
    snap
}

fn hash(b: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

/// Hostile ids, each used as a device id and (with a prefix) an operation id.
const HOSTILE: &[&str] = &[
    "../../etc/x",
    "../../../../../../../../tmp/fleetops-escape",
    "/abs",
    "/tmp/fleetops-escape-abs",
    "a\u{0}b",
    "\u{1b}[31mred\u{1b}[0m\u{7}",
    "line\nbreak\r\n",
    "tab\there",
    "..",
    ".",
    "C:\\Windows\\x",
    "\\\\server\\share",
    "device_id=../x",
    "\u{202e}evil",
];

fn op(id: &str, device: &str) -> String {
    serde_json::json!({
        "id": id,
        "deviceId": device,
        "operationType": "restart",
        "status": "successful",
        "createdDateTime": "2026-11-01T10:00:00Z",
        "lastActionDateTime": "2026-11-01T10:01:00Z",
    })
    .to_string()
}

/// Writes the hostile inputs under `inputs`; returns them and the ids (id →
/// device id) that must come out.
fn hostile_inputs(inputs: &Path) -> (Vec<PathBuf>, BTreeMap<String, Option<String>>) {
    std::fs::create_dir_all(inputs).unwrap();
    let mut expect = BTreeMap::new();
    let mut files = Vec::new();

    // Ids in the records themselves (NDJSON).
    let mut ndjson = String::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        let id = format!("{h}#op{i}");
        ndjson.push_str(&op(&id, h));
        ndjson.push('\n');
        expect.insert(id, Some(h.to_string()));
    }
    let p = inputs.join("records.ndjson");
    std::fs::write(&p, ndjson).unwrap();
    files.push(p);

    // Ids in a page's @odata.context.
    for (i, h) in ["../../ctx", "/ctx-abs", "ctx\u{1}\u{1f}"]
        .iter()
        .enumerate()
    {
        let id = format!("ctx-op-{i}");
        let page = serde_json::json!({
            "@odata.context": format!(
                "https://graph.microsoft.com/beta/$metadata#teamwork/devices('{h}')/operations"
            ),
            "value": [{"id": id, "status": "failed"}],
        });
        let p = inputs.join(format!("page-{i}.json"));
        std::fs::write(&p, page.to_string()).unwrap();
        files.push(p);
        expect.insert(id, Some(h.to_string()));
    }

    // Ids from file names: control characters, a `devices/` file named like
    // a path step, and a `device_id=` folder of dots.
    let names: &[(&str, &str)] = &[
        ("devices/\u{1b}]0;title\u{7}.json", "\u{1b}]0;title\u{7}"),
        ("devices/\u{1}\u{2}\u{7f}.json", "\u{1}\u{2}\u{7f}"),
        ("devices/...json", ".."),
        ("device_id=../ops.json", ".."),
        ("device_id=a\nb/ops.json", "a\nb"),
    ];
    for (i, (name, device)) in names.iter().enumerate() {
        let p = inputs.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let id = format!("file-op-{i}");
        std::fs::write(
            &p,
            serde_json::json!([{"id": id, "status": "queued"}]).to_string(),
        )
        .unwrap();
        files.push(p);
        expect.insert(id, Some(device.to_string()));
    }
    (files, expect)
}

/// `id → device id`.
fn ids_of(batches: &[RecordBatch]) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for b in batches {
        for i in 0..b.num_rows() {
            out.insert(
                text_at(b.column(idx::ID), i).unwrap(),
                text_at(b.column(idx::DEVICE_ID), i),
            );
        }
    }
    out
}

fn read_dataset(dir: &Path) -> BTreeMap<String, Option<String>> {
    ids_of(&dataset_batches(dir))
}

#[test]
fn hostile_ids_are_data_in_memory() {
    let d = tempfile::tempdir().unwrap();
    let (files, expect) = hostile_inputs(&d.path().join("in"));
    let m = ingest::ingest_memory(&files, &Options::default()).unwrap();
    assert!(m.report.failures.is_empty(), "{:?}", m.report.failures);
    assert!(m.rejects.is_empty(), "{:?}", m.rejects);
    assert_eq!(ids_of(&m.batches), expect);
}

#[test]
fn ingest_writes_nothing_outside_the_dataset() {
    let parent = tempfile::tempdir().unwrap();
    let (files, expect) = hostile_inputs(&parent.path().join("in"));
    // Bait where a path built from `../../etc/x` or `..` would land.
    std::fs::create_dir_all(parent.path().join("etc")).unwrap();
    std::fs::write(parent.path().join("etc/x"), b"untouched").unwrap();
    let out = parent.path().join("ds");
    let before = snapshot(parent.path(), Some(&out));

    let report = ingest::ingest_dataset(&files, &out, &Options::default()).unwrap();
    assert_eq!(report.counts.rows as usize, expect.len());
    // Twice: the merge path reads and rewrites what is there.
    ingest::ingest_dataset(&files, &out, &Options::default()).unwrap();

    assert_eq!(
        outside(parent.path(), &out),
        before,
        "nothing outside the dataset changed"
    );
    assert!(!Path::new("/abs").exists() && !Path::new("/tmp/fleetops-escape-abs").exists());
    assert!(!Path::new("/tmp/fleetops-escape").exists());
    // Inside the dataset: only the dataset's own names.
    for (rel, _) in snapshot(&out, None) {
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        assert!(
            !first.contains("..") && !rel.to_string_lossy().contains('\u{1b}'),
            "unexpected entry {rel:?}"
        );
    }
    assert_eq!(read_dataset(&out), expect, "ids stored verbatim");
}

#[test]
fn cli_ingest_writes_nothing_outside_the_dataset() {
    let parent = tempfile::tempdir().unwrap();
    let (_, expect) = hostile_inputs(&parent.path().join("in"));
    let out = parent.path().join("ds");
    let before = snapshot(parent.path(), Some(&out));
    // Relative paths, run from inside the parent: a path built from an id
    // would resolve against it.
    let o = fleetops_command()
        .current_dir(parent.path())
        .args(["ingest", "in", "--out", "ds", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(outside(parent.path(), &out), before);
    // Walking the folder skips `...json`-style dot files: all other ids are there.
    let got = read_dataset(&out);
    for (id, device) in &got {
        assert_eq!(expect.get(id), Some(device), "{id:?}");
    }
    assert!(got.len() >= expect.len() - 1, "{got:?}");

    // And they read back verbatim through SQL.
    let o = fleetops_command()
        .current_dir(parent.path())
        .args([
            "sql",
            "SELECT id, device_id FROM operations ORDER BY id",
            "--data",
            "ds",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let from_sql: BTreeMap<String, Option<String>> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["device_id"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(from_sql, got);
}

// ---------------------------------------------------------------------------
// `--redact`: shareable exports.

const KEY_A: &str = "00112233445566778899aabbccddeeff";
const KEY_B: &str = "a different key, long enough to use";

/// Every id and display name of created_by / last_action_by in the sample.
fn identities() -> Vec<String> {
    let m = ingest::ingest_memory(&[sample_data()], &Options::default()).unwrap();
    let mut out = std::collections::BTreeSet::new();
    for b in &m.batches {
        for c in [idx::CREATED_BY, idx::LAST_ACTION_BY] {
            let set = b.column(c).as_struct();
            for member in set.columns() {
                for prop in member.as_struct().columns() {
                    let s = prop.as_string::<i32>();
                    for v in s.iter().flatten() {
                        if !v.is_empty() {
                            out.insert(v.to_string());
                        }
                    }
                }
            }
        }
    }
    assert!(out.len() >= 10, "the sample has people and apps: {out:?}");
    out.into_iter().collect()
}

/// `fleetops ARGS` with the key (if any) in the environment.
fn run(args: &[&str], key: Option<&str>) -> std::process::Output {
    let mut cmd = fleetops_command();
    cmd.args(args);
    if let Some(k) = key {
        cmd.env(fleetops::redact::KEY_ENV, k);
    }
    cmd.output().unwrap()
}

/// No original appears, in any letter case.
fn assert_clean(text: &str, originals: &[String], what: &str) {
    let text = text.to_lowercase();
    for v in originals {
        assert!(
            !text.contains(&v.to_lowercase()),
            "{what}: {v:?} is in the output"
        );
    }
}

/// Batches of a Parquet or Arrow IPC file, as JSON text.
fn binary_as_text(path: &Path, parquet: bool) -> String {
    let batches = if parquet {
        read_parquet(path)
    } else {
        read_arrow(path)
    };
    let mut w = arrow::json::ArrayWriter::new(Vec::new());
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    String::from_utf8(w.into_inner()).unwrap()
}

/// Queries whose results hold identities, directly or derived.
const REDACT_QUERIES: &[&str] = &[
    "SELECT * FROM operations ORDER BY id",
    "SELECT upper(coalesce(created_by['user']['display_name'], created_by['application']['display_name'])) AS who, \
     string_agg(DISTINCT last_action_by['user']['id'], ',') AS ids FROM operations GROUP BY 1 ORDER BY 1",
    "SELECT * FROM rejects",
];

#[test]
fn redact_hides_every_identity_in_every_sql_format() {
    let originals = identities();
    let data = sample_data();
    let data = data.to_str().unwrap();
    // The control: without --redact the identities are there.
    let plain = ok(&run(
        &["sql", REDACT_QUERIES[0], "--data", data, "--format", "json"],
        None,
    ));
    assert!(originals.iter().all(|v| plain.contains(v.as_str())));

    let d = tempfile::tempdir().unwrap();
    for q in REDACT_QUERIES {
        for format in ["table", "csv", "json", "ndjson", "parquet", "arrow"] {
            let what = format!("{format}: {q}");
            let text = if matches!(format, "parquet" | "arrow") {
                let path = d.path().join(format!("out.{format}"));
                let p = path.to_str().unwrap();
                ok(&run(
                    &[
                        "sql", q, "--data", data, "--format", format, "--output", p, "--redact",
                    ],
                    Some(KEY_A),
                ));
                binary_as_text(&path, format == "parquet")
            } else {
                ok(&run(
                    &["sql", q, "--data", data, "--format", format, "--redact"],
                    Some(KEY_A),
                ))
            };
            assert_clean(&text, &originals, &what);
            if q.contains("operations") {
                assert!(
                    text.to_lowercase().contains("user "),
                    "{what}: pseudonyms are there"
                );
            }
        }
    }
}

#[test]
fn redact_hides_identities_in_reports_and_named_queries() {
    let originals = identities();
    let data = sample_data();
    let data = data.to_str().unwrap();
    for format in ["md", "json", "html"] {
        let text = ok(&run(
            &["report", "--data", data, "--format", format, "--redact"],
            Some(KEY_A),
        ));
        assert_clean(&text, &originals, &format!("report --format {format}"));
    }
    for name in ["operator_activity", "recent_failures", "stuck_operations"] {
        let text = ok(&run(
            &["run", name, "--data", data, "--format", "json", "--redact"],
            Some(KEY_A),
        ));
        assert_clean(&text, &originals, &format!("run {name}"));
    }
    let text = ok(&run(
        &[
            "run",
            "operator_activity",
            "--data",
            data,
            "--format",
            "csv",
            "--redact",
        ],
        Some(KEY_A),
    ));
    assert!(text.contains("User "), "{text}");
}

#[test]
fn redact_on_a_dataset_and_keys_from_a_file() {
    let originals = identities();
    let d = tempfile::tempdir().unwrap();
    let ds = d.path().join("ds");
    let o = run(
        &[
            "ingest",
            sample_data().to_str().unwrap(),
            "--out",
            ds.to_str().unwrap(),
        ],
        None,
    );
    ok(&o);
    let q = "SELECT id, created_by, last_action_by FROM operations ORDER BY id";
    let ds = ds.to_str().unwrap();
    let with = |key: Option<&str>, extra: &[&str]| {
        let mut args = vec!["sql", q, "--data", ds, "--format", "json"];
        args.extend_from_slice(extra);
        ok(&run(&args, key))
    };
    let a1 = with(Some(KEY_A), &["--redact"]);
    let a2 = with(Some(KEY_A), &["--redact"]);
    let b = with(Some(KEY_B), &["--redact"]);
    assert_clean(&a1, &originals, "dataset, key A");
    assert_clean(&b, &originals, "dataset, key B");
    assert_eq!(a1, a2, "the same key gives the same pseudonyms");
    assert_ne!(a1, b, "another key gives others");

    // The same key from a file (hex with a newline, or as text): the same
    // pseudonyms; --redact-key-file implies --redact.
    let kf = d.path().join("key");
    std::fs::write(&kf, format!("{KEY_A}\n")).unwrap();
    assert_eq!(with(None, &["--redact-key-file", kf.to_str().unwrap()]), a1);
    let kb = d.path().join("key-b");
    std::fs::write(&kb, KEY_B).unwrap();
    // The file wins over the environment.
    assert_eq!(
        with(
            Some(KEY_A),
            &["--redact", "--redact-key-file", kb.to_str().unwrap()]
        ),
        b
    );

    // In-memory exports and the dataset give the same pseudonyms.
    let mem = ok(&run(
        &[
            "sql",
            q,
            "--data",
            sample_data().to_str().unwrap(),
            "--format",
            "json",
            "--redact",
        ],
        Some(KEY_A),
    ));
    assert_eq!(mem, a1);

    // Grouping survives: as many distinct operators as before.
    let distinct = "SELECT count(DISTINCT created_by['user']['id']) AS u, \
                    count(DISTINCT created_by['user']['display_name']) AS n FROM operations";
    assert_eq!(
        ok(&run(
            &["sql", distinct, "--data", ds, "--format", "csv", "--redact"],
            Some(KEY_A)
        )),
        ok(&run(
            &["sql", distinct, "--data", ds, "--format", "csv"],
            None
        ))
    );
}

#[test]
fn redact_without_a_key_is_a_one_line_error() {
    let data = sample_data();
    let data = data.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["sql", "SELECT 1", "--data", data, "--redact"],
        &["report", "--data", data, "--redact"],
        &["run", "operator_activity", "--data", data, "--redact"],
        &[
            "ingest",
            data,
            "--out",
            "/nonexistent/never-written",
            "--redact",
        ],
    ];
    for args in cases {
        let o = run(args, None);
        assert!(!o.status.success(), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(
            lines[0].starts_with("fleetops: error:") && lines[0].contains("no default key"),
            "{err}"
        );
    }
    // A key too short, from the environment or a file.
    let o = run(
        &["sql", "SELECT 1", "--data", data, "--redact"],
        Some("short"),
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("at least 16"), "{err}");
    assert!(!err.contains("short"), "the key is not echoed: {err}");
    let o = run(
        &[
            "sql",
            "SELECT 1",
            "--data",
            data,
            "--redact-key-file",
            "/nonexistent/key",
        ],
        None,
    );
    assert!(!o.status.success());
}

#[test]
fn ingest_redact_writes_no_identity_to_the_dataset() {
    let originals = identities();
    let d = tempfile::tempdir().unwrap();
    let ds = d.path().join("ds");
    let data = sample_data();
    let args = [
        "ingest",
        data.to_str().unwrap(),
        "--out",
        ds.to_str().unwrap(),
        "--json",
        "--redact",
    ];
    let first: serde_json::Value = serde_json::from_str(&ok(&run(&args, Some(KEY_A)))).unwrap();
    assert!(first["rows"].as_u64().unwrap() > 0);
    // Every file of the dataset: Parquet parts read back, the rest as text.
    for (rel, _) in snapshot(&ds, None) {
        let p = ds.join(&rel);
        if p.is_dir() {
            continue;
        }
        let text = if rel.extension().is_some_and(|e| e == "parquet") {
            binary_as_text(&p, true)
        } else {
            String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned()
        };
        assert_clean(&text, &originals, &rel.display().to_string());
    }
    // The same files again: redaction changes nothing in how records
    // merge (the counts are those of the same two runs without it).
    let again: serde_json::Value = serde_json::from_str(&ok(&run(&args, Some(KEY_A)))).unwrap();
    let plain_ds = d.path().join("plain");
    let plain_args = [
        "ingest",
        data.to_str().unwrap(),
        "--out",
        plain_ds.to_str().unwrap(),
        "--json",
    ];
    let plain: Vec<serde_json::Value> = (0..2)
        .map(|_| serde_json::from_str(&ok(&run(&plain_args, None))).unwrap())
        .collect();
    assert_eq!([first, again], [plain[0].clone(), plain[1].clone()]);
    // The pseudonyms are those of `sql --redact` over the raw exports.
    let q = "SELECT id, created_by, last_action_by FROM operations ORDER BY id";
    let stored = ok(&run(
        &["sql", q, "--data", ds.to_str().unwrap(), "--format", "json"],
        None,
    ));
    let on_the_fly = ok(&run(
        &[
            "sql",
            q,
            "--data",
            sample_data().to_str().unwrap(),
            "--format",
            "json",
            "--redact",
        ],
        Some(KEY_A),
    ));
    assert_eq!(stored, on_the_fly);
}

/// A dataset is redacted with one key or not at all: a run that would mix
/// (clear names beside pseudonyms, or two keys' pseudonyms) is refused with
/// one line and leaves the dataset as it was.
#[test]
fn one_dataset_one_redaction_setting() {
    let d = tempfile::tempdir().unwrap();
    let ds = d.path().join("ds");
    let data = sample_data();
    let (data, ds_s) = (data.to_str().unwrap(), ds.to_str().unwrap());
    let ingest = |key: Option<&str>| {
        let mut args = vec!["ingest", data, "--out", ds_s, "--json"];
        if key.is_some() {
            args.push("--redact");
        }
        run(&args, key)
    };
    ok(&ingest(Some(KEY_A)));
    let manifest = std::fs::read_to_string(ds.join("_fleetops.json")).unwrap();
    let before = snapshot(&ds, None);
    let key_id = fleetops::redact::Redactor::from_key_text(KEY_A.as_bytes())
        .unwrap()
        .key_id();
    assert!(
        manifest.contains(&format!("\"redaction\": \"hmac-sha256:{key_id}\"")),
        "{manifest}"
    );

    let plain = ingest(None);
    assert_eq!(plain.status.code(), Some(1));
    let err = String::from_utf8_lossy(&plain.stderr);
    assert!(
        err.contains(&format!(
            "this dataset was ingested with --redact (key id {key_id}), and this run is without --redact"
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let other = ingest(Some(KEY_B));
    assert_eq!(other.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("and this run is with --redact (key id")
    );
    assert_eq!(snapshot(&ds, None), before, "refused runs change nothing");

    // The same key again is fine.
    let again = ok(&ingest(Some(KEY_A)));
    assert!(again.contains("\"rows\":0"), "{again}");

    // And an unredacted dataset refuses a redacted run.
    let plain_ds = d.path().join("plain");
    let p = plain_ds.to_str().unwrap();
    ok(&run(&["ingest", data, "--out", p, "--json"], None));
    let o = run(&["ingest", data, "--out", p, "--redact"], Some(KEY_A));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ingested without --redact"));
}
