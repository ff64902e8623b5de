//! The rule tree as Wazuh builds it (engine.md §5.3; rules_list.c): templates (sid < 10) at the
//! top, every other rule attached under each node its `if_sid`/`if_level`/`if_group`/category
//! names, siblings ordered by level (level 0 first), `overwrite` replacing a rule in place, and
//! the marks that tell which events each correlation rule looks back at.

use std::collections::HashMap;
use std::sync::Arc;

use super::parse::{Parsed, Reader};
use super::sieve::{MIN_SIBLINGS, Sieve};
use super::{Rule, RuleContext, RuleId, RuleProblem, Search};
use crate::ruleset::regex::word_match;
use crate::xml::Document;

/// Index of a node (one place a rule sits in the tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(u32);

/// One place in the tree. A rule with several parents has several nodes, each with its own
/// children, all sharing the one rule.
#[derive(Debug, Clone)]
pub struct Node {
    /// The rule.
    pub rule: RuleId,
    /// Children, in evaluation order.
    pub children: Vec<NodeId>,
}

/// The compiled rules and their tree.
#[derive(Debug, Clone, Default)]
pub struct RuleTree {
    rules: Vec<Rule>,
    nodes: Vec<Node>,
    top: Vec<NodeId>,
    by_sid: HashMap<u32, RuleId>,
    /// Per rule: the `if_matched_sid` rules counting its events.
    sid_watchers: Vec<Vec<RuleId>>,
    /// Per rule: the `if_matched_group` rules counting its events, once per node it had when
    /// they were marked (Wazuh appends the list once per occurrence).
    group_watchers: Vec<Vec<RuleId>>,
    /// For nodes with many children: the children each decoder can reach.
    by_decoder: HashMap<NodeId, ChildIndex>,
}

/// The children of one node that an event of a given decoder can match, in order: those
/// without `decoded_as` and those naming that decoder. Skipping the rest changes nothing, as
/// `decoded_as` is the first check of a rule.
#[derive(Debug, Clone, Default)]
struct ChildIndex {
    /// Positions (in the node's children) without `decoded_as`, for events whose decoder no
    /// child names.
    generic: Vec<u32>,
    /// Per decoder name.
    named: HashMap<Arc<str>, Vec<u32>>,
    /// Rules out generic children whose `<match>` cannot pass (they are the ones every event
    /// walks); indexed by rank among the generic children.
    sieve: Option<Sieve>,
    /// Per child position: its rank among the generic children (`u32::MAX` for the others).
    generic_rank: Vec<u32>,
}

/// The children of a node an event may reach.
#[derive(Debug, Clone, Copy)]
pub struct Siblings<'t> {
    /// All the node's children, in evaluation order.
    pub all: &'t [NodeId],
    /// The positions worth trying (all of them when `None`).
    pub positions: Option<&'t [u32]>,
    /// Rules out generic children whose `<match>` cannot pass, with each position's rank among
    /// them.
    pub sieve: Option<(&'t Sieve, &'t [u32])>,
}

/// How `_AddtoRule` looks for parents.
#[derive(Clone, Copy)]
enum Target<'a> {
    Sid(u32),
    Group(&'a str),
    Level(u32),
    Category,
}

