//! The streaming scanner: reads big buffers, searches them with the prefilter, and looks
//! at single lines only around a hit. Memory stays bounded whatever the input size.
//!
//! Per read buffer (a *region* of whole lines): ANSI escape sequences are removed in place
//! (so a keyword split by a colour code is still found, and rules see plain text), the
//! automaton runs over the whole region, and only the lines holding a hit are cut out
//! (with memchr) and given to the rules whose keywords hit. Lines are counted once per
//! region with a vectorised count, never one by one.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};

use memchr::{memchr, memrchr};

use super::context::LineContext;
use super::eval::WindowState;
use super::line::{self, display_text};
use super::prefilter::NextHits;
use super::trace::{NoTrace, Trace};
use super::{Engine, FindingSet};
use crate::diagnostics::Diagnostic;

/// A line longer than this is matched in pieces of this size (with an overlap), so one
/// endless line cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 8 << 20;
/// Bytes carried over between two pieces of an overlong line, so a match that straddles
/// the cut is still seen.
const PIECE_OVERLAP: usize = 64 << 10;
/// A log whose first this many bytes hold a `\r` and no `\n` ends its lines with `\r`
/// alone (old Mac style, or a tool that only redraws): each `\r` is read as a line end.
const CR_ONLY_PROBE: usize = 64 << 10;

#[derive(Clone, Copy, Debug)]
pub struct ScanOptions {
    /// Initial read-buffer size; it grows only to hold a long line.
    pub buffer_size: usize,
    /// Lines of context to keep before each evidence line (`-B`).
    pub context_before: usize,
    /// Lines of context to keep after each evidence line (`-A`).
    pub context_after: usize,
    /// Mask secrets in the lines and captures kept (off only for `--no-redact`).
    pub redact: bool,
    /// Threads one input may use: the others search the regions read ahead while one
    /// runs the rules on them in order.
    pub threads: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            buffer_size: 256 << 10,
            context_before: 0,
            context_after: 0,
            redact: true,
            threads: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{}", .0.message)]
    Rule(Box<Diagnostic>),
}

/// What a region's last line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RegionEnd {
    /// The region ends with a newline.
    Newline,
    /// The input ended without a final newline: the last line is complete.
    Eof,
    /// A piece of an overlong line: the last line continues in the next region.
    Piece,
}

/// Scans inputs with one engine. Holds the per-input state of multi-line signatures, and
/// the trace it reports to ([`NoTrace`] by default: nothing).
pub struct Scanner<'e, 'kb, T: Trace = NoTrace> {
    pub(super) engine: &'e Engine<'kb>,
    pub(super) trace: T,
    pub(super) options: ScanOptions,
    pub(super) windows: BTreeMap<u32, WindowState>,
    pub(super) candidates: Vec<u32>,
    /// Set by `eval_rule` when a regex matched the current line.
    pub(super) line_matched: bool,
    /// Context of matched lines, by line number; only when context was asked for.
    pub(super) contexts: BTreeMap<u64, LineContext>,
    /// The last `context_before` complete lines of earlier regions.
    pub(super) tail: VecDeque<(u64, String)>,
    /// Where this thread lower-cases what it searches (keywords are searched in a
    /// lower-cased copy).
    pub(super) lowered: Vec<u8>,
    /// The prefilter's search state for the region searched on this thread alone.
    pub(super) next_hits: NextHits,
    /// That region's lines the rules must see.
    pub(super) candidate_lines: CandidateLines,
    /// The keywords of the line being checked, when the searching thread left them.
    listing: Listing,
    /// The system refused the search threads once: the scanner does not ask again.
    threads_refused: bool,
    /// Of the line being checked: bytes before the start of its text in this region.
    pub(super) line_offset: u64,
    /// Search scratch for every regex the scanner runs.
    pub(super) regex_scratch: crate::rules::RegexScratch,
}

impl<'e, 'kb, T: Trace> Scanner<'e, 'kb, T> {
    pub fn new(engine: &'e Engine<'kb>, options: ScanOptions, trace: T) -> Self {
        Scanner {
            engine,
            trace,
            options,
            windows: BTreeMap::new(),
            candidates: Vec::new(),
            line_matched: false,
            contexts: BTreeMap::new(),
            tail: VecDeque::new(),
            lowered: Vec::new(),
            next_hits: Default::default(),
            candidate_lines: CandidateLines::default(),
            listing: Listing::default(),
            threads_refused: false,
            line_offset: 0,
            regex_scratch: Default::default(),
        }
    }

    /// The trace, once the scan is done.
    pub fn into_trace(self) -> T {
        self.trace
    }

    pub(super) fn wants_context(&self) -> bool {
        self.options.context_before > 0 || self.options.context_after > 0
    }

    /// Scans `reader` to its end, adding to `out`.
    ///
    /// With more than one thread, and once a region is worth sharing, the regions go
    /// through a pipeline: the other threads search the regions read after the one this
    /// thread runs the rules on, so reading, searching and the rules run side by side.
    pub fn scan<R: Read>(&mut self, reader: R, out: &mut FindingSet) -> Result<(), ScanError> {
        self.windows.clear();
        self.contexts.clear();
        self.tail.clear();
        let mut regions = Regions::new(reader, self.options.buffer_size);
        // Line number of the next region's first line.
        let mut line_no: u64 = 1;
        let scanned = self.scan_regions(&mut regions, &mut line_no, out);
        out.stats.bytes += regions.bytes;
        scanned?;
        out.stats.lines += line_no - 1;
        if self.wants_context() {
            self.attach_contexts(out);
        }
        Ok(())
    }

    /// Checks the regions on this thread alone until one is worth sharing, then hands
    /// the rest to the pipeline.
    fn scan_regions<R: Read>(
        &mut self,
        regions: &mut Regions<R>,
        line_no: &mut u64,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        let searchers = self.options.threads.saturating_sub(1);
        while let Some(region) = regions.next()? {
            if searchers > 0 && !self.threads_refused && region.len >= PARALLEL_REGION_MIN {
                return self.pipeline(region, regions, searchers, line_no, out);
            }
            self.check_alone(region, regions, line_no, out)?;
        }
        Ok(())
    }

