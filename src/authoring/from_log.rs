//! Turning a log line into a first draft of a rule: the variable parts of the line
//! (GUIDs, timestamps, URLs, quoted names) become named captures, the rest is escaped
//! literally, and a distinctive literal becomes the keyword.

use std::sync::LazyLock;

use regex::Regex;

/// A drafted pattern and what it should capture on the line it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// The line as the matcher sees it (what goes into `examples`).
    pub line: String,
    pub pattern: String,
    pub keywords: Vec<String>,
    /// `(capture name, value on the line)`, in the order of the line.
    pub captures: Vec<(String, String)>,
}

/// What kind of variable text a span of the line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variable {
    Guid,
    Timestamp,
    Url,
    /// Quoted text; the delimiters are kept literal.
    Quoted {
        open: usize,
        close: usize,
    },
}

struct Found {
    start: usize,
    end: usize,
    kind: Variable,
}

const GUID: &str = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const TIMESTAMP: &str = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?";
/// Stops before quotes and brackets; trailing punctuation is cut off after matching.
const URL: &str = r#"https?://[^\s'"<>()\[\]]+"#;

static GUID_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(GUID).expect("valid regex"));
static TIMESTAMP_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(TIMESTAMP).expect("valid regex"));
static URL_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(URL).expect("valid regex"));
/// Azure Pipelines' line prefix (`2024-01-15T03:08:33.1234567Z `) and a `##[error]` marker.
static LINE_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\s+)?(?:##\[(?:error|warning)\])?",
    )
    .expect("valid regex")
});
static ERROR_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:AADSTS|ERR_|E)\d{4,}\b").expect("valid regex"));

/// Words before a value that name it, nearest first wins; checked in the lowercase text
/// just before the value.
const NAMES_BY_CONTEXT: [(&str, &str); 12] = [
    ("application", "app_id"),
    ("app ", "app_id"),
    ("app:", "app_id"),
    ("client", "app_id"),
    ("tenant", "tenant_id"),
    ("directory", "tenant_id"),
    ("subscription", "subscription_id"),
    ("object", "object_id"),
    ("resource group", "resource_group"),
    ("service connection", "connection"),
    ("endpoint", "connection"),
    ("identity", "identity"),
];
/// How far back (bytes) a naming word may be.
const CONTEXT_BYTES: usize = 32;
/// Keywords drawn from the line are kept shorter than this.
const MAX_KEYWORD_LEN: usize = 40;

/// Drafts a pattern from `line` (already stripped of `\r` and ANSI codes).
pub fn draft(line: &str) -> Draft {
    let body_start = LINE_PREFIX.find(line).map_or(0, |m| m.end());
    let body = &line[body_start..];
    let found = variables(body);

    let mut pattern = String::new();
    let mut captures: Vec<(String, String)> = Vec::new();
    let mut literal_runs: Vec<&str> = Vec::new();
    let mut counters = NameCounters::default();
    let mut pos = 0;
    // Literal text for keywords excludes quote delimiters.
    let mut literal_pos = 0;
    for f in &found {
        let (value_start, value_end) = match f.kind {
            Variable::Quoted { open, close } => (f.start + open, f.end - close),
            _ => (f.start, f.end),
        };
        literal_runs.push(&body[literal_pos..f.start]);
        pattern.push_str(&regex::escape(&body[pos..value_start]));
        // Only words since the previous value name this one; URLs and times name themselves.
        let context = match f.kind {
            Variable::Guid | Variable::Quoted { .. } => {
                name_from_context(&body[literal_pos..f.start])
            }
            Variable::Url | Variable::Timestamp => None,
        };
        let base = context.unwrap_or(match f.kind {
            Variable::Guid => "guid",
            Variable::Timestamp => "time",
            Variable::Url => "url",
            Variable::Quoted { .. } => "name",
        });
        let name = counters.next(base, f.kind == Variable::Guid);
        let value_regex = match f.kind {
            Variable::Guid => GUID.to_owned(),
            Variable::Timestamp => TIMESTAMP.to_owned(),
            Variable::Url => URL.to_owned(),
            Variable::Quoted { close, .. } => {
                let closing = &body[f.end - close..f.end];
                if closing.len() == 1 {
                    format!("[^{}]*", regex::escape(closing))
                } else {
                    ".*?".to_owned()
                }
            }
        };
        pattern.push_str(&format!("(?P<{name}>{value_regex})"));
        captures.push((name, body[value_start..value_end].to_owned()));
        pos = value_end;
        literal_pos = f.end;
    }
    literal_runs.push(&body[literal_pos..]);
    pattern.push_str(&regex::escape(&body[pos..]));
    Draft {
        line: line.to_owned(),
        keywords: keywords(body, &literal_runs),
        pattern,
        captures,
    }
}

