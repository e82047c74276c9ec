//! `arm-kb search`: `--limit 0`, `--explain`, rules first for a pasted error, synonyms and
//! questions from a team root, and `check` on both.

use std::fs;
use std::path::Path;

use serde_json::Value;

fn arm_kb(args: &[&str]) -> (i32, String) {
    let out = crate::util::arm_kb()
        .env_remove("ARM_KB_PATH")
        .args(args)
        .output()
        .expect("arm-kb runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn limit_zero_prints_nothing_and_exits_1() {
    assert_eq!(
        arm_kb(&["search", "--limit", "0", "secret expired"]),
        (1, String::new())
    );
    let (code, out) = arm_kb(&["search", "--limit", "0", "--format", "json", "secret"]);
    assert_eq!(code, 1);
    assert_eq!(json(&out)["hits"].as_array().map(Vec::len), Some(0));
}

#[test]
fn explain_says_which_fields_and_terms_matched() {
    let (code, out) = arm_kb(&["search", "--format", "json", "client secret expired"]);
    assert_eq!(code, 0);
    assert!(json(&out)["hits"][0].get("explain").is_none(), "{out}");

    let (code, out) = arm_kb(&[
        "search",
        "--explain",
        "--format",
        "json",
        "client secret expired",
    ]);
    assert_eq!(code, 0);
    let hit = &json(&out)["hits"][0];
    let explain = &hit["explain"];
    let matches = explain["matches"].as_array().expect("matches");
    assert!(!matches.is_empty(), "{out}");
    let sum: f64 = matches.iter().map(|m| m["score"].as_f64().unwrap()).sum();
    let score = hit["score"].as_f64().unwrap();
    assert!((sum - score).abs() < 0.01 * score, "{sum} vs {score}");
    assert!(matches.iter().any(|m| m["kind"] == "phrase"), "{out}");
    for m in matches {
        assert!(m["field"].is_string() && m["terms"].is_string(), "{m}");
    }

    let (_, text) = arm_kb(&[
        "search",
        "--explain",
        "--color",
        "never",
        "client secret expired",
    ]);
    assert!(text.contains("    score "), "{text}");
    assert!(text.contains("title: "), "{text}");
}

#[test]
fn a_pasted_error_ranks_the_article_of_its_rule_first() {
    let error =
        "Task fails with \"AADSTS50079: The user is required to use multi-factor authentication.\"";
    let (code, out) = arm_kb(&["search", "--explain", "--format", "json", error]);
    assert_eq!(code, 0);
    let hits = json(&out)["hits"].as_array().unwrap().clone();
    assert_eq!(hits[0]["article"], "conditional-access-mfa", "{out}");
    assert!(!hits[0]["explain"]["rules"].as_array().unwrap().is_empty());
    assert!(hits.len() > 1, "the other hits follow: {out}");
}

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const ARTICLE: &str = "+++\ntitle = \"Zebrafoo gateway refuses the token\"\nquestions = [\n  \"why does the quarkle portal reject my pipeline\",\n]\n+++\n## Symptoms\nThe zebrafoo gateway says no.\n## Cause\nx\n## Fix\n1. y\n";

#[test]
fn a_team_root_brings_synonyms_and_questions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "kb/zebrafoo-gateway.md", ARTICLE);
    write(
        root,
        "kb/synonyms.toml",
        "[[group]]\nterms = [\"quux box\", \"zebrafoo\"]\n",
    );
    let kb = root.to_str().unwrap();
    let first = |query: &str| {
        let (_, out) = arm_kb(&[
            "--no-builtin",
            "--kb",
            kb,
            "search",
            "--format",
            "json",
            query,
        ]);
        json(&out)["hits"][0]["article"].as_str().map(str::to_owned)
    };
    assert_eq!(first("quux box").as_deref(), Some("zebrafoo-gateway"));
    assert_eq!(first("quarkle portal").as_deref(), Some("zebrafoo-gateway"));
    assert_eq!(
        first("quux").as_deref(),
        None,
        "a multi-word term matches as a phrase"
    );
    let (code, _) = arm_kb(&["--no-builtin", "--kb", kb, "check"]);
    assert_eq!(code, 0);
}

#[test]
fn check_reports_bad_synonyms_and_questions_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "kb/zebrafoo-gateway.md",
        &ARTICLE.replace(
            "  \"why does the quarkle portal reject my pipeline\",\n",
            "  \"why does the quarkle portal reject my pipeline\",\n  \"Why does the quarkle  portal reject my pipeline\",\n  \"\",\n",
        ),
    );
    write(
        root,
        "kb/synonyms.toml",
        "[[group]]\nterms = [\"msi\", \"managed identity\"]\n\n[[group]]\nterms = []\n\n[[group]]\nterms = [\"MSI\", \"uami\"]\n",
    );
    let kb = root.to_str().unwrap();
    let (code, out) = arm_kb(&["--no-builtin", "--kb", kb, "check", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let found: Vec<(String, String)> = json(&out)["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let file = d["file"].as_str().unwrap_or_default();
            let name = Path::new(file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                d["code"].as_str().unwrap().to_owned(),
                format!("{name}:{}:{}", d["line"], d["column"]),
            )
        })
        .collect();
    for want in [
        ("duplicate-question", "zebrafoo-gateway.md:5:3"),
        ("empty-question", "zebrafoo-gateway.md:6:3"),
        ("empty-synonym-group", "synonyms.toml:4:1"),
        ("synonym-in-two-groups", "synonyms.toml:8:10"),
    ] {
        assert!(
            found.iter().any(|(c, l)| c == want.0 && l == want.1),
            "{want:?} not in {found:?}"
        );
    }
}
