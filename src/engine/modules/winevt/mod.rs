//! Windows event channel (queue `f`, winevtchannel.c): `{"Message":…,"Event":"<Event…>"}` from
//! Windows agents becomes `{"win":{"system":{…},"eventdata":{…}}}`, which replaces the log and
//! is decoded as JSON into the `win.*` fields the stock Windows rules (60000+) read.
//!
//! As in Wazuh the XML is read from the JSON-printed `Event` value, so values keep their JSON
//! escapes (a backslash reaches the fields doubled) and XML entities are not decoded.

mod xml;

use std::borrow::Cow;

use super::json::{self, get};
use super::{Context, Handled, ModuleError};
use crate::engine::plugins::{self, cjson::Json};
use crate::engine::predecode::Predecoded;
use crate::ruleset::decoder::{Builtin, Plugin};
use xml::Node;

const MODULE: &str = "eventchannel";

/// The name with its first byte lowercased.
fn lower_first(name: &str) -> String {
    let mut out = name.to_owned();
    if let Some(first) = out.get_mut(..1) {
        first.make_ascii_lowercase();
    }
    out
}

/// Whether EventData content is kept: not empty, `-` or `(NULL)`.
fn valid(content: &str) -> bool {
    !content.is_empty() && content != "-" && content != "(NULL)"
}

/// Trailing whitespace removed, never the first byte.
fn trim(content: &str) -> String {
    let kept = content.trim_end_matches(|c: char| c.is_ascii_whitespace());
    if kept.is_empty() { content.get(..1).unwrap_or_default().to_owned() } else { kept.to_owned() }
}

type Members = Vec<(Cow<'static, str>, Json<'static>)>;

fn push(members: &mut Members, key: impl Into<String>, value: impl Into<String>) {
    members.push((Cow::Owned(key.into()), Json::String(Cow::Owned(value.into()))));
}

/// What the walk collects.
#[derive(Default)]
struct Walk {
    system: Members,
    eventdata: Members,
    extra: Members,
    extra_name: Option<String>,
    joined: Option<String>,
    level: Option<String>,
    keywords: Option<String>,
    category: Option<String>,
    subcategory: Option<String>,
    policy_changes: Option<String>,
}

impl Walk {
    fn system(&mut self, e: &Node) {
        let first = e.attributes.first();
        match e.name.as_str() {
            "Provider" if first.is_some() => {
                for (k, v) in &e.attributes {
                    let key = match k.as_str() {
                        "Name" => "providerName",
                        "Guid" => "providerGuid",
                        "EventSourceName" => "eventSourceName",
                        _ => continue,
                    };
                    push(&mut self.system, key, v.clone());
                }
            }
            "TimeCreated" if first.is_some() => {
                if let Some((k, v)) = first
                    && k == "SystemTime"
                {
                    push(&mut self.system, "systemTime", v.clone());
                }
            }
            "Execution" if first.is_some() => {
                for (k, v) in &e.attributes {
                    match k.as_str() {
                        "ProcessID" => push(&mut self.system, "processID", v.clone()),
                        "ThreadID" => push(&mut self.system, "threadID", v.clone()),
                        _ => {}
                    }
                }
            }
            "Channel" => {
                push(&mut self.system, "channel", e.content.clone());
                if first.is_some_and(|(_, v)| v == "UserID") {
                    push(&mut self.system, "userID", "UserID");
                }
            }
            "Security" if first.is_some_and(|(_, v)| v == "UserID") => {
                push(&mut self.system, "securityUserID", "UserID");
            }
            "Security" => {}
            "Level" => {
                self.level = Some(e.content.clone());
                push(&mut self.system, "level", e.content.clone());
            }
            "Keywords" => {
                self.keywords = Some(e.content.clone());
                push(&mut self.system, "keywords", e.content.clone());
            }
            "Correlation" => {}
            name if !e.content.is_empty() => push(&mut self.system, lower_first(name), e.content.clone()),
            _ => {}
        }
    }

