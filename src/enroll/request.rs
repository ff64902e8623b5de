//! The enrollment request line, parsed without I/O in the order and with the messages of
//! authd's `w_auth_parse_data` (protocol.md §1.2–1.3).

use subtle::ConstantTimeEq as _;

use super::error::EnrollError;
use super::groups;
use super::password::Password;
use crate::store::{AgentIp, AgentName, GroupName};

/// Longest `V:` value authd reads (`%2048[^']`).
const MAX_VERSION: usize = 2048;
/// Longest `G:` value authd reads (`%65536[^']`).
const MAX_GROUPS_TEXT: usize = 65_536;
/// Longest `IP:` value authd reads (`IPSIZE`).
const MAX_IP: usize = 64;
/// A `K:` value is a SHA-1 in hex.
const MAX_KEY_HASH: usize = 40;

/// Which address the new agent is registered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpChoice {
    /// No `IP:` part: the source address with `<use_source_ip>`, else `any`.
    Unspecified,
    /// `IP:'src'`: the connection's source address.
    Source,
    /// `IP:'<address>'`, in the form Wazuh stores it.
    Given(AgentIp),
}

/// A well-formed request to enroll an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The agent's name.
    pub name: AgentName,
    /// The agent's version (`V:`), e.g. `v4.14.7`.
    pub version: Option<String>,
    /// Groups asked for (`G:`), duplicates removed, in order; their directories are checked
    /// later, under the store's write lock.
    pub groups: Vec<GroupName>,
    /// The address to register.
    pub ip: IpChoice,
    /// SHA-1 of the key the agent holds now (`K:`).
    pub key_hash: Option<String>,
}

/// What the parser must know about the server.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expect<'a> {
    /// The password every request must start with (`<use_password>`).
    pub password: Option<&'a Password>,
    /// Accept agents newer than the manager (`<allow_higher_versions>`).
    pub allow_higher_versions: bool,
}

/// Parses one request line (without its LF). Bytes after a NUL are ignored, as authd's C
/// strings ignore them; invalid UTF-8 can only reach fields that refuse it.
pub fn parse(line: &[u8], expect: &Expect<'_>) -> Result<Request, EnrollError> {
    let line = line.split(|&b| b == 0).next().unwrap_or_default();
    let mut rest = match expect.password {
        Some(password) => strip_password(line, password)?,
        None => line,
    };
    rest = rest.strip_prefix(b"OSSEC A:'").ok_or(EnrollError::InvalidRequest)?;
    let end = memchr::memchr(b'\'', rest).ok_or(EnrollError::InvalidRequest)?;
    let raw_name = String::from_utf8_lossy(&rest[..end]);
    let name: AgentName = raw_name.parse().map_err(|_| EnrollError::InvalidName(raw_name.into_owned()))?;
    rest = &rest[end + 1..];

    let mut request = Request { name, version: None, groups: Vec::new(), ip: IpChoice::Unspecified, key_hash: None };
    if let Some((value, after)) = field(rest, b" V:", MAX_VERSION, b"'", EnrollError::UnterminatedVersion)? {
        let version = String::from_utf8_lossy(value).into_owned();
        if !expect.allow_higher_versions && newer_than_manager(&version) {
            return Err(EnrollError::VersionTooNew);
        }
        request.version = Some(version);
        rest = after;
    }
    let mut asked_groups = None;
    if let Some((value, after)) = field(rest, b" G:", MAX_GROUPS_TEXT, b"'", EnrollError::UnterminatedGroup)? {
        asked_groups = Some(groups::check_syntax(value)?);
        rest = after;
    }
    if let Some((value, after)) = field(rest, b" IP:", MAX_IP, b"' ", EnrollError::UnterminatedIp)? {
        let text = String::from_utf8_lossy(value);
        request.ip = if value.starts_with(b"src") {
            IpChoice::Source
        } else {
            let ip: AgentIp = text.parse().map_err(|_| EnrollError::InvalidIp(text.clone().into_owned()))?;
            IpChoice::Given(ip.wazuh_form())
        };
        rest = after;
    }
    if let Some((value, _)) = field(rest, b" K:", MAX_KEY_HASH, b"'", EnrollError::UnterminatedKey)? {
        request.key_hash = Some(String::from_utf8_lossy(value).into_owned());
    }
    // authd checks the groups' names once more, strictly, after the whole line is read.
    if let Some(asked) = asked_groups {
        request.groups = groups::check_names(&asked)?;
    }
    Ok(request)
}

