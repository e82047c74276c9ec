//! Full-text search over the articles, with tantivy.
//!
//! The index is built in memory on each call: on the built-in knowledge base that costs a
//! few milliseconds (see README, "Search index"), less than opening an on-disk cache, and
//! it can never be stale or corrupt.

use std::ops::Range;

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, QueryParser};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    Language, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter,
    TextAnalyzer,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term, doc};

use crate::kb::KnowledgeBase;
use crate::render::fill_placeholders;

const PROSE: &str = "kb_en";
const CODES: &str = "kb_code";

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
}

fn prose_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::new(Language::English).expect("English stop words are built in"))
        .filter(Stemmer::new(Language::English))
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
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(PROSE, prose_analyzer());
        index.tokenizers().register(
            CODES,
            TextAnalyzer::builder(RawTokenizer::default())
                .filter(LowerCaser)
                .build(),
        );
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        for a in kb.articles.values() {
            let mut d = doc!(
                fields.id => a.id.as_str(),
                fields.title => a.title.as_str(),
                fields.summary => a.summary.clone().unwrap_or_default(),
                fields.symptoms => fill_placeholders(&a.symptoms, None),
                fields.cause => fill_placeholders(&a.cause, None),
                fields.fix => fill_placeholders(&a.fix.join("\n"), None),
            );
            // The id's words are searchable too ("secret expired" → sp-secret-expired).
            d.add_text(fields.tags, a.id.as_str().replace('-', " "));
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
        writer.commit()?;
        let reader = index.reader()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
        })
    }

    fn query(&self, text: &str, fuzzy: bool) -> Box<dyn Query> {
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
        if !fuzzy {
            return Box::new(BooleanQuery::new(clauses));
        }
        // Typos: every word also matches terms a small edit away, at a lower weight.
        let mut analyzer = prose_analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut words = Vec::new();
        while let Some(token) = stream.next() {
            if token.text.chars().count() >= 4 && !words.contains(&token.text) {
                words.push(token.text.clone());
            }
        }
        for word in words {
            let distance = if word.chars().count() >= 7 { 2 } else { 1 };
            for (field, boost) in [
                (f.title, 1.5),
                (f.tags, 1.0),
                (f.symptoms, 0.5),
                (f.cause, 0.5),
                (f.fix, 0.5),
            ] {
                let q = FuzzyTermQuery::new(Term::from_field_text(field, &word), distance, true);
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(q), boost * 0.4)),
                ));
            }
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// The best `limit` articles for `text`, best first.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>, SearchError> {
        self.run(text, limit, true)
    }

    fn run(&self, text: &str, limit: usize, fuzzy: bool) -> Result<Vec<SearchHit>, SearchError> {
        let searcher = self.reader.searcher();
        let query = self.query(text, fuzzy);
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
        // Log lines are long and full of noise: exact terms only.
        self.run(&words, limit, false)
    }
}
