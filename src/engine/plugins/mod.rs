//! Wazuh's built-in decoders that `<plugin_decoder>` names.

pub mod cjson;
mod json;
mod ossec_alert;
mod pf;
mod sonicwall;
mod symantec;

use super::event::Event;
use crate::ruleset::decoder::{Decoder, Plugin};

/// Runs `plugin`. The JSON decoder reads `input` (chosen by the plugin offset; `None` is a
/// no-op); the others read the whole `log`, as in Wazuh. Returns a replacement log when the
/// plugin rewrote the event (OSSECAlert).
pub fn run(
    plugin: Plugin,
    input: Option<&str>,
    log: &str,
    decoder: &Decoder,
    event: &mut Event,
    rule_exists: &dyn Fn(&str) -> bool,
) -> Option<String> {
    match plugin {
        Plugin::Json => input.map(|i| json::decode(i, decoder, event)).and(None),
        Plugin::Pf => {
            pf::decode(log, event);
            None
        }
        Plugin::SymantecWs => {
            symantec::decode(log, event);
            None
        }
        Plugin::SonicWall => {
            sonicwall::decode(log, event);
            None
        }
        Plugin::OssecAlert => ossec_alert::decode(log, event, rule_exists),
    }
}
