//! Context lines (`-A`, `-B`, `-C`) of the lines a rule matched, gathered across read
//! buffers the way grep shows them.

use std::collections::BTreeSet;

use memchr::{memchr, memrchr};

use super::line::{self, display_text};
use super::scan::{RegionEnd, ScanError, Scanner};
use super::trace::Trace;
use super::{ContextLine, FindingSet};

/// Context lines gathered for one line that a rule matched.
#[derive(Debug, Default)]
pub(super) struct LineContext {
    pub(super) before: Vec<(u64, String)>,
    pub(super) after: Vec<(u64, String)>,
    /// After-lines still to come (from the next region).
    pub(super) after_missing: usize,
}

impl<T: Trace> Scanner<'_, '_, T> {
    /// Starts the context of the matched line `region[start..end]` (line `line`): its
    /// before-lines from this region and the tail of earlier ones, and as many after-lines
    /// as this region holds; the rest come from the next region.
    pub(super) fn open_context(&mut self, region: &[u8], start: usize, end: usize, line: u64) {
        if self.contexts.contains_key(&line) {
            return;
        }
        let (want_before, want_after) = (self.options.context_before, self.options.context_after);
        let redact = self.options.redact;
        let mut before = Vec::with_capacity(want_before);
        let mut cursor = start;
        let mut number = line;
        while before.len() < want_before && cursor > 0 {
            // region[cursor - 1] is the newline ending the line before.
            let line_end = cursor - 1;
            let line_start = memrchr(b'\n', &region[..line_end]).map_or(0, |i| i + 1);
            number -= 1;
            before.push((number, context_text(&region[line_start..line_end], redact)));
            cursor = line_start;
        }
        if before.len() < want_before && cursor == 0 {
            let from_tail = want_before - before.len();
            before.extend(
                self.tail
                    .iter()
                    .rev()
                    .take_while(|(n, _)| *n < number)
                    .take(from_tail)
                    .cloned(),
            );
        }
        before.reverse();
        let mut context = LineContext {
            before,
            after: Vec::with_capacity(want_after),
            after_missing: want_after,
        };
        let lines_after = LineIter::new(region, (end + 1).min(region.len()), line + 1);
        for (number, text) in lines_after.take(want_after) {
            context.after.push((number, context_text(text, redact)));
            context.after_missing -= 1;
        }
        self.contexts.insert(line, context);
    }

    /// Gives the first lines of a new region to the contexts still missing after-lines.
    pub(super) fn fill_pending_after(&mut self, region: &[u8], first_line: u64) {
        let want_after = self.options.context_after;
        let redact = self.options.redact;
        let pending = self
            .contexts
            .values()
            .filter(|c| c.after_missing > 0)
            .count();
        if pending == 0 {
            return;
        }
        let lines: Vec<(u64, String)> = LineIter::new(region, 0, first_line)
            .take(want_after)
            .map(|(n, text)| (n, context_text(text, redact)))
            .collect();
        for context in self.contexts.values_mut() {
            if context.after_missing == 0 {
                continue;
            }
            let take = context.after_missing.min(lines.len());
            context.after.extend(lines[..take].iter().cloned());
            context.after_missing -= take;
        }
    }

    /// An input's last line that is empty once escape codes are removed: context of the
    /// evidence before it, and a line the keyword-less rules (`^$`) may match.
    pub(super) fn empty_last_line(
        &mut self,
        line: u64,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        let with_context = self.wants_context();
        if with_context {
            for context in self.contexts.values_mut() {
                if context.after_missing > 0 {
                    context.after.push((line, String::new()));
                    context.after_missing -= 1;
                }
            }
        }
        if T::ENABLED || self.engine.has_unfiltered() {
            self.line_matched = false;
            self.check_line(b"", b"", line, Default::default(), out)?;
            if with_context && self.line_matched {
                self.open_context(&[], 0, 0, line);
            }
        }
        if with_context {
            self.prune_contexts(out);
        }
        Ok(())
    }

    /// Keeps the last `context_before` complete lines of the region for the next one.
    pub(super) fn remember_tail(
        &mut self,
        region: &[u8],
        first_line: u64,
        newlines: u64,
        end: RegionEnd,
    ) {
        let want = self.options.context_before;
        let redact = self.options.redact;
        // After an `Eof` region nothing follows; a `Piece` holds no complete line.
        if want == 0 || end != RegionEnd::Newline || newlines == 0 {
            return;
        }
        let mut number = first_line + newlines - 1;
        let mut line_end = region.len() - 1;
        let mut lines = Vec::with_capacity(want);
        loop {
            let line_start = memrchr(b'\n', &region[..line_end]).map_or(0, |i| i + 1);
            lines.push((number, context_text(&region[line_start..line_end], redact)));
            if lines.len() == want || line_start == 0 {
                break;
            }
            line_end = line_start - 1;
            number -= 1;
        }
        self.tail.extend(lines.into_iter().rev());
        while self.tail.len() > want {
            self.tail.pop_front();
        }
    }

    /// Drops contexts no kept evidence and no pending window part refers to, so memory
    /// stays bounded when a rule matches a great many lines.
    pub(super) fn prune_contexts(&mut self, out: &mut FindingSet) {
        if self.contexts.len() <= 64 {
            return;
        }
        let mut referenced: BTreeSet<u64> = out.evidence_mut().map(|e| e.line).collect();
        for state in self.windows.values() {
            referenced.extend(state.parts.iter().flatten().map(|p| p.line));
        }
        self.contexts
            .retain(|line, c| c.after_missing > 0 || referenced.contains(line));
    }

    /// Copies the gathered context into the evidence of `out`.
    pub(super) fn attach_contexts(&mut self, out: &mut FindingSet) {
        for evidence in out.evidence_mut() {
            if let Some(context) = self.contexts.get(&evidence.line) {
                evidence.context_before = context_lines(&context.before);
                evidence.context_after = context_lines(&context.after);
            }
        }
    }
}

/// The lines of `region` from byte `from` (which starts line `first`), without their
/// newline; a final line without a newline counts.
struct LineIter<'a> {
    region: &'a [u8],
    pos: usize,
    number: u64,
}

impl<'a> LineIter<'a> {
    fn new(region: &'a [u8], pos: usize, number: u64) -> Self {
        LineIter {
            region,
            pos,
            number,
        }
    }
}

impl<'a> Iterator for LineIter<'a> {
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.region.len() {
            return None;
        }
        let rest = &self.region[self.pos..];
        let len = memchr(b'\n', rest).unwrap_or(rest.len());
        let item = (self.number, &rest[..len]);
        self.pos += len + 1;
        self.number += 1;
        Some(item)
    }
}

fn context_lines(lines: &[(u64, String)]) -> Vec<ContextLine> {
    lines
        .iter()
        .map(|(line, text)| ContextLine {
            line: *line,
            text: text.clone(),
        })
        .collect()
}

fn context_text(raw: &[u8], redact: bool) -> String {
    display_text(line::trim_cr(raw), 0, 0, redact)
}
