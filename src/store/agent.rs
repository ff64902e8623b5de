//! The agent record and the validated values it is made of.
//!
//! Every field that comes from outside (client.keys, enrollment, the API) is parsed into one of
//! these types first, so the store never holds an id that is not digits or a key with spaces.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a field was refused. The text names the field and the value (never a key's value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Agent ids are 1–8 ASCII digits (`OS_IsValidID`); 000 is the manager.
    #[error("invalid agent id '{0}': expected 1 to 8 digits, not 000")]
    Id(String),
    /// Names are 2–128 chars of `[A-Za-z0-9._-]`, not starting with `.` (`OS_IsValidName`).
    #[error("invalid agent name '{0}': expected 2 to 128 characters from A-Z a-z 0-9 . _ -, not starting with '.'")]
    Name(String),
    /// An address Wazuh's `OS_IsValidIP` would refuse.
    #[error("invalid agent ip '{0}': expected 'any', an IPv4 or IPv6 address, or a CIDR")]
    Ip(String),
    /// Keys are what agents accept back from enrollment: 1–128 chars of `[A-Za-z0-9._-]`.
    #[error("invalid agent key: expected 1 to 128 characters from A-Z a-z 0-9 . _ - (no spaces)")]
    Key,
    /// Group names as Wazuh's `etc/shared/<group>` directories allow.
    #[error("invalid group name '{0}': expected 1 to 255 characters from A-Z a-z 0-9 . _ -, not '.' or '..'")]
    Group(String),
}

