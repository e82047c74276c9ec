//! The matcher: every rule compiled into one engine.
//!
//! One aho-corasick automaton holds every rule's keywords, lower-cased; it is the only
//! structure built eagerly. The scanner searches a lower-cased copy of the text, which
//! makes keywords ASCII case-insensitive while the automaton stays case-sensitive (four
//! times faster to build, smaller, and searchable with SIMD for small sets). A line becomes
//! a *candidate* when a keyword hits it (the scanner removes ANSI escapes before
//! searching, so a colour code cannot split a keyword); only the rules whose keywords hit
//! a candidate line run their regexes,
//! compiled on first use. Rules without keywords share one `RegexSet`, run only on lines
//! that no keyword rule explained.

mod findings;
mod scan;

use std::collections::HashMap;
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
/// Up to this many keywords the buffers are searched with SIMD (Teddy) rather than the
/// automaton; the packed searcher takes fewer than 128.
const SMALL_SET_MAX_KEYWORDS: usize = 100;

/// Literals that mark a line as an error line, for `--unexplained` and suggestions.
pub const ERROR_MARKERS: [&str; 4] = ["##[error]", "error:", "fatal:", "exception:"];

/// Evidence text longer than this is cut for display (matching sees the whole line).
pub const MAX_EVIDENCE_CHARS: usize = 400;
/// Capture values longer than this are cut.
pub const MAX_CAPTURE_CHARS: usize = 200;

/// The automaton holds keywords cut to this many bytes; a hit is confirmed against the
/// whole keyword. Long keywords share prefixes, so the automaton shrinks several times
/// (10,000 generated rules: 605 KB of keywords, 91 KB of prefixes), which makes it
/// faster to build, smaller, and a DFA for larger rule sets.
const KEYWORD_PREFIX_BYTES: usize = 16;

/// Keywords and their automaton prefixes, while the engine is built. Keywords are
/// borrowed from the rules, which the loader has lower-cased.
#[derive(Default)]
struct KeywordTable<'kb> {
    index: HashMap<&'kb [u8], usize>,
    keywords: Vec<&'kb [u8]>,
    targets: Vec<KeywordTargets>,
    prefix_index: HashMap<&'kb [u8], usize>,
    prefixes: Vec<&'kb [u8]>,
    prefix_keywords: Vec<Vec<u32>>,
}

impl<'kb> KeywordTable<'kb> {
    /// The slot of keyword `kw`, added on first sight.
    fn slot(&mut self, kw: &'kb str) -> usize {
        debug_assert!(!kw.bytes().any(|b| b.is_ascii_uppercase()), "{kw}");
        let kw = kw.as_bytes();
        if let Some(&slot) = self.index.get(kw) {
            return slot;
        }
        let slot = self.keywords.len();
        let prefix = &kw[..kw.len().min(KEYWORD_PREFIX_BYTES)];
        let prefix_slot = *self.prefix_index.entry(prefix).or_insert_with(|| {
            self.prefixes.push(prefix);
            self.prefix_keywords.push(Vec::new());
            self.prefixes.len() - 1
        });
        self.prefix_keywords[prefix_slot].push(slot as u32);
        self.index.insert(kw, slot);
        self.keywords.push(kw);
        self.targets.push(KeywordTargets::default());
        slot
    }
}

/// What a keyword stands for.
#[derive(Clone, Debug, Default)]
struct KeywordTargets {
    rules: Vec<u32>,
    error_marker: bool,
}

/// The compiled rule set.
pub struct Engine<'kb> {
    pub kb: &'kb KnowledgeBase,
    /// The prefix of every keyword, searched over lower-cased text.
    automaton: AhoCorasick,
    /// For small keyword sets: the same prefixes in a SIMD searcher (finds the leftmost
    /// hit like `automaton`, faster). None when the CPU has no SIMD for it.
    small_set: Option<aho_corasick::packed::Searcher>,
    /// Every keyword, lower-cased.
    keywords: Vec<&'kb [u8]>,
    /// For each prefix of the automaton, the keywords that start with it.
    prefix_keywords: Vec<Vec<u32>>,
    /// For each keyword, what it stands for.
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
        let mut keywords = KeywordTable::default();
        let mut unfiltered = Vec::new();
        for (i, rule) in kb.rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                unfiltered.push(i as u32);
            }
            for kw in &rule.keywords {
                let slot = keywords.slot(kw);
                keywords.targets[slot].rules.push(i as u32);
            }
        }
        if track_error_lines {
            for marker in ERROR_MARKERS {
                let slot = keywords.slot(marker);
                keywords.targets[slot].error_marker = true;
            }
        }
        let KeywordTable {
            keywords,
            targets,
            prefixes,
            prefix_keywords,
            ..
        } = keywords;
        let prefix_bytes: usize = prefixes.iter().map(|p| p.len()).sum();
        let kind = if prefix_bytes <= DFA_MAX_KEYWORD_BYTES {
            AhoCorasickKind::DFA
        } else {
            AhoCorasickKind::ContiguousNFA
        };
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(&prefixes)
            .expect("keywords are plain literals");
        let small_set = (prefixes.len() <= SMALL_SET_MAX_KEYWORDS && !prefixes.is_empty())
            .then(|| {
                aho_corasick::packed::Config::new()
                    .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
                    .builder()
                    .extend(&prefixes)
                    .build()
            })
            .flatten();
        Engine {
            kb,
            automaton,
            small_set,
            keywords,
            prefix_keywords,
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

    /// Calls `found` with what each keyword of `lowered` (a lower-cased line) stands for.
    fn keyword_hits(&self, lowered: &[u8], mut found: impl FnMut(&KeywordTargets)) {
        for m in self.automaton.find_overlapping_iter(lowered) {
            let rest = &lowered[m.start()..];
            for &kw in &self.prefix_keywords[m.pattern().as_usize()] {
                if rest.starts_with(self.keywords[kw as usize]) {
                    found(&self.targets[kw as usize]);
                }
            }
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
