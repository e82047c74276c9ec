//! Labeled logs: `arm-kb match --format json` must put the labeled article first, and
//! find nothing in logs labeled `none`.
//!
//! Always runs over the project's own excerpts in `tests/fixtures/corpus/`; also runs over
//! the shared sample of real logs in `../shared/corpus/` when that folder is present.
//! Each folder holds `*.log` files and a `labels.jsonl`, one object per file:
//! `{"file", "label", "also": [...]}` where `label` is an article id or `none`, and `also`
//! lists other acceptable outcomes (article ids, or `none` for "no finding is fine too").

use std::path::{Path, PathBuf};

use serde_json::Value;

const NONE: &str = "none";

struct Case {
    file: String,
    label: String,
    also: Vec<String>,
}

struct Outcome {
    file: String,
    label: String,
    top: String,
    passed: bool,
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_labels(dir: &Path) -> Vec<Case> {
    let path = dir.join("labels.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1));
            let field = |name: &str| {
                v[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}:{}: no `{name}`", path.display(), i + 1))
                    .to_owned()
            };
            Case {
                file: field("file"),
                label: field("label"),
                also: v["also"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The top finding's article, or `none`.
fn top_finding(log: &Path) -> String {
    let output = crate::util::arm_kb()
        .args(["--color", "never", "match", "--format", "json"])
        .arg(log)
        .output()
        .unwrap();
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{}: exit {code:?}, stderr:\n{}",
        log.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{}: output is not JSON: {e}", log.display()));
    let findings = json["findings"].as_array().expect("findings array");
    // The exit status and the findings must agree.
    assert_eq!(
        code == Some(0),
        !findings.is_empty(),
        "{}: exit {code:?} with {} findings",
        log.display(),
        findings.len()
    );
    findings
        .first()
        .map(|f| f["article"].as_str().expect("article id").to_owned())
        .unwrap_or_else(|| NONE.to_owned())
}

fn run_corpus(dir: &Path) -> Vec<Outcome> {
    let cases = read_labels(dir);
    assert!(!cases.is_empty(), "{}: no labeled cases", dir.display());
    cases
        .into_iter()
        .map(|case| {
            let log = dir.join(&case.file);
            assert!(log.is_file(), "{}: labeled but missing", log.display());
            let top = top_finding(&log);
            let passed = top == case.label || case.also.contains(&top);
            Outcome {
                file: case.file,
                label: case.label,
                top,
                passed,
            }
        })
        .collect()
}

fn check(dir: &Path) {
    let outcomes = run_corpus(dir);
    let table: Vec<String> = outcomes
        .iter()
        .map(|o| {
            format!(
                "{} {:45} {:40} (label {})",
                if o.passed { "ok  " } else { "FAIL" },
                o.file,
                o.top,
                o.label
            )
        })
        .collect();
    // Shown with `cargo test --test corpus -- --nocapture`.
    println!("{}:\n{}", dir.display(), table.join("\n"));
    let failed: Vec<&String> = outcomes
        .iter()
        .zip(&table)
        .filter(|(o, _)| !o.passed)
        .map(|(_, row)| row)
        .collect();
    assert!(
        failed.is_empty(),
        "{}: {} of {} cases wrong:\n{}",
        dir.display(),
        failed.len(),
        outcomes.len(),
        failed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn own_fixtures() {
    let dir = manifest_dir().join("tests/fixtures/corpus");
    let cases = read_labels(&dir);
    // The fixtures must cover the main error families and logs with nothing to find.
    let labeled: std::collections::BTreeSet<&str> = cases
        .iter()
        .map(|c| c.label.as_str())
        .filter(|l| *l != NONE)
        .collect();
    assert!(labeled.len() >= 12, "only {} families", labeled.len());
    assert!(cases.iter().filter(|c| c.label == NONE).count() >= 4);
    check(&dir);
}

#[test]
fn shared_corpus_when_present() {
    let dir = manifest_dir().join("../shared/corpus");
    if !dir.join("labels.jsonl").is_file() {
        eprintln!(
            "{} is absent; only the own fixtures are checked",
            dir.display()
        );
        return;
    }
    check(&dir);
}

#[test]
fn every_label_names_a_known_article() {
    let loaded = arm_kb::kb::KnowledgeBase::load(&arm_kb::kb::RootSelection {
        builtin: true,
        dirs: vec![],
    });
    let mut dirs = vec![manifest_dir().join("tests/fixtures/corpus")];
    let shared = manifest_dir().join("../shared/corpus");
    if shared.join("labels.jsonl").is_file() {
        dirs.push(shared);
    }
    for dir in dirs {
        for case in read_labels(&dir) {
            for id in std::iter::once(&case.label).chain(&case.also) {
                assert!(
                    id == NONE || loaded.kb.article(id).is_some(),
                    "{}: {} names unknown article {id}",
                    dir.display(),
                    case.file
                );
            }
        }
    }
}
