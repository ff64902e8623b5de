//! The one place vigil inflates zlib data: capped, so a zip bomb costs at most the cap.

use std::cell::RefCell;

use flate2::{Decompress, FlushDecompress, Status};

/// Why inflating stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inflate {
    /// Not a zlib stream, or a damaged one.
    Corrupt,
    /// More than the cap would come out.
    OverCap,
}

thread_local! {
    /// One inflate state per thread, reset for each stream: a fresh one per message would
    /// allocate (and fragment the heap with) its window every time.
    static INFLATE: RefCell<Decompress> = RefCell::new(Decompress::new(true));
}

/// Inflates a zlib stream (bytes after its end are ignored, as Wazuh ignores them) into at
/// most `cap` bytes.
pub fn inflate_capped(data: &[u8], cap: usize) -> Result<Vec<u8>, Inflate> {
    INFLATE.with_borrow_mut(|stream| {
        stream.reset(true);
        // One byte past the cap tells an exact fit from a bomb.
        let limit = cap.saturating_add(1);
        let mut out = vec![0u8; data.len().saturating_mul(4).clamp(64, limit)];
        loop {
            let (read, written) = (stream.total_in(), stream.total_out());
            let input = data.get(read as usize..).unwrap_or_default();
            let output = out.get_mut(written as usize..).unwrap_or_default();
            let status = stream.decompress(input, output, FlushDecompress::Finish).map_err(|_| Inflate::Corrupt)?;
            let produced = stream.total_out() as usize;
            if produced > cap {
                return Err(Inflate::OverCap);
            }
            if status == Status::StreamEnd {
                out.truncate(produced);
                return Ok(out);
            }
            if produced == out.len() {
                out.resize(out.len().saturating_mul(2).min(limit), 0);
            } else if stream.total_in() == read && stream.total_out() == written {
                // Input exhausted before the stream's end: truncated.
                return Err(Inflate::Corrupt);
            }
        }
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Read as _;

    use flate2::Compression;
    use flate2::read::ZlibEncoder;

    use super::*;

    /// `data` as a zlib stream, made by flate2's own encoder.
    pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        ZlibEncoder::new(data, Compression::default()).read_to_end(&mut out).unwrap_or_default();
        out
    }

    #[test]
    fn streams_inflate_up_to_the_cap_and_no_further() {
        let text = b"a payload that compresses ".repeat(40);
        let stream = zlib(&text);
        assert_eq!(inflate_capped(&stream, text.len()).as_deref(), Ok(&text[..]), "an exact fit");
        assert_eq!(inflate_capped(&stream, text.len() - 1), Err(Inflate::OverCap));
        let mut trailing = stream.clone();
        trailing.extend_from_slice(b"junk after the end");
        assert_eq!(inflate_capped(&trailing, 1 << 16).as_deref(), Ok(&text[..]), "bytes after the end ignored");
        assert_eq!(inflate_capped(&stream[..stream.len() / 2], 1 << 16), Err(Inflate::Corrupt), "truncated");
        assert_eq!(inflate_capped(b"not zlib at all", 1 << 16), Err(Inflate::Corrupt));
        assert_eq!(inflate_capped(b"", 1 << 16), Err(Inflate::Corrupt));
        // The state is reused: a stream after a failed one still inflates.
        let bomb = zlib(&vec![0u8; 10 << 20]);
        assert_eq!(inflate_capped(&bomb, 1 << 16), Err(Inflate::OverCap));
        assert_eq!(inflate_capped(&stream, 1 << 16).as_deref(), Ok(&text[..]));
    }
}
