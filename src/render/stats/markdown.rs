//! `arm-kb stats --format markdown`: the same tables as the text, for a wiki page or a
//! pull request.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{StatsOutput, StatsPrinter, TEMPLATES_SHOWN, draft_heading, fired_rules, percent};
use crate::render::markdown::inline_code;
use crate::text;

pub struct Markdown;

impl StatsPrinter for Markdown {
    fn write(&self, w: &mut dyn Write, out: &StatsOutput<'_>) -> io::Result<()> {
        w.write_all(report(out).as_bytes())
    }
}

/// A table cell: one line, and no `|` that would end the cell (GitHub reads `\|` as `|`,
/// also inside code).
fn cell(text: &str) -> String {
    text::one_line(text).replace('|', "\\|")
}

/// Code in a cell.
fn code(text: &str) -> String {
    cell(&inline_code(&text::one_line(text)))
}

/// Plain text in a cell: HTML and Markdown that would be read as markup made literal.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text::one_line(text).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '!' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn report(out: &StatsOutput<'_>) -> String {
    let r = out.report;
    let mut md = String::new();
    let _ = writeln!(md, "# arm-kb stats: {}\n", text::plural(r.logs, "log"));
    md.push_str("| logs | count | share |\n| --- | ---: | ---: |\n");
    for (what, n) in [
        ("read", r.logs),
        ("with a finding", r.logs_with_findings),
        ("error lines, no finding (unclassified)", r.logs_with_errors),
        ("clean (no finding, no error line)", r.clean_logs()),
    ] {
        let _ = writeln!(md, "| {what} | {n} | {} |", percent(n, r.logs));
    }

    md.push_str("\n## Articles\n\n");
    if r.articles.is_empty() {
        md.push_str("None found.\n");
    } else {
        md.push_str("| article | title | logs | top finding |\n| --- | --- | ---: | ---: |\n");
        for a in &r.articles {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                code(a.article.as_str()),
                plain(&a.title),
                a.logs,
                a.top
            );
        }
    }

    let _ = writeln!(
        md,
        "\n## Rules\n\n{} loaded, {} fired, {} dead, {} noisy.\n",
        r.rules.len(),
        fired_rules(r).count(),
        r.dead_rules.len(),
        r.noisy_rules.len()
    );
    if fired_rules(r).next().is_some() {
        md.push_str("| rule | article | hits | logs |\n| --- | --- | ---: | ---: |\n");
        for rule in fired_rules(r) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                code(rule.rule.as_str()),
                code(rule.article.as_str()),
                rule.hits,
                rule.logs
            );
        }
    }
    id_list(
        &mut md,
        "Dead rules",
        "fired in no log",
        r.dead_rules.iter().map(|id| id.as_str()),
    );
    id_list(
        &mut md,
        "Noisy rules",
        "fired only beside a stronger finding for another article",
        r.noisy_rules.iter().map(|id| id.as_str()),
    );

    let _ = writeln!(
        md,
        "\n## Unexplained error lines\n\n{} in {}.\n",
        text::plural(r.error_lines, "line"),
        text::plural(r.unexplained.len() as u64, "template")
    );
    if !r.unexplained.is_empty() {
        md.push_str("| lines | logs | template | example |\n| ---: | ---: | --- | --- |\n");
        for t in r.unexplained.iter().take(TEMPLATES_SHOWN) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                t.count,
                t.logs,
                code(&t.template),
                code(&format!("{}:{}", t.example.file, t.example.line))
            );
        }
        let more = r.unexplained.len().saturating_sub(TEMPLATES_SHOWN);
        if more > 0 {
            let _ = writeln!(md, "\n… and {more} more templates.");
        }
    }

    if !out.drafts.is_empty() {
        md.push_str("\n## Draft rules\n\nFor the most frequent templates; review them before adding them to a root.\n");
        for d in out.drafts {
            let toml = format!("{}\n{}", draft_heading(d), d.toml.trim_start_matches('\n'));
            let fence = "`".repeat(longest_run(&toml, '`').max(2) + 1);
            let _ = write!(md, "\n{fence}toml\n{toml}{fence}\n");
        }
    }
    md
}

fn id_list<'a>(md: &mut String, title: &str, what: &str, ids: impl Iterator<Item = &'a str>) {
    let ids: Vec<&str> = ids.collect();
    let _ = writeln!(
        md,
        "\n### {title} ({})\n\n{}.\n",
        ids.len(),
        capitalised(what)
    );
    for id in ids {
        let _ = writeln!(md, "- {}", inline_code(id));
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn longest_run(text: &str, c: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(plain("<b>x</b> | *y*"), "\\<b\\>x\\</b\\> \\| \\*y\\*");
        assert!(!cell("a\nb").contains('\n'));
    }
}
