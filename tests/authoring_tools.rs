//! `arm-kb test`, `arm-kb explain` and `arm-kb new` as an author uses them.

use std::fs;
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;

const ARTICLE: &str = "+++\ntitle = \"App missing\"\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Fix\n\n1. Find {app_id}.\n";

const RULES: &str = r#"[[rule]]
id = "team.app-missing"
article = "app-missing"
keywords = ["AADSTS700016"]
patterns = ['''AADSTS700016: Application with identifier '(?P<app_id>[^']+)' was not found''']
unless = ['guest tenant']
examples = ["AADSTS700016: Application with identifier 'abc' was not found in the directory"]
counterexamples = ["AADSTS700016: Application with identifier 'abc' was not found in the guest tenant"]

[[rule]]
id = "team.broken-examples"
article = "app-missing"
patterns = ['Deployment failed for (?P<site>\w+)']
examples = ["Deployment failed", "Deployment failed for web1"]
counterexamples = ["Deployment failed for web2"]

[[rule.example]]
text = "Deployment failed for web3"
captures = { site = "web4" }

[[rule]]
id = "team.window"
article = "app-missing"
all = ['Starting deployment', 'Deployment aborted']
window = 3
unless = ['dry run']
examples = ["Starting deployment\nDeployment aborted"]
"#;