/// `OSSEC PASS: <password> ` must open the line; the comparison takes the same time wherever
/// the first difference is.
fn strip_password<'a>(line: &'a [u8], password: &Password) -> Result<&'a [u8], EnrollError> {
    let expected = password.expose();
    let rest = line.strip_prefix(b"OSSEC PASS: ").ok_or(EnrollError::InvalidPassword)?;
    if rest.len() <= expected.len() {
        return Err(EnrollError::InvalidPassword);
    }
    let same = rest[..expected.len()].ct_eq(expected);
    if bool::from(same) && rest[expected.len()] == b' ' {
        Ok(&rest[expected.len() + 1..])
    } else {
        Err(EnrollError::InvalidPassword)
    }
}

/// A part's value and what follows it.
type Part<'a> = (&'a [u8], &'a [u8]);

/// An optional `<token>'<value>'` part: `None` when the token is absent; the value runs until
/// one of `stops` (at most `max` bytes) and must be followed by a quote.
fn field<'a>(
    rest: &'a [u8],
    token: &[u8],
    max: usize,
    stops: &[u8],
    unterminated: EnrollError,
) -> Result<Option<Part<'a>>, EnrollError> {
    let Some(after_token) = rest.strip_prefix(token) else {
        return Ok(None);
    };
    let body = after_token.strip_prefix(b"'").ok_or(unterminated.clone())?;
    let len = body.iter().take(max).take_while(|b| !stops.contains(b)).count();
    if body.get(len) != Some(&b'\'') {
        return Err(unterminated);
    }
    Ok(Some((&body[..len], &body[len + 1..])))
}

/// Whether an agent's version is newer than the manager's in major.minor
/// (`compare_wazuh_versions(…, false)`: the patch level is ignored).
pub fn newer_than_manager(agent: &str) -> bool {
    major_minor(agent) > major_minor(crate::WAZUH_VERSION)
}

