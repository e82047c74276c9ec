//! Hostile log input: binary data, broken encodings, huge lines, odd line ends, terminal
//! control codes, and inputs that are not regular files. Whatever comes in, `arm-kb match`
//! must not panic, must keep its memory bounded, and must still find the error.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// An error line every build of the built-in knowledge base classifies.
const ERROR_LINE: &str = "##[error]Script failed with error: ERROR: AADSTS7000222: The provided client secret keys for app '***' are expired.";
const ARTICLE: &str = "sp-secret-expired";
/// Exit status of a panicking Rust program.
const PANIC_EXIT: i32 = 101;

fn arm_kb() -> Command {
    let mut cmd = crate::util::arm_kb();
    cmd.env_remove("ARM_KB_PATH").env("NO_COLOR", "1");
    cmd
}

/// Runs `match --format json` on `stdin`; returns the exit code and the parsed report.
fn match_stdin(stdin: impl Into<Vec<u8>>) -> (i32, Value) {
    let output = arm_kb()
        .args(["match", "--format", "json"])
        .write_stdin(stdin.into())
        .output()
        .expect("arm-kb runs");
    report_of(&output)
}

fn report_of(output: &std::process::Output) -> (i32, Value) {
    let code = output.status.code().expect("arm-kb exits normally");
    assert_ne!(
        code,
        PANIC_EXIT,
        "arm-kb panicked: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (code, report)
}

/// The finding for `article`, if the report has one.
fn finding<'r>(report: &'r Value, article: &str) -> Option<&'r Value> {
    report["findings"]
        .as_array()
        .expect("findings is a list")
        .iter()
        .find(|f| f["article"] == article)
}

/// The evidence of the expected finding: `(line, text)` pairs.
fn evidence(report: &Value) -> Vec<(u64, String)> {
    let f =
        finding(report, ARTICLE).unwrap_or_else(|| panic!("no `{ARTICLE}` finding in {report:#}"));
    f["evidence"]
        .as_array()
        .expect("evidence is a list")
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().expect("line is a number"),
                e["text"].as_str().expect("text is a string").to_owned(),
            )
        })
        .collect()
}

/// Deterministic pseudo-random bytes (xorshift64*), so a failure can be replayed.
fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

#[test]
fn random_binary_data_around_an_error_line() {
    for seed in [1, 0x5eed, 0xdead_beef] {
        let mut log = random_bytes(1 << 20, seed);
        log.push(b'\n');
        let error_line_no = count_newlines(&log) + 1;
        log.extend_from_slice(ERROR_LINE.as_bytes());
        log.push(b'\n');
        log.extend(random_bytes(1 << 20, seed + 1));
        let (code, report) = match_stdin(log);
        assert_eq!(code, 0, "seed {seed}: {report:#}");
        assert_eq!(
            evidence(&report),
            [(error_line_no, ERROR_LINE.to_owned())],
            "seed {seed}"
        );
    }
}

#[test]
fn random_binary_data_alone_is_no_match_not_a_crash() {
    let (code, report) = match_stdin(random_bytes(4 << 20, 42));
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["findings"], Value::Array(Vec::new()));
    assert_eq!(report["stats"]["bytes"], 4 << 20);
}

#[test]
fn invalid_utf8_on_and_around_the_error_line() {
    let mut log = b"\xff\xfe\xfd not text \xc0\x80\n".to_vec();
    log.extend_from_slice(b"\xe2\x82 \xc3\x28 ");
    log.extend_from_slice(ERROR_LINE.as_bytes());
    log.extend_from_slice(b" \xf0\x9f\x98\n\xed\xa0\x80 surrogate\n");
    let (code, report) = match_stdin(log);
    assert_eq!(code, 0, "{report:#}");
    let found = evidence(&report);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 2);
    let text = &found[0].1;
    assert!(text.contains(ERROR_LINE), "{text:?}");
    // Undecodable bytes are shown as replacement characters, never passed through.
    assert!(text.starts_with('\u{FFFD}'), "{text:?}");
}

#[test]
fn nul_bytes_in_the_log() {
    let mut log = vec![0u8; 64 << 10];
    log.push(b'\n');
    log.extend_from_slice(b"\0\0");
    log.extend_from_slice(ERROR_LINE.as_bytes());
    log.extend_from_slice(b"\0\n\0\0\0");
    let (code, report) = match_stdin(log);
    assert_eq!(code, 0, "{report:#}");
    let found = evidence(&report);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 2);
    // NUL is a control character: shown as a replacement character, never raw.
    assert!(!found[0].1.contains('\0'), "{:?}", found[0].1);
    assert!(found[0].1.contains(ERROR_LINE), "{:?}", found[0].1);
}

