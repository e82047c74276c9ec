//! `new`: article and rule files to start from, every field explained in comments.
//!
//! Scaffolds load without errors; the text the author still has to write is marked
//! `TODO:`, which `check` reports as a warning until it is gone. A rule drafted from a
//! log line is verified with the engine before it is written, so it passes `arm-kb test`.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::examples::scan_text;
use super::from_log::{Draft, draft};
use super::lint::UNFINISHED_MARKER;
use crate::diagnostics::Diagnostic;
use crate::ids::{ArticleId, RuleId};
use crate::kb::KnowledgeBase;
use crate::matcher::{Engine, normalize_line};
use crate::rules::load_rule_file;
use crate::source::SourceFile;

/// Why a scaffold could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error("`{0}` is not a valid article id: use lowercase letters, digits and `-`")]
    BadArticleId(String),
    #[error(
        "`{0}` is not a valid rule id: use lowercase letters, digits, `-`, `.` and `_`, starting with a letter or digit"
    )]
    BadRuleId(String),
    #[error("{0} already exists; not overwriting it")]
    Exists(PathBuf),
    #[error("rule `{id}` already exists in this root ({file})")]
    RuleExists { id: String, file: PathBuf },
    #[error("{file} is not valid TOML ({message}); fix it first (`arm-kb check` shows where)")]
    BrokenRuleFile { file: PathBuf, message: String },
    #[error("`{0}` is not a file name inside `rules/` (expected something like `team.toml`)")]
    BadFileName(String),
    #[error("{file}: there is no line {line} (the file has {lines} lines)")]
    NoSuchLine {
        file: PathBuf,
        line: u64,
        lines: u64,
    },
    #[error("{file}: line {line} is empty")]
    EmptyLine { file: PathBuf, line: u64 },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ScaffoldError + '_ {
    move |source| ScaffoldError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A TOML string literal holding `s` exactly.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The text of a new article.
pub fn article_text() -> String {
    format!(
        r#"+++
# The title users see in findings, search results and `arm-kb list` (required).
title = "{t} what goes wrong, in the words of the person who hits it"
# Words for search (optional). Add "reference" to mark background reading that no rule
# has to point to.
tags = []
# Error codes the article is about, such as "AADSTS7000222" (optional, searchable).
error_codes = []
# One sentence shown under the title (optional).
summary = "{t} one sentence that says what is wrong"
+++

## Symptoms

{t} what the user sees: the task that fails and the exact error text from the log.

## Cause

{t} why it happens.

## Fix

1. {t} the first step. A capture name in braces, such as the `app_id` a rule
   captures with a named group, is replaced by the value found in the log.
2. {t} the next step.

## Prevention

{t} how to avoid it next time (optional section: delete it when there is nothing to say).

## References

- {t} links to the official documentation (optional section).
"#,
        t = UNFINISHED_MARKER
    )
}

/// Creates `ROOT/kb/ID.md`; fails if it exists.
pub fn new_article(root: &Path, id: &str) -> Result<PathBuf, ScaffoldError> {
    let id = ArticleId::parse(id).ok_or_else(|| ScaffoldError::BadArticleId(id.to_owned()))?;
    let dir = root.join("kb");
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let path = dir.join(format!("{id}.md"));
    create_new(&path, &article_text())?;
    Ok(path)
}

fn create_new(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => ScaffoldError::Exists(path.to_path_buf()),
            _ => ScaffoldError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        })?;
    file.write_all(text.as_bytes()).map_err(io_err(path))
}

/// The line of a log a rule is drafted from.
pub struct LogLine {
    pub file: PathBuf,
    pub line: u64,
    /// As the matcher sees it ([`normalize_line`]), invalid UTF-8 replaced, hidden
    /// characters written as codes, secrets masked, trimmed.
    pub text: String,
}

impl LogLine {
    pub fn read(file: &Path, line: u64) -> Result<LogLine, ScaffoldError> {
        let bytes = fs::read(file).map_err(io_err(file))?;
        let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let lines = if bytes.is_empty() {
            0
        } else {
            body.split(|&b| b == b'\n').count() as u64
        };
        let raw = (line >= 1)
            .then(|| body.split(|&b| b == b'\n').nth((line - 1) as usize))
            .flatten()
            .filter(|_| !bytes.is_empty())
            .ok_or_else(|| ScaffoldError::NoSuchLine {
                file: file.to_path_buf(),
                line,
                lines,
            })?;
        // A rule file is meant to be shared: the line is cleaned and its secrets masked
        // before anything is drafted from it.
        let printable = crate::text::printable(&normalize_line(raw));
        let text = crate::secrets::redact(printable.trim()).into_owned();
        if text.is_empty() {
            return Err(ScaffoldError::EmptyLine {
                file: file.to_path_buf(),
                line,
            });
        }
        Ok(LogLine {
            file: file.to_path_buf(),
            line,
            text,
        })
    }
}

