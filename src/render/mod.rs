//! Rendering: findings, articles and hits as text or Markdown for people, JSON for scripts,
//! and logging commands for CI systems.
//!
//! Each `match --format` is one [`Printer`] in a file of its own: [`text`], [`json`],
//! [`jsonl`], [`markdown`], [`azure`], [`github`]. A printer writes the report, then
//! finishes (summary files and the like). A new format is one new file with one
//! `impl Printer`, and one line where the command line names the format.
//!
//! `check` and `test` report to CI systems as [`junit`] XML and [`sarif`].

pub mod article;
pub mod azure;
pub mod evidence;
pub mod explain;
pub mod github;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod layout;
pub mod markdown;
pub mod sarif;
pub mod text;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anstyle::{AnsiColor, Effects, Style};

use crate::report::Report;

/// Styles used across the text outputs; anstream strips them when colour is off.
pub mod style {
    use super::*;
    pub const ERROR: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
    pub const WARNING: Style = AnsiColor::Yellow.on_default().effects(Effects::BOLD);
    pub const INFO: Style = AnsiColor::Cyan.on_default().effects(Effects::BOLD);
    pub const TITLE: Style = Style::new().effects(Effects::BOLD);
    pub const DIM: Style = Style::new().effects(Effects::DIMMED);
    pub const ID: Style = AnsiColor::Cyan.on_default();
    pub const LINE_NO: Style = AnsiColor::Green.on_default();
    pub const CODE: Style = AnsiColor::Magenta.on_default();
    pub const HEADING: Style = AnsiColor::Blue.on_default().effects(Effects::BOLD);
    pub const MATCH: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
}

/// What a printer prints: the (masked) report and how to present it.
pub struct MatchOutput<'a> {
    pub report: &'a Report,
    /// Name files in evidence lines (several inputs).
    pub show_files: bool,
    /// The inputs scanned, as named to the user (`<stdin>` for standard input).
    pub inputs: &'a [String],
    /// `--summary FILE`: where the Markdown report goes as well, replacing the file.
    pub summary: Option<&'a Path>,
}

/// One output format of `match`.
pub trait Printer {
    /// Writes the report to `w` (standard output).
    fn write(&self, w: &mut dyn Write, out: &MatchOutput<'_>) -> io::Result<()>;

    /// Runs after [`Printer::write`]: writes the summary file, if one was asked for. A
    /// format may add to this (a CI command pointing at the file, a CI summary page).
    fn finish(&self, _w: &mut dyn Write, out: &MatchOutput<'_>) -> Result<(), RenderError> {
        write_summary_file(out)
    }
}

/// A printer's failure: writing its output, or a file it writes.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: io::Error },
}

/// `--summary FILE`: the Markdown report, replacing the file.
pub fn write_summary_file(out: &MatchOutput<'_>) -> Result<(), RenderError> {
    let Some(path) = out.summary else {
        return Ok(());
    };
    std::fs::write(path, markdown::report(out)).map_err(|source| RenderError::File {
        path: path.to_owned(),
        source,
    })
}
