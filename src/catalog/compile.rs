//! A catalog text to a tolerant regex and its prefilter keywords.
//!
//! Literal text is escaped; any whitespace (NBSP too, or none, as between CJK words)
//! becomes `[\s\x{a0}]*`; quotes of every kind (and `&#39;`, `&quot;`) one optional class;
//! `.。`, `,，、`, `:：` and the other full-width pairs small classes. A placeholder is a
//! lazy capture, bound to its argument: `%s` (and `{}`, `%v`, ...) by position, `{n}` by
//! index, so a translation that reorders `{1}` before `{0}` still binds right. The last
//! placeholder is greedy, a leading one a single token. The regex ignores case and has no
//! `\b` (it would fail next to CJK text). The keywords are the longest literal run of
//! the text, so a German text's keyword is German.

use regex_syntax::escape;

/// Shorter keywords would make too many lines candidates.
pub const MIN_KEYWORD_BYTES: usize = 4;
/// A word with a non-ASCII letter is preferred as the keyword from this length on
/// (`für`, 4 bytes, is too common in German text).
const NON_ASCII_KEYWORD_BYTES: usize = 6;

/// Words so common in logs that a keyword made of them alone would wake a rule on many
/// lines (a pipeline log names its subscription, tenant and account on every `az`
/// command, and `##[debug]Agent.TempDirectory` on every step); a rarer run, or a pair of
/// words, is preferred.
const COMMON: [&str; 52] = [
    "azure",
    "error",
    "errors",
    "failed",
    "failure",
    "could",
    "access",
    "token",
    "service",
    "status",
    "message",
    "please",
    "the",
    "for",
    "with",
    "from",
    "that",
    "this",
    "code",
    "connection",
    "unable",
    "request",
    "while",
    "when",
    "subscription",
    "subscriptions",
    "identity",
    "account",
    "tenant",
    "directory",
    "resource",
    "principal",
    "configuration",
    "parameter",
    "specified",
    "supported",
    "installed",
    "provided",
    "environment",
    "management",
    "deployment",
    "credentials",
    "settings",
    "information",
    "resources",
    "accounts",
    "tenants",
    "variable",
    "variables",
    "pipeline",
    "pipelines",
    "directories",
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Lit(String),
    Space,
    Quote,
    Punct(&'static str),
    /// A placeholder: the 0-based argument it is bound to.
    Arg(usize),
}

/// A text, compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    pub regex: String,
    /// Lower-cased prefilter keywords (one of them is on every matching line); empty when
    /// the text has no literal long enough.
    pub keywords: Vec<String>,
    /// How many arguments the text takes.
    pub args: usize,
}

const QUOTE_CHARS: &str = "'\"\u{2018}\u{2019}\u{201a}\u{201b}\u{201c}\u{201d}\u{201e}\u{00ab}\u{00bb}\u{2039}\u{203a}\u{300c}\u{300d}\u{300e}\u{300f}`\u{00b4}";
const QUOTE: &str = r#"(?:['"`´‘’‚‛“”„«»‹›「」『』]|&#39;|&#x27;|&quot;|&apos;)?"#;
const SPACE: &str = r"[\s\x{a0}]*";
/// The space inside a two-word keyword: one space, plain or no-break, so that every match
/// holds the keyword (the prefilter reads a no-break space as a plain one).
const PAIR_SPACE: &str = r"[ \x{a0}]";

fn punct(c: char) -> Option<&'static str> {
    Some(match c {
        '.' | '。' | '．' => "[.。．]",
        ',' | '，' | '、' => "[,，、]",
        ':' | '：' => "[:：]",
        ';' | '；' => "[;；]",
        '!' | '！' => "[!！]",
        '?' | '？' => "[?？]",
        '(' | '（' => "[(（]",
        ')' | '）' => "[)）]",
        _ => return None,
    })
}

