//! Opening an input file and cutting it into units of work.
//!
//! Gzip is recognised by its magic bytes, a UTF-8 BOM is skipped and UTF-16
//! (Windows PowerShell's `Out-File` default) is converted while it is read.
//! NDJSON is cut at line ends into blocks that workers decode in parallel; a
//! top-level array larger than a block is cut between its elements
//! (`array`); any other document is read whole.

mod array;
mod utf16;

use std::fs::File;
use std::io::{self, BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::decode::{Location, Unit, WorkKind};
use super::discover::InputFile;

/// Why a whole input file could not be read. The text of each is what a
/// user sees after the file's name (`--keep-going` skips such a file).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The run stopped before this file was read to its end (another file
    /// failed, or the collector went away): not the file's fault, never
    /// reported for it.
    #[error("cancelled")]
    Cancelled,
    /// The file could not be opened or read.
    #[error("cannot be read: {0}")]
    Unreadable(#[source] io::Error),
    /// Compressed data that ends too early.
    #[error("the compressed data is cut off; the file is incomplete: export it again")]
    Truncated,
    /// Compressed data that does not decompress.
    #[error("cannot be decompressed ({0}); the file is damaged")]
    Damaged(#[source] io::Error),
    /// Any other failure of a reader, in the reader's own words (a
    /// decompressor's message).
    #[error(transparent)]
    Other(io::Error),
    /// A compressed file expands past `--max-decompressed-bytes`.
    #[error("it expands to more than {limit} bytes (limit --max-decompressed-bytes): not ingested")]
    ExpandsPastLimit {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A compressed file expands like a decompression bomb.
    #[error("it expands more than {ratio}-fold, like a decompression bomb: not ingested")]
    Bomb {
        /// The expansion allowed past the first 16 MiB.
        ratio: u64,
    },
    /// A JSON document read whole (anything but NDJSON or a top-level
    /// array) over `--max-document-bytes`.
    #[error(
        "the JSON document is larger than {limit} bytes (--max-document-bytes); split it, or \
         export it as NDJSON"
    )]
    DocumentTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A file that starts as UTF-16 but is not.
    #[error("not valid UTF-16 text ({0})")]
    NotUtf16(#[source] std::char::DecodeUtf16Error),
    /// The decoder found the file unreadable as JSON (not JSON, or cut off);
    /// the text says where.
    #[error("{0}")]
    NotJson(String),
}

/// Bytes of NDJSON per unit of work (and of small documents bundled into
/// one): 4 MiB rather than 2 halves the batches, and with them the fixed
/// costs of each (Parquet writes, messages, merges), for 2–6% less time and
/// about 37 MB more peak memory per million operations (measured).
pub const DEFAULT_BLOCK: usize = 4 << 20;

/// Limits on what one file may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A JSON document other than NDJSON or a top-level array is read
    /// whole: at most this many bytes.
    pub max_document_bytes: u64,
    /// One record (an NDJSON line, an element of a page): longer ones are rejected.
    pub max_record_bytes: usize,
    /// Bytes one compressed file may expand to.
    pub max_decompressed_bytes: u64,
    /// Expansion a compressed file may reach (output / input) past its first
    /// 16 MiB: JSON compresses 10–30×, a decompression bomb 1000× and more.
    pub max_compression_ratio: u64,
    /// Bytes of NDJSON (or of a large array's elements) per unit of work.
    pub block_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 1 << 30,
            max_record_bytes: 16 << 20,
            max_decompressed_bytes: 256 << 30,
            max_compression_ratio: 500,
            block_bytes: DEFAULT_BLOCK,
        }
    }
}

/// Counts the compressed bytes read, for the expansion limit.
struct Counted<R> {
    inner: R,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Stops a decompressing reader that expands past the limits.
struct BombGuard<R> {
    inner: R,
    compressed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    out: u64,
    limits: Limits,
}

impl<R: Read> Read for BombGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        let input = self
            .compressed
            .load(std::sync::atomic::Ordering::Relaxed)
            .max(1);
        // The typed error rides inside the `io::Error` to `read_error`.
        if self.out > self.limits.max_decompressed_bytes {
            return Err(io::Error::other(ReadError::ExpandsPastLimit {
                limit: self.limits.max_decompressed_bytes,
            }));
        }
        if self.out > 16 << 20 && self.out / input > self.limits.max_compression_ratio {
            return Err(io::Error::other(ReadError::Bomb {
                ratio: self.limits.max_compression_ratio,
            }));
        }
        Ok(n)
    }
}

