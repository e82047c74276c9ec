//! Rules: `rules/*.toml`, any number of `[[rule]]` tables, each mapping log patterns to an
//! article. Loading validates everything that can be checked without running a regex;
//! regexes are compiled lazily, on a rule's first candidate line.

mod literals;
mod load;
pub mod messages;
mod spec;
mod syntax;
mod validate;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use memchr::memmem;
use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostic;
use crate::ids::{ArticleId, RuleId};
use crate::source::SourceSpan;

pub use literals::{MIN_LITERAL_LEN, required_literals};
pub use load::{load_rule_file, load_rule_file_into};
pub use messages::{Confidence, MessageRef, RuleExtras};
pub use spec::RULE_FIELDS;

pub mod budget;

/// A compiled regex may not exceed this many bytes of program (regex's `size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 4 << 20;
/// Cache of a regex's lazy DFA (regex's `dfa_size_limit`, 2 MiB by default). Each compiled
/// regex keeps its own, so with the default a log that wakes every built-in rule peaked at
/// 45 MiB; with 16 KiB it stays near 31 MiB. Rules run on single candidate lines, where
/// the small cache is even faster (less to set up); only a multi-megabyte line is scanned
/// more slowly (about 100 MB/s per regex instead of 1 GB/s).
pub const REGEX_CACHE_LIMIT: usize = 16 << 10;
/// Deepest nesting of groups and repetitions a pattern may have.
pub const REGEX_NEST_LIMIT: u32 = 64;
/// Lines a multi-line signature may span when `window` is not given.
pub const DEFAULT_WINDOW: u32 = 20;
pub const DEFAULT_PRIORITY: u8 = 50;

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    #[default]
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One regex of a rule, with where it was written.
#[derive(Debug)]
pub struct PatternSource {
    pub regex: String,
    pub span: SourceSpan,
    /// Byte offset of the regex text inside the source (after the opening quote).
    pub text_offset: usize,
}

/// What makes a rule fire.
#[derive(Debug)]
pub enum RuleKind {
    /// Any of these regexes on one line.
    Patterns(Vec<PatternSource>),
    /// Every regex on some line, all within `window` lines.
    All {
        parts: Vec<PatternSource>,
        window: u32,
    },
}

/// A text a rule must (example) or must not (counterexample) fire on.
#[derive(Debug)]
pub struct Example {
    pub text: String,
    /// Expected captures, for `[[rule.example]]` tables.
    pub captures: Option<BTreeMap<String, String>>,
    pub span: SourceSpan,
}

/// A validated rule.
#[derive(Debug)]
pub struct Rule {
    pub id: RuleId,
    pub article: ArticleId,
    pub article_span: SourceSpan,
    pub severity: Severity,
    pub priority: u8,
    /// Lowercase prefilter literals; empty when none could be derived (the rule then runs
    /// on every line).
    pub keywords: Vec<String>,
    pub keywords_derived: bool,
    pub kind: RuleKind,
    pub unless: Vec<PatternSource>,
    pub examples: Vec<Example>,
    pub counterexamples: Vec<Example>,
    /// Where the rule's id is written.
    pub span: SourceSpan,
    /// Catalog messages, confidence, and what generated rules add.
    pub extras: RuleExtras,
    compiled: OnceLock<Result<CompiledRule, Box<Diagnostic>>>,
}

/// The regexes of a rule, compiled.
#[derive(Debug)]
pub struct CompiledRule {
    /// `patterns`, or the parts of `all`.
    pub regexes: Vec<Regex>,
    /// For each regex, its required literals (lower-cased): every match contains one. A
    /// line holding none is skipped without running the regex, which matters when a
    /// rule's keyword is common (`##[debug]`) but its regex rarely matches.
    guards: Vec<Vec<memmem::Finder<'static>>>,
    pub unless: Vec<Regex>,
}

impl CompiledRule {
    /// Whether regex `i` may match a line whose ASCII-lower-cased text is `lowered`.
    /// Lines with non-ASCII bytes always may: `(?i)k` also matches the Kelvin sign.
    pub fn may_match(&self, i: usize, lowered: &[u8]) -> bool {
        let guard = &self.guards[i];
        guard.is_empty() || !lowered.is_ascii() || guard.iter().any(|f| f.find(lowered).is_some())
    }
}

/// The required literals of a pattern as searchers; empty when it has none.
fn guard(p: &PatternSource) -> Vec<memmem::Finder<'static>> {
    regex_syntax::ParserBuilder::new()
        .utf8(false)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(&p.regex)
        .ok()
        .and_then(|hir| required_literals(&hir))
        .unwrap_or_default()
        .iter()
        .map(|lit| memmem::Finder::new(lit).into_owned())
        .collect()
}

impl Rule {
    pub fn patterns(&self) -> &[PatternSource] {
        match &self.kind {
            RuleKind::Patterns(p) => p,
            RuleKind::All { parts, .. } => parts,
        }
    }

    pub fn window(&self) -> Option<u32> {
        match &self.kind {
            RuleKind::Patterns(_) => None,
            RuleKind::All { window, .. } => Some(*window),
        }
    }

    /// Marks the rule as one that must not run (over a budget): its regexes are never
    /// compiled and [`Rule::compiled`] gives `d`. The load has reported why.
    pub fn refuse(&self, d: Diagnostic) {
        let _ = self.compiled.set(Err(Box::new(d)));
    }

    /// The rule's regexes, compiled on first use (thread-safe).
    pub fn compiled(&self) -> Result<&CompiledRule, &Diagnostic> {
        self.compiled
            .get_or_init(|| {
                let regexes = self
                    .patterns()
                    .iter()
                    .map(compile_pattern)
                    .collect::<Result<Vec<_>, _>>()?;
                let unless = self
                    .unless
                    .iter()
                    .map(compile_pattern)
                    .collect::<Result<Vec<_>, _>>()?;
                let guards = self.patterns().iter().map(guard).collect();
                Ok(CompiledRule {
                    regexes,
                    guards,
                    unless,
                })
            })
            .as_ref()
            .map_err(|d| &**d)
    }
}

/// Compiles one pattern under the size and nesting limits.
pub fn compile_pattern(p: &PatternSource) -> Result<Regex, Box<Diagnostic>> {
    RegexBuilder::new(&p.regex)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_CACHE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|err| {
            let message = match err {
                regex::Error::CompiledTooBig(limit) => format!(
                    "regex is too big: its compiled form exceeds the limit of {limit} bytes"
                ),
                other => format!("regex does not compile: {other}"),
            };
            Box::new(
                Diagnostic::error("bad-regex", message)
                    .at(p.span.clone())
                    .hint("simplify the pattern: bounded repetitions like {1000} and large Unicode classes multiply its size"),
            )
        })
}
