//! The engine in force, replaced whole on reload: readers take the current one without a lock,
//! a reload builds the new one off the data plane and swaps it in; events in flight finish on the
//! engine they started with.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::Engine;
use crate::ruleset::Problem;
use crate::ruleset::prefilter::PrefilterError;

/// Loads `home`'s ruleset as `config` describes it and compiles an engine with the config's
/// correlation limits. Broken items are skipped, as analysisd skips them; they come back as
/// problems.
pub fn compile(
    home: &std::path::Path,
    config: &crate::config::Config,
) -> Result<(Engine, Vec<Problem>), PrefilterError> {
    let (ruleset, problems) = crate::ruleset::load(home, &config.ruleset, &config.alerts);
    let mut engine = Engine::with_best_prefilter(ruleset, &crate::home::hostname())?;
    engine.set_limits(super::correlate::Limits::from_config(&config.global));
    Ok((engine, problems))
}

/// Logs the ruleset's problems and what was loaded, as analysisd does at start and reload.
pub fn report(engine: &Engine, problems: &[Problem]) {
    for p in problems {
        if p.warning {
            tracing::warn!(file = %p.file, line = p.line, "{}", p.message);
        } else {
            tracing::error!(file = %p.file, line = p.line, "{}", p.message);
        }
    }
    let ruleset = engine.ruleset();
    tracing::info!(
        decoders = ruleset.decoders.len(),
        rules = ruleset.rules.len(),
        lists = ruleset.files.lists.len(),
        prefilter = engine.prefilter().map_or("none", |p| p.engine()),
        "Ruleset loaded"
    );
}

/// The problems' texts, as logtest sessions report them.
pub fn messages(problems: &[Problem]) -> Vec<String> {
    problems.iter().map(|p| p.message.clone()).collect()
}

/// The current engine and what loading its ruleset warned about.
#[derive(Debug)]
pub struct Live {
    current: ArcSwap<Loaded>,
}

/// One loaded engine.
#[derive(Debug)]
pub struct Loaded {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The ruleset's loading warnings (logtest reports them in every new session).
    pub warnings: Vec<String>,
}

impl Live {
    /// Starts with `engine`.
    pub fn new(engine: Engine, warnings: Vec<String>) -> Self {
        Self { current: ArcSwap::from_pointee(Loaded { engine: Arc::new(engine), warnings }) }
    }

    /// The engine in force now.
    pub fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.current.load().engine)
    }

    /// The engine and its warnings.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.current.load_full()
    }

    /// Puts `engine` in force.
    pub fn replace(&self, engine: Engine, warnings: Vec<String>) {
        self.current.store(Arc::new(Loaded { engine: Arc::new(engine), warnings }));
    }
}
