//! How a query's text becomes a tantivy query: one scored clause per field and term (or
//! pair of neighbouring terms, synonym, typo correction), summed. Keeping the clauses apart
//! is what lets `--explain` say what each one contributed.

use serde::Serialize;
use tantivy::Term;
use tantivy::query::{BoostQuery, PhraseQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use super::{Fields, plain_analyzer, prose_analyzer};

/// Query words beyond this many (distinct) are ignored: a pasted page of log text ranks
/// on its first words, and the query stays small.
pub const MAX_QUERY_TERMS: usize = 48;

/// The first fields of [`Builder::prose`] (title, questions, tags, summary) that score
/// neighbouring query words found near each other.
const PHRASE_FIELDS: usize = 5;

/// How much each part of the query counts. The defaults are tuned on the development
/// queries (`tests/fixtures/search-dev.jsonl`).
#[derive(Clone, Debug)]
pub struct Weights {
    pub title: f32,
    pub questions: f32,
    pub tags: f32,
    pub error_codes: f32,
    pub summary: f32,
    pub symptoms: f32,
    pub cause: f32,
    pub fix: f32,
    /// Two neighbouring query words found near each other (within `proximity_slop`
    /// positions), relative to the weight of the field.
    pub proximity: f32,
    pub proximity_slop: u32,
    /// A synonym of a query word or phrase, relative to the word itself.
    pub synonym: f32,
    /// The article word a misspelt query word was corrected to, relative to a word typed.
    pub typo: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            title: 3.0,
            questions: 3.0,
            tags: 2.0,
            error_codes: 4.0,
            summary: 1.5,
            symptoms: 1.0,
            cause: 1.0,
            fix: 1.0,
            proximity: 1.0,
            proximity_slop: 2,
            synonym: 0.3,
            typo: 1.0,
        }
    }
}

/// What a clause stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClauseKind {
    /// A query word (stemmed).
    Word,
    /// Two neighbouring query words, near each other in the field.
    Phrase,
    /// An error code, exactly.
    Code,
    /// A term of the synonym group of a query word or phrase.
    Synonym,
    /// The article word a misspelt query word was corrected to.
    Typo,
}

pub(crate) struct Clause {
    pub kind: ClauseKind,
    pub field: &'static str,
    /// The words searched, as typed or as written in the synonyms (not stemmed).
    pub text: String,
    /// For a synonym or a typo: the query word or phrase it stands for.
    pub via: Option<String>,
    pub query: Box<dyn Query>,
}

/// Which parts a query has.
#[derive(Clone, Copy)]
pub(crate) struct QueryParts {
    pub phrases: bool,
    pub synonyms: bool,
}

/// A query word: as typed (lower-cased), its stem, its position among the words.
struct Word {
    plain: String,
    stem: String,
    position: usize,
}

/// The query's words: every word is split on anything that is not a letter or a digit, so
/// no query syntax is interpreted and none can fail.
fn words(text: &str) -> Vec<Word> {
    let mut plain = plain_analyzer();
    let mut prose = prose_analyzer();
    let mut out = Vec::new();
    let mut stream = plain.token_stream(text);
    let mut position = 0;
    while let Some(token) = stream.next() {
        position += 1;
        // One letter or digit alone ("0" of "v2.0", "s" of "it's") tells nothing.
        if token.text.chars().count() < 2 {
            continue;
        }
        let mut stems = prose.token_stream(&token.text);
        // Stop words have no stem; they still count as a position.
        if let Some(stem) = stems.next() {
            out.push(Word {
                plain: token.text.clone(),
                stem: stem.text.clone(),
                position,
            });
        }
    }
    out
}

/// The stems of a synonym term, in order.
pub(crate) fn term_stems(analyzer: &mut TextAnalyzer, term: &str) -> Vec<(usize, String)> {
    let mut stream = analyzer.token_stream(term);
    let mut out = Vec::new();
    while let Some(token) = stream.next() {
        out.push((token.position, token.text.clone()));
    }
    out
}

/// One synonym group, ready to match: each term as typed and its stems with positions.
pub(crate) struct SynonymTerms {
    pub terms: Vec<(String, Vec<(usize, String)>)>,
}

pub(crate) struct Builder<'a> {
    pub fields: &'a Fields,
    pub weights: &'a Weights,
    pub synonyms: &'a [SynonymTerms],
}

