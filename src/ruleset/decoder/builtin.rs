//! The decoders built into analysisd for agent modules: no XML defines them, but rules name
//! them in `decoded_as` and alerts show them under `decoder.name`.

use std::sync::Arc;

use super::{Decoder, DecoderType, JsonArray, JsonNull, Offset};

/// One built-in decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// Rootcheck findings.
    Rootcheck,
    /// A file changed.
    SyscheckModified,
    /// A file appeared.
    SyscheckAdded,
    /// A file went away.
    SyscheckDeleted,
    /// A registry key changed.
    RegistryKeyModified,
    /// A registry key appeared.
    RegistryKeyAdded,
    /// A registry key went away.
    RegistryKeyDeleted,
    /// A registry value changed.
    RegistryValueModified,
    /// A registry value appeared.
    RegistryValueAdded,
    /// A registry value went away.
    RegistryValueDeleted,
    /// A scanned host was seen for the first time.
    HostinfoNew,
    /// A scanned host's open ports changed.
    HostinfoModified,
    /// Inventory.
    Syscollector,
    /// CIS-CAT results.
    Ciscat,
    /// Windows event channel.
    WindowsEventchannel,
    /// Security configuration assessment.
    Sca,
}

impl Builtin {
    /// Every built-in decoder.
    pub const ALL: [Self; 16] = [
        Self::Rootcheck,
        Self::SyscheckModified,
        Self::SyscheckAdded,
        Self::SyscheckDeleted,
        Self::RegistryKeyModified,
        Self::RegistryKeyAdded,
        Self::RegistryKeyDeleted,
        Self::RegistryValueModified,
        Self::RegistryValueAdded,
        Self::RegistryValueDeleted,
        Self::HostinfoNew,
        Self::HostinfoModified,
        Self::Syscollector,
        Self::Ciscat,
        Self::WindowsEventchannel,
        Self::Sca,
    ];

    /// Its name, as rules write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rootcheck => "rootcheck",
            Self::SyscheckModified => "syscheck_integrity_changed",
            Self::SyscheckAdded => "syscheck_new_entry",
            Self::SyscheckDeleted => "syscheck_deleted",
            Self::RegistryKeyModified => "syscheck_registry_key_modified",
            Self::RegistryKeyAdded => "syscheck_registry_key_added",
            Self::RegistryKeyDeleted => "syscheck_registry_key_deleted",
            Self::RegistryValueModified => "syscheck_registry_value_modified",
            Self::RegistryValueAdded => "syscheck_registry_value_added",
            Self::RegistryValueDeleted => "syscheck_registry_value_deleted",
            Self::HostinfoNew => "hostinfo_new",
            Self::HostinfoModified => "hostinfo_modified",
            Self::Syscollector => "syscollector",
            Self::Ciscat => "ciscat",
            Self::WindowsEventchannel => "windows_eventchannel",
            Self::Sca => "sca",
        }
    }

    /// Its position in [`Builtin::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The decoder record events it takes point at: type `ossec`, as analysisd's fake decoders.
    pub(super) fn decoder(self) -> Decoder {
        let name: Arc<str> = Arc::from(self.name());
        Decoder {
            name: Arc::clone(&name),
            own_name: name,
            parent: None,
            program_name: None,
            prematch: None,
            prematch_offset: Offset::Start,
            regex: None,
            regex_offset: Offset::Start,
            order: Vec::new(),
            kind: DecoderType::Ossec,
            plugin: None,
            plugin_offset: Offset::Start,
            fts: Vec::new(),
            ftscomment: None,
            accumulate: false,
            use_own_name: false,
            json_null: JsonNull::default(),
            json_array: JsonArray::default(),
            get_next: false,
            file: Arc::from("(built-in)"),
            line: 0,
        }
    }
}