    /// Searches a region and runs the rules on it, on this thread.
    fn check_alone<R: Read>(
        &mut self,
        region: Region,
        regions: &mut Regions<R>,
        line_no: &mut u64,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        let found = self.search_alone(&region);
        let checked = self.check_region(&region, &found, line_no, out);
        self.candidate_lines = found;
        regions.recycle(region.buffer);
        checked
    }

    /// Searches a region on this thread.
    fn search_alone(&mut self, region: &Region) -> CandidateLines {
        let every_line = self.every_line();
        let mut found = std::mem::take(&mut self.candidate_lines);
        let (scratch, memo) = (&mut self.lowered, &mut self.next_hits);
        find_candidates(
            self.engine,
            every_line,
            region.text(),
            scratch,
            memo,
            &mut found,
        );
        found
    }

    /// A trace sees every line, including those the prefilter would skip; keyword-less
    /// rules may fire on any line.
    fn every_line(&self) -> bool {
        T::ENABLED || self.engine.has_unfiltered()
    }

    /// Runs the regions from `first` on through `searchers` threads that search them,
    /// each taking the next region read, while this thread reads ahead and runs the rules
    /// on each region in order as soon as it is searched. At most `IN_FLIGHT_PER_SEARCHER`
    /// regions per searcher are read and not yet checked, which bounds the memory.
    fn pipeline<R: Read>(
        &mut self,
        first: Region,
        regions: &mut Regions<R>,
        searchers: usize,
        line_no: &mut u64,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        let (engine, every_line) = (self.engine, self.every_line());
        // A trace reports every rule a line's keywords stand for: the searchers leave it
        // the listing.
        let may_list = !T::ENABLED;
        // Regions sent and not yet taken by a searcher.
        let waiting = AtomicUsize::new(0);
        let (to_search, inbox) = mpsc::channel::<(usize, Region)>();
        let inbox = Mutex::new(inbox);
        let (searched_tx, searched) = mpsc::channel::<(usize, Searched)>();
        let mut first = Some(first);
        let piped = std::thread::scope(|scope| {
            // Moved in, so that it is dropped (and the searchers stop) however this ends.
            let to_search = to_search;
            let mut started = 0;
            for i in 0..searchers {
                let (inbox, searched_tx, waiting) = (&inbox, searched_tx.clone(), &waiting);
                let searcher = move || {
                    search_regions(engine, every_line, may_list, inbox, searched_tx, waiting)
                };
                let name = format!("arm-kb-scan-{i}");
                match std::thread::Builder::new()
                    .name(name)
                    .spawn_scoped(scope, searcher)
                {
                    Ok(_) => started += 1,
                    Err(_) => break,
                }
            }
            drop(searched_tx);
            if started == 0 {
                return None;
            }
            let limit = started * IN_FLIGHT_PER_SEARCHER;
            let (mut sent, mut checked) = (0usize, 0usize);
            let mut early = BTreeMap::new();
            let mut run = || -> Result<(), ScanError> {
                // A region in a grown buffer (a line longer than the buffer), held until
                // those before it are checked and then checked here: the pipeline would
                // multiply its memory.
                let mut held = None;
                loop {
                    while held.is_none() && sent - checked < limit {
                        let region = match first.take() {
                            Some(region) => region,
                            None => match regions.next()? {
                                Some(region) => region,
                                None => break,
                            },
                        };
                        if regions.is_oversized(&region) {
                            held = Some(region);
                            break;
                        }
                        waiting.fetch_add(1, Ordering::Relaxed);
                        if to_search.send((sent, region)).is_err() {
                            panic!("the threads searching the log stopped");
                        }
                        sent += 1;
                    }
                    if checked == sent {
                        match held.take() {
                            Some(region) => {
                                self.check_alone(region, regions, line_no, out)?;
                                continue;
                            }
                            None => return Ok(()),
                        }
                    }
                    let (region, found) = loop {
                        if let Some(done) = early.remove(&checked) {
                            break done;
                        }
                        let Ok((seq, result)) = searched.recv() else {
                            panic!("the threads searching the log stopped");
                        };
                        let Ok(done) = result else {
                            panic!("the thread searching region {seq} of the log panicked");
                        };
                        early.insert(seq, done);
                    };
                    let checked_region = self.check_region(&region, &found, line_no, out);
                    regions.recycle(region.buffer);
                    checked_region?;
                    checked += 1;
                }
            };
            Some(run())
        });
        match piped {
            Some(result) => result,
            None => {
                // The system gives no thread: the rest is checked on this one.
                self.threads_refused = true;
                if let Some(region) = first {
                    self.check_alone(region, regions, line_no, out)?;
                }
                self.scan_regions(regions, line_no, out)
            }
        }
    }

    /// Runs the rules on the candidate lines `found` of a region, with the context lines
    /// around them; `line_no` goes from its first line's number to the next region's.
    fn check_region(
        &mut self,
        region: &Region,
        found: &CandidateLines,
        line_no: &mut u64,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        let (text, end_kind, first_line) = (region.text(), region.end, *line_no);
        if text.is_empty() && end_kind == RegionEnd::Eof {
            // The last line held only escape codes (a colour reset, typically): it is
            // still a line, now empty.
            self.empty_last_line(first_line, out)?;
            *line_no += 1;
            return Ok(());
        }
        let with_context = self.wants_context();
        if with_context && end_kind != RegionEnd::Piece {
            self.fill_pending_after(text, first_line);
        }
        let mut listing = std::mem::take(&mut self.listing);
        let checked = self.check_candidates(region, found, &mut listing, first_line, out);
        self.listing = listing;
        checked?;
        if with_context {
            self.remember_tail(text, first_line, found.newlines, end_kind);
            self.prune_contexts(out);
        }
        // The last line of the input has no newline, and a piece's last line goes on.
        *line_no = first_line + found.newlines + u64::from(end_kind == RegionEnd::Eof);
        Ok(())
    }

