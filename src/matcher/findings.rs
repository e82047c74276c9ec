//! Grouping hits into findings (one per article), bounded; `crate::report` ranks them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use crate::ids::{ArticleId, RuleId};
use crate::rules::{Confidence, Rule, Severity};

/// Evidence lines kept per finding; the rest are counted.
pub const MAX_EVIDENCE_PER_FINDING: usize = 5;
/// Unexplained error lines kept per scan; the rest are counted.
pub const MAX_ERROR_LINES: usize = 20;

// The scanner's output, and the building blocks of `crate::report::Report`: these types
// are part of the JSON schema of `match`. Fields are in alphabetical order, which is the
// key order of the JSON.

/// One line that made a rule fire.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    pub captures: BTreeMap<String, String>,
    /// Lines after the evidence line, when context was asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_after: Vec<ContextLine>,
    /// Lines before the evidence line, when context was asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_before: Vec<ContextLine>,
    /// The input, when it is a file (`null` for standard input).
    pub file: Option<Arc<str>>,
    pub line: u64,
    pub rule: RuleId,
    pub text: String,
    /// What the rule's regex matched on the line (as read, before masking), for
    /// highlighting; empty when unknown.
    #[serde(skip)]
    pub matched: String,
}

/// A line around a piece of evidence (`-A`, `-B`, `-C`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContextLine {
    pub line: u64,
    pub text: String,
}

/// An error-looking line that no rule explained.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
    pub line: u64,
    pub text: String,
}

/// What was read.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Stats {
    pub bytes: u64,
    pub lines: u64,
}

/// What one scan (or several merged) found, before ranking.
#[derive(Debug, Default)]
pub struct FindingSet {
    pub file: Option<Arc<str>>,
    by_article: HashMap<ArticleId, Accumulator>,
    pub error_lines: Vec<ErrorLine>,
    pub error_lines_total: u64,
    /// When set, every unexplained error line is counted in a group instead of the first
    /// few being kept ([`FindingSet::grouping_error_lines`]).
    error_groups: Option<ErrorGroups>,
    /// Evidence lines per rule (a line firing several rules counts for each).
    rule_hits: HashMap<RuleId, u64>,
    pub stats: Stats,
}

/// The key an unexplained error line is grouped by (a template of the line).
pub type ErrorKey = fn(&str) -> String;

/// Distinct error-line groups kept per finding set; lines of further groups are counted
/// in [`ErrorGroups::dropped`].
pub const MAX_ERROR_GROUPS: usize = 2_000;

/// Unexplained error lines grouped by a key, each group with its count and first line:
/// what a corpus summary needs, in memory bounded by the number of groups.
#[derive(Debug)]
pub struct ErrorGroups {
    key: ErrorKey,
    pub groups: HashMap<String, ErrorGroup>,
    /// Lines whose group could not be added ([`MAX_ERROR_GROUPS`] reached).
    pub dropped: u64,
}

/// One group of unexplained error lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorGroup {
    pub count: u64,
    /// The first line of the group, and its text.
    pub line: u64,
    pub text: String,
}

/// One article's hits so far.
#[derive(Debug)]
pub(crate) struct Accumulator {
    pub severity: Severity,
    /// Definite when any rule that fired is.
    pub confidence: Confidence,
    pub priority: u8,
    pub rules: Vec<RuleId>,
    pub evidence: Vec<Evidence>,
    pub total: u64,
    /// Earliest evidence: (input order, line).
    pub first: (usize, u64),
    input_order: usize,
}

impl FindingSet {
    pub fn new(file: Option<Arc<str>>) -> FindingSet {
        FindingSet {
            file,
            ..FindingSet::default()
        }
    }

    /// A set that groups every unexplained error line by `key` (see [`ErrorGroups`])
    /// rather than keeping the first [`MAX_ERROR_LINES`].
    pub fn grouping_error_lines(file: Option<Arc<str>>, key: ErrorKey) -> FindingSet {
        FindingSet {
            file,
            error_groups: Some(ErrorGroups {
                key,
                groups: HashMap::new(),
                dropped: 0,
            }),
            ..FindingSet::default()
        }
    }

    /// Evidence lines per rule that fired.
    pub fn rule_hits(&self) -> &HashMap<RuleId, u64> {
        &self.rule_hits
    }

    /// The grouped error lines, when the set groups them; the set keeps counting none.
    pub fn take_error_groups(&mut self) -> Option<ErrorGroups> {
        self.error_groups.take()
    }

    /// Records that `rule` fired on a line.
    pub fn add(
        &mut self,
        rule: &Rule,
        line: u64,
        text: String,
        captures: BTreeMap<String, String>,
    ) {
        self.add_matched(rule, line, || (text, captures, String::new()));
    }

