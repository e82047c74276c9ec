//! The keyword prefilter: which lines may hold work for a rule. One aho-corasick automaton
//! over the first bytes of every keyword lists a line's keywords (each hit confirmed
//! against the whole keyword). The buffer scan that finds those lines needs fewer: only
//! the *scan set*, the keywords that contain no other keyword (a line holding
//! `managedidentitycredential` holds `identity`), and of those only the ASCII ones, since
//! a line with a non-ASCII keyword has a non-ASCII byte, which the scan finds instead. The
//! scan set is searched with whichever searcher is fastest for its size (see
//! `BufferSearch`). Keywords are searched in a lower-cased copy of the text, so every
//! searcher can be case-sensitive.

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Input, MatchKind};

use super::lanes::LaneDfa;

/// Up to this many bytes of scan-set prefixes the buffer scan walks a DFA over them whole;
/// above, over shorter ones (`BufferSearch::ShortPrefixes`). An ASCII DFA takes about 110
/// bytes per prefix byte (1,000 generated rules: 11 KB of prefixes, 1.2 MiB; 10,000:
/// 91 KB, 7 MiB), so this bound keeps it under 8 MiB.
const DFA_MAX_KEYWORD_BYTES: usize = 72 << 10;
/// The largest DFA the automaton that lists a line's keywords may be: above it, the
/// automaton is a contiguous NFA (slower per byte, but it only reads candidate lines).
const LISTING_DFA_MAX_BYTES: usize = 2 << 20;
/// Bytes of distinct prefixes for the buffer-scan DFA of a large keyword set (about
/// 100 bytes of DFA per byte, so it stays in the CPU cache).
const SCAN_DFA_MAX_BYTES: usize = 8 << 10;
/// Shorter scan prefixes would make too many lines candidates.
const SCAN_PREFIX_MIN: usize = 6;
/// Up to this many prefixes the buffers are searched with Teddy (aho-corasick's SIMD
/// searcher) rather than the DFA in lanes. Measured on 100 MB of pipeline log with samples
/// of the built-in prefixes: 8 prefixes, Teddy 28 ms and lanes 72 ms; 16: 36 and 116 ms;
/// 32: 115 and 88 ms; 64: 161 and 71 ms.
const TEDDY_PATTERNS_MAX: usize = 16;

/// Buffers shorter than this are searched with the automaton over every keyword, until a
/// longer one has made the scan's own searcher worth building.
const SCAN_SEARCH_MIN: usize = 64 << 10;

/// The automaton holds keywords cut to this many bytes; a hit is confirmed against the
/// whole keyword. Long keywords share prefixes, so the automaton shrinks several times
/// (10,000 generated rules: 605 KB of keywords, 91 KB of prefixes), which makes it
/// faster to build, smaller, and a DFA for larger rule sets.
const KEYWORD_PREFIX_BYTES: usize = 16;

/// How buffers are searched for keyword prefixes.
pub(super) enum BufferSearch {
    /// A SIMD searcher over a few prefixes.
    Teddy(aho_corasick::packed::Searcher),
    /// A DFA over the scan set's prefixes, walked over several stretches of lines at once.
    Lanes(LaneDfa),
    /// The same over shorter prefixes, for large keyword sets whose DFA would be too big
    /// for the cache: more lines are candidates, but each is then checked with the
    /// engine's automaton, and the buffer scan runs at the small DFA's speed.
    ShortPrefixes(LaneDfa),
}

impl BufferSearch {
    /// A Teddy searcher for `prefixes`, if there are few enough and the CPU has the SIMD.
    fn teddy(prefixes: &[&[u8]]) -> Option<BufferSearch> {
        if prefixes.is_empty() || prefixes.len() > TEDDY_PATTERNS_MAX {
            return None;
        }
        aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(prefixes)
            .build()
            .map(BufferSearch::Teddy)
    }