#[test]
fn ansi_colour_and_cursor_codes_inside_the_error_message() {
    let log = "\x1b[36mStarting: AzureCLI\x1b[0m\n\
               \x1b[2K\x1b[1G\x1b[31;1m##[error]\x1b[0mScript failed with error: ERROR: AADS\x1b[1mTS70\x1b[22m00222: \
               The provided client \x1b[3Dsecret keys for app '\x1b[38;5;196m***\x1b[39m' are expired.\x1b[K\n\
               \x1b]8;;https://aka.ms/x\x07link\x1b]8;;\x07\n";
    let (code, report) = match_stdin(log);
    assert_eq!(code, 0, "{report:#}");
    let found = evidence(&report);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0], (2, ERROR_LINE.to_owned()));
}

#[test]
fn crlf_line_ends() {
    let log = format!("first\r\n{ERROR_LINE}\r\nlast\r\n");
    let (code, report) = match_stdin(log.clone());
    assert_eq!(code, 0, "{report:#}");
    // The CR is a line end, not part of the evidence.
    assert_eq!(evidence(&report), [(2, ERROR_LINE.to_owned())]);
    assert_eq!(report["stats"]["lines"], 3);
    assert_eq!(report["stats"]["bytes"], log.len());
}

#[test]
fn cr_only_line_ends_are_line_ends() {
    // Progress output and some old tools end lines with a bare CR and never write a `\n`:
    // each CR ends a line, as it does for the pipeline runners, so every error is found
    // and the evidence is its own line, not megabytes of unrelated segments.
    let mut log = String::new();
    for i in 0..100_000 {
        log.push_str(&format!("Downloading artifact... {i}%\r"));
    }
    log.push_str(ERROR_LINE);
    log.push('\r');
    for i in 0..100 {
        log.push_str(&format!("cleanup step {i}\r"));
    }
    assert!(log.len() > 2 << 20);
    let (code, report) = match_stdin(log);
    assert_eq!(code, 0, "{report:#}");
    let found = evidence(&report);
    assert_eq!(found.len(), 1);
    let (line, text) = &found[0];
    // A log with no `\n` has its lone `\r` read as line ends.
    assert_eq!(*line, 100_001);
    assert!(text.contains(ERROR_LINE), "{text:?}");
    assert!(!text.contains("Downloading"), "{text:?}");
    assert!(!text.contains("cleanup"), "{text:?}");
}

