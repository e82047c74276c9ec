//! Running one rule on one line: patterns and their guards, `unless` vetoes, the state of
//! multi-line (`all`) signatures, and captures.

use std::collections::BTreeMap;

use super::FindingSet;
use super::MAX_CAPTURE_CHARS;
use super::line::display_text;
use super::scan::{ScanError, Scanner};
use super::trace::{Outcome, Trace};
use crate::rules::{RegexMatch, RuleKind};
use crate::text;

/// A part of a multi-line signature seen on some line.
#[derive(Clone, Debug)]
pub(super) struct PartHit {
    pub(super) line: u64,
    pub(super) text: String,
    pub(super) captures: BTreeMap<String, String>,
    pub(super) matched: String,
}

/// What a regex matched, as text, for highlighting (bounded: a display never needs more).
fn matched_text(m: &RegexMatch<'_>) -> String {
    let m = m.text();
    String::from_utf8_lossy(&m[..m.len().min(4096)]).into_owned()
}

#[derive(Default)]
pub(super) struct WindowState {
    pub(super) parts: Vec<Option<PartHit>>,
    pub(super) last_veto: Option<u64>,
}

impl<T: Trace> Scanner<'_, '_, T> {
    /// Runs rule `index` on one line (`lowered`: the line lower-cased, for the guards, and
    /// whether it is ASCII).
    pub(super) fn eval_rule(
        &mut self,
        index: u32,
        text: &[u8],
        lowered: (&[u8], bool),
        line_no: u64,
        out: &mut FindingSet,
    ) -> Result<bool, ScanError> {
        let rule = self.engine.rule(index);
        let fail = |d: &crate::diagnostics::Diagnostic| ScanError::Rule(Box::new(d.clone()));
        let trace = &mut self.trace;
        let scratch = &mut self.regex_scratch;
        let patterns = rule.patterns().len();
        match &rule.kind {
            RuleKind::Patterns(_) => {
                for i in 0..patterns {
                    if !rule.may_match(i, lowered.0, lowered.1) {
                        trace.pattern(i, None);
                        continue;
                    }
                    let re = rule.regex(i).map_err(fail)?;
                    let Some(caps) = re.captures(scratch, text) else {
                        trace.pattern(i, None);
                        continue;
                    };
                    trace.pattern(i, Some(&caps));
                    let unless = rule.unless_regexes().map_err(fail)?;
                    if let Some(u) = unless.iter().position(|u| u.is_match(scratch, text)) {
                        trace.veto(u);
                        trace.outcome(Outcome::Vetoed(u));
                        return Ok(false);
                    }
                    let at = caps.start();
                    let (offset, redact) = (self.line_offset, self.options.redact);
                    out.add_matched(rule, line_no, || {
                        (
                            display_text(text, at, offset, redact),
                            capture_map(&caps, text, redact),
                            matched_text(&caps),
                        )
                    });
                    trace.outcome(Outcome::Fired {
                        lo: line_no,
                        hi: line_no,
                    });
                    self.line_matched = true;
                    return Ok(true);
                }
                trace.outcome(Outcome::NoMatch);
                Ok(false)
            }
            RuleKind::All { window, .. } => {
                let window = u64::from(*window);
                let (redact, offset) = (self.options.redact, self.line_offset);
                let state = self.windows.entry(index).or_default();
                state.parts.resize(patterns, None);
                let unless = rule.unless_regexes().map_err(fail)?;
                if let Some(u) = unless.iter().position(|u| u.is_match(scratch, text)) {
                    state.last_veto = Some(line_no);
                    trace.veto(u);
                }
                let mut matched = false;
                for i in 0..patterns {
                    if !rule.may_match(i, lowered.0, lowered.1) {
                        trace.pattern(i, None);
                        continue;
                    }
                    let re = rule.regex(i).map_err(fail)?;
                    let caps = re.captures(scratch, text);
                    trace.pattern(i, caps.as_ref());
                    if let Some(caps) = caps {
                        let at = caps.start();
                        state.parts[i] = Some(PartHit {
                            line: line_no,
                            text: display_text(text, at, offset, redact),
                            captures: capture_map(&caps, text, redact),
                            matched: matched_text(&caps),
                        });
                        matched = true;
                    }
                }
                if !matched {
                    trace.outcome(Outcome::NoMatch);
                    return Ok(false);
                }
                self.line_matched = true;
                if state.parts.iter().any(Option::is_none) {
                    if T::ENABLED {
                        let missing = state.parts.iter().enumerate();
                        let missing = missing.filter(|(_, p)| p.is_none()).map(|(i, _)| i);
                        trace.outcome(Outcome::Waiting(missing.collect()));
                    }
                    return Ok(false);
                }
                let lines = state.parts.iter().flatten().map(|p| p.line);
                let (lo, hi) = (lines.clone().min().unwrap_or(0), lines.max().unwrap_or(0));
                if hi - lo > window {
                    trace.outcome(Outcome::TooFar { lo, hi });
                    return Ok(false);
                }
                if let Some(v) = state
                    .last_veto
                    .filter(|&v| v >= lo.saturating_sub(window) && v <= hi)
                {
                    trace.outcome(Outcome::WindowVetoed(v));
                    return Ok(false);
                }
                let mut hits: Vec<PartHit> =
                    state.parts.iter_mut().filter_map(Option::take).collect();
                hits.sort_by_key(|h| h.line);
                for hit in hits {
                    out.add_matched(rule, hit.line, || (hit.text, hit.captures, hit.matched));
                }
                trace.outcome(Outcome::Fired { lo, hi });
                Ok(true)
            }
        }
    }
}

/// The named captures of a match on `line`, each as shown: cleaned, masked where it lies
/// in a secret of the whole line (or looks like one itself), then cut.
fn capture_map(caps: &RegexMatch<'_>, line: &[u8], redact: bool) -> BTreeMap<String, String> {
    let mut shown_line: Option<(String, Vec<std::ops::Range<usize>>)> = None;
    caps.named()
        .map(|(name, start, bytes)| {
            let mut value = text::printable(bytes);
            if redact {
                let (whole, spans) = shown_line.get_or_insert_with(|| {
                    let whole = text::printable(line);
                    let spans = crate::secrets::secret_spans(&whole);
                    (whole, spans)
                });
                let from = text::printable(&line[..start]).len();
                let to = (from + value.len()).min(whole.len());
                if whole.get(from..to) == Some(value.as_str()) {
                    value = crate::secrets::mask(whole, spans, from..to);
                }
                value = crate::secrets::redact(&value).into_owned();
            }
            (name.to_owned(), text::truncate(&value, MAX_CAPTURE_CHARS))
        })
        .collect()
}