    /// A DFA over the keywords cut to the longest length (at least `SCAN_PREFIX_MIN`) whose
    /// distinct prefixes fit in `SCAN_DFA_MAX_BYTES`; None when the DFA over the whole
    /// prefixes (`prefix_bytes` of them) is small enough to be searched itself.
    fn short_prefixes(keywords: &[&[u8]], prefix_bytes: usize) -> Option<BufferSearch> {
        if prefix_bytes <= DFA_MAX_KEYWORD_BYTES {
            return None;
        }
        let mut sorted = keywords.to_vec();
        sorted.sort_unstable();
        // Sorted, equal prefixes are neighbours: a keyword adds a prefix of length `cap`
        // unless its neighbour shares that prefix.
        let shared: Vec<usize> = std::iter::once(0)
            .chain(sorted.windows(2).map(|w| common_prefix_len(w[0], w[1])))
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
        LaneDfa::new(&prefixes).map(BufferSearch::ShortPrefixes)
    }
}

/// Keywords and their automaton prefixes, while the engine is built. Keywords are
/// borrowed from the rules, which the loader has lower-cased.
#[derive(Default)]
pub(super) struct KeywordTable<'kb> {
    index: HashMap<&'kb [u8], usize>,
    keywords: Vec<&'kb [u8]>,
    pub targets: Vec<KeywordTargets>,
    prefix_index: HashMap<&'kb [u8], usize>,
    prefixes: Vec<&'kb [u8]>,
    prefix_keywords: Vec<Vec<u32>>,
}

