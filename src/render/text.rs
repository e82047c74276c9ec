//! `arm-kb match` (the default format): the findings for a person at a terminal.

use std::io::{self, Write};

use super::evidence::{RowKind, context_location, evidence_rows, location, severity_style};
use super::{MatchOutput, Printer, layout, style};
use crate::report::Finding;
use crate::text;

/// Findings with their evidence, captures and fix; the unexplained lines and suggestions
/// when asked for; a last line with what was scanned.
///
/// With a `width` (a terminal's), prose is wrapped and log lines are cut to fit it.
#[derive(Default)]
pub struct Text {
    pub width: Option<usize>,
}

impl Printer for Text {
    fn write(&self, w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
        write_text(w, out, self.width)
    }
}

/// Writes `text` (prose) after `first` and below it after `rest`, wrapped to `width`.
fn prose(
    w: &mut dyn Write,
    text: &str,
    width: Option<usize>,
    first: &str,
    rest: &str,
) -> io::Result<()> {
    match width {
        Some(width) => {
            for line in layout::wrap(text, width, first, rest) {
                writeln!(w, "{}", line.trim_end())?;
            }
            Ok(())
        }
        None => writeln!(w, "{first}{text}"),
    }
}

/// A log line after `prefix` (which holds colour codes), cut to fit `width`.
fn fitted(prefix: &str, text: &str, width: Option<usize>) -> String {
    match width {
        Some(width) => layout::cut(text, width.saturating_sub(layout::width(prefix))).0,
        None => text.to_owned(),
    }
}

/// `line` with the first occurrence of `matched` in the match colour (nothing when the
/// match is not in what is shown, e.g. masked or cut).
fn highlighted(line: &str, matched: &str) -> String {
    let m = style::MATCH;
    match (!matched.is_empty()).then(|| line.find(matched)).flatten() {
        Some(at) => format!(
            "{}{m}{}{m:#}{}",
            &line[..at],
            matched,
            &line[at + matched.len()..]
        ),
        None => line.to_owned(),
    }
}

fn write_text(w: &mut dyn Write, out: &MatchOutput<'_>, width: Option<usize>) -> io::Result<()> {
    let report = out.report;
    let grouped = report.sources.len() > 1;
    if grouped {
        write_grouped(w, out, width)?;
    } else {
        for (i, f) in report.findings.iter().enumerate() {
            if i > 0 {
                writeln!(w)?;
            }
            write_finding(w, f, out.show_files, width)?;
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
            let prefix = format!("  {}{loc}{:#}: ", style::LINE_NO, style::LINE_NO);
            writeln!(w, "{prefix}{}", fitted(&prefix, &e.text, width))?;
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
            let prefix = format!("  {}{}{:#}  ", style::ID, hit.article, style::ID);
            writeln!(w, "{prefix}{}", fitted(&prefix, &hit.title, width))?;
        }
    }
    if grouped {
        return Ok(());
    }
    let d = style::DIM;
    let n = report.findings.len();
    writeln!(
        w,
        "{}{d}{} in {} ({}){d:#}",
        if n > 0
            || report.unexplained.is_some()
            || report.suggestions.as_ref().is_some_and(|s| !s.is_empty())
        {
            "\n"
        } else {
            ""
        },
        text::quantity(n as u64, "finding"),
        text::plural(report.stats.lines, "line"),
        text::plural(report.stats.bytes, "byte")
    )?;
    Ok(())
}

/// Several sources: a line on the whole run, then each source with findings under its
/// own heading, then the sources without any and those that could not be read.
fn write_grouped(w: &mut dyn Write, out: &MatchOutput<'_>, width: Option<usize>) -> io::Result<()> {
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
            write_finding(w, f, false, width)?;
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

fn write_finding(
    w: &mut dyn Write,
    f: &Finding,
    show_files: bool,
    width: Option<usize>,
) -> io::Result<()> {
    let sev = severity_style(f.severity);
    let (t, id, d, ln) = (style::TITLE, style::ID, style::DIM, style::LINE_NO);
    let head = format!(
        "{sev}{}{sev:#} {d}{}{d:#}  ",
        f.severity.as_str(),
        f.confidence.as_str()
    );
    let tail = format!("{id}[{}]{id:#}", f.article);
    let one_line = layout::width(&head) + layout::width(&f.title) + 2 + layout::width(&tail);
    match width {
        Some(width) if one_line > width => {
            let indent = " ".repeat(layout::width(&head));
            let lines = layout::wrap(&f.title, width, &indent, &indent);
            for (i, line) in lines.iter().enumerate() {
                let words = line.trim();
                let lead = if i == 0 {
                    head.as_str()
                } else {
                    indent.as_str()
                };
                writeln!(w, "{lead}{t}{words}{t:#}")?;
            }
            writeln!(w, "{indent}{tail}")?;
        }
        _ => writeln!(w, "{head}{t}{}{t:#}  {tail}", f.title)?,
    }
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
                let prefix = format!("    {ln}{loc}{ln:#}: ");
                let shown = fitted(&prefix, row.text, width);
                let matched = f
                    .evidence
                    .iter()
                    .find(|e| e.line == row.line && e.file.as_deref() == row.file)
                    .map_or("", |e| e.matched.as_str());
                writeln!(w, "{prefix}{}", highlighted(&shown, matched))?;
            }
            RowKind::Context => {
                let loc = context_location(row.file, row.line, show_files);
                let prefix = format!("    {loc}- ");
                writeln!(w, "    {d}{loc}- {}{d:#}", fitted(&prefix, row.text, width))?;
            }
            RowKind::Gap => writeln!(w, "    {d}--{d:#}")?,
        }
    }
    let captures = f.captures();
    if !captures.is_empty() {
        let list: Vec<String> = captures.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let lead = format!("  {d}captured:{d:#} ");
        prose(w, &list.join("  "), width, &lead, "    ")?;
    }
    if !f.fix.is_empty() || f.fix_before.is_some() || f.fix_after.is_some() {
        writeln!(w, "  {d}fix:{d:#}")?;
    }
    for line in f.fix_before.iter().flat_map(|p| p.lines()) {
        prose(w, line, width, "    ", "    ")?;
    }
    for (i, step) in f.fix.iter().enumerate() {
        let mut lines = step.lines();
        if let Some(first) = lines.next() {
            let marker = format!("    {}. ", i + 1);
            let indent = " ".repeat(marker.len());
            prose(w, first, width, &marker, &indent)?;
        }
        for more in lines {
            // A code line keeps its own indentation when wrapped.
            let lead = format!("       {}", &more[..more.len() - more.trim_start().len()]);
            prose(w, more.trim_start(), width, &lead, &lead)?;
        }
    }
    for line in f.fix_after.iter().flat_map(|p| p.lines()) {
        prose(w, line, width, "    ", "    ")?;
    }
    let more = format!(
        "more: arm-kb show {}  (rules: {})",
        f.article,
        f.rules
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    match width {
        Some(width) => {
            for line in layout::wrap(&more, width, "  ", "    ") {
                writeln!(w, "{d}{}{d:#}", line.trim_end())?;
            }
        }
        None => writeln!(w, "  {d}{more}{d:#}")?,
    }
    Ok(())
}
