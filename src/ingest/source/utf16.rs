//! UTF-16 text (Windows PowerShell's `Out-File` default) converted to UTF-8
//! while it is read, so that such a file is cut into blocks like any other
//! instead of being read and converted whole.

use std::io::{self, Read};

use super::ReadError;

/// Bytes of UTF-16 converted at a time.
const CHUNK: usize = 64 << 10;

/// Reads UTF-16 (the byte order mark already taken off) as UTF-8. Text
/// that is not UTF-16 (a lone surrogate) fails the read with
/// [`ReadError::NotUtf16`]; an odd last byte is read as a unit with a zero
/// byte, as the whole-file conversion always did.
pub(super) struct Utf16<R> {
    inner: R,
    little: bool,
    /// Bytes read, `raw[..have]`, not converted yet (a high surrogate
    /// waiting for its pair, an odd byte, the rest of a read).
    raw: Vec<u8>,
    have: usize,
    /// Converted text not handed out yet, from `out_pos` on.
    out: Vec<u8>,
    out_pos: usize,
    done: bool,
}

impl<R: Read> Utf16<R> {
    /// Converts `head` (the bytes after the byte order mark) and then the
    /// rest of `inner`; `little` for UTF-16 LE.
    pub(super) fn new(head: &[u8], inner: R, little: bool) -> Self {
        let mut raw = head.to_vec();
        let have = raw.len();
        raw.resize(have.max(CHUNK), 0);
        Utf16 {
            inner,
            little,
            raw,
            have,
            out: Vec::with_capacity(CHUNK * 3 / 2 + 8),
            out_pos: 0,
            done: false,
        }
    }

    fn unit(&self, pair: [u8; 2]) -> u16 {
        if self.little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    }

    /// Reads on and converts what it can; false at the end of the text.
    fn refill(&mut self) -> io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        let mut eof = false;
        while self.have < CHUNK {
            match self.inner.read(&mut self.raw[self.have..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => self.have += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if eof && self.have % 2 == 1 {
            if self.have == self.raw.len() {
                self.raw.push(0);
            }
            self.raw[self.have] = 0;
            self.have += 1;
        }
        let whole = self.have / 2 * 2;
        let mut used = 0;
        self.out.clear();
        self.out_pos = 0;
        // ASCII (nearly all of an export) eight units at a time: each unit's
        // high byte zero and low byte under 0x80.
        let (mask, low) = if self.little {
            (0xFF80_u16.to_le_bytes(), 0)
        } else {
            (0xFF80_u16.to_be_bytes(), 1)
        };
        let mask = u128::from_le_bytes(std::array::from_fn(|i| mask[i % 2]));
        // At most three bytes of UTF-8 per unit; `w` bytes written.
        self.out.resize(whole / 2 * 3, 0);
        let mut w = 0;
        while used < whole {
            // A run of ASCII, eight units at a time.
            for (eight, to) in self.raw[used..whole]
                .chunks_exact(16)
                .zip(self.out[w..].chunks_exact_mut(8))
            {
                let eight: &[u8; 16] = eight.try_into().expect("16 bytes");
                if u128::from_le_bytes(*eight) & mask != 0 {
                    break;
                }
                for (i, b) in to.iter_mut().enumerate() {
                    *b = eight[2 * i + low];
                }
                used += 16;
                w += 8;
            }
            if used == whole {
                break;
            }
            let u = self.unit([self.raw[used], self.raw[used + 1]]);
            let c = if !(0xD800..0xE000).contains(&u) {
                char::from_u32(u32::from(u))
            } else if u < 0xDC00 && used + 4 <= whole {
                let low = self.unit([self.raw[used + 2], self.raw[used + 3]]);
                char::decode_utf16([u, low]).next().and_then(Result::ok)
            } else if u < 0xDC00 && !eof {
                break; // its pair comes with the next read
            } else {
                None
            };
            let Some(c) = c else {
                // The error `char::decode_utf16` gives for this unit.
                let e = char::decode_utf16([u]).find_map(Result::err);
                return Err(match e {
                    Some(e) => io::Error::other(ReadError::NotUtf16(e)),
                    None => io::Error::from(io::ErrorKind::InvalidData),
                });
            };
            w += c.encode_utf8(&mut self.out[w..]).len();
            used += 2 * c.len_utf16();
        }
        self.out.truncate(w);
        self.raw.copy_within(used..self.have, 0);
        self.have -= used;
        if eof {
            self.done = true;
        }
        Ok(!self.out.is_empty() || !self.done)
    }
}

impl<R: Read> Read for Utf16<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `r` to its end a few bytes at a time (reads of every size).
    fn read_all(mut r: impl Read) -> Result<Vec<u8>, io::Error> {
        let mut out = Vec::new();
        let mut buf = [0; 7];
        loop {
            match r.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// A reader that hands out at most `n` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn encode(text: &str, little: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| {
                if little {
                    u.to_le_bytes()
                } else {
                    u.to_be_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn converts_both_orders_across_reads_of_any_size() {
        let text = "{\"id\":\"é😀\"}\n".repeat(5_000);
        for little in [true, false] {
            let bytes = encode(&text, little);
            for (head, step) in [(0, 1), (3, 5), (1, 1 << 20), (CHUNK - 1, 3)] {
                let r = Utf16::new(&bytes[..head], Trickle(&bytes[head..], step), little);
                assert_eq!(read_all(r).unwrap(), text.as_bytes(), "{little} {step}");
            }
        }
    }

    #[test]
    fn a_lone_surrogate_is_not_utf16() {
        for units in [&[0x41, 0xD800, 0x41][..], &[0xDC00], &[0x41, 0xD800]] {
            let bytes: Vec<u8> = units.iter().flat_map(|u: &u16| u.to_le_bytes()).collect();
            let e = read_all(Utf16::new(&[], &bytes[..], true)).unwrap_err();
            let e = e.downcast::<ReadError>().unwrap();
            assert!(matches!(e, ReadError::NotUtf16(_)), "{e}");
        }
    }

    #[test]
    fn an_odd_last_byte_is_a_unit_with_a_zero_byte() {
        let r = Utf16::new(b"{\x00", &b"x"[..], true);
        assert_eq!(read_all(r).unwrap(), b"{x");
    }
}
