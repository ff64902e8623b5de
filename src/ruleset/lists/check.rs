//! A rule's `<list field="F" lookup="L" check_value="P">name</list>` (engine.md §6): which
//! event field is looked up, how, and in which list.

use super::{List, ListId, Lists};
use crate::engine::event::Event;
use crate::ruleset::decoder::StaticField;
use crate::ruleset::regex::OsMatch;

/// How a list tests a key (`lookup=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lookup {
    /// `match_key` (the default): the key exists.
    #[default]
    MatchKey,
    /// `not_match_key`: the key is absent.
    NotMatchKey,
    /// `match_key_value`: the key exists and `check_value` matches its value.
    MatchKeyValue,
    /// `address_match_key`: the key, or a prefix of it ending in `.`, exists.
    AddressMatchKey,
    /// `not_address_match_key`: neither the key nor such a prefix exists.
    NotAddressMatchKey,
    /// `address_match_key_value`: as Wazuh has it, true unless the key (or prefix) exists and
    /// `check_value` matches its value — the inverse of what the name says.
    AddressMatchKeyValue,
}

impl Lookup {
    /// Reads a `lookup=` value, case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.to_ascii_lowercase().as_str() {
            "match_key" => Self::MatchKey,
            "not_match_key" => Self::NotMatchKey,
            "match_key_value" => Self::MatchKeyValue,
            "address_match_key" => Self::AddressMatchKey,
            "not_address_match_key" => Self::NotAddressMatchKey,
            "address_match_key_value" => Self::AddressMatchKeyValue,
            _ => return None,
        })
    }

    /// Whether `key` passes this lookup in `list`; `check` is the compiled `check_value`.
    pub fn test(self, list: &List, key: &[u8], check: Option<&OsMatch>) -> bool {
        // Wazuh's OSMatch_Execute answers 0 when there is no pattern.
        let value_matches = |value: &[u8]| check.is_some_and(|m| m.is_match(value));
        match self {
            Self::MatchKey => list.get(key).is_some(),
            Self::NotMatchKey => list.get(key).is_none(),
            Self::MatchKeyValue => list.get(key).is_some_and(value_matches),
            Self::AddressMatchKey => address(list, key).is_some(),
            Self::NotAddressMatchKey => address(list, key).is_none(),
            Self::AddressMatchKeyValue => !address(list, key).is_some_and(value_matches),
        }
    }
}

/// The value of `key`, else of its longest prefix ending in `.` (`10.1.2.3` → `10.1.2.`,
/// `10.1.`, `10.`); no CIDR.
fn address<'l>(list: &'l List, key: &[u8]) -> Option<&'l [u8]> {
    list.get(key).or_else(|| (1..key.len()).rev().filter(|&n| key[n - 1] == b'.').find_map(|n| list.get(&key[..n])))
}

/// The event field a list looks up (`field=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListField {
    /// A decoded static field.
    Static(StaticField),
    /// `user`: `srcuser` when set, else `dstuser` (the opposite order of `<user>`).
    User,
    /// The pre-decoded host name.
    Hostname,
    /// The pre-decoded program name.
    ProgramName,
    /// Any other name: a dynamic field, found case-insensitively.
    Dynamic(Box<str>),
}

impl ListField {
    /// Reads a `field=` value. The names Wazuh knows compare case-insensitively; anything else
    /// is a dynamic field, cut at its first space after leading spaces.
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "user" => Self::User,
            "hostname" => Self::Hostname,
            "program_name" => Self::ProgramName,
            // `srcuser` and `dstuser` are not among the names a list field knows.
            "srcuser" | "dstuser" => Self::dynamic(text),
            name => StaticField::from_order(name).map_or_else(|| Self::dynamic(text), Self::Static),
        }
    }

    fn dynamic(text: &str) -> Self {
        Self::Dynamic(text.trim_start_matches(' ').split(' ').next().unwrap_or_default().into())
    }

    /// The field's value in `event`; `None` (a failed check) when it is not set.
    pub fn value<'e>(&self, event: &'e Event) -> Option<&'e str> {
        match self {
            Self::Static(field) => event.get(*field),
            Self::User => event.get(StaticField::SrcUser).or_else(|| event.get(StaticField::DstUser)),
            Self::Hostname => Some(event.pre.hostname.as_str()),
            Self::ProgramName => event.pre.program_name.as_deref(),
            Self::Dynamic(name) => event.field(name),
        }
    }
}

/// Why a `<list>` element is refused (Wazuh's texts; the rule parser adds file and line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// An unknown `lookup=`.
    #[error("List match lookup=\"{0}\" is not valid.")]
    Lookup(String),
    /// No `field=`.
    #[error("List requires the field=\"\" attribute")]
    NoField,
    /// A `check_value` that does not compile.
    #[error("(1450): Syntax error on regex: '{0}': {1}.")]
    CheckValue(String, String),
    /// The list is not among the loaded ones; Wazuh then drops the rule.
    #[error("List '{0}' could not be loaded.")]
    NotLoaded(String),
}

