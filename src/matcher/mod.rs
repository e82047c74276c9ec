//! The matcher: every rule compiled into one engine.
//!
//! Keywords are searched in a lower-cased copy of the text, which makes them ASCII
//! case-insensitive while every searcher stays case-sensitive (faster to build, smaller,
//! and SIMD-capable). One aho-corasick automaton holds the first 16 bytes of every keyword;
//! it lists the keywords of a candidate line, where each hit is confirmed against the whole
//! keyword. The buffer scan that finds candidate lines uses whichever is fastest for the
//! set (see `BufferSearch`): up to four Teddy (SIMD) searchers over groups of the
//! prefixes, the automaton itself, or a small DFA over shorter prefixes for very large
//! sets. These are the only structures built eagerly. The scanner removes ANSI escapes
//! before searching, so a colour code cannot split a keyword; only the rules whose keywords
//! are on a candidate line run their regexes, compiled on first use. Rules without keywords
//! share one `RegexSet`, run only on lines that no keyword rule explained.

mod findings;
pub mod line;
mod scan;
mod trace;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};
use regex::bytes::{RegexSet, RegexSetBuilder};

pub use findings::{ContextLine, ErrorLine, Evidence, FindingSet, MAX_EVIDENCE_PER_FINDING, Stats};
pub use line::normalize_line;
pub use scan::{MAX_LINE_BYTES, ScanError, ScanOptions, Scanner};
pub use trace::{NoTrace, Outcome, Trace};

use crate::diagnostics::Diagnostic;
use crate::kb::KnowledgeBase;
use crate::rules::{REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT, Rule, RuleKind};

/// Up to this many bytes of keyword prefixes the automaton is a DFA, about twice as fast to
/// search as the contiguous NFA used above it. The DFA takes about 80 bytes per prefix byte
/// (1,000 generated rules: 11 KB of prefixes, 1.2 MiB; 10,000: 91 KB, 7 MiB), so this bound
/// keeps it under 6 MiB.
const DFA_MAX_KEYWORD_BYTES: usize = 72 << 10;
/// Bytes of distinct prefixes for the buffer-scan DFA of a large keyword set (about
/// 100 bytes of DFA per byte, so it stays in the CPU cache).
const SCAN_DFA_MAX_BYTES: usize = 8 << 10;
/// Shorter scan prefixes would make too many lines candidates.
const SCAN_PREFIX_MIN: usize = 6;
/// Teddy (aho-corasick's SIMD searcher) takes at most this many patterns.
const TEDDY_GROUP_MAX: usize = 64;
/// Up to this many groups of prefixes the buffers are searched with one Teddy searcher per
/// group rather than with the automaton. Measured on 100 MB of pipeline log with the
/// built-in rules' 203 prefixes: the DFA 143 ms, four Teddy groups of sorted prefixes
/// 73 ms in all (one group of 16: 6 ms; of 64: 21 ms).
const TEDDY_GROUPS_MAX: usize = 4;

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

/// How buffers are searched for keyword prefixes.
enum BufferSearch {
    /// The engine's automaton.
    Automaton,
    /// SIMD searchers over groups of the sorted prefixes (similar prefixes share a group,
    /// which keeps Teddy's buckets selective).
    Teddy(Vec<aho_corasick::packed::Searcher>),
    /// A small DFA over shorter prefixes, for large keyword sets whose full automaton is a
    /// slow NFA or a DFA too big for the cache: more lines are candidates, but each is then
    /// checked with the engine's automaton, and the buffer scan runs at DFA speed.
    ShortPrefixes(AhoCorasick),
}

impl BufferSearch {
    /// Teddy searchers for `prefixes`, if there are few enough and the CPU has the SIMD.
    fn teddy(prefixes: &[&[u8]]) -> Option<BufferSearch> {
        let groups = prefixes.len().div_ceil(TEDDY_GROUP_MAX);
        if prefixes.is_empty() || groups > TEDDY_GROUPS_MAX {
            return None;
        }
        let mut sorted = prefixes.to_vec();
        sorted.sort_unstable();
        sorted
            .chunks(prefixes.len().div_ceil(groups))
            .map(|group| {
                aho_corasick::packed::Config::new()
                    .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
                    .builder()
                    .extend(group)
                    .build()
            })
            .collect::<Option<Vec<_>>>()
            .map(BufferSearch::Teddy)
    }

