//! The security suite: nothing from a log or a rule root commands a pipeline runner,
//! reaches a terminal raw, or shows a secret; hostile roots end in bounded time and
//! memory; summary files are written safely. See `docs/security.md`.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use proptest::prelude::*;
use tempfile::TempDir;

const FORMATS: [&str; 6] = [
    "text",
    "markdown",
    "json",
    "jsonl",
    "azure-devops",
    "github",
];

fn arm_kb() -> Command {
    let mut cmd = Command::cargo_bin("arm-kb").unwrap();
    cmd.env_remove("ARM_KB_PATH")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120));
    cmd
}

// ---------------------------------------------------------------------------------------
// The runners' parsers, as they are documented and written:
// - Azure Pipelines agent (`Command.TryParse`): `##vso[` anywhere in a line, any case; the
//   next `]` ends the properties; one command per line.
// - GitHub runner: `::name` at the start of the line once white space is trimmed
//   (`TryParseV2`); if that fails, the legacy `##[name` anywhere in the line.
// - Both read lines with .NET `ReadLine`: `\n`, `\r\n` and a bare `\r` each end a line.

/// Every command the two runners would take from `output`, one string per command.
fn runner_commands(output: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in output.split(['\n', '\r']) {
        if let Some(at) = line.to_ascii_lowercase().find("##vso[") {
            found.push(format!("azure: {}", &line[at..]));
        }
        if line.trim_start().starts_with("::") {
            found.push(format!("github: {line}"));
        } else if let Some(at) = line.find("##[") {
            found.push(format!("github-legacy: {}", &line[at..]));
        }
    }
    found
}

/// The commands of a CI format that are not its own: a line may be one logissue,
/// uploadsummary, `::error` or `::warning` command, and nothing else may fire.
fn foreign_commands(format: &str, output: &str) -> Vec<String> {
    let own = |c: &String| match format {
        "azure-devops" => {
            c.starts_with("azure: ##vso[task.logissue ")
                || c.starts_with("azure: ##vso[task.uploadsummary]")
        }
        "github" => c.starts_with("github: ::error ") || c.starts_with("github: ::warning "),
        _ => false,
    };
    runner_commands(output)
        .into_iter()
        .filter(|c| !own(c))
        .collect()
}

/// Characters no output may hold: controls other than `\n` and `\t` (a bare `\r` ends a
/// runner's line, ESC and C1 drive a terminal), bidi controls, zero-width characters.
fn hidden_characters(output: &str) -> Vec<char> {
    output
        .chars()
        .filter(|&c| c != '\n' && c != '\t' && arm_kb::text::is_hidden(c))
        .collect()
}

#[test]
fn the_emulator_sees_what_the_runners_see() {
    assert_eq!(runner_commands("x ##VSO[task.complete]").len(), 1);
    assert_eq!(runner_commands("  ::add-mask::x").len(), 1);
    assert_eq!(runner_commands("a ##[error]b").len(), 1);
    assert_eq!(runner_commands("a\r::set-output name=x::y").len(), 1);
    assert!(runner_commands("a :: b ##vso［x] ##［y] ：:z").is_empty());
}

// ---------------------------------------------------------------------------------------
// Attack inputs from the review.

const APP: &str = "3f0c2a51-8d4e-4b7a-9c1e-52b7d0e4a9f1";

