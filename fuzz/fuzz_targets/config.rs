//! ossec.conf reading never panics, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = vigil::config::parse(&text, std::path::Path::new("fuzz.conf"));
});
