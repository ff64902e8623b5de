//! FIM events (queue `8`, syscheck.c's JSON path): an agent reports a file or registry entry
//! added, modified or deleted; the entry is saved to (or deleted from) the agent's `fim_entry`
//! table and the event goes to rules 550–554, 594–598 and 750–752 through one of the
//! `syscheck_*` decoders, with the `syscheck` object and alerts.log section Wazuh writes.
//!
//! The agent decides what changed, as in Wazuh; the one use of the stored entry is to drop a
//! `modified` event whose checksum is the one already stored (a re-sent event, which Wazuh would
//! alert twice).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::json::{self, get, members, num_of, str_of};
use super::{Context, Handled, ModuleError};
use crate::engine::event::FimView;
use crate::engine::plugins::cjson::{Json, ObjectWriter};
use crate::engine::predecode::Predecoded;
use crate::ruleset::decoder::Builtin;
use crate::store::state::{Owner, Table};

const MODULE: &str = "syscheck";

/// Longest path shown in `full_log` (Wazuh's 757-byte buffer).
const SHOWN_PATH: usize = 756;

/// One side (new or old) of an entry's attributes, as field text.
#[derive(Debug, Default, Clone)]
struct Attrs {
    kind: Option<String>,
    size: Option<String>,
    perm: Option<String>,
    uid: Option<String>,
    gid: Option<String>,
    md5: Option<String>,
    sha1: Option<String>,
    uname: Option<String>,
    gname: Option<String>,
    mtime: Option<String>,
    inode: Option<String>,
    sha256: Option<String>,
    win_attributes: Option<String>,
    symbolic_path: Option<String>,
    value_type: Option<String>,
    checksum: Option<String>,
}

/// `%ld` of a JSON number.
fn long(n: f64) -> String {
    (n as i64).to_string()
}

