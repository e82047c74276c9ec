//! The matcher: every rule compiled into one engine.
//!
//! One aho-corasick automaton holds every rule's keywords (ASCII case-insensitive); it is
//! the only structure built eagerly. A line becomes a *candidate* when a keyword hits it
//! (or when it holds an ANSI escape, which could split a keyword); only the rules whose
//! keywords hit a candidate line run their regexes, compiled on first use.

mod findings;
mod scan;

use std::collections::BTreeMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

pub use findings::{ErrorLine, Evidence, Finding, FindingSet, Report, Stats};
pub use scan::{MAX_LINE_BYTES, ScanError, ScanOptions, Scanner};

use crate::diagnostics::Diagnostic;
use crate::kb::KnowledgeBase;
use crate::rules::Rule;

/// Literals that mark a line as an error line, for `--unexplained` and suggestions.
pub const ERROR_MARKERS: [&str; 4] = ["##[error]", "error:", "fatal:", "exception:"];

/// Evidence text longer than this is cut for display (matching sees the whole line).
pub const MAX_EVIDENCE_CHARS: usize = 400;
/// Capture values longer than this are cut.
pub const MAX_CAPTURE_CHARS: usize = 200;

/// What a keyword of the automaton stands for.
#[derive(Clone, Debug, Default)]
struct KeywordTargets {
    rules: Vec<u32>,
    error_marker: bool,
}

/// The compiled rule set.
pub struct Engine<'kb> {
    pub kb: &'kb KnowledgeBase,
    automaton: AhoCorasick,
    targets: Vec<KeywordTargets>,
    /// Rules without a usable keyword: they run on every line.
    unfiltered: Vec<u32>,
    track_error_lines: bool,
}

impl<'kb> Engine<'kb> {
    /// Builds the prefilter over every rule of `kb`. With `track_error_lines`, lines that
    /// look like errors are also candidates, so unexplained ones can be reported.
    pub fn new(kb: &'kb KnowledgeBase, track_error_lines: bool) -> Engine<'kb> {
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut keywords: Vec<String> = Vec::new();
        let mut targets: Vec<KeywordTargets> = Vec::new();
        let mut slot = |kw: &str, keywords: &mut Vec<String>, targets: &mut Vec<KeywordTargets>| {
            let kw = kw.to_ascii_lowercase();
            *index.entry(kw.clone()).or_insert_with(|| {
                keywords.push(kw);
                targets.push(KeywordTargets::default());
                targets.len() - 1
            })
        };
        let mut unfiltered = Vec::new();
        for (i, rule) in kb.rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                unfiltered.push(i as u32);
            }
            for kw in &rule.keywords {
                let s = slot(kw, &mut keywords, &mut targets);
                targets[s].rules.push(i as u32);
            }
        }
        if track_error_lines {
            for marker in ERROR_MARKERS {
                let s = slot(marker, &mut keywords, &mut targets);
                targets[s].error_marker = true;
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&keywords)
            .expect("keywords are plain literals");
        Engine {
            kb,
            automaton,
            targets,
            unfiltered,
            track_error_lines,
        }
    }

    pub fn rule(&self, index: u32) -> &'kb Rule {
        &self.kb.rules[index as usize]
    }

    /// Compiles every rule now (for `check`), returning the failures.
    pub fn compile_all(&self) -> Vec<Diagnostic> {
        self.kb
            .rules
            .iter()
            .filter_map(|r| r.compiled().err().cloned())
            .collect()
    }

    /// Scans one input into a finding set.
    pub fn scanner(&self, options: ScanOptions) -> Scanner<'_, 'kb> {
        Scanner::new(self, options)
    }

    pub fn scan_bytes(
        &self,
        file: Option<Arc<str>>,
        bytes: &[u8],
    ) -> Result<FindingSet, ScanError> {
        let mut set = FindingSet::new(file);
        self.scanner(ScanOptions::default()).scan(bytes, &mut set)?;
        Ok(set)
    }
}