impl<'kb> KeywordTable<'kb> {
    /// The slot of keyword `kw`, added on first sight.
    pub(super) fn slot(&mut self, kw: &'kb str) -> usize {
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
pub(super) struct KeywordTargets {
    pub rules: Vec<u32>,
    pub error_marker: bool,
}

/// The automaton and the buffer searcher over every keyword.
pub(super) struct Prefilter<'kb> {
    /// The first bytes of every keyword, distinct.
    prefixes: Vec<&'kb [u8]>,
    /// The automaton over every prefix, built on first use: a log without a byte to
    /// search needs none, and building it is most of an empty run's time. It is a DFA
    /// (fast to search, slow to build) once the input is large enough for the scan's own
    /// searcher; before that, a contiguous NFA (a search query, a small log).
    automaton: OnceLock<AhoCorasick>,
    small_input_automaton: OnceLock<AhoCorasick>,
    /// The buffer searcher, built on the first buffer of at least `SCAN_SEARCH_MIN` bytes:
    /// a short input (a search query, a small log) is searched with the automaton.
    scan: OnceLock<ScanSearch>,
    /// Some keyword has a space (it may stand across a no-break space in a line).
    spaced: bool,
    /// The longest keyword's length: no keyword of a line starts further than this before
    /// the scan's hit and still ends after it.
    longest: usize,
    /// Every keyword, lower-cased.
    keywords: Vec<&'kb [u8]>,
    /// For each prefix of the automaton, the keywords that start with it.
    prefix_keywords: Vec<Vec<u32>>,
    /// For each keyword, what it stands for.
    targets: Vec<KeywordTargets>,
}

pub(super) struct ScanSearch {
    /// How the scanner finds the next keyword of the scan set in a lower-cased buffer
    /// (None: the scan set has no ASCII keyword).
    pub(super) buffer_search: Option<BufferSearch>,
    /// The non-ASCII characters of the scan set's keywords, sorted (and the no-break
    /// space if a keyword has a space: it may stand across one). A line holding one is a
    /// candidate; a line whose only non-ASCII characters are others (box drawing, check
    /// marks, a build tool's arrows) cannot hold such a keyword and is not.
    non_ascii: Vec<char>,
}

impl<'kb> Prefilter<'kb> {
    pub(super) fn new(keywords: KeywordTable<'kb>) -> Prefilter<'kb> {
        let KeywordTable {
            keywords,
            targets,
            prefixes,
            prefix_keywords,
            ..
        } = keywords;
        Prefilter {
            prefixes,
            automaton: OnceLock::new(),
            small_input_automaton: OnceLock::new(),
            scan: OnceLock::new(),
            spaced: keywords.iter().any(|k| k.contains(&b' ')),
            longest: keywords.iter().map(|k| k.len()).max().unwrap_or(0),
            keywords,
            prefix_keywords,
            targets,
        }
    }

    fn automaton(&self) -> &AhoCorasick {
        match self.scan.get() {
            Some(_) => self.automaton.get_or_init(|| automaton(&self.prefixes)),
            None => self.automaton.get().unwrap_or_else(|| {
                self.small_input_automaton
                    .get_or_init(|| nfa(&self.prefixes))
            }),
        }
    }

    pub(super) fn scan_search(&self) -> &ScanSearch {
        self.scan.get_or_init(|| self.build_scan())
    }

    fn build_scan(&self) -> ScanSearch {
        let every = self.automaton.get_or_init(|| automaton(&self.prefixes));
        let scan_set = self.scan_set(every);
        let mut non_ascii: Vec<char> = scan_set
            .iter()
            // Keywords come lower-cased from the rules' text: valid UTF-8.
            .flat_map(|k| std::str::from_utf8(k).unwrap_or_default().chars())
            .filter(|c| !c.is_ascii())
            .collect();
        // A line with a no-break space may hold a keyword of two words across it.
        if scan_set.iter().any(|k| k.contains(&b' ')) {
            non_ascii.push('\u{a0}');
        }
        non_ascii.sort_unstable();
        non_ascii.dedup();
        let ascii: Vec<&[u8]> = scan_set.into_iter().filter(|k| k.is_ascii()).collect();
        let mut scan_prefixes: Vec<&[u8]> = ascii
            .iter()
            .map(|k| &k[..k.len().min(KEYWORD_PREFIX_BYTES)])
            .collect();
        scan_prefixes.sort_unstable();
        scan_prefixes.dedup();
        let prefix_bytes: usize = scan_prefixes.iter().map(|p| p.len()).sum();
        let buffer_search = BufferSearch::teddy(&scan_prefixes)
            .or_else(|| BufferSearch::short_prefixes(&ascii, prefix_bytes))
            .or_else(|| LaneDfa::new(&scan_prefixes).map(BufferSearch::Lanes));
        ScanSearch {
            buffer_search,
            non_ascii,
        }
    }

    /// The keywords that contain no other keyword: finding them finds every line with a
    /// keyword. Each keyword is searched for the others with the automaton, so this costs
    /// one pass over the keywords' bytes.
    fn scan_set(&self, automaton: &AhoCorasick) -> Vec<&'kb [u8]> {
        self.keywords
            .iter()
            .enumerate()
            .filter(|&(index, &keyword)| {
                !automaton.find_overlapping_iter(keyword).any(|m| {
                    self.prefix_keywords[m.pattern().as_usize()]
                        .iter()
                        .any(|&other| {
                            other as usize != index
                                && keyword[m.start()..].starts_with(self.keywords[other as usize])
                        })
                })
            })
            .map(|(_, &keyword)| keyword)
            .collect()
    }

