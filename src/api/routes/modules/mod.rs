//! What agents' modules reported, from the per-agent state: `/syscheck`, `/rootcheck`, `/sca`,
//! `/syscollector` and `/ciscat`, with Wazuh's item shapes.

mod ciscat;
mod rootcheck;
mod sca;
mod syscheck;
mod syscollector;

use serde_json::{Map, Value};

use super::agents::{checked, denied};
use crate::api::Api;
use crate::api::access::{Principal, Routes};
use crate::api::envelope::Affected;
use crate::api::error::ApiResult;
use crate::api::query::Params;
use crate::api::query::list::{LIST_PARAMS, Listing, SortKey, insert_path};
use crate::api::rbac::Action;
use crate::api::rbac::resource::Target;
use crate::store::state::{Owner, Row, Table};

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    let routes = syscheck::add(routes);
    let routes = rootcheck::add(routes);
    let routes = sca::add(routes);
    let routes = ciscat::add(routes);
    syscollector::add(routes)
}

/// The owner `raw` names, checked: it exists (1701, 404) and the caller may `action` it.
fn owner(api: &Api, me: &Principal, action: Action, raw: &str) -> ApiResult<Owner> {
    if raw == "000" {
        let allowed = me.permissions.allows(action, &Target::Agent { id: "000", groups: &[] });
        return if allowed { Ok(Owner::MANAGER) } else { Err(denied(raw)) };
    }
    Ok(checked(api, me, action, raw)?.id.into())
}

/// Forgets `tables` of the agent `raw` names (the caller needs `action` on it).
fn clear(api: &Api, me: &Principal, action: Action, raw: &str, tables: &[Table], what: &str) -> ApiResult<Affected> {
    let owner = owner(api, me, action, raw)?;
    api.store.state().write(|w| tables.iter().try_for_each(|t| w.clear(owner, *t).map(|_| ())))?;
    let mut out = Affected::new(
        format!("{what} database was cleared on returned agents"),
        "",
        format!("{what} database was not cleared"),
    );
    out.push(Value::from(raw));
    Ok(out)
}

/// Every row of `owner`'s `table`.
fn rows(api: &Api, owner: Owner, table: Table) -> ApiResult<Vec<Row>> {
    Ok(api.store.state().rows(owner, table)?)
}

/// A Unix time as the API shows dates.
fn date(v: Option<&Value>) -> Option<Value> {
    v.and_then(Value::as_i64).filter(|t| *t > 0).map(|t| Value::from(super::agents::iso(t)))
}

/// An item built from `row`: each `(api name, column)` present becomes the dotted API field.
fn item(row: &Row, fields: &[(&str, &str)]) -> Value {
    let mut out = Value::Object(Map::new());
    for (name, column) in fields {
        if let Some(v) = row.get(*column).filter(|v| !v.is_null()) {
            insert_path(&mut out, name, v.clone());
        }
    }
    out
}

/// One list answer: `filters` (exact matches on dotted fields, several values OR'ed) then the
/// list parameters, sorted by `default_sort` unless asked otherwise.
fn answer(
    items: Vec<Value>,
    params: &Params,
    filters: &[&str],
    default_sort: (&str, bool),
    messages: [&str; 3],
) -> ApiResult<Affected> {
    params.only(&[LIST_PARAMS, filters].concat())?;
    let listing = Listing::from_params(params)?;
    let listing = if listing.sort.is_empty() {
        Listing { sort: vec![SortKey { field: default_sort.0.into(), ascending: default_sort.1 }], ..listing }
    } else {
        listing
    };
    let wanted: Vec<(&str, Vec<String>)> = filters.iter().filter_map(|f| params.list(f).map(|v| (*f, v))).collect();
    let kept = items.into_iter().filter(|item| {
        wanted.iter().all(|(field, values)| {
            let found = crate::api::query::q::lookup(item, field);
            let text = match found {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => return false,
                Some(other) => other.to_string(),
            };
            values.contains(&text)
        })
    });
    let [all, some, none] = messages;
    let (page, total) = listing.apply(kept.collect(), &[])?;
    Ok(Affected::new(all, some, none).page(page, total))
}
