//! Opening an input file and cutting it into units of work.
//!
//! Gzip is recognised by its magic bytes, a UTF-8 BOM is skipped and UTF-16
//! (Windows PowerShell's `Out-File` default) is converted. NDJSON is cut at
//! line ends into blocks that workers decode in parallel; anything else is a
//! document, read whole.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use flate2::read::MultiGzDecoder;

use super::discover::InputFile;
use super::shape::WorkKind;

/// Bytes of NDJSON per unit of work.
pub const DEFAULT_BLOCK: usize = 2 << 20;

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

/// Opens `file`, decompressing gzip; also the file's size when it is a
/// plain file (to size the first read).
fn open(file: &InputFile, limits: &Limits) -> io::Result<(Box<dyn Read + Send>, Option<u64>)> {
    let mut size = None;
    let raw: Box<dyn Read + Send> = match &file.path {
        Some(p) => {
            let f = File::open(p)?;
            size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
            if size.is_some() {
                // A plain file is read as it is: `File` fills a buffer without
                // zeroing it first, which a wrapper without `read_buf` cannot.
                let mut magic = [0u8; 2];
                let n = std::os::unix::fs::FileExt::read_at(&f, &mut magic, 0)?;
                if magic[..n] != [0x1f, 0x8b] {
                    return Ok((Box::new(f), size));
                }
            }
            Box::new(f)
        }
        None => Box::new(io::stdin()),
    };
    let compressed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = Counted {
        inner: raw,
        read: compressed.clone(),
    };
    let mut br = BufReader::with_capacity(1 << 16, counted);
    let head = br.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok((
            Box::new(BombGuard {
                inner: MultiGzDecoder::new(br),
                compressed,
                out: 0,
                limits: *limits,
            }),
            None,
        ))
    } else {
        Ok((Box::new(br), size))
    }
}

/// Reads until `buf` holds `want` more bytes or the input ends; false at EOF.
fn fill(r: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let target = buf.len() + want;
    while buf.len() < target {
        let n = r.take((target - buf.len()) as u64).read_to_end(buf)?;
        if n == 0 {
            return Ok(false);
        }
    }
    Ok(true)
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
    let (mut r, size) = open(file, limits).map_err(|e| read_error(&e))?;
    let block = limits.block_bytes.max(1024);
    // A small file is read into a buffer of its size, not a whole block.
    let cap = size.map_or(block, |n| (n as usize).saturating_add(1).min(block));
    let mut buf = Vec::with_capacity(cap + (block >> 2).min(cap));
    let more = fill(&mut *r, &mut buf, block).map_err(|e| read_error(&e))?;

    // Encodings.
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        buf.drain(..3);
    } else if buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]) {
        read_rest(&mut *r, &mut buf, limits)?;
        let data = utf16(&buf, buf[0] == 0xFF)?;
        let data = data
            .strip_prefix("\u{feff}".as_bytes())
            .map(<[u8]>::to_vec)
            .unwrap_or(data);
        let n = data.len() as u64;
        return emit(WorkKind::Document { data }, n);
    }
    let Some(start) = buf.iter().position(|b| !b.is_ascii_whitespace()) else {
        if more {
            // A block of whitespace: keep reading as NDJSON.
        } else {
            return Ok(()); // empty file: zero records
        }
        return ndjson(&mut *r, buf, block, limits, emit);
    };
    // NDJSON when more lines follow a first line that is a complete value. A
    // file of one line is a document (a page, an array, one object): read
    // it as one, without parsing it twice to find out.
    let more_lines = memchr::memchr(b'\n', &buf[start..])
        .is_some_and(|end| buf[start + end..].iter().any(|b| !b.is_ascii_whitespace()));
    let ndjson_mode = more_lines && first_line_complete(&buf[start..]) == Some(true);
    if ndjson_mode {
        return ndjson(&mut *r, buf, block, limits, emit);
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
