//! The matcher: every rule compiled into one engine.
//!
//! Keywords are searched in a lower-cased copy of the text, which makes them ASCII
//! case-insensitive while every searcher stays case-sensitive (faster to build, smaller,
//! and SIMD-capable). One aho-corasick automaton holds the first 16 bytes of every keyword;
//! it lists the keywords of a candidate line, where each hit is confirmed against the whole
//! keyword. The buffer scan that finds candidate lines uses whichever is fastest for the
//! set (see `BufferSearch`): Teddy (SIMD) for a few prefixes, else a DFA over the scan
//! set's prefixes (over shorter ones for very large sets) walked over eight stretches of
//! the buffer at once (see `lanes`). These are the only structures built eagerly. The scanner removes ANSI escapes
//! before searching, so a colour code cannot split a keyword; only the rules whose keywords
//! are on a candidate line run their regexes, compiled on first use. Rules without keywords
//! share one `RegexSet`, run only on lines that no keyword rule explained.

mod context;
mod eval;
mod findings;
mod lanes;
pub mod line;
mod prefilter;
mod scan;
mod trace;

use std::sync::{Arc, OnceLock};

use regex::bytes::{RegexSet, RegexSetBuilder};

pub use findings::{
    ContextLine, ErrorGroup, ErrorGroups, ErrorKey, ErrorLine, Evidence, FindingSet,
    MAX_ERROR_GROUPS, MAX_ERROR_LINES, MAX_EVIDENCE_PER_FINDING, Stats,
};
pub use line::normalize_line;
pub use scan::{MAX_LINE_BYTES, ScanError, ScanOptions, Scanner};
pub use trace::{NoTrace, Outcome, Trace};

use prefilter::{KeywordTable, Prefilter};

use crate::diagnostics::Diagnostic;
use crate::kb::KnowledgeBase;
use crate::rules::{REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT, Rule, RuleKind};

/// Literals that mark a line as an error line, for `--unexplained` and suggestions.
pub const ERROR_MARKERS: [&str; 4] = ["##[error]", "error:", "fatal:", "exception:"];

/// Evidence text longer than this is cut for display (matching sees the whole line).
pub const MAX_EVIDENCE_CHARS: usize = 400;
/// Capture values longer than this are cut.
pub const MAX_CAPTURE_CHARS: usize = 200;

