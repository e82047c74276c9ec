//! The report of `match`: what a scan found, joined with the articles and ranked
//! ([`Report::build`]), masked once ([`redact::report`]) before any output format sees it.
//! These types are the JSON schema of `match --format json` (and, finding by finding, of
//! `jsonl`): serde writes them, nothing builds JSON by hand. Struct fields are in
//! alphabetical order, which is the key order of the JSON.
//!
//! Room is left for what other work adds: a finding's `source` (which intake it came
//! from) and a top-level `sources` list go beside the fields below.

mod rank;
pub mod redact;

use std::io::{self, Write};
use std::sync::Arc;

use serde::Serialize;

use crate::ids::{ArticleId, RuleId};
pub use crate::matcher::{ContextLine, ErrorLine, Evidence, Stats};
use crate::rules::{Confidence, Severity};

pub use rank::CONDITIONAL_STEP;

/// Everything `match` reports.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// What was scanned, in input order: one entry per source, read or not.
    pub sources: Vec<SourceSummary>,
    pub stats: Stats,
    /// Articles related to the unexplained error lines ("possibly related"), when
    /// suggestions were asked for; never findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<Vec<RelatedArticle>>,
    /// The error lines no rule explained, when asked for (`--unexplained`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unexplained: Option<Unexplained>,
}

/// A ranked finding: one article, with its evidence and its fix.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub article: ArticleId,
    /// `definite` (an error code, a catalog message, a specific rule) or `likely` (a
    /// generic phrase).
    pub confidence: Confidence,
    pub evidence: Vec<Evidence>,
    pub evidence_total: u64,
    /// Fix steps, with placeholders filled from the captures where possible; a step with
    /// a placeholder the log did not fill starts with [`CONDITIONAL_STEP`].
    pub fix: Vec<String>,
    /// The prose of the fix before its steps (filled the same way).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_before: Option<String>,
    /// The prose of the fix after its steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_after: Option<String>,
    pub rules: Vec<RuleId>,
    /// The highest priority among the rules that fired (0–100); `score` in the JSON.
    #[serde(rename = "score")]
    pub priority: u8,
    pub severity: Severity,
    /// The source the evidence comes from: a file as named, `<zip>!<member>`, `-` for
    /// standard input, `Job / Task` for a fetched task log. A finding never spans two.
    pub source: Arc<str>,
    pub title: String,
    /// Earliest evidence, (input order, line): the last ranking key.
    #[serde(skip)]
    pub first: (usize, u64),
}

/// One source of the run: its name, what was read, how many findings it gave, and why
/// it could not be read (or read to its end), if so.
#[derive(Clone, Debug, Serialize)]
pub struct SourceSummary {
    pub bytes: u64,
    pub error: Option<String>,
    pub findings: usize,
    pub lines: u64,
    pub name: Arc<str>,
}

/// An article the search finds for the unexplained error lines.
#[derive(Clone, Debug, Serialize)]
pub struct RelatedArticle {
    pub article: String,
    /// The search relevance (not a priority).
    pub score: f64,
    pub title: String,
}

/// Error-looking lines that no rule explained: the first few, and how many in all.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Unexplained {
    pub lines: Vec<ErrorLine>,
    pub total: u64,
}

impl Report {
    /// The error lines the scan kept (whether or not the output shows them).
    pub fn error_lines(&self) -> &[ErrorLine] {
        self.unexplained.as_ref().map_or(&[], |u| &u.lines)
    }

    /// The report as pretty JSON, ending with a newline (`--format json`).
    pub fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        writeln!(w)
    }

    /// One finding per line, nothing else (`--format jsonl`).
    pub fn write_jsonl(&self, w: &mut dyn Write) -> io::Result<()> {
        for f in &self.findings {
            serde_json::to_writer(&mut *w, f)?;
            writeln!(w)?;
        }
        Ok(())
    }
}
