//! `vigil lists import`: a threat-intelligence feed (CSV or one indicator per line) written as a
//! CDB list under the home, ready for `<ruleset><list>`; a running server picks the change up by
//! itself.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use super::HomeArg;
use crate::ruleset::lists::feed::{self, Kind};

/// `vigil lists …`.
#[derive(Debug, Subcommand)]
pub enum ListsCommand {
    /// Turn a feed of IPs, networks, domains, URLs or hashes into a list file.
    Import {
        /// Home directory.
        #[command(flatten)]
        home: HomeArg,
        /// The feed: a file, or - for stdin.
        feed: PathBuf,
        /// The list to write, under the home (for example etc/lists/feed-ips).
        #[arg(long)]
        output: String,
        /// Which indicators to keep.
        #[arg(long, value_enum, default_value_t = Kind::Auto)]
        kind: Kind,
        /// The CSV column holding the indicator (0 is the first).
        #[arg(long, default_value_t = 0)]
        column: usize,
        /// The value each entry gets (the feed's name, a family…).
        #[arg(long, default_value = "")]
        value: String,
    },
}

/// Runs `command`.
pub fn run(command: ListsCommand) -> anyhow::Result<()> {
    let ListsCommand::Import { home, feed: source, output, kind, column, value } = command;
    let home = home.home();
    let target = crate::home::inside(home.root(), &output).map_err(anyhow::Error::msg)?;
    let text = if source.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the feed from stdin")?
    } else {
        let bytes = std::fs::read(&source).with_context(|| format!("cannot read {}", source.display()))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let converted = feed::convert(&text, kind, column, &value);
    anyhow::ensure!(
        converted.entries > 0,
        "no indicator found in {} ({} lines skipped)",
        source.display(),
        converted.skipped
    );
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::home::Home::write_atomic(&target, converted.text.as_bytes(), 0o640)
        .with_context(|| format!("cannot write {}", target.display()))?;
    println!(
        "{}: {} entries ({} lines skipped, {} duplicates)",
        target.display(),
        converted.entries,
        converted.skipped,
        converted.duplicates
    );
    Ok(())
}
