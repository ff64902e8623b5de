//! `SymantecWS_Decoder`: Symantec Web Security `N=value` pairs after the first comma.
//!
//! Wazuh means to skip date and time (two commas) but its second search starts on the first
//! comma, so it skips one; this follows the code. The first value of each key wins.

use crate::engine::event::Event;
use crate::ruleset::decoder::StaticField;

/// Up to `max` characters, stopping at a comma.
fn value(text: &str, max: usize) -> String {
    text.chars().take_while(|&c| c != ',').take(max).collect()
}

/// Decodes `log` into `event`.
pub fn decode(log: &str, event: &mut Event) {
    let Some(first) = log.find(',') else {
        return;
    };
    let mut rest = Some(&log[first + 1..]);
    while let Some(text) = rest {
        let set = |event: &mut Event, field, v: String| {
            if event.get(field).is_none() {
                event.set(field, v);
            }
        };
        if let Some(v) = text.strip_prefix("10=") {
            set(event, StaticField::DstUser, value(v, 128));
        } else if let Some(v) = text.strip_prefix("11=") {
            set(event, StaticField::SrcIp, value(v, 128));
        } else if let Some(v) = text.strip_prefix("60=") {
            set(event, StaticField::Url, value(v, 1024));
        } else if text.starts_with("3=") || text.starts_with("2=") {
            // Wazuh keeps the key too: nine characters from the start of the pair.
            set(event, StaticField::Id, text.chars().take(9).collect());
        }
        rest = text.find(',').map(|i| &text[i + 1..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    #[test]
    fn pairs_after_the_first_comma_first_value_wins() {
        let mut e = Event::new(predecode(b"1:sws:x", "m").unwrap_or_else(|e| panic!("{e}")));
        decode("20060101,120000,2=123456789012,10=alice,11=10.1.1.1,60=http://x.example/a,11=10.9.9.9", &mut e);
        assert_eq!(e.get(StaticField::DstUser), Some("alice"));
        assert_eq!(e.get(StaticField::SrcIp), Some("10.1.1.1"));
        assert_eq!(e.get(StaticField::Url), Some("http://x.example/a"));
        assert_eq!(e.get(StaticField::Id), Some("2=1234567"), "nine characters, key included");
    }
}
