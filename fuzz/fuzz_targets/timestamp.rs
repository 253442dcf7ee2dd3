//! Arbitrary text through the timestamp parser. Invariants: no panic; a
//! parsed value lies in 0001-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999999Z
//! (`/Date(ms)/` included); and on plain RFC 3339 text the parser agrees
//! with chrono: the same instant to the microsecond when chrono's lies in
//! that range, a rejection when it does not.
#![no_main]

use chrono::DateTime;
use fleetops::internals::ingest::decode::timestamp::{Parsed, parse};
use libfuzzer_sys::fuzz_target;

/// 0001-01-01T00:00:00Z.
const MIN_MICROS: i64 = -62_135_596_800_000_000;
/// 9999-12-31T23:59:59.999999Z.
const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)` with in-range fields: the text
/// RFC 3339 and our parser both accept (chrono also takes leap seconds,
/// which Graph never writes).
fn plain_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let d = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num =
        |r: std::ops::Range<usize>| -> u32 { std::str::from_utf8(&b[r]).unwrap().parse().unwrap() };
    if b.len() < 20
        || !d(0..4)
        || b[4] != b'-'
        || !d(5..7)
        || b[7] != b'-'
        || !d(8..10)
        || b[10] != b'T'
        || !d(11..13)
        || b[13] != b':'
        || !d(14..16)
        || b[16] != b':'
        || !d(17..19)
    {
        return false;
    }
    if num(11..13) > 23 || num(14..16) > 59 || num(17..19) > 59 {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > 9 {
            return false;
        }
    }
    match &b[i..] {
        [b'Z'] => true,
        [b'+' | b'-', ..] if b.len() - i == 6 => {
            d(i + 1..i + 3)
                && b[i + 3] == b':'
                && d(i + 4..i + 6)
                && num(i + 1..i + 3) <= 23
                && num(i + 4..i + 6) <= 59
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse(text);
    if let Ok(Parsed::Value(v) | Parsed::Repaired(v)) = parsed {
        // Also for `/Date(ms)/`: a value Arrow cannot show breaks every
        // export and report that meets it.
        assert!(
            (MIN_MICROS..=MAX_MICROS).contains(&v),
            "{text:?} parsed to {v}, outside the years 0001-9999"
        );
    }
    if plain_rfc3339(text) {
        // Graph's unset value, in any zone, with a fraction that is zero to
        // the microsecond.
        let unset = text.starts_with("0001-01-01T00:00:00") && {
            let frac = text[19..].strip_prefix('.').unwrap_or("");
            frac.bytes()
                .take_while(u8::is_ascii_digit)
                .take(6)
                .all(|b| b == b'0')
        };
        match (DateTime::parse_from_rfc3339(text), parsed) {
            (Ok(_), Ok(Parsed::Unset)) if unset => {}
            // Before year 1 or after 9999 in UTC: rejected by design.
            (Ok(c), Err(_)) if !(MIN_MICROS..=MAX_MICROS).contains(&c.timestamp_micros()) => {}
            (Ok(c), Ok(Parsed::Value(v))) => {
                assert_eq!(
                    c.timestamp_micros(),
                    v,
                    "{text:?}: chrono and fleetops differ"
                );
            }
            (Err(_), Err(_)) => {}
            (c, p) => panic!("{text:?}: chrono says {c:?}, fleetops says {p:?}"),
        }
    }
});