/// A folder with a knowledge root `team/` holding the files above.
fn team_root() -> TempDir {
    let dir = TempDir::new().unwrap();
    fs::create_dir_all(dir.path().join("team/kb")).unwrap();
    fs::create_dir_all(dir.path().join("team/rules")).unwrap();
    fs::write(dir.path().join("team/kb/app-missing.md"), ARTICLE).unwrap();
    fs::write(dir.path().join("team/rules/app-missing.toml"), RULES).unwrap();
    dir
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` without colour.
fn run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = crate::util::arm_kb();
    cmd.current_dir(dir).args(["--color", "never"]).args(args);
    for var in ["ARM_KB_PATH", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"] {
        cmd.env_remove(var);
    }
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_vec());
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

// ---- test ----

#[test]
fn test_reports_each_failure_and_a_summary() {
    let dir = team_root();
    let r = run(dir.path(), &["--no-builtin", "--kb", "team", "test"], None);
    assert_eq!(r.code, 1, "{}", r.stderr);
    insta::assert_snapshot!("test_failures", r.stdout);
}

#[test]
fn test_runs_a_subset_by_rule_id() {
    let dir = team_root();
    let r = run(
        dir.path(),
        &[
            "--no-builtin",
            "--kb",
            "team",
            "test",
            "team.app-missing",
            "team.window",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.starts_with("running 3 examples of 2 rules\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.ends_with("test result: ok. 3 passed, 0 failed\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn test_unknown_rule_id_exits_2_with_suggestions() {
    let dir = team_root();
    let r = run(
        dir.path(),
        &["--no-builtin", "--kb", "team", "test", "team.app-misisng"],
        None,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("no rule `team.app-misisng`; did you mean `team.app-missing`?"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn test_passes_on_the_builtin_knowledge_base() {
    let dir = TempDir::new().unwrap();
    let r = run(dir.path(), &["test"], None);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains(" passed, 0 failed\n"), "{}", r.stdout);
}

// ---- explain ----

#[test]
fn explain_handles_crlf_ansi_and_invalid_bytes_from_stdin() {
    let dir = team_root();
    let log: &[u8] = b"setup\r\n\x1b[31m##[error]AADSTS700016: Application with identifier 'c2d6' was not found\x1b[0m\r\n\xff\xfe AADSTS700016 in a binary line\r\nAADSTS700016: Application with identifier 'x' was not found in the guest tenant\r\nApplication with identifier 'y' was not found\r\n";
    let r = run(
        dir.path(),
        &[
            "--no-builtin",
            "--kb",
            "team",
            "explain",
            "team.app-missing",
        ],
        Some(log),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("explain_patterns", r.stdout);
}

#[test]
fn explain_a_window_that_fails() {
    let dir = team_root();
    // Too far apart twice (in either order), then close enough but vetoed.
    let log = "Starting deployment\n1\n2\n3\n4\nDeployment aborted\n5\n6\n7\n8\nStarting deployment\ndry run only\nDeployment aborted\n";
    fs::write(dir.path().join("job.log"), log).unwrap();
    let r = run(
        dir.path(),
        &[
            "--no-builtin",
            "--kb",
            "team",
            "explain",
            "team.window",
            "job.log",
        ],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    insta::assert_snapshot!("explain_window", r.stdout);
}

#[test]
fn explain_says_when_a_rule_has_no_keywords() {
    let dir = TempDir::new().unwrap();
    fs::create_dir_all(dir.path().join("team/kb")).unwrap();
    fs::create_dir_all(dir.path().join("team/rules")).unwrap();
    fs::write(dir.path().join("team/kb/app-missing.md"), ARTICLE).unwrap();
    fs::write(
        dir.path().join("team/rules/a.toml"),
        "[[rule]]\nid = \"team.digits\"\narticle = \"app-missing\"\npatterns = ['\\d{3}-\\d{4}']\n",
    )
    .unwrap();
    let r = run(
        dir.path(),
        &["--no-builtin", "--kb", "team", "explain", "team.digits"],
        Some(b"a\ncall 555-1234\nb\n"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("keywords: none: every line is a candidate"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("line 2: call 555-1234"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("2 other line(s) were tried and nothing of the rule matched them"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with("fires on 1 line (2)\n"), "{}", r.stdout);
}

#[test]
fn explain_unknown_rule_exits_2() {
    let dir = team_root();
    let r = run(
        dir.path(),
        &["--no-builtin", "--kb", "team", "explain", "team.windw"],
        Some(b""),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `team.window`"),
        "{}",
        r.stderr
    );
}

// ---- new ----

#[test]
fn new_article_is_created_once_and_passes_check_with_only_todo_warnings() {
    let dir = TempDir::new().unwrap();
    let r = run(
        dir.path(),
        &["--kb", "team", "new", "article", "my-problem"],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let path = dir.path().join("team/kb/my-problem.md");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("+++\n# The title users see"), "{text}");

    let r = run(
        dir.path(),
        &["--no-builtin", "--kb", "team", "check", "--format", "json"],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["unused-article", "unfinished"]);

    // A second run refuses and leaves the file alone.
    fs::write(&path, "edited").unwrap();
    let r = run(
        dir.path(),
        &["--kb", "team", "new", "article", "my-problem"],
        None,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("already exists; not overwriting it"),
        "{}",
        r.stderr
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "edited");
}

#[test]
fn new_rule_from_a_log_line_passes_test_and_matches_the_log() {
    let dir = TempDir::new().unwrap();
    let log = "2024-05-01T10:00:00.1000000Z Starting: AzureCLI\n\
               2024-05-01T10:00:03.5000000Z ##[error]AADSTS700016: Application with identifier 'c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19' was not found in the directory 'Contoso'. See https://aka.ms/x (trace 7).\r\n";
    fs::write(dir.path().join("job.log"), log).unwrap();
    let r = run(
        dir.path(),
        &[
            "--kb",
            "team",
            "new",
            "rule",
            "team.sp-missing",
            "--article",
            "service-principal-not-found",
            "--from-log",
            "job.log",
            "--line",
            "2",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = fs::read_to_string(
        dir.path()
            .join("team/rules/service-principal-not-found.toml"),
    )
    .unwrap();
    insta::assert_snapshot!("new_rule_from_log", text);

    let r = run(
        dir.path(),
        &["--kb", "team", "test", "team.sp-missing"],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("2 passed, 0 failed"), "{}", r.stdout);

    let r = run(
        dir.path(),
        &["--kb", "team", "match", "--format", "json", "job.log"],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let evidence = &report["findings"][0]["evidence"][0];
    assert_eq!(
        report["findings"][0]["article"],
        "service-principal-not-found"
    );
    assert_eq!(
        evidence["captures"]["app_id"],
        "c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19"
    );
}

#[test]
fn new_rule_appends_and_refuses_an_id_the_root_has() {
    let dir = team_root();
    let path = dir.path().join("team/rules/app-missing.toml");
    let r = run(
        dir.path(),
        &[
            "--kb",
            "team",
            "new",
            "rule",
            "team.second",
            "--article",
            "app-missing",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(RULES), "the existing rules are kept");
    assert!(text.contains("id = \"team.second\""), "{text}");

    let r = run(
        dir.path(),
        &[
            "--kb",
            "team",
            "new",
            "rule",
            "team.window",
            "--article",
            "app-missing",
            "--file",
            "other",
        ],
        None,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("rule `team.window` already exists in this root"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("team/rules/other.toml").exists());
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn new_rule_for_an_unknown_article_suggests_ids() {
    let dir = TempDir::new().unwrap();
    let r = run(
        dir.path(),
        &[
            "--kb",
            "team",
            "new",
            "rule",
            "team.x",
            "--article",
            "sp-secret-expird",
        ],
        None,
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean `sp-secret-expired`?"),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("team/rules").exists());
}

#[test]
fn explain_points_out_lines_the_keywords_hide() {
    let dir = TempDir::new().unwrap();
    fs::create_dir_all(dir.path().join("team/kb")).unwrap();
    fs::create_dir_all(dir.path().join("team/rules")).unwrap();
    fs::write(dir.path().join("team/kb/app-missing.md"), ARTICLE).unwrap();
    fs::write(
        dir.path().join("team/rules/a.toml"),
        "[[rule]]\nid = \"team.install\"\narticle = \"app-missing\"\nkeywords = [\"deploy\"]\npatterns = ['install failed']\n",
    )
    .unwrap();
    let r = run(
        dir.path(),
        &["--no-builtin", "--kb", "team", "explain", "team.install"],
        Some(b"the install failed\n"),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("line 1: the install failed\n  pattern 1 would match, but no keyword is on this line\n  → skipped by the prefilter: add a keyword this line contains"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.ends_with("result: `team.install` does not fire\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn explain_and_match_agree_on_lines_with_control_strings_and_stray_controls() {
    let dir = TempDir::new().unwrap();
    fs::create_dir_all(dir.path().join("team/kb")).unwrap();
    fs::create_dir_all(dir.path().join("team/rules")).unwrap();
    fs::write(dir.path().join("team/kb/app-missing.md"), ARTICLE).unwrap();
    fs::write(
        dir.path().join("team/rules/a.toml"),
        "[[rule]]\nid = \"team.ab\"\narticle = \"app-missing\"\nkeywords = [\"start\"]\npatterns = ['start:ab$']\n",
    )
    .unwrap();
    // A DCS string, and a C0 byte inside a CSI: a terminal shows `start:ab` for both.
    for log in [&b"start:a\x1bPqq\x1b\\b\n"[..], b"start:a\x1b[1\x01mb\n"] {
        let explain = run(
            dir.path(),
            &["--no-builtin", "--kb", "team", "explain", "team.ab"],
            Some(log),
        );
        let matched = run(
            dir.path(),
            &["--no-builtin", "--kb", "team", "match", "--format", "json"],
            Some(log),
        );
        assert_eq!(explain.code, 0, "{}", explain.stdout);
        assert_eq!(matched.code, 0, "{}", matched.stdout);
        assert!(explain.stdout.contains("→ fires"), "{}", explain.stdout);
        assert!(
            explain
                .stdout
                .ends_with("result: `team.ab` fires on 1 line (1)\n"),
            "{}",
            explain.stdout
        );
    }
}
