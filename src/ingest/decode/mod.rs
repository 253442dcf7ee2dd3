//! Decoding: from the bytes of a unit of work to Arrow rows and rejects.
//!
//! Each step has its file:
//!
//! - [`envelope`]: where the operations stand in a file: NDJSON lines, an
//!   array, a Graph list page, a single entity, a `$batch` response, with
//!   each record's [`Location`];
//! - [`fields`]: the tables of the properties read (names, kinds, Graph's
//!   order, columns), which both readers follow;
//! - [`scanner`]: the fast path, a hand-written one-pass reader of an
//!   operation or a whole list page;
//! - [`fallback`]: serde_json, for whatever the scanner is unsure of, and
//!   the reference it is tested against;
//! - [`normalise`]: validation into a row (statuses, required id), with
//!   [`timestamp`] parsing;
//! - [`device`]: every rule that gives an operation its device id;
//! - [`batch`]: rows into Arrow record batches.
//!
//! This file ties them together: [`decode_work`] and [`UnitsDecoder`] take a
//! unit of work (a run of complete NDJSON lines, a whole document, or a run
//! of elements of a large array) and give one batch plus rejects.

// Internal steps (reached only through `crate::internals`): documented at
// module level.
#[allow(missing_docs)]
pub mod batch;
#[allow(missing_docs)]
pub mod device;
pub mod envelope;
#[allow(missing_docs)]
pub mod fallback;
#[allow(missing_docs)]
pub mod fields;
#[allow(missing_docs)]
pub mod normalise;
#[allow(missing_docs)]
pub mod scanner;
#[allow(missing_docs)]
pub mod timestamp;

use std::borrow::Cow;

use arrow::array::RecordBatch;

use batch::OperationsBuilder;
pub use envelope::Location;
pub use fallback::Decoded;
pub use fields::{RawOp, Text};

/// A record that could not be ingested.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// Where the record stands in its file.
    pub location: Location,
    /// Why it was rejected (e.g. `missing id`, `createdDateTime: not a timestamp: "…"`).
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
    /// Complete NDJSON lines.
    Lines {
        /// The lines' bytes, each ended by its line feed (the last may not be).
        data: Vec<u8>,
        /// The 1-based number of the first line in its file.
        first_line: u64,
    },
    /// A whole JSON document.
    Document {
        /// The document's bytes (UTF-8, no BOM).
        data: Vec<u8>,
    },
    /// Consecutive elements of a top-level JSON array too large to read
    /// whole, cut at element boundaries while reading (README "Input").
    Elements {
        /// An array of its own (`[`, the elements as the file has them,
        /// `]`), decoded as the whole array would decode these elements.
        data: Vec<u8>,
        /// The 0-based index of its first element in the file's array.
        first_index: u64,
        /// How many elements it holds (the rows to make room for).
        count: u64,
        /// Where `data` starts in the file, so that the message for a
        /// malformed file names the same place as when it is read whole.
        origin: TextPos,
    },
    /// A record over the record size limit, skipped while reading.
    Oversize {
        /// Where it stands: its line, or its index in the top-level array.
        location: Location,
        /// Its first bytes (for the reject's `record`).
        head: Vec<u8>,
        /// Its length in bytes.
        bytes: u64,
    },
}

/// A place in a document, as serde_json counts it in its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPos {
    /// 1-based line.
    pub line: u64,
    /// Bytes before the place on its line.
    pub column: u64,
}

impl TextPos {
    /// The start of a document.
    pub const START: TextPos = TextPos { line: 1, column: 0 };

    /// The place `text.len()` bytes after this one, `text` being what lies
    /// between them.
    pub fn after(self, text: &[u8]) -> TextPos {
        match memchr::memrchr(b'\n', text) {
            None => TextPos {
                line: self.line,
                column: self.column + text.len() as u64,
            },
            Some(last) => TextPos {
                line: self.line + memchr::memchr_iter(b'\n', text).count() as u64,
                column: (text.len() - last - 1) as u64,
            },
        }
    }
}

