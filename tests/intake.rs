//! Logs as users have them: folders, the Download-logs zip, gzip, UTF-16, standard input
//! mixed with files, unreadable inputs; findings kept per source; a run's task logs fetched
//! from a local server that answers as the Azure DevOps REST API does; the pipeline
//! template.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

use crate::util::{Output, gzip, utf16le, zip};

const SECRET_LOG: &str = include_str!("../examples/secret-expired.log");
const APP_A: &str = "3f0c2a51-8d4e-4b7a-9c1e-52b7d0e4a9f1";
const APP_B: &str = "9a8b7c6d-1111-4222-8333-444455556666";
const RESOURCE_A: &str = "1b2c3d4e-5f60-4718-9a0b-c1d2e3f40516";
const RESOURCE_B: &str = "77777777-8888-4999-aaaa-bbbbbbbbbbbb";
const TOKEN: &str = "job-token-5f1d9c0e7b";
const PAT: &str = "pat-7c2e81aa90";

/// The example log with the app id and the connection's resource id of another app.
fn secret_log_b() -> String {
    SECRET_LOG
        .replace(APP_A, APP_B)
        .replace(RESOURCE_A, RESOURCE_B)
}

fn arm_kb() -> Command {
    let mut cmd = Command::cargo_bin("arm-kb").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for var in [
        "ARM_KB_PATH",
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "SYSTEM_ACCESSTOKEN",
        "AZURE_DEVOPS_EXT_PAT",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(cmd: &mut Command) -> Output {
    Output::of(cmd)
}

fn json(run: &Output) -> Value {
    run.json()
}

/// `(source, app_id capture)` of every sp-secret-expired finding.
fn secret_findings(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["article"] == "sp-secret-expired")
        .map(|f| {
            let app = f["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|e| e["captures"]["app_id"].as_str())
                .unwrap_or_default();
            (f["source"].as_str().unwrap().to_owned(), app.to_owned())
        })
        .collect()
}

fn sources(report: &Value) -> Vec<(String, u64, Option<String>)> {
    report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["findings"].as_u64().unwrap(),
                s["error"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn two_job_logs_with_two_expired_apps_give_two_findings_with_their_own_values() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (dir.path().join("infra.log"), dir.path().join("web.log"));
    fs::write(&a, SECRET_LOG).unwrap();
    fs::write(&b, secret_log_b()).unwrap();
    let out = run(arm_kb().args(["match", "--format", "json", path_str(&a), path_str(&b)]));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let report = json(&out);
    assert_eq!(
        secret_findings(&report),
        [
            (path_str(&a).to_owned(), APP_A.to_owned()),
            (path_str(&b).to_owned(), APP_B.to_owned())
        ]
    );
    for f in report["findings"].as_array().unwrap() {
        let fix = f["fix"].to_string();
        let (own, other) = if f["source"] == path_str(&a) {
            ((APP_A, RESOURCE_A), (APP_B, RESOURCE_B))
        } else {
            ((APP_B, RESOURCE_B), (APP_A, RESOURCE_A))
        };
        if f["article"] == "sp-secret-expired" {
            assert!(fix.contains(own.0) && fix.contains(own.1), "{fix}");
        }
        assert!(!fix.contains(other.0) && !fix.contains(other.1), "{fix}");
    }
    let listed = sources(&report);
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|(_, n, e)| *n >= 1 && e.is_none()));
    let s = &report["sources"][0];
    assert_eq!(s["bytes"], SECRET_LOG.len());
    assert_eq!(s["lines"], 12);

    // Text: a line on the run, then one group per source.
    let text = run(arm_kb().args(["match", path_str(&a), path_str(&b)]));
    let first = text.stdout.lines().next().unwrap();
    assert!(first.contains("findings in 2 of 2 sources"), "{first}");
    let heading_a = format!("== {}", path_str(&a));
    let heading_b = format!("== {}", path_str(&b));
    let (at_a, at_b) = (
        text.stdout.find(&heading_a).unwrap(),
        text.stdout.find(&heading_b).unwrap(),
    );
    assert!(at_a < at_b);
    assert!(text.stdout[at_a..at_b].contains(APP_A));
    assert!(!text.stdout[at_a..at_b].contains(APP_B));
    assert!(text.stdout[at_b..].contains(APP_B));
    let md = run(arm_kb().args(["match", "--format", "markdown", path_str(&a), path_str(&b)]));
    assert!(
        md.stdout.contains(&format!("## `{}`", path_str(&b))),
        "{}",
        md.stdout
    );
}

#[test]
fn a_folder_is_walked_in_path_order_with_notes_for_what_is_skipped() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("Deploy web")).unwrap();
    fs::create_dir_all(root.join(".cache")).unwrap();
    fs::write(root.join("Deploy web/2_AzureCLI.txt"), secret_log_b()).unwrap();
    fs::write(root.join("1_infra.txt.gz"), gzip(SECRET_LOG.as_bytes())).unwrap();
    fs::write(root.join(".cache/old.log"), SECRET_LOG).unwrap();
    fs::write(root.join("agent.bin"), b"\x7fELF\0\0\0\x02").unwrap();
    let out = run(arm_kb().args(["match", "--format", "json", path_str(root)]));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let report = json(&out);
    let shown = |p: &str| root.join(p).display().to_string();
    assert_eq!(
        secret_findings(&report),
        [
            (shown("1_infra.txt.gz"), APP_A.to_owned()),
            (shown("Deploy web/2_AzureCLI.txt"), APP_B.to_owned())
        ]
    );
    assert!(
        out.stderr
            .contains(&format!("skipped {}: hidden", shown(".cache"))),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("skipped {}: binary file", shown("agent.bin"))),
        "{}",
        out.stderr
    );
}

