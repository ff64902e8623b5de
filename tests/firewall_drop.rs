//! vigil's `firewall-drop` for real, in a network namespace of its own (`unshare --net`, so the
//! host's firewall is untouched): `add` answers execd's check_keys with the source address and,
//! told to continue, puts it in nftables' `inet vigil` set, whose rules drop it; `delete` takes
//! it out again; `abort` leaves the firewall alone.

use std::process::Command;

const ADD: &str = r#"{"version":1,"origin":{"name":"node01","module":"wazuh-execd"},"command":"add","parameters":{"extra_args":[],"alert":{"rule":{"id":"5712"},"data":{"srcip":"198.51.100.7"}},"program":"active-response/bin/firewall-drop"}}"#;

#[test]
fn firewall_drop_blocks_and_unblocks_in_nftables() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("logs")).expect("logs");
    let script = dir.path().join("firewall-drop");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_vigil"), &script).expect("link");
    let delete = ADD.replace(r#""command":"add""#, r#""command":"delete""#);
    let cont = ADD.replace(r#""command":"add""#, r#""command":"continue""#);
    let abort = ADD.replace(r#""command":"add""#, r#""command":"abort""#).replace("198.51.100.7", "198.51.100.8");
    let aborted = ADD.replace("198.51.100.7", "198.51.100.8");
    // One namespace for the whole exchange: its firewall goes with it.
    let steps = format!(
        "set -e\n\
         printf '%s\\n%s\\n' '{ADD}' '{cont}' | ./firewall-drop > add.out\n\
         nft list set inet vigil blocked4 > after-add\n\
         nft list chain inet vigil input > chain\n\
         printf '%s\\n%s\\n' '{aborted}' '{abort}' | ./firewall-drop > abort.out\n\
         nft list set inet vigil blocked4 > after-abort\n\
         printf '%s\\n' '{delete}' | ./firewall-drop\n\
         nft list set inet vigil blocked4 > after-delete\n"
    );
    let out = Command::new("unshare")
        .args(["--net", "sh", "-c", &steps])
        .current_dir(dir.path())
        .output()
        .expect("unshare (util-linux) and nft (nftables) are installed by scripts/deps.sh");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), read("logs/active-responses.log"));
    let keys: serde_json::Value = serde_json::from_str(read("add.out").trim()).expect("check_keys JSON");
    assert_eq!(keys["command"], "check_keys");
    assert_eq!(keys["parameters"]["keys"], serde_json::json!(["198.51.100.7"]));
    assert!(read("after-add").contains("198.51.100.7"), "{}", read("after-add"));
    assert!(read("chain").contains("ip saddr @blocked4 drop"), "{}", read("chain"));
    assert!(!read("after-abort").contains("198.51.100.8"), "aborted: nothing added");
    assert!(!read("after-delete").contains("198.51.100.7"), "{}", read("after-delete"));
    let log = read("logs/active-responses.log");
    assert!(
        log.contains("active-response/bin/firewall-drop: Aborted")
            && log.contains("active-response/bin/firewall-drop: Ended"),
        "{log}"
    );
}