/// A unit of work as the decoder reads it: borrowed, so a worker can decode
/// a file straight from the buffer it read it into.
#[derive(Debug, Clone, Copy)]
pub enum Unit<'a> {
    /// [`WorkKind::Lines`], borrowed.
    Lines {
        /// The lines' bytes.
        data: &'a [u8],
        /// The 1-based number of the first line.
        first_line: u64,
    },
    /// [`WorkKind::Document`], borrowed.
    Document {
        /// The document's bytes.
        data: &'a [u8],
    },
    /// [`WorkKind::Elements`], borrowed.
    Elements {
        /// The elements, as an array of their own.
        data: &'a [u8],
        /// The index of the first in the file's array.
        first_index: u64,
        /// How many it holds.
        count: u64,
        /// Where `data` starts in the file.
        origin: TextPos,
    },
    /// [`WorkKind::Oversize`], borrowed.
    Oversize {
        /// Where it stands.
        location: Location,
        /// Its first bytes.
        head: &'a [u8],
        /// Its length in bytes.
        bytes: u64,
    },
}

impl WorkKind {
    /// The unit of work, borrowed.
    pub fn unit(&self) -> Unit<'_> {
        match self {
            WorkKind::Lines { data, first_line } => Unit::Lines {
                data,
                first_line: *first_line,
            },
            WorkKind::Document { data } => Unit::Document { data },
            WorkKind::Elements {
                data,
                first_index,
                count,
                origin,
            } => Unit::Elements {
                data,
                first_index: *first_index,
                count: *count,
                origin: *origin,
            },
            WorkKind::Oversize {
                location,
                head,
                bytes,
            } => Unit::Oversize {
                location: *location,
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
            Unit::Lines { data, .. } | Unit::Document { data } | Unit::Elements { data, .. } => {
                data.len()
            }
            Unit::Oversize { .. } => 0,
        }
    }

    /// Whether it holds no input bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows to make room for: a run of elements says how many it holds (a
    /// pretty-printed array has twice the bytes per record of NDJSON, and
    /// the builders' room stays with the batch).
    fn rows_estimate(&self) -> usize {
        match self {
            Unit::Elements { count, .. } => *count as usize + 1,
            _ => row_estimate(self.len()),
        }
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
    /// The rows (none when every record was rejected).
    pub batch: Option<RecordBatch>,
    /// The rejected records.
    pub rejects: Vec<Reject>,
    /// Records read.
    pub records: u64,
    /// Records kept whose timestamps were repaired.
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
            if scanner::op_into(text, &mut op) {
                return self.object(&op, raw, location, hint, envelope_ok);
            }
        }
        match fallback::parse_bytes(raw) {
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
        if envelope_ok && op.envelope.0 && op.id == Text::Absent {
            // A whole page or $batch response on one line.
            if let Err(e) = self.document(raw, location, hint) {
                self.reject(location, format!("malformed JSON: {e}"), raw);
            }
            return;
        }
        let own = device::own_url(op);
        let hint = own.as_deref().or(hint);
        let mut repaired = false;
        match normalise::validate(op, hint, &mut repaired) {
            Ok(row) => {
                self.out.records += 1;
                if repaired {
                    self.out.repaired += 1;
                }
                self.builder.append(&row);
            }
            Err(reason) => self.reject(location, reason, raw),
        }
    }

