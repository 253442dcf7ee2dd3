//! Opening an input file and cutting it into units of work.
//!
//! Gzip is recognised by its magic bytes, a UTF-8 BOM is skipped and UTF-16
//! (Windows PowerShell's `Out-File` default) is converted. NDJSON is cut at
//! line ends into blocks that workers decode in parallel; anything else is a
//! document, read whole.

use std::fs::File;
use std::io::{self, BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::discover::InputFile;
use super::shape::{Unit, WorkKind};

/// Bytes of NDJSON per unit of work (and of small documents bundled into
/// one): 4 MiB rather than 2 halves the batches, and with them the fixed
/// costs of each (Parquet writes, messages, merges), for 2–6% less time and
/// about 37 MB more peak memory per million operations (measured).
pub const DEFAULT_BLOCK: usize = 4 << 20;

/// Limits on what one file may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A JSON document (anything but NDJSON) is read whole: at most this many bytes.
    pub max_document_bytes: u64,
    /// One record (an NDJSON line, an element of a page): longer ones are rejected.
    pub max_record_bytes: usize,
    /// Bytes one compressed file may expand to.
    pub max_decompressed_bytes: u64,
    /// Expansion a compressed file may reach (output / input) past its first
    /// 16 MiB: JSON compresses 10–30×, a decompression bomb 1000× and more.
    pub max_compression_ratio: u64,
    /// Bytes of NDJSON per unit of work.
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
        if self.out > self.limits.max_decompressed_bytes {
            return Err(io::Error::other(format!(
                "it expands to more than {} bytes (limit --max-decompressed-bytes): not ingested",
                self.limits.max_decompressed_bytes
            )));
        }
        if self.out > 16 << 20 && self.out / input > self.limits.max_compression_ratio {
            return Err(io::Error::other(format!(
                "it expands more than {}-fold, like a decompression bomb: not ingested",
                self.limits.max_compression_ratio
            )));
        }
        Ok(n)
    }
}

/// An input file opened for reading, and the size to expect: the listed
/// one, else the open file's own (a stat of an open file costs no path
/// lookup). Gzip is recognised later, from the first bytes read (no
/// separate read of the magic bytes: it costs a system call per file, which
/// shows on folders of thousands of pages).
pub struct Source {
    r: Box<dyn Read + Send>,
    size: Option<u64>,
}

/// What [`Source::read_whole`] found.
pub enum Whole<'b> {
    /// The whole file as at most one unit, borrowed from the buffer.
    Unit(Option<Unit<'b>>),
    /// Anything else (compressed, UTF-16, a block or larger): the bytes read
    /// so far and whether more may follow, for [`Source::split`].
    Rest { head: Vec<u8>, more: bool },
}

