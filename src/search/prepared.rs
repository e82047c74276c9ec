//! The search index of the prepared built-in knowledge base (`crate::kb::prepared`),
//! written ahead to `prepared/search/`: opening it costs a copy of its files, where
//! writing it stems and serializes every article at each `search`.
//!
//! Its one segment is named after the inputs hash instead of a random id, so the same
//! inputs write the same bytes and a test can tell a stale copy. `build.rs` embeds the
//! folder only when its `inputs` file names the current inputs.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use tantivy::Index;
use tantivy::directory::{Directory, RamDirectory};
use tantivy::schema::Schema;

use super::{SearchError, schema, write_index};
use crate::kb::KnowledgeBase;
use crate::kb::prepared::INPUTS;

/// Where the prepared index lives in the repository.
pub const PATH: &str = "prepared/search";

/// The file of the folder that names its inputs (not part of the index).
pub const INPUTS_FILE: &str = "inputs";

static EMBEDDED: Dir<'static> = include_dir!("$OUT_DIR/prepared/search");

/// Whether this binary carries a current prepared index.
pub fn is_embedded() -> bool {
    EMBEDDED.get_file(INPUTS_FILE).is_some()
}

/// The embedded index, when there is one with this schema.
pub(super) fn open(schema: &Schema) -> Option<Index> {
    if !is_embedded() {
        return None;
    }
    let dir = RamDirectory::create();
    for f in EMBEDDED
        .files()
        .filter(|f| f.path() != Path::new(INPUTS_FILE))
    {
        dir.atomic_write(f.path(), f.contents()).ok()?;
    }
    let index = Index::open(dir).ok()?;
    (index.schema() == *schema).then_some(index)
}

/// The files of `kb`'s index, the `inputs` file among them, sorted by name.
pub fn files(kb: &KnowledgeBase) -> Result<Vec<(String, Vec<u8>)>, SearchError> {
    let (schema, fields) = schema();
    let index = write_index(kb, schema, &fields)?;
    let segments = index.searchable_segment_ids()?;
    let [segment] = segments.as_slice() else {
        return Err(internal(format!(
            "a prepared index has one segment, not {}",
            segments.len()
        )));
    };
    let random = segment.uuid_string();
    let fixed = format!("{INPUTS:0>32}");
    let hyphenated = |s: &str| {
        format!(
            "{}-{}-{}-{}-{}",
            &s[..8],
            &s[8..12],
            &s[12..16],
            &s[16..20],
            &s[20..]
        )
    };
    let rename = |text: &str| {
        text.replace(&random, &fixed)
            .replace(&hyphenated(&random), &hyphenated(&fixed))
    };
    let dir = index.directory();
    let mut names: Vec<PathBuf> = dir.list_managed_files().into_iter().collect();
    names.extend([PathBuf::from("meta.json"), PathBuf::from(".managed.json")]);
    names.sort();
    names.dedup();
    let mut out = vec![(INPUTS_FILE.to_owned(), format!("{INPUTS}\n").into_bytes())];
    for name in names {
        if !dir.exists(&name).unwrap_or(false) {
            continue;
        }
        let bytes = dir
            .atomic_read(&name)
            .map_err(|e| internal(format!("reading {}: {e}", name.display())))?;
        let name = rename(&name.to_string_lossy());
        let bytes = if name == ".managed.json" {
            // A set, written in hash order: sorted, so the same index writes the same bytes.
            let mut list: Vec<String> =
                serde_json::from_slice(&bytes).map_err(|e| internal(format!("{name}: {e}")))?;
            list = list.iter().map(|n| rename(n)).collect();
            list.sort();
            serde_json::to_vec(&list).map_err(|e| internal(format!("{name}: {e}")))?
        } else if name.ends_with(".json") {
            rename(&String::from_utf8_lossy(&bytes)).into_bytes()
        } else {
            bytes
        };
        out.push((name, bytes));
    }
    out.sort();
    Ok(out)
}

fn internal(message: String) -> SearchError {
    tantivy::TantivyError::InternalError(message).into()
}