#[test]
fn the_download_logs_zip_is_read_member_by_member() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("logs_4521.zip");
    let gz = gzip(secret_log_b().as_bytes());
    fs::write(
        &path,
        zip(&[
            (
                "Build infra/1_Initialize job.txt",
                b"Starting: Initialize job\n",
            ),
            (
                "Build infra/3_Deploy infra (Azure CLI).txt",
                SECRET_LOG.as_bytes(),
            ),
            ("Deploy web/2_AzureCLI.txt.gz", &gz),
        ]),
    )
    .unwrap();
    let out = run(arm_kb().args(["match", "--format", "json", path_str(&path)]));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let report = json(&out);
    let zip_name = path_str(&path);
    assert_eq!(
        secret_findings(&report),
        [
            (
                format!("{zip_name}!Build infra/3_Deploy infra (Azure CLI).txt"),
                APP_A.to_owned()
            ),
            (
                format!("{zip_name}!Deploy web/2_AzureCLI.txt.gz"),
                APP_B.to_owned()
            )
        ]
    );
    assert_eq!(sources(&report).len(), 3);
    // Line numbers are the member's own.
    let line = report["findings"][0]["evidence"][0]["line"]
        .as_u64()
        .unwrap();
    assert!(line <= 12, "{line}");
}

#[test]
fn utf16_logs_with_and_without_bom_are_read() {
    let dir = TempDir::new().unwrap();
    let mut be = vec![0xfe, 0xff];
    be.extend(SECRET_LOG.encode_utf16().flat_map(u16::to_be_bytes));
    let cases = [
        ("le-bom.log", utf16le(SECRET_LOG, true)),
        ("le.log", utf16le(SECRET_LOG, false)),
        ("be-bom.log", be),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let out = run(arm_kb().args(["match", "--format", "json", path_str(&path)]));
        assert_eq!(out.status, 0, "{name}: {}", out.stderr);
        assert_eq!(
            secret_findings(&json(&out)),
            [(path_str(&path).to_owned(), APP_A.to_owned())],
            "{name}"
        );
    }
}