/// One compiled `<list>` of a rule.
#[derive(Debug, Clone)]
pub struct ListCheck {
    /// The list.
    pub list: ListId,
    /// The field looked up.
    pub field: ListField,
    /// How.
    pub lookup: Lookup,
    /// `check_value=`, an OS_Match pattern tested on the stored value.
    pub check_value: Option<OsMatch>,
}

impl ListCheck {
    /// Compiles a `<list>` naming `name`, with its attributes.
    pub fn new(
        name: &str,
        field: Option<&str>,
        lookup: Option<&str>,
        check_value: Option<&str>,
        lists: &Lists,
    ) -> Result<Self, CheckError> {
        let lookup = match lookup {
            Some(text) => Lookup::parse(text).ok_or_else(|| CheckError::Lookup(text.to_owned()))?,
            None => Lookup::default(),
        };
        let field = ListField::parse(field.ok_or(CheckError::NoField)?);
        let check_value = check_value
            .map(|p| OsMatch::new(p).map_err(|e| CheckError::CheckValue(p.to_owned(), e.to_string())))
            .transpose()?;
        let list = lists.find(name).ok_or_else(|| CheckError::NotLoaded(name.to_owned()))?;
        Ok(Self { list, field, lookup, check_value })
    }

    /// Whether `event` passes: its field is set and the lookup succeeds.
    pub fn matches(&self, lists: &Lists, event: &Event) -> bool {
        let (Some(value), Some(list)) = (self.field.value(event), lists.get(self.list)) else {
            return false;
        };
        // The key is a C string.
        let key = value.as_bytes();
        let key = &key[..memchr::memchr(0, key).unwrap_or(key.len())];
        self.lookup.test(list, key, self.check_value.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    fn list() -> List {
        List::from_text("etc/lists/t", b"10.1.:net\n192.168.1.7:host\nwrite:write\nread:\n")
    }

    #[test]
    fn every_lookup() {
        let l = list();
        let m = OsMatch::new("write|read").ok();
        let check = m.as_ref();
        assert!(Lookup::MatchKey.test(&l, b"write", None));
        assert!(!Lookup::MatchKey.test(&l, b"Write", None), "exact, case-sensitive");
        assert!(Lookup::NotMatchKey.test(&l, b"execute", None));
        assert!(Lookup::MatchKeyValue.test(&l, b"write", check));
        assert!(!Lookup::MatchKeyValue.test(&l, b"read", check), "empty value");
        assert!(!Lookup::MatchKeyValue.test(&l, b"write", None), "no check_value never matches");
        assert!(Lookup::AddressMatchKey.test(&l, b"10.1.2.3", None), "prefix ending in a dot");
        assert!(Lookup::AddressMatchKey.test(&l, b"192.168.1.7", None));
        assert!(!Lookup::AddressMatchKey.test(&l, b"10.2.0.1", None));
        assert!(!Lookup::AddressMatchKey.test(&l, b"10.1", None), "the prefix must end in a dot");
        assert!(Lookup::NotAddressMatchKey.test(&l, b"172.16.0.1", None));
        let net = OsMatch::new("net").ok();
        assert!(!Lookup::AddressMatchKeyValue.test(&l, b"10.1.9.9", net.as_ref()), "found and matching: false");
        assert!(Lookup::AddressMatchKeyValue.test(&l, b"192.168.1.7", net.as_ref()), "value differs: true");
        assert!(Lookup::AddressMatchKeyValue.test(&l, b"8.8.8.8", net.as_ref()), "absent: true");
        assert!(Lookup::AddressMatchKeyValue.test(&l, b"10.1.9.9", None), "no check_value: always true");
    }

    #[test]
    fn fields_and_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("etc/lists")).expect("mkdir");
        std::fs::write(dir.path().join("etc/lists/users"), "alice:\nbob:\n").expect("write");
        let (lists, _) = Lists::load(dir.path(), &["etc/lists/users".into()]);
        let check = ListCheck::new("etc/lists/users.cdb", Some("USER"), None, None, &lists).expect("compiles");
        assert_eq!(check.field, ListField::User);

        let pre = predecode(b"1:/var/log/x:some log", "vm").expect("predecode");
        let mut event = Event::new(pre);
        assert!(!check.matches(&lists, &event), "a missing field fails");
        event.set(StaticField::DstUser, "bob".into());
        assert!(check.matches(&lists, &event));
        event.set(StaticField::SrcUser, "mallory".into());
        assert!(!check.matches(&lists, &event), "srcuser is looked up first");

        let dynamic = ListCheck::new("etc/lists/users", Some("  who else"), None, None, &lists).expect("compiles");
        assert_eq!(dynamic.field, ListField::Dynamic("who".into()));
        event.push_dynamic("WHO".into(), "alice".into());
        assert!(dynamic.matches(&lists, &event), "dynamic names compare case-insensitively");

        assert_eq!(
            ListCheck::new("etc/lists/users", Some("user"), Some("fuzzy"), None, &lists).err(),
            Some(CheckError::Lookup("fuzzy".into()))
        );
        assert_eq!(ListCheck::new("etc/lists/users", None, None, None, &lists).err(), Some(CheckError::NoField));
        assert_eq!(
            ListCheck::new("etc/lists/nope", Some("user"), None, None, &lists).err(),
            Some(CheckError::NotLoaded("etc/lists/nope".into()))
        );
    }
}