/// Splits a text into tokens; `next_positional` counts `%s`-style placeholders.
fn tokenize(text: &str) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::new();
    let mut lit = String::new();
    let mut positional = 0usize;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let flush = |lit: &mut String, out: &mut Vec<Tok>| {
        if !lit.is_empty() {
            out.push(Tok::Lit(std::mem::take(lit)));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '%' {
            if next == Some('%') {
                lit.push('%');
                i += 2;
                continue;
            }
            if let Some(n) = next {
                let mut j = i + 1;
                // `%+v`, `%#v`, `%-5s`: flags and width, then the verb.
                while j < chars.len() && matches!(chars[j], '+' | '#' | '-' | '0'..='9' | '.') {
                    j += 1;
                }
                if chars.get(j).is_some_and(|v| "sdifjoOvqwxXgeT".contains(*v)) && (n != ' ') {
                    flush(&mut lit, &mut out);
                    out.push(Tok::Arg(positional));
                    positional += 1;
                    i = j + 1;
                    continue;
                }
            }
        }
        if c == '{' {
            if let Some(close) = chars[i + 1..].iter().position(|&c| c == '}') {
                let inner: String = chars[i + 1..i + 1 + close].iter().collect();
                let name = inner.split(':').next().unwrap_or_default();
                let arg = if name.is_empty() {
                    Some(positional)
                } else if let Ok(n) = name.parse::<usize>() {
                    Some(n)
                } else if name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    // A named placeholder (`{tenant}`): positional.
                    Some(positional)
                } else {
                    None
                };
                if let Some(arg) = arg {
                    if name.is_empty() || name.parse::<usize>().is_err() {
                        positional += 1;
                    }
                    flush(&mut lit, &mut out);
                    out.push(Tok::Arg(arg));
                    i += close + 2;
                    continue;
                }
            }
        }
        if c == '&' {
            let rest: String = chars[i..chars.len().min(i + 6)].iter().collect();
            if let Some(entity) = ["&#39;", "&quot;", "&#x27;", "&apos;"]
                .iter()
                .find(|e| rest.starts_with(**e))
            {
                flush(&mut lit, &mut out);
                out.push(Tok::Quote);
                i += entity.len();
                continue;
            }
        }
        if c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' || c == '\u{feff}' {
            flush(&mut lit, &mut out);
            if out.last() != Some(&Tok::Space) {
                out.push(Tok::Space);
            }
        } else if QUOTE_CHARS.contains(c) {
            flush(&mut lit, &mut out);
            out.push(Tok::Quote);
        } else if let Some(p) = punct(c) {
            flush(&mut lit, &mut out);
            out.push(Tok::Punct(p));
        } else {
            lit.push(c);
        }
        i += 1;
    }
    flush(&mut lit, &mut out);
    out
}

