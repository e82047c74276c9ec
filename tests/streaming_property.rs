//! The streaming matcher against a naive one. For random rule sets and random logs (with
//! ANSI codes, CRLF, bare CRs, tabs, NULs and invalid UTF-8), the findings must not
//! depend on the read-buffer size, and must equal what a line-by-line reference matcher
//! written from the documented semantics finds. This guards the scanner's fast path
//! (prefilter over whole buffers, in-place ANSI removal, line counting, context lines).

use std::collections::BTreeMap;
use std::path::PathBuf;

use arm_kb::kb::{KnowledgeBase, RootFiles, RootLocation};
use arm_kb::matcher::{Engine, FindingSet, ScanOptions};
use arm_kb::source::SourceFile;

use crate::util::oracle::reference;
use proptest::prelude::*;

const ARTICLES: [&str; 3] = ["first", "second", "third"];

/// Regexes rules are drawn from: literal, case-insensitive, anchored, with captures,
/// without any literal (such rules run on every line), matching tabs, non-ASCII text or
/// raw invalid bytes.
const PATTERNS: &[&str] = &[
    r"alpha",
    r"(?i)BETA",
    r"alpha\s+beta",
    r"gamma.*delta",
    r"\bdelta\b",
    r"^alpha",
    r"gamma$",
    r"(?P<code>AADSTS\d+)",
    r"(?i)error: (?P<what>\w+)",
    r"\d{3}",
    r"^$",
    r"\t",
    r"é+",
    r"(?i)É",
    r"(?i)al.ha",
    r"beta|gamma",
    r"alphabeta",
    r"(?-u:\xff)",
    r"(?-u:\xfe\xfd\xfc)",
    r"\x00",
    r"a\rb",
];

/// Vetoes. Each has a literal: a window veto without one is only noticed on lines that
/// are candidates for the rule anyway, which a line-by-line reference does not model.
const UNLESS: &[&str] = &[r"veto", r"(?i)ignore", r"gamma"];

/// Explicit keywords, some overlapping each other (`alpha` / `pha` / `alphabeta`), some
/// not implied by any pattern.
const KEYWORDS: &[&str] = &[
    "alpha",
    "pha",
    "alphabeta",
    "error:",
    "or:",
    "aadsts",
    "gamma",
];

/// Log tokens: the words above in several cases, escape sequences (colour, cursor,
/// hyperlink, charset, one splitting a word), and bytes that are not text.
const TOKENS: &[&[u8]] = &[
    b"alpha",
    b"ALPHA",
    b"beta",
    b"Beta",
    b"gamma",
    b"delta",
    b"alphabeta",
    b"error:",
    b"ERROR:",
    b"AADSTS7000222",
    b"123",
    b"4567",
    b"veto",
    b"Ignore",
    b"\xc3\xa9",
    b"\xc3\x89",
    b"\t",
    b"\r",
    b"\0",
    b"\xff",
    b"\xfe\xfd\xfc",
    b"\x1b[31m",
    b"\x1b[0m",
    b"\x1b[1;38;5;196m",
    b"\x1b[2K",
    b"\x1b]8;;https://example.com\x07",
    b"\x1b(B",
    b"\x1bPqq\x1b\\",
    b"\x1b[1\x01m",
    b"al\x1b[1mpha",
    b"a",
    b"b",
];

#[derive(Clone, Debug)]
struct RuleSpec {
    article: usize,
    window: Option<u32>,
    patterns: Vec<usize>,
    unless: Vec<usize>,
    keywords: Option<Vec<usize>>,
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        0..ARTICLES.len(),
        prop::option::weighted(0.3, 1u32..5),
        prop::collection::vec(0..PATTERNS.len(), 1..4),
        prop::collection::vec(0..UNLESS.len(), 0..2),
        prop::option::weighted(0.3, prop::collection::vec(0..KEYWORDS.len(), 1..3)),
    )
        .prop_map(|(article, window, patterns, unless, keywords)| RuleSpec {
            article,
            window,
            patterns,
            unless,
            keywords,
        })
}

fn rules_toml(specs: &[RuleSpec]) -> String {
    let list = |items: &[usize], from: &[&str]| {
        items
            .iter()
            .map(|&i| format!("'{}'", from[i]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = String::new();
    for (i, spec) in specs.iter().enumerate() {
        text.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\narticle = \"{}\"\n",
            ARTICLES[spec.article]
        ));
        match spec.window {
            None => text.push_str(&format!(
                "patterns = [{}]\n",
                list(&spec.patterns, PATTERNS)
            )),
            Some(w) => text.push_str(&format!(
                "all = [{}]\nwindow = {w}\n",
                list(&spec.patterns, PATTERNS)
            )),
        }
        if !spec.unless.is_empty() {
            text.push_str(&format!("unless = [{}]\n", list(&spec.unless, UNLESS)));
        }
        if let Some(k) = &spec.keywords {
            text.push_str(&format!("keywords = [{}]\n", list(k, KEYWORDS)));
        }
        text.push('\n');
    }
    text
}

fn knowledge_base(specs: &[RuleSpec]) -> KnowledgeBase {
    let articles = ARTICLES
        .iter()
        .map(|id| {
            let text = format!(
                "+++\ntitle = \"{id}\"\n+++\n\n## Symptoms\ns\n\n## Cause\nc\n\n## Fix\n1. f\n"
            );
            (
                (*id).to_owned(),
                SourceFile::new(format!("kb/{id}.md"), text),
            )
        })
        .collect();
    let root = RootFiles {
        location: RootLocation::Dir(PathBuf::from("property")),
        articles,
        rule_files: vec![SourceFile::new("rules/random.toml", rules_toml(specs))],
        synonyms: None,
    };
    let mut diags = Vec::new();
    let kb = KnowledgeBase::from_roots(vec![root], &mut diags);
    assert!(
        diags.iter().all(|d| !d.is_error()),
        "generated rules load: {diags:?}\n{}",
        rules_toml(specs)
    );
    assert_eq!(kb.rules.len(), specs.len());
    kb
}

fn log_bytes() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        prop::collection::vec((0..TOKENS.len(), prop::bool::weighted(0.7)), 0..7),
        prop::sample::select(vec![&b"\n"[..], b"\n", b"\r\n"]),
    );
    (prop::collection::vec(line, 0..30), prop::bool::ANY).prop_map(|(lines, final_newline)| {
        let mut log = Vec::new();
        let count = lines.len();
        for (n, (tokens, end)) in lines.into_iter().enumerate() {
            for (t, space) in tokens {
                log.extend_from_slice(TOKENS[t]);
                if space {
                    log.push(b' ');
                }
            }
            // The last line may end without a newline (and may then hold only escape
            // codes: see `a_last_line_of_only_escape_codes_is_still_a_line`).
            if n + 1 < count || final_newline {
                log.extend_from_slice(end);
            }
        }
        log
    })
}