    fn eventdata(&mut self, e: &Node) {
        if !valid(&e.content) {
            return;
        }
        let value = trim(&e.content);
        if e.name == "Data" && !e.attributes.is_empty() {
            for (k, v) in &e.attributes {
                if k == "Name" {
                    let key = lower_first(v);
                    match key.as_str() {
                        "categoryId" => self.category = Some(value.clone()),
                        "subcategoryId" => self.subcategory = Some(value.clone()),
                        "auditPolicyChanges" => {
                            self.policy_changes = Some(value.clone());
                            push(&mut self.eventdata, "auditPolicyChangesId", value);
                            return;
                        }
                        _ => {}
                    }
                    push(&mut self.eventdata, key, value);
                    return;
                }
                push(&mut self.eventdata, lower_first(v), value.clone());
            }
        } else if e.name == "Data" {
            match &mut self.joined {
                Some(joined) => {
                    joined.push_str(", ");
                    joined.push_str(&value);
                }
                None => self.joined = Some(value),
            }
        } else {
            push(&mut self.eventdata, lower_first(&e.name), value);
        }
    }

    fn other(&mut self, e: &Node) {
        for g in e.children.iter().filter(|g| valid(&g.content)) {
            push(&mut self.extra, lower_first(&g.name), trim(&g.content));
        }
        self.extra_name = Some(e.name.clone());
    }

    /// The severity, category names and policy changes appended after the walk.
    fn derived(&mut self) {
        if let (Some(level), Some(keywords)) = (&self.level, &self.keywords) {
            let kw = u64::from_str_radix(keywords.trim().trim_start_matches("0x").trim_start_matches("0X"), 16)
                .unwrap_or(if keywords.trim().is_empty() { 0 } else { u64::MAX });
            let severity = match level.trim().parse::<i64>().unwrap_or(0) {
                1 => "CRITICAL",
                2 => "ERROR",
                3 => "WARNING",
                4 => "INFORMATION",
                5 => "VERBOSE",
                0 if kw & 0x0010_0000_0000_0000 != 0 => "AUDIT_FAILURE",
                0 if kw & 0x0020_0000_0000_0000 != 0 => "AUDIT_SUCCESS",
                _ => "UNKNOWN",
            };
            push(&mut self.system, "severityValue", severity);
            if let (Some(c), Some(s)) = (&self.category, &self.subcategory) {
                let number = |t: &str| t.replace("%%", "").trim().parse::<u32>().unwrap_or(0);
                if let Some((category, sub)) = audit_category(number(c), number(s)) {
                    push(&mut self.eventdata, "category", category);
                    if let Some(sub) = sub {
                        push(&mut self.eventdata, "subcategory", sub);
                    }
                }
            }
        }
        if let Some(changes) = &self.policy_changes {
            let names: Vec<&str> = changes
                .replace("%%", "")
                .split(',')
                .take(4)
                .filter_map(|p| match p.trim().parse::<u32>().ok()? {
                    8448 => Some("Success removed"),
                    8449 => Some("Success added"),
                    8450 => Some("Failure removed"),
                    8451 => Some("Failure added"),
                    _ => None,
                })
                .collect();
            if !names.is_empty() {
                push(&mut self.eventdata, "auditPolicyChanges", names.join(", "));
            }
        }
        if let Some(joined) = self.joined.take() {
            push(&mut self.eventdata, "data", joined);
        }
    }
}

