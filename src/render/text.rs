//! `arm-kb match` (the default format): the findings for a person at a terminal.

use std::io::{self, Write};

use super::evidence::{RowKind, context_location, evidence_rows, location, severity_style};
use super::{MatchOutput, Printer, style};
use crate::report::Finding;
use crate::text;

/// Findings with their evidence, captures and fix; the unexplained lines and suggestions
/// when asked for; a last line with what was scanned.
pub struct Text;

impl Printer for Text {
    fn write(&self, w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
        write_text(w, out)
    }
}

fn write_text(w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
    let report = out.report;
    let grouped = report.sources.len() > 1;
    if grouped {
        write_grouped(w, out)?;
    } else {
        for (i, f) in report.findings.iter().enumerate() {
            if i > 0 {
                writeln!(w)?;
            }
            write_finding(w, f, out.show_files)?;
        }
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
    if grouped {
        return Ok(());
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

/// Several sources: a line on the whole run, then each source with findings under its
/// own heading, then the sources without any and those that could not be read.
fn write_grouped(w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
    let report = out.report;
    let (h, d) = (style::HEADING, style::DIM);
    writeln!(w, "{d}{}{d:#}", run_summary(report))?;
    for source in report.sources.iter().filter(|s| s.findings > 0) {
        writeln!(w)?;
        writeln!(
            w,
            "{h}== {}{h:#} {d}({}){d:#}",
            source.name,
            text::quantity(source.findings as u64, "finding")
        )?;
        for (i, f) in report.findings_of(&source.name).enumerate() {
            if i > 0 {
                writeln!(w)?;
            }
            write_finding(w, f, false)?;
        }
    }
    let quiet: Vec<_> = report
        .sources
        .iter()
        .filter(|s| s.findings == 0 && s.error.is_none())
        .collect();
    if !quiet.is_empty() {
        writeln!(w)?;
        writeln!(w, "{d}no finding in:{d:#}")?;
        for source in quiet {
            writeln!(w, "  {}", source.name)?;
        }
    }
    let unread: Vec<_> = report
        .sources
        .iter()
        .filter(|s| s.error.is_some())
        .collect();
    if !unread.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}not read to the end:{:#}", style::ERROR, style::ERROR)?;
        for source in unread {
            let error = source.error.as_deref().unwrap_or_default();
            writeln!(w, "  {}: {error}", source.name)?;
        }
    }
    if report.unexplained.is_some() || report.suggestions.as_ref().is_some_and(|s| !s.is_empty()) {
        writeln!(w)?;
    }
    Ok(())
}

/// One line on a run of several sources: findings, sources, lines, bytes, failures.
pub fn run_summary(report: &crate::report::Report) -> String {
    let with = report.sources.iter().filter(|s| s.findings > 0).count();
    let unread = report.sources.iter().filter(|s| s.error.is_some()).count();
    let mut line = format!(
        "{} in {} of {} sources ({} lines, {} bytes)",
        text::quantity(report.findings.len() as u64, "finding"),
        with,
        report.sources.len(),
        report.stats.lines,
        report.stats.bytes
    );
    if unread > 0 {
        line.push_str(&format!("; {unread} not read to the end"));
    }
    line
}

fn write_finding(w: &mut dyn Write, f: &Finding, show_files: bool) -> io::Result<()> {
    let sev = severity_style(f.severity);
    let (t, id, d, ln) = (style::TITLE, style::ID, style::DIM, style::LINE_NO);
    writeln!(
        w,
        "{sev}{}{sev:#} {d}{}{d:#}  {t}{}{t:#}  {id}[{}]{id:#}",
        f.severity.as_str(),
        f.confidence.as_str(),
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
