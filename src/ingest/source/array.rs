//! A top-level JSON array too large to read whole (a PowerShell
//! `ConvertTo-Json` export of millions of operations), cut while it is read
//! into runs of elements of about a block each.
//!
//! The cutter follows the JSON structure over the bytes (strings, escapes,
//! nesting) and cuts only between two elements of the top-level array: each
//! run goes out as an array of its own (the comma before it becomes its
//! `[`, the one after it its `]`), so the decoder reads it exactly as it
//! reads the whole array, elements, rejects and counts alike, and serde_json
//! names the same place in a malformed file (each run knows where it starts).
//! An element over the record limit is skipped while reading (its JSON is
//! then not checked), kept as its first bytes for its reject, as an NDJSON
//! line over the limit is; long blanks between elements are dropped. So the
//! buffer holds about a block and an element, whatever the file's size.

use std::io::Read;

use super::{Limits, ReadError, fill, read_error};
use crate::ingest::decode::{self, Location, TextPos, WorkKind};

/// Bytes of an oversized element kept for its reject (as for any record
/// over the limit).
const HEAD: usize = 4096;

/// Where the cutter stands in the top-level array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Top {
    /// Before the array's `[`.
    Before,
    /// Waiting for an element: first, or after the comma at this place.
    Expect(Option<usize>),
    /// Inside an element that is a string, an object or an array.
    Value,
    /// Inside an element that is a number or a literal.
    Scalar,
    /// After an element.
    After,
}

/// A fault in the array's own punctuation, as serde_json names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    ExpectedValue,
    TrailingComma,
    CommaOrEnd,
    /// A closing bracket of the other kind, inside an element.
    Mismatch,
}

impl Fault {
    fn what(self) -> &'static str {
        match self {
            Fault::ExpectedValue | Fault::Mismatch => "expected value",
            Fault::TrailingComma => "trailing comma",
            Fault::CommaOrEnd => "expected `,` or `]`",
        }
    }
}

/// Why a scan stopped.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// Every byte is scanned.
    More,
    /// The array's closing `]` is at this place.
    Closed(usize),
    /// A fault at this byte.
    Fault(usize, Fault),
    /// The element being skipped ends before this place.
    Ended(usize),
}

/// Bytes that matter inside an element, outside its strings.
const BRACKETS: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'{' as usize] = true;
    t[b'[' as usize] = true;
    t[b'}' as usize] = true;
    t[b']' as usize] = true;
    t
};