fn name_chars(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A numeric agent id, shown as Wazuh shows it (`%03d`: `001`, `1000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentId(u32);

impl AgentId {
    /// Largest id Wazuh can write (8 digits).
    pub const MAX: u32 = 99_999_999;

    /// The id with this number; `None` for 0 (the manager) or more than 8 digits.
    pub fn new(n: u32) -> Option<Self> {
        (1..=Self::MAX).contains(&n).then_some(Self(n))
    }

    /// The number behind the id.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The id after this one, as Wazuh allocates (`id_counter + 1`).
    pub fn next(self) -> Option<Self> {
        Self::new(self.0 + 1)
    }
}

impl FromStr for AgentId {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::Id(s.to_owned());
        if s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().ok().and_then(Self::new).ok_or_else(bad)
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

/// A validated agent name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentName(String);

impl AgentName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AgentName {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if (2..=128).contains(&s.len()) && !s.starts_with('.') && name_chars(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::Name(s.to_owned()))
        }
    }
}

/// The address an agent registered with: `any`, an address, or a network.
///
/// The text is kept as written so client.keys round-trips byte for byte (Wazuh writes IPv6 in
/// its expanded upper-case form, which a re-format would change).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentIp {
    text: String,
    net: Option<(IpAddr, u8)>,
}

impl AgentIp {
    /// The `any` address: the agent may connect from anywhere.
    pub fn any() -> Self {
        Self { text: "any".to_owned(), net: None }
    }

    /// Whether this is `any`.
    pub fn is_any(&self) -> bool {
        self.net.is_none()
    }

    /// The address and prefix length, or `None` for `any`.
    pub fn network(&self) -> Option<(IpAddr, u8)> {
        self.net
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a peer at `addr` may use this entry: `any` takes everyone, a network its
    /// members, an address itself (IPv4-mapped peers count as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.net, unmapped(addr)) {
            (None, _) => true,
            (Some((IpAddr::V4(net), prefix)), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (Some((IpAddr::V6(net), prefix)), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    /// Whether this is one host (an address, or a /32 or /128), which agents reach without an
    /// id prefix (`isSingleHost`).
    pub fn is_single_host(&self) -> bool {
        matches!(self.net, Some((IpAddr::V4(_), 32)) | Some((IpAddr::V6(_), 128)))
    }

    /// A peer's address as authd and remoted write it: IPv4 dotted (IPv4-mapped IPv6 too),
    /// IPv6 expanded in upper case (`get_ipv6_string`, `OS_ExpandIPv6`).
    pub fn from_source(addr: IpAddr) -> Self {
        let addr = unmapped(addr);
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        Self { text: expanded(addr), net: Some((addr, prefix)) }
    }

    /// This address in the form Wazuh stores an address an agent asked for (`OS_IsValidIP`):
    /// IPv6 expanded in upper case, its `/prefix` kept unless it is 0.
    pub fn wazuh_form(self) -> Self {
        match self.net {
            Some((addr @ IpAddr::V6(_), prefix)) => {
                let suffix = self.text.split_once('/').filter(|_| prefix > 0).map(|_| format!("/{prefix}"));
                Self { text: format!("{}{}", expanded(addr), suffix.unwrap_or_default()), net: self.net }
            }
            _ => self,
        }
    }
}

/// A peer's address with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack
/// listener reports for IPv4 peers) turned back into IPv4.
pub fn unmapped(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

fn expanded(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6.segments().iter().map(|s| format!("{s:04X}")).collect::<Vec<_>>().join(":"),
    }
}

fn netmask_prefix(mask: &str) -> Option<u8> {
    let bits = u32::from(mask.parse::<std::net::Ipv4Addr>().ok()?);
    let prefix = bits.leading_ones();
    // A netmask must be contiguous ones: 255.0.255.0 is not one.
    (bits.checked_shl(prefix).unwrap_or(0) == 0).then_some(prefix as u8)
}

impl FromStr for AgentIp {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if s == "any" {
            return Ok(Self::any());
        }
        let bad = || FieldError::Ip(s.to_owned());
        let (addr, mask) = match s.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match mask {
            None => max,
            Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => {
                m.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?
            }
            Some(m) if addr.is_ipv4() => netmask_prefix(m).ok_or_else(bad)?,
            Some(_) => return Err(bad()),
        };
        Ok(Self { text: s.to_owned(), net: Some((addr, prefix)) })
    }
}

/// An agent's shared secret. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentKey(String);

impl AgentKey {
    /// A new random key in Wazuh's shape: 64 lower-case hex characters.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(crate::hex::encode(&bytes)))
    }

    /// The secret itself, for client.keys and the wire protocol only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for AgentKey {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if (1..=128).contains(&s.len()) && name_chars(s) { Ok(Self(s.to_owned())) } else { Err(FieldError::Key) }
    }
}

impl fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentKey(<redacted>)")
    }
}

/// A group name (a directory under `etc/shared/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

impl GroupName {
    /// The group every agent gets when none is asked for.
    pub fn default_group() -> Self {
        Self("default".to_owned())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for GroupName {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        if (1..=255).contains(&s.len()) && s != "." && s != ".." && name_chars(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::Group(s.to_owned()))
        }
    }
}

macro_rules! string_conversions {
    ($($ty:ty => $field:tt),*) => {$(
        impl TryFrom<String> for $ty {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, FieldError> {
                s.parse()
            }
        }
        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.$field.to_string()
            }
        }
    )*};
}
string_conversions!(AgentName => 0, AgentIp => text, AgentKey => 0, GroupName => 0);

impl TryFrom<String> for AgentId {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        s.parse()
    }
}

impl From<AgentId> for String {
    fn from(id: AgentId) -> String {
        id.to_string()
    }
}

macro_rules! display_as_str {
    ($($ty:ty),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(AgentName, AgentIp, GroupName);

/// Connection status, as wazuh-db's `connection_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Enrolled, never sent a keepalive.
    NeverConnected,
    /// Sent its start-up message.
    Pending,
    /// Keepalives arrive.
    Active,
    /// Shut down, timed out, or reset by a manager restart.
    Disconnected,
}

impl Status {
    /// Every status, in Wazuh's order.
    pub const ALL: [Status; 4] = [Self::NeverConnected, Self::Pending, Self::Active, Self::Disconnected];

    /// The word Wazuh uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeverConnected => "never_connected",
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Disconnected => "disconnected",
        }
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown status '{s}': expected never_connected, pending, active or disconnected"))
    }
}

