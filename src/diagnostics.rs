//! Problems found while loading or checking knowledge roots, reported compiler-style.
//!
//! Loading never stops at the first problem: every loader pushes [`Diagnostic`]s into a
//! list, and the command decides what to do with them (`match` exits 2 on any error,
//! `check` prints them all).

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

use crate::source::SourceSpan;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosticSeverity {
    Note,
    Warning,
    Error,
}

/// One problem, with where it is and what to do about it.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: DiagnosticSeverity,
    /// A short stable name for the kind of problem (`unknown-field`, `bad-regex`, ...).
    pub code: &'static str,
    pub message: String,
    /// Where in a source file; `None` when the problem has no position (an unreadable folder).
    pub span: Option<SourceSpan>,
    /// A file named without a position, when there is no span.
    pub file: Option<String>,
    /// A label under the caret.
    pub label: Option<String>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(
        severity: DiagnosticSeverity,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            span: None,
            file: None,
            label: None,
            hint: None,
        }
    }

    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(DiagnosticSeverity::Error, code, message)
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(DiagnosticSeverity::Warning, code, message)
    }

    pub fn note(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(DiagnosticSeverity::Note, code, message)
    }

    pub fn at(mut self, span: SourceSpan) -> Self {
        self.span = Some(span);
        self
    }

    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == DiagnosticSeverity::Error
    }

    /// `file:line:column` (or just the file) for one-line messages.
    pub fn location(&self) -> Option<String> {
        match (&self.span, &self.file) {
            (Some(span), _) => Some(span.location()),
            (None, Some(file)) => Some(file.clone()),
            (None, None) => None,
        }
    }

    /// Renders the diagnostic with the offending source line and a caret.
    pub fn render(&self, renderer: &Renderer) -> String {
        let level = match self.severity {
            DiagnosticSeverity::Error => Level::ERROR,
            DiagnosticSeverity::Warning => Level::WARNING,
            DiagnosticSeverity::Note => Level::NOTE,
        };
        let title = format!("{} [{}]", self.message, self.code);
        let mut group: Group<'_> = Group::with_title(level.primary_title(title.as_str()));
        if let Some(span) = &self.span {
            let text = &*span.source.text;
            // A span from a hand-computed offset may fall inside a character: widen it
            // to whole characters rather than fail.
            let mut range = prev_char_boundary(text, span.range.start.min(text.len()))
                ..next_char_boundary(text, span.range.end.min(text.len()));
            if range.is_empty() && range.end < text.len() {
                range.end = next_char_boundary(text, range.end + 1);
            }
            // Only the lines the span touches: the renderer reads all the text it gets,
            // and a big file with many problems would be read once per problem.
            let (first_line, lines) = span.source.lines_around(range.clone());
            let text = &text[lines.clone()];
            let range = range.start - lines.start..range.end - lines.start;
            let mut annotation = AnnotationKind::Primary.span(range);
            if let Some(label) = &self.label {
                annotation = annotation.label(label.as_str());
            }
            group = group.element(
                Snippet::source(text)
                    .line_start(first_line)
                    .path(span.source.name.as_str())
                    .annotation(annotation),
            );
        } else if let Some(file) = &self.file {
            group = group.element(annotate_snippets::Origin::path(file.as_str()));
        }
        if let Some(hint) = &self.hint {
            group = group.element(Level::HELP.message(hint.as_str()));
        }
        renderer.render(&[group])
    }

    /// The diagnostic as `check --format json` writes it.
    pub fn json(&self) -> DiagnosticJson<'_> {
        let (file, line, column) = match (&self.span, &self.file) {
            (Some(span), _) => {
                let lc = span.start();
                (
                    Some(span.source.name.as_str()),
                    Some(lc.line),
                    Some(lc.column),
                )
            }
            (None, file) => (file.as_deref(), None, None),
        };
        DiagnosticJson {
            code: self.code,
            column,
            file,
            hint: self.hint.as_deref(),
            line,
            message: &self.message,
            severity: self.severity,
        }
    }
}

/// A diagnostic in `check --format json` (fields in alphabetical order: the key order).
#[derive(Debug, Serialize)]
pub struct DiagnosticJson<'a> {
    pub code: &'a str,
    pub column: Option<usize>,
    pub file: Option<&'a str>,
    pub hint: Option<&'a str>,
    pub line: Option<usize>,
    pub message: &'a str,
    pub severity: DiagnosticSeverity,
}

fn prev_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn next_char_boundary(text: &str, mut i: usize) -> usize {
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i.min(text.len())
}

/// The nearest candidates to `word` by edit distance, for "did you mean" hints.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

/// The known names nearest to a mistyped one, for every "did you mean": in diagnostics'
/// hints and in the commands' messages alike.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suggestion(Vec<String>);

impl Suggestion {
    /// The nearest of `candidates` to `word` by edit distance (up to three).
    pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Suggestion {
        Suggestion::of(did_you_mean(word, candidates))
    }

    pub fn of<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Suggestion {
        Suggestion(names.into_iter().map(Into::into).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn first(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    /// The names, nearest first.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// `did you mean `a`, `b` or `c`?`, or nothing when no name is near.
    pub fn question(&self) -> Option<String> {
        let quoted: Vec<String> = self.0.iter().map(|n| format!("`{n}`")).collect();
        let list = match quoted.as_slice() {
            [] => return None,
            [one] => one.clone(),
            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
        };
        Some(format!("did you mean {list}?"))
    }
}

/// Extracts `x` from serde's "unknown field `x`, expected ..." message.
pub(crate) fn unknown_field_name(message: &str) -> Option<&str> {
    let rest = message.split("unknown field `").nth(1)?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn a_suggestion_is_one_question() {
        assert_eq!(Suggestion::default().question(), None);
        assert_eq!(
            Suggestion::of(["a"]).question().as_deref(),
            Some("did you mean `a`?")
        );
        assert_eq!(
            Suggestion::of(["a", "b", "c"]).question().as_deref(),
            Some("did you mean `a`, `b` or `c`?")
        );
    }

    #[test]
    fn renders_file_line_and_caret() {
        let src = SourceFile::new("rules/x.toml", "[[rule]]\npattern = ['x']\n");
        let d = Diagnostic::error("unknown-field", "unknown field `pattern`")
            .at(SourceSpan::new(&src, 9..16))
            .hint("did you mean `patterns`?");
        let out = d.render(&Renderer::plain());
        assert!(out.contains("rules/x.toml:2:1"), "{out}");
        assert!(out.contains("^^^^^^^"), "{out}");
        assert!(out.contains("did you mean `patterns`?"), "{out}");
    }

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(
            did_you_mean("pattern", ["patterns", "all", "unless"]),
            vec!["patterns"]
        );
        assert!(did_you_mean("zzz", ["patterns", "all"]).is_empty());
    }
}
