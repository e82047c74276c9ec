//! `--format github`: GitHub Actions workflow commands. Each finding becomes one `::error`
//! or `::warning` annotation, escaped so that nothing from a log line can end a command
//! early. The Markdown report is appended to the job's step summary when GitHub names one.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;

use super::evidence::{annotation_message, escape, issue_type};
use super::{MatchOutput, Printer, RenderError, write_summary_file};

/// `%` first, then carriage return and line feed (a message, after the second `::`).
const DATA: &[(char, &str)] = &[('%', "%25"), ('\r', "%0D"), ('\n', "%0A")];
/// A property value also escapes `:`, which ends the properties, and `,`, which separates
/// them.
const PROPERTY: &[(char, &str)] = &[
    ('%', "%25"),
    ('\r', "%0D"),
    ('\n', "%0A"),
    (':', "%3A"),
    (',', "%2C"),
];

/// Escapes the message of a GitHub Actions workflow command.
pub fn github_escape_data(text: &str) -> String {
    escape(text, DATA)
}

/// Escapes a property value of a GitHub Actions workflow command.
pub fn github_escape_property(text: &str) -> String {
    escape(text, PROPERTY)
}

/// One annotation per finding; `step_summary` is the file GitHub collects the job's
/// summary page in (`$GITHUB_STEP_SUMMARY`).
/// GitHub refuses a step summary over 1 MiB (and then shows none of it).
pub const STEP_SUMMARY_LIMIT: u64 = 1 << 20;

/// What is noted where a report was cut to fit the step summary.
const CUT_NOTE: &str = "\n\n**The report was cut here: a GitHub step summary holds at most 1 MiB.** Run `arm-kb match --format markdown` for all of it.\n";

/// `report` and a newline, cut at a line end (with a note) so that the step summary, which
/// holds `used` bytes already, stays within [`STEP_SUMMARY_LIMIT`].
pub fn capped(report: &str, used: u64) -> String {
    let room = STEP_SUMMARY_LIMIT.saturating_sub(used) as usize;
    if report.len() < room {
        return format!("{report}\n");
    }
    let keep = room.saturating_sub(CUT_NOTE.len());
    let mut end = keep.min(report.len());
    while !report.is_char_boundary(end) {
        end -= 1;
    }
    let end = report[..end].rfind('\n').unwrap_or(0);
    format!("{}{CUT_NOTE}", &report[..end])
}

pub struct Github {
    pub step_summary: Option<PathBuf>,
}

impl Printer for Github {
    fn write(&self, w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
        for f in &out.report.findings {
            writeln!(
                w,
                "::{} title={}::{}",
                issue_type(f.severity),
                github_escape_property(&f.title),
                github_escape_data(&annotation_message(f, false))
            )?;
        }
        Ok(())
    }

    /// Appends the Markdown report to the step summary (which collects every step's:
    /// never replaced), then writes the summary file.
    fn mode(&self) -> super::Mode {
        super::Mode::Ci
    }

    fn finish(&self, _: &mut dyn Write, out: &MatchOutput<'_>) -> Result<(), RenderError> {
        if let Some(path) = &self.step_summary {
            let file_error = |source| RenderError::File {
                path: path.clone(),
                source,
            };
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(file_error)?;
            let used = file.metadata().map_or(0, |m| m.len());
            let report = capped(&super::summary_markdown(out), used);
            file.write_all(report.as_bytes()).map_err(file_error)?;
        }
        write_summary_file(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn step_summary_stays_within_the_limit() {
        let line = "- a line of the report\n";
        let report = line.repeat(100_000);
        let cut = capped(&report, 1000);
        assert!(cut.len() as u64 + 1000 <= STEP_SUMMARY_LIMIT);
        assert!(cut.ends_with(CUT_NOTE));
        assert_eq!(capped("short", 0), "short\n");
        assert!(capped("short", STEP_SUMMARY_LIMIT).len() <= CUT_NOTE.len());
    }

    #[test]
    fn github_data_escapes_percent_first() {
        assert_eq!(github_escape_data("100%"), "100%25");
        assert_eq!(github_escape_data("%0A"), "%250A");
    }

    #[test]
    fn github_data_escapes_line_breaks() {
        assert_eq!(github_escape_data("a\r\nb"), "a%0D%0Ab");
    }

    #[test]
    fn github_data_keeps_colons_and_commas() {
        assert_eq!(github_escape_data("a::b, c"), "a::b, c");
    }

    #[test]
    fn github_property_escapes_colon() {
        assert_eq!(github_escape_property("a::b"), "a%3A%3Ab");
    }

    #[test]
    fn github_property_escapes_comma() {
        assert_eq!(github_escape_property("a,b"), "a%2Cb");
    }

    #[test]
    fn github_property_escapes_percent_and_line_breaks() {
        assert_eq!(github_escape_property("5%\r\n"), "5%25%0D%0A");
    }
}