/// The audit category and subcategory names Windows numbers.
fn audit_category(category: u32, sub: u32) -> Option<(&'static str, Option<&'static str>)> {
    let (name, subs): (&str, &[&str]) = match category {
        8272 => (
            "System",
            &[
                "Security State Change",
                "Security System Extension",
                "System Integrity",
                "IPsec Driver",
                "Other System Events",
            ],
        ),
        8273 => (
            "Logon/Logoff",
            &[
                "Logon",
                "Logoff",
                "Account Lockout",
                "IPsec Main Mode",
                "Special Logon",
                "IPSec Extended Mode",
                "IPSec Quick Mode",
                "Other Logon/Logoff Events",
                "Network Policy Server",
                "User/Device Claims",
                "Group Membership",
            ],
        ),
        8274 => (
            "Object Access",
            &[
                "File System",
                "Registry",
                "Kernel Object",
                "SAM",
                "Other Object Access Events",
                "Certification Services",
                "Application Generated",
                "Handle Manipulation",
                "File Share",
                "Filtering Platform Packet Drop",
                "Filtering Platform Connection",
                "Detailed File Share",
                "Removable Storage",
                "Central Policy Staging",
            ],
        ),
        8275 => {
            ("Privilege Use", &["Sensitive Privilege Use", "Non Sensitive Privilege Use", "Other Privilege Use Events"])
        }
        8276 => (
            "Detailed Tracking",
            &[
                "Process Creation",
                "Process Termination",
                "DPAPI Activity",
                "RPC Events",
                "Plug and Play Events",
                "Token Right Adjusted Events",
            ],
        ),
        8277 => (
            "Policy Change",
            &[
                "Audit Policy Change",
                "Authentication Policy Change",
                "Authorization Policy Change",
                "MPSSVC Rule-Level Policy Change",
                "Filtering Platform Policy Change",
                "Other Policy Change Events",
            ],
        ),
        8278 => (
            "Account Management",
            &[
                "User Account Management",
                "Computer Account Management",
                "Security Group Management",
                "Distribution Group Management",
                "Application Group Management",
                "Other Account Management Events",
            ],
        ),
        8279 => (
            "DS Access",
            &[
                "Directory Service Access",
                "Directory Service Changes",
                "Directory Service Replication",
                "Detailed Directory Service Replication",
            ],
        ),
        8280 => (
            "Account Logon",
            &[
                "Credential Validation",
                "Kerberos Service Ticket Operations",
                "Other Account Logon Events",
                "Kerberos Authentication Service",
            ],
        ),
        _ => return None,
    };
    // Subcategories number from 12288 in blocks of 256 per category.
    let base = 12288 + (category - 8272) * 256;
    let sub = sub.checked_sub(base).and_then(|i| subs.get(i as usize)).copied();
    Some((name, sub))
}

/// `wstr_unescape_json`: only `\b \t \n \f \r \" \\` are restored.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let restored = match chars.peek() {
                Some('b') => Some('\u{8}'),
                Some('t') => Some('\t'),
                Some('n') => Some('\n'),
                Some('f') => Some('\u{c}'),
                Some('r') => Some('\r'),
                Some('"') => Some('"'),
                Some('\\') => Some('\\'),
                _ => None,
            };
            if let Some(r) = restored {
                chars.next();
                out.push(r);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The `{"win":…}` text for one event channel message.
fn convert(root: &Json<'_>) -> Result<String, ModuleError> {
    let event = get(root, "Event")
        .ok_or_else(|| ModuleError::invalid(MODULE, "Malformed JSON received. No 'Event' field found."))?;
    let mut walk = Walk::default();
    if let Some(tree) = xml::parse(&json::compact(event)) {
        for section in &tree.children {
            for e in &section.children {
                match section.name.as_str() {
                    "System" => walk.system(e),
                    "EventData" => walk.eventdata(e),
                    _ => walk.other(e),
                }
            }
        }
        walk.derived();
    } else {
        tracing::debug!("could not read an event channel XML string");
    }
    if let Some(message) = get(root, "Message") {
        let text = unescape(&json::compact(message));
        push(&mut walk.system, "message", text.trim_end_matches(|c: char| c.is_ascii_whitespace()));
    }
    let mut win: Members = vec![(Cow::Borrowed("system"), Json::Object(walk.system))];
    if !walk.eventdata.is_empty() {
        win.push((Cow::Borrowed("eventdata"), Json::Object(walk.eventdata)));
    }
    if let Some(name) = walk.extra_name {
        win.push((Cow::Owned(lower_first(&name)), Json::Object(walk.extra)));
    }
    Ok(json::compact(&Json::Object(vec![(Cow::Borrowed("win"), Json::Object(win))])))
}

/// Decodes one queue `f` message.
pub fn decode(ctx: &mut Context<'_, '_>, pre: Predecoded) -> Result<Handled, ModuleError> {
    let root = json::parse(MODULE, &pre.log)?;
    let converted = convert(&root)?;
    drop(root);
    let mut event = ctx.event(pre, Builtin::WindowsEventchannel);
    event.pre.program_name = None;
    event.pre.timestamp = None;
    event.pre.full_log.clone_from(&converted);
    if let Some(decoder) = event.decoder.map(|id| ctx.decoders.get(id)) {
        plugins::run(Plugin::Json, Some(&converted), &converted, decoder, &mut event, &|_| false);
    }
    event.pre.log = converted;
    Ok(Handled::Event(Box::new(event)))
}

#[cfg(test)]
mod tests;
