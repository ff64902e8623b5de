use super::*;

fn read(data: &str) -> FimEvent {
    let json = json::parse(MODULE, data).expect("parses");
    FimEvent::read(&json).expect("valid")
}

const MODIFIED: &str = r#"{"path":"/etc/passwd","mode":"scheduled","type":"modified","timestamp":1700000000,"attributes":{"type":"file","size":10,"perm":"rw-r--r--","uid":"0","gid":"0","user_name":"root","group_name":"root","inode":5,"mtime":1700000000,"hash_md5":"aa","hash_sha1":"bb","hash_sha256":"cc","checksum":"dd"},"old_attributes":{"type":"file","size":5,"perm":"rw-r--r--","uid":"0","gid":"0","user_name":"root","group_name":"root","inode":5,"mtime":1700000000,"hash_md5":"a0","hash_sha1":"bb","hash_sha256":"cc","checksum":"d0"},"changed_attributes":["size","md5"]}"#;

#[test]
fn a_modified_file_reads_as_syscheck_writes_it() {
    let fim = read(MODIFIED);
    assert_eq!(decoder_for(fim.entry, fim.change), Builtin::SyscheckModified);
    assert_eq!(
        fim.full_log(),
        "File '/etc/passwd' modified\nMode: scheduled\nChanged attributes: size,md5\nSize changed from '5' to '10'\nOld md5sum was: 'a0'\nNew md5sum is : 'aa'\n"
    );
    let json: Value = serde_json::from_str(&fim.syscheck_json()).expect("syscheck JSON");
    assert_eq!(json["size_before"], "5");
    assert_eq!(json["size_after"], "10");
    assert_eq!(json["md5_before"], "a0");
    assert!(json.get("sha1_before").is_none(), "unchanged values have no before");
    assert_eq!(json["inode_after"], 5);
    assert_eq!(json["changed_attributes"], serde_json::json!(["size", "md5"]));
    assert_eq!(json["event"], "modified");
    let fields = fim.fields();
    assert!(fields.contains(&("changed_fields", "size,md5".to_owned())));
    assert!(fields.contains(&("size_before", "5".to_owned())));
    assert!(fim.text().starts_with("Attributes:\n - Size: 10\n - Permissions: rw-r--r--\n"));
}

#[test]
fn registry_values_and_validation() {
    let value = read(
        r#"{"path":"HKEY_LOCAL_MACHINE\\Software\\k","arch":"[x64]","value_name":"val","type":"deleted","version":2,"attributes":{"type":"registry_value","value_type":"REG_SZ"}}"#,
    );
    assert_eq!(decoder_for(value.entry, value.change), Builtin::RegistryValueDeleted);
    assert_eq!(value.full_log(), "Registry Value '[x64] HKEY_LOCAL_MACHINE\\Software\\k\\val' deleted\nMode: (null)\n");
    assert_eq!(value.key(), (Table::FimRegistry, "[x64] HKEY_LOCAL_MACHINE\\\\Software\\\\k:val".to_owned()));
    let bad = |data: &str| FimEvent::read(&json::parse(MODULE, data).expect("parses")).is_err();
    assert!(bad(r#"{"path":"/x","type":"added"}"#), "no attributes");
    assert!(bad(r#"{"path":"/x","type":"moved","attributes":{"type":"file"}}"#), "unknown change");
    assert!(bad(r#"{"path":"/x","type":"added","attributes":{"type":"socket"}}"#), "unknown entry type");
    assert!(bad(r#"{"type":"added","attributes":{"type":"file"}}"#), "no path");
}

#[test]
fn long_paths_are_shortened_as_wazuh_shows_them() {
    let long = format!("/{}", "d".repeat(900));
    let shown = shorten(&long);
    assert_eq!(shown.len(), 719 + " [...] ".len() + 30);
    assert!(shown.contains(" [...] "));
}

#[test]
fn windows_permissions_are_shown_per_account() {
    let json = windows_perm_json("Administrators (allowed): delete|read_control, Users (denied): write_data")
        .expect("Windows permissions");
    assert_eq!(
        json,
        r#"[{"name":"Administrators","allowed":["DELETE","READ_CONTROL"]},{"name":"Users","denied":["WRITE_DATA"]}]"#
    );
    assert_eq!(windows_perm_json("rw-r--r--"), None);
}