/// A Windows permission object as Wazuh's text: `user (allowed): A|B, user (denied): C`.
fn windows_perm(perm: &Json<'_>) -> Option<String> {
    let mut parts = Vec::new();
    for (key, ace) in members(perm) {
        let name = str_of(ace, "name").unwrap_or(key);
        for kind in ["allowed", "denied"] {
            if let Some(Json::Array(items)) = get(ace, kind) {
                let rights: Vec<String> = items.iter().filter_map(json::text).map(|r| r.to_uppercase()).collect();
                parts.push(format!("{name} ({kind}): {}", rights.join("|")));
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

impl Attrs {
    fn read(json: &Json<'_>) -> Self {
        let mut a = Self::default();
        for (key, value) in members(json) {
            let slot = match (key.as_ref(), value) {
                ("type", Json::String(s)) => {
                    a.kind = Some(s.to_string());
                    continue;
                }
                ("checksum", Json::String(s)) => {
                    a.checksum = Some(s.to_string());
                    continue;
                }
                ("size", Json::Number(n)) => (&mut a.size, long(*n)),
                ("mtime", Json::Number(n)) => (&mut a.mtime, long(*n)),
                ("inode", Json::Number(n)) => (&mut a.inode, long(*n)),
                ("inode", Json::String(s)) => (&mut a.inode, s.to_string()),
                ("perm", Json::String(s)) => (&mut a.perm, s.to_string()),
                ("perm", Json::Object(_)) => match windows_perm(value) {
                    Some(text) => (&mut a.perm, text),
                    None => continue,
                },
                ("uid", Json::String(s)) => (&mut a.uid, s.to_string()),
                ("gid", Json::String(s)) => (&mut a.gid, s.to_string()),
                ("hash_md5", Json::String(s)) => (&mut a.md5, s.to_string()),
                ("hash_sha1", Json::String(s)) => (&mut a.sha1, s.to_string()),
                ("user_name", Json::String(s)) => (&mut a.uname, s.to_string()),
                ("group_name", Json::String(s)) => (&mut a.gname, s.to_string()),
                ("hash_sha256", Json::String(s)) => (&mut a.sha256, s.to_string()),
                ("attributes", Json::String(s)) => (&mut a.win_attributes, s.to_string()),
                ("symlink_path", Json::String(s)) => (&mut a.symbolic_path, s.to_string()),
                ("value_type", Json::String(s)) => (&mut a.value_type, s.to_string()),
                _ => continue,
            };
            *slot.0 = Some(slot.1);
        }
        a
    }
}

/// Whodata: who changed the entry.
#[derive(Debug, Default)]
struct Audit {
    fields: Vec<(&'static str, String)>,
}

/// Audit members and the field names rules see them under.
const AUDIT: [(&str, &str); 14] = [
    ("user_id", "user_id"),
    ("user_name", "user_name"),
    ("group_id", "group_id"),
    ("group_name", "group_name"),
    ("process_name", "process_name"),
    ("parent_name", "parent_name"),
    ("cwd", "cwd"),
    ("parent_cwd", "parent_cwd"),
    ("audit_uid", "audit_uid"),
    ("audit_name", "audit_name"),
    ("effective_uid", "effective_uid"),
    ("effective_name", "effective_name"),
    ("ppid", "ppid"),
    ("process_id", "process_id"),
];

impl Audit {
    fn read(json: &Json<'_>) -> Self {
        let fields = AUDIT
            .iter()
            .filter_map(|(member, field)| match get(json, member)? {
                Json::String(s) => Some((*field, s.to_string())),
                Json::Number(n) => Some((*field, long(*n))),
                _ => None,
            })
            .collect();
        Self { fields }
    }

    fn get(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|(f, _)| *f == field).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

/// What kind of entry changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    File,
    RegistryKey,
    RegistryValue,
}

impl Entry {
    /// The kind an attributes `type` names (`registry` is an old name for a key's file-like
    /// entry, decoded as a file).
    fn parse(kind: &str) -> Option<Self> {
        match kind {
            "file" | "registry" => Some(Self::File),
            "registry_key" => Some(Self::RegistryKey),
            "registry_value" => Some(Self::RegistryValue),
            _ => None,
        }
    }
}

/// What happened to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Added,
    Modified,
    Deleted,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Modified => "modified",
            Self::Deleted => "deleted",
        }
    }
}

fn decoder_for(entry: Entry, change: Change) -> Builtin {
    use Builtin as B;
    match (entry, change) {
        (Entry::File, Change::Added) => B::SyscheckAdded,
        (Entry::File, Change::Modified) => B::SyscheckModified,
        (Entry::File, Change::Deleted) => B::SyscheckDeleted,
        (Entry::RegistryKey, Change::Added) => B::RegistryKeyAdded,
        (Entry::RegistryKey, Change::Modified) => B::RegistryKeyModified,
        (Entry::RegistryKey, Change::Deleted) => B::RegistryKeyDeleted,
        (Entry::RegistryValue, Change::Added) => B::RegistryValueAdded,
        (Entry::RegistryValue, Change::Modified) => B::RegistryValueModified,
        (Entry::RegistryValue, Change::Deleted) => B::RegistryValueDeleted,
    }
}

/// One FIM event, read.
struct FimEvent {
    path: String,
    mode: Option<String>,
    change: Change,
    entry: Entry,
    entry_type: String,
    tags: Option<String>,
    diff: Option<String>,
    arch: Option<String>,
    value_name: Option<String>,
    index: Option<String>,
    changed: Option<String>,
    hard_links: Option<String>,
    new: Attrs,
    old: Attrs,
    audit: Audit,
}

fn invalid(reason: &str) -> ModuleError {
    ModuleError::invalid(MODULE, reason)
}

impl FimEvent {
    /// Reads and validates `data`, in syscheck.c's order.
    fn read(data: &Json<'_>) -> Result<Self, ModuleError> {
        let string = |key: &str| match data {
            // The last duplicate wins when walking members; cJSON lookups take the first.
            Json::Object(m) => m.iter().rev().find(|(k, _)| k == key).and_then(|(_, v)| match v {
                Json::String(s) => Some(s.to_string()),
                _ => None,
            }),
            _ => None,
        };
        let attrs =
            get(data, "attributes").ok_or_else(|| invalid("No member 'type' in Syscheck attributes JSON payload"))?;
        let new = Attrs::read(attrs);
        let entry_type =
            new.kind.clone().ok_or_else(|| invalid("No member 'type' in Syscheck attributes JSON payload"))?;
        let version = num_of(data, "version").unwrap_or(0.0);
        let index = string("index");
        if entry_type.starts_with("registry_") && version >= 3.0 && index.is_none() {
            return Err(invalid("No member 'index' in Syscheck JSON payload"));
        }
        let event_type = string("type").ok_or_else(|| invalid("No member 'type' in Syscheck JSON payload"))?;
        let path = string("path").ok_or_else(|| invalid("No member 'path' in Syscheck JSON payload"))?;
        let entry = Entry::parse(&entry_type)
            .ok_or_else(|| invalid("Invalid member 'type' in Syscheck attributes JSON payload"))?;
        let change = match event_type.as_str() {
            "added" => Change::Added,
            "modified" => Change::Modified,
            "deleted" => Change::Deleted,
            _ => return Err(invalid("Invalid 'type' value in Syscheck JSON payload")),
        };
        let changed = match get(data, "changed_attributes") {
            Some(Json::Array(items)) => Some(items.iter().filter_map(json::text).collect::<Vec<_>>().join(",")),
            _ => None,
        };
        let hard_links = match get(data, "hard_links") {
            Some(links @ Json::Array(_)) => Some(json::compact(links)),
            _ => None,
        };
        let mut old = get(data, "old_attributes").map(Attrs::read).unwrap_or_default();
        let mut new = new;
        // The old side is read second and its value type wins, as in syscheck.c.
        if let Some(vt) = old.value_type.take() {
            new.value_type = Some(vt);
        }
        old.symbolic_path = None;
        Ok(Self {
            path,
            mode: string("mode"),
            change,
            entry,
            entry_type,
            tags: string("tags"),
            diff: string("content_changes"),
            arch: string("arch"),
            value_name: string("value_name"),
            index,
            changed,
            hard_links,
            new,
            old,
            audit: get(data, "audit").map(Audit::read).unwrap_or_default(),
        })
    }

    /// The row key: the path for files, `<arch> <path>[:<value>]` (escaped) or the agent's
    /// index for registry entries.
    fn key(&self) -> (Table, String) {
        if self.entry == Entry::File {
            return (Table::FimFile, self.path.clone());
        }
        if let Some(index) = &self.index {
            return (Table::FimRegistry, index.clone());
        }
        let escape = |s: &str| s.replace('\\', "\\\\").replace(':', "\\:");
        let arch = self.arch.as_deref().unwrap_or("[x64]");
        let mut key = format!("{arch} {}", escape(&self.path));
        if self.entry == Entry::RegistryValue {
            let _ = write!(key, ":{}", escape(self.value_name.as_deref().unwrap_or_default()));
        }
        (Table::FimRegistry, key)
    }

    /// The `fim_entry` row.
    fn row(&self, now: i64, date: Option<f64>) -> Map<String, Value> {
        let mut row = Map::new();
        let mut put = |k: &str, v: Option<&String>| {
            if let Some(v) = v {
                row.insert(k.to_owned(), Value::String(v.clone()));
            }
        };
        let n = &self.new;
        put("file", Some(&self.path));
        put("perm", n.perm.as_ref());
        put("uid", n.uid.as_ref());
        put("gid", n.gid.as_ref());
        put("md5", n.md5.as_ref());
        put("sha1", n.sha1.as_ref());
        put("sha256", n.sha256.as_ref());
        put("uname", n.uname.as_ref());
        put("gname", n.gname.as_ref());
        put("attributes", n.win_attributes.as_ref());
        put("symbolic_path", n.symbolic_path.as_ref());
        put("checksum", n.checksum.as_ref());
        put("arch", self.arch.as_ref());
        put("value_name", self.value_name.as_ref());
        put("value_type", n.value_type.as_ref());
        let kind = if self.entry_type == "registry" { "registry_key" } else { self.entry_type.as_str() };
        row.insert("type".into(), Value::from(kind));
        let int = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
        for (k, v) in [("size", int(&n.size)), ("mtime", int(&n.mtime)), ("inode", int(&n.inode))] {
            if let Some(v) = v {
                row.insert(k.into(), Value::from(v));
            }
        }
        row.insert("date".into(), Value::from(date.map_or(now, |d| d as i64)));
        row.insert("changes".into(), Value::from(1));
        row
    }

    /// The path as `full_log` shows it.
    fn shown_path(&self) -> String {
        let arch = self.arch.as_deref().unwrap_or("(null)");
        let shown = match self.entry {
            Entry::File => self.path.clone(),
            Entry::RegistryKey => format!("{arch} {}", self.path),
            Entry::RegistryValue => {
                let value = self.value_name.as_deref().unwrap_or("Unknown key:Unknown Value");
                format!("{arch} {}\\{value}", self.path)
            }
        };
        shorten(&shown)
    }

    fn full_log(&self) -> String {
        let noun = match self.entry {
            Entry::File => "File",
            Entry::RegistryKey => "Registry Key",
            Entry::RegistryValue => "Registry Value",
        };
        let mut out = format!("{noun} '{}' {}\n", self.shown_path(), self.change.name());
        if let Some(links) = &self.hard_links {
            let joined: Vec<String> = match json::parse(MODULE, links) {
                Ok(Json::Array(items)) => items.iter().filter_map(json::text).collect(),
                _ => Vec::new(),
            };
            let _ = writeln!(out, "Hard links: {}", cut(&joined.join(","), 255));
        }
        let _ = writeln!(out, "Mode: {}", self.mode.as_deref().unwrap_or("(null)"));
        if let Some(changed) = &self.changed {
            let _ = writeln!(out, "Changed attributes: {}", cut(changed, 255));
        }
        if self.change == Change::Modified {
            self.comment(&mut out);
        }
        out
    }

    /// The "what changed" lines: one for each attribute whose text differs.
    fn comment(&self, out: &mut String) {
        let (o, n) = (&self.old, &self.new);
        let pairs: [Comment<'_>; 12] = [
            (&o.size, &n.size, |b, a| format!("Size changed from '{b}' to '{a}'\n")),
            (&o.perm, &n.perm, |b, a| format!("Permissions changed from '{b}' to '{a}'\n")),
            (&o.uid, &n.uid, |b, a| format!("Ownership was '{b}', now it is '{a}'\n")),
            (&o.uname, &n.uname, |b, a| format!("User name was '{b}', now it is '{a}'\n")),
            (&o.gid, &n.gid, |b, a| format!("Group ownership was '{b}', now it is '{a}'\n")),
            (&o.gname, &n.gname, |b, a| format!("Group name was '{b}', now it is '{a}'\n")),
            (&o.mtime, &n.mtime, |b, a| format!("Old modification time was: '{b}', now it is '{a}'\n")),
            (&o.inode, &n.inode, |b, a| format!("Old inode was: '{b}', now it is '{a}'\n")),
            (&o.md5, &n.md5, |b, a| format!("Old md5sum was: '{b}'\nNew md5sum is : '{a}'\n")),
            (&o.sha1, &n.sha1, |b, a| format!("Old sha1sum was: '{b}'\nNew sha1sum is : '{a}'\n")),
            (&o.sha256, &n.sha256, |b, a| format!("Old sha256sum was: '{b}'\nNew sha256sum is : '{a}'\n")),
            (&o.win_attributes, &n.win_attributes, |b, a| format!("Old attributes were: '{b}'\nNow they are '{a}'\n")),
        ];
        for (before, after, line) in pairs {
            let (b, a) = (before.as_deref().unwrap_or_default(), after.as_deref().unwrap_or_default());
            if b != a {
                let text = line(b, a);
                if text.starts_with("Permissions") && text.len() >= 257 {
                    out.push_str("Permissions changed.\n");
                } else {
                    out.push_str(cut(&text, 256));
                }
            }
        }
    }

    /// The dynamic fields rules read, in syscheck.c's field order.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let (n, o) = (&self.new, &self.old);
        let value_name = match (self.entry, &self.value_name) {
            (Entry::RegistryValue, None) => Some("Unknown key:Unknown Value".to_owned()),
            (_, v) => v.clone(),
        };
        let mut fields: Vec<(&'static str, Option<String>)> = vec![
            ("file", Some(self.path.clone())),
            ("hard_links", self.hard_links.clone()),
            ("mode", self.mode.clone()),
            ("size", n.size.clone()),
            ("size_before", o.size.clone()),
            ("perm", n.perm.clone()),
            ("perm_before", o.perm.clone()),
            ("uid", n.uid.clone()),
            ("uid_before", o.uid.clone()),
            ("gid", n.gid.clone()),
            ("gid_before", o.gid.clone()),
            ("md5", n.md5.clone()),
            ("md5_before", o.md5.clone()),
            ("sha1", n.sha1.clone()),
            ("sha1_before", o.sha1.clone()),
            ("uname", n.uname.clone()),
            ("uname_before", o.uname.clone()),
            ("gname", n.gname.clone()),
            ("gname_before", o.gname.clone()),
            ("mtime", n.mtime.clone()),
            ("mtime_before", o.mtime.clone()),
            ("inode", n.inode.clone()),
            ("inode_before", o.inode.clone()),
            ("sha256", n.sha256.clone()),
            ("sha256_before", o.sha256.clone()),
            ("changed_content", self.diff.clone()),
            ("win_attributes", n.win_attributes.clone()),
            ("win_attributes_before", o.win_attributes.clone()),
            ("changed_fields", self.changed.clone()),
        ];
        fields.extend(AUDIT.iter().map(|(_, f)| (*f, self.audit.get(f).map(str::to_owned))));
        fields.extend([
            ("tag", self.tags.clone()),
            ("symbolic_path", n.symbolic_path.clone()),
            ("arch", self.arch.clone()),
            ("value_name", value_name),
            ("value_type", n.value_type.clone()),
            ("hash_full_path", self.index.clone()),
            ("entry_type", Some(self.entry_type.clone())),
            ("event_type", Some(self.change.name().to_owned())),
        ]);
        fields.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect()
    }

    /// The alert's `syscheck` object.
    fn syscheck_json(&self) -> String {
        let (n, o) = (&self.new, &self.old);
        let mut out = String::with_capacity(512);
        let mut w = ObjectWriter::open(&mut out);
        w.string("path", &self.path);
        if let Some(links) = &self.hard_links {
            w.raw("hard_links", links);
        }
        fn set(v: &Option<String>) -> Option<&str> {
            v.as_deref().filter(|s| !s.is_empty())
        }
        if let Some(mode) = &self.mode {
            w.string("mode", mode);
        }
        if let Some(p) = set(&n.symbolic_path) {
            w.string("symbolic_path", p);
        }
        for (key, value) in [("arch", &self.arch), ("value_name", &self.value_name), ("value_type", &n.value_type)] {
            if let Some(v) = value {
                w.string(key, v);
            }
        }
        if self.entry == Entry::RegistryValue && self.value_name.is_none() {
            w.string("value_name", "Unknown key:Unknown Value");
        }
        let before =
            |b: &Option<String>, a: &Option<String>| set(b).filter(|b| a.as_deref() != Some(*b)).map(str::to_owned);
        let pair = |w: &mut ObjectWriter<'_>, name: &str, b: &Option<String>, a: &Option<String>| {
            if let Some(b) = before(b, a) {
                w.string(&format!("{name}_before"), &b);
            }
            if let Some(a) = set(a) {
                w.string(&format!("{name}_after"), a);
            }
        };
        pair(&mut w, "size", &o.size, &n.size);
        // Windows permissions (`user (allowed): A|B, …`) are shown as objects.
        if let Some(b) = before(&o.perm, &n.perm) {
            match windows_perm_json(&b) {
                Some(json) => w.raw("win_perm_before", &json),
                None => w.string("perm_before", &b),
            }
        }
        if let Some(a) = set(&n.perm) {
            match windows_perm_json(a) {
                Some(json) => w.raw("win_perm_after", &json),
                None => w.string("perm_after", a),
            }
        }
        pair(&mut w, "uid", &o.uid, &n.uid);
        pair(&mut w, "gid", &o.gid, &n.gid);
        pair(&mut w, "md5", &o.md5, &n.md5);
        pair(&mut w, "sha1", &o.sha1, &n.sha1);
        pair(&mut w, "sha256", &o.sha256, &n.sha256);
        let list = |s: &str| s.split(',').map(|p| p.trim_start().to_owned()).collect::<Vec<_>>();
        if let Some(b) = before(&o.win_attributes, &n.win_attributes) {
            w.strings("attrs_before", list(&b).iter().map(String::as_str));
        }
        if let Some(a) = set(&n.win_attributes) {
            w.strings("attrs_after", list(a).iter().map(String::as_str));
        }
        pair(&mut w, "uname", &o.uname, &n.uname);
        pair(&mut w, "gname", &o.gname, &n.gname);
        let when = |v: &str| {
            let seconds = v.parse::<i64>().unwrap_or(0);
            crate::engine::time::local(seconds).strftime("%Y-%m-%dT%H:%M:%S").to_string()
        };
        if let Some(b) = before(&o.mtime, &n.mtime) {
            w.string("mtime_before", &when(&b));
        }
        if let Some(a) = set(&n.mtime) {
            w.string("mtime_after", &when(a));
        }
        let inode = |v: &str| v.parse::<i64>().map(|n| n as i32).unwrap_or(0).to_string();
        if let Some(b) = before(&o.inode, &n.inode) {
            w.raw("inode_before", &inode(&b));
        }
        if let Some(a) = set(&n.inode).filter(|a| inode(a) != "0") {
            w.raw("inode_after", &inode(a));
        }
        if let Some(diff) = self.diff.as_deref().filter(|d| *d != "0") {
            w.string("diff", diff);
        }
        if let Some(tags) = set(&self.tags) {
            w.strings("tags", tags.split(',').filter(|t| !t.is_empty()));
        }
        if let Some(changed) = set(&self.changed) {
            w.strings("changed_attributes", changed.split(','));
        }
        w.string("event", self.change.name());
        self.audit_json(&mut w);
        w.close();
        out
    }

    fn audit_json(&self, w: &mut ObjectWriter<'_>) {
        let groups: [(&str, &[(&str, &str)]); 5] = [
            ("user", &[("id", "user_id"), ("name", "user_name")]),
            (
                "process",
                &[
                    ("id", "process_id"),
                    ("name", "process_name"),
                    ("cwd", "cwd"),
                    ("parent_name", "parent_name"),
                    ("parent_cwd", "parent_cwd"),
                    ("ppid", "ppid"),
                ],
            ),
            ("group", &[("id", "group_id"), ("name", "group_name")]),
            ("login_user", &[("id", "audit_uid"), ("name", "audit_name")]),
            ("effective_user", &[("id", "effective_uid"), ("name", "effective_name")]),
        ];
        let mut audit = String::new();
        let mut any = false;
        let mut a = ObjectWriter::open(&mut audit);
        for (name, members) in groups {
            let present: Vec<(&str, &str)> =
                members.iter().filter_map(|(k, f)| self.audit.get(f).map(|v| (*k, v))).collect();
            if present.is_empty() {
                continue;
            }
            any = true;
            let mut g = ObjectWriter::open(a.key(name));
            for (k, v) in present {
                g.string(k, v);
            }
            g.close();
        }
        a.close();
        if any {
            w.raw("audit", &audit);
        }
    }

    /// The alerts.log `Attributes:` section.
    fn text(&self) -> String {
        let n = &self.new;
        let mut out = String::from("Attributes:\n");
        let set = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        if let Some(size) = set(&n.size) {
            let _ = writeln!(out, " - Size: {size}");
        }
        if let Some(perm) = set(&n.perm) {
            let _ = writeln!(out, " - Permissions: {perm}");
        }
        if let Some(mtime) = set(&n.mtime) {
            let date = crate::engine::time::local(mtime.parse().unwrap_or(0)).strftime("%a %b %e %H:%M:%S %Y");
            let _ = writeln!(out, " - Date: {date}");
        }
        if let Some(inode) = set(&n.inode) {
            let _ = writeln!(out, " - Inode: {inode}");
        }
        if let (Some(uname), Some(uid)) = (set(&n.uname), &n.uid) {
            let _ = writeln!(out, " - User: {uname} ({uid})");
        }
        if let (Some(gname), Some(gid)) = (set(&n.gname), &n.gid) {
            let _ = writeln!(out, " - Group: {gname} ({gid})");
        }
        for (label, value) in [("MD5", &n.md5), ("SHA1", &n.sha1), ("SHA256", &n.sha256)] {
            if let Some(v) = set(value).filter(|v| v != "xxx") {
                let _ = writeln!(out, " - {label}: {v}");
            }
        }
        if let Some(attrs) = set(&n.win_attributes) {
            let _ = writeln!(out, " - File attributes: {attrs}");
        }
        for (label, field) in [
            ("User name", "user_name"),
            ("Audit name", "audit_name"),
            ("Effective name", "effective_name"),
            ("Group name", "group_name"),
            ("Process id", "process_id"),
            ("Process name", "process_name"),
            ("Process cwd", "cwd"),
            ("Parent process name", "parent_name"),
            ("Parent process id", "ppid"),
            ("Parent process cwd", "parent_cwd"),
        ] {
            if let Some(v) = self.audit.get(field) {
                let _ = writeln!(out, " - (Audit) {label}: {v}");
            }
        }
        if let Some(diff) = &self.diff {
            let _ = write!(out, "\nWhat changed:\n{diff}\n");
        }
        if let Some(tags) = set(&self.tags) {
            out.push_str("\nTags:\n");
            for tag in tags.split(',').filter(|t| !t.is_empty()) {
                let _ = writeln!(out, " - {tag}");
            }
        }
        out
    }
}

