//! The prepared built-in knowledge base (`prepared/builtin.json`) is what parsing the
//! built-in root gives, and the binary uses it. `ARMKB_PREPARE=overwrite cargo test --test
//! integration prepared` rewrites the file after a change to the data or its readers.

use std::path::Path;

use arm_kb::kb::{KnowledgeBase, RootSelection, prepared};

#[test]
fn prepared_builtin_is_current() {
    let fresh = prepared::prepare().unwrap_or_else(|diags| {
        panic!("the built-in root does not load cleanly: {diags:#?}");
    });
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(prepared::PATH);
    if std::env::var("ARMKB_PREPARE").as_deref() == Ok("overwrite") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is not what the built-in root parses to now: run `ARMKB_PREPARE=overwrite cargo test --test integration prepared` and commit it",
        prepared::PATH
    );
    assert!(
        prepared::is_embedded(),
        "the binary was built without the prepared file (build.rs found other inputs)"
    );
}

#[test]
fn builtin_only_loads_the_prepared_knowledge_base_and_check_the_sources() {
    let selection = RootSelection::new(false, None, &[]);
    let prepared = KnowledgeBase::load(&selection).kb;
    let parsed = KnowledgeBase::load_sources(&selection).kb;
    assert_eq!(prepared.rules.len(), parsed.rules.len());
    assert_eq!(prepared.articles.len(), parsed.articles.len());
    let rules = |kb: &KnowledgeBase| {
        kb.rules
            .iter()
            .map(|r| (r.id.to_string(), r.keywords.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(rules(&prepared), rules(&parsed));
}

#[test]
fn prepared_search_index_is_current() {
    let kb = KnowledgeBase::load_sources(&RootSelection::new(false, None, &[])).kb;
    let fresh = arm_kb::search::prepared::files(&kb).expect("the index writes");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(arm_kb::search::prepared::PATH);
    if std::env::var("ARMKB_PREPARE").as_deref() == Ok("overwrite") {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &fresh {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        return;
    }
    let mut committed: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    committed.sort();
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&committed),
        names(&fresh),
        "run `ARMKB_PREPARE=overwrite cargo test --test integration prepared`"
    );
    for ((name, a), (_, b)) in committed.iter().zip(&fresh) {
        assert!(
            a == b,
            "{name} differs: run `ARMKB_PREPARE=overwrite cargo test --test integration prepared`"
        );
    }
    assert!(
        arm_kb::search::prepared::is_embedded(),
        "the binary was built without the prepared index"
    );
}

#[test]
fn the_prepared_index_ranks_as_a_freshly_written_one() {
    if std::env::var("ARMKB_PREPARE").as_deref() == Ok("overwrite") {
        return; // this binary was built from the files being rewritten
    }
    let selection = RootSelection::new(false, None, &[]);
    let prepared = KnowledgeBase::load(&selection).kb;
    let parsed = KnowledgeBase::load_sources(&selection).kb;
    assert!(prepared.prepared && !parsed.prepared);
    let a = arm_kb::search::SearchIndex::build(&prepared).unwrap();
    let b = arm_kb::search::SearchIndex::build(&parsed).unwrap();
    // The development set's queries: real ones, of every kind (typos, codes, questions).
    let dev = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/search-dev.jsonl"),
    )
    .unwrap();
    let queries: Vec<String> = dev
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["q"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(queries.len() > 50);
    for q in &queries {
        let hits = |index: &arm_kb::search::SearchIndex| {
            index
                .search_ranked(q, 10, &[], true)
                .unwrap()
                .into_iter()
                .map(|h| (h.article, h.score, h.snippet))
                .collect::<Vec<_>>()
        };
        assert_eq!(hits(&a), hits(&b), "{q}");
    }
}
