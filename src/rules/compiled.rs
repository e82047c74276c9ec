//! A rule's compiled regex, and the search scratch all of them share.
//!
//! A log that wakes every built-in rule compiles about 1,100 regexes (every catalog text in
//! every locale). With the `regex` crate each keeps its own engines and scratch: a reverse
//! automaton, a literal prefilter, lazy-DFA caches and capture tables, about 49 KB per
//! regex, 54 MB in all. Rules run on single candidate lines that their guards already
//! admitted, where a bounded backtracker or the PikeVM is fast, so each regex here holds
//! only its forward automaton (about 14 KB), and one scratch per scanner serves them all,
//! re-fitted when the next regex differs from the last.

use regex_automata::meta::{self, BuildError};
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Input, PatternID};

/// A pattern compiled under the size and nesting limits.
#[derive(Clone, Debug)]
pub struct CompiledRegex {
    regex: meta::Regex,
}

/// Search scratch, shared by every regex a scanner runs.
#[derive(Debug, Default)]
pub struct RegexScratch {
    /// The scratch and the regex it is fitted to (by address).
    cache: Option<(usize, meta::Cache)>,
}

impl RegexScratch {
    fn fitted(&mut self, regex: &CompiledRegex) -> &mut meta::Cache {
        let id = regex as *const CompiledRegex as usize;
        match &mut self.cache {
            Some((owner, cache)) => {
                if *owner != id {
                    cache.reset(&regex.regex);
                    *owner = id;
                }
                cache
            }
            slot @ None => &mut slot.insert((id, regex.regex.create_cache())).1,
        }
    }
}

/// A match and its capture groups, on the text it was found in.
pub struct RegexMatch<'a> {
    regex: &'a CompiledRegex,
    captures: Captures,
    text: &'a [u8],
}

impl CompiledRegex {
    /// Compiles `pattern`: `nfa_limit` bytes of automaton at most, groups and repetitions
    /// nested `nest_limit` deep at most.
    pub fn new(pattern: &str, nfa_limit: usize, nest_limit: u32) -> Result<Self, Box<BuildError>> {
        let regex = meta::Regex::builder()
            .syntax(syntax::Config::new().utf8(false).nest_limit(nest_limit))
            .configure(
                meta::Config::new()
                    .utf8_empty(false)
                    .nfa_size_limit(Some(nfa_limit))
                    .auto_prefilter(false)
                    .hybrid(false)
                    .dfa(false)
                    .onepass(false),
            )
            .build(pattern)
            .map_err(Box::new)?;
        Ok(CompiledRegex { regex })
    }

    /// Whether the regex matches somewhere in `text`. Not an "earliest" search: that one
    /// always takes the PikeVM, while a line is short enough for the bounded
    /// backtracker, which is several times faster on it.
    pub fn is_match(&self, scratch: &mut RegexScratch, text: &[u8]) -> bool {
        self.regex
            .search_half_with(scratch.fitted(self), &Input::new(text))
            .is_some()
    }

    /// The leftmost match in `text` and its groups. Runs a match test first: most lines a
    /// regex is tried on do not match, and the test is cheaper than finding groups.
    pub fn captures<'a>(
        &'a self,
        scratch: &mut RegexScratch,
        text: &'a [u8],
    ) -> Option<RegexMatch<'a>> {
        if !self.is_match(scratch, text) {
            return None;
        }
        let mut captures = self.regex.create_captures();
        self.regex
            .search_captures_with(scratch.fitted(self), &Input::new(text), &mut captures);
        captures.is_match().then_some(RegexMatch {
            regex: self,
            captures,
            text,
        })
    }

    /// The names of the regex's named groups, in order.
    pub fn capture_names(&self) -> impl Iterator<Item = &str> {
        self.regex
            .group_info()
            .pattern_names(PatternID::ZERO)
            .flatten()
    }
}

impl<'a> RegexMatch<'a> {
    /// Where the whole match starts in the text.
    pub fn start(&self) -> usize {
        self.captures.get_match().map_or(0, |m| m.start())
    }

    /// The text of the whole match.
    pub fn text(&self) -> &'a [u8] {
        self.captures
            .get_match()
            .map_or(&[][..], |m| &self.text[m.range()])
    }

    /// Each named group that took part in the match: its name, where it starts, its text.
    pub fn named(&self) -> impl Iterator<Item = (&'a str, usize, &'a [u8])> + '_ {
        self.regex.capture_names().filter_map(|name| {
            let span = self.captures.get_group_by_name(name)?;
            Some((name, span.start, &self.text[span.range()]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(pattern: &str) -> CompiledRegex {
        CompiledRegex::new(pattern, 4 << 20, 64).unwrap()
    }

    #[test]
    fn one_scratch_serves_regexes_of_different_shapes() {
        let mut scratch = RegexScratch::default();
        let small = regex("(?i)secret");
        let groups = regex(r"(?P<code>AADSTS\d+): (?P<app>\w+) (?P<rest>.*)");
        let line = b"AADSTS7000222: app1 secret expired";
        for _ in 0..3 {
            assert!(small.is_match(&mut scratch, line));
            let m = groups.captures(&mut scratch, line).unwrap();
            assert_eq!(m.start(), 0);
            let named: Vec<(&str, usize, &[u8])> = m.named().collect();
            assert_eq!(
                named,
                [
                    ("code", 0, &b"AADSTS7000222"[..]),
                    ("app", 15, &b"app1"[..]),
                    ("rest", 20, &b"secret expired"[..])
                ]
            );
            assert!(groups.captures(&mut scratch, b"AADSTS: x").is_none());
        }
    }

    #[test]
    fn matches_bytes_and_unicode_case_like_the_regex_crate() {
        let mut scratch = RegexScratch::default();
        let re = regex("(?i)schlüssel (?P<name>.+)");
        let line = "Der SCHLÜSSEL abc\u{ff}".as_bytes();
        let m = re.captures(&mut scratch, line).unwrap();
        assert_eq!(m.text(), "SCHLÜSSEL abc\u{ff}".as_bytes());
        // A line with invalid UTF-8 is searched, not refused; `.` takes only whole
        // characters, as in the `regex` crate.
        assert!(regex("b.c").is_match(&mut scratch, b"\xff b\xc3\xa9c"));
        assert!(!regex("b.c").is_match(&mut scratch, b"b\xffc"));
        assert_eq!(
            regex("(?P<x>a)|b").capture_names().collect::<Vec<_>>(),
            ["x"]
        );
    }

    #[test]
    fn the_size_limit_is_enforced() {
        let err = CompiledRegex::new(r"\w{1000}", 1 << 16, 64).unwrap_err();
        assert!(err.size_limit().is_some());
    }
}