fn is_blank(b: u8) -> bool {
    // JSON's whitespace, exactly (not form feed).
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// The cutter's view of the bytes scanned so far.
struct Scanner {
    /// The next byte to scan.
    pos: usize,
    top: Top,
    /// Whether each open bracket is an object's (the first is the array's).
    open: Vec<bool>,
    in_str: bool,
    /// A backslash in a string ended the bytes scanned.
    escape: bool,
    /// Where the current (or last) element starts.
    elem_start: usize,
    /// Where the blank bytes since the last element, comma or `[` start.
    blank_from: usize,
    /// Elements started so far in the whole array.
    started: u64,
    /// Elements started in the current run.
    in_run: u64,
    /// The last place to cut: a comma between two elements of the run, and
    /// the elements before it.
    cut: Option<(usize, u64)>,
    /// Stop at the end of the current element (it is being skipped).
    skipping: bool,
    /// After a skipped element, before the comma that starts the next run.
    headless: bool,
}

impl Scanner {
    fn new() -> Self {
        Scanner {
            pos: 0,
            top: Top::Before,
            open: Vec::new(),
            in_str: false,
            escape: false,
            elem_start: 0,
            blank_from: 0,
            started: 0,
            in_run: 0,
            cut: None,
            skipping: false,
            headless: false,
        }
    }

    fn depth(&self) -> usize {
        self.open.len()
    }

    /// Whether an element is open (started and not ended).
    fn in_element(&self) -> bool {
        matches!(self.top, Top::Value | Top::Scalar)
    }

    /// Scans `buf` from `pos` on. After a skipped element, the comma that
    /// starts the next run becomes its `[`.
    fn scan(&mut self, buf: &mut [u8]) -> Stop {
        let n = buf.len();
        let mut i = self.pos;
        let stop = 'scan: loop {
            if self.in_str {
                if self.escape {
                    if i >= n {
                        break Stop::More;
                    }
                    self.escape = false;
                    i += 1;
                }
                loop {
                    let Some(k) = buf.get(i..).and_then(|b| memchr::memchr2(b'"', b'\\', b)) else {
                        i = n;
                        break 'scan Stop::More;
                    };
                    i += k;
                    if buf[i] == b'\\' {
                        if i + 1 < n {
                            i += 2;
                            continue;
                        }
                        self.escape = true;
                        i = n;
                        break 'scan Stop::More;
                    }
                    break;
                }
                self.in_str = false;
                i += 1;
                if self.depth() == 1 {
                    self.top = Top::After;
                    self.blank_from = i;
                    if self.skipping {
                        break Stop::Ended(i);
                    }
                }
                continue;
            }
            if self.depth() >= 2 {
                while i < n && !BRACKETS[usize::from(buf[i])] {
                    i += 1;
                }
                if i == n {
                    break Stop::More;
                }
                let b = buf[i];
                i += 1;
                match b {
                    b'"' => self.in_str = true,
                    b'{' | b'[' => self.open.push(b == b'{'),
                    _ => {
                        if self.open.pop() != Some(b == b'}') && !self.skipping {
                            break Stop::Fault(i - 1, Fault::Mismatch);
                        }
                        if self.depth() == 1 {
                            self.top = Top::After;
                            self.blank_from = i;
                            if self.skipping {
                                break Stop::Ended(i);
                            }
                        }
                    }
                }
                continue;
            }
            if i >= n {
                break Stop::More;
            }
            let b = buf[i];
            match self.top {
                Top::Before => {
                    if b == b'[' {
                        self.open.push(false);
                        self.top = Top::Expect(None);
                        self.blank_from = i + 1;
                    } else if !is_blank(b) {
                        break Stop::Fault(i, Fault::ExpectedValue);
                    }
                }
                Top::Expect(comma) => match b {
                    _ if is_blank(b) => {}
                    b']' if comma.is_none() => {
                        self.open.pop();
                        break Stop::Closed(i);
                    }
                    b']' => break Stop::Fault(i, Fault::TrailingComma),
                    b',' | b'}' => break Stop::Fault(i, Fault::ExpectedValue),
                    _ => {
                        if let Some(c) = comma
                            && self.in_run > 0
                        {
                            self.cut = Some((c, self.started));
                        }
                        self.started += 1;
                        self.in_run += 1;
                        self.elem_start = i;
                        self.top = match b {
                            b'"' => {
                                self.in_str = true;
                                Top::Value
                            }
                            b'{' | b'[' => {
                                self.open.push(b == b'{');
                                Top::Value
                            }
                            _ => Top::Scalar,
                        };
                    }
                },
                Top::Scalar => match b {
                    _ if self.skipping && (is_blank(b) || b == b',' || b == b']') => {
                        self.top = Top::After;
                        self.blank_from = i;
                        break Stop::Ended(i);
                    }
                    _ if is_blank(b) => {
                        self.top = Top::After;
                        self.blank_from = i;
                    }
                    b',' => {
                        self.top = Top::Expect(Some(i));
                        self.blank_from = i + 1;
                    }
                    b']' => {
                        self.open.pop();
                        break Stop::Closed(i);
                    }
                    b'"' | b'{' | b'[' | b'}' => break Stop::Fault(i, Fault::CommaOrEnd),
                    _ => {}
                },
                Top::After => match b {
                    _ if is_blank(b) => {}
                    b',' => {
                        if self.headless {
                            buf[i] = b'[';
                            self.headless = false;
                        }
                        self.top = Top::Expect(Some(i));
                        self.blank_from = i + 1;
                    }
                    b']' => {
                        self.open.pop();
                        break Stop::Closed(i);
                    }
                    _ => break Stop::Fault(i, Fault::CommaOrEnd),
                },
                Top::Value => unreachable!("a string or bracket element is scanned above"),
            }
            i += 1;
        };
        self.pos = match stop {
            Stop::Closed(p) => p + 1,
            _ => i.min(n),
        };
        stop
    }

    /// The bytes before `at` are gone from the buffer.
    fn shift(&mut self, at: usize) {
        self.pos -= at;
        self.elem_start = self.elem_start.saturating_sub(at);
        self.blank_from = self.blank_from.saturating_sub(at);
        if let Top::Expect(Some(c)) = &mut self.top {
            *c -= at;
        }
        self.cut = None;
    }
}

