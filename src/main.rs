use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = arm_kb::cli::Cli::parse();
    ExitCode::from(arm_kb::commands::run(cli))
}
