//! What the integration tests share: the binary with a clean environment ([`arm_kb`]), a
//! builder for one run of it ([`Test`], in the style of just's tests), and the reference
//! matcher ([`oracle`]).

#![allow(dead_code)]

pub mod oracle;

use std::ffi::OsString;
use std::fs;
use std::path::Path;

use tempfile::TempDir;

/// Variables that would change what the binary does: knowledge roots, colour, CI.
const ENVIRONMENT: [&str; 9] = [
    "ARM_KB_PATH",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "CI",
    "TF_BUILD",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "TERM",
];

/// The `arm-kb` binary, run from the crate's folder, with none of [`ENVIRONMENT`] set.
pub fn arm_kb() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("arm-kb").expect("the binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for var in ENVIRONMENT {
        cmd.env_remove(var);
    }
    cmd
}

/// A file of the crate (fixtures, examples).
pub fn in_crate(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// What one run printed.
#[derive(Debug)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Runs `cmd`; its exit status and output, which must be UTF-8.
    pub fn of(cmd: &mut assert_cmd::Command) -> Output {
        let out = cmd.output().expect("the binary runs");
        Output {
            status: out.status.code().expect("exited normally"),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is JSON ({e}):\n{}", self.stdout))
    }
}

/// One run of the binary in a temporary folder: knowledge roots written into it, then
/// arguments, standard input, and what must come out.
///
/// ```ignore
/// Test::new()
///     .root("team")
///     .article("app-missing", ARTICLE)
///     .rules("app-missing", RULES)
///     .args(["match"])
///     .stdin("AADSTS700016 ...")
///     .status(0)
///     .stdout_contains("App missing")
///     .run();
/// ```
pub struct Test {
    dir: TempDir,
    /// The roots, in order (each becomes `--kb NAME`).
    roots: Vec<String>,
    builtin: bool,
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    status: i32,
    stdout: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
}

impl Default for Test {
    fn default() -> Self {
        Test::new()
    }
}

impl Test {
    /// No root yet, the built-in knowledge base on, no colour, exit status 0 expected.
    pub fn new() -> Test {
        Test {
            dir: TempDir::new().expect("a temporary folder"),
            roots: Vec::new(),
            builtin: true,
            args: Vec::new(),
            stdin: None,
            status: 0,
            stdout: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
        }
    }

    /// Adds a knowledge root `name/` (with `kb/` and `rules/`); `article` and `rules` write
    /// into the last one. Any root turns the built-in knowledge base off.
    pub fn root(mut self, name: &str) -> Test {
        fs::create_dir_all(self.dir.path().join(name).join("kb")).unwrap();
        fs::create_dir_all(self.dir.path().join(name).join("rules")).unwrap();
        self.roots.push(name.to_owned());
        self.builtin = false;
        self
    }

    fn last_root(&self) -> &str {
        self.roots.last().expect("a root: call .root() first")
    }

    /// `kb/<id>.md` in the last root.
    pub fn article(self, id: &str, text: &str) -> Test {
        let path = format!("{}/kb/{id}.md", self.last_root());
        self.file(&path, text)
    }

    /// `rules/<name>.toml` in the last root.
    pub fn rules(self, name: &str, text: &str) -> Test {
        let path = format!("{}/rules/{name}.toml", self.last_root());
        self.file(&path, text)
    }

    /// Any file in the test's folder (a log, say).
    pub fn file(self, path: &str, contents: impl AsRef<[u8]>) -> Test {
        let path = self.dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
        self
    }

    /// Keeps the built-in knowledge base beside the roots.
    pub fn with_builtin(mut self) -> Test {
        self.builtin = true;
        self
    }

    pub fn args<S: Into<OsString>>(mut self, args: impl IntoIterator<Item = S>) -> Test {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Test {
        self.stdin = Some(bytes.into());
        self
    }

    /// The exit status the run must end with (0 unless told).
    pub fn status(mut self, status: i32) -> Test {
        self.status = status;
        self
    }

    /// The whole of standard output.
    pub fn stdout(mut self, expected: &str) -> Test {
        self.stdout = Some(expected.to_owned());
        self
    }

    pub fn stdout_contains(mut self, part: &str) -> Test {
        self.stdout_contains.push(part.to_owned());
        self
    }

    pub fn stderr_contains(mut self, part: &str) -> Test {
        self.stderr_contains.push(part.to_owned());
        self
    }

    /// Runs the binary in the test's folder and checks what was asked for.
    pub fn run(self) -> Output {
        let mut cmd = arm_kb();
        cmd.current_dir(self.dir.path()).args(["--color", "never"]);
        if !self.builtin {
            cmd.arg("--no-builtin");
        }
        for root in &self.roots {
            cmd.arg("--kb").arg(root);
        }
        cmd.args(&self.args);
        if let Some(input) = &self.stdin {
            cmd.write_stdin(input.clone());
        }
        let out = cmd.output().expect("the binary runs");
        let output = Output {
            status: out.status.code().expect("exited, not killed"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let shown = || {
            format!(
                "{:?}\nstdout:\n{}\nstderr:\n{}",
                self.args, output.stdout, output.stderr
            )
        };
        assert_eq!(output.status, self.status, "exit status of {}", shown());
        if let Some(expected) = &self.stdout {
            assert_eq!(&output.stdout, expected, "stdout of {}", shown());
        }
        for part in &self.stdout_contains {
            assert!(
                output.stdout.contains(part.as_str()),
                "{part:?} in stdout of {}",
                shown()
            );
        }
        for part in &self.stderr_contains {
            assert!(
                output.stderr.contains(part.as_str()),
                "{part:?} in stderr of {}",
                shown()
            );
        }
        output
    }
}

/// The bytes of a gzip file holding `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, bytes).unwrap();
    gz.finish().unwrap()
}

/// The bytes of a zip archive with these members (deflated).
pub fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(*name, options).unwrap();
        std::io::Write::write_all(&mut zip, bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// `text` as UTF-16LE, as Windows PowerShell 5.1 writes it (with or without a BOM).
pub fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let mut out = if bom { vec![0xff, 0xfe] } else { Vec::new() };
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}