#[test]
fn standard_input_mixes_with_files_as_dash() {
    let dir = TempDir::new().unwrap();
    let b = dir.path().join("web.log");
    fs::write(&b, secret_log_b()).unwrap();
    let out = run(arm_kb()
        .args(["match", "--format", "json", "-", path_str(&b)])
        .write_stdin(gzip(SECRET_LOG.as_bytes())));
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        secret_findings(&json(&out)),
        [
            ("-".to_owned(), APP_A.to_owned()),
            (path_str(&b).to_owned(), APP_B.to_owned())
        ]
    );
    // Standard input alone is the source `-`.
    let out = run(arm_kb()
        .args(["match", "--format", "json"])
        .write_stdin(SECRET_LOG));
    assert_eq!(
        secret_findings(&json(&out)),
        [("-".to_owned(), APP_A.to_owned())]
    );
    assert!(
        !out.stderr.contains("standard input"),
        "no hint in a pipe: {}",
        out.stderr
    );
}

#[test]
fn unreadable_inputs_are_named_and_the_others_still_reported_with_exit_2() {
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("good.log");
    fs::write(&good, SECRET_LOG).unwrap();
    let corrupt_gz = dir.path().join("cut.log.gz");
    let mut cut = gzip(SECRET_LOG.repeat(50).as_bytes());
    cut.truncate(60);
    fs::write(&corrupt_gz, cut).unwrap();
    let corrupt_zip = dir.path().join("logs.zip");
    fs::write(&corrupt_zip, b"PK\x03\x04 this is no zip").unwrap();
    let missing = dir.path().join("missing.log");
    let args = [
        path_str(&missing),
        path_str(&corrupt_gz),
        path_str(&corrupt_zip),
        path_str(&good),
    ];
    let out = run(arm_kb().args(["match", "--format", "json"]).args(args));
    assert_eq!(out.status, 2, "{}", out.stderr);
    for bad in &args[..3] {
        assert!(
            out.stderr.contains(&format!("arm-kb: {bad}: ")),
            "{bad}: {}",
            out.stderr
        );
    }
    let report = json(&out);
    assert_eq!(
        secret_findings(&report),
        [(path_str(&good).to_owned(), APP_A.to_owned())]
    );
    let listed = sources(&report);
    assert_eq!(listed.len(), 4);
    assert!(
        listed[..3].iter().all(|(_, _, e)| e.is_some()),
        "{listed:?}"
    );
    assert!(
        listed[1].2.as_deref().unwrap().contains("gzip"),
        "{listed:?}"
    );
    assert!(
        listed[2].2.as_deref().unwrap().contains("zip"),
        "{listed:?}"
    );
    assert!(listed[3].2.is_none());
    // Text says so too, and never calls an unread input "no finding".
    let text = run(arm_kb().arg("match").args(args));
    assert_eq!(text.status, 2);
    assert!(
        text.stdout.contains("not read to the end"),
        "{}",
        text.stdout
    );
    let no_finding = text
        .stdout
        .split("no finding in:")
        .nth(1)
        .unwrap_or_default();
    assert!(!no_finding.contains("missing.log"), "{}", text.stdout);
}

#[test]
fn grep_style_flags_list_count_and_limit() {
    let dir = TempDir::new().unwrap();
    let (a, b, clean) = (
        dir.path().join("a.log"),
        dir.path().join("b.log"),
        dir.path().join("clean.log"),
    );
    fs::write(&a, SECRET_LOG).unwrap();
    fs::write(&b, secret_log_b()).unwrap();
    fs::write(&clean, "all good\n").unwrap();
    let files = [path_str(&a), path_str(&clean), path_str(&b)];
    let listed = run(arm_kb().args(["match", "-l"]).args(files));
    assert_eq!(listed.status, 0);
    assert_eq!(listed.stdout, format!("{}\n{}\n", files[0], files[2]));
    let counted = run(arm_kb().args(["match", "--count"]).args(files));
    let counts: Vec<&str> = counted.stdout.lines().collect();
    assert_eq!(counts.len(), 3);
    assert_eq!(counts[1], format!("{}:0", files[1]));
    let single = run(arm_kb().args(["match", "-c", files[1]]));
    assert_eq!((single.status, single.stdout.as_str()), (1, "0\n"));
    let limited = run(arm_kb()
        .args(["match", "--format", "json", "--max-findings", "1"])
        .args(files));
    let report = json(&limited);
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
    let total: u64 = sources(&report).iter().map(|(_, n, _)| n).sum();
    assert_eq!(total, 1);
}

