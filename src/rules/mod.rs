//! Rules: `rules/*.toml`, any number of `[[rule]]` tables, each mapping log patterns to an
//! article. Loading validates everything that can be checked without running a regex;
//! regexes are compiled lazily, on a rule's first candidate line.

mod compiled;
mod literals;
mod load;
pub mod messages;
mod spec;
mod syntax;
mod validate;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use memchr::memmem;
use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostic;
use crate::ids::{ArticleId, RuleId};
use crate::source::SourceSpan;

pub use compiled::{CompiledRegex, RegexMatch, RegexScratch};
pub use literals::{MIN_LITERAL_LEN, required_clauses, required_literals};
pub use load::{load_rule_file, load_rule_file_into};
pub use messages::{Confidence, MessageRef, RuleExtras};
pub use spec::RULE_FIELDS;

pub mod budget;

/// A compiled regex may not exceed this many bytes of program (regex's `size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 4 << 20;
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
#[derive(Debug, Deserialize, Serialize)]
pub struct PatternSource {
    pub regex: String,
    pub span: SourceSpan,
    /// Byte offset of the regex text inside the source (after the opening quote).
    pub text_offset: usize,
}

/// What makes a rule fire.
#[derive(Debug, Deserialize, Serialize)]
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
#[derive(Debug, Deserialize, Serialize)]
pub struct Example {
    pub text: String,
    /// Expected captures, for `[[rule.example]]` tables.
    pub captures: Option<BTreeMap<String, String>>,
    pub span: SourceSpan,
}

/// A validated rule.
#[derive(Debug, Deserialize, Serialize)]
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
    /// Guards and regexes, each built when first needed.
    #[serde(skip)]
    pub(crate) lazy: LazyRule,
}

/// What a rule builds while a log is scanned, each piece on first use: most rules of a
/// large set meet a keyword on some line but never pass a guard, so they never compile,
/// and most never meet one, so their slots are not even made (152 bytes a rule, 1.5 MB
/// of 10,000).
#[derive(Debug, Default)]
pub(crate) struct LazyRule(OnceLock<Box<LazyParts>>);

impl LazyRule {
    /// The slots, made now if they were not.
    fn parts(&self) -> &LazyParts {
        self.0.get_or_init(Box::default)
    }

    /// The slots, if they were made.
    fn made(&self) -> Option<&LazyParts> {
        self.0.get().map(|parts| &**parts)
    }
}

#[derive(Debug, Default)]
struct LazyParts {
    /// Set when the load refused the rule (over a budget): nothing of it may run.
    refused: OnceLock<Box<Diagnostic>>,
    guards: OnceLock<Vec<Guard>>,
    regexes: OnceLock<Vec<OnceLock<Compiled<CompiledRegex>>>>,
    unless: OnceLock<Result<Vec<CompiledRegex>, Box<Diagnostic>>>,
    all: OnceLock<Result<CompiledRule, Box<Diagnostic>>>,
}

type Compiled<T> = Result<T, Box<Diagnostic>>;

/// The literals every match of one pattern contains: for each clause, one of its literals
/// (lower-cased). A tolerant catalog regex needs each of its words, so its guard has a
/// clause per word; a line with "subscription" alone no longer runs a regex that also
/// needs "not found".
#[derive(Debug)]
struct Guard {
    clauses: Vec<Vec<memmem::Finder<'static>>>,
}

impl Guard {
    fn new(p: &PatternSource) -> Guard {
        // A guard only judges ASCII lines, where a Unicode-aware pattern and its ASCII
        // reading need the same literals; the ASCII reading parses several times faster
        // (no case folding of every letter). A pattern it cannot read (a non-ASCII letter
        // under `(?i)`) is read with Unicode.
        let parse = |unicode: bool| {
            regex_syntax::ParserBuilder::new()
                .utf8(false)
                .unicode(unicode)
                .nest_limit(REGEX_NEST_LIMIT)
                .build()
                .parse(&p.regex)
                .ok()
        };
        let clauses = parse(false)
            .or_else(|| parse(true))
            .map(|hir| required_clauses(&hir))
            .unwrap_or_default()
            .iter()
            .map(|set| {
                set.iter()
                    .map(|lit| memmem::Finder::new(lit).into_owned())
                    .collect()
            })
            .collect();
        Guard { clauses }
    }