/// The variable values of `text` that a draft turns into captures, in order, without
/// overlaps: `(start, end, kind)` with kind `"guid"`, `"time"`, `"url"` or `"str"` (a
/// quoted value, quotes excluded). Corpus templates mask the same spans.
pub fn variable_spans(text: &str) -> Vec<(usize, usize, &'static str)> {
    variables(text)
        .into_iter()
        .map(|f| match f.kind {
            Variable::Guid => (f.start, f.end, "guid"),
            Variable::Timestamp => (f.start, f.end, "time"),
            Variable::Url => (f.start, f.end, "url"),
            Variable::Quoted { open, close } => (f.start + open, f.end - close, "str"),
        })
        .collect()
}

/// Capture names in use; GUIDs without a name from context are numbered from 1.
#[derive(Default)]
struct NameCounters {
    used: Vec<String>,
}

impl NameCounters {
    fn next(&mut self, base: &str, numbered: bool) -> String {
        let mut n = 1;
        let mut name = if numbered && base == "guid" {
            format!("{base}{n}")
        } else {
            base.to_owned()
        };
        while self.used.contains(&name) {
            n += 1;
            name = format!("{base}{n}");
        }
        self.used.push(name.clone());
        name
    }
}

fn name_from_context(before: &str) -> Option<&'static str> {
    let mut from = before.len().saturating_sub(CONTEXT_BYTES);
    while !before.is_char_boundary(from) {
        from += 1;
    }
    let near = before[from..].to_ascii_lowercase();
    NAMES_BY_CONTEXT
        .iter()
        .filter_map(|(word, name)| near.rfind(word).map(|at| (at, *name)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, name)| name)
}

/// The variable spans of `body`, in order, without overlaps.
fn variables(body: &str) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    let add = |found: &mut Vec<Found>, f: Found| {
        if !found.iter().any(|o| f.start < o.end && o.start < f.end) {
            found.push(f);
        }
    };
    for m in URL_RE.find_iter(body) {
        let trimmed = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
        add(
            &mut found,
            Found {
                start: m.start(),
                end: m.start() + trimmed.len(),
                kind: Variable::Url,
            },
        );
    }
    for (re, kind) in [
        (&*GUID_RE, Variable::Guid),
        (&*TIMESTAMP_RE, Variable::Timestamp),
    ] {
        for m in re.find_iter(body) {
            add(
                &mut found,
                Found {
                    start: m.start(),
                    end: m.end(),
                    kind,
                },
            );
        }
    }
    for q in quoted(body) {
        add(&mut found, q);
    }
    found.sort_by_key(|f| f.start);
    found
}

/// Quoted names: `'x'`, `"x"`, `&#39;x&#39;`, `&quot;x&quot;`. An opening quote follows
/// a space or punctuation (so the apostrophe in "don't" opens nothing), the content is
/// one short run without that quote.
fn quoted(body: &str) -> Vec<Found> {
    const QUOTES: [&str; 4] = ["&#39;", "&quot;", "'", "\""];
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        // Byte-wise: `i` steps over bytes, and every quote is ASCII, so a match is always
        // at a character boundary.
        let Some(q) = QUOTES.iter().find(|q| bytes[i..].starts_with(q.as_bytes())) else {
            i += 1;
            continue;
        };
        let opens = i == 0 || matches!(bytes[i - 1], b' ' | b'(' | b'[' | b'=' | b':' | b',');
        let content_start = i + q.len();
        let close = body[content_start..].find(*q).map(|c| content_start + c);
        match close {
            Some(close)
                if opens
                    && close > content_start
                    && close - content_start <= 200
                    && !body[content_start..close].contains(['\n']) =>
            {
                out.push(Found {
                    start: i,
                    end: close + q.len(),
                    kind: Variable::Quoted {
                        open: q.len(),
                        close: q.len(),
                    },
                });
                i = close + q.len();
            }
            _ => i += q.len(),
        }
    }
    out
}

