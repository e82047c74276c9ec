//! Output for CI logs: Azure Pipelines logging commands (`--format azure-devops`) and GitHub
//! Actions workflow commands (`--format github`). Each finding becomes one error or warning
//! annotation on the run; the values are escaped so that nothing from a log line can end a
//! command early or start another one.

use std::io::{self, Write};
use std::path::Path;

use super::findings::{MatchOutput, location};
use crate::report::Finding;
use crate::rules::Severity;

/// Escapes the message of an Azure Pipelines logging command (after the `]`), as the
/// agent's task library does: `%` first, then carriage return and line feed.
pub fn azure_escape_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%AZP25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a property value of an Azure Pipelines logging command (`key=value;`): also `;`,
/// which separates properties, and `]`, which ends them.
pub fn azure_escape_property(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%AZP25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ';' => out.push_str("%3B"),
            ']' => out.push_str("%5D"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes the message of a GitHub Actions workflow command (after the second `::`).
pub fn github_escape_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a property value of a GitHub Actions workflow command: also `:`, which ends the
/// properties, and `,`, which separates them.
pub fn github_escape_property(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// Both CI systems know only errors and warnings as issue types; info becomes a warning.
fn issue_type(severity: Severity) -> &'static str {
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
fn message(f: &Finding, with_title: bool) -> String {
    let mut text = if with_title {
        format!("{} [{}]", f.title, f.article)
    } else {
        format!("[{}]", f.article)
    };
    if let Some(at) = first_evidence(f) {
        text.push_str(&format!(" (log {at})"));
    }
    if let Some(step) = f.fix.first() {
        text.push_str(&format!(". Fix: {step}"));
    }
    text
}

/// `--format azure-devops`: one `##vso[task.logissue]` per finding.
pub fn write_azure(w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
    for f in &out.report.findings {
        writeln!(
            w,
            "##vso[task.logissue type={};code={}]{}",
            issue_type(f.severity),
            azure_escape_property(f.article.as_str()),
            azure_escape_data(&message(f, true))
        )?;
    }
    Ok(())
}

/// The command that attaches a Markdown file to the run's summary page.
pub fn write_azure_upload_summary(w: &mut dyn Write, path: &Path) -> io::Result<()> {
    writeln!(
        w,
        "##vso[task.uploadsummary]{}",
        azure_escape_data(&path.display().to_string())
    )
}

/// `--format github`: one `::error` or `::warning` annotation per finding.
pub fn write_github(w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()> {
    for f in &out.report.findings {
        writeln!(
            w,
            "::{} title={}::{}",
            issue_type(f.severity),
            github_escape_property(&f.title),
            github_escape_data(&message(f, false))
        )?;
    }
    Ok(())
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
