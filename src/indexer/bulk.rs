//! Log lines into `_bulk` requests, doing the work of Wazuh's ingest pipeline here: the alert
//! as the document, `@timestamp` from its `timestamp` (UTC), the daily index of that UTC day
//! under the stream's prefix, the two AWS copies, and `GeoLocation` when a database is set.
//! Each document's `_id` is a hash of where it is in the log and what it says, so a re-send
//! overwrites instead of duplicating.

use std::borrow::Cow;
use std::io::Write as _;
use std::ops::Range;

use serde::Deserialize;
use serde_json::Value;

use super::geo::Geo;
use crate::output::consumers::Position;

/// A stream's index prefix and tag (part of the ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// `wazuh-alerts-4.x-`.
    pub prefix: &'static str,
    /// `alerts`.
    pub tag: &'static str,
}

/// The alerts.json target.
pub const ALERTS: Target = Target { prefix: "wazuh-alerts-4.x-", tag: "alerts" };
/// The archives.json target.
pub const ARCHIVES: Target = Target { prefix: "wazuh-archives-4.x-", tag: "archives" };

/// A line that cannot be a document (the pipeline would have dropped it silently).
#[derive(Debug, thiserror::Error)]
pub enum BadLine {
    /// Not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// No usable `timestamp`.
    #[error("no ISO 8601 timestamp")]
    NoTimestamp,
}

/// One document of a batch.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Its action and source lines in the body.
    pub range: Range<usize>,
    /// Where its line ends in the log.
    pub end: Position,
    /// Its alert time, Unix milliseconds.
    pub time_ms: i64,
}

/// A `_bulk` body being built.
#[derive(Debug, Default)]
pub struct Batch {
    /// NDJSON.
    pub body: Vec<u8>,
    /// Its documents, in order.
    pub docs: Vec<Doc>,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    timestamp: Option<Cow<'a, str>>,
}

impl Batch {
    /// Adds the log line found at `at` (ending at `end`).
    pub fn push(
        &mut self,
        line: &[u8],
        at: Position,
        end: Position,
        target: Target,
        geo: Option<&Geo>,
    ) -> Result<(), BadLine> {
        let head: Head<'_> = serde_json::from_slice(line).map_err(|e| BadLine::NotJson(e.to_string()))?;
        let time = head.timestamp.as_deref().and_then(parse_time).ok_or(BadLine::NoTimestamp)?;
        let utc = jiff::tz::Offset::UTC.to_datetime(time);
        let start = self.body.len();
        let id = doc_id(target, at, line);
        let _ = write!(
            self.body,
            "{{\"index\":{{\"_index\":\"{}{:04}.{:02}.{:02}\",\"_id\":\"{id}\"}}}}\n{{\"@timestamp\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\"",
            target.prefix,
            utc.year(),
            utc.month(),
            utc.day(),
            utc.year(),
            utc.month(),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second(),
            utc.subsec_nanosecond() / 1_000_000,
        );
        let aws = memchr::memmem::find(line, b"\"aws\":").is_some();
        if aws || geo.is_some_and(|_| Geo::worth_parsing(line)) {
            if let Err(e) = self.push_enriched(line, geo) {
                // Nothing of a refused line may stay in the body.
                self.body.truncate(start);
                return Err(e);
            }
        } else {
            // The line as it is, after the fields added in front.
            let rest = &line[line.iter().position(|b| *b == b'{').map_or(0, |i| i + 1)..];
            if !rest.trim_ascii_start().starts_with(b"}") {
                self.body.push(b',');
            }
            self.body.extend_from_slice(rest);
        }
        self.body.push(b'\n');
        self.docs.push(Doc { range: start..self.body.len(), end, time_ms: time.as_millisecond() });
        Ok(())
    }

