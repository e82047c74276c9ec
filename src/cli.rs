//! The command line, defined in one place (clap derive). Completions and the man page are
//! generated from these same definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "arm-kb",
    version = crate::VERSION_LINE,
    about = "Classify failed Azure Pipelines logs against a knowledge base of Azure Resource Manager service-connection problems",
    long_about = None,
    propagate_version = true,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Add a knowledge root (a folder with kb/ and/or rules/); repeatable, later roots
    /// override earlier ones by id. ARM_KB_PATH (colon-separated) adds roots before these.
    #[arg(long = "kb", value_name = "PATH", global = true)]
    pub kb: Vec<PathBuf>,

    /// Do not load the knowledge base built into the binary.
    #[arg(long, global = true)]
    pub no_builtin: bool,

    /// When to colour the output (NO_COLOR is honoured; pipes are never coloured on auto).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify a log: print the matching articles with evidence lines and the fix.
    ///
    /// Exit status: 0 when there is a finding, 1 when there is none, 2 on error.
    Match(MatchArgs),
    /// Full-text search over the articles.
    Search(SearchArgs),
    /// Show an article.
    Show(ShowArgs),
    /// List the articles (or the rules).
    List(ListArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MatchFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Log files to read; standard input when none is given (or `-`).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    #[arg(long, value_enum, default_value_t = MatchFormat::Text)]
    pub format: MatchFormat,

    /// When no rule matches, search the knowledge base with the log's error lines and
    /// list "possibly related" articles (default: on for text, off for JSON).
    #[arg(long, overrides_with = "no_suggest")]
    pub suggest: bool,

    /// Never print suggestions.
    #[arg(long)]
    pub no_suggest: bool,

    /// List the error lines (`##[error]`, `ERROR:`, `Error:`…) that no rule explains.
    #[arg(long)]
    pub unexplained: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to look for (any query syntax error falls back to plain words).
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,

    /// How many hits to print.
    #[arg(long, default_value_t = 5)]
    pub limit: usize,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Text,
    Markdown,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The article id (see `arm-kb list`).
    pub id: String,

    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the rules instead of the articles.
    #[arg(long)]
    pub rules: bool,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}
