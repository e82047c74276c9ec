//! What `match` was asked to do, resolved from its flags once: the defaults that depend
//! on other flags live here, not in the command (ripgrep's "high-level arguments").

use std::path::PathBuf;

use arm_kb::input::Input;
use arm_kb::matcher::ScanOptions;

use crate::app::args::{MatchArgs, MatchFormat};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchPlan {
    /// The inputs, in order: paths and `-`; standard input when nothing is named.
    pub inputs: Vec<Input>,
    /// `--build URL`: a run whose task logs are fetched (after the inputs).
    pub build: Option<String>,
    /// `--all-logs`: every task's log, not only the failed ones'.
    pub all_logs: bool,
    /// `-l`: only the names of the sources with a finding.
    pub list: bool,
    /// `-c`: only the number of findings per source.
    pub count: bool,
    /// `--max-findings N`: the best N findings only.
    pub max_findings: Option<usize>,
    pub format: MatchFormat,
    /// Search the articles for the unexplained error lines when nothing is found
    /// (`--suggest`; on by default for the formats people read, off with `--quiet`).
    pub suggest: bool,
    /// Report the error lines no rule explains.
    pub unexplained: bool,
    /// Whether unexplained error lines must be tracked at all.
    pub track_error_lines: bool,
    pub quiet: bool,
    pub redact: bool,
    /// How many files are scanned at once (`None`: one per core).
    pub threads: Option<usize>,
    /// Context lines (`-B`, `-A`, each defaulting to `-C`).
    pub context_before: usize,
    pub context_after: usize,
    pub summary: Option<PathBuf>,
}

impl MatchPlan {
    pub fn from_args(args: &MatchArgs) -> MatchPlan {
        let suggest = !(args.no_suggest || args.quiet)
            && (args.suggest || matches!(args.format, MatchFormat::Text | MatchFormat::Markdown));
        let mut inputs: Vec<Input> = args.files.iter().map(|p| Input::from_arg(p)).collect();
        if inputs.is_empty() && args.build.is_none() {
            inputs.push(Input::Stdin);
        }
        MatchPlan {
            inputs,
            build: args.build.clone(),
            all_logs: args.all_logs,
            list: args.files_with_findings,
            count: args.count,
            max_findings: args.max_findings,
            format: args.format,
            suggest,
            unexplained: args.unexplained,
            track_error_lines: suggest || args.unexplained,
            quiet: args.quiet,
            redact: !args.no_redact,
            threads: args.threads.map(usize::from),
            context_before: args.before_context.or(args.context).unwrap_or(0),
            context_after: args.after_context.or(args.context).unwrap_or(0),
            summary: args.summary.clone(),
        }
    }

    #[cfg(test)]
    pub fn reads_stdin(&self) -> bool {
        self.inputs.contains(&Input::Stdin)
    }

    pub fn scan_options(&self) -> ScanOptions {
        ScanOptions {
            context_before: self.context_before,
            context_after: self.context_after,
            redact: self.redact,
            ..ScanOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::app::args::{Cli, Command};

    fn plan(args: &[&str]) -> MatchPlan {
        let cli = Cli::parse_from(["arm-kb", "match"].iter().chain(args));
        match cli.command {
            Command::Match(m) => MatchPlan::from_args(&m),
            _ => unreachable!("a match command"),
        }
    }

    #[test]
    fn suggestions_default_on_for_people_and_off_for_scripts() {
        assert!(plan(&[]).suggest);
        assert!(plan(&["--format", "markdown"]).suggest);
        assert!(!plan(&["--format", "json"]).suggest);
        assert!(plan(&["--format", "json", "--suggest"]).suggest);
        assert!(!plan(&["--no-suggest"]).suggest);
        assert!(!plan(&["--quiet", "--suggest"]).suggest);
        assert!(plan(&["--format", "json", "--unexplained"]).track_error_lines);
    }

    #[test]
    fn context_flags_default_to_c() {
        let p = plan(&["-C", "2", "-A", "5"]);
        assert_eq!((p.context_before, p.context_after), (2, 5));
        let p = plan(&["-B", "1"]);
        assert_eq!((p.context_before, p.context_after), (1, 0));
    }

    #[test]
    fn no_file_and_a_dash_are_standard_input() {
        assert!(plan(&[]).reads_stdin());
        assert!(plan(&["-"]).reads_stdin());
        assert!(!plan(&["a.log"]).reads_stdin());
        assert_eq!(
            plan(&["a.log", "-"]).inputs,
            [Input::Path("a.log".into()), Input::Stdin]
        );
        assert!(plan(&["a.log", "-"]).reads_stdin());
        assert!(
            !plan(&[
                "--build",
                "https://dev.azure.com/c/p/_build/results?buildId=1"
            ])
            .reads_stdin()
        );
    }
}