    /// Where the line of the next keyword at or after `pos` in `lowered` (a lower-cased
    /// buffer) holds a keyword of the scan set or a non-ASCII byte, or `usize::MAX`. The
    /// position is on that line, not necessarily where a keyword starts: the scanner lists
    /// the line's keywords from its start. `memo` keeps the searchers' hits between calls
    /// on the same buffer, whose `pos` must not go back (clear it for a new buffer).
    pub(super) fn next_hit(&self, lowered: &[u8], pos: usize, memo: &mut NextHits) -> usize {
        let span = || Input::new(lowered).span(pos..lowered.len());
        if lowered.len() < SCAN_SEARCH_MIN && self.scan.get().is_none() {
            // The automaton holds every keyword; it reports the match that ends first,
            // which is on the first line with a keyword. A two-word keyword may still
            // stand across a no-break space.
            let keyword = self
                .automaton()
                .find(span())
                .map_or(usize::MAX, |m| m.start());
            return if self.spaced {
                keyword.min(next_non_ascii(lowered, pos))
            } else {
                keyword
            };
        }
        let searchers = self.scan_search();
        let keyword = match &searchers.buffer_search {
            // Teddy reports the leftmost match, which is on the first line with one.
            Some(BufferSearch::Teddy(teddy)) => teddy
                .find_in(lowered, aho_corasick::Span::from(pos..lowered.len()))
                .map_or(usize::MAX, |m| m.start()),
            // The lanes find every line's hit at once, on the first call for the buffer.
            Some(BufferSearch::Lanes(dfa) | BufferSearch::ShortPrefixes(dfa)) => {
                if !memo.lines_searched {
                    dfa.line_hits(lowered, pos, &mut memo.line_hits);
                    memo.lines_searched = true;
                }
                let rest = &memo.line_hits[memo.next_line_hit..];
                memo.next_line_hit += rest.partition_point(|&at| at < pos);
                memo.line_hits
                    .get(memo.next_line_hit)
                    .copied()
                    .unwrap_or(usize::MAX)
            }
            None => usize::MAX,
        };
        if searchers.non_ascii.is_empty() {
            return keyword;
        }
        if memo.non_ascii.is_none_or(|at| at < pos) {
            memo.non_ascii = Some(next_char_of(lowered, pos, &searchers.non_ascii));
        }
        keyword.min(memo.non_ascii.unwrap_or(usize::MAX))
    }

    /// Where a line's keywords are listed from, given where the scan hit it: a keyword
    /// starting earlier would end before the hit, and it would have been the hit (the scan
    /// finds a keyword of the scan set inside it, or its first non-ASCII byte, earlier).
    pub(super) fn listing_start(&self, hit: usize) -> usize {
        hit.saturating_sub(self.longest)
    }

    /// Calls `found` with each keyword of `lowered` (a lower-cased line), where it starts,
    /// and what it stands for.
    pub(super) fn keyword_hits(
        &self,
        lowered: &[u8],
        mut found: impl FnMut(u32, usize, &KeywordTargets),
    ) {
        self.list(lowered, |kw, at| found(kw, at, &self.targets[kw as usize]));
        // A no-break space reads as a plain one, so a two-word keyword is found across it
        // (a catalog text's regex takes either there).
        if memchr::memmem::find(lowered, NBSP).is_some() {
            let mut plain = Vec::with_capacity(lowered.len());
            let mut origin = Vec::with_capacity(lowered.len());
            let mut i = 0;
            while i < lowered.len() {
                origin.push(i);
                if lowered[i..].starts_with(NBSP) {
                    plain.push(b' ');
                    i += NBSP.len();
                } else {
                    plain.push(lowered[i]);
                    i += 1;
                }
            }
            self.list(&plain, |kw, at| {
                if self.keywords[kw as usize].contains(&b' ') {
                    found(kw, origin[at], &self.targets[kw as usize]);
                }
            });
        }
    }

    fn list(&self, lowered: &[u8], mut found: impl FnMut(u32, usize)) {
        for m in self.automaton().find_overlapping_iter(lowered) {
            let rest = &lowered[m.start()..];
            for &kw in &self.prefix_keywords[m.pattern().as_usize()] {
                if rest.starts_with(self.keywords[kw as usize]) {
                    found(kw, m.start());
                }
            }
        }
    }

    /// Keyword number `index` (lower-cased).
    pub(super) fn keyword(&self, index: u32) -> &'kb str {
        std::str::from_utf8(self.keywords[index as usize]).unwrap_or_default()
    }
}

/// A no-break space in UTF-8.
const NBSP: &[u8] = "\u{a0}".as_bytes();

