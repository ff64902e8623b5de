//! `$(field)` in rule descriptions (engine.md §5.6, Wazuh's `ParseRuleComment`).

use std::borrow::Cow;

use super::event::Event;
use crate::ruleset::decoder::StaticField;

/// Wazuh's `OS_COMMENT_MAX`: a result this long or longer falls back to the raw description.
const MAX: usize = 1024;

/// The value `$(name)` stands for: a static or pre-decoded field by exact name, else a dynamic
/// field found case-insensitively. GeoIP fields are not built in, so they are dynamic too.
fn lookup<'e>(event: &'e Event, name: &str) -> Option<&'e str> {
    let field = match name {
        "program_name" => return event.pre.program_name.as_deref(),
        "hostname" => return Some(&event.pre.hostname),
        // `user` is not a name here, and `$(dstuser)` is the decoded user.
        "user" => None,
        other => StaticField::from_order(other),
    };
    match field {
        Some(field) => event.get(field),
        None => event.field(name),
    }
}

/// The description of the alert: each `$(name)` replaced by its value (empty when unset). An
/// unclosed `$(` is kept as written from there on. Only the first 1024 bytes of the template are
/// read, and a result of 1024 bytes or more gives the template back unchanged.
pub fn describe<'t>(template: &'t str, event: &Event) -> Cow<'t, str> {
    if !template.contains("$(") {
        return Cow::Borrowed(template);
    }
    let cut = (0..=template.len().min(MAX)).rev().find(|&i| template.is_char_boundary(i)).unwrap_or(0);
    let mut rest = &template[..cut];
    let mut out = String::with_capacity(rest.len());
    let fits = |out: &String, more: &str| out.len() + more.len() < MAX;
    while let Some(at) = rest.find("$(") {
        let before = &rest[..at];
        if !fits(&out, before) {
            return Cow::Borrowed(template);
        }
        out.push_str(before);
        let after = &rest[at + 2..];
        let Some(close) = after.find(')') else {
            rest = &rest[at..];
            break;
        };
        if let Some(value) = lookup(event, &after[..close]) {
            if !fits(&out, value) {
                return Cow::Borrowed(template);
            }
            out.push_str(value);
        }
        rest = &after[close + 1..];
    }
    if !fits(&out, rest) {
        return Cow::Borrowed(template);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    fn event() -> Event {
        let pre = predecode(b"1:/var/log/auth.log:Nov 12 10:11:12 web01 sshd[1]: x", "vm").expect("predecode");
        let mut event = Event::new(pre);
        event.set(StaticField::SrcIp, "10.0.0.5".into());
        event.set(StaticField::DstUser, "root".into());
        event.push_dynamic("Audit.Key".into(), "wazuh-w".into());
        event
    }

    #[test]
    fn fields_replaced_as_wazuh_does() {
        let e = event();
        assert_eq!(describe("Login of $(dstuser) from $(srcip)", &e), "Login of root from 10.0.0.5");
        assert_eq!(describe("$(program_name) on $(hostname)", &e), "sshd on web01");
        assert_eq!(describe("key $(audit.key)", &e), "key wazuh-w", "dynamic names ignore case");
        assert_eq!(describe("[$(srcport)] [$(user)]", &e), "[] []", "unset fields are empty");
        assert_eq!(describe("$(SRCIP)", &e), "", "static names are case-sensitive, then dynamic");
        assert_eq!(describe("from $(srcip) and $(dstuser", &e), "from 10.0.0.5 and $(dstuser");
        assert!(matches!(describe("no fields", &e), Cow::Borrowed("no fields")));
    }

    #[test]
    fn too_long_gives_the_template_back() {
        let mut e = event();
        e.set(StaticField::Data, "d".repeat(1000));
        let template = "x".repeat(30) + "$(data)";
        assert_eq!(describe(&template, &e), template);
        let short = "y".repeat(10) + "$(data)";
        assert_eq!(describe(&short, &e).len(), 1010);
    }
}