impl Builder<'_> {
    /// The prose fields with their weights.
    fn prose(&self) -> [(Field, &'static str, f32); 7] {
        let (f, w) = (self.fields, self.weights);
        [
            (f.title, "title", w.title),
            (f.questions, "questions", w.questions),
            (f.tags, "tags", w.tags),
            (f.summary, "summary", w.summary),
            (f.symptoms, "symptoms", w.symptoms),
            (f.cause, "cause", w.cause),
            (f.fix, "fix", w.fix),
        ]
    }

    /// Every clause for `text`; `corrected` are article words standing for misspelt query
    /// words (word, the query word).
    pub fn clauses(
        &self,
        text: &str,
        corrected: &[(String, String)],
        parts: QueryParts,
    ) -> Vec<Clause> {
        let words = words(text);
        let mut clauses = Vec::new();
        let mut seen_stems: Vec<&str> = Vec::new();
        for w in &words {
            if seen_stems.len() >= MAX_QUERY_TERMS {
                break;
            }
            if seen_stems.contains(&w.stem.as_str()) {
                continue;
            }
            seen_stems.push(&w.stem);
            self.term_clauses(&mut clauses, ClauseKind::Word, &w.plain, &w.stem, None, 1.0);
        }
        // Codes are indexed whole and lower-cased: any query word may be one.
        let mut plain = plain_analyzer();
        let mut stream = plain.token_stream(text);
        let mut seen_codes: Vec<String> = Vec::new();
        while let Some(token) = stream.next() {
            if seen_codes.len() >= MAX_QUERY_TERMS {
                break;
            }
            if seen_codes.contains(&token.text) {
                continue;
            }
            seen_codes.push(token.text.clone());
            let term = Term::from_field_text(self.fields.error_codes, &token.text);
            clauses.push(Clause {
                kind: ClauseKind::Code,
                field: "error_codes",
                text: token.text.clone(),
                via: None,
                query: boosted(
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                    self.weights.error_codes,
                ),
            });
        }
        if parts.phrases && self.weights.proximity > 0.0 {
            let mut seen_pairs: Vec<(&str, &str)> = Vec::new();
            for pair in words.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if a.stem == b.stem || seen_pairs.contains(&(&a.stem, &b.stem)) {
                    continue;
                }
                if seen_pairs.len() >= MAX_QUERY_TERMS {
                    break;
                }
                seen_pairs.push((&a.stem, &b.stem));
                let gap = b.position - a.position;
                // Proximity counts in the short fields: in a long body two words near
                // each other say little, and reading their positions in every article
                // that has both was most of a query's time at 10,000 articles.
                for (field, name, weight) in self.prose().into_iter().take(PHRASE_FIELDS) {
                    let phrase = PhraseQuery::new_with_offset_and_slop(
                        vec![
                            (0, Term::from_field_text(field, &a.stem)),
                            (gap, Term::from_field_text(field, &b.stem)),
                        ],
                        self.weights.proximity_slop,
                    );
                    clauses.push(Clause {
                        kind: ClauseKind::Phrase,
                        field: name,
                        text: format!("{} {}", a.plain, b.plain),
                        via: None,
                        query: boosted(Box::new(phrase), weight * self.weights.proximity),
                    });
                }
            }
        }
        for (word, typed) in corrected {
            let mut prose = prose_analyzer();
            let stems = term_stems(&mut prose, word);
            if let Some((_, stem)) = stems.first()
                && !seen_stems.contains(&stem.as_str())
            {
                self.term_clauses(
                    &mut clauses,
                    ClauseKind::Typo,
                    word,
                    stem,
                    Some(typed.clone()),
                    self.weights.typo,
                );
            }
        }
        if parts.synonyms && self.weights.synonym > 0.0 {
            let mut stems: Vec<&str> = words.iter().map(|w| w.stem.as_str()).collect();
            let typo_stems: Vec<String> = corrected
                .iter()
                .filter_map(|(word, _)| {
                    term_stems(&mut prose_analyzer(), word)
                        .into_iter()
                        .next()
                        .map(|(_, s)| s)
                })
                .collect();
            stems.extend(typo_stems.iter().map(String::as_str));
            self.synonym_clauses(&mut clauses, &stems);
        }
        clauses
    }

    /// One clause per prose field for one stem.
    fn term_clauses(
        &self,
        clauses: &mut Vec<Clause>,
        kind: ClauseKind,
        text: &str,
        stem: &str,
        via: Option<String>,
        factor: f32,
    ) {
        for (field, name, weight) in self.prose() {
            let term = Term::from_field_text(field, stem);
            clauses.push(Clause {
                kind,
                field: name,
                text: text.to_owned(),
                via: via.clone(),
                query: boosted(
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                    weight * factor,
                ),
            });
        }
    }

    /// For each synonym group with a term in the query (as consecutive words), the group's
    /// other terms, at the synonym weight.
    fn synonym_clauses(&self, clauses: &mut Vec<Clause>, stems: &[&str]) {
        let contains = |term: &[(usize, String)]| {
            !term.is_empty()
                && stems.windows(term.len()).any(|window| {
                    window
                        .iter()
                        .zip(term)
                        .all(|(stem, (_, want))| *stem == want.as_str())
                })
        };
        for group in self.synonyms {
            let Some((typed, _)) = group.terms.iter().find(|(_, stems)| contains(stems)) else {
                continue;
            };
            for (term, term_stems) in &group.terms {
                if term_stems.is_empty() || contains(term_stems) {
                    continue;
                }
                for (field, name, weight) in self.prose() {
                    let query: Box<dyn Query> = if term_stems.len() == 1 {
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, &term_stems[0].1),
                            IndexRecordOption::WithFreqs,
                        ))
                    } else {
                        let first = term_stems[0].0;
                        Box::new(PhraseQuery::new_with_offset(
                            term_stems
                                .iter()
                                .map(|(pos, stem)| {
                                    (pos - first, Term::from_field_text(field, stem))
                                })
                                .collect(),
                        ))
                    };
                    clauses.push(Clause {
                        kind: ClauseKind::Synonym,
                        field: name,
                        text: term.clone(),
                        via: Some(typed.clone()),
                        query: boosted(query, weight * self.weights.synonym),
                    });
                }
            }
        }
    }
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if boost == 1.0 {
        query
    } else {
        Box::new(BoostQuery::new(query, boost))
    }
}
