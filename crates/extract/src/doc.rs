//! Access to a loaded document under the per-file limits: reference chains of bounded depth,
//! stream decoding against one decompressed-bytes budget, and the wall-clock deadline.

use std::cell::Cell;
use std::time::Instant;

use std::io::Read;

use flate2::read::ZlibDecoder;
use lopdf::{Document, Object, Stream};

use crate::{ExtractError, Limits};

pub struct Ctx<'d> {
    pub doc: &'d Document,
    pub limits: &'d Limits,
    used: Cell<u64>,
    deadline: Instant,
}

impl<'d> Ctx<'d> {
    pub fn new(doc: &'d Document, limits: &'d Limits, start: Instant) -> Self {
        Ctx {
            doc,
            limits,
            used: Cell::new(0),
            deadline: start + limits.wall_time,
        }
    }

    /// Follows references until a direct object.
    pub fn resolve<'a>(&'a self, mut obj: &'a Object) -> Result<&'a Object, ExtractError> {
        let mut hops = 0usize;
        while let Object::Reference(id) = obj {
            hops += 1;
            if hops > self.limits.max_ref_depth {
                return Err(ExtractError::Malformed(format!(
                    "reference chain longer than {} (a reference loop?) at object {} {}",
                    self.limits.max_ref_depth, id.0, id.1
                )));
            }
            obj = match self.doc.objects.get(id) {
                Some(o) => o,
                None => return Ok(&Object::Null),
            };
        }
        Ok(obj)
    }

    /// The decoded bytes of a stream, counted against the file's decompressed-bytes budget.
    pub fn stream_data(&self, s: &Stream) -> Result<Vec<u8>, ExtractError> {
        self.check_time()?;
        let limit = self.limits.max_decompressed_bytes;
        let remaining = limit.saturating_sub(self.used.get());
        let over = || {
            ExtractError::LimitExceeded(format!(
                "decompressed data over {} MiB",
                limit / (1024 * 1024)
            ))
        };
        if let Some(raw) = plain_flate(s) {
            match inflate_bounded(raw, remaining) {
                Inflated::Data(data) => {
                    self.used.set(self.used.get() + data.len() as u64);
                    return Ok(data);
                }
                Inflated::OverLimit => return Err(over()),
                // Not zlib data after all: lopdf's decoders try harder.
                Inflated::NotZlib => {}
            }
        }
        let data = match s
            .get_plain_content_with_limit(usize::try_from(remaining).unwrap_or(usize::MAX))
        {
            Ok(d) => d,
            Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded {
                ..
            })) => {
                return Err(ExtractError::LimitExceeded(format!(
                    "decompressed data over {} MiB",
                    limit / (1024 * 1024)
                )))
            }
            Err(e) => return Err(ExtractError::Malformed(format!("unreadable stream: {e}"))),
        };
        self.used.set(self.used.get() + data.len() as u64);
        Ok(data)
    }

    pub fn check_time(&self) -> Result<(), ExtractError> {
        if Instant::now() > self.deadline {
            Err(ExtractError::Timeout(self.limits.wall_time.as_secs_f32()))
        } else {
            Ok(())
        }
    }
}

/// Output held in memory before a stream must prove it is not a bomb: past this (and 64 times
/// its compressed size), the rest is only counted, and the stream decoded again if it fits.
const SPOOL: u64 = 32 * 1024 * 1024;

enum Inflated {
    Data(Vec<u8>),
    OverLimit,
    NotZlib,
}

/// The raw bytes of a stream whose only filter is FlateDecode without parameters (the form of
/// nearly every content stream), for the bounded decoder below.
fn plain_flate(s: &Stream) -> Option<&[u8]> {
    if s.dict.has(b"DecodeParms") {
        return None;
    }
    match s.dict.get(b"Filter").ok()? {
        Object::Name(n) if n == b"FlateDecode" => Some(&s.content),
        Object::Array(a)
            if a.len() == 1 && matches!(&a[0], Object::Name(n) if n == b"FlateDecode") =>
        {
            Some(&s.content)
        }
        _ => None,
    }
}

/// Inflates at most `limit` bytes without ever holding more than the spool of a stream that
/// turns out to be over the limit. Damaged data yields what was decoded before the damage, as
/// viewers show it.
fn inflate_bounded(raw: &[u8], limit: u64) -> Inflated {
    let hold = SPOOL.max((raw.len() as u64).saturating_mul(64)).min(limit);
    let mut out = Vec::with_capacity((raw.len().saturating_mul(4)).min(hold as usize));
    let mut dec = ZlibDecoder::new(raw);
    match (&mut dec).take(hold + 1).read_to_end(&mut out) {
        Ok(_) if (out.len() as u64) <= hold => return Inflated::Data(out),
        Ok(_) => {}
        Err(_) if out.is_empty() => return Inflated::NotZlib,
        Err(_) => return Inflated::Data(out),
    }
    if hold >= limit {
        return Inflated::OverLimit;
    }
    // Larger than the spool but perhaps within the limit: count the rest without keeping it.
    let mut total = out.len() as u64;
    drop(out);
    let mut scratch = vec![0u8; 1 << 16];
    loop {
        match dec.read(&mut scratch) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                if total > limit {
                    return Inflated::OverLimit;
                }
            }
            Err(_) => break,
        }
    }
    let mut out = Vec::with_capacity(total as usize);
    let _ = ZlibDecoder::new(raw).take(total).read_to_end(&mut out);
    Inflated::Data(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn bounded_inflate() {
        let text = b"BT /F1 12 Tf (HC-1042) Tj ET".repeat(10);
        assert!(matches!(inflate_bounded(&zlib(&text), 1 << 20), Inflated::Data(d) if d == text));
        // Over the limit: refused.
        let big = vec![b' '; 40 << 20];
        let z = zlib(&big);
        assert!(matches!(inflate_bounded(&z, 39 << 20), Inflated::OverLimit));
        assert!(matches!(inflate_bounded(&z, 1 << 20), Inflated::OverLimit));
        // Larger than the spool yet within the limit: decoded whole.
        assert!(matches!(inflate_bounded(&z, 64 << 20), Inflated::Data(d) if d.len() == 40 << 20));
        // Damaged: what came before the damage.
        let mut cut = zlib(&text);
        cut.truncate(cut.len() / 2);
        assert!(
            matches!(inflate_bounded(&cut, 1 << 20), Inflated::Data(d) if !d.is_empty() && text.starts_with(&d))
        );
        assert!(matches!(
            inflate_bounded(b"not zlib", 1 << 20),
            Inflated::NotZlib
        ));
    }
}
