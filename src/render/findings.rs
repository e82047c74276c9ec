//! `arm-kb match` output: text for people, JSON and JSON lines for scripts, and the pieces
//! the other formats share (evidence rows with their context).

use std::io::{self, Write};

use super::style;
use crate::report::{Evidence, Finding, Report};
use crate::rules::Severity;
use crate::text;

/// What goes into the match output besides the findings.
pub struct MatchOutput<'a> {
    pub report: &'a Report,
    /// Name files in evidence lines (several inputs).
    pub show_files: bool,
    /// The inputs scanned, as named to the user (`<stdin>` for standard input).
    pub inputs: &'a [String],
}

/// What a row of evidence output is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// A line that made a rule fire.
    Evidence,
    /// A line around one (`-A`/`-B`/`-C`).
    Context,
    /// Lines were skipped here (printed as `--`, like grep).
    Gap,
}

/// One row of a finding's evidence, context included, in log order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRow<'a> {
    pub kind: RowKind,
    pub file: Option<&'a str>,
    pub line: u64,
    pub text: &'a str,
}

/// The evidence of a finding with its context lines merged: overlapping context is shown
/// once, an evidence line is never shown as context, and a gap row separates runs of
/// lines that do not follow each other (only when there is context, as in grep).
pub fn evidence_rows<'e>(evidence: &'e [Evidence]) -> Vec<EvidenceRow<'e>> {
    let mut files: Vec<Option<&'e str>> = Vec::new();
    let mut rows: Vec<(usize, EvidenceRow<'e>)> = Vec::new();
    let mut has_context = false;
    for e in evidence {
        let file = e.file.as_deref();
        let order = files.iter().position(|f| *f == file).unwrap_or_else(|| {
            files.push(file);
            files.len() - 1
        });
        has_context |= !e.context_before.is_empty() || !e.context_after.is_empty();
        let row = |kind, line: u64, text: &'e str| {
            (
                order,
                EvidenceRow {
                    kind,
                    file,
                    line,
                    text,
                },
            )
        };
        for c in &e.context_before {
            rows.push(row(RowKind::Context, c.line, &c.text));
        }
        rows.push(row(RowKind::Evidence, e.line, &e.text));
        for c in &e.context_after {
            rows.push(row(RowKind::Context, c.line, &c.text));
        }
    }
    // Stable: an evidence row sorts before a context row of the same line.
    rows.sort_by_key(|(order, row)| (*order, row.line, row.kind != RowKind::Evidence));
    rows.dedup_by(|later, earlier| earlier.0 == later.0 && earlier.1.line == later.1.line);
    let mut out: Vec<EvidenceRow<'_>> = Vec::with_capacity(rows.len());
    let mut previous: Option<(usize, u64)> = None;
    for (order, row) in rows {
        if has_context && previous.is_some_and(|(o, l)| o != order || l + 1 != row.line) {
            out.push(EvidenceRow {
                kind: RowKind::Gap,
                file: row.file,
                line: row.line,
                text: "",
            });
        }
        previous = Some((order, row.line));
        out.push(row);
    }
    out
}

pub fn severity_style(s: Severity) -> anstyle::Style {
    match s {
        Severity::Error => style::ERROR,
        Severity::Warning => style::WARNING,
        Severity::Info => style::INFO,
    }
}

pub fn write_text(w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
    let report = out.report;
    for (i, f) in report.findings.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        write_finding(w, f, out.show_files)?;
    }
    if let Some(unexplained) = &report.unexplained {
        if !report.findings.is_empty() {
            writeln!(w)?;
        }
        let h = style::HEADING;
        writeln!(
            w,
            "{h}Error lines no rule explains{h:#} ({})",
            unexplained.total
        )?;
        for e in &unexplained.lines {
            let loc = location(e.file.as_deref(), e.line, out.show_files);
            writeln!(
                w,
                "  {}{loc}{:#}: {}",
                style::LINE_NO,
                style::LINE_NO,
                e.text
            )?;
        }
        let more = unexplained
            .total
            .saturating_sub(unexplained.lines.len() as u64);
        if more > 0 {
            writeln!(w, "  {}… and {more} more{:#}", style::DIM, style::DIM)?;
        }
    }
    if let Some(suggestions) = report.suggestions.as_ref().filter(|s| !s.is_empty()) {
        writeln!(w)?;
        let h = style::HEADING;
        writeln!(
            w,
            "{h}Possibly related{h:#} {}(no rule matched; search hits for the log's error lines){:#}",
            style::DIM,
            style::DIM
        )?;
        for hit in suggestions {
            writeln!(
                w,
                "  {}{}{:#}  {}",
                style::ID,
                hit.article,
                style::ID,
                hit.title
            )?;
        }
    }
    let d = style::DIM;
    let n = report.findings.len();
    writeln!(
        w,
        "{}{d}{} in {} lines ({} bytes){d:#}",
        if n > 0
            || report.unexplained.is_some()
            || report.suggestions.as_ref().is_some_and(|s| !s.is_empty())
        {
            "\n"
        } else {
            ""
        },
        text::quantity(n as u64, "finding"),
        report.stats.lines,
        report.stats.bytes
    )?;
    Ok(())
}

