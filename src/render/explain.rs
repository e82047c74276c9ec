//! `explain`: replays one rule on a log line by line and says what happened at each step:
//! which keyword let the line through the prefilter, which pattern matched or failed, what
//! was captured, which `unless` vetoed, and for a multi-line signature, where each part
//! was seen and why the window did not close. The final verdict comes from the real
//! engine, so the narrative can never claim a result `match` would not give.

use std::collections::BTreeMap;
use std::io::{self, Write};

use memchr::memmem;
use regex::bytes::{Captures, Regex};

use crate::kb::KnowledgeBase;
use crate::matcher::{Engine, FindingSet, ScanError, ScanOptions, normalize_line};
use crate::render::style;
use crate::rules::{CompiledRule, Rule, RuleKind};
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

/// Runs the rule of `solo` (a knowledge base holding just that rule) over `log` with the
/// engine `match` uses.
pub fn verdict(solo: &KnowledgeBase, log: &[u8]) -> Result<Verdict, ScanError> {
    let engine = Engine::new(solo, false);
    let mut set = FindingSet::new(None);
    engine.scanner(ScanOptions::default()).scan(log, &mut set)?;
    let report = crate::report::Report::build(set, solo);
    let mut verdict = Verdict::default();
    for finding in report.findings {
        verdict.total += finding.evidence_total;
        verdict
            .lines
            .extend(finding.evidence.iter().map(|e| e.line));
    }
    Ok(verdict)
}

/// Keywords of `rule` on `text` (ASCII case-insensitive), with their 1-based column.
fn keyword_hits<'r>(rule: &'r Rule, text: &[u8]) -> Vec<(&'r str, usize)> {
    let lower = text.to_ascii_lowercase();
    rule.keywords
        .iter()
        .filter_map(|kw| memmem::find(&lower, kw.as_bytes()).map(|at| (kw.as_str(), at + 1)))
        .collect()
}

fn shown(bytes: &[u8]) -> String {
    text::truncate(&text::printable(bytes), text::SHORT_CHARS)
}

fn captures_of(re: &Regex, caps: &Captures<'_>) -> BTreeMap<String, String> {
    re.capture_names()
        .flatten()
        .filter_map(|name| Some((name.to_owned(), shown(caps.name(name)?.as_bytes()))))
        .collect()
}

/// What the narrative needs of the rule besides its compiled regexes.
struct Replay<'a, W: Write> {
    out: &'a mut W,
    rule: &'a Rule,
    compiled: &'a CompiledRule,
}

/// State of a multi-line signature, the way the scanner keeps it.
#[derive(Default)]
struct WindowReplay {
    parts: Vec<Option<u64>>,
    last_veto: Option<u64>,
    /// Where each part was seen last, even after a window closed (for the summary).
    ever: Vec<Option<u64>>,
    /// Parts seen only on lines the prefilter skips.
    hidden: Vec<Option<u64>>,
}

/// Writes the explanation of `rule` on `log`; the caller prints the engine's verdict
/// after it.
pub fn explain<W: Write>(
    out: &mut W,
    rule: &Rule,
    compiled: &CompiledRule,
    log: &[u8],
) -> io::Result<()> {
    let mut replay = Replay {
        out,
        rule,
        compiled,
    };
    replay.header()?;
    let mut window = WindowReplay::default();
    window.parts.resize(compiled.regexes.len(), None);
    window.ever.resize(compiled.regexes.len(), None);
    window.hidden.resize(compiled.regexes.len(), None);
    let mut quiet_candidates = 0u64;
    let mut shown_lines = 0u64;
    let body = log.strip_suffix(b"\n").unwrap_or(log);
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        if log.is_empty() {
            break;
        }
        let line_no = i as u64 + 1;
        let text = normalize_line(raw);
        let hits = keyword_hits(rule, &text);
        let candidate = !hits.is_empty() || rule.keywords.is_empty();
        let printed = match &rule.kind {
            RuleKind::Patterns(_) => replay.patterns_line(line_no, &text, &hits, candidate)?,
            RuleKind::All { window: w, .. } => {
                replay.window_line(line_no, &text, &hits, candidate, u64::from(*w), &mut window)?
            }
        };
        if candidate && !printed {
            quiet_candidates += 1;
        }
        shown_lines += u64::from(printed);
    }
    if shown_lines == 0 {
        let what = match rule.kind {
            RuleKind::Patterns(_) => "pattern",
            RuleKind::All { .. } => "part",
        };
        if rule.keywords.is_empty() {
            writeln!(replay.out, "no {what} matches any line of the log")?;
        } else {
            writeln!(
                replay.out,
                "no line of the log contains a keyword, and no {what} matches any line"
            )?;
        }
    }
    if rule.keywords.is_empty() && quiet_candidates > 0 {
        writeln!(
            replay.out,
            "{quiet_candidates} other line(s) were tried and nothing of the rule matched them"
        )?;
    }
    if matches!(rule.kind, RuleKind::All { .. }) {
        replay.window_summary(&window)?;
    }
    Ok(())
}

