//! Access to a loaded document under the per-file limits: reference chains of bounded depth,
//! stream decoding against one decompressed-bytes budget, and the wall-clock deadline.

use std::cell::Cell;
use std::time::Instant;

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
