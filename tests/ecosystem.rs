//! What arm-kb offers the tools around it: JUnit and SARIF reports, man pages, shell
//! completions, the configuration file, the terminal layout.

use std::fs;
use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

const ARTICLE: &str = "+++\ntitle = \"App missing\"\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Fix\n\nImportant: check the tenant first.\n\n1. Find {app_id} in the directory of the tenant that the connection names, then compare it with the one in the log.\n2. Ask an Owner of {scope}.\n\nIf that fails, open a ticket.\n";

const RULES: &str = r#"[[rule]]
id = "team.app-missing"
article = "app-missing"
keywords = ["AADSTS700016"]
patterns = ['''AADSTS700016: Application with identifier '(?P<app_id>[^']+)' was not found''']
examples = ["AADSTS700016: Application with identifier 'abc' was not found in the directory"]
counterexamples = ["AADSTS700016: Application with identifier was not found \u001b[31m<&>\u0001"]

[[rule]]
id = "team.other"
article = "app-missing"
patterns = ['Deployment failed for (?P<site>\w+)']
examples = ["Deployment failed", "Deployment failed for web1"]
"#;

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

fn command(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("arm-kb").unwrap();
    cmd.current_dir(dir);
    for var in [
        "ARM_KB_PATH",
        "ARM_KB_CONFIG",
        "ARM_KB_WIDTH",
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn finish(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    finish(command(dir).args(["--color", "never"]).args(args))
}

// ---- JUnit ----

/// Every test case of a JUnit document: (classname, name, failure message).
fn junit_cases(xml: &str) -> Vec<(String, String, Option<String>)> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let mut cases = Vec::new();
    let mut tests = 0;
    let mut failures = 0;
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        let suite_cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let suite_failures = suite_cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .count();
        assert_eq!(
            suite.attribute("tests").unwrap(),
            suite_cases.len().to_string()
        );
        assert_eq!(
            suite.attribute("failures").unwrap(),
            suite_failures.to_string()
        );
        tests += suite_cases.len();
        failures += suite_failures;
        for case in suite_cases {
            let failure = case
                .children()
                .find(|n| n.has_tag_name("failure"))
                .map(|f| f.attribute("message").unwrap().to_owned());
            cases.push((
                case.attribute("classname").unwrap().to_owned(),
                case.attribute("name").unwrap().to_owned(),
                failure,
            ));
        }
    }
    assert_eq!(root.attribute("tests").unwrap(), tests.to_string());
    assert_eq!(root.attribute("failures").unwrap(), failures.to_string());
    cases
}

