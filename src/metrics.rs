//! Prometheus text exposition (format 0.0.4) of the services' counters. Services describe their
//! counters into an [`Exposition`]; `vigil serve` writes the result to `var/run/vigil.prom`
//! (node_exporter's textfile collector reads such files) and the API serves it.

use std::fmt::Write as _;

/// A metrics page being written.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
    /// The metric whose HELP and TYPE lines were written last: samples of one metric are
    /// written together, so each gets its header once.
    current: String,
}

impl Exposition {
    /// A counter sample.
    pub fn counter(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: u64) {
        self.sample(name, "counter", help, labels, value);
    }

    /// A gauge sample.
    pub fn gauge(&mut self, name: &str, help: &str, labels: &[(&str, &str)], value: u64) {
        self.sample(name, "gauge", help, labels, value);
    }

    fn sample(&mut self, name: &str, kind: &str, help: &str, labels: &[(&str, &str)], value: u64) {
        if self.current != name {
            let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
            self.current = name.to_owned();
        }
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape(value));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    /// The page.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A rate (per second) from successive reads of a counter: each read compares with the one
/// before, once at least a second has passed.
#[derive(Debug, Default)]
pub struct Rate {
    last: std::sync::Mutex<Option<(std::time::Instant, u64, u64)>>,
}

impl Rate {
    /// The counter's rate given its value now.
    pub fn sample(&self, count: u64) -> u64 {
        let now = std::time::Instant::now();
        let mut last = crate::sync::lock(&self.last);
        match *last {
            Some((at, before, rate)) => {
                let elapsed = now.duration_since(at).as_secs_f64();
                if elapsed < 1.0 {
                    return rate;
                }
                let rate = (count.saturating_sub(before) as f64 / elapsed).round() as u64;
                *last = Some((now, count, rate));
                rate
            }
            None => {
                *last = Some((now, count, 0));
                0
            }
        }
    }
}

/// Busy and total jiffies of each CPU at the previous [`core_loads`] call.
static CORE_TIMES: std::sync::Mutex<Vec<(u64, u64)>> = std::sync::Mutex::new(Vec::new());

/// Each core's busy share (percent) since the previous call, from `/proc/stat`; empty when it
/// cannot be read.
pub fn core_loads() -> Vec<u64> {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return Vec::new() };
    let now: Vec<(u64, u64)> = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|l| {
            let fields: Vec<u64> = l.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
            let total: u64 = fields.iter().sum();
            // idle and iowait are the 4th and 5th fields.
            let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
            (total - idle.min(total), total)
        })
        .collect();
    let mut before = crate::sync::lock(&CORE_TIMES);
    let loads = now
        .iter()
        .enumerate()
        .map(|(i, (busy, total))| {
            let (b0, t0) = before.get(i).copied().unwrap_or((0, 0));
            let dt = total.saturating_sub(t0);
            (busy.saturating_sub(b0) * 100).checked_div(dt).unwrap_or(0)
        })
        .collect();
    *before = now;
    loads
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_of_a_metric_share_one_header_and_labels_are_escaped() {
        let mut page = Exposition::default();
        page.counter("a_total", "As.", &[("k", "x")], 1);
        page.counter("a_total", "As.", &[("k", "q\"\\\n")], 2);
        page.gauge("b", "B.", &[], 7);
        assert_eq!(
            page.finish(),
            "# HELP a_total As.\n# TYPE a_total counter\na_total{k=\"x\"} 1\na_total{k=\"q\\\"\\\\\\n\"} 2\n\
             # HELP b B.\n# TYPE b gauge\nb 7\n"
        );
    }
}