#[test]
fn a_log_with_carriage_return_line_ends_has_its_lines() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("cr.log");
    let cr = format!("{}{}", SECRET_LOG, secret_log_b()).replace('\n', "\r");
    fs::write(&path, cr).unwrap();
    let out = run(arm_kb().args(["match", "--format", "json", path_str(&path)]));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let report = json(&out);
    assert_eq!(report["stats"]["lines"], 24);
    let f = &report["findings"][0];
    assert_eq!(f["article"], "sp-secret-expired");
    assert!(f["evidence_total"].as_u64().unwrap() >= 3, "{f}");
}

// ---------------------------------------------------------------------------------------
// `match --build URL` against a local server that answers as Azure DevOps does.

#[derive(Clone, Debug)]
struct Request {
    path: String,
    authorization: Option<String>,
}

/// What the server answers: status, content type, extra headers, body.
type Answer = (u16, &'static str, Vec<(String, String)>, Vec<u8>);

struct Server {
    base: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    /// Serves `answer(path, nth request for that path)` on a loopback port, until the test
    /// process ends (each connection is closed after one answer).
    fn start(answer: impl Fn(&str, usize) -> Answer + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for stream in listener.incoming().take(200) {
                let Ok(stream) = stream else { continue };
                let Some(request) = read_request(&stream) else {
                    continue;
                };
                let n = counts.entry(request.path.clone()).or_default();
                *n += 1;
                let (status, content_type, headers, body) = answer(&request.path, *n);
                seen.lock().unwrap().push(request);
                let mut stream = stream;
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Server { base, requests }
    }

    fn url(&self, build: u64) -> String {
        format!(
            "{}/contoso/Web/_build/results?buildId={build}&view=logs",
            self.base
        )
    }

    fn paths(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.path.clone())
            .collect()
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let path = first.split_whitespace().nth(1)?.to_owned();
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_owned());
            }
        }
    }
    Some(Request {
        path,
        authorization,
    })
}

fn timeline() -> Vec<u8> {
    serde_json::json!({
        "count": 9,
        "value": null,
        "records": [
            {"id": "t-web", "parentId": "j-web", "type": "Task", "name": "AzureWebApp", "result": "failed", "order": 2, "log": {"id": 12, "type": "Container", "url": "x"}},
            {"id": "s", "parentId": null, "type": "Stage", "name": "__default", "result": "failed", "order": 1, "log": null},
            {"id": "p-infra", "parentId": "s", "type": "Phase", "name": "Deploy infra", "order": 1},
            {"id": "j-infra", "parentId": "p-infra", "type": "Job", "name": "Deploy infra", "result": "failed", "order": 1, "log": {"id": 3}},
            {"id": "p-web", "parentId": "s", "type": "Phase", "name": "Deploy web", "order": 2},
            {"id": "j-web", "parentId": "p-web", "type": "Job", "name": "Deploy web", "result": "failed", "order": 1, "log": {"id": 4}},
            {"id": "t-checkout", "parentId": "j-infra", "type": "Task", "name": "Checkout", "result": "succeeded", "order": 1, "log": {"id": 10}},
            {"id": "t-cli", "parentId": "j-infra", "type": "Task", "name": "AzureCLI", "result": "failed", "order": 2, "log": {"id": 11}},
            {"id": "t-skip", "parentId": "j-web", "type": "Task", "name": "Smoke test", "result": "skipped", "order": 3, "log": null}
        ]
    })
    .to_string()
    .into_bytes()
}

const SIGN_IN_PAGE: &str = "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body>Sign in</body></html>";

