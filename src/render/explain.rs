//! `explain`: what the engine did with one rule on a log, line by line: which keyword let
//! a line through the prefilter, which pattern matched or failed, what was captured,
//! which `unless` vetoed, and for a multi-line signature, where each part was seen and why
//! the window did not close. It is a [`Trace`] of the real scanner, so the narrative and
//! the verdict (the scan's own findings) are the engine's, line for line.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::kb::KnowledgeBase;
use crate::matcher::{Engine, FindingSet, Outcome, ScanError, ScanOptions, Trace};
use crate::render::style;
use crate::report::Report;
use crate::rules::{CompiledRule, RegexMatch, RegexScratch, Rule, RuleKind};
use crate::text;

/// The engine's verdict: the lines on which the rule fired.
#[derive(Debug, Default)]
pub struct Verdict {
    pub lines: Vec<u64>,
    pub total: u64,
}

impl Verdict {
    pub fn fired(&self) -> bool {
        self.total > 0
    }
}

/// A line or value as `explain` shows it: cleaned, secrets masked on the whole of it,
/// then cut.
fn shown(bytes: &[u8]) -> String {
    text::truncate(
        &crate::secrets::redact(&text::printable(bytes)),
        text::SHORT_CHARS,
    )
}

fn captures_of(caps: &RegexMatch<'_>) -> BTreeMap<String, String> {
    caps.named()
        .map(|(name, _, bytes)| (name.to_owned(), shown(bytes)))
        .collect()
}

/// Scans `log` with the rule of `solo` (a knowledge base holding just that rule, compiled)
/// and writes what happened to `out`; returns the verdict of that same scan. The caller
/// prints the verdict.
pub fn explain<W: Write>(
    out: &mut W,
    solo: &KnowledgeBase,
    log: &[u8],
) -> Result<Verdict, ScanError> {
    let rule = &solo.rules[0];
    let compiled = rule
        .compiled()
        .map_err(|d| ScanError::Rule(Box::new(d.clone())))?;
    let mut narrative = Narrative::new(out, rule, compiled);
    narrative.header()?;
    let engine = Engine::new(solo, false);
    let mut set = FindingSet::new(None);
    let mut scanner = engine.traced_scanner(ScanOptions::default(), narrative);
    scanner.scan(log, &mut set)?;
    let mut narrative = scanner.into_trace();
    std::mem::replace(&mut narrative.error, Ok(()))?;
    narrative.summary()?;
    let mut verdict = Verdict::default();
    for finding in Report::build(set, solo).findings {
        verdict.total += finding.evidence_total;
        verdict
            .lines
            .extend(finding.evidence.iter().map(|e| e.line));
    }
    Ok(verdict)
}

/// A pattern's match as shown: the matched text, and the captures.
type PatternMatch = (String, BTreeMap<String, String>);

/// What the scanner reported on the current line.
#[derive(Default)]
struct LineEvents {
    line: u64,
    text: Vec<u8>,
    /// Keywords and where each first starts.
    keywords: Vec<(String, usize)>,
    not_candidate: bool,
    /// Patterns (parts) tried: matched ones with their captures.
    patterns: Vec<(usize, Option<PatternMatch>)>,
    veto: Option<usize>,
    outcome: Option<Outcome>,
}

/// The narrative, written as the scanner goes.
struct Narrative<'a, W: Write> {
    out: &'a mut W,
    rule: &'a Rule,
    compiled: &'a CompiledRule,
    current: LineEvents,
    /// Lines a candidate for the rule that showed nothing.
    quiet_candidates: u64,
    shown_lines: u64,
    /// Where each part was seen last (for the summary of a window).
    ever: Vec<Option<u64>>,
    /// Parts seen only on lines the prefilter skips.
    hidden: Vec<Option<u64>>,
    /// The first write error (a trace cannot fail the scan).
    error: io::Result<()>,
    /// For trying the rule on lines the prefilter skips.
    scratch: RegexScratch,
}

impl<W: Write> Trace for Narrative<'_, W> {
    const ENABLED: bool = true;

    fn line(&mut self, line: u64, text: &[u8]) {
        self.current = LineEvents {
            line,
            text: text.to_vec(),
            ..LineEvents::default()
        };
    }

    fn keyword(&mut self, keyword: &str, at: usize) {
        match self.current.keywords.iter_mut().find(|(k, _)| k == keyword) {
            Some((_, first)) => *first = (*first).min(at),
            None => self.current.keywords.push((keyword.to_owned(), at)),
        }
    }

    fn not_candidate(&mut self) {
        self.current.not_candidate = true;
    }

    fn pattern(&mut self, index: usize, matched: Option<&RegexMatch<'_>>) {
        let matched = matched.map(|caps| (shown(caps.text()), captures_of(caps)));
        self.current.patterns.push((index, matched));
    }

    fn veto(&mut self, index: usize) {
        self.current.veto = Some(index);
    }

    fn outcome(&mut self, outcome: Outcome) {
        self.current.outcome = Some(outcome);
    }

    fn line_done(&mut self) {
        if self.error.is_ok() {
            self.error = self.write_line();
        }
    }
}