/// Commands on the evidence line and around it, commands hidden by colour codes (inert in
/// the log, live once the codes are removed), controls and CRs inside a captured value.
fn attack_log() -> Vec<u8> {
    let mut log = Vec::new();
    log.extend_from_slice(b"2025-01-01T00:00:00Z ##[section]Starting: Deploy\n");
    log.extend_from_slice(b"2025-01-01T00:00:01Z ##vso\x1b[0m[task.setvariable variable=Y]laundered #\x1b[1m#[set-output name=z;]\n");
    log.extend_from_slice(b"::\x1b[0madd-mask::x ##vso[task.complete result=Succeeded;]done\n");
    log.extend_from_slice(format!("##[error]AADSTS7000222: The provided client secret keys for app '{APP}' are expired. ##vso[task.setvariable variable=X]evil ##vso[task.prependpath]/tmp\n").as_bytes());
    log.extend_from_slice(b"::set-env name=A::b\n");
    log.extend_from_slice(b"AADSTS700213: No matching federated identity record found for presented assertion subject 'sc://o/p/c\r##vso[task.setvariable variable=Z]evil\r::add-mask::AADSTS\r::stop-commands::pwned\x07\x08\xc2\x9b2J\xc2\x9d52;c;ZXZpbA==\xc2\x9c\xe2\x80\xae<img src=x>'. \n");
    log.extend_from_slice(b"##[error]unknown failure \x1b]0;TITLE\x07 \xe2\x80\x8b ##vso[task.complete result=Succeeded;]\n");
    log
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run_match(format: &str, log: &Path, summary: &Path, extra: &[&str]) -> Output {
    arm_kb()
        .args(["match", "--unexplained", "-C", "2", "--format", format])
        .args(extra)
        .arg("--summary")
        .arg(summary)
        .arg(log)
        .output()
        .unwrap()
}

#[test]
fn no_output_of_any_format_commands_a_runner_or_a_terminal() {
    let dir = TempDir::new().unwrap();
    let log = write(dir.path(), "attack.log", &attack_log());
    for format in FORMATS {
        let summary = dir.path().join(format!("{format}.md"));
        let step = dir.path().join(format!("{format}.step.md"));
        let out = arm_kb()
            .env("GITHUB_STEP_SUMMARY", &step)
            .args(["match", "--unexplained", "-C", "2", "--format", format])
            .arg("--summary")
            .arg(&summary)
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("AADSTS"), "{format}: {stdout}");
        let summaries = [
            std::fs::read_to_string(&summary).unwrap(),
            std::fs::read_to_string(&step).unwrap_or_default(),
        ];
        assert_eq!(
            foreign_commands(format, &stdout),
            Vec::<String>::new(),
            "{format}:\n{stdout}"
        );
        assert_eq!(
            hidden_characters(&stdout),
            Vec::<char>::new(),
            "{format}:\n{stdout}"
        );
        for text in &summaries {
            assert_eq!(
                runner_commands(text),
                Vec::<String>::new(),
                "{format} summary:\n{text}"
            );
            assert_eq!(
                hidden_characters(text),
                Vec::<char>::new(),
                "{format} summary"
            );
        }
        // The hidden characters are shown as their codes, not lost.
        if format == "text" {
            assert!(stdout.contains("<U+000D>"), "{stdout}");
            assert!(stdout.contains("<U+202E>"), "{stdout}");
        }
    }
}

