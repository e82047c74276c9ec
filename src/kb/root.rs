//! Knowledge roots: where articles and rule files come from (the binary or a folder).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use crate::diagnostics::Diagnostic;
use crate::source::{SharedSource, SourceFile};

static BUILTIN_KB: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/kb");
static BUILTIN_RULES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// Files larger than this are refused: no article or rule file needs it.
pub const MAX_FILE_SIZE: u64 = 4 << 20;

/// Where a root comes from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum RootLocation {
    Builtin,
    Dir(PathBuf),
}

impl RootLocation {
    pub fn display(&self) -> String {
        match self {
            RootLocation::Builtin => "builtin".to_owned(),
            RootLocation::Dir(p) => p.display().to_string(),
        }
    }
}

/// The raw files of one root, before parsing.
#[derive(Debug)]
pub struct RootFiles {
    pub location: RootLocation,
    /// `(id text, source)`; the id is validated later.
    pub articles: Vec<(String, SharedSource)>,
    pub rule_files: Vec<SharedSource>,
    /// `kb/synonyms.toml`, when the root has one.
    pub synonyms: Option<SharedSource>,
}

/// The knowledge base compiled into the binary.
pub fn builtin() -> RootFiles {
    let mut articles: Vec<(String, SharedSource)> = BUILTIN_KB
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "md"))
        .map(|f| {
            let stem = f
                .path()
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let name = format!("builtin:kb/{}", f.path().display());
            (
                stem,
                SourceFile::new(name, String::from_utf8_lossy(f.contents())),
            )
        })
        .collect();
    articles.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rule_files: Vec<SharedSource> = BUILTIN_RULES
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
        .map(|f| {
            let name = format!("builtin:rules/{}", f.path().display());
            SourceFile::new(name, String::from_utf8_lossy(f.contents()))
        })
        .collect();
    rule_files.sort_by(|a, b| a.name.cmp(&b.name));
    let synonyms = BUILTIN_KB
        .get_file(super::synonyms::SYNONYMS_FILE)
        .map(|f| {
            SourceFile::new(
                format!("builtin:kb/{}", super::synonyms::SYNONYMS_FILE),
                String::from_utf8_lossy(f.contents()),
            )
        });
    RootFiles {
        location: RootLocation::Builtin,
        articles,
        rule_files,
        synonyms,
    }
}

/// Reads a root folder. Fails only when the root itself cannot be read; problems with
/// single files become diagnostics.
pub fn read_dir_root(
    root: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Result<RootFiles, Box<Diagnostic>> {
    let canonical = fs::canonicalize(root).map_err(|e| {
        Box::new(
            Diagnostic::error(
                "unreadable-root",
                format!("cannot read knowledge root: {e}"),
            )
            .in_file(root.display().to_string()),
        )
    })?;
    if !canonical.is_dir() {
        return Err(Box::new(
            Diagnostic::error("unreadable-root", "knowledge root is not a folder")
                .in_file(root.display().to_string()),
        ));
    }
    let kb_dir = root.join("kb");
    let rules_dir = root.join("rules");
    if !kb_dir.is_dir() && !rules_dir.is_dir() {
        return Err(Box::new(
            Diagnostic::error("unreadable-root", "knowledge root has neither `kb/` nor `rules/`")
                .in_file(root.display().to_string())
                .hint("a knowledge root is a folder with `kb/<id>.md` articles and/or `rules/*.toml` rule files"),
        ));
    }
    let mut articles = Vec::new();
    for path in list_files(&kb_dir, "md", &canonical, diags)? {
        if let Some(source) = read_source(&path, diags) {
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            articles.push((stem, source));
        }
    }
    let synonyms = list_files(&kb_dir, "toml", &canonical, diags)?
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n == super::synonyms::SYNONYMS_FILE)
        })
        .and_then(|p| read_source(&p, diags));
    let mut rule_files = Vec::new();
    for path in list_files(&rules_dir, "toml", &canonical, diags)? {
        if let Some(source) = read_source(&path, diags) {
            rule_files.push(source);
        }
    }
    Ok(RootFiles {
        location: RootLocation::Dir(root.to_path_buf()),
        articles,
        rule_files,
        synonyms,
    })
}

/// Files with extension `ext` directly in `dir`, sorted; links that leave the root are skipped.
fn list_files(
    dir: &Path,
    ext: &str,
    canonical_root: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Result<Vec<PathBuf>, Box<Diagnostic>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(dir).map_err(|e| {
        Box::new(
            Diagnostic::error("unreadable-root", format!("cannot list folder: {e}"))
                .in_file(dir.display().to_string()),
        )
    })?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != ext) {
            continue;
        }
        match fs::canonicalize(&path) {
            Ok(real) if real.starts_with(canonical_root) && real.is_file() => out.push(path),
            Ok(real) if !real.starts_with(canonical_root) => diags.push(
                Diagnostic::warning(
                    "link-outside-root",
                    "not following a link that leaves the knowledge root",
                )
                .in_file(path.display().to_string())
                .hint(format!("it points to {}", real.display())),
            ),
            Ok(_) => {}
            Err(e) => diags.push(
                Diagnostic::error("unreadable-file", format!("cannot read file: {e}"))
                    .in_file(path.display().to_string()),
            ),
        }
    }
    out.sort();
    Ok(out)
}

fn read_source(path: &Path, diags: &mut Vec<Diagnostic>) -> Option<SharedSource> {
    let name = path.display().to_string();
    let result = fs::File::open(path).and_then(|f| {
        let mut text = Vec::new();
        // Read one byte past the limit to know whether the file is too large.
        f.take(MAX_FILE_SIZE + 1).read_to_end(&mut text)?;
        Ok(text)
    });
    match result {
        Ok(bytes) if bytes.len() as u64 > MAX_FILE_SIZE => {
            diags.push(
                Diagnostic::error(
                    "file-too-large",
                    format!("file is larger than {} MiB", MAX_FILE_SIZE >> 20),
                )
                .in_file(name),
            );
            None
        }
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some(SourceFile::new(name, text)),
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        "not-utf8",
                        format!(
                            "file is not UTF-8 (invalid byte at offset {})",
                            e.utf8_error().valid_up_to()
                        ),
                    )
                    .in_file(name),
                );
                None
            }
        },
        Err(e) => {
            diags.push(
                Diagnostic::error("unreadable-file", format!("cannot read file: {e}"))
                    .in_file(name),
            );
            None
        }
    }
}
