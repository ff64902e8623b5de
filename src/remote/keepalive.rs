//! A keepalive's text, read as remoted's `parse_agent_update_msg` reads it (protocol.md §3.3):
//! the uname line with OS details, version and agent.conf sum; the merged.mg sum; labels; the
//! agent's own address.

use std::collections::BTreeMap;

use crate::store::Os;

/// Architectures remoted looks for in a Unix uname (`get_os_arch`), in its order.
const ARCHS: &[&str] =
    &["x86_64", "i386", "i686", "sparc", "amd64", "i86pc", "ia64", "AIX", "armv6", "armv7", "aarch64", "arm64"];

/// What a keepalive says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keepalive {
    /// Operating system, `uname` included.
    pub os: Os,
    /// `Wazuh v4.14.7`.
    pub version: Option<String>,
    /// MD5 of the agent's agent.conf.
    pub config_sum: Option<String>,
    /// MD5 of the agent's merged.mg (`x` when it has none).
    pub merged_sum: Option<String>,
    /// Labels by key: regular as `key`, hidden as `!key`, system as `#key`.
    pub labels: BTreeMap<String, String>,
    /// The address of the socket the agent reaches the manager with (`#"_agent_ip":`).
    pub agent_ip: Option<String>,
}

/// Parses a keepalive's text (after `#!-`). The text after the last LF is ignored.
pub fn parse(text: &str) -> Keepalive {
    let mut keepalive = Keepalive::default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    for line in complete.split('\n').filter(|l| !l.is_empty()) {
        match line.as_bytes()[0] {
            b'#' | b'!' | b'"' => label(&mut keepalive, line),
            _ => {
                if let Some((uname, rest)) = line.split_once(" - ") {
                    keepalive.os = parse_uname(uname);
                    match rest.split_once(" / ") {
                        Some((version, sum)) => {
                            keepalive.version = Some(version.to_owned());
                            keepalive.config_sum = Some(sum.to_owned());
                        }
                        None => keepalive.version = rest.find("Wazuh").map(|at| rest[at..].to_owned()),
                    }
                } else if let Some((sum, file)) = line.split_once(' ')
                    && file.starts_with("merged.m")
                {
                    keepalive.merged_sum = Some(sum.to_owned());
                }
            }
        }
    }
    keepalive
}

fn label(keepalive: &mut Keepalive, line: &str) {
    if let Some(ip) = line.strip_prefix("#\"_agent_ip\":") {
        keepalive.agent_ip = Some(ip.to_owned());
        return;
    }
    let (prefix, quoted) = match line.as_bytes()[0] {
        b'"' => ("", line),
        _ => (&line[..1], &line[1..]),
    };
    if let Some(rest) = quoted.strip_prefix('"')
        && let Some((key, value)) = rest.split_once("\":")
    {
        keepalive.labels.insert(format!("{prefix}{key}"), value.to_owned());
    }
}

