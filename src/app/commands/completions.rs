//! `arm-kb completions SHELL` and `arm-kb man`: generated from the clap definition in
//! [`crate::app::args`], so they never drift from the real flags.

use std::io::Write;

use clap::CommandFactory;

use super::{CommandError, ExitStatus};
use crate::app::args::{Cli, CompletionsArgs};

pub fn run_completions(args: &CompletionsArgs) -> Result<ExitStatus, CommandError> {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, name, &mut out);
    out.flush()?;
    Ok(ExitStatus::Success)
}

pub fn run_man() -> Result<ExitStatus, CommandError> {
    let command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(command).render(&mut out)?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
