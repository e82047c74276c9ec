//! In-process figures: matcher throughput per MB, rule loading and engine build time,
//! search latency and index build time, and what opening a cached on-disk index would
//! cost instead of building one. Run with `cargo bench --bench matcher`.
//!
//! The workloads are generated here, deterministically, so the bench needs no files.
//! `ARMKB_BENCH_LOG=/path/to/log` scans that log instead of the generated one (for
//! example the output of `../shared/bench/gen_log.py`).

use std::fmt::Write as _;
use std::sync::LazyLock;

use arm_kb::kb::{KnowledgeBase, RootFiles, RootLocation, RootSelection};
use arm_kb::matcher::{Engine, FindingSet, ScanOptions};
use arm_kb::search::SearchIndex;
use arm_kb::source::SourceFile;
use divan::Bencher;
use divan::counter::BytesCount;

fn main() {
    divan::main();
}

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const NOISE: [&str; 8] = [
    "##[debug]Evaluating condition for step: 'AzureCLI' succeeded",
    "\u{1b}[32mPASS\u{1b}[39m src/components/Button.test.tsx (\u{1b}[33m1.2 s\u{1b}[39m)",
    "Successfully logged in to Azure with service principal; subscription set",
    "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory",
    "[INFO] Building jar: /home/vsts/work/1/s/target/app-1.0.0.jar",
    "Step 4/12 : RUN dotnet restore \"src/Api/Api.csproj\" --disable-parallel",
    "terraform: azurerm_resource_group.main: Refreshing state... [id=/subscriptions/x/rg]",
    "remote: Counting objects: 100% (1536/1536), done. Resolving deltas: 42% (96/228)",
];

const INJECTED: [&str; 3] = [
    "##[error]AADSTS7000222: The provided client secret keys for app '7b25c410-2d78-4eb8-a01e-5a2e7f388c3e' are expired.",
    "##[error]AADSTS700213: No matching federated identity record found for presented assertion subject 'sc://org/proj/conn'.",
    "ERROR: The subscription of '3f2a' doesn't exist in cloud 'AzureCloud'.",
];