    /// Runs the rules on each candidate line of a region (first line `first_line`),
    /// listing in `listing` the keywords of those not listed yet.
    fn check_candidates(
        &mut self,
        region: &Region,
        found: &CandidateLines,
        listing: &mut Listing,
        first_line: u64,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        let (text, end_kind) = (region.text(), region.end);
        let with_context = self.wants_context();
        for candidate in &found.lines {
            let (start, end) = (candidate.start, candidate.end);
            let number = first_line + candidate.line_in_region;
            let complete = end < text.len() || end_kind != RegionEnd::Piece;
            let (raw, lowered) = (&text[start..end], found.lowered_line(candidate));
            let listed = match &candidate.keywords {
                LineKeywords::None => Listed::default(),
                LineKeywords::Listed(ranges) => found.listing.listed(ranges),
                &LineKeywords::Unlisted { hit } => {
                    listing.clear();
                    let line = line_texts(text, &found.lowered, candidate);
                    let ranges = listing.list(self.engine, line, hit, false);
                    listing.listed(&ranges)
                }
            };
            self.line_matched = false;
            self.line_offset = if start == 0 { region.piece_offset } else { 0 };
            self.check_line(raw, lowered, number, listed, out)?;
            if with_context && self.line_matched && complete {
                self.open_context(text, start, end, number);
            }
        }
        Ok(())
    }

    /// Runs the candidate rules on one line (`listed`: what the prefilter found on it),
    /// then the keyword-less rules if no candidate rule explained it. `lowered` is the same
    /// line lower-cased, for the rules' guards.
    pub(super) fn check_line(
        &mut self,
        raw: &[u8],
        lowered: &[u8],
        line_no: u64,
        listed: Listed<'_>,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        let engine = self.engine;
        let text = line::trim_cr(raw);
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        candidates.extend_from_slice(listed.rules);
        let error_line = listed.error_line;
        if T::ENABLED {
            self.trace.line(line_no, text);
            for &(keyword, at) in listed.keywords {
                self.trace.keyword(engine.prefilter.keyword(keyword), at);
            }
        }
        if T::ENABLED && candidates.is_empty() && !engine.has_unfiltered() {
            self.trace.not_candidate();
        }
        let mut explained = false;
        let lowered = &lowered[..text.len()];
        let ascii = !candidates.is_empty() && lowered.is_ascii();
        for &index in &candidates {
            explained |= self.eval_rule(index, text, (lowered, ascii), line_no, out)?;
        }
        if !explained && engine.has_unfiltered() {
            candidates.clear();
            engine.unfiltered_candidates(text, &mut candidates)?;
            let ascii = lowered.is_ascii();
            for &index in &candidates {
                explained |= self.eval_rule(index, text, (lowered, ascii), line_no, out)?;
            }
        }
        self.candidates = candidates;
        if error_line && !explained && engine.track_error_lines {
            out.add_error_line(
                line_no,
                display_text(text, 0, self.line_offset, self.options.redact),
            );
        }
        if T::ENABLED {
            self.trace.line_done();
        }
        Ok(())
    }
}

/// A line the rules must see: its bounds in the region, its line in the region, and its
/// keywords.
pub(super) struct Candidate {
    start: usize,
    end: usize,
    /// Where its lower-cased text starts in the region's `lowered`.
    lowered_from: usize,
    line_in_region: u64,
    keywords: LineKeywords,
}

/// What the prefilter knows of a candidate line's keywords.
enum LineKeywords {
    /// None: every line is looked at, and this one has no keyword.
    None,
    /// Where the scan hit the line; its keywords are not listed yet (the thread that runs
    /// the rules lists them).
    Unlisted { hit: usize },
    /// Listed by the thread that searched the region (the ranges are in its
    /// `CandidateLines::listing`).
    Listed(ListedRanges),
}

/// The candidate lines of a region, with what their keywords stand for when the thread
/// that searched the region listed them.
#[derive(Default)]
pub(super) struct CandidateLines {
    lines: Vec<Candidate>,
    /// The lines lower-cased, one after the other, for the rules' guards.
    lowered: Vec<u8>,
    /// The keywords of the lines listed by the searching thread.
    listing: Listing,
    /// The region's newlines.
    newlines: u64,
}

impl CandidateLines {
    fn clear(&mut self) {
        self.lines.clear();
        self.lowered.clear();
        self.listing.clear();
        self.newlines = 0;
    }

    fn lowered_line(&self, line: &Candidate) -> &[u8] {
        &self.lowered[line.lowered_from..][..line.end - line.start]
    }

    /// Lists the keywords of every line not listed yet (`text`: the region), settling
    /// their rules.
    fn list_all(&mut self, engine: &Engine<'_>, text: &[u8]) {
        for candidate in &mut self.lines {
            if let LineKeywords::Unlisted { hit } = candidate.keywords {
                let line = line_texts(text, &self.lowered, candidate);
                let ranges = self.listing.list(engine, line, hit, true);
                candidate.keywords = LineKeywords::Listed(ranges);
            }
        }
    }
}

/// A candidate line without its line end, as it is and lower-cased (`lowered`: its
/// region's `CandidateLines::lowered`).
fn line_texts<'a>(text: &'a [u8], lowered: &'a [u8], line: &Candidate) -> (&'a [u8], &'a [u8]) {
    let raw = line::trim_cr(&text[line.start..line.end]);
    (raw, &lowered[line.lowered_from..][..raw.len()])
}

/// The keywords of lines and the rules they stand for, line after line.
#[derive(Default)]
pub(super) struct Listing {
    /// Each line's rules, sorted and distinct.
    rules: Vec<u32>,
    /// Each line's keywords and where they start in it.
    keywords: Vec<(u32, usize)>,
    /// One line's rules while they are sorted and settled.
    line_rules: Vec<u32>,
}