/// What the agent reports about its operating system (wazuh-db's `os_*` columns).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Os {
    /// e.g. `Ubuntu`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// e.g. `22.04.3 LTS (Jammy Jellyfish)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Major version number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major: Option<String>,
    /// Minor version number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minor: Option<String>,
    /// Release code name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// Build identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<String>,
    /// e.g. `ubuntu`, `windows`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// `uname -a` style string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uname: Option<String>,
    /// e.g. `x86_64`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
}

impl Os {
    /// Whether the agent reported nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Fills the fields this record lacks from `other` (what the agent's keepalive said wins
    /// over inventory). `true` when anything changed.
    pub fn fill_from(&mut self, other: &Self) -> bool {
        let before = self.clone();
        for (mine, theirs) in [
            (&mut self.name, &other.name),
            (&mut self.version, &other.version),
            (&mut self.major, &other.major),
            (&mut self.minor, &other.minor),
            (&mut self.codename, &other.codename),
            (&mut self.build, &other.build),
            (&mut self.platform, &other.platform),
            (&mut self.uname, &other.uname),
            (&mut self.arch, &other.arch),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        *self != before
    }
}

/// One registered agent: identity, key, groups and what its connection has told us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Unique numeric id.
    pub id: AgentId,
    /// Unique name.
    pub name: AgentName,
    /// Registration address (client.keys' third field).
    pub ip: AgentIp,
    /// Shared secret.
    pub key: AgentKey,
    /// Groups in priority order.
    #[serde(default)]
    pub groups: Vec<GroupName>,
    /// Connection status.
    pub status: Status,
    /// Why the status last changed (wazuh-db's `status_code`, 0–5).
    #[serde(default)]
    pub status_code: u8,
    /// Registration time, Unix seconds (wazuh-db's `date_add`).
    pub registered_at: i64,
    /// Last keepalive, Unix seconds.
    #[serde(default)]
    pub last_keepalive: Option<i64>,
    /// When it was last marked disconnected, Unix seconds.
    #[serde(default)]
    pub disconnected_at: Option<i64>,
    /// Address the agent last connected from.
    #[serde(default)]
    pub last_ip: Option<String>,
    /// Agent version, e.g. `Wazuh v4.14.7`.
    #[serde(default)]
    pub version: Option<String>,
    /// Operating system details.
    #[serde(default)]
    pub os: Os,
    /// Labels the agent sends with its keepalive.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// MD5 of the agent's agent.conf.
    #[serde(default)]
    pub config_sum: Option<String>,
    /// MD5 of the merged.mg the agent holds.
    #[serde(default)]
    pub merged_sum: Option<String>,
    /// The agent holds its group's current merged.mg (wazuh-db's `group_config_status`).
    #[serde(default)]
    pub config_synced: bool,
    /// Cluster node serving the agent.
    #[serde(default)]
    pub node_name: Option<String>,
}

