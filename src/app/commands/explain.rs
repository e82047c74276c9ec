//! `arm-kb explain RULE_ID [FILE]`: why a rule fires or does not fire on a log.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use super::{CommandError, ExitStatus, UnknownId, load_kb, print_diagnostics};
use crate::app::args::{ExplainArgs, GlobalArgs};
use arm_kb::diagnostics::DiagnosticSeverity;
use arm_kb::kb::KnowledgeBase;
use arm_kb::matcher::ScanError;
use arm_kb::render::explain::explain;
use arm_kb::render::style;
use arm_kb::text;

pub fn run(global: &GlobalArgs, args: &ExplainArgs) -> Result<ExitStatus, CommandError> {
    let mut kb = load_kb(global)?;
    let Some(index) = kb.rules.iter().position(|r| r.id.as_str() == args.rule) else {
        return Err(CommandError::UnknownRule(vec![UnknownId {
            suggestion: kb.similar_rule_ids(&args.rule),
            id: args.rule.clone(),
        }]));
    };
    let log = match &args.file {
        Some(path) if path != Path::new("-") => {
            fs::read(path).map_err(|source| CommandError::File {
                path: path.clone(),
                source,
            })?
        }
        _ => {
            let mut bytes = Vec::new();
            io::stdin().lock().read_to_end(&mut bytes)?;
            bytes
        }
    };
    // The rule alone, in an engine of its own: the verdict is the one `match` gives.
    let solo = KnowledgeBase {
        rules: vec![kb.rules.swap_remove(index)],
        ..KnowledgeBase::default()
    };
    let rule = &solo.rules[0];
    if let Err(d) = rule.compiled() {
        print_diagnostics(std::slice::from_ref(d), DiagnosticSeverity::Error)?;
        return Ok(ExitStatus::Error);
    }
    let mut out = arm_kb::neutralize::Stdout::new(arm_kb::neutralize::Mode::Text);
    let verdict = match explain(&mut out, &solo, &log) {
        Ok(v) => v,
        Err(ScanError::Io(e)) => return Err(e.into()),
        Err(ScanError::Rule(d)) => {
            print_diagnostics(&[*d], DiagnosticSeverity::Error)?;
            return Ok(ExitStatus::Error);
        }
    };
    let (ok, bad) = (style::INFO, style::WARNING);
    if verdict.fired() {
        let lines: Vec<String> = verdict.lines.iter().map(u64::to_string).collect();
        let more = verdict.total - verdict.lines.len() as u64;
        writeln!(
            out,
            "{ok}result: `{}` fires on {} ({}{}){ok:#}",
            rule.id,
            text::plural(verdict.total, "line"),
            lines.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )?;
    } else {
        writeln!(out, "{bad}result: `{}` does not fire{bad:#}", rule.id)?;
    }
    out.finish()?;
    Ok(if verdict.fired() {
        ExitStatus::Success
    } else {
        ExitStatus::Negative
    })
}