impl Listing {
    fn clear(&mut self) {
        self.rules.clear();
        self.keywords.clear();
    }

    fn listed(&self, ranges: &ListedRanges) -> Listed<'_> {
        let range = |(from, to): (u32, u32)| from as usize..to as usize;
        Listed {
            rules: &self.rules[range(ranges.rules)],
            keywords: &self.keywords[range(ranges.keywords)],
            error_line: ranges.error_line,
        }
    }

    /// Lists the keywords of a line (`lowered`: lower-cased; both without the line end)
    /// from up to the longest keyword before `hit`, and records the rules they stand for;
    /// with `settle`, only those that may still fire on it (`may_fire`).
    fn list(
        &mut self,
        engine: &Engine<'_>,
        (text, line): (&[u8], &[u8]),
        hit: usize,
        settle: bool,
    ) -> ListedRanges {
        let (rules_from, keywords_from) = (self.rules.len(), self.keywords.len());
        let from = engine.prefilter.listing_start(hit);
        let mut error_line = false;
        let (line_rules, keywords) = (&mut self.line_rules, &mut self.keywords);
        line_rules.clear();
        let rest = line.get(from..).unwrap_or_default();
        engine.prefilter.keyword_hits(rest, |keyword, at, target| {
            line_rules.extend_from_slice(&target.rules);
            error_line |= target.error_marker;
            keywords.push((keyword, from + at));
        });
        line_rules.sort_unstable();
        line_rules.dedup();
        if settle && !line_rules.is_empty() {
            let ascii = line.is_ascii();
            SETTLE_SCRATCH.with_borrow_mut(|scratch| {
                line_rules.retain(|&r| may_fire(engine.rule(r), text, (line, ascii), scratch));
            });
        }
        let rules = &mut self.rules;
        rules.extend_from_slice(line_rules);
        ListedRanges {
            rules: (rules_from as u32, rules.len() as u32),
            keywords: (keywords_from as u32, keywords.len() as u32),
            error_line,
        }
    }
}

thread_local! {
    /// The regex scratch of a thread that settles rules for the regions it searches.
    static SETTLE_SCRATCH: std::cell::RefCell<crate::rules::RegexScratch> =
        Default::default();
}

/// Whether `rule` may still fire on a line (`lowered`: the line lower-cased, and whether
/// it is ASCII): a pattern rule only if one of its patterns matches, which the thread that
/// searched the line can tell, so the scanning thread runs only those rules again (with
/// captures) and skips the others. A multi-line signature keeps state across lines and
/// always runs; a regex not compiled yet, or that does not compile, is left for the
/// scanning thread: compiling on one thread keeps the other's heap free of the compiler's
/// leftovers (2 MiB when every built-in rule fires).
fn may_fire(
    rule: &crate::rules::Rule,
    text: &[u8],
    lowered: (&[u8], bool),
    scratch: &mut crate::rules::RegexScratch,
) -> bool {
    match &rule.kind {
        crate::rules::RuleKind::Patterns(patterns) => (0..patterns.len()).any(|i| {
            rule.may_match(i, lowered.0, lowered.1)
                && match rule.regex_if_compiled(i) {
                    Some(Ok(re)) => re.is_match(scratch, text),
                    _ => true,
                }
        }),
        _ => true,
    }
}

#[derive(Clone, Copy, Default)]
struct ListedRanges {
    rules: (u32, u32),
    keywords: (u32, u32),
    error_line: bool,
}

/// What the prefilter found on a candidate line: the rules its keywords stand for
/// (sorted, distinct), the keywords and where they start, and whether one of them marks
/// an error line.
#[derive(Clone, Copy, Default)]
pub(super) struct Listed<'a> {
    rules: &'a [u32],
    keywords: &'a [(u32, usize)],
    error_line: bool,
}

/// Regions smaller than this are searched by one thread: waking another costs more than
/// it would save.
const PARALLEL_REGION_MIN: usize = 128 << 10;
/// Regions read and not yet checked, per searching thread: one being searched, the
/// others waiting or searched, so neither side waits on the other's every hiccup. On 1 GiB
/// of pipeline log through a pipe with two threads, 1 took 2.5 s, 2 took 1.25 s, 3 took
/// 1.0 to 1.17 s and 4 no less; each costs a 256 KiB buffer (30.6 MiB peak with every
/// built-in rule firing at 3, 31.0 at 4).
const IN_FLIGHT_PER_SEARCHER: usize = 3;

/// A region of whole lines as read, its escapes stripped: `buffer[..len]`.
pub(super) struct Region {
    buffer: Vec<u8>,
    len: usize,
    end: RegionEnd,
    /// Bytes of its first line in earlier pieces (an overlong line).
    piece_offset: u64,
}

impl Region {
    fn text(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

/// A searcher thread: searches the regions that come to `inbox` until none will, and
/// sends each back with its candidate lines; lists their keywords too when no region is
/// waiting (`waiting`: the regions sent and not yet taken), that is when the searchers
/// are ahead of the rules, so the work shares itself out whichever side is slower.
fn search_regions(
    engine: &Engine<'_>,
    every_line: bool,
    may_list: bool,
    inbox: &Mutex<mpsc::Receiver<(usize, Region)>>,
    searched: mpsc::Sender<(usize, Searched)>,
    waiting: &AtomicUsize,
) {
    let (mut scratch, mut memo) = (Vec::new(), NextHits::default());
    loop {
        let next = inbox.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((seq, region)) = next else { break };
        waiting.fetch_sub(1, Ordering::Relaxed);
        let _failure = SearchFailure { seq, to: &searched };
        let mut found = CandidateLines::default();
        let text = region.text();
        find_candidates(
            engine,
            every_line,
            text,
            &mut scratch,
            &mut memo,
            &mut found,
        );
        if may_list && waiting.load(Ordering::Relaxed) == 0 {
            found.list_all(engine, text);
        }
        if searched.send((seq, Ok((region, found)))).is_err() {
            break;
        }
    }
}

/// What a searcher thread gives back: the region and its candidate lines, or that it
/// panicked while searching it.
type Searched = Result<(Region, CandidateLines), ()>;

/// Tells the scanning thread that the search of region `seq` unwound (a bug), so that it
/// stops waiting for it; the scope then passes the panic on.
struct SearchFailure<'a> {
    seq: usize,
    to: &'a mpsc::Sender<(usize, Searched)>,
}

impl Drop for SearchFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.to.send((self.seq, Err(())));
        }
    }
}