/// The searchers' hits in one buffer, kept between calls.
#[derive(Default)]
pub(super) struct NextHits {
    /// The lanes' hits (one per line), once searched, and the first not yet passed.
    line_hits: Vec<usize>,
    lines_searched: bool,
    next_line_hit: usize,
    non_ascii: Option<usize>,
}

impl NextHits {
    pub(super) fn clear(&mut self) {
        self.line_hits.clear();
        self.lines_searched = false;
        self.next_line_hit = 0;
        self.non_ascii = None;
    }
}

/// The automaton over `prefixes`: a DFA while its tables stay small, else a contiguous
/// NFA. The size depends on the alphabet as much as on the bytes: the built-in prefixes
/// (9,900 bytes, a third of them in other scripts) need 138 byte classes, so each DFA
/// state takes 256 slots and the DFA 6.5 MB, against 1.2 MB for 1,000 generated ASCII
/// rules with as many bytes; their contiguous NFA takes 0.2 MB.
fn automaton(prefixes: &[&[u8]]) -> AhoCorasick {
    let kind = if dfa_bytes(prefixes) <= LISTING_DFA_MAX_BYTES {
        AhoCorasickKind::DFA
    } else {
        AhoCorasickKind::ContiguousNFA
    };
    automaton_of_kind(prefixes, kind)
}

/// About what aho-corasick's DFA over `prefixes` takes (within 3% on the built-in and
/// generated sets): a state per node of their trie, each a row of 4-byte transitions, one
/// per byte class rounded up to a power of two. A byte class is a run of bytes that no
/// prefix tells apart, so each byte used by a prefix bounds one.
fn dfa_bytes(prefixes: &[&[u8]]) -> usize {
    let mut sorted = prefixes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut nodes = 1;
    let mut used = [false; 256];
    let mut previous: &[u8] = &[];
    for prefix in &sorted {
        nodes += prefix.len() - common_prefix_len(prefix, previous);
        for &b in *prefix {
            used[b as usize] = true;
        }
        previous = prefix;
    }
    let classes = 1 + (1..256).filter(|&b| used[b] || used[b - 1]).count();
    nodes * classes.next_power_of_two() * 4
}

/// How many first bytes `a` and `b` share.
fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A contiguous NFA over `prefixes`: several times faster to build than the DFA.
fn nfa(prefixes: &[&[u8]]) -> AhoCorasick {
    automaton_of_kind(prefixes, AhoCorasickKind::ContiguousNFA)
}

fn automaton_of_kind(prefixes: &[&[u8]], kind: AhoCorasickKind) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .kind(Some(kind))
        .build(prefixes)
        .expect("keywords are plain literals")
}

/// Where the first of `chars` (non-ASCII, sorted) at or after `from` starts, or
/// `usize::MAX`. Other non-ASCII characters are stepped over whole; a byte that starts no
/// valid character, one at a time (a keyword is valid UTF-8, so none starts there).
fn next_char_of(bytes: &[u8], from: usize, chars: &[char]) -> usize {
    let mut at = from;
    loop {
        at = next_non_ascii(bytes, at);
        if at == usize::MAX {
            return at;
        }
        // A UTF-8 character is at most four bytes.
        let window = &bytes[at..bytes.len().min(at + 4)];
        let valid = match std::str::from_utf8(window) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or_default(),
        };
        match valid.chars().next() {
            Some(c) if chars.binary_search(&c).is_ok() => return at,
            Some(c) => at += c.len_utf8(),
            None => at += 1,
        }
    }
}

/// Where the first non-ASCII byte at or after `from` is, or `usize::MAX`. Blocks are
/// tested with `is_ascii`, which reads a word at a time.
fn next_non_ascii(bytes: &[u8], from: usize) -> usize {
    const BLOCK: usize = 256;
    let mut at = from;
    for block in bytes[from..].chunks(BLOCK) {
        if !block.is_ascii() {
            return at + block.iter().position(|b| !b.is_ascii()).unwrap_or(0);
        }
        at += block.len();
    }
    usize::MAX
}
