//! vigil's own log, in Wazuh's formats so existing tools and the API's log routes read it:
//!
//! * `logs/ossec.log`: `YYYY/MM/DD HH:MM:SS vigil-<service>: LEVEL: message` (local time);
//! * `logs/ossec.json`: `{"timestamp","tag","level","description"}` one object a line.
//!
//! The service is the module an event comes from (`vigil::enroll` → `vigil-enroll`).

pub mod throttle;

use std::fmt::{self, Write as _};
use std::fs::OpenOptions;
use std::io::IsTerminal as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::Logging;

/// Wazuh's level words.
fn level_word(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// `vigil::store::wazuh` → `vigil-store`.
fn tag(target: &str) -> String {
    match target.strip_prefix("vigil::") {
        Some(rest) => format!("vigil-{}", rest.split("::").next().unwrap_or(rest)),
        None => "vigil".to_owned(),
    }
}

fn timestamp() -> String {
    jiff::ZonedDateTime::now().strftime("%Y/%m/%d %H:%M:%S").to_string()
}

/// Collects the message and the other fields as ` key=value`.
#[derive(Default)]
struct Message {
    text: String,
    fields: String,
}

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.text.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl Message {
    fn of(event: &Event<'_>) -> String {
        let mut m = Self::default();
        event.record(&mut m);
        m.text + &m.fields
    }
}

/// Wazuh's text line.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let message = Message::of(event);
        writeln!(w, "{} {}: {}: {}", timestamp(), tag(meta.target()), level_word(meta.level()), message)
    }
}

/// Wazuh's JSON line.
struct Json;

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let line = serde_json::json!({
            "timestamp": timestamp(),
            "tag": tag(meta.target()),
            "level": level_word(meta.level()).to_ascii_lowercase(),
            "description": Message::of(event),
        });
        writeln!(w, "{line}")
    }
}

fn open_log(path: &Path) -> std::io::Result<Mutex<std::fs::File>> {
    OpenOptions::new().create(true).append(true).mode(0o640).open(path).map(Mutex::new)
}

/// Sends tracing events to the home's log files (and to the terminal when there is one).
///
/// `debug` lowers the threshold to DEBUG, like Wazuh's `-d`; `RUST_LOG` overrides both.
pub fn init(logs_dir: &Path, format: Logging, debug: bool) -> std::io::Result<()> {
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(if debug { "debug" } else { "info" }));
    let plain = match format.plain {
        true => Some(
            tracing_subscriber::fmt::layer()
                .event_format(Plain)
                .with_writer(open_log(&logs_dir.join("ossec.log"))?)
                .with_filter(filter()),
        ),
        false => None,
    };
    let json = match format.json {
        true => Some(
            tracing_subscriber::fmt::layer()
                .event_format(Json)
                .with_writer(open_log(&logs_dir.join("ossec.json"))?)
                .with_filter(filter()),
        ),
        false => None,
    };
    let terminal = std::io::stderr().is_terminal().then(|| {
        tracing_subscriber::fmt::layer().event_format(Plain).with_writer(std::io::stderr).with_filter(filter())
    });
    let subscriber = tracing_subscriber::registry().with(plain).with(json).with(terminal);
    tracing::subscriber::set_global_default(subscriber).map_err(std::io::Error::other)?;
    log_panics();
    Ok(())
}

/// A panic (a bug: outside input never causes one) also goes to the log files, naming the
/// thread, so a service thread that stopped does not stop silently.
fn log_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current().name().unwrap_or("unnamed").to_owned();
        tracing::error!(thread, "a thread panicked: {info}");
        default(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_the_service() {
        assert_eq!(tag("vigil::store::wazuh"), "vigil-store");
        assert_eq!(tag("vigil::server"), "vigil-server");
        assert_eq!(tag("heed"), "vigil");
    }

    #[test]
    fn timestamp_has_wazuh_shape() {
        let t = timestamp();
        let b = t.as_bytes();
        assert_eq!(t.len(), 19, "{t}");
        assert_eq!((b[4], b[7], b[10], b[13], b[16]), (b'/', b'/', b' ', b':', b':'));
    }
}