/// The compiled rule set.
pub struct Engine<'kb> {
    pub kb: &'kb KnowledgeBase,
    /// The keywords of every rule: where a line may hold work for a rule.
    prefilter: Prefilter<'kb>,
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
        Engine {
            kb,
            prefilter: Prefilter::new(keywords),
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

    /// Which buffer scan the prefilter uses: `teddy`, `lanes`, `short-prefixes` or `none`
    /// (for tests that must reach each one).
    #[doc(hidden)]
    pub fn buffer_search_kind(&self) -> &'static str {
        match self.prefilter.scan_search().buffer_search {
            Some(prefilter::BufferSearch::Teddy(_)) => "teddy",
            Some(prefilter::BufferSearch::Lanes(_)) => "lanes",
            Some(prefilter::BufferSearch::ShortPrefixes(_)) => "short-prefixes",
            None => "none",
        }
    }

    /// Compiles every rule now (for `check`), returning the failures.
    pub fn compile_all(&self) -> Vec<Diagnostic> {
        self.kb
            .rules
            .iter()
            .filter_map(|r| r.compiled().err().cloned())
            // Rules refused at load (over a budget) were reported there.
            .filter(|d| d.code != crate::rules::budget::REFUSED)
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
    fn the_lanes_find_each_line_with_a_keyword() {
        // 150 distinct prefixes: the DFA in lanes. The log is long enough for eight
        // stretches, with hits on the first and last lines and across the stretches.
        let keywords: Vec<String> = (0..150).map(|i| format!("code{i:03}x failed")).collect();
        let kb = test_kb(&rules(&keywords));
        let engine = Engine::new(&kb, false);
        assert_eq!(engine.buffer_search_kind(), "lanes");
        let mut log = String::from("CODE149X FAILED and code000x failed\n");
        let mut want = vec![hit(1, 0)];
        for i in 2..=40_000u64 {
            if i % 997 == 0 {
                log.push_str(&format!("ok code{:03}x failed\n", i % 150));
                want.push(hit(i, (i % 150) as usize));
            } else {
                log.push_str("nothing here, code075x faile\n");
            }
        }
        log.push_str("last code075x failed");
        want.push(hit(40_001, 75));
        let (lines, rules) = fired(&kb, &log);
        // Evidence is capped per finding; the lines it keeps are the first ones.
        assert_eq!(lines, want[..lines.len()]);
        assert!(rules.contains(&"r149".to_owned()) && rules.contains(&"r75".to_owned()));
        let total = Engine::new(&kb, false)
            .scan_bytes(None, log.as_bytes())
            .unwrap();
        let report = crate::report::Report::build(total, &kb);
        assert_eq!(report.findings[0].evidence_total, want.len() as u64);
    }

    /// One ASCII keyword and two in other scripts.
    const MIXED_SCRIPT_KEYWORDS: [&str; 3] =
        ["deployment failed", "autenticación fallida", "认证失败"];

    #[test]
    fn non_ascii_keywords_are_found_on_the_lines_with_non_ascii_bytes() {
        // The buffer scan searches only the ASCII keywords; a line holding a non-ASCII
        // keyword is found by its first non-ASCII byte, which may come late in the keyword.
        let keywords: Vec<String> = MIXED_SCRIPT_KEYWORDS.map(String::from).to_vec();
        let kb = test_kb(&rules(&keywords));
        let engine = Engine::new(&kb, false);
        assert_eq!(engine.buffer_search_kind(), "teddy");
        let log = "ok\nx: autenticación fallida\nnaïve line\n认证失败\nDeployment failed\n";
        let (lines, rules) = fired(&kb, log);
        assert_eq!(lines, [hit(2, 1), hit(4, 2), hit(5, 0)]);
        assert_eq!(rules, ["r0", "r1", "r2"]);
    }

    #[test]
    fn a_line_whose_only_non_ascii_characters_are_in_no_keyword_is_not_a_candidate() {
        let keywords: Vec<String> = MIXED_SCRIPT_KEYWORDS.map(String::from).to_vec();
        let kb = test_kb(&rules(&keywords));
        let engine = Engine::new(&kb, false);
        engine.buffer_search_kind();
        // Box drawing, check marks and `é` (not in `autenticación`) are in no keyword;
        // `认` starts one.
        let log = "│ ✓ build › done ●\nnaïve é\nok 认证 x\n";
        let lowered = log.as_bytes().to_ascii_lowercase();
        let mut memo = prefilter::NextHits::default();
        let at = engine.prefilter.next_hit(&lowered, 0, &mut memo);
        assert_eq!(at, log.find('认').unwrap());
        // A cut character before it is stepped over a byte at a time.
        let mut bytes = b"\xe8\xaf".to_vec();
        bytes.extend_from_slice("认证\n".as_bytes());
        let mut memo = prefilter::NextHits::default();
        assert_eq!(engine.prefilter.next_hit(&bytes, 0, &mut memo), 2);
    }

    #[test]
    fn a_two_word_keyword_is_found_across_a_no_break_space() {
        let kb = test_kb(
            "[[rule]]\nid = 'r0'\narticle = 'a'\nkeywords = ['login failed']\npatterns = ['(?i)login[ \\x{a0}]failed']\n",
        );
        let log = "Azure login\u{a0}failed\nAzure login failed\n";
        let (lines, _) = fired(&kb, log);
        assert_eq!(lines, [hit(1, 0), hit(2, 0)]);
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
        assert_eq!(engine.buffer_search_kind(), "short-prefixes");
        let log = "alphabet00000 fail\nx BRAVOING00001 FAILED y\ndeltoids05999 failed\nalphabet06000 failed\ncharlies00002 failed\n";
        let (lines, rules) = fired(&kb, log);
        assert_eq!(lines, [hit(2, 1), hit(3, 5999), hit(5, 2)]);
        assert_eq!(rules, ["r1", "r2", "r5999"]);
    }

    #[test]
    fn a_keyword_starting_before_one_that_ends_first_is_found() {
        // Over 256 prefixes: the lanes scan, and report the earliest-ending match
        // (`identity` ends before `managedidentityc` does, though it starts later).
        let mut keywords: Vec<String> = (0..300).map(|i| format!("filler{i:03}word")).collect();
        keywords.push("managedidentitycredential".to_owned());
        keywords.push("identity".to_owned());
        let kb = test_kb(&rules(&keywords));
        let engine = Engine::new(&kb, false);
        assert_eq!(engine.buffer_search_kind(), "lanes");
        let log = "x\nError: ManagedIdentityCredential - no credential\n";
        let (lines, rules) = fired(&kb, log);
        assert_eq!(lines, [hit(2, 300)]);
        assert_eq!(rules, ["r300", "r301"]);
    }
}
