use std::io::Write;

use serde_json::json;

use super::{CommandError, ExitStatus, load_kb};
use crate::app::args::{GlobalArgs, ListArgs, OutputFormat};
use arm_kb::render::evidence::severity_style;
use arm_kb::render::style;
use arm_kb::text;

pub fn run(global: &GlobalArgs, args: &ListArgs) -> Result<ExitStatus, CommandError> {
    let kb = load_kb(global)?;
    let mut out = anstream::stdout().lock();
    match (args.rules, args.format) {
        (false, OutputFormat::Json) => {
            let articles: Vec<_> = kb
                .articles
                .values()
                .map(|a| {
                    json!({
                        "id": a.id,
                        "title": a.title,
                        "tags": a.tags,
                        "rules": kb.rules_for(&a.id).map(|r| &r.id).collect::<Vec<_>>(),
                    })
                })
                .collect();
            super::write_json(&mut out, &json!({ "articles": articles }))?;
        }
        (true, OutputFormat::Json) => {
            let rules: Vec<_> = kb
                .rules
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "article": r.article,
                        "severity": r.severity,
                        "priority": r.priority,
                        "keywords": r.keywords,
                        "file": r.span.source.name,
                        "line": r.span.start().line,
                    })
                })
                .collect();
            super::write_json(&mut out, &json!({ "rules": rules }))?;
        }
        (false, OutputFormat::Text) => {
            let width = kb
                .articles
                .keys()
                .map(|k| k.as_str().len())
                .max()
                .unwrap_or(0);
            for a in kb.articles.values() {
                let n = kb.rules_for(&a.id).count();
                let (id, d) = (style::ID, style::DIM);
                writeln!(
                    out,
                    "{id}{:width$}{id:#}  {}  {d}({}{}){d:#}",
                    a.id.as_str(),
                    a.title,
                    text::plural(n as u64, "rule"),
                    if a.tags.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", a.tags.join(", "))
                    },
                )?;
            }
            writeln!(
                out,
                "{}{} articles, {} rules{:#}",
                style::DIM,
                kb.articles.len(),
                kb.rules.len(),
                style::DIM
            )?;
        }
        (true, OutputFormat::Text) => {
            let width = kb
                .rules
                .iter()
                .map(|r| r.id.as_str().len())
                .max()
                .unwrap_or(0);
            for r in &kb.rules {
                let sev = severity_style(r.severity);
                writeln!(
                    out,
                    "{}{:width$}{:#}  {sev}{:7}{sev:#} {:>3}  → {}",
                    style::ID,
                    r.id.as_str(),
                    style::ID,
                    r.severity.as_str(),
                    r.priority,
                    r.article
                )?;
            }
            writeln!(
                out,
                "{}{} rules{:#}",
                style::DIM,
                kb.rules.len(),
                style::DIM
            )?;
        }
    }
    Ok(ExitStatus::Success)
}
