//! `arm-kb match` output formats: snapshots of every format on the same logs, the CI
//! logging-command syntax read back by a parser, summary files, secret masking end to end,
//! context lines, `--quiet`, completions and the man page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SECRET_EXPIRED: &str = "examples/secret-expired.log";
const WIF_SUBJECT: &str = "tests/fixtures/wif-subject.log";
const SECRETS: &str = "tests/fixtures/secrets.log";
/// A knowledge root whose rule captures a bearer token and whose article title holds
/// every character the CI formats must escape.
const CAPTURE_ROOT: &str = "tests/fixtures/capture-root";

const FORMATS: [&str; 6] = [
    "text",
    "json",
    "jsonl",
    "markdown",
    "azure-devops",
    "github",
];

/// Every secret value in `tests/fixtures/secrets.log`.
const SECRET_VALUES: [&str; 10] = [
    "0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV",
    "Q2xpZW50U2lnbmF0dXJlVmFsdWU",
    "c3RvcmFnZUFjY291bnRLZXlWYWx1ZUZvclRlc3Rz",
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u",
    "abc8Q~Zx1yW2vU3tS4rQ5pO6nM7lK8jI9hG0fE1d",
    "s3cret value",
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9",
    "c2lnbmF0dXJlLXBhcnQtMTIzNDU2Nzg5MA",
    "Hunt3r2-Secret!",
];

fn arm_kb() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arm-kb"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for var in [
        "ARM_KB_PATH",
        "NO_COLOR",
        "GITHUB_STEP_SUMMARY",
        "CI",
        "TF_BUILD",
        "GITHUB_ACTIONS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(args: &[&str]) -> Output {
    arm_kb().args(args).output().expect("the binary runs")
}

fn stdout(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "arm-kb {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn match_output(format: &str, files: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["match", "--color", "never", "--format", format];
    args.extend_from_slice(extra);
    args.extend_from_slice(files);
    stdout(&args)
}

fn snapshot_name(format: &str, case: &str) -> String {
    format!("{case}__{}", format.replace('-', "_"))
}

#[test]
fn every_format_on_one_log() {
    for format in FORMATS {
        let out = match_output(format, &[SECRET_EXPIRED], &[]);
        insta::assert_snapshot!(snapshot_name(format, "secret_expired"), out);
    }
}

#[test]
fn every_format_on_two_logs() {
    for format in FORMATS {
        let out = match_output(format, &[SECRET_EXPIRED, WIF_SUBJECT], &[]);
        insta::assert_snapshot!(snapshot_name(format, "two_logs"), out);
    }
}

#[test]
fn every_format_on_a_log_full_of_secrets() {
    for format in FORMATS {
        let out = match_output(
            format,
            &[SECRETS],
            &["--kb", CAPTURE_ROOT, "--unexplained", "-C", "2"],
        );
        insta::assert_snapshot!(snapshot_name(format, "secrets"), out);
    }
}

/// The findings of a run as `--format json` reports them.
fn json_findings(files: &[&str], extra: &[&str]) -> Vec<Value> {
    let json: Value = serde_json::from_str(&match_output("json", files, extra)).expect("JSON");
    json["findings"].as_array().expect("findings").clone()
}

#[test]
fn jsonl_is_one_json_finding_per_line() {
    let files = [SECRET_EXPIRED, WIF_SUBJECT];
    let lines: Vec<Value> = match_output("jsonl", &files, &[])
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
        .collect();
    let findings = json_findings(&files, &[]);
    assert_eq!(findings.len(), 3);
    assert_eq!(lines, findings);
}

#[test]
fn evidence_names_its_file_when_several_files_are_read() {
    let findings = json_findings(&[SECRET_EXPIRED, WIF_SUBJECT], &[]);
    let files: Vec<&str> = findings
        .iter()
        .flat_map(|f| f["evidence"].as_array().expect("evidence").iter())
        .map(|e| e["file"].as_str().expect("file"))
        .collect();
    assert!(files.contains(&SECRET_EXPIRED) && files.contains(&WIF_SUBJECT));
    let text = match_output("text", &[SECRET_EXPIRED, WIF_SUBJECT], &[]);
    assert!(text.contains(&format!("== {WIF_SUBJECT}")), "{text}");
    let markdown = match_output("markdown", &[SECRET_EXPIRED, WIF_SUBJECT], &[]);
    assert!(
        markdown.contains(&format!("## `{SECRET_EXPIRED}` (2 findings)")),
        "{markdown}"
    );
}

