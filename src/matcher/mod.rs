//! The matcher: every rule compiled into one engine.
//!
//! One aho-corasick automaton holds every rule's keywords (ASCII case-insensitive); it is
//! the only structure built eagerly. A line becomes a *candidate* when a keyword hits it
//! (the scanner removes ANSI escapes before searching, so a colour code cannot split a
//! keyword); only the rules whose keywords hit a candidate line run their regexes,
//! compiled on first use. Rules without keywords share one `RegexSet`, run only on lines
//! that no keyword rule explained.

mod findings;
mod scan;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::{RegexSet, RegexSetBuilder};

pub use findings::{
    ErrorLine, Evidence, Finding, FindingSet, MAX_EVIDENCE_PER_FINDING, Report, Stats,
};
pub(crate) use scan::printable;
pub use scan::{MAX_LINE_BYTES, ScanError, ScanOptions, Scanner};

use crate::diagnostics::Diagnostic;
use crate::kb::KnowledgeBase;
use crate::rules::{REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT, Rule, RuleKind};

/// Up to this many keyword bytes the automaton is a DFA, about twice as fast to search as
/// the contiguous NFA used above it. The DFA takes about 250 bytes per keyword byte
/// (measured: 16 MiB for 66 KB of keywords, built in 24 ms), so this bound keeps it under
/// 18 MiB and the whole process under 32 MiB.
const DFA_MAX_KEYWORD_BYTES: usize = 72 << 10;
/// Up to this many keywords the scanner searches a lower-cased copy of each buffer with
/// one case-sensitive regex, whose literal prefilter is SIMD (Teddy) for small sets.
const SMALL_SET_MAX_KEYWORDS: usize = 48;

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
    /// For small keyword sets: the lower-cased keywords as one alternation, searched
    /// over lower-cased text (finds the same positions as `automaton`, faster).
    small_set: Option<regex::bytes::Regex>,
    targets: Vec<KeywordTargets>,
    /// Rules without a usable keyword: tried on every line no keyword rule explained.
    unfiltered: Vec<u32>,
    /// One set over the regexes of `unfiltered`, built on first use.
    unfiltered_set: OnceLock<Result<Option<UnfilteredSet>, Box<Diagnostic>>>,
    track_error_lines: bool,
}

/// The regexes of the keyword-less rules in one `RegexSet`.
struct UnfilteredSet {
    set: RegexSet,
    /// The rule of each regex of the set.
    owner: Vec<u32>,
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
        let keyword_bytes: usize = keywords.iter().map(String::len).sum();
        let kind = if keyword_bytes <= DFA_MAX_KEYWORD_BYTES {
            AhoCorasickKind::DFA
        } else {
            AhoCorasickKind::ContiguousNFA
        };
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(&keywords)
            .expect("keywords are plain literals");
        let small_set = (keywords.len() <= SMALL_SET_MAX_KEYWORDS && !keywords.is_empty())
            .then(|| {
                let alternation: Vec<String> = keywords.iter().map(|k| regex::escape(k)).collect();
                regex::bytes::RegexBuilder::new(&format!("(?-u:{})", alternation.join("|")))
                    .unicode(false)
                    .build()
                    .ok()
            })
            .flatten();
        Engine {
            kb,
            automaton,
            small_set,
            targets,
            unfiltered,
            unfiltered_set: OnceLock::new(),
            track_error_lines,
        }
    }

    /// Whether some rule has no keyword (so every line must be looked at).
    pub(crate) fn has_unfiltered(&self) -> bool {
        !self.unfiltered.is_empty()
    }

    /// Puts into `out` the keyword-less rules that may fire on `text`, in rule order.
    pub(crate) fn unfiltered_candidates(
        &self,
        text: &[u8],
        out: &mut Vec<u32>,
    ) -> Result<(), ScanError> {
        let set = self
            .unfiltered_set
            .get_or_init(|| self.build_unfiltered_set())
            .as_ref()
            .map_err(|d| ScanError::Rule(d.clone()))?;
        match set {
            Some(set) => {
                out.extend(set.set.matches(text).iter().map(|i| set.owner[i]));
                out.dedup();
            }
            // The set would be too big: every keyword-less rule runs on its own.
            None => out.extend_from_slice(&self.unfiltered),
        }
        Ok(())
    }

    /// Compiles each keyword-less rule (so a bad regex is reported against its rule), then
    /// their regexes (and the vetoes of windowed ones, which must see every line) as one set.
    fn build_unfiltered_set(&self) -> Result<Option<UnfilteredSet>, Box<Diagnostic>> {
        let mut patterns = Vec::new();
        let mut owner = Vec::new();
        for &index in &self.unfiltered {
            let rule = self.rule(index);
            rule.compiled().map_err(|d| Box::new(d.clone()))?;
            let vetoes = match rule.kind {
                RuleKind::Patterns(_) => &[][..],
                RuleKind::All { .. } => &rule.unless[..],
            };
            for p in rule.patterns().iter().chain(vetoes) {
                patterns.push(p.regex.as_str());
                owner.push(index);
            }
        }
        Ok(RegexSetBuilder::new(&patterns)
            .size_limit(REGEX_SIZE_LIMIT.saturating_mul(patterns.len().max(1)))
            .nest_limit(REGEX_NEST_LIMIT)
            .build()
            .ok()
            .map(|set| UnfilteredSet { set, owner }))
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
