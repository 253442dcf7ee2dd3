//! Finding the operations in each input shape (contract §1).
//!
//! A unit of [`Work`] is either a run of complete NDJSON lines or a whole JSON
//! document; [`decode_work`] turns it into one Arrow batch plus rejects. Shapes
//! are told apart by content: a document is an array, a Graph list page
//! (`value: [...]`), a single entity (`value: {...}` or a bare object) or a
//! `$batch` response (`responses: [...]`); an NDJSON line may itself be a page.

use std::borrow::Cow;
use std::fmt;

use arrow::array::RecordBatch;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::batch::OperationsBuilder;
use super::record::{self, Decoded, RawOp, Times, device_from_url, key_is};

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

/// A record that could not be ingested.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub location: Location,
    pub reason: String,
    /// The record's text as it stood in the file (lossy UTF-8, capped).
    pub record: String,
}

/// The largest record text kept in a reject.
pub const MAX_REJECT_TEXT: usize = 1 << 20;

fn raw_text(raw: &[u8]) -> String {
    let cut = raw.len().min(MAX_REJECT_TEXT);
    let mut s = String::from_utf8_lossy(&raw[..cut]).into_owned();
    if cut < raw.len() {
        s.push_str("…[truncated]");
    }
    s
}

/// What a worker decodes.
#[derive(Debug)]
pub enum WorkKind {
    /// Complete NDJSON lines; `first_line` is the 1-based number of the first.
    Lines { data: Vec<u8>, first_line: u64 },
    /// A whole JSON document.
    Document { data: Vec<u8> },
    /// An NDJSON line over the record size limit, skipped while reading:
    /// its first bytes and its length.
    Oversize {
        line: u64,
        head: Vec<u8>,
        bytes: u64,
    },
}

/// A unit of work as the decoder reads it: borrowed, so a worker can decode
/// a file straight from the buffer it read it into.
#[derive(Debug, Clone, Copy)]
pub enum Unit<'a> {
    Lines {
        data: &'a [u8],
        first_line: u64,
    },
    Document {
        data: &'a [u8],
    },
    Oversize {
        line: u64,
        head: &'a [u8],
        bytes: u64,
    },
}

impl WorkKind {
    pub fn unit(&self) -> Unit<'_> {
        match self {
            WorkKind::Lines { data, first_line } => Unit::Lines {
                data,
                first_line: *first_line,
            },
            WorkKind::Document { data } => Unit::Document { data },
            WorkKind::Oversize { line, head, bytes } => Unit::Oversize {
                line: *line,
                head,
                bytes: *bytes,
            },
        }
    }
}

