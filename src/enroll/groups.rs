//! The `G:` part of a request: authd's two checks of group names (`w_validate_group_name`
//! while parsing, `w_auth_validate_groups` after), with their messages.

use super::error::EnrollError;
use crate::store::GroupName;

/// Most groups one agent may ask for (`MAX_GROUPS_PER_MULTIGROUP`).
pub const MAX_GROUPS: usize = 128;
/// Longest group name (`MAX_GROUP_NAME`).
const MAX_NAME: usize = 255;
/// Longest comma-separated list.
const MAX_LIST: usize = 65_535;
/// Characters the first, lenient check lets through.
const LENIENT: &[u8] = b".:;_-=+!@(),";

/// At most 255 bytes of `text`, as `%.255s` prints it.
fn shown(text: &[u8]) -> String {
    String::from_utf8_lossy(&text[..text.len().min(MAX_NAME)]).into_owned()
}

fn invalid(text: &[u8], why: &str) -> EnrollError {
    EnrollError::InvalidGroupName(format!("{}... {why}", shown(text)))
}

/// The lenient check of the whole list, then duplicates removed (first occurrence kept).
pub fn check_syntax(list: &[u8]) -> Result<Vec<String>, EnrollError> {
    if list.is_empty() {
        return Err(EnrollError::InvalidGroupName("Empty Group".to_owned()));
    }
    let multi = list.contains(&b',');
    if !multi && list.len() > MAX_NAME {
        return Err(invalid(list, "group is too large"));
    }
    if multi {
        if list.len() > MAX_LIST {
            return Err(invalid(list, "multigroup is too large"));
        }
        for piece in list.split(|&b| b == b',').filter(|p| !p.is_empty()) {
            if piece.contains(&b' ') {
                return Err(invalid(list, "white spaces are not allowed"));
            }
            if piece.len() > MAX_NAME {
                return Err(invalid(piece, "group is too large"));
            }
        }
        if list.windows(2).any(|w| w == b",,") {
            return Err(invalid(list, "consecutive ',' are not allowed"));
        }
    }
    let prohibited = || invalid(list, "characters '\\/:*?\"<>|,' are prohibited");
    if list.iter().all(|&b| b == b',') {
        return Err(prohibited());
    }
    if list.first() == Some(&b',') || list.last() == Some(&b',') {
        return Err(invalid(list, "cannot start or end with ','"));
    }
    if !list.iter().all(|b| b.is_ascii_alphanumeric() || LENIENT.contains(b)) {
        return Err(prohibited());
    }
    let mut groups: Vec<String> = Vec::new();
    for piece in list.split(|&b| b == b',') {
        let piece = String::from_utf8_lossy(piece).into_owned();
        if !groups.contains(&piece) {
            groups.push(piece);
        }
    }
    Ok(groups)
}

/// The strict check: at most [`MAX_GROUPS`], each `^[a-zA-Z0-9_.-]+$` and not `.` or `..`.
pub fn check_names(groups: &[String]) -> Result<Vec<GroupName>, EnrollError> {
    if groups.len() > MAX_GROUPS {
        return Err(EnrollError::TooManyGroups);
    }
    groups.iter().map(|g| g.parse().map_err(|_| EnrollError::InvalidGroupName(g.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(list: &str) -> String {
        match check_syntax(list.as_bytes()).and_then(|g| check_names(&g)) {
            Ok(groups) => groups.iter().map(GroupName::as_str).collect::<Vec<_>>().join(","),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn authd_group_messages() {
        assert_eq!(message("web,linux,web"), "web,linux");
        assert_eq!(message(""), "Invalid group name: Empty Group");
        assert_eq!(message("a,,b"), "Invalid group name: a,,b... consecutive ',' are not allowed");
        assert_eq!(message(",a"), "Invalid group name: ,a... cannot start or end with ','");
        assert_eq!(message(",,"), "Invalid group name: ,,... consecutive ',' are not allowed");
        assert_eq!(message(","), "Invalid group name: ,... characters '\\/:*?\"<>|,' are prohibited");
        assert_eq!(message("a b,c"), "Invalid group name: a b,c... white spaces are not allowed");
        assert_eq!(message("a/b"), "Invalid group name: a/b... characters '\\/:*?\"<>|,' are prohibited");
        // The lenient check lets ':' through; the strict one names the group alone.
        assert_eq!(message("web,a:b"), "Invalid group name: a:b");
        assert_eq!(message(".."), "Invalid group name: ..");
        let long = "g".repeat(256);
        assert_eq!(message(&long), format!("Invalid group name: {}... group is too large", &long[..255]));
        let many: Vec<String> = (0..129).map(|i| format!("g{i}")).collect();
        assert_eq!(message(&many.join(",")), "Maximum multigroup reached: Limit is 128");
        assert_eq!(message(&many[..128].join(",")).split(',').count(), 128);
    }
}
