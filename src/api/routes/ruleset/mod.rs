//! `/rules`, `/decoders` and `/lists`: what the ruleset holds, read from its files as Wazuh's
//! API reads them, and the user files changed through the API (validated, then reloaded).

mod decoders;
mod details;
mod files;
mod lists;
mod rules;

use axum::http::Method;

use crate::api::Api;
use crate::api::access::{Access, Principal, Routes};
use crate::api::rbac::Action::{self, *};
use crate::api::rbac::{Kind, Target};

/// Adds the routes.
pub fn add(routes: Routes) -> Routes {
    routes
        .add(Method::GET, "/rules", Access::Actions(&[RulesRead]), rules::list)
        .add(Method::GET, "/rules/groups", Access::Actions(&[RulesRead]), rules::groups)
        .add(Method::GET, "/rules/requirement/{requirement}", Access::Actions(&[RulesRead]), rules::requirement)
        .add(Method::GET, "/rules/files", Access::Actions(&[RulesRead]), files::list_rules)
        .add(Method::GET, "/rules/files/{filename}", Access::Actions(&[RulesRead]), files::get_rules)
        .add(Method::PUT, "/rules/files/{filename}", Access::Actions(&[RulesUpdate, RulesDelete]), files::put_rules)
        .add(Method::DELETE, "/rules/files/{filename}", Access::Actions(&[RulesDelete]), files::delete_rules)
        .add(Method::GET, "/decoders", Access::Actions(&[DecodersRead]), decoders::list)
        .add(Method::GET, "/decoders/parents", Access::Actions(&[DecodersRead]), decoders::parents)
        .add(Method::GET, "/decoders/files", Access::Actions(&[DecodersRead]), files::list_decoders)
        .add(Method::GET, "/decoders/files/{filename}", Access::Actions(&[DecodersRead]), files::get_decoders)
        .add(
            Method::PUT,
            "/decoders/files/{filename}",
            Access::Actions(&[DecodersUpdate, DecodersDelete]),
            files::put_decoders,
        )
        .add(Method::DELETE, "/decoders/files/{filename}", Access::Actions(&[DecodersDelete]), files::delete_decoders)
        .add(Method::GET, "/lists", Access::Actions(&[ListsRead]), lists::list)
        .add(Method::GET, "/lists/files", Access::Actions(&[ListsRead]), files::list_lists)
        .add(Method::GET, "/lists/files/{filename}", Access::Actions(&[ListsRead]), files::get_lists)
        .add(Method::PUT, "/lists/files/{filename}", Access::Actions(&[ListsUpdate, ListsDelete]), files::put_lists)
        .add(Method::DELETE, "/lists/files/{filename}", Access::Actions(&[ListsDelete]), files::delete_lists)
}

/// One of the three kinds of ruleset file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Rule files (`*.xml`).
    Rules,
    /// Decoder files (`*.xml`).
    Decoders,
    /// CDB list sources.
    Lists,
}

impl FileKind {
    /// Where the API writes (the user ruleset).
    pub fn user_dir(self) -> &'static str {
        match self {
            Self::Rules => "etc/rules",
            Self::Decoders => "etc/decoders",
            Self::Lists => "etc/lists",
        }
    }

    /// The RBAC resource type of its files.
    pub fn resource(self) -> Kind {
        match self {
            Self::Rules => Kind::RuleFile,
            Self::Decoders => Kind::DecoderFile,
            Self::Lists => Kind::ListFile,
        }
    }

    /// The read action.
    pub fn read(self) -> Action {
        match self {
            Self::Rules => RulesRead,
            Self::Decoders => DecodersRead,
            Self::Lists => ListsRead,
        }
    }

    /// The files of this kind the config points at, home-relative, with whether they load
    /// (`status`: excluded files are disabled).
    pub fn files(self, api: &Api) -> Vec<(String, bool)> {
        let ruleset = &api.config.ruleset;
        let loaded = crate::ruleset::files::discover(&api.home, ruleset).unwrap_or_default();
        let (dirs, enabled) = match self {
            Self::Rules => (&ruleset.rule_dirs, loaded.rules),
            Self::Decoders => (&ruleset.decoder_dirs, loaded.decoders),
            Self::Lists => {
                return loaded.lists.iter().map(|f| (crate::ruleset::lists::names(f).0, true)).collect();
            }
        };
        let mut all: Vec<(String, bool)> = enabled.iter().map(|f| (f.clone(), true)).collect();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(api.home.join(&dir.path)) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let full = format!("{}/{name}", dir.path);
                if name.ends_with(".xml") && !enabled.contains(&full) {
                    all.push((full, false));
                }
            }
        }
        all
    }
}

impl FileKind {
    /// Every item (rule, decoder) of this kind's files the caller may read, as `parse` reads
    /// each file (its path, whether it loads, its text).
    pub fn items(
        self,
        api: &Api,
        me: &Principal,
        parse: fn(&str, bool, &str) -> Vec<serde_json::Value>,
    ) -> Vec<serde_json::Value> {
        self.files(api)
            .into_iter()
            .filter(|(path, _)| me.permissions.allows(self.read(), &Target::Named(self.resource(), split(path).1)))
            .flat_map(|(path, enabled)| {
                let text = std::fs::read(api.home.join(&path))
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                parse(&path, enabled, &text)
            })
            .collect()
    }
}

/// `(relative_dirname, filename)` of a home-relative path.
pub fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}
