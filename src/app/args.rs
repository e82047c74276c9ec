//! The command line, defined in one place (clap derive). Completions and the man page are
//! generated from these same definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use arm_kb::render::{self, Printer};

#[derive(Debug, Parser)]
#[command(
    name = "arm-kb",
    version = arm_kb::VERSION_LINE,
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

#[derive(Clone, Debug, Args)]
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

    /// Ignore the configuration file (`.arm-kb.toml` in this folder or the nearest
    /// parent, or ARM_KB_CONFIG).
    #[arg(long, global = true)]
    pub no_config: bool,

    /// The roots of the configuration file (after ARM_KB_PATH, before --kb).
    #[arg(skip)]
    pub config_roots: Vec<PathBuf>,

    /// The problems of the configuration file.
    #[arg(skip)]
    pub config_diagnostics: Vec<arm_kb::diagnostics::Diagnostic>,
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
    /// List the articles (or the rules, or the catalog's messages).
    List(ListArgs),
    /// Print a shell completion script, e.g. `arm-kb completions bash > ~/.local/share/bash-completion/completions/arm-kb`.
    Completions(CompletionsArgs),
    /// Print the man pages (roff): `arm-kb(1)` and one page per subcommand, joined, e.g.
    /// `arm-kb man | man -l -`; or write them into a folder with --dir.
    Man(ManArgs),
    /// Check every loaded root: formats, regexes, article links, examples; reports every
    /// problem at once.
    ///
    /// Exit status: 0 when clean, 1 when there are errors (or warnings with
    /// --deny-warnings), 2 when a root cannot be read.
    Check(CheckArgs),
    /// Run every rule's examples and counterexamples (or those of the rules named).
    ///
    /// Exit status: 0 when all pass, 1 when any fails, 2 on error (unknown rule id).
    Test(TestArgs),
    /// Show, line by line, why a rule fires or does not fire on a log.
    ///
    /// Exit status: 0 when the rule fires, 1 when it does not, 2 on error.
    Explain(ExplainArgs),
    /// Create a new article or rule, with every field explained in comments.
    #[command(subcommand)]
    New(NewCommand),
    /// Serve a web page and a JSON API over the same knowledge base (stateless).
    ///
    /// Prints its URL when ready; Ctrl-C or SIGTERM stop it once the requests in flight
    /// are answered (exit status 0).
    Serve(ServeArgs),
    /// Summarise a corpus of logs: articles found, rules that fire, never fire or fire
    /// only as noise, and the error lines no rule explains, grouped into templates.
    ///
    /// Exit status: 0 when every input was read, 2 when one could not be (the others are
    /// still summarised) or on error.
    Stats(StatsArgs),
    /// Ids for the shell completion scripts.
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// For a terminal.
    Text,
    /// One JSON document (the keys are listed in the README).
    Json,
    /// Tables for a wiki page or a pull request.
    Markdown,
    /// One self-contained page with bar charts (inline CSS and SVG, nothing fetched).
    Html,
}

