//! `arm-kb check`: the diagnostics an author sees for each kind of mistake (snapshots of
//! small roots made here), exit codes, JSON output, and the built-in knowledge base passing.

use std::fs;
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

const GOOD_ARTICLE: &str =
    "+++\ntitle = \"A\"\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Fix\n\n1. z\n";

/// A folder holding a knowledge root `team/` with the given files.
fn root(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    for (path, text) in files {
        let path = dir.path().join("team").join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

/// Runs `arm-kb check` in `dir` (so file names are short and stable) without colour.
fn check(dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut cmd = crate::util::arm_kb();
    cmd.current_dir(dir)
        .args(["--color", "never", "check"])
        .args(extra);
    for var in ["ARM_KB_PATH", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"] {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().expect("exited normally"),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// Checks the root `team` alone; returns the exit code and the report.
fn check_team(files: &[(&str, &str)]) -> (i32, String) {
    let dir = root(files);
    check(dir.path(), &["--no-builtin", "--kb", "team"])
}

fn codes(report: &Value) -> Vec<&str> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect()
}

#[test]
fn rule_file_format_errors() {
    let (code, out) = check_team(&[
        ("kb/a.md", GOOD_ARTICLE),
        (
            "rules/a.toml",
            "[[rule]]\nid = \"team.unknown-field\"\narticle = \"a\"\npattern = ['AADSTS1']\n\n\
             [[rule]]\nid = \"team.wrong-type\"\narticle = \"a\"\npatterns = 'AADSTS2'\n\n\
             [[rule]]\nid = \"team.both\"\narticle = \"a\"\npatterns = ['AADSTS3']\nall = ['AADSTS4']\n\n\
             [[rule]]\nid = \"team.neither\"\narticle = \"a\"\n\n\
             [[rule]]\nid = \"team.path\"\narticle = \"../a\"\npatterns = ['AADSTS5']\n",
        ),
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("rule_file_format_errors", out);
}

#[test]
fn toml_syntax_error() {
    let (code, out) = check_team(&[
        ("kb/a.md", GOOD_ARTICLE),
        ("rules/a.toml", "[[rule]]\nid = \"team.x\narticle = \"a\"\n"),
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("toml_syntax_error", out);
}

#[test]
fn regex_errors_point_inside_the_pattern() {
    let (code, out) = check_team(&[
        ("kb/a.md", GOOD_ARTICLE),
        (
            "rules/a.toml",
            "[[rule]]\nid = \"team.unclosed\"\narticle = \"a\"\npatterns = ['AADSTS(7000222']\n\n\
             [[rule]]\nid = \"team.too-big\"\narticle = \"a\"\nkeywords = [\"x\"]\npatterns = ['x\\w{2000}\\w{2000}']\n",
        ),
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("regex_errors", out);
}

#[test]
fn unknown_article_suggests_the_nearest_ids() {
    let (code, out) = check_team(&[
        ("kb/sp-secret-expired.md", GOOD_ARTICLE),
        (
            "rules/a.toml",
            "[[rule]]\nid = \"team.x\"\narticle = \"sp-secret-expird\"\npatterns = ['AADSTS7000222']\n",
        ),
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("unknown_article", out);
}

#[test]
fn duplicate_ids_are_errors_in_a_root_and_notes_across_roots() {
    let dir = root(&[
        ("kb/a.md", GOOD_ARTICLE),
        (
            "rules/a.toml",
            "[[rule]]\nid = \"team.x\"\narticle = \"a\"\npatterns = ['AADSTS1']\n",
        ),
        (
            "rules/b.toml",
            "[[rule]]\nid = \"team.x\"\narticle = \"a\"\npatterns = ['AADSTS2']\n",
        ),
    ]);
    fs::create_dir_all(dir.path().join("later/rules")).unwrap();
    fs::write(
        dir.path().join("later/rules/x.toml"),
        "[[rule]]\nid = \"team.x\"\narticle = \"a\"\npatterns = ['AADSTS3']\n",
    )
    .unwrap();
    let (code, out) = check(
        dir.path(),
        &["--no-builtin", "--kb", "team", "--kb", "later"],
    );
    assert_eq!(code, 1);
    insta::assert_snapshot!("duplicate_ids", out);
}

#[test]
fn article_errors() {
    let (code, out) = check_team(&[
        ("kb/no-front-matter.md", "# Title\n\n## Symptoms\n"),
        (
            "kb/no-title.md",
            "+++\ntags = [\"x\"]\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Fix\n\n1. z\n",
        ),
        (
            "kb/no-sections.md",
            "+++\ntitle = \"T\"\n+++\n\n## Symptoms\n\nx\n",
        ),
        (
            "kb/unknown-field.md",
            "+++\ntitle = \"T\"\ntag = [\"x\"]\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Fix\n\n1. z\n",
        ),
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("article_errors", out);
}

#[test]
fn failing_examples_counterexamples_and_captures() {
    let (code, out) = check_team(&[
        (
            "kb/a.md",
            "+++\ntitle = \"A\"\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Fix\n\n1. Reset {app_id}.\n",
        ),
        (
            "rules/a.toml",
            r#"[[rule]]
id = "team.secret"
article = "a"
patterns = ['AADSTS7000222: .* app (?P<app_id>\S+) expired']
examples = ["AADSTS7000222: keys for app 42 expired", "AADSTS7000222 without the rest"]
counterexamples = ["AADSTS7000222: keys for app 43 expired long ago"]

[[rule.example]]
text = "AADSTS7000222: keys for app 44 expired"
captures = { app_id = "45" }
"#,
        ),
    ]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("example_failures", out);
}

#[test]
fn warnings_do_not_fail_unless_denied() {
    let files: &[(&str, &str)] = &[
        (
            "kb/a.md",
            "+++\ntitle = \"A\"\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Fix\n\n1. Reset {app_id} in {tenant_id}.\n",
        ),
        ("kb/b.md", GOOD_ARTICLE),
        ("kb/unused.md", GOOD_ARTICLE),
        (
            "kb/background.md",
            "+++\ntitle = \"Background\"\ntags = [\"reference\"]\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Fix\n\n1. z\n",
        ),
        (
            "rules/a.toml",
            r#"[[rule]]
id = "team.generic"
article = "a"
patterns = ['app (?P<app_id>\d+) failed']
examples = ["app 42 failed"]

[[rule]]
id = "team.same-rank"
article = "b"
patterns = ['app \d+ failed']
examples = ["app 7 failed badly"]

[[rule]]
id = "team.specific"
article = "b"
priority = 90
patterns = ['app 42 failed']
examples = ["app 42 failed"]

[[rule]]
id = "team.no-literal"
article = "b"
patterns = ['\d{3}\s\w+']
examples = ["123 abc"]
"#,
        ),
    ];
    let (code, out) = check_team(files);
    assert_eq!(code, 0, "{out}");
    insta::assert_snapshot!("warnings", out);

    let dir = root(files);
    let (code, _) = check(
        dir.path(),
        &["--no-builtin", "--kb", "team", "--deny-warnings"],
    );
    assert_eq!(code, 1);
}

#[test]
fn json_report_for_ci() {
    let dir = root(&[
        ("kb/a.md", GOOD_ARTICLE),
        (
            "rules/a.toml",
            "[[rule]]\nid = \"team.x\"\narticle = \"a\"\npattern = ['AADSTS1']\n\n\
             [[rule]]\nid = \"team.y\"\narticle = \"a\"\npatterns = ['\\d+x']\nexamples = ['1x']\n",
        ),
    ]);
    let (code, out) = check(
        dir.path(),
        &["--no-builtin", "--kb", "team", "--format", "json"],
    );
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["errors"], 1);
    assert_eq!(report["warnings"], 1);
    assert_eq!(codes(&report), ["unknown-field", "no-prefilter"]);
    let first = &report["diagnostics"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "team/rules/a.toml");
    assert_eq!(first["line"], 4);
    assert_eq!(first["column"], 1);
    assert_eq!(first["hint"], "did you mean `patterns`?");
}

#[test]
fn unreadable_root_exits_2() {
    let dir = TempDir::new().unwrap();
    let (code, out) = check(dir.path(), &["--kb", "missing"]);
    assert_eq!(code, 2);
    assert!(out.contains("cannot read knowledge root"), "{out}");
}

#[test]
fn builtin_knowledge_base_is_clean() {
    let dir = TempDir::new().unwrap();
    let (code, out) = check(dir.path(), &["--deny-warnings", "--format", "json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(codes(&report), Vec::<&str>::new());
    assert_eq!(code, 0);
}

#[test]
fn a_team_root_is_checked_together_with_the_builtin_one() {
    // A team rule for a built-in article, overlapping a built-in rule of another article
    // at the same rank, is reported against the built-in rule it collides with.
    let dir = root(&[(
        "rules/team.toml",
        r#"[[rule]]
id = "team.secret"
article = "tenant-mismatch"
severity = "error"
priority = 90
patterns = ['AADSTS7000222']
examples = ["AADSTS7000222: The provided client secret keys for app '***' are expired."]
"#,
    )]);
    let (code, out) = check(dir.path(), &["--kb", "team", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(codes(&report), ["ambiguous-rules"]);
    let message = report["diagnostics"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("`sp-secret-expired.aadsts7000222`"),
        "{message}"
    );
}
