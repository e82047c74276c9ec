//! The built-in knowledge base, parsed ahead of time: `prepared/builtin.json` holds what
//! loading the built-in root yields (articles, rules with their keywords, the catalog's
//! generated rules), so a start with only the built-in root reads one JSON document
//! instead of parsing TOML, Markdown, every regex and the catalog.
//!
//! The file's first line names the inputs it was made from: a hash of the built-in data
//! and of the code that reads it (`build.rs` computes it). The binary embeds the file only
//! when that hash is the current one; otherwise it parses the sources at start, as it does
//! for team roots. A test regenerates the file and fails when the committed one differs
//! (`ARMKB_PREPARE=overwrite` rewrites it).

use super::{KnowledgeBase, root};
use crate::catalog::CatalogFiles;
use crate::diagnostics::Diagnostic;
use crate::source::{SharedSource, SourceFile, resolving_names};

/// Where the prepared file lives in the repository.
pub const PATH: &str = "prepared/builtin.json";

/// The hash of the inputs the prepared file must be made from.
pub const INPUTS: &str = env!("ARM_KB_PREPARED_INPUTS");

/// The prepared file, when `build.rs` found it made from the current inputs; empty when not.
const EMBEDDED: &str = include_str!(concat!(env!("OUT_DIR"), "/prepared/builtin.json"));

/// Whether this binary carries a current prepared knowledge base.
pub fn is_embedded() -> bool {
    !EMBEDDED.is_empty()
}

/// The built-in knowledge base from the prepared file, or `None` when the binary has none
/// or it does not read back (the caller then parses the sources).
pub fn builtin() -> Option<KnowledgeBase> {
    let (_, json) = EMBEDDED.split_once('\n')?;
    let mut kb = read(json, root::builtin(), &CatalogFiles::embedded()).ok()?;
    kb.prepared = true;
    Some(kb)
}

/// Reads a prepared knowledge base whose spans name the files of `root` and `catalog`.
fn read(
    json: &str,
    root: root::RootFiles,
    catalog: &CatalogFiles,
) -> serde_json::Result<KnowledgeBase> {
    let sources: Vec<SharedSource> = root
        .articles
        .into_iter()
        .map(|(_, s)| s)
        .chain(root.rule_files)
        .chain(root.synonyms)
        .chain(catalog.all().cloned())
        // Generated rules without a catalog position point here (see `generated`).
        .chain([SourceFile::new(super::generated::NO_CATALOG_FILE, "")])
        .collect();
    resolving_names(sources, || serde_json::from_str(json))
}

/// Parses the built-in root from its sources and writes what the prepared file holds. Any
/// diagnostic is an error: the built-in root is held to a clean `check`.
pub fn prepare() -> Result<String, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let kb = KnowledgeBase::from_roots(vec![root::builtin()], &mut diags);
    if !diags.is_empty() {
        return Err(diags);
    }
    let json = serde_json::to_string_pretty(&kb).expect("a knowledge base serializes");
    Ok(format!("inputs {INPUTS}\n{json}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prepared_knowledge_base_reads_back_the_same() {
        let text = prepare().expect("the built-in root loads cleanly");
        let (_, json) = text.split_once('\n').unwrap();
        let kb = read(json, root::builtin(), &CatalogFiles::embedded()).expect("reads back");
        assert_eq!(serde_json::to_string_pretty(&kb).unwrap(), json.trim_end());
        let rule = &kb.rules[0];
        assert!(
            rule.span.location().starts_with("builtin:rules/"),
            "{}",
            rule.span.location()
        );
    }

    #[test]
    fn a_span_naming_an_unknown_file_is_refused() {
        let text = prepare().unwrap();
        let (_, json) = text.split_once('\n').unwrap();
        let renamed = json.replace("builtin:rules/", "builtin:gone/");
        let err = read(&renamed, root::builtin(), &CatalogFiles::embedded()).unwrap_err();
        assert!(
            err.to_string()
                .contains("no source file named `builtin:gone/"),
            "{err}"
        );
    }
}
