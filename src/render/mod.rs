//! Rendering: findings, articles and hits as text or Markdown for people, JSON for scripts,
//! logging commands for CI systems, and HTML pages for the web server ([`html`]).
//!
//! Each `match --format` is one [`Printer`] in a file of its own: [`text`], [`json`],
//! [`jsonl`], [`markdown`], [`azure`], [`github`]. A printer writes the report, then
//! finishes (summary files and the like). A new format is one new file with one
//! `impl Printer`, and one line where the command line names the format. The formats of
//! `stats` are printers of their own, in [`stats`].
//!
//! `check` and `test` report to CI systems as [`junit`] XML and [`sarif`].

pub mod article;
pub mod azure;
pub mod evidence;
pub mod explain;
pub mod github;
pub mod html;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod layout;
pub mod markdown;
pub mod sarif;
pub mod stats;
pub mod text;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anstyle::{AnsiColor, Effects, Style};

use crate::neutralize;
pub use crate::neutralize::Mode;
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

    /// How what the printer writes is made inert for pipeline runners (the output passes
    /// through [`crate::neutralize::output`] before it leaves the process).
    fn mode(&self) -> Mode {
        Mode::Text
    }

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

/// The Markdown report for a summary file or page: inert for a runner, like any output.
pub fn summary_markdown(out: &MatchOutput<'_>) -> String {
    neutralize::output(Mode::Text, &markdown::report(out)).into_owned()
}

/// `--summary FILE`: the Markdown report, replacing the file.
pub fn write_summary_file(out: &MatchOutput<'_>) -> Result<(), RenderError> {
    let Some(path) = out.summary else {
        return Ok(());
    };
    write_replacing(path, summary_markdown(out).as_bytes()).map_err(|source| RenderError::File {
        path: path.to_owned(),
        source,
    })
}

/// Writes `bytes` to a new file in the folder of `path`, then renames it to `path`: a
/// reader sees the old file or the new one, never a part of one, and a symlink at `path`
/// is replaced, not followed. The new file is removed when anything fails.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "summary".into(), |n| n.to_string_lossy().into_owned());
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.{}.{attempt}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
