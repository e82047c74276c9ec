use std::io::Write;

use serde::Serialize;

use super::{CommandError, ExitStatus, load_kb};
use crate::app::args::{GlobalArgs, OutputFormat, SearchArgs};
use arm_kb::render::style;
use arm_kb::search::{SearchHit, SearchIndex};
use arm_kb::text;

// `search --format json`. Fields are in alphabetical order: the key order of the JSON.

#[derive(Serialize)]
struct Hits<'a> {
    hits: Vec<Hit<'a>>,
}

#[derive(Serialize)]
struct Hit<'a> {
    article: &'a str,
    /// The search relevance, as JSON has always written it (an f64).
    score: f64,
    snippet: &'a str,
    title: &'a str,
}

pub fn run(global: &GlobalArgs, args: &SearchArgs) -> Result<ExitStatus, CommandError> {
    let kb = load_kb(global)?;
    let index = SearchIndex::build(&kb)?;
    let query = args.query.join(" ");
    let hits = index.search(&query, args.limit)?;
    let mode = match args.format {
        OutputFormat::Json => arm_kb::neutralize::Mode::Json,
        OutputFormat::Text => arm_kb::neutralize::Mode::Text,
    };
    let mut out = arm_kb::neutralize::Stdout::new(mode);
    match args.format {
        OutputFormat::Json => {
            let hits = hits
                .iter()
                .map(|h| Hit {
                    article: &h.article,
                    score: f64::from(h.score),
                    snippet: &h.snippet,
                    title: &h.title,
                })
                .collect();
            super::write_json(&mut out, &Hits { hits })?;
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
    out.finish()?;
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
