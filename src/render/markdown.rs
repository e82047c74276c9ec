//! `arm-kb match --format markdown`: the findings as a Markdown report, for a ticket, a
//! pull-request comment or a pipeline's summary page.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::evidence::{RowKind, context_location, evidence_rows, location};
use super::{MatchOutput, Printer};
use crate::report::Finding;
use crate::text;

/// The whole report as Markdown, headed by a `#` title.
pub fn report(out: &MatchOutput<'_>) -> String {
    let report = out.report;
    let mut md = String::new();
    let n = report.findings.len();
    let heading = text::quantity(n as u64, "finding");
    let _ = writeln!(md, "# arm-kb: {heading}\n");
    if report.sources.len() > 1 {
        grouped(&mut md, out);
    } else {
        let _ = writeln!(md, "{}\n", scanned_line(out));
        for (i, f) in report.findings.iter().enumerate() {
            finding(&mut md, "##", i + 1, f, out.show_files);
        }
    }
    if let Some(unexplained) = &report.unexplained {
        let _ = writeln!(
            md,
            "## Error lines no rule explains ({})\n",
            unexplained.total
        );
        if unexplained.lines.is_empty() {
            md.push_str("None.\n\n");
        } else {
            let lines: Vec<String> = unexplained
                .lines
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        location(e.file.as_deref(), e.line, out.show_files),
                        e.text
                    )
                })
                .collect();
            code_block(&mut md, &lines);
            let more = unexplained
                .total
                .saturating_sub(unexplained.lines.len() as u64);
            if more > 0 {
                let _ = writeln!(md, "… and {more} more.\n");
            }
        }
    }
    if let Some(suggestions) = report.suggestions.as_ref().filter(|s| !s.is_empty()) {
        md.push_str("## Possibly related\n\n");
        md.push_str(
            "No rule matched; these articles came up in a search for the log's error lines.\n\n",
        );
        for hit in suggestions {
            let _ = writeln!(
                md,
                "- {} ({})",
                escape_html(&hit.title),
                inline_code(hit.article.as_str())
            );
        }
        md.push('\n');
    }
    // One trailing newline, whatever came last.
    while md.ends_with("\n\n") {
        md.pop();
    }
    md
}

/// The Markdown report on standard output.
pub struct Markdown;

impl Printer for Markdown {
    fn write(&self, w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
        w.write_all(report(out).as_bytes())
    }
}

fn scanned_line(out: &MatchOutput<'_>) -> String {
    let stats = out.report.stats;
    let what = match out.inputs {
        [] => "standard input".to_owned(),
        [one] => inline_code(one),
        many => format!(
            "{} files ({})",
            many.len(),
            many.iter()
                .map(|f| inline_code(f))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "Scanned {what}: {}, {}.",
        crate::text::plural(stats.lines, "line"),
        crate::text::plural(stats.bytes, "byte")
    )
}

/// Several sources: a line on the run, each source with findings under its own heading
/// (its findings one level down), then the sources without any and the unread ones.
fn grouped(md: &mut String, out: &MatchOutput<'_>) {
    let report = out.report;
    let _ = writeln!(md, "{}.\n", super::text::run_summary(report));
    let mut number = 0;
    for source in report.sources.iter().filter(|s| s.findings > 0) {
        let _ = writeln!(
            md,
            "## {} ({})\n",
            inline_code(&source.name),
            text::quantity(source.findings as u64, "finding")
        );
        for f in report.findings_of(&source.name) {
            number += 1;
            finding(md, "###", number, f, false);
        }
    }
    let list = |md: &mut String, label: &str, names: Vec<String>| {
        if !names.is_empty() {
            let _ = writeln!(md, "{label}: {}.\n", names.join(", "));
        }
    };
    let quiet = report
        .sources
        .iter()
        .filter(|s| s.findings == 0 && s.error.is_none())
        .map(|s| inline_code(&s.name))
        .collect();
    list(md, "No finding in", quiet);
    let unread = report
        .sources
        .iter()
        .filter_map(|s| {
            let error = s.error.as_deref()?;
            Some(format!("{} ({})", inline_code(&s.name), escape_html(error)))
        })
        .collect();
    list(md, "Not read to the end", unread);
}

fn finding(md: &mut String, level: &str, number: usize, f: &Finding, show_files: bool) {
    let _ = writeln!(md, "{level} {number}. {}\n", escape_html(&f.title));
    let rules: Vec<String> = f.rules.iter().map(|r| inline_code(r.as_str())).collect();
    let _ = writeln!(
        md,
        "**{}** · {} · article {} · rules {}\n",
        f.severity.as_str(),
        f.confidence.as_str(),
        inline_code(f.article.as_str()),
        rules.join(", ")
    );
    let shown = f.evidence.len() as u64;
    let mut files: Vec<&str> = f
        .evidence
        .iter()
        .filter_map(|e| e.file.as_deref())
        .collect();
    files.dedup();
    let source = match files.as_slice() {
        [one] if !show_files => format!(" in {}", inline_code(one)),
        _ => String::new(),
    };
    if f.evidence_total > shown {
        let _ = writeln!(
            md,
            "Evidence{source} ({shown} of {} lines):\n",
            f.evidence_total
        );
    } else {
        let _ = writeln!(md, "Evidence{source}:\n");
    }
    let rows: Vec<String> = evidence_rows(&f.evidence)
        .into_iter()
        .map(|row| match row.kind {
            RowKind::Evidence => {
                format!("{}: {}", location(row.file, row.line, show_files), row.text)
            }
            RowKind::Context => format!(
                "{}- {}",
                context_location(row.file, row.line, show_files),
                row.text
            ),
            RowKind::Gap => "--".to_owned(),
        })
        .collect();
    code_block(md, &rows);
    let captures = f.captures();
    if !captures.is_empty() {
        md.push_str("Captured:\n\n");
        for (name, value) in &captures {
            let _ = writeln!(md, "- {}: {}", inline_code(name), inline_code(value));
        }
        md.push('\n');
    }
    let has_fix = !f.fix.is_empty() || f.fix_before.is_some() || f.fix_after.is_some();
    if has_fix {
        md.push_str("Fix:\n\n");
    }
    if let Some(prose) = &f.fix_before {
        let _ = writeln!(md, "{}\n", escape_html(prose));
    }
    if !f.fix.is_empty() {
        for (i, step) in f.fix.iter().enumerate() {
            let marker = format!("{}. ", i + 1);
            let indent = " ".repeat(marker.len());
            let mut lines = step.lines();
            let first = lines.next().unwrap_or_default();
            let _ = writeln!(md, "{marker}{}", escape_html(first));
            // The article parser keeps a code block of a step as lines indented by four.
            let mut code: Vec<&str> = Vec::new();
            for more in lines {
                if let Some(code_line) = more.strip_prefix("    ") {
                    code.push(code_line);
                    continue;
                }
                fenced_in_step(md, &indent, &mut code);
                if more.trim().is_empty() {
                    md.push('\n');
                } else {
                    let _ = writeln!(md, "{indent}{}", escape_html(more));
                }
            }
            fenced_in_step(md, &indent, &mut code);
        }
        md.push('\n');
    }
    if let Some(prose) = &f.fix_after {
        let _ = writeln!(md, "{}\n", escape_html(prose));
    }
    let _ = writeln!(
        md,
        "More: {}\n",
        inline_code(&format!("arm-kb show {}", f.article))
    );
}

/// Escapes `<` and an entity's `&` outside code spans, so `<organization>` in a fix step is shown
/// rather than taken for an HTML tag or an entity. Code spans are found as CommonMark finds
/// them: a run of N backticks opens one only if a later run of exactly N closes it;
/// otherwise its backticks are plain text and what follows is escaped.
fn escape_html(text: &str) -> String {
    let bytes = text.as_bytes();
    let run_at = |i: usize| bytes[i..].iter().take_while(|&&b| b == b'`').count();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let c = text[i..]
            .chars()
            .next()
            .expect("i is at a character boundary");
        if c == '`' {
            let run = run_at(i);
            let mut j = i + run;
            let close = loop {
                match text[j..].find('`') {
                    None => break None,
                    Some(k) => {
                        let at = j + k;
                        let len = run_at(at);
                        if len == run {
                            break Some(at);
                        }
                        j = at + len;
                    }
                }
            };
            let end = close.map_or(i + run, |at| at + run);
            out.push_str(&text[i..end]);
            i = end;
            continue;
        }
        // `&` only where it could start an entity (`&lt;`, `&#60;`): "A & B" stays readable.
        let entity = c == '&'
            && text[i + 1..]
                .chars()
                .next()
                .is_some_and(|n| n == '#' || n.is_ascii_alphabetic());
        match c {
            '<' => out.push_str("\\<"),
            '&' if entity => out.push_str("\\&"),
            c => out.push(c),
        }
        i += c.len_utf8();
    }
    out
}

