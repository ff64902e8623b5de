//! The built-in checks `<compiled_rule>` can name (Wazuh's `compiled_rules/generic_samples.c`).

use crate::engine::event::Event;
use crate::ruleset::decoder::StaticField;

/// One built-in check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiled {
    /// `comp_srcuser_dstuser`: passes unless both users are set and differ.
    SrcuserDstuser,
    /// `check_id_size`: `id` is at least 10 bytes long.
    IdSize,
    /// `comp_mswin_targetuser_calleruser_diff`: the target and caller accounts differ.
    MswinTargetCallerDiff,
    /// `is_simple_http_request`: the URL is `/` or has no query.
    SimpleHttpRequest,
    /// `is_valid_crawler`: the log starts with a known crawler's address.
    ValidCrawler,
}

/// Address prefixes of known crawlers (Google, MSN/Bing, Yahoo), as Wazuh lists them.
const CRAWLERS: [&str; 8] = ["66.249.", "72.14.", "209.85.", "65.55.", "207.46.", "74.6.", "72.30.", "67.195."];

impl Compiled {
    /// Reads a `<compiled_rule>` name (case-sensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "comp_srcuser_dstuser" => Self::SrcuserDstuser,
            "check_id_size" => Self::IdSize,
            "comp_mswin_targetuser_calleruser_diff" => Self::MswinTargetCallerDiff,
            "is_simple_http_request" => Self::SimpleHttpRequest,
            "is_valid_crawler" => Self::ValidCrawler,
            _ => return None,
        })
    }

    /// Whether `event` passes.
    pub fn passes(self, event: &Event) -> bool {
        match self {
            Self::SrcuserDstuser => match (event.get(StaticField::SrcUser), event.get(StaticField::DstUser)) {
                (Some(src), Some(dst)) => src == dst,
                _ => true,
            },
            Self::IdSize => event.get(StaticField::Id).is_some_and(|id| id.len() >= 10),
            Self::MswinTargetCallerDiff => accounts_differ(&event.pre.log),
            Self::SimpleHttpRequest => event.get(StaticField::Url).is_some_and(|u| u == "/" || !u.contains('?')),
            Self::ValidCrawler => CRAWLERS.iter().any(|p| event.pre.log.starts_with(p)),
        }
    }
}

/// Compares the text after `Target Account Name:` and `Caller User Name:` up to a tab or a
/// double space, as the C loop does (it reads the caller's text in step with the target's).
fn accounts_differ(log: &str) -> bool {
    let after_colon = |label: &str| {
        let at = log.find(label)?;
        let colon = log[at..].find(':')?;
        Some(&log.as_bytes()[at + colon + 1..])
    };
    let (Some(target), Some(caller)) = (after_colon("Target Account Name"), after_colon("Caller User Name")) else {
        return false;
    };
    for (i, &t) in target.iter().enumerate() {
        if caller.get(i) != Some(&t) {
            return true;
        }
        if t == b'\t' || (t == b' ' && target.get(i + 1) == Some(&b' ')) {
            break;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::predecode::predecode;

    fn event(log: &str) -> Event {
        Event::new(predecode(format!("1:stdin:{log}").as_bytes(), "vm").expect("predecode"))
    }

    #[test]
    fn each_check_as_wazuh_writes_it() {
        let mut e = event("66.249.1.1 - - GET /");
        assert!(Compiled::ValidCrawler.passes(&e));
        assert!(!Compiled::SimpleHttpRequest.passes(&e), "no url");
        e.set(StaticField::Url, "/index.php?id=1".into());
        assert!(!Compiled::SimpleHttpRequest.passes(&e));
        e.set(StaticField::Url, "/".into());
        assert!(Compiled::SimpleHttpRequest.passes(&e));
        assert!(Compiled::SrcuserDstuser.passes(&e));
        e.set(StaticField::SrcUser, "root".into());
        e.set(StaticField::DstUser, "bob".into());
        assert!(!Compiled::SrcuserDstuser.passes(&e));
        assert!(!Compiled::IdSize.passes(&e));
        e.set(StaticField::Id, "1234567890".into());
        assert!(Compiled::IdSize.passes(&e));
        let diff = event("Target Account Name: alice\tCaller User Name: bob\t");
        assert!(Compiled::MswinTargetCallerDiff.passes(&diff));
        let same = event("Target Account Name: bob\tCaller User Name: bob\t");
        assert!(!Compiled::MswinTargetCallerDiff.passes(&same));
        assert!(Compiled::parse("nope").is_none());
    }
}
