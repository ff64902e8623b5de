//! Rootcheck (queue `9`, rootcheck.c): every finding is recorded in the agent's `pm_event`
//! table (first and last time seen, PCI DSS and CIS references) and goes to the rules (509+)
//! with its `title` and `file`. Wazuh alerts on every scan; the table only tells new from seen.

use serde_json::Value;

use super::{Context, Handled, ModuleError};
use crate::engine::predecode::Predecoded;
use crate::ruleset::decoder::Builtin;
use crate::store::state::{Owner, Row, Table};

/// `rk_get_title`: the finding without its references, file name or trailing detail.
pub fn title(log: &str) -> Option<String> {
    let mut t = log.to_owned();
    if let Some(at) = t.find(" {") {
        if at == 0 {
            return None;
        }
        t.truncate(at);
    }
    if let Some(c) = t.find("System Audit: ")
        && t.find(" - ").is_none_or(|d| c < d)
    {
        t = t[c + "System Audit: ".len()..].to_owned();
    }
    if let Some(at) = t.find(". ") {
        t.truncate(at + 1);
    }
    let quoted = t.find("File '").or_else(|| t.find("file '"));
    if let Some(c) = quoted
        && let Some(d) = t.get(c + 6..).and_then(|rest| rest.find("' ")).map(|d| d + c + 6)
    {
        t.replace_range(c + 5..d + 2, "");
    }
    Some(t)
}

/// `rk_get_file`: the file a finding names.
pub fn file(log: &str) -> Option<String> {
    if let Some((_, after)) = log.split_once("File: ") {
        return match after.find(". ") {
            Some(at) => Some(after[..at].to_owned()),
            None => after.strip_suffix('.').map(str::to_owned),
        };
    }
    let after = log.split_once("File '").or_else(|| log.split_once("file '")).map(|(_, a)| a)?;
    match after.find("' ") {
        Some(at) => Some(after[..at].to_owned()),
        None => after.strip_suffix('\'').map(str::to_owned),
    }
}

/// The text between `{<tag>: ` and the next `}`.
fn reference(log: &str, tag: &str) -> Option<String> {
    let (_, after) = log.split_once(&format!("{{{tag}: "))?;
    after.split_once('}').map(|(v, _)| v.to_owned())
}

/// Decodes one queue `9` message.
pub fn decode(ctx: &mut Context<'_, '_>, owner: Owner, pre: Predecoded) -> Result<Handled, ModuleError> {
    let log = pre.log.clone();
    let mut row: Row = ctx.state.get(owner, Table::Rootcheck, &log)?.unwrap_or_default();
    row.entry("date_first").or_insert(Value::from(ctx.now));
    row.insert("date_last".into(), Value::from(ctx.now));
    row.insert("log".into(), Value::from(log.as_str()));
    for (column, tag) in [("pci_dss", "PCI_DSS"), ("cis", "CIS")] {
        if let Some(value) = reference(&log, tag) {
            row.insert(column.into(), Value::from(value));
        }
    }
    ctx.state.put(owner, Table::Rootcheck, &log, &row)?;
    let mut event = ctx.event(pre, Builtin::Rootcheck);
    if let Some(t) = title(&log) {
        event.push_dynamic("title".into(), t);
    }
    if let Some(f) = file(&log) {
        event.push_dynamic("file".into(), f);
    }
    Ok(Handled::Event(Box::new(event)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_files_as_rootcheck_op_cuts_them() {
        let trojan = "Trojaned version of file '/bin/x' detected. Signature used: 'bash|^/bin/sh' (Generic).";
        assert_eq!(title(trojan).as_deref(), Some("Trojaned version of file detected."));
        assert_eq!(file(trojan).as_deref(), Some("/bin/x"));
        let audit = "System Audit: CIS - Debian Linux - 1.4 - Robust partition scheme - /tmp is not on its own partition {CIS: 1.4 Debian Linux} {PCI_DSS: 2.2.4}. File: /etc/fstab. Reference: https://x/y.pdf .";
        assert_eq!(
            title(audit).as_deref(),
            Some("CIS - Debian Linux - 1.4 - Robust partition scheme - /tmp is not on its own partition")
        );
        assert_eq!(file(audit).as_deref(), Some("/etc/fstab"));
        assert_eq!(reference(audit, "PCI_DSS").as_deref(), Some("2.2.4"));
        assert_eq!(reference(audit, "CIS").as_deref(), Some("1.4 Debian Linux"));
        assert_eq!(title("Starting rootcheck scan.").as_deref(), Some("Starting rootcheck scan."));
        assert_eq!(file("Starting rootcheck scan."), None);
    }
}
