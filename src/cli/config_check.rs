//! `vigil config check`.

use std::path::Path;
use std::process::ExitCode;

use crate::config;

/// Prints the understood config and every problem; fails when there is an error.
pub fn run(path: &Path, json: bool) -> ExitCode {
    let loaded = config::load(path);
    let errors = loaded.errors().count();
    let warnings = loaded.problems.len() - errors;
    if json {
        let out = serde_json::json!({
            "file": path,
            "config": loaded.config,
            "problems": loaded.problems,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!("{}:", path.display());
        println!("{}", serde_json::to_string_pretty(&loaded.config).unwrap_or_default());
        for p in &loaded.problems {
            eprintln!("{p}");
        }
        eprintln!("{errors} error(s), {warnings} warning(s)");
    }
    if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
