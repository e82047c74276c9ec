//! The middle buffer scan: a rule set too large for the SIMD searchers and small enough
//! for the automaton's DFA (about 1,000 rules) scans buffers with the automaton itself.
//! Built here from Rust alone, so the test always runs (the generated-log test needs the
//! shared generators and python). The scanner must agree with the reference matcher at
//! every buffer size.

use std::collections::BTreeMap;
use std::path::PathBuf;

use arm_kb::kb::{KnowledgeBase, RootFiles, RootLocation};
use arm_kb::matcher::{Engine, FindingSet, ScanOptions};
use arm_kb::report::Report;
use arm_kb::source::SourceFile;

use crate::util::oracle;

const RULES: usize = 1_000;

fn rules() -> String {
    (0..RULES)
        .map(|i| {
            format!(
                "[[rule]]\nid = 'r{i}'\narticle = 'a{}'\nkeywords = ['step {i:04} of the deployment failed']\npatterns = ['(?i)step {i:04} of the deployment failed: (?P<why>\\w+)']\n\n",
                i % 7
            )
        })
        .collect()
}

fn knowledge_base() -> KnowledgeBase {
    let articles = (0..7)
        .map(|a| {
            (
                format!("a{a}"),
                SourceFile::new(
                    format!("kb/a{a}.md"),
                    "+++\ntitle = \"A\"\n+++\n## Symptoms\nx\n## Cause\ny\n## Fix\n1. z\n",
                ),
            )
        })
        .collect();
    let root = RootFiles {
        location: RootLocation::Dir(PathBuf::from("generated")),
        articles,
        rule_files: vec![SourceFile::new("rules/generated.toml", rules())],
        synonyms: None,
    };
    let mut diags = Vec::new();
    let kb = KnowledgeBase::from_roots(vec![root], &mut diags);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    assert_eq!(kb.rules.len(), RULES);
    kb
}

fn log() -> String {
    let mut log = String::new();
    for n in 0..1_500usize {
        let i = (n * 7919) % RULES;
        match n % 5 {
            0 => log.push_str(&format!(
                "\u{1b}[31mSTEP {i:04} OF THE DEPLOYMENT FAILED: quota\u{1b}[0m\r\n"
            )),
            1 => log.push_str(&format!(
                "step {i:04} of the deployment failed without a reason\n"
            )),
            2 => log.push_str(&format!(
                "ok: step {i:04} of the deployment failed: retried later\n"
            )),
            3 => log.push_str(&format!("step {i:04} of the deployment succeeded\n")),
            _ => log.push_str("plain progress line, nothing to see\n"),
        }
    }
    log
}

/// The lines each rule fires on, from the scanner: every line, the evidence cap aside.
fn scanned(
    engine: &Engine<'_>,
    kb: &KnowledgeBase,
    log: &[u8],
    buffer_size: usize,
) -> BTreeMap<String, u64> {
    let mut set = FindingSet::new(None);
    let options = ScanOptions {
        buffer_size,
        ..ScanOptions::default()
    };
    engine.scanner(options).scan(log, &mut set).unwrap();
    let mut fired = BTreeMap::new();
    for finding in Report::build(set, kb).findings {
        *fired.entry(finding.article.to_string()).or_insert(0) += finding.evidence_total;
    }
    fired
}

#[test]
fn about_a_thousand_rules_scan_with_the_lanes_and_agree_with_the_reference() {
    let kb = knowledge_base();
    let engine = Engine::new(&kb, false);
    assert_eq!(engine.buffer_search_kind(), "lanes");
    let log = log();
    // The reference's fired lines, counted by article (one line is one piece of evidence).
    let mut want: BTreeMap<String, BTreeMap<u64, ()>> = BTreeMap::new();
    for (rule, lines) in oracle::fired_lines(&kb.rules, log.as_bytes()) {
        let rule = kb.rules.iter().find(|r| r.id.as_str() == rule).unwrap();
        let lines_of = want.entry(rule.article.to_string()).or_default();
        lines_of.extend(lines.into_iter().map(|l| (l, ())));
    }
    let want: BTreeMap<String, u64> = want
        .into_iter()
        .map(|(a, lines)| (a, lines.len() as u64))
        .collect();
    assert!(
        want.values().sum::<u64>() > 500,
        "the log fires many rules: {want:?}"
    );
    for buffer_size in [64, 4096, 256 << 10] {
        assert_eq!(
            scanned(&engine, &kb, log.as_bytes(), buffer_size),
            want,
            "buffer {buffer_size}"
        );
    }
}