/// Cuts what a reader gives into regions of whole lines, each in a buffer of its own
/// (the next region's start, an unfinished line, is moved to a fresh buffer), so a region
/// can be searched and checked while the next ones are read. Buffers come back through
/// `recycle`. A log with only `\r` line ends is read with `\r` as the line end; a line
/// longer than `MAX_LINE_BYTES` comes in overlapping pieces.
pub(super) struct Regions<R> {
    reader: R,
    /// The usual buffer size; a buffer grows only to hold a long line.
    size: usize,
    buf: Vec<u8>,
    len: usize,
    /// Undecided until a `\n` is seen or enough input has come without one.
    cr_only: Option<bool>,
    /// Bytes of the line at `buf[0]` in earlier pieces.
    piece_offset: u64,
    free: Vec<Vec<u8>>,
    /// Bytes read so far.
    bytes: u64,
    eof: bool,
    done: bool,
}

impl<R: Read> Regions<R> {
    fn new(reader: R, buffer_size: usize) -> Regions<R> {
        Regions {
            reader,
            size: buffer_size.max(1),
            buf: vec![0u8; buffer_size.max(1)],
            len: 0,
            cr_only: None,
            piece_offset: 0,
            free: Vec::new(),
            bytes: 0,
            eof: false,
            done: false,
        }
    }

    /// A buffer back from a region that is done with.
    /// Buffers grown for a long line are let go: memory stays what the usual size needs.
    fn recycle(&mut self, buffer: Vec<u8>) {
        if buffer.len() == self.size {
            self.free.push(buffer);
        }
    }

    /// Whether a region's buffer grew to hold a long line.
    fn is_oversized(&self, region: &Region) -> bool {
        region.buffer.len() > self.size
    }

    /// The next region, or None at the end of the input.
    fn next(&mut self) -> io::Result<Option<Region>> {
        while !self.eof {
            if self.len == self.buf.len() {
                if self.buf.len() < MAX_LINE_BYTES {
                    let grown = (self.buf.len() * 2).min(MAX_LINE_BYTES);
                    self.buf.resize(grown, 0);
                } else {
                    return Ok(Some(self.piece()));
                }
            }
            let n = match self.reader.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut fresh = self.len;
            self.len += n;
            self.bytes += n as u64;
            let read = &mut self.buf[..self.len];
            if self.cr_only.is_none() {
                if memchr(b'\n', read).is_some() {
                    self.cr_only = Some(false);
                } else if read.len() >= CR_ONLY_PROBE {
                    self.cr_only = Some(memchr(b'\r', read).is_some());
                    fresh = 0;
                }
            }
            if self.cr_only == Some(true) {
                cr_to_lf(&mut read[fresh..]);
            }
            if let Some(pos) = memrchr(b'\n', &read[fresh..]) {
                return Ok(Some(self.cut(fresh + pos + 1, RegionEnd::Newline)));
            }
        }
        if self.done {
            return Ok(None);
        }
        // A short log that never decided: `\r` line ends if it has no `\n`.
        if self.cr_only.is_none() {
            let rest = &mut self.buf[..self.len];
            let cr_only = memchr(b'\n', rest).is_none();
            self.cr_only = Some(cr_only);
            if cr_only {
                cr_to_lf(rest);
                if let Some(pos) = memrchr(b'\n', rest) {
                    return Ok(Some(self.cut(pos + 1, RegionEnd::Newline)));
                }
            }
        }
        self.done = true;
        Ok((self.len > 0).then(|| self.cut(self.len, RegionEnd::Eof)))
    }

    /// `buf[..end]` as a region; the rest moves to the start of a buffer of its own.
    fn cut(&mut self, end: usize, kind: RegionEnd) -> Region {
        let kept = line::strip_escapes_in_place(&mut self.buf[..end]);
        let rest = self.len - end;
        let mut next = self.fresh_buffer(rest);
        next[..rest].copy_from_slice(&self.buf[end..self.len]);
        self.len = rest;
        Region {
            buffer: std::mem::replace(&mut self.buf, next),
            len: kept,
            end: kind,
            piece_offset: std::mem::take(&mut self.piece_offset),
        }
    }

    /// The full buffer of one overlong line as a region; its last bytes start the next
    /// piece, so a match that straddles the cut is still seen.
    fn piece(&mut self) -> Region {
        let kept = line::strip_escapes_in_place(&mut self.buf[..self.len]);
        let overlap = PIECE_OVERLAP.min(kept);
        let mut next = self.fresh_buffer(overlap);
        next[..overlap].copy_from_slice(&self.buf[kept - overlap..kept]);
        self.len = overlap;
        let piece_offset = self.piece_offset;
        self.piece_offset += (kept - overlap) as u64;
        Region {
            buffer: std::mem::replace(&mut self.buf, next),
            len: kept,
            end: RegionEnd::Piece,
            piece_offset,
        }
    }

    /// A buffer of the usual size, or longer to hold `kept` bytes and a read: a recycled
    /// one if there is one (zeroed memory is only touched once written).
    fn fresh_buffer(&mut self, kept: usize) -> Vec<u8> {
        if kept < self.size {
            if let Some(buffer) = self.free.pop() {
                return buffer;
            }
        }
        vec![0u8; self.size.max(kept.saturating_mul(2))]
    }
}