/// One kind of access entry (`allowed`, `denied`) and its rights.
type Rights = (String, Vec<String>);

/// Windows permission text as the alert's `win_perm_*` array: one object per account with its
/// `allowed` and `denied` rights; `None` for POSIX permissions (no `|`) or text that does not
/// read as `account (kind): R|R, …`.
fn windows_perm_json(text: &str) -> Option<String> {
    if !text.contains('|') {
        return None;
    }
    let mut accounts: Vec<(String, Vec<Rights>)> = Vec::new();
    for part in text.split(", ") {
        let (head, rights) = part.trim_start().split_once("): ")?;
        let (name, kind) = head.rsplit_once(" (")?;
        let rights = rights.split('|').map(str::to_uppercase).collect();
        match accounts.iter_mut().find(|(n, _)| n == name) {
            Some((_, kinds)) => kinds.push((kind.to_owned(), rights)),
            None => accounts.push((name.to_owned(), vec![(kind.to_owned(), rights)])),
        }
    }
    let mut out = String::from("[");
    for (i, (name, kinds)) in accounts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut o = ObjectWriter::open(&mut out);
        o.string("name", name);
        for (kind, rights) in kinds {
            o.strings(kind, rights.iter().map(String::as_str));
        }
        o.close();
    }
    out.push(']');
    Some(out)
}