/// A logging command as the Azure Pipelines agent reads it.
#[derive(Debug)]
struct AzureCommand {
    name: String,
    properties: BTreeMap<String, String>,
    message: String,
}

/// Decodes one escaped value with the given escapes; every `%` must start one of them.
fn unescape_with(text: &str, escapes: &[(&str, char)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (token, c) = escapes
            .iter()
            .find(|(token, _)| tail.starts_with(token))
            .unwrap_or_else(|| panic!("unescaped % in {text:?}"));
        out.push(*c);
        rest = &tail[token.len()..];
    }
    out.push_str(rest);
    out
}

/// Decodes one Azure Pipelines value.
fn azure_unescape(text: &str) -> String {
    const ESCAPES: [(&str, char); 5] = [
        ("%AZP25", '%'),
        ("%0D", '\r'),
        ("%0A", '\n'),
        ("%3B", ';'),
        ("%5D", ']'),
    ];
    unescape_with(text, &ESCAPES)
}

/// Parses `##vso[area.action key=value;key=value]message`.
fn parse_azure(line: &str) -> AzureCommand {
    assert!(!line.contains('\r'), "raw CR in {line:?}");
    let body = line
        .strip_prefix("##vso[")
        .unwrap_or_else(|| panic!("not a logging command: {line:?}"));
    let close = body.find(']').expect("the command is closed");
    let (head, message) = (&body[..close], &body[close + 1..]);
    let (name, props) = head.split_once(' ').unwrap_or((head, ""));
    let (area, action) = name.split_once('.').expect("area.action");
    assert!(!area.is_empty() && !action.is_empty());
    let properties = props
        .split(';')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("key=value");
            (k.trim().to_owned(), azure_unescape(v))
        })
        .collect();
    AzureCommand {
        name: name.to_owned(),
        properties,
        message: azure_unescape(message),
    }
}

fn issue_type(finding: &Value) -> &'static str {
    match finding["severity"].as_str() {
        Some("error") => "error",
        _ => "warning",
    }
}

fn first_fix_step(finding: &Value) -> &str {
    finding["fix"][0].as_str().expect("a fix step")
}

#[test]
fn azure_devops_commands_round_trip_through_a_parser() {
    let cases: [(&[&str], &[&str]); 3] = [
        (&[SECRET_EXPIRED], &[]),
        (&[SECRET_EXPIRED, WIF_SUBJECT], &[]),
        (&[SECRETS], &["--kb", CAPTURE_ROOT]),
    ];
    let mut seen = String::new();
    for (files, extra) in cases {
        let findings = json_findings(files, extra);
        let out = match_output("azure-devops", files, extra);
        let commands: Vec<AzureCommand> = out.lines().map(parse_azure).collect();
        assert_eq!(commands.len(), findings.len(), "{out}");
        for (command, finding) in commands.iter().zip(&findings) {
            assert_eq!(command.name, "task.logissue");
            assert_eq!(command.properties["type"], issue_type(finding));
            assert_eq!(
                command.properties["code"],
                finding["article"].as_str().unwrap()
            );
            let title = finding["title"].as_str().unwrap();
            let article = finding["article"].as_str().unwrap();
            assert!(
                command.message.starts_with(&format!("{title} [{article}]")),
                "{command:?}"
            );
            assert!(
                command.message.contains(first_fix_step(finding)),
                "{command:?}"
            );
            seen.push_str(&command.message);
        }
    }
    // The cases above carry every character the syntax escapes in the message.
    for c in ['%', '\n', ';', ']'] {
        assert!(seen.contains(c), "no {c:?} went through the parser");
    }
}

