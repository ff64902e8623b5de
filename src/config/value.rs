//! Reading element values the way Wazuh's config readers do, collecting problems with file and
//! line instead of stopping at the first one.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::xml::Element;

/// How bad a problem is: an error stops `vigil serve` (Wazuh would not start either), a warning
/// is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Wazuh refuses such a config.
    Error,
    /// Accepted, with a note.
    Warning,
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when the whole file is concerned).
    pub line: u32,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in Wazuh's words where Wazuh has them.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}: {level}: {}", self.file.display(), self.line, self.message)
    }
}

/// A secret from the config (API keys, cluster keys). Shown as `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl Secret {
    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// Serializes a duration as whole seconds, the unit Wazuh reports.
pub fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// Serializes a duration as whole milliseconds (vigil's finer settings).
pub fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Wazuh's `w_parse_time`: digits, then an optional unit `s`, `m`, `h`, `d` or `w` (lower case).
/// Like Wazuh, anything after the unit letter is ignored and an empty value is 0.
pub fn parse_time(text: &str) -> Option<Duration> {
    let trimmed = text.trim_start();
    let trimmed = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let number: u64 = if digits == 0 { 0 } else { trimmed[..digits].parse().ok()? };
    let unit = match trimmed.as_bytes().get(digits) {
        None | Some(b's') => 1,
        Some(b'm') => 60,
        Some(b'h') => 3600,
        Some(b'd') => 86_400,
        Some(b'w') => 604_800,
        Some(_) => return None,
    };
    number.checked_mul(unit).map(Duration::from_secs)
}

/// Collects problems while sections are read.
pub struct Reader<'a> {
    file: &'a Path,
    problems: &'a mut Vec<Problem>,
}

impl<'a> Reader<'a> {
    /// A reader for one file.
    pub fn new(file: &'a Path, problems: &'a mut Vec<Problem>) -> Self {
        Self { file, problems }
    }

    fn push(&mut self, line: u32, severity: Severity, message: String) {
        self.problems.push(Problem { file: self.file.to_owned(), line, severity, message });
    }

    /// Records an error at an element.
    pub fn error(&mut self, el: &Element, message: impl Into<String>) {
        self.push(el.line, Severity::Error, message.into());
    }

    /// Records a warning at an element.
    pub fn warn(&mut self, el: &Element, message: impl Into<String>) {
        self.push(el.line, Severity::Warning, message.into());
    }

    /// Wazuh's 1230: an element the section does not know.
    pub fn invalid_element(&mut self, el: &Element) {
        self.error(el, format!("Invalid element in the configuration: '{}'.", el.name));
    }

    /// Wazuh's 1235: a value the element does not take.
    pub fn invalid_value(&mut self, el: &Element) {
        self.error(el, format!("Invalid value for element '{}': {}.", el.name, el.text));
    }

    /// An element Wazuh accepts but vigil has no use for.
    pub fn unused(&mut self, el: &Element) {
        self.warn(el, format!("Element '{}' is accepted for compatibility and not used by vigil.", el.name));
    }

    /// `yes` or `no`, exactly.
    pub fn yes_no(&mut self, el: &Element, target: &mut bool) {
        match el.text.as_str() {
            "yes" => *target = true,
            "no" => *target = false,
            _ => self.invalid_value(el),
        }
    }

    /// Digits only (an empty value is 0, as `OS_StrIsNum` + `atoi` make it), within `range`.
    pub fn number<T>(&mut self, el: &Element, range: std::ops::RangeInclusive<T>, target: &mut T)
    where
        T: FromStr + PartialOrd + Default + Copy,
    {
        let value = if el.text.is_empty() {
            Some(T::default())
        } else if el.text.bytes().all(|b| b.is_ascii_digit()) {
            el.text.parse().ok()
        } else {
            None
        };
        match value.filter(|v| range.contains(v)) {
            Some(v) => *target = v,
            None => self.invalid_value(el),
        }
    }

    /// A duration in Wazuh's time syntax, at least `min`.
    pub fn time(&mut self, el: &Element, min: Duration, target: &mut Duration) {
        match parse_time(&el.text).filter(|d| *d >= min) {
            Some(d) => *target = d,
            None => self.invalid_value(el),
        }
    }

    /// Any text.
    pub fn text(&mut self, el: &Element, target: &mut Option<String>) {
        *target = Some(el.text.clone());
    }

    /// A secret.
    pub fn secret(&mut self, el: &Element, target: &mut Option<Secret>) {
        *target = Some(Secret(el.text.clone()));
    }

    /// A value parsed with `FromStr`.
    pub fn parsed<T: FromStr>(&mut self, el: &Element, target: &mut T) {
        match el.text.parse() {
            Ok(v) => *target = v,
            Err(_) => self.invalid_value(el),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wazuh_time_units() {
        let secs = |t: &str| parse_time(t).map(|d| d.as_secs());
        assert_eq!(secs("15m"), Some(900));
        assert_eq!(secs("900"), Some(900));
        assert_eq!(secs("1h"), Some(3600));
        assert_eq!(secs("2d"), Some(172_800));
        assert_eq!(secs("1w"), Some(604_800));
        assert_eq!(secs("10mx"), Some(600), "Wazuh ignores what follows the unit");
        assert_eq!(secs(""), Some(0));
        assert_eq!(secs("1H"), None, "units are lower case");
        assert_eq!(secs("-5"), None);
        assert_eq!(secs("5y"), None);
    }
}