/// The candidate lines of a region (with `every_line`, every line: a trace, or keyword-less
/// rules), where the scan hit them, and its newlines counted. Keywords are searched in a
/// lower-cased copy (in `scratch`), so the automaton can be case-sensitive; offsets are the
/// same in both, and the candidate lines keep theirs.
fn find_candidates(
    engine: &Engine<'_>,
    every_line: bool,
    text: &[u8],
    scratch: &mut Vec<u8>,
    memo: &mut NextHits,
    out: &mut CandidateLines,
) {
    memo.clear();
    out.clear();
    scratch.clear();
    scratch.extend(text.iter().map(u8::to_ascii_lowercase));
    let lowered = &scratch[..];
    let mut pos = 0usize;
    let mut next_hit: Option<usize> = None;
    let (mut counted, mut newlines) = (0usize, 0u64);
    while pos < text.len() {
        if next_hit.is_none_or(|h| h < pos) {
            next_hit = Some(engine.prefilter.next_hit(lowered, pos, memo));
        }
        let hit = next_hit.unwrap_or(usize::MAX);
        let at = if every_line { pos } else { hit };
        if at == usize::MAX {
            break;
        }
        let start = memrchr(b'\n', &text[pos..at]).map_or(pos, |i| pos + i + 1);
        let end = memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
        newlines += count_newlines(&text[counted..start]) as u64;
        counted = start;
        let keywords = match hit < end {
            true => LineKeywords::Unlisted { hit: hit - start },
            false => LineKeywords::None,
        };
        let lowered_from = out.lowered.len();
        out.lowered.extend_from_slice(&lowered[start..end]);
        out.lines.push(Candidate {
            start,
            end,
            lowered_from,
            line_in_region: newlines,
            keywords,
        });
        pos = end + 1;
    }
    out.newlines = newlines + count_newlines(&text[counted..]) as u64;
}

/// Every `\r` of a log with only `\r` line ends, made a `\n`.
fn cr_to_lf(bytes: &mut [u8]) {
    for b in bytes.iter_mut().filter(|b| **b == b'\r') {
        *b = b'\n';
    }
}

