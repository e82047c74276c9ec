//! The streaming matcher over arbitrary log bytes, against a small fixed knowledge base
//! covering every rule shape (single-line patterns with captures and a veto, a multi-line
//! window signature, a rule without keywords that runs on every line).
//!
//! Besides "no panic", this is a differential target: the first input byte picks a read
//! buffer size, and the findings must be the same as with the default buffer size.
#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use arm_kb::kb::{KnowledgeBase, RootFiles, RootLocation};
use arm_kb::matcher::{Engine, FindingSet, ScanOptions};
use arm_kb::source::SourceFile;
use libfuzzer_sys::fuzz_target;

const ARTICLE: &str = "+++\ntitle = \"Fuzz article\"\n+++\n\n## Symptoms\nSomething fails.\n\n## Cause\nA cause.\n\n## Fix\n1. Fix `{app_id}`.\n";

const RULES: &str = r#"
[[rule]]
id = "fuzz.secret"
article = "alpha"
priority = 90
patterns = ['(?i)AADSTS7000222:?\s*The provided client secret keys for app\s*(?P<app_id>[0-9a-f-]{36}|\*{3})', '(?i)\bAADSTS7000222\b']
unless = ['(?i)ignore me']

[[rule]]
id = "fuzz.window"
article = "beta"
all = ['(?i)_apis/serviceendpoint/endpoints/', '(?i)"accesstoken"\s*:\s*(?:null|"")']
window = 3
unless = ['(?i)veto']

[[rule]]
id = "fuzz.every-line"
article = "gamma"
severity = "warning"
patterns = ['\d{3}-\d{4}']

[[rule]]
id = "fuzz.keywords"
article = "gamma"
keywords = ["error:"]
patterns = ['(?i)error: (?P<what>\w+) failed']
"#;

fn kb() -> &'static KnowledgeBase {
    static KB: OnceLock<KnowledgeBase> = OnceLock::new();
    KB.get_or_init(|| {
        let articles = ["alpha", "beta", "gamma"]
            .iter()
            .map(|id| {
                (
                    (*id).to_owned(),
                    SourceFile::new(format!("kb/{id}.md"), ARTICLE),
                )
            })
            .collect();
        let root = RootFiles {
            location: RootLocation::Builtin,
            articles,
            rule_files: vec![SourceFile::new("rules/fuzz.toml", RULES)],
        };
        let mut diags = Vec::new();
        let kb = KnowledgeBase::from_roots(vec![root], &mut diags);
        assert!(
            diags.iter().all(|d| !d.is_error()),
            "the fixed knowledge base loads: {diags:?}"
        );
        kb
    })
}

fn engine() -> &'static Engine<'static> {
    static ENGINE: OnceLock<Engine<'static>> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(kb(), true))
}

/// What must not depend on the buffer size: per article, the evidence lines and count.
fn summary(set: FindingSet) -> BTreeSet<(String, Vec<u64>, u64)> {
    let error_lines: Vec<u64> = set.error_lines.iter().map(|e| e.line).collect();
    let report = arm_kb::report::Report::build(set, kb());
    let mut out: BTreeSet<_> = report
        .findings
        .into_iter()
        .map(|f| {
            (
                f.article.to_string(),
                f.evidence.iter().map(|e| e.line).collect(),
                f.evidence_total,
            )
        })
        .collect();
    out.insert((
        "<unexplained>".to_owned(),
        error_lines,
        report.error_lines_total,
    ));
    out.insert(("<lines>".to_owned(), Vec::new(), report.stats.lines));
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, log)) = data.split_first() else {
        return;
    };
    let engine = engine();
    let mut small = FindingSet::new(None);
    let options = ScanOptions {
        buffer_size: usize::from(selector) + 1,
        ..ScanOptions::default()
    };
    engine
        .scanner(options)
        .scan(log, &mut small)
        .expect("the fixed rules compile and reading memory cannot fail");
    let default = engine
        .scan_bytes(None, log)
        .expect("the fixed rules compile and reading memory cannot fail");
    assert_eq!(
        summary(small),
        summary(default),
        "buffer size {}",
        usize::from(selector) + 1
    );
});
