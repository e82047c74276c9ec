//! `arm-kb stats` (text): the summary for a terminal.

use std::io::{self, Write};

use super::{StatsOutput, StatsPrinter, TEMPLATES_SHOWN, draft_heading, fired_rules, percent};
use crate::render::style;
use crate::text;

pub struct Text;

impl StatsPrinter for Text {
    fn write(&self, w: &mut dyn Write, out: &StatsOutput<'_>) -> io::Result<()> {
        let r = out.report;
        let (h, t) = (style::HEADING, style::TITLE);
        writeln!(w, "{t}arm-kb stats: {}{t:#}", text::plural(r.logs, "log"))?;
        let rows = [
            ("with a finding", r.logs_with_findings),
            ("error lines, no finding (unclassified)", r.logs_with_errors),
            ("clean (no finding, no error line)", r.clean_logs()),
        ];
        for (what, n) in rows {
            writeln!(w, "  {n:>7}  {:>6}  {what}", percent(n, r.logs))?;
        }

        writeln!(
            w,
            "\n{h}Articles{h:#} (logs found in, logs as the top finding)"
        )?;
        if r.articles.is_empty() {
            writeln!(w, "  none found")?;
        }
        for a in &r.articles {
            let id = style::ID;
            writeln!(
                w,
                "  {:>7} {:>7}  {id}{}{id:#}  {}",
                a.logs,
                a.top,
                a.article,
                text::one_line(&a.title)
            )?;
        }

        let fired = fired_rules(r).count();
        writeln!(
            w,
            "\n{h}Rules{h:#}: {} loaded, {fired} fired, {} dead, {} noisy (hits, logs)",
            r.rules.len(),
            r.dead_rules.len(),
            r.noisy_rules.len()
        )?;
        for rule in fired_rules(r) {
            writeln!(w, "  {:>7} {:>7}  {}", rule.hits, rule.logs, rule.rule)?;
        }
        writeln!(
            w,
            "\n{h}Dead rules{h:#} ({}): fired in no log",
            r.dead_rules.len()
        )?;
        for id in &r.dead_rules {
            writeln!(w, "  {id}")?;
        }
        writeln!(
            w,
            "\n{h}Noisy rules{h:#} ({}): fired only beside a stronger finding for another article",
            r.noisy_rules.len()
        )?;
        for id in &r.noisy_rules {
            writeln!(w, "  {id}")?;
        }

        writeln!(
            w,
            "\n{h}Unexplained error lines{h:#}: {} in {} (lines, logs)",
            text::plural(r.error_lines, "line"),
            text::plural(r.unexplained.len() as u64, "template")
        )?;
        let dim = style::DIM;
        for tpl in r.unexplained.iter().take(TEMPLATES_SHOWN) {
            writeln!(w, "  {:>7} {:>7}  {}", tpl.count, tpl.logs, tpl.template)?;
            writeln!(
                w,
                "  {:>17}{dim}e.g. {}:{}{dim:#}",
                "", tpl.example.file, tpl.example.line
            )?;
        }
        let more = r.unexplained.len().saturating_sub(TEMPLATES_SHOWN);
        if more > 0 {
            writeln!(w, "  … and {more} more (all of them in --format json)")?;
        }
        if r.unexplained_dropped > 0 {
            writeln!(
                w,
                "  {} of rare templates not listed",
                text::plural(r.unexplained_dropped, "line")
            )?;
        }

        if !out.drafts.is_empty() {
            writeln!(
                w,
                "\n{h}Draft rules{h:#} for the most frequent templates (printed for review, written nowhere)"
            )?;
            for d in out.drafts {
                writeln!(w, "\n{}", draft_heading(d))?;
                write!(w, "{}", d.toml.trim_start_matches('\n'))?;
            }
        }
        Ok(())
    }
}