/// Build 7: the run above. 8: the 203 sign-in page. 9: 404. 10: 429 twice, then the run.
/// 11: 401.
fn devops(path: &str, nth: usize) -> Answer {
    let json = "application/json; charset=utf-8";
    let plain = "text/plain; charset=utf-8";
    let api = "/contoso/Web/_apis/build/builds/";
    let Some(rest) = path.strip_prefix(api) else {
        return (404, plain, vec![], b"not found".to_vec());
    };
    if !rest.ends_with("?api-version=7.1") {
        return (400, plain, vec![], b"api-version".to_vec());
    }
    let rest = rest.trim_end_matches("?api-version=7.1");
    match rest {
        "7/timeline" => (200, json, vec![], timeline()),
        "8/timeline" => (203, "text/html; charset=utf-8", vec![], SIGN_IN_PAGE.into()),
        "10/timeline" if nth <= 2 => (
            429,
            plain,
            vec![("Retry-After".into(), "1".into())],
            b"slow down".to_vec(),
        ),
        "10/timeline" => (200, json, vec![], timeline()),
        "11/timeline" => (401, plain, vec![], b"".to_vec()),
        "7/logs/11" | "10/logs/11" => (200, plain, vec![], SECRET_LOG.into()),
        "7/logs/12" | "10/logs/12" => (200, plain, vec![], secret_log_b().into_bytes()),
        "7/logs/10" | "10/logs/10" => (200, plain, vec![], b"checkout done\n".to_vec()),
        _ => (404, json, vec![], br#"{"message":"not found"}"#.to_vec()),
    }
}

#[test]
fn a_run_by_its_url_reads_the_failed_tasks_logs_with_the_job_token() {
    let server = Server::start(devops);
    let out = run(arm_kb()
        .args(["match", "--format", "json", "--build", &server.url(7)])
        .env("SYSTEM_ACCESSTOKEN", TOKEN));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let report = json(&out);
    assert_eq!(
        secret_findings(&report),
        [
            ("Deploy infra / AzureCLI".to_owned(), APP_A.to_owned()),
            ("Deploy web / AzureWebApp".to_owned(), APP_B.to_owned())
        ]
    );
    // The timeline first; the logs are then fetched by the workers that scan them, in
    // whatever order they start.
    let mut paths = server.paths();
    if let Some(logs) = paths.get_mut(1..) {
        logs.sort();
    }
    assert_eq!(
        paths,
        [
            "/contoso/Web/_apis/build/builds/7/timeline?api-version=7.1",
            "/contoso/Web/_apis/build/builds/7/logs/11?api-version=7.1",
            "/contoso/Web/_apis/build/builds/7/logs/12?api-version=7.1",
        ]
        .map(String::from),
        "only the failed tasks' logs are fetched"
    );
    let auth: Vec<Option<String>> = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.authorization.clone())
        .collect();
    assert!(
        auth.iter()
            .all(|a| a.as_deref() == Some(&format!("Bearer {TOKEN}"))),
        "{auth:?}"
    );
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));

    // --all-logs reads the succeeded task's log too; the text groups by task.
    let server = Server::start(devops);
    let out = run(arm_kb()
        .args(["match", "--all-logs", "--build", &server.url(7)])
        .env("SYSTEM_ACCESSTOKEN", TOKEN));
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        server
            .paths()
            .iter()
            .any(|p| p.ends_with("/logs/10?api-version=7.1"))
    );
    assert!(
        out.stdout.contains("== Deploy web / AzureWebApp"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Deploy infra / Checkout"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_pat_is_sent_as_basic_and_retry_after_is_honoured() {
    use base64::Engine as _;
    let server = Server::start(devops);
    let started = std::time::Instant::now();
    let out = run(arm_kb()
        .args(["match", "--format", "json", "--build", &server.url(10)])
        .env("AZURE_DEVOPS_EXT_PAT", PAT));
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited as Retry-After said"
    );
    assert_eq!(secret_findings(&json(&out)).len(), 2);
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(":{PAT}"))
    );
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 5, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&expected))
    );
    assert!(!out.stdout.contains(PAT) && !out.stderr.contains(PAT));
    assert!(!out.stderr.contains(&expected[6..]));
}

