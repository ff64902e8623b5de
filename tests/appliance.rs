//! The appliance's tuning files: the nftables ruleset loads (in a network namespace of its own,
//! root, so the host's firewall is untouched) and opens exactly the agent, enrollment, API and
//! SSH ports; every sysctl the drop-in sets exists in this kernel.

use std::path::Path;
use std::process::Command;

fn appliance(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("appliance").join(file)
}

#[test]
fn the_firewall_opens_only_the_served_ports_and_ssh() {
    let file = appliance("nftables.conf");
    let script = format!("nft -f {} && nft list ruleset", file.display());
    let out = Command::new("unshare").args(["--net", "sh", "-c", &script]).output().expect("unshare");
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(listed.contains("policy drop"), "{listed}");
    let mut opened: Vec<String> = listed
        .lines()
        .filter(|l| l.contains(" dport ") && l.contains("accept"))
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "dport")?;
            Some(format!("{}/{}", words.get(at + 1)?, words.get(at - 1)?))
        })
        .collect();
    opened.sort();
    assert_eq!(opened, ["1514/tcp", "1514/udp", "1515/tcp", "22/tcp", "55000/tcp"], "{listed}");
}

#[test]
fn every_tuned_sysctl_exists() {
    let text = std::fs::read_to_string(appliance("sysctl.d/90-vigil.conf")).expect("sysctl drop-in");
    let keys: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('=').next().unwrap_or_default().trim())
        .collect();
    assert!(keys.len() >= 10, "{keys:?}");
    for key in keys {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        assert!(path.exists(), "{key} is not a sysctl of this kernel");
    }
}
