//! A hand-written reader for the JSON that fleetops reads millions of times:
//! one operation object, and a Graph list page (or array) of them.
//!
//! Decoding is most of an ingest's work, and a general JSON library pays for
//! generality on every property (a visitor call per key and value, key
//! folding before the common camelCase spellings are tried). This reader
//! walks the bytes once and fills the same [`RawOp`] the serde path fills,
//! taking from the [`fields`](super::fields) tables which property is which
//! and the order Graph writes them in.
//!
//! It is a strict subset of that path: whenever it is not certain to decide
//! exactly as serde_json would (a number where text is read, an escape in a
//! property name, a lone surrogate, deep nesting, any malformed JSON), it
//! returns `None` and the caller decodes the record with serde_json, which
//! also gives malformed records their exact error message. Wherever it
//! returns a value, that value equals the serde path's (checked by
//! `tests/scan_props.rs` and the `scan` fuzz target).

use std::borrow::Cow;

use super::envelope::{Decline, Page, PageParts};
use super::fields::{
    Fields, Present, RawError, RawIdentity, RawIdentitySet, RawOp, ReadInto, Reader, Text,
};

/// Nesting deeper than this is left to serde_json (which has its own limit).
const MAX_DEPTH: u32 = 64;

/// Where the reader stands in a text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

