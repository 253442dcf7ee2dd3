//! Envelopes: where the operations stand in a file (README "Input").
//!
//! Every shape is read here, once: NDJSON lines (an operation, or a whole
//! page, per line), documents that are an array of operations, a Graph list
//! page (`value: [...]`), a single entity (`value: {...}` or a bare object)
//! or a `$batch` response (`responses: [...]`, whose bodies are any of
//! these). Shapes are told apart by content, and every record gets its
//! [`Location`] for its reject.
//!
//! A list page is first read in one pass (`list_page`: the scanner, else
//! serde, both by the rules of `PageParts`), all its operations at once;
//! any doubt, or any record to reject, sends the document down the general
//! path (`expand`), which keeps each record's text and place.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::fallback::{self, Decoded};
use super::fields::{RawOp, ReadInto, Reader, Text, key_is};
use super::{Sink, device, scanner};

/// Where a record stands in its file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line of an NDJSON record.
    pub line: Option<u64>,
    /// 0-based position in its JSON array (`value`, or the top-level array).
    pub index: Option<u64>,
    /// 0-based position of the `$batch` response holding it.
    pub response: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(l) = self.line {
            write!(f, "line {l}")?;
            sep = ", ";
        }
        if let Some(r) = self.response {
            write!(f, "{sep}response {r}")?;
            sep = ", ";
        }
        if let Some(i) = self.index {
            write!(f, "{sep}index {i}")?;
        }
        Ok(())
    }
}

impl Sink<'_, '_> {
    /// Decodes a run of complete NDJSON lines, the first numbered
    /// `first_line`; blank lines are not records.
    pub(super) fn lines(&mut self, data: &[u8], first_line: u64) {
        let hint = self.ctx.path_device.clone();
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', data).chain(std::iter::once(data.len()));
        for (n, end) in (first_line..).zip(ends) {
            let line = &data[start..end];
            start = end + 1;
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let loc = Location {
                line: Some(n),
                ..Location::default()
            };
            self.record(line, loc, hint.as_deref(), true);
        }
    }

    /// Decodes a run of elements of a large top-level array, given as an
    /// array of their own (`[`, the elements, `]`) whose first element is
    /// `first_index` in the file's: read exactly as [`Self::document`] reads
    /// the whole array, each reject given its index there.
    pub(super) fn elements(
        &mut self,
        data: &[u8],
        first_index: u64,
    ) -> Result<(), serde_json::Error> {
        let hint = self.ctx.path_device.clone();
        let from = self.out.rejects.len();
        self.document(data, Location::default(), hint.as_deref())?;
        for r in &mut self.out.rejects[from..] {
            r.location.index = r.location.index.map(|i| i + first_index);
        }
        Ok(())
    }

    /// Expands a document into its records; `Err` when it is not valid JSON
    /// (then nothing was appended: the whole document is parsed before any
    /// record is).
    pub(super) fn document(
        &mut self,
        data: &[u8],
        base: Location,
        hint: Option<&str>,
    ) -> Result<(), serde_json::Error> {
        if data.len() <= self.ctx.max_record_bytes
            && let Ok(text) = std::str::from_utf8(data)
            && list_page(text, &mut |ops, page_hint| {
                self.append_all(ops, page_hint.or(hint))
            })
        {
            return Ok(());
        }
        let mut groups = Vec::new();
        expand(
            data,
            base,
            hint.map(Cow::Borrowed),
            &mut groups,
            &mut self.out.notes,
            0,
        )?;
        for g in groups {
            for (raw, loc) in g.items {
                self.record(raw, loc, g.hint.as_deref(), false);
            }
        }
        Ok(())
    }
}

/// What a property of a document's top-level object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TopKey {
    /// The list of a page, or a single entity.
    Value,
    Context,
    NextLink,
    /// An operation's own id: the object is a bare operation.
    Id,
    /// A `$batch` response's list.
    Responses,
    /// The requests a `$batch` export may keep beside its responses.
    Requests,
    Other,
}

/// Classifies a top-level property name (case and `_` ignored).
pub(crate) fn top_key(name: &str) -> TopKey {
    if key_is(name, "value") {
        TopKey::Value
    } else if key_is(name, "@odata.context") {
        TopKey::Context
    } else if key_is(name, "@odata.nextlink") {
        TopKey::NextLink
    } else if key_is(name, "id") {
        TopKey::Id
    } else if key_is(name, "responses") {
        TopKey::Responses
    } else if key_is(name, "requests") {
        TopKey::Requests
    } else {
        TopKey::Other
    }
}

/// A reader's way of saying a document is not the shape it was asked for.
pub(crate) trait Decline: Reader {
    fn decline(&mut self) -> Self::Out;
}

/// A list page (`{"value": [...]}`) as either reader reads it: what makes
/// one is written here once. The first `value` is the list (an array, else
/// no page), the first `@odata.context` and `@odata.nextLink` name its
/// device; an `id` (a single entity) or `responses` (a `$batch`) means no
/// list page, found without reading further.
pub(crate) struct PageParts<'a, E> {
    ops: Option<Vec<E>>,
    context: Option<Text<'a>>,
    next_link: Option<Text<'a>>,
}