/// Cuts the array whose first bytes are in `buf` (no byte order mark; its
/// first non-blank byte is `[`), the rest read from `r`, `more` telling
/// whether `r` may hold more. `Err`: the file is unreadable (cut off, not
/// JSON, or it cannot be read), or `emit` said to stop.
pub(super) fn split(
    r: &mut dyn Read,
    mut buf: Vec<u8>,
    mut more: bool,
    block: usize,
    limits: &Limits,
    emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut s = Scanner::new();
    // Where `buf` starts in the document, and the index of its first element.
    let mut origin = TextPos::START;
    let mut first_index = 0u64;
    loop {
        match s.scan(&mut buf) {
            Stop::More => {}
            Stop::Closed(p) => {
                return close(r, buf, p, &s, origin, first_index, block, emit);
            }
            Stop::Fault(i, fault) => return Err(fault_at(&buf, i, fault, &s, origin)),
            Stop::Ended(_) => unreachable!("only while skipping"),
        }
        if buf.len() >= block
            && let Some((c, next_first)) = s.cut
        {
            let mut next = Vec::with_capacity(block + (block >> 2));
            next.push(b'[');
            next.extend_from_slice(&buf[c + 1..]);
            buf.truncate(c);
            let at = origin.after(&buf);
            buf.push(b']');
            let n = buf.len() as u64;
            emit(
                WorkKind::Elements {
                    data: buf,
                    first_index,
                    count: next_first - first_index,
                    origin,
                },
                n,
            )?;
            s.shift(c);
            s.in_run = s.started - next_first;
            first_index = next_first;
            origin = at;
            buf = next;
            continue;
        }
        if !s.in_element() && buf.len() - s.blank_from > block {
            squeeze(&mut buf, &mut s, &mut origin, &mut first_index, emit)?;
        }
        if s.in_element() && buf.len() - s.elem_start > limits.max_record_bytes {
            (buf, origin) = oversize(r, buf, &mut s, origin, first_index, block, emit)?;
            first_index = s.started;
            more = true;
            continue;
        }
        if !more {
            return Err(cut_off(&buf, &s, origin));
        }
        let want = if buf.len() < block {
            block - buf.len()
        } else {
            block
        };
        more = fill(r, &mut buf, want).map_err(read_error)?;
    }
}

/// A long run of blank bytes between elements (valid JSON, but nothing
/// else would bound the buffer): the run of elements before it goes out, and
/// the blanks are dropped, `origin` moved so that every place after them is
/// still named as in the file.
fn squeeze(
    buf: &mut Vec<u8>,
    s: &mut Scanner,
    origin: &mut TextPos,
    first_index: &mut u64,
    emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let started = s.started;
    let mut run_out = |data: Vec<u8>, first_index: &mut u64, origin: TextPos| {
        let n = data.len() as u64;
        let count = started - *first_index;
        *first_index = started;
        emit(
            WorkKind::Elements {
                data,
                first_index: *first_index - count,
                count,
                origin,
            },
            n,
        )
    };
    // Where the `[` of the run to keep is, if any.
    let open = match s.top {
        Top::After => {
            if !s.headless {
                // The run ends with its last element.
                let mut run = buf[..s.blank_from].to_vec();
                run.push(b']');
                run_out(run, first_index, *origin)?;
            }
            *origin = origin.after(buf);
            buf.clear();
            s.headless = true;
            s.blank_from = 0;
            s.in_run = 0;
            None
        }
        Top::Expect(Some(c)) if s.in_run > 0 => {
            let mut run = buf[..c].to_vec();
            run.push(b']');
            run_out(run, first_index, *origin)?;
            Some(c)
        }
        Top::Expect(Some(c)) => Some(c),
        Top::Expect(None) => Some(s.blank_from - 1),
        Top::Before | Top::Value | Top::Scalar => return Ok(()),
    };
    if let Some(o) = open {
        // The `[` (the array's, or the comma that becomes the next run's)
        // first, then the blanks after it, less those of their last line.
        *origin = origin.after(&buf[..o]);
        buf[o] = b'[';
        buf.drain(..o);
        if let Top::Expect(Some(c)) = &mut s.top {
            *c = 0;
        }
        let blanks = &buf[1..];
        let dropped = match memchr::memrchr(b'\n', blanks) {
            Some(last) => {
                origin.line += memchr::memchr_iter(b'\n', &blanks[..last]).count() as u64;
                last
            }
            None => {
                origin.column += blanks.len() as u64;
                blanks.len()
            }
        };
        buf.drain(1..1 + dropped);
        s.in_run = 0;
        s.blank_from = 1;
    }
    s.pos = buf.len();
    s.cut = None;
    Ok(())
}

