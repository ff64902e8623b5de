//! The one place vigil inflates zlib data: capped, so a zip bomb costs at most the cap.

use std::io::Read as _;

/// Why inflating stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inflate {
    /// Not a zlib stream, or a damaged one.
    Corrupt,
    /// More than the cap would come out.
    OverCap,
}

/// Inflates a zlib stream (bytes after its end are ignored, as Wazuh ignores them) into at
/// most `cap` bytes.
pub fn inflate_capped(data: &[u8], cap: usize) -> Result<Vec<u8>, Inflate> {
    let mut out = Vec::with_capacity((data.len() * 4).min(cap));
    // The one sanctioned use: the `take` below is the cap the lint asks for.
    #[allow(clippy::disallowed_methods)]
    let decoder = flate2::read::ZlibDecoder::new(data);
    // Read one byte past the cap, so an exact fit and a bomb are told apart.
    decoder.take(cap as u64 + 1).read_to_end(&mut out).map_err(|_| Inflate::Corrupt)?;
    if out.len() > cap { Err(Inflate::OverCap) } else { Ok(out) }
}
