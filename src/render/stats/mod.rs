//! The printers of `arm-kb stats`, one file per format: [`text`], [`json`], [`markdown`],
//! [`html`]. Each prints a [`CorpusReport`] (whose example lines are already masked) and
//! the draft rules of `--suggest-rules`, if any.

pub mod html;
pub mod json;
pub mod markdown;
pub mod text;

use std::io::{self, Write};

use crate::stats::{CorpusReport, DraftRule};

/// How many templates the formats for people list (JSON lists every one kept).
pub const TEMPLATES_SHOWN: usize = 50;
/// How many articles and templates a bar chart shows.
pub const BARS_SHOWN: usize = 20;

/// What a stats printer prints.
pub struct StatsOutput<'a> {
    pub report: &'a CorpusReport,
    /// `--suggest-rules`: a draft for each of the most frequent templates.
    pub drafts: &'a [DraftRule],
}

/// One output format of `stats`.
pub trait StatsPrinter {
    fn write(&self, w: &mut dyn Write, out: &StatsOutput<'_>) -> io::Result<()>;
}

/// `part` of `whole` as a percentage with one decimal (`0.0` of nothing).
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0%".to_owned();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

/// The rules that fired, in the report's order (the most used first).
pub fn fired_rules(report: &CorpusReport) -> impl Iterator<Item = &crate::stats::RuleStat> {
    report.rules.iter().filter(|r| r.logs > 0)
}

/// How a draft is introduced in the output: the template it is for.
pub fn draft_heading(d: &DraftRule) -> String {
    format!(
        "# For the template `{}` ({} in {}).",
        d.template,
        crate::text::plural(d.count, "line"),
        crate::text::plural(d.logs, "log")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_of_nothing_are_zero() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(0, 0), "0.0%");
    }
}