/// One "what changed" line: the old and new values and how the line reads.
type Comment<'a> = (&'a Option<String>, &'a Option<String>, fn(&str, &str) -> String);

/// At most `max` bytes of `s`, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A long path as Wazuh shortens it: the head, ` [...] `, and the last 30 bytes.
fn shorten(path: &str) -> String {
    if path.len() <= SHOWN_PATH {
        return path.to_owned();
    }
    let head = cut(path, 719);
    let mut tail_start = path.len() - 30;
    while !path.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    format!("{head} [...] {}", &path[tail_start..])
}

/// Saves a `state` row of the FIM synchronisation (`path` or `index`, `attributes`,
/// `timestamp`), keyed as events key it.
pub fn save_state(ctx: &mut Context<'_, '_>, owner: Owner, data: &Json<'_>) -> Result<(), ModuleError> {
    let string = |k: &str| str_of(data, k).map(str::to_owned);
    let index = string("index");
    let path = string("path").or_else(|| index.clone()).ok_or_else(|| invalid("Cannot save Syscheck: no path"))?;
    let new = get(data, "attributes").map(Attrs::read).ok_or_else(|| invalid("Cannot save Syscheck: no attributes"))?;
    let entry_type = new.kind.clone().ok_or_else(|| invalid("Cannot save Syscheck: no attribute type"))?;
    let entry = Entry::parse(&entry_type).ok_or_else(|| invalid("Cannot save Syscheck: invalid attribute type"))?;
    let fim = FimEvent {
        path,
        mode: None,
        change: Change::Added,
        entry,
        entry_type,
        tags: None,
        diff: None,
        arch: string("arch"),
        value_name: string("value_name"),
        index,
        changed: None,
        hard_links: None,
        new,
        old: Attrs::default(),
        audit: Audit::default(),
    };
    let (table, key) = fim.key();
    ctx.state.put(owner, table, &key, &fim.row(ctx.now, num_of(data, "timestamp")))?;
    Ok(())
}

