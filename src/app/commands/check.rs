//! `arm-kb check`: every problem of every loaded root, compiler-style or as JSON.

use std::io::{self, Write};

use annotate_snippets::Renderer;
use serde::Serialize;

use super::{CommandError, ExitStatus, root_selection};
use crate::app::args::{CheckArgs, CheckFormat, GlobalArgs};
use arm_kb::authoring::lint::{CheckReport, check};
use arm_kb::diagnostics::{Diagnostic, DiagnosticJson, DiagnosticSeverity};
use arm_kb::render::{junit, sarif, style};
use arm_kb::text;

/// `check --format json` (fields in alphabetical order: the key order of the JSON).
#[derive(Serialize)]
struct CheckJson<'a> {
    diagnostics: Vec<DiagnosticJson<'a>>,
    errors: usize,
    warnings: usize,
}

pub fn run(global: &GlobalArgs, args: &CheckArgs) -> Result<ExitStatus, CommandError> {
    let mut report = check(&root_selection(global)?);
    report
        .diagnostics
        .splice(0..0, global.config_diagnostics.iter().cloned());
    let errors = report.count(DiagnosticSeverity::Error);
    let warnings = report.count(DiagnosticSeverity::Warning);
    let mut out = anstream::stdout().lock();
    match args.format {
        CheckFormat::Json => {
            let value = CheckJson {
                diagnostics: report.diagnostics.iter().map(Diagnostic::json).collect(),
                errors,
                warnings,
            };
            super::write_json(&mut out, &value)?;
        }
        CheckFormat::Text => write_text(&mut out, &report, errors, warnings)?,
        CheckFormat::Junit => {
            let mut suites = junit::example_suites(&report.outcomes, &[]);
            suites.push(junit::diagnostics_suite(
                &report.diagnostics,
                args.deny_warnings,
            ));
            junit::write(&mut out, "arm-kb check", &suites)?;
        }
        CheckFormat::Sarif => {
            sarif::write(&mut out, &report.diagnostics, env!("CARGO_PKG_VERSION"))?
        }
    }
    out.flush()?;
    Ok(if report.unreadable_root {
        ExitStatus::Error
    } else if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitStatus::Negative
    } else {
        ExitStatus::Success
    })
}

fn write_text(
    out: &mut impl Write,
    report: &CheckReport,
    errors: usize,
    warnings: usize,
) -> io::Result<()> {
    let renderer = stdout_renderer();
    for d in &report.diagnostics {
        writeln!(out, "{}\n", d.render(&renderer))?;
    }
    let plural = |n: usize, word: &str| text::plural(n as u64, word);
    let s = if errors > 0 {
        style::ERROR
    } else if warnings > 0 {
        style::WARNING
    } else {
        style::INFO
    };
    writeln!(
        out,
        "{s}checked {}, {}, {}, {}: {}, {}{s:#}",
        plural(report.roots, "root"),
        plural(report.articles, "article"),
        plural(report.rules, "rule"),
        plural(report.examples, "example"),
        plural(errors, "error"),
        plural(warnings, "warning"),
    )
}

/// Diagnostics go to stdout here (they are the command's output): colour them when
/// stdout takes colour.
fn stdout_renderer() -> Renderer {
    match anstream::AutoStream::choice(&io::stdout()) {
        anstream::ColorChoice::Always | anstream::ColorChoice::AlwaysAnsi => Renderer::styled(),
        _ => Renderer::plain(),
    }
}
