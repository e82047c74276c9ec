//! The contract of the core commands (`match`, `search`, `show`, `list`), knowledge roots
//! and colour, as a user or a script sees it: exit codes, output shapes, messages.

use std::collections::BTreeSet;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

const SECRET_LOG: &str = "examples/secret-expired.log";
const SECRET_APP_ID: &str = "3f0c2a51-8d4e-4b7a-9c1e-52b7d0e4a9f1";
const WIF_LOG: &str = "tests/fixtures/wif-subject-powershell.log";

/// The binary, run from the crate root, with no colour or root settings from the caller's
/// environment leaking in.
fn arm_kb() -> Command {
    let mut cmd = crate::util::arm_kb();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for var in ["ARM_KB_PATH", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"] {
        cmd.env_remove(var);
    }
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().expect("exited normally, not by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", run.stdout))
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(items: &[&'a str]) -> BTreeSet<&'a str> {
    items.iter().copied().collect()
}

/// The article ids of `arm-kb list --format json`, in order.
fn listed_ids(json: &Value) -> Vec<&str> {
    json["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect()
}

fn articles_of(json: &Value) -> Vec<&str> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["article"].as_str().unwrap())
        .collect()
}

fn in_crate(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn has_ansi(s: &str) -> bool {
    s.contains("\x1b[")
}

// ---------------------------------------------------------------------------------------
// match

#[test]
fn match_secret_expired_text() {
    let r = run(arm_kb().args(["--color", "never", "match", SECRET_LOG]));
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    let first = r.stdout.lines().next().unwrap();
    assert!(
        first.contains("[sp-secret-expired]"),
        "top finding: {first}"
    );
    // Evidence lines carry their line numbers in the log.
    assert!(r.stdout.contains("\n    9: "), "{}", r.stdout);
    assert!(r.stdout.contains("\n    10: "), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("app_id={SECRET_APP_ID}")));
    // The fix names the app from the log instead of a placeholder.
    assert!(
        r.stdout
            .contains(&format!("az ad app credential reset --id {SECRET_APP_ID}"))
    );
    assert!(!r.stdout.contains("<app_id>"));
    assert!(!has_ansi(&r.stdout));
    insta::assert_snapshot!("match_secret_expired_text", r.stdout);
}

#[test]
fn match_secret_expired_json_shape() {
    let r = run(arm_kb().args(["match", "--format", "json", SECRET_LOG]));
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    let json = json_of(&r);
    // `suggestions` and `unexplained` only appear when asked for.
    assert_eq!(keys(&json), set(&["findings", "sources", "stats"]));
    assert_eq!(keys(&json["stats"]), set(&["bytes", "lines"]));
    let size = std::fs::metadata(in_crate(SECRET_LOG)).unwrap().len();
    assert_eq!(json["stats"]["bytes"], size);
    assert_eq!(json["stats"]["lines"], 12);

    let findings = json["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        assert_eq!(
            keys(f),
            set(&[
                "article",
                "confidence",
                "title",
                "severity",
                "source",
                "score",
                "rules",
                "evidence",
                "evidence_total",
                "fix"
            ])
        );
        assert!(f["article"].is_string() && f["title"].is_string());
        assert!(
            ["error", "warning", "info"].contains(&f["severity"].as_str().unwrap()),
            "{}",
            f["severity"]
        );
        assert!(f["score"].is_u64());
        assert!(f["rules"].as_array().unwrap().iter().all(Value::is_string));
        assert!(f["fix"].as_array().unwrap().iter().all(Value::is_string));
        let evidence = f["evidence"].as_array().unwrap();
        assert!(!evidence.is_empty());
        assert!(f["evidence_total"].as_u64().unwrap() >= evidence.len() as u64);
        for e in evidence {
            assert_eq!(keys(e), set(&["file", "line", "text", "rule", "captures"]));
            assert_eq!(e["file"], SECRET_LOG);
            assert!(e["line"].is_u64() && e["text"].is_string() && e["rule"].is_string());
            assert!(e["captures"].is_object());
        }
    }

    let top = &findings[0];
    assert_eq!(top["article"], "sp-secret-expired");
    assert_eq!(top["severity"], "error");
    let lines: Vec<u64> = top["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [9, 10]);
    assert_eq!(top["evidence"][0]["captures"]["app_id"], SECRET_APP_ID);
    assert!(
        top["evidence"][0]["text"]
            .as_str()
            .unwrap()
            .contains("AADSTS7000222")
    );
    let rules: Vec<&str> = top["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    // The article's own rules, its code and its catalog messages.
    assert!(
        rules.iter().all(|r| r.starts_with("sp-secret-expired.")
            || *r == "code.sp-secret-expired"
            || r.starts_with("catalog.")),
        "{rules:?}"
    );
    let fix = top["fix"].as_array().unwrap();
    assert!(
        fix.iter()
            .any(|s| s.as_str().unwrap().contains(SECRET_APP_ID)),
        "fix does not name the app: {fix:?}"
    );
    insta::assert_snapshot!("match_secret_expired_json", r.stdout);
}

#[test]
fn match_wif_failure_with_generic_wrapper() {
    let text = run(arm_kb().args(["--color", "never", "match", WIF_LOG]));
    assert_eq!(text.code, 0, "stderr: {}", text.stderr);
    insta::assert_snapshot!("match_wif_wrapper_text", text.stdout);

    let r = run(arm_kb().args(["match", "--format", "json", WIF_LOG]));
    assert_eq!(r.code, 0);
    let json = json_of(&r);
    assert_eq!(articles_of(&json)[0], "wif-no-matching-federated-identity");
    let evidence = &json["findings"][0]["evidence"][0];
    assert_eq!(evidence["line"], 11);
    assert_eq!(evidence["captures"]["code"], "AADSTS700213");
    assert_eq!(
        evidence["captures"]["subject"],
        "sc://woodgrove/Payments/payments-prod-arm"
    );
    insta::assert_snapshot!("match_wif_wrapper_json", r.stdout);
}

#[test]
fn match_reads_stdin_like_a_file() {
    let from_file = json_of(&run(
        arm_kb().args(["match", "--format", "json", SECRET_LOG])
    ));
    let log = std::fs::read(in_crate(SECRET_LOG)).unwrap();
    for args in [
        &["match", "--format", "json"][..],
        &["match", "--format", "json", "-"],
    ] {
        let r = run(arm_kb().args(args).write_stdin(log.clone()));
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        let from_stdin = json_of(&r);
        assert_eq!(articles_of(&from_stdin), articles_of(&from_file));
        assert_eq!(from_stdin["stats"], from_file["stats"]);
        for (a, b) in from_stdin["findings"]
            .as_array()
            .unwrap()
            .iter()
            .zip(from_file["findings"].as_array().unwrap())
        {
            for (ea, eb) in a["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .zip(b["evidence"].as_array().unwrap())
            {
                assert_eq!(ea["line"], eb["line"]);
                assert_eq!(ea["captures"], eb["captures"]);
                assert_ne!(ea["file"], SECRET_LOG, "stdin is not the file");
            }
        }
    }
}

#[test]
fn match_without_finding_exits_1() {
    let log = "2025-01-01T00:00:00Z npm ci\n2025-01-01T00:00:05Z added 812 packages\n";
    let r = run(arm_kb()
        .args(["--color", "never", "match"])
        .write_stdin(log));
    assert_eq!(r.code, 1, "stdout: {}", r.stdout);
    assert!(r.stdout.contains("no finding"), "{}", r.stdout);
    assert!(r.stderr.is_empty(), "{}", r.stderr);

    let r = run(arm_kb()
        .args(["match", "--format", "json"])
        .write_stdin(log));
    assert_eq!(r.code, 1);
    let json = json_of(&r);
    assert_eq!(json["findings"], serde_json::json!([]));
    assert_eq!(json["stats"]["lines"], 2);
}

#[test]
fn match_empty_input_exits_1() {
    let r = run(arm_kb().args(["match", "--format", "json"]).write_stdin(""));
    assert_eq!(r.code, 1);
    assert_eq!(
        json_of(&r)["stats"],
        serde_json::json!({"bytes": 0, "lines": 0})
    );
}

#[test]
fn match_missing_file_exits_2_but_scans_the_others() {
    let missing = "no/such/dir/pipeline.log";
    let r = run(arm_kb().args(["match", "--format", "json", missing, SECRET_LOG]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(missing), "stderr: {}", r.stderr);
    let json = json_of(&r);
    assert_eq!(articles_of(&json)[0], "sp-secret-expired");

    let r = run(arm_kb().args(["--color", "never", "match", SECRET_LOG, missing]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains(missing));
    assert!(r.stdout.contains("[sp-secret-expired]"));
}

#[test]
fn match_several_files_names_them_in_evidence() {
    let other = "tests/fixtures/corpus/tenant-not-found.log";
    let r = run(arm_kb().args(["--color", "never", "match", SECRET_LOG, other]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!("== {SECRET_LOG} (2 findings)")) && r.stdout.contains("    9: "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("== {other} (1 finding)")),
        "{}",
        r.stdout
    );

    let json = json_of(&run(
        arm_kb().args(["match", "--format", "json", SECRET_LOG, other])
    ));
    let mut files = BTreeSet::new();
    for f in json["findings"].as_array().unwrap() {
        for e in f["evidence"].as_array().unwrap() {
            files.insert(e["file"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        files,
        [SECRET_LOG.to_owned(), other.to_owned()]
            .into_iter()
            .collect()
    );
    let articles = articles_of(&json);
    assert!(articles.contains(&"sp-secret-expired"));
    assert!(articles.contains(&"tenant-mismatch"));
    // Statistics add up over the inputs.
    let lines = std::fs::read_to_string(in_crate(other))
        .unwrap()
        .lines()
        .count();
    assert_eq!(json["stats"]["lines"], 12 + lines as u64);
}

#[test]
fn threads_change_nothing_but_the_number_of_workers() {
    // Many files, so several workers really share them; the report is the same (input
    // order, same evidence) with one worker and with several.
    let files: Vec<String> = std::fs::read_dir(in_crate("tests/fixtures/corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .map(|p| p.strip_prefix(in_crate("")).unwrap().display().to_string())
        .collect();
    assert!(files.len() >= 10, "{files:?}");
    let report = |threads: &str| {
        let r = run(arm_kb()
            .args(["match", "--format", "json", "-j", threads])
            .args(&files));
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let one = report("1");
    assert_eq!(report("2"), one);
    assert_eq!(report("7"), one);
    let zero = run(arm_kb().args(["match", "-j", "0", SECRET_LOG]));
    assert_eq!(zero.code, 2);
    assert!(zero.stderr.contains("--threads"), "{}", zero.stderr);
}

// ---------------------------------------------------------------------------------------
// --suggest and --unexplained

/// An error line that no rule knows, about a topic the knowledge base covers.
const UNKNOWN_ERROR_LOG: &str = "2025-01-01T00:00:00Z Starting deployment\n\
2025-01-01T00:00:01Z ##[error]The federated credential on the managed identity does not accept tokens from this project\n\
2025-01-01T00:00:02Z Finishing deployment\n";

#[test]
fn suggestions_are_separate_from_findings() {
    // JSON: no suggestions unless asked for.
    let r = run(arm_kb()
        .args(["match", "--format", "json"])
        .write_stdin(UNKNOWN_ERROR_LOG));
    assert_eq!(r.code, 1);
    assert_eq!(keys(&json_of(&r)), set(&["findings", "sources", "stats"]));

    let r = run(arm_kb()
        .args(["match", "--format", "json", "--suggest"])
        .write_stdin(UNKNOWN_ERROR_LOG));
    // A suggestion is not a finding: the exit status still says "nothing found".
    assert_eq!(r.code, 1);
    let json = json_of(&r);
    assert_eq!(json["findings"], serde_json::json!([]));
    let suggestions = json["suggestions"].as_array().unwrap();
    assert!(!suggestions.is_empty());
    for s in suggestions {
        assert_eq!(keys(s), set(&["article", "title", "score"]));
    }
    let ids: Vec<&str> = suggestions
        .iter()
        .map(|s| s["article"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"wif-no-matching-federated-identity"),
        "suggestions: {ids:?}"
    );

    // Text suggests by default, under its own heading; --no-suggest turns it off.
    let r = run(arm_kb()
        .args(["--color", "never", "match"])
        .write_stdin(UNKNOWN_ERROR_LOG));
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("Possibly related"), "{}", r.stdout);
    assert!(r.stdout.contains("wif-no-matching-federated-identity"));
    let r = run(arm_kb()
        .args(["--color", "never", "match", "--no-suggest"])
        .write_stdin(UNKNOWN_ERROR_LOG));
    assert_eq!(r.code, 1);
    assert!(!r.stdout.contains("Possibly related"), "{}", r.stdout);
}

#[test]
fn suggestions_stay_out_when_a_rule_matched() {
    let r = run(arm_kb().args(["match", "--format", "json", "--suggest", SECRET_LOG]));
    assert_eq!(r.code, 0);
    let json = json_of(&r);
    assert_eq!(articles_of(&json)[0], "sp-secret-expired");
    assert_eq!(json["suggestions"], serde_json::json!([]));
}

#[test]
fn unexplained_lists_error_lines_no_rule_explains() {
    let r = run(arm_kb()
        .args(["match", "--format", "json", "--unexplained"])
        .write_stdin(UNKNOWN_ERROR_LOG));
    assert_eq!(r.code, 1);
    let json = json_of(&r);
    assert_eq!(json["findings"], serde_json::json!([]));
    assert_eq!(json["unexplained"]["total"], 1);
    let lines = json["unexplained"]["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["line"], 2);
    assert!(
        lines[0]["text"]
            .as_str()
            .unwrap()
            .contains("federated credential")
    );

    // Lines a rule explains are not listed.
    let r = run(arm_kb().args(["match", "--format", "json", "--unexplained", SECRET_LOG]));
    assert_eq!(r.code, 0);
    let json = json_of(&r);
    assert_eq!(json["unexplained"]["total"], 0);

    let r = run(arm_kb()
        .args(["--color", "never", "match", "--unexplained", "--no-suggest"])
        .write_stdin(UNKNOWN_ERROR_LOG));
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("no rule explains"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("2: 2025-01-01T00:00:01Z ##［error]The federated")
    );
}

// ---------------------------------------------------------------------------------------
// search

#[test]
fn search_json_shape_and_limit() {
    let r = run(arm_kb().args(["search", "--format", "json", "secret", "expired"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let json = json_of(&r);
    assert_eq!(keys(&json), set(&["hits"]));
    let hits = json["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 5, "default limit");
    assert_eq!(hits[0]["article"], "sp-secret-expired");
    let mut last = f64::INFINITY;
    for h in hits {
        assert_eq!(keys(h), set(&["article", "title", "score", "snippet"]));
        assert!(h["article"].is_string() && h["title"].is_string());
        assert!(!h["snippet"].as_str().unwrap().is_empty());
        let score = h["score"].as_f64().unwrap();
        assert!(score <= last, "hits are best first");
        last = score;
    }

    let r = run(arm_kb().args([
        "search",
        "--format",
        "json",
        "--limit",
        "2",
        "secret expired",
    ]));
    assert_eq!(json_of(&r)["hits"].as_array().unwrap().len(), 2);
}

#[test]
fn search_text_and_exit_codes() {
    let r = run(arm_kb().args(["--color", "never", "search", "--limit", "1", "AADSTS700213"]));
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.starts_with("wif-no-matching-federated-identity "),
        "{}",
        r.stdout
    );

    let r = run(arm_kb().args(["search", "zzqx", "wibblefrotz"]));
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("no article matches"), "{}", r.stdout);
    let r = run(arm_kb().args(["search", "--format", "json", "zzqx"]));
    assert_eq!(r.code, 1);
    assert_eq!(json_of(&r), serde_json::json!({"hits": []}));

    // A query is required; a usage error is exit 2.
    let r = run(arm_kb().args(["search"]));
    assert_eq!(r.code, 2);
    assert!(!r.stderr.is_empty());
}

// ---------------------------------------------------------------------------------------
// show

#[test]
fn show_text_and_markdown() {
    let r = run(arm_kb().args(["--color", "never", "show", "sp-secret-expired"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("Service principal client secret has expired")
    );
    assert!(r.stdout.contains("Fix"));
    assert!(!r.stdout.contains("+++"), "front matter is not shown as is");
    // Outside `match` there is no captured value: placeholders read as <name>.
    assert!(r.stdout.contains("<app_id>"), "{}", r.stdout);

    let r = run(arm_kb().args(["show", "--format", "markdown", "sp-secret-expired"]));
    assert_eq!(r.code, 0);
    let source = std::fs::read_to_string(in_crate("kb/sp-secret-expired.md")).unwrap();
    // The source as written, with runner command openings made inert.
    let inert = arm_kb::neutralize::output(arm_kb::neutralize::Mode::Text, &source);
    assert_eq!(r.stdout, inert);
    assert!(!r.stdout.contains("##["), "{}", r.stdout);
}

#[test]
fn show_unknown_id_suggests_the_closest() {
    let r = run(arm_kb().args(["show", "sp-secret-expird"]));
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("sp-secret-expird"), "{}", r.stderr);
    assert!(r.stderr.contains("`sp-secret-expired`"), "{}", r.stderr);

    let r = run(arm_kb().args(["show", "tenant-mismatsh"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("`tenant-mismatch`"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------
// list

#[test]
fn list_text_and_json() {
    let r = run(arm_kb().args(["--color", "never", "list"]));
    assert_eq!(r.code, 0);
    let articles = std::fs::read_dir(in_crate("kb"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "md")
        })
        .count();
    assert!(
        r.stdout.contains(&format!("{articles} articles")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("sp-secret-expired "))
    );

    let r = run(arm_kb().args(["list", "--format", "json"]));
    assert_eq!(r.code, 0);
    let json = json_of(&r);
    assert_eq!(keys(&json), set(&["articles"]));
    let list = json["articles"].as_array().unwrap();
    assert_eq!(list.len(), articles);
    for a in list {
        assert_eq!(keys(a), set(&["id", "title", "tags", "rules"]));
        assert!(a["id"].is_string() && a["title"].is_string());
        assert!(a["tags"].as_array().unwrap().iter().all(Value::is_string));
        assert!(a["rules"].as_array().unwrap().iter().all(Value::is_string));
    }
    let secret = list
        .iter()
        .find(|a| a["id"] == "sp-secret-expired")
        .unwrap();
    assert!(
        secret["rules"]
            .as_array()
            .unwrap()
            .contains(&Value::from("sp-secret-expired.aadsts7000222"))
    );
}

#[test]
fn list_rules() {
    let r = run(arm_kb().args(["--color", "never", "list", "--rules"]));
    assert_eq!(r.code, 0);
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("sp-secret-expired.aadsts7000222 "))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(line.contains("error"), "{line}");
    assert!(line.ends_with("sp-secret-expired"), "{line}");
    assert!(r.stdout.trim_end().ends_with(" rules"));
}

// ---------------------------------------------------------------------------------------
// knowledge roots

/// A root with one article (`widget-quota`) and one rule that captures `tenant`.
fn widget_root() -> TempDir {
    let dir = TempDir::new().unwrap();
    write(
        dir.path(),
        "kb/widget-quota.md",
        "+++\n\
         title = \"Widget quota exceeded\"\n\
         tags = [\"widget\", \"quota\"]\n\
         summary = \"The widget service refused more widgets.\"\n\
         +++\n\n\
         ## Symptoms\n\n`WIDGET-429: quota exceeded for {tenant}`\n\n\
         ## Cause\n\nToo many widgets.\n\n\
         ## Fix\n\n1. Raise the widget quota of {tenant}.\n2. Run the job again.\n",
    );
    write(
        dir.path(),
        "rules/widget.toml",
        "[[rule]]\n\
         id = \"widget-quota.code\"\n\
         article = \"widget-quota\"\n\
         priority = 60\n\
         patterns = ['WIDGET-429: quota exceeded for (?P<tenant>\\w+)']\n\
         examples = [\"WIDGET-429: quota exceeded for acme\"]\n",
    );
    dir
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const WIDGET_LOG: &str = "step 1\n##[error]WIDGET-429: quota exceeded for acme\n";

#[test]
fn kb_flag_adds_a_root_to_the_builtin_one() {
    let root = widget_root();
    let r = run(arm_kb()
        .args(["--color", "never", "--kb"])
        .arg(root.path())
        .args(["match"])
        .write_stdin(WIDGET_LOG));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("[widget-quota]"));
    assert!(
        r.stdout.contains("1. Raise the widget quota of acme."),
        "{}",
        r.stdout
    );

    // The built-in articles are still there.
    let r = run(arm_kb()
        .arg("--kb")
        .arg(root.path())
        .args(["list", "--format", "json"]));
    let json = json_of(&r);
    let ids = listed_ids(&json);
    assert!(ids.contains(&"widget-quota") && ids.contains(&"sp-secret-expired"));

    // Without the root, the built-in knowledge base doesn't know widgets.
    let r = run(arm_kb().args(["match"]).write_stdin(WIDGET_LOG));
    assert_eq!(r.code, 1);
}

#[test]
fn no_builtin_drops_the_builtin_root() {
    let root = widget_root();
    let r = run(arm_kb()
        .args(["--no-builtin", "--kb"])
        .arg(root.path())
        .args(["list", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let json = json_of(&r);
    let ids = listed_ids(&json);
    assert_eq!(ids, ["widget-quota"]);

    let r = run(arm_kb()
        .args(["--no-builtin", "--kb"])
        .arg(root.path())
        .args(["match", SECRET_LOG]));
    assert_eq!(r.code, 1, "{}", r.stdout);
}

#[test]
fn a_later_root_overrides_an_article_and_a_rule_by_id() {
    let root = TempDir::new().unwrap();
    write(
        root.path(),
        "kb/sp-secret-expired.md",
        "+++\ntitle = \"Team playbook: expired secret\"\n+++\n\n\
         ## Symptoms\n\nThe sign-in fails.\n\n## Cause\n\nThe secret is old.\n\n\
         ## Fix\n\n1. Ask the platform team to rotate the secret of {app_id}.\n",
    );
    // Same id as a built-in rule: replaces it (now it only knows a team-specific marker).
    write(
        root.path(),
        "rules/override.toml",
        "[[rule]]\n\
         id = \"sp-secret-expired.aadsts7000222\"\n\
         article = \"sp-secret-expired\"\n\
         priority = 95\n\
         patterns = ['TEAM-SECRET-OLD app=(?P<app_id>[0-9a-f-]+)']\n",
    );
    let r = run(arm_kb()
        .args(["--kb"])
        .arg(root.path())
        .args(["match", "--format", "json", SECRET_LOG]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let json = json_of(&r);
    let top = &json["findings"][0];
    assert_eq!(top["article"], "sp-secret-expired");
    assert_eq!(top["title"], "Team playbook: expired secret");
    // The built-in AADSTS7000222 rule is gone: line 9 is no evidence any more, the other
    // built-in rule of the article still fires on line 10.
    let rules: Vec<&str> = top["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    // (The article's code and catalog messages are rules of their own and still fire.)
    assert!(
        !rules.contains(&"sp-secret-expired.aadsts7000222"),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"sp-secret-expired.secret-expired-link"),
        "{rules:?}"
    );
    assert_eq!(top["fix"].as_array().unwrap().len(), 1);

    let r = run(arm_kb()
        .args(["--kb"])
        .arg(root.path())
        .args(["match", "--format", "json"])
        .write_stdin("TEAM-SECRET-OLD app=0a1b2c3d-0000-4000-8000-000000000001\n"));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let top = &json_of(&r)["findings"][0];
    assert_eq!(
        top["rules"],
        serde_json::json!(["sp-secret-expired.aadsts7000222"])
    );
    assert_eq!(
        top["fix"][0],
        "Ask the platform team to rotate the secret of 0a1b2c3d-0000-4000-8000-000000000001."
    );
}

#[test]
fn arm_kb_path_adds_roots_before_the_kb_flags() {
    let widgets = widget_root();
    let other = TempDir::new().unwrap();
    write(
        other.path(),
        "kb/gadget-offline.md",
        "+++\ntitle = \"Gadget offline\"\n+++\n\n## Symptoms\n\nGADGET-DOWN\n\n\
         ## Cause\n\nThe gadget is off.\n\n## Fix\n\n1. Turn the gadget on.\n",
    );
    let path = format!("{}:{}", widgets.path().display(), other.path().display());
    let r =
        run(arm_kb()
            .env("ARM_KB_PATH", &path)
            .args(["--no-builtin", "list", "--format", "json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let json = json_of(&r);
    let ids: BTreeSet<&str> = listed_ids(&json).into_iter().collect();
    assert_eq!(ids, set(&["gadget-offline", "widget-quota"]));

    // A --kb root comes after the ARM_KB_PATH roots, so it wins an override.
    let later = TempDir::new().unwrap();
    write(
        later.path(),
        "kb/widget-quota.md",
        "+++\ntitle = \"Widget quota (local notes)\"\n+++\n\n## Symptoms\n\nx\n\n\
         ## Cause\n\ny\n\n## Fix\n\n1. Follow the local runbook.\n",
    );
    let r = run(arm_kb()
        .env("ARM_KB_PATH", &path)
        .args(["--no-builtin", "--kb"])
        .arg(later.path())
        .args(["match", "--format", "json"])
        .write_stdin(WIDGET_LOG));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        json_of(&r)["findings"][0]["title"],
        "Widget quota (local notes)"
    );
}

/// Runs `match` with a root holding one bad rule file; returns stderr.
fn bad_rule(text: &str) -> String {
    let root = TempDir::new().unwrap();
    write(root.path(), "rules/bad.toml", text);
    let r = run(arm_kb()
        .args(["--color", "never", "--kb"])
        .arg(root.path())
        .args(["match", SECRET_LOG]));
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stdout.is_empty(),
        "no findings from a broken knowledge base"
    );
    r.stderr
}

#[test]
fn bad_rule_files_fail_with_file_line_column() {
    let toml_error = bad_rule(
        "[[rule]]\nid = \"team.broken\"\narticle = \"sp-secret-expired\"\npatterns = [\"x\"\n",
    );
    assert!(toml_error.contains("rules/bad.toml:4:"), "{toml_error}");

    let regex_error = bad_rule(
        "[[rule]]\nid = \"team.regex\"\narticle = \"sp-secret-expired\"\npatterns = [\"(unclosed\"]\n",
    );
    assert!(regex_error.contains("rules/bad.toml:4:14"), "{regex_error}");
    assert!(regex_error.contains("unclosed group"), "{regex_error}");

    let unknown_article = bad_rule(
        "[[rule]]\nid = \"team.orphan\"\narticle = \"no-such-article\"\npatterns = [\"x\"]\n",
    );
    assert!(
        unknown_article.contains("rules/bad.toml:3:11"),
        "{unknown_article}"
    );
    assert!(
        unknown_article.contains("no-such-article"),
        "{unknown_article}"
    );

    let duplicate = bad_rule(
        "[[rule]]\nid = \"team.twice\"\narticle = \"sp-secret-expired\"\npatterns = [\"x\"]\n\n\
         [[rule]]\nid = \"team.twice\"\narticle = \"sp-secret-expired\"\npatterns = [\"y\"]\n",
    );
    assert!(duplicate.contains("rules/bad.toml:7:6"), "{duplicate}");
    assert!(duplicate.contains("team.twice"), "{duplicate}");
}

#[test]
fn a_bad_root_breaks_every_command_that_loads_it() {
    let root = TempDir::new().unwrap();
    write(
        root.path(),
        "rules/bad.toml",
        "[[rule]]\nid = \"team.regex\"\narticle = \"sp-secret-expired\"\npatterns = [\"[z-a]\"]\n",
    );
    for args in [
        &["list"][..],
        &["search", "secret"],
        &["show", "sp-secret-expired"],
    ] {
        arm_kb()
            .arg("--kb")
            .arg(root.path())
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("bad.toml:4:"));
    }
}

// ---------------------------------------------------------------------------------------
// colour

#[test]
fn colour_follows_the_flag_and_no_color() {
    let always = run(arm_kb().args(["--color", "always", "match", SECRET_LOG]));
    assert_eq!(always.code, 0);
    assert!(has_ansi(&always.stdout));
    let never = run(arm_kb().args(["--color", "never", "match", SECRET_LOG]));
    assert!(!has_ansi(&never.stdout));
    // Same text once the styling is removed.
    assert_eq!(
        String::from_utf8(strip_ansi_escapes::strip(&always.stdout)).unwrap(),
        never.stdout
    );

    // `auto` on a pipe: plain.
    let piped = run(arm_kb().args(["match", SECRET_LOG]));
    assert!(!has_ansi(&piped.stdout));
    // Forcing colour on a pipe works, unless NO_COLOR is set.
    let forced = run(arm_kb()
        .env("CLICOLOR_FORCE", "1")
        .args(["match", SECRET_LOG]));
    assert!(has_ansi(&forced.stdout));
    let no_color = run(arm_kb()
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .args(["match", SECRET_LOG]));
    assert!(!has_ansi(&no_color.stdout));

    // JSON is never styled.
    let json = run(arm_kb().args(["--color", "always", "match", "--format", "json", SECRET_LOG]));
    assert!(!has_ansi(&json.stdout));
    json_of(&json);

    // Other commands follow the same switch.
    for args in [&["list"][..], &["search", "secret expired"]] {
        let r = run(arm_kb().args(["--color", "always"]).args(args));
        assert!(has_ansi(&r.stdout), "{args:?}");
        let r = run(arm_kb().args(["--color", "never"]).args(args));
        assert!(!has_ansi(&r.stdout), "{args:?}");
    }
}

#[test]
fn diagnostics_are_coloured_only_when_asked() {
    let root = TempDir::new().unwrap();
    write(
        root.path(),
        "rules/bad.toml",
        "[[rule]]\nid = \"team.orphan\"\narticle = \"no-such-article\"\npatterns = [\"x\"]\n",
    );
    let plain = run(arm_kb().arg("--kb").arg(root.path()).arg("list"));
    assert_eq!(plain.code, 2);
    assert!(!has_ansi(&plain.stderr), "{}", plain.stderr);
    let coloured = run(arm_kb()
        .args(["--color", "always", "--kb"])
        .arg(root.path())
        .arg("list"));
    assert_eq!(coloured.code, 2);
    assert!(has_ansi(&coloured.stderr));
}
