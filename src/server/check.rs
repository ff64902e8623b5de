//! `vigil serve --check`: what `vigil serve` would refuse, found without serving (for systemd's
//! `ExecStartPre=`): a home it cannot use, a configuration or ruleset with errors, a port another
//! process holds. Each problem is printed with its reason; the exit status says whether any was
//! found.

use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;

use crate::config::{self, Config};
use crate::home::Home;

/// Checks `home` as `serve` would start on it. The home is prepared as `serve` prepares it (a
/// missing one is created with the defaults), so a first start is checked too.
pub fn run(home: &Home) -> ExitCode {
    if let Err(e) = home.prepare(super::now()) {
        eprintln!("home {}: {e}", home.root().display());
        return ExitCode::FAILURE;
    }
    let loaded = config::load(&home.config_file());
    let mut errors: Vec<String> = loaded.errors().map(ToString::to_string).collect();
    if !errors.is_empty() {
        // The ruleset and the ports are read from the configuration: nothing more to check.
        return report(&errors);
    }
    let config = &loaded.config;
    let (ruleset, problems) = crate::ruleset::load(home.root(), &config.ruleset, &config.alerts);
    errors.extend(problems.iter().filter(|p| !p.warning).map(ToString::to_string));
    println!(
        "ruleset: {} decoders, {} rules, {} lists",
        ruleset.decoders.len(),
        ruleset.rules.len(),
        ruleset.lists.all().len()
    );
    let ports = ports(config, home);
    errors.extend(ports.iter().filter_map(|(_, held)| held.clone()));
    if errors.is_empty() {
        let names: Vec<&str> = ports.iter().map(|(name, _)| name.as_str()).collect();
        println!("ports free: {}", names.join(", "));
    }
    report(&errors)
}

fn report(errors: &[String]) -> ExitCode {
    for e in errors {
        eprintln!("{e}");
    }
    if errors.is_empty() {
        println!("configuration, ruleset and ports: ok");
        ExitCode::SUCCESS
    } else {
        eprintln!("{} problem(s): vigil serve would not start", errors.len());
        ExitCode::FAILURE
    }
}

/// Every port `serve` would open, named, with why it cannot be had (`None`: free).
fn ports(config: &Config, home: &Home) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    if let Some(remote) = crate::remote::service::Settings::from_config(config, home.root()) {
        for (name, held) in crate::remote::service::check_ports(&remote.endpoints) {
            out.push((name, held.err().map(|e| format!("agent port {e} (another process holds it?)"))));
        }
    }
    let mut tcp = |what: &str, addr: SocketAddr| {
        let held =
            TcpListener::bind(addr).err().map(|e| format!("{what} port {addr}: {e} (another process holds it?)"));
        out.push((format!("{}/tcp", addr.port()), held));
    };
    let auth = &config.auth;
    if !auth.disabled && auth.remote_enrollment {
        tcp("enrollment", SocketAddr::from(([0, 0, 0, 0], auth.port)));
    }
    if config.api.enabled {
        tcp("API", SocketAddr::new(config.api.host, config.api.port));
    }
    out
}
