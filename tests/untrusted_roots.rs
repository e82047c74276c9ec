//! Knowledge roots from elsewhere (`--kb`, `ARM_KB_PATH`) are untrusted input: a rule
//! cannot make arm-kb read files outside the root, links that leave the root are not
//! followed, and oversized or pathological files and regexes are clear errors, never a
//! crash, a hang or an out-of-memory.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arm_kb::rules::load_rule_file;
use arm_kb::source::SourceFile;
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const PANIC_EXIT: i32 = 101;

fn article_text(title: &str) -> String {
    format!(
        "+++\ntitle = \"{title}\"\n+++\n\n## Symptoms\nIt fails.\n\n## Cause\nA cause.\n\n## Fix\n1. Fix it.\n"
    )
}

/// A knowledge root in a temporary folder.
struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    fn new() -> Root {
        let root = Root {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir(root.path().join("kb")).unwrap();
        fs::create_dir(root.path().join("rules")).unwrap();
        root
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn article(&self, id: &str, title: &str) -> PathBuf {
        let path = self.path().join("kb").join(format!("{id}.md"));
        fs::write(&path, article_text(title)).unwrap();
        path
    }

    fn rules(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join("rules").join(name);
        fs::write(&path, text).unwrap();
        path
    }

    /// `arm-kb --no-builtin --kb ROOT ARGS...`
    fn arm_kb(&self, args: &[&str]) -> Command {
        let mut cmd = crate::util::arm_kb();
        cmd.env_remove("ARM_KB_PATH")
            .env("NO_COLOR", "1")
            .arg("--no-builtin")
            .arg("--kb")
            .arg(self.path())
            .args(args)
            .timeout(Duration::from_secs(60));
        cmd
    }
}

/// Runs and returns (exit code, stdout, stderr), failing on a panic.
fn run(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().expect("arm-kb runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().expect("arm-kb exits normally");
    assert_ne!(code, PANIC_EXIT, "arm-kb panicked: {stderr}");
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

fn listed_ids(stdout: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(stdout).expect("list prints JSON");
    v["articles"]
        .as_array()
        .expect("articles is a list")
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_article_reference_is_an_id_never_a_path() {
    let root = Root::new();
    // A valid article just outside the root: a path-like reference must not reach it.
    let outside = root.path().parent().unwrap().join("outside-article.md");
    fs::write(&outside, article_text("Outside")).unwrap();
    root.article("inside", "Inside");
    let references = [
        "../../etc/passwd",
        "/etc/passwd",
        "../outside-article",
        "kb/inside",
        "inside.md",
        "..",
        "",
        "Inside",
        "inside/../inside",
    ];
    let mut text = String::new();
    for (i, reference) in references.iter().enumerate() {
        text.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\narticle = '{reference}'\npatterns = ['boom']\n\n"
        ));
    }
    let rules = root.rules("paths.toml", &text);
    let (code, _, stderr) = run(root.arm_kb(&["match", "-"]));
    fs::remove_file(&outside).unwrap();
    assert_eq!(code, 2, "{stderr}");
    for (i, reference) in references.iter().enumerate() {
        assert!(
            stderr.contains(&format!("`{reference}` is not an article id")),
            "`{reference}` accepted: {stderr}"
        );
        // Each rejection points at the reference: file, line and column.
        let line = 3 + 5 * i;
        assert!(
            stderr.contains(&format!("{}:{line}:11", rules.display())),
            "no position for `{reference}`: {stderr}"
        );
    }
}

#[test]
fn show_takes_an_id_never_a_path() {
    let root = Root::new();
    root.article("inside", "Inside");
    for query in [
        "../../../../etc/passwd",
        "/etc/passwd",
        "kb/inside.md",
        "inside.md",
    ] {
        let (code, stdout, stderr) = run(root.arm_kb(&["show", query]));
        assert_eq!(code, 2, "{query}: {stdout}");
        assert!(stdout.is_empty(), "{query}: {stdout}");
        assert!(stderr.contains("no article"), "{query}: {stderr}");
    }
}

#[test]
fn an_article_file_whose_name_is_not_an_id_is_refused() {
    let root = Root::new();
    root.article("fine", "Fine");
    let bad = root.article("Bad Name", "Bad");
    let (code, _, stderr) = run(root.arm_kb(&["list", "--format", "json"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`Bad Name` is not a valid article id"),
        "{stderr}"
    );
    assert!(stderr.contains(&bad.display().to_string()), "{stderr}");
}

#[cfg(unix)]
#[test]
fn links_that_leave_the_root_are_not_followed() {
    use std::os::unix::fs::symlink;
    let root = Root::new();
    let outside = tempfile::tempdir().unwrap();
    let leaked_article = outside.path().join("leaked.md");
    fs::write(&leaked_article, article_text("Leaked")).unwrap();
    let leaked_rules = outside.path().join("leaked.toml");
    fs::write(
        &leaked_rules,
        "[[rule]]\nid = \"leaked\"\narticle = \"inside\"\npatterns = ['boom']\n",
    )
    .unwrap();
    // Links that stay inside the root are fine.
    fs::create_dir(root.path().join("shared")).unwrap();
    fs::write(root.path().join("shared/alias.md"), article_text("Alias")).unwrap();
    symlink("../shared/alias.md", root.path().join("kb/alias.md")).unwrap();
    root.article("inside", "Inside");
    symlink(&leaked_article, root.path().join("kb/leaked.md")).unwrap();
    symlink(&leaked_rules, root.path().join("rules/leaked.toml")).unwrap();
    // A relative link climbing out of the root is the same escape.
    let relative = format!(
        "../../{}/leaked.md",
        outside.path().file_name().unwrap().to_string_lossy()
    );
    symlink(&relative, root.path().join("kb/climb.md")).unwrap();

    let (code, stdout, stderr) = run(root.arm_kb(&["list", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(listed_ids(&stdout), ["alias", "inside"]);
    for link in ["kb/leaked.md", "rules/leaked.toml"] {
        let shown = root.path().join(link).display().to_string();
        assert!(stderr.contains(&shown), "no warning names {link}: {stderr}");
    }
    assert_eq!(
        stderr
            .matches("not following a link that leaves the knowledge root")
            .count(),
        3,
        "{stderr}"
    );
    let (code, _, _) = run(root.arm_kb(&["list", "--rules", "--format", "json"]));
    assert_eq!(code, 0);
    let (code, stdout, _) = run(root.arm_kb(&["show", "leaked"]));
    assert_eq!(code, 2, "{stdout}");
}

#[cfg(unix)]
#[test]
fn a_kb_folder_that_is_a_link_out_of_the_root_is_not_followed() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    fs::create_dir(outside.path().join("kb")).unwrap();
    fs::write(outside.path().join("kb/leaked.md"), article_text("Leaked")).unwrap();
    let root = tempfile::tempdir().unwrap();
    symlink(outside.path().join("kb"), root.path().join("kb")).unwrap();
    let (code, stdout, stderr) = run({
        let mut cmd = crate::util::arm_kb();
        cmd.env_remove("ARM_KB_PATH")
            .args(["--no-builtin", "--kb"])
            .arg(root.path())
            .args(["list", "--format", "json"]);
        cmd
    });
    assert_eq!(code, 0, "{stderr}");
    assert!(listed_ids(&stdout).is_empty(), "{stdout}");
    assert!(stderr.contains("leaves the knowledge root"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_root_reached_through_a_link_still_loads() {
    use std::os::unix::fs::symlink;
    let root = Root::new();
    root.article("inside", "Inside");
    let links = tempfile::tempdir().unwrap();
    let link = links.path().join("kb-root");
    symlink(root.path(), &link).unwrap();
    let mut cmd = crate::util::arm_kb();
    cmd.env_remove("ARM_KB_PATH")
        .args(["--no-builtin", "--kb"])
        .arg(&link)
        .args(["list", "--format", "json"]);
    let (code, stdout, stderr) = run(cmd);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(listed_ids(&stdout), ["inside"]);
}

#[cfg(unix)]
#[test]
fn a_link_loop_is_an_error_naming_the_file() {
    use std::os::unix::fs::symlink;
    let root = Root::new();
    root.article("inside", "Inside");
    let looped = root.path().join("rules/loop.toml");
    symlink("loop.toml", &looped).unwrap();
    let (code, _, stderr) = run(root.arm_kb(&["list"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&looped.display().to_string()), "{stderr}");
}

/// A rule file holding one rule with `pattern`, for the regex-limit tests.
fn rule_with_pattern(pattern: &str) -> String {
    format!(
        "[[rule]]\nid = \"limit\"\narticle = \"inside\"\nkeywords = [\"boom\"]\npatterns = ['''{pattern}''']\n"
    )
}

/// Patterns that would take huge amounts of memory (or time) to compile.
const HUGE_PATTERNS: [&str; 4] = [
    "(a{1000}){1000}",
    r"\w{5000}",
    r"[\p{L}\p{N}]{2000}(?:x|y){100}",
    r"(?:\w+\s+\w+){500}",
];

#[test]
fn huge_regexes_are_a_clear_error_not_an_out_of_memory() {
    for pattern in HUGE_PATTERNS {
        let source = SourceFile::new("rules/huge.toml", rule_with_pattern(pattern));
        let mut diags = Vec::new();
        let rules = load_rule_file(&source, &mut diags);
        assert!(diags.is_empty(), "{pattern}: {diags:?}");
        let started = Instant::now();
        let err = rules[0]
            .compiled()
            .expect_err(&format!("{pattern} compiled"));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{pattern}: {:?}",
            started.elapsed()
        );
        assert_eq!(err.code, "bad-regex");
        assert!(
            err.message.contains("too big"),
            "{pattern}: {}",
            err.message
        );
        assert_eq!(
            err.span.as_ref().unwrap().location(),
            "rules/huge.toml:5:13"
        );
    }
}

#[test]
fn a_huge_regex_met_while_matching_fails_the_run_with_its_position() {
    let root = Root::new();
    root.article("inside", "Inside");
    let rules = root.rules("huge.toml", &rule_with_pattern(HUGE_PATTERNS[0]));
    let mut cmd = root.arm_kb(&["match", "-"]);
    cmd.write_stdin("ok\nboom aaaa\n");
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("too big"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:5:13", rules.display())),
        "{stderr}"
    );
}

#[test]
fn deeply_nested_regexes_are_refused_at_load() {
    let pattern = format!("{}boom{}", "(".repeat(200), ")".repeat(200));
    let root = Root::new();
    root.article("inside", "Inside");
    let rules = root.rules("nested.toml", &rule_with_pattern(&pattern));
    let (code, _, stderr) = run(root.arm_kb(&["list"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("bad-regex"), "{stderr}");
    assert!(stderr.contains("nest"), "{stderr}");
    assert!(stderr.contains(&rules.display().to_string()), "{stderr}");
}

#[test]
fn deeply_nested_toml_is_an_error_not_a_stack_overflow() {
    let root = Root::new();
    let depth = 100_000;
    let arrays = format!("x = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let tables = format!("x = {}1{}\n", "{a=".repeat(depth), "}".repeat(depth));
    let rules_a = root.rules("arrays.toml", &arrays);
    let rules_t = root.rules("tables.toml", &tables);
    let article = root.path().join("kb/deep.md");
    fs::write(
        &article,
        format!(
            "+++\ntitle = \"Deep\"\n{tables}+++\n\n## Symptoms\ns\n## Cause\nc\n## Fix\n1. f\n"
        ),
    )
    .unwrap();
    let (code, _, stderr) = run(root.arm_kb(&["list"]));
    assert_eq!(code, 2, "{stderr}");
    for path in [rules_a, rules_t, article] {
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    }
}

#[test]
fn files_over_4_mib_are_refused_with_a_message() {
    let root = Root::new();
    root.article("inside", "Inside");
    let mut padded =
        String::from("[[rule]]\nid = \"big\"\narticle = \"inside\"\npatterns = ['boom']\n");
    while padded.len() <= 4 << 20 {
        padded.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let big_rules = root.rules("big.toml", &padded);
    let big_article = root.path().join("kb/big.md");
    fs::write(&big_article, article_text("Big") + &"x".repeat(4 << 20)).unwrap();
    let (code, _, stderr) = run(root.arm_kb(&["list"]));
    assert_eq!(code, 2, "{stderr}");
    for path in [big_rules, big_article] {
        assert!(
            stderr.contains(&path.display().to_string()),
            "{} not named: {stderr}",
            path.display()
        );
    }
    assert_eq!(
        stderr.matches("file is larger than 4 MiB").count(),
        2,
        "{stderr}"
    );
}

#[test]
fn a_file_just_under_the_size_limit_loads() {
    let root = Root::new();
    root.article("inside", "Inside");
    let mut padded =
        String::from("[[rule]]\nid = \"big\"\narticle = \"inside\"\npatterns = ['boom']\n");
    let line = "# padding padding padding padding padding padding padding padding\n";
    while padded.len() + line.len() <= 4 << 20 {
        padded.push_str(line);
    }
    root.rules("big.toml", &padded);
    let (code, stdout, stderr) = run(root.arm_kb(&["list", "--rules", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"big\""), "{stdout}");
}

#[test]
fn a_rule_file_that_is_not_utf8_is_refused_with_its_name() {
    let root = Root::new();
    root.article("inside", "Inside");
    let path = root.path().join("rules/latin1.toml");
    fs::write(
        &path,
        b"[[rule]]\nid = \"x\"\narticle = \"inside\"\npatterns = ['caf\xe9']\n",
    )
    .unwrap();
    let (code, _, stderr) = run(root.arm_kb(&["list"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("not UTF-8"), "{stderr}");
}

#[test]
fn a_regex_error_inside_an_escaped_string_points_at_the_string() {
    // Inside a basic string, TOML escapes make offsets in the pattern differ from
    // offsets in the file: the caret must still land on the pattern, whole characters.
    let root = Root::new();
    root.article("inside", "Inside");
    let path = root.rules(
        "escaped.toml",
        "[[rule]]\nid = \"x\"\narticle = \"inside\"\npatterns = [\"\\t\u{e9}\u{e9}(\"]\n",
    );
    let (code, _, stderr) = run(root.arm_kb(&["list"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unclosed group"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:4:13", path.display())),
        "{stderr}"
    );
}

#[test]
fn unreadable_roots_are_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-root");
    let file = dir.path().join("a-file");
    fs::write(&file, "not a folder").unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    for root in [&missing, &file, &empty] {
        crate::util::arm_kb()
            .env_remove("ARM_KB_PATH")
            .arg("--kb")
            .arg(root)
            .arg("list")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(root.display().to_string()));
    }
    // The same through ARM_KB_PATH, with empty entries around it.
    crate::util::arm_kb()
        .env("ARM_KB_PATH", format!("::{}:", missing.display()))
        .arg("list")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(missing.display().to_string()));
}
