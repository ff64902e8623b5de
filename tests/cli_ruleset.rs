//! `vigil ruleset check` on a Wazuh-shaped home, and what broken decoder files get.

mod common;

use common::ruleset_home::wazuh_home;
use common::vigil;

/// A Wazuh-shaped home with Wazuh's stock server config as its etc/ossec.conf.
fn home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    wazuh_home(dir.path());
    dir
}

/// Runs `vigil ruleset check`: success, stdout, stderr, and the decoder count it printed.
fn check(home: &std::path::Path) -> (bool, String, String, usize) {
    let out = vigil().args(["ruleset", "check", "--home"]).arg(home).output().expect("run vigil");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let decoders = stdout
        .lines()
        .find_map(|l| l.strip_prefix("decoders: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (out.status.success(), stdout, String::from_utf8_lossy(&out.stderr).into_owned(), decoders)
}

#[test]
fn stock_ruleset_loads_with_counts() {
    let dir = home();
    let (ok, stdout, stderr, decoders) = check(dir.path());
    assert!(ok, "{stdout}\n{stderr}");
    // 1,575 stock decoders, the test suite's, and local_decoder.xml's.
    assert!(decoders > 1575, "{stdout}");
    // audit-keys (5), malware-hashes (199), malicious-ip (199) and malicious-domains (200).
    assert!(stdout.contains("lists: 4 (603 entries)"), "{stdout}");
    assert!(!stderr.contains(": error:"), "{stderr}");
}

#[test]
fn broken_decoders_are_named_and_the_rest_loads() {
    let dir = home();
    std::fs::write(
        dir.path().join("etc/decoders/zz_broken.xml"),
        "<decoder name=\"good-one\">\n  <prematch>^good </prematch>\n</decoder>\n\
         <decoder name=\"bad-element\">\n  <prematch>x</prematch>\n  <colour>red</colour>\n</decoder>\n\
         <decoder name=\"bad-regex\">\n  <prematch>\\q</prematch>\n</decoder>\n\
         <decoder name=\"bad-plugin\">\n  <prematch>y</prematch>\n  <plugin_decoder>Nope_Decoder</plugin_decoder>\n</decoder>\n\
         <decoder name=\"orphan\">\n  <parent>no-such-parent</parent>\n  <regex>(\\d+)</regex>\n  <order>id</order>\n</decoder>\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("etc/decoders/zz_unclosed.xml"), "<decoder name=\"x\">\n  <prematch>a</prematch>\n")
        .expect("write");
    let (ok, stdout, stderr, decoders) = check(dir.path());
    assert!(!ok, "broken files fail the check");
    for needle in [
        "etc/decoders/zz_broken.xml:6: error: decoder 'bad-element': Invalid element 'colour' for decoder 'decoder'",
        "etc/decoders/zz_broken.xml:9: error: decoder 'bad-regex': (1452): Syntax error on regex: '\\q'",
        "etc/decoders/zz_broken.xml:13: error: decoder 'bad-plugin': (2110): Invalid decoder argument for plugin_decoder: 'Nope_Decoder'.",
        "etc/decoders/zz_broken.xml:15: error: decoder 'orphan': (2101): Parent decoder name invalid: 'no-such-parent'.",
        "etc/decoders/zz_unclosed.xml:3: error: (1226): Error reading XML file: XMLERR: End of file and some elements were not closed.",
    ] {
        assert!(stderr.contains(needle), "missing `{needle}` in:\n{stderr}");
    }
    assert!(decoders > 1575, "the rest still loads: {stdout}");
}
