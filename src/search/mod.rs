//! Full-text search over the articles, with tantivy.
//!
//! The index lives in memory. The built-in knowledge base read from `prepared/` comes
//! with its index written ahead (`prepared.rs`: its files are copied in, nothing is
//! stemmed); any other base is indexed on each call. Nothing is cached on disk, so an
//! index can never be stale or corrupt.
//!
//! A query is its words (no query syntax is interpreted): each word is searched in every
//! field with the field's weight, neighbouring words are rewarded when they stand near each
//! other, synonyms (`kb/synonyms.toml`) and typo corrections are searched at a lower weight
//! (see `query.rs`). Text that fires a rule ranks that rule's article first
//! ([`rule_matches`]): the same engine as `arm-kb match`.

mod explain;
pub mod prepared;
mod query;

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{LazyLock, OnceLock};

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::directory::RamDirectory;
use tantivy::query::{BooleanQuery, Occur, QueryClone, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter,
    TextAnalyzer, TokenizerManager,
};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, TantivyDocument, Term, doc};

pub use explain::{Contribution, HitExplanation};
pub use query::{ClauseKind, MAX_QUERY_TERMS, Weights};

use crate::kb::{Article, KnowledgeBase};
use crate::matcher::Engine;
use crate::placeholder;
use query::{Builder, Clause, QueryParts, SynonymTerms};

const PROSE: &str = "kb_en";
const CODES: &str = "kb_code";
/// Indexing memory per article. tantivy sizes (and zeroes) its term table from the budget
/// up front, which for a fixed 64 MiB cost a third of `arm-kb search`'s time on the built-in
/// base; the table still grows when it must.
const WRITER_MEMORY_PER_ARTICLE: usize = 4 << 10;
const WRITER_MEMORY_MIN: usize = 1 << 20;
const WRITER_MEMORY_MAX: usize = 64 << 20;

/// Words too common in how people ask to tell articles apart ("how do I …", "getting an
/// error when …"), on top of the English stop words. They are dropped from the articles
/// and from queries alike: in a question they would match any article's body.
const QUERY_STOP_WORDS: &[&str] = &[
    "how", "do", "does", "did", "doing", "i", "im", "me", "my", "we", "our", "us", "you", "your",
    "can", "could", "should", "would", "what", "why", "when", "where", "which", "who", "while",
    "after", "from", "its", "has", "have", "had", "been", "being", "am", "were", "any", "some",
    "so", "also", "only", "just", "there", "here", "about", "via", "way", "get", "getting", "got",
    "issue", "issues", "problem", "help", "please", "hi", "hello", "thanks", "error", "errors",
    "fails", "failed", "failing", "fail", "failure",
];

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
}

/// One search result.
#[derive(Clone, Debug, Serialize)]
pub struct SearchHit {
    pub article: String,
    pub title: String,
    pub score: f32,
    /// A fragment of the article around the query terms.
    pub snippet: String,
    /// Byte ranges of `snippet` that matched.
    #[serde(skip)]
    pub highlights: Vec<Range<usize>>,
    /// The rules that fired on the query text, when this article ranks first because of
    /// them.
    #[serde(skip)]
    pub rules: Vec<String>,
    /// Why the hit ranks where it does (only when asked for).
    #[serde(skip)]
    pub explanation: Option<HitExplanation>,
}

/// An article whose rules fire on the query text, with those rules.
#[derive(Clone, Debug)]
pub struct RuleMatch {
    pub article: String,
    pub rules: Vec<String>,
}

/// The articles whose rules fire on `text` itself (an error pasted as a query), ranked as
/// `arm-kb match` ranks its findings.
pub fn rule_matches(engine: &Engine, text: &str) -> Vec<RuleMatch> {
    let Ok(set) = engine.scan_bytes(None, text.as_bytes()) else {
        return Vec::new();
    };
    crate::report::Report::build(set, engine.kb)
        .findings
        .into_iter()
        .map(|f| RuleMatch {
            article: f.article.to_string(),
            rules: f.rules.iter().map(ToString::to_string).collect(),
        })
        .collect()
}

pub(crate) struct Fields {
    id: Field,
    title: Field,
    questions: Field,
    tags: Field,
    error_codes: Field,
    summary: Field,
    symptoms: Field,
    cause: Field,
    fix: Field,
}

/// A searchable index of a knowledge base.
pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    weights: Weights,
    synonyms: Vec<SynonymTerms>,
    /// The articles' text, kept to build the vocabulary if a query needs correcting.
    texts: Vec<String>,
    vocabulary: OnceLock<Vocabulary>,
}