/// Compiles `text`; `names[i]` names the capture of argument `i` (none or empty: not
/// captured).
pub fn compile(text: &str, names: &[String]) -> Compiled {
    let toks = tokenize(text.trim());
    let args = toks
        .iter()
        .filter_map(|t| match t {
            Tok::Arg(n) => Some(n + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let last_lit = toks.iter().rposition(|t| matches!(t, Tok::Lit(_)));
    let first_lit = toks.iter().position(|t| matches!(t, Tok::Lit(_)));
    let mut named = vec![false; args];
    let (keyword, pair_gap) = keyword(text, &toks);
    let mut re = String::from("(?i)");
    for (i, tok) in toks.iter().enumerate() {
        let trailing = last_lit.is_none_or(|l| i > l);
        let leading = first_lit.is_none_or(|f| i < f);
        match tok {
            Tok::Lit(s) => re.push_str(&escape(s)),
            Tok::Space if pair_gap == Some(i) => re.push_str(PAIR_SPACE),
            Tok::Space => re.push_str(SPACE),
            // The quote closing a last placeholder ends its capture: required there.
            Tok::Quote if trailing && i > 0 && matches!(toks[i - 1], Tok::Arg(_)) => {
                re.push_str(QUOTE.strip_suffix('?').unwrap_or(QUOTE));
            }
            Tok::Quote => re.push_str(QUOTE),
            Tok::Punct(p) if trailing => {
                re.push_str(p);
                re.push('?');
            }
            Tok::Punct(p) => re.push_str(p),
            Tok::Arg(_) => {}
        }
        // A log may space what the text writes tight (`，错误` as `, 错误`).
        let spaced = matches!(tok, Tok::Quote | Tok::Punct(_))
            && !matches!(toks.get(i + 1), None | Some(Tok::Space));
        if spaced {
            re.push_str(SPACE);
        }
        match tok {
            Tok::Lit(_) | Tok::Space | Tok::Quote | Tok::Punct(_) => {}
            Tok::Arg(n) => {
                let quoted = matches!(toks.get(i + 1), Some(Tok::Quote));
                let body = if trailing && !quoted {
                    ".*"
                } else if leading {
                    r"\S+"
                } else if quoted {
                    // A quoted value is never empty: without this, a message that quotes a
                    // name would match the same words with no name (another tool's text).
                    r"\S.*?"
                } else {
                    ".*?"
                };
                match names.get(*n).filter(|s| !s.is_empty()) {
                    Some(name) if !named[*n] => {
                        named[*n] = true;
                        re.push_str(&format!("(?P<{name}>{body})"));
                    }
                    _ => re.push_str(&format!("(?:{body})")),
                }
            }
        }
    }
    Compiled {
        regex: re,
        keywords: keyword.into_iter().collect(),
        args,
    }
}

/// The best keyword of a text: the longest literal run that is not a common word; if
/// every run is short, the longest pair of words joined by one plain space (the index of
/// that space token comes with it: the regex must not tolerate more there).
fn keyword(text: &str, toks: &[Tok]) -> (Option<String>, Option<usize>) {
    let lower = |s: &str| s.to_ascii_lowercase();
    let runs: Vec<(usize, String)> = toks
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t {
            Tok::Lit(s) => Some((i, lower(s))),
            _ => None,
        })
        .collect();
    // A word with a non-ASCII letter costs an ASCII log nothing: the prefilter looks for
    // such keywords only on lines with a non-ASCII byte. A translated text keeps its
    // longest one, so its ASCII words do not add to the keywords every line is searched
    // for.
    let non_ascii = runs
        .iter()
        .filter(|(_, s)| !s.is_ascii() && s.len() >= NON_ASCII_KEYWORD_BYTES)
        .max_by_key(|(i, s)| (s.len(), std::cmp::Reverse(*i)));
    if let Some((_, s)) = non_ascii {
        return (Some(s.clone()), None);
    }
    let rare = |s: &str| !COMMON.contains(&s);
    let best_single = runs
        .iter()
        .filter(|(_, s)| rare(s))
        .max_by_key(|(i, s)| (s.len(), std::cmp::Reverse(*i)))
        .map(|(_, s)| s.clone());
    if let Some(s) = &best_single {
        if s.len() >= 8 {
            return (best_single, None);
        }
    }
    // Word pairs: `Lit Space Lit`, where the space is one plain space in the text and the
    // words meet it with ASCII letters or digits (a CJK neighbour may lose the space).
    let text_lower = text.to_ascii_lowercase();
    let mut best_pair: Option<(String, usize)> = None;
    for (i, w) in toks.windows(3).enumerate() {
        if let [Tok::Lit(a), Tok::Space, Tok::Lit(b)] = w {
            let joined = format!("{} {}", lower(a), lower(b));
            let ascii_edges = a.ends_with(|c: char| c.is_ascii_alphanumeric())
                && b.starts_with(|c: char| c.is_ascii_alphanumeric());
            if ascii_edges
                && text_lower.contains(&joined)
                && best_pair
                    .as_ref()
                    .is_none_or(|(p, _)| joined.len() > p.len())
            {
                best_pair = Some((joined, i + 1));
            }
        }
    }
    let pick = match (best_single, best_pair) {
        (Some(s), Some((p, gap))) if p.len() > s.len() + 3 => (Some(p), Some(gap)),
        (Some(s), _) => (Some(s), None),
        (None, Some((p, gap))) => (Some(p), Some(gap)),
        (None, None) => (None, None),
    };
    match pick {
        (Some(k), gap) if k.len() >= MIN_KEYWORD_BYTES => (Some(k), gap),
        _ => (
            runs.iter()
                .map(|(_, s)| s.clone())
                .filter(|s| s.len() >= MIN_KEYWORD_BYTES)
                .max_by_key(String::len),
            None,
        ),
    }
}

/// The pattern for a task message's bare key: printed after "can't find loc string for
/// key:", or alone as the message of a line.
pub fn bare_key(key: &str) -> Compiled {
    let k = escape(key);
    Compiled {
        regex: format!(
            r"(?:(?i:loc string for key)[:\s]*{k}(?:[^A-Za-z0-9_]|$)|^(?:\S*\d\dZ\s+)?(?:##\[[a-z]+\]\s*)?(?:(?i:error):\s*)?{k}[\s.]*$)"
        ),
        keywords: vec![key.to_ascii_lowercase()],
        args: 0,
    }
}

/// `text` with its placeholders replaced by `args` (argument `i` by `args[i]`), the
/// way a task prints it: for tests and examples.
pub fn render(text: &str, args: &[String]) -> String {
    let mut out = String::new();
    for tok in tokenize_raw(text) {
        match tok {
            Raw::Text(s) => out.push_str(&s),
            Raw::Arg(n) => out.push_str(args.get(n).map_or("", String::as_str)),
        }
    }
    out
}

enum Raw {
    Text(String),
    Arg(usize),
}

/// The text split at its placeholders, everything else kept as written.
fn tokenize_raw(text: &str) -> Vec<Raw> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (skip, arg) = placeholder_at(rest);
        match arg {
            Some((len, n)) => {
                out.push(Raw::Arg(n.unwrap_or_else(|| {
                    out.iter().filter(|r| matches!(r, Raw::Arg(_))).count()
                })));
                rest = &rest[len..];
            }
            None => {
                let c = rest[..skip].to_owned();
                out.push(Raw::Text(c));
                rest = &rest[skip..];
            }
        }
    }
    out
}

