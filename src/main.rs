//! The `vigil` binary: parse the command line and run it.

use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc instead of glibc's malloc: the data plane allocates and frees small buffers per
/// event on every core, where glibc's arenas cost a fifth of the engine's time and fragment.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Linked under active-response/bin/ by a script's name, the binary is that script; execd
    // runs it from the home.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if let Some(script) = vigil::active_response::scripts::named(&argv0.to_string_lossy()) {
        let home = std::env::current_dir().unwrap_or_default();
        return ExitCode::from(vigil::active_response::scripts::run(script, &home));
    }
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
