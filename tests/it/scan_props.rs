//! Property: the hand-written reader (`ingest::decode::scanner`) never disagrees with
//! serde_json. Whatever it accepts, serde_json accepts too and decodes to the
//! same operation (or page); whatever it is unsure of it leaves alone.

use std::path::PathBuf;

use fleetops::internals::ingest::decode::{self, Decoded, RawOp, Text, fallback, scanner};
use proptest::prelude::*;

use crate::support::{files_under, sample_data};

/// Property names: Graph's spellings, other casings, snake_case, an escaped
/// name, names of the containers and of nested members.
const KEYS: &[&str] = &[
    "id",
    "ID",
    "i_d",
    "operationType",
    "OperationType",
    "operation_type",
    "status",
    "createdDateTime",
    "startedDateTime",
    "completedDateTime",
    "lastActionDateTime",
    "LastActionDateTime",
    "createdBy",
    "lastActionBy",
    "error",
    "deviceId",
    "teamworkDeviceId",
    "@odata.type",
    "@odata.context",
    "@odata.nextLink",
    "value",
    "responses",
    "user",
    "User",
    "application",
    "device",
    "displayName",
    "display_name",
    "code",
    "message",
    "userIdentityType",
    "",
    "a_very_long_property_name_over_24",
    "é",
];

/// String bodies (between the quotes): plain, non-ASCII, every escape, a
/// surrogate pair, a lone surrogate, a bad escape, a raw control character.
const STRINGS: &[&str] = &[
    "",
    "a",
    "bdaf5e83-8e18-4ff7-94b7-06c3323abc0e",
    "2026-10-01T00:02:49.8367361Z",
    "2026-10-01T00:02:49+01:00",
    "/Date(1793527200000)/",
    "not a date",
    "successful",
    "Succeeded",
    "failed",
    "configUpdate",
    "Jöhanna Braun",
    "quote \\\" backslash \\\\ slash \\/",
    "\\b\\f\\n\\r\\t",
    "\\u00e9\\u0000\\u001f",
    "\\ud83d\\ude00 emoji",
    "https://graph.microsoft.com/beta/$metadata#teamwork/devices('0f3ce432-e432-0f3c-32e4-3c0f32e43c0f')/operations",
    "https://graph.microsoft.com/beta/teamwork/devices/abc-1/operations?$skiptoken=x",
    "a long string that is longer than sixteen bytes with \\\"an escape\\\" in the middle",
    "\\ud800 lone",
    "\\udc00 lone low",
    "\\x bad",
    "\\u12g4 bad hex",
    "raw\ttab",
];

const NUMBERS: &[&str] = &[
    "0", "1", "-1", "12.5", "-0.5e3", "1E+2", "1e400", "01", "1.", "-", ".5", "1e",
];

/// The first strings and literals are ones the reader takes; the rest
/// (and every number) it leaves to serde_json.
const GOOD_STRINGS: usize = 19;

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => proptest::sample::select(&STRINGS[..GOOD_STRINGS]).prop_map(|s| format!("\"{s}\"")),
        4 => proptest::sample::select(&["true", "false", "null"][..]).prop_map(str::to_string),
        1 => proptest::sample::select(&STRINGS[GOOD_STRINGS..]).prop_map(|s| format!("\"{s}\"")),
        1 => proptest::sample::select(NUMBERS).prop_map(str::to_string),
        1 => proptest::sample::select(&["nul", "True"][..]).prop_map(str::to_string),
    ]
}

/// Mostly names the reader takes; now and then an escaped one.
fn key() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        30 => proptest::sample::select(KEYS),
        1 => proptest::sample::select(&["i\\u0064", "st\\u0061tus", "\\\"q"][..]),
    ]
}

fn ws() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(&["", "", "", " ", "\n", "\t ", "\r\n"][..])
}

fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec((key(), ws(), inner.clone()), 0..6).prop_map(|members| {
                let body: Vec<String> = members
                    .iter()
                    .map(|(k, w, v)| format!("{w}\"{k}\"{w}:{w}{v}"))
                    .collect();
                format!("{{{}}}", body.join(","))
            }),
            proptest::collection::vec(inner, 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
        ]
    })
}