    /// A DFA over the keywords cut to the longest length (at least `SCAN_PREFIX_MIN`) whose
    /// distinct prefixes fit in `SCAN_DFA_MAX_BYTES`; None when the engine's automaton
    /// (over `prefix_bytes` of prefixes) is a DFA itself, which then scans faster (1,000
    /// generated rules: 1.84 s per GiB, against 1.97 s with short prefixes).
    fn short_prefixes(keywords: &[&[u8]], prefix_bytes: usize) -> Option<BufferSearch> {
        if prefix_bytes <= DFA_MAX_KEYWORD_BYTES {
            return None;
        }
        let mut sorted = keywords.to_vec();
        sorted.sort_unstable();
        // Sorted, equal prefixes are neighbours: a keyword adds a prefix of length `cap`
        // unless its neighbour shares that prefix.
        let shared: Vec<usize> = std::iter::once(0)
            .chain(
                sorted
                    .windows(2)
                    .map(|w| w[0].iter().zip(w[1]).take_while(|(a, b)| a == b).count()),
            )
            .collect();
        let bytes_at = |cap: usize| -> usize {
            sorted
                .iter()
                .zip(&shared)
                .enumerate()
                .filter(|&(i, (k, &common))| {
                    let own = k.len().min(cap);
                    i == 0 || own != sorted[i - 1].len().min(cap) || common < own
                })
                .map(|(_, (k, _))| k.len().min(cap))
                .sum()
        };
        let cap = (SCAN_PREFIX_MIN..KEYWORD_PREFIX_BYTES)
            .rev()
            .find(|&cap| bytes_at(cap) <= SCAN_DFA_MAX_BYTES)?;
        let mut prefixes: Vec<&[u8]> = sorted.iter().map(|k| &k[..k.len().min(cap)]).collect();
        prefixes.dedup();
        AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&prefixes)
            .ok()
            .map(BufferSearch::ShortPrefixes)
    }
}

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
    /// The prefix of every keyword, searched over a lower-cased line to list its keywords.
    automaton: AhoCorasick,
    /// How the scanner finds the next keyword in a lower-cased buffer.
    buffer_search: BufferSearch,
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
        let buffer_search = BufferSearch::teddy(&prefixes)
            .or_else(|| BufferSearch::short_prefixes(&keywords, prefix_bytes))
            .unwrap_or(BufferSearch::Automaton);
        Engine {
            kb,
            automaton,
            buffer_search,
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

    /// Where the next keyword prefix at or after `pos` starts in `lowered` (a lower-cased
    /// buffer), or `usize::MAX`. `groups` remembers each Teddy group's next hit between
    /// calls on the same buffer (clear it for a new buffer).
    pub(crate) fn next_hit(
        &self,
        lowered: &[u8],
        pos: usize,
        groups: &mut Vec<Option<usize>>,
    ) -> usize {
        match &self.buffer_search {
            BufferSearch::Automaton => self
                .automaton
                .find(Input::new(lowered).span(pos..lowered.len()))
                .map_or(usize::MAX, |m| m.start()),
            BufferSearch::ShortPrefixes(dfa) => dfa
                .find(Input::new(lowered).span(pos..lowered.len()))
                .map_or(usize::MAX, |m| m.start()),
            BufferSearch::Teddy(searchers) => {
                groups.resize(searchers.len(), None);
                let mut first = usize::MAX;
                for (searcher, next) in searchers.iter().zip(groups.iter_mut()) {
                    if next.is_none_or(|at| at < pos) {
                        let span = aho_corasick::Span::from(pos..lowered.len());
                        *next = Some(
                            searcher
                                .find_in(lowered, span)
                                .map_or(usize::MAX, |m| m.start()),
                        );
                    }
                    first = first.min(next.unwrap_or(usize::MAX));
                }
                first
            }
        }
    }

    /// Calls `found` with each keyword of `lowered` (a lower-cased line), where it starts,
    /// and what it stands for.
    fn keyword_hits(&self, lowered: &[u8], mut found: impl FnMut(u32, usize, &KeywordTargets)) {
        for m in self.automaton.find_overlapping_iter(lowered) {
            let rest = &lowered[m.start()..];
            for &kw in &self.prefix_keywords[m.pattern().as_usize()] {
                if rest.starts_with(self.keywords[kw as usize]) {
                    found(kw, m.start(), &self.targets[kw as usize]);
                }
            }
        }
    }

    /// Keyword number `index` (lower-cased).
    fn keyword(&self, index: u32) -> &'kb str {
        std::str::from_utf8(self.keywords[index as usize]).unwrap_or_default()
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

    /// Scans inputs into finding sets.
    pub fn scanner(&self, options: ScanOptions) -> Scanner<'_, 'kb> {
        Scanner::new(self, options, NoTrace)
    }

    /// A scanner that reports what it does to `trace` (and looks at every line).
    pub fn traced_scanner<T: Trace>(&self, options: ScanOptions, trace: T) -> Scanner<'_, 'kb, T> {
        Scanner::new(self, options, trace)
    }

    /// Scans a text held in memory: the one in-process way to scan a string. The buffer
    /// is sized to the text (examples are small, and there are many of them).
    pub fn scan_bytes(
        &self,
        file: Option<Arc<str>>,
        bytes: &[u8],
    ) -> Result<FindingSet, ScanError> {
        let mut set = FindingSet::new(file);
        let options = ScanOptions {
            buffer_size: (bytes.len() + 1)
                .next_power_of_two()
                .min(ScanOptions::default().buffer_size),
            ..ScanOptions::default()
        };
        self.scanner(options).scan(bytes, &mut set)?;
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::test_kb;

    /// One rule per keyword, whose pattern is the keyword itself.
    fn rules(keywords: &[String]) -> String {
        keywords
            .iter()
            .enumerate()
            .map(|(i, k)| {
                format!("[[rule]]\nid = 'r{i}'\narticle = 'a'\nkeywords = ['{k}']\npatterns = ['(?i){k}']\n\n")
            })
            .collect()
    }

    /// (line, rule id) of the evidence (one per line), and every rule that fired.
    fn fired(kb: &KnowledgeBase, log: &str) -> (Vec<(u64, String)>, Vec<String>) {
        let set = Engine::new(kb, false)
            .scan_bytes(None, log.as_bytes())
            .unwrap();
        let report = crate::report::Report::build(set, kb);
        let Some(finding) = report.findings.first() else {
            return (Vec::new(), Vec::new());
        };
        let lines = finding
            .evidence
            .iter()
            .map(|e| (e.line, e.rule.to_string()))
            .collect();
        let mut rules: Vec<String> = finding.rules.iter().map(ToString::to_string).collect();
        rules.sort();
        (lines, rules)
    }

    fn hit(line: u64, rule: usize) -> (u64, String) {
        (line, format!("r{rule}"))
    }

    #[test]
    fn teddy_groups_each_find_their_keywords() {
        // 150 distinct prefixes: three Teddy groups of sorted prefixes.
        let keywords: Vec<String> = (0..150).map(|i| format!("code{i:03}x failed")).collect();
        let kb = test_kb(&rules(&keywords));
        let engine = Engine::new(&kb, false);
        assert!(matches!(&engine.buffer_search, BufferSearch::Teddy(g) if g.len() == 3));
        let log =
            "nothing\nCODE149X FAILED and code000x failed\ncode075x faile\nok code075x failed\n";
        let (lines, rules) = fired(&kb, log);
        assert_eq!(lines, [hit(2, 0), hit(4, 75)]);
        assert_eq!(rules, ["r0", "r149", "r75"]);
    }

    #[test]
    fn a_large_keyword_set_scans_with_short_prefixes_and_confirms_whole_keywords() {
        // 6,000 keywords with distinct 16-byte prefixes (more than the DFA takes) but few
        // distinct short ones: the buffer scan uses a small DFA over short prefixes.
        let words = ["alphabet", "bravoing", "charlies", "deltoids"];
        let keywords: Vec<String> = (0..6000)
            .map(|i| format!("{}{i:05} failed", words[i % 4]))
            .collect();
        let kb = test_kb(&rules(&keywords));
        let engine = Engine::new(&kb, false);
        assert!(matches!(
            engine.buffer_search,
            BufferSearch::ShortPrefixes(_)
        ));
        let log = "alphabet00000 fail\nx BRAVOING00001 FAILED y\ndeltoids05999 failed\nalphabet06000 failed\ncharlies00002 failed\n";
        let (lines, rules) = fired(&kb, log);
        assert_eq!(lines, [hit(2, 1), hit(3, 5999), hit(5, 2)]);
        assert_eq!(rules, ["r1", "r2", "r5999"]);
    }
}
