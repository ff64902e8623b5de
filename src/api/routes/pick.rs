//! Choosing the items a request names: ids named explicitly but missing or forbidden become
//! `failed_items` (Wazuh's codes); with no ids named, every item the caller may see is chosen and
//! the others are left out silently, as Wazuh's RBAC does for lists.

use crate::api::envelope::{Affected, ItemError};

/// The items `named` selects from `all` (`None`, or the keyword `all`: every item), checked with
/// `allowed`; failures are recorded in `result`.
pub fn pick<T>(
    named: Option<&[String]>,
    all: impl IntoIterator<Item = (String, T)>,
    allowed: impl Fn(&T) -> bool,
    missing: ItemError,
    result: &mut Affected,
) -> Vec<T> {
    match named.filter(|n| !n.iter().any(|id| id == "all")) {
        None => all.into_iter().filter(|(_, item)| allowed(item)).map(|(_, item)| item).collect(),
        Some(named) => {
            let mut by_id: std::collections::HashMap<String, T> = all.into_iter().collect();
            let mut chosen = Vec::with_capacity(named.len());
            for id in named {
                match by_id.remove(id) {
                    Some(item) if allowed(&item) => chosen.push(item),
                    Some(_) => result.fail(ItemError::DENIED, id.clone()),
                    None => result.fail(missing, id.clone()),
                }
            }
            chosen
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_ids_fail_one_by_one_and_unnamed_ones_are_filtered_silently() {
        let all = || vec![("1".to_owned(), 1), ("2".to_owned(), 2), ("3".to_owned(), 3)];
        let mut r = Affected::new("a", "s", "n");
        assert_eq!(pick(None, all(), |n| *n != 2, ItemError::NO_AGENT, &mut r), vec![1, 3]);
        let named = ["2".to_owned(), "3".to_owned(), "9".to_owned()];
        assert_eq!(pick(Some(&named), all(), |n| *n != 2, ItemError::NO_AGENT, &mut r), vec![3]);
        let body = r.into_json();
        assert_eq!(body["data"]["total_failed_items"], 2);
        let every = ["all".to_owned()];
        assert_eq!(
            pick(Some(&every), all(), |_| true, ItemError::NO_AGENT, &mut Affected::new("a", "s", "n")).len(),
            3
        );
    }
}
