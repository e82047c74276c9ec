//! The streaming scanner (prefilter over big buffers, in-place ANSI removal, lines cut out
//! only around hits) must report exactly what a naive matcher reports: for each line,
//! drop the `\r`, strip ANSI escapes, and run every rule's regexes directly.
//!
//! The log is generated here: pipeline-like noise (colours, CRLF, long lines, Azure
//! words) with every built-in single-line rule's examples injected at random lines,
//! some with a colour code splitting the rule's keyword, some with CRLF endings.

use std::collections::BTreeMap;

use arm_kb::kb::{KnowledgeBase, RootSelection};
use arm_kb::matcher::{Engine, FindingSet, ScanOptions};
use arm_kb::rules::{Rule, RuleKind};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const NOISE: [&str; 9] = [
    "2024-05-02T10:00:01.1234567Z ##[section]Starting: AzureCLI",
    "2024-05-02T10:00:01.2234567Z \u{1b}[32mPASS\u{1b}[39m src/app.test.ts (\u{1b}[33m1.2 s\u{1b}[39m)",
    "2024-05-02T10:00:02.0000000Z Successfully logged in with service principal; access token acquired",
    "2024-05-02T10:00:03.0000000Z ##[debug]subscription picker loaded from the dropdown",
    "2024-05-02T10:00:04.0000000Z npm WARN deprecated glob@7.2.3: Glob versions prior to v9 are no longer supported",
    "2024-05-02T10:00:05.0000000Z \u{1b}[1m\u{1b}[31merror\u{1b}[39m\u{1b}[22m: build step failed with exit code 1",
    "2024-05-02T10:00:06.0000000Z ##[error]Bash exited with code '1'.",
    "",
    "2024-05-02T10:00:07.0000000Z Run az account show --query id -o tsv (tenant and subscription ok)",
];

/// Inserts a colour code in the middle of the first keyword of `rule` found in `text`.
fn split_keyword(text: &str, rule: &Rule) -> String {
    let lower = text.to_ascii_lowercase();
    for kw in &rule.keywords {
        if let Some(at) = lower.find(kw.as_str()) {
            let cut = at + kw.len() / 2;
            if text.is_char_boundary(cut) {
                return format!("{}\u{1b}[1m{}", &text[..cut], &text[cut..]);
            }
        }
    }
    format!("\u{1b}[31m{text}\u{1b}[0m")
}

fn generated_log(kb: &KnowledgeBase) -> Vec<u8> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut injected: Vec<String> = Vec::new();
    for rule in &kb.rules {
        for example in &rule.examples {
            injected.push(example.text.clone());
            injected.push(split_keyword(&example.text, rule));
        }
        for counter in &rule.counterexamples {
            injected.push(counter.text.clone());
        }
    }
    let mut log = String::new();
    let mut next = 0;
    while log.len() < 400_000 || next < injected.len() {
        let line = if next < injected.len() && rng.below(8) == 0 {
            next += 1;
            injected[next - 1].clone()
        } else if rng.below(500) == 0 {
            // A long base64-like line: longer than the small scan buffers below.
            "QUJD".repeat(3000)
        } else {
            NOISE[rng.below(NOISE.len())].to_owned()
        };
        log.push_str(&line);
        log.push_str(if rng.below(5) == 0 { "\r\n" } else { "\n" });
    }
    log.into_bytes()
}

/// The lines each rule fires on, by the book.
fn naive(kb: &KnowledgeBase, log: &[u8]) -> BTreeMap<String, Vec<u64>> {
    crate::util::oracle::fired_lines(single_line_rules(kb), log)
}

fn single_line_rules(kb: &KnowledgeBase) -> impl Iterator<Item = &Rule> {
    kb.rules
        .iter()
        .filter(|r| matches!(r.kind, RuleKind::Patterns(_)))
}

/// The lines each rule fires on, per the scanner: one rule at a time, so evidence of
/// several rules of an article cannot hide each other.
fn fast(kb: &mut KnowledgeBase, log: &[u8], buffer_size: usize) -> BTreeMap<String, Vec<u64>> {
    let all_rules = std::mem::take(&mut kb.rules);
    let mut fired = BTreeMap::new();
    let mut kept = Vec::new();
    for rule in all_rules {
        let single = matches!(rule.kind, RuleKind::Patterns(_));
        kb.rules = vec![rule];
        if single {
            let engine = Engine::new(kb, false);
            let mut set = FindingSet::new(None);
            let options = ScanOptions {
                buffer_size,
                ..ScanOptions::default()
            };
            engine
                .scanner(options)
                .scan(log, &mut set)
                .expect("scan works");
            let report = arm_kb::report::Report::build(set, kb);
            if let Some(finding) = report.findings.first() {
                let lines: Vec<u64> = finding.evidence.iter().map(|e| e.line).collect();
                fired.insert(
                    kb.rules[0].id.to_string(),
                    expand(finding.evidence_total, lines),
                );
            }
        }
        kept.append(&mut kb.rules);
    }
    kb.rules = kept;
    fired
}

/// The scanner keeps the first few evidence lines and counts the rest; compare like that.
fn expand(total: u64, lines: Vec<u64>) -> Vec<u64> {
    let mut out = lines;
    out.push(total);
    out
}

fn like_scanner(naive: BTreeMap<String, Vec<u64>>, keep: usize) -> BTreeMap<String, Vec<u64>> {
    naive
        .into_iter()
        .map(|(id, lines)| {
            let total = lines.len() as u64;
            (id, expand(total, lines.into_iter().take(keep).collect()))
        })
        .collect()
}

#[test]
fn scanner_and_naive_matcher_agree_on_a_generated_log() {
    let loaded = KnowledgeBase::load(&RootSelection::new(false, None, &[]));
    assert!(!loaded.has_errors());
    let mut kb = loaded.kb;
    let log = generated_log(&kb);
    let expected = like_scanner(naive(&kb, &log), arm_kb::matcher::MAX_EVIDENCE_PER_FINDING);
    let rules_with_examples = single_line_rules(&kb)
        .filter(|r| !r.examples.is_empty())
        .count();
    assert!(
        expected.len() >= rules_with_examples,
        "every rule's own examples fire: {} of {rules_with_examples}",
        expected.len()
    );
    // The default buffer, and one smaller than the long lines (lines cross reads).
    for buffer_size in [256 << 10, 4096] {
        let got = fast(&mut kb, &log, buffer_size);
        assert_eq!(got, expected, "buffer size {buffer_size}");
    }
}
