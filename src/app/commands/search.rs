use std::io::Write;

use serde::Serialize;

use super::{CommandError, ExitStatus, load_kb};
use crate::app::args::{GlobalArgs, OutputFormat, SearchArgs};
use arm_kb::matcher::Engine;
use arm_kb::render::style;
use arm_kb::search::{HitExplanation, SearchHit, SearchIndex, rule_matches};
use arm_kb::text;

/// Contributions listed per hit by `--explain` in text (JSON lists them all).
const EXPLAIN_LINES: usize = 8;

// `search --format json`. Fields are in alphabetical order: the key order of the JSON.

#[derive(Serialize)]
struct Hits<'a> {
    hits: Vec<Hit<'a>>,
}

#[derive(Serialize)]
struct Hit<'a> {
    article: &'a str,
    /// Only with `--explain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    explain: Option<&'a HitExplanation>,
    /// The search relevance, as JSON has always written it (an f64).
    score: f64,
    snippet: &'a str,
    title: &'a str,
}

pub fn run(global: &GlobalArgs, args: &SearchArgs) -> Result<ExitStatus, CommandError> {
    let kb = load_kb(global)?;
    let query = args.query.join(" ");
    // `--limit 0` asks for nothing, as `rg -m 0` does: no output (JSON: no hits), exit 1.
    let hits = if args.limit == 0 {
        Vec::new()
    } else {
        let index = SearchIndex::build(&kb)?;
        // An error pasted as a query: the articles whose rules fire on it come first.
        let engine = Engine::new(&kb, false);
        let first = rule_matches(&engine, &query);
        index.search_ranked(&query, args.limit, &first, args.explain)?
    };
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
                    explain: h.explanation.as_ref(),
                    score: f64::from(h.score),
                    snippet: &h.snippet,
                    title: &h.title,
                })
                .collect();
            super::write_json(&mut out, &Hits { hits })?;
        }
        OutputFormat::Text => {
            if hits.is_empty() && args.limit > 0 {
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
                if let Some(e) = &h.explanation {
                    write_explanation(&mut out, e)?;
                }
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

/// Why a hit ranks where it does: the rules that put it first, then the biggest
/// contributions to its score.
fn write_explanation(out: &mut impl Write, e: &HitExplanation) -> std::io::Result<()> {
    for rule in &e.rules {
        writeln!(out, "    ranked first: rule {rule} fires on the query text")?;
    }
    writeln!(out, "    score {:.2}:", e.score)?;
    for m in e.matches.iter().take(EXPLAIN_LINES) {
        writeln!(out, "      {:>6.2}  {}", m.score, m.describe())?;
    }
    if e.matches.len() > EXPLAIN_LINES {
        let rest = &e.matches[EXPLAIN_LINES..];
        let sum: f32 = rest.iter().map(|m| m.score).sum();
        writeln!(out, "      {sum:>6.2}  {} more matches", rest.len())?;
    }
    Ok(())
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
