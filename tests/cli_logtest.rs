//! `vigil logtest` prints wazuh-logtest's layout (phases, sorted and flattened fields, Python
//! value formatting, the rule trace with `-v`) and keeps wazuh-logtest's `-U` exit codes.

mod common;

use std::io::Write as _;
use std::process::{Output, Stdio};

use common::{scratch, vigil};

fn logtest(home: &std::path::Path, args: &[&str], input: &str) -> Output {
    let mut child = vigil()
        .arg("logtest")
        .args(args)
        .arg("--home")
        .arg(home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn logtest");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    child.wait_with_output().expect("output")
}

const ACCEPTED: &str = "Nov 27 12:00:00 web01 sshd[99]: Accepted password for alice from 10.0.0.5 port 5000 ssh2\n";

#[test]
fn phases_are_printed_as_wazuh_logtest_prints_them() {
    let s = scratch();
    vigil::home::Home::new(&s.home).prepare(0).expect("home");
    let out = logtest(&s.home, &["-v"], ACCEPTED);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "**Phase 1: Completed pre-decoding.\n\tfull event: 'Nov 27 12:00:00 web01 sshd[99]: Accepted password for alice from 10.0.0.5 port 5000 ssh2'\n\ttimestamp: 'Nov 27 12:00:00'\n\thostname: 'web01'\n\tprogram_name: 'sshd'\n",
        "**Phase 2: Completed decoding.\n\tname: 'vigil-sshd'\n\tparent: 'vigil-sshd'\n\tauth_method: 'password'\n\tdstuser: 'alice'\n\tsrcip: '10.0.0.5'\n\tsrcport: '5000'\n",
        "**Rule debugging:\n\tTrying rule: 1 - Syslog events.\n\t\t*Rule 1 matched\n\t\t*Trying child rules\n\tTrying rule: 800100 - sshd messages.\n\t\t*Rule 800100 matched\n",
        "**Phase 3: Completed filtering (rules).\n\tid: '800101'\n\tlevel: '3'\n\tdescription: 'sshd: authentication success for alice from 10.0.0.5.'\n\tgroups: '['syslog', 'sshd', 'authentication_success']'\n\tfiredtimes: '1'\n",
        "\tmail: 'False'\n\tmitre.id: '['T1078', 'T1021.004']'\n",
        "**Alert to be generated.\n",
    ] {
        assert!(text.contains(expected), "missing:\n{expected}\nin:\n{text}");
    }
    assert!(String::from_utf8_lossy(&out.stdout).starts_with('\n'), "the input prompt is a newline on stdout");
}

#[test]
fn unit_test_exit_codes_follow_wazuh_logtest() {
    let s = scratch();
    vigil::home::Home::new(&s.home).prepare(0).expect("home");
    let code = |ut: &str, input: &str| logtest(&s.home, &["-q", "-U", ut], input).status.code();
    assert_eq!(code("800101:3:vigil-sshd", ACCEPTED), Some(0));
    assert_eq!(code("800101:4:vigil-sshd", ACCEPTED), Some(1), "a wrong level fails");
    assert_eq!(code("::", "nothing decodes this\n"), Some(3), "equal, with three empty fields: exit 3");
    assert_eq!(code("only:two", ACCEPTED), Some(1), "a malformed -U");
    let quiet = logtest(&s.home, &["-q", "-U", "800101:3:vigil-sshd"], ACCEPTED);
    assert!(quiet.stderr.is_empty(), "-q prints nothing for a normal run");
}