/// An input file opened for reading. Gzip is recognised later, from the
/// first bytes read (no separate read of the magic bytes: it costs a system
/// call per file, which shows on folders of thousands of pages).
pub struct Source {
    r: Box<dyn Read + Send>,
}

/// What [`Source::read_whole`] found.
pub enum Whole<'b> {
    /// The whole file as at most one unit, borrowed from the buffer.
    Unit(Option<Unit<'b>>),
    /// Anything else (compressed, UTF-16, a block or larger): the bytes read
    /// so far and whether more may follow, for [`Source::split`].
    Rest {
        /// The bytes read so far.
        head: Vec<u8>,
        /// Whether the file may go on past them.
        more: bool,
    },
}

impl Source {
    /// Opens `file`, relative to `dir` when the file is in it (`Err`: the
    /// whole file is unreadable).
    pub fn open(file: &InputFile, dir: &mut OpenDir) -> Result<Source, ReadError> {
        Ok(Source {
            r: match &file.path {
                Some(p) => Box::new(dir.open(p).map_err(read_error)?),
                None => Box::new(io::stdin()),
            },
        })
    }

    /// Reads from `r` (bytes of a file, standard input, or any other
    /// stream), as from an opened file.
    pub fn from_reader(r: Box<dyn Read + Send>) -> Source {
        Source { r }
    }

    /// Reads a file smaller than a block whole into `buf`, which keeps its
    /// length (a block) between files, so nothing is allocated or zeroed
    /// per file and the bytes are decoded while still in the reading core's
    /// cache. Two reads for a small file: all of it, and the one that finds
    /// its end; no stat.
    pub fn read_whole<'b>(
        &mut self,
        buf: &'b mut Vec<u8>,
        limits: &Limits,
    ) -> Result<Whole<'b>, ReadError> {
        let block = limits.block_bytes.max(1024);
        if buf.len() < block {
            buf.resize(block, 0);
        }
        let mut filled = 0;
        while filled < block {
            match self.r.read(&mut buf[filled..block]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_error(e)),
            }
        }
        let data = &buf[..filled];
        let more = filled == block;
        if more || data.starts_with(&GZIP) {
            return Ok(Whole::Rest {
                head: data.to_vec(),
                more,
            });
        }
        Ok(match start(data, false) {
            Start::Utf16 => Whole::Rest {
                head: data.to_vec(),
                more: false,
            },
            Start::Blank => Whole::Unit(None),
            Start::Lines { bom } => Whole::Unit(Some(Unit::Lines {
                data: &data[bom..],
                first_line: 1,
            })),
            Start::Document { bom } => {
                if (filled - bom) as u64 > limits.max_document_bytes {
                    return Err(too_big(limits));
                }
                Whole::Unit(Some(Unit::Document { data: &data[bom..] }))
            }
        })
    }

    /// Cuts the file into units of work, handing each to `emit` in order,
    /// starting from `head` (bytes already read, and whether more may
    /// follow) when given. `Err`: the whole file is unreadable (it cannot
    /// be decompressed or read), or `emit` said to stop.
    pub fn split(
        self,
        head: Option<(Vec<u8>, bool)>,
        limits: &Limits,
        emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        let block = limits.block_bytes.max(1024);
        let mut r = self.r;
        let (mut buf, mut more) = match head {
            Some(head) => head,
            None => {
                let mut buf = Vec::with_capacity(block + (block >> 2));
                let more = fill(&mut *r, &mut buf, block).map_err(read_error)?;
                (buf, more)
            }
        };
        if buf.starts_with(&GZIP) {
            r = gunzip(std::mem::take(&mut buf), r, limits);
            buf = Vec::with_capacity(block + (block >> 2));
            more = fill(&mut *r, &mut buf, block).map_err(read_error)?;
        }
        if is_utf16(&buf) {
            // Converted as it is read, then cut like UTF-8 text.
            let little = buf[0] == 0xFF;
            r = Box::new(utf16::Utf16::new(&buf[2..], r, little));
            buf.clear();
            more = fill(&mut *r, &mut buf, block).map_err(read_error)?;
        }
        match start(&buf, more) {
            Start::Utf16 => unreachable!("converted above"),
            Start::Blank => Ok(()), // empty file: zero records
            Start::Lines { bom } => {
                buf.drain(..bom);
                ndjson(&mut *r, buf, block, limits, emit)
            }
            Start::Document { bom } => {
                buf.drain(..bom);
                if more && buf.trim_ascii_start().starts_with(b"[") {
                    return array::split(&mut *r, buf, more, block, limits, emit);
                }
                if more {
                    read_rest(&mut *r, &mut buf, limits)?;
                }
                if buf.len() as u64 > limits.max_document_bytes {
                    return Err(too_big(limits));
                }
                let n = buf.len() as u64;
                emit(WorkKind::Document { data: buf }, n)
            }
        }
    }
}

