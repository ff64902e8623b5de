//! The 54 RBAC actions of Wazuh's catalog (`x-rbac-catalog.actions` in the API spec).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What kind of resource an action is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Resourceless (`*:*`): creating things that do not exist yet, manager-wide operations.
    None,
    /// Agents, by id or by group (`agent:id`, `agent:group`).
    Agent,
    /// Groups (`group:id`).
    Group,
    /// Cluster nodes (`node:id`).
    Node,
    /// Decoder files (`decoder:file`).
    DecoderFile,
    /// CDB list files (`list:file`).
    ListFile,
    /// Rule files (`rule:file`).
    RuleFile,
    /// Security entities (`policy:id`, `role:id`, `user:id`, `rule:id`).
    Security,
}

impl Scope {
    /// The resource types a policy can name for actions of this scope.
    pub fn resource_types(self) -> &'static [&'static str] {
        match self {
            Self::None => &["*:*"],
            Self::Agent => &["agent:id", "agent:group"],
            Self::Group => &["group:id"],
            Self::Node => &["node:id"],
            Self::DecoderFile => &["decoder:file"],
            Self::ListFile => &["list:file"],
            Self::RuleFile => &["rule:file"],
            Self::Security => &["policy:id", "role:id", "user:id", "rule:id"],
        }
    }
}

macro_rules! actions {
    ($($variant:ident => $name:literal, $scope:ident;)*) => {
        /// One RBAC action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $(#[doc = $name] $variant,)* }

        impl Action {
            /// Every action, in the catalog's order.
            pub const ALL: &[Action] = &[$(Action::$variant,)*];

            /// Wazuh's name.
            pub fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            /// What the action is checked against.
            pub fn scope(self) -> Scope {
                match self { $(Action::$variant => Scope::$scope,)* }
            }
        }
    };
}

actions! {
    ActiveResponseCommand => "active-response:command", Agent;
    AgentCreate => "agent:create", None;
    AgentRead => "agent:read", Agent;
    AgentDelete => "agent:delete", Agent;
    AgentModifyGroup => "agent:modify_group", Agent;
    GroupModifyAssignments => "group:modify_assignments", Group;
    AgentUpgrade => "agent:upgrade", Agent;
    AgentReconnect => "agent:reconnect", Agent;
    AgentRestart => "agent:restart", Agent;
    AgentUninstall => "agent:uninstall", None;
    GroupCreate => "group:create", None;
    GroupRead => "group:read", Group;
    GroupUpdateConfig => "group:update_config", Group;
    GroupDelete => "group:delete", Group;
    CiscatRead => "ciscat:read", Agent;
    ClusterRead => "cluster:read", Node;
    ClusterUpdateConfig => "cluster:update_config", Node;
    ClusterReadApiConfig => "cluster:read_api_config", None;
    ClusterRestart => "cluster:restart", Node;
    ClusterStatus => "cluster:status", None;
    ManagerRead => "manager:read", None;
    ManagerUpdateConfig => "manager:update_config", None;
    ManagerReadApiConfig => "manager:read_api_config", None;
    ManagerRestart => "manager:restart", None;
    MitreRead => "mitre:read", None;
    DecodersRead => "decoders:read", DecoderFile;
    DecodersUpdate => "decoders:update", None;
    DecodersDelete => "decoders:delete", DecoderFile;
    ListsRead => "lists:read", ListFile;
    ListsUpdate => "lists:update", None;
    ListsDelete => "lists:delete", ListFile;
    LogtestRun => "logtest:run", None;
    RootcheckRead => "rootcheck:read", Agent;
    RootcheckClear => "rootcheck:clear", Agent;
    RootcheckRun => "rootcheck:run", Agent;
    RulesRead => "rules:read", RuleFile;
    RulesUpdate => "rules:update", None;
    RulesDelete => "rules:delete", RuleFile;
    ScaRead => "sca:read", Agent;
    SecurityCreate => "security:create", None;
    SecurityCreateUser => "security:create_user", None;
    SecurityRead => "security:read", Security;
    SecurityEditRunAs => "security:edit_run_as", None;
    SecurityUpdate => "security:update", Security;
    SecurityDelete => "security:delete", Security;
    SecurityReadConfig => "security:read_config", None;
    SecurityUpdateConfig => "security:update_config", None;
    SecurityRevoke => "security:revoke", None;
    SyscheckRead => "syscheck:read", Agent;
    SyscheckClear => "syscheck:clear", Agent;
    SyscheckRun => "syscheck:run", Agent;
    SyscollectorRead => "syscollector:read", Agent;
    TaskStatus => "task:status", None;
    EventIngest => "event:ingest", None;
}

impl Action {
    /// Position in [`Action::ALL`], for per-action tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::str::FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.iter().copied().find(|a| a.as_str() == s).ok_or_else(|| format!("unknown action '{s}'"))
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_and_the_catalog_has_54() {
        assert_eq!(Action::ALL.len(), 54);
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(a.as_str().parse::<Action>(), Ok(*a));
            assert_eq!(a.index(), i);
        }
        assert!("agent:fly".parse::<Action>().is_err());
    }
}
