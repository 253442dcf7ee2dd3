//! Property: for any mix of valid, duplicated and invalid records spread over
//! files, records read = rows + duplicates + rejected, and the table holds
//! exactly one row per id: the latest (ties: the one read last).

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use fleetops::ingest::{self, Options};
use fleetops::schema::idx;
use proptest::prelude::*;

use crate::support::{dataset_batches, text_at};

#[derive(Debug, Clone)]
enum Rec {
    Valid {
        id: u8,
        last: Option<u8>,
        status: u8,
        device: Option<u8>,
    },
    NoId,
    BadTime(u8),
    NotObject,
    Malformed,
}

const STATUSES: [&str; 4] = ["queued", "inProgress", "successful", "failed"];

fn rec() -> impl Strategy<Value = Rec> {
    prop_oneof![
        8 => (0u8..12, proptest::option::of(0u8..4), 0u8..4, proptest::option::of(0u8..3))
            .prop_map(|(id, last, status, device)| Rec::Valid { id, last, status, device }),
        1 => Just(Rec::NoId),
        1 => (0u8..12).prop_map(Rec::BadTime),
        1 => Just(Rec::NotObject),
        1 => Just(Rec::Malformed),
    ]
}

fn json(r: &Rec) -> String {
    match r {
        Rec::Valid {
            id,
            last,
            status,
            device,
        } => {
            let mut s = format!(
                r#"{{"id":"op{id}","status":"{}""#,
                STATUSES[*status as usize]
            );
            if let Some(l) = last {
                s += &format!(r#","lastActionDateTime":"2026-11-0{}T10:00:00Z""#, l + 1);
            }
            if let Some(d) = device {
                s += &format!(r#","deviceId":"dev{d}""#);
            }
            s + "}"
        }
        Rec::NoId => r#"{"status":"failed"}"#.into(),
        Rec::BadTime(id) => {
            format!(r#"{{"id":"op{id}","createdDateTime":"2026-02-30T00:00:00Z"}}"#)
        }
        Rec::NotObject => "42".into(),
        Rec::Malformed => r#"{"id": "x", oops"#.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Ndjson,
    Array,
    Page,
}

fn file_text(shape: Shape, recs: &[Rec]) -> String {
    match shape {
        // A file whose only complete line is broken is a broken file, not
        // NDJSON: start such files with a complete (rejected) line.
        Shape::Ndjson => recs.iter().map(json).collect::<Vec<_>>().join("\n"),
        // A malformed element would make the whole document unreadable:
        // documents hold only well-formed JSON here.
        Shape::Array => format!(
            "[{}]",
            recs.iter()
                .filter(|r| !matches!(r, Rec::Malformed))
                .map(json)
                .collect::<Vec<_>>()
                .join(",\n")
        ),
        Shape::Page => format!(
            r#"{{"@odata.count": 0, "value": [{}]}}"#,
            recs.iter()
                .filter(|r| !matches!(r, Rec::Malformed))
                .map(json)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// The reference model of README "Dedup and incremental ingest": records fold in read order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Winner {
    last: Option<u8>,
    status: u8,
    /// The device id the row has: its own, or one kept from an earlier record.
    device: Option<u8>,
}

/// Expected table: id → (status, device id).
type Table = BTreeMap<String, (String, Option<String>)>;

fn model(files: &[(Shape, Vec<Rec>)]) -> (Table, u64, u64) {
    let mut table: BTreeMap<u8, Winner> = BTreeMap::new();
    let (mut records, mut rejected) = (0u64, 0u64);
    for (shape, recs) in files {
        for r in recs {
            if *shape != Shape::Ndjson && matches!(r, Rec::Malformed) {
                continue;
            }
            records += 1;
            let Rec::Valid {
                id,
                last,
                status,
                device,
            } = r
            else {
                rejected += 1;
                continue;
            };
            let rank = |l: Option<u8>| l.map_or(-1i32, i32::from);
            match table.get_mut(id) {
                None => {
                    table.insert(
                        *id,
                        Winner {
                            last: *last,
                            status: *status,
                            device: *device,
                        },
                    );
                }
                Some(w) => {
                    let wins = rank(*last) > rank(w.last)
                        || (rank(*last) == rank(w.last)
                            && (w.status != *status || (device.is_some() && *device != w.device)));
                    if wins {
                        w.last = *last;
                        w.status = *status;
                        w.device = device.or(w.device);
                    } else if w.device.is_none() {
                        w.device = *device;
                    }
                }
            }
        }
    }
    let out = table
        .into_iter()
        .map(|(id, w)| {
            (
                format!("op{id}"),
                (
                    STATUSES[w.status as usize].to_string(),
                    w.device.map(|d| format!("dev{d}")),
                ),
            )
        })
        .collect();
    (out, records, rejected)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn counts_add_up_and_latest_wins(
        files in proptest::collection::vec(
            (prop_oneof![Just(Shape::Ndjson), Just(Shape::Array), Just(Shape::Page)],
             proptest::collection::vec(rec(), 0..24)),
            1..4),
        split in 0usize..4,
        // Memory budget: 1 byte spills every batch as soon as it is
        // decoded, so the merge reads every row back from spill files.
        budget in prop_oneof![Just(0usize), Just(1), Just(4096)],
    ) {
        let opts = Options { memory_budget: budget, ..Options::default() };
        let mut files = files;
        for (shape, recs) in &mut files {
            if *shape == Shape::Ndjson && matches!(recs.first(), Some(Rec::Malformed)) {
                recs.insert(0, Rec::NotObject);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<_> = files.iter().enumerate().map(|(i, (shape, recs))| {
            let p = dir.path().join(format!("f{i}.json"));
            std::fs::write(&p, file_text(*shape, recs)).unwrap();
            p
        }).collect();
        let (expected, records, rejected) = model(&files);

        // In memory, all at once.
        let m = ingest::ingest_memory(&paths, &Options::default()).unwrap();
        let c = &m.report.counts;
        prop_assert_eq!(c.records, c.rows + c.duplicates + c.rejected);
        prop_assert_eq!(c.records, records);
        prop_assert_eq!(c.rejected, rejected);
        prop_assert_eq!(c.rows, expected.len() as u64);
        let got = table_of(&m.batches);
        prop_assert_eq!(&got, &expected);

        // On disk, in two runs split anywhere: the same table.
        let out = dir.path().join("ds");
        let k = split.min(paths.len());
        let mut total = ingest::Counts::default();
        for chunk in [&paths[..k], &paths[k..]] {
            if chunk.is_empty() { continue; }
            let r = ingest::ingest_dataset(chunk, &out, &opts).unwrap();
            let c = r.counts;
            prop_assert_eq!(c.records, c.rows + c.duplicates + c.rejected);
            total.records += c.records;
            total.rejected += c.rejected;
        }
        prop_assert_eq!(total.records, records);
        prop_assert_eq!(total.rejected, rejected);
        let disk = read_table(&out);
        prop_assert_eq!(&disk, &expected);

        // Everything again: nothing changes, no file is rewritten.
        if !expected.is_empty() {
            let parts = fleetops::internals::ingest::Dataset::new(&out).files().unwrap();
            let again = ingest::ingest_dataset(&paths, &out, &opts).unwrap();
            prop_assert_eq!(again.counts.rows, 0);
            prop_assert_eq!(again.counts.duplicates, records - rejected);
            prop_assert_eq!(fleetops::internals::ingest::Dataset::new(&out).files().unwrap(), parts);
            prop_assert_eq!(&read_table(&out), &expected);
        }
    }
}

/// `id -> (status, device_id)`, one row per id.
fn table_of(batches: &[RecordBatch]) -> Table {
    let mut out = BTreeMap::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let prev = out.insert(
                text_at(b.column(idx::ID), i).unwrap(),
                (
                    text_at(b.column(idx::STATUS), i).unwrap(),
                    text_at(b.column(idx::DEVICE_ID), i),
                ),
            );
            assert!(prev.is_none(), "one row per id");
        }
    }
    out
}

/// `id -> (status, device_id)` of a dataset on disk.
fn read_table(out: &std::path::Path) -> Table {
    table_of(&dataset_batches(out))
}
