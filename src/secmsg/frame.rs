//! TCP framing (protocol.md §2.1): a little-endian u32 length, then that many bytes; frames
//! may arrive split across reads or several in one.

use super::SecError;

/// Largest frame (`OS_MAXSTR`).
pub const MAX_FRAME: usize = 65_536;

/// Cuts a byte stream into frames.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    start: usize,
}

impl Framer {
    /// Appends what the socket gave.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `Ok(None)` when more bytes are needed, or an error for a length
    /// the protocol does not allow (the connection must close).
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, SecError> {
        let pending = &self.buf[self.start..];
        let Some(header) = pending.first_chunk::<4>() else {
            self.compact();
            return Ok(None);
        };
        let len = u32::from_le_bytes(*header) as usize;
        if len == 0 {
            return Err(SecError::EmptyFrame);
        }
        if len > MAX_FRAME {
            return Err(SecError::FrameTooLarge(len));
        }
        if pending.len() < 4 + len {
            self.compact();
            return Ok(None);
        }
        let from = self.start + 4;
        self.start = from + len;
        Ok(Some(&self.buf[from..from + len]))
    }

    /// Bytes received but not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Drops consumed bytes so the buffer stays one frame long.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

/// The wire message a frame made by [`frame`] carries: what a UDP datagram sends.
pub fn unframe(framed: &[u8]) -> &[u8] {
    framed.get(4..).unwrap_or_default()
}

/// One frame as it goes on the wire.
pub fn frame(wire: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(4 + wire.len());
    // Wire messages are at most MAX_FRAME bytes, well within u32.
    framed.extend_from_slice(&(wire.len() as u32).to_le_bytes());
    framed.extend_from_slice(wire);
    framed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_and_joined() {
        assert_eq!(unframe(&frame(b"first")), b"first");
        let mut stream = frame(b"first");
        stream.extend(frame(b"second"));
        let mut framer = Framer::default();
        let mut got = Vec::new();
        for byte in &stream {
            framer.push(std::slice::from_ref(byte));
            while let Ok(Some(f)) = framer.next_frame() {
                got.push(f.to_vec());
            }
        }
        assert_eq!(got, [b"first".to_vec(), b"second".to_vec()]);
        assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn bad_lengths_are_errors() {
        let mut framer = Framer::default();
        framer.push(&0u32.to_le_bytes());
        assert_eq!(framer.next_frame().err(), Some(SecError::EmptyFrame));
        let mut framer = Framer::default();
        framer.push(&65_537u32.to_le_bytes());
        assert_eq!(framer.next_frame().err(), Some(SecError::FrameTooLarge(65_537)));
    }
}