impl Source {
    /// Opens `file` (`Err`: a message for the whole file).
    pub fn open(file: &InputFile) -> Result<Source, String> {
        Ok(match &file.path {
            Some(p) => {
                let f = File::open(p).map_err(|e| read_error(&e))?;
                let size = file
                    .size
                    .or_else(|| f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len()));
                Source {
                    r: Box::new(f),
                    size,
                }
            }
            None => Source {
                r: Box::new(io::stdin()),
                size: None,
            },
        })
    }

    /// [`Source::open`], relative to `dir` when the file is in it, and
    /// without asking for its size: [`Source::read_whole`] needs none.
    pub fn open_in(file: &InputFile, dir: &mut OpenDir) -> Result<Source, String> {
        Ok(match &file.path {
            Some(p) => Source {
                r: Box::new(dir.open(p).map_err(|e| read_error(&e))?),
                size: file.size,
            },
            None => Source {
                r: Box::new(io::stdin()),
                size: None,
            },
        })
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
    ) -> Result<Whole<'b>, String> {
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
                Err(e) => return Err(read_error(&e)),
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
    /// follow) when given. `Err` is a message for the whole file (it
    /// cannot be decompressed or read).
    pub fn split(
        self,
        head: Option<(Vec<u8>, bool)>,
        limits: &Limits,
        emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), String>,
    ) -> Result<(), String> {
        let block = limits.block_bytes.max(1024);
        let mut r = self.r;
        let (mut buf, mut more) = match head {
            Some(head) => head,
            None => match self.size.map(|n| n as usize).filter(|&n| n < block) {
                // A small file is read into a buffer of its size, not a whole block.
                Some(size) => fill_known(&mut *r, size, block),
                None => {
                    let mut buf = Vec::with_capacity(block + (block >> 2));
                    fill(&mut *r, &mut buf, block).map(|more| (buf, more))
                }
            }
            .map_err(|e| read_error(&e))?,
        };
        if buf.starts_with(&GZIP) {
            r = gunzip(std::mem::take(&mut buf), r, limits);
            buf = Vec::with_capacity(block + (block >> 2));
            more = fill(&mut *r, &mut buf, block).map_err(|e| read_error(&e))?;
        }
        match start(&buf, more) {
            Start::Utf16 => {
                read_rest(&mut *r, &mut buf, limits)?;
                let data = utf16(&buf, buf[0] == 0xFF)?;
                let data = data
                    .strip_prefix("\u{feff}".as_bytes())
                    .map(<[u8]>::to_vec)
                    .unwrap_or(data);
                let n = data.len() as u64;
                emit(WorkKind::Document { data }, n)
            }
            Start::Blank => Ok(()), // empty file: zero records
            Start::Lines { bom } => {
                buf.drain(..bom);
                ndjson(&mut *r, buf, block, limits, emit)
            }
            Start::Document { bom } => {
                buf.drain(..bom);
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
    /// UTF-16 text, to convert whole.
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
    if buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]) {
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

/// The first read of a file whose size is expected to be `size` < a block:
/// one read of all of it and one that finds its end, into a buffer of that
/// size (`read_to_end` would start at 8 KiB and double: two more system
/// calls per 40 KB page, measurable on folders of thousands). False when
/// the file ended; one that grew since its size was taken is read on to a
/// whole block like any other.
fn fill_known(r: &mut dyn Read, size: usize, block: usize) -> io::Result<(Vec<u8>, bool)> {
    // Zeroing it is about 2% of a pages ingest; reading into spare capacity
    // instead cost two more reads per file and measured no better.
    let mut buf = vec![0u8; size + 1];
    let mut filled = 0;
    let result = loop {
        if filled == buf.len() {
            break Ok(());
        }
        match r.read(&mut buf[filled..]) {
            Ok(0) => break Ok(()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    let grew = filled == buf.len();
    buf.truncate(filled);
    result?;
    if grew && filled < block {
        let more = fill(r, &mut buf, block - filled)?;
        return Ok((buf, more));
    }
    Ok((buf, grew))
}

/// Reads until `buf` holds `want` more bytes or the input ends; false at EOF.
fn fill(r: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let target = buf.len() + want;
    // `read_to_end` stops short of the limit only at the end of the input.
    r.take(want as u64).read_to_end(buf)?;
    Ok(buf.len() >= target)
}

fn read_rest(r: &mut dyn Read, buf: &mut Vec<u8>, limits: &Limits) -> Result<(), String> {
    let room = limits.max_document_bytes.saturating_sub(buf.len() as u64);
    r.take(room + 1)
        .read_to_end(buf)
        .map_err(|e| read_error(&e))?;
    if buf.len() as u64 > limits.max_document_bytes {
        return Err(too_big(limits));
    }
    Ok(())
}

fn too_big(limits: &Limits) -> String {
    format!(
        "the JSON document is larger than {} bytes (--max-document-bytes); split it, or export it as NDJSON",
        limits.max_document_bytes
    )
}

fn read_error(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            "the compressed data is cut off; the file is incomplete: export it again".into()
        }
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            format!("cannot be decompressed ({e}); the file is damaged")
        }
        io::ErrorKind::Other => e.to_string(),
        _ => format!("cannot be read: {e}"),
    }
}

fn utf16(data: &[u8], little: bool) -> Result<Vec<u8>, String> {
    let units = data[2..].chunks(2).map(|c| {
        let pair = [c[0], *c.get(1).unwrap_or(&0)];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    });
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map(String::into_bytes)
        .map_err(|e| format!("not valid UTF-16 text ({e})"))
}

/// True when the first line of `data` is a complete JSON value: the file is
/// NDJSON (possibly of one line).
fn first_line_complete(data: &[u8]) -> Option<bool> {
    let end = memchr::memchr(b'\n', data)?;
    let line = data[..end].trim_ascii();
    Some(serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok())
}

/// Cuts `file` into units of work, handing each to `emit` in order. `Err` is
/// a message for the whole file (it cannot be opened, decompressed or read).
pub fn split(
    file: &InputFile,
    limits: &Limits,
    emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), String>,
) -> Result<(), String> {
    Source::open(file)?.split(None, limits, emit)
}

fn ndjson(
    r: &mut dyn Read,
    mut buf: Vec<u8>,
    block: usize,
    limits: &Limits,
    emit: &mut dyn FnMut(WorkKind, u64) -> Result<(), String>,
) -> Result<(), String> {
    let mut first_line = 1u64;
    loop {
        let more = if buf.len() < block {
            let want = block - buf.len();
            fill(r, &mut buf, want).map_err(|e| read_error(&e))?
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
                        let more = fill(r, &mut buf, block).map_err(|e| read_error(&e))?;
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
                    emit(
                        WorkKind::Oversize {
                            line: first_line,
                            head,
                            bytes,
                        },
                        bytes,
                    )?;
                    first_line += 1;
                    continue;
                }
                let more = fill(r, &mut buf, block).map_err(|e| read_error(&e))?;
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

    /// What `split` hands on for `bytes` stored in a file, with `size` as
    /// the size the file had when it was listed.
    fn split_with_hint(bytes: &[u8], size: Option<u64>, block: usize) -> Vec<(String, Vec<u8>)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, bytes).unwrap();
        let file = InputFile {
            path: Some(path),
            name: "x.json".into(),
            path_device: None,
            size,
        };
        let limits = Limits {
            block_bytes: block,
            ..Limits::default()
        };
        let mut out = Vec::new();
        split(&file, &limits, &mut |w, _| {
            out.push(match w {
                WorkKind::Lines { data, first_line } => (format!("lines@{first_line}"), data),
                WorkKind::Document { data } => ("document".into(), data),
                WorkKind::Oversize { line, .. } => (format!("oversize@{line}"), Vec::new()),
            });
            Ok(())
        })
        .unwrap();
        out
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_stale_size_never_cuts_or_pads_a_file() {
        let page = br#"{"value":[{"id":"a"},{"id":"b"}]}"#.to_vec();
        let n = page.len() as u64;
        // Listed size right, too small (the file grew), too large (it shrank), unknown.
        for size in [Some(n), Some(3), Some(0), Some(n + 100), None] {
            assert_eq!(
                split_with_hint(&page, size, 1024),
                vec![("document".to_string(), page.clone())],
                "size hint {size:?}"
            );
        }
    }

    #[test]
    fn a_file_that_grew_past_a_block_is_cut_into_lines() {
        let line = br#"{"id":"a","status":"queued"}"#;
        let mut nd = Vec::new();
        for _ in 0..100 {
            nd.extend_from_slice(line);
            nd.push(b'\n');
        }
        let whole = split_with_hint(&nd, None, 1024);
        assert!(whole.len() > 2, "{} blocks", whole.len());
        assert_eq!(split_with_hint(&nd, Some(10), 1024), whole);
        let joined: Vec<u8> = whole.iter().flat_map(|(_, d)| d.clone()).collect();
        assert_eq!(joined, nd);
    }

    #[test]
    fn gzip_is_recognised_from_the_first_read() {
        let page = br#"{"value":[{"id":"a"}]}"#.to_vec();
        let packed = gz(&page);
        let n = packed.len() as u64;
        for size in [Some(n), Some(1), None] {
            assert_eq!(
                split_with_hint(&packed, size, 1024),
                vec![("document".to_string(), page.clone())],
                "size hint {size:?}"
            );
        }
        // Compressed NDJSON larger than a block, in a file smaller than one.
        let mut nd = Vec::new();
        for i in 0..200 {
            nd.extend_from_slice(format!("{{\"id\":\"op-{i}\"}}\n").as_bytes());
        }
        let packed = gz(&nd);
        assert!(packed.len() < 1024);
        let blocks = split_with_hint(&packed, Some(packed.len() as u64), 1024);
        assert!(blocks.len() > 1);
        assert!(blocks.iter().all(|(k, _)| k.starts_with("lines@")));
        let joined: Vec<u8> = blocks.iter().flat_map(|(_, d)| d.clone()).collect();
        assert_eq!(joined, nd);
    }
}
