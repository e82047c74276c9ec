//! Error lines as templates: the parts that change from one log to the next (GUIDs,
//! timestamps, URLs, paths, quoted values, hex, numbers) masked, so the same message from
//! many logs is one template. Secrets are masked first, control characters replaced, and
//! the pipeline's line timestamp dropped.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::authoring::from_log::variable_spans;
use crate::report::redact::redact;
use crate::text;

/// A template is cut to this many characters.
pub const MAX_TEMPLATE_CHARS: usize = 240;

/// Azure Pipelines' timestamp in front of every line.
static LINE_TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\s+").expect("valid regex")
});

/// What is masked in the text between the drafts' variables; the first alternative that
/// matches at a position wins.
static LITERAL_MASKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        // Windows (`C:\…`, `\\server\share`) and absolute Unix paths of two parts or more.
        r#"(?P<path>(?:\b[A-Za-z]:\\|\\\\)[^\s'"<>|]*|(?:/[\w.@+~-]+){2,}/?)"#,
        // Dates and times of day.
        r"|(?P<time>\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?Z?)?\b|\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b)",
        // Hex: `0x…`, or a run of eight hex digits or more (a run without a digit is a word).
        r"|(?P<hex>\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{8,}\b)",
        // Numbers that stand apart from letters before them (`AADSTS700016` stays whole).
        r"|(?P<n>\b\d+(?:[.,]\d+)*)",
    ))
    .expect("valid regex")
});

/// The template of one error line.
pub fn template(line: &str) -> String {
    // Tabs and other blank controls are spacing, squeezed below; the other control
    // characters are shown by name.
    let spaced = line.replace(['\t', '\u{b}', '\u{c}'], " ");
    let line = text::one_line(&spaced);
    let line = redact(&line);
    let body = match LINE_TIMESTAMP.find(&line) {
        Some(m) => &line[m.end()..],
        None => &line[..],
    };
    let mut out = String::with_capacity(body.len());
    let mut pos = 0;
    for (start, end, kind) in variable_spans(body) {
        mask_literal(&body[pos..start], &mut out);
        if start < end {
            out.push('<');
            out.push_str(kind);
            out.push('>');
        }
        pos = end;
    }
    mask_literal(&body[pos..], &mut out);
    let squeezed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    text::truncate(&squeezed, MAX_TEMPLATE_CHARS)
}

fn mask_literal(text: &str, out: &mut String) {
    let masked = LITERAL_MASKS.replace_all(text, |caps: &Captures<'_>| {
        let whole = caps.get(0).expect("group 0 always matches");
        if caps.name("path").is_some() {
            // `and/or/either` is words, not a path: a Unix path starts a word.
            let before = text[..whole.start()].chars().next_back();
            let unix = whole.as_str().starts_with('/');
            if unix && before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_') {
                return whole.as_str().to_owned();
            }
            return "<path>".to_owned();
        }
        if caps.name("time").is_some() {
            return "<time>".to_owned();
        }
        if caps.name("hex").is_some() {
            let s = whole.as_str();
            if s.starts_with("0x") {
                return "<hex>".to_owned();
            }
            return if s.bytes().all(|b| b.is_ascii_digit()) {
                "<n>".to_owned()
            } else if s.bytes().any(|b| b.is_ascii_digit()) {
                "<hex>".to_owned()
            } else {
                s.to_owned()
            };
        }
        "<n>".to_owned()
    });
    out.push_str(&masked);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_urls_quoted_values_and_the_line_timestamp() {
        assert_eq!(
            template(
                "2024-01-15T03:08:33.1234567Z ##[error]AADSTS700016: Application with identifier 'c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19' was not found in the directory 'Contoso'. See https://aka.ms/x?a=1."
            ),
            "##[error]AADSTS700016: Application with identifier '<guid>' was not found in the directory '<str>'. See <url>."
        );
    }

    #[test]
    fn numbers_hex_times_and_paths() {
        assert_eq!(
            template("##[error]Process completed with exit code 137 after 30s at 12:04:59."),
            "##[error]Process completed with exit code <n> after <n>s at <time>."
        );
        assert_eq!(
            template(
                "error: commit 3f9a2c1d0e and 0xDEADBEEF, trace 4be6fa0c1d2e3f40a1b2c3d4e5f60718"
            ),
            "error: commit <hex> and <hex>, trace <hex>"
        );
        assert_eq!(
            template(r"Error: cannot open /home/vsts/work/1/s/main.tf nor D:\a\1\s\main.bicep"),
            "Error: cannot open <path> nor <path>"
        );
        assert_eq!(
            template("Error: failed on 2023-11-03 09:41:02Z, version 2.67.0"),
            "Error: failed on <time>, version <n>"
        );
    }

    #[test]
    fn codes_and_words_stay() {
        assert_eq!(
            template("ERROR: TF400813 and AADSTS7000222 for either/or; deadbeefcafe"),
            "ERROR: TF400813 and AADSTS7000222 for either/or; deadbeefcafe"
        );
    }

    #[test]
    fn the_same_message_from_two_logs_is_one_template() {
        let a = template(
            "2024-01-15T03:08:33.1Z ##[error]Resource group \"rg-app-1\" could not be found in 1 subscription(s).",
        );
        let b = template(
            "2025-06-01T11:00:00.9Z ##[error]Resource group \"rg-web-prod\" could not be found in 12 subscription(s).",
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            "##[error]Resource group \"<str>\" could not be found in <n> subscription(s)."
        );
    }

    #[test]
    fn secrets_and_control_characters_never_reach_a_template() {
        let t = template(
            "Error: login failed for client_secret=abc1Q~0123456789abcdefghijklmnopqrstuv\x1b[31m",
        );
        assert!(!t.contains("abc1Q~"), "{t}");
        assert!(!t.contains('\x1b'), "{t}");
        assert!(t.contains("***"), "{t}");
    }

    #[test]
    fn whitespace_is_squeezed_and_long_lines_cut() {
        assert_eq!(template("Error:   a \t b  "), "Error: a b");
        let long = format!("Error: {}", "word ".repeat(200));
        assert!(template(&long).chars().count() <= MAX_TEMPLATE_CHARS + 1);
    }
}
