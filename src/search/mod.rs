//! Full-text search over the articles, with tantivy.
//!
//! The index is built in memory on each call: on the built-in knowledge base that costs a
//! few milliseconds (see README, "Search index"), less than opening an on-disk cache, and
//! it can never be stale or corrupt.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::OnceLock;

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::directory::RamDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter,
    TextAnalyzer, TokenizerManager,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term, doc};

use crate::kb::KnowledgeBase;
use crate::placeholder;

const PROSE: &str = "kb_en";
const CODES: &str = "kb_code";
/// Indexing memory per article. tantivy sizes (and zeroes) its term table from the budget
/// up front, which for a fixed 64 MiB cost a third of `arm-kb search`'s time on the built-in
/// base; the table still grows when it must.
const WRITER_MEMORY_PER_ARTICLE: usize = 4 << 10;
const WRITER_MEMORY_MIN: usize = 1 << 20;
const WRITER_MEMORY_MAX: usize = 64 << 20;

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
}

struct Fields {
    id: Field,
    title: Field,
    tags: Field,
    error_codes: Field,
    summary: Field,
    symptoms: Field,
    cause: Field,
    fix: Field,
}

/// A searchable index of a knowledge base.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
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

fn prose_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).expect("English stop words are built in"))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Lower-cased words, not stemmed: what a user would spell.
fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .build()
}

impl SearchIndex {
    pub fn build(kb: &KnowledgeBase) -> Result<SearchIndex, SearchError> {
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
            tags: schema.add_text_field("tags", prose(false)),
            error_codes: schema.add_text_field("error_codes", codes),
            summary: schema.add_text_field("summary", prose(true)),
            symptoms: schema.add_text_field("symptoms", prose(true)),
            cause: schema.add_text_field("cause", prose(true)),
            fix: schema.add_text_field("fix", prose(true)),
        };
        let tokenizers = TokenizerManager::default();
        tokenizers.register(PROSE, prose_analyzer());
        tokenizers.register(
            CODES,
            TextAnalyzer::builder(RawTokenizer::default())
                .filter(LowerCaser)
                .build(),
        );
        // One segment, written on this thread: the whole knowledge base is small, and a
        // multi-threaded writer costs more to start than to fill.
        let mut writer = Index::builder()
            .schema(schema.build())
            .tokenizers(tokenizers)
            .single_segment_index_writer(
                RamDirectory::create(),
                (kb.articles.len() * WRITER_MEMORY_PER_ARTICLE)
                    .clamp(WRITER_MEMORY_MIN, WRITER_MEMORY_MAX),
            )?;
        let mut texts = Vec::with_capacity(kb.articles.len());
        for a in kb.articles.values() {
            let summary = a.summary.clone().unwrap_or_default();
            let symptoms = placeholder::fill(&a.symptoms, None);
            let cause = placeholder::fill(&a.cause, None);
            let fix = placeholder::fill(&a.fix.join("\n"), None);
            // The id's words are searchable too ("secret expired" → sp-secret-expired).
            let id_words = a.id.as_str().replace('-', " ");
            let tags = a.tags.join(" ");
            texts.push(
                [
                    a.title.as_str(),
                    &tags,
                    &id_words,
                    &summary,
                    &symptoms,
                    &cause,
                    &fix,
                ]
                .join("\n"),
            );
            let mut d = doc!(
                fields.id => a.id.as_str(),
                fields.title => a.title.as_str(),
                fields.summary => summary,
                fields.symptoms => symptoms,
                fields.cause => cause,
                fields.fix => fix,
            );
            d.add_text(fields.tags, id_words);
            for t in &a.tags {
                d.add_text(fields.tags, t);
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
        let index = writer.finalize()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            texts,
            vocabulary: OnceLock::new(),
        })
    }

    fn query(&self, text: &str, correct_typos: bool) -> Box<dyn Query> {
        let f = &self.fields;
        let mut parser = QueryParser::for_index(
            &self.index,
            vec![
                f.title,
                f.tags,
                f.error_codes,
                f.summary,
                f.symptoms,
                f.cause,
                f.fix,
            ],
        );
        parser.set_field_boost(f.title, 3.0);
        parser.set_field_boost(f.error_codes, 4.0);
        parser.set_field_boost(f.tags, 2.0);
        parser.set_field_boost(f.summary, 1.5);
        // Syntax errors never reach the user: the lenient parser keeps what it can.
        let (exact, _errors) = parser.parse_query_lenient(text);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, exact)];
        if !correct_typos {
            return Box::new(BooleanQuery::new(clauses));
        }
        // Typos: misspelt words are searched again as the closest words of the articles,
        // so they are scored like correctly spelt ones.
        let corrected = self.corrections(text);
        if !corrected.is_empty() {
            let (q, _errors) = parser.parse_query_lenient(&corrected.join(" "));
            clauses.push((Occur::Should, q));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Corrections of the query words that no article uses.
    fn corrections(&self, text: &str) -> Vec<String> {
        let searcher = self.reader.searcher();
        let mut plain = plain_analyzer();
        let mut prose = prose_analyzer();
        let mut corrected: Vec<String> = Vec::new();
        let mut stream = plain.token_stream(text);
        while let Some(token) = stream.next() {
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
                && !corrected.iter().any(|c| c == word)
            {
                corrected.push(word.to_owned());
            }
        }
        corrected
    }

    /// Whether some article's prose has the stemmed term `stem` (then the word is spelt
    /// as the articles spell it, in some form).
    fn knows_stem(&self, searcher: &tantivy::Searcher, stem: &str) -> bool {
        let f = &self.fields;
        [f.title, f.tags, f.summary, f.symptoms, f.cause, f.fix]
            .into_iter()
            .any(|field| {
                searcher
                    .doc_freq(&Term::from_field_text(field, stem))
                    .is_ok_and(|n| n > 0)
            })
    }

    /// The best `limit` articles for `text`, best first.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>, SearchError> {
        match self.run(text, limit, true) {
            // Query syntax the parser accepted but the index cannot run (`x:*` on a field
            // that does not exist): search the plain words instead.
            Err(_) => self.run(&plain_words(text), limit, true),
            ok => ok,
        }
    }

    fn run(
        &self,
        text: &str,
        limit: usize,
        correct_typos: bool,
    ) -> Result<Vec<SearchHit>, SearchError> {
        let searcher = self.reader.searcher();
        let query = self.query(text, correct_typos);
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let generators: Vec<SnippetGenerator> = [
            self.fields.fix,
            self.fields.symptoms,
            self.fields.cause,
            self.fields.summary,
        ]
        .into_iter()
        .map(|field| {
            let mut g = SnippetGenerator::create(&searcher, &*query, field)?;
            g.set_max_num_chars(160);
            Ok(g)
        })
        .collect::<Result<_, tantivy::TantivyError>>()?;
        let mut hits = Vec::new();
        for (score, address) in top.into_iter().take(limit) {
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
            hits.push(SearchHit {
                article: text_of(self.fields.id),
                title: text_of(self.fields.title),
                score,
                snippet,
                highlights,
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
        self.run(&words, limit, false)
    }
}

/// The words of `text` without any query syntax.
fn plain_words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
