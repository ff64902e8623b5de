//! What a decrypted payload is (protocol.md §3.1): a control message when it starts with `#!-`,
//! else an event.

/// A payload, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload<'a> {
    /// `#!-agent startup ` with the JSON 4.6+ agents add (`{"version":"v4.14.7"}`).
    Startup {
        /// The version in the JSON, when there is one.
        version: Option<String>,
    },
    /// `#!-agent shutdown `: no ack; the agent is disconnected.
    Shutdown,
    /// `#!-req <counter> <response>`: an answer to a manager request.
    Response {
        /// The request's counter (hex).
        counter: &'a str,
        /// What the agent answered.
        body: &'a [u8],
    },
    /// Any other `#!-` message with a LF: a keepalive, its text after `#!-`.
    Keepalive(&'a str),
    /// An event (`<q>:<location>:<log>`).
    Event(&'a [u8]),
}

/// Why a control message was refused ("Invalid message from agent").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// A keepalive without a LF, or not UTF-8.
    #[error("invalid keepalive")]
    Keepalive,
    /// A `#!-req` without counter.
    #[error("invalid request response")]
    Response,
}

/// Classifies a decrypted payload.
pub fn classify(payload: &[u8]) -> Result<Payload<'_>, ControlError> {
    let Some(control) = payload.strip_prefix(b"#!-") else {
        return Ok(Payload::Event(payload));
    };
    if let Some(rest) = control.strip_prefix(b"agent startup") {
        let json = rest.strip_prefix(b" ").unwrap_or(rest);
        let version = serde_json::from_slice::<serde_json::Value>(json)
            .ok()
            .and_then(|v| v.get("version").and_then(|v| v.as_str()).map(str::to_owned));
        return Ok(Payload::Startup { version });
    }
    if control == b"agent shutdown " {
        return Ok(Payload::Shutdown);
    }
    if let Some(rest) = control.strip_prefix(b"req ") {
        let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
        let counter = std::str::from_utf8(&rest[..end]).map_err(|_| ControlError::Response)?;
        if counter.is_empty() {
            return Err(ControlError::Response);
        }
        let body = rest.get(end + 1..).unwrap_or_default();
        return Ok(Payload::Response { counter, body });
    }
    if !control.contains(&b'\n') {
        return Err(ControlError::Keepalive);
    }
    std::str::from_utf8(control).map(Payload::Keepalive).map_err(|_| ControlError::Keepalive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_classified_as_remoted_does() {
        assert_eq!(
            classify(br#"#!-agent startup {"version":"v4.14.7"}"#),
            Ok(Payload::Startup { version: Some("v4.14.7".into()) })
        );
        assert_eq!(classify(b"#!-agent startup "), Ok(Payload::Startup { version: None }));
        assert_eq!(classify(b"#!-agent shutdown "), Ok(Payload::Shutdown));
        assert_eq!(classify(b"#!-req 1a2b ok {}"), Ok(Payload::Response { counter: "1a2b", body: b"ok {}" }));
        assert_eq!(
            classify(b"#!-Linux |h |5 - Wazuh v4.14.7\nx merged.mg\n"),
            Ok(Payload::Keepalive("Linux |h |5 - Wazuh v4.14.7\nx merged.mg\n"))
        );
        assert_eq!(classify(b"#!-no newline"), Err(ControlError::Keepalive));
        assert_eq!(classify(b"1:/var/log/syslog:line"), Ok(Payload::Event(b"1:/var/log/syslog:line")));
    }
}
