//! Wazuh's expression dialects: OS_Match, OS_Regex (ported with their quirks) and PCRE2.

mod expression;
pub mod osmatch;
pub mod osregex;
pub mod pcre2;
mod subject;
mod word;

pub use expression::{Dialect, Expression, ExpressionError};
pub use osmatch::{OsMatch, OsMatchError};
pub use osregex::{Match, OsRegex, OsRegexError, Requirement};
pub use pcre2::{Pcre2, Pcre2Error};
pub use subject::{Haystack, Literal, Subject};
pub use word::word_match;
