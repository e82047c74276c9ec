//! The layers of `src/` run one way: a module may use only the modules of lower layers
//! (and itself). This test reads every file under `src/` and fails on a `crate::…` path
//! that points up (or sideways); test modules are exempt. A new top-level module must be
//! given its layer here. The command line (`src/main.rs`, `src/app/`) is the binary:
//! above every layer, and out of the library's reach.

use std::fs;
use std::path::Path;

/// Top-level modules by layer, lowest first. One line is one layer.
const LAYERS: &[&[&str]] = &[
    &[
        "ids",
        "source",
        "text",
        "placeholder",
        "neutralize",
        "secrets",
        "workers",
    ],
    &["input"],
    &["diagnostics"],
    &["catalog"],
    &["rules"],
    &["kb"],
    &["matcher"],
    &["report"],
    &["authoring"],
    &["stats"],
    &["search"],
    &["render"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level module of a file under `src/` (`None` for the crate roots).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// Every `crate::name` in the code of `text` before its test module.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|(_, next)| next.trim_start().starts_with("mod "))
        {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        for (at, _) in code.match_indices("crate::") {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}`: each name of the group.
                let group = group.split('}').next().unwrap_or_default();
                for item in group.split(',') {
                    let item: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !item.is_empty() {
                        found.push((n + 1, item));
                    }
                }
            } else if !name.is_empty() {
                found.push((n + 1, name));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_use_of_the_crate_points_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(module) = module_of(relative) else {
            continue;
        };
        if module == "app" {
            // The binary: it reaches the library as `arm_kb::`, and only itself as `crate::`.
            let text = fs::read_to_string(file).unwrap();
            for (line, used) in crate_paths(&text) {
                if used != "app" {
                    wrong.push(format!(
                        "{}:{line}: the binary names `crate::{used}`",
                        relative.display()
                    ));
                }
            }
            continue;
        }
        let Some(own) = layer(&module) else {
            wrong.push(format!(
                "{}: module `{module}` has no layer",
                relative.display()
            ));
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        for (line, used) in crate_paths(&text) {
            // The module itself, or an item of the crate root (`crate::VERSION_LINE`).
            if used == module || used.starts_with(|c: char| c.is_ascii_uppercase()) {
                continue;
            }
            match layer(&used) {
                Some(l) if l < own => {}
                Some(_) => wrong.push(format!(
                    "{}:{line}: `{module}` uses `crate::{used}`, which is not below it",
                    relative.display()
                )),
                None => wrong.push(format!(
                    "{}:{line}: `crate::{used}` has no layer",
                    relative.display()
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "wrong-way uses:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_wrong_way_use() {
    let text = "use crate::render::style;\nfn f() { crate::kb::x(); }\n#[cfg(test)]\nmod tests {\n    use crate::app;\n}\n";
    let found = crate_paths(text);
    assert_eq!(found, [(1, "render".to_owned()), (2, "kb".to_owned())]);
    assert_eq!(
        crate_paths("use crate::{ids::RuleId, text};"),
        [(1, "ids".to_owned()), (1, "text".to_owned())]
    );
    assert!(layer("matcher") < layer("render"));
}

#[test]
fn every_test_file_is_a_module_of_the_integration_binary() {
    // Cargo.toml turns test discovery off: a file missing here would never run.
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let root = fs::read_to_string(tests.join("integration.rs")).unwrap();
    for entry in fs::read_dir(&tests).unwrap() {
        let path = entry.unwrap().path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && stem != "integration" {
            assert!(
                root.contains(&format!("mod {stem};")),
                "tests/{stem}.rs is not a module of tests/integration.rs"
            );
        }
    }
}