/// An error code on the line if there is one, else the longest literal run (cut to whole
/// words).
fn keywords(body: &str, literal_runs: &[&str]) -> Vec<String> {
    if let Some(code) = ERROR_CODE.find(body) {
        return vec![code.as_str().to_owned()];
    }
    let best = literal_runs
        .iter()
        .map(|run| longest_words(run))
        .max_by_key(|s| s.len())
        .unwrap_or_default();
    if best.len() >= crate::rules::MIN_LITERAL_LEN {
        vec![best]
    } else {
        Vec::new()
    }
}

/// The longest stretch of whole words of `run` no longer than [`MAX_KEYWORD_LEN`].
fn longest_words(run: &str) -> String {
    let trimmed = run.trim_matches(|c: char| !c.is_alphanumeric());
    if trimmed.len() <= MAX_KEYWORD_LEN {
        return trimmed.to_owned();
    }
    let words: Vec<&str> = trimmed.split(' ').collect();
    let mut best = String::new();
    for start in 0..words.len() {
        let mut s = String::new();
        for w in &words[start..] {
            let next = if s.is_empty() {
                (*w).to_owned()
            } else {
                format!("{s} {w}")
            };
            if next.len() > MAX_KEYWORD_LEN {
                break;
            }
            s = next;
        }
        let s = s.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
        if s.len() > best.len() {
            best = s;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_lines_draft_without_panicking() {
        for line in [
            "│ Error: Error building ARM Config: please run 'az login' to setup account.",
            "##[error]Échec de la connexion … “web” 'prod-arm'",
            "Fehler für \"conn\": AADSTS7000222 für Anwendung 'ä'",
            "ü'x'",
        ] {
            check_matches(&draft(line));
        }
    }

    fn check_matches(d: &Draft) {
        let re = Regex::new(&d.pattern).unwrap();
        let caps = re.captures(&d.line).expect("the draft matches its line");
        for (name, value) in &d.captures {
            assert_eq!(&caps[name.as_str()], value, "{name} in {}", d.pattern);
        }
        for kw in &d.keywords {
            assert!(
                d.line
                    .to_ascii_lowercase()
                    .contains(&kw.to_ascii_lowercase())
            );
        }
    }

    #[test]
    fn lines_with_multibyte_characters_draft_without_panicking() {
        // Box-drawing frames (Azure CLI) and an ellipsis before a quote.
        let d = draft("│ Error: DefaultAzureCredential: failed to acquire a token.");
        check_matches(&d);
        let d = draft("##[error]Creating the deployment … 'WESTUS,NORTHEUROPE' locations…\"x\"");
        assert!(d.captures.iter().any(|(_, v)| v == "WESTUS,NORTHEUROPE"));
        check_matches(&d);
    }

    #[test]
    fn names_guids_by_context_and_keeps_the_rest_literal() {
        let d = draft(
            "2024-01-15T03:08:33.1234567Z ##[error]AADSTS700016: Application with identifier 'c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19' was not found in the directory 'Contoso'. (x+y)",
        );
        assert_eq!(
            d.captures,
            vec![
                (
                    "app_id".to_owned(),
                    "c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19".to_owned()
                ),
                ("tenant_id".to_owned(), "Contoso".to_owned()),
            ]
        );
        assert!(
            d.pattern.starts_with("AADSTS700016: Application"),
            "{}",
            d.pattern
        );
        assert!(d.pattern.ends_with(r"\. \(x\+y\)"), "{}", d.pattern);
        assert_eq!(d.keywords, ["AADSTS700016"]);
        check_matches(&d);
    }

    #[test]
    fn urls_timestamps_and_unnamed_values_get_generic_names() {
        let d = draft(
            "Failed at [2023-11-03 09:41:02Z] see https://aka.ms/x?a=1. Keys 1f0e4c8a-0000-4000-8000-000000000001 and 1f0e4c8a-0000-4000-8000-000000000002 of \"blob\" don't match",
        );
        let names: Vec<&str> = d.captures.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["time", "url", "guid1", "guid2", "name"]);
        assert_eq!(d.captures[1].1, "https://aka.ms/x?a=1");
        check_matches(&d);
    }

    #[test]
    fn html_quotes_and_masked_values() {
        let d = draft("The provided client secret keys for app &#39;***&#39; are expired.");
        assert_eq!(d.captures, vec![("app_id".to_owned(), "***".to_owned())]);
        assert_eq!(d.keywords, ["The provided client secret keys for app"]);
        check_matches(&d);
    }
}
