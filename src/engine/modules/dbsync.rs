//! State synchronisation (queue `5`, dbsync.c and wazuh-db's integrity checks): agents compare
//! checksums of key ranges of their FIM and inventory tables with ours, send the rows of ranges
//! that differ (`state`), and start over (`integrity_clear`). Nothing reaches the rules; the
//! answers (`no_data`, `checksum_fail`) go back to the agent's module.

use ring::digest::{Context as Digest, SHA1_FOR_LEGACY_USE_ONLY};
use serde_json::Value;

use super::json::{self, get, num_of, str_of};
use super::syscollector::{self, Kind};
use super::{Context, Handled, ModuleError, Reply};
use crate::engine::plugins::cjson::Json;
use crate::engine::predecode::Predecoded;
use crate::store::state::{Owner, Table};

const MODULE: &str = "dbsync";

/// What a component's rows are.
enum Component {
    /// FIM entries: `syscheck` (both tables), `fim_file`, `fim_registry*`.
    Fim(&'static [Table]),
    /// An inventory table.
    Inventory(&'static Kind),
}

fn component(name: &str) -> Option<Component> {
    Some(match name {
        "syscheck" => Component::Fim(&[Table::FimFile, Table::FimRegistry]),
        "fim_file" => Component::Fim(&[Table::FimFile]),
        "fim_registry" | "fim_registry_key" | "fim_registry_value" => Component::Fim(&[Table::FimRegistry]),
        other => Component::Inventory(syscollector::kind(other.strip_prefix("syscollector_")?)?),
    })
}

impl Component {
    fn tables(&self) -> &[Table] {
        match self {
            Self::Fim(tables) => tables,
            Self::Inventory(kind) => std::slice::from_ref(&kind.table),
        }
    }
}

/// How a range compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Match,
    NoData,
    ChecksumFail,
}

/// SHA-1 of the stored rows' checksums over `begin..=end`, against the agent's.
fn check_range(
    ctx: &Context<'_, '_>,
    owner: Owner,
    c: &Component,
    begin: &str,
    end: &str,
    theirs: &str,
) -> Result<Verdict, ModuleError> {
    let mut digest = Digest::new(&SHA1_FOR_LEGACY_USE_ONLY);
    let mut rows = 0;
    for table in c.tables() {
        for (_, row) in ctx.state.range(owner, *table, begin, end)? {
            if let Some(sum) = row.get("checksum").and_then(Value::as_str).filter(|s| !s.is_empty() && *s != "legacy") {
                digest.update(sum.as_bytes());
                rows += 1;
            }
        }
    }
    if rows == 0 {
        return Ok(Verdict::NoData);
    }
    let ours = crate::hex::encode(digest.finish().as_ref());
    Ok(if ours == theirs { Verdict::Match } else { Verdict::ChecksumFail })
}

/// Handles one queue `5` message.
pub fn dispatch(ctx: &mut Context<'_, '_>, owner: Owner, pre: &Predecoded) -> Result<Handled, ModuleError> {
    let root = json::parse(MODULE, &pre.log)?;
    let name = str_of(&root, "component").ok_or_else(|| ModuleError::invalid(MODULE, "no component"))?;
    let kind = str_of(&root, "type").ok_or_else(|| ModuleError::invalid(MODULE, "no message type"))?;
    let c = component(name).ok_or_else(|| ModuleError::invalid(MODULE, "Invalid component specified."))?;
    let data =
        get(&root, "data").ok_or_else(|| ModuleError::invalid(MODULE, "Corrupt message: cannot get data member."))?;
    if kind.starts_with("integrity_check_") {
        let (Some(begin), Some(end), Some(sum), Some(_)) =
            (str_of(data, "begin"), str_of(data, "end"), str_of(data, "checksum"), num_of(data, "id"))
        else {
            return Err(ModuleError::invalid(MODULE, "Cannot perform range checksum"));
        };
        let verdict = check_range(ctx, owner, &c, begin, end, sum)?;
        match kind {
            "integrity_check_global" => {
                for table in c.tables() {
                    ctx.state.delete_outside(owner, *table, begin, end)?;
                }
            }
            "integrity_check_left" => {
                // Rows between this range and the next one (the tail) are gone on the agent;
                // without a tail, everything outside the range is.
                for table in c.tables() {
                    match str_of(data, "tail") {
                        Some(tail) => delete_between(ctx, owner, *table, end, tail)?,
                        None => {
                            ctx.state.delete_outside(owner, *table, begin, end)?;
                        }
                    }
                }
            }
            _ => {}
        }
        let result = match verdict {
            Verdict::Match => return Ok(Handled::Absorbed),
            Verdict::NoData => "no_data",
            Verdict::ChecksumFail => "checksum_fail",
        };
        let answer = match data {
            Json::Object(members) => {
                let kept = members.iter().filter(|(k, _)| k != "tail" && k != "checksum").cloned().collect();
                json::compact(&Json::Object(kept))
            }
            other => json::compact(other),
        };
        ctx.effects.replies.push(Reply { to: owner, text: format!("{name} dbsync {result} {answer}") });
        return Ok(Handled::Absorbed);
    }
    match kind {
        "state" => save_state(ctx, owner, &c, data)?,
        "integrity_clear" => {
            if num_of(data, "id").is_none() {
                return Err(ModuleError::invalid(MODULE, "integrity_clear without an id"));
            }
            for table in c.tables() {
                ctx.state.clear(owner, *table)?;
            }
        }
        other => {
            return Err(ModuleError::invalid(
                MODULE,
                format!("Wrong message type '{other}' received from agent {owner}."),
            ));
        }
    }
    Ok(Handled::Absorbed)
}

/// Deletes the rows strictly between `after` and `before`.
fn delete_between(
    ctx: &mut Context<'_, '_>,
    owner: Owner,
    table: Table,
    after: &str,
    before: &str,
) -> Result<(), ModuleError> {
    for (key, _) in ctx.state.range(owner, table, after, before)? {
        if key.as_str() != after && key.as_str() != before {
            ctx.state.delete(owner, table, &key)?;
        }
    }
    Ok(())
}

/// A `state` row: a FIM entry as its event would store it, or an inventory row.
fn save_state(ctx: &mut Context<'_, '_>, owner: Owner, c: &Component, data: &Json<'_>) -> Result<(), ModuleError> {
    match c {
        Component::Fim(_) => super::fim::save_state(ctx, owner, data),
        Component::Inventory(kind) => {
            let attributes =
                get(data, "attributes").ok_or_else(|| ModuleError::invalid(MODULE, "Cannot save Syscollector"))?;
            syscollector::save(ctx, owner, kind, attributes)?;
            Ok(())
        }
    }
}