#[test]
fn refused_answers_are_clear_errors_with_exit_2_and_no_token() {
    let server = Server::start(devops);
    let local = TempDir::new().unwrap();
    let good = local.path().join("good.log");
    fs::write(&good, SECRET_LOG).unwrap();
    for (build, words) in [(8, "sign-in page"), (9, "404"), (11, "401")] {
        for format in ["text", "json"] {
            let out = run(arm_kb()
                .args(["match", "--format", format, "--build", &server.url(build)])
                .arg(&good)
                .env("SYSTEM_ACCESSTOKEN", TOKEN));
            assert_eq!(out.status, 2, "{build}: {}", out.stderr);
            assert!(out.stderr.contains(words), "{build}: {}", out.stderr);
            // The local file is still scanned and reported.
            assert!(
                out.stdout.contains("sp-secret-expired"),
                "{build}: {}",
                out.stdout
            );
            for text in [&out.stdout, &out.stderr] {
                assert!(!text.contains(TOKEN), "{build}: token printed: {text}");
            }
        }
    }
    // No token: a clear error naming both variables, nothing fetched.
    let requests_before = server.paths().len();
    let out = run(arm_kb().args(["match", "--build", &server.url(7)]));
    assert_eq!(out.status, 2);
    assert!(
        out.stderr.contains("SYSTEM_ACCESSTOKEN") && out.stderr.contains("AZURE_DEVOPS_EXT_PAT"),
        "{}",
        out.stderr
    );
    assert_eq!(server.paths().len(), requests_before);
    // A token never goes over plain http to another host.
    let out = run(arm_kb()
        .args([
            "match",
            "--build",
            "http://devops.contoso.example/c/Web/_build/results?buildId=1",
        ])
        .env("SYSTEM_ACCESSTOKEN", TOKEN));
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("https"), "{}", out.stderr);
    assert!(!out.stderr.contains(TOKEN));
}

#[test]
fn a_server_that_does_not_answer_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/contoso/Web/_build/results?buildId=7",
        listener.local_addr().unwrap()
    );
    // Accepts and holds connections without a word.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(10) {
            held.push(stream);
        }
    });
    let config = arm_kb::input::devops::ClientConfig {
        timeout: Duration::from_secs(1),
        retries: 0,
        max_retry_wait: Duration::from_secs(1),
    };
    let var = |name: &str| (name == "SYSTEM_ACCESSTOKEN").then(|| TOKEN.to_owned());
    let e = arm_kb::input::devops::build_sources(&url, false, var, config).unwrap_err();
    let message = e.to_string();
    assert!(message.contains("no answer within 1 s"), "{message}");
    assert!(!message.contains(TOKEN));
}

// ---------------------------------------------------------------------------------------
// The pipeline template.

#[test]
fn the_pipeline_template_runs_on_failure_with_the_job_token() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        fs::read_to_string(root.join("integrations/azure-pipelines/explain-failure.yml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).unwrap();
    let doc = &docs[0];
    let steps = doc["steps"].as_vec().expect("a steps template");
    assert_eq!(steps.len(), 1);
    let step = &steps[0];
    assert_eq!(step["condition"].as_str(), Some("failed()"));
    assert_eq!(step["continueOnError"].as_bool(), Some(true));
    assert_eq!(
        step["env"]["SYSTEM_ACCESSTOKEN"].as_str(),
        Some("$(System.AccessToken)")
    );
    let script = step["bash"].as_str().expect("a bash step");
    for needle in [
        "match --build \"$(System.CollectionUri)$(System.TeamProject)/_build/results?buildId=$(Build.BuildId)\"",
        "--format azure-devops",
        "--summary",
        "command -v arm-kb",
        "parameters.installCommand",
    ] {
        assert!(script.contains(needle), "{needle} not in:\n{script}");
    }
    for p in doc["parameters"].as_vec().expect("parameters") {
        assert!(
            p["name"].as_str().is_some() && !p["default"].is_badvalue(),
            "{p:?}"
        );
    }
    // The README shows the three lines, not a curl loop.
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("- template: integrations/azure-pipelines/explain-failure.yml"));
    assert!(!readme.contains("curl -sSf"));
}