impl<'a, W: Write> Narrative<'a, W> {
    fn new(out: &'a mut W, rule: &'a Rule, compiled: &'a CompiledRule) -> Self {
        let parts = compiled.regexes.len();
        Narrative {
            out,
            rule,
            compiled,
            current: LineEvents::default(),
            quiet_candidates: 0,
            shown_lines: 0,
            ever: vec![None; parts],
            hidden: vec![None; parts],
            error: Ok(()),
            scratch: RegexScratch::default(),
        }
    }

    fn what(&self) -> &'static str {
        match self.rule.kind {
            RuleKind::Patterns(_) => "pattern",
            RuleKind::All { .. } => "part",
        }
    }

    fn header(&mut self) -> io::Result<()> {
        let rule = self.rule;
        let (id, d) = (style::ID, style::DIM);
        writeln!(
            self.out,
            "rule {id}{}{id:#} {d}({}){d:#} → article {}",
            rule.id,
            rule.span.location(),
            rule.article
        )?;
        if rule.keywords.is_empty() {
            writeln!(
                self.out,
                "keywords: none: every line is a candidate (no literal could be derived from the patterns)"
            )?;
        } else {
            let list: Vec<String> = rule.keywords.iter().map(|k| format!("{k:?}")).collect();
            writeln!(
                self.out,
                "keywords{}: {} (a line must contain one, in any case, to be tried)",
                if rule.keywords_derived {
                    " (derived from the patterns)"
                } else {
                    ""
                },
                list.join(", ")
            )?;
        }
        let what = self.what();
        for (i, p) in rule.patterns().iter().enumerate() {
            writeln!(self.out, "{what} {}: {}", i + 1, p.regex)?;
        }
        if let Some(w) = rule.window() {
            writeln!(
                self.out,
                "window: {w} lines (every part must be seen within it)"
            )?;
        }
        for (i, u) in rule.unless.iter().enumerate() {
            writeln!(self.out, "unless {}: {}", i + 1, u.regex)?;
        }
        writeln!(self.out)
    }

    /// Writes what happened on the line just scanned, if anything is worth saying.
    fn write_line(&mut self) -> io::Result<()> {
        let events = std::mem::take(&mut self.current);
        if events.not_candidate {
            return self.hidden_line(&events);
        }
        for (i, matched) in &events.patterns {
            if matched.is_some() {
                self.ever[*i] = Some(events.line);
            }
        }
        let matched = events.patterns.iter().any(|(_, m)| m.is_some());
        // Without keywords every line is tried: only lines something matched are shown.
        let printed = !events.keywords.is_empty() || matched || events.veto.is_some();
        if !printed {
            self.quiet_candidates += 1;
            return Ok(());
        }
        self.line_header(&events)?;
        // In the order the rule lists its keywords.
        for kw in &self.rule.keywords {
            if let Some((_, at)) = events.keywords.iter().find(|(k, _)| k == kw) {
                writeln!(self.out, "  keyword {kw:?} at column {}", at + 1)?;
            }
        }
        if events.keywords.is_empty() {
            writeln!(self.out, "  (no keywords: every line is tried)")?;
        }
        match self.rule.kind {
            RuleKind::Patterns(_) => self.patterns_line(&events),
            RuleKind::All { window, .. } => self.window_line(&events, u64::from(window)),
        }
    }

    /// `line N: text`, for a line worth showing.
    fn line_header(&mut self, events: &LineEvents) -> io::Result<()> {
        self.shown_lines += 1;
        let ln = style::LINE_NO;
        writeln!(
            self.out,
            "{ln}line {}:{ln:#} {}",
            events.line,
            shown(&events.text)
        )
    }

    fn print_captures(&mut self, caps: &BTreeMap<String, String>) -> io::Result<()> {
        for (name, value) in caps {
            writeln!(self.out, "      {name} = {value:?}")?;
        }
        Ok(())
    }

    fn patterns_line(&mut self, events: &LineEvents) -> io::Result<()> {
        for (i, matched) in &events.patterns {
            match matched {
                Some((whole, caps)) => {
                    writeln!(self.out, "    pattern {} matched {whole:?}", i + 1)?;
                    self.print_captures(caps)?;
                }
                None => writeln!(self.out, "    pattern {}: no match", i + 1)?,
            }
        }
        let (ok, bad) = (style::INFO, style::WARNING);
        match &events.outcome {
            Some(Outcome::Vetoed(u)) => writeln!(
                self.out,
                "    unless {} matched\n  {bad}→ vetoed: the rule does not fire on this line{bad:#}\n",
                u + 1
            ),
            Some(Outcome::Fired { .. }) => writeln!(self.out, "  {ok}→ fires{ok:#}\n"),
            _ => writeln!(self.out, "  {bad}→ no pattern matched{bad:#}\n"),
        }
    }

    fn window_line(&mut self, events: &LineEvents, window: u64) -> io::Result<()> {
        if let Some(u) = events.veto {
            writeln!(
                self.out,
                "    unless {} matched: no window around this line may fire",
                u + 1
            )?;
        }
        for (i, matched) in &events.patterns {
            if let Some((_, caps)) = matched {
                writeln!(self.out, "    part {} found", i + 1)?;
                self.print_captures(caps)?;
            }
        }
        let (ok, bad) = (style::INFO, style::WARNING);
        match &events.outcome {
            Some(Outcome::Waiting(missing)) => {
                let missing: Vec<String> = missing.iter().map(|i| (i + 1).to_string()).collect();
                writeln!(
                    self.out,
                    "  → waiting for part(s) {} within {window} lines\n",
                    missing.join(", ")
                )
            }
            Some(Outcome::TooFar { lo, hi }) => writeln!(
                self.out,
                "  {bad}→ the parts are on lines {lo}..{hi}, {} lines apart: more than the window of {window}{bad:#}\n",
                hi - lo
            ),
            Some(Outcome::WindowVetoed(v)) => writeln!(
                self.out,
                "  {bad}→ vetoed: `unless` matched line {v}, within the window{bad:#}\n"
            ),
            Some(Outcome::Fired { lo, hi }) => writeln!(
                self.out,
                "  {ok}→ fires: every part seen on lines {lo}..{hi}{ok:#}\n"
            ),
            _ => writeln!(self.out, "  {bad}→ no part matched{bad:#}\n"),
        }
    }

    /// A line the prefilter skips: worth a word only when the rule would match it.
    fn hidden_line(&mut self, events: &LineEvents) -> io::Result<()> {
        let Some(i) = self
            .compiled
            .regexes
            .iter()
            .position(|re| re.is_match(&mut self.scratch, &events.text))
        else {
            return Ok(());
        };
        self.hidden[i].get_or_insert(events.line);
        self.line_header(events)?;
        let bad = style::WARNING;
        writeln!(
            self.out,
            "  {} {} would match, but no keyword is on this line\n  {bad}→ skipped by the prefilter: add a keyword this line contains{bad:#}\n",
            self.what(),
            i + 1
        )
    }

    fn summary(&mut self) -> io::Result<()> {
        let what = self.what();
        if self.shown_lines == 0 {
            if self.rule.keywords.is_empty() {
                writeln!(self.out, "no {what} matches any line of the log")?;
            } else {
                writeln!(
                    self.out,
                    "no line of the log contains a keyword, and no {what} matches any line"
                )?;
            }
        }
        if self.rule.keywords.is_empty() && self.quiet_candidates > 0 {
            writeln!(
                self.out,
                "{} other line(s) were tried and nothing of the rule matched them",
                self.quiet_candidates
            )?;
        }
        if matches!(self.rule.kind, RuleKind::All { .. }) {
            for (i, (ever, hidden)) in self.ever.iter().zip(&self.hidden).enumerate() {
                match (ever, hidden) {
                    (Some(line), _) => {
                        writeln!(self.out, "part {}: last seen on line {line}", i + 1)?;
                    }
                    (None, Some(line)) => writeln!(
                        self.out,
                        "part {}: only on line {line}, which has no keyword",
                        i + 1
                    )?,
                    (None, None) => writeln!(self.out, "part {}: never seen", i + 1)?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::test_kb;

    /// The lines the narrative says fire on, and the verdict's.
    fn narrated_and_found(rules: &str, log: &[u8]) -> (Vec<u64>, Vec<u64>) {
        let kb = test_kb(rules);
        let mut out = Vec::new();
        let verdict = explain(&mut out, &kb, log).unwrap();
        // Without the styles (anstream removes them at a terminal that has no colour).
        let len = crate::matcher::line::strip_escapes_in_place(&mut out);
        let text = String::from_utf8_lossy(&out[..len]).into_owned();
        let mut line = 0;
        let mut narrated = Vec::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("line ") {
                line = rest.split(':').next().unwrap().parse().unwrap();
            }
            if l.trim_start().starts_with("→ fires") {
                narrated.push(line);
            }
        }
        (narrated, verdict.lines)
    }

    #[test]
    fn the_narrative_and_the_verdict_agree_on_every_line() {
        let rules =
            "[[rule]]\nid = 'ab'\narticle = 'a'\nkeywords = ['start']\npatterns = ['start:ab$']\n";
        let log: &[u8] = b"start:a\x1bPqq\x1b\\b\nstart:a\x1b[1\x01mb\nstart:a\x1b]0;t\x07b\r\nstart:a\x1b[31mb\x1b[0m\nstart:a\x1b[1\nb\nSTART:ab\nstart:abc\n";
        let (narrated, found) = narrated_and_found(rules, log);
        assert_eq!(narrated, found);
        assert_eq!(found, [1, 2, 3, 4]);
        let window = "[[rule]]\nid = 'w'\narticle = 'a'\nall = ['first', 'second']\nwindow = 2\nunless = ['skip']\n";
        let log = b"first\nsecond\nx\nfirst\nskip\nsecond\nx\nx\nfirst\n\x1b[1msec\x1b[0mond\n";
        let (narrated, found) = narrated_and_found(window, log);
        // A window fires on the line that completes it, with evidence on each part's line.
        assert_eq!(narrated, [2, 10]);
        assert_eq!(found, [1, 2, 9, 10]);
    }
}
