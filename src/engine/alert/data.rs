//! The `data` object of an alert (engine.md §7.1, Wazuh's `to_json.c` and `W_JSON_AddField`):
//! the static fields in Wazuh's order, then the dynamic fields, dotted names nested.

use crate::engine::event::Event;
use crate::engine::plugins::cjson;
use crate::ruleset::decoder::StaticField;

/// The static fields, in the order `to_json.c` adds them.
const STATIC_ORDER: [StaticField; 14] = [
    StaticField::Protocol,
    StaticField::Action,
    StaticField::SrcIp,
    StaticField::SrcPort,
    StaticField::SrcUser,
    StaticField::DstIp,
    StaticField::DstPort,
    StaticField::DstUser,
    StaticField::Id,
    StaticField::Status,
    StaticField::Url,
    StaticField::Data,
    StaticField::ExtraData,
    StaticField::SystemName,
];

enum Node<'e> {
    /// A string value.
    Text(&'e str),
    /// A value already printed as JSON (an array the JSON decoder produced).
    Json(String),
    Object(Vec<(&'e str, Node<'e>)>),
}

type Members<'e> = Vec<(&'e str, Node<'e>)>;

/// cJSON's `GetObjectItem`: the first member with this name, compared case-insensitively.
fn find<'a, 'e>(members: &'a mut [(&'e str, Node<'e>)], key: &str) -> Option<&'a mut Node<'e>> {
    members.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, node)| node)
}

/// `W_JSON_AddField`: `a.b.c` nests; an intermediate that exists but is not an object drops the
/// value, and so does a leaf that exists. A value starting with `[` that is wholly JSON is
/// embedded as JSON.
fn add_field<'e>(members: &mut Members<'e>, key: &'e str, value: &'e str) {
    if let Some((head, rest)) = key.split_once('.') {
        match find(members, head) {
            Some(Node::Object(inner)) => add_field(inner, rest, value),
            Some(_) => {}
            None => {
                let mut inner = Vec::new();
                add_field(&mut inner, rest, value);
                members.push((head, Node::Object(inner)));
            }
        }
        return;
    }
    if find(members, key).is_some() {
        return;
    }
    let node = match value.starts_with('[').then(|| cjson::parse_complete(value)).flatten() {
        Some(json) => {
            let mut printed = String::new();
            cjson::print_compact(&json, &mut printed);
            Node::Json(printed)
        }
        None => Node::Text(value),
    };
    members.push((key, node));
}

fn print(members: &[(&str, Node<'_>)], out: &mut String) {
    out.push('{');
    for (i, (key, node)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cjson::print_string(key, out);
        out.push(':');
        match node {
            Node::Text(text) => cjson::print_string(text, out),
            Node::Json(json) => out.push_str(json),
            Node::Object(inner) => print(inner, out),
        }
    }
    out.push('}');
}

/// The `data` object of an event, ready to print.
pub struct Data<'e>(Members<'e>);

impl Data<'_> {
    /// Appends the object as compact JSON.
    pub fn print(&self, out: &mut String) {
        print(&self.0, out);
    }
}

/// The `data` object of `event`, or `None` when it would be empty (Wazuh then leaves `data`
/// out). Dynamic fields are shown only for decoded events, and never the empty ones.
pub fn data(event: &Event) -> Option<Data<'_>> {
    let mut members: Members<'_> =
        STATIC_ORDER.iter().filter_map(|&f| event.get(f).map(|v| (f.name(), Node::Text(v)))).collect();
    if event.decoder.is_some() {
        for (key, value) in event.dynamic().iter().filter(|(_, v)| !v.is_empty()) {
            add_field(&mut members, key, value);
        }
    }
    (!members.is_empty()).then_some(Data(members))
}

/// [`data`] as a string.
pub fn data_json(event: &Event) -> Option<String> {
    data(event).map(|d| {
        let mut out = String::new();
        d.print(&mut out);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    fn event() -> Event {
        let mut e = Event::new(predecode(b"1:x:y", "m").expect("predecode"));
        e.decoder = Some(0);
        e
    }

    #[test]
    fn static_order_then_nested_dynamic_fields() {
        let mut e = event();
        e.set(StaticField::DstUser, "root".into());
        e.set(StaticField::SrcIp, "10.0.0.1".into());
        e.push_dynamic("win.system.eventID".into(), "4624".into());
        e.push_dynamic("win.system.level".into(), "0".into());
        e.push_dynamic("win.system.eventID".into(), "dropped: first wins".into());
        e.push_dynamic("win.system".into(), "dropped: an object is there".into());
        e.push_dynamic("SrcIP".into(), "dropped: names compare case-insensitively".into());
        e.push_dynamic("tags".into(), r#"["a", "b"]"#.into());
        e.push_dynamic("note".into(), "[not json".into());
        e.push_dynamic("empty".into(), String::new());
        e.push_dynamic("quote".into(), "say \"hi\"\n".into());
        assert_eq!(
            data_json(&e).as_deref(),
            Some(
                r#"{"srcip":"10.0.0.1","dstuser":"root","win":{"system":{"eventID":"4624","level":"0"}},"tags":["a","b"],"note":"[not json","quote":"say \"hi\"\n"}"#
            )
        );
    }

    #[test]
    fn nothing_to_show() {
        let mut e = event();
        e.push_dynamic("empty".into(), String::new());
        assert_eq!(data_json(&e), None);
        let mut undecoded = Event::new(predecode(b"1:x:y", "m").expect("predecode"));
        undecoded.push_dynamic("k".into(), "v".into());
        assert_eq!(data_json(&undecoded), None, "no decoder: no dynamic fields");
        e.push_dynamic("a".into(), "1".into());
        e.push_dynamic("a.b".into(), "dropped: `a` is a string".into());
        assert_eq!(data_json(&e).as_deref(), Some(r#"{"a":"1"}"#));
    }
}