/// Writes the code lines collected from a fix step as a fenced block inside its list item.
fn fenced_in_step(md: &mut String, indent: &str, code: &mut Vec<&str>) {
    if code.is_empty() {
        return;
    }
    let longest = code
        .iter()
        .map(|l| longest_backtick_run(l))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(md, "\n{indent}{fence}");
    for line in code.drain(..) {
        let _ = writeln!(md, "{indent}{line}");
    }
    let _ = writeln!(md, "{indent}{fence}");
}

/// A fenced code block whose fence is longer than any backtick run inside.
fn code_block(md: &mut String, lines: &[String]) {
    let longest = lines
        .iter()
        .map(|l| longest_backtick_run(l))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(md, "{fence}text");
    for line in lines {
        let _ = writeln!(md, "{line}");
    }
    let _ = writeln!(md, "{fence}\n");
}

/// Inline code that survives backticks in the text (CommonMark: a longer delimiter run,
/// padded with spaces when the text starts or ends with a backtick).
pub fn inline_code(text: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(text) + 1);
    if text.starts_with('`') || text.ends_with('`') {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_code_outgrows_backticks_in_the_text() {
        assert_eq!(inline_code("az login"), "`az login`");
        assert_eq!(inline_code("a `b` c"), "``a `b` c``");
        assert_eq!(inline_code("`x`"), "`` `x` ``");
    }

    #[test]
    fn angle_brackets_outside_code_are_escaped() {
        assert_eq!(
            escape_html("GET https://dev.azure.com/<org> with `<id>` and ``a`<b>``"),
            "GET https://dev.azure.com/\\<org> with `<id>` and ``a`<b>``"
        );
    }

    #[test]
    fn an_unbalanced_backtick_run_opens_no_code_span() {
        // A run closes only on a run of the same length; an unclosed run is plain text.
        assert_eq!(
            escape_html("subject ``x` `` <img src=x onerror=alert(8)> &lt;b> & co"),
            "subject ``x` `` \\<img src=x onerror=alert(8)> \\&lt;b> & co"
        );
        assert_eq!(escape_html("`a` <b> ``"), "`a` \\<b> ``");
        assert_eq!(escape_html("x`` <img src=x>"), "x`` \\<img src=x>");
    }

    #[test]
    fn code_fences_outgrow_backticks_in_the_lines() {
        let mut md = String::new();
        code_block(&mut md, &["```rust".to_owned()]);
        assert_eq!(md, "````text\n```rust\n````\n\n");
    }
}
