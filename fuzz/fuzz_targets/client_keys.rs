//! client.keys parsing never panics, and what parses writes back to the same bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(entries) = vigil::store::keys::parse(text) {
        let written = vigil::store::keys::format(&entries);
        assert_eq!(vigil::store::keys::parse(&written).ok(), Some(entries));
    }
});
