use super::*;

fn pre(msg: &str) -> Predecoded {
    predecode(format!("1:stdin:{msg}").as_bytes(), "manager").unwrap_or_else(|e| panic!("{msg}: {e}"))
}

fn header(msg: &str) -> (Option<String>, Option<String>, Option<String>, String) {
    let p = pre(msg);
    let host = p.header_hostname.then_some(p.hostname);
    (p.timestamp, host, p.program_name, p.log)
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn classic_syslog() {
    assert_eq!(
        header("Dec 29 10:00:01 web01 sshd[1234]: Accepted password"),
        (s("Dec 29 10:00:01"), s("web01"), s("sshd"), "Accepted password".into())
    );
    assert_eq!(header("Dec 29 10:00:01 web01 su: x"), (s("Dec 29 10:00:01"), s("web01"), s("su"), "x".into()));
    assert_eq!(header("Feb  9 11:44:56 h kernel[0] x").2, s("kernel"));
    assert_eq!(header("Dec 29 10:00:01 h prog:x").3, "x", "the space after ':' is optional");
}

#[test]
fn iso_and_other_timestamps() {
    assert_eq!(header("2007-06-14T15:48:55-04:00 host prog: m").0, s("2007-06-14T15:48:55-04:00"));
    assert_eq!(header("2022-12-19T15:02:53.288+00:00 host prog: m").0, s("2022-12-19T15:02:53.288+00:00"));
    assert_eq!(header("2009-05-22T09:36:46.214994-07:00 host prog: m").0, s("2009-05-22T09:36:46.214994-07:00"));
    assert_eq!(header("2015 Dec 29 10:00:01 host prog: m").0, s("2015 Dec 29 10:00:01"));
    assert_eq!(header("2015-04-16 21:51:02,805 host prog: m").0, s("2015-04-16 21:51:02,805"));
    let apache = header("[Fri Feb 11 18:06:35 2004] [warn] something");
    assert_eq!((apache.0, apache.3), (s("Fri Feb 11 18:06:35 2004"), "[warn] something".into()));
    let snort = header("01/28-09:13:16.240702  [**] [1:2:3] alert");
    assert_eq!((snort.0, snort.3), (s("01/28-09:13:16.240702"), "[**] [1:2:3] alert".into()));
}

#[test]
fn solaris_aix_and_bad_pids() {
    assert_eq!(header("Dec 29 10:00:01 sshd: hello"), (s("Dec 29 10:00:01"), None, s("sshd"), "hello".into()));
    let aix = header("Dec 29 10:00:01 host auth|security:info sshd[12]: hello");
    assert_eq!((aix.1, aix.2, aix.3), (s("host"), s("sshd"), "hello".into()));
    let weird = header("Dec 29 10:00:01 host prog[12x] hello");
    assert_eq!((weird.2, weird.3), (None, "prog[12x] hello".into()));
    let id = header("Dec 29 10:00:01 host prog[1]: [ID 702911 auth.notice] text");
    assert_eq!(id.3, "text");
    let bad_host = header("Dec 29 10:00:01 ho#st prog: x");
    assert_eq!((bad_host.1, bad_host.2, bad_host.3), (None, None, "ho#st prog: x".into()));
}

#[test]
fn umlaut_month_loses_last_timestamp_char() {
    assert_eq!(header("Mär 02 17:30:52 host prog: x").0, s("Mär 02 17:30:5"));
}

#[test]
fn agent_locations() {
    let p = predecode(b"1:[001] (web01) 10.0.0.1->/var/log/auth.log:Dec 29 10:00:01 other sshd: hi", "m")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.agent_id, "001");
    assert_eq!(p.location, "(web01) 10.0.0.1->/var/log/auth.log");
    assert_eq!(p.hostname, "web01", "the agent name overrides the syslog hostname");
    assert_eq!(p.program_name, s("sshd"));
    let local = pre("no header here");
    assert_eq!(
        (local.agent_id.as_str(), local.hostname.as_str(), local.log.as_str()),
        ("000", "manager", "no header here")
    );
}

#[test]
fn escaped_locations_and_format_errors() {
    let p = predecode(b"1:fe80|:|:1:msg", "m").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((p.location.as_str(), p.log.as_str()), ("fe80::1", "msg"));
    let p = predecode(b"1:C|:\\x||y|:z", "m");
    assert_eq!(p.map(|p| p.location), Err(PredecodeError::Format), "no unescaped ':'");
    assert_eq!(predecode(b"1", "m"), Err(PredecodeError::Format));
    assert_eq!(predecode(b"1:[001 x:msg", "m"), Err(PredecodeError::Format));
}

#[test]
fn oversized_messages_are_cut_at_os_maxstr() {
    let mut raw = b"1:stdin:".to_vec();
    raw.extend(std::iter::repeat_n(b'x', 100_000));
    raw.extend_from_slice(b"\0after-nul \xff\xfe");
    let p = predecode(&raw, "m").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.full_log.len(), MAX_MESSAGE - 8);
    let with_nul = predecode(b"1:stdin:before\0after", "m").map(|p| p.log);
    assert_eq!(with_nul.as_deref(), Ok("before"), "a NUL ends the message, as in C");
    let invalid = predecode(b"1:stdin:caf\xe9 \xff", "m").map(|p| p.log);
    assert_eq!(invalid.as_deref(), Ok("caf\u{fffd} \u{fffd}"));
}

proptest::proptest! {
    #[test]
    fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
        let _ = predecode(&bytes, "m");
    }

    #[test]
    fn never_panics_on_header_shapes(msg in "[A-Za-z0-9 :\\[\\]|.\\-T+,()]{0,60}") {
        let _ = predecode(format!("1:l:{msg}").as_bytes(), "m");
    }
}