/// What must not change: per article, each evidence line with its rule, captures and
/// context line numbers, and how many lines were evidence.
type Summary = BTreeMap<String, (Vec<EvidenceSummary>, u64)>;
type EvidenceSummary = (u64, String, BTreeMap<String, String>, Vec<u64>, Vec<u64>);

fn summarize(set: FindingSet, kb: &KnowledgeBase) -> Summary {
    arm_kb::report::Report::build(set, kb)
        .findings
        .into_iter()
        .map(|f| {
            let evidence = f
                .evidence
                .iter()
                .map(|e| {
                    (
                        e.line,
                        e.rule.as_str().to_owned(),
                        e.captures.clone(),
                        e.context_before.iter().map(|c| c.line).collect(),
                        e.context_after.iter().map(|c| c.line).collect(),
                    )
                })
                .collect();
            (f.article.as_str().to_owned(), (evidence, f.evidence_total))
        })
        .collect()
}

/// The reference's context line numbers for an evidence line: like grep, up to N lines
/// on each side, within the log.
fn reference_context(line: u64, last_line: u64, options: ScanOptions) -> (Vec<u64>, Vec<u64>) {
    let before = (line.saturating_sub(options.context_before as u64).max(1)..line).collect();
    let after = (line + 1..=(line + options.context_after as u64).min(last_line)).collect();
    (before, after)
}

fn scan(engine: &Engine<'_>, log: &[u8], options: ScanOptions) -> FindingSet {
    let mut set = FindingSet::new(None);
    engine
        .scanner(options)
        .scan(log, &mut set)
        .expect("scanning memory with compiling rules cannot fail");
    set
}

/// Everything a scan reports, as shown to users: evidence text and context text too.
fn full_report(set: FindingSet, kb: &KnowledgeBase) -> String {
    let report = arm_kb::report::Report::build(set, kb);
    format!(
        "{:#?}\n{:#?}\n{} {} {}",
        report.findings,
        report.error_lines(),
        report.unexplained.as_ref().map_or(0, |u| u.total),
        report.stats.bytes,
        report.stats.lines
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn findings_do_not_depend_on_the_buffer_size_and_match_the_reference(
        specs in prop::collection::vec(rule_spec(), 1..6),
        log in log_bytes(),
        context_before in 0usize..3,
        context_after in 0usize..3,
        small_buffer in 1usize..64,
    ) {
        let kb = knowledge_base(&specs);
        let engine = Engine::new(&kb, true);
        let options = ScanOptions { context_before, context_after, ..ScanOptions::default() };
        let expected = full_report(scan(&engine, &log, options), &kb);
        for buffer_size in [1, 2, 3, small_buffer, 64, 4096] {
            let got = full_report(scan(&engine, &log, ScanOptions { buffer_size, ..options }), &kb);
            prop_assert_eq!(&got, &expected, "buffer size {}", buffer_size);
        }

        let got = summarize(scan(&engine, &log, options), &kb);
        let reference_set = reference(&kb, &log);
        let last_line = reference_set.stats.lines;
        let mut want = summarize(reference_set, &kb);
        for (evidence, _) in want.values_mut() {
            for e in evidence.iter_mut() {
                (e.3, e.4) = reference_context(e.0, last_line, options);
            }
        }
        prop_assert_eq!(got, want, "rules:\n{}\nlog: {:?}", rules_toml(&specs), String::from_utf8_lossy(&log));
    }
}

/// The last line of a log often is only a colour reset, without a newline. It is still
/// a line: a context line after the evidence before it, and matched by `^$`.
#[test]
fn a_last_line_of_only_escape_codes_is_still_a_line() {
    let kb = knowledge_base(&[
        RuleSpec {
            article: 0,
            window: None,
            patterns: vec![0],
            unless: Vec::new(),
            keywords: None,
        },
        RuleSpec {
            article: 1,
            window: None,
            patterns: vec![PATTERNS.iter().position(|p| *p == "^$").unwrap()],
            unless: Vec::new(),
            keywords: None,
        },
    ]);
    let engine = Engine::new(&kb, false);
    let log = b"alpha\n\x1b[0m";
    let options = ScanOptions {
        context_after: 1,
        ..ScanOptions::default()
    };
    let want = summarize(reference(&kb, log), &kb);
    let mut got = summarize(scan(&engine, log, options), &kb);
    assert_eq!(got["first"].0[0].4, [2], "line 2 is context of line 1");
    for (evidence, _) in got.values_mut() {
        for e in evidence.iter_mut() {
            e.4.clear();
        }
    }
    assert_eq!(got, want);
}
