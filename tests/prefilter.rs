//! The decoder prefilter never changes a result, on either engine, and really prunes.

mod common;

use common::ruleset_home::{read_ini, shared, wazuh_home};
use vigil::bench::{corpus, decode_all};
use vigil::engine::Engine;
use vigil::engine::event::Event;
use vigil::ruleset::prefilter::{AhoCorasickMatcher, Engine as Prefilter, HyperscanMatcher, LiteralMatcher};
use vigil::ruleset::regex::{Haystack, Literal, Requirement};

fn corpus_with_ini_logs() -> Vec<Vec<u8>> {
    let mut messages = corpus::mix(20_000, 42);
    let mut ini: Vec<_> =
        std::fs::read_dir(shared().join("ruleset/testing/tests")).expect("tests").flatten().map(|e| e.path()).collect();
    ini.sort();
    for path in ini {
        messages.extend(read_ini(&path).into_iter().map(|c| format!("1:stdin:{}", c.log).into_bytes()));
    }
    messages
}

fn summary(engine: &Engine, event: &Event) -> String {
    let decoder = event.decoder.map(|d| engine.ruleset().decoders.get(d).name.to_string());
    format!("{decoder:?} {:?} {:?} {:?}", event.statics().collect::<Vec<_>>(), event.dynamic(), event.pre.log)
}

#[test]
fn every_engine_gives_identical_results_and_prunes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = wazuh_home(dir.path());
    let messages = corpus_with_ini_logs();
    let engines: Vec<(Option<Prefilter>, Engine)> = [None, Some(Prefilter::AhoCorasick), Some(Prefilter::Hyperscan)]
        .into_iter()
        .map(|p| {
            let (ruleset, _) = vigil::ruleset::load(dir.path(), &config, &Default::default());
            (p, Engine::new(ruleset, p, "vm").expect("engine builds"))
        })
        .collect();
    let mut mismatches = 0;
    for raw in &messages {
        let results: Vec<String> = engines
            .iter()
            .map(|(_, e)| e.decode(raw, 0).map(|(ev, _)| summary(e, &ev)).unwrap_or_else(|err| err.to_string()))
            .collect();
        if results.iter().any(|r| *r != results[0]) {
            mismatches += 1;
            eprintln!("differs for {}:\n{results:#?}", String::from_utf8_lossy(raw));
        }
    }
    assert_eq!(mismatches, 0, "the prefilter changed {mismatches} of {} results", messages.len());

    let runs: Vec<_> = engines.iter().map(|(p, e)| (p, decode_all(e, &messages))).collect();
    for (p, run) in &runs {
        println!("{p:?}: {:.2} top-level decoders tried per event ({} events)", run.tried_per_event(), run.events);
    }
    let without = runs[0].1.tried_per_event();
    for (p, run) in &runs[1..] {
        assert!(
            run.tried_per_event() * 2.5 < without,
            "{p:?} tried {:.2} per event vs {without:.2} without a prefilter",
            run.tried_per_event()
        );
    }
}

/// Both multi-literal engines, and the direct search used for the first few needs, find exactly
/// the same prematch literals in every log.
#[test]
fn literal_engines_and_direct_search_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = wazuh_home(dir.path());
    let (ruleset, _) = vigil::ruleset::load(dir.path(), &config, &Default::default());
    let mut literals: Vec<Vec<u8>> = ruleset
        .decoders
        .all()
        .iter()
        .filter_map(|d| d.prematch.as_ref()?.as_osregex()?.requirements())
        .flatten()
        .filter_map(|r| match r {
            Requirement::Contains(run) if run.len() > 1 => Some(run),
            _ => None,
        })
        .collect();
    literals.sort();
    literals.dedup();
    assert!(literals.len() > 50, "the stock prematches give {} literals", literals.len());
    let engines: [Box<dyn LiteralMatcher>; 2] = [
        Box::new(AhoCorasickMatcher::new(&literals).expect("aho-corasick")),
        Box::new(HyperscanMatcher::new(&literals).expect("hyperscan")),
    ];
    let direct: Vec<Literal> = literals.iter().map(|l| Literal::new(l)).collect();
    let mut any_hit = 0;
    for raw in corpus_with_ini_logs() {
        let Ok(pre) = vigil::engine::predecode::predecode(&raw, "vm") else { continue };
        let haystack = Haystack::new(pre.log.as_bytes());
        let expected: Vec<bool> = direct.iter().map(|l| l.find(&haystack.subject()).is_some()).collect();
        any_hit += usize::from(expected.iter().any(|&h| h));
        for engine in &engines {
            let mut hits = vec![false; literals.len()];
            engine.scan(pre.log.as_bytes(), &mut hits);
            assert_eq!(hits, expected, "{} on {:?}", engine.name(), pre.log);
        }
    }
    assert!(any_hit > 1000, "only {any_hit} logs contain a literal");
}
