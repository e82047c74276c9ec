//! The command line of the `arm-kb` binary: argument parsing ([`args`], the one clap
//! table), what `match` was asked to do ([`plan`]), one module per subcommand
//! ([`commands`]), and how a command ends ([`error`]). Nothing of the library can reach
//! this module: the library is the engine, this is one way to drive it.

pub mod args;
pub mod commands;
pub mod config;
pub mod error;
pub mod plan;

pub use commands::run;

/// Reads the configuration file (unless `--no-config`) into what the command line left
/// at its defaults.
pub fn configure(cli: &mut args::Cli, matches: &clap::ArgMatches) {
    if cli.global.no_config {
        return;
    }
    let Some(path) = std::env::current_dir()
        .ok()
        .and_then(|dir| config::find(&dir))
    else {
        return;
    };
    // A path shown relative to the current folder when it is inside it.
    let shown = std::env::current_dir()
        .ok()
        .and_then(|dir| path.strip_prefix(&dir).ok().map(std::path::Path::to_owned))
        .unwrap_or_else(|| path.clone());
    let (config, diagnostics) = config::load(&shown);
    if let Some(config) = config {
        config::apply(cli, matches, &config);
    }
    cli.global.config_diagnostics = diagnostics;
}
