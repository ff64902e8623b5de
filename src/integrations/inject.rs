//! Events an integration feeds back into the engine (VirusTotal's and Maltiverse's results), in
//! the form their scripts write to `queue/sockets/queue`: `1:<location>:<json>`, the location
//! naming the agent of the alert they answer, so rules 87100-87106 and 99700-99702 fire for it.

use std::sync::Arc;

use serde_json::Value;

use crate::output::alert::Alert;

/// Where injected events go (the engine's local queue).
pub type Injector = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// The queue message for `event`, produced by `module` about `alert` (`None`: the manager).
/// An agent's location is `[id] (name) ip->module`, with `|` and `:` escaped as Wazuh's
/// scripts escape them.
pub fn message(module: &str, alert: Option<&Alert>, event: &Value) -> Vec<u8> {
    let agent = alert.filter(|a| a.agent_id() != "000" && a.get("agent").is_some());
    let location = match agent {
        Some(a) => {
            let place = format!(
                "[{}] ({}) {}",
                a.agent_id(),
                a.str("agent.name").unwrap_or(""),
                a.str("agent.ip").unwrap_or("any")
            );
            format!("{}->{module}", place.replace('|', "||").replace(':', "|:"))
        }
        None => module.to_owned(),
    };
    format!("1:{location}:{event}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_agent_as_the_scripts_do() {
        let event = serde_json::json!({"integration": "virustotal"});
        let agent = Alert::parse(br#"{"rule":{},"agent":{"id":"001","name":"web:01","ip":"fe80::1"}}"#).expect("alert");
        assert_eq!(
            String::from_utf8_lossy(&message("virustotal", Some(&agent), &event)),
            r#"1:[001] (web|:01) fe80|:|:1->virustotal:{"integration":"virustotal"}"#
        );
        let manager = Alert::parse(br#"{"rule":{},"agent":{"id":"000","name":"m"}}"#).expect("alert");
        assert_eq!(message("virustotal", Some(&manager), &event), message("virustotal", None, &event));
        assert_eq!(message("maltiverse", None, &event), br#"1:maltiverse:{"integration":"virustotal"}"#);
    }
}