    /// Like [`FindingSet::add`], with the text the rule's regex matched (highlighted in
    /// the text output).
    ///
    /// `evidence` gives the line as shown, its captures and the matched text; it is called
    /// only when the line is kept or adds captures (a finding keeps the first few lines,
    /// and making a line safe to show costs more than matching it).
    pub fn add_matched(
        &mut self,
        rule: &Rule,
        line: u64,
        evidence: impl FnOnce() -> (String, BTreeMap<String, String>, String),
    ) {
        let (article, severity, priority) = (&rule.article, rule.severity, rule.priority);
        let confidence = rule.confidence();
        // What the catalog says (an Entra code's official description) outranks what a
        // hand-written pattern took from the same line.
        let authoritative = rule.extras.generated;
        let id = &rule.id;
        match self.rule_hits.get_mut(id) {
            Some(hits) => *hits += 1,
            None => {
                self.rule_hits.insert(id.clone(), 1);
            }
        }
        let acc = self
            .by_article
            .entry(article.clone())
            .or_insert_with(|| Accumulator {
                severity,
                confidence,
                priority,
                rules: Vec::new(),
                evidence: Vec::new(),
                total: 0,
                first: (0, line),
                input_order: 0,
            });
        acc.severity = acc.severity.max(severity);
        acc.confidence = acc.confidence.max(confidence);
        acc.priority = acc.priority.max(priority);
        if !acc.rules.contains(id) {
            acc.rules.push(id.clone());
        }
        acc.first.1 = acc.first.1.min(line);
        // A line firing several rules of one article is one piece of evidence.
        if let Some(e) = acc.evidence.iter_mut().find(|e| e.line == line) {
            let (_, mut captures, _) = evidence();
            rule.finish_captures(&mut captures);
            for (k, v) in captures {
                if authoritative {
                    e.captures.insert(k, v);
                } else {
                    e.captures.entry(k).or_insert(v);
                }
            }
            return;
        }
        acc.total += 1;
        let full = acc.evidence.len() >= MAX_EVIDENCE_PER_FINDING;
        if full && acc.evidence.last().is_some_and(|last| line >= last.line) {
            return;
        }
        let (text, mut captures, matched) = evidence();
        rule.finish_captures(&mut captures);
        let evidence = Evidence {
            file: self.file.clone(),
            line,
            text,
            rule: id.clone(),
            captures,
            context_before: Vec::new(),
            context_after: Vec::new(),
            matched,
        };
        // Keep the earliest lines: a window signature may report lines out of order.
        if full {
            acc.evidence.pop();
        }
        acc.evidence.push(evidence);
        acc.evidence.sort_by_key(|e| e.line);
    }

    pub fn add_error_line(&mut self, line: u64, text: String) {
        self.error_lines_total += 1;
        if let Some(groups) = &mut self.error_groups {
            let key = (groups.key)(&text);
            let room = groups.groups.len() < MAX_ERROR_GROUPS;
            match groups.groups.get_mut(&key) {
                Some(group) => group.count += 1,
                None if room => {
                    groups.groups.insert(
                        key,
                        ErrorGroup {
                            count: 1,
                            line,
                            text,
                        },
                    );
                }
                None => groups.dropped += 1,
            }
            return;
        }
        if self.error_lines.len() < MAX_ERROR_LINES {
            self.error_lines.push(ErrorLine {
                file: self.file.clone(),
                line,
                text,
            });
        }
    }

    /// Every kept piece of evidence, for the scanner to fill in context lines.
    pub(crate) fn evidence_mut(&mut self) -> impl Iterator<Item = &mut Evidence> {
        self.by_article
            .values_mut()
            .flat_map(|acc| acc.evidence.iter_mut())
    }

    pub fn is_empty(&self) -> bool {
        self.by_article.is_empty()
    }

    /// Merges the scan of a later input into this one (grouped error lines are not
    /// merged: a corpus summary aggregates them per input).
    pub fn merge(&mut self, other: FindingSet, other_order: usize) {
        for (article, mut acc) in other.by_article {
            acc.first.0 = other_order;
            acc.input_order = other_order;
            match self.by_article.get_mut(&article) {
                None => {
                    self.by_article.insert(article, acc);
                }
                Some(mine) => {
                    mine.severity = mine.severity.max(acc.severity);
                    mine.confidence = mine.confidence.max(acc.confidence);
                    mine.priority = mine.priority.max(acc.priority);
                    for r in acc.rules {
                        if !mine.rules.contains(&r) {
                            mine.rules.push(r);
                        }
                    }
                    mine.total += acc.total;
                    let room = MAX_EVIDENCE_PER_FINDING.saturating_sub(mine.evidence.len());
                    mine.evidence.extend(acc.evidence.into_iter().take(room));
                    mine.first = mine.first.min(acc.first);
                }
            }
        }
        for (rule, hits) in other.rule_hits {
            *self.rule_hits.entry(rule).or_default() += hits;
        }
        self.error_lines_total += other.error_lines_total;
        let room = MAX_ERROR_LINES.saturating_sub(self.error_lines.len());
        self.error_lines
            .extend(other.error_lines.into_iter().take(room));
        self.stats.bytes += other.stats.bytes;
        self.stats.lines += other.stats.lines;
    }

    /// The findings by article, for ranking (`crate::report`).
    pub(crate) fn into_parts(self) -> FindingParts {
        FindingParts {
            by_article: self.by_article,
            error_lines: self.error_lines,
            error_lines_total: self.error_lines_total,
            stats: self.stats,
        }
    }
}

/// What a finding set holds, taken apart for ranking.
pub(crate) struct FindingParts {
    pub by_article: HashMap<ArticleId, Accumulator>,
    pub error_lines: Vec<ErrorLine>,
    pub error_lines_total: u64,
    pub stats: Stats,
}
