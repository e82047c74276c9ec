//! `arm-kb match` output: text for people, JSON for scripts.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::style;
use crate::matcher::{Finding, Report};
use crate::rules::Severity;
use crate::search::SearchHit;

/// What goes into the match output besides the findings.
pub struct MatchOutput<'a> {
    pub report: &'a Report,
    /// Search hits for the unexplained error lines ("possibly related"); never findings.
    pub suggestions: Option<&'a [SearchHit]>,
    pub unexplained: bool,
    /// Name files in evidence lines (several inputs).
    pub show_files: bool,
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
    if out.unexplained {
        if !report.findings.is_empty() {
            writeln!(w)?;
        }
        let h = style::HEADING;
        writeln!(
            w,
            "{h}Error lines no rule explains{h:#} ({})",
            report.error_lines_total
        )?;
        for e in &report.error_lines {
            let loc = location(e.file.as_deref(), e.line, out.show_files);
            writeln!(
                w,
                "  {}{loc}{:#}: {}",
                style::LINE_NO,
                style::LINE_NO,
                e.text
            )?;
        }
        let more = report
            .error_lines_total
            .saturating_sub(report.error_lines.len() as u64);
        if more > 0 {
            writeln!(w, "  {}… and {more} more{:#}", style::DIM, style::DIM)?;
        }
    }
    if let Some(suggestions) = out.suggestions.filter(|s| !s.is_empty()) {
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
        if n > 0 || out.unexplained || out.suggestions.is_some_and(|s| !s.is_empty()) {
            "\n"
        } else {
            ""
        },
        match n {
            0 => "no finding".to_owned(),
            1 => "1 finding".to_owned(),
            n => format!("{n} findings"),
        },
        report.stats.lines,
        report.stats.bytes
    )?;
    Ok(())
}

fn location(file: Option<&str>, line: u64, show_files: bool) -> String {
    match file {
        Some(f) if show_files => format!("{f}:{line}"),
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
    for e in &f.evidence {
        writeln!(
            w,
            "    {ln}{}{ln:#}: {}",
            location(e.file.as_deref(), e.line, show_files),
            e.text
        )?;
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

/// One finding as JSON (also one line of `--format jsonl`).
pub fn finding_json(f: &Finding) -> Value {
    json!({
        "article": f.article,
        "title": f.title,
        "severity": f.severity,
        "score": f.score,
        "rules": f.rules,
        "evidence": f.evidence.iter().map(|e| json!({
            "file": e.file,
            "line": e.line,
            "text": e.text,
            "rule": e.rule,
            "captures": e.captures,
        })).collect::<Vec<_>>(),
        "evidence_total": f.evidence_total,
        "fix": f.fix,
    })
}

pub fn to_json(out: &MatchOutput<'_>) -> Value {
    let report = out.report;
    let mut v = json!({
        "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "stats": { "bytes": report.stats.bytes, "lines": report.stats.lines },
    });
    if let Some(s) = out.suggestions {
        v["suggestions"] = json!(
            s.iter()
                .map(|h| json!({"article": h.article, "title": h.title, "score": h.score}))
                .collect::<Vec<_>>()
        );
    }
    if out.unexplained {
        v["unexplained"] = json!({
            "lines": report.error_lines,
            "total": report.error_lines_total,
        });
    }
    v
}