impl<E> Default for PageParts<'_, E> {
    fn default() -> Self {
        PageParts {
            ops: None,
            context: None,
            next_link: None,
        }
    }
}

impl<'a, E> PageParts<'a, E> {
    /// Reads the top-level property `name`, the reader at its value.
    pub(crate) fn read<R>(&mut self, name: &str, r: &mut R) -> R::Out
    where
        R: Decline + ReadInto<Vec<E>> + ReadInto<Text<'a>>,
    {
        match top_key(name) {
            TopKey::Value if self.ops.is_none() => r.read_into(self.ops.insert(Vec::new())),
            TopKey::Context if self.context.is_none() => {
                r.read_into(self.context.insert(Text::Absent))
            }
            TopKey::NextLink if self.next_link.is_none() => {
                r.read_into(self.next_link.insert(Text::Absent))
            }
            TopKey::Id | TopKey::Responses => r.decline(),
            _ => r.skip(),
        }
    }

    /// The page, once every property is read; `None` without a list.
    pub(crate) fn finish(self) -> Option<Page<'a, E>> {
        fn text(t: Option<Text<'_>>) -> Option<Cow<'_, str>> {
            match t {
                Some(Text::Str(s)) => Some(s),
                _ => None,
            }
        }
        Some(Page {
            ops: self.ops?,
            context: text(self.context),
            next_link: text(self.next_link),
        })
    }
}

/// A list page or a top-level array: its elements and the URLs that may name
/// their device.
#[derive(Debug)]
pub struct Page<'a, E> {
    /// The elements, in file order.
    pub ops: Vec<E>,
    /// The page's `@odata.context`.
    pub context: Option<Cow<'a, str>>,
    /// The page's `@odata.nextLink`.
    pub next_link: Option<Cow<'a, str>>,
}

impl<'a, E> Page<'a, E> {
    /// A top-level array (no URLs).
    pub(crate) fn list(ops: Vec<E>) -> Self {
        Page {
            ops,
            context: None,
            next_link: None,
        }
    }

    /// The device the page is about (README "Input": the page's URL).
    pub fn device(&self) -> Option<Cow<'_, str>> {
        device::of_page(self.context.as_deref(), self.next_link.as_deref())
    }
}

/// The operations of `text` when it is a list page or an array of them,
/// read in one pass: by the scanner, else by serde. `false` for any other
/// shape or any doubt (malformed, not a list, a bare operation, `$batch`, an
/// element that is not an object), which the general path then handles with
/// exact locations and messages; else what `each` says of the operations
/// and the page's device.
fn list_page<'a>(text: &'a str, each: &mut dyn FnMut(&[&RawOp<'a>], Option<&str>) -> bool) -> bool {
    if let Some(page) = scanner::page(text) {
        let ops: Vec<&RawOp<'_>> = page.ops.iter().collect();
        return each(&ops, page.device().as_deref());
    }
    let Some(page) = fallback::page(text) else {
        return false;
    };
    let mut ops = Vec::with_capacity(page.ops.len());
    for e in &page.ops {
        match e {
            Decoded::Object(op) => ops.push(&**op),
            Decoded::NotObject(_) => return false,
        }
    }
    each(&ops, page.device().as_deref())
}

/// Records that share a device hint.
struct Group<'a> {
    hint: Option<Cow<'a, str>>,
    items: Vec<(&'a [u8], Location)>,
}

/// The top-level value of a document, one level deep.
enum Top<'a> {
    Array(Vec<&'a RawValue>),
    Object(Vec<(String, &'a RawValue)>),
    Scalar,
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut v = Vec::new();
        while let Some(e) = seq.next_element::<&'de RawValue>()? {
            v.push(e);
        }
        Ok(Top::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            v.push((k, map.next_value::<&'de RawValue>()?));
        }
        Ok(Top::Object(v))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Top::Scalar)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Top::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Top::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Top::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Top::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Top::Scalar)
    }
}

fn parse_top(data: &[u8]) -> Result<Top<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(data);
    let top = de.deserialize_any(TopVisitor)?;
    de.end()?;
    Ok(top)
}

/// The first property of a top-level object that is `key`.
fn top<'a>(obj: &[(String, &'a RawValue)], key: TopKey) -> Option<&'a RawValue> {
    obj.iter().find(|(k, _)| top_key(k) == key).map(|(_, v)| *v)
}

/// The first property of a `$batch` response or request named `name`.
fn get<'a>(obj: &[(String, &'a RawValue)], name: &str) -> Option<&'a RawValue> {
    obj.iter().find(|(k, _)| key_is(k, name)).map(|(_, v)| *v)
}

/// A property's value when it is a string.
fn as_str(v: Option<&RawValue>) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Cow<'_, str>>(v?.get()).ok()
}

/// `$batch` bodies are expanded this many levels deep at most (Graph never
/// nests a `$batch` in a response body; hostile input could, thousands deep).
const MAX_BATCH_DEPTH: usize = 2;