/// About 16 MB of pipeline-like log with a failure every ~50,000 lines.
static LOG: LazyLock<Vec<u8>> = LazyLock::new(|| {
    if let Ok(path) = std::env::var("ARMKB_BENCH_LOG") {
        return std::fs::read(path).expect("ARMKB_BENCH_LOG is readable");
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut log = String::with_capacity(17 << 20);
    let mut n = 0u64;
    while log.len() < 16 << 20 {
        n += 1;
        let ms = n * 37;
        let _ = write!(
            log,
            "2024-05-02T10:{:02}:{:02}.{:07}Z ",
            (ms / 60_000) % 60,
            (ms / 1000) % 60,
            ms % 10_000_000
        );
        if rng.below(50_000) == 0 {
            log.push_str(INJECTED[rng.below(INJECTED.len() as u64) as usize]);
        } else {
            log.push_str(NOISE[rng.below(NOISE.len() as u64) as usize]);
        }
        log.push('\n');
    }
    log.into_bytes()
});

static BUILTIN: LazyLock<KnowledgeBase> = LazyLock::new(|| {
    let loaded = KnowledgeBase::load(&RootSelection::new(false, None, &[]));
    assert!(!loaded.has_errors());
    loaded.kb
});

/// Rules in the style of `gen_rules.py`: one keyword each, a regex holding it.
fn generated_rules_text(n: usize) -> String {
    let mut rng = Rng(42);
    let mut text = String::new();
    for i in 0..n {
        let code = 100_000 + rng.below(900_000);
        let _ = write!(
            text,
            "[[rule]]\nid = \"gen-{i}\"\narticle = \"generated\"\nkeywords = [\"GEN{code}E{i}\"]\npatterns = ['GEN{code}E{i}: (?P<detail>[a-z ]+) for app (?P<app>[0-9a-f-]{{36}})']\n\n"
        );
    }
    text
}

fn generated_article(id: usize) -> String {
    format!(
        "+++\ntitle = \"Generated problem {id} with service connection token\"\ntags = [\"gen{id}\"]\n+++\n## Symptoms\nThe step fails with GENCODE{id} while fetching an access token for subscription {id}.\n## Cause\nThe service principal secret number {id} expired or the federated credential does not match.\n## Fix\n1. Renew secret {id} in the app registration.\n2. Update the service connection.\n"
    )
}

fn knowledge_base(rules: usize, articles: usize) -> KnowledgeBase {
    let mut article_files = vec![(
        "generated".to_owned(),
        SourceFile::new("kb/generated.md", generated_article(0)),
    )];
    for i in 1..articles {
        article_files.push((
            format!("generated-{i}"),
            SourceFile::new(format!("kb/generated-{i}.md"), generated_article(i)),
        ));
    }
    // A root of its own, without the built-in catalog's rules (their articles are not here).
    let root = RootFiles {
        location: RootLocation::Dir("bench".into()),
        articles: article_files,
        rule_files: vec![SourceFile::new(
            "rules/generated.toml",
            generated_rules_text(rules),
        )],
        // The built-in synonyms, so that query expansion is part of the search figures.
        synonyms: arm_kb::kb::root::builtin().synonyms,
    };
    let mut diags = Vec::new();
    let kb = KnowledgeBase::from_roots(vec![root], &mut diags);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    kb
}

static RULES_10K: LazyLock<KnowledgeBase> = LazyLock::new(|| knowledge_base(10_000, 1));
static ARTICLES_10K: LazyLock<KnowledgeBase> = LazyLock::new(|| knowledge_base(1, 10_000));

fn scan(engine: &Engine<'_>, log: &[u8]) -> FindingSet {
    let mut set = FindingSet::new(None);
    engine
        .scanner(ScanOptions::default())
        .scan(log, &mut set)
        .expect("the scan succeeds");
    set
}

/// `match` with the built-in rules (error lines tracked, as the text output does).
#[divan::bench(sample_count = 10)]
fn scan_builtin_rules(bencher: Bencher) {
    let engine = Engine::new(&BUILTIN, true);
    let log = &**LOG;
    bencher
        .counter(BytesCount::of_slice(log))
        .bench(|| scan(&engine, log));
}

/// The same log against 10,000 generated rules.
#[divan::bench(sample_count = 10)]
fn scan_10k_rules(bencher: Bencher) {
    let engine = Engine::new(&RULES_10K, true);
    let log = &**LOG;
    bencher
        .counter(BytesCount::of_slice(log))
        .bench(|| scan(&engine, log));
}

/// Reading and validating the built-in knowledge base (articles and rules).
#[divan::bench]
fn load_builtin() -> KnowledgeBase {
    KnowledgeBase::load(&RootSelection::new(false, None, &[])).kb
}

/// Parsing and validating 10,000 rules, then building the engine over them.
#[divan::bench(sample_count = 10)]
fn load_and_compile_10k_rules(bencher: Bencher) {
    bencher.bench(|| {
        let kb = knowledge_base(10_000, 1);
        let engine = Engine::new(&kb, true);
        drop(engine);
        kb
    });
}

/// Building the engine alone (the aho-corasick automaton) over 10,000 rules.
#[divan::bench(sample_count = 10)]
fn engine_build_10k_rules() {
    divan::black_box(Engine::new(&RULES_10K, true));
}

#[divan::bench(sample_count = 10)]
fn search_index_build_builtin() -> SearchIndex {
    SearchIndex::build(&BUILTIN).expect("the index builds")
}

#[divan::bench(sample_count = 3)]
fn search_index_build_10k_articles() -> SearchIndex {
    SearchIndex::build(&ARTICLES_10K).expect("the index builds")
}

#[divan::bench]
fn search_query_builtin(bencher: Bencher) {
    let index = SearchIndex::build(&BUILTIN).expect("the index builds");
    bencher.bench(|| {
        index
            .search("client secret expired", 10)
            .expect("search works")
    });
}

#[divan::bench]
fn search_query_10k_articles(bencher: Bencher) {
    let index = SearchIndex::build(&ARTICLES_10K).expect("the index builds");
    bencher.bench(|| {
        index
            .search("service principal secret expired", 10)
            .expect("search works")
    });
}

/// Writes the articles' searchable text as an on-disk tantivy index, as a cache would.
fn write_disk_index(kb: &KnowledgeBase, dir: &std::path::Path) {
    use tantivy::schema::{STORED, Schema, TEXT};
    let mut schema = Schema::builder();
    let fields: Vec<_> = ["id", "title", "summary", "symptoms", "cause", "fix"]
        .iter()
        .map(|name| schema.add_text_field(name, TEXT | STORED))
        .collect();
    let index = tantivy::Index::create_in_dir(dir, schema.build()).expect("index dir");
    let mut writer = index
        .writer_with_num_threads(1, 50_000_000)
        .expect("writer");
    for a in kb.articles.values() {
        let mut doc = tantivy::TantivyDocument::default();
        let texts = [
            a.id.as_str(),
            &a.title,
            a.summary.as_deref().unwrap_or_default(),
            &a.symptoms,
            &a.cause,
            &a.fix.join("\n"),
        ];
        for (field, text) in fields.iter().zip(texts) {
            doc.add_text(*field, text);
        }
        writer.add_document(doc).expect("add");
    }
    writer.commit().expect("commit");
}

/// Opening a cached index and running one query: what a cache would cost per call.
fn open_disk_index_and_query(dir: &std::path::Path) -> usize {
    use tantivy::collector::TopDocs;
    let index = tantivy::Index::open_in_dir(dir).expect("open");
    let reader = index
        .reader_builder()
        .reload_policy(tantivy::ReloadPolicy::Manual)
        .try_into()
        .expect("reader");
    let fields: Vec<_> = index.schema().fields().map(|(f, _)| f).collect();
    let parser = tantivy::query::QueryParser::for_index(&index, fields);
    let query = parser
        .parse_query("service principal secret expired")
        .expect("query");
    reader
        .searcher()
        .search(&query, &TopDocs::with_limit(10).order_by_score())
        .expect("search")
        .len()
}

#[divan::bench(sample_count = 20)]
fn search_cached_index_open_and_query_builtin(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("tempdir");
    write_disk_index(&BUILTIN, dir.path());
    bencher.bench(|| open_disk_index_and_query(dir.path()));
}

#[divan::bench(sample_count = 20)]
fn search_cached_index_open_and_query_10k_articles(bencher: Bencher) {
    let dir = tempfile::tempdir().expect("tempdir");
    write_disk_index(&ARTICLES_10K, dir.path());
    bencher.bench(|| open_disk_index_and_query(dir.path()));
}