/// Skips the element that starts at `s.elem_start` and is already over the
/// record limit, emitting the run before it and its reject; then the buffer
/// holds what follows it, and where that starts.
fn oversize(
    r: &mut dyn Read,
    mut buf: Vec<u8>,
    s: &mut Scanner,
    origin: TextPos,
    first_index: u64,
    block: usize,
    emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), ReadError>,
) -> Result<(Vec<u8>, TextPos), ReadError> {
    let start = s.elem_start;
    let mut head = buf[start..buf.len().min(start + HEAD)].to_vec();
    if let Some((c, _)) = s.cut.take() {
        // The run before it, which ends at the comma before it.
        let mut run = buf[..c].to_vec();
        run.push(b']');
        let n = run.len() as u64;
        emit(
            WorkKind::Elements {
                data: run,
                first_index,
                count: s.started - 1 - first_index,
                origin,
            },
            n,
        )?;
    }
    let mut at = origin.after(&buf);
    let mut bytes = (buf.len() - start) as u64;
    s.skipping = true;
    let end = loop {
        buf.clear();
        s.pos = 0;
        let more = fill(r, &mut buf, block).map_err(read_error)?;
        let stop = s.scan(&mut buf);
        let end = match stop {
            Stop::Ended(e) => e,
            _ => buf.len(),
        };
        let room = HEAD - head.len().min(HEAD);
        head.extend_from_slice(&buf[..end.min(room)]);
        if stop != Stop::More {
            break end;
        }
        at = at.after(&buf);
        bytes += buf.len() as u64;
        if !more {
            return Err(ReadError::NotJson(element_cut_off(s, at)));
        }
    };
    bytes += end as u64;
    at = at.after(&buf[..end]);
    s.skipping = false;
    s.headless = true;
    s.in_run = 0;
    s.cut = None;
    let location = Location {
        index: Some(s.started - 1),
        ..Location::default()
    };
    emit(
        WorkKind::Oversize {
            location,
            head,
            bytes,
        },
        bytes,
    )?;
    buf.drain(..end);
    s.pos = 0;
    s.blank_from = 0;
    Ok((buf, at))
}

/// The array closed at `close` in `buf`: the last run goes out once the
/// rest of the file is found blank.
#[allow(clippy::too_many_arguments)]
fn close(
    r: &mut dyn Read,
    mut buf: Vec<u8>,
    close: usize,
    s: &Scanner,
    origin: TextPos,
    first_index: u64,
    block: usize,
    emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    // The first non-blank byte after the array, and where it stands.
    let mut after = origin.after(&buf[..=close]);
    let mut rest = buf.split_off(close + 1);
    let trailing = loop {
        if let Some(k) = rest.iter().position(|&b| !is_blank(b)) {
            break Some(after.after(&rest[..=k]));
        }
        after = after.after(&rest);
        rest.clear();
        if !fill(r, &mut rest, block).map_err(read_error)? && rest.is_empty() {
            break None;
        }
    };
    let run = (!s.headless).then_some(buf);
    if let Some(at) = trailing {
        // serde_json reads the array before what follows it.
        if let Some(run) = &run
            && let Some(e) = check(run, origin)
        {
            return Err(ReadError::NotJson(e));
        }
        let e = decode::unreadable_at("trailing characters", at, false);
        return Err(ReadError::NotJson(e));
    }
    match run {
        Some(data) if s.in_run > 0 => {
            let n = data.len() as u64;
            emit(
                WorkKind::Elements {
                    data,
                    first_index,
                    count: s.started - first_index,
                    origin,
                },
                n,
            )
        }
        _ => Ok(()),
    }
}

