//! Hooks into the scanner, for tools that must say what the engine did (`explain`), in
//! the way ripgrep's searcher pushes into a `Sink`. Every hook has an empty default and
//! the scanner is generic over its trace, so [`NoTrace`] (what `match` uses) compiles to
//! nothing; work done only to feed a trace is behind [`Trace::ENABLED`].
//!
//! With a trace enabled the scanner looks at every line, not only at the lines the
//! prefilter lets through, and reports those as [`Trace::not_candidate`]; what it finds
//! is the same.

use crate::rules::RegexMatch;

/// What the scanner reports while it runs.
pub trait Trace {
    /// Whether the hooks are wanted at all (and every line is looked at).
    const ENABLED: bool = false;

    /// The scanner looks at line `line` (as the rules see it).
    fn line(&mut self, _line: u64, _text: &[u8]) {}
    /// Keyword `keyword` (lower-cased) starts at byte `at` of the current line.
    fn keyword(&mut self, _keyword: &str, _at: usize) {}
    /// No keyword is on the current line and no rule runs on every line: the prefilter
    /// skips it.
    fn not_candidate(&mut self) {}
    /// Pattern (or part) `index` of the rule being run was tried on the current line:
    /// `Some` when it matched.
    fn pattern(&mut self, _index: usize, _matched: Option<&RegexMatch<'_>>) {}
    /// `unless` pattern `index` matched the current line.
    fn veto(&mut self, _index: usize) {}
    /// What the rule being run concluded on the current line.
    fn outcome(&mut self, _outcome: Outcome) {}
    /// The scanner is done with the current line.
    fn line_done(&mut self) {}
}

/// What `match` uses: no hooks.
pub struct NoTrace;

impl Trace for NoTrace {}

/// What a rule concluded on one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No pattern (or part) matched.
    NoMatch,
    /// A pattern matched and `unless` pattern `.0` vetoed it.
    Vetoed(usize),
    /// The rule fired on the line (a window: on the lines `lo..=hi`).
    Fired { lo: u64, hi: u64 },
    /// A window: some parts are still missing (their indexes).
    Waiting(Vec<usize>),
    /// A window: every part was seen, but on lines farther apart than the window.
    TooFar { lo: u64, hi: u64 },
    /// A window: every part was seen, but `unless` matched line `.0` within the window.
    WindowVetoed(u64),
}
