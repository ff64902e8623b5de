//! Host information (queue `3`, hostinfo.c): `Host: <ip> (<name>), open ports: …` lines from
//! nmap logs. A port set already seen for the host is dropped; a new host raises rule 581
//! (`hostinfo_new`), a changed one rule 580 (`hostinfo_modified`). Wazuh keeps every state ever
//! seen in one file; here the agent's table keeps them per host, so going back to an earlier
//! port set is as quiet as in Wazuh.

use serde_json::Value;

use super::{Context, Handled, ModuleError};
use crate::engine::predecode::Predecoded;
use crate::ruleset::decoder::Builtin;
use crate::store::state::{Owner, Table};

/// Most port sets remembered per host.
const MAX_STATES: usize = 64;

/// Decodes one queue `3` message.
pub fn decode(ctx: &mut Context<'_, '_>, owner: Owner, pre: Predecoded) -> Result<Handled, ModuleError> {
    let invalid = |reason: &str| ModuleError::invalid("hostinfo", reason);
    let rest = pre.log.strip_prefix("Host: ").filter(|r| !r.is_empty()).ok_or_else(|| invalid("no 'Host: ' prefix"))?;
    let (host, ports) = rest.split_once(',').ok_or_else(|| invalid("no ',' after the host"))?;
    let ip = host.split(' ').next().unwrap_or_default().to_owned();
    let mut row = ctx.state.get(owner, Table::Hostinfo, &ip)?.unwrap_or_default();
    let seen = row.get("states").and_then(Value::as_array).cloned().unwrap_or_default();
    if seen.iter().any(|s| s.as_str() == Some(ports)) {
        return Ok(Handled::Absorbed);
    }
    let builtin = if seen.is_empty() { Builtin::HostinfoNew } else { Builtin::HostinfoModified };
    let mut states: Vec<Value> = seen;
    if states.len() >= MAX_STATES {
        states.remove(0);
    }
    states.push(Value::from(ports));
    row.insert("states".into(), Value::Array(states));
    row.insert("date_last".into(), Value::from(ctx.now));
    ctx.state.put(owner, Table::Hostinfo, &ip, &row)?;
    Ok(Handled::Event(Box::new(ctx.event(pre, builtin))))
}