/// What serde_json says of `run` (which starts at `origin`), read as a whole
/// document, if it finds it unreadable.
fn check(run: &[u8], origin: TextPos) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(run);
    let e = match serde::de::Deserializer::deserialize_any(&mut de, serde::de::IgnoredAny) {
        Ok(_) => de.end().err()?,
        Err(e) => e,
    };
    Some(decode::unreadable(&e, origin))
}

/// The message for a fault at `i` in `buf`: serde_json's, as it finds the
/// first fault of the run (maybe before `i`), else the cutter's own.
fn fault_at(buf: &[u8], i: usize, fault: Fault, s: &Scanner, origin: TextPos) -> ReadError {
    let own = || decode::unreadable_at(fault.what(), origin.after(&buf[..=i]), false);
    ReadError::NotJson(if s.headless {
        own()
    } else {
        check(&buf[..=i], origin).unwrap_or_else(own)
    })
}

/// The message for a file that ends inside its array.
fn cut_off(buf: &[u8], s: &Scanner, origin: TextPos) -> ReadError {
    let own = |what: &str| decode::unreadable_at(what, origin.after(buf), true);
    ReadError::NotJson(match s.top {
        Top::After if s.headless => own("EOF while parsing a list"),
        // A comma after a skipped element, and nothing after it.
        Top::Expect(Some(_)) if s.in_run == 0 => own("EOF while parsing a value"),
        _ => check(buf, origin).unwrap_or_else(|| own("EOF while parsing a list")),
    })
}

