//! `check`: everything loading reports, plus what only running the rules can show:
//! regexes over the size limit, examples that fail, ambiguous rules, articles no rule
//! reaches and placeholders no rule fills.

use std::collections::{BTreeSet, HashSet};

use super::examples::{ExampleFailure, RuleOutcome, describe, run_examples, scan_text};
use crate::diagnostics::{Diagnostic, DiagnosticSeverity};
use crate::ids::{ArticleId, RuleId};
use crate::kb::{Article, KnowledgeBase, RootSelection};
use crate::matcher::Engine;
use crate::rules::Rule;
use crate::source::SourceSpan;

/// Articles with this tag are background reading: no rule has to point to them.
pub const REFERENCE_TAG: &str = "reference";
/// Text that marks scaffolded content the author still has to write.
pub const UNFINISHED_MARKER: &str = "TODO:";

/// The result of checking the selected roots.
pub struct CheckReport {
    pub diagnostics: Vec<Diagnostic>,
    /// A root could not be read at all.
    pub unreadable_root: bool,
    pub roots: usize,
    pub articles: usize,
    pub rules: usize,
    pub examples: usize,
    /// The outcome of every example of the rules that compile, in the order of the rules.
    pub outcomes: Vec<(RuleId, RuleOutcome)>,
}

impl CheckReport {
    pub fn count(&self, severity: DiagnosticSeverity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Patterns that cost much for what they match: a large Unicode class under a big
/// repetition (a big program), a bounded repetition around an unbounded one (slow per
/// byte).
fn costly_patterns(rule: &Rule) -> Vec<Diagnostic> {
    use crate::rules::budget::{LARGE_REPETITION, pattern_cost};
    let mut out = Vec::new();
    for p in rule.patterns().iter().chain(&rule.unless) {
        let Some(cost) = pattern_cost(&p.regex) else {
            continue;
        };
        if cost.unicode_repetition >= LARGE_REPETITION {
            out.push(
                Diagnostic::warning(
                    "unicode-repetition",
                    format!(
                        "rule `{}`: a Unicode class repeated {} times compiles to a large program",
                        rule.id, cost.unicode_repetition
                    ),
                )
                .at(p.span.clone())
                .hint("log text is ASCII: write `(?-u)\\w` (or `[A-Za-z0-9_]`) instead of `\\w`"),
            );
        }
        if cost.nested_repetition >= LARGE_REPETITION {
            out.push(
                Diagnostic::warning(
                    "slow-pattern",
                    format!(
                        "rule `{}`: a repetition of {} around an unbounded one is slow on long lines",
                        rule.id, cost.nested_repetition
                    ),
                )
                .at(p.span.clone())
                .hint("anchor the pattern on literals and use `.*?` or a bounded class instead"),
            );
        }
    }
    out
}

/// Loads and checks every selected root.
pub fn check(selection: &RootSelection) -> CheckReport {
    let loaded = KnowledgeBase::load_sources(selection);
    let mut diags = loaded.diagnostics;
    let mut kb = loaded.kb;
    let roots = kb.roots.len();
    let rules = kb.rules.len();
    let articles = kb.articles.len();
    let examples = kb
        .rules
        .iter()
        .map(|r| r.examples.len() + r.counterexamples.len())
        .sum();

    // Compile every regex now: a pattern over the size limit only fails when compiled.
    diags.extend(Engine::new(&kb, false).compile_all());
    // The broken rules have been reported; the rest of the checks need rules that run.
    let pointed: HashSet<ArticleId> = kb.rules.iter().map(|r| r.article.clone()).collect();
    kb.rules.retain(|r| r.compiled().is_ok());

    diags.extend(kb.rules.iter().filter_map(no_prefilter));
    diags.extend(kb.rules.iter().flat_map(costly_patterns));
    let outcomes = run_examples(&mut kb, |_| true);
    for (_, outcome) in &outcomes {
        if let RuleOutcome::Ran(outcomes) = outcome {
            for o in outcomes.iter().filter(|o| !o.passed()) {
                diags.extend(
                    o.failures
                        .iter()
                        .map(|f| example_failure(&o.rule, f, &o.span)),
                );
            }
        }
    }
    diags.extend(ambiguous_pairs(&kb));
    for article in kb.articles.values() {
        if !pointed.contains(&article.id) && !article.tags.iter().any(|t| t == REFERENCE_TAG) {
            diags.push(unused_article(article));
        }
        diags.extend(unfilled_placeholders(article, &kb));
    }
    diags.extend(unfinished_text(&kb));
    CheckReport {
        diagnostics: diags,
        unreadable_root: loaded.unreadable_root,
        roots,
        articles,
        rules,
        examples,
        outcomes,
    }
}

fn no_prefilter(rule: &Rule) -> Option<Diagnostic> {
    rule.keywords.is_empty().then(|| {
        Diagnostic::warning(
            "no-prefilter",
            format!(
                "rule `{}` has no literal to prefilter on: its regexes run on every line of every log",
                rule.id
            ),
        )
        .at(rule.span.clone())
        .hint("add `keywords = [\"...\"]` with a word or code every matching line contains, or put a literal of 3 characters or more in each pattern")
    })
}

fn example_failure(rule: &RuleId, failure: &ExampleFailure, at: &SourceSpan) -> Diagnostic {
    let (code, hint) = match failure {
        ExampleFailure::DidNotFire => (
            "example-not-fired",
            format!("`arm-kb explain {rule} FILE` with this text in FILE shows why"),
        ),
        ExampleFailure::Fired => (
            "counterexample-fired",
            "tighten the pattern or add an `unless` regex that matches this text".to_owned(),
        ),
        ExampleFailure::WrongCapture { .. } => (
            "wrong-capture",
            "the capture comes from the first pattern that matches; check its named group"
                .to_owned(),
        ),
    };
    Diagnostic::error(code, format!("rule `{rule}`: {}", describe(failure)))
        .at(at.clone())
        .hint(hint)
}

/// Rules of different articles that fire on the same example and that ranking cannot
/// tell apart (same severity and priority). Overlaps between a generic rule and a more
/// specific one of another rank are intended: the ranking puts the specific one first.
fn ambiguous_pairs(kb: &KnowledgeBase) -> Vec<Diagnostic> {
    let engine = Engine::new(kb, false);
    let by_id = |id: &RuleId| kb.rules.iter().find(|r| &r.id == id);
    let mut reported: BTreeSet<(RuleId, RuleId)> = BTreeSet::new();
    let mut diags = Vec::new();
    for rule in &kb.rules {
        for example in &rule.examples {
            let Ok(result) = scan_text(&engine, &example.text) else {
                continue;
            };
            for other in result.fired.iter().filter_map(by_id) {
                let ambiguous = other.id != rule.id
                    && other.article != rule.article
                    && other.severity == rule.severity
                    && other.priority == rule.priority;
                let pair = if rule.id < other.id {
                    (rule.id.clone(), other.id.clone())
                } else {
                    (other.id.clone(), rule.id.clone())
                };
                if !ambiguous || !reported.insert(pair) {
                    continue;
                }
                diags.push(
                    Diagnostic::warning(
                        "ambiguous-rules",
                        format!(
                            "this example of `{}` also fires `{}` (article `{}`), with the same severity ({}) and priority ({}): which article comes first is left to chance",
                            rule.id,
                            other.id,
                            other.article,
                            rule.severity.as_str(),
                            rule.priority
                        ),
                    )
                    .at(example.span.clone())
                    .hint(format!(
                        "give the more specific rule a higher priority, or add an `unless` to `{}` (defined at {})",
                        other.id,
                        other.span.location()
                    )),
                );
            }
        }
    }
    diags
}

fn unused_article(article: &Article) -> Diagnostic {
    Diagnostic::warning(
        "unused-article",
        format!("no rule points to article `{}`", article.id),
    )
    .at(title_span(article))
    .hint(format!(
        "add a rule with `article = \"{}\"`, or add \"{REFERENCE_TAG}\" to `tags` if the article is background reading",
        article.id
    ))
}

/// The `title` line of the front matter (the whole file start when it cannot be found).
fn title_span(article: &Article) -> SourceSpan {
    let text = &article.source.text[..article.body_start];
    let start = text
        .match_indices("title")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n')
        .unwrap_or(0);
    SourceSpan::new(
        &article.source,
        start..start + "title".len().min(text.len()),
    )
}

/// `{name}` placeholders in the article body that no rule of the article captures.
fn unfilled_placeholders(article: &Article, kb: &KnowledgeBase) -> Vec<Diagnostic> {
    let captured: HashSet<String> = kb
        .rules_for(&article.id)
        .filter_map(|r| r.compiled().ok())
        .flat_map(|c| c.regexes.iter())
        .flat_map(|re| re.capture_names().map(str::to_owned))
        .collect();
    let body = article.body();
    let mut seen = HashSet::new();
    let mut diags = Vec::new();
    for (offset, name) in crate::placeholder::positions(body) {
        if captured.contains(name) || !seen.insert(name) {
            continue;
        }
        let start = article.body_start + offset;
        diags.push(
            Diagnostic::warning(
                "unfilled-placeholder",
                format!(
                    "placeholder `{{{name}}}` is not captured by any rule of article `{}`",
                    article.id
                ),
            )
            .at(SourceSpan::new(&article.source, start..start + name.len() + 2))
            .label("always shown as <".to_owned() + name + ">")
            .hint(format!(
                "capture it in a rule pattern with a named group `(?P<{name}>...)`, or write the text without braces"
            )),
        );
    }
    diags
}

/// Scaffolded text (`TODO:`) still in an article or rule file.
fn unfinished_text(kb: &KnowledgeBase) -> Vec<Diagnostic> {
    let mut sources: Vec<&crate::source::SharedSource> =
        kb.articles.values().map(|a| &a.source).collect();
    let mut names: HashSet<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    for rule in &kb.rules {
        if names.insert(rule.span.source.name.as_str()) {
            sources.push(&rule.span.source);
        }
    }
    let mut diags = Vec::new();
    for source in sources {
        if let Some(at) = source.text.find(UNFINISHED_MARKER) {
            let more = source.text.matches(UNFINISHED_MARKER).count() - 1;
            let mut d = Diagnostic::warning("unfinished", "scaffolded text left to fill in")
                .at(SourceSpan::new(source, at..at + UNFINISHED_MARKER.len()));
            if more > 0 {
                d = d.hint(format!(
                    "replace every `{UNFINISHED_MARKER}` line with real content ({more} more in this file)"
                ));
            } else {
                d = d.hint(format!(
                    "replace the `{UNFINISHED_MARKER}` text with real content"
                ));
            }
            diags.push(d);
        }
    }
    diags
}
