//! `search --explain`: what each clause of the query contributed to a hit's score, from
//! tantivy's `Explanation` of that clause for the hit.

use serde::Serialize;
use tantivy::query::{EnableScoring, Query, Scorer};
use tantivy::{DocAddress, DocSet, Searcher};

use super::query::{Clause, ClauseKind};

/// Why a hit ranks where it does.
#[derive(Clone, Debug, Serialize)]
pub struct HitExplanation {
    /// The rules that fired on the query text (they rank the article first).
    pub rules: Vec<String>,
    /// The text score (the sum of the contributions).
    pub score: f32,
    /// What matched, biggest contribution first.
    pub matches: Vec<Contribution>,
}

/// One field and term (or phrase) that matched, and its share of the score.
#[derive(Clone, Debug, Serialize)]
pub struct Contribution {
    pub field: &'static str,
    pub kind: ClauseKind,
    /// The words searched.
    pub terms: String,
    /// For a synonym or a corrected typo: the query words it stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub score: f32,
}

pub(crate) fn explain(
    searcher: &Searcher,
    clauses: &[Clause],
    address: DocAddress,
    score: f32,
    rules: &[String],
) -> HitExplanation {
    let mut matches: Vec<Contribution> = clauses
        .iter()
        .filter_map(|c| {
            let value = score_of(searcher, c.query.as_ref(), address)?;
            (value > 0.0).then(|| Contribution {
                field: c.field,
                kind: c.kind,
                terms: c.text.clone(),
                via: c.via.clone(),
                score: value,
            })
        })
        .collect();
    matches.sort_by(|a, b| b.score.total_cmp(&a.score));
    HitExplanation {
        rules: rules.to_vec(),
        score,
        matches,
    }
}

/// The score `query` gives the document at `address`, or None when it does not match.
/// (This is the value of tantivy's `Explanation` of the query for the document, found
/// without its phrase explanation, which may seek backwards.)
pub(crate) fn score_of(searcher: &Searcher, query: &dyn Query, address: DocAddress) -> Option<f32> {
    let weight = query
        .weight(EnableScoring::enabled_from_searcher(searcher))
        .ok()?;
    let reader = searcher.segment_reader(address.segment_ord);
    let mut boxed = weight.scorer(reader, 1.0).ok()?;
    let scorer: &mut dyn Scorer = &mut *boxed;
    if DocSet::doc(scorer) > address.doc_id
        || DocSet::seek(scorer, address.doc_id) != address.doc_id
    {
        return None;
    }
    Some(Scorer::score(scorer))
}

impl Contribution {
    /// `title: "secret expired" (phrase)`, for a terminal.
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            ClauseKind::Word => String::new(),
            ClauseKind::Code => " (code)".to_owned(),
            ClauseKind::Phrase => " (words near each other)".to_owned(),
            ClauseKind::Synonym => format!(
                " (synonym of `{}`)",
                self.via.as_deref().unwrap_or_default()
            ),
            ClauseKind::Typo => format!(
                " (corrected from `{}`)",
                self.via.as_deref().unwrap_or_default()
            ),
        };
        format!("{}: {}{kind}", self.field, self.terms)
    }
}