/// The message for a file that ends inside an element being skipped: what
/// it was reading then (serde_json says "a value" where it waits for one
/// after a `:` or a comma; the cutter does not tell those places apart).
fn element_cut_off(s: &Scanner, at: TextPos) -> String {
    let what = if s.in_str {
        "EOF while parsing a string"
    } else if s.open.last() == Some(&true) {
        "EOF while parsing an object"
    } else {
        "EOF while parsing a list"
    };
    decode::unreadable_at(what, at, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::decode::{FileContext, decode_work};

    /// The units `text` is cut into with blocks of `block` bytes and
    /// records of at most `max_record` bytes, or why it is refused.
    fn units(text: &[u8], block: usize, max_record: usize) -> Result<Vec<WorkKind>, String> {
        let limits = Limits {
            max_record_bytes: max_record,
            ..Limits::default()
        };
        let mut out = Vec::new();
        let head = text.len().min(block);
        let mut r = &text[head..];
        split(
            &mut r,
            text[..head].to_vec(),
            head < text.len(),
            block,
            &limits,
            &mut |w, _| {
                out.push(w);
                Ok(())
            },
        )
        .map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// The elements' texts, as serde_json reads them from an array.
    fn elements(array: &[u8]) -> Vec<String> {
        let v: Vec<&serde_json::value::RawValue> = serde_json::from_slice(array).unwrap();
        v.iter().map(|e| e.get().to_string()).collect()
    }

    /// The elements of every unit, with the index each unit says it has.
    fn indexed(units: &[WorkKind]) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for u in units {
            match u {
                WorkKind::Elements {
                    data,
                    first_index,
                    count,
                    ..
                } => {
                    assert_eq!(elements(data).len() as u64, *count);
                    for (i, e) in elements(data).into_iter().enumerate() {
                        out.push((first_index + i as u64, e));
                    }
                }
                WorkKind::Oversize {
                    location, bytes, ..
                } => out.push((location.index.unwrap(), format!("<{bytes} bytes>"))),
                other => panic!("not from an array: {other:?}"),
            }
        }
        out
    }

    const TRICKY: &str = r#"[
  {"id": "a", "note": "brackets ] [ } { and, commas"},
  "a string with \"escaped quotes\", a ] and a \\",
  [1, [2, [3]], {"x": "]"}],
  -12.5e3, true, false, null,
  {"id": "b\\", "nested": {"deep": [{"k": "\\\"]"}]}},
  {}, [], "", 0
]"#;

    #[test]
    fn cuts_between_elements_whatever_they_hold() {
        let whole = elements(TRICKY.as_bytes());
        for block in 1..TRICKY.len() + 2 {
            let units = units(TRICKY.as_bytes(), block, 1 << 20).unwrap();
            let got = indexed(&units);
            let want: Vec<(u64, String)> = (0..).zip(whole.iter().cloned()).collect();
            assert_eq!(got, want, "block {block}");
            if block == 1 {
                assert_eq!(units.len(), whole.len(), "one element per unit");
            }
        }
    }

    #[test]
    fn runs_are_about_a_block() {
        let mut text = String::from("[");
        for i in 0..10_000 {
            if i > 0 {
                text.push_str(",\n  ");
            }
            text.push_str(&format!("{{\"id\":\"op-{i}\",\"status\":\"queued\"}}"));
        }
        text.push_str("\n]\n");
        let units = units(text.as_bytes(), 4096, 1 << 20).unwrap();
        assert!(units.len() > 50, "{}", units.len());
        for u in &units[..units.len() - 1] {
            let WorkKind::Elements { data, .. } = u else {
                panic!("{u:?}")
            };
            assert!((4000..=4096).contains(&data.len()), "{}", data.len());
        }
        assert_eq!(indexed(&units).len(), 10_000);
    }

    /// Each run knows where it starts: its `origin` is the place of its
    /// first byte (the comma its `[` replaced) in the document.
    #[test]
    fn each_run_knows_where_it_starts() {
        let text = TRICKY.as_bytes();
        for u in units(text, 16, 1 << 20).unwrap() {
            let WorkKind::Elements { data, origin, .. } = u else {
                panic!()
            };
            let before = (0..text.len())
                .filter(|&p| origin == TextPos::START.after(&text[..p]))
                .collect::<Vec<_>>();
            assert_eq!(before.len(), 1, "{origin:?}");
            let p = before[0];
            assert_eq!(&text[p + 1..p + data.len() - 1], &data[1..data.len() - 1]);
            assert!(p == 0 || text[p] == b',', "{}", text[p] as char);
        }
    }

    /// What decoding the whole document says of `text`, and what cutting
    /// and decoding it unit by unit says: the first error in file order.
    fn whole_and_cut(text: &[u8], block: usize) -> (Result<(), String>, Result<(), String>) {
        let ctx = FileContext {
            name: "x.json".into(),
            path_device: None,
            max_record_bytes: 1 << 20,
        };
        let whole = decode_work(
            &WorkKind::Document {
                data: text.to_vec(),
            },
            &ctx,
            0,
        )
        .map(drop);
        let limits = Limits::default();
        let mut units = Vec::new();
        let head = text.len().min(block);
        let mut r = &text[head..];
        let read = split(
            &mut r,
            text[..head].to_vec(),
            head < text.len(),
            block,
            &limits,
            &mut |w, _| {
                units.push(w);
                Ok(())
            },
        );
        let mut cut = read.map_err(|e| e.to_string());
        for u in &units {
            if let Err(e) = decode_work(u, &ctx, 0) {
                cut = Err(e);
                break;
            }
        }
        (whole, cut)
    }

    #[test]
    fn a_malformed_array_is_refused_with_the_message_of_the_whole() {
        let bad: &[&str] = &[
            "[1,2",
            "[1,2,",
            "[1,2,]",
            "[1,,2]",
            "[,1]",
            "[1 2]",
            "[1}",
            "[{\"a\":1]",
            "[{\"a\":[1}]",
            "[\"abc",
            "[\"abc\\",
            "[{\"a\": \"x}, {\"a\": \"y\"}, 3]",
            "[1, 2] x",
            "[1, 2]\n\n  ]",
            "[1, 2]]",
            "[{\"a\" 1}, 2, 3]",
            "[1, tru, 3]",
            "[1, \"\\x\", 3]",
            "[1, 2\n, {\n\"a\":\n}]",
            "[\n  {\"id\": 1},\n  {\"id\": 2},\n  {\"id\": 3\n",
        ];
        let blanks = " \n  \t\r\n ".repeat(20);
        let spaces = " ".repeat(150);
        let mut bad: Vec<String> = bad.iter().map(|t| t.to_string()).collect();
        for b in [&blanks, &spaces] {
            bad.extend([
                format!("[1,{b}]"),
                format!("[{b}1{b},{b}]"),
                format!("[1{b}x]"),
                format!("[{b}"),
                format!("[1,{b}"),
                format!("[1{b}"),
                format!("[1,{b}{{\"a\" 1}}]"),
                format!("[1,{b}{{\"a\":\n 1\n{b}]"),
                format!("[1,{b}2]{b}x"),
                format!("[{b},1]"),
            ]);
        }
        for text in &bad {
            for block in 1..text.len() + 2 {
                let (whole, cut) = whole_and_cut(text.as_bytes(), block);
                assert!(whole.is_err(), "{text}");
                assert_eq!(cut, whole, "{text:?} in blocks of {block}");
            }
        }
    }

    /// Blanks between elements do not pile up in the buffer: they are
    /// dropped, the places after them still named as in the file.
    #[test]
    fn long_blanks_between_elements_are_dropped() {
        let blanks = " \n  \t\r\n ".repeat(100);
        let spaces = " ".repeat(700);
        for b in [&blanks, &spaces] {
            let text = format!("{b}[{b}1{b},{b}\"two\"{b},{{\"id\": \"3\"}},{b}[4]{b}]{b}");
            let whole = elements(text.as_bytes());
            for block in [16, 64, 200] {
                let units = units(text.as_bytes(), block, 1 << 20).unwrap();
                let want: Vec<(u64, String)> = (0..).zip(whole.iter().cloned()).collect();
                assert_eq!(indexed(&units), want, "block {block}");
                for u in &units {
                    let WorkKind::Elements { data, .. } = u else {
                        panic!("{u:?}")
                    };
                    assert!(data.len() <= 2 * block + 20, "{} bytes", data.len());
                }
            }
        }
    }

    #[test]
    fn an_element_over_the_record_limit_is_skipped_while_reading() {
        let big = format!("{{\"id\":\"big\",\"x\":\"{}\"}}", "]".repeat(5000));
        let text = format!("[{{\"id\":\"a\"}},\n {big} , {{\"id\":\"b\"}}]");
        let cut = units(text.as_bytes(), 64, 1000).unwrap();
        let got = indexed(&cut);
        assert_eq!(
            got,
            vec![
                (0, "{\"id\":\"a\"}".to_string()),
                (1, format!("<{} bytes>", big.len())),
                (2, "{\"id\":\"b\"}".to_string()),
            ]
        );
        let WorkKind::Oversize { head, .. } = &cut[1] else {
            panic!()
        };
        assert_eq!(head, &big.as_bytes()[..HEAD]);
        // First, last, alone, a string, a number.
        for text in [
            format!("[{big}, 1]"),
            format!("[1, {big}]"),
            format!("[{big}]"),
            format!("[\"{}\" ,2]", "x".repeat(3000)),
            format!("[{} ,2]", "1".repeat(3000)),
        ] {
            let got = indexed(&units_ok(&text, 64, 1000));
            assert!(got.iter().any(|(_, e)| e.starts_with('<')), "{text:.40}");
            let n = elements(text.as_bytes()).len();
            assert_eq!(
                got.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
                (0..n as u64).collect::<Vec<_>>()
            );
        }
        // What follows a skipped element is still checked.
        for (text, msg) in [
            (
                format!("[{big},]"),
                "not valid JSON (trailing comma at line 1 column",
            ),
            (
                format!("[{big} x]"),
                "not valid JSON (expected `,` or `]` at line 1 column",
            ),
            (
                format!("[{big},"),
                "the JSON is cut off (EOF while parsing a value at line 1 column",
            ),
            (
                format!("[{big}  "),
                "the JSON is cut off (EOF while parsing a list at line 1 column",
            ),
            (
                format!("[{}", &big[..4000]),
                "the JSON is cut off (EOF while parsing a string at line 1 column",
            ),
        ] {
            let e = units(text.as_bytes(), 64, 1000).unwrap_err();
            assert!(e.starts_with(msg), "{e}");
        }
    }

    fn units_ok(text: &str, block: usize, max_record: usize) -> Vec<WorkKind> {
        units(text.as_bytes(), block, max_record).unwrap()
    }
}