impl RuleTree {
    /// Every rule, indexed by [`RuleId`].
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// One rule.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.index()]
    }

    /// One node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// The children of `node` an event decoded by `decoder` may match (all of them, in order,
    /// minus those whose `decoded_as` names another decoder), with their sieve.
    pub fn children_for(&self, node: NodeId, decoder: Option<&str>) -> Siblings<'_> {
        let all = &self.nodes[node.0 as usize].children;
        match self.by_decoder.get(&node) {
            None => Siblings { all, positions: None, sieve: None },
            Some(index) => {
                let list = decoder.and_then(|d| index.named.get(d)).unwrap_or(&index.generic);
                Siblings {
                    all,
                    positions: Some(list),
                    sieve: index.sieve.as_ref().map(|s| (s, &index.generic_rank[..])),
                }
            }
        }
    }

    /// The top-level nodes, in evaluation order.
    pub fn top(&self) -> &[NodeId] {
        &self.top
    }

    /// The rule with this signature id.
    pub fn find(&self, sid: u32) -> Option<RuleId> {
        self.by_sid.get(&sid).copied()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Correlation rules that count the events `rule` fires, as Wazuh stores them: the
    /// `if_matched_sid` list when the rule has one, else its `if_matched_group` lists.
    pub fn watchers(&self, rule: RuleId) -> &[RuleId] {
        let sids = &self.sid_watchers[rule.index()];
        if sids.is_empty() { &self.group_watchers[rule.index()] } else { sids }
    }

    /// Loads the `<group>`s of one rule file. Problems are reported with file and line; a
    /// broken rule is dropped and the others load.
    pub fn load_file(
        &mut self,
        file: &str,
        doc: &Document,
        context: &RuleContext<'_>,
        problems: &mut Vec<RuleProblem>,
    ) {
        let file: Arc<str> = Arc::from(file);
        let mut reader = Reader { file: &file, problems, context };
        for group in doc.roots() {
            let named = group.attributes.len() == 1 && group.attributes[0].name.eq_ignore_ascii_case("name");
            if !group.name.eq_ignore_ascii_case("group") || !named {
                reader.problems.push(RuleProblem {
                    file: file.clone(),
                    line: group.line,
                    message: format!(
                        "rules_op: Invalid root element '{}'.Only \"group\" with a name attribute is allowed",
                        group.name
                    ),
                    warning: false,
                });
                continue;
            }
            let name = group.attributes[0].value.as_str();
            for el in group.children() {
                if !el.name.eq_ignore_ascii_case("rule") {
                    reader.problems.push(RuleProblem {
                        file: file.clone(),
                        line: el.line,
                        message: format!("Invalid configuration. '{}' is not a valid element.", el.name),
                        warning: false,
                    });
                    continue;
                }
                let by_sid = &self.by_sid;
                if let Ok(parsed) = reader.rule(el, name, |sid| by_sid.contains_key(&sid)) {
                    self.add(parsed, reader.problems);
                }
            }
        }
    }

    /// Converts the scaled levels back once every file is loaded (`_setlevels`) and indexes
    /// the children of large nodes by decoder.
    pub fn finish(&mut self) {
        for rule in &mut self.rules {
            if rule.level == 9900 {
                rule.level = 0;
            }
            if rule.level >= 100 {
                rule.level /= 100;
            }
        }
        self.by_decoder.clear();
        for (i, node) in self.nodes.iter().enumerate() {
            if node.children.len() < MIN_SIBLINGS {
                continue;
            }
            let rule = |c: &NodeId| &self.rules[self.nodes[c.0 as usize].rule.index()];
            let mut index = ChildIndex::default();
            for name in node.children.iter().filter_map(|c| rule(c).conditions.decoded_as.clone()) {
                index.named.entry(name).or_default();
            }
            for (position, child) in node.children.iter().enumerate() {
                let position = position as u32;
                match rule(child).conditions.decoded_as.clone() {
                    None => {
                        index.generic.push(position);
                        index.named.values_mut().for_each(|list| list.push(position));
                    }
                    Some(name) => index.named.entry(name).or_default().push(position),
                }
            }
            index.generic_rank = vec![u32::MAX; node.children.len()];
            for (rank, &position) in index.generic.iter().enumerate() {
                index.generic_rank[position as usize] = rank as u32;
            }
            let requirements: Vec<_> = index
                .generic
                .iter()
                .map(|&p| {
                    rule(&node.children[p as usize]).conditions.matches.as_ref().and_then(|m| m.required_literals())
                })
                .collect();
            index.sieve = Sieve::build(&requirements);
            self.by_decoder.insert(NodeId(i as u32), index);
        }
    }

    fn warn(problems: &mut Vec<RuleProblem>, rule: &Rule, message: String) {
        problems.push(RuleProblem { file: rule.file.clone(), line: rule.line, message, warning: true });
    }

    fn add(&mut self, parsed: Parsed, problems: &mut Vec<RuleProblem>) {
        let Parsed { mut rule, overwrite } = parsed;
        let id = RuleId(self.rules.len() as u32);
        if rule.sid < 10 {
            let node = self.new_node(id);
            let top = std::mem::take(&mut self.top);
            self.top = self.insert_sorted(top, node, rule.level);
        } else if overwrite && let Some(existing) = self.find(rule.sid) {
            self.overwrite(existing, rule, problems);
            return;
        }
        let first_new = self.nodes.len();
        if rule.sid >= 10 && !self.attach(id, &mut rule, problems) {
            // Nodes made for a rule that is then refused are removed again.
            let first_new = NodeId(first_new as u32);
            for node in &mut self.nodes {
                node.children.retain(|c| c.0 < first_new.0);
            }
            self.nodes.truncate(first_new.0 as usize);
            return;
        }
        // Wazuh frees `if_group` once the rule is placed; an overwrite then always warns.
        rule.parents.if_group = None;
        self.by_sid.insert(rule.sid, id);
        self.sid_watchers.push(Vec::new());
        self.group_watchers.push(Vec::new());
        self.rules.push(rule);
        self.mark(id);
    }

    fn new_node(&mut self, rule: RuleId) -> NodeId {
        self.nodes.push(Node { rule, children: Vec::new() });
        NodeId(self.nodes.len() as u32 - 1)
    }

    /// `_OS_AddRule`: before the first sibling with a strictly lower level.
    fn insert_sorted(&self, mut list: Vec<NodeId>, node: NodeId, level: u32) -> Vec<NodeId> {
        let at = list.iter().position(|n| level > self.rules[self.nodes[n.0 as usize].rule.index()].level);
        list.insert(at.unwrap_or(list.len()), node);
        list
    }

    /// `OS_AddChild`. `false` when the rule has nowhere to go (warned).
    fn attach(&mut self, id: RuleId, rule: &mut Rule, problems: &mut Vec<RuleProblem>) -> bool {
        let sid = rule.sid;
        if let Some(if_sid) = rule.parents.if_sid.clone() {
            let mut added = false;
            for target in sid_targets(&if_sid) {
                let how = if target == 0 { Target::Category } else { Target::Sid(target) };
                if self.add_to(how, self.top.clone(), id, rule) {
                    added = true;
                } else if rule.parents.if_matched_sid.is_some() {
                    Self::warn(
                        problems,
                        rule,
                        format!(
                            "(7620): Signature ID '{target}' was not found. Invalid 'if_matched_sid'.Rule '{sid}' will be ignored."
                        ),
                    );
                    return false;
                } else {
                    Self::warn(
                        problems,
                        rule,
                        format!(
                            "(7617): Signature ID '{target}' was not found and will be ignored in the 'if_sid' option of rule '{sid}'."
                        ),
                    );
                }
            }
            if !added {
                Self::warn(problems, rule, format!("(7619): Empty 'if_sid' value. Rule '{sid}' will be ignored."));
            }
            return added;
        }
        if let Some(if_level) = rule.parents.if_level.clone() {
            let level: u32 = if_level.parse().unwrap_or(0);
            if level == 0 {
                Self::warn(
                    problems,
                    rule,
                    format!("(7609): Invalid 'if_level' value: '{if_level}'. Rule '{sid}' will be ignored."),
                );
                return false;
            }
            if !self.add_to(Target::Level(level * 100), self.top.clone(), id, rule) {
                Self::warn(
                    problems,
                    rule,
                    format!(
                        "(7608): Level ID '{}' was not found. Invalid 'if_level'. Rule '{sid}' will be ignored.",
                        level * 100
                    ),
                );
                return false;
            }
            return true;
        }
        if let Some(if_group) = rule.parents.if_group.clone() {
            if !self.add_to(Target::Group(&if_group), self.top.clone(), id, rule) {
                Self::warn(
                    problems,
                    rule,
                    format!(
                        "(7610): Group '{if_group}' was not found. Invalid 'if_group'. Rule '{sid}' will be ignored."
                    ),
                );
                return false;
            }
            return true;
        }
        if !self.add_to(Target::Category, self.top.clone(), id, rule) {
            Self::warn(
                problems,
                rule,
                format!("(7611): Category was not found. Invalid 'category'. Rule '{sid}' will be ignored."),
            );
            return false;
        }
        true
    }

    /// `_AddtoRule` over one sibling list. The new rule is not in the arena yet, so its own
    /// nodes are recognised by `id`.
    fn add_to(&mut self, target: Target<'_>, siblings: Vec<NodeId>, id: RuleId, rule: &mut Rule) -> bool {
        let mut added = false;
        for node in siblings {
            let parent = self.nodes[node.0 as usize].rule;
            let is_self = parent == id;
            let (parent_sid, parent_level, parent_category) = if is_self {
                (rule.sid, rule.level, rule.category)
            } else {
                let p = &self.rules[parent.index()];
                (p.sid, p.level, p.category)
            };
            let attach = match target {
                Target::Sid(sid) => {
                    if parent_sid == sid {
                        rule.category = parent_category;
                        self.attach_under(node, id, rule.level);
                        return true;
                    }
                    false
                }
                Target::Group(group) => {
                    !is_self && parent_sid != rule.sid && word_match(group, &self.rules[parent.index()].group)
                }
                Target::Level(level) => parent_level >= level && parent_sid != rule.sid,
                Target::Category => {
                    if rule.category != parent_category {
                        continue;
                    }
                    rule.category = parent_category;
                    self.attach_under(node, id, rule.level);
                    return true;
                }
            };
            if attach {
                self.attach_under(node, id, rule.level);
                added = true;
            }
            let children = self.nodes[node.0 as usize].children.clone();
            if !children.is_empty() && self.add_to(target, children, id, rule) {
                added = true;
            }
        }
        added
    }

    fn attach_under(&mut self, parent: NodeId, id: RuleId, level: u32) {
        let node = self.new_node(id);
        let children = std::mem::take(&mut self.nodes[parent.0 as usize].children);
        self.nodes[parent.0 as usize].children = self.insert_sorted(children, node, level);
    }

    /// `OS_AddRuleInfo`: the existing rule takes the new contents, keeping its place, parents
    /// and context search.
    fn overwrite(&mut self, existing: RuleId, new: Rule, problems: &mut Vec<RuleProblem>) {
        let old = &self.rules[existing.index()];
        let sid = old.sid;
        let mut warnings = Vec::new();
        let p = &new.parents;
        if p.if_sid.is_some() && p.if_matched_sid.is_none() && old.parents.if_sid != p.if_sid {
            warnings.push("if_sid");
        }
        if p.if_group.is_some() && p.if_matched_group.is_none() && old.parents.if_group != p.if_group {
            warnings.push("if_group");
        }
        if p.if_level.is_some() && old.parents.if_level != p.if_level {
            warnings.push("if_level");
        }
        if p.if_matched_group.is_some() && old.parents.if_matched_group != p.if_matched_group {
            warnings.push("if_matched_group");
        }
        if p.if_matched_sid.is_some() && old.parents.if_matched_sid != p.if_matched_sid {
            warnings.push("if_matched_sid");
        }
        for what in warnings {
            Self::warn(
                problems,
                &new,
                format!(
                    "(7605): It is not possible to overwrite '{what}' value in rule '{sid}'. The original value is retained."
                ),
            );
        }
        let old = &mut self.rules[existing.index()];
        let kept = (old.parents.clone(), old.search.clone());
        *old = Rule { parents: kept.0, search: kept.1, ..new };
    }

    /// Sets the rule's context search and marks the rules whose events it counts
    /// (`OS_MarkID`/`OS_MarkGroup`), which only sees rules loaded so far.
    fn mark(&mut self, id: RuleId) {
        let rule = &self.rules[id.index()];
        if let Some(target_sid) = rule.parents.if_matched_sid {
            let target = self.find(target_sid);
            if let Some(t) = target {
                self.sid_watchers[t.index()].push(id);
            }
            self.rules[id.index()].search = Some(Search::Sids(target));
        } else if let Some(group) = rule.parents.if_matched_group.clone() {
            for node in &self.nodes {
                if group.is_match(self.rules[node.rule.index()].group.as_bytes()) {
                    self.group_watchers[node.rule.index()].push(id);
                }
            }
            self.rules[id.index()].search = Some(Search::Groups);
        } else if rule.context {
            let rule = &mut self.rules[id.index()];
            if rule.conditions.check_diff {
                rule.context = false;
            } else {
                rule.search = Some(Search::Events);
            }
        }
    }
}

/// The sids an `if_sid` names, as OS_AddChild reads them: a number starts at each digit after a
/// separator, and a separator at the very end (or an empty value) reads as sid 0, which
/// attaches by category.
fn sid_targets(text: &str) -> Vec<u32> {
    let mut targets = Vec::new();
    let mut in_number = false;
    let bytes = text.as_bytes();
    for i in 0..=bytes.len() {
        match bytes.get(i) {
            Some(b',' | b' ') => in_number = false,
            Some(b) if b.is_ascii_digit() && !in_number => {
                in_number = true;
                let digits: String = text[i..].chars().take_while(char::is_ascii_digit).collect();
                targets.push(digits.parse().unwrap_or(0));
            }
            None if !in_number => targets.push(0),
            _ => {}
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::sid_targets;

    #[test]
    fn if_sid_lists_read_as_wazuh_reads_them() {
        assert_eq!(sid_targets("5710"), vec![5710]);
        assert_eq!(sid_targets("5710, 5711 5712"), vec![5710, 5711, 5712]);
        assert_eq!(sid_targets("5710,"), vec![5710, 0], "a trailing separator reads as sid 0");
        assert_eq!(sid_targets(""), vec![0]);
    }
}
