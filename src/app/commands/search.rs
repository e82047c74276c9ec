use std::io::Write;

use serde_json::json;

use super::{CommandError, ExitStatus, load_kb};
use crate::app::args::{GlobalArgs, OutputFormat, SearchArgs};
use arm_kb::render::style;
use arm_kb::search::{SearchHit, SearchIndex};
use arm_kb::text;

pub fn run(global: &GlobalArgs, args: &SearchArgs) -> Result<ExitStatus, CommandError> {
    let kb = load_kb(global)?;
    let index = SearchIndex::build(&kb)?;
    let query = args.query.join(" ");
    let hits = index.search(&query, args.limit)?;
    let mut out = anstream::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            let hits: Vec<_> = hits
                .iter()
                .map(|h| json!({"article": h.article, "title": h.title, "score": h.score, "snippet": h.snippet}))
                .collect();
            super::write_json(&mut out, &json!({ "hits": hits }))?;
        }
        OutputFormat::Text => {
            if hits.is_empty() {
                // The query may hold terminal control codes (pasted log text): never echo them.
                let shown = text::one_line(&query);
                writeln!(
                    out,
                    "no article matches `{shown}` (`arm-kb list` shows them all)"
                )?;
            }
            for (i, h) in hits.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                writeln!(
                    out,
                    "{}{}{:#}  {}{}{:#}",
                    style::ID,
                    h.article,
                    style::ID,
                    style::TITLE,
                    h.title,
                    style::TITLE
                )?;
                writeln!(out, "    {}", highlighted(h))?;
            }
        }
    }
    Ok(if hits.is_empty() {
        ExitStatus::Negative
    } else {
        ExitStatus::Success
    })
}

/// The snippet with its matched words emphasised, on one line.
fn highlighted(h: &SearchHit) -> String {
    let mut s = String::new();
    let mut last = 0;
    for r in &h.highlights {
        if r.start < last || r.end > h.snippet.len() {
            continue;
        }
        s.push_str(&h.snippet[last..r.start]);
        s.push_str(&format!(
            "{}{}{:#}",
            style::MATCH,
            &h.snippet[r.clone()],
            style::MATCH
        ));
        last = r.end;
    }
    s.push_str(&h.snippet[last..]);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
