//! JUnit XML for `test --format junit` and `check --format junit`: the test-results format
//! that Azure Pipelines' `PublishTestResults@2` (`testResultsFormat: JUnit`) and the
//! GitHub test reporters read.
//!
//! One `<testsuite>` per rule, one `<testcase>` per example and counterexample; a failed
//! example has a `<failure>` with its message. `check` adds a suite of its other problems.

use std::io::{self, Write};

use crate::authoring::examples::{ExampleKind, ExampleOutcome, RuleOutcome, describe};
use crate::diagnostics::{Diagnostic, DiagnosticSeverity};
use crate::ids::RuleId;
use crate::rules::Rule;
use crate::source::SourceSpan;

/// A group of test cases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
}

/// One test case, passed or failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Case {
    /// The group a reporter shows the case under (the rule id).
    pub classname: String,
    pub name: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub failure: Option<Failure>,
    /// Text kept with the case (the example, a warning).
    pub output: Option<String>,
}

/// Why a case failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Failure {
    /// One line: what went wrong.
    pub message: String,
    /// A short stable name for the kind of failure.
    pub kind: String,
    /// The details: where, the text, a hint.
    pub detail: String,
}

impl Suite {
    pub fn failures(&self) -> usize {
        self.cases.iter().filter(|c| c.failure.is_some()).count()
    }
}

/// The suites of a `test` or `check` run: one per rule, in the order of the outcomes.
/// `rules` gives the examples of a rule that could not run (its regex does not compile).
pub fn example_suites(outcomes: &[(RuleId, RuleOutcome)], rules: &[Rule]) -> Vec<Suite> {
    outcomes
        .iter()
        .map(|(id, outcome)| {
            let cases = match outcome {
                RuleOutcome::Ran(examples) => examples.iter().map(example_case).collect(),
                RuleOutcome::Broken(d) => broken_cases(id, d, rules),
            };
            Suite {
                name: id.to_string(),
                cases,
            }
        })
        .collect()
}

fn kind_word(kind: ExampleKind) -> &'static str {
    match kind {
        ExampleKind::Example => "example",
        ExampleKind::Counterexample => "counterexample",
    }
}

fn example_case(example: &ExampleOutcome) -> Case {
    let at = example.span.start();
    let kind = kind_word(example.kind);
    let failure = (!example.passed()).then(|| {
        let message = example
            .failures
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join("; ");
        Failure {
            detail: format!("{}\n{kind}:\n{}", example.span.location(), example.text),
            kind: match example.failures.first() {
                Some(crate::authoring::examples::ExampleFailure::DidNotFire) => "example-not-fired",
                Some(crate::authoring::examples::ExampleFailure::Fired) => "counterexample-fired",
                _ => "wrong-capture",
            }
            .to_owned(),
            message,
        }
    });
    Case {
        classname: example.rule.to_string(),
        name: format!("{kind} at line {}", at.line),
        file: Some(example.span.source.name.clone()),
        line: Some(at.line),
        output: failure.is_none().then(|| example.text.clone()),
        failure,
    }
}

/// A rule whose regex does not compile: each of its examples fails with that error (one
/// case when it has none, so that the failure is seen).
fn broken_cases(id: &RuleId, d: &Diagnostic, rules: &[Rule]) -> Vec<Case> {
    let failure = Failure {
        message: d.message.clone(),
        kind: d.code.to_owned(),
        detail: diagnostic_detail(d),
    };
    let spans: Vec<(ExampleKind, &SourceSpan)> = rules
        .iter()
        .find(|r| &r.id == id)
        .map(|r| {
            r.examples
                .iter()
                .map(|e| (ExampleKind::Example, &e.span))
                .chain(
                    r.counterexamples
                        .iter()
                        .map(|e| (ExampleKind::Counterexample, &e.span)),
                )
                .collect()
        })
        .unwrap_or_default();
    if spans.is_empty() {
        let (file, line) = diagnostic_position(d);
        return vec![Case {
            classname: id.to_string(),
            name: "rule compiles".to_owned(),
            file,
            line,
            failure: Some(failure),
            output: None,
        }];
    }
    spans
        .into_iter()
        .map(|(kind, span)| {
            let line = span.start().line;
            Case {
                classname: id.to_string(),
                name: format!("{} at line {line}", kind_word(kind)),
                file: Some(span.source.name.clone()),
                line: Some(line),
                failure: Some(failure.clone()),
                output: None,
            }
        })
        .collect()
}

