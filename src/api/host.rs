//! What the manager itself is: its OS (from `/etc/os-release` and `uname`), shown as agent 000
//! and in `/manager/info`.

use serde_json::{Value, json};

/// The manager's OS in the agents' `os` shape.
pub fn os() -> Value {
    let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let field = |key: &str| {
        release.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=')).map(|v| v.trim_matches('"').to_owned())
    };
    let uname = rustix::system::uname();
    let text = |s: &std::ffi::CStr| s.to_string_lossy().into_owned();
    let version = field("VERSION_ID");
    let mut parts = version.as_deref().unwrap_or("").split('.');
    let mut os = json!({
        "arch": text(uname.machine()),
        "name": field("NAME"),
        "platform": field("ID"),
        "uname": format!("{} |{} |{} |{} |{}", text(uname.sysname()), text(uname.nodename()), text(uname.release()), text(uname.version()), text(uname.machine())),
        "version": version,
        "major": parts.next().filter(|s| !s.is_empty()),
        "minor": parts.next(),
        "codename": field("VERSION_CODENAME"),
    });
    if let Value::Object(map) = &mut os {
        map.retain(|_, v| !v.is_null());
    }
    os
}