impl StatsFormat {
    /// The printer of this format.
    pub fn printer(self) -> Box<dyn render::stats::StatsPrinter> {
        match self {
            StatsFormat::Text => Box::new(render::stats::text::Text),
            StatsFormat::Json => Box::new(render::stats::json::Json),
            StatsFormat::Markdown => Box::new(render::stats::markdown::Markdown),
            StatsFormat::Html => Box::new(render::stats::html::Html),
        }
    }
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Logs to summarise: files and folders (read recursively, in path order, hidden
    /// entries skipped); standard input when none is given (or `-`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
    pub format: StatsFormat,

    /// Logs to scan at once, one per thread (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Draft a rule for each of the most frequent unexplained templates, as `new rule
    /// --from-log` drafts one; printed for review after the summary, never written
    /// (text, Markdown and HTML).
    #[arg(long)]
    pub suggest_rules: bool,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `arm-kb.1` and `arm-kb-<subcommand>.1` into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    #[arg(value_enum)]
    pub what: CompleteWhat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompleteWhat {
    Articles,
    Rules,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// `junit` and `sarif` are for CI: test results and code-scanning results.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,

    /// Treat warnings as errors (exit 1 when there is any).
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Rule ids to test, or patterns with `*` (`'team.*'`); every rule when none is given.
    #[arg(value_name = "RULE_ID")]
    pub rules: Vec<String>,

    /// Test only the rules of this root (loaded after the others when it is not one of
    /// them, so its rules may point to articles of the built-in root or of --kb roots).
    #[arg(long, value_name = "PATH")]
    pub root: Option<PathBuf>,

    /// `junit` writes JUnit XML test results for CI (PublishTestResults@2, GitHub test
    /// reporters).
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Compiler-style diagnostics.
    Text,
    /// One JSON document: diagnostics and counts.
    Json,
    /// JUnit XML: one test case per example and counterexample, and one per problem.
    Junit,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// `cargo test` style.
    Text,
    /// JUnit XML: one test case per example and counterexample.
    Junit,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The rule to explain (see `arm-kb list --rules`).
    #[arg(value_name = "RULE_ID")]
    pub rule: String,

    /// The log to explain the rule on; standard input when not given (or `-`).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// Create `kb/<ID>.md` in the root given with --kb.
    Article(NewArticleArgs),
    /// Append a rule to `rules/<ARTICLE>.toml` (or --file) in the root given with --kb.
    Rule(NewRuleArgs),
}

#[derive(Debug, Args)]
pub struct NewArticleArgs {
    /// The article id: lowercase letters, digits and `-` (it becomes the file name).
    #[arg(value_name = "ID")]
    pub id: String,

    /// Create the article even though another loaded root (the built-in one) has this id:
    /// the new article replaces it.
    #[arg(long = "override")]
    pub r#override: bool,
}

#[derive(Debug, Args)]
pub struct NewRuleArgs {
    /// The rule id, e.g. `team.my-article.some-error`.
    #[arg(value_name = "ID")]
    pub id: String,

    /// The article the rule points to (in the root or any other loaded root).
    #[arg(long, value_name = "ARTICLE")]
    pub article: String,

    /// The rule file to append to, inside the root's `rules/` folder (default:
    /// `<ARTICLE>.toml`).
    #[arg(long, value_name = "NAME")]
    pub file: Option<String>,

    /// A log to propose keywords, a pattern and an example from (with --line).
    #[arg(long, value_name = "FILE", requires = "line")]
    pub from_log: Option<PathBuf>,

    /// The line of --from-log that shows the error (1-based).
    #[arg(long, value_name = "N", requires = "from_log")]
    pub line: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MatchFormat {
    /// For people: findings with evidence, captured values and the fix.
    Text,
    /// One JSON document: findings and statistics.
    Json,
    /// One JSON object per finding per line (same fields as in `json`).
    Jsonl,
    /// A Markdown report headed by `#`, for a ticket or a summary page.
    Markdown,
    /// Azure Pipelines logging commands: one `##vso[task.logissue]` per finding.
    AzureDevops,
    /// GitHub Actions workflow commands: one `::error`/`::warning` per finding.
    Github,
}

impl MatchFormat {
    /// The printer of this format.
    pub fn printer(self) -> Box<dyn Printer> {
        match self {
            MatchFormat::Text => Box::new(render::text::Text {
                width: render::layout::output_width(),
            }),
            MatchFormat::Json => Box::new(render::json::Json),
            MatchFormat::Jsonl => Box::new(render::jsonl::Jsonl),
            MatchFormat::Markdown => Box::new(render::markdown::Markdown),
            MatchFormat::AzureDevops => Box::new(render::azure::Azure),
            MatchFormat::Github => Box::new(render::github::Github {
                // Where GitHub Actions collects the Markdown of a job's summary page.
                step_summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from),
            }),
        }
    }
}

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Logs to read: files, folders (recursive, in path order; hidden and binary files
    /// skipped), `.zip` archives such as the Download-logs zip (each member on its own),
    /// `.gz` files, `-` for standard input (the default when nothing else is given).
    /// UTF-8 and UTF-16 logs are both read.
    #[arg(value_name = "PATH")]
    pub files: Vec<PathBuf>,

    /// Fetch and read the logs of a run's failed tasks: the run's results page,
    /// `https://dev.azure.com/{org}/{project}/_build/results?buildId={id}`. The token comes
    /// from SYSTEM_ACCESSTOKEN (a pipeline's job token) or AZURE_DEVOPS_EXT_PAT (a PAT with
    /// the Build (Read) scope).
    #[arg(long, value_name = "URL")]
    pub build: Option<String>,

    /// With --build: read every task's log, not only the failed tasks' logs.
    #[arg(long, requires = "build")]
    pub all_logs: bool,

    /// Print only the names of the sources with a finding, one per line.
    #[arg(short = 'l', long, conflicts_with = "count")]
    pub files_with_findings: bool,

    /// Print only how many findings each source has (`NAME:COUNT`; just the count for a
    /// single source).
    #[arg(short = 'c', long)]
    pub count: bool,

    /// Report at most N findings (the best ones).
    #[arg(long, value_name = "N")]
    pub max_findings: Option<usize>,

    #[arg(long, value_enum, default_value_t = MatchFormat::Text)]
    pub format: MatchFormat,

    /// When no rule matches, search the knowledge base with the log's error lines and
    /// list "possibly related" articles (default: on for text and Markdown, off otherwise).
    #[arg(long, overrides_with = "no_suggest")]
    pub suggest: bool,

    /// Never print suggestions.
    #[arg(long)]
    pub no_suggest: bool,

    /// List the error lines (`##[error]`, `ERROR:`, `Error:`…) that no rule explains.
    #[arg(long)]
    pub unexplained: bool,

    /// Print nothing and write no summary; only the exit status tells whether there is a
    /// finding.
    #[arg(short, long)]
    pub quiet: bool,

    /// Files to scan at once, one per thread (default: the number of CPUs). Each thread
    /// holds its own read buffers (about 0.5 MiB).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Lines of context to show before and after each evidence line (text, Markdown).
    #[arg(short = 'C', long, value_name = "N", value_parser = context_lines)]
    pub context: Option<usize>,

    /// Lines of context to show before each evidence line (overrides -C).
    #[arg(short = 'B', long, value_name = "N", value_parser = context_lines)]
    pub before_context: Option<usize>,

    /// Lines of context to show after each evidence line (overrides -C).
    #[arg(short = 'A', long, value_name = "N", value_parser = context_lines)]
    pub after_context: Option<usize>,

    /// Also write the findings as a Markdown report to FILE; with `--format azure-devops`
    /// the report is attached to the run's summary page.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,

    /// Print secrets found in the log as they are (tokens, client secrets, keys and
    /// passwords are masked as `***` by default).
    #[arg(long)]
    pub no_redact: bool,
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

    /// How many hits to print. `--limit 0` prints nothing and exits 1, like `rg -m 0`
    /// (JSON: an empty `hits` list).
    #[arg(long, default_value_t = 5)]
    pub limit: usize,

    /// For each hit, the fields and terms that matched and what each contributed to the
    /// score (JSON: an `explain` object per hit).
    #[arg(long)]
    pub explain: bool,

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

    /// List the catalog's messages (every locale and variant) instead of the articles.
    #[arg(long, conflicts_with = "rules")]
    pub messages: bool,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen, HOST:PORT (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: String,

    /// The largest request body accepted, in bytes; a larger one gets 413.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub max_body: usize,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// At most this many lines of context before or after an evidence line.
pub const MAX_CONTEXT_LINES: usize = 10_000;

/// A context size for `-A`, `-B` and `-C`: a count up to [`MAX_CONTEXT_LINES`].
fn context_lines(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if n > MAX_CONTEXT_LINES {
        return Err(format!("at most {MAX_CONTEXT_LINES} lines of context"));
    }
    Ok(n)
}
