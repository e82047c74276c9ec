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
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};

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
    /// Threads one input may use: the prefilter searches parts of a region at once, and
    /// the rules then run on its candidate lines in order.
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
#[derive(Clone, Copy, PartialEq, Eq)]
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
    /// A lower-cased copy of the region, where keywords are searched.
    pub(super) lowered: Vec<u8>,
    /// The engine's per-group search state for the current region.
    pub(super) next_hits: NextHits,
    /// The current region's lines the rules must see.
    pub(super) candidate_lines: CandidateLines,
    /// Threads that search parts of a region beside this one (`options.threads` above
    /// one), started on the first region worth sharing.
    pool: Option<rayon::ThreadPool>,
    /// The system refused the search threads once: the scanner does not ask again.
    pool_refused: bool,
    /// Bytes of the current line in earlier pieces (an overlong line), so a shown line
    /// says where it starts within the whole line.
    pub(super) piece_offset: u64,
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
            pool: None,
            pool_refused: false,
            piece_offset: 0,
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
    pub fn scan<R: Read>(&mut self, mut reader: R, out: &mut FindingSet) -> Result<(), ScanError> {
        self.windows.clear();
        self.contexts.clear();
        self.tail.clear();
        self.piece_offset = 0;
        // Undecided until a `\n` is seen or enough input has come without one.
        let mut cr_only: Option<bool> = None;
        // Parts of a region searched at once must each be worth waking a thread for.
        let buffer_size = match self.options.threads {
            0 | 1 => self.options.buffer_size,
            _ => self.options.buffer_size.max(PARALLEL_BUFFER_BYTES),
        };
        let mut buf = vec![0u8; buffer_size.max(1)];
        let mut len = 0usize;
        // Line number of buf[0].
        let mut line_no: u64 = 1;
        loop {
            if len == buf.len() {
                if buf.len() < MAX_LINE_BYTES {
                    buf.resize((buf.len() * 2).min(MAX_LINE_BYTES), 0);
                } else {
                    // One line fills the whole buffer: match this piece, keep the tail.
                    let (_, kept) =
                        self.process(&mut buf[..len], line_no, RegionEnd::Piece, out)?;
                    let overlap = PIECE_OVERLAP.min(kept);
                    buf.copy_within(kept - overlap..kept, 0);
                    len = overlap;
                    self.piece_offset += (kept - overlap) as u64;
                }
            }
            let n = match reader.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            let mut fresh = len;
            len += n;
            out.stats.bytes += n as u64;
            if cr_only.is_none() {
                if memchr(b'\n', &buf[..len]).is_some() {
                    cr_only = Some(false);
                } else if len >= CR_ONLY_PROBE {
                    cr_only = Some(memchr(b'\r', &buf[..len]).is_some());
                    fresh = 0;
                }
            }
            if cr_only == Some(true) {
                cr_to_lf(&mut buf[fresh..len]);
            }
            if let Some(pos) = memrchr(b'\n', &buf[fresh..len]) {
                let end = fresh + pos + 1;
                let (newlines, _) =
                    self.process(&mut buf[..end], line_no, RegionEnd::Newline, out)?;
                line_no += newlines;
                buf.copy_within(end..len, 0);
                len -= end;
                self.piece_offset = 0;
            }
        }
        if cr_only.is_none() && memchr(b'\n', &buf[..len]).is_none() {
            cr_to_lf(&mut buf[..len]);
            if let Some(pos) = memrchr(b'\n', &buf[..len]) {
                let end = pos + 1;
                let (newlines, _) =
                    self.process(&mut buf[..end], line_no, RegionEnd::Newline, out)?;
                line_no += newlines;
                buf.copy_within(end..len, 0);
                len -= end;
            }
        }
        if len > 0 {
            self.process(&mut buf[..len], line_no, RegionEnd::Eof, out)?;
            line_no += 1;
        }
        out.stats.lines += line_no - 1;
        if self.wants_context() {
            self.attach_contexts(out);
        }
        Ok(())
    }

    /// Processes whole lines (the region ends at a newline, at the input's end, or is a
    /// piece of an overlong line). Strips ANSI escapes in place first. Returns the number
    /// of newlines in the region and its length after stripping.
    fn process(
        &mut self,
        region: &mut [u8],
        first_line: u64,
        end_kind: RegionEnd,
        out: &mut FindingSet,
    ) -> Result<(u64, usize), ScanError> {
        let kept = line::strip_escapes_in_place(region);
        let region: &[u8] = &region[..kept];
        if region.is_empty() && end_kind == RegionEnd::Eof {
            // The last line held only escape codes (a colour reset, typically): it is
            // still a line, now empty.
            self.empty_last_line(first_line, out)?;
            return Ok((0, kept));
        }
        let with_context = self.wants_context();
        if with_context && end_kind != RegionEnd::Piece {
            self.fill_pending_after(region, first_line);
        }

        // Keywords are searched in a lower-cased copy, so the automaton can be
        // case-sensitive; offsets are the same in both. The copy is only grown, never
        // cleared: each byte of the region's share is written before it is read.
        let mut lowered = std::mem::take(&mut self.lowered);
        if lowered.len() < region.len() {
            lowered.resize(region.len(), 0);
        }
        let mut candidates = std::mem::take(&mut self.candidate_lines);
        let mut cursor = first_line;
        let checked = self.search_and_check(
            region,
            &mut lowered[..region.len()],
            &mut candidates,
            end_kind,
            &mut cursor,
            out,
        );
        self.lowered = lowered;
        self.candidate_lines = candidates;
        checked?;
        let newlines = cursor - first_line;

        if with_context {
            self.remember_tail(region, first_line, newlines, end_kind);
            self.prune_contexts(out);
        }
        Ok((newlines, kept))
    }

    /// Lower-cases `region` into `lowered`, finds its candidate lines and runs the rules on
    /// them in order; `line` goes from the region's first line number to the one after it. With more than one thread and a region big enough to share, the
    /// region is cut into parts of whole lines that the threads search at once, this one
    /// among them: it runs the rules on each part as soon as that part and those before
    /// it are searched, and searches a part itself whenever it would otherwise wait.
    fn search_and_check(
        &mut self,
        region: &[u8],
        lowered: &mut [u8],
        candidates: &mut CandidateLines,
        end_kind: RegionEnd,
        line: &mut u64,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        // A trace sees every line, including those the prefilter would skip.
        let every_line = T::ENABLED || self.engine.has_unfiltered();
        // Rules are settled ahead only by threads beside this one (on one thread it would
        // be the same work twice, with a second regex scratch), and never for a trace,
        // which reports every candidate rule.
        let mode = PartMode {
            every_line,
            settle: false,
        };
        let engine = self.engine;
        let wanted = match self.options.threads {
            0 | 1 => 1,
            threads => threads * PARTS_PER_THREAD,
        };
        let parts = split_at_lines(region, wanted);
        let pool = match parts.len() {
            1 => None,
            _ if self.pool_refused => None,
            _ => self.pool.take().or_else(|| {
                let pool = start_pool(self.options.threads);
                self.pool_refused = pool.is_none();
                pool
            }),
        };
        let Some(pool) = pool else {
            lower_into(region, lowered);
            let memo = &mut self.next_hits;
            find_in_part(engine, mode, region, lowered, 0, memo, candidates);
            return self.check_part(region, (0, lowered), candidates, end_kind, line, out);
        };
        let mode = PartMode {
            settle: !T::ENABLED,
            ..mode
        };
        let shared = SharedSearch::new(engine, mode, region, lowered, &parts);
        let checked = pool.in_place_scope(|scope| {
            for _ in 0..pool.current_num_threads() {
                scope.spawn(|_| while shared.search_next(End::Front) {});
            }
            for index in 0..parts.len() {
                let (part, found) = shared.wait_for(index);
                self.check_part(region, part, found, end_kind, line, out)?;
            }
            Ok(())
        });
        self.pool = Some(pool);
        checked
    }

    /// Runs the rules on the candidate lines `found` of one part of `region` (`part`: where
    /// it starts in the region, and its lower-cased text); `line` is the number of the
    /// part's first line, then of the next part's.
    fn check_part(
        &mut self,
        region: &[u8],
        (from, lowered): (usize, &[u8]),
        found: &CandidateLines,
        end_kind: RegionEnd,
        line: &mut u64,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        let with_context = self.wants_context();
        for candidate in &found.lines {
            let (start, end) = (candidate.start, candidate.end);
            let line_no = *line + candidate.line_in_part;
            let complete = end < region.len() || end_kind != RegionEnd::Piece;
            self.line_matched = false;
            self.line_offset = if start == 0 { self.piece_offset } else { 0 };
            self.check_line(
                &region[start..end],
                &lowered[start - from..end - from],
                line_no,
                found.listed(candidate),
                out,
            )?;
            if with_context && self.line_matched && complete {
                self.open_context(region, start, end, line_no);
            }
        }
        *line += found.newlines;
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

/// A line the rules must see: its bounds in the region, its line in its part, and what
/// the prefilter found on it (the ranges are in its part's `CandidateLines`; empty when
/// every line is looked at and this one has no keyword).
pub(super) struct Candidate {
    start: usize,
    end: usize,
    line_in_part: u64,
    rules: (u32, u32),
    keywords: (u32, u32),
    error_line: bool,
}

/// The candidate lines of one part, with what their keywords stand for: listed by the
/// thread that searched the part, so the thread that runs the rules does not.
#[derive(Default)]
pub(super) struct CandidateLines {
    lines: Vec<Candidate>,
    /// Each line's rules, sorted and distinct.
    rules: Vec<u32>,
    /// Each line's keywords and where they start in it.
    keywords: Vec<(u32, usize)>,
    /// The part's newlines.
    newlines: u64,
    /// One line's rules while they are sorted and settled.
    line_rules: Vec<u32>,
}

impl CandidateLines {
    fn clear(&mut self) {
        self.lines.clear();
        self.rules.clear();
        self.keywords.clear();
        self.newlines = 0;
    }

    fn listed(&self, line: &Candidate) -> Listed<'_> {
        let range = |(from, to): (u32, u32)| from as usize..to as usize;
        Listed {
            rules: &self.rules[range(line.rules)],
            keywords: &self.keywords[range(line.keywords)],
            error_line: line.error_line,
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

/// How a part is searched: every line a candidate (a trace, or keyword-less rules), and
/// whether the rules of a line are settled by the searching thread.
#[derive(Clone, Copy)]
struct PartMode {
    every_line: bool,
    settle: bool,
}

thread_local! {
    /// The regex scratch of a thread that settles rules for the parts it searches.
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

#[derive(Default)]
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
/// Parts a region is cut into per thread, so that the thread that runs the rules can
/// start on the first parts while the others are searched, and search some itself.
const PARTS_PER_THREAD: usize = 8;
/// The read buffer when a region is searched by several threads. On 1 GiB of pipeline
/// log with two threads, 256 KiB regions took 5.3 s and 1 MiB ones 4.6 s (one thread:
/// 5.7 s): each part must be long enough to pay for handing it over.
const PARALLEL_BUFFER_BYTES: usize = 1 << 20;

/// Where each of up to `parts` parts of `region` ends, every part whole lines of about
/// the same size (a region of one long line is one part).
fn split_at_lines(region: &[u8], parts: usize) -> Vec<usize> {
    if parts <= 1 || region.len() < PARALLEL_REGION_MIN {
        return vec![region.len()];
    }
    let step = region.len().div_ceil(parts);
    let mut ends = Vec::with_capacity(parts);
    let mut from = 0;
    while from < region.len() {
        let target = (from + step).min(region.len());
        let end = match memchr(b'\n', &region[target - 1..]) {
            Some(i) if target < region.len() => target + i,
            _ => region.len(),
        };
        ends.push(end);
        from = end;
    }
    ends
}

/// The threads beside the scanning one: one fewer than asked for, so none waits for a
/// core. `None` if the system refuses threads (the region is then searched by one).
fn start_pool(threads: usize) -> Option<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.saturating_sub(1).max(1))
        .thread_name(|i| format!("arm-kb-scan-{i}"))
        .build()
        .ok()
}

/// The parts of one region while threads search them: each part is taken once, by
/// whichever thread comes first, and its lower-cased text and candidate lines are then
/// read by the thread that runs the rules.
struct SharedSearch<'r, 'e, 'kb> {
    engine: &'e Engine<'kb>,
    mode: PartMode,
    region: &'r [u8],
    parts: Vec<Part<'r>>,
    /// The parts nobody has taken yet: the other threads take them from the front, in
    /// the order the rules need them; the scanning thread, when it would wait, takes
    /// them from the back, so that its rules keep following the others' search.
    untaken: Mutex<std::ops::Range<usize>>,
    /// Signalled whenever a part is done.
    done: (Mutex<()>, Condvar),
}

struct Part<'r> {
    from: usize,
    to: usize,
    /// Where its lower-cased text goes, until a thread takes it.
    lowered: Mutex<Option<&'r mut [u8]>>,
    /// Its lower-cased text and candidate lines, once searched.
    found: OnceLock<(&'r [u8], CandidateLines)>,
    /// The thread searching it panicked (a bug): whoever waits for it must not wait on.
    failed: std::sync::atomic::AtomicBool,
}

impl<'r, 'e, 'kb> SharedSearch<'r, 'e, 'kb> {
    fn new(
        engine: &'e Engine<'kb>,
        mode: PartMode,
        region: &'r [u8],
        mut lowered: &'r mut [u8],
        ends: &[usize],
    ) -> Self {
        let mut from = 0;
        let parts: Vec<Part<'r>> = ends
            .iter()
            .map(|&to| {
                let (own, rest) = std::mem::take(&mut lowered).split_at_mut(to - from);
                lowered = rest;
                let part = Part {
                    from,
                    to,
                    lowered: Mutex::new(Some(own)),
                    found: OnceLock::new(),
                    failed: Default::default(),
                };
                from = to;
                part
            })
            .collect();
        SharedSearch {
            engine,
            mode,
            region,
            untaken: Mutex::new(0..parts.len()),
            parts,
            done: (Mutex::new(()), Condvar::new()),
        }
    }

    /// Searches a part nobody has taken, from the front or the back of those left; false
    /// when none is left.
    fn search_next(&self, end: End) -> bool {
        let index = {
            let mut untaken = self.untaken.lock().unwrap_or_else(PoisonError::into_inner);
            match end {
                End::Front => untaken.next(),
                End::Back => untaken.next_back(),
            }
        };
        let Some(part) = index.and_then(|index| self.parts.get(index)) else {
            return false;
        };
        let own = part
            .lowered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(own) = own {
            let text = &self.region[part.from..part.to];
            lower_into(text, own);
            let mut found = CandidateLines::default();
            let mut memo = NextHits::default();
            let _failure = FailureSignal {
                part,
                done: &self.done,
            };
            find_in_part(
                self.engine,
                self.mode,
                text,
                own,
                part.from,
                &mut memo,
                &mut found,
            );
            let _ = part.found.set((own, found));
        }
        let _signal = self.done.0.lock().unwrap_or_else(PoisonError::into_inner);
        self.done.1.notify_all();
        true
    }

    /// Part `index` once searched (where it starts, its lower-cased text) and its
    /// candidate lines; searches other parts while waiting, if any are left.
    fn wait_for(&self, index: usize) -> ((usize, &'r [u8]), &CandidateLines) {
        let part = &self.parts[index];
        loop {
            if let Some((lowered, found)) = part.found.get() {
                return ((part.from, *lowered), found);
            }
            if part.failed.load(std::sync::atomic::Ordering::Acquire) {
                panic!("the thread searching part {index} of a region panicked");
            }
            if !self.search_next(End::Back) {
                let mut signal = self.done.0.lock().unwrap_or_else(PoisonError::into_inner);
                while part.found.get().is_none()
                    && !part.failed.load(std::sync::atomic::Ordering::Acquire)
                {
                    signal = self
                        .done
                        .1
                        .wait(signal)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }
}

/// Marks its part failed and wakes the waiting thread if the search of the part unwinds
/// (a panic in another thread would otherwise leave the scanning thread waiting forever;
/// the pool passes the panic on when its scope ends).
struct FailureSignal<'p, 'r> {
    part: &'p Part<'r>,
    done: &'p (Mutex<()>, Condvar),
}

impl Drop for FailureSignal<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.part
                .failed
                .store(true, std::sync::atomic::Ordering::Release);
            let _signal = self.done.0.lock().unwrap_or_else(PoisonError::into_inner);
            self.done.1.notify_all();
        }
    }
}

/// Which end of the parts left a thread takes one from.
#[derive(Clone, Copy)]
enum End {
    Front,
    Back,
}

/// `text` lower-cased (ASCII) into `out`, of the same length: one vectorised pass.
fn lower_into(text: &[u8], out: &mut [u8]) {
    for (o, t) in out.iter_mut().zip(text) {
        *o = t.to_ascii_lowercase();
    }
}

/// The candidate lines of one part of a region (`offset`: where the part starts in it),
/// with region offsets, their keywords listed, and the part's newlines counted.
fn find_in_part(
    engine: &Engine<'_>,
    mode: PartMode,
    text: &[u8],
    lowered: &[u8],
    offset: usize,
    memo: &mut NextHits,
    out: &mut CandidateLines,
) {
    memo.clear();
    out.clear();
    let mut pos = 0usize;
    let mut next_hit: Option<usize> = None;
    let (mut counted, mut newlines) = (0usize, 0u64);
    while pos < text.len() {
        if next_hit.is_none_or(|h| h < pos) {
            next_hit = Some(engine.prefilter.next_hit(lowered, pos, memo));
        }
        let hit = next_hit.unwrap_or(usize::MAX);
        let at = if mode.every_line { pos } else { hit };
        if at == usize::MAX {
            break;
        }
        let start = memrchr(b'\n', &text[pos..at]).map_or(pos, |i| pos + i + 1);
        let end = memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
        newlines += count_newlines(&text[counted..start]) as u64;
        counted = start;
        let listed = if hit < end {
            let line = line::trim_cr(&text[start..end]);
            let lowered = &lowered[start..start + line.len()];
            out.list(engine, (line, lowered), hit - start, mode.settle)
        } else {
            ListedRanges::default()
        };
        out.lines.push(Candidate {
            start: offset + start,
            end: offset + end,
            line_in_part: newlines,
            rules: listed.rules,
            keywords: listed.keywords,
            error_line: listed.error_line,
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
        // Hits on both sides of every part boundary, a window across parts, context
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
        for (threads, buffer_size) in [(2, 256 << 10), (3, 1 << 20), (2, 4096), (4, 8 << 20)] {
            assert_eq!(
                found(threads, buffer_size),
                alone,
                "{threads} threads, {buffer_size} bytes"
            );
        }
    }

    #[test]
    fn regions_are_cut_into_whole_lines_of_about_the_same_size() {
        let region: Vec<u8> = (0..300_000)
            .map(|i| if i % 100 == 99 { b'\n' } else { b'x' })
            .collect();
        let ends = split_at_lines(&region, 3);
        assert_eq!(ends.len(), 3);
        assert_eq!(*ends.last().unwrap(), region.len());
        for &end in &ends[..2] {
            assert_eq!(region[end - 1], b'\n');
        }
        assert!(ends[0].abs_diff(100_000) <= 100 && ends[1].abs_diff(200_000) <= 100);
        // One long line cannot be cut; a small region is not worth it.
        assert_eq!(split_at_lines(&vec![b'x'; 300_000], 4), [300_000]);
        assert_eq!(split_at_lines(&region[..1000], 4), [1000]);
        assert_eq!(split_at_lines(&region, 1), [region.len()]);
    }

    #[test]
    fn a_panic_while_searching_a_part_stops_the_wait_for_it() {
        let kb = kb(SECRET_RULE);
        let engine = Engine::new(&kb, false);
        let region: Vec<u8> = (0..300_000)
            .map(|i| if i % 100 == 99 { b'\n' } else { b'x' })
            .collect();
        let mut lowered = vec![0u8; region.len()];
        let ends = split_at_lines(&region, 2);
        let mode = PartMode {
            every_line: false,
            settle: true,
        };
        let shared = SharedSearch::new(&engine, mode, &region, &mut lowered, &ends);
        // Another thread takes part 0 and panics while it holds it.
        let taken = shared.untaken.lock().unwrap().next();
        assert_eq!(taken, Some(0));
        std::thread::scope(|threads| {
            let searcher = threads.spawn(|| {
                let _failure = FailureSignal {
                    part: &shared.parts[0],
                    done: &shared.done,
                };
                panic!("a bug in the search");
            });
            assert!(searcher.join().is_err());
        });
        // The scanning thread gives up on part 0 with a panic of its own, instead of
        // waiting for it forever.
        let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            shared.wait_for(0);
        }));
        assert!(waited.is_err());
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