/// At the start of `s`: a placeholder (its byte length and index, `None` for positional),
/// or the byte length of the first character.
fn placeholder_at(s: &str) -> (usize, Option<(usize, Option<usize>)>) {
    let first = s.chars().next().map_or(1, char::len_utf8);
    let b = s.as_bytes();
    if b[0] == b'%' && b.len() > 1 && b"sdifjoOvqwxXgeT".contains(&b[1]) {
        return (2, Some((2, None)));
    }
    if b[0] == b'{' {
        if let Some(close) = s.find('}') {
            let inner = &s[1..close];
            if let Ok(n) = inner.parse::<usize>() {
                return (close + 1, Some((close + 1, Some(n))));
            }
            if inner.is_empty() {
                return (close + 1, Some((close + 1, None)));
            }
        }
    }
    (first, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn caps(text: &str, names: &[&str], line: &str) -> Option<Vec<(String, String)>> {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let c = compile(text, &names);
        let re = Regex::new(&c.regex).unwrap();
        let m = re.captures(line)?;
        let mut got: Vec<(String, String)> = re
            .capture_names()
            .flatten()
            .filter_map(|n| m.name(n).map(|v| (n.to_owned(), v.as_str().to_owned())))
            .collect();
        got.sort();
        Some(got)
    }

    #[test]
    fn positional_placeholders_capture_by_position() {
        let got = caps(
            "Could not fetch access token for Azure. Status code: %s, status message: %s",
            &["status_code", "status_message"],
            "2024-05-01T10:00:03.5Z ##[error]Error: Could not fetch access token for Azure. Status code: invalid_client, status message: 7000222 - [x]: AADSTS7000222: expired.",
        )
        .unwrap();
        assert_eq!(
            got,
            [
                ("status_code".to_owned(), "invalid_client".to_owned()),
                (
                    "status_message".to_owned(),
                    "7000222 - [x]: AADSTS7000222: expired.".to_owned()
                )
            ]
        );
    }

    #[test]
    fn index_placeholders_bind_by_index_when_reordered() {
        let got = caps(
            "[Azure の呼び出し]VM '{1}' のカスタム スクリプト拡張機能 '{0}' を取得しています",
            &["extension", "vm"],
            "##[error][Azure の呼び出し]VM 'vm01' のカスタム スクリプト拡張機能 'ext7' を取得しています",
        )
        .unwrap();
        assert_eq!(
            got,
            [
                ("extension".to_owned(), "ext7".to_owned()),
                ("vm".to_owned(), "vm01".to_owned())
            ]
        );
    }

    #[test]
    fn nbsp_quotes_and_full_width_punctuation_are_tolerated() {
        // NBSP before the colon in the text, a plain space (or none) in the log.
        assert!(caps("Code d'état\u{a0}: %s", &[], "Code d’état: 401").is_some());
        assert!(caps("Code d'état\u{a0}: %s", &[], "Code d&#39;état : 401").is_some());
        assert!(
            caps(
                "状态代码:“{0}”，错误消息: {1}",
                &[],
                "状态代码：\"500\", 错误消息: x"
            )
            .is_some()
        );
        assert!(caps("Azure 登录失败", &[], "##[error]Azure登录失败").is_some());
        assert!(caps("Azure login failed", &[], "AZURE LOGIN FAILED.").is_some());
    }

    #[test]
    fn keywords_are_the_longest_rare_literal_run() {
        let c = compile(
            "Ein Zugriffstoken für Azure konnte nicht abgerufen werden. Statuscode: %s",
            &[],
        );
        assert_eq!(c.keywords, ["zugriffstoken"]);
        assert_eq!(
            compile("Azure login failed", &[]).keywords,
            ["login failed"]
        );
        assert_eq!(compile("Azure 登录失败", &[]).keywords, ["登录失败"]);
        assert_eq!(compile("%s", &[]).keywords, Vec::<String>::new());
    }

    #[test]
    fn a_translation_keeps_a_word_with_a_non_ascii_letter_and_common_words_give_way() {
        assert_eq!(
            compile("Impossible de récupérer le jeton d'accès pour Azure.", &[]).keywords,
            ["récupérer"]
        );
        // `subscription` is on every `az` command line; the pair is rarer.
        assert_eq!(
            compile("Subscription '{}' not found.", &[]).keywords,
            ["not found"]
        );
    }

    #[test]
    fn the_space_inside_a_two_word_keyword_is_one_plain_or_no_break_space() {
        let c = compile("Azure login failed", &[]);
        assert_eq!(c.keywords, ["login failed"]);
        assert!(caps("Azure login failed", &[], "azure login\u{a0}failed").is_some());
        // Every match holds the keyword (a no-break space read as a plain one).
        assert!(caps("Azure login failed", &[], "Azure loginfailed").is_none());
        assert!(caps("Azure login failed", &[], "Azure login \t failed").is_none());
        // Elsewhere white space stays tolerant.
        assert!(caps("Azure login failed", &[], "Azure\u{a0}  login failed").is_some());
    }

    #[test]
    fn a_leading_placeholder_is_one_token_and_a_repeated_one_captures_once() {
        let got = caps(
            "%s is not valid: %s",
            &["a", "b"],
            "Error: abc is not valid: x y",
        )
        .unwrap();
        assert_eq!(got[0], ("a".to_owned(), "abc".to_owned()));
        let got = caps("{0} and {0} again", &["a"], "x and x again").unwrap();
        assert_eq!(got, [("a".to_owned(), "x".to_owned())]);
    }

    #[test]
    fn the_bare_key_matches_alone_or_after_the_loc_warning() {
        let re = Regex::new(&bare_key("ExpiredServicePrincipal").regex).unwrap();
        assert!(re.is_match("##[warning]Resource file haven't set, can't find loc string for key: ExpiredServicePrincipal"));
        assert!(re.is_match("2024-05-01T10:00:03.5000000Z ##[error]ExpiredServicePrincipal"));
        assert!(!re.is_match("ExpiredServicePrincipalMessageWithLink"));
        assert!(!re.is_match("the ExpiredServicePrincipal key was renamed"));
    }
}
