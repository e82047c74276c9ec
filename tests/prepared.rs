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
    let ids = |kb: &KnowledgeBase| {
        kb.rules
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&prepared), ids(&parsed));
    let keywords = |kb: &KnowledgeBase| {
        kb.rules
            .iter()
            .map(|r| r.keywords.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(keywords(&prepared), keywords(&parsed));
}