#[test]
fn a_72_mib_line_with_the_error_at_its_end() {
    const SIZE: usize = 72 << 20;
    let mut log = b"preamble\n".to_vec();
    log.reserve(SIZE + ERROR_LINE.len() + 32);
    let filler = b"0123456789abcdef retry ";
    while log.len() < SIZE {
        log.extend_from_slice(filler);
    }
    log.extend_from_slice(ERROR_LINE.as_bytes());
    log.extend_from_slice(b"\nafter\n");
    let total = log.len();
    let started = Instant::now();
    // Bounded memory: under an address-space limit smaller than the line itself, a
    // scanner that buffered the whole line would abort.
    let output = limited_memory_command(64 << 20)
        .write_stdin(log)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("arm-kb runs");
    let elapsed = started.elapsed();
    let (code, report) = report_of(&output);
    assert_eq!(
        code,
        0,
        "{report:#} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found = evidence(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    let (line, text) = &found[0];
    assert_eq!(*line, 2);
    // The evidence is cut for display, with a marker, but keeps the match.
    assert!(text.contains("AADSTS7000222"), "{text:?}");
    assert!(text.starts_with("[…"), "{text:?}");
    assert!(
        text.chars().count() < 1_000,
        "{} chars",
        text.chars().count()
    );
    assert_eq!(report["stats"]["bytes"], total);
    assert_eq!(report["stats"]["lines"], 3);
    eprintln!("72 MiB line scanned in {elapsed:?}");
}

/// `arm-kb match --format json` reading stdin, under an address-space limit where the
/// platform allows setting one from a shell.
fn limited_memory_command(bytes: u64) -> Command {
    let bin = assert_cmd::cargo::cargo_bin("arm-kb");
    if cfg!(target_os = "linux") && Path::new("/bin/sh").exists() {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(format!(
                "ulimit -v {} && exec \"$0\" match --format json",
                bytes / 1024
            ))
            .arg(bin)
            .env_remove("ARM_KB_PATH")
            .env("NO_COLOR", "1");
        cmd
    } else {
        let mut cmd = arm_kb();
        cmd.args(["match", "--format", "json"]);
        cmd
    }
}

#[test]
fn evidence_of_a_long_line_keeps_the_match_in_view() {
    // Long lines are cut for display around the match, never before it.
    for (prefix_len, suffix_len) in [(1_000, 0), (1_000, 5_000), (300_000, 10), (0, 300_000)] {
        let log = format!(
            "{}{ERROR_LINE}{}\n",
            "é ".repeat(prefix_len / 3),
            " x".repeat(suffix_len / 2)
        );
        let (code, report) = match_stdin(log);
        assert_eq!(code, 0, "{report:#}");
        let found = evidence(&report);
        assert_eq!(found.len(), 1);
        let text = &found[0].1;
        assert!(
            text.contains("AADSTS7000222"),
            "{prefix_len}/{suffix_len}: {text:?}"
        );
        assert!(
            text.chars().count() < 500,
            "{prefix_len}/{suffix_len}: {text:?}"
        );
        assert_eq!(prefix_len > 0, text.starts_with("[…"), "{text:?}");
        assert_eq!(suffix_len > 1_000, text.ends_with("bytes]"), "{text:?}");
    }
}

#[test]
fn empty_input_is_no_match() {
    let (code, report) = match_stdin(Vec::new());
    assert_eq!(code, 1);
    assert_eq!(report["findings"], Value::Array(Vec::new()));
    assert_eq!(report["stats"]["bytes"], 0);
    assert_eq!(report["stats"]["lines"], 0);

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    let output = arm_kb()
        .args(["match", "--format", "json"])
        .arg(&empty)
        .output()
        .unwrap();
    let (code, report) = report_of(&output);
    assert_eq!(code, 1);
    assert_eq!(report["findings"], Value::Array(Vec::new()));
}

/// A log with the error, and the scan of other (bad) paths next to it: every bad path is
/// named on stderr, the exit status is 2, and the good log's finding is still printed.
fn assert_bad_paths_are_named(bad: &[&Path]) {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.log");
    std::fs::write(&good, format!("ok\n{ERROR_LINE}\n")).unwrap();
    let output = arm_kb()
        .args(["match", "--format", "json"])
        .args(bad)
        .arg(&good)
        .output()
        .unwrap();
    let (code, report) = report_of(&output);
    assert_eq!(code, 2, "{report:#}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    for path in bad {
        assert!(
            stderr.contains(&path.display().to_string()),
            "stderr does not name {}: {stderr}",
            path.display()
        );
    }
    assert!(
        !stderr.contains(&good.display().to_string()),
        "the good log is not an error: {stderr}"
    );
    assert_eq!(evidence(&report), [(2, ERROR_LINE.to_owned())]);
}

#[test]
fn a_missing_file_is_an_error_naming_it_and_other_files_are_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    assert_bad_paths_are_named(&[&dir.path().join("no-such.log")]);
}

#[test]
fn a_directory_given_as_a_log_is_walked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.log"), format!("ok\n{ERROR_LINE}\n")).unwrap();
    let output = arm_kb()
        .args(["match", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let (code, report) = report_of(&output);
    assert_eq!(code, 0, "{report:#}");
}

#[cfg(unix)]
#[test]
fn a_file_that_vanished_behind_a_link_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("rotated.log");
    std::fs::write(&target, ERROR_LINE).unwrap();
    let link = dir.path().join("current.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    std::fs::remove_file(&target).unwrap();
    let missing = dir.path().join("gone.log");
    assert_bad_paths_are_named(&[&link, &missing]);
}

#[cfg(unix)]
#[test]
fn a_file_without_read_permission_is_an_error_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked.log");
    std::fs::write(&locked, ERROR_LINE).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&locked).is_ok() {
        // Running with privileges that ignore file modes: the file is readable, and
        // there is no unreadable file to test with.
        return;
    }
    assert_bad_paths_are_named(&[&locked]);
}

#[cfg(unix)]
#[test]
fn a_fifo_is_read_like_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipeline.log");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let writer_path = fifo.clone();
    // Opening a FIFO for writing blocks until the reader (arm-kb) opens it.
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(&writer_path)
            .expect("the FIFO opens for writing");
        for i in 0..1000 {
            writeln!(w, "step {i}").unwrap();
        }
        writeln!(w, "{ERROR_LINE}").unwrap();
        writeln!(w, "done").unwrap();
    });
    let output = arm_kb()
        .args(["match", "--format", "json"])
        .arg(&fifo)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    writer.join().expect("the writer finishes");
    let (code, report) = report_of(&output);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(evidence(&report), [(1001, ERROR_LINE.to_owned())]);
}
