//! The per-agent tables, named after wazuh-db's.

/// One per-agent table. The discriminant is the key byte: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Table {
    /// `fim_entry` for files, keyed by path.
    FimFile = 1,
    /// `fim_entry` for registry keys and values, keyed by `<arch> <path>[:<value>]`.
    FimRegistry = 2,
    /// `scan_info`: module scan start and end times, keyed by module.
    ScanInfo = 3,
    /// `pm_event`: rootcheck findings, keyed by their text.
    Rootcheck = 4,
    /// `sca_policy`, keyed by policy id.
    ScaPolicy = 5,
    /// `sca_scan_info`: the last summary of each policy, keyed by policy id.
    ScaScan = 6,
    /// `sca_check` with its rules and compliance, keyed by `<policy id> <check id>`.
    ScaCheck = 7,
    /// `sys_osinfo`.
    Os = 8,
    /// `sys_hwinfo`.
    Hardware = 9,
    /// `sys_programs`.
    Packages = 10,
    /// `sys_processes`.
    Processes = 11,
    /// `sys_ports`.
    Ports = 12,
    /// `sys_netiface`.
    NetIface = 13,
    /// `sys_netaddr`.
    NetAddr = 14,
    /// `sys_netproto`.
    NetProto = 15,
    /// `sys_hotfixes`.
    Hotfixes = 16,
    /// `sys_users`.
    Users = 17,
    /// `sys_groups`.
    Groups = 18,
    /// `sys_services`.
    Services = 19,
    /// `sys_browser_extensions`.
    BrowserExtensions = 20,
    /// `ciscat_results`, keyed by scan id.
    Ciscat = 21,
    /// analysisd's host-info memory: the last open ports seen per scanned host.
    Hostinfo = 22,
}
