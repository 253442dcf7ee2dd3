//! A top-level JSON array larger than a block is cut between its elements
//! while it is read (UTF-16 converted, gzip decompressed on the way), never
//! read whole: whatever the cut, its rows, rejects (with their indexes),
//! counts and, for a malformed file, the message are those of the same
//! array decoded whole.

use std::io::Cursor;
use std::path::PathBuf;

use arrow::array::RecordBatch;
use fleetops::ingest::{self, FileReject, Limits, Options};
use fleetops::internals::ingest::decode::{FileContext, Reject, WorkKind, decode_work};
use fleetops::internals::ingest::source::Source;
use proptest::prelude::*;

use crate::support::{gzip, write};

/// What decoding gave: the rows in file order, every reject, the counts;
/// or why the file is unreadable.
#[derive(Debug, PartialEq)]
struct Decoded {
    rows: Option<RecordBatch>,
    rejects: Vec<Reject>,
    records: u64,
    repaired: u64,
    notes: Vec<String>,
}

fn ctx(path_device: Option<&str>, max_record_bytes: usize) -> FileContext {
    FileContext {
        name: "export.json".into(),
        path_device: path_device.map(str::to_string),
        max_record_bytes,
    }
}

/// The document decoded whole, as a file smaller than a block is.
fn whole(text: &[u8], ctx: &FileContext) -> Result<Decoded, String> {
    let data = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text).to_vec();
    if data.trim_ascii().is_empty() {
        // An empty file: zero records.
        return Ok(Decoded {
            rows: None,
            rejects: Vec::new(),
            records: 0,
            repaired: 0,
            notes: Vec::new(),
        });
    }
    let out = decode_work(&WorkKind::Document { data }, ctx, 7)?;
    Ok(Decoded {
        rows: out.batch,
        rejects: out.rejects,
        records: out.records,
        repaired: out.repaired,
        notes: out.notes,
    })
}

/// The file's bytes cut by the reader with blocks of `block` bytes, each
/// unit decoded in turn; the first failure in file order (a unit's, else
/// the reader's) makes the file unreadable. Also the units' kinds.
fn cut(
    bytes: &[u8],
    block: usize,
    ctx: &FileContext,
) -> (Result<Decoded, String>, Vec<&'static str>) {
    let limits = Limits {
        block_bytes: block,
        max_record_bytes: ctx.max_record_bytes,
        ..Limits::default()
    };
    let mut units = Vec::new();
    let source = Source::from_reader(Box::new(Cursor::new(bytes.to_vec())));
    let read = source.split(None, &limits, &mut |w, _| {
        units.push(w);
        Ok(())
    });
    let kinds = units
        .iter()
        .map(|u| match u {
            WorkKind::Lines { .. } => "lines",
            WorkKind::Document { .. } => "document",
            WorkKind::Elements { .. } => "elements",
            WorkKind::Oversize { .. } => "oversize",
        })
        .collect();
    let mut batches = Vec::new();
    let mut all = Decoded {
        rows: None,
        rejects: Vec::new(),
        records: 0,
        repaired: 0,
        notes: Vec::new(),
    };
    for u in &units {
        let out = match decode_work(u, ctx, 7) {
            Ok(out) => out,
            Err(e) => return (Err(e), kinds),
        };
        batches.extend(out.batch);
        all.rejects.extend(out.rejects);
        all.records += out.records;
        all.repaired += out.repaired;
        all.notes.extend(out.notes);
    }
    if let Err(e) = read {
        return (Err(e.to_string()), kinds);
    }
    if let Some(first) = batches.first() {
        all.rows = Some(arrow::compute::concat_batches(&first.schema(), &batches).unwrap());
    }
    (Ok(all), kinds)
}

/// Asserts that cutting `bytes` (the file as stored: maybe gzip, UTF-16)
/// at `block` gives what decoding `text` (its UTF-8 text) whole gives, in
/// at least `min_units` units. Returns the result.
fn same_as_whole(
    text: &[u8],
    bytes: &[u8],
    block: usize,
    ctx: &FileContext,
    min_units: usize,
) -> Result<Decoded, String> {
    let want = whole(text, ctx);
    let (got, kinds) = cut(bytes, block, ctx);
    assert!(
        kinds.len() >= min_units && kinds.iter().all(|k| *k != "document" && *k != "lines"),
        "{} units: {:?}",
        kinds.len(),
        &kinds[..kinds.len().min(8)]
    );
    assert_eq!(got, want, "cut in blocks of {block}");
    got
}

