//! The ruleset's non-XML text — CDB list lines, address lists, times and weekdays — never
//! panics, whatever the bytes, and list lookups on it neither.
#![no_main]

use vigil::ruleset::lists::{List, Lookup};
use vigil::ruleset::rule::ip::{IpEntry, found_in};
use vigil::ruleset::rule::when::{TimeRange, Weekdays};

const LOOKUPS: [&str; 6] = [
    "match_key",
    "not_match_key",
    "match_key_value",
    "address_match_key",
    "not_address_match_key",
    "address_match_key_value",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let list = List::from_text("etc/lists/fuzz", data);
    let key = data.split(|&b| b == b':').next().unwrap_or_default();
    for lookup in LOOKUPS.iter().filter_map(|l| Lookup::parse(l)) {
        let _ = lookup.test(&list, key, None);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(entry) = IpEntry::parse(&text) {
        let _ = found_in(&text, &[entry]);
    }
    let _ = TimeRange::parse(&text).map(|t| t.matches(&text));
    let _ = Weekdays::parse(&text).map(|w| w.contains(data.first().copied().unwrap_or(0)));
});
