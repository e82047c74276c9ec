//! Ranking on the development queries: real titles and questions people typed when asking
//! for help, each with the articles that answer it (`tests/fixtures/search-dev.jsonl`, a
//! copy of the team's development set `../shared/queries/dev.jsonl`, whose README permits
//! tuning and testing on it; it is not a held-out measure).
//!
//! The test runs each query as `arm-kb search` does (rules first, then the text ranking)
//! and fails when top-1 or top-3 falls below the floor. The floors sit a little under the
//! level reached, so small edits to the articles do not break it; raise them when the
//! ranking improves. A query whose answer has no article yet counts as a miss.

use arm_kb::kb::{KnowledgeBase, RootSelection};
use arm_kb::matcher::Engine;
use arm_kb::search::{SearchIndex, rule_matches};
use serde_json::Value;

/// Share of queries whose first hit is an acceptable answer.
const TOP1_FLOOR: f64 = 0.54;
/// Share of queries with an acceptable answer among the first three hits.
const TOP3_FLOOR: f64 = 0.75;

struct Query {
    q: String,
    want: Vec<String>,
}

fn dev_queries() -> Vec<Query> {
    let text = include_str!("fixtures/search-dev.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("one JSON object per line");
            Query {
                q: v["q"].as_str().expect("q").to_owned(),
                want: v["want"]
                    .as_array()
                    .expect("want")
                    .iter()
                    .map(|w| w.as_str().expect("article id").to_owned())
                    .collect(),
            }
        })
        .collect()
}

#[test]
fn the_development_queries_find_their_articles() {
    let loaded = KnowledgeBase::load(&RootSelection {
        builtin: true,
        dirs: vec![],
    });
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let kb = loaded.kb;
    let index = SearchIndex::build(&kb).expect("the index builds");
    let engine = Engine::new(&kb, false);
    let queries = dev_queries();
    let (mut top1, mut top3) = (0, 0);
    let mut misses = Vec::new();
    for query in &queries {
        let first = rule_matches(&engine, &query.q);
        let hits = index
            .search_ranked(&query.q, 3, &first, false)
            .expect("search runs");
        let ids: Vec<&str> = hits.iter().map(|h| h.article.as_str()).collect();
        let wanted = |id: &&str| query.want.iter().any(|w| w == id);
        if ids.first().is_some_and(wanted) {
            top1 += 1;
        }
        if ids.iter().any(wanted) {
            top3 += 1;
        } else {
            misses.push(format!(
                "{:?}: want {}, got {ids:?}",
                query.q, query.want[0]
            ));
        }
    }
    let n = queries.len() as f64;
    let (r1, r3) = (f64::from(top1) / n, f64::from(top3) / n);
    println!(
        "development queries: top-1 {top1}/{} ({r1:.3}), top-3 {top3}/{} ({r3:.3})",
        queries.len(),
        queries.len()
    );
    println!("not in the top 3:\n{}", misses.join("\n"));
    assert!(
        r1 >= TOP1_FLOOR && r3 >= TOP3_FLOOR,
        "top-1 {r1:.3} (floor {TOP1_FLOOR}), top-3 {r3:.3} (floor {TOP3_FLOOR})"
    );
}