    /// The pipeline's `set` and `geoip` steps, which need the parsed alert.
    fn push_enriched(&mut self, line: &[u8], geo: Option<&Geo>) -> Result<(), BadLine> {
        let mut alert: Value = serde_json::from_slice(line).map_err(|e| BadLine::NotJson(e.to_string()))?;
        if let Some(aws) = alert.pointer_mut("/data/aws").and_then(Value::as_object_mut) {
            for (from, to) in [("awsRegion", "region"), ("aws_account_id", "accountId")] {
                if let Some(v) = aws.get(from).filter(|v| !v.is_null() && v.as_str() != Some("")).cloned() {
                    aws.entry(to).or_insert(v);
                }
            }
        }
        if let Some(location) = geo.and_then(|g| g.geolocation(&alert)) {
            let _ = write!(self.body, ",\"GeoLocation\":{location}");
        }
        let Value::Object(fields) = alert else { return Err(BadLine::NotJson("not an object".into())) };
        for (key, value) in &fields {
            let _ = write!(self.body, ",{}:{value}", Value::String(key.clone()));
        }
        self.body.push(b'}');
        Ok(())
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// No documents.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Document `i`'s source line (what was sent).
    pub fn source(&self, i: usize) -> &[u8] {
        let lines = &self.body[self.docs[i].range.clone()];
        let action_end = lines.iter().position(|b| *b == b'\n').map_or(0, |p| p + 1);
        lines[action_end..].strip_suffix(b"\n").unwrap_or(&lines[action_end..])
    }

    /// A batch of the documents `which` (in that order).
    pub fn subset(&self, which: impl IntoIterator<Item = usize>) -> Self {
        let mut out = Self::default();
        for i in which {
            let doc = &self.docs[i];
            let start = out.body.len();
            out.body.extend_from_slice(&self.body[doc.range.clone()]);
            out.docs.push(Doc { range: start..out.body.len(), ..doc.clone() });
        }
        out
    }
}

/// A deterministic id: the stream, the line's place and its bytes, hashed (SHA-256, 120 bits,
/// base64url: 20 characters).
fn doc_id(target: Target, at: Position, line: &[u8]) -> String {
    use base64::Engine as _;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(target.tag.as_bytes());
    ctx.update(&[0]);
    ctx.update(at.segment.day.to_string().as_bytes());
    ctx.update(&at.segment.number.to_be_bytes());
    ctx.update(&at.offset.to_be_bytes());
    ctx.update(line);
    let digest = ctx.finish();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..15])
}

/// An alert's `timestamp`: analysisd's `YYYY-MM-DDThh:mm:ss.mmm±hhmm`, or RFC 3339.
pub fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    fast_time(text.as_bytes()).or_else(|| text.parse().ok())
}

fn fast_time(b: &[u8]) -> Option<jiff::Timestamp> {
    let num = |r: Range<usize>| -> Option<i32> {
        b.get(r)?.iter().try_fold(0i32, |n, d| d.is_ascii_digit().then(|| n * 10 + i32::from(d - b'0')))
    };
    if b.len() != 28 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'.' {
        return None;
    }
    let sign = match b[23] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let dt = jiff::civil::DateTime::new(
        i16::try_from(num(0..4)?).ok()?,
        i8::try_from(num(5..7)?).ok()?,
        i8::try_from(num(8..10)?).ok()?,
        i8::try_from(num(11..13)?).ok()?,
        i8::try_from(num(14..16)?).ok()?,
        i8::try_from(num(17..19)?).ok()?,
        num(20..23)? * 1_000_000,
    )
    .ok()?;
    let offset = jiff::tz::Offset::from_seconds(sign * (num(24..26)? * 3600 + num(26..28)? * 60)).ok()?;
    offset.to_timestamp(dt).ok()
}

/// What a `_bulk` answer says about each document.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Indexed (or overwritten).
    pub done: Vec<usize>,
    /// Refused for now (429, 5xx): to send again.
    pub retry: Vec<usize>,
    /// Refused for good (mapping conflicts…): the document, status and reason.
    pub failed: Vec<(usize, u16, String)>,
}

#[derive(Deserialize)]
struct Answer {
    errors: bool,
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, Item>>,
}

#[derive(Deserialize)]
struct Item {
    status: u16,
    #[serde(default)]
    error: Option<Value>,
}

/// Whether a per-document status may succeed later.
pub fn retriable(status: u16) -> bool {
    status == 429 || status >= 500
}