const GZIP: [u8; 2] = [0x1f, 0x8b];

/// The folder of the last file opened, kept open: the next file of that
/// folder is opened relative to it, a lookup of its name alone instead of
/// every folder on its path (a folder of pages holds thousands of files).
#[derive(Default)]
pub struct OpenDir {
    dir: Option<(std::ffi::OsString, rustix::fd::OwnedFd)>,
}

impl OpenDir {
    fn open(&mut self, path: &std::path::Path) -> io::Result<File> {
        use rustix::fs::{Mode, OFlags};
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name())
            && !parent.as_os_str().is_empty()
        {
            if self
                .dir
                .as_ref()
                .is_none_or(|(d, _)| d.as_os_str() != parent.as_os_str())
            {
                // A folder that cannot be opened itself (no read permission)
                // leaves its files to be opened by their paths.
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                self.dir = rustix::fs::open(parent, flags, Mode::empty())
                    .ok()
                    .map(|fd| (parent.as_os_str().to_owned(), fd));
            }
            if let Some((_, fd)) = &self.dir {
                let flags = OFlags::RDONLY | OFlags::CLOEXEC;
                return rustix::fs::openat(fd, name, flags, Mode::empty())
                    .map(File::from)
                    .map_err(io::Error::from);
            }
        }
        File::open(path)
    }
}

/// How a file's first bytes say to read it.
enum Start {
    /// UTF-16 text (a byte order mark), to convert.
    Utf16,
    /// Nothing but whitespace, and the file ended.
    Blank,
    /// NDJSON, after a UTF-8 byte order mark of `bom` bytes (0 or 3).
    Lines { bom: usize },
    /// A document read whole.
    Document { bom: usize },
}

/// Tells from the first bytes read, `buf` (more may follow when `more`),
/// how the file is read.
fn start(buf: &[u8], more: bool) -> Start {
    if is_utf16(buf) {
        return Start::Utf16;
    }
    let bom = if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let text = &buf[bom..];
    let Some(first) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        // A block of whitespace may be followed by lines: keep reading.
        return if more {
            Start::Lines { bom }
        } else {
            Start::Blank
        };
    };
    // NDJSON when more lines follow a first line that is a complete value. A
    // file of one line is a document (a page, an array, one object): read
    // it as one, without parsing it twice to find out.
    let text = &text[first..];
    let more_lines = memchr::memchr(b'\n', text)
        .is_some_and(|end| text[end..].iter().any(|b| !b.is_ascii_whitespace()));
    if more_lines && first_line_complete(text) == Some(true) {
        Start::Lines { bom }
    } else {
        Start::Document { bom }
    }
}

/// Whether the bytes open with a UTF-16 byte order mark (LE or BE).
fn is_utf16(buf: &[u8]) -> bool {
    buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF])
}

/// Decompresses `head` (the bytes already read) followed by the rest of `raw`.
fn gunzip(head: Vec<u8>, raw: Box<dyn Read + Send>, limits: &Limits) -> Box<dyn Read + Send> {
    let compressed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = Counted {
        inner: io::Cursor::new(head).chain(raw),
        read: compressed.clone(),
    };
    Box::new(BombGuard {
        inner: MultiGzDecoder::new(BufReader::with_capacity(1 << 16, counted)),
        compressed,
        out: 0,
        limits: *limits,
    })
}

/// Reads until `buf` holds `want` more bytes or the input ends; false at EOF.
fn fill(r: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let target = buf.len() + want;
    // `read_to_end` stops short of the limit only at the end of the input.
    r.take(want as u64).read_to_end(buf)?;
    Ok(buf.len() >= target)
}

fn read_rest(r: &mut dyn Read, buf: &mut Vec<u8>, limits: &Limits) -> Result<(), ReadError> {
    let room = limits.max_document_bytes.saturating_sub(buf.len() as u64);
    r.take(room + 1).read_to_end(buf).map_err(read_error)?;
    if buf.len() as u64 > limits.max_document_bytes {
        return Err(too_big(limits));
    }
    Ok(())
}

fn too_big(limits: &Limits) -> ReadError {
    ReadError::DocumentTooLarge {
        limit: limits.max_document_bytes,
    }
}

/// What a failed read says about the file.
fn read_error(e: io::Error) -> ReadError {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => ReadError::Truncated,
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => ReadError::Damaged(e),
        io::ErrorKind::Other => match e.downcast::<ReadError>() {
            Ok(limit) => limit,
            Err(e) => ReadError::Other(e),
        },
        _ => ReadError::Unreadable(e),
    }
}

