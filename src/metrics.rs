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
