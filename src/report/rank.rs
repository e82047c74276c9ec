//! From a scan's finding set to the ranked report: the article join (title, fix steps
//! with the captures filled in) and the order of the findings.

use std::collections::BTreeMap;

use super::redact::MASK;
use super::{Finding, Report, Unexplained};
use crate::kb::KnowledgeBase;
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
        let parts = set.into_parts();
        let mut findings: Vec<Finding> = parts
            .by_article
            .into_iter()
            .map(|(article, acc)| {
                let captures = merged_captures(&acc.evidence);
                let (title, fix) = match kb.articles.get(&article) {
                    // Captures are clean already; the article's own text is checked at
                    // load, and cleaned again here whatever root it came from.
                    Some(a) => (
                        text::clean(&a.title).into_owned(),
                        a.fix
                            .iter()
                            .map(|s| text::clean_lines(&fix_step(s, &captures)).into_owned())
                            .collect(),
                    ),
                    None => (article.to_string(), Vec::new()),
                };
                Finding {
                    article,
                    confidence: acc.confidence,
                    title,
                    severity: acc.severity,
                    priority: acc.priority,
                    rules: acc.rules,
                    evidence: acc.evidence,
                    evidence_total: acc.total,
                    fix,
                    first: acc.first,
                }
            })
            .collect();
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.confidence.cmp(&a.confidence))
                .then(b.priority.cmp(&a.priority))
                .then(b.evidence_total.cmp(&a.evidence_total))
                .then(a.first.cmp(&b.first))
                .then(a.article.cmp(&b.article))
        });
        Report {
            findings,
            stats: parts.stats,
            suggestions: None,
            unexplained: Some(Unexplained {
                lines: parts.error_lines,
                total: parts.error_lines_total,
            }),
        }
    }
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