fn diagnostic_position(d: &Diagnostic) -> (Option<String>, Option<usize>) {
    match (&d.span, &d.file) {
        (Some(span), _) => (Some(span.source.name.clone()), Some(span.start().line)),
        (None, file) => (file.clone(), None),
    }
}

fn diagnostic_detail(d: &Diagnostic) -> String {
    let mut detail = d.location().unwrap_or_default();
    if let Some(hint) = &d.hint {
        if !detail.is_empty() {
            detail.push('\n');
        }
        detail.push_str("help: ");
        detail.push_str(hint);
    }
    detail
}

/// The problems `check` found besides failed examples (those are in the rule suites): one
/// case per problem; errors fail, warnings fail only when `deny_warnings`, notes are left
/// out.
pub fn diagnostics_suite(diagnostics: &[Diagnostic], deny_warnings: bool) -> Suite {
    let cases = diagnostics
        .iter()
        .filter(|d| d.severity >= DiagnosticSeverity::Warning)
        .filter(|d| {
            !matches!(
                d.code,
                "example-not-fired" | "counterexample-fired" | "wrong-capture"
            )
        })
        .map(|d| {
            let (file, line) = diagnostic_position(d);
            let fails = d.is_error() || deny_warnings;
            let severity = match d.severity {
                DiagnosticSeverity::Error => "error",
                DiagnosticSeverity::Warning => "warning",
                DiagnosticSeverity::Note => "note",
            };
            let message = format!("{severity}: {}", d.message);
            Case {
                classname: d.code.to_owned(),
                name: match d.location() {
                    Some(at) => format!("{} at {at}", d.code),
                    None => d.code.to_owned(),
                },
                file,
                line,
                failure: fails.then(|| Failure {
                    message: message.clone(),
                    kind: d.code.to_owned(),
                    detail: diagnostic_detail(d),
                }),
                output: (!fails).then_some(message),
            }
        })
        .collect();
    Suite {
        name: "check".to_owned(),
        cases,
    }
}

/// Writes the suites as one JUnit XML document named `name`.
pub fn write(w: &mut dyn Write, name: &str, suites: &[Suite]) -> io::Result<()> {
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(Suite::failures).sum();
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="{}" tests="{tests}" failures="{failures}" errors="0">"#,
        escape(name)
    )?;
    for (i, suite) in suites.iter().enumerate() {
        writeln!(
            w,
            r#"  <testsuite id="{i}" name="{}" tests="{}" failures="{}" errors="0" skipped="0">"#,
            escape(&suite.name),
            suite.cases.len(),
            suite.failures()
        )?;
        for case in &suite.cases {
            write!(
                w,
                r#"    <testcase classname="{}" name="{}""#,
                escape(&case.classname),
                escape(&case.name)
            )?;
            if let Some(file) = &case.file {
                write!(w, r#" file="{}""#, escape(file))?;
            }
            if let Some(line) = case.line {
                write!(w, r#" line="{line}""#)?;
            }
            if case.failure.is_none() && case.output.is_none() {
                writeln!(w, "/>")?;
                continue;
            }
            writeln!(w, ">")?;
            if let Some(f) = &case.failure {
                writeln!(
                    w,
                    r#"      <failure message="{}" type="{}">{}</failure>"#,
                    escape(&f.message),
                    escape(&f.kind),
                    escape(&f.detail)
                )?;
            }
            if let Some(output) = &case.output {
                writeln!(w, "      <system-out>{}</system-out>", escape(output))?;
            }
            writeln!(w, "    </testcase>")?;
        }
        writeln!(w, "  </testsuite>")?;
    }
    writeln!(w, "</testsuites>")
}

/// `text` as XML character data or attribute value. Characters XML 1.0 cannot carry at
/// all (most C0 controls, U+FFFE, U+FFFF) are written as a visible `\u{..}`; tab, line
/// feed and carriage return become character references so attributes keep them.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_controls() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(escape("x\u{1b}[31m\0"), "x\\u{1b}[31m\\u{0}");
        assert_eq!(escape("a\tb\nc"), "a&#9;b&#10;c");
        assert_eq!(escape("\u{7f}é\u{fffe}"), "\u{7f}é\\u{fffe}");
    }
}
