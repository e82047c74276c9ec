//! `arm-kb list --messages`: the catalog, one row per text (id, locale, text, article,
//! source), so a support engineer can see what is known.

use std::io::Write;

use serde_json::json;

use super::{CommandError, ExitStatus};
use crate::app::args::OutputFormat;
use arm_kb::catalog::{self, Class, Message};
use arm_kb::render::style;

/// The article a message gives, or none (wrappers, entries that are not ARM problems).
fn article(m: &Message) -> Option<&str> {
    match &m.class {
        Class::Article(a) => Some(a),
        _ => None,
    }
}

/// What the text form says instead of an article.
fn kind(m: &Message) -> String {
    match &m.class {
        Class::Article(a) => a.clone(),
        Class::Wrapper => "wrapper: the inner error decides".to_owned(),
        Class::NotArm(reason) => format!("not an ARM connection problem: {reason}"),
        Class::Unclassified => "not classified".to_owned(),
    }
}

pub fn run(format: OutputFormat) -> Result<ExitStatus, CommandError> {
    let cat = catalog::builtin();
    let mut out = anstream::stdout().lock();
    match format {
        OutputFormat::Json => {
            let rows: Vec<_> = cat
                .messages
                .iter()
                .flat_map(|m| {
                    m.texts.iter().map(move |t| {
                        json!({
                            "id": m.id,
                            "locale": t.locale,
                            "text": t.text,
                            "article": article(m),
                            "source": t.source,
                        })
                    })
                })
                .collect();
            super::write_json(&mut out, &json!({ "messages": rows }))?;
        }
        OutputFormat::Text => {
            let (id, d) = (style::ID, style::DIM);
            for m in &cat.messages {
                writeln!(out, "{id}{}{id:#}  {d}→ {}{d:#}", m.id, kind(m))?;
                for t in &m.texts {
                    writeln!(out, "  {d}{:5}{d:#}  {}", t.locale, t.text)?;
                }
            }
            let texts: usize = cat.messages.iter().map(|m| m.texts.len()).sum();
            writeln!(
                out,
                "{d}{} messages, {} texts; `--format json` adds each text's source{d:#}",
                cat.messages.len(),
                texts
            )?;
        }
    }
    Ok(ExitStatus::Success)
}