impl Unit<'_> {
    /// Input bytes the unit holds.
    pub fn len(&self) -> usize {
        match self {
            Unit::Lines { data, .. } | Unit::Document { data } => data.len(),
            Unit::Oversize { .. } => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-file facts every record of the file shares.
#[derive(Debug, Clone)]
pub struct FileContext {
    /// The file as named to the user (and stored in `source_file`).
    pub name: String,
    /// Device id from the path (`device_id=<id>/`, `devices/<id>.json`).
    pub path_device: Option<String>,
    /// Records longer than this are rejected unread.
    pub max_record_bytes: usize,
}

/// The result of decoding one unit of work.
#[derive(Debug, Default)]
pub struct DecodeOutput {
    pub batch: Option<RecordBatch>,
    pub rejects: Vec<Reject>,
    pub records: u64,
    pub repaired: u64,
    /// Things worth telling the user that are not records (skipped `$batch` responses).
    pub notes: Vec<String>,
}

struct Sink<'c, 'b> {
    ctx: &'c FileContext,
    builder: &'b mut OperationsBuilder,
    out: DecodeOutput,
}

impl Sink<'_, '_> {
    fn reject(&mut self, location: Location, reason: String, raw: &[u8]) {
        self.out.records += 1;
        self.out.rejects.push(Reject {
            location,
            reason,
            record: raw_text(raw),
        });
    }

    /// Decodes one record; `envelope_ok` lets an NDJSON line be a whole page.
    fn record(&mut self, raw: &[u8], location: Location, hint: Option<&str>, envelope_ok: bool) {
        if raw.len() > self.ctx.max_record_bytes {
            let reason = format!(
                "record is {} bytes, over the limit of {} (--max-record-bytes)",
                raw.len(),
                self.ctx.max_record_bytes
            );
            return self.reject(location, reason, &raw[..4096.min(raw.len())]);
        }
        // The hand-written reader into an operation on the stack first;
        // serde_json for what it leaves.
        if let Ok(text) = std::str::from_utf8(raw) {
            let mut op = RawOp::default();
            if super::scan::op_into(text, &mut op) {
                return self.object(&op, raw, location, hint, envelope_ok);
            }
        }
        match record::parse_serde(raw) {
            Err(e) => self.reject(location, format!("malformed JSON: {e}"), raw),
            Ok(Decoded::NotObject(found)) => {
                self.reject(location, format!("not an object: found {found}"), raw)
            }
            Ok(Decoded::Object(op)) => self.object(&op, raw, location, hint, envelope_ok),
        }
    }

    /// Validates and appends a decoded object (or expands a page on a line).
    fn object(
        &mut self,
        op: &RawOp<'_>,
        raw: &[u8],
        location: Location,
        hint: Option<&str>,
        envelope_ok: bool,
    ) {
        if envelope_ok && op.envelope && op.id == record::Text::Absent {
            // A whole page or $batch response on one line.
            if let Err(e) = self.document(raw, location, hint) {
                self.reject(location, format!("malformed JSON: {e}"), raw);
            }
            return;
        }
        let own = record::own_url_device(op);
        let hint = own.as_deref().or(hint);
        let mut times = Times::default();
        match record::validate(op, hint, &mut times) {
            Ok(row) => {
                self.out.records += 1;
                if times.repaired {
                    self.out.repaired += 1;
                }
                self.builder.append(&row);
            }
            Err(reason) => self.reject(location, reason, raw),
        }
    }

    fn lines(&mut self, data: &[u8], first_line: u64) {
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

    /// Expands a document into its records; `Err` when it is not valid JSON.
    fn document(
        &mut self,
        data: &[u8],
        base: Location,
        hint: Option<&str>,
    ) -> Result<(), serde_json::Error> {
        if data.len() <= self.ctx.max_record_bytes
            && let Ok(text) = std::str::from_utf8(data)
            && fast_page(text, &mut |ops, page_hint| {
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

impl Sink<'_, '_> {
    /// Appends every element when all are valid operations; false (and
    /// nothing appended) otherwise, so the caller can take the slow path that
    /// keeps each record's text for its reject.
    fn append_all(&mut self, ops: &[&RawOp<'_>], hint: Option<&str>) -> bool {
        let owns: Vec<Option<Cow<'_, str>>> =
            ops.iter().map(|op| record::own_url_device(op)).collect();
        let mut rows = Vec::with_capacity(ops.len());
        let mut repaired = 0;
        for (op, own) in ops.iter().zip(&owns) {
            let mut times = Times::default();
            match record::validate(op, own.as_deref().or(hint), &mut times) {
                Ok(row) => rows.push(row),
                Err(_) => return false,
            }
            repaired += u64::from(times.repaired);
        }
        for row in &rows {
            self.builder.append(row);
        }
        self.out.records += rows.len() as u64;
        self.out.repaired += repaired;
        true
    }
}

/// The device a list page is about: from its `@odata.context`, else its
/// `@odata.nextLink` (contract §1).
fn page_device<'a>(context: Option<&'a str>, next_link: Option<&'a str>) -> Option<Cow<'a, str>> {
    context
        .and_then(device_from_url)
        .or_else(|| next_link.and_then(device_from_url))
}

/// A top-level array or a Graph list page (`{"value": [...]}`), its elements
/// decoded in the same pass that reads the document.
#[doc(hidden)]
pub struct FastPage<'a> {
    pub elems: Vec<Decoded<'a>>,
    pub context: Option<Cow<'a, str>>,
    pub next_link: Option<Cow<'a, str>>,
}

/// The operations of `data` when it is a list page or an array of them,
/// read in one pass: by the hand-written reader, else by serde_json. `None`
/// for any other shape or any doubt (malformed, not a list, a bare
/// operation, `$batch`, an element that is not an object), which the general
/// path then handles with exact locations and messages.
fn fast_page<'a>(text: &'a str, each: &mut dyn FnMut(&[&RawOp<'a>], Option<&str>) -> bool) -> bool {
    if let Some(page) = super::scan::page(text) {
        let ops: Vec<&RawOp<'_>> = page.ops.iter().collect();
        let device = page_device(page.context.as_deref(), page.next_link.as_deref());
        return each(&ops, device.as_deref());
    }
    let Some(page) = fast_page_serde(text) else {
        return false;
    };
    let mut ops = Vec::with_capacity(page.elems.len());
    for e in &page.elems {
        match e {
            Decoded::Object(op) => ops.push(&**op),
            Decoded::NotObject(_) => return false,
        }
    }
    let device = page_device(page.context.as_deref(), page.next_link.as_deref());
    each(&ops, device.as_deref())
}

/// A page read by serde_json alone: the reference [`super::scan::page`]
/// must agree with.
#[doc(hidden)]
pub fn fast_page_serde(text: &str) -> Option<FastPage<'_>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let page = de.deserialize_any(FastPageVisitor).ok()?;
    de.end().ok()?;
    Some(page)
}

struct FastPageVisitor;

/// The elements of a JSON array, each decoded as an operation.
struct Elems;

impl<'de> serde::de::DeserializeSeed<'de> for Elems {
    type Value = Vec<Decoded<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(FastPageVisitor)
            .map(|p: FastPage<'de>| p.elems)
    }
}

impl<'de> Visitor<'de> for FastPageVisitor {
    type Value = FastPage<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of operations")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut elems = Vec::with_capacity(seq.size_hint().unwrap_or(64));
        while let Some(e) = seq.next_element_seed(record::OpSeed)? {
            elems.push(e);
        }
        Ok(FastPage {
            elems,
            context: None,
            next_link: None,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let (mut elems, mut context, mut next_link) = (None, None, None);
        while let Some(k) = map.next_key::<Cow<'de, str>>()? {
            if key_is(&k, "value") && elems.is_none() {
                elems = Some(map.next_value_seed(Elems)?);
            } else if key_is(&k, "@odata.context") && context.is_none() {
                context = Some(map.next_value::<record::Text<'de>>()?);
            } else if key_is(&k, "@odata.nextlink") && next_link.is_none() {
                next_link = Some(map.next_value::<record::Text<'de>>()?);
            } else if key_is(&k, "id") || key_is(&k, "responses") {
                return Err(A::Error::custom("not a list page"));
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        let text = |t: Option<record::Text<'de>>| match t {
            Some(record::Text::Str(s)) => Some(s),
            _ => None,
        };
        Ok(FastPage {
            elems: elems.ok_or_else(|| A::Error::custom("not a list page"))?,
            context: text(context),
            next_link: text(next_link),
        })
    }
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

fn get<'a>(obj: &[(String, &'a RawValue)], key: &str) -> Option<&'a RawValue> {
    obj.iter().find(|(k, _)| key_is(k, key)).map(|(_, v)| *v)
}

fn get_str<'a>(obj: &[(String, &'a RawValue)], key: &str) -> Option<Cow<'a, str>> {
    let v = get(obj, key)?;
    serde_json::from_str::<Cow<'a, str>>(v.get()).ok()
}

/// The device id a `$batch` request id names: `<id>-operations`, a Graph
/// URL, or the id itself unless it is a plain number (Graph's examples
/// number their requests).
fn device_from_request_id(id: &str) -> Option<Cow<'_, str>> {
    if let Some(d) = device_from_url(id) {
        return Some(d);
    }
    let lower = id.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix("-operations") {
        return (!stem.is_empty()).then(|| Cow::Borrowed(&id[..stem.len()]));
    }
    if id.is_empty() || id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Cow::Borrowed(id))
}

/// `$batch` bodies are expanded this many levels deep at most (Graph never
/// nests a `$batch` in a response body; hostile input could, thousands deep).
const MAX_BATCH_DEPTH: usize = 2;

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
                let context = get_str(&obj, "@odata.context");
                let next_link = get_str(&obj, "@odata.nextlink");
                page_device(context.as_deref(), next_link.as_deref())
                    .map(|d| Cow::Owned(d.into_owned()))
            };
            let has_id = get(&obj, "id").is_some();
            if let Some(value) = get(&obj, "value").filter(|_| !has_id) {
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
            if let Some(responses) = get(&obj, "responses").filter(|_| !has_id) {
                if depth >= MAX_BATCH_DEPTH {
                    notes.push("a $batch response nested in another's body, skipped".into());
                    return Ok(());
                }
                let responses: Vec<&'a RawValue> = serde_json::from_str(responses.get())?;
                // Request URLs, when the export kept the requests beside the responses.
                let mut urls: Vec<(String, String)> = Vec::new();
                if let Some(reqs) = get(&obj, "requests")
                    && let Ok(reqs) = serde_json::from_str::<Vec<&RawValue>>(reqs.get())
                {
                    for r in reqs {
                        if let Top::Object(r) = parse_top(r.get().as_bytes())?
                            && let (Some(id), Some(url)) = (get_str(&r, "id"), get_str(&r, "url"))
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
                    let id = get_str(&r, "id");
                    let from_url = id.as_deref().and_then(|id| {
                        urls.iter()
                            .find(|(rid, _)| rid == id)
                            .and_then(|(_, url)| device_from_url(url).map(|d| d.into_owned()))
                    });
                    let from_id = id
                        .as_deref()
                        .and_then(device_from_request_id)
                        .map(|d| d.into_owned());
                    let h = from_id
                        .or(from_url)
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
fn looks_like_ndjson(data: &[u8]) -> bool {
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

/// Decodes one unit of work. `Err` means the whole file is unreadable
/// (not JSON, or cut off): the message says where.
pub fn decode_work(
    work: &WorkKind,
    ctx: &FileContext,
    ingested_at: i64,
) -> Result<DecodeOutput, String> {
    let unit = work.unit();
    let mut builder = OperationsBuilder::with_capacity(row_estimate(unit.len()));
    let mut out = decode_into(unit, ctx, &mut builder)?;
    if !builder.is_empty() {
        let n = builder.len();
        out.batch = Some(builder.finish(&[(&ctx.name, n)], ingested_at));
    }
    Ok(out)
}

/// Units of work decoded together into one batch.
#[derive(Debug, Default)]
pub struct UnitsOutput {
    pub batch: Option<RecordBatch>,
    /// Per unit, in order: its rows in `batch`, and its rejects and counts
    /// (`batch` is `None` in them), or why its whole file is unreadable.
    pub units: Vec<(std::ops::Range<usize>, Result<DecodeOutput, String>)>,
}

/// Decodes several units (many small files, typically) into one batch: one
/// set of builders, one batch to store and merge, instead of one per file.
pub fn decode_units<'a>(
    units: impl IntoIterator<Item = (&'a WorkKind, &'a FileContext)> + Clone,
    ingested_at: i64,
) -> UnitsOutput {
    let bytes = units.clone().into_iter().map(|(w, _)| w.unit().len()).sum();
    let mut decoder = UnitsDecoder::new(bytes);
    for (work, ctx) in units {
        decoder.push(work.unit(), ctx);
    }
    decoder.finish(ingested_at)
}

/// [`decode_units`] one unit at a time, for units that do not outlive their
/// turn (files a worker reads into one buffer, one after another).
pub struct UnitsDecoder<'c> {
    builder: OperationsBuilder,
    lineage: Vec<(&'c str, usize)>,
    out: UnitsOutput,
    bytes: usize,
}

impl<'c> UnitsDecoder<'c> {
    /// A decoder with room for about `bytes` of input.
    pub fn new(bytes: usize) -> Self {
        UnitsDecoder {
            builder: OperationsBuilder::with_capacity(row_estimate(bytes)),
            lineage: Vec::new(),
            out: UnitsOutput::default(),
            bytes: 0,
        }
    }

    /// Decodes `unit` of the file `ctx` describes, after the units before it.
    pub fn push(&mut self, unit: Unit<'_>, ctx: &'c FileContext) {
        let start = self.builder.len();
        let result = decode_into(unit, ctx, &mut self.builder);
        let end = self.builder.len();
        if end > start {
            self.lineage.push((&ctx.name, end - start));
        }
        self.bytes += unit.len();
        self.out.units.push((start..end, result));
    }

    /// Input bytes pushed so far.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn finish(mut self, ingested_at: i64) -> UnitsOutput {
        if !self.builder.is_empty() {
            self.out.batch = Some(self.builder.finish(&self.lineage, ingested_at));
        }
        self.out
    }
}

/// Rows to make room for in `bytes` of input (Graph operations run 600–900
/// bytes each).
fn row_estimate(bytes: usize) -> usize {
    bytes / 700 + 1
}

/// Decodes one unit, appending its rows to `builder`. On `Err` (the file is
/// unreadable) nothing was appended.
fn decode_into(
    work: Unit<'_>,
    ctx: &FileContext,
    builder: &mut OperationsBuilder,
) -> Result<DecodeOutput, String> {
    let mut sink = Sink {
        ctx,
        builder,
        out: DecodeOutput::default(),
    };
    match work {
        Unit::Lines { data, first_line } => sink.lines(data, first_line),
        Unit::Oversize { line, head, bytes } => {
            let reason = format!(
                "record is {bytes} bytes, over the limit of {} (--max-record-bytes)",
                ctx.max_record_bytes
            );
            let loc = Location {
                line: Some(line),
                ..Location::default()
            };
            sink.reject(loc, reason, head);
        }
        Unit::Document { data } => {
            let hint = ctx.path_device.clone();
            // `document` appends nothing when it fails: the whole document is
            // parsed before any record is.
            if let Err(e) = sink.document(data, Location::default(), hint.as_deref()) {
                if looks_like_ndjson(data) {
                    sink.out = DecodeOutput::default();
                    sink.lines(data, 1);
                } else if e.is_eof() {
                    return Err(format!(
                        "the JSON is cut off ({e}); the file is incomplete: export it again"
                    ));
                } else {
                    return Err(format!("not valid JSON ({e})"));
                }
            }
        }
    }
    Ok(sink.out)
}