    /// Whether a line whose ASCII-lower-cased text is `lowered` may match. Lines with
    /// non-ASCII bytes (`ascii` false) always may: `(?i)k` also matches the Kelvin sign.
    fn admits(&self, lowered: &[u8], ascii: bool) -> bool {
        self.clauses.is_empty()
            || !ascii
            || self
                .clauses
                .iter()
                .all(|set| set.iter().any(|f| f.find(lowered).is_some()))
    }
}

/// The regexes of a rule, compiled.
#[derive(Debug)]
pub struct CompiledRule {
    /// `patterns`, or the parts of `all`.
    pub regexes: Vec<CompiledRegex>,
    pub unless: Vec<CompiledRegex>,
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
        let _ = self.lazy.parts().refused.set(Box::new(d));
    }

    fn refused(&self) -> Result<(), &Diagnostic> {
        self.lazy
            .made()
            .and_then(|parts| parts.refused.get())
            .map_or(Ok(()), |d| Err(&**d))
    }

    /// Whether pattern `i` may match a line whose ASCII-lower-cased text is `lowered`
    /// (`ascii`: whether the line is ASCII), judged by its required literals without
    /// running (or compiling) its regex.
    pub fn may_match(&self, i: usize, lowered: &[u8], ascii: bool) -> bool {
        let guards = self
            .lazy
            .parts()
            .guards
            .get_or_init(|| self.patterns().iter().map(Guard::new).collect());
        guards[i].admits(lowered, ascii)
    }

    /// Pattern `i`, compiled on first use (thread-safe).
    pub fn regex(&self, i: usize) -> Result<&CompiledRegex, &Diagnostic> {
        self.refused()?;
        let slots = self.lazy.parts().regexes.get_or_init(|| {
            std::iter::repeat_with(OnceLock::new)
                .take(self.patterns().len())
                .collect()
        });
        slots[i]
            .get_or_init(|| compile_pattern(&self.patterns()[i]))
            .as_ref()
            .map_err(|d| &**d)
    }

    /// Pattern `i`'s regex if it was compiled already (whether it compiled or not).
    pub fn regex_if_compiled(&self, i: usize) -> Option<Result<&CompiledRegex, &Diagnostic>> {
        let slot = self.lazy.made()?.regexes.get()?.get(i)?.get()?;
        Some(slot.as_ref().map_err(|d| &**d))
    }

    /// The `unless` vetoes, compiled on first use.
    pub fn unless_regexes(&self) -> Result<&[CompiledRegex], &Diagnostic> {
        self.refused()?;
        self.lazy
            .parts()
            .unless
            .get_or_init(|| self.unless.iter().map(compile_pattern).collect())
            .as_ref()
            .map(Vec::as_slice)
            .map_err(|d| &**d)
    }

    /// Every regex of the rule, compiled now (for `check`, `explain` and tests).
    pub fn compiled(&self) -> Result<&CompiledRule, &Diagnostic> {
        self.lazy
            .parts()
            .all
            .get_or_init(|| {
                let fail = |d: &Diagnostic| Box::new(d.clone());
                let regexes = (0..self.patterns().len())
                    .map(|i| self.regex(i).cloned().map_err(fail))
                    .collect::<Result<Vec<_>, _>>()?;
                let unless = self.unless_regexes().map_err(fail)?.to_vec();
                Ok(CompiledRule { regexes, unless })
            })
            .as_ref()
            .map_err(|d| &**d)
    }
}

/// Compiles one pattern under the size and nesting limits.
pub fn compile_pattern(p: &PatternSource) -> Result<CompiledRegex, Box<Diagnostic>> {
    CompiledRegex::new(&p.regex, REGEX_SIZE_LIMIT, REGEX_NEST_LIMIT)
        .map_err(|err| {
            let message = match (err.size_limit(), err.syntax_error()) {
                (Some(limit), _) => format!(
                    "regex is too big: its compiled form exceeds the limit of {limit} bytes"
                ),
                (None, Some(syntax)) => format!("regex does not compile: {syntax}"),
                (None, None) => format!("regex does not compile: {err}"),
            };
            Box::new(
                Diagnostic::error("bad-regex", message)
                    .at(p.span.clone())
                    .hint("simplify the pattern: bounded repetitions like {1000} and large Unicode classes multiply its size"),
            )
        })
}
