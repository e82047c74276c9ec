//! `arm-kb test`: runs the rules' examples and counterexamples, `cargo test` style.

use std::collections::HashSet;
use std::io::Write;

use super::{CommandError, EXIT_ERROR, EXIT_OK, load_kb};
use crate::authoring::examples::{ExampleKind, RuleOutcome, describe, run_examples};
use crate::cli::{GlobalArgs, TestArgs};
use crate::diagnostics::did_you_mean;
use crate::ids::RuleId;
use crate::render::style;
use crate::text;

/// Exit status when an example fails.
pub const EXIT_FAILED: u8 = 1;

pub fn run(global: &GlobalArgs, args: &TestArgs) -> Result<u8, CommandError> {
    let mut kb = load_kb(global)?;
    let mut unknown = false;
    for id in &args.rules {
        if !kb.rules.iter().any(|r| r.id.as_str() == id) {
            unknown = true;
            let near = did_you_mean(id, kb.rules.iter().map(|r| r.id.as_str()));
            let mut msg = format!("arm-kb: no rule `{id}`");
            if !near.is_empty() {
                let list: Vec<String> = near.iter().map(|n| format!("`{n}`")).collect();
                msg.push_str(&format!("; did you mean {}?", list.join(", ")));
            }
            writeln!(anstream::stderr(), "{msg}")?;
        }
    }
    if unknown {
        writeln!(
            anstream::stderr(),
            "(`arm-kb list --rules` shows every rule)"
        )?;
        return Ok(EXIT_ERROR);
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
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILED })
}

/// The example as a quoted string on one line, cut when long.
fn shown(text: &str) -> String {
    let (head, cut) = text::cut(text, text::SHORT_CHARS);
    format!("{head:?}{}", if cut { "…" } else { "" })
}
