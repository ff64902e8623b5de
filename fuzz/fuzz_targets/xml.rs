//! Wazuh XML (rules, decoders, ossec.conf) never panics, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(mut doc) = vigil::xml::Document::parse(&text) {
        let _ = doc.apply_variables();
    }
});