/// The words of the articles, to correct misspelt query words ("servce principle" →
/// "service principal") before they are searched with the normal scoring.
#[derive(Default)]
struct Vocabulary {
    /// Lower-cased word → number of articles that use it.
    words: HashMap<String, u32>,
}

impl Vocabulary {
    /// One text per article.
    fn build(texts: &[String]) -> Vocabulary {
        let mut words: HashMap<String, u32> = HashMap::new();
        let mut plain = plain_analyzer();
        for text in texts {
            let mut seen = HashSet::new();
            let mut stream = plain.token_stream(text);
            while let Some(token) = stream.next() {
                if seen.insert(token.text.clone()) {
                    *words.entry(token.text.clone()).or_default() += 1;
                }
            }
        }
        Vocabulary { words }
    }

    /// The closest article word to an unknown `word`, or None when `word` is known or has
    /// no close neighbour. Ties go to the commoner word.
    fn correct(&self, word: &str) -> Option<&str> {
        let len = word.chars().count();
        if self.words.contains_key(word) {
            return None;
        }
        let max_distance = if len >= 7 { 2 } else { 1 };
        self.words
            .iter()
            .filter(|(candidate, _)| candidate.chars().count().abs_diff(len) <= max_distance)
            .map(|(candidate, &docs)| {
                (
                    strsim::damerau_levenshtein(word, candidate),
                    docs,
                    candidate.as_str(),
                )
            })
            .filter(|&(distance, _, _)| distance <= max_distance)
            .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)))
            .map(|(_, _, candidate)| candidate)
    }
}

/// The English stop words (Lucene's list, as tantivy ships it).
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];

/// Lower-cased, stop words removed, stemmed: how prose is indexed and queried.
fn prose_analyzer() -> TextAnalyzer {
    static ANALYZER: LazyLock<TextAnalyzer> = LazyLock::new(|| {
        let stop_words = ENGLISH_STOP_WORDS
            .iter()
            .chain(QUERY_STOP_WORDS)
            .map(|w| (*w).to_owned());
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(StopWordFilter::remove(stop_words))
            .filter(Stemmer::new(Language::English))
            .build()
    });
    ANALYZER.clone()
}

/// Lower-cased words, not stemmed: what a user would spell.
fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .build()
}

/// The fields of the index, in a fixed order (a prepared index has the same schema).
fn schema() -> (Schema, Fields) {
    let mut schema = Schema::builder();
    let prose = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(PROSE)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { o.set_stored() } else { o }
    };
    let codes = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(CODES)
            .set_index_option(IndexRecordOption::Basic),
    );
    let fields = Fields {
        id: schema.add_text_field("id", STRING | STORED),
        title: schema.add_text_field("title", prose(true)),
        questions: schema.add_text_field("questions", prose(false)),
        tags: schema.add_text_field("tags", prose(false)),
        error_codes: schema.add_text_field("error_codes", codes),
        summary: schema.add_text_field("summary", prose(true)),
        symptoms: schema.add_text_field("symptoms", prose(true)),
        cause: schema.add_text_field("cause", prose(true)),
        fix: schema.add_text_field("fix", prose(true)),
    };
    (schema.build(), fields)
}

fn tokenizers() -> TokenizerManager {
    let tokenizers = TokenizerManager::default();
    tokenizers.register(PROSE, prose_analyzer());
    tokenizers.register(
        CODES,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
    tokenizers
}

/// An article's searchable text, field by field.
struct ArticleText<'a> {
    article: &'a Article,
    summary: String,
    symptoms: String,
    cause: String,
    fix: String,
    /// The id's words are searchable too ("secret expired" → sp-secret-expired).
    id_words: String,
}