fn object(members: Vec<(&'static str, &'static str, String)>) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, w, v)| format!("\"{k}\"{w}:{w}{v}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// `{id, displayName, ...}`, or something else where one is expected.
fn identity() -> impl Strategy<Value = String> {
    let keys = &[
        "id",
        "displayName",
        "Id",
        "display_name",
        "@odata.type",
        "userIdentityType",
    ][..];
    prop_oneof![
        6 => proptest::collection::vec((proptest::sample::select(keys), ws(), scalar()), 0..4)
            .prop_map(object),
        1 => value(),
    ]
}

/// `{user, application, device}`, or something else where one is expected.
fn identity_set() -> impl Strategy<Value = String> {
    let keys = &["user", "application", "device", "User", "other"][..];
    prop_oneof![
        6 => proptest::collection::vec((proptest::sample::select(keys), ws(), identity()), 0..4)
            .prop_map(object),
        1 => value(),
    ]
}

/// `{code, message}`, or something else.
fn error_object() -> impl Strategy<Value = String> {
    let keys = &["code", "message", "Code", "innerError"][..];
    prop_oneof![
        4 => proptest::collection::vec((proptest::sample::select(keys), ws(), scalar()), 0..3)
            .prop_map(object),
        1 => value(),
    ]
}

/// An operation-like object: mostly the properties fleetops reads.
fn op() -> impl Strategy<Value = String> {
    let member = prop_oneof![
        4 => (key(), ws(), scalar()),
        2 => (key(), ws(), value()),
        2 => (proptest::sample::select(&["createdBy", "lastActionBy", "Created_By"][..]), ws(), identity_set()),
        1 => (proptest::sample::select(&["error", "Error"][..]), ws(), error_object()),
    ];
    proptest::collection::vec(member, 0..12).prop_map(object)
}

/// A document, sometimes damaged: cut short, a byte replaced, a trailing
/// comma, trailing text.
fn damaged(doc: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (doc, 0u8..8, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(d, how, at, byte)| {
        if d.is_empty() {
            return d;
        }
        let mut b = d.into_bytes();
        let i = at.index(b.len());
        match how {
            0 => b.truncate(i),
            1 => b[i] = byte & 0x7f,
            2 => b.insert(i, b','),
            3 => b.extend_from_slice(b" x"),
            4 => b.extend_from_slice(b" \n\t"),
            _ => {}
        }
        String::from_utf8(b).unwrap_or_default()
    })
}

fn same_op(fast: &RawOp<'_>, text: &str) {
    match fallback::parse_str(text) {
        Ok(Decoded::Object(slow)) => assert_eq!(fast, &*slow, "{text}"),
        other => panic!("scan accepted what serde_json reads as {other:?}: {text}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn scan_agrees_with_serde_on_records(text in damaged(op())) {
        if let Some(fast) = scanner::op_document(&text) {
            same_op(&fast, &text);
        }
        // The public entry point gives what serde_json gives, either way.
        let a = format!("{:?}", decode::parse_str(&text).map_err(|e| e.to_string()));
        let b = format!("{:?}", fallback::parse_str(&text).map_err(|e| e.to_string()));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn scan_agrees_with_serde_on_pages(
        elems in proptest::collection::vec(op(), 0..4),
        context in proptest::option::of(scalar()),
        next in proptest::option::of(scalar()),
        extra in proptest::option::of((proptest::sample::select(KEYS), value())),
        bare in any::<bool>(),
        how in 0u8..8, at in any::<prop::sample::Index>(),
    ) {
        let list = format!("[{}]", elems.join(","));
        let mut text = if bare {
            list
        } else {
            let mut members = vec![format!("\"value\":{list}")];
            if let Some(c) = context { members.insert(0, format!("\"@odata.context\":{c}")); }
            if let Some(n) = next { members.push(format!("\"@odata.nextLink\":{n}")); }
            if let Some((k, v)) = extra { members.push(format!("\"{k}\":{v}")); }
            format!("{{{}}}", members.join(","))
        };
        if how == 0 {
            let mut cut = at.index(text.len() + 1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        if let Some(fast) = scanner::page(&text) {
            let slow = fallback::page(&text).unwrap_or_else(|| panic!("serde_json refuses: {text}"));
            prop_assert_eq!(&fast.context, &slow.context);
            prop_assert_eq!(&fast.next_link, &slow.next_link);
            prop_assert_eq!(fast.ops.len(), slow.ops.len());
            for (f, s) in fast.ops.iter().zip(&slow.ops) {
                match s {
                    Decoded::Object(s) => prop_assert_eq!(f, &**s),
                    Decoded::NotObject(_) => prop_assert!(false, "serde_json reads a non-object: {text}"),
                }
            }
        }
    }
}

/// The text of every JSON and NDJSON file of the sample, gzipped ones
/// decompressed.
fn sample_texts() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for path in files_under(&sample_data()) {
        let name = path.to_string_lossy().to_string();
        if name.ends_with(".gz") {
            let mut text = String::new();
            let f = std::fs::File::open(&path).unwrap();
            if std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(f), &mut text)
                .is_ok()
            {
                out.push((path, text));
            }
        } else if (name.ends_with(".json") || name.ends_with(".ndjson"))
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            out.push((path, text));
        }
    }
    out
}

/// The reader is not a no-op: the shipped exports take it, and it agrees
/// with serde_json on every record and page of them.
#[test]
fn sample_data_takes_the_fast_path() {
    let files = sample_texts();
    let (mut fast_lines, mut slow_lines, mut pages) = (0, Vec::new(), 0);
    for (path, text) in &files {
        if let Some(slow) = fallback::page(text) {
            if let Some(fast) = scanner::page(text) {
                assert_eq!(fast.context, slow.context);
                assert_eq!(fast.next_link, slow.next_link);
                let slow: Vec<&RawOp> = slow
                    .ops
                    .iter()
                    .map(|e| match e {
                        Decoded::Object(op) => &**op,
                        Decoded::NotObject(_) => panic!("{}: a non-object element", path.display()),
                    })
                    .collect();
                assert_eq!(fast.ops.iter().collect::<Vec<_>>(), slow);
                pages += 1;
            }
            continue;
        }
        for line in text.lines() {
            let line = line.trim();
            let Ok(Decoded::Object(slow)) = fallback::parse_str(line) else {
                continue;
            };
            match scanner::op_document(line) {
                Some(fast) => {
                    assert_eq!(fast, *slow, "{}", path.display());
                    fast_lines += 1;
                }
                None => slow_lines.push(line.to_string()),
            }
        }
    }
    assert!(pages >= 5, "only {pages} pages read by scan");
    assert!(fast_lines > 100, "only {fast_lines} lines read by scan");
    assert!(
        slow_lines.len() * 20 < fast_lines,
        "left to serde_json: {slow_lines:#?}"
    );
}

#[test]
fn escapes_and_nesting() {
    let t = r#"{"id":"a\"b\u00e9\ud83d\ude00","status":true,"error":{"code":null,"message":["x"]},"createdBy":"Microsoft.Graph.IdentitySet","x":[[{"y":-1.5e3}]]}"#;
    let fast = scanner::op_document(t).expect("read by scan");
    same_op(&fast, t);
    assert_eq!(fast.id, Text::Str("a\"bé😀".into()));
    assert_eq!(fast.status, Text::Str("true".into()));
    // A number where text is read, an escaped property name, a lone
    // surrogate: left to serde_json.
    assert!(scanner::op_document(r#"{"id":5}"#).is_none());
    assert!(scanner::op_document(r#"{"i\u0064":"a"}"#).is_none());
    assert!(scanner::op_document(r#"{"id":"\ud800"}"#).is_none());
    // Deep nesting in an ignored property: left to serde_json, which reads it.
    let deep = format!(
        r#"{{"id":"a","x":{}1{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert!(scanner::op_document(&deep).is_none());
    assert!(matches!(decode::parse_str(&deep), Ok(Decoded::Object(_))));
}
