//! A small fleet with a story, exported the many ways real tenants do.
//!
//! Each file is a snapshot of the fleet at its export instant: operations
//! still running then appear as queued / inProgress, and a later export
//! shows them finished. Folders and devices:
//!
//! | device | what | exported as |
//! |---|---|---|
//! | D0 | Board room, Teams Rooms on Windows | Graph list pages, 20 per page, `pages/board-room/` |
//! | D1 | Huddle 3.12, Teams Rooms on Android (unreliable) | pages without `@odata.context` in `device_id=<D1>/` |
//! | D2 | Training room, Teams Rooms on Windows | `$batch` response |
//! | D3 | Reception phone | `$batch` response, a bare single operation |
//! | D4 | Executive office phone | PowerShell export `devices/<D4>.json` |
//! | D5 | Board room panel | JSON array; older gzipped page |
//! | D6 | Lobby display | CRLF NDJSON, local times, status aliases |
//! | D7 | Focus room collaboration bar | JSON array |
//! | D8 | New display, no operations yet | an empty page |
//!
//! plus a gzipped NDJSON archive (with a BOM) of everything up to 9 Nov
//! and a fleet-wide NDJSON of the last days.

use super::*;

const DEVICES: [(&str, f64, f64); 9] = [
    ("5c1d8b2e-3f4a-4b6c-9d7e-0a1b2c3d4e5f", 1.4, 0.7),
    ("8e2f0a91-6b7c-4d3e-a1f2-93b4c5d6e7f8", 1.25, 5.0),
    ("0b7a4c63-2d1e-4f59-8a6b-7c8d9e0f1a2b", 1.0, 0.8),
    ("c4d5e6f7-1a2b-4c3d-9e8f-5a6b7c8d9e0f", 0.55, 0.6),
    ("71e3a9d4-5b2c-4e8f-b6a7-2c3d4e5f6a7b", 0.45, 0.9),
    ("2a9f6e1d-7c3b-4a58-9e4d-6f5a4b3c2d1e", 0.55, 0.8),
    ("d93b2c4e-8f1a-4b7d-a2c3-4e5f6a7b8c9d", 0.5, 1.0),
    ("46c8e1f2-9a3b-4d5c-8e7f-1a2b3c4d5e6f", 0.9, 0.9),
    ("e58a7b6c-4d3e-4f2a-9b1c-0d9e8f7a6b5c", 0.0, 1.0),
];
/// A device that was retired: its `$batch` request answers 404.
const RETIRED: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

const ADMINS: [(&str, f64); 8] = [
    ("Megan Bowen", 12.0),
    ("Diego Siciliani", 3.0),
    ("Adele Vance", 2.0),
    ("Lee Gu", 2.0),
    ("Patti Fernandez", 1.0),
    ("Nestor Wilke", 1.0),
    ("Johanna Lorenz", 0.5),
    ("Pradeep Gupta", 0.5),
];

/// Every record goes through here: counts it and notes which operations
/// some valid record covers.
struct Tally {
    records: usize,
    bad: usize,
    covered: Vec<bool>,
}

impl Tally {
    fn add(&mut self, recs: &[Rec]) {
        self.records += recs.len();
        self.bad += recs.iter().filter(|r| r.bad != Bad::None).count();
        for r in recs.iter().filter(|r| r.bad == Bad::None) {
            self.covered[r.op as usize] = true;
        }
    }
}

