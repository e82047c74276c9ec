//! `arm-kb test`: runs the rules' examples and counterexamples, `cargo test` style.

use std::io::Write;
use std::path::Path;

use super::{CommandError, ExitStatus, UnknownId, load_kb};
use crate::app::args::{GlobalArgs, TestArgs, TestFormat};
use arm_kb::authoring::examples::{ExampleKind, RuleOutcome, describe, run_examples};
use arm_kb::render::{junit, style};
use arm_kb::rules::Rule;
use arm_kb::text;

pub fn run(global: &GlobalArgs, args: &TestArgs) -> Result<ExitStatus, CommandError> {
    let root = args.root.as_deref();
    let mut global_with_root;
    let global = match root {
        Some(dir) if !global.kb.iter().any(|k| same_dir(k, dir)) => {
            global_with_root = global.clone();
            global_with_root.kb.push(dir.to_owned());
            &global_with_root
        }
        _ => global,
    };
    let mut kb = load_kb(global)?;
    let in_root = |r: &Rule| root.is_none_or(|dir| rule_in_root(r, dir));
    let patterns: Vec<IdPattern> = args.rules.iter().map(|p| IdPattern::new(p)).collect();
    let unknown: Vec<UnknownId> = patterns
        .iter()
        .filter(|p| {
            !kb.rules
                .iter()
                .any(|r| in_root(r) && p.matches(r.id.as_str()))
        })
        .map(|p| UnknownId {
            suggestion: kb.similar_rule_ids(&p.text),
            id: p.text.clone(),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(CommandError::UnknownRule(unknown));
    }
    if let Some(dir) = root.filter(|_| !kb.rules.iter().any(&in_root)) {
        return Err(CommandError::Usage(format!(
            "{} has no rule to test (is it a knowledge root, with a rules/ folder?)",
            dir.display()
        )));
    }
    let selected = |r: &Rule| {
        in_root(r) && (patterns.is_empty() || patterns.iter().any(|p| p.matches(r.id.as_str())))
    };
    let rule_count = kb.rules.iter().filter(|r| selected(r)).count();
    let example_count: usize = kb
        .rules
        .iter()
        .filter(|r| selected(r))
        .map(|r| r.examples.len() + r.counterexamples.len())
        .sum();
    let outcomes = run_examples(&mut kb, selected);

    if args.format == TestFormat::Junit {
        let suites = junit::example_suites(&outcomes, &kb.rules);
        let failed = suites.iter().map(junit::Suite::failures).sum::<usize>();
        let mut out = std::io::stdout().lock();
        junit::write(&mut out, "arm-kb test", &suites)?;
        out.flush()?;
        return Ok(if failed == 0 {
            ExitStatus::Success
        } else {
            ExitStatus::Negative
        });
    }

    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "running {} of {}",
        text::plural(example_count as u64, "example"),
        text::plural(rule_count as u64, "rule")
    )?;
    let (mut passed, mut failed) = (0usize, 0usize);
    let fail = style::ERROR;
    for (id, outcome) in &outcomes {
        match outcome {
            RuleOutcome::Broken(d) => {
                let rule = kb.rules.iter().find(|r| &r.id == id);
                let n = rule.map_or(1, |r| (r.examples.len() + r.counterexamples.len()).max(1));
                failed += n;
                writeln!(
                    out,
                    "{fail}FAIL{fail:#} {id} {}: {} ({} cannot run)",
                    d.location().unwrap_or_default(),
                    d.message,
                    if n == 1 {
                        "its example".to_owned()
                    } else {
                        format!("its {n} examples")
                    }
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

/// A rule id, or a pattern where `*` stands for any run of characters.
struct IdPattern {
    text: String,
}

impl IdPattern {
    fn new(text: &str) -> IdPattern {
        IdPattern {
            text: text.to_owned(),
        }
    }

    fn matches(&self, id: &str) -> bool {
        glob_matches(&self.text, id)
    }
}

/// `*` matches any run of characters (none included); everything else matches itself.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether the rule is defined in a file of the root `dir`.
fn rule_in_root(rule: &Rule, dir: &Path) -> bool {
    let file = Path::new(&rule.span.source.name);
    file.starts_with(dir)
        || match (file.canonicalize(), dir.canonicalize()) {
            (Ok(file), Ok(dir)) => file.starts_with(dir),
            _ => false,
        }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn globs_match_prefixes_suffixes_and_middles() {
        assert!(glob_matches("team.*", "team.a.b"));
        assert!(glob_matches("team.a", "team.a"));
        assert!(!glob_matches("team.a", "team.ab"));
        assert!(glob_matches("*.expired", "sp.secret.expired"));
        assert!(glob_matches("sp*exp*d", "sp.secret.expired"));
        assert!(!glob_matches("a*b*c", "abx"));
        assert!(glob_matches("*", "anything"));
        assert!(!glob_matches("ab*ba", "aba"));
    }
}