    /// Appends every element when all are valid operations; false (and
    /// nothing appended) otherwise, so the caller can take the slow path that
    /// keeps each record's text for its reject.
    fn append_all(&mut self, ops: &[&RawOp<'_>], hint: Option<&str>) -> bool {
        let owns: Vec<Option<Cow<'_, str>>> = ops.iter().map(|op| device::own_url(op)).collect();
        let mut rows = Vec::with_capacity(ops.len());
        let mut repaired = 0;
        for (op, own) in ops.iter().zip(&owns) {
            let mut one = false;
            match normalise::validate(op, own.as_deref().or(hint), &mut one) {
                Ok(row) => rows.push(row),
                Err(_) => return false,
            }
            repaired += u64::from(one);
        }
        for row in &rows {
            self.builder.append(row);
        }
        self.out.records += rows.len() as u64;
        self.out.repaired += repaired;
        true
    }
}

/// Decodes one unit of work. `Err` means the whole file is unreadable
/// (not JSON, or cut off): the message says where.
pub fn decode_work(
    work: &WorkKind,
    ctx: &FileContext,
    ingested_at: i64,
) -> Result<DecodeOutput, String> {
    let unit = work.unit();
    let mut builder = OperationsBuilder::with_capacity(unit.rows_estimate());
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
    /// The rows of every unit, in unit order.
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
    let rows = units
        .clone()
        .into_iter()
        .map(|(w, _)| w.unit().rows_estimate())
        .sum();
    let mut decoder = UnitsDecoder::with_rows(rows);
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
        Self::with_rows(row_estimate(bytes))
    }

    fn with_rows(rows: usize) -> Self {
        UnitsDecoder {
            builder: OperationsBuilder::with_capacity(rows),
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

    /// The batch of every unit pushed, stamped with `ingested_at`.
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
        Unit::Oversize {
            location,
            head,
            bytes,
        } => {
            let reason = format!(
                "record is {bytes} bytes, over the limit of {} (--max-record-bytes)",
                ctx.max_record_bytes
            );
            sink.reject(location, reason, head);
        }
        Unit::Document { data } => {
            let hint = ctx.path_device.clone();
            // `document` appends nothing when it fails: the whole document is
            // parsed before any record is.
            if let Err(e) = sink.document(data, Location::default(), hint.as_deref()) {
                if envelope::looks_like_ndjson(data) {
                    sink.out = DecodeOutput::default();
                    sink.lines(data, 1);
                } else {
                    return Err(unreadable(&e, TextPos::START));
                }
            }
        }
        Unit::Elements {
            data,
            first_index,
            origin,
            ..
        } => sink
            .elements(data, first_index)
            .map_err(|e| unreadable(&e, origin))?,
    }
    Ok(sink.out)
}

/// Why a document is unreadable, `e` being serde_json's error for text that
/// starts at `origin` in it: the place is named in the whole document.
pub(crate) fn unreadable(e: &serde_json::Error, origin: TextPos) -> String {
    if e.line() == 0 {
        return unreadable_text(&e.to_string(), e.is_eof());
    }
    let (line, column) = (e.line() as u64, e.column() as u64);
    let at = if line == 1 {
        TextPos {
            line: origin.line,
            column: origin.column + column,
        }
    } else {
        TextPos {
            line: origin.line + line - 1,
            column,
        }
    };
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let what = text.strip_suffix(&suffix).unwrap_or(&text);
    unreadable_at(what, at, e.is_eof())
}

/// [`unreadable`] for a fault found without serde_json: `what` in its
/// words (`trailing comma`), `at` the place as it counts it (the column of
/// a byte is 1-based, of the end of the input the bytes on its line).
pub(crate) fn unreadable_at(what: &str, at: TextPos, eof: bool) -> String {
    unreadable_text(
        &format!("{what} at line {} column {}", at.line, at.column),
        eof,
    )
}

fn unreadable_text(e: &str, eof: bool) -> String {
    if eof {
        format!("the JSON is cut off ({e}); the file is incomplete: export it again")
    } else {
        format!("not valid JSON ({e})")
    }
}

/// Parses one record's JSON: by the scanner, else by serde. `Err` is
/// malformed JSON.
pub fn parse(bytes: &[u8]) -> Result<Decoded<'_>, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(text),
        Err(_) => fallback::parse_bytes(bytes),
    }
}

/// [`parse`] for text known to be UTF-8.
pub fn parse_str(text: &str) -> Result<Decoded<'_>, serde_json::Error> {
    if let Some(op) = scanner::op_document(text) {
        return Ok(Decoded::Object(Box::new(op)));
    }
    fallback::parse_str(text)
}