fn utf16(text: &[u8], little: bool) -> Vec<u8> {
    let text = std::str::from_utf8(text).unwrap();
    let mut out = if little {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for u in text.encode_utf16() {
        out.extend_from_slice(&if little {
            u.to_le_bytes()
        } else {
            u.to_be_bytes()
        });
    }
    out
}

/// Generated exports (`fleetops-gen`) in memory: one array of `ops`
/// operations with bad and duplicated records, and PowerShell-style
/// pretty-printed PascalCase arrays named `devices/<id>.json`.
fn generated(ops: usize) -> (Vec<u8>, Vec<(PathBuf, Vec<u8>)>) {
    let gen_opts = |format| fleetops_gen::Options {
        ops,
        format,
        bad_rate: 0.05,
        dup_rate: 0.05,
        ..fleetops_gen::Options::default()
    };
    let (_, arrays) =
        fleetops_gen::generate_in_memory(&gen_opts(fleetops_gen::Format::Array)).unwrap();
    assert_eq!(arrays.len(), 1);
    let (_, pascal) =
        fleetops_gen::generate_in_memory(&gen_opts(fleetops_gen::Format::Pascal)).unwrap();
    (arrays.into_iter().next().unwrap().1, pascal)
}

#[test]
fn a_large_array_gives_the_rows_rejects_and_counts_of_the_whole() {
    let (array, pascal) = generated(1500);
    let c = ctx(None, 16 << 20);
    let got = same_as_whole(&array, &array, 1024, &c, 500).unwrap();
    assert!(got.rejects.len() > 20, "{} rejects", got.rejects.len());
    assert!(
        got.rejects
            .windows(2)
            .all(|w| w[0].location.index < w[1].location.index)
    );
    assert!(got.records > 1500, "{}", got.records);
    // Pretty-printed, CRLF, a BOM, the device id from the path only.
    for (path, bytes) in pascal.iter().filter(|(_, b)| b.len() > 8192) {
        let device = path.file_stem().unwrap().to_str().unwrap();
        let c = ctx(Some(device), 16 << 20);
        let got = same_as_whole(bytes, bytes, 4096, &c, 10).unwrap();
        assert!(got.rows.is_some());
    }
}

#[test]
fn utf16_le_and_be_and_gzip_are_cut_as_they_are_read() {
    let (array, _) = generated(400);
    let c = ctx(Some("from-the-path"), 16 << 20);
    for little in [true, false] {
        let u16 = utf16(&array, little);
        same_as_whole(&array, &u16, 2048, &c, 50).unwrap();
        same_as_whole(&array, &gzip(&u16), 2048, &c, 50).unwrap();
    }
    same_as_whole(&array, &gzip(&array), 2048, &c, 50).unwrap();
    // UTF-16 NDJSON is cut into blocks of lines like UTF-8 NDJSON.
    let mut nd = String::new();
    for i in 0..2000 {
        nd += &format!("{{\"id\":\"op-{i}\",\"status\":\"queued\"}}\r\n");
    }
    let (got, kinds) = cut(&utf16(nd.as_bytes(), true), 1024, &c);
    assert!(
        kinds.len() > 20 && kinds.iter().all(|k| *k == "lines"),
        "{kinds:?}"
    );
    assert_eq!(got.unwrap().records, 2000);
}

/// Elements of every kind: operations, pages and `$batch` responses (read
/// as records of the array, as when it is read whole), scalars, nested
/// arrays, and strings holding brackets, commas and escaped quotes.
#[test]
fn elements_of_every_kind_decode_as_in_the_whole_array() {
    let page = |i: usize| {
        format!(
            r#"{{"@odata.context":"https://graph.microsoft.com/beta/$metadata#teamwork/devices('d-{i}')/operations","value":[{{"id":"in-page-{i}"}}]}}"#
        )
    };
    let mut elements = Vec::new();
    for i in 0..300 {
        elements.push(match i % 10 {
            0 => page(i),
            1 => format!(r#"{{"responses":[{{"id":"{i}","status":200,"body":{}}}]}}"#, page(i)),
            2 => format!(r#""a string ] with [ brackets, commas and \"quotes\" {i}""#),
            3 => format!("[{i}, [\"]\", {{\"id\": \"]\"}}], {{}}]"),
            4 => format!(
                r#"{{"id":"q-{i}","status":"failed","error":{{"code":"x","message":"a \"quoted\" ], [ message \\"}}}}"#
            ),
            5 => format!(r#"{{"id":"","status":"queued","note":"{i}"}}"#),
            6 => format!(r#"{{"id":"t-{i}","createdDateTime":"2021-06-19T12-01-03.45Z"}}"#),
            7 => format!(r#"{{"id":"bad-{i}","createdDateTime":"not a time"}}"#),
            8 => ["null", "true", "-1.5e3", "{}"][i / 10 % 4].to_string(),
            _ => format!(
                r#"{{"Id":"p-{i}","Status":"Succeeded","LastActionDateTime":"/Date(1793527200000)/","deviceId":"dev-{i}"}}"#
            ),
        });
    }
    let text = format!("[\n  {}\n]\n", elements.join(",\n  "));
    let c = ctx(Some("path-dev"), 16 << 20);
    for block in [1024, 1500, 4096] {
        let got = same_as_whole(text.as_bytes(), text.as_bytes(), block, &c, 5).unwrap();
        assert_eq!(got.records, 300);
        assert!(got.repaired > 0);
        let reasons: Vec<(u64, &str)> = got
            .rejects
            .iter()
            .map(|r| (r.location.index.unwrap(), r.reason.as_str()))
            .take(4)
            .collect();
        assert_eq!(
            reasons,
            vec![
                (0, "missing id"),
                (1, "missing id"),
                (2, "not an object: found a string"),
                (3, "not an object: found an array")
            ]
        );
    }
}

#[test]
fn a_truncated_or_malformed_array_is_refused_with_the_message_of_the_whole() {
    let (array, _) = generated(300);
    let c = ctx(None, 16 << 20);
    let cut_at = array.len() * 2 / 3;
    // Cut off in the middle of an element, right after a comma, after an
    // element; a damaged element in the middle; garbage after the array.
    let mut cases = vec![
        array[..cut_at].to_vec(),
        array[..array.len() - 3].to_vec(),
        array[..array.len() - 4].to_vec(),
    ];
    let comma = cut_at + array[cut_at..].iter().position(|&b| b == b',').unwrap();
    cases.push(array[..=comma].to_vec());
    let mut damaged = array.clone();
    damaged[comma] = b' ';
    cases.push(damaged);
    let mut garbage = array.clone();
    garbage.extend_from_slice(b"\n\n x");
    cases.push(garbage);
    for text in &cases {
        let want = whole(text, &c).unwrap_err();
        let (got, _) = cut(text, 1024, &c);
        assert_eq!(got.unwrap_err(), want);
        let (got, _) = cut(&utf16(text, true), 1024, &c);
        assert_eq!(got.unwrap_err(), want);
    }
}

/// The same through the whole ingest: a refused file contributes nothing,
/// though many of its units were decoded (and merged) before its end.
#[test]
fn a_truncated_array_contributes_nothing_to_the_ingest() {
    let d = tempfile::tempdir().unwrap();
    let (array, _) = generated(300);
    let good = write(d.path(), "a.json", b"[{\"id\":\"kept\"}]");
    let cut = write(d.path(), "b.json", &array[..array.len() - 10]);
    let whole_msg = whole(&array[..array.len() - 10], &ctx(None, 16 << 20)).unwrap_err();
    let opts = Options {
        keep_going: true,
        memory_budget: 1,
        limits: Limits {
            block_bytes: 1024,
            ..Limits::default()
        },
        ..Options::default()
    };
    let m = ingest::ingest_memory(&[good, cut.clone()], &opts).unwrap();
    assert_eq!(m.report.counts.files, 1);
    assert_eq!(m.report.counts.records, 1);
    assert!(m.rejects.is_empty());
    assert_eq!(m.report.failures.len(), 1);
    assert_eq!(m.report.failures[0].file, cut.display().to_string());
    assert_eq!(m.report.failures[0].message, whole_msg);
    let out = d.path().join("ds");
    let r = ingest::ingest_dataset(&[cut], &out, &opts).unwrap();
    assert_eq!(r.counts.records, 0);
    assert_eq!(r.failures.len(), 1);
}

/// An element over the record limit is rejected with its index, the reason
/// and text of the whole read, and skipped while reading.
#[test]
fn an_element_over_the_record_limit_is_rejected_with_its_index() {
    let big = format!(
        r#"{{"id":"big","note":"{}","status":"failed"}}"#,
        "x ] , \\\" ".repeat(6000)
    );
    let mut elements: Vec<String> = (0..200)
        .map(|i| format!(r#"{{"id":"op-{i}","status":"queued"}}"#))
        .collect();
    elements.insert(150, big.clone());
    elements.insert(0, big.clone());
    elements.push(big.clone());
    let text = format!("[{}]", elements.join(", "));
    let c = ctx(None, 20_000);
    let (got, kinds) = cut(text.as_bytes(), 1024, &c);
    assert_eq!(kinds.iter().filter(|k| **k == "oversize").count(), 3);
    assert_eq!(got, whole(text.as_bytes(), &c));
    let got = got.unwrap();
    let rejected: Vec<(Option<u64>, &str)> = got
        .rejects
        .iter()
        .map(|r| (r.location.index, r.reason.as_str()))
        .collect();
    let reason = format!(
        "record is {} bytes, over the limit of 20000 (--max-record-bytes)",
        big.len()
    );
    assert_eq!(
        rejected,
        vec![
            (Some(0), reason.as_str()),
            (Some(151), reason.as_str()),
            (Some(202), reason.as_str())
        ]
    );
    // Through the ingest, with the rejects in read order.
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "big.json", text.as_bytes());
    let opts = Options {
        limits: Limits {
            block_bytes: 1024,
            max_record_bytes: 20_000,
            ..Limits::default()
        },
        ..Options::default()
    };
    let m = ingest::ingest_memory(std::slice::from_ref(&p), &opts).unwrap();
    let indexes: Vec<Option<u64>> = m
        .rejects
        .iter()
        .map(|r: &FileReject| r.reject.location.index)
        .collect();
    assert_eq!(indexes, vec![Some(0), Some(151), Some(202)]);
    assert_eq!(m.report.counts.records, 203);
    assert_eq!(m.report.counts.rows, 200);
}

/// The ingest of an array cut into many units equals the ingest of the same
/// array read whole: rows, rejects in read order, counts.
#[test]
fn the_ingest_of_a_cut_array_equals_the_ingest_of_the_whole() {
    let d = tempfile::tempdir().unwrap();
    let (array, pascal) = generated(1200);
    let mut paths = vec![write(d.path(), "arrays/all.json", &array)];
    for (path, bytes) in pascal {
        paths.push(write(d.path(), path.to_str().unwrap(), utf16(&bytes, true)));
    }
    let run = |block: usize| {
        let opts = Options {
            threads: 2,
            limits: Limits {
                block_bytes: block,
                ..Limits::default()
            },
            ..Options::default()
        };
        let m = ingest::ingest_memory(&[d.path().to_path_buf()], &opts).unwrap();
        let mut rows: Vec<String> = Vec::new();
        let options = arrow::util::display::FormatOptions::default();
        for b in &m.batches {
            // Every column but the time of the run.
            let cols: Vec<_> = b.columns()[..fleetops::schema::idx::INGESTED_AT]
                .iter()
                .map(|c| arrow::util::display::ArrayFormatter::try_new(c, &options).unwrap())
                .collect();
            for i in 0..b.num_rows() {
                let cells: Vec<String> = cols.iter().map(|f| f.value(i).to_string()).collect();
                rows.push(cells.join(" | "));
            }
        }
        rows.sort();
        (rows, m.rejects, m.report.counts)
    };
    let (rows, rejects, counts) = run(1024);
    assert_eq!(
        (rows.clone(), rejects.clone(), counts.clone()),
        run(4 << 20)
    );
    assert!(rows.len() > 1000 && !rejects.is_empty(), "{counts:?}");
}

/// Arrays of arbitrary elements, cut with arbitrary blocks (and possibly
/// cut off or given trailing bytes): the same as the whole.
mod props {
    use super::*;

    fn element() -> impl Strategy<Value = String> {
        let text = prop_oneof![
            Just(String::new()),
            "[a-z0-9 ]{0,12}",
            Just("]".to_string()),
            Just("[".to_string()),
            Just(",".to_string()),
            Just("\\\"".to_string()),
            Just("\\\\".to_string()),
            Just("},{".to_string()),
            Just("\\u00e9\\ud83d\\ude00".to_string()),
        ]
        .prop_map(|s| format!("\"{s}\""));
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("-12.5e3".to_string()),
            Just("0".to_string()),
            text.clone(),
        ];
        let op = (
            0u16..50,
            proptest::option::of(0u8..4),
            text.clone(),
            proptest::bool::ANY,
        )
            .prop_map(|(id, time, note, pascal)| {
                let times = [
                    "\"2026-11-01T10:00:00Z\"",
                    "\"not a time\"",
                    "null",
                    "\"2021-06-19T12-01-03.45Z\"",
                ];
                let mut s = if pascal {
                    format!("{{\"Id\":\"op-{id}\",\"Status\":\"Succeeded\",\"Note\":{note}")
                } else {
                    format!("{{\"id\":\"op-{id}\",\"status\":\"failed\",\"note\":{note}")
                };
                if let Some(t) = time {
                    s += &format!(",\"createdDateTime\":{}", times[t as usize]);
                }
                s + "}"
            });
        let nested = leaf.clone().prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(", "))),
                proptest::collection::vec(inner, 0..3).prop_map(|v| {
                    let fields: Vec<String> = v
                        .iter()
                        .enumerate()
                        .map(|(i, x)| format!("\"k{i}\": {x}"))
                        .collect();
                    format!("{{{}}}", fields.join(",\n"))
                }),
            ]
        });
        prop_oneof![
            6 => op.clone(),
            1 => op.prop_map(|o| format!("{{\"value\": [{o}]}}")),
            1 => Just("{\"id\": \"\"}".to_string()),
            2 => nested,
        ]
    }

    /// Elements and the text between two of them.
    fn array() -> impl Strategy<Value = (Vec<String>, String)> {
        (
            proptest::collection::vec(element(), 1..120),
            prop_oneof![
                4 => Just(", ".to_string()),
                4 => Just(",\n  ".to_string()),
                4 => Just(",".to_string()),
                4 => Just(" ,\r\n".to_string()),
                // Blanks longer than a block, before or after the comma.
                1 => Just(format!(",{}", " ".repeat(3000))),
                1 => Just(format!("{},", " \n\t".repeat(1000))),
            ],
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn cutting_at_any_block_gives_the_whole(
            (elements, sep) in array(),
            spoil in 0u8..7,
            block in 1024usize..3000,
            at in 0.0f64..1.0,
            little in proptest::bool::ANY,
            small_records in proptest::bool::ANY,
        ) {
            // Larger than a block: the elements again and again.
            let mut all = elements.clone();
            while all.iter().map(|e| e.len() + sep.len()).sum::<usize>() <= block {
                all.extend(elements.iter().cloned());
            }
            let mut text = format!("\n[ {} ]\n", all.join(&sep)).into_bytes();
            let at = ((text.len() as f64) * at) as usize;
            match spoil {
                0 => text.truncate(at),
                1 => text.extend_from_slice(b" x"),
                2 => {
                    let with = b"[]{},:\"\\x \n";
                    text[at] = with[at % with.len()];
                }
                _ => {}
            }
            let c = ctx(Some("path-dev"), if small_records { 200 } else { 16 << 20 });
            let want = whole(&text, &c);
            let (got, _) = cut(&text, block, &c);
            match (&got, &want) {
                // Cut off inside an element skipped for its size: the same
                // place, what was being read named less precisely.
                (Err(g), Err(w)) if small_records && spoil == 0 => {
                    prop_assert_eq!(g.split_once(" at line").map(|p| p.1), w.split_once(" at line").map(|p| p.1));
                }
                // A damaged element skipped for its size is rejected for its
                // size, unread.
                _ if small_records && spoil == 2 => {}
                _ => prop_assert_eq!(&got, &want),
            }
            if spoil >= 3 {
                let (got16, _) = cut(&utf16(&text, little), block, &c);
                prop_assert_eq!(&got16, &want);
            }
        }
    }
}
