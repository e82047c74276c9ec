//! Running a rule's examples and counterexamples through the same engine `match` uses.
//!
//! Each rule is tested in an engine of its own, so the captures seen are that rule's
//! (in a whole-KB engine, another rule of the same article firing on the same line would
//! hide them). Firing is the same either way: rules never influence each other.

use std::collections::BTreeMap;

use crate::diagnostics::Diagnostic;
use crate::ids::RuleId;
use crate::kb::KnowledgeBase;
use crate::matcher::{Engine, ScanError};
use crate::report::Report;
use crate::rules::{Example, Rule};
use crate::source::SourceSpan;

/// What kind of text an example is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExampleKind {
    /// Must fire the rule.
    Example,
    /// Must not fire the rule.
    Counterexample,
}

/// Why an example failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExampleFailure {
    /// An example on which the rule does not fire.
    DidNotFire,
    /// A counterexample on which the rule fires.
    Fired,
    /// The rule fired, but a capture has another value (`None`: nothing captured).
    WrongCapture {
        name: String,
        expected: String,
        actual: Option<String>,
    },
}

/// The outcome of one example.
#[derive(Clone, Debug)]
pub struct ExampleOutcome {
    pub rule: RuleId,
    pub kind: ExampleKind,
    pub text: String,
    pub span: SourceSpan,
    /// Every failure of this example (several wrong captures are all listed).
    pub failures: Vec<ExampleFailure>,
}

impl ExampleOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The outcome of one rule's examples, or why they could not run.
#[derive(Debug)]
pub enum RuleOutcome {
    Ran(Vec<ExampleOutcome>),
    /// A regex of the rule does not compile; nothing could run.
    Broken(Box<Diagnostic>),
}

/// The fired rules and captures of one scan of a text.
#[derive(Debug, Default)]
pub struct ScanResult {
    pub fired: Vec<RuleId>,
    /// Captures of the evidence lines, first value per name, as `match` lists them with
    /// each line (masked `***` values included).
    pub captures: BTreeMap<String, String>,
}

/// Scans `text` with `engine` exactly as `match` scans a log.
pub fn scan_text(engine: &Engine<'_>, text: &str) -> Result<ScanResult, ScanError> {
    let set = engine.scan_bytes(None, text.as_bytes())?;
    Ok(summarize(Report::build(set, engine.kb)))
}

fn summarize(report: Report) -> ScanResult {
    let mut result = ScanResult::default();
    for finding in &report.findings {
        for evidence in &finding.evidence {
            for (name, value) in &evidence.captures {
                result
                    .captures
                    .entry(name.clone())
                    .or_insert_with(|| value.clone());
            }
        }
        result.fired.extend(finding.rules.iter().cloned());
    }
    result
}

/// Runs the examples of the rules selected by `selected`, each rule in an engine of its
/// own. Outcomes come in the order of `kb.rules`.
pub fn run_examples(
    kb: &mut KnowledgeBase,
    selected: impl Fn(&Rule) -> bool,
) -> Vec<(RuleId, RuleOutcome)> {
    let rules = std::mem::take(&mut kb.rules);
    let mut solo = KnowledgeBase::default();
    let mut outcomes = Vec::new();
    for rule in rules {
        if selected(&rule) {
            let id = rule.id.clone();
            solo.rules.push(rule);
            let outcome = run_rule(&solo);
            outcomes.push((id, outcome));
            kb.rules
                .push(solo.rules.pop().expect("the rule just pushed"));
        } else {
            kb.rules.push(rule);
        }
    }
    outcomes
}

