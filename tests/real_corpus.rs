//! The public regression corpus (`tests/fixtures/real/*.toml`): real error text that people
//! posted in public issue threads, each case labelled with the article that must come first
//! (or `none`: no finding at all). The built-in knowledge base must put the right article
//! first for at least 95% of the positives and flag at most 2% of the negatives; the test
//! prints the score per label and every miss, so a drop names the cases it broke.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use assert_cmd::Command;
use serde::Deserialize;
use serde_json::Value;

const NONE: &str = "none";
const MIN_POSITIVE_RATE: f64 = 0.95;
const MAX_NEGATIVE_RATE: f64 = 0.02;

#[derive(Deserialize)]
struct CaseFile {
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    source: String,
    label: String,
    #[serde(default)]
    alternates: Vec<String>,
    note: String,
    text: String,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real")
}

fn load_cases() -> Vec<(String, Case)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file: CaseFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        cases.extend(file.cases.into_iter().map(|c| (name.clone(), c)));
    }
    cases
}

/// The article ids of the findings `match --format json` gives for `text`, best first.
fn findings(text: &str) -> Vec<String> {
    let output = Command::cargo_bin("arm-kb")
        .unwrap()
        .env_remove("ARM_KB_PATH")
        .env_remove("ARM_KB_CONFIG")
        .args(["--color", "never", "match", "--format", "json"])
        .write_stdin(text.as_bytes())
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["article"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn cases_are_well_formed() {
    let cases = load_cases();
    let articles: BTreeSet<String> =
        std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kb"))
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path();
                (p.extension()? == "md")
                    .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
            })
            .collect();
    let mut ids = BTreeSet::new();
    let mut per_thread: BTreeMap<&str, usize> = BTreeMap::new();
    for (file, case) in &cases {
        assert!(
            ids.insert(case.id.as_str()),
            "{file}: duplicate id {}",
            case.id
        );
        let (repo, number) = case
            .source
            .split_once('#')
            .unwrap_or_else(|| panic!("{file}: {}: source is not owner/repo#number", case.id));
        assert!(
            repo.contains('/') && number.parse::<u64>().is_ok(),
            "{file}: {}",
            case.id
        );
        *per_thread.entry(case.source.as_str()).or_default() += 1;
        for label in std::iter::once(&case.label).chain(&case.alternates) {
            assert!(
                label == NONE || articles.contains(label),
                "{file}: {}: unknown article {label}",
                case.id
            );
        }
        assert!(
            !case.text.trim().is_empty() && !case.note.trim().is_empty(),
            "{}",
            case.id
        );
    }
    for (thread, n) in per_thread {
        assert!(n <= 2, "{thread} gives {n} cases (at most 2)");
    }
    let negatives = cases.iter().filter(|(_, c)| c.label == NONE).count();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    assert!(negatives >= 40, "{negatives} near misses");
}

#[test]
fn built_in_knowledge_base_scores_the_corpus() {
    let cases = load_cases();
    // label -> (right, total)
    let mut per_label: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    let (mut pos_right, mut pos_total, mut neg_flagged, mut neg_total) = (0, 0, 0, 0);
    for (file, case) in &cases {
        let found = findings(&case.text);
        let entry = per_label.entry(case.label.clone()).or_default();
        entry.1 += 1;
        if case.label == NONE {
            neg_total += 1;
            if found.is_empty() || found.first().is_some_and(|t| case.alternates.contains(t)) {
                entry.0 += 1;
            } else {
                neg_flagged += 1;
                misses.push(format!(
                    "{file}: {} ({}): want no finding, got {found:?}",
                    case.id, case.source
                ));
            }
        } else {
            pos_total += 1;
            let top = found.first();
            if top.is_some_and(|t| *t == case.label || case.alternates.contains(t)) {
                pos_right += 1;
                entry.0 += 1;
            } else {
                misses.push(format!(
                    "{file}: {} ({}): want {}, got {}",
                    case.id,
                    case.source,
                    case.label,
                    top.map_or("no finding", String::as_str)
                ));
            }
        }
    }
    let mut report = String::new();
    for (label, (right, total)) in &per_label {
        report.push_str(&format!("  {label:<45} {right}/{total}\n"));
    }
    let pos_rate = pos_right as f64 / pos_total as f64;
    let neg_rate = neg_flagged as f64 / neg_total as f64;
    eprintln!(
        "{report}positives: {pos_right}/{pos_total} ({:.1}%), negatives flagged: {neg_flagged}/{neg_total} ({:.1}%)\nmisses:\n  {}",
        100.0 * pos_rate,
        100.0 * neg_rate,
        misses.join("\n  ")
    );
    assert!(
        pos_rate >= MIN_POSITIVE_RATE,
        "top finding right for only {:.1}% of positives",
        100.0 * pos_rate
    );
    assert!(
        neg_rate <= MAX_NEGATIVE_RATE,
        "{:.1}% of negatives flagged",
        100.0 * neg_rate
    );
}