/// True when the first line of `data` is a complete JSON value: the file is
/// NDJSON (possibly of one line).
fn first_line_complete(data: &[u8]) -> Option<bool> {
    let end = memchr::memchr(b'\n', data)?;
    let line = data[..end].trim_ascii();
    Some(serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok())
}

/// Cuts `file` into units of work, handing each to `emit` in order. `Err`:
/// the whole file is unreadable (it cannot be opened, decompressed or
/// read), or `emit` said to stop.
pub fn split(
    file: &InputFile,
    limits: &Limits,
    emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    Source::open(file, &mut OpenDir::default())?.split(None, limits, emit)
}

fn ndjson(
    r: &mut dyn Read,
    mut buf: Vec<u8>,
    block: usize,
    limits: &Limits,
    emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut first_line = 1u64;
    loop {
        let more = if buf.len() < block {
            let want = block - buf.len();
            fill(r, &mut buf, want).map_err(read_error)?
        } else {
            true
        };
        if !more {
            if buf.iter().any(|b| !b.is_ascii_whitespace()) {
                let n = buf.len() as u64;
                emit(
                    WorkKind::Lines {
                        data: buf,
                        first_line,
                    },
                    n,
                )?;
            }
            return Ok(());
        }
        match memchr::memrchr(b'\n', &buf) {
            Some(pos) => {
                let rest = buf.split_off(pos + 1);
                let lines = memchr::memchr_iter(b'\n', &buf).count() as u64;
                let n = buf.len() as u64;
                emit(
                    WorkKind::Lines {
                        data: buf,
                        first_line,
                    },
                    n,
                )?;
                first_line += lines;
                buf = Vec::with_capacity(block + (block >> 2));
                buf.extend_from_slice(&rest);
            }
            None => {
                // One line longer than a block: keep reading until it ends,
                // or skip it as one rejected record once over the limit.
                if buf.len() > limits.max_record_bytes {
                    let head = buf[..buf.len().min(4096)].to_vec();
                    let mut bytes = buf.len() as u64;
                    buf.clear();
                    loop {
                        let more = fill(r, &mut buf, block).map_err(read_error)?;
                        match memchr::memchr(b'\n', &buf) {
                            Some(pos) => {
                                bytes += pos as u64;
                                buf.drain(..=pos);
                                break;
                            }
                            None => {
                                bytes += buf.len() as u64;
                                buf.clear();
                                if !more {
                                    break;
                                }
                            }
                        }
                    }
                    let location = Location {
                        line: Some(first_line),
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
                    first_line += 1;
                    continue;
                }
                let more = fill(r, &mut buf, block).map_err(read_error)?;
                if !more {
                    let n = buf.len() as u64;
                    return emit(
                        WorkKind::Lines {
                            data: buf,
                            first_line,
                        },
                        n,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn named(kind: WorkKind) -> (String, Vec<u8>) {
        match kind {
            WorkKind::Lines { data, first_line } => (format!("lines@{first_line}"), data),
            WorkKind::Document { data } => ("document".into(), data),
            WorkKind::Elements {
                data, first_index, ..
            } => (format!("elements@{first_index}"), data),
            WorkKind::Oversize { location, .. } => (format!("oversize@{location}"), Vec::new()),
        }
    }

    /// The units of `bytes` stored in a file, as a worker reads it (whole
    /// into its buffer, else on through `split`); checked against the
    /// reader's way (`split` from the start).
    fn units(bytes: &[u8], block: usize) -> Vec<(String, Vec<u8>)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, bytes).unwrap();
        let file = InputFile {
            path: Some(path),
            name: "x.json".into(),
            path_device: None,
            size: None,
        };
        let limits = Limits {
            block_bytes: block,
            ..Limits::default()
        };
        let mut by_worker = Vec::new();
        let mut source = Source::open(&file, &mut OpenDir::default()).unwrap();
        let mut buf = Vec::new();
        match source.read_whole(&mut buf, &limits).unwrap() {
            Whole::Unit(None) => {}
            Whole::Unit(Some(Unit::Lines { data, first_line })) => {
                by_worker.push((format!("lines@{first_line}"), data.to_vec()))
            }
            Whole::Unit(Some(Unit::Document { data })) => {
                by_worker.push(("document".into(), data.to_vec()))
            }
            Whole::Unit(Some(Unit::Oversize { .. } | Unit::Elements { .. })) => {
                unreachable!("not from a whole read")
            }
            Whole::Rest { head, more } => source
                .split(Some((head, more)), &limits, &mut |w, _| {
                    by_worker.push(named(w));
                    Ok(())
                })
                .unwrap(),
        }
        let mut by_reader = Vec::new();
        split(&file, &limits, &mut |w, _| {
            by_reader.push(named(w));
            Ok(())
        })
        .unwrap();
        assert_eq!(by_worker, by_reader);
        by_worker
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_small_file_is_one_unit() {
        let page = br#"{"value":[{"id":"a"},{"id":"b"}]}"#.to_vec();
        assert_eq!(
            units(&page, 1024),
            vec![("document".to_string(), page.clone())]
        );
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&page);
        assert_eq!(
            units(&bom, 1024),
            vec![("document".to_string(), page.clone())]
        );
        let nd = b"{\"id\":\"a\"}\n{\"id\":\"b\"}\n".to_vec();
        assert_eq!(units(&nd, 1024), vec![("lines@1".to_string(), nd.clone())]);
        assert_eq!(units(b"", 1024), vec![]);
        assert_eq!(units(b" \n\t\n", 1024), vec![]);
    }

    #[test]
    fn a_file_of_a_block_or_more_is_cut_into_lines() {
        let line = br#"{"id":"a","status":"queued"}"#;
        let mut nd = Vec::new();
        for _ in 0..100 {
            nd.extend_from_slice(line);
            nd.push(b'\n');
        }
        let blocks = units(&nd, 1024);
        assert!(blocks.len() > 2, "{} blocks", blocks.len());
        assert!(blocks.iter().all(|(k, _)| k.starts_with("lines@")));
        let joined: Vec<u8> = blocks.iter().flat_map(|(_, d)| d.clone()).collect();
        assert_eq!(joined, nd);
        // Exactly a block (ending inside a line): read on to its end.
        let exact = &nd[..1024];
        let joined: Vec<u8> = units(exact, 1024)
            .into_iter()
            .flat_map(|(_, d)| d)
            .collect();
        assert_eq!(joined, exact);
    }

    #[test]
    fn gzip_is_recognised_from_the_first_read() {
        let page = br#"{"value":[{"id":"a"}]}"#.to_vec();
        assert_eq!(
            units(&gz(&page), 1024),
            vec![("document".to_string(), page.clone())]
        );
        // Compressed NDJSON larger than a block, in a file smaller than one.
        let mut nd = Vec::new();
        for i in 0..200 {
            nd.extend_from_slice(format!("{{\"id\":\"op-{i}\"}}\n").as_bytes());
        }
        let packed = gz(&nd);
        assert!(packed.len() < 1024);
        let blocks = units(&packed, 1024);
        assert!(blocks.len() > 1);
        assert!(blocks.iter().all(|(k, _)| k.starts_with("lines@")));
        let joined: Vec<u8> = blocks.iter().flat_map(|(_, d)| d.clone()).collect();
        assert_eq!(joined, nd);
    }

    /// The reason a whole file is refused comes out as its own variant,
    /// also from inside the decompressing reader.
    #[test]
    fn a_refused_file_says_why_in_a_variant() {
        let dir = tempfile::tempdir().unwrap();
        let read = |name: &str, bytes: &[u8], limits: Limits| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let file = InputFile {
                path: Some(path),
                name: name.into(),
                path_device: None,
                size: None,
            };
            split(&file, &limits, &mut |_, _| Ok(())).unwrap_err()
        };
        let small = Limits {
            max_decompressed_bytes: 1000,
            max_document_bytes: 10,
            ..Limits::default()
        };
        let e = read("big.json.gz", &gz(&[b' '; 300_000]), small);
        assert!(
            matches!(e, ReadError::ExpandsPastLimit { limit: 1000 }),
            "{e}"
        );
        let e = read("cut.json.gz", &gz(b"{\"value\":[]}")[..12], small);
        assert!(matches!(e, ReadError::Truncated), "{e}");
        let e = read("doc.json", br#"{"value":[{"id":"a"}]}"#, small);
        assert!(
            matches!(e, ReadError::DocumentTooLarge { limit: 10 }),
            "{e}"
        );
        let e = read("u16.json", b"\xff\xfe\x00\xd8\x00\xd8", small);
        assert!(matches!(e, ReadError::NotUtf16(_)), "{e}");
        // `emit` stops a file by saying so, not with a message.
        let path = dir.path().join("doc.json");
        let file = InputFile {
            path: Some(path),
            name: "doc.json".into(),
            path_device: None,
            size: None,
        };
        let e = split(&file, &Limits::default(), &mut |_, _| {
            Err(ReadError::Cancelled)
        });
        assert!(matches!(e, Err(ReadError::Cancelled)));
    }
}
