//! SARIF 2.1.0 for `check --format sarif`: the problems of a knowledge root as code
//! scanning results (GitHub code scanning, the Azure DevOps SARIF viewer).
//!
//! The tool is `arm-kb`; each kind of problem (`bad-regex`, `unknown-field`, ...) is a
//! reporting rule with its help text; each problem is a result with its file, line and
//! column. File names are written as they were given (relative to the folder `check` ran
//! in), with `/` separators, so a scanner run from the repository's root finds them.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde_json::{Value, json};

use crate::diagnostics::{Diagnostic, DiagnosticSeverity};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// What each kind of problem means and what to do about it (the SARIF rules' help).
pub fn code_help(code: &str) -> &'static str {
    match code {
        "toml-syntax" => "The file is not valid TOML. Fix the syntax at the position shown.",
        "unknown-field" => {
            "A field the format does not have, often a misspelling; the hint names the closest field."
        }
        "wrong-type" => {
            "A field has a value of the wrong type (a string for a list, a word for a number...)."
        }
        "missing-field" => "A required field is missing.",
        "empty-list" => "A list that must hold at least one value is empty.",
        "empty-keyword" => "A keyword is empty: it would let every line through the prefilter.",
        "bad-id" => "A rule id may hold only lowercase letters, digits, `-`, `.` and `_`.",
        "bad-article-id" => {
            "`article` must be an article id (the file name of kb/ID.md without `.md`), not a path."
        }
        "bad-priority" => "`priority` must be between 0 and 100.",
        "bad-window" => "`window` must be at least 1.",
        "bad-regex" => {
            "A regex that does not parse, or whose compiled form is too big (Rust regex syntax: no look-around, no backreferences)."
        }
        "no-patterns" => "A rule needs `patterns` or `all`.",
        "patterns-and-all" => "A rule has both `patterns` and `all`; keep one.",
        "window-without-all" => "`window` only applies to `all` rules.",
        "duplicate-rule-id" => "The same rule id is defined twice in one root.",
        "unknown-article" => "The rule names an article that no loaded root has.",
        "missing-front-matter" => "An article starts with TOML front matter between `+++` lines.",
        "front-matter" => {
            "The article's front matter has a mistake (syntax, an unknown setting, a wrong type)."
        }
        "missing-title" => "An article's front matter needs a `title`.",
        "missing-section" => {
            "An article needs the sections `## Symptoms`, `## Cause`, `## Fix` and `## References`."
        }
        "fix-without-steps" => "`## Fix` should hold a numbered list of steps (`1. ...`).",
        "link-outside-root" => "A link in the article points outside its knowledge root.",
        "file-too-large" => "The file is larger than a knowledge file may be.",
        "unreadable-file" => "The file cannot be read (permissions, or not UTF-8).",
        "unreadable-root" => "A knowledge root cannot be read (missing folder, no kb/ or rules/).",
        "example-not-fired" => {
            "An example does not fire its rule. `arm-kb explain RULE FILE` shows, line by line, why."
        }
        "counterexample-fired" => {
            "A counterexample fires the rule. Tighten the pattern or add an `unless` regex."
        }
        "wrong-capture" => {
            "The rule fires on the example but captures another value than expected."
        }
        "example-io" => "An example could not be scanned.",
        "no-prefilter" => {
            "No literal could be derived from the patterns, so the rule's regexes run on every line. Add `keywords`."
        }
        "ambiguous-rules" => {
            "An example also fires a rule of another article with the same severity and priority; nothing decides which article comes first."
        }
        "unused-article" => "No rule points to the article. Tag background reading `reference`.",
        "unfilled-placeholder" => {
            "A `{name}` placeholder in an article that no rule of it captures."
        }
        "unfinished" => "Scaffolded `TODO:` text is still in the file.",
        "override" => "A later root replaces an article or a rule of an earlier root.",
        _ => "A problem found by `arm-kb check`; see docs/authoring.md, \"What check reports\".",
    }
}

/// A file name as a SARIF URI reference: `/` separators, and the characters a URI cannot
/// hold percent-encoded.
pub fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    if path.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

fn level(severity: DiagnosticSeverity) -> &'static str {
    match severity {
        DiagnosticSeverity::Error => "error",
        DiagnosticSeverity::Warning => "warning",
        DiagnosticSeverity::Note => "note",
    }
}

fn result(d: &Diagnostic) -> Value {
    let mut text = d.message.clone();
    if let Some(hint) = &d.hint {
        text.push_str(" (help: ");
        text.push_str(hint);
        text.push(')');
    }
    let mut result = json!({
        "ruleId": d.code,
        "level": level(d.severity),
        "message": { "text": text },
    });
    let location = match (&d.span, &d.file) {
        (Some(span), _) => {
            let start = span.start();
            let end = span.source.line_col(span.range.end.max(span.range.start));
            let mut region = json!({
                "startLine": start.line,
                "startColumn": start.column,
            });
            if end.line == start.line && end.column > start.column {
                region["endColumn"] = json!(end.column);
            }
            Some(json!({
                "physicalLocation": {
                    "artifactLocation": { "uri": uri(&span.source.name) },
                    "region": region,
                }
            }))
        }
        (None, Some(file)) => Some(json!({
            "physicalLocation": { "artifactLocation": { "uri": uri(file) } }
        })),
        (None, None) => None,
    };
    if let Some(location) = location {
        result["locations"] = json!([location]);
    }
    result
}

/// The SARIF log of a `check` run.
pub fn log(diagnostics: &[Diagnostic], version: &str) -> Value {
    let codes: BTreeSet<&str> = diagnostics.iter().map(|d| d.code).collect();
    let rules: Vec<Value> = codes
        .iter()
        .map(|code| {
            json!({
                "id": code,
                "name": code,
                "shortDescription": { "text": code_help(code) },
                "help": { "text": code_help(code) },
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "arm-kb",
                    "version": version,
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules,
                }
            },
            "results": diagnostics.iter().map(result).collect::<Vec<_>>(),
        }]
    })
}

/// Writes the SARIF log of a `check` run.
pub fn write(w: &mut dyn Write, diagnostics: &[Diagnostic], version: &str) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &log(diagnostics, version))?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_with_slashes_and_encoded() {
        assert_eq!(uri("team kb\\rules/a.toml"), "team%20kb/rules/a.toml");
        assert_eq!(uri("/abs/x.md"), "file:///abs/x.md");
        assert_eq!(uri("é.md"), "%C3%A9.md");
    }
}