pub fn location(file: Option<&str>, line: u64, show_files: bool) -> String {
    match file {
        Some(f) if show_files => format!("{f}:{line}"),
        _ => format!("{line}"),
    }
}

/// A context line's location, grep-style: `file-12` rather than `file:12`.
pub fn context_location(file: Option<&str>, line: u64, show_files: bool) -> String {
    match file {
        Some(f) if show_files => format!("{f}-{line}"),
        _ => format!("{line}"),
    }
}

fn write_finding(w: &mut dyn Write, f: &Finding, show_files: bool) -> io::Result<()> {
    let sev = severity_style(f.severity);
    let (t, id, d, ln) = (style::TITLE, style::ID, style::DIM, style::LINE_NO);
    writeln!(
        w,
        "{sev}{}{sev:#}  {t}{}{t:#}  {id}[{}]{id:#}",
        f.severity.as_str(),
        f.title,
        f.article
    )?;
    let shown = f.evidence.len() as u64;
    let header = if f.evidence_total > shown {
        format!("evidence ({shown} of {} lines):", f.evidence_total)
    } else {
        "evidence:".to_owned()
    };
    writeln!(w, "  {d}{header}{d:#}")?;
    for row in evidence_rows(&f.evidence) {
        match row.kind {
            RowKind::Evidence => {
                let loc = location(row.file, row.line, show_files);
                writeln!(w, "    {ln}{loc}{ln:#}: {}", row.text)?;
            }
            RowKind::Context => {
                let loc = context_location(row.file, row.line, show_files);
                writeln!(w, "    {d}{loc}- {}{d:#}", row.text)?;
            }
            RowKind::Gap => writeln!(w, "    {d}--{d:#}")?,
        }
    }
    let captures = f.captures();
    if !captures.is_empty() {
        let list: Vec<String> = captures.iter().map(|(k, v)| format!("{k}={v}")).collect();
        writeln!(w, "  {d}captured:{d:#} {}", list.join("  "))?;
    }
    if !f.fix.is_empty() {
        writeln!(w, "  {d}fix:{d:#}")?;
        for (i, step) in f.fix.iter().enumerate() {
            let mut lines = step.lines();
            if let Some(first) = lines.next() {
                writeln!(w, "    {}. {first}", i + 1)?;
            }
            for more in lines {
                writeln!(w, "       {more}")?;
            }
        }
    }
    writeln!(
        w,
        "  {d}more: arm-kb show {}  (rules: {}){d:#}",
        f.article,
        f.rules
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RuleId;

    fn evidence(line: u64, before: &[u64], after: &[u64]) -> Evidence {
        let lines = |ns: &[u64]| {
            ns.iter()
                .map(|&n| crate::report::ContextLine {
                    line: n,
                    text: format!("line {n}"),
                })
                .collect()
        };
        Evidence {
            file: None,
            line,
            text: format!("line {line}"),
            rule: RuleId::parse("test.rule").expect("valid id"),
            captures: Default::default(),
            context_before: lines(before),
            context_after: lines(after),
        }
    }

    fn shape(rows: &[EvidenceRow<'_>]) -> Vec<String> {
        rows.iter()
            .map(|r| match r.kind {
                RowKind::Evidence => format!("{}:", r.line),
                RowKind::Context => format!("{}-", r.line),
                RowKind::Gap => "--".to_owned(),
            })
            .collect()
    }

    #[test]
    fn overlapping_context_is_shown_once_and_runs_are_separated() {
        let ev = [
            evidence(5, &[4], &[6]),
            evidence(7, &[6], &[8]),
            evidence(20, &[19], &[21]),
        ];
        assert_eq!(
            shape(&evidence_rows(&ev)),
            ["4-", "5:", "6-", "7:", "8-", "--", "19-", "20:", "21-"]
        );
    }

    #[test]
    fn an_evidence_line_is_never_shown_as_context() {
        let ev = [evidence(5, &[], &[6]), evidence(6, &[5], &[])];
        assert_eq!(shape(&evidence_rows(&ev)), ["5:", "6:"]);
    }

    #[test]
    fn without_context_there_are_no_gaps() {
        let ev = [evidence(5, &[], &[]), evidence(9, &[], &[])];
        assert_eq!(shape(&evidence_rows(&ev)), ["5:", "9:"]);
    }
}