/// What a new rule is made of.
pub struct RuleRequest<'a> {
    pub id: &'a str,
    pub article: &'a str,
    pub from_log: Option<LogLine>,
}

/// The text of a `[[rule]]` table (preceded by a blank line), and the captures its
/// example checks.
pub fn rule_text(req: &RuleRequest<'_>) -> String {
    let mut s = String::new();
    let head = format!(
        r#"
[[rule]]
# Unique id (lowercase letters, digits, `-`, `.`, `_`). Prefix it with your team's name so
# it never takes a built-in id by accident: a rule with the id of a rule from an earlier
# root replaces that rule.
id = {id}
# The article shown when the rule fires: the id of `kb/<id>.md` in any loaded root.
article = {article}
# "error", "warning" or "info": how serious a finding is; findings are ranked by it.
severity = "error"
# 0 to 100 (default 50): ranks findings of the same severity. Give a specific rule a
# higher priority than a generic one that fires on the same lines.
priority = 50
"#,
        id = toml_str(req.id),
        article = toml_str(req.article),
    );
    s.push_str(&head);
    match &req.from_log {
        None => s.push_str(&format!(
            r#"# Words or codes (any case) of which a line must contain one before the patterns run;
# they keep matching fast. Without them they are derived from the patterns.
# keywords = ["AADSTS7000222"]
# Regexes (Rust regex syntax), matched on one log line; the rule fires when any matches.
# A named group such as (?P<app_id>[0-9a-f-]{{36}}) captures a value that fills the
# placeholder of that name in the article. Start with (?i) to ignore case. In '''...'''
# strings backslashes need no doubling.
patterns = [
  '''{t} the part of the error message that is always the same''',
]
# Regexes that veto the rule on a line they match (optional).
# unless = ['''a message that looks alike but means something else''']
# A multi-line signature instead of `patterns`: every regex must match some line, all
# within `window` lines (default 20).
# all = ['''first message''', '''second message''']
# window = 20
# Log lines the rule must fire on; `arm-kb test` and `arm-kb check` run them.
examples = [
  '''{t} the part of the error message that is always the same''',
]
# Log lines the rule must not fire on (similar messages that mean something else).
counterexamples = []
"#,
            t = UNFINISHED_MARKER
        )),
        Some(log) => {
            let d = verified_draft(req, &log.text);
            s.push_str(&format!(
                "# Drafted from {} line {}. Trim the pattern to the part of the message that is\n# always the same; named groups capture the values that change.\n",
                log.file.display(),
                log.line
            ));
            s.push_str("# Words or codes (any case) of which a line must contain one before the patterns\n# run; they keep matching fast.\n");
            let kws: Vec<String> = d.keywords.iter().map(|k| toml_str(k)).collect();
            if kws.is_empty() {
                s.push_str("# keywords = []  (derived from the pattern)\n");
            } else {
                s.push_str(&format!("keywords = [{}]\n", kws.join(", ")));
            }
            s.push_str(&format!(
                "# Regexes (Rust regex syntax), matched on one log line; the rule fires when any matches.\npatterns = [\n  {},\n]\n",
                toml_str(&d.pattern)
            ));
            s.push_str("# Regexes that veto the rule on a line they match (optional).\n# unless = ['''a message that looks alike but means something else''']\n");
            s.push_str(&format!(
                "# Log lines the rule must fire on; `arm-kb test` and `arm-kb check` run them.\nexamples = [\n  {},\n]\n",
                toml_str(&d.line)
            ));
            s.push_str("# Log lines the rule must not fire on (similar messages that mean something else).\ncounterexamples = []\n");
            if !d.captures.is_empty() {
                let caps: Vec<String> = d
                    .captures
                    .iter()
                    .map(|(k, v)| format!("{k} = {}", toml_str(v)))
                    .collect();
                s.push_str(&format!(
                    "\n# The example again, with the values the rule must capture from it.\n[[rule.example]]\ntext = {}\ncaptures = {{ {} }}\n",
                    toml_str(&d.line),
                    caps.join(", ")
                ));
            }
        }
    }
    s
}

/// Drafts a rule from `line` and keeps only what the engine confirms: captures with
/// the values `match` reports, or (should the draft not fire) a plain escaped pattern.
fn verified_draft(req: &RuleRequest<'_>, line: &str) -> Draft {
    let mut d = draft(line);
    if let Some(captures) = engine_captures(req, &d) {
        d.captures.retain(|(k, v)| captures.get(k) == Some(v));
        return d;
    }
    let body = line.trim();
    Draft {
        line: line.to_owned(),
        pattern: regex::escape(body),
        keywords: Vec::new(),
        captures: Vec::new(),
    }
}

