//! One module per subcommand; this one dispatches and sets up what they share: loading
//! the knowledge base, printing diagnostics, colour.

mod check;
mod completions;
mod explain;
mod list;
mod list_messages;
mod matching;
mod new;
mod search;
mod serve;
mod show;
mod stats;
mod test;

use std::io::{self, Write};

use annotate_snippets::Renderer;

use crate::app::args::{Cli, ColorChoice, Command, GlobalArgs};
pub use crate::app::error::{CommandError, ExitStatus, UnknownId};
use arm_kb::diagnostics::{Diagnostic, DiagnosticSeverity};
use arm_kb::kb::{KnowledgeBase, RootSelection};

pub fn run(cli: Cli) -> ExitStatus {
    anstream::ColorChoice::write_global(match cli.global.color {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    });
    // A broken configuration file stops every command but `check`, which reports it.
    let config_errors = cli.global.config_diagnostics.iter().any(|d| d.is_error());
    if config_errors && !matches!(cli.command, Command::Check(_)) {
        let _ = print_diagnostics(&cli.global.config_diagnostics, DiagnosticSeverity::Warning);
        let _ = writeln!(
            anstream::stderr(),
            "arm-kb: the configuration file has errors (fix them, or run with --no-config)"
        );
        return ExitStatus::Error;
    }
    let result = match &cli.command {
        Command::Match(args) => matching::run(&cli.global, args),
        Command::Search(args) => search::run(&cli.global, args),
        Command::Show(args) => show::run(&cli.global, args),
        Command::List(args) => list::run(&cli.global, args),
        Command::Completions(args) => completions::run_completions(args),
        Command::Man(args) => completions::run_man(args),
        Command::Complete(args) => completions::run_complete(&cli.global, args),
        Command::Check(args) => check::run(&cli.global, args),
        Command::Test(args) => test::run(&cli.global, args),
        Command::Explain(args) => explain::run(&cli.global, args),
        Command::New(command) => new::run(&cli.global, command),
        Command::Serve(args) => serve::run(&cli.global, args),
        Command::Stats(args) => stats::run(&cli.global, args),
    };
    match result {
        Ok(code) => code,
        // `arm-kb match | head` closing the pipe early is not an error.
        Err(CommandError::Io(e)) if is_broken_pipe(&e) => ExitStatus::Success,
        Err(CommandError::KnowledgeBase) => ExitStatus::Error,
        Err(e) => {
            let _ = writeln!(anstream::stderr(), "arm-kb: {e}");
            ExitStatus::Error
        }
    }
}

/// Writes one pretty-printed JSON document and a newline: the `--format json` of every
/// command.
pub fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> io::Result<()> {
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

/// The roots selected by the global flags and `ARM_KB_PATH`; none at all is a usage
/// error (every command would answer from an empty knowledge base).
pub fn root_selection(global: &GlobalArgs) -> Result<RootSelection, CommandError> {
    let env = std::env::var("ARM_KB_PATH").ok();
    let dirs: Vec<_> = global
        .config_roots
        .iter()
        .chain(&global.kb)
        .cloned()
        .collect();
    let selection = RootSelection::new(global.no_builtin, env.as_deref(), &dirs);
    if !selection.builtin && selection.dirs.is_empty() {
        return Err(CommandError::Usage(
            "--no-builtin leaves no knowledge root: add one with --kb PATH (or ARM_KB_PATH, or `roots` in .arm-kb.toml)"
                .to_owned(),
        ));
    }
    Ok(selection)
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
    let loaded = KnowledgeBase::load(&root_selection(global)?);
    print_diagnostics(&loaded.diagnostics, DiagnosticSeverity::Warning)?;
    if loaded.has_errors() {
        return Err(CommandError::KnowledgeBase);
    }
    release_load_memory();
    Ok(loaded.kb)
}

/// Gives the memory that loading freed back to the system. A big team root is parsed in
/// pieces on every core; what their parsers freed stays in each thread's malloc arena,
/// resident for the rest of the run (6 MiB of 35 with 10,000 rules), and glibc trims only
/// the top of its heaps, and only past a threshold that rises as large blocks are freed.
fn release_load_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only returns free pages to the system; it
    // is safe to call at any time, from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