/// Runs the examples of the single rule of `solo`.
fn run_rule(solo: &KnowledgeBase) -> RuleOutcome {
    let rule = &solo.rules[0];
    if let Err(d) = rule.compiled() {
        return RuleOutcome::Broken(Box::new(d.clone()));
    }
    let engine = Engine::new(solo, false);
    let mut outcomes = Vec::new();
    let cases = rule
        .examples
        .iter()
        .map(|e| (ExampleKind::Example, e))
        .chain(
            rule.counterexamples
                .iter()
                .map(|e| (ExampleKind::Counterexample, e)),
        );
    for (kind, example) in cases {
        let result = match scan_text(&engine, &example.text) {
            Ok(result) => result,
            // Reading from memory cannot fail, and the rule compiled above.
            Err(ScanError::Rule(d)) => return RuleOutcome::Broken(d),
            Err(ScanError::Io(e)) => {
                return RuleOutcome::Broken(Box::new(Diagnostic::error(
                    "example-io",
                    format!("cannot scan example: {e}"),
                )));
            }
        };
        outcomes.push(ExampleOutcome {
            rule: rule.id.clone(),
            kind,
            text: example.text.clone(),
            span: example.span.clone(),
            failures: judge(rule, kind, example, &result),
        });
    }
    RuleOutcome::Ran(outcomes)
}

fn judge(
    rule: &Rule,
    kind: ExampleKind,
    example: &Example,
    result: &ScanResult,
) -> Vec<ExampleFailure> {
    let fired = result.fired.contains(&rule.id);
    match kind {
        ExampleKind::Counterexample if fired => vec![ExampleFailure::Fired],
        ExampleKind::Counterexample => Vec::new(),
        ExampleKind::Example if !fired => vec![ExampleFailure::DidNotFire],
        ExampleKind::Example => example
            .captures
            .iter()
            .flatten()
            .filter(|(name, expected)| result.captures.get(*name) != Some(*expected))
            .map(|(name, expected)| ExampleFailure::WrongCapture {
                name: name.clone(),
                expected: expected.clone(),
                actual: result.captures.get(name).cloned(),
            })
            .collect(),
    }
}

/// Describes a failure in a few words, for `test` output and `check` diagnostics.
pub fn describe(failure: &ExampleFailure) -> String {
    match failure {
        ExampleFailure::DidNotFire => "example did not fire the rule".to_owned(),
        ExampleFailure::Fired => "counterexample fired the rule".to_owned(),
        ExampleFailure::WrongCapture {
            name,
            expected,
            actual: Some(actual),
        } => format!("captured {name} = {actual:?} instead of {expected:?}"),
        ExampleFailure::WrongCapture {
            name,
            expected,
            actual: None,
        } => format!("captured nothing for {name} instead of {expected:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb(rules: &str) -> KnowledgeBase {
        crate::kb::test_kb(rules)
    }

    fn failures(kb: &mut KnowledgeBase) -> Vec<Vec<ExampleFailure>> {
        run_examples(kb, |_| true)
            .into_iter()
            .flat_map(|(_, o)| match o {
                RuleOutcome::Ran(v) => v.into_iter().map(|e| e.failures).collect::<Vec<_>>(),
                RuleOutcome::Broken(d) => panic!("{d:?}"),
            })
            .collect()
    }

    #[test]
    fn judges_examples_counterexamples_and_captures() {
        let mut kb = kb(r#"
[[rule]]
id = "r"
article = "a"
patterns = ['AADSTS7000222 for app (?P<app_id>\w+)']
examples = ["x AADSTS7000222 for app abc", "no"]
counterexamples = ["AADSTS7000222 for app q", "fine"]

[[rule.example]]
text = "AADSTS7000222 for app def"
captures = { app_id = "xyz" }
"#);
        let got = failures(&mut kb);
        assert_eq!(
            got,
            vec![
                vec![],
                vec![ExampleFailure::DidNotFire],
                vec![ExampleFailure::WrongCapture {
                    name: "app_id".into(),
                    expected: "xyz".into(),
                    actual: Some("def".into()),
                }],
                vec![ExampleFailure::Fired],
                vec![],
            ]
        );
        // The rules are back in the knowledge base, in order.
        assert_eq!(kb.rules.len(), 1);
    }

    #[test]
    fn multi_line_examples_run_windows() {
        let mut kb = kb(r#"
[[rule]]
id = "w"
article = "a"
all = ['first marker', 'second marker']
window = 2
examples = ["first marker\nnoise\nsecond marker"]
counterexamples = ["first marker\n1\n2\n3\nsecond marker"]
"#);
        assert_eq!(failures(&mut kb), vec![vec![], vec![]]);
    }
}
