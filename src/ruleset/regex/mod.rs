//! Wazuh's expression dialects: OS_Match, OS_Regex (ported with their quirks) and PCRE2.

pub mod osmatch;
pub mod osregex;

pub use osmatch::{OsMatch, OsMatchError};
pub use osregex::{Match, OsRegex, OsRegexError};