/// Reads a `_bulk` answer for `docs` documents.
pub fn outcome(body: &[u8], docs: usize) -> Result<Outcome, String> {
    #[derive(Deserialize)]
    struct Quick {
        errors: bool,
    }
    let quick: Quick = serde_json::from_slice(body).map_err(|e| format!("unreadable _bulk answer: {e}"))?;
    if !quick.errors {
        return Ok(Outcome { done: (0..docs).collect(), ..Outcome::default() });
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| format!("unreadable _bulk answer: {e}"))?;
    if answer.items.len() != docs || !answer.errors {
        return Err(format!("_bulk answered {} items for {docs} documents", answer.items.len()));
    }
    let mut out = Outcome::default();
    for (i, item) in answer.items.into_iter().enumerate() {
        // An item without its action cannot be judged: sent again.
        let Some(item) = item.into_values().next() else {
            out.retry.push(i);
            continue;
        };
        match item.status {
            200..=299 => out.done.push(i),
            s if retriable(s) => out.retry.push(i),
            s => out.failed.push((i, s, item.error.map_or_else(|| "refused".to_owned(), |e| e.to_string()))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::segments::SegmentId;

    fn at(offset: u64) -> Position {
        Position { segment: SegmentId { day: jiff::civil::date(2026, 11, 28), number: 0 }, inode: 1, offset }
    }

    #[test]
    fn documents_get_the_pipeline_fields_and_stable_ids() {
        let line = br#"{"timestamp":"2026-11-28T00:30:00.250+0100","rule":{"level":5},"id":"1.2"}"#;
        let mut batch = Batch::default();
        batch.push(line, at(0), at(80), ALERTS, None).expect("push");
        let text = String::from_utf8(batch.body.clone()).expect("utf8");
        let mut lines = text.lines();
        let action: Value = serde_json::from_str(lines.next().expect("action")).expect("json");
        assert_eq!(action["index"]["_index"], "wazuh-alerts-4.x-2026.11.27", "the UTC day, as date_index_name");
        let id = action["index"]["_id"].as_str().expect("id");
        assert_eq!(id.len(), 20);
        let doc: Value = serde_json::from_str(lines.next().expect("doc")).expect("json");
        assert_eq!(doc["@timestamp"], "2026-11-27T23:30:00.250Z");
        assert_eq!(doc["rule"]["level"], 5);
        assert_eq!(batch.source(0), text.lines().nth(1).expect("doc").as_bytes());
        assert_eq!(batch.docs[0].time_ms, 1_795_822_200_250);

        let mut again = Batch::default();
        again.push(line, at(0), at(80), ALERTS, None).expect("push");
        assert_eq!(again.body, batch.body, "the same line at the same place: the same id");
        let mut elsewhere = Batch::default();
        elsewhere.push(line, at(80), at(160), ALERTS, None).expect("push");
        assert_ne!(elsewhere.body, batch.body, "another place, another id");
    }

    #[test]
    fn aws_copies_and_bad_lines() {
        let line =
            br#"{"timestamp":"2026-11-28T10:00:00.000+0000","data":{"aws":{"awsRegion":"eu-west-1","region":"keep"}}}"#;
        let mut batch = Batch::default();
        batch.push(line, at(0), at(1), ALERTS, None).expect("push");
        let doc: Value = serde_json::from_slice(batch.source(0)).expect("json");
        assert_eq!(doc["data"]["aws"]["region"], "keep", "never overrides");
        let line = br#"{"timestamp":"2026-11-28T10:00:00.000+0000","data":{"aws":{"aws_account_id":"42"}}}"#;
        batch.push(line, at(1), at(2), ALERTS, None).expect("push");
        let doc: Value = serde_json::from_slice(batch.source(1)).expect("json");
        assert_eq!(doc["data"]["aws"]["accountId"], "42");
        assert!(matches!(
            batch.push(b"{\"timestamp\":\"yesterday\"}", at(2), at(3), ALERTS, None),
            Err(BadLine::NoTimestamp)
        ));
        assert!(matches!(batch.push(b"{\"torn", at(2), at(3), ALERTS, None), Err(BadLine::NotJson(_))));
        assert_eq!(batch.len(), 2, "bad lines add nothing");
        assert_eq!(parse_time("2026-11-28T10:00:00Z").map(|t| t.as_second()), Some(1_795_860_000));
    }

    #[test]
    fn a_line_refused_halfway_leaves_nothing_in_the_body() {
        let mut batch = Batch::default();
        let ok = br#"{"timestamp":"2026-11-28T10:00:00.000+0000","rule":{"level":3}}"#;
        batch.push(ok, at(0), at(1), ALERTS, None).expect("push");
        let before = batch.body.clone();
        // Deeper than serde_json's value parser goes, on the path that parses values.
        let deep = format!(
            r#"{{"timestamp":"2026-11-28T10:00:00.000+0000","data":{{"aws":{{}}}},"x":{}{}}}"#,
            "[".repeat(300),
            "]".repeat(300)
        );
        assert!(batch.push(deep.as_bytes(), at(1), at(2), ALERTS, None).is_err());
        assert_eq!(batch.body, before, "the body is still whole NDJSON");
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn bulk_answers() {
        assert_eq!(outcome(br#"{"took":3,"errors":false,"items":[]}"#, 2).expect("ok").done, [0, 1]);
        let body = br#"{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":429,"error":{"type":"es_rejected_execution_exception"}}},{"index":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [rule.level]"}}}]}"#;
        let out = outcome(body, 3).expect("items");
        assert_eq!((out.done, out.retry), (vec![0], vec![1]));
        assert_eq!(out.failed.len(), 1);
        assert!(out.failed[0].2.contains("mapper_parsing_exception"));
        assert!(outcome(body, 2).is_err(), "items must match the documents");
        assert!(outcome(b"<html>", 1).is_err());
    }
}
