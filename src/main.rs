//! The `vigil` binary: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = vigil::cli::Cli::parse();
    vigil::tls::install_default();
    match vigil::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vigil: {e:#}");
            ExitCode::FAILURE
        }
    }
}
