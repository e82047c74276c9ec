//! What the output formats share: evidence rows with their context, locations, severity
//! styles, and the text and escaping of CI annotations.

use super::style;
use crate::report::{Evidence, Finding};
use crate::rules::Severity;

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

/// Both CI systems know only errors and warnings as issue types; info becomes a warning.
pub fn issue_type(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning | Severity::Info => "warning",
    }
}

/// Where the first evidence line is, e.g. `job.log:12` or `line 12`.
fn first_evidence(f: &Finding) -> Option<String> {
    let e = f.evidence.first()?;
    Some(match e.file.as_deref() {
        Some(_) => location(e.file.as_deref(), e.line, true),
        None => format!("line {}", e.line),
    })
}

/// The annotation text of a finding (before escaping): title (unless it goes into a
/// property), article id, where the evidence is, and the first fix step.
pub fn annotation_message(f: &Finding, with_title: bool) -> String {
    let mut text = if with_title {
        format!("{} [{}] ({})", f.title, f.article, f.confidence.as_str())
    } else {
        format!("[{}] ({})", f.article, f.confidence.as_str())
    };
    if let Some(at) = first_evidence(f) {
        text.push_str(&format!(" (log {at})"));
    }
    if let Some(step) = f.fix.first() {
        text.push_str(&format!(". Fix: {step}"));
    }
    text
}

/// `text` with each character of `table` replaced by its escape (a logging command's
/// data or property value).
pub fn escape(text: &str, table: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match table.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => out.push_str(to),
            None => out.push(c),
        }
    }
    out
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
            matched: String::new(),
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