impl Agent {
    /// A freshly registered agent: never connected, no groups yet.
    pub fn new(id: AgentId, name: AgentName, ip: AgentIp, key: AgentKey, registered_at: i64) -> Self {
        Self {
            id,
            name,
            ip,
            key,
            groups: Vec::new(),
            status: Status::NeverConnected,
            status_code: 0,
            registered_at,
            last_keepalive: None,
            disconnected_at: None,
            last_ip: None,
            version: None,
            os: Os::default(),
            labels: BTreeMap::new(),
            config_sum: None,
            merged_sum: None,
            config_synced: false,
            node_name: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_digits_and_print_padded() {
        assert_eq!("7".parse::<AgentId>().map(|i| i.to_string()), Ok("007".to_owned()));
        assert_eq!("1000".parse::<AgentId>().map(|i| i.to_string()), Ok("1000".to_owned()));
        for bad in ["", "000", "0", "12a", "-1", "123456789", " 1"] {
            assert!(bad.parse::<AgentId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_follow_wazuh_rules() {
        assert!("web-01.example_x".parse::<AgentName>().is_ok());
        for bad in ["a", ".hidden", "has space", "ümlaut", &"x".repeat(129)] {
            assert!(bad.parse::<AgentName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ips_keep_their_text() {
        for ok in [
            "any",
            "10.0.0.1",
            "10.0.0.0/24",
            "10.0.0.0/255.255.255.0",
            "::1",
            "fe80::/64",
            "0000:0000:0000:0000:0000:0000:0000:0001",
        ] {
            assert_eq!(ok.parse::<AgentIp>().map(|i| i.to_string()), Ok(ok.to_owned()));
        }
        assert_eq!("10.0.0.0/255.255.255.0".parse::<AgentIp>().ok().and_then(|i| i.network()).map(|n| n.1), Some(24));
        for bad in ["", "anything", "10.0.0.256", "10.0.0.0/33", "10.0.0.0/255.0.255.0", "::1/129", "::1/ffff::"] {
            assert!(bad.parse::<AgentIp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn peer_addresses_are_written_as_wazuh_writes_them() {
        let v6: IpAddr = "fe80::1".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(AgentIp::from_source(v6).as_str(), "FE80:0000:0000:0000:0000:0000:0000:0001");
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(AgentIp::from_source(mapped).as_str(), "10.1.2.3");
        let asked = "2001:db8::/64".parse::<AgentIp>().map(AgentIp::wazuh_form).map(|i| i.to_string());
        assert_eq!(asked.as_deref(), Ok("2001:0DB8:0000:0000:0000:0000:0000:0000/64"));
        assert_eq!("10.0.0.5".parse::<AgentIp>().map(|i| i.wazuh_form().to_string()).as_deref(), Ok("10.0.0.5"));
    }

    #[test]
    fn networks_contain_their_members() {
        let ip = |s: &str| s.parse::<AgentIp>().unwrap_or_else(|_| AgentIp::any());
        let addr = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0; 4]));
        assert!(ip("any").contains(addr("203.0.113.9")));
        assert!(ip("10.0.0.0/8").contains(addr("10.200.1.1")) && !ip("10.0.0.0/8").contains(addr("11.0.0.1")));
        assert!(ip("10.0.0.5").contains(addr("::ffff:10.0.0.5")));
        assert!(ip("fe80::/64").contains(addr("fe80::99")) && !ip("fe80::/64").contains(addr("10.0.0.1")));
        assert!(ip("0.0.0.0/0").contains(addr("8.8.8.8")));
        assert!(ip("10.0.0.5").is_single_host() && !ip("10.0.0.0/24").is_single_host() && !ip("any").is_single_host());
    }

    #[test]
    fn keys_refuse_spaces_and_never_print() {
        assert!("a b".parse::<AgentKey>().is_err());
        let key = AgentKey::generate().ok();
        assert_eq!(key.as_ref().map(|k| k.expose().len()), Some(64));
        assert_eq!(format!("{key:?}"), "Some(AgentKey(<redacted>))");
    }

    #[test]
    fn agent_serde_round_trip_validates() {
        let agent = Agent::new(AgentId(12), AgentName("web01".to_owned()), AgentIp::any(), AgentKey("k".to_owned()), 1);
        let json = serde_json::to_string(&agent).unwrap_or_default();
        assert!(json.contains("\"id\":\"012\""));
        assert_eq!(serde_json::from_str::<Agent>(&json).ok(), Some(agent));
        assert!(serde_json::from_str::<Agent>(&json.replace("web01", "web 01")).is_err());
    }
}
