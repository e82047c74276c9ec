use std::io::Write;

use serde::Serialize;

use super::{CommandError, ExitStatus, load_kb};
use crate::app::args::{GlobalArgs, ListArgs, OutputFormat};
use arm_kb::ids::{ArticleId, RuleId};
use arm_kb::render::evidence::severity_style;
use arm_kb::render::style;
use arm_kb::rules::Severity;
use arm_kb::text;

// `list --format json`. Fields are in alphabetical order: the key order of the JSON.

#[derive(Serialize)]
struct Articles<'a> {
    articles: Vec<ArticleEntry<'a>>,
}

#[derive(Serialize)]
struct ArticleEntry<'a> {
    id: &'a ArticleId,
    rules: Vec<&'a RuleId>,
    tags: &'a [String],
    title: &'a str,
}

#[derive(Serialize)]
struct Rules<'a> {
    rules: Vec<RuleEntry<'a>>,
}

#[derive(Serialize)]
struct RuleEntry<'a> {
    article: &'a ArticleId,
    file: &'a str,
    id: &'a RuleId,
    keywords: &'a [String],
    line: usize,
    priority: u8,
    severity: Severity,
}

pub fn run(global: &GlobalArgs, args: &ListArgs) -> Result<ExitStatus, CommandError> {
    if args.messages {
        return super::list_messages::run(args.format);
    }
    let kb = load_kb(global)?;
    let mut out = anstream::stdout().lock();
    match (args.rules, args.format) {
        (false, OutputFormat::Json) => {
            let articles = kb
                .articles
                .values()
                .map(|a| ArticleEntry {
                    id: &a.id,
                    rules: kb.rules_for(&a.id).map(|r| &r.id).collect(),
                    tags: &a.tags,
                    title: &a.title,
                })
                .collect();
            super::write_json(&mut out, &Articles { articles })?;
        }
        (true, OutputFormat::Json) => {
            let rules = kb
                .rules
                .iter()
                .map(|r| RuleEntry {
                    article: &r.article,
                    file: &r.span.source.name,
                    id: &r.id,
                    keywords: &r.keywords,
                    line: r.span.start().line,
                    priority: r.priority,
                    severity: r.severity,
                })
                .collect();
            super::write_json(&mut out, &Rules { rules })?;
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
                "{}{}, {}{:#}",
                style::DIM,
                text::plural(kb.articles.len() as u64, "article"),
                text::plural(kb.rules.len() as u64, "rule"),
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
                "{}{}{:#}",
                style::DIM,
                text::plural(kb.rules.len() as u64, "rule"),
                style::DIM
            )?;
        }
    }
    Ok(ExitStatus::Success)
}
