//! `arm-kb test`: runs the rules' examples and counterexamples, `cargo test` style.

use std::collections::HashSet;
use std::io::Write;

use super::{CommandError, ExitStatus, UnknownId, load_kb};
use crate::app::args::{GlobalArgs, TestArgs};
use arm_kb::authoring::examples::{ExampleKind, RuleOutcome, describe, run_examples};
use arm_kb::ids::RuleId;
use arm_kb::render::style;
use arm_kb::text;

pub fn run(global: &GlobalArgs, args: &TestArgs) -> Result<ExitStatus, CommandError> {
    let mut kb = load_kb(global)?;
    let unknown: Vec<UnknownId> = args
        .rules
        .iter()
        .filter(|id| kb.rule(id).is_none())
        .map(|id| UnknownId {
            suggestion: kb.similar_rule_ids(id),
            id: id.clone(),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(CommandError::UnknownRule(unknown));
    }
    let wanted: HashSet<&str> = args.rules.iter().map(String::as_str).collect();
    let selected = |id: &RuleId| wanted.is_empty() || wanted.contains(id.as_str());
    let rule_count = kb.rules.iter().filter(|r| selected(&r.id)).count();
    let example_count: usize = kb
        .rules
        .iter()
        .filter(|r| selected(&r.id))
        .map(|r| r.examples.len() + r.counterexamples.len())
        .sum();
    let outcomes = run_examples(&mut kb, |r| selected(&r.id));

    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "running {} of {}",
        text::plural(example_count as u64, "example"),
        text::plural(rule_count as u64, "rule")
    )?;
    let (mut passed, mut failed) = (0usize, 0usize);
    let fail = style::ERROR;
    for (id, outcome) in outcomes {
        match outcome {
            RuleOutcome::Broken(d) => {
                let rule = kb.rules.iter().find(|r| r.id == id);
                let n = rule.map_or(1, |r| (r.examples.len() + r.counterexamples.len()).max(1));
                failed += n;
                writeln!(
                    out,
                    "{fail}FAIL{fail:#} {id} {}: {} (its {n} example(s) cannot run)",
                    d.location().unwrap_or_default(),
                    d.message
                )?;
            }
            RuleOutcome::Ran(examples) => {
                for example in examples {
                    if example.passed() {
                        passed += 1;
                        continue;
                    }
                    failed += 1;
                    let what = example
                        .failures
                        .iter()
                        .map(describe)
                        .collect::<Vec<_>>()
                        .join("; ");
                    let kind = match example.kind {
                        ExampleKind::Example => "example",
                        ExampleKind::Counterexample => "counterexample",
                    };
                    let at = example.span.start();
                    writeln!(
                        out,
                        "{fail}FAIL{fail:#} {id} {}:{}: {what}\n     {kind}: {}",
                        example.span.source.name,
                        at.line,
                        shown(&example.text)
                    )?;
                }
            }
        }
    }
    let (verdict, s) = if failed == 0 {
        ("ok", style::INFO)
    } else {
        ("FAILED", style::ERROR)
    };
    writeln!(
        out,
        "\ntest result: {s}{verdict}{s:#}. {passed} passed, {failed} failed"
    )?;
    out.flush()?;
    Ok(if failed == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Negative
    })
}

/// The example as a quoted string on one line, cut when long.
fn shown(text: &str) -> String {
    let (head, cut) = text::cut(text, text::SHORT_CHARS);
    format!("{head:?}{}", if cut { "…" } else { "" })
}
