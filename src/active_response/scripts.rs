//! vigil's own active response scripts for the manager: `firewall-drop` (nftables, or iptables
//! when there is no `nft`), `host-deny` (`/etc/hosts.deny`), `disable-account` (`passwd -l`,
//! through `sudo -n` when not root: the appliance's sudo rule allows exactly that) and
//! `restart-wazuh` (restarts the vigil service). They are the vigil binary itself, linked under
//! `active-response/bin/` by name, and speak execd's protocol: one JSON line on stdin, a
//! `check_keys` answer for `add`, then `continue` or `abort`. Every program they run gets its
//! arguments as a vector; they log to `logs/active-responses.log` as Wazuh's do.

use std::io::{BufRead as _, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// The scripts, by the names they are linked as.
pub const NAMES: [&str; 5] = ["firewall-drop", "host-deny", "disable-account", "restart-wazuh", "restart"];

/// The file `host-deny` edits; `VIGIL_HOSTS_DENY` replaces it (tests, chroots).
const HOSTS_DENY: &str = "/etc/hosts.deny";

/// What a script was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Add,
    Delete,
}

/// A script run: its name and the log.
struct Run {
    name: String,
    log: PathBuf,
}

impl Run {
    /// Appends a line to `logs/active-responses.log` (`YYYY/MM/DD HH:MM:SS <program>: <text>`).
    fn log(&self, text: &str) {
        let now = crate::engine::time::local(jiff::Timestamp::now().as_second()).strftime("%Y/%m/%d %H:%M:%S");
        let line = format!("{now} active-response/bin/{}: {}\n", self.name, text.trim_end());
        let file = std::fs::OpenOptions::new().append(true).create(true).open(&self.log);
        if let Ok(mut f) = file {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// The script named by the program's file name, when it is one of vigil's.
pub fn named(argv0: &str) -> Option<&'static str> {
    let name = Path::new(argv0).file_name()?.to_str()?;
    NAMES.into_iter().find(|n| *n == name)
}

/// The source address of an alert as Wazuh's scripts find it.
pub fn srcip(alert: &Value) -> Option<IpAddr> {
    ["/data/win/eventdata/ipAddress", "/data/win/eventdata/destinationIp", "/data/srcip"]
        .iter()
        .find_map(|p| alert.pointer(p).and_then(Value::as_str))
        .and_then(|ip| ip.parse().ok())
}

/// The target account, refused when it could be an option or a path (or is root).
pub fn dstuser(alert: &Value) -> Option<&str> {
    let user = alert.pointer("/data/dstuser")?.as_str()?;
    let bad = user.is_empty()
        || user == "root"
        || user.len() > 256
        || user.starts_with(['-', '+', '~'])
        || user.contains([':', ',', '/', '\\'])
        || user.contains("..")
        || user.chars().any(char::is_whitespace);
    (!bad).then_some(user)
}

/// Runs script `name` with execd's protocol on stdin and stdout; the exit code.
pub fn run(name: &str, home: &Path) -> u8 {
    let run = Run { name: name.to_owned(), log: home.join("logs/active-responses.log") };
    run.log("Starting");
    let stdin = std::io::stdin();
    let mut input = String::new();
    if stdin.lock().read_line(&mut input).is_err() || input.trim().is_empty() {
        run.log("Invalid input format");
        return 1;
    }
    run.log(&input);
    let Ok(message) = serde_json::from_str::<Value>(&input) else {
        run.log("Invalid input format");
        return 1;
    };
    let action = match message.get("command").and_then(Value::as_str) {
        Some("add") => Action::Add,
        Some("delete") => Action::Delete,
        Some(_) => {
            run.log("Invalid value of 'command'");
            return 1;
        }
        None => {
            run.log("Cannot read 'command' from json");
            return 1;
        }
    };
    let alert = message.pointer("/parameters/alert").cloned().unwrap_or(Value::Null);
    let result = match name {
        "firewall-drop" => with_ip(&run, &alert, action, firewall_drop),
        "host-deny" => with_ip(&run, &alert, action, host_deny),
        "disable-account" => match dstuser(&alert) {
            Some(user) => keyed(&run, action, user).and_then(|()| disable_account(user, action)),
            None => Err("Cannot read 'dstuser' from data or invalid username format".into()),
        },
        _ => restart(),
    };
    match result {
        Ok(()) => {
            run.log("Ended");
            0
        }
        Err(e) if e == ABORTED => {
            run.log("Aborted");
            0
        }
        Err(e) => {
            run.log(&e);
            1
        }
    }
}

/// The error that is no error: execd said the response is already in force.
const ABORTED: &str = "aborted";

/// For `add`: sends the key and waits for execd's `continue` (or `abort`).
fn keyed(run: &Run, action: Action, key: &str) -> Result<(), String> {
    if action == Action::Delete {
        return Ok(());
    }
    let ask = json!({
        "version": 1,
        "origin": {"name": run.name, "module": "active-response"},
        "command": "check_keys",
        "parameters": {"keys": [key]},
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{ask}").and_then(|()| out.flush()).map_err(|e| format!("cannot ask execd: {e}"))?;
    run.log(&ask.to_string());
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| format!("no answer from execd: {e}"))?;
    run.log(&answer);
    let answer: Value = serde_json::from_str(&answer).map_err(|_| "Invalid input format".to_owned())?;
    match answer.get("command").and_then(Value::as_str) {
        Some("continue") => Ok(()),
        Some("abort") => Err(ABORTED.into()),
        _ => Err("Invalid value of 'command'".into()),
    }
}

fn with_ip(
    run: &Run,
    alert: &Value,
    action: Action,
    act: fn(IpAddr, Action) -> Result<(), String>,
) -> Result<(), String> {
    let ip = srcip(alert).ok_or("Cannot read 'srcip' from data or invalid IP format")?;
    keyed(run, action, &ip.to_string())?;
    act(ip, action)
}

/// Runs `program` with `args` (no shell), with `sudo -n` in front when not root and `sudo`.
fn exec(program: &str, args: &[&str], sudo: bool) -> Result<(), String> {
    let root = rustix::process::geteuid().is_root();
    let mut command = if sudo && !root {
        let mut c = Command::new("sudo");
        c.arg("-n").arg(program);
        c
    } else {
        Command::new(program)
    };
    let status = command.args(args).status().map_err(|e| format!("Unable to run {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{program} {} failed: {status}", args.join(" "))) }
}

/// Whether `program` is on the PATH.
fn available(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Blocks (or unblocks) `ip`: in nftables' `inet vigil` table (made on first use), or with
/// iptables' INPUT and FORWARD DROP rules as Wazuh does.
fn firewall_drop(ip: IpAddr, action: Action) -> Result<(), String> {
    let set = if ip.is_ipv4() { "blocked4" } else { "blocked6" };
    if available("nft") {
        if action == Action::Add && exec("nft", &["list", "set", "inet", "vigil", set], false).is_err() {
            let table = "table inet vigil {\n set blocked4 { type ipv4_addr; }\n set blocked6 { type ipv6_addr; }\n \
                 chain input { type filter hook input priority -10; ip saddr @blocked4 drop; ip6 saddr @blocked6 drop; }\n \
                 chain forward { type filter hook forward priority -10; ip saddr @blocked4 drop; ip6 saddr @blocked6 drop; }\n}\n";
            // Given on stdin: no file anyone else could swap.
            let mut nft = Command::new("nft")
                .args(["-f", "-"])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| format!("Unable to run nft: {e}"))?;
            if let Some(mut stdin) = nft.stdin.take() {
                stdin.write_all(table.as_bytes()).map_err(|e| format!("Unable to run nft: {e}"))?;
            }
            let status = nft.wait().map_err(|e| format!("Unable to run nft: {e}"))?;
            if !status.success() {
                return Err(format!("nft could not make the vigil table: {status}"));
            }
        }
        let verb = if action == Action::Add { "add" } else { "delete" };
        let element = format!("{{ {ip} }}");
        return exec("nft", &[verb, "element", "inet", "vigil", set, &element], false);
    }
    let program = if ip.is_ipv4() { "iptables" } else { "ip6tables" };
    let flag = if action == Action::Add { "-I" } else { "-D" };
    let ip = ip.to_string();
    for chain in ["INPUT", "FORWARD"] {
        exec(program, &[flag, chain, "-s", &ip, "-j", "DROP"], false)?;
    }
    Ok(())
}

/// Adds `ALL:<ip>` to hosts.deny, or removes exactly that line (not every line that merely
/// contains the address, as Wazuh's does).
fn host_deny(ip: IpAddr, action: Action) -> Result<(), String> {
    let path = std::env::var_os("VIGIL_HOSTS_DENY").map_or_else(|| PathBuf::from(HOSTS_DENY), PathBuf::from);
    let rule = format!("ALL:{ip}");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("Could not open file '{}': {e}", path.display())),
    };
    let present = text.lines().any(|l| l.trim() == rule);
    let updated = match action {
        Action::Add if present => return Err(format!("IP {ip} already exists on '{}'", path.display())),
        Action::Add => format!("{text}{}{rule}\n", if text.is_empty() || text.ends_with('\n') { "" } else { "\n" }),
        Action::Delete => text.lines().filter(|l| l.trim() != rule).map(|l| format!("{l}\n")).collect(),
    };
    // Written beside and renamed over, so a reader never sees half a file.
    let temp = path.with_extension("vigil-tmp");
    std::fs::write(&temp, updated)
        .and_then(|()| std::fs::rename(&temp, &path))
        .map_err(|e| format!("Unable to write file '{}': {e}", path.display()))
}

fn disable_account(user: &str, action: Action) -> Result<(), String> {
    exec("passwd", &[if action == Action::Add { "-l" } else { "-u" }, user], true)
}

fn restart() -> Result<(), String> {
    exec("systemctl", &["restart", "vigil.service"], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_as_wazuh_scripts_read_them() {
        let alert =
            json!({"data": {"srcip": "10.0.0.9", "dstuser": "bob", "win": {"eventdata": {"ipAddress": "192.0.2.1"}}}});
        assert_eq!(srcip(&alert), "192.0.2.1".parse().ok(), "Windows' field first");
        assert_eq!(srcip(&json!({"data": {"srcip": "not-an-ip"}})), None);
        assert_eq!(dstuser(&alert), Some("bob"));
        for bad in ["root", "-l", "a b", "../x", "a:b", ""] {
            assert_eq!(dstuser(&json!({"data": {"dstuser": bad}})), None, "{bad}");
        }
        assert_eq!(named("/var/ossec/active-response/bin/firewall-drop"), Some("firewall-drop"));
        assert_eq!(named("vigil"), None);
    }
}