impl<'a> ArticleText<'a> {
    fn of(a: &'a Article) -> ArticleText<'a> {
        ArticleText {
            article: a,
            summary: a.summary.clone().unwrap_or_default(),
            symptoms: placeholder::fill(&a.symptoms, None),
            cause: placeholder::fill(&a.cause, None),
            fix: placeholder::fill(&a.fix.join("\n"), None),
            id_words: a.id.as_str().replace('-', " "),
        }
    }

    /// All of it, for the vocabulary of typo corrections.
    fn joined(&self) -> String {
        let a = self.article;
        [
            a.title.as_str(),
            &a.tags.join(" "),
            &self.id_words,
            &a.questions.join("\n"),
            &self.summary,
            &self.symptoms,
            &self.cause,
            &self.fix,
        ]
        .join("\n")
    }
}

/// Indexes every article in one segment, written on this thread: the whole knowledge base
/// is small, and a multi-threaded writer costs more to start than to fill.
fn write_index(kb: &KnowledgeBase, schema: Schema, fields: &Fields) -> Result<Index, SearchError> {
    let mut writer = Index::builder()
        .schema(schema)
        .tokenizers(tokenizers())
        .single_segment_index_writer(
            RamDirectory::create(),
            (kb.articles.len() * WRITER_MEMORY_PER_ARTICLE)
                .clamp(WRITER_MEMORY_MIN, WRITER_MEMORY_MAX),
        )?;
    for a in kb.articles.values() {
        let t = ArticleText::of(a);
        let mut d = doc!(
            fields.id => a.id.as_str(),
            fields.title => a.title.as_str(),
            fields.summary => t.summary,
            fields.symptoms => t.symptoms,
            fields.cause => t.cause,
            fields.fix => t.fix,
        );
        d.add_text(fields.tags, t.id_words);
        for tag in &a.tags {
            d.add_text(fields.tags, tag);
        }
        for q in &a.questions {
            d.add_text(fields.questions, q);
        }
        for c in &a.error_codes {
            d.add_text(fields.error_codes, c);
            // "7000222" finds AADSTS7000222 too.
            if let Some(num) = c.strip_prefix("AADSTS") {
                d.add_text(fields.error_codes, num);
            }
        }
        writer.add_document(d)?;
    }
    Ok(writer.finalize()?)
}

impl SearchIndex {
    pub fn build(kb: &KnowledgeBase) -> Result<SearchIndex, SearchError> {
        Self::build_with(kb, Weights::default())
    }

    /// An index that ranks with other weights (to compare rankings).
    pub fn build_with(kb: &KnowledgeBase, weights: Weights) -> Result<SearchIndex, SearchError> {
        let (schema, fields) = schema();
        // The built-in base read from `prepared/` comes with its index written ahead.
        let mut index = match kb.prepared.then(|| prepared::open(&schema)).flatten() {
            Some(index) => index,
            None => write_index(kb, schema, &fields)?,
        };
        index.set_tokenizers(tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mut analyzer = prose_analyzer();
        let synonyms = kb
            .synonyms
            .groups
            .iter()
            .map(|g| SynonymTerms {
                terms: g
                    .terms
                    .iter()
                    .map(|t| (t.clone(), query::term_stems(&mut analyzer, t)))
                    .collect(),
            })
            .collect();
        let texts = kb
            .articles
            .values()
            .map(|a| ArticleText::of(a).joined())
            .collect();
        Ok(SearchIndex {
            reader,
            fields,
            weights,
            synonyms,
            texts,
            vocabulary: OnceLock::new(),
        })
    }

    fn clauses(&self, text: &str, correct_typos: bool, parts: QueryParts) -> Vec<Clause> {
        // Typos: misspelt words are searched again as the closest words of the articles,
        // so they are scored like correctly spelt ones.
        let corrected = if correct_typos {
            self.corrections(text)
        } else {
            Vec::new()
        };
        Builder {
            fields: &self.fields,
            weights: &self.weights,
            synonyms: &self.synonyms,
        }
        .clauses(text, &corrected, parts)
    }

    /// Corrections of the query words that no article uses: (article word, query word).
    fn corrections(&self, text: &str) -> Vec<(String, String)> {
        let searcher = self.reader.searcher();
        let mut plain = plain_analyzer();
        let mut prose = prose_analyzer();
        let mut corrected: Vec<(String, String)> = Vec::new();
        let mut stream = plain.token_stream(text);
        let mut words = 0;
        while let Some(token) = stream.next() {
            words += 1;
            if words > MAX_QUERY_TERMS {
                break;
            }
            let mut stems = prose.token_stream(&token.text);
            // A stop word yields no stem: nothing to correct.
            let Some(stem) = stems.next().map(|t| t.text.clone()) else {
                continue;
            };
            if token.text.chars().count() < 4
                // Codes and ids are exact: AADSTS50058 must not become AADSTS50053.
                || token.text.chars().any(|c| c.is_ascii_digit())
                || self.knows_stem(&searcher, &stem)
            {
                continue;
            }
            let vocabulary = self
                .vocabulary
                .get_or_init(|| Vocabulary::build(&self.texts));
            if let Some(word) = vocabulary.correct(&token.text)
                && !corrected.iter().any(|(c, _)| c == word)
            {
                corrected.push((word.to_owned(), token.text.clone()));
            }
        }
        corrected
    }

    /// Whether some article's prose has the stemmed term `stem` (then the word is spelt
    /// as the articles spell it, in some form).
    fn knows_stem(&self, searcher: &tantivy::Searcher, stem: &str) -> bool {
        let f = &self.fields;
        [
            f.title,
            f.questions,
            f.tags,
            f.summary,
            f.symptoms,
            f.cause,
            f.fix,
        ]
        .into_iter()
        .any(|field| {
            searcher
                .doc_freq(&Term::from_field_text(field, stem))
                .is_ok_and(|n| n > 0)
        })
    }

    /// The best `limit` articles for `text`, best first.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>, SearchError> {
        self.search_ranked(text, limit, &[], false)
    }

