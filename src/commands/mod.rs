//! One module per subcommand; this one sets up what they share: loading the knowledge
//! base, reporting diagnostics, colour and exit codes.

mod check;
mod completions;
mod explain;
mod list;
mod matching;
mod new;
mod search;
mod show;
mod test;

use std::io::{self, Write};

use annotate_snippets::Renderer;

use crate::cli::{Cli, ColorChoice, Command, GlobalArgs};
use crate::diagnostics::{Diagnostic, DiagnosticSeverity};
use crate::kb::{KnowledgeBase, RootSelection};

/// Exit status: success (for `match`: at least one finding).
pub const EXIT_OK: u8 = 0;
/// Exit status of `match` when there is no finding (like grep).
pub const EXIT_NO_MATCH: u8 = 1;
/// Exit status on any error: unreadable input, bad rule or article file, unknown id.
pub const EXIT_ERROR: u8 = 2;

/// Why a command failed; the message has already been made specific by the command.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The knowledge base has errors; they have been printed as diagnostics.
    #[error("the knowledge base has errors (run `arm-kb check` for the full report)")]
    KnowledgeBase,
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
    #[error("{0}")]
    Usage(String),
    /// An output file (e.g. `match --summary`) could not be written.
    #[error("{}: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        source: io::Error,
    },
}

impl From<crate::render::RenderError> for CommandError {
    fn from(e: crate::render::RenderError) -> Self {
        match e {
            crate::render::RenderError::Io(e) => CommandError::Io(e),
            crate::render::RenderError::File { path, source } => {
                CommandError::File { path, source }
            }
        }
    }
}

pub fn run(cli: Cli) -> u8 {
    anstream::ColorChoice::write_global(match cli.global.color {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    });
    let result = match &cli.command {
        Command::Match(args) => matching::run(&cli.global, args),
        Command::Search(args) => search::run(&cli.global, args),
        Command::Show(args) => show::run(&cli.global, args),
        Command::List(args) => list::run(&cli.global, args),
        Command::Completions(args) => completions::run_completions(args),
        Command::Man => completions::run_man(),
        Command::Check(args) => check::run(&cli.global, args),
        Command::Test(args) => test::run(&cli.global, args),
        Command::Explain(args) => explain::run(&cli.global, args),
        Command::New(command) => new::run(&cli.global, command),
    };
    match result {
        Ok(code) => code,
        // `arm-kb match | head` closing the pipe early is not an error.
        Err(CommandError::Io(e)) if is_broken_pipe(&e) => EXIT_OK,
        Err(CommandError::KnowledgeBase) => EXIT_ERROR,
        Err(e) => {
            let _ = writeln!(anstream::stderr(), "arm-kb: {e}");
            EXIT_ERROR
        }
    }
}

/// Writes one pretty-printed JSON document and a newline: the `--format json` of every
/// command.
pub fn write_json(out: &mut dyn Write, value: &serde_json::Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// A closed stdout, also when a JSON writer wrapped the error.
fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<serde_json::Error>())
            .and_then(serde_json::Error::io_error_kind)
            == Some(io::ErrorKind::BrokenPipe)
}

/// The roots selected by the global flags and `ARM_KB_PATH`.
pub fn root_selection(global: &GlobalArgs) -> RootSelection {
    let env = std::env::var("ARM_KB_PATH").ok();
    RootSelection::new(global.no_builtin, env.as_deref(), &global.kb)
}

/// A renderer for diagnostics on stderr, coloured when stderr is.
pub fn diagnostic_renderer() -> Renderer {
    let colored = matches!(
        anstream::AutoStream::choice(&io::stderr()),
        anstream::ColorChoice::Always | anstream::ColorChoice::AlwaysAnsi
    );
    if colored {
        Renderer::styled()
    } else {
        Renderer::plain()
    }
}

/// Prints diagnostics at or above `min` to stderr.
pub fn print_diagnostics(diags: &[Diagnostic], min: DiagnosticSeverity) -> io::Result<()> {
    let renderer = diagnostic_renderer();
    let mut err = anstream::stderr().lock();
    for d in diags.iter().filter(|d| d.severity >= min) {
        writeln!(err, "{}", d.render(&renderer))?;
    }
    Ok(())
}

/// Loads the knowledge base for a command that needs a sound one: errors are printed
/// and fail the command (exit 2); warnings are printed.
pub fn load_kb(global: &GlobalArgs) -> Result<KnowledgeBase, CommandError> {
    let loaded = KnowledgeBase::load(&root_selection(global));
    print_diagnostics(&loaded.diagnostics, DiagnosticSeverity::Warning)?;
    if loaded.has_errors() {
        return Err(CommandError::KnowledgeBase);
    }
    Ok(loaded.kb)
}
