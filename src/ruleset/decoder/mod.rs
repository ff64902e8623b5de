//! Decoders: Wazuh's `<decoder>` definitions, compiled, and the two top-level lists they form.
//!
//! Top-level decoders with a `<program_name>` go to one list, the others to a second; an event
//! with a program name only ever walks the first (engine.md §1.4). A child is attached under
//! every top-level decoder with its parent's name. Same-name siblings form a chain (`get_next`)
//! whose regexes all run.

mod builtin;
mod parse;
mod set;

use std::sync::Arc;

use crate::ruleset::regex::Expression;

pub use builtin::Builtin;
pub use parse::{DecoderError, parse_file};
pub use set::{DecoderId, DecoderSet, Node};

/// Where an expression starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Offset {
    /// At the start of `log`.
    #[default]
    Start,
    /// After the parent's prematch.
    AfterParent,
    /// After this decoder's prematch.
    AfterPrematch,
    /// After the previous regex of the same chain.
    AfterRegex,
}

/// Decoder `<type>`: what rule `<category>` matches, and the firewall path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecoderType {
    /// `syslog` (the default).
    #[default]
    Syslog,
    /// `firewall`.
    Firewall,
    /// `ids`.
    Ids,
    /// `web-log`.
    WebLog,
    /// `squid`.
    Squid,
    /// `windows`.
    Windows,
    /// `host-information`.
    HostInformation,
    /// `ossec`.
    Ossec,
    /// Set at run time by the OSSECAlert plugin: the event carries a ready rule.
    OssecAlert,
}

impl DecoderType {
    /// Reads a `<type>` value (case-sensitive, as Wazuh).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "firewall" => Self::Firewall,
            "ids" => Self::Ids,
            "web-log" => Self::WebLog,
            "syslog" => Self::Syslog,
            "squid" => Self::Squid,
            "windows" => Self::Windows,
            "host-information" => Self::HostInformation,
            "ossec" => Self::Ossec,
            _ => return None,
        })
    }
}

/// The fields an `<order>` can name directly (everything else is a dynamic field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaticField {
    /// `srcuser`.
    SrcUser,
    /// `dstuser` (and its alias `user`).
    DstUser,
    /// `srcip`.
    SrcIp,
    /// `dstip`.
    DstIp,
    /// `srcport`.
    SrcPort,
    /// `dstport`.
    DstPort,
    /// `protocol`.
    Protocol,
    /// `action`.
    Action,
    /// `id`.
    Id,
    /// `url`.
    Url,
    /// `data`.
    Data,
    /// `extra_data`.
    ExtraData,
    /// `status`.
    Status,
    /// `system_name`.
    SystemName,
}

impl StaticField {
    /// Every static field, in Wazuh's output order.
    pub const ALL: [StaticField; 14] = [
        Self::SrcIp,
        Self::DstIp,
        Self::SrcPort,
        Self::DstPort,
        Self::Protocol,
        Self::Action,
        Self::SrcUser,
        Self::DstUser,
        Self::Id,
        Self::Status,
        Self::Url,
        Self::Data,
        Self::ExtraData,
        Self::SystemName,
    ];

    /// The `<order>` word for it (`user` also means `dstuser`).
    pub fn from_order(word: &str) -> Option<Self> {
        Some(match word {
            "dstuser" | "user" => Self::DstUser,
            "srcuser" => Self::SrcUser,
            "srcip" => Self::SrcIp,
            "dstip" => Self::DstIp,
            "srcport" => Self::SrcPort,
            "dstport" => Self::DstPort,
            "protocol" => Self::Protocol,
            "action" => Self::Action,
            "id" => Self::Id,
            "url" => Self::Url,
            "data" => Self::Data,
            "extra_data" => Self::ExtraData,
            "status" => Self::Status,
            "system_name" => Self::SystemName,
            _ => return None,
        })
    }

    /// The name used in alerts.
    pub fn name(self) -> &'static str {
        match self {
            Self::SrcUser => "srcuser",
            Self::DstUser => "dstuser",
            Self::SrcIp => "srcip",
            Self::DstIp => "dstip",
            Self::SrcPort => "srcport",
            Self::DstPort => "dstport",
            Self::Protocol => "protocol",
            Self::Action => "action",
            Self::Id => "id",
            Self::Url => "url",
            Self::Data => "data",
            Self::ExtraData => "extra_data",
            Self::Status => "status",
            Self::SystemName => "system_name",
        }
    }

    /// Index for per-event storage.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Where one capture of a decoder regex goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A static field.
    Static(StaticField),
    /// A dynamic field with this name.
    Dynamic(Arc<str>),
}

/// The built-in decoders a `<plugin_decoder>` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// `JSON_Decoder`.
    Json,
    /// `PF_Decoder` (OpenBSD pf).
    Pf,
    /// `SymantecWS_Decoder`.
    SymantecWs,
    /// `SonicWall_Decoder`.
    SonicWall,
    /// `OSSECAlert_Decoder`.
    OssecAlert,
}

impl Plugin {
    /// Reads a plugin name (case-sensitive).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "JSON_Decoder" => Self::Json,
            "PF_Decoder" => Self::Pf,
            "SymantecWS_Decoder" => Self::SymantecWs,
            "SonicWall_Decoder" => Self::SonicWall,
            "OSSECAlert_Decoder" => Self::OssecAlert,
            _ => return None,
        })
    }
}

/// What the JSON plugin does with `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonNull {
    /// The string `null` (default; `empty` is a deprecated synonym).
    #[default]
    String,
    /// Drop the field.
    Discard,
}

/// What the JSON plugin does with arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonArray {
    /// The array printed as cJSON prints it (default).
    #[default]
    Array,
    /// Scalars joined with `,`.
    Csv,
}

/// One compiled decoder.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// The name it reports: a child takes its parent's unless `use_own_name`.
    pub name: Arc<str>,
    /// The name written in the file.
    pub own_name: Arc<str>,
    /// Parent decoder name.
    pub parent: Option<Arc<str>>,
    /// Matched against the event's program name.
    pub program_name: Option<Expression>,
    /// Must match before the decoder is chosen.
    pub prematch: Option<Expression>,
    /// Where the prematch reads (start or after the parent).
    pub prematch_offset: Offset,
    /// Extracts fields.
    pub regex: Option<Expression>,
    /// Where the regex reads.
    pub regex_offset: Offset,
    /// Where each capture goes.
    pub order: Vec<Slot>,
    /// The decoder type.
    pub kind: DecoderType,
    /// A built-in decoder to run instead of a regex.
    pub plugin: Option<Plugin>,
    /// Where the plugin reads.
    pub plugin_offset: Offset,
    /// First-time-seen keys (`<fts>`).
    pub fts: Vec<String>,
    /// `<ftscomment>`.
    pub ftscomment: Option<String>,
    /// `<accumulate>`.
    pub accumulate: bool,
    /// `<use_own_name>true</use_own_name>`.
    pub use_own_name: bool,
    /// JSON plugin: `null` handling.
    pub json_null: JsonNull,
    /// JSON plugin: array handling.
    pub json_array: JsonArray,
    /// A later same-name sibling continues this one's chain.
    pub get_next: bool,
    /// File it came from.
    pub file: Arc<str>,
    /// Line of its `<decoder>` element.
    pub line: u32,
}
