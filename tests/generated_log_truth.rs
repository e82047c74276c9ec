//! The benchmark workload as a correctness test: `gen_log.py` writes a pipeline log with
//! injected ARM failures and a `--truth` file listing each injected line and the core rules
//! that match it; `gen_rules.py` writes 1,000 rules (its 20 core rules and synthetic ones
//! whose keywords share long prefixes). The scanner must fire each core rule on exactly its
//! truth lines, and every rule on exactly the lines a naive line-by-line matcher finds.
//!
//! The generators live in `../shared/bench` next to the repository and need Python 3; where
//! either is missing the test says so and checks nothing else (the own-log twin of this
//! test, `fast_path_agrees.rs`, always runs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use arm_kb::kb::{KnowledgeBase, RootSelection};
use arm_kb::matcher::{Engine, FindingSet, MAX_EVIDENCE_PER_FINDING, ScanOptions};
use serde_json::Value;

fn generators() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench");
    let python = Command::new("python3").arg("--version").output();
    (dir.join("gen_log.py").is_file() && python.is_ok_and(|o| o.status.success())).then_some(dir)
}

fn run(generator: &Path, args: &[&str]) {
    let status = Command::new("python3")
        .arg(generator)
        .args(args)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "{} {args:?}", generator.display());
}

/// A knowledge root with one article per generated rule, so each rule is its own finding
/// (evidence is kept per finding) and can be compared on its own.
fn write_root(rules_jsonl: &Path, root: &Path) -> Vec<Value> {
    std::fs::create_dir_all(root.join("kb")).unwrap();
    std::fs::create_dir_all(root.join("rules")).unwrap();
    let rules: Vec<Value> = std::fs::read_to_string(rules_jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut toml = String::new();
    for (i, rule) in rules.iter().enumerate() {
        std::fs::write(
            root.join(format!("kb/g-{i}.md")),
            format!(
                "+++\ntitle = \"Generated {i}\"\n+++\n## Symptoms\nLine {i}.\n## Cause\nGenerated.\n## Fix\n1. None.\n"
            ),
        )
        .unwrap();
        toml.push_str(&format!(
            "[[rule]]\nid = {}\narticle = \"g-{i}\"\nkeywords = {}\npatterns = [{}]\n\n",
            rule["id"], rule["keywords"], rule["regex"]
        ));
    }
    std::fs::write(root.join("rules/generated.toml"), toml).unwrap();
    rules
}

/// First evidence lines and the total, per rule id: what a finding keeps.
type Fired = BTreeMap<String, (Vec<u64>, u64)>;

fn keep(lines: &BTreeMap<String, Vec<u64>>) -> Fired {
    lines
        .iter()
        .map(|(id, l)| {
            let first = l.iter().copied().take(MAX_EVIDENCE_PER_FINDING).collect();
            (id.clone(), (first, l.len() as u64))
        })
        .collect()
}

fn scanned(kb: &KnowledgeBase, log: &[u8], buffer_size: usize) -> Fired {
    let engine = Engine::new(kb, false);
    let mut set = FindingSet::new(None);
    let options = ScanOptions {
        buffer_size,
        ..ScanOptions::default()
    };
    engine.scanner(options).scan(log, &mut set).unwrap();
    arm_kb::report::Report::build(set, kb)
        .findings
        .into_iter()
        .map(|f| {
            let id = f.evidence[0].rule.to_string();
            (
                id,
                (
                    f.evidence.iter().map(|e| e.line).collect(),
                    f.evidence_total,
                ),
            )
        })
        .collect()
}

/// By the book: every line as the rules see it, every rule whose keyword occurs (in any
/// ASCII case) and whose regex matches.
fn naive(kb: &KnowledgeBase, log: &[u8]) -> BTreeMap<String, Vec<u64>> {
    crate::util::oracle::fired_lines(&kb.rules, log)
}

#[test]
fn scanner_finds_exactly_the_injected_lines_of_the_generated_log() {
    let Some(generators) = generators() else {
        eprintln!("skipped: ../shared/bench generators or python3 not available");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let w = |name: &str| work.path().join(name).to_str().unwrap().to_owned();
    run(
        &generators.join("gen_log.py"),
        &[
            "--size",
            "2M",
            "--seed",
            "5",
            "--inject",
            "120",
            "--out",
            &w("log.txt"),
            "--truth",
            &w("truth.json"),
            "-q",
        ],
    );
    run(
        &generators.join("gen_rules.py"),
        &["--n", "1000", "--seed", "1", "--out-dir", &w("rules")],
    );
    let rules = write_root(
        &work.path().join("rules/rules_1000.jsonl"),
        &work.path().join("root"),
    );
    let loaded = KnowledgeBase::load(&RootSelection {
        builtin: false,
        dirs: vec![work.path().join("root")],
    });
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics.first());
    let kb = loaded.kb;
    assert_eq!(kb.rules.len(), rules.len());
    let log = std::fs::read(w("log.txt")).unwrap();

    // The truth: core rule id -> injected lines.
    let truth: Value = serde_json::from_slice(&std::fs::read(w("truth.json")).unwrap()).unwrap();
    let mut expected: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for injected in truth["injected"].as_array().unwrap() {
        for rule in injected["rules"].as_array().unwrap() {
            expected
                .entry(rule.as_str().unwrap().to_owned())
                .or_default()
                .push(injected["line"].as_u64().unwrap());
        }
    }
    assert!(expected.len() >= 10, "the truth names most core rules");

    let by_the_book = naive(&kb, &log);
    for buffer_size in [256 << 10, 4096, 777] {
        let got = scanned(&kb, &log, buffer_size);
        assert_eq!(
            got,
            keep(&by_the_book),
            "naive matcher, buffer {buffer_size}"
        );
        let core: Fired = got
            .into_iter()
            .filter(|(id, _)| expected.contains_key(id))
            .collect();
        assert_eq!(core, keep(&expected), "truth file, buffer {buffer_size}");
    }
}
