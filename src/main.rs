use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

mod app;

fn main() -> ExitCode {
    let matches = app::args::Cli::command().get_matches();
    let mut cli = app::args::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    app::configure(&mut cli, &matches);
    app::run(cli).into()
}
