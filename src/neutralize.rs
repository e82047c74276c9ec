//! Text that cannot command a pipeline runner.
//!
//! arm-kb prints lines taken from logs and from knowledge roots nobody vetted, often inside a
//! pipeline step. Both runners read their step's output line by line (.NET `ReadLine`, so a
//! bare `\r` ends a line too) and act on commands in it:
//! - the Azure Pipelines agent on `##vso[` anywhere in a line (case-insensitive);
//! - the GitHub Actions runner on `::name` at the start of a line (after white space) and,
//!   through its legacy parser, on `##[name` anywhere in a line.
//!
//! [`text`] rewrites those openings into look-alikes a person reads the same way (a
//! full-width `［` or `：`), for the formats people read. [`json`] rewrites them with JSON
//! escapes (`\u005b`), so a parser still decodes the exact text while the raw line is inert.
//! [`output`] applies one of them to every line of a whole output, and [`Stdout`] to all
//! that a command prints.
//! Both run on text that is already cleaned of escapes and control characters, so nothing
//! can reassemble a command afterwards.

use std::borrow::Cow;

/// What replaces `[` after `##vso` or `##`: reads as a bracket, is not one.
const INERT_BRACKET: char = '［';
/// What replaces the first `:` of a line-leading `::`.
const INERT_COLON: char = '：';

/// `line` (one line of output, no `\n` or `\r` in it) with every runner command opening
/// made inert.
pub fn text(line: &str) -> Cow<'_, str> {
    let leading_colons = {
        let trimmed = line.trim_start();
        trimmed
            .starts_with("::")
            .then(|| line.len() - trimmed.len())
    };
    let openings = command_openings(line);
    if leading_colons.is_none() && openings.is_empty() {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut last = 0;
    if let Some(at) = leading_colons {
        out.push_str(&line[..at]);
        out.push(INERT_COLON);
        last = at + 1;
    }
    for bracket in openings {
        out.push_str(&line[last..bracket]);
        out.push(INERT_BRACKET);
        last = bracket + 1;
    }
    out.push_str(&line[last..]);
    Cow::Owned(out)
}

/// Serialised JSON (any number of lines) with the `[` of every command opening written as
/// `\u005b`. `##` only occurs inside JSON strings, where the escape decodes to the same
/// text; a JSON line never starts with `::`.
pub fn json(serialized: &str) -> Cow<'_, str> {
    let openings = command_openings(serialized);
    if openings.is_empty() {
        return Cow::Borrowed(serialized);
    }
    let mut out = String::with_capacity(serialized.len() + 6 * openings.len());
    let mut last = 0;
    for bracket in openings {
        out.push_str(&serialized[last..bracket]);
        out.push_str("\\u005b");
        last = bracket + 1;
    }
    out.push_str(&serialized[last..]);
    Cow::Owned(out)
}

/// How a whole output is made inert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Text for people (text, Markdown, summary files): look-alike characters.
    Text,
    /// Serialised JSON: escapes that decode to the same text.
    Json,
    /// Logging commands of the CI formats: a line that is one of arm-kb's own commands
    /// (already escaped by its printer) is kept; any other line is treated as text.
    Ci,
}

/// The commands the CI formats write themselves, at the start of a line.
const OWN_COMMANDS: &[&str] = &[
    "##vso[task.logissue ",
    "##vso[task.uploadsummary]",
    "::error ",
    "::warning ",
    "::notice ",
];

/// One of arm-kb's own commands: the command itself (up to the `]` of `##vso[…]`, or
/// the `::` that ends a workflow command's properties) is kept; the message after it,
/// which a runner never parses for a second command, is made inert all the same.
fn own_command(line: &str) -> Cow<'_, str> {
    let head = if line.starts_with("##") {
        line.find(']').map(|i| i + 1)
    } else {
        line[2..].find("::").map(|i| i + 4)
    }
    .unwrap_or(line.len());
    let message = &line[head..];
    let openings = command_openings(message);
    if openings.is_empty() {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    out.push_str(&line[..head]);
    let mut last = 0;
    for bracket in openings {
        out.push_str(&message[last..bracket]);
        out.push(INERT_BRACKET);
        last = bracket + 1;
    }
    out.push_str(&message[last..]);
    Cow::Owned(out)
}

