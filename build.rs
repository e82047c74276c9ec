//! Records what the built-in knowledge base holds, for `arm-kb --version`, and makes
//! cargo rebuild when an article, rule or catalog file changes (they are embedded in the
//! binary). The catalog is filtered on the way (see `embed_catalog`).

use std::fs;
use std::path::Path;

/// Writes the catalog the binary embeds to `$OUT_DIR/catalog/`: of the message files,
/// only the entries the classification gives an article, and the wrappers; the other
/// files whole. A missing file is written empty. Returns the bytes written, for the hash.
fn embed_catalog() -> Vec<u8> {
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalog");
    fs::create_dir_all(&out).expect("create OUT_DIR/catalog");
    println!("cargo:rerun-if-changed=catalog");
    let read = |name: &str| {
        let path = Path::new("catalog").join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        fs::read_to_string(path).unwrap_or_default()
    };
    let mut kept = std::collections::HashSet::new();
    for name in ["classification.toml", "classification-tools.toml"] {
        let text = read(name);
        let table: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("catalog/{name} does not parse: {e}"));
        for (id, entry) in table {
            // An entry whose article is not in kb/ would find nothing: left out, said.
            let article = entry.get("article").and_then(|a| a.as_str());
            if let Some(a) = article.filter(|a| !Path::new("kb").join(format!("{a}.md")).exists()) {
                println!(
                    "cargo:warning=catalog/{name}: `{id}` names article `{a}`, which kb/ does not have; left out of the binary"
                );
                continue;
            }
            let wanted =
                article.is_some() || entry.get("kind").and_then(|k| k.as_str()) == Some("wrapper");
            if wanted {
                kept.insert(id);
            }
        }
    }
    let mut all = Vec::new();
    for name in [
        "task-messages.json",
        "tool-messages.json",
        "classification.toml",
        "classification-tools.toml",
        "entra-codes.json",
        "arm-codes.json",
        "entra-code-owners.toml",
    ] {
        let text = read(name);
        let text = if name.ends_with("messages.json") && !text.trim().is_empty() {
            let mut doc: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("catalog/{name} does not parse: {e}"));
            if let Some(list) = doc.get_mut("messages").and_then(|m| m.as_array_mut()) {
                list.retain(|m| {
                    m.get("id")
                        .and_then(|i| i.as_str())
                        .is_some_and(|i| kept.contains(i))
                });
            }
            serde_json::to_string(&doc).expect("JSON serializes")
        } else {
            text
        };
        all.extend_from_slice(text.as_bytes());
        fs::write(out.join(name), text).expect("write the embedded catalog");
    }
    all
}

/// JSON text without the whitespace between its tokens (the same document).
fn without_layout(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// FNV-1a: stable across toolchains and machines.
fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The files under `dir` (recursively) whose name ends with `ext`.
fn files_under(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The prepared knowledge base (`prepared/builtin.json`, see `src/kb/prepared.rs`) is
/// embedded only when its first line names the current inputs: the built-in data and the
/// code that reads it, and the locked dependency versions. Otherwise an empty file is
/// embedded and the binary parses the sources at start.
fn embed_prepared(content_hash: u64) {
    let mut hash = fnv(0xcbf2_9ce4_8422_2325, &content_hash.to_le_bytes());
    let mut inputs = vec![
        Path::new("kb/synonyms.toml").to_path_buf(),
        Path::new("Cargo.lock").to_path_buf(),
    ];
    for file in [
        "diagnostics.rs",
        "ids.rs",
        "placeholder.rs",
        "source.rs",
        "text.rs",
        "workers.rs",
    ] {
        inputs.push(Path::new("src").join(file));
    }
    for dir in ["src/kb", "src/rules", "src/catalog", "src/search"] {
        println!("cargo:rerun-if-changed={dir}");
        let mut files = Vec::new();
        files_under(Path::new(dir), "rs", &mut files);
        files.sort();
        inputs.extend(files);
    }
    for path in &inputs {
        println!("cargo:rerun-if-changed={}", path.display());
        hash = fnv(hash, path.as_os_str().as_encoded_bytes());
        hash = fnv(hash, &fs::read(path).unwrap_or_default());
    }
    let inputs = format!("{:016x}", hash);
    println!("cargo:rustc-env=ARM_KB_PREPARED_INPUTS={inputs}");
    let file = Path::new("prepared/builtin.json");
    println!("cargo:rerun-if-changed={}", file.display());
    let text = fs::read_to_string(file).unwrap_or_default();
    let current = text.lines().next() == Some(format!("inputs {inputs}").as_str());
    if !current && !text.is_empty() {
        println!(
            "cargo:warning=prepared/builtin.json was made from other inputs: the binary parses the built-in root at start; `ARMKB_PREPARE=overwrite cargo test --test integration prepared` rewrites it"
        );
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("prepared");
    fs::create_dir_all(&out).expect("create OUT_DIR/prepared");
    // The committed file is indented for review; the binary carries it without the
    // indentation (a quarter of its bytes, all read at start).
    let embedded = match text.split_once('\n') {
        Some((first, json)) if current => format!("{first}\n{}", without_layout(json)),
        _ => String::new(),
    };
    fs::write(out.join("builtin.json"), embedded)
        .expect("write the embedded prepared knowledge base");

    // The search index of that base (`src/search/prepared.rs`), with its own `inputs` file.
    let index = Path::new("prepared/search");
    println!("cargo:rerun-if-changed={}", index.display());
    let index_out = out.join("search");
    let _ = fs::remove_dir_all(&index_out);
    fs::create_dir_all(&index_out).expect("create OUT_DIR/prepared/search");
    let index_inputs = fs::read_to_string(index.join("inputs")).unwrap_or_default();
    if current && index_inputs.trim() == inputs {
        for entry in fs::read_dir(index).into_iter().flatten().flatten() {
            println!("cargo:rerun-if-changed={}", entry.path().display());
            fs::copy(entry.path(), index_out.join(entry.file_name()))
                .expect("copy the prepared search index");
        }
    } else if !index_inputs.is_empty() {
        println!(
            "cargo:warning=prepared/search was made from other inputs: `search` writes its index at start; `ARMKB_PREPARE=overwrite cargo test --test integration prepared` rewrites it"
        );
    }
}

fn main() {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a: stable across toolchains
    let mut feed = |bytes: &[u8]| hash = fnv(hash, bytes);
    let mut articles = 0;
    let mut rules = 0;
    for (dir, ext) in [("kb", "md"), ("rules", "toml")] {
        println!("cargo:rerun-if-changed={dir}");
        let mut paths: Vec<_> = fs::read_dir(Path::new(dir))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        paths.sort();
        for path in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == ext))
        {
            println!("cargo:rerun-if-changed={}", path.display());
            let text = fs::read(path).unwrap_or_default();
            feed(path.file_name().unwrap_or_default().as_encoded_bytes());
            feed(&text);
            if ext == "md" {
                articles += 1;
            } else {
                rules += String::from_utf8_lossy(&text)
                    .lines()
                    .filter(|l| l.trim() == "[[rule]]")
                    .count();
            }
        }
    }
    feed(&embed_catalog());
    let content_hash = hash;
    println!(
        "cargo:rustc-env=ARM_KB_CONTENT_HASH={:012x}",
        content_hash >> 16
    );
    embed_prepared(content_hash);
    println!("cargo:rustc-env=ARM_KB_ARTICLES={articles}");
    println!("cargo:rustc-env=ARM_KB_RULES={rules}");
}