    /// The best `limit` articles for `text`: first the articles of `first` (the rules that
    /// fired on the text, see [`rule_matches`]), then the best of the others. With
    /// `explain`, each hit says what it matched.
    pub fn search_ranked(
        &self,
        text: &str,
        limit: usize,
        first: &[RuleMatch],
        explain: bool,
    ) -> Result<Vec<SearchHit>, SearchError> {
        let parts = QueryParts {
            phrases: true,
            synonyms: true,
        };
        self.run(text, limit, true, parts, first, explain)
    }

    fn run(
        &self,
        text: &str,
        limit: usize,
        correct_typos: bool,
        parts: QueryParts,
        first: &[RuleMatch],
        explain: bool,
    ) -> Result<Vec<SearchHit>, SearchError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let clauses = self.clauses(text, correct_typos, parts);
        let query = BooleanQuery::new(
            clauses
                .iter()
                .map(|c| (Occur::Should, QueryClone::box_clone(c.query.as_ref())))
                .collect(),
        );
        // The articles the rules put first, then the text's best.
        let mut ranked: Vec<(f32, DocAddress, Vec<String>)> = Vec::new();
        for m in first.iter().take(limit) {
            let term = Term::from_field_text(self.fields.id, &m.article);
            let id_query = TermQuery::new(term, IndexRecordOption::Basic);
            if let Some(&(_, address)) = searcher
                .search(&id_query, &TopDocs::with_limit(1).order_by_score())?
                .first()
                && !ranked.iter().any(|r| r.1 == address)
            {
                let score = explain::score_of(&searcher, &query, address).unwrap_or(0.0);
                ranked.push((score, address, m.rules.clone()));
            }
        }
        if ranked.len() < limit && !clauses.is_empty() {
            let top = searcher.search(
                &query,
                &TopDocs::with_limit(limit + ranked.len()).order_by_score(),
            )?;
            for (score, address) in top {
                if ranked.len() >= limit {
                    break;
                }
                if !ranked.iter().any(|r| r.1 == address) {
                    ranked.push((score, address, Vec::new()));
                }
            }
        }
        let generators: Vec<SnippetGenerator> = [
            self.fields.fix,
            self.fields.symptoms,
            self.fields.cause,
            self.fields.summary,
        ]
        .into_iter()
        .map(|field| {
            let mut g = SnippetGenerator::create(&searcher, &query, field)?;
            g.set_max_num_chars(160);
            Ok(g)
        })
        .collect::<Result<_, tantivy::TantivyError>>()?;
        let mut hits = Vec::new();
        for (score, address, rules) in ranked {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text_of = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            // The first field with highlighted words gives the snippet; else the summary.
            let snippet = generators
                .iter()
                .map(|g| g.snippet_from_doc(&doc))
                .find(|s| !s.highlighted().is_empty());
            let (snippet, highlights) = match snippet {
                Some(s) => (s.fragment().to_owned(), s.highlighted().to_vec()),
                None => (text_of(self.fields.summary), Vec::new()),
            };
            let explanation =
                explain.then(|| explain::explain(&searcher, &clauses, address, score, &rules));
            hits.push(SearchHit {
                article: text_of(self.fields.id),
                title: text_of(self.fields.title),
                score,
                snippet,
                highlights,
                rules,
                explanation,
            });
        }
        Ok(hits)
    }

    /// Articles related to some log lines: their words, as one query.
    pub fn related(&self, lines: &[String], limit: usize) -> Result<Vec<SearchHit>, SearchError> {
        let words: String = lines
            .iter()
            .flat_map(|l| l.split(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.len() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
            .take(200)
            .collect::<Vec<_>>()
            .join(" ");
        if words.is_empty() {
            return Ok(Vec::new());
        }
        // Log lines are long and full of noise and odd words: exact terms only.
        let parts = QueryParts {
            phrases: false,
            synonyms: false,
        };
        self.run(&words, limit, false, parts, &[], false)
    }
}