/// `output` (any number of lines; `\n`, `\r\n` and a bare `\r` each end one, as for the
/// runners) with every line made inert the way `mode` says.
pub fn output(mode: Mode, output: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut changed = false;
    for piece in output.split_inclusive(['\n', '\r']) {
        let line = piece.trim_end_matches(['\n', '\r']);
        let end = &piece[line.len()..];
        let inert = match mode {
            Mode::Json => json(line),
            Mode::Ci if OWN_COMMANDS.iter().any(|c| line.starts_with(c)) => own_command(line),
            Mode::Text | Mode::Ci => text(line),
        };
        changed |= matches!(inert, Cow::Owned(_));
        out.push_str(&inert);
        out.push_str(end);
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(output)
    }
}

/// Standard output that no runner can take commands from: what is written is styled for
/// the terminal (colours stripped when it is none), held, and made inert line by line
/// when [`Stdout::finish`] writes it. Outputs are small (a report, an article).
pub struct Stdout {
    mode: Mode,
    held: anstream::AutoStream<Vec<u8>>,
}

impl Stdout {
    pub fn new(mode: Mode) -> Self {
        let choice = anstream::AutoStream::choice(&std::io::stdout());
        Stdout {
            mode,
            held: anstream::AutoStream::new(Vec::new(), choice),
        }
    }

    /// Writes what was held to standard output, made inert.
    pub fn finish(self) -> std::io::Result<()> {
        use std::io::Write;
        let bytes = self.held.into_inner();
        let held = String::from_utf8_lossy(&bytes);
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(output(self.mode, &held).as_bytes())?;
        stdout.flush()
    }
}

impl std::io::Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.held.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Byte offsets of the `[` of every `##vso[` (any case) and `##[` in `s`.
fn command_openings(s: &str) -> Vec<usize> {
    let bytes = s.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(rel) = memchr::memmem::find(&bytes[from..], b"##") {
        let at = from + rel;
        let after = &bytes[at + 2..];
        if after.first() == Some(&b'[') {
            found.push(at + 2);
        } else if after.len() >= 4 && after[..3].eq_ignore_ascii_case(b"vso") && after[3] == b'[' {
            found.push(at + 5);
        }
        from = at + 1;
    }
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The commands a runner would run for `output`, as both runners parse lines.
    fn runner_commands(output: &str) -> Vec<String> {
        output
            .split(['\n', '\r'])
            .flat_map(|line| {
                let mut cmds = Vec::new();
                let lower = line.to_ascii_lowercase();
                if let Some(i) = lower.find("##vso[") {
                    cmds.push(format!("azure:{}", &line[i..]));
                }
                if let Some(i) = line.find("##[") {
                    cmds.push(format!("github-legacy:{}", &line[i..]));
                }
                if line.trim_start().starts_with("::") {
                    cmds.push(format!("github:{line}"));
                }
                cmds
            })
            .collect()
    }

    #[test]
    fn command_openings_become_inert_and_stay_readable() {
        let cases = [
            (
                "AADSTS7000222 ##vso[task.setvariable variable=X]evil",
                "AADSTS7000222 ##vso［task.setvariable variable=X]evil",
            ),
            (
                "##VSO[task.complete result=Succeeded;]",
                "##VSO［task.complete result=Succeeded;]",
            ),
            (
                "2025-03-04T09:12:03Z ##[error]Secret expired",
                "2025-03-04T09:12:03Z ##［error]Secret expired",
            ),
            ("   ::add-mask::secret", "   ：:add-mask::secret"),
            ("###[x] and ##vso[a] ##[b]", "###［x] and ##vso［a] ##［b]"),
        ];
        for (line, want) in cases {
            let got = text(line);
            assert_eq!(got, want);
            assert!(runner_commands(&got).is_empty(), "{got}");
            assert!(!runner_commands(line).is_empty(), "{line}");
        }
    }

    #[test]
    fn ordinary_text_is_borrowed() {
        for line in ["a :: b", "#1 [x]", "C# [attr]", "https://x/#/a"] {
            assert!(matches!(text(line), Cow::Borrowed(_)), "{line}");
            assert!(matches!(json(line), Cow::Borrowed(_)), "{line}");
        }
    }

    #[test]
    fn json_stays_exact_for_a_parser() {
        let value = serde_json::json!({
            "text": "x ##vso[task.prependpath]/tmp ##[error]y ::add-mask::z",
            "list": ["##VSO[task.complete]"],
        });
        for serialized in [
            serde_json::to_string(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap(),
        ] {
            let inert = json(&serialized);
            assert!(runner_commands(&inert).is_empty(), "{inert}");
            let back: serde_json::Value = serde_json::from_str(&inert).unwrap();
            assert_eq!(back, value);
        }
    }
}
