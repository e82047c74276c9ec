//! The streaming scanner: reads big buffers, searches them with the prefilter, and looks
//! at single lines only around a hit. Memory stays bounded whatever the input size.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Read};

use aho_corasick::Input;
use memchr::{memchr, memchr_iter, memrchr};

use super::{Engine, FindingSet, MAX_CAPTURE_CHARS, MAX_EVIDENCE_CHARS};
use crate::diagnostics::Diagnostic;
use crate::rules::RuleKind;

/// A line longer than this is matched in pieces of this size (with an overlap), so one
/// endless line cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 8 << 20;
/// Bytes carried over between two pieces of an overlong line, so a match that straddles
/// the cut is still seen.
const PIECE_OVERLAP: usize = 64 << 10;
const ESC: u8 = 0x1b;

#[derive(Clone, Copy, Debug)]
pub struct ScanOptions {
    /// Initial read-buffer size; it grows only to hold a long line.
    pub buffer_size: usize,
    /// Lines of context to keep before each evidence line (`-B`).
    pub context_before: usize,
    /// Lines of context to keep after each evidence line (`-A`).
    pub context_after: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            buffer_size: 256 << 10,
            context_before: 0,
            context_after: 0,
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

/// A part of a multi-line signature seen on some line.
#[derive(Clone, Debug)]
struct PartHit {
    line: u64,
    text: String,
    captures: BTreeMap<String, String>,
}

#[derive(Default)]
struct WindowState {
    parts: Vec<Option<PartHit>>,
    last_veto: Option<u64>,
}

/// Scans inputs with one engine. Holds the per-input state of multi-line signatures.
pub struct Scanner<'e, 'kb> {
    engine: &'e Engine<'kb>,
    options: ScanOptions,
    windows: BTreeMap<u32, WindowState>,
    candidates: Vec<u32>,
}

impl<'e, 'kb> Scanner<'e, 'kb> {
    pub fn new(engine: &'e Engine<'kb>, options: ScanOptions) -> Self {
        Scanner {
            engine,
            options,
            windows: BTreeMap::new(),
            candidates: Vec::new(),
        }
    }

    /// Scans `reader` to its end, adding to `out`.
    pub fn scan<R: Read>(&mut self, mut reader: R, out: &mut FindingSet) -> Result<(), ScanError> {
        self.windows.clear();
        let mut buf = vec![0u8; self.options.buffer_size.max(1)];
        let mut len = 0usize;
        // Line number of buf[0].
        let mut line_no: u64 = 1;
        loop {
            if len == buf.len() {
                if buf.len() < MAX_LINE_BYTES {
                    buf.resize((buf.len() * 2).min(MAX_LINE_BYTES), 0);
                } else {
                    // One line fills the whole buffer: match this piece, keep the tail.
                    self.process(&buf[..len], line_no, out)?;
                    buf.copy_within(len - PIECE_OVERLAP..len, 0);
                    len = PIECE_OVERLAP;
                }
            }
            let n = match reader.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            let fresh = len;
            len += n;
            out.stats.bytes += n as u64;
            if let Some(pos) = memrchr(b'\n', &buf[fresh..len]) {
                let end = fresh + pos + 1;
                line_no += self.process(&buf[..end], line_no, out)?;
                buf.copy_within(end..len, 0);
                len -= end;
            }
        }
        if len > 0 {
            self.process(&buf[..len], line_no, out)?;
            line_no += 1;
        }
        out.stats.lines += line_no - 1;
        Ok(())
    }

    /// Processes whole lines (the region ends at a newline, or at the input's end).
    /// Returns the number of newlines in the region.
    fn process(
        &mut self,
        region: &[u8],
        first_line: u64,
        out: &mut FindingSet,
    ) -> Result<u64, ScanError> {
        let engine = self.engine;
        let every_line = !engine.unfiltered.is_empty();
        let mut pos = 0usize;
        let mut line = first_line;
        let mut counted = 0usize;
        let mut next_hit: Option<usize> = None;
        let mut next_esc: Option<usize> = None;
        while pos < region.len() {
            let at = if every_line {
                pos
            } else {
                if next_hit.is_none_or(|h| h < pos) {
                    next_hit = engine
                        .automaton
                        .find(Input::new(region).span(pos..region.len()))
                        .map(|m| m.start());
                    if next_hit.is_none() {
                        next_hit = Some(usize::MAX);
                    }
                }
                if next_esc.is_none_or(|e| e < pos) {
                    next_esc = Some(memchr(ESC, &region[pos..]).map_or(usize::MAX, |i| pos + i));
                }
                let at = next_hit
                    .unwrap_or(usize::MAX)
                    .min(next_esc.unwrap_or(usize::MAX));
                if at == usize::MAX {
                    break;
                }
                at
            };
            let start = memrchr(b'\n', &region[pos..at]).map_or(pos, |i| pos + i + 1);
            let end = memchr(b'\n', &region[at..]).map_or(region.len(), |i| at + i);
            line += memchr_iter(b'\n', &region[counted..start]).count() as u64;
            counted = start;
            self.check_line(&region[start..end], line, out)?;
            pos = end + 1;
        }
        Ok(line - first_line + memchr_iter(b'\n', &region[counted..]).count() as u64)
    }

