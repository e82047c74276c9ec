//! `--format azure-devops`: Azure Pipelines logging commands. Each finding becomes one
//! error or warning on the run (`##vso[task.logissue]`); the values are escaped so that
//! nothing from a log line can end a command early or start another one. With
//! `--summary FILE`, the Markdown report is attached to the run's summary page.

use std::io::{self, Write};
use std::path::Path;

use super::evidence::{annotation_message, escape, issue_type};
use super::{MatchOutput, Printer, RenderError, write_summary_file};

/// `%` first, then carriage return and line feed: what the agent's task library escapes in
/// a message (after the `]`).
const DATA: &[(char, &str)] = &[('%', "%AZP25"), ('\r', "%0D"), ('\n', "%0A")];
/// A property value (`key=value;`) also escapes `;`, which separates properties, and `]`,
/// which ends them.
const PROPERTY: &[(char, &str)] = &[
    ('%', "%AZP25"),
    ('\r', "%0D"),
    ('\n', "%0A"),
    (';', "%3B"),
    (']', "%5D"),
];

/// Escapes the message of an Azure Pipelines logging command.
pub fn azure_escape_data(text: &str) -> String {
    escape(text, DATA)
}

/// Escapes a property value of an Azure Pipelines logging command.
pub fn azure_escape_property(text: &str) -> String {
    escape(text, PROPERTY)
}

/// One `##vso[task.logissue]` per finding.
pub struct Azure;

impl Printer for Azure {
    fn write(&self, w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
        for f in &out.report.findings {
            writeln!(
                w,
                "##vso[task.logissue type={};code={}]{}",
                issue_type(f.severity),
                azure_escape_property(f.article.as_str()),
                azure_escape_data(&annotation_message(f, true))
            )?;
        }
        Ok(())
    }

    /// Writes the summary file, then the command that attaches it to the run.
    fn mode(&self) -> super::Mode {
        super::Mode::Ci
    }

    fn finish(&self, w: &mut dyn Write, out: &MatchOutput<'_>) -> Result<(), RenderError> {
        write_summary_file(out)?;
        if let Some(path) = out.summary {
            let absolute = std::path::absolute(path).map_err(|source| RenderError::File {
                path: path.to_owned(),
                source,
            })?;
            write_upload_summary(w, &absolute)?;
        }
        Ok(())
    }
}

/// The command that attaches a Markdown file to the run's summary page.
fn write_upload_summary(w: &mut dyn Write, path: &Path) -> io::Result<()> {
    writeln!(
        w,
        "##vso[task.uploadsummary]{}",
        azure_escape_data(&path.display().to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn azure_data_escapes_percent_first() {
        assert_eq!(azure_escape_data("100%"), "100%AZP25");
        // An already escaped sequence in the text must survive the round trip.
        assert_eq!(azure_escape_data("%0A"), "%AZP250A");
    }

    #[test]
    fn azure_data_escapes_carriage_return() {
        assert_eq!(azure_escape_data("a\rb"), "a%0Db");
    }

    #[test]
    fn azure_data_escapes_line_feed() {
        assert_eq!(azure_escape_data("a\nb\r\nc"), "a%0Ab%0D%0Ac");
    }

    #[test]
    fn azure_data_keeps_separators_that_cannot_end_the_message() {
        assert_eq!(azure_escape_data("a;b]c"), "a;b]c");
    }

    #[test]
    fn azure_property_escapes_semicolon() {
        assert_eq!(azure_escape_property("a;b"), "a%3Bb");
    }

    #[test]
    fn azure_property_escapes_closing_bracket() {
        assert_eq!(azure_escape_property("a]b"), "a%5Db");
    }

    #[test]
    fn azure_property_escapes_percent_and_line_breaks() {
        assert_eq!(azure_escape_property("5%\r\n"), "5%AZP25%0D%0A");
    }
}