/// Parses `::command key=value,key=value::message` as the GitHub runner does.
fn parse_github(line: &str) -> (String, BTreeMap<String, String>, String) {
    fn unescape(text: &str, property: bool) -> String {
        let mut escapes = vec![("%0D", '\r'), ("%0A", '\n')];
        if property {
            escapes.extend([("%3A", ':'), ("%2C", ',')]);
        }
        escapes.push(("%25", '%'));
        unescape_with(text, &escapes)
    }
    assert!(!line.contains('\r'));
    let body = line.strip_prefix("::").expect("a workflow command");
    let (head, message) = body.split_once("::").expect("command::message");
    let (name, props) = head.split_once(' ').unwrap_or((head, ""));
    let properties = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("key=value");
            (k.to_owned(), unescape(v, true))
        })
        .collect();
    (name.to_owned(), properties, unescape(message, false))
}

#[test]
fn github_annotations_round_trip_through_a_parser() {
    let files = [SECRETS];
    let extra = ["--kb", CAPTURE_ROOT];
    let findings = json_findings(&files, &extra);
    let out = match_output("github", &files, &extra);
    let annotations: Vec<_> = out.lines().map(parse_github).collect();
    assert_eq!(annotations.len(), findings.len(), "{out}");
    let mut titles = String::new();
    for ((name, properties, message), finding) in annotations.iter().zip(&findings) {
        assert_eq!(name, issue_type(finding));
        assert_eq!(properties["title"], finding["title"].as_str().unwrap());
        assert!(message.starts_with(&format!("[{}]", finding["article"].as_str().unwrap())));
        assert!(message.contains(first_fix_step(finding)));
        titles.push_str(&properties["title"]);
    }
    for c in ['%', ':', ','] {
        assert!(
            titles.contains(c),
            "no {c:?} in a title went through the parser"
        );
    }
}

#[test]
fn azure_summary_file_is_written_and_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("arm-kb summary.md");
    let out = match_output(
        "azure-devops",
        &[SECRET_EXPIRED],
        &["--summary", summary.to_str().unwrap()],
    );
    let upload = parse_azure(out.lines().last().expect("output"));
    assert_eq!(upload.name, "task.uploadsummary");
    assert_eq!(PathBuf::from(&upload.message), summary);
    assert!(Path::new(&upload.message).is_absolute());
    let written = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(
        written,
        match_output("markdown", &[SECRET_EXPIRED], &["--no-suggest"])
    );
    assert!(written.starts_with("# arm-kb: 2 findings\n"));
}

#[test]
fn summary_path_is_made_absolute() {
    let dir = tempfile::tempdir().unwrap();
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join(SECRET_EXPIRED);
    let out = arm_kb()
        .current_dir(dir.path())
        .args([
            "match",
            "--format",
            "azure-devops",
            "--summary",
            "report.md",
        ])
        .arg(&log)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let upload = parse_azure(text.lines().last().unwrap());
    let expected = std::path::absolute(dir.path().join("report.md")).unwrap();
    assert_eq!(PathBuf::from(upload.message), expected);
    assert!(expected.is_file());
}