/// Counts newlines with a SIMD population count: no per-line work.
pub(crate) fn count_newlines(bytes: &[u8]) -> usize {
    bytecount::count(bytes, b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::KnowledgeBase;
    use crate::matcher::ContextLine;

    fn kb(rules: &str) -> KnowledgeBase {
        crate::kb::test_kb(rules)
    }

    const SECRET_RULE: &str =
        "[[rule]]\nid = 'r'\narticle = 'a'\npatterns = ['AADSTS7000222: app (?P<app>\\w+)']\n";

    fn scan(kb: &KnowledgeBase, options: ScanOptions, log: &[u8]) -> FindingSet {
        let engine = Engine::new(kb, false);
        let mut set = FindingSet::new(None);
        engine.scanner(options).scan(log, &mut set).unwrap();
        set
    }

    fn evidence(set: FindingSet, kb: &KnowledgeBase) -> Vec<super::super::Evidence> {
        crate::report::Report::build(set, kb)
            .findings
            .into_iter()
            .flat_map(|f| f.evidence)
            .collect()
    }

    fn numbered_log(lines: usize, hits: &[usize]) -> String {
        (1..=lines)
            .map(|n| {
                if hits.contains(&n) {
                    format!("AADSTS7000222: app x{n}\n")
                } else {
                    format!("plain line {n}\n")
                }
            })
            .collect()
    }

    fn lines(from: u64, to: u64) -> Vec<ContextLine> {
        (from..=to)
            .map(|n| ContextLine {
                line: n,
                text: format!("plain line {n}"),
            })
            .collect()
    }

    fn context(line: u64, text: &str) -> ContextLine {
        ContextLine {
            line,
            text: text.to_owned(),
        }
    }

    #[test]
    fn counts_newlines_like_a_plain_count() {
        let mut bytes = Vec::new();
        for i in 0..20_000u32 {
            bytes.extend_from_slice(if i % 7 == 0 { b"\n" } else { b"ab" });
        }
        for len in [0, 1, 31, 32, 8159, 8160, 8161, bytes.len()] {
            let slice = &bytes[..len];
            let naive = slice.iter().filter(|&&b| b == b'\n').count();
            assert_eq!(count_newlines(slice), naive, "len {len}");
        }
    }

    #[test]
    fn a_long_keyword_must_be_on_the_line_whole_in_any_case() {
        // The automaton holds only the first 16 bytes of a keyword: a line with that
        // prefix but not the whole keyword is no candidate.
        let kb = kb(r#"
[[rule]]
id = "long"
article = "a"
keywords = ["Client secret keys for app"]
patterns = ["(?i)client secret"]
"#);
        let log = b"client secret keys expired\nCLIENT SECRET KEYS FOR APP 'a'\nclient secret keys for ap\n";
        let lines: Vec<u64> = evidence(scan(&kb, ScanOptions::default(), log), &kb)
            .iter()
            .map(|e| e.line)
            .collect();
        assert_eq!(lines, [2]);
    }

    #[test]
    fn a_regex_guard_skips_only_lines_that_cannot_match() {
        // The keyword is everywhere; the regex needs `key vault secret is `, which guards
        // it. A line with the Kelvin sign (which `(?i)k` matches) is not ASCII: the regex
        // still runs.
        let kb = kb(r###"
[[rule]]
id = "guarded"
article = "a"
keywords = ["##[debug]"]
patterns = ['(?i)##\[debug\].*key vault secret is (?P<state>\w+)']
"###);
        let log = "##[debug]nothing here\n##[debug]KEY VAULT SECRET IS empty\n##[debug]\u{212A}ey vault secret is unset\n##[debug]ke y vault secret is x\n";
        let found: Vec<(u64, String)> =
            evidence(scan(&kb, ScanOptions::default(), log.as_bytes()), &kb)
                .iter()
                .map(|e| (e.line, e.captures["state"].clone()))
                .collect();
        assert_eq!(found, [(2, "empty".to_string()), (3, "unset".to_string())]);
    }

    #[test]
    fn keywords_sharing_a_prefix_each_reach_their_rule() {
        // Both keywords start with the same 16 bytes: one automaton prefix, two keywords.
        let kb = kb(r#"
[[rule]]
id = "one"
article = "a"
keywords = ["AADSTS7000222: the first"]
patterns = ["first"]

[[rule]]
id = "two"
article = "a"
keywords = ["AADSTS7000222: the second"]
patterns = ["second"]
"#);
        let log = b"AADSTS7000222: the second\nAADSTS7000222: the first, the second\n";
        let found: Vec<(u64, String)> = evidence(scan(&kb, ScanOptions::default(), log), &kb)
            .iter()
            .map(|e| (e.line, e.rule.to_string()))
            .collect();
        assert_eq!(found, [(1, "two".to_string()), (2, "one".to_string())]);
    }

    #[test]
    fn finds_a_keyword_split_by_a_colour_code() {
        let kb = kb(SECRET_RULE);
        let log = b"ok\n\x1b[31mAADS\x1b[1mTS7000222\x1b[0m: app abc\nok\n";
        let found = evidence(scan(&kb, ScanOptions::default(), log), &kb);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 2);
        assert_eq!(found[0].text, "AADSTS7000222: app abc");
        assert_eq!(found[0].captures["app"], "abc");
    }

    #[test]
    fn line_numbers_hold_across_tiny_buffers() {
        let kb = kb(SECRET_RULE);
        let log = numbered_log(300, &[1, 57, 58, 299, 300]);
        for buffer_size in [1, 7, 64, 4096] {
            let options = ScanOptions {
                buffer_size,
                ..ScanOptions::default()
            };
            let set = scan(&kb, options, log.as_bytes());
            assert_eq!(set.stats.lines, 300);
            let got: Vec<u64> = evidence(set, &kb).iter().map(|e| e.line).collect();
            assert_eq!(got, [1, 57, 58, 299, 300], "buffer {buffer_size}");
        }
    }

    #[test]
    fn collects_context_lines_like_grep() {
        let kb = kb(SECRET_RULE);
        let log = numbered_log(40, &[2, 20, 40]);
        for buffer_size in [1, 16, 50, 100, 1 << 16] {
            let options = ScanOptions {
                buffer_size,
                context_before: 3,
                context_after: 2,
                ..ScanOptions::default()
            };
            let found = evidence(scan(&kb, options, log.as_bytes()), &kb);
            let at = |line| found.iter().find(|e| e.line == line).unwrap();
            assert_eq!(at(2).context_before, lines(1, 1), "buffer {buffer_size}");
            assert_eq!(at(2).context_after, lines(3, 4), "buffer {buffer_size}");
            assert_eq!(at(20).context_before, lines(17, 19), "buffer {buffer_size}");
            assert_eq!(at(20).context_after, lines(21, 22), "buffer {buffer_size}");
            assert_eq!(at(40).context_before, lines(37, 39), "buffer {buffer_size}");
            assert!(at(40).context_after.is_empty(), "buffer {buffer_size}");
        }
    }

    #[test]
    fn context_includes_neighbouring_evidence_and_a_last_line_without_newline() {
        let kb = kb(SECRET_RULE);
        let log = "plain line 1\nAADSTS7000222: app q\nAADSTS7000222: app r\nplain line 4";
        for buffer_size in [1, 8, 1 << 16] {
            let options = ScanOptions {
                buffer_size,
                context_before: 1,
                context_after: 1,
                ..ScanOptions::default()
            };
            let found = evidence(scan(&kb, options, log.as_bytes()), &kb);
            assert_eq!(found[0].context_before, lines(1, 1));
            assert_eq!(found[0].context_after, [context(3, "AADSTS7000222: app r")]);
            assert_eq!(
                found[1].context_before,
                [context(2, "AADSTS7000222: app q")]
            );
            assert_eq!(found[1].context_after, lines(4, 4), "buffer {buffer_size}");
        }
    }

    #[test]
    fn window_parts_get_their_own_context() {
        let kb = kb(
            "[[rule]]\nid = 'w'\narticle = 'a'\nall = ['first part', 'second part']\nwindow = 5\n",
        );
        let log =
            "plain line 1\nfirst part\nplain line 3\nplain line 4\nsecond part\nplain line 6\n";
        for buffer_size in [1, 8, 1 << 16] {
            let options = ScanOptions {
                buffer_size,
                context_before: 1,
                context_after: 1,
                ..ScanOptions::default()
            };
            let found = evidence(scan(&kb, options, log.as_bytes()), &kb);
            assert_eq!(found.len(), 2);
            assert_eq!(found[0].context_before, lines(1, 1));
            assert_eq!(found[0].context_after, lines(3, 3));
            assert_eq!(found[1].context_before, lines(4, 4));
            assert_eq!(found[1].context_after, lines(6, 6), "buffer {buffer_size}");
        }
    }

    #[test]
    fn no_context_unless_asked() {
        let kb = kb(SECRET_RULE);
        let found = evidence(
            scan(
                &kb,
                ScanOptions::default(),
                numbered_log(5, &[3]).as_bytes(),
            ),
            &kb,
        );
        assert!(found[0].context_before.is_empty() && found[0].context_after.is_empty());
    }

    #[test]
    fn threads_searching_parts_of_a_region_find_what_one_thread_finds() {
        // Hits on both sides of every region boundary, a window across regions, context
        // lines, and regions of several sizes, some too small to share.
        let kb = kb(concat!(
            "[[rule]]\nid = 'k'\narticle = 'a'\npatterns = ['AADSTS7000222: app (?P<app>\\w+)']\n\n",
            "[[rule]]\nid = 'w'\narticle = 'a'\nall = ['first part', 'second part']\nwindow = 3\n",
        ));
        let mut log = String::new();
        for n in 1..=40_000u32 {
            match n % 997 {
                0 => log.push_str(&format!("AADSTS7000222: app x{n}\n")),
                1 => log.push_str("first part\n"),
                3 => log.push_str("second part\n"),
                _ => log.push_str(&format!("plain line {n} with some more text\n")),
            }
        }
        let found = |threads, buffer_size| {
            let options = ScanOptions {
                threads,
                buffer_size,
                context_before: 2,
                context_after: 1,
                ..ScanOptions::default()
            };
            let set = scan(&kb, options, log.as_bytes());
            let lines = set.stats.lines;
            let findings = crate::report::Report::build(set, &kb).findings;
            let totals: Vec<u64> = findings.iter().map(|f| f.evidence_total).collect();
            let evidence: Vec<String> = findings
                .iter()
                .flat_map(|f| &f.evidence)
                .map(|e| {
                    let (before, after) = (&e.context_before, &e.context_after);
                    format!(
                        "{} {} {:?} {before:?} {after:?}",
                        e.rule, e.line, e.captures
                    )
                })
                .collect();
            (lines, totals, evidence)
        };
        let alone = found(1, 256 << 10);
        assert_eq!(alone.0, 40_000);
        // Every hit is counted: 40 single lines, 41 windows of two lines.
        assert_eq!(alone.1, [40 + 2 * 41]);
        assert!(!alone.2.is_empty());
        for (threads, buffer_size) in [(2, 256 << 10), (3, 200 << 10), (2, 4096), (4, 8 << 20)] {
            assert_eq!(
                found(threads, buffer_size),
                alone,
                "{threads} threads, {buffer_size} bytes"
            );
        }
    }

    /// A reader that hands out at most `step` bytes per read, as a pipe may.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn regions_of(bytes: &[u8], step: usize, buffer_size: usize) -> Vec<(Vec<u8>, RegionEnd)> {
        let mut regions = Regions::new(Trickle { bytes, step }, buffer_size);
        let mut out = Vec::new();
        while let Some(region) = regions.next().unwrap() {
            out.push((region.text().to_vec(), region.end));
            regions.recycle(region.buffer);
        }
        assert_eq!(regions.bytes, bytes.len() as u64);
        out
    }

    #[test]
    fn regions_are_whole_lines_in_order_whatever_the_reads() {
        let log: Vec<u8> = (0..5_000)
            .flat_map(|i| {
                format!("line {i} \x1b[31mred\x1b[0m {}\n", "x".repeat(i % 70)).into_bytes()
            })
            .chain(*b"last line without newline")
            .collect();
        let plain = String::from_utf8(log.clone())
            .unwrap()
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        for (step, buffer_size) in [(1 << 20, 256 << 10), (7, 4096), (4096, 100), (1, 64)] {
            let regions = regions_of(&log, step, buffer_size);
            let (last, middle) = regions.split_last().unwrap();
            assert_eq!(last.1, RegionEnd::Eof, "{step} {buffer_size}");
            assert_eq!(last.0, b"last line without newline");
            for (text, end) in middle {
                assert_eq!(*end, RegionEnd::Newline);
                assert_eq!(text.last(), Some(&b'\n'));
            }
            let joined: Vec<u8> = regions.iter().flat_map(|(text, _)| text.clone()).collect();
            assert_eq!(
                String::from_utf8(joined).unwrap(),
                plain,
                "{step} {buffer_size}"
            );
        }
    }

    #[test]
    fn regions_read_lone_carriage_returns_as_line_ends() {
        // Decided on the first 64 KiB, or at the end of a shorter log.
        let long: Vec<u8> = b"one\rtwo\r".repeat(10_000);
        let regions = regions_of(&long, 1000, 4096);
        assert!(regions.iter().all(|(text, _)| !text.contains(&b'\r')));
        assert_eq!(
            regions.iter().map(|(t, _)| t.len()).sum::<usize>(),
            long.len()
        );
        let short = regions_of(b"a\rb\rc", 2, 64);
        assert_eq!(
            short,
            [
                (b"a\nb\n".to_vec(), RegionEnd::Newline),
                (b"c".to_vec(), RegionEnd::Eof)
            ]
        );
        // A `\r` before a `\n` is part of a CRLF line end and stays.
        assert_eq!(regions_of(b"a\r\nb", 64, 64)[0].0, b"a\r\n");
    }

    #[test]
    fn a_panic_while_searching_a_region_reaches_the_scanning_thread() {
        let (to, searched) = mpsc::channel();
        let searcher = std::thread::spawn(move || {
            let _failure = SearchFailure { seq: 7, to: &to };
            panic!("a bug in the search");
        });
        assert!(searcher.join().is_err());
        // The scanning thread learns which region failed instead of waiting for it.
        let (seq, result) = searched.recv().unwrap();
        assert!(seq == 7 && result.is_err());
        // A search that ends normally sends nothing.
        let (to, searched) = mpsc::channel::<(usize, Searched)>();
        drop(SearchFailure { seq: 1, to: &to });
        assert!(searched.try_recv().is_err());
    }

    #[test]
    fn keywordless_rules_run_only_where_nothing_else_fired() {
        let kb = kb(
            "[[rule]]\nid = 'k'\narticle = 'a'\npatterns = ['AADSTS7000222']\n\n[[rule]]\nid = 'digits'\narticle = 'a'\npatterns = ['^\\d+$']\n",
        );
        assert!(kb.rules[1].keywords.is_empty());
        let log = b"12\nAADSTS7000222\nx\n345\n";
        let set = scan(&kb, ScanOptions::default(), log);
        let found = evidence(set, &kb);
        let got: Vec<(u64, &str)> = found.iter().map(|e| (e.line, e.rule.as_str())).collect();
        assert_eq!(got, [(1, "digits"), (2, "k"), (4, "digits")]);
    }
}
