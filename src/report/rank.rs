//! From a scan's finding set to the ranked report: the article join (title, fix steps
//! with the captures filled in) and the order of the findings.

use std::collections::BTreeMap;

use super::redact::MASK;
use super::{Finding, Report, Unexplained};
use crate::kb::KnowledgeBase;
use crate::matcher::{Evidence, FindingSet};
use crate::placeholder;

impl Report {
    /// Ranks the findings of `set`: severity, then priority, then evidence count, then
    /// earliest line. The error lines are kept as `unexplained`; the command drops them
    /// when they were not asked for.
    pub fn build(set: FindingSet, kb: &KnowledgeBase) -> Report {
        let parts = set.into_parts();
        let mut findings: Vec<Finding> = parts
            .by_article
            .into_iter()
            .map(|(article, acc)| {
                let captures = merged_captures(&acc.evidence);
                let fill = |s: &String| placeholder::fill(s, Some(&captures));
                let (title, fix, fix_before, fix_after) = match kb.articles.get(&article) {
                    Some(a) => (
                        a.title.clone(),
                        a.fix.iter().map(fill).collect(),
                        a.fix_before.as_ref().map(fill),
                        a.fix_after.as_ref().map(fill),
                    ),
                    None => (article.to_string(), Vec::new(), None, None),
                };
                Finding {
                    article,
                    title,
                    severity: acc.severity,
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
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
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

/// The first value seen for each capture name across the evidence; empty and masked
/// values are no value.
fn merged_captures(evidence: &[Evidence]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in evidence {
        for (k, v) in &e.captures {
            if !v.is_empty() && v != MASK {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    out
}
