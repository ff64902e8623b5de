//! `<time>` and `<weekday>` (engine.md §5.2; Wazuh's `OS_IsValidTime`/`OS_IsonTime` and
//! `OS_IsValidDay`/`OS_IsonDay`), with their quirks.

/// A `<time>` range, as Wazuh stores it: bounds `hh:mm` compared as text, inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRange {
    /// `true`: the check passes outside the range.
    outside: bool,
    from: String,
    to: String,
}

/// Why a `<time>` or `<weekday>` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    /// Not `hh[:mm][am|pm] - hh[:mm][am|pm]`.
    #[error("(1240): Invalid time format: '{0}'.")]
    Time(String),
    /// Not a list of day names.
    #[error("(1241): Invalid day format: '{0}'.")]
    Day(String),
}

/// C's `atoi`: leading white space, an optional sign, then digits.
fn atoi(s: &[u8]) -> i64 {
    let s = &s[s.iter().take_while(|b| b" \t\n\x0b\x0c\r".contains(b)).count()..];
    let (negative, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = s
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, &b| n.saturating_mul(10).saturating_add(i64::from(b - b'0')));
    if negative { -n } else { n }
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    &s[s.iter().take_while(|&&b| b == b' ').count()..]
}

/// Wazuh's `__gethour`: one `hh[:mm][ ][am|pm]`, as `hh:mm`, and what follows it.
fn hour(s: &[u8]) -> Option<(String, &[u8])> {
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let mut chour = atoi(s);
    if !(0..24).contains(&chour) {
        return None;
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 2 {
        return None;
    }
    let mut s = &s[digits..];
    let mut cmin = 0;
    if at(s, 0) == b':' {
        s = &s[1..];
        if (!at(s, 0).is_ascii_digit() || !at(s, 1).is_ascii_digit()) && at(s, 2).is_ascii_digit() {
            return None;
        }
        cmin = atoi(s);
        // Wazuh steps two bytes whatever they were.
        s = s.get(2..).unwrap_or_default();
    }
    s = skip_spaces(s);
    let meridian = at(s, 0).to_ascii_lowercase();
    if meridian == b'a' || meridian == b'p' {
        if !at(s, 1).eq_ignore_ascii_case(&b'm') {
            return None;
        }
        if chour == 12 {
            chour = 0;
        }
        if meridian == b'p' {
            chour += 12;
            if chour >= 24 {
                return None;
            }
        }
        s = &s[2..];
    }
    Some((format!("{chour:02}:{cmin:02}"), s))
}

impl TimeRange {
    /// Reads `[!] hh[:mm][am|pm] - hh[:mm][am|pm]`. A range written backwards covers the night
    /// (it becomes "outside to–from"), and then a `!` is lost, as in Wazuh.
    pub fn parse(text: &str) -> Result<Self, WhenError> {
        let error = || WhenError::Time(text.to_owned());
        let mut s = skip_spaces(text.as_bytes());
        let negated = s.first() == Some(&b'!');
        if negated {
            s = skip_spaces(&s[1..]);
        }
        let (first, rest) = hour(s).ok_or_else(error)?;
        let rest = skip_spaces(rest);
        let rest = rest.strip_prefix(b"-").ok_or_else(error)?;
        let (second, rest) = hour(skip_spaces(rest)).ok_or_else(error)?;
        if !skip_spaces(rest).is_empty() {
            return Err(error());
        }
        Ok(if first > second {
            Self { outside: true, from: second, to: first }
        } else {
            Self { outside: negated, from: first, to: second }
        })
    }

    /// Whether `hour` (`hh:mm`, or longer: only five bytes count) passes.
    pub fn matches(&self, hour: &str) -> bool {
        let five = |s: &str| s.as_bytes().get(..5).map(<[u8]>::to_vec).unwrap_or_else(|| s.as_bytes().to_vec());
        let now = five(hour);
        let inside = now >= five(&self.from) && now <= five(&self.to);
        inside != self.outside
    }
}

/// A `<weekday>` set; index 0 is Sunday, as C's `tm_wday`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekdays([bool; 7]);

impl Weekdays {
    /// Reads day names (`monday`/`mon`…, `weekdays`, `weekends`, case-insensitive) separated by
    /// spaces or commas. A leading `!` is refused, as Wazuh's parser never steps over it.
    pub fn parse(text: &str) -> Result<Self, WhenError> {
        const NAMES: [(&str, u8); 16] = [
            ("sunday", 0),
            ("sun", 0),
            ("monday", 1),
            ("mon", 1),
            ("tuesday", 2),
            ("tue", 2),
            ("wednesday", 3),
            ("wed", 3),
            ("thursday", 4),
            ("thu", 4),
            ("friday", 5),
            ("fri", 5),
            ("saturday", 6),
            ("sat", 6),
            ("weekdays", 7),
            ("weekends", 8),
        ];
        let error = || WhenError::Day(text.to_owned());
        let mut days = [false; 7];
        let mut s = skip_spaces(text.as_bytes());
        while !s.is_empty() {
            let (name, day) = NAMES
                .iter()
                .find(|(name, _)| s.get(..name.len()).is_some_and(|head| head.eq_ignore_ascii_case(name.as_bytes())))
                .ok_or_else(error)?;
            match day {
                7 => days[1..6].fill(true),
                8 => (days[0], days[6]) = (true, true),
                d => days[usize::from(*d)] = true,
            }
            s = &s[name.len()..];
            match s.first() {
                None => break,
                Some(b' ' | b',') => s = &s[s.iter().take_while(|&&b| b == b' ' || b == b',').count()..],
                Some(_) => return Err(error()),
            }
        }
        if days.iter().any(|&d| d) { Ok(Self(days)) } else { Err(error()) }
    }

    /// Whether day `wday` (0 = Sunday … 6 = Saturday) is in the set.
    pub fn contains(&self, wday: u8) -> bool {
        self.0.get(usize::from(wday)).copied().unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> TimeRange {
        TimeRange::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn time_forms() {
        let day = range("9:00 am - 5:30pm");
        assert!(day.matches("09:00:00") && day.matches("17:30") && !day.matches("17:31") && !day.matches("08:59"));
        let night = range("18:00 - 6:00");
        assert!(night.matches("23:10") && night.matches("05:00") && !night.matches("12:00"));
        let not_day = range("!8 - 17");
        assert!(not_day.matches("07:59") && !not_day.matches("08:00"));
        assert_eq!(range("!18:00-06:00"), range("18:00-06:00"), "a backwards range loses its `!`");
        assert!(range("12am - 12pm").matches("00:00"));
        assert!(range("12am - 12pm").matches("12:00"));
        // Wazuh logs a complaint about a missing hour but goes on with 00.
        assert_eq!(range("10 - "), range("!00:00 - 10:00"));
        for bad in ["25:00 - 1", "-5 - 10", "10 to 12", "13pm - 14pm", "100 - 2", "9ax - 10", "10 - 12 extra"] {
            assert_eq!(TimeRange::parse(bad), Err(WhenError::Time(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn weekday_forms() {
        let w = Weekdays::parse("Mon, wed friday").expect("days");
        assert!(w.contains(1) && w.contains(3) && w.contains(5) && !w.contains(0) && !w.contains(9));
        let weekends = Weekdays::parse("weekends").expect("weekends");
        assert!(weekends.contains(0) && weekends.contains(6) && !weekends.contains(3));
        assert!(Weekdays::parse("weekdays").expect("weekdays").contains(2));
        for bad in ["!monday", "mondays", "someday", "", " , "] {
            assert_eq!(Weekdays::parse(bad), Err(WhenError::Day(bad.to_owned())), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panic(text in "[0-9apm: !,-]{0,16}") {
            let _ = TimeRange::parse(&text).map(|r| r.matches("12:34"));
            let _ = Weekdays::parse(&text);
        }
    }
}