impl<W: Write> Replay<'_, W> {
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
        for (i, p) in rule.patterns().iter().enumerate() {
            let what = match rule.kind {
                RuleKind::Patterns(_) => "pattern",
                RuleKind::All { .. } => "part",
            };
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

    fn line_header(&mut self, line_no: u64, text: &[u8], hits: &[(&str, usize)]) -> io::Result<()> {
        let ln = style::LINE_NO;
        writeln!(self.out, "{ln}line {line_no}:{ln:#} {}", shown(text))?;
        for (kw, col) in hits {
            writeln!(self.out, "  keyword {kw:?} at column {col}")?;
        }
        if hits.is_empty() {
            writeln!(self.out, "  (no keywords: every line is tried)")?;
        }
        Ok(())
    }

    fn print_captures(&mut self, caps: &BTreeMap<String, String>) -> io::Result<()> {
        for (name, value) in caps {
            writeln!(self.out, "      {name} = {value:?}")?;
        }
        Ok(())
    }

    /// Returns whether anything was printed for the line.
    fn patterns_line(
        &mut self,
        line_no: u64,
        text: &[u8],
        hits: &[(&str, usize)],
        candidate: bool,
    ) -> io::Result<bool> {
        let compiled = self.compiled;
        let first_match = compiled
            .regexes
            .iter()
            .enumerate()
            .find_map(|(i, re)| re.captures(text).map(|c| (i, re, c)));
        if !candidate {
            if let Some((i, _, _)) = first_match {
                self.hidden_line(line_no, text, "pattern", i)?;
                return Ok(true);
            }
            return Ok(false);
        }
        // With no keywords every line is tried: only the lines something matched are shown.
        if hits.is_empty() && first_match.is_none() {
            return Ok(false);
        }
        self.line_header(line_no, text, hits)?;
        let tried = first_match
            .as_ref()
            .map_or(compiled.regexes.len(), |(i, _, _)| i + 1);
        for i in 0..tried {
            match &first_match {
                Some((m, re, caps)) if *m == i => {
                    let whole = caps.get(0).map_or(&b""[..], |m| m.as_bytes());
                    writeln!(self.out, "    pattern {} matched {:?}", i + 1, shown(whole))?;
                    let caps = captures_of(re, caps);
                    self.print_captures(&caps)?;
                }
                _ => writeln!(self.out, "    pattern {}: no match", i + 1)?,
            }
        }
        let (ok, bad) = (style::INFO, style::WARNING);
        if first_match.is_none() {
            writeln!(self.out, "  {bad}→ no pattern matched{bad:#}\n")?;
            return Ok(true);
        }
        match compiled.unless.iter().position(|u| u.is_match(text)) {
            Some(u) => writeln!(
                self.out,
                "    unless {} matched\n  {bad}→ vetoed: the rule does not fire on this line{bad:#}\n",
                u + 1
            )?,
            None => writeln!(self.out, "  {ok}→ fires{ok:#}\n")?,
        }
        Ok(true)
    }

    fn hidden_line(&mut self, line_no: u64, text: &[u8], what: &str, i: usize) -> io::Result<()> {
        let (ln, bad) = (style::LINE_NO, style::WARNING);
        writeln!(self.out, "{ln}line {line_no}:{ln:#} {}", shown(text))?;
        writeln!(
            self.out,
            "  {what} {} would match, but no keyword is on this line\n  {bad}→ skipped by the prefilter: add a keyword this line contains{bad:#}\n",
            i + 1
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn window_line(
        &mut self,
        line_no: u64,
        text: &[u8],
        hits: &[(&str, usize)],
        candidate: bool,
        window: u64,
        state: &mut WindowReplay,
    ) -> io::Result<bool> {
        let compiled = self.compiled;
        let matched: Vec<(usize, BTreeMap<String, String>)> = compiled
            .regexes
            .iter()
            .enumerate()
            .filter_map(|(i, re)| re.captures(text).map(|c| (i, captures_of(re, &c))))
            .collect();
        if !candidate {
            if let Some((i, _)) = matched.first() {
                state.hidden[*i].get_or_insert(line_no);
                self.hidden_line(line_no, text, "part", *i)?;
                return Ok(true);
            }
            return Ok(false);
        }
        let veto = compiled.unless.iter().position(|u| u.is_match(text));
        if hits.is_empty() && matched.is_empty() && veto.is_none() {
            return Ok(false);
        }
        self.line_header(line_no, text, hits)?;
        if let Some(u) = veto {
            state.last_veto = Some(line_no);
            writeln!(
                self.out,
                "    unless {} matched: no window around this line may fire",
                u + 1
            )?;
        }
        for (i, caps) in &matched {
            state.parts[*i] = Some(line_no);
            state.ever[*i] = Some(line_no);
            writeln!(self.out, "    part {} found", i + 1)?;
            self.print_captures(caps)?;
        }
        let (ok, bad) = (style::INFO, style::WARNING);
        if matched.is_empty() {
            writeln!(self.out, "  {bad}→ no part matched{bad:#}\n")?;
            return Ok(true);
        }
        let missing: Vec<String> = state
            .parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_none())
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        if !missing.is_empty() {
            writeln!(
                self.out,
                "  → waiting for part(s) {} within {window} lines\n",
                missing.join(", ")
            )?;
            return Ok(true);
        }
        let seen: Vec<u64> = state.parts.iter().flatten().copied().collect();
        let (lo, hi) = (
            seen.iter().copied().min().unwrap_or(0),
            seen.iter().copied().max().unwrap_or(0),
        );
        if hi - lo > window {
            writeln!(
                self.out,
                "  {bad}→ the parts are on lines {lo}..{hi}, {} lines apart: more than the window of {window}{bad:#}\n",
                hi - lo
            )?;
        } else if let Some(v) = state
            .last_veto
            .filter(|&v| v >= lo.saturating_sub(window) && v <= hi)
        {
            writeln!(
                self.out,
                "  {bad}→ vetoed: `unless` matched line {v}, within the window{bad:#}\n"
            )?;
        } else {
            writeln!(
                self.out,
                "  {ok}→ fires: every part seen on lines {lo}..{hi}{ok:#}\n"
            )?;
            state.parts.iter_mut().for_each(|p| *p = None);
        }
        Ok(true)
    }

    fn window_summary(&mut self, state: &WindowReplay) -> io::Result<()> {
        for (i, (ever, hidden)) in state.ever.iter().zip(&state.hidden).enumerate() {
            match (ever, hidden) {
                (Some(line), _) => writeln!(self.out, "part {}: last seen on line {line}", i + 1)?,
                (None, Some(line)) => writeln!(
                    self.out,
                    "part {}: only on line {line}, which has no keyword",
                    i + 1
                )?,
                (None, None) => writeln!(self.out, "part {}: never seen", i + 1)?,
            }
        }
        Ok(())
    }
}