pub(crate) fn make(rng: &mut ChaCha8Rng, w: &mut Writer, out: &Path) -> io::Result<Summary> {
    let devices = DEVICES
        .iter()
        .map(|&(id, weight, fail_mult)| Device {
            id: id.into(),
            weight,
            fail_mult,
        })
        .collect();
    let users = ADMINS
        .iter()
        .map(|&(name, w)| {
            let ident = Identity {
                id: guid(rng),
                name: name.into(),
                app: false,
            };
            (ident, w)
        })
        .collect();
    let apps = default_apps(rng);
    let world = World::new(devices, users, apps);
    let start = at(2026, 10, 31, 0, 0, 0);
    let now = at(2026, 11, 27, 18, 0, 0);
    let params = GenParams {
        ops: 420,
        start,
        now,
        inflight_window: 3 * HOUR,
        stuck_share: 0.0,
    };
    let mut ops = gen_ops(rng, &world, &params);

    // Hand-placed operations that carry the story.
    let admin = |k: usize| world.users[k];
    let app = world.apps[0];
    let automation = world.apps[1];
    let mut inject = |device: u32,
                      kind: u8,
                      status: Status,
                      times: [Option<i64>; 3],
                      by: u16,
                      error: Option<u8>| {
        ops.push(Op {
            id: op_id(rng),
            device,
            kind,
            status,
            created: times[0].unwrap_or_default(),
            started: times[1],
            completed: times[2],
            by,
            last_by: by,
            error,
        });
        ops.len() - 1
    };
    // Two operations stuck in progress for days.
    inject(
        1,
        T_SOFTWARE,
        Status::InProgress,
        [
            Some(at(2026, 11, 21, 2, 4, 11) + 3_276_115),
            Some(at(2026, 11, 21, 2, 5, 37) + 1_180_000),
            None,
        ],
        app,
        None,
    );
    inject(
        6,
        T_DIAG,
        Status::InProgress,
        [
            Some(at(2026, 11, 24, 10, 29, 2) + 5_500_000),
            Some(at(2026, 11, 24, 10, 30, 14) + 9_128_437),
            None,
        ],
        admin(0),
        None,
    );
    // A software update waiting for tonight's maintenance window.
    inject(
        0,
        T_SOFTWARE,
        Status::Scheduled,
        [Some(at(2026, 11, 26, 16, 45, 3) + 1_873_402), None, None],
        app,
        None,
    );
    // Running at the fleet export, finished (with the "Unknown" error
    // object) by the time someone fetched it alone: `{"value": {...}}`.
    let fetched_later = inject(
        2,
        T_SOFTWARE,
        Status::Successful,
        [
            Some(at(2026, 11, 27, 16, 20, 8) + 4_500_000),
            Some(at(2026, 11, 27, 16, 24, 51)),
            Some(at(2026, 11, 27, 19, 41, 3) + 4_500_000),
        ],
        app,
        Some(E_UNKNOWN),
    );
    // A restart on the reception phone, fetched on its own.
    let fetched_bare = inject(
        3,
        T_RESTART,
        Status::Successful,
        [
            Some(at(2026, 11, 27, 9, 12, 40) + 1_100_000),
            Some(at(2026, 11, 27, 9, 12, 58) + 7_300_000),
            Some(at(2026, 11, 27, 9, 14, 31) + 2_000_000),
        ],
        admin(0),
        None,
    );
    // A cancelled restart on the lobby display (written as "canceled").
    let cancelled = inject(
        6,
        T_RESTART,
        Status::Cancelled,
        [
            Some(at(2026, 11, 17, 12, 2, 9) + 6_600_000),
            None,
            Some(at(2026, 11, 17, 12, 9, 45) + 10_000),
        ],
        admin(2),
        Some(E_CANCELLED),
    );
    // Running when an export was taken, finished in a later one: the
    // nightly exports catch the maintenance window in progress.
    let t =
        |d: u32, hh: i64, mm: i64, ss: i64, ticks: i64| Some(at(2026, 11, d, hh, mm, ss) + ticks);
    for (device, kind, status, times, by, error) in [
        // archive (9 Nov 02:40) → D1 pages: the unreliable huddle room fails its update.
        (
            1,
            T_SOFTWARE,
            Status::Failed,
            [
                t(9, 1, 55, 2, 1_183_004),
                t(9, 2, 1, 47, 0),
                t(9, 4, 12, 31, 5_770_000),
            ],
            app,
            Some(E_DOWNLOAD),
        ),
        // archive → array: the panel's nightly restart.
        (
            5,
            T_RESTART,
            Status::Successful,
            [
                t(9, 2, 38, 10, 6_400_000),
                t(9, 2, 39, 55, 2_017_336),
                t(9, 2, 41, 30, 9_000_000),
            ],
            app,
            None,
        ),
        // D1 pages (26 Nov 03:05) → fleet export.
        (
            1,
            T_RESTART,
            Status::Successful,
            [
                t(26, 3, 3, 0, 7_731_205),
                t(26, 3, 4, 12, 0),
                t(26, 3, 7, 40, 3_100_000),
            ],
            app,
            None,
        ),
        // D0 pages (27 Nov 02:50) → fleet export.
        (
            0,
            T_SOFTWARE,
            Status::Successful,
            [
                t(27, 2, 31, 16, 4_410_000),
                t(27, 2, 33, 2, 8_853_219),
                t(27, 3, 58, 44, 1_000_000),
            ],
            app,
            Some(E_UNKNOWN),
        ),
        // batch (27 Nov 03:10) → fleet export: in progress, then failed.
        (
            2,
            T_SOFTWARE,
            Status::Failed,
            [
                t(27, 2, 58, 12, 0),
                t(27, 3, 2, 37, 6_120_000),
                t(27, 4, 47, 9, 2_298_113),
            ],
            app,
            Some(E_INSTALL),
        ),
        // batch → fleet export: still queued at 03:10.
        (
            3,
            T_CONFIG,
            Status::Successful,
            [
                t(27, 3, 9, 51, 3_000_000),
                t(27, 3, 10, 22, 9_731_000),
                t(27, 3, 10, 49, 5_000_000),
            ],
            automation,
            None,
        ),
        // PowerShell export (27 Nov 08:00) → fleet export: diagnostics running.
        (
            4,
            T_DIAG,
            Status::Successful,
            [
                t(27, 7, 51, 40, 2_210_000),
                t(27, 7, 52, 3, 8_002_114),
                t(27, 8, 6, 19, 4_400_000),
            ],
            admin(1),
            None,
        ),
        // Only in the PowerShell export: the phone's sign-in failed.
        (
            4,
            T_LOGIN,
            Status::Failed,
            [
                t(18, 9, 14, 5, 6_900_000),
                t(18, 9, 14, 9, 1_000_000),
                t(18, 9, 14, 38, 5_531_000),
            ],
            admin(0),
            Some(E_SIGNIN),
        ),
    ] {
        inject(device, kind, status, times, by, error);
    }
    // A sign-out whose export line lost its deviceId.
    let orphan = inject(
        7,
        T_LOGOUT,
        Status::Successful,
        [
            Some(at(2026, 11, 27, 14, 5, 12) + 8_000_000),
            Some(at(2026, 11, 27, 14, 5, 20)),
            Some(at(2026, 11, 27, 14, 5, 41) + 330_000),
        ],
        admin(3),
        None,
    );
    ops[cancelled].last_by = admin(0);

    // Extra ids for records that must be rejected (they appear nowhere else).
    let reject_ops: Vec<usize> = (0..5)
        .map(|k| {
            let mut op = ops[k * 37 % 400].clone();
            op.id = op_id(rng);
            ops.push(op);
            ops.len() - 1
        })
        .collect();
    let g = Gen::new(world, ops);
    let n_real = g.ops.len() - reject_ops.len();

    w.gzip = false;
    w.level = Compression::default();
    let mut tally = Tally {
        records: 0,
        bad: 0,
        covered: vec![false; g.ops.len()],
    };
    // Operations of `devices` created in [from, t] as an export at `t`
    // shows them, in order of creation.
    let select = |devices: &[u32], from: i64, t: i64, pred: &dyn Fn(&Op) -> bool| -> Vec<Rec> {
        let mut v: Vec<Rec> = (0..n_real)
            .filter(|&i| {
                let op = &g.ops[i];
                devices.contains(&op.device) && op.created >= from && op.created <= t && pred(op)
            })
            .map(|i| Rec::new(i, t))
            .collect();
        v.sort_by_key(|r| (g.ops[r.op as usize].created, r.op));
        v
    };
    let all = |_: &Op| true;
    let dev = |d: usize| g.world.devices[d].id.as_str();
    let nov9 = at(2026, 11, 9, 0, 0, 0);

    // 1. archive/operations-2026-11-09.ndjson.gz: every device up to the
    //    nightly export of 9 Nov 02:40, as it saw them; UTF-8 BOM, LF.
    let t = at(2026, 11, 9, 2, 40, 0);
    let recs = select(&[0, 1, 2, 3, 4, 5, 6, 7], start, t, &all);
    tally.add(&recs);
    let mut buf = b"\xEF\xBB\xBF".to_vec();
    let style = Style {
        device_id: true,
        ..Style::default()
    };
    for r in &recs {
        ndjson_line(&mut buf, &g, r, style, b"\n");
    }
    w.gzip = true;
    w.file(&out.join("archive/operations-2026-11-09.ndjson"), &buf)?;

    // 2. archive/board-room-panel-2026-11-02.json.gz: one list page of D5.
    let t = at(2026, 11, 2, 12, 0, 0);
    let recs = select(&[5], start, t, &all);
    tally.add(&recs);
    let refs: Vec<&Rec> = recs.iter().collect();
    let page = page_json(
        &g,
        &refs,
        Style::default(),
        Some(context_url(dev(5))),
        Some(refs.len()),
        None,
    );
    buf.clear();
    compact(&mut buf, &page);
    buf.push(b'\n');
    w.file(&out.join("archive/board-room-panel-2026-11-02.json"), &buf)?;
    w.gzip = false;

    // 3. pages/board-room/: D0's whole history, newest first, 20 per page,
    //    pretty-printed as Graph Explorer shows it; unset times as 0001-01-01;
    //    three records in the docs' hyphenated time form.
    let t = at(2026, 11, 27, 2, 50, 0);
    let mut recs = select(&[0], start, t, &all);
    tally.add(&recs);
    recs.reverse();
    let late = at(2026, 11, 24, 0, 0, 0);
    let mut hyphens = 0u8;
    for r in recs.iter_mut().rev() {
        let op = &g.ops[r.op as usize];
        // Only records that appear once: not in the archive, not in the fleet export.
        if hyphens < 3
            && op.created > at(2026, 11, 10, 0, 0, 0)
            && op.completed.is_some_and(|c| c < late)
            && op.started.is_some()
        {
            hyphens += 1;
            r.hyphen = hyphens + 1; // started, completed, last action
        }
    }
    let style = Style {
        zero_unset: true,
        ..Style::default()
    };
    let refs: Vec<&Rec> = recs.iter().collect();
    let pages: Vec<&[&Rec]> = refs.chunks(20).collect();
    for (p, chunk) in pages.iter().enumerate() {
        let next = (p + 1 < pages.len()).then(|| next_link(dev(0), &skiptoken(7, 0, p + 1)));
        let page = page_json(
            &g,
            chunk,
            style,
            Some(context_url(dev(0))),
            Some(refs.len()),
            next,
        );
        buf.clear();
        pretty_graph(&mut buf, &page);
        w.file(
            &out.join(format!("pages/board-room/page-{:02}.json", p + 1)),
            &buf,
        )?;
    }

    // 4. pages/new-display/page-01.json: D8 has no operations yet.
    let page = page_json(
        &g,
        &[],
        Style::default(),
        Some(context_url(dev(8))),
        Some(0),
        None,
    );
    buf.clear();
    compact(&mut buf, &page);
    buf.push(b'\n');
    w.file(&out.join("pages/new-display/page-01.json"), &buf)?;

    // 5. device_id=<D1>/: D1 since 9 Nov, fetched with odata.metadata=none:
    //    no @odata.context; the device id is in the nextLinks and the folder.
    let t = at(2026, 11, 26, 3, 5, 0);
    let mut recs = select(&[1], nov9, t, &all);
    tally.add(&recs);
    recs.reverse();
    let refs: Vec<&Rec> = recs.iter().collect();
    let pages: Vec<&[&Rec]> = refs.chunks(20).collect();
    for (p, chunk) in pages.iter().enumerate() {
        let next = (p + 1 < pages.len()).then(|| next_link(dev(1), &skiptoken(11, 1, p + 1)));
        let page = page_json(&g, chunk, Style::default(), None, None, next);
        buf.clear();
        compact(&mut buf, &page);
        buf.push(b'\n');
        w.file(
            &out.join(format!(
                "device_id={}/operations-page-{}.json",
                dev(1),
                p + 1
            )),
            &buf,
        )?;
    }

    // 6. batch/batch-2026-11-27.json: D2 and D3 since 9 Nov, plus a 404
    //    for a retired device. Pages of 50 with nextLinks in further files.
    let t = at(2026, 11, 27, 3, 10, 0);
    let d2 = select(&[2], nov9, t, &all);
    let d3 = select(&[3], nov9, t, &all);
    tally.add(&d2);
    tally.add(&d3);
    let d2: Vec<&Rec> = d2.iter().rev().collect();
    let d3: Vec<&Rec> = d3.iter().rev().collect();
    let style = Style {
        zero_unset: true,
        ..Style::default()
    };
    let parts: [(usize, Vec<&[&Rec]>); 2] =
        [(2, d2.chunks(50).collect()), (3, d3.chunks(50).collect())];
    let rounds = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
    for round in 0..rounds.max(1) {
        let mut responses = Vec::new();
        for (d, pages) in &parts {
            if let Some(chunk) = pages.get(round) {
                let next = (round + 1 < pages.len())
                    .then(|| next_link(dev(*d), &skiptoken(13, *d, round + 1)));
                responses.push(batch_response(&g, *d, chunk, style, next));
            }
        }
        if round == 0 {
            responses.push(J::Obj(vec![
                ("id", J::String(format!("{RETIRED}-operations"))),
                ("status", J::Int(404)),
                (
                    "headers",
                    J::Obj(vec![("Content-Type", J::Str("application/json"))]),
                ),
                (
                    "body",
                    J::Obj(vec![(
                        "error",
                        J::Obj(vec![
                            ("code", J::Str("NotFound")),
                            (
                                "message",
                                J::String(format!("Teamwork device '{RETIRED}' was not found.")),
                            ),
                        ]),
                    )]),
                ),
            ]));
        }
        buf.clear();
        compact(&mut buf, &J::Obj(vec![("responses", J::Arr(responses))]));
        buf.push(b'\n');
        let name = if round == 0 {
            "batch/batch-2026-11-27.json".to_string()
        } else {
            format!("batch/batch-2026-11-27-{}.json", round + 1)
        };
        w.file(&out.join(name), &buf)?;
    }

    // 7. devices/<D4>.json: PowerShell, Get-MgBetaTeamworkDeviceOperation | ConvertTo-Json.
    let t = at(2026, 11, 27, 8, 0, 0);
    let recs = select(&[4], nov9, t, &all);
    tally.add(&recs);
    let refs: Vec<&Rec> = recs.iter().collect();
    buf.clear();
    pascal_bytes(
        &mut buf,
        &g,
        &refs,
        Style {
            pascal: true,
            ..Style::default()
        },
    );
    w.file(&out.join(format!("devices/{}.json", dev(4))), &buf)?;

    // 8. array/panel-and-focus-room-2026-11-26.json: D5 and D7 since 9 Nov,
    //    with deviceId; one null element, one record dated 31 November.
    let t = at(2026, 11, 26, 17, 0, 0);
    let mut recs = select(&[5, 7], nov9, t, &all);
    let mut null_el = Rec::new(reject_ops[0], t);
    null_el.bad = Bad::NotObject(0);
    let mut nov31 = Rec::new(reject_ops[1], t);
    nov31.bad = Bad::Timestamp(2);
    recs.insert(recs.len() / 3, null_el);
    recs.insert(2 * recs.len() / 3, nov31);
    tally.add(&recs);
    let style = Style {
        device_id: true,
        ..Style::default()
    };
    buf.clear();
    buf.extend_from_slice(b"[\n");
    for (i, r) in recs.iter().enumerate() {
        if i > 0 {
            buf.extend_from_slice(b",\n");
        }
        compact(&mut buf, &record_json(&g, r, style));
    }
    buf.extend_from_slice(b"\n]\n");
    w.file(
        &out.join("array/panel-and-focus-room-2026-11-26.json"),
        &buf,
    )?;

    // 9. ndjson/lobby-display-export.ndjson: D6 since 9 Nov from a Windows
    //    script: CRLF, local time (+01:00), "succeeded"/"canceled", one
    //    record with an empty id, a trailing blank line.
    let t = at(2026, 11, 27, 9, 0, 0);
    let mut recs = select(&[6], nov9, t, &all);
    let mut empty_id = Rec::new(reject_ops[2], t);
    empty_id.bad = Bad::EmptyId;
    recs.insert(recs.len() / 2, empty_id);
    tally.add(&recs);
    let style = Style {
        device_id: true,
        aliases: true,
        offset_min: 60,
        ..Style::default()
    };
    buf.clear();
    for r in &recs {
        ndjson_line(&mut buf, &g, r, style, b"\r\n");
    }
    buf.extend_from_slice(b"\r\n");
    w.file(&out.join("ndjson/lobby-display-export.ndjson"), &buf)?;

    // 10. ndjson/fleet-2026-11-27.ndjson: every device, everything created
    //     since 24 Nov or still running then, at 18:00 on 27 Nov; one line
    //     lost its deviceId; a cut-off line, a record without id, one with
    //     "not-a-date"; a blank line.
    let t = now;
    let mut recs = select(&[0, 1, 2, 3, 4, 5, 6, 7], start, t, &|op: &Op| {
        op.created >= late || op.completed.is_none_or(|c| c >= late)
    });
    recs.sort_by_key(|r| (snapshot(&g.ops[r.op as usize], t).last, r.op));
    for r in &mut recs {
        if r.op as usize == orphan {
            r.no_device = true;
        }
    }
    let mut garbled = recs[recs.len() / 4];
    garbled.bad = Bad::Garbled;
    let mut missing = Rec::new(reject_ops[3], t);
    missing.bad = Bad::MissingId;
    let mut not_a_date = Rec::new(reject_ops[4], t);
    not_a_date.bad = Bad::Timestamp(0);
    let n = recs.len();
    recs.insert(n / 4, garbled);
    recs.insert(n / 2, missing);
    recs.insert(3 * n / 4, not_a_date);
    tally.add(&recs);
    let style = Style {
        device_id: true,
        ..Style::default()
    };
    buf.clear();
    for (i, r) in recs.iter().enumerate() {
        if i == n / 3 {
            buf.extend_from_slice(b"\n");
        }
        ndjson_line(&mut buf, &g, r, style, b"\n");
    }
    w.file(&out.join("ndjson/fleet-2026-11-27.ndjson"), &buf)?;

    // 11. single/: two operations fetched one by one.
    //     GET .../operations/{id} as the docs show it: {"value": {...}}.
    let r = Rec::new(fetched_later, at(2026, 11, 27, 21, 0, 0));
    tally.add(&[r]);
    buf.clear();
    pretty_graph(
        &mut buf,
        &J::Obj(vec![("value", record_json(&g, &r, Style::default()))]),
    );
    w.file(
        &out.join(format!("single/operation-{}.json", g.ops[fetched_later].id)),
        &buf,
    )?;
    //     A bare entity with its @odata.context.
    let r = Rec::new(fetched_bare, at(2026, 11, 27, 9, 30, 0));
    tally.add(&[r]);
    let mut entity = record_json(&g, &r, Style::default());
    if let J::Obj(f) = &mut entity {
        f.insert(
            0,
            (
                "@odata.context",
                J::String(format!(
                    "{GRAPH}/$metadata#teamwork/devices('{}')/operations/$entity",
                    dev(3)
                )),
            ),
        );
    }
    buf.clear();
    compact(&mut buf, &entity);
    buf.push(b'\n');
    w.file(
        &out.join(format!("single/{}.json", g.ops[fetched_bare].id)),
        &buf,
    )?;

    if let Some(i) = (0..n_real).find(|&i| !tally.covered[i]) {
        return Err(io::Error::other(format!(
            "operation {} is in no file",
            g.ops[i].id
        )));
    }
    Ok(Summary {
        ops: n_real,
        devices: g.world.devices.len(),
        records: tally.records,
        bad: tally.bad,
        updates: 0,
        files: w.files,
        bytes: w.bytes,
        truth: Some(truth(&g, n_real)),
    })
}