#[test]
fn github_step_summary_is_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step_summary.md");
    std::fs::write(&summary, "## Earlier step\n\n").unwrap();
    let out = arm_kb()
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args([
            "match",
            "--color",
            "never",
            "--format",
            "github",
            SECRET_EXPIRED,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let written = std::fs::read_to_string(&summary).unwrap();
    let report = match_output("markdown", &[SECRET_EXPIRED], &["--no-suggest"]);
    assert_eq!(written, format!("## Earlier step\n\n{report}\n"));
}

#[test]
fn no_secret_reaches_any_output() {
    let dir = tempfile::tempdir().unwrap();
    for format in FORMATS {
        let summary = dir.path().join(format!("{format}-summary.md"));
        let step_summary = dir.path().join(format!("{format}-step.md"));
        let out = arm_kb()
            .env("GITHUB_STEP_SUMMARY", &step_summary)
            .args(["match", "--color", "never", "--format", format])
            .args([
                "--kb",
                CAPTURE_ROOT,
                "--unexplained",
                "--suggest",
                "-C",
                "3",
            ])
            .arg("--summary")
            .arg(&summary)
            .arg(SECRETS)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        let mut outputs = vec![
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
            std::fs::read_to_string(&summary).unwrap(),
        ];
        outputs.extend(std::fs::read_to_string(&step_summary).ok());
        for output in &outputs {
            for secret in SECRET_VALUES {
                assert!(
                    !output.contains(secret),
                    "{format} printed {secret}:\n{output}"
                );
            }
        }
        assert!(outputs[0].contains("***"), "{format}: nothing was masked");
    }
}

#[test]
fn no_redact_prints_the_log_as_it_is() {
    let out = match_output(
        "json",
        &[SECRETS],
        &["--kb", CAPTURE_ROOT, "--unexplained", "--no-redact"],
    );
    for secret in [
        "0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV",
        "abc8Q~Zx1yW2vU3tS4rQ5pO6nM7lK8jI9hG0fE1d",
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9",
        "Hunt3r2-Secret!",
    ] {
        assert!(out.contains(secret), "{secret} missing from {out}");
    }
}

#[test]
fn captured_secrets_are_masked_in_captures_and_fix_steps() {
    let findings = json_findings(&[SECRETS], &["--kb", CAPTURE_ROOT]);
    let leaked = findings
        .iter()
        .find(|f| f["article"] == "leaked-token")
        .expect("the test rule fires");
    assert_eq!(leaked["evidence"][0]["captures"]["token"], "***");
    assert!(first_fix_step(leaked).starts_with("Revoke the token `***` "));
}

#[test]
fn captures_fill_fix_steps_in_every_format() {
    // The first fix step (the one CI annotations carry) uses {connection_url}.
    let url = "https://dev.azure.com/contoso/Web/_settings/adminservices?resourceId=1b2c3d4e-5f60-4718-9a0b-c1d2e3f40516";
    for format in FORMATS {
        let out = match_output(format, &[SECRET_EXPIRED], &[]);
        assert!(out.contains(url), "{format}: no captured connection URL");
        assert!(
            !out.contains("{connection_url}"),
            "{format}: unfilled placeholder"
        );
    }
    let show = stdout(&["show", "--color", "never", "sp-secret-expired"]);
    assert!(show.contains("<app_id>"), "show lost the placeholder names");
}

#[test]
fn context_lines_surround_evidence_like_grep() {
    let text = match_output("text", &[WIF_SUBJECT], &["-B", "1", "-A", "1"]);
    assert!(
        text.contains("    4- 2025-05-12T14:02:11.0000000Z [command]/usr/bin/az login"),
        "{text}"
    );
    assert!(
        text.contains("    5: 2025-05-12T14:02:12.0000000Z ERROR: AADSTS700213"),
        "{text}"
    );
    assert!(
        text.contains("    6- 2025-05-12T14:02:12.1000000Z ##［error]Script failed"),
        "{text}"
    );
    assert!(!text.contains("    3- "), "{text}");
    let markdown = match_output("markdown", &[WIF_SUBJECT], &["-C", "1"]);
    assert!(
        markdown.contains("\n4- 2025-05-12T14:02:11.0000000Z [command]"),
        "{markdown}"
    );
    assert!(
        markdown.contains("\n6- 2025-05-12T14:02:12.1000000Z ##［error]"),
        "{markdown}"
    );
    // Without context flags there is none.
    let plain = match_output("text", &[WIF_SUBJECT], &[]);
    assert!(!plain.contains("    4- "), "{plain}");
}

#[test]
fn quiet_prints_nothing_and_keeps_the_exit_status() {
    let found = run(&["match", "-q", SECRET_EXPIRED]);
    assert_eq!(found.status.code(), Some(0));
    assert!(found.stdout.is_empty());
    let none = run(&["match", "--quiet", "Cargo.toml"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
}

#[test]
fn completions_are_generated_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = stdout(&["completions", shell]);
        assert!(out.contains("arm-kb"), "{shell}");
        assert!(
            out.contains("azure-devops"),
            "{shell}: match formats missing"
        );
    }
}

#[test]
fn man_page_describes_the_commands() {
    let out = stdout(&["man"]);
    assert!(
        out.starts_with(".ie") || out.starts_with(".TH"),
        "{}",
        &out[..80]
    );
    assert!(out.contains(".TH arm-kb"));
    assert!(out.contains("completions"));
}