/// `compare_wazuh_versions`' reading: the first 9 bytes, after the first `v` if any, then
/// `atoi` of the first two dot-separated parts.
fn major_minor(version: &str) -> (u64, u64) {
    let head = &version.as_bytes()[..version.len().min(9)];
    let head = match memchr::memchr(b'v', head) {
        Some(v) => &head[v + 1..],
        None => head,
    };
    let mut parts = head.split(|&b| b == b'.').filter(|p| !p.is_empty());
    let mut atoi = || {
        parts.next().map_or(0, |p| {
            p.iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0u64, |n, &d| n.saturating_mul(10).saturating_add(u64::from(d - b'0')))
        })
    };
    let major = atoi();
    (major, atoi())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_plain(line: &str) -> Result<Request, EnrollError> {
        parse(line.as_bytes(), &Expect::default())
    }

    #[test]
    fn full_request() {
        let password = Password::new(b"s3cr3t".to_vec());
        let expect = Expect { password: Some(&password), allow_higher_versions: false };
        let line = b"OSSEC PASS: s3cr3t OSSEC A:'web01' V:'v4.14.7' G:'linux,web,linux' IP:'src' K:'abc'";
        let request = parse(line, &expect).ok();
        let request = request.as_ref();
        assert_eq!(request.map(|r| r.name.as_str()), Some("web01"));
        assert_eq!(request.and_then(|r| r.version.as_deref()), Some("v4.14.7"));
        let groups: Option<Vec<&str>> = request.map(|r| r.groups.iter().map(GroupName::as_str).collect());
        assert_eq!(groups, Some(vec!["linux", "web"]));
        assert_eq!(request.map(|r| &r.ip), Some(&IpChoice::Source));
        assert_eq!(request.and_then(|r| r.key_hash.as_deref()), Some("abc"));
    }

    #[test]
    fn password_is_a_prefix_followed_by_a_space() {
        let password = Password::new(b"s3cr3t".to_vec());
        let expect = Expect { password: Some(&password), allow_higher_versions: false };
        for bad in [
            "OSSEC A:'web01'",
            "OSSEC PASS: s3cr3 OSSEC A:'web01'",
            "OSSEC PASS: s3cr3tOSSEC A:'web01'",
            "OSSEC PASS: s3cr3t",
        ] {
            assert_eq!(parse(bad.as_bytes(), &expect), Err(EnrollError::InvalidPassword), "{bad}");
        }
        // Without password mode, a password prefix is not a request (as authd answers).
        assert_eq!(parse_plain("OSSEC PASS: s3cr3t OSSEC A:'web01'"), Err(EnrollError::InvalidRequest));
    }

    #[test]
    fn malformed_parts_get_authd_messages() {
        let cases = [
            ("", EnrollError::InvalidRequest),
            ("OSSEC A:'web01", EnrollError::InvalidRequest),
            ("OSSEC A:'web 01'", EnrollError::InvalidName("web 01".into())),
            ("OSSEC A:'we\"b'", EnrollError::InvalidName("we\"b".into())),
            ("OSSEC A:'x'", EnrollError::InvalidName("x".into())),
            ("OSSEC A:'web01' V:'v4.14.7", EnrollError::UnterminatedVersion),
            ("OSSEC A:'web01' V:'v4.15.0'", EnrollError::VersionTooNew),
            ("OSSEC A:'web01' V:'v5.0.0'", EnrollError::VersionTooNew),
            ("OSSEC A:'web01' G:'linux", EnrollError::UnterminatedGroup),
            ("OSSEC A:'web01' IP:'10.0.0.1", EnrollError::UnterminatedIp),
            ("OSSEC A:'web01' IP:'10.0.0.1 '", EnrollError::UnterminatedIp),
            ("OSSEC A:'web01' IP:'10.0.0.300'", EnrollError::InvalidIp("10.0.0.300".into())),
            ("OSSEC A:'web01' K:'abc", EnrollError::UnterminatedKey),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_plain(line), Err(expected), "{line}");
        }
        assert_eq!(
            parse(b"OSSEC A:'\xff\xfe'", &Expect::default()),
            Err(EnrollError::InvalidName("\u{fffd}\u{fffd}".into()))
        );
    }

    #[test]
    fn versions_compare_on_major_and_minor() {
        assert!(parse_plain("OSSEC A:'web01' V:'v4.14.99'").is_ok());
        assert!(parse_plain("OSSEC A:'web01' V:'v4.3.10'").is_ok());
        assert!(parse_plain("OSSEC A:'web01' V:'Wazuh v4.2.0'").is_ok());
        let newer = b"OSSEC A:'web01' V:'v4.15.0'";
        assert!(parse(newer, &Expect { password: None, allow_higher_versions: true }).is_ok());
        assert_eq!(major_minor("v4.14.7"), (4, 14));
        assert_eq!(major_minor("garbage"), (0, 0));
    }

    #[test]
    fn addresses_take_wazuh_form() {
        let ip = |line: &str| parse_plain(line).map(|r| r.ip);
        assert_eq!(ip("OSSEC A:'web01'"), Ok(IpChoice::Unspecified));
        let given = "10.0.0.5".parse::<AgentIp>().map(IpChoice::Given).map_err(|_| EnrollError::InvalidRequest);
        assert_eq!(ip("OSSEC A:'web01' IP:'10.0.0.5'"), given);
        let v6 = ip("OSSEC A:'web01' IP:'::1'").ok();
        assert!(matches!(v6, Some(IpChoice::Given(ref a)) if a.as_str() == "0000:0000:0000:0000:0000:0000:0000:0001"));
    }

    #[test]
    fn bytes_after_nul_are_ignored() {
        assert_eq!(parse(b"OSSEC A:'web01'\0 V:'v9.0.0'", &Expect::default()).map(|r| r.version), Ok(None));
    }
}
