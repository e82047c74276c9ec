//! `arm-kb explain RULE_ID [FILE]`: why a rule fires or does not fire on a log.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use super::{CommandError, EXIT_ERROR, EXIT_NO_MATCH, EXIT_OK, load_kb, print_diagnostics};
use crate::cli::{ExplainArgs, GlobalArgs};
use crate::diagnostics::{DiagnosticSeverity, did_you_mean};
use crate::kb::KnowledgeBase;
use crate::matcher::ScanError;
use crate::render::explain::{explain, verdict};
use crate::render::style;
use crate::text;

pub fn run(global: &GlobalArgs, args: &ExplainArgs) -> Result<u8, CommandError> {
    let mut kb = load_kb(global)?;
    let Some(index) = kb.rules.iter().position(|r| r.id.as_str() == args.rule) else {
        let near = did_you_mean(&args.rule, kb.rules.iter().map(|r| r.id.as_str()));
        let mut msg = format!("arm-kb: no rule `{}`", args.rule);
        if !near.is_empty() {
            let list: Vec<String> = near.iter().map(|n| format!("`{n}`")).collect();
            msg.push_str(&format!("; did you mean {}?", list.join(", ")));
        }
        writeln!(
            anstream::stderr(),
            "{msg}\n(`arm-kb list --rules` shows every rule)"
        )?;
        return Ok(EXIT_ERROR);
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
    let compiled = match rule.compiled() {
        Ok(c) => c,
        Err(d) => {
            print_diagnostics(std::slice::from_ref(d), DiagnosticSeverity::Error)?;
            return Ok(EXIT_ERROR);
        }
    };
    let mut out = anstream::stdout().lock();
    explain(&mut out, rule, compiled, &log)?;
    let verdict = match verdict(&solo, &log) {
        Ok(v) => v,
        Err(ScanError::Io(e)) => return Err(e.into()),
        Err(ScanError::Rule(d)) => {
            print_diagnostics(&[*d], DiagnosticSeverity::Error)?;
            return Ok(EXIT_ERROR);
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
    out.flush()?;
    Ok(if verdict.fired() {
        EXIT_OK
    } else {
        EXIT_NO_MATCH
    })
}
