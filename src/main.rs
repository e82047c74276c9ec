use std::process::ExitCode;

use clap::Parser;

mod app;

fn main() -> ExitCode {
    let cli = app::args::Cli::parse();
    app::run(cli).into()
}
