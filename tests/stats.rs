//! `arm-kb stats` over a folder of real fixtures agrees with `arm-kb match` run on each
//! file: the counts, the articles (found and top), the rules' logs, the dead rules. The
//! folder holds the logs of `tests/fixtures/corpus/` and, when present, each case of
//! `tests/fixtures/real/*.toml` written out as one log.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use crate::util::{Output, arm_kb, gzip, in_crate, utf16le, zip};

/// A folder of logs: the corpus excerpts and the real cases, one file each.
fn corpus_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = in_crate("tests/fixtures/corpus");
    for entry in fs::read_dir(&corpus).expect("corpus folder").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log") {
            fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let real = in_crate("tests/fixtures/real");
    let mut files: Vec<PathBuf> = fs::read_dir(&real)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    fs::create_dir_all(dir.path().join("real")).unwrap();
    for file in files {
        let table: toml::Table = toml::from_str(&fs::read_to_string(&file).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in table
            .get("case")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(id), Some(text)) = (
                case.get("id").and_then(toml::Value::as_str),
                case.get("text").and_then(toml::Value::as_str),
            ) else {
                continue;
            };
            fs::write(dir.path().join("real").join(format!("{id}.log")), text).unwrap();
        }
    }
    dir
}

fn logs_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(logs_in(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn json_of(cmd: &mut Command) -> Value {
    let out = cmd.output().expect("runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn stats_agree_with_match_on_each_file() {
    let dir = corpus_folder();
    let stats = json_of(
        arm_kb()
            .args(["stats", "--format", "json", "-j", "2"])
            .arg(dir.path()),
    );

    let keys: BTreeSet<&str> = stats
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "logs",
        "logs_with_findings",
        "logs_with_errors",
        "articles",
        "rules",
        "dead_rules",
        "noisy_rules",
        "unexplained",
    ]
    .into();
    assert_eq!(keys, expected);

    let files = logs_in(dir.path());
    let (mut with_findings, mut with_errors) = (0, 0);
    let mut articles: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut rule_logs: BTreeMap<String, u64> = BTreeMap::new();
    for file in &files {
        let m = json_of(
            arm_kb()
                .args(["match", "--format", "json", "--unexplained"])
                .arg(file),
        );
        let findings = m["findings"].as_array().unwrap();
        if findings.is_empty() {
            with_errors += u64::from(m["unexplained"]["total"].as_u64().unwrap() > 0);
        } else {
            with_findings += 1;
        }
        for (i, f) in findings.iter().enumerate() {
            let entry = articles
                .entry(f["article"].as_str().unwrap().to_owned())
                .or_default();
            entry.0 += 1;
            entry.1 += u64::from(i == 0);
            for rule in strings(&f["rules"]) {
                *rule_logs.entry(rule).or_default() += 1;
            }
        }
    }
    assert_eq!(stats["logs"], files.len() as u64);
    assert_eq!(stats["logs_with_findings"], with_findings);
    assert_eq!(stats["logs_with_errors"], with_errors);

    let listed: BTreeMap<String, (u64, u64)> = stats["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["article"].as_str().unwrap().to_owned(),
                (a["logs"].as_u64().unwrap(), a["top"].as_u64().unwrap()),
            )
        })
        .collect();
    assert_eq!(listed, articles);
    let logs: Vec<u64> = stats["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["logs"].as_u64().unwrap())
        .collect();
    assert!(
        logs.windows(2).all(|w| w[0] >= w[1]),
        "sorted by logs: {logs:?}"
    );

    // Every loaded rule is listed; the dead ones are exactly those that fired in no file.
    let loaded = json_of(arm_kb().args(["list", "--rules", "--format", "json"]));
    let loaded: BTreeSet<String> = loaded["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let rules = stats["rules"].as_array().unwrap();
    assert_eq!(rules.len(), loaded.len());
    for r in rules {
        let id = r["rule"].as_str().unwrap();
        let fired = rule_logs.get(id).copied().unwrap_or(0);
        assert_eq!(r["logs"], fired, "{id}");
        assert_eq!(r["hits"].as_u64().unwrap() > 0, fired > 0, "{id}");
    }
    let dead: BTreeSet<String> = strings(&stats["dead_rules"]).into_iter().collect();
    let never: BTreeSet<String> = loaded
        .iter()
        .filter(|id| !rule_logs.contains_key(*id))
        .cloned()
        .collect();
    assert_eq!(dead, never);
    for noisy in strings(&stats["noisy_rules"]) {
        assert!(rule_logs.contains_key(&noisy), "{noisy} fired");
    }

    // Templates: most frequent first, each with an example in the corpus.
    let unexplained = stats["unexplained"].as_array().unwrap();
    assert!(!unexplained.is_empty());
    let counts: Vec<u64> = unexplained
        .iter()
        .map(|t| t["count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    for t in unexplained {
        let file = t["example"]["file"].as_str().unwrap();
        assert!(Path::new(file).starts_with(dir.path()), "{file}");
        assert!(t["example"]["line"].as_u64().unwrap() >= 1);
        assert!(t["logs"].as_u64().unwrap() <= t["count"].as_u64().unwrap());
    }
}

#[test]
fn templates_mask_what_changes_and_count_logs() {
    let dir = tempfile::tempdir().unwrap();
    for (name, id, n) in [
        ("a.log", "1f0e4c8a-0000-4000-8000-000000000001", 3),
        ("b.log", "9a9e4c8a-1111-4000-8000-00000000abcd", 7),
    ] {
        fs::write(
            dir.path().join(name),
            format!(
                "2024-01-15T03:08:33.1234567Z ##[error]Deployment {id} failed after {n} retries at https://example.invalid/x/{n}\nok\n2024-01-15T03:08:34.1234567Z ##[error]Deployment {id} failed after {n} retries at https://example.invalid/x/{n}\n"
            ),
        )
        .unwrap();
    }
    let stats = json_of(arm_kb().args(["stats", "--format", "json"]).arg(dir.path()));
    let t = &stats["unexplained"][0];
    assert_eq!(
        t["template"],
        "##[error]Deployment <guid> failed after <n> retries at <url>"
    );
    assert_eq!(
        (t["count"].as_u64(), t["logs"].as_u64()),
        (Some(4), Some(2))
    );
    assert!(t["example"]["file"].as_str().unwrap().ends_with("a.log"));
    assert_eq!(t["example"]["line"], 1);
    assert_eq!(stats["logs_with_errors"], 2);
}

#[test]
fn html_is_one_self_contained_page() {
    let dir = corpus_folder();
    fs::write(
        dir.path().join("hostile.log"),
        "##[error]<script>alert(1)</script> <img src=x onerror=alert(2)> <a href=\"https://evil.example/\">x</a> client_secret=abc1Q~0123456789abcdefghijklmnopqrstuv\n",
    )
    .unwrap();
    let out = arm_kb()
        .args(["stats", "--format", "html", "--suggest-rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"), "bar charts");
    let lower = html.to_ascii_lowercase();
    for forbidden in ["<script", "<link", "<img", "<iframe", "<object", "<embed"] {
        assert!(!lower.contains(forbidden), "{forbidden} in the page");
    }
    let style = &lower[lower.find("<style>").unwrap()..lower.find("</style>").unwrap()];
    assert!(
        !style.contains("url(") && !style.contains("@import"),
        "CSS from elsewhere"
    );
    // Every tag is one of the page's own, and links stay inside the page.
    const TAGS: [&str; 27] = [
        "!doctype",
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "h3",
        "div",
        "b",
        "p",
        "a",
        "table",
        "tr",
        "th",
        "td",
        "code",
        "ul",
        "li",
        "dl",
        "dt",
        "dd",
        "pre",
        "figure",
        "figcaption",
    ];
    const SVG: [&str; 4] = ["svg", "g", "rect", "text"];
    for tag in lower.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap();
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap();
        assert!(TAGS.contains(&name) || SVG.contains(&name), "<{tag}>");
        assert!(!tag.contains("src="), "<{tag}>");
        if let Some(at) = tag.find("href=") {
            assert!(
                tag[at + 5..].starts_with("\"#"),
                "a link outside the page: <{tag}>"
            );
        }
    }
    assert!(
        html.contains("href=\"#example-1\""),
        "templates link to their example"
    );
    assert!(html.contains("id=\"example-1\""));
    assert!(!html.contains("abc1Q~"), "secrets are masked");
    assert!(html.contains("&lt;script&gt;"));
}

#[test]
fn text_markdown_and_drafts() {
    let dir = corpus_folder();
    let text = arm_kb()
        .args(["stats", "--suggest-rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.starts_with("arm-kb stats: "), "{text}");
    for section in [
        "Articles",
        "Rules",
        "Dead rules",
        "Noisy rules",
        "Unexplained error lines",
        "Draft rules",
    ] {
        assert!(text.contains(section), "{section}");
    }
    assert!(text.contains("[[rule]]") && text.contains("id = \"todo.unexplained-1\""));

    let md = arm_kb()
        .args(["stats", "--format", "markdown"])
        .arg(dir.path())
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.starts_with("# arm-kb stats: "));
    assert!(md.contains("| article | title | logs | top finding |"));
    assert!(md.contains("| lines | logs | template | example |"));

    // The JSON keys are fixed: drafts do not go there.
    arm_kb()
        .args(["stats", "--format", "json", "--suggest-rules"])
        .arg(dir.path())
        .assert()
        .code(2);
}

#[test]
fn an_unreadable_input_is_named_and_the_rest_still_counted() {
    let dir = corpus_folder();
    let out = arm_kb()
        .args(["stats", "--format", "json"])
        .arg(dir.path().join("no-such.log"))
        .arg(dir.path().join("tenant-not-found.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.log"));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["logs"], 1);
    assert_eq!(stats["logs_with_findings"], 1);
}

#[test]
fn standard_input_is_one_log() {
    let out = arm_kb()
        .args(["stats", "--format", "json"])
        .write_stdin("##[error]Something odd 42\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["logs"], 1);
    assert_eq!(
        stats["unexplained"][0]["template"],
        "##[error]Something odd <n>"
    );
    assert_eq!(stats["unexplained"][0]["example"]["file"], "-");
}

#[test]
fn a_runs_zip_is_read_as_match_reads_it() {
    // The Download-logs zip: a folder per job, one member gzipped, one in UTF-16 (Windows
    // PowerShell 5.1), both read as logs of their own.
    let dir = tempfile::tempdir().unwrap();
    let expired = b"##[error]AADSTS7000222: The provided client secret keys for app '1b7d5a2e-0000-4000-8000-000000000001' are expired.\n";
    let archive = zip(&[
        ("Build/2_Deploy.txt.gz", &gzip(expired)),
        (
            "Release/3_Script.txt",
            &utf16le(
                "##[error]AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.\r\n",
                true,
            ),
        ),
    ]);
    let path = dir.path().join("logs_42.zip");
    fs::write(&path, archive).unwrap();
    let out = Output::of(arm_kb().args(["stats", "--format", "json"]).arg(&path));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let stats = out.json();
    assert_eq!(stats["logs"], 2);
    assert_eq!(stats["logs_with_findings"], 2);
    let articles: Vec<&str> = stats["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["article"].as_str().unwrap())
        .collect();
    assert!(articles.contains(&"sp-secret-expired"), "{articles:?}");
    assert!(
        articles.contains(&"service-principal-not-found"),
        "{articles:?}"
    );
}