/// The general path: every shape of document, each record kept as its text
/// with its location, in groups that share a device hint. Pages are read
/// here too when the one-pass read declined them or one of their records is
/// to be rejected: in this path the first `value` list is a page even
/// beside a `responses` list, and a `value` object is a single entity.
fn expand<'a>(
    data: &'a [u8],
    base: Location,
    hint: Option<Cow<'a, str>>,
    groups: &mut Vec<Group<'a>>,
    notes: &mut Vec<String>,
    depth: usize,
) -> Result<(), serde_json::Error> {
    match parse_top(data)? {
        Top::Array(items) => {
            let items = items
                .into_iter()
                .enumerate()
                .map(|(i, raw)| {
                    (
                        raw.get().as_bytes(),
                        Location {
                            index: Some(i as u64),
                            ..base
                        },
                    )
                })
                .collect();
            groups.push(Group { hint, items });
        }
        Top::Scalar => groups.push(Group {
            hint,
            items: vec![(data, base)],
        }),
        Top::Object(obj) => {
            let page_hint = || {
                let context = as_str(top(&obj, TopKey::Context));
                let next_link = as_str(top(&obj, TopKey::NextLink));
                device::of_page(context.as_deref(), next_link.as_deref())
                    .map(|d| Cow::Owned(d.into_owned()))
            };
            let has_id = top(&obj, TopKey::Id).is_some();
            if let Some(value) = top(&obj, TopKey::Value).filter(|_| !has_id) {
                let text = value.get().as_bytes();
                match text.first() {
                    Some(b'[') => {
                        let h = page_hint().or(hint);
                        let elems: Vec<&'a RawValue> = serde_json::from_str(value.get())?;
                        let items = elems
                            .into_iter()
                            .enumerate()
                            .map(|(i, raw)| {
                                (
                                    raw.get().as_bytes(),
                                    Location {
                                        index: Some(i as u64),
                                        ..base
                                    },
                                )
                            })
                            .collect();
                        groups.push(Group { hint: h, items });
                        return Ok(());
                    }
                    Some(b'{') => {
                        let h = page_hint().or(hint);
                        groups.push(Group {
                            hint: h,
                            items: vec![(text, base)],
                        });
                        return Ok(());
                    }
                    Some(b'n') => return Ok(()), // "value": null — an empty response
                    _ => {}
                }
            }
            if let Some(responses) = top(&obj, TopKey::Responses).filter(|_| !has_id) {
                if depth >= MAX_BATCH_DEPTH {
                    notes.push("a $batch response nested in another's body, skipped".into());
                    return Ok(());
                }
                let responses: Vec<&'a RawValue> = serde_json::from_str(responses.get())?;
                // Request URLs, when the export kept the requests beside the responses.
                let mut urls: Vec<(String, String)> = Vec::new();
                if let Some(reqs) = top(&obj, TopKey::Requests)
                    && let Ok(reqs) = serde_json::from_str::<Vec<&RawValue>>(reqs.get())
                {
                    for r in reqs {
                        if let Top::Object(r) = parse_top(r.get().as_bytes())?
                            && let (Some(id), Some(url)) =
                                (as_str(get(&r, "id")), as_str(get(&r, "url")))
                        {
                            urls.push((id.into_owned(), url.into_owned()));
                        }
                    }
                }
                for (i, resp) in responses.into_iter().enumerate() {
                    let loc = Location {
                        response: Some(i as u64),
                        ..base
                    };
                    let Top::Object(r) = parse_top(resp.get().as_bytes())? else {
                        notes.push(format!("response {i}: not an object, skipped"));
                        continue;
                    };
                    if let Some(status) = get(&r, "status")
                        && let Ok(code) = serde_json::from_str::<u64>(status.get())
                        && !(200..300).contains(&code)
                    {
                        notes.push(format!("response {i}: HTTP status {code}, skipped"));
                        continue;
                    }
                    let id = as_str(get(&r, "id"));
                    let h = device::of_response(id.as_deref(), &urls)
                        .map(Cow::Owned)
                        .or_else(|| hint.clone());
                    match get(&r, "body") {
                        Some(body) if body.get().starts_with('{') => {
                            expand(body.get().as_bytes(), loc, h, groups, notes, depth + 1)?;
                        }
                        _ => notes.push(format!("response {i}: no body, skipped")),
                    }
                }
                return Ok(());
            }
            // A bare operation (or something that will be rejected as one).
            let h = page_hint().or(hint);
            groups.push(Group {
                hint: h,
                items: vec![(data, base)],
            });
        }
    }
    Ok(())
}

/// True when `data` reads better as NDJSON than as one (broken) document:
/// it does not open an array, and some line after the first is a complete
/// JSON value on its own (so only the first line is broken).
pub(super) fn looks_like_ndjson(data: &[u8]) -> bool {
    if data.trim_ascii_start().first() == Some(&b'[') {
        return false;
    }
    data.split(|&b| b == b'\n')
        .skip(1)
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty())
        .take(16)
        .any(|l| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok())
}