#[test]
fn test_junit_has_one_case_per_example_and_the_failures() {
    let dir = team_root();
    let r = run(
        dir.path(),
        &["--no-builtin", "--kb", "team", "test", "--format", "junit"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let cases = junit_cases(&r.stdout);
    assert_eq!(cases.len(), 4, "{cases:?}");
    let failed: Vec<_> = cases.iter().filter(|c| c.2.is_some()).collect();
    assert_eq!(failed.len(), 1, "{cases:?}");
    assert_eq!(failed[0].0, "team.other");
    assert_eq!(
        failed[0].2.as_deref(),
        Some("example did not fire the rule")
    );
    // The control characters of the counterexample do not break the XML.
    assert!(
        r.stdout.contains("\\u{1b}[31m&lt;&amp;&gt;\\u{1}"),
        "{}",
        r.stdout
    );
}

#[test]
fn check_junit_adds_the_other_problems() {
    let dir = team_root();
    fs::write(
        dir.path().join("team/rules/bad.toml"),
        "[[rule]]\nid = 'team.bad'\narticle = 'app-missing'\npatterns = ['(unclosed']\n",
    )
    .unwrap();
    let r = run(
        dir.path(),
        &["--no-builtin", "--kb", "team", "check", "--format", "junit"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let cases = junit_cases(&r.stdout);
    assert!(
        cases
            .iter()
            .any(|c| c.0 == "bad-regex" && c.2.as_deref().is_some_and(|m| m.contains("regex"))),
        "{cases:?}"
    );
    // The example that does not fire is one failed case, not two.
    let not_fired = cases
        .iter()
        .filter(|c| c.2.as_deref() == Some("example did not fire the rule"));
    assert_eq!(not_fired.count(), 1, "{cases:?}");
}

// ---- SARIF ----

#[test]
fn check_sarif_has_the_fields_code_scanning_needs() {
    let dir = team_root();
    fs::write(
        dir.path().join("team/rules/bad.toml"),
        "[[rule]]\nid = 'team.bad'\narticle = 'app-missing'\nkeyword = ['x']\npatterns = ['(unclosed']\n",
    )
    .unwrap();
    let r = run(
        dir.path(),
        &["--no-builtin", "--kb", "team", "check", "--format", "sarif"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let log: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run0 = &log["runs"][0];
    let driver = &run0["tool"]["driver"];
    assert_eq!(driver["name"], "arm-kb");
    let rules: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert!(!r["help"]["text"].as_str().unwrap().is_empty());
            assert!(!r["shortDescription"]["text"].as_str().unwrap().is_empty());
            r["id"].as_str().unwrap()
        })
        .collect();
    let results = run0["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let id = result["ruleId"].as_str().unwrap();
        assert!(rules.contains(&id), "{id} in {rules:?}");
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
    }
    let unknown = results
        .iter()
        .find(|r| r["ruleId"] == "unknown-field")
        .expect("the unknown field");
    let loc = &unknown["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "team/rules/bad.toml");
    assert_eq!(loc["region"]["startLine"], 4);
    assert_eq!(loc["region"]["startColumn"], 1);
}

// ---- test filters ----

#[test]
fn test_takes_a_root_and_id_patterns() {
    let dir = team_root();
    let r = run(dir.path(), &["test", "--root", "team"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("running 4 examples of 2 rules"),
        "{}",
        r.stdout
    );
    let r = run(dir.path(), &["--kb", "team", "test", "team.app-*"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("running 2 examples of 1 rule\n"),
        "{}",
        r.stdout
    );
    let r = run(dir.path(), &["--kb", "team", "test", "nothing.*"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no rule `nothing.*`"), "{}", r.stderr);
}

#[test]
fn no_builtin_without_a_root_is_an_error() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("a.log"), "AADSTS7000222\n").unwrap();
    let r = run(dir.path(), &["--no-builtin", "match", "a.log"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--no-builtin leaves no knowledge root"),
        "{}",
        r.stderr
    );
}

#[test]
fn new_article_with_a_builtin_id_asks_for_override() {
    let dir = TempDir::new().unwrap();
    let r = run(
        dir.path(),
        &["--kb", "team", "new", "article", "sp-secret-expired"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--override"), "{}", r.stderr);
    assert!(!dir.path().join("team/kb/sp-secret-expired.md").exists());
    let r = run(
        dir.path(),
        &[
            "--kb",
            "team",
            "new",
            "article",
            "sp-secret-expired",
            "--override",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(dir.path().join("team/kb/sp-secret-expired.md").exists());
}

// ---- man pages and completions ----

#[test]
fn man_has_a_page_per_subcommand() {
    let dir = TempDir::new().unwrap();
    let r = run(dir.path(), &["man", "--dir", "pages"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in [
        "arm-kb.1",
        "arm-kb-match.1",
        "arm-kb-check.1",
        "arm-kb-new-rule.1",
    ] {
        let text = fs::read_to_string(dir.path().join("pages").join(page)).unwrap();
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    let main = fs::read_to_string(dir.path().join("pages/arm-kb.1")).unwrap();
    for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"] {
        assert!(main.contains(section), "{section}");
    }
    let match_page = fs::read_to_string(dir.path().join("pages/arm-kb-match.1")).unwrap();
    assert!(match_page.contains("context"), "{match_page}");
    let joined = run(dir.path(), &["man"]).stdout;
    assert!(joined.matches(".TH").count() > 10);
}

fn bash_available() -> bool {
    Process::new("bash").arg("--version").output().is_ok()
}

/// Completes `line` (the words before the cursor, the last one being completed) in bash.
fn bash_complete(dir: &Path, bin: &Path, script: &str, words: &[&str]) -> Vec<String> {
    let script_path = dir.join("arm-kb.bash");
    fs::write(&script_path, script).unwrap();
    let bin_dir = bin.parent().unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_arm__kb arm-kb '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script_path.display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Process::new("bash")
        .arg("-c")
        .arg(program)
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env_remove("ARM_KB_PATH")
        .env_remove("ARM_KB_CONFIG")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_after_a_subcommand_and_completes_ids() {
    if !bash_available() {
        return;
    }
    let dir = team_root();
    let script = run(dir.path(), &["completions", "bash"]).stdout;
    let bin = assert_cmd::cargo::cargo_bin("arm-kb");
    let flags = bash_complete(dir.path(), &bin, &script, &["arm-kb", "match", "--fo"]);
    assert_eq!(flags, ["--format"]);
    let values = bash_complete(
        dir.path(),
        &bin,
        &script,
        &["arm-kb", "match", "--format", "js"],
    );
    assert_eq!(values, ["json", "jsonl"]);
    let articles = bash_complete(
        dir.path(),
        &bin,
        &script,
        &["arm-kb", "show", "sp-secret-ex"],
    );
    assert_eq!(articles, ["sp-secret-expired"]);
    let team = bash_complete(
        dir.path(),
        &bin,
        &script,
        &["arm-kb", "--kb", "team", "test", "team.app"],
    );
    assert_eq!(team, ["team.app-missing"]);
    let rules = bash_complete(
        dir.path(),
        &bin,
        &script,
        &["arm-kb", "explain", "sp-secret-expired.aad"],
    );
    assert!(
        !rules.is_empty() && rules.iter().all(|r| r.starts_with("sp-secret-expired.aad")),
        "{rules:?}"
    );
}

// ---- configuration file ----

#[test]
fn config_file_sets_roots_and_defaults_and_flags_win() {
    let dir = team_root();
    fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
    fs::write(
        dir.path().join(".arm-kb.toml"),
        "roots = [\"team\"]\nno_builtin = true\nformat = \"json\"\n",
    )
    .unwrap();
    let log = "AADSTS700016: Application with identifier 'abc' was not found in the directory\n";
    fs::write(dir.path().join("sub/deeper/a.log"), log).unwrap();
    // Found from a folder below, roots relative to the file, format json, no built-in.
    let r = run(&dir.path().join("sub/deeper"), &["match", "a.log"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["findings"][0]["article"], "app-missing");
    let r = run(
        &dir.path().join("sub/deeper"),
        &["list", "--format", "text"],
    );
    assert!(r.stdout.contains("app-missing"), "{}", r.stdout);
    assert!(!r.stdout.contains("sp-secret-expired"), "{}", r.stdout);
    // A flag wins over the file.
    let r = run(
        &dir.path().join("sub"),
        &["match", "--format", "text", "deeper/a.log"],
    );
    assert!(
        r.stdout.starts_with("error definite  App missing"),
        "{}",
        r.stdout
    );
    // --no-config ignores it: the built-in KB is back, the team root is gone.
    let r = run(&dir.path().join("sub"), &["--no-config", "list"]);
    assert!(r.stdout.contains("sp-secret-expired") && !r.stdout.contains("app-missing"));
    // ARM_KB_CONFIG names another file.
    fs::write(
        dir.path().join("other.toml"),
        "format = \"markdown\"\nroots = [\"team\"]\n",
    )
    .unwrap();
    let r = finish(
        command(&dir.path().join("sub"))
            .env("ARM_KB_CONFIG", dir.path().join("other.toml"))
            .args(["--color", "never", "match", "deeper/a.log"]),
    );
    assert!(r.stdout.starts_with("# arm-kb"), "{}", r.stdout);
}

#[test]
fn check_validates_the_config_file_and_other_commands_refuse_it() {
    let dir = team_root();
    fs::write(
        dir.path().join(".arm-kb.toml"),
        "roots = [\"team\"]\nformat = \"yaml\"\nno_builtins = true\n",
    )
    .unwrap();
    let r = run(dir.path(), &["check", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let diags: Vec<(String, String, u64, u64)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"] == ".arm-kb.toml")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["message"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
                d["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert_eq!(
        (diags[0].0.as_str(), diags[0].2, diags[0].3),
        ("wrong-type", 2, 10)
    );
    assert_eq!(
        (diags[1].0.as_str(), diags[1].2, diags[1].3),
        ("unknown-field", 3, 1)
    );
    let r = run(dir.path(), &["list"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(".arm-kb.toml:3:1"), "{}", r.stderr);
    let r = run(dir.path(), &["--no-config", "list"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

// ---- layout ----

#[test]
fn text_fits_the_width_and_keeps_fix_prose() {
    let dir = team_root();
    let long = format!(
        "AADSTS700016: Application with identifier 'abc' was not found in the directory {}\n",
        "x".repeat(200)
    );
    fs::write(dir.path().join("a.log"), long).unwrap();
    let r = finish(command(dir.path()).env("ARM_KB_WIDTH", "60").args([
        "--color",
        "never",
        "--no-builtin",
        "--kb",
        "team",
        "match",
        "a.log",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in r.stdout.lines() {
        assert!(line.chars().count() <= 60, "{line:?} in\n{}", r.stdout);
    }
    assert!(r.stdout.contains("…"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Important: check the tenant first."),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("If that fails, open a ticket."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("in 1 line ("), "{}", r.stdout);
    // In a pipe nothing is wrapped.
    let r = run(
        dir.path(),
        &["--no-builtin", "--kb", "team", "match", "a.log"],
    );
    assert!(
        r.stdout.lines().any(|l| l.chars().count() > 200),
        "{}",
        r.stdout
    );
}

#[test]
fn show_keeps_placeholders_that_look_like_tags() {
    let dir = team_root();
    let r = run(dir.path(), &["--kb", "team", "show", "app-missing"]);
    assert!(
        r.stdout.contains("Ask an Owner of <scope>."),
        "{}",
        r.stdout
    );
}