/// Decodes one queue `8` message.
pub fn decode(ctx: &mut Context<'_, '_>, owner: Owner, pre: Predecoded) -> Result<Handled, ModuleError> {
    let root = json::parse(MODULE, &pre.log)?;
    let kind = str_of(&root, "type").ok_or_else(|| invalid("Invalid FIM event"))?;
    let data = get(&root, "data").ok_or_else(|| invalid("Invalid FIM event"))?;
    match kind {
        "event" => {}
        "scan_start" | "scan_end" => {
            let at = num_of(data, "timestamp")
                .ok_or_else(|| invalid("No such member \"timestamp\" in FIM scan info event."))?;
            let column = if kind == "scan_start" { "start_scan" } else { "end_scan" };
            let mut row = ctx.state.get(owner, Table::ScanInfo, "fim")?.unwrap_or_default();
            row.insert(column.into(), Value::from(at as i64));
            ctx.state.put(owner, Table::ScanInfo, "fim", &row)?;
            return Ok(Handled::Absorbed);
        }
        _ => return Ok(Handled::Absorbed),
    }
    let fim = FimEvent::read(data)?;
    let (table, key) = fim.key();
    match fim.change {
        Change::Deleted => {
            ctx.state.delete(owner, table, &key)?;
        }
        Change::Added | Change::Modified => {
            // Only a modification is checked against the stored entry (a re-sent one).
            if fim.change == Change::Modified
                && let Some(checksum) = fim.new.checksum.as_deref()
                && ctx
                    .state
                    .get(owner, table, &key)?
                    .is_some_and(|row| row.get("checksum").and_then(Value::as_str) == Some(checksum))
            {
                return Ok(Handled::Absorbed);
            }
            ctx.state.put(owner, table, &key, &fim.row(ctx.now, num_of(data, "timestamp")))?;
        }
    }
    let mut event = ctx.event(pre, decoder_for(fim.entry, fim.change));
    for (key, value) in fim.fields() {
        event.push_dynamic(key.into(), value);
    }
    event.pre.full_log = fim.full_log();
    event.fim = Some(Box::new(FimView { json: fim.syscheck_json(), text: fim.text() }));
    Ok(Handled::Event(Box::new(event)))
}

#[cfg(test)]
mod tests;
