//! Requests of Wazuh's logtest protocol (engine.md §8.3; logtest.c `w_logtest_check_input`):
//! which are refused, with which error code and message.

use crate::engine::plugins::cjson::{self, Json, print_compact};

/// Characters of the request shown around a JSON syntax error.
const CONTEXT: usize = 20;
/// Token length.
pub const TOKEN_LEN: usize = 8;

/// Error codes of the response's `error` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The request was handled.
    Ok = 0,
    /// Not JSON.
    Parse = 1,
    /// A field is missing or invalid.
    Invalid = 2,
    /// Unknown command.
    Command = 3,
    /// `remove_session` without a valid token.
    Token = 4,
    /// Larger than the protocol allows.
    TooLarge = 5,
}

/// A request that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `log_processing`.
    Log(LogRequest),
    /// `remove_session`.
    Remove {
        /// The session.
        token: String,
    },
}

/// `log_processing` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    /// `location`.
    pub location: String,
    /// The event text (an object event printed compactly).
    pub event: String,
    /// A well-formed token to reuse, if given.
    pub token: Option<String>,
    /// `options.rules_debug`.
    pub rules_debug: bool,
    /// Warnings about parameters that were dropped.
    pub warnings: Vec<String>,
}

/// A refused request: code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The `error` code.
    pub code: Code,
    /// The `message`.
    pub message: String,
}

fn refuse(code: Code, message: impl Into<String>) -> Refused {
    Refused { code, message: message.into() }
}

fn member<'j>(object: &'j [(std::borrow::Cow<'_, str>, Json<'_>)], key: &str) -> Option<&'j Json<'j>> {
    object.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A string member that must be present and not empty.
fn required<'j>(params: &'j [(std::borrow::Cow<'_, str>, Json<'_>)], key: &str) -> Result<&'j str, Refused> {
    match member(params, key) {
        Some(Json::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(refuse(Code::Invalid, format!("(7308): '{key}' JSON field is required and must be a string"))),
    }
}

/// Whether `token` is 8 lowercase or uppercase hex digits.
fn valid_token(token: &str) -> bool {
    token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks one request.
pub fn parse(text: &str) -> Result<Request, Refused> {
    let root = cjson::parse_at(text).map_err(|at| {
        let start = at.saturating_sub(CONTEXT / 2);
        let slice: String = text.get(start..).unwrap_or_default().chars().take(CONTEXT).collect();
        refuse(Code::Parse, format!("(7307): Error parsing JSON in position {at}, ... {slice} ..."))
    })?;
    let Json::Object(root) = root else {
        return Err(refuse(Code::Invalid, "(7313): 'parameters' JSON field not found"));
    };
    let params = match member(&root, "parameters") {
        None => return Err(refuse(Code::Invalid, "(7313): 'parameters' JSON field not found")),
        Some(Json::Object(p)) => p,
        Some(_) => return Err(refuse(Code::Invalid, "(7317): 'parameters' JSON field value is not valid")),
    };
    let command = match member(&root, "command") {
        None => return Err(refuse(Code::Invalid, "(7313): 'command' JSON field not found")),
        Some(Json::String(c)) => c.as_ref(),
        Some(_) => return Err(refuse(Code::Invalid, "(7317): 'command' JSON field value is not valid")),
    };
    match command {
        "remove_session" => match member(params, "token") {
            Some(Json::String(t)) if t.len() == TOKEN_LEN => Ok(Request::Remove { token: t.to_string() }),
            Some(Json::String(t)) => Err(refuse(Code::Token, format!("(7309): '{t}' is not a valid token"))),
            _ => Err(refuse(Code::Token, "(7316): Failure to remove session. token JSON field must be a string")),
        },
        "log_processing" => log_request(params).map(Request::Log),
        _ => Err(refuse(Code::Command, "(7306): Unable to process command")),
    }
}

fn log_request(params: &[(std::borrow::Cow<'_, str>, Json<'_>)]) -> Result<LogRequest, Refused> {
    let location = required(params, "location")?.to_owned();
    required(params, "log_format")?;
    let event = match member(params, "event") {
        None => return Err(refuse(Code::Invalid, "(7313): 'event' JSON field not found")),
        Some(Json::String(s)) if !s.is_empty() => s.to_string(),
        Some(object @ Json::Object(members)) if !members.is_empty() => {
            let mut text = String::new();
            print_compact(object, &mut text);
            text
        }
        Some(_) => return Err(refuse(Code::Invalid, "(7317): 'event' JSON field value is not valid")),
    };
    let mut warnings = Vec::new();
    let token = match member(params, "token") {
        None => None,
        Some(Json::String(t)) if valid_token(t) => Some(t.to_string()),
        Some(other) => {
            let shown = match other {
                Json::String(t) => t.to_string(),
                value => {
                    let mut text = String::new();
                    print_compact(value, &mut text);
                    text
                }
            };
            warnings.push(format!("(7309): '{shown}' is not a valid token"));
            None
        }
    };
    let mut rules_debug = false;
    match member(params, "options") {
        None => {}
        Some(Json::Object(options)) => match member(options, "rules_debug") {
            None => {}
            Some(Json::True) => rules_debug = true,
            Some(Json::False) => {}
            Some(_) => {
                warnings.push("(7006): 'rules_debug' field must be a boolean. The parameter will be ignored".into())
            }
        },
        Some(_) => warnings.push("(7005): 'options' field must be a JSON object. The parameter will be ignored".into()),
    }
    Ok(LogRequest { location, event, token, rules_debug, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Code {
        parse(text).err().map_or(Code::Ok, |r| r.code)
    }

    #[test]
    fn wazuhs_error_codes() {
        assert_eq!(code("{nope"), Code::Parse);
        assert_eq!(code(r#"{"command":"log_processing"}"#), Code::Invalid);
        assert_eq!(code(r#"{"command":"x","parameters":{}}"#), Code::Command);
        assert_eq!(code(r#"{"command":"remove_session","parameters":{"token":"abc"}}"#), Code::Token);
        assert_eq!(code(r#"{"command":"remove_session","parameters":{"token":1}}"#), Code::Token);
        assert_eq!(
            code(r#"{"command":"log_processing","parameters":{"location":"stdin","event":"x"}}"#),
            Code::Invalid
        );
        let err = parse(r#"{"command":"log_processing","parameters":{"location":"","log_format":"s","event":"x"}}"#);
        assert_eq!(
            err.err().map(|r| r.message),
            Some("(7308): 'location' JSON field is required and must be a string".into())
        );
    }

    #[test]
    fn log_processing_with_object_event_bad_token_and_options() {
        let r = parse(
            r#"{"version":1,"command":"log_processing","parameters":{"location":"stdin","log_format":"syslog","event":{"b":1,"a":"x"},"token":"zz","options":{"rules_debug":true}}}"#,
        );
        let Ok(Request::Log(log)) = r else { panic!("accepted: {r:?}") };
        assert_eq!(log.event, r#"{"b":1,"a":"x"}"#, "object events keep their key order");
        assert_eq!(log.token, None);
        assert!(log.rules_debug);
        assert_eq!(log.warnings, vec!["(7309): 'zz' is not a valid token".to_owned()]);
        let r = parse(
            r#"{"command":"log_processing","parameters":{"location":"l","log_format":"f","event":"e","token":"0a1b2c3d"}}"#,
        );
        assert!(matches!(r, Ok(Request::Log(LogRequest { token: Some(_), .. }))));
    }
}
