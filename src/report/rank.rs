//! From a scan's finding set to the ranked report: the article join (title, fix steps
//! with the captures filled in) and the order of the findings.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::redact::MASK;
use super::{Finding, Report, SourceSummary, Unexplained};
use crate::input::STDIN_NAME;
use crate::kb::KnowledgeBase;
use crate::matcher::MAX_ERROR_LINES;
use crate::matcher::{Evidence, FindingSet};
use crate::{placeholder, text};

/// How a fix step starts when the log did not fill one of its placeholders: it may
/// apply, but the log does not show that it does.
pub const CONDITIONAL_STEP: &str = "If it applies (not in this log: ";

/// A fix step with its placeholders filled; marked conditional when some are not.
fn fix_step(step: &str, captures: &BTreeMap<String, String>) -> String {
    let mut missing: Vec<&str> = placeholder::names(step)
        .filter(|n| !captures.contains_key(*n))
        .collect();
    missing.dedup();
    let filled = placeholder::fill(step, Some(captures));
    if missing.is_empty() {
        filled
    } else {
        format!("{CONDITIONAL_STEP}{}): {filled}", missing.join(", "))
    }
}

impl Report {
    /// Ranks the findings of `set`: severity, then confidence (definite first), then
    /// priority, then evidence count, then earliest line. The error lines are kept as `unexplained`; the command drops them
    /// when they were not asked for.
    pub fn build(set: FindingSet, kb: &KnowledgeBase) -> Report {
        let source: Arc<str> = set.file.clone().unwrap_or_else(|| Arc::from(STDIN_NAME));
        let parts = set.into_parts();
        let mut findings: Vec<Finding> = parts
            .by_article
            .into_iter()
            .map(|(article, acc)| {
                let captures = merged_captures(&acc.evidence);
                // Captures are clean already; the article's own text is checked at load,
                // and cleaned again here whatever root it came from.
                let prose = |s: &String| {
                    text::clean_lines(&placeholder::fill(s, Some(&captures))).into_owned()
                };
                let (title, fix, fix_before, fix_after) = match kb.articles.get(&article) {
                    Some(a) => (
                        text::clean(&a.title).into_owned(),
                        a.fix
                            .iter()
                            .map(|s| text::clean_lines(&fix_step(s, &captures)).into_owned())
                            .collect(),
                        a.fix_before.as_ref().map(prose),
                        a.fix_after.as_ref().map(prose),
                    ),
                    None => (article.to_string(), Vec::new(), None, None),
                };
                Finding {
                    article,
                    confidence: acc.confidence,
                    title,
                    severity: acc.severity,
                    source: Arc::clone(&source),
                    priority: acc.priority,
                    rules: acc.rules,
                    evidence: acc.evidence,
                    evidence_total: acc.total,
                    fix,
                    fix_before,
                    fix_after,
                    first: acc.first,
                }
            })
            .collect();
        findings.sort_by(rank);
        let sources = vec![SourceSummary {
            bytes: parts.stats.bytes,
            error: None,
            findings: findings.len(),
            lines: parts.stats.lines,
            name: source,
        }];
        Report {
            findings,
            sources,
            stats: parts.stats,
            suggestions: None,
            unexplained: Some(Unexplained {
                lines: parts.error_lines,
                total: parts.error_lines_total,
            }),
        }
    }
}

impl Report {
    /// One report for a run of several sources, from each source's own report (built
    /// with [`Report::build`]) and its error, in input order. Findings stay per source
    /// (the same article in two sources is two findings, each with its own captures) and
    /// are ranked together; earlier sources first among equals.
    pub fn combine(parts: Vec<(Report, Option<String>)>) -> Report {
        let mut out = Report {
            unexplained: Some(Unexplained::default()),
            ..Report::default()
        };
        for (order, (report, error)) in parts.into_iter().enumerate() {
            out.stats.bytes += report.stats.bytes;
            out.stats.lines += report.stats.lines;
            out.sources
                .extend(report.sources.into_iter().map(|s| SourceSummary {
                    error: error.clone().or(s.error),
                    ..s
                }));
            if let (Some(all), Some(mine)) = (out.unexplained.as_mut(), report.unexplained) {
                all.total += mine.total;
                let room = MAX_ERROR_LINES.saturating_sub(all.lines.len());
                all.lines.extend(mine.lines.into_iter().take(room));
            }
            out.findings
                .extend(report.findings.into_iter().map(|f| Finding {
                    first: (order, f.first.1),
                    ..f
                }));
        }
        out.findings.sort_by(rank);
        out
    }

    /// Keeps the best `max` findings (`--max-findings`); the sources' counts follow.
    pub fn truncate(&mut self, max: usize) {
        self.findings.truncate(max);
        for source in &mut self.sources {
            source.findings = self
                .findings
                .iter()
                .filter(|f| f.source == source.name)
                .count();
        }
    }

    /// The findings of one source, best first.
    pub fn findings_of<'a>(&'a self, source: &'a str) -> impl Iterator<Item = &'a Finding> {
        self.findings.iter().filter(move |f| &*f.source == source)
    }
}

/// Best first: severity, then priority, then evidence count, then earliest line (input
/// order first), then article id.
fn rank(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    b.severity
        .cmp(&a.severity)
        .then(b.confidence.cmp(&a.confidence))
        .then(b.priority.cmp(&a.priority))
        .then(b.evidence_total.cmp(&a.evidence_total))
        .then(a.first.cmp(&b.first))
        .then(a.article.cmp(&b.article))
}

impl Finding {
    /// Every captured value, first occurrence per name.
    pub fn captures(&self) -> BTreeMap<String, String> {
        merged_captures(&self.evidence)
    }
}

/// The first value seen for each capture name across the evidence; empty values are no
/// value, and a masked one counts only when no other is seen.
fn merged_captures(evidence: &[Evidence]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in evidence {
        for (k, v) in &e.captures {
            if !v.is_empty() && v != MASK {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    // A value seen only masked fills its placeholder masked.
    for e in evidence {
        for (k, v) in &e.captures {
            if v == MASK {
                out.entry(k.clone()).or_insert_with(|| MASK.to_owned());
            }
        }
    }
    out
}