/// `parse_uname_string`: the OS fields of the part before ` - `.
pub fn parse_uname(uname: &str) -> Os {
    let mut os = Os::default();
    if let Some((name, rest)) = uname.split_once(" [Ver: ") {
        // Windows: `<name> [Ver: <major.minor.build>] |<node> |<arch>`.
        os.name = Some(name.to_owned());
        os.uname = Some(name.to_owned());
        let (version, after) = rest.split_once(']').unwrap_or((rest, ""));
        os.arch = after
            .rsplit_once('|')
            .map(|(_, a)| a.trim_start().split(' ').next().unwrap_or_default().to_owned())
            .filter(|a| !a.is_empty());
        let mut numbers = version.split('.');
        os.major = numbers.next().filter(|n| is_number(n)).map(str::to_owned);
        os.minor = os.major.as_ref().and(numbers.next()).filter(|n| is_number(n)).map(str::to_owned);
        let build: Vec<&str> = numbers.take_while(|n| is_number(n)).collect();
        os.build = (os.minor.is_some() && !build.is_empty()).then(|| build.join("."));
        os.version = Some(version.to_owned());
        os.platform = Some("windows".to_owned());
        return os;
    }
    let (head, bracket) = match uname.split_once(" [") {
        Some((head, bracket)) => (head, Some(bracket)),
        None => (uname, None),
    };
    os.uname = Some(head.to_owned());
    if let Some(bracket) = bracket {
        let mut name = bracket.to_owned();
        if let Some((before, version)) = bracket.split_once(": ") {
            name = before.to_owned();
            let version = version.strip_suffix(']').unwrap_or(version);
            let (version, codename) = match version.split_once(" (") {
                Some((v, c)) => (v, Some(c.strip_suffix(')').unwrap_or(c).to_owned())),
                None => (version, None),
            };
            os.codename = codename;
            os.major = leading_number(version).map(str::to_owned);
            os.minor = os.major.as_ref().and_then(|_| {
                let after = &version[version.find(|c: char| !c.is_ascii_digit()).unwrap_or(version.len())..];
                match after.strip_prefix('.') {
                    Some(minor) => leading_number(minor).map(str::to_owned),
                    // SUSE: 15-SP7.
                    None => after
                        .strip_prefix("-SP")
                        .or_else(|| after.strip_prefix("-sp"))
                        .and_then(leading_number)
                        .map(str::to_owned),
                }
            });
            os.version = Some(version.to_owned());
        } else if let Some(stripped) = name.strip_suffix(']') {
            name = stripped.to_owned();
        }
        match name.split_once('|') {
            Some((n, platform)) => {
                os.name = Some(n.to_owned());
                os.platform = Some(platform.to_owned());
            }
            None => os.name = Some(name),
        }
    }
    os.arch = ARCHS.iter().find(|a| uname.contains(**a)).map(|a| (*a).to_owned());
    os
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn leading_number(s: &str) -> Option<&str> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulator_keepalive() {
        let text = "Linux |agent-debian8 |3.16.0-9-amd64 |#1 SMP Debian 3.16.68-1 (2019-05-22) |x86_64 \
                    [Debian GNU/Linux|debian: 8 (jessie)] - Wazuh v4.14.7 / ab73af41699f13fdd81903b5f23d8d00\n\
                    d6e3ac3e75ca0319af3e7c262776f331 merged.mg\n#\"_agent_ip\":10.0.2.15\n";
        let k = parse(text);
        assert_eq!(k.version.as_deref(), Some("Wazuh v4.14.7"));
        assert_eq!(k.config_sum.as_deref(), Some("ab73af41699f13fdd81903b5f23d8d00"));
        assert_eq!(k.merged_sum.as_deref(), Some("d6e3ac3e75ca0319af3e7c262776f331"));
        assert_eq!(k.agent_ip.as_deref(), Some("10.0.2.15"));
        let os = &k.os;
        assert_eq!(os.name.as_deref(), Some("Debian GNU/Linux"));
        assert_eq!(os.platform.as_deref(), Some("debian"));
        assert_eq!(os.version.as_deref(), Some("8"));
        assert_eq!((os.major.as_deref(), os.minor.as_deref()), (Some("8"), None));
        assert_eq!(os.codename.as_deref(), Some("jessie"));
        assert_eq!(os.arch.as_deref(), Some("x86_64"));
        assert_eq!(
            os.uname.as_deref(),
            Some("Linux |agent-debian8 |3.16.0-9-amd64 |#1 SMP Debian 3.16.68-1 (2019-05-22) |x86_64")
        );
    }

    #[test]
    fn ubuntu_suse_windows_and_labels() {
        let os = parse_uname("Linux |u |6.8 |#1 |x86_64 [Ubuntu|ubuntu: 22.04.3 LTS (Jammy Jellyfish)]");
        assert_eq!((os.major.as_deref(), os.minor.as_deref()), (Some("22"), Some("04")));
        assert_eq!(os.version.as_deref(), Some("22.04.3 LTS"));
        assert_eq!(os.codename.as_deref(), Some("Jammy Jellyfish"));
        let suse = parse_uname("Linux |s |6 |#1 |aarch64 [SLES|sles: 15-SP7]");
        assert_eq!(
            (suse.major.as_deref(), suse.minor.as_deref(), suse.arch.as_deref()),
            (Some("15"), Some("7"), Some("aarch64"))
        );
        let win = parse_uname("Microsoft Windows Server 2019 Datacenter [Ver: 10.0.17763.1234] |WIN01 |x86_64");
        assert_eq!(win.platform.as_deref(), Some("windows"));
        assert_eq!(
            (win.major.as_deref(), win.minor.as_deref(), win.build.as_deref()),
            (Some("10"), Some("0"), Some("17763.1234"))
        );
        assert_eq!(win.arch.as_deref(), Some("x86_64"));
        let k = parse("Linux |h |5 - Wazuh v4.14.7\n\"env\":prod\n!\"secret\":x\n#\"sys\":y\nx merged.mg\ntrailing");
        assert_eq!(k.labels.get("env").map(String::as_str), Some("prod"));
        assert_eq!(k.labels.get("!secret").map(String::as_str), Some("x"));
        assert_eq!(k.labels.get("#sys").map(String::as_str), Some("y"));
        assert_eq!(k.merged_sum.as_deref(), Some("x"));
        assert_eq!(k.config_sum, None);
    }
}
