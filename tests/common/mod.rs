//! Helpers shared by the integration tests: run the real `vigil` binary on a scratch home.

#![allow(dead_code, reason = "each test binary uses a different subset of these helpers")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

/// A scratch directory with a home path inside it (not created yet).
pub struct Scratch {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
}

pub fn scratch() -> Scratch {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    Scratch { dir, home }
}

/// Runs `vigil <args> --home <home>` and returns its output.
pub fn run(home: &Path, args: &[&str]) -> Output {
    vigil().args(args).arg("--home").arg(home).output().expect("run vigil")
}

/// Like [`run`], asserting success; returns stdout.
pub fn ok(home: &Path, args: &[&str]) -> String {
    let out = run(home, args);
    assert!(out.status.success(), "vigil {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Like [`run`], asserting failure; returns stderr.
pub fn fails(home: &Path, args: &[&str]) -> String {
    let out = run(home, args);
    assert!(!out.status.success(), "vigil {args:?} should have failed: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON that `vigil agents list --json` prints.
pub fn agents_json(home: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&ok(home, &["agents", "list", "--json"])).expect("agents list --json is JSON")
}
#[allow(dead_code, reason = "not every test binary uses it")]
pub mod agent;
pub mod certs;
pub mod http_mock;
pub mod ini;
pub mod nats;
#[allow(dead_code, reason = "not every test binary uses it")]
pub mod ruleset_home;
#[allow(dead_code, reason = "not every test binary uses it")]
pub mod server;
