//! `vigil ruleset check`.

use std::process::ExitCode;

use crate::config;
use crate::home::Home;

/// Loads the home's ruleset as `serve` would; prints counts and every problem with file and
/// line. Fails when a file or decoder was refused.
pub fn run(home: &Home) -> ExitCode {
    let loaded = config::load(&home.config_file());
    for p in loaded.errors() {
        eprintln!("{p}");
    }
    let (ruleset, problems) = crate::ruleset::load(home.root(), &loaded.config.ruleset, &loaded.config.alerts);
    for p in &problems {
        eprintln!("{p}");
    }
    let files = &ruleset.files;
    println!("decoders: {} (from {} files)", ruleset.decoders.len(), files.decoders.len());
    println!("rules: {} (from {} files)", ruleset.rules.len(), files.rules.len());
    println!("lists: {} ({} entries)", ruleset.lists.all().len(), ruleset.lists.entries());
    let errors = problems.iter().filter(|p| !p.warning).count() + loaded.errors().count();
    println!("{errors} error(s), {} warning(s)", problems.len() + loaded.problems.len() - errors);
    if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
