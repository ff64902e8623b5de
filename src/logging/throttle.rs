//! Log lines that cannot flood the log: a throttle lets [`LINES_PER_SECOND`] lines a second
//! through, says when the rest are only counted, and tells the next line how many were left out.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Log lines per second a throttle lets through.
pub const LINES_PER_SECOND: u64 = 20;

/// One kind of log line's allowance.
#[derive(Debug, Default)]
pub struct Throttle {
    second: AtomicU64,
    lines: AtomicU64,
    suppressed: AtomicU64,
}

/// What the throttle allows for one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// A line; this many were left out before it.
    Write(u64),
    /// The last line this second: it says the rest are only counted.
    Last,
    /// No line.
    Quiet,
}

impl Line {
    /// What to append to the line's text, or `None` for no line.
    pub fn suffix(self) -> Option<String> {
        match self {
            Self::Write(0) => Some(String::new()),
            Self::Write(n) => Some(format!(" ({n} more like it were not logged)")),
            Self::Last => Some(" (more like this one this second are only counted)".to_owned()),
            Self::Quiet => None,
        }
    }
}

impl Throttle {
    /// The allowance for a line now.
    pub fn allow(&self) -> Line {
        self.allow_at(jiff::Timestamp::now().as_second().unsigned_abs())
    }

    /// The allowance for a line in second `now`.
    pub fn allow_at(&self, now: u64) -> Line {
        if self.second.swap(now, Relaxed) != now {
            self.lines.store(0, Relaxed);
        }
        match self.lines.fetch_add(1, Relaxed) {
            n if n + 1 < LINES_PER_SECOND => Line::Write(self.suppressed.swap(0, Relaxed)),
            n if n + 1 == LINES_PER_SECOND => Line::Last,
            _ => {
                self.suppressed.fetch_add(1, Relaxed);
                Line::Quiet
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_throttled_per_second_and_the_next_says_how_many_were_left_out() {
        let throttle = Throttle::default();
        let lines: Vec<Line> = (0..100).map(|_| throttle.allow_at(7)).collect();
        let written = lines.iter().filter(|l| matches!(l, Line::Write(_))).count() as u64;
        assert_eq!(written, LINES_PER_SECOND - 1);
        assert_eq!(lines[LINES_PER_SECOND as usize - 1], Line::Last);
        assert_eq!(throttle.allow_at(8), Line::Write(100 - LINES_PER_SECOND));
        assert_eq!(Line::Write(0).suffix().as_deref(), Some(""));
        assert_eq!(Line::Write(3).suffix().as_deref(), Some(" (3 more like it were not logged)"));
        assert_eq!(Line::Quiet.suffix(), None);
    }
}
