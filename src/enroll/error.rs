//! Why an enrollment was refused, worded as authd words it (protocol.md §1.3).

/// A refusal. `Display` is the text after `ERROR: `; [`EnrollError::reply`] is the whole answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollError {
    /// Password mode is on and the request does not start with the password.
    #[error("Invalid password")]
    InvalidPassword,
    /// No `OSSEC A:'…'` part (or a password prefix while password mode is off).
    #[error("Invalid request for new agent")]
    InvalidRequest,
    /// The name breaks the name rules or is the manager's own name.
    #[error("Invalid agent name: {0}")]
    InvalidName(String),
    /// `V:'…` without its closing quote.
    #[error("Unterminated version field")]
    UnterminatedVersion,
    /// The agent is newer than the manager (major.minor).
    #[error("Agent version must be lower or equal to manager version")]
    VersionTooNew,
    /// `G:'…` without its closing quote.
    #[error("Unterminated group field")]
    UnterminatedGroup,
    /// A group name breaks the rules; the text says how, as authd's does.
    #[error("Invalid group name: {0}")]
    InvalidGroupName(String),
    /// A group whose directory does not exist under `etc/shared/`.
    #[error("Invalid group: {0}")]
    InvalidGroup(String),
    /// More than 128 groups.
    #[error("Maximum multigroup reached: Limit is {}", super::groups::MAX_GROUPS)]
    TooManyGroups,
    /// `IP:'…` without its closing quote.
    #[error("Unterminated IP field")]
    UnterminatedIp,
    /// `IP:` holds something that is not an address.
    #[error("Invalid IP: {0}")]
    InvalidIp(String),
    /// `K:'…` without its closing quote.
    #[error("Unterminated key field")]
    UnterminatedKey,
    /// Another agent has this address and may not be replaced.
    #[error("Duplicate IP: {0}")]
    DuplicateIp(String),
    /// Another agent has this name and may not be replaced.
    #[error("Duplicate agent name: {0}")]
    DuplicateName(String),
    /// The cluster's registry cannot be reached: no unique id or name can be promised.
    #[error("Cluster registry unreachable, cannot guarantee a unique agent")]
    ClusterUnavailable,
    /// The store failed; the agent was not added.
    #[error("Internal manager error adding agent: {0}")]
    Internal(String),
}

impl EnrollError {
    /// The line authd sends back: `ERROR: <text>. Unable to add agent`.
    pub fn reply(&self) -> String {
        format!("ERROR: {self}. Unable to add agent")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_read_as_authd_writes_them() {
        assert_eq!(EnrollError::InvalidPassword.reply(), "ERROR: Invalid password. Unable to add agent");
        assert_eq!(EnrollError::TooManyGroups.to_string(), "Maximum multigroup reached: Limit is 128");
    }
}