/// Graph Explorer / `jq .` layout: 2-space indent, camelCase kept.
fn pretty_graph(out: &mut Vec<u8>, v: &J) {
    let mut tmp = Vec::new();
    compact(&mut tmp, v);
    // Re-indent the compact text (strings never contain structural bytes unescaped).
    let mut level = 0usize;
    let mut in_str = false;
    let mut esc = false;
    let mut i = 0;
    while i < tmp.len() {
        let b = tmp[i];
        if in_str {
            out.push(b);
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_str = true;
                out.push(b);
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                if tmp.get(i + 1) == Some(&close) {
                    out.push(b);
                    out.push(close);
                    i += 2;
                    continue;
                }
                level += 1;
                out.push(b);
                out.push(b'\n');
                out.extend(std::iter::repeat_n(b' ', 2 * level));
            }
            b'}' | b']' => {
                level -= 1;
                out.push(b'\n');
                out.extend(std::iter::repeat_n(b' ', 2 * level));
                out.push(b);
            }
            b',' => {
                out.push(b);
                out.push(b'\n');
                out.extend(std::iter::repeat_n(b' ', 2 * level));
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
        i += 1;
    }
    out.push(b'\n');
}

/// What the generator knows to be true, for cross-checking `expected.py`.
fn truth(g: &Gen, n_real: usize) -> String {
    let end = i64::MAX;
    let mut counts = [0usize; 6];
    for op in &g.ops[..n_real] {
        let s = snapshot(op, end).status;
        counts[s as usize] += 1;
    }
    format!(
        "{n_real} operations; queued {} scheduled {} inProgress {} successful {} failed {} cancelled {}",
        counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]
    )
}