/// The first byte at or after `i` that ends a plain run of string bytes: a
/// quote, a backslash or a control character (which JSON forbids in strings).
#[inline]
fn find_special(b: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Eight bytes at a time: a byte is flagged when it equals `"` or `\`, or
    // is below 0x20. The lowest flag is exact (borrows only run upwards).
    while i + 8 <= b.len() {
        let w = u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        let flags = (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let flags = flags & HIGHS;
        if flags != 0 {
            return Some(i + (flags.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\\' || c < 0x20 {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn hex4(b: &[u8]) -> Option<u16> {
    let mut v = 0u16;
    for &c in b.get(..4)? {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = (v << 4) | u16::from(d);
    }
    Some(v)
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            text,
            pos: 0,
            depth: 0,
        }
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips JSON whitespace and returns the next byte.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let b = self.bytes();
        while let Some(&c) = b.get(self.pos) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(c);
            }
            self.pos += 1;
        }
        None
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.pos += 1)
    }

    /// A property name without escapes (`pos` at its quote).
    #[inline]
    fn key(&mut self) -> Option<&'a str> {
        let start = self.pos + 1;
        let end = find_special(self.bytes(), start)?;
        if self.bytes()[end] != b'"' {
            return None;
        }
        self.pos = end + 1;
        Some(&self.text[start..end])
    }

    /// A string value, unescaped (`pos` at its quote).
    #[inline]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let b = self.bytes();
        let start = self.pos + 1;
        let end = find_special(b, start)?;
        match b[end] {
            b'"' => {
                self.pos = end + 1;
                Some(Cow::Borrowed(&self.text[start..end]))
            }
            b'\\' => {
                let mut out = String::with_capacity(end - start + 16);
                out.push_str(&self.text[start..end]);
                self.pos = end;
                self.escaped(&mut out)?;
                Some(Cow::Owned(out))
            }
            _ => None,
        }
    }

    /// The rest of a string from an escape on, appended to `out`.
    fn escaped(&mut self, out: &mut String) -> Option<()> {
        let b = self.bytes();
        let mut i = self.pos;
        loop {
            match *b.get(i)? {
                b'"' => {
                    self.pos = i + 1;
                    return Some(());
                }
                b'\\' => {
                    let (c, len) = self.escape(i)?;
                    out.push(c);
                    i += len;
                }
                c if c < 0x20 => return None,
                _ => {
                    let end = find_special(b, i)?;
                    out.push_str(&self.text[i..end]);
                    i = end;
                }
            }
        }
    }

    /// The escape at `i` (a backslash): its character and length. Lone
    /// surrogates are left to serde_json.
    fn escape(&self, i: usize) -> Option<(char, usize)> {
        let b = self.bytes();
        let c = match *b.get(i + 1)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(b.get(i + 2..)?)?;
                return match hi {
                    0xD800..=0xDBFF => {
                        if b.get(i + 6..i + 8)? != b"\\u" {
                            return None;
                        }
                        let lo = hex4(b.get(i + 8..)?)?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return None;
                        }
                        let cp =
                            0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00);
                        Some((char::from_u32(cp)?, 12))
                    }
                    0xDC00..=0xDFFF => None,
                    _ => Some((char::from_u32(u32::from(hi))?, 6)),
                };
            }
            _ => return None,
        };
        Some((c, 2))
    }

    /// Skips a string, checking its escapes.
    fn skip_string(&mut self) -> Option<()> {
        let b = self.bytes();
        let mut i = self.pos + 1;
        loop {
            let end = find_special(b, i)?;
            match b[end] {
                b'"' => {
                    self.pos = end + 1;
                    return Some(());
                }
                b'\\' => i = end + self.escape(end)?.1,
                _ => return None,
            }
        }
    }

    /// Skips a number, checking JSON's grammar for it.
    fn skip_number(&mut self) -> Option<()> {
        let b = self.bytes();
        let mut i = self.pos;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let from = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        match b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                digits(&mut i);
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        self.pos = i;
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.bytes().get(self.pos..self.pos + word.len())? == word {
            self.pos += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Walks an object (`pos` at `{`), calling `each` with every property
    /// name and the cursor at its value; `each` must consume the value.
    ///
    /// The same walk as [`Cursor::object_keyed`] without expected names.
    /// Written as `object_keyed(&[], |k| k, each)` it made the NDJSON ingest
    /// 3–4% slower (two rounds of alternating runs): it is inlined into
    /// `skip_value`, which runs for every skipped property.
    #[inline]
    fn object(&mut self, mut each: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        if self.peek()? == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let k = self.key()?;
            self.expect(b':')?;
            self.peek()?;
            each(self, k)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// [`Cursor::object`] for an object whose property names usually come
    /// in a known order (Graph writes them so): where the next bytes are
    /// the expected `"name":`, the name is taken as it is, without scanning
    /// or matching it. Any other name is read; one in `known` is taken from
    /// there (and the expectation moves on from it), others are
    /// `classify`d. `known` must classify as `classify` does (the tables'
    /// lists are built so).
    #[inline]
    fn object_keyed<K: Copy>(
        &mut self,
        known: &[(&[u8], K)],
        classify: impl Fn(&'a str) -> K,
        mut each: impl FnMut(&mut Self, K) -> Option<()>,
    ) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        if self.peek()? == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Some(());
        }
        let mut next = 0;
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let key = match known.get(next) {
                Some(&(pattern, k)) if self.bytes()[self.pos..].starts_with(pattern) => {
                    self.pos += pattern.len();
                    next += 1;
                    k
                }
                _ => {
                    let name = self.key()?;
                    self.expect(b':')?;
                    match known.iter().position(|(p, _)| {
                        p.len() == name.len() + 3 && &p[1..p.len() - 2] == name.as_bytes()
                    }) {
                        // Out of order but known: what it is was worked
                        // out with the list.
                        Some(i) => {
                            next = i + 1;
                            known[i].1
                        }
                        None => classify(name),
                    }
                }
            };
            self.peek()?;
            each(self, key)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Walks an array (`pos` at `[`), calling `each` with the cursor at
    /// every element; `each` must consume it.
    fn array(&mut self, mut each: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        if self.peek()? == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            self.peek()?;
            each(self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Skips any value (`pos` at its first byte).
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => self.object(|c, _| c.skip_value()),
            b'[' => self.array(Self::skip_value),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => None,
        }
    }

    /// A value read as text ([`Text`]); numbers are left to serde_json,
    /// whose formatting of them this reader does not repeat.
    fn text(&mut self) -> Option<Text<'a>> {
        Some(match self.peek()? {
            b'"' => Text::Str(self.string()?),
            b'n' => {
                self.literal(b"null")?;
                Text::Null
            }
            b't' => {
                self.literal(b"true")?;
                Text::Str(Cow::Borrowed("true"))
            }
            b'f' => {
                self.literal(b"false")?;
                Text::Str(Cow::Borrowed("false"))
            }
            b'{' => {
                self.object(|c, _| c.skip_value())?;
                Text::Other("an object")
            }
            b'[' => {
                self.array(Self::skip_value)?;
                Text::Other("an array")
            }
            _ => return None,
        })
    }

    /// A value read leniently as an object into `out`: `None` for anything
    /// else (strings fully decoded, as serde_json does there). Filled in
    /// place: the structs are large, and moving them per record shows.
    fn lenient<T: Default>(
        &mut self,
        out: &mut Option<T>,
        fill: impl FnOnce(&mut Self, &mut T) -> Option<()>,
    ) -> Option<()> {
        match self.peek()? {
            b'{' => return fill(self, out.insert(T::default())),
            b'[' => self.array(Self::skip_value)?,
            b'"' => drop(self.string()?),
            b'n' => self.literal(b"null")?,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            _ => return None,
        }
        *out = None;
        Some(())
    }

    /// An object read by its table (`pos` at `{`) into `out`, which
    /// starts empty.
    fn fields<T: Fields<'a>>(&mut self, out: &mut T) -> Option<()> {
        self.object_keyed(T::GRAPH_ORDER, T::key, |c, key| out.read(key, c))
    }

    /// An error object: few members, in no order worth expecting.
    fn error(&mut self, out: &mut RawError<'a>) -> Option<()> {
        self.object(|c, k| out.read(RawError::key(k), c))
    }

    /// An operation object (`pos` at `{`) into `op`, which starts empty.
    fn op(&mut self, op: &mut RawOp<'a>) -> Option<()> {
        self.fields(op)
    }

    /// Only whitespace is left.
    fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }
}

/// Reads `text` as one operation object into `op` (which must be empty);
/// false when it is anything else or the serde path must decide (`op` is
/// then in an unspecified state).
pub fn op_into<'a>(text: &'a str, op: &mut RawOp<'a>) -> bool {
    let mut c = Cursor::new(text);
    c.peek() == Some(b'{') && c.op(op).is_some() && c.at_end()
}

/// [`op_into`], returning the operation.
pub fn op_document(text: &str) -> Option<RawOp<'_>> {
    let mut op = RawOp::default();
    op_into(text, &mut op).then_some(op)
}

fn op_elems<'a>(c: &mut Cursor<'a>, ops: &mut Vec<RawOp<'a>>) -> Option<()> {
    // About one operation per 600 bytes: room without moving them as it grows.
    ops.reserve(c.text.len() / 512 + 1);
    c.array(|c| {
        if c.peek()? != b'{' {
            return None;
        }
        ops.push(RawOp::default());
        c.op(ops.last_mut().expect("pushed"))
    })
}

/// Reads `text` as a list page (`{"value": [...]}`, by the rules of
/// `PageParts` in [`super::envelope`]) or an array whose elements are all
/// objects; `None` for anything else, including a bare operation or a
/// `$batch` response.
pub fn page(text: &str) -> Option<Page<'_, RawOp<'_>>> {
    let mut c = Cursor::new(text);
    let page = match c.peek()? {
        b'[' => {
            let mut ops = Vec::new();
            op_elems(&mut c, &mut ops)?;
            Page::list(ops)
        }
        b'{' => {
            let mut parts = PageParts::default();
            c.object(|c, k| parts.read(k, c))?;
            parts.finish()?
        }
        _ => return None,
    };
    c.at_end().then_some(page)
}

impl Reader for Cursor<'_> {
    type Out = Option<()>;
    #[inline]
    fn skip(&mut self) -> Option<()> {
        self.skip_value()
    }
}

impl<'a> ReadInto<Text<'a>> for Cursor<'a> {
    #[inline]
    fn read_into(&mut self, out: &mut Text<'a>) -> Option<()> {
        *out = self.text()?;
        Some(())
    }
}

impl ReadInto<Present> for Cursor<'_> {
    #[inline]
    fn read_into(&mut self, out: &mut Present) -> Option<()> {
        out.0 = true;
        self.skip_value()
    }
}

impl<'a> ReadInto<Option<RawError<'a>>> for Cursor<'a> {
    #[inline]
    fn read_into(&mut self, out: &mut Option<RawError<'a>>) -> Option<()> {
        self.lenient(out, Self::error)
    }
}

impl<'a> ReadInto<Option<RawIdentitySet<'a>>> for Cursor<'a> {
    #[inline]
    fn read_into(&mut self, out: &mut Option<RawIdentitySet<'a>>) -> Option<()> {
        self.lenient(out, Self::fields)
    }
}

impl<'a> ReadInto<Option<RawIdentity<'a>>> for Cursor<'a> {
    #[inline]
    fn read_into(&mut self, out: &mut Option<RawIdentity<'a>>) -> Option<()> {
        self.lenient(out, Self::fields)
    }
}

/// A page's list of operations (`pos` at `[`); any element that is not an
/// object declines the page.
impl<'a> ReadInto<Vec<RawOp<'a>>> for Cursor<'a> {
    fn read_into(&mut self, out: &mut Vec<RawOp<'a>>) -> Option<()> {
        if self.peek()? != b'[' {
            return None;
        }
        op_elems(self, out)
    }
}

impl Decline for Cursor<'_> {
    fn decline(&mut self) -> Option<()> {
        None
    }
}