    /// Runs the candidate rules on one line.
    fn check_line(
        &mut self,
        raw: &[u8],
        line_no: u64,
        out: &mut FindingSet,
    ) -> Result<(), ScanError> {
        let engine = self.engine;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text: Cow<'_, [u8]> = if memchr(ESC, raw).is_some() {
            Cow::Owned(strip_ansi_escapes::strip(raw))
        } else {
            Cow::Borrowed(raw)
        };
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        let mut error_line = false;
        for m in engine.automaton.find_overlapping_iter(text.as_ref()) {
            let target = &engine.targets[m.pattern().as_usize()];
            candidates.extend_from_slice(&target.rules);
            error_line |= target.error_marker;
        }
        candidates.extend_from_slice(&engine.unfiltered);
        candidates.sort_unstable();
        candidates.dedup();
        let mut explained = false;
        for &index in &candidates {
            explained |= self.eval_rule(index, &text, line_no, out)?;
        }
        self.candidates = candidates;
        if error_line && !explained && engine.track_error_lines {
            out.add_error_line(line_no, display_text(&text, 0));
        }
        Ok(())
    }

    fn eval_rule(
        &mut self,
        index: u32,
        text: &[u8],
        line_no: u64,
        out: &mut FindingSet,
    ) -> Result<bool, ScanError> {
        let rule = self.engine.rule(index);
        let compiled = rule
            .compiled()
            .map_err(|d| ScanError::Rule(Box::new(d.clone())))?;
        match &rule.kind {
            RuleKind::Patterns(_) => {
                for re in &compiled.regexes {
                    let Some(caps) = re.captures(text) else {
                        continue;
                    };
                    if compiled.unless.iter().any(|u| u.is_match(text)) {
                        return Ok(false);
                    }
                    let at = caps.get(0).map_or(0, |m| m.start());
                    out.add(
                        rule,
                        line_no,
                        display_text(text, at),
                        capture_map(re, &caps),
                    );
                    return Ok(true);
                }
                Ok(false)
            }
            RuleKind::All { window, .. } => {
                let window = u64::from(*window);
                let state = self.windows.entry(index).or_default();
                state.parts.resize(compiled.regexes.len(), None);
                if compiled.unless.iter().any(|u| u.is_match(text)) {
                    state.last_veto = Some(line_no);
                }
                let mut matched = false;
                for (i, re) in compiled.regexes.iter().enumerate() {
                    if let Some(caps) = re.captures(text) {
                        let at = caps.get(0).map_or(0, |m| m.start());
                        state.parts[i] = Some(PartHit {
                            line: line_no,
                            text: display_text(text, at),
                            captures: capture_map(re, &caps),
                        });
                        matched = true;
                    }
                }
                if !matched || state.parts.iter().any(Option::is_none) {
                    return Ok(false);
                }
                let lines = state.parts.iter().flatten().map(|p| p.line);
                let (lo, hi) = (lines.clone().min().unwrap_or(0), lines.max().unwrap_or(0));
                if hi - lo > window
                    || state
                        .last_veto
                        .is_some_and(|v| v >= lo.saturating_sub(window) && v <= hi)
                {
                    return Ok(false);
                }
                let mut hits: Vec<PartHit> =
                    state.parts.iter_mut().filter_map(Option::take).collect();
                hits.sort_by_key(|h| h.line);
                for hit in hits {
                    out.add(rule, hit.line, hit.text, hit.captures);
                }
                Ok(true)
            }
        }
    }
}

fn capture_map(
    re: &regex::bytes::Regex,
    caps: &regex::bytes::Captures<'_>,
) -> BTreeMap<String, String> {
    re.capture_names()
        .flatten()
        .filter_map(|name| {
            let m = caps.name(name)?;
            Some((
                name.to_owned(),
                truncate_chars(&String::from_utf8_lossy(m.as_bytes()), MAX_CAPTURE_CHARS),
            ))
        })
        .collect()
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// The line as shown to a person: lossy UTF-8, control characters replaced, and cut
/// around the match when it is long (with a marker saying how much was left out).
pub(crate) fn display_text(text: &[u8], match_start: usize) -> String {
    const BEFORE: usize = MAX_EVIDENCE_CHARS / 4;
    let (start, end) = if text.len() > MAX_EVIDENCE_CHARS * 4 {
        let start = match_start.saturating_sub(BEFORE * 4);
        (start, (start + MAX_EVIDENCE_CHARS * 4).min(text.len()))
    } else {
        (0, text.len())
    };
    let lossy = String::from_utf8_lossy(&text[start..end]);
    let mut shown: String = lossy
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    let mut cut_chars = false;
    if let Some((cut, _)) = shown.char_indices().nth(MAX_EVIDENCE_CHARS) {
        shown.truncate(cut);
        cut_chars = true;
    }
    let shown = shown.trim_end().to_owned();
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("[…{start} bytes] "));
    }
    out.push_str(&shown);
    if end < text.len() || cut_chars {
        let left = text.len() - end;
        if left > 0 {
            out.push_str(&format!(" […{left} bytes]"));
        } else {
            out.push('…');
        }
    }
    out
}