#[test]
fn json_stays_exact_for_a_parser() {
    let dir = TempDir::new().unwrap();
    let log = write(dir.path(), "attack.log", &attack_log());
    let out = run_match("json", &log, &dir.path().join("s.md"), &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let text = report.to_string();
    // Decoded, the data holds the log's text again (cleaned, masked).
    assert!(
        text.contains("##vso[task.setvariable variable=X]evil"),
        "{text}"
    );
    assert!(!stdout.contains("##vso["), "{stdout}");
}

#[test]
fn explain_and_show_are_inert_too() {
    let dir = TempDir::new().unwrap();
    let log = write(dir.path(), "attack.log", &attack_log());
    let out = arm_kb()
        .args(["explain", "sp-secret-expired.aadsts7000222"])
        .arg(&log)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(runner_commands(&stdout), Vec::<String>::new(), "{stdout}");
    assert_eq!(hidden_characters(&stdout), Vec::<char>::new(), "{stdout}");
    for args in [
        &["show", "sp-secret-expired"][..],
        &["show", "--format", "markdown", "sp-secret-expired"],
    ] {
        let out = arm_kb().args(args).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(runner_commands(&stdout), Vec::<String>::new(), "{stdout}");
    }
}

// ---------------------------------------------------------------------------------------
// Secrets: one value per shape, in every vehicle and every format.

/// (secret value, the line that carries it).
fn secret_lines() -> Vec<(&'static str, String)> {
    vec![
        ("k2abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopq2", "git -c user.pat=k2abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopq2 fetch".into()),
        ("0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGHIJ0123456789abcdefAZDOwxyz", "PAT 0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGHIJ0123456789abcdefAZDOwxyz used".into()),
        ("ghp_0123456789abcdefghijABCDEFGHIJ012345", "remote: ghp_0123456789abcdefghijABCDEFGHIJ012345".into()),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz".into()),
        ("npm_0123456789abcdefghijABCDEFGHIJ012345", "//registry.npmjs.org/:_authToken=npm_0123456789abcdefghijABCDEFGHIJ012345".into()),
        ("Sup3rS3cretPass", "fatal: unable to access 'https://builduser:Sup3rS3cretPass@dev.azure.com/o/_git/r/'".into()),
        ("Hunter2Hunter2x", "az login --service-principal -u x -p Hunter2Hunter2x --tenant t".into()),
        ("PwFlagValue77", "mysql --password PwFlagValue77 -h db".into()),
        ("ClientSecretFlag9", "az ad sp create --client-secret ClientSecretFlag9".into()),
        ("PsClientSecret8", "Connect-AzAccount -ClientSecret PsClientSecret8".into()),
        ("SpKeyValue123", r#"{"servicePrincipalKey": "SpKeyValue123"}"#.into()),
        ("EscapedJson456", r#"{"body": "{\"client_secret\":\"EscapedJson456\"}"}"#.into()),
        ("OmFiY2RlZmdoaWprbG1ub3A=", r#"git -c http.extraheader="AUTHORIZATION: basic OmFiY2RlZmdoaWprbG1ub3A=" fetch"#.into()),
        ("U2hhcmVkQWNjZXNzS2V5", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=r;SharedAccessKey=U2hhcmVkQWNjZXNzS2V5;".into()),
        ("SqlPwd789", "Server=db;User Id=u;Pwd=SqlPwd789;".into()),
        ("JsonSecret321", r#"{"secret": "JsonSecret321"}"#.into()),
        ("AccessTok654", r#"{"access_token":"AccessTok654"}"#.into()),
        ("UrlEncoded987", "body=grant_type%3Dpassword%26password%3DUrlEncoded987&x=1".into()),
        ("SecureStr111", "$p = ConvertTo-SecureString 'SecureStr111' -AsPlainText -Force".into()),
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
        ("0123456789abcdef0123456789abcdef", "Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef".into()),
        ("abc8Q~Zx1yW2vU3tS4rQ5pO6nM7lK8jI9hG0fE1d", "secret abc8Q~Zx1yW2vU3tS4rQ5pO6nM7lK8jI9hG0fE1d".into()),
    ]
}

const ROOT_ARTICLE: &str = "+++\ntitle = \"Leaked value\"\nsummary = \"s\"\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\nx\n\n## Fix\n\n1. Rotate `{value}` now.\n\n## References\n\n- none\n";

/// A root with a rule that captures the whole rest of a line after `LEAK:`.
fn capture_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    write(&root, "kb/leaked-value.md", ROOT_ARTICLE.as_bytes());
    write(
        &root,
        "rules/leaked-value.toml",
        b"[[rule]]\nid = 'leaked-value.capture'\narticle = 'leaked-value'\nkeywords = ['LEAK:']\npatterns = ['LEAK: (?P<value>.*)']\n",
    );
    root
}

#[test]
fn every_secret_shape_is_masked_in_every_vehicle_and_format() {
    let dir = TempDir::new().unwrap();
    let root = capture_root(dir.path());
    let padding = "x".repeat(380);
    let mut log = String::new();
    for (_, line) in secret_lines() {
        // context line, evidence line (key far from the match: the cut comes after
        // masking), an unexplained error line, a captured value.
        log.push_str(&format!("{line}\n"));
        log.push_str(&format!("{line} {padding} AADSTS7000222: The provided client secret keys for app '{APP}' are expired.\n"));
        log.push_str(&format!("##[error]failed: {line}\n"));
        log.push_str(&format!("LEAK: {line}\n"));
    }
    let log = write(dir.path(), "secrets.log", log.as_bytes());
    for format in FORMATS {
        let summary = dir.path().join(format!("{format}.md"));
        let out = arm_kb()
            .arg("--kb")
            .arg(&root)
            .args([
                "match",
                "--unexplained",
                "-C",
                "1",
                "--format",
                format,
                "--summary",
            ])
            .arg(&summary)
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let outputs = [
            String::from_utf8(out.stdout).unwrap(),
            std::fs::read_to_string(&summary).unwrap(),
        ];
        for output in &outputs {
            for (secret, _) in secret_lines() {
                assert!(
                    !output.contains(secret),
                    "{format} shows {secret}:\n{output}"
                );
            }
        }
    }
    // explain shows the log lines; new --from-log drafts a rule file from one.
    let out = arm_kb()
        .args(["explain", "sp-secret-expired.aadsts7000222"])
        .arg(&log)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    for (secret, _) in secret_lines() {
        assert!(
            !stdout.contains(secret),
            "explain shows {secret}:\n{stdout}"
        );
    }
    for (n, (secret, _)) in secret_lines().iter().enumerate() {
        let new_root = dir.path().join(format!("new{n}"));
        let out = arm_kb()
            .args([
                "new",
                "rule",
                "team.leak",
                "--article",
                "sp-secret-expired",
                "--kb",
            ])
            .arg(&new_root)
            .arg("--from-log")
            .arg(&log)
            .args(["--line", &(4 * n + 2).to_string()])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let written =
            std::fs::read_to_string(new_root.join("rules/sp-secret-expired.toml")).unwrap();
        assert!(
            !written.contains(secret),
            "new rule holds {secret}:\n{written}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Untrusted roots.

fn root_with(dir: &Path, article: &str, rules: &str) -> PathBuf {
    let root = dir.join("evil");
    write(&root, "kb/evil-article.md", article.as_bytes());
    write(&root, "rules/evil-article.toml", rules.as_bytes());
    root
}

const EVIL_RULE: &str = "[[rule]]\nid = 'evil-article.x'\narticle = 'evil-article'\nkeywords = ['EVILTRIGGER']\npatterns = ['EVILTRIGGER']\n";

#[test]
fn control_characters_in_an_article_are_load_errors_with_a_position() {
    let dir = TempDir::new().unwrap();
    let article = ROOT_ARTICLE
        .replace("Leaked value", "Evil\\r::add-mask::x\\u001b]0;T\\u0007")
        .replace("1. Rotate", "1. step \u{202E} \u{9b}2J Rotate");
    let root = root_with(dir.path(), &article, EVIL_RULE);
    let out = arm_kb()
        .arg("--kb")
        .arg(&root)
        .arg("check")
        .output()
        .unwrap();
    let stdout =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("bad-character"), "{stdout}");
    assert!(
        stdout.contains("evil-article.md:2:"),
        "the title's line: {stdout}"
    );
    assert!(
        stdout.contains("evil-article.md:16:9"),
        "the fix line: {stdout}"
    );
}

#[test]
fn fix_lines_that_start_runner_commands_are_warned_and_printed_inert() {
    let dir = TempDir::new().unwrap();
    let article = ROOT_ARTICLE.replace(
        "1. Rotate `{value}` now.",
        "1. Run this:\n\n       ::stop-commands::codeblock\n       ##vso[task.prependpath]/tmp",
    );
    let root = root_with(dir.path(), &article, EVIL_RULE);
    let out = arm_kb()
        .arg("--kb")
        .arg(&root)
        .args(["check"])
        .output()
        .unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("runner-command"), "{report}");
    let log = write(dir.path(), "t.log", b"EVILTRIGGER\n");
    for format in ["text", "markdown", "json"] {
        let out = arm_kb()
            .arg("--kb")
            .arg(&root)
            .args(["match", "--format", format])
            .arg(&log)
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.contains("stop-commands"), "{stdout}");
        assert_eq!(
            runner_commands(&stdout),
            Vec::<String>::new(),
            "{format}:\n{stdout}"
        );
    }
}

/// `arm-kb ARGS` under an address-space limit (Linux, through the shell's ulimit).
fn limited(bytes: u64, args: &[&str]) -> Command {
    let bin = assert_cmd::cargo::cargo_bin("arm-kb");
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", bytes / 1024))
        .arg(bin)
        .args(args)
        .env_remove("ARM_KB_PATH")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60));
    cmd
}

fn assert_hostile_root_refused(rules: &str, code: &str) {
    let dir = TempDir::new().unwrap();
    let root = root_with(dir.path(), ROOT_ARTICLE, rules);
    let log = write(dir.path(), "zzz.log", b"ZZZ hello EVILTRIGGER\n");
    let root = root.to_str().unwrap();
    for args in [
        vec!["--kb", root, "check"],
        vec!["--kb", root, "match", log.to_str().unwrap()],
    ] {
        let started = Instant::now();
        let out = limited(1 << 30, &args).output().unwrap();
        let elapsed = started.elapsed();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        // An error exit, not a crash (no signal, no panic).
        assert!(matches!(out.status.code(), Some(1 | 2)), "{args:?}: {text}");
        assert!(text.contains(code), "{args:?}: {text}");
        assert!(
            elapsed < Duration::from_secs(20),
            "{args:?} took {elapsed:?}"
        );
    }
}

#[test]
fn a_root_of_many_large_unicode_regexes_is_refused_quickly() {
    let rules: String = (0..1000)
        .map(|i| format!("[[rule]]\nid = 'evil-article.r{i}'\narticle = 'evil-article'\nkeywords = ['ZZZ']\npatterns = ['ZZZ{i}\\w{{80}}']\n"))
        .collect();
    assert_hostile_root_refused(&rules, "root-regex-budget");
}

#[test]
fn rules_with_thousands_of_capture_groups_are_refused_quickly() {
    let rules: String = (0..4)
        .map(|i| {
            let groups: String = (0..3000).map(|g| format!("(?P<g{g}>a?)")).collect();
            format!("[[rule]]\nid = 'evil-article.c{i}'\narticle = 'evil-article'\nkeywords = ['ZZZ']\npatterns = ['ZZZ{groups}']\n")
        })
        .collect();
    assert_hostile_root_refused(&rules, "too-many-captures");
}

#[test]
fn check_warns_on_costly_patterns() {
    let dir = TempDir::new().unwrap();
    let rules = "[[rule]]\nid = 'evil-article.w'\narticle = 'evil-article'\nkeywords = ['ZZZ']\npatterns = ['ZZZ\\w{40}', '(?:\\w+\\s+){1,60}Q']\n";
    let root = root_with(dir.path(), ROOT_ARTICLE, rules);
    let out = arm_kb()
        .arg("--kb")
        .arg(&root)
        .arg("check")
        .output()
        .unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("unicode-repetition"), "{report}");
    assert!(report.contains("(?-u)"), "{report}");
    assert!(report.contains("slow-pattern"), "{report}");
}

#[test]
fn huge_context_sizes_are_refused_not_a_crash() {
    for value in ["100000000", "4294967295", "18446744073709551615"] {
        for flag in ["-C", "-A", "-B"] {
            let out = arm_kb()
                .args(["match", flag, value, "examples/secret-expired.log"])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{flag} {value}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("context"));
        }
    }
    let out = arm_kb()
        .args(["match", "-C", "10000", "examples/secret-expired.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

// ---------------------------------------------------------------------------------------
// Summary files and line ends.

#[test]
fn a_symlink_at_the_summary_is_replaced_not_followed() {
    let dir = TempDir::new().unwrap();
    let victim = write(dir.path(), "victim.txt", b"keep me\n");
    let link = dir.path().join("link.md");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = arm_kb()
        .args(["match", "--summary"])
        .arg(&link)
        .arg("examples/secret-expired.log")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    assert!(
        !std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&link)
            .unwrap()
            .starts_with("# arm-kb")
    );
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_summary_that_is_an_input_is_an_error_before_anything_is_written() {
    let dir = TempDir::new().unwrap();
    let log = write(
        dir.path(),
        "same.log",
        &std::fs::read("examples/secret-expired.log").unwrap(),
    );
    let before = std::fs::read(&log).unwrap();
    let link = dir.path().join("other-name.md");
    std::os::unix::fs::symlink(&log, &link).unwrap();
    for summary in [&log, &link] {
        let out = arm_kb()
            .args(["match", "--summary"])
            .arg(summary)
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("is the input"));
        assert_eq!(std::fs::read(&log).unwrap(), before);
    }
}

#[test]
fn quiet_writes_no_summary_and_removes_nothing() {
    let dir = TempDir::new().unwrap();
    let summary = write(dir.path(), "q.md", b"old report\n");
    let out = arm_kb()
        .args(["match", "-q", "--summary"])
        .arg(&summary)
        .arg("examples/secret-expired.log")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), "old report\n");
    let absent = dir.path().join("absent.md");
    arm_kb()
        .args(["match", "-q", "--summary"])
        .arg(&absent)
        .arg("examples/secret-expired.log")
        .output()
        .unwrap();
    assert!(!absent.exists());
}

#[test]
fn the_github_step_summary_stays_under_one_mib() {
    let dir = TempDir::new().unwrap();
    let step = write(dir.path(), "step.md", &vec![b'x'; (1 << 20) - 2000]);
    let out = arm_kb()
        .env("GITHUB_STEP_SUMMARY", &step)
        .args(["match", "--format", "github", "examples/secret-expired.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let written = std::fs::read_to_string(&step).unwrap();
    assert!(written.len() <= 1 << 20, "{}", written.len());
    assert!(written.contains("at most 1 MiB"));
}

#[test]
fn a_cr_only_log_keeps_both_errors() {
    let log = format!(
        "start\rAADSTS7000222: The provided client secret keys for app '{APP}' are expired.\rbetween\rAADSTS7000222: The provided client secret keys for app '4f0c2a51-8d4e-4b7a-9c1e-52b7d0e4a9f1' are expired.\rend\r"
    );
    let out = arm_kb()
        .args(["match", "--format", "json"])
        .write_stdin(log)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let evidence = report["findings"][0]["evidence"].as_array().unwrap();
    let lines: Vec<u64> = evidence
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 4]);
    assert_eq!(report["stats"]["lines"], 5);
}

// ---------------------------------------------------------------------------------------
// Property: random log text never commands a runner and shows no control character.

/// Fragments an attacker would combine.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("##vso[task.setvariable variable=X]v".to_owned()),
        Just("##VSO[".to_owned()),
        Just("##[error]".to_owned()),
        Just("#".to_owned()),
        Just("[".to_owned()),
        Just("::".to_owned()),
        Just(":".to_owned()),
        Just("\r".to_owned()),
        Just("\n".to_owned()),
        Just("\x1b[0m".to_owned()),
        Just("\x1b]0;t\x07".to_owned()),
        Just("\u{202E}".to_owned()),
        Just("\u{9b}".to_owned()),
        Just("\x07".to_owned()),
        Just(" ".to_owned()),
        Just("'".to_owned()),
        Just(format!("AADSTS7000222: The provided client secret keys for app '{APP}' are expired.")),
        Just("AADSTS700213: No matching federated identity record found for presented assertion subject 'sc://".to_owned()),
        Just("##[error]x".to_owned()),
        "[a-z]{1,5}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_logs_never_command_a_runner(parts in prop::collection::vec(fragment(), 1..40)) {
        let log = parts.concat();
        let dir = TempDir::new().unwrap();
        let path = write(dir.path(), "r.log", log.as_bytes());
        for format in FORMATS {
            let summary = dir.path().join("s.md");
            let out = run_match(format, &path, &summary, &[]);
            let stdout = String::from_utf8(out.stdout).unwrap();
            prop_assert_eq!(foreign_commands(format, &stdout), Vec::<String>::new(), "{}:\n{}", format, stdout);
            prop_assert_eq!(hidden_characters(&stdout), Vec::<char>::new());
            if let Ok(text) = std::fs::read_to_string(&summary) {
                prop_assert_eq!(runner_commands(&text), Vec::<String>::new());
                prop_assert_eq!(hidden_characters(&text), Vec::<char>::new());
            }
        }
    }

    #[test]
    fn random_article_text_never_commands_a_runner(parts in prop::collection::vec(fragment(), 1..20)) {
        let text: String = parts.concat();
        let dir = TempDir::new().unwrap();
        let fix = text.replace('\r', " ").replace('\n', "\n   ");
        let article = ROOT_ARTICLE.replace("1. Rotate `{value}` now.", &format!("1. {fix}"));
        let root = root_with(dir.path(), &article, EVIL_RULE);
        let log = write(dir.path(), "t.log", b"EVILTRIGGER\n");
        let out = arm_kb().arg("--kb").arg(&root).args(["match"]).arg(&log).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        prop_assert_eq!(runner_commands(&stdout), Vec::<String>::new(), "{}", stdout);
        prop_assert_eq!(hidden_characters(&stdout), Vec::<char>::new());
    }
}

#[test]
fn markdown_output_renders_no_tag_from_a_log() {
    // A captured value with an unclosed backtick run: CommonMark opens no code span there,
    // so the tag after it must be escaped (security review, F10).
    let dir = TempDir::new().unwrap();
    let subject = "sc://org/proj/x`` <img src=x onerror=alert(8)> <details open>";
    let line = format!(
        "##[error]AADSTS700213: No matching federated identity record found for presented assertion subject '{subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.\n"
    );
    let log = write(dir.path(), "md.log", line.as_bytes());
    let out = arm_kb()
        .args(["match", "--format", "markdown"])
        .arg(&log)
        .output()
        .unwrap();
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.contains("onerror"),
        "the vector reaches the report: {md}"
    );
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(&md));
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<details"), "{html}");
}