/// The captures `match` reports for the drafted rule on its line; `None` when the draft
/// does not load or does not fire.
fn engine_captures(
    req: &RuleRequest<'_>,
    d: &Draft,
) -> Option<std::collections::BTreeMap<String, String>> {
    let text = format!(
        "[[rule]]\nid = {}\narticle = {}\nkeywords = [{}]\npatterns = [{}]\n",
        toml_str(req.id),
        toml_str(req.article),
        d.keywords
            .iter()
            .map(|k| toml_str(k))
            .collect::<Vec<_>>()
            .join(", "),
        toml_str(&d.pattern)
    )
    .replace("keywords = []\n", "");
    let source = SourceFile::new("draft", text);
    let mut diags: Vec<Diagnostic> = Vec::new();
    let rules = load_rule_file(&source, &mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        return None;
    }
    let kb = KnowledgeBase {
        rules,
        ..KnowledgeBase::default()
    };
    let engine = Engine::new(&kb, false);
    let result = scan_text(&engine, &d.line).ok()?;
    let id = RuleId::parse(req.id)?;
    result.fired.contains(&id).then_some(result.captures)
}

/// Rule ids defined in `text` (a rule file), for refusing duplicates. `Err` holds the
/// TOML error when the file does not parse.
fn rule_ids_in(text: &str) -> Result<Vec<String>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    Ok(table
        .get("rule")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id")?.as_str().map(str::to_owned))
        .collect())
}

/// Appends a rule to `ROOT/rules/<file>` (default `<article>.toml`); refuses an id that
/// any rule file of the root already defines.
pub fn new_rule(
    root: &Path,
    req: &RuleRequest<'_>,
    file: Option<&str>,
) -> Result<PathBuf, ScaffoldError> {
    RuleId::parse(req.id).ok_or_else(|| ScaffoldError::BadRuleId(req.id.to_owned()))?;
    ArticleId::parse(req.article)
        .ok_or_else(|| ScaffoldError::BadArticleId(req.article.to_owned()))?;
    let file_name = match file {
        Some(name) => {
            let name = if name.ends_with(".toml") {
                name.to_owned()
            } else {
                format!("{name}.toml")
            };
            let plain = Path::new(&name)
                .file_name()
                .is_some_and(|f| f == name.as_str())
                && !name.starts_with('.');
            if !plain {
                return Err(ScaffoldError::BadFileName(name));
            }
            name
        }
        None => format!("{}.toml", req.article),
    };
    let dir = root.join("rules");
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let target = dir.join(&file_name);
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(io_err(&dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    entries.sort();
    for path in &entries {
        let text = fs::read_to_string(path).map_err(io_err(path))?;
        let ids = match rule_ids_in(&text) {
            Ok(ids) => ids,
            Err(message) if path == &target => {
                return Err(ScaffoldError::BrokenRuleFile {
                    file: path.clone(),
                    message,
                });
            }
            // Another broken file: look for the id as text, the best that can be done.
            Err(_) => {
                let quoted = [format!("\"{}\"", req.id), format!("'{}'", req.id)];
                if quoted.iter().any(|q| text.contains(q.as_str())) {
                    vec![req.id.to_owned()]
                } else {
                    Vec::new()
                }
            }
        };
        if ids.iter().any(|id| id == req.id) {
            return Err(ScaffoldError::RuleExists {
                id: req.id.to_owned(),
                file: path.clone(),
            });
        }
    }
    let rule = rule_text(req);
    if target.exists() {
        let mut f = OpenOptions::new()
            .append(true)
            .open(&target)
            .map_err(io_err(&target))?;
        let existing = fs::read_to_string(&target).map_err(io_err(&target))?;
        let sep = if existing.is_empty() || existing.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        f.write_all(format!("{sep}{rule}").as_bytes())
            .map_err(io_err(&target))?;
    } else {
        let header = format!(
            "# Rules for the article `{}`: any number of [[rule]] tables.\n# `arm-kb check` validates this file; `arm-kb test` runs the examples.\n",
            req.article
        );
        create_new(&target, &format!("{header}{rule}"))?;
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_round_trip() {
        for s in ["plain", "it's \"quoted\"", "back\\slash '''", "tab\there"] {
            let v: toml::Table = toml::from_str(&format!("x = {}", toml_str(s))).unwrap();
            assert_eq!(v["x"].as_str(), Some(s));
        }
    }

    #[test]
    fn scaffolded_rule_without_log_loads_cleanly() {
        let text = rule_text(&RuleRequest {
            id: "team.x",
            article: "a",
            from_log: None,
        });
        let src = SourceFile::new("rules/a.toml", text);
        let mut diags = Vec::new();
        let rules = load_rule_file(&src, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].examples.len(), 1);
    }

    #[test]
    fn drafted_rule_keeps_captures_the_engine_confirms() {
        let line = "##[error]AADSTS700016: Application with identifier 'c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19' was not found in the directory '***'.";
        let req = RuleRequest {
            id: "team.x",
            article: "a",
            from_log: None,
        };
        let d = verified_draft(&req, line);
        assert_eq!(
            d.captures,
            vec![
                (
                    "app_id".to_owned(),
                    "c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19".to_owned()
                ),
                ("tenant_id".to_owned(), "***".to_owned())
            ]
        );
    }
}
