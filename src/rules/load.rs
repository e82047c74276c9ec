//! Reading one rule file into validated [`Rule`]s, collecting every problem on the way.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml_parser::lexer::TokenKind;

use super::{
    DEFAULT_PRIORITY, DEFAULT_WINDOW, Example, PatternSource, REGEX_NEST_LIMIT, Rule, RuleKind,
    Severity, required_literals,
};

use crate::diagnostics::{Diagnostic, Suggestion, unknown_field_name};
use crate::ids::{ArticleId, RuleId};
use crate::source::{SharedSource, SourceSpan};

/// The fields of a `[[rule]]` table.
pub const RULE_FIELDS: [&str; 13] = [
    "id",
    "article",
    "severity",
    "priority",
    "keywords",
    "patterns",
    "all",
    "window",
    "unless",
    "examples",
    "counterexamples",
    "example",
    // Not a field: listed so that a stray `rule` key gets a useful hint.
    "rule",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: Spanned<String>,
    article: Spanned<String>,
    severity: Option<Spanned<Severity>>,
    priority: Option<Spanned<i64>>,
    keywords: Option<Spanned<Vec<Spanned<String>>>>,
    patterns: Option<Spanned<Vec<Spanned<String>>>>,
    all: Option<Spanned<Vec<Spanned<String>>>>,
    window: Option<Spanned<i64>>,
    #[serde(default)]
    unless: Vec<Spanned<String>>,
    #[serde(default)]
    examples: Vec<Spanned<String>>,
    #[serde(default)]
    counterexamples: Vec<Spanned<String>>,
    #[serde(default)]
    example: Vec<Spanned<ExampleSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleSpec {
    text: String,
    #[serde(default)]
    captures: BTreeMap<String, String>,
}

/// A rule file bigger than this is split at its `[[rule]]` headers into pieces of about
/// this size, parsed independently and in parallel: the TOML parser's memory peaks at
/// several times the text it holds, so pieces keep a 4 MiB file's load small and fast.
const PIECE_BYTES: usize = 128 << 10;

/// Parses a rule file. Rules with errors are left out; every problem goes to `diags`.
pub fn load_rule_file(source: &SharedSource, diags: &mut Vec<Diagnostic>) -> Vec<Rule> {
    let mut rules = Vec::new();
    load_rule_file_into(source, diags, &mut rules);
    rules
}

/// Like [`load_rule_file`], appending to `rules` (no second copy of a big file's rules).
pub fn load_rule_file_into(
    source: &SharedSource,
    diags: &mut Vec<Diagnostic>,
    rules: &mut Vec<Rule>,
) {
    let cuts = piece_starts(&source.text);
    if cuts.len() == 1 {
        rules.extend(load_piece(&Piece::new(source, 0..source.text.len()), diags));
        return;
    }
    let ranges: Vec<Range<usize>> = cuts
        .iter()
        .zip(cuts.iter().skip(1).chain([&source.text.len()]))
        .map(|(&a, &b)| a..b)
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(ranges.len());
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<LoadedPiece>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(range) = ranges.get(i) else { break };
                    let mut piece_diags = Vec::new();
                    let rules = load_piece(&Piece::new(source, range.clone()), &mut piece_diags);
                    done.lock().unwrap_or_else(PoisonError::into_inner).push((
                        i,
                        rules,
                        piece_diags,
                    ));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    done.sort_unstable_by_key(|(i, ..)| *i);
    rules.reserve(done.iter().map(|(_, r, _)| r.len()).sum());
    for (_, piece_rules, piece_diags) in done {
        rules.extend(piece_rules);
        diags.extend(piece_diags);
    }
}

/// A piece's number, its rules and its problems.
type LoadedPiece = (usize, Vec<Rule>, Vec<Diagnostic>);

/// Where the pieces of a big rule file start: 0, then `[[rule]]` headers at least
/// `PIECE_BYTES` apart. The TOML lexer finds them, so a header-like line inside a
/// multi-line string is never taken for one.
fn piece_starts(text: &str) -> Vec<usize> {
    let mut cuts = vec![0];
    if text.len() < 2 * PIECE_BYTES {
        return cuts;
    }
    let mut line_start = true;
    for token in toml_parser::Source::new(text).lex() {
        match token.kind() {
            TokenKind::Newline => line_start = true,
            TokenKind::Whitespace => {}
            TokenKind::LeftSquareBracket if line_start => {
                let at = token.span().start();
                let last = cuts.last().copied().unwrap_or(0);
                if at - last >= PIECE_BYTES && is_rule_header(&text[at..]) {
                    cuts.push(at);
                }
                line_start = false;
            }
            _ => line_start = false,
        }
    }
    cuts
}

/// Whether `rest` starts with a `[[rule]]` header (spaces allowed inside the brackets).
fn is_rule_header(rest: &str) -> bool {
    rest.strip_prefix("[[")
        .map(|r| r.trim_start_matches([' ', '\t']))
        .and_then(|r| r.strip_prefix("rule"))
        .map(|r| r.trim_start_matches([' ', '\t']))
        .is_some_and(|r| r.starts_with("]]"))
}

/// A part of a rule file parsed on its own: positions the parser reports are relative to
/// `base`.
struct Piece<'s> {
    source: &'s SharedSource,
    base: usize,
    text: &'s str,
}

impl<'s> Piece<'s> {
    fn new(source: &'s SharedSource, range: Range<usize>) -> Self {
        Piece {
            source,
            base: range.start,
            text: &source.text[range],
        }
    }

    /// A span of the file from a range the parser reported for this piece.
    fn span(&self, r: Range<usize>) -> SourceSpan {
        SourceSpan::new(self.source, r.start + self.base..r.end + self.base)
    }
}

fn load_piece(piece: &Piece<'_>, diags: &mut Vec<Diagnostic>) -> Vec<Rule> {
    let (table, errors) = DeTable::parse_recoverable(piece.text);
    for err in &errors {
        diags.push(
            Diagnostic::error(
                "toml-syntax",
                format!("TOML syntax: {}", err.message().trim()),
            )
            .at(piece.span(err.span().unwrap_or(0..0))),
        );
    }
    if !errors.is_empty() {
        return Vec::new();
    }
    let mut rules = Vec::new();
    let mut regex_parser = regex_syntax::ast::parse::ParserBuilder::new()
        .nest_limit(REGEX_NEST_LIMIT)
        .build();
    for (key, value) in table.into_inner() {
        if key.get_ref() != "rule" {
            diags.push(
                Diagnostic::error(
                    "unknown-field",
                    format!("unknown top-level key `{}`", key.get_ref()),
                )
                .at(piece.span(key.span()))
                .hint("a rule file holds only `[[rule]]` tables"),
            );
            continue;
        }
        let value_span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            diags.push(
                Diagnostic::error("wrong-type", "`rule` must be an array of tables")
                    .at(piece.span(value_span))
                    .hint("write each rule as a `[[rule]]` table"),
            );
            continue;
        };
        rules.reserve(items.len());
        for item in items {
            let item_span = item.span();
            match RuleSpec::deserialize(ValueDeserializer::from(item)) {
                Ok(spec) => {
                    if let Some(rule) = validate(spec, piece, &mut regex_parser, diags) {
                        rules.push(rule);
                    }
                }
                Err(err) => diags.push(spec_error(&err, piece, item_span)),
            }
        }
    }
    rules
}

fn spec_error(err: &toml::de::Error, piece: &Piece<'_>, item_span: Range<usize>) -> Diagnostic {
    let message = err.message().trim();
    let at = piece.span(err.span().unwrap_or(item_span));
    if let Some(field) = unknown_field_name(message) {
        let known = &RULE_FIELDS[..RULE_FIELDS.len() - 1];
        let hint = match Suggestion::nearest(field, known.iter().copied()).first() {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("known fields: {}", known.join(", ")),
        };
        return Diagnostic::error("unknown-field", format!("unknown field `{field}` in rule"))
            .at(at)
            .label("not a rule field")
            .hint(hint);
    }
    if message.starts_with("missing field") {
        return Diagnostic::error("missing-field", format!("rule: {message}")).at(at);
    }
    Diagnostic::error("wrong-type", format!("rule: {message}")).at(at)
}

/// Byte offset where a TOML string's content starts, from the span of its token.
fn content_offset(text: &str, token_start: usize) -> usize {
    let rest = &text[token_start.min(text.len())..];
    if rest.starts_with("'''") || rest.starts_with("\"\"\"") {
        let after = token_start + 3;
        // A newline right after the opening delimiter is not part of the string.
        match &text[after..] {
            t if t.starts_with("\r\n") => after + 2,
            t if t.starts_with('\n') => after + 1,
            _ => after,
        }
    } else if rest.starts_with('\'') || rest.starts_with('"') {
        token_start + 1
    } else {
        token_start
    }
}

fn validate(
    spec: RuleSpec,
    piece: &Piece<'_>,
    regex_parser: &mut regex_syntax::ast::parse::Parser,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let source = piece.source;
    let span = |r: Range<usize>| piece.span(r);
    let errors_before = diags.iter().filter(|d| d.is_error()).count();

    let id = RuleId::parse(spec.id.get_ref());
    if id.is_none() {
        diags.push(
            Diagnostic::error("bad-id", format!("`{}` is not a valid rule id", spec.id.get_ref()))
                .at(span(spec.id.span()))
                .hint("rule ids are lowercase letters, digits, `-`, `.` and `_`, starting with a letter or digit"),
        );
    }
    let article = ArticleId::parse(spec.article.get_ref());
    if article.is_none() {
        diags.push(
            Diagnostic::error(
                "bad-article-id",
                format!("`{}` is not an article id", spec.article.get_ref()),
            )
            .at(span(spec.article.span()))
            .hint("name the article by its id (the file stem of kb/<id>.md), never by a path"),
        );
    }
    let priority = match spec.priority {
        None => DEFAULT_PRIORITY,
        Some(p) => match u8::try_from(*p.get_ref()) {
            Ok(v) if v <= 100 => v,
            _ => {
                diags.push(
                    Diagnostic::error(
                        "bad-priority",
                        format!("priority {} is out of range", p.get_ref()),
                    )
                    .at(span(p.span()))
                    .hint("priority is an integer from 0 to 100"),
                );
                DEFAULT_PRIORITY
            }
        },
    };

    let to_sources = |list: Vec<Spanned<String>>| -> Vec<PatternSource> {
        list.into_iter()
            .map(|p| {
                let s = p.span();
                PatternSource {
                    text_offset: content_offset(&source.text, s.start + piece.base),
                    span: span(s),
                    regex: p.into_inner(),
                }
            })
            .collect()
    };
    let id_span = span(spec.id.span());
    let kind = match (spec.patterns, spec.all) {
        (Some(p), None) => {
            if p.get_ref().is_empty() {
                diags.push(
                    Diagnostic::error("empty-list", "`patterns` is empty").at(span(p.span())),
                );
            }
            if let Some(w) = &spec.window {
                diags.push(
                    Diagnostic::error("window-without-all", "`window` only applies to `all`")
                        .at(span(w.span())),
                );
            }
            RuleKind::Patterns(to_sources(p.into_inner()))
        }
        (None, Some(a)) => {
            if a.get_ref().is_empty() {
                diags.push(Diagnostic::error("empty-list", "`all` is empty").at(span(a.span())));
            }
            let window = match spec.window {
                None => DEFAULT_WINDOW,
                Some(w) => match u32::try_from(*w.get_ref()) {
                    Ok(v) if (1..=100_000).contains(&v) => v,
                    _ => {
                        diags.push(
                            Diagnostic::error(
                                "bad-window",
                                format!("window {} is out of range", w.get_ref()),
                            )
                            .at(span(w.span()))
                            .hint("window is a number of lines from 1 to 100000"),
                        );
                        DEFAULT_WINDOW
                    }
                },
            };
            RuleKind::All {
                parts: to_sources(a.into_inner()),
                window,
            }
        }
        (Some(p), Some(_)) => {
            diags.push(
                Diagnostic::error("patterns-and-all", "a rule has both `patterns` and `all`")
                    .at(span(p.span()))
                    .hint("use `patterns` for single-line matches or `all` + `window` for a multi-line signature, not both"),
            );
            return None;
        }
        (None, None) => {
            diags.push(
                Diagnostic::error("no-patterns", "a rule needs `patterns` or `all`")
                    .at(id_span)
                    .hint("add `patterns = ['regex', ...]`"),
            );
            return None;
        }
    };
    let unless = to_sources(spec.unless);

    // Parse every regex now so syntax errors surface at load, with a position. Only a
    // rule without `keywords` needs the full translation (to derive its literals); the
    // others get the much cheaper syntax check, and translation problems (an unknown
    // Unicode class, say) surface when the regex is compiled: on its first candidate line
    // in `match`, for every rule in `check`.
    let derive_literals = spec.keywords.is_none();
    let pattern_list = match &kind {
        RuleKind::Patterns(p) => p,
        RuleKind::All { parts, .. } => parts,
    };
    let mut derived: Option<Vec<Vec<u8>>> = Some(Vec::new());
    for (i, p) in pattern_list.iter().chain(unless.iter()).enumerate() {
        let is_unless = i >= pattern_list.len();
        match parse_regex(p, source, regex_parser, derive_literals) {
            Err(d) => {
                diags.push(*d);
                derived = None;
            }
            Ok(None) => {}
            Ok(Some(hir)) => {
                if is_unless && matches!(kind, RuleKind::Patterns(_)) {
                    continue; // checked on lines a pattern matched: no prefilter needed
                }
                match (required_literals(&hir), derived.as_mut()) {
                    (Some(lits), Some(acc)) => acc.extend(lits),
                    // A window veto without literals is simply checked on candidate lines.
                    (None, _) if is_unless => {}
                    _ => derived = None,
                }
            }
        }
    }

    let (keywords, keywords_derived) = match spec.keywords {
        Some(k) => {
            if k.get_ref().is_empty() {
                diags.push(
                    Diagnostic::error("empty-list", "`keywords` is empty")
                        .at(span(k.span()))
                        .hint("remove `keywords` to derive them from the patterns"),
                );
            }
            let mut out = Vec::new();
            for kw in k.into_inner() {
                if kw.get_ref().trim().is_empty() {
                    diags.push(
                        Diagnostic::error("empty-keyword", "empty keyword").at(span(kw.span())),
                    );
                } else {
                    out.push(kw.get_ref().to_ascii_lowercase());
                }
            }
            (out, false)
        }
        None => {
            // A literal that is not UTF-8 (`(?-u:\xff...)`) cannot be a keyword; a lossy
            // one would never hit, so such a rule runs on every line instead.
            let mut lits: Vec<String> = derived
                .unwrap_or_default()
                .into_iter()
                .map(String::from_utf8)
                .collect::<Result<_, _>>()
                .unwrap_or_default();
            lits.sort();
            lits.dedup();
            (lits, true)
        }
    };

    let example = |s: Spanned<String>| Example {
        span: span(s.span()),
        text: s.into_inner(),
        captures: None,
    };
    let mut examples: Vec<Example> = spec.examples.into_iter().map(example).collect();
    examples.extend(spec.example.into_iter().map(|e| {
        let s = e.span();
        let e = e.into_inner();
        Example {
            text: e.text,
            captures: Some(e.captures),
            span: span(s),
        }
    }));
    let counterexamples = spec.counterexamples.into_iter().map(example).collect();

    if diags.iter().filter(|d| d.is_error()).count() > errors_before {
        return None;
    }
    Some(Rule {
        id: id?,
        article: article?,
        article_span: span(spec.article.span()),
        severity: spec.severity.map(Spanned::into_inner).unwrap_or_default(),
        priority,
        keywords,
        keywords_derived,
        kind,
        unless,
        examples,
        counterexamples,
        span: id_span,
        compiled: OnceLock::new(),
    })
}

/// Parses a regex for validation and literal extraction; an error points inside the pattern.
fn parse_regex(
    p: &PatternSource,
    source: &SharedSource,
    syntax_parser: &mut regex_syntax::ast::parse::Parser,
    translate: bool,
) -> Result<Option<regex_syntax::hir::Hir>, Box<Diagnostic>> {
    let parsed = if translate {
        regex_syntax::ParserBuilder::new()
            .utf8(false)
            .nest_limit(REGEX_NEST_LIMIT)
            .build()
            .parse(&p.regex)
            .map(Some)
    } else {
        syntax_parser
            .parse(&p.regex)
            .map(|_| None)
            .map_err(regex_syntax::Error::Parse)
    };
    parsed.map_err(|err| {
        let (inner, kind) = match &err {
            regex_syntax::Error::Parse(e) => (Some(*e.span()), e.kind().to_string()),
            regex_syntax::Error::Translate(e) => (Some(*e.span()), e.kind().to_string()),
            other => (None, other.to_string()),
        };
        // Offsets inside the pattern are offsets in the file only when the string is
        // written verbatim (no TOML escapes); otherwise point at the whole string.
        let verbatim = source
            .text
            .get(p.text_offset..)
            .is_some_and(|t| t.starts_with(p.regex.as_str()));
        let range = match inner {
            Some(s) if verbatim => {
                let start = p.text_offset + s.start.offset;
                let end = p.text_offset + s.end.offset.max(s.start.offset + 1);
                start.min(source.text.len())..end.min(source.text.len())
            }
            _ => p.span.range.clone(),
        };
        Box::new(
            Diagnostic::error("bad-regex", format!("regex does not parse: {kind}"))
                .at(SourceSpan::new(source, range))
                .label(kind)
                .hint("patterns use Rust `regex` syntax: no look-around, no backreferences"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn load(text: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
        let src = SourceFile::new("rules/t.toml", text);
        let mut diags = Vec::new();
        let rules = load_rule_file(&src, &mut diags);
        (rules, diags)
    }

    #[test]
    fn loads_a_rule_with_defaults_and_derived_keywords() {
        let (rules, diags) = load(
            "[[rule]]\nid = 'a.b'\narticle = 'sp-secret-expired'\npatterns = ['AADSTS7000222: (?P<rest>.*)']\nexamples = ['x']\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let r = &rules[0];
        assert_eq!(r.severity, Severity::Error);
        assert_eq!(r.priority, 50);
        assert_eq!(r.keywords, ["aadsts7000222: "]);
        assert!(r.keywords_derived);
        assert_eq!(r.examples.len(), 1);
    }

    /// A rule file big enough to be loaded in pieces: `n` rules, each with a multi-line
    /// string holding a line that looks like a `[[rule]]` header.
    fn big_rule_file(n: usize) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "[[rule]]\nid = 'r{i}'\narticle = 'x'\nkeywords = ['k{i}']\npatterns = ['k{i} (?P<n>\\d+)']\nexamples = [\"\"\"\n[[rule]]\nk{i} 7\"\"\"]\n\n"
                )
            })
            .collect()
    }

    #[test]
    fn a_big_file_loads_in_pieces_like_a_small_one() {
        let text = big_rule_file(8000);
        assert!(text.len() > 4 * PIECE_BYTES, "{}", text.len());
        let cuts = piece_starts(&text);
        assert!(cuts.len() > 3, "{cuts:?}");
        for &cut in &cuts[1..] {
            // Each piece starts at a real header, never inside the multi-line examples.
            assert!(text[cut..].starts_with("[[rule]]\nid = 'r"), "{cut}");
        }
        let (rules, diags) = load(&text);
        assert!(diags.is_empty(), "{:?}", diags.first());
        assert_eq!(rules.len(), 8000);
        for (i, rule) in rules.iter().enumerate() {
            assert_eq!(rule.id.as_str(), format!("r{i}"));
            assert_eq!(rule.examples[0].text, format!("[[rule]]\nk{i} 7"));
        }
        // Spans are positions in the whole file, not in the piece.
        let last = &rules[7999];
        let line = text[..text.find("id = 'r7999'").unwrap()].lines().count() + 1;
        assert_eq!(last.span.location(), format!("rules/t.toml:{line}:6"));
    }

    #[test]
    fn an_error_in_a_later_piece_names_its_place_in_the_file() {
        let mut text = big_rule_file(6000);
        let at = text.find("patterns = ['k5000 ").unwrap();
        text.replace_range(at..at + "patterns = ['k5000 ".len(), "patterns = ['(k5000 ");
        let (rules, diags) = load(&text);
        assert_eq!(rules.len(), 5999);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].code, "bad-regex");
        let line = text[..at].lines().count() + 1;
        assert_eq!(
            diags[0].span.as_ref().unwrap().location(),
            format!("rules/t.toml:{line}:14")
        );
    }

    #[test]
    fn a_header_like_line_in_a_string_is_no_cut() {
        assert!(is_rule_header("[[rule]]\n"));
        assert!(is_rule_header("[[ rule ]]"));
        assert!(!is_rule_header("[[rule.example]]"));
        assert!(!is_rule_header("[[rules]]"));
    }

    #[test]
    fn unknown_field_is_named_with_a_suggestion() {
        let (rules, diags) = load("[[rule]]\nid = 'a'\narticle = 'b'\npattern = ['x']\n");
        assert!(rules.is_empty());
        assert_eq!(diags[0].code, "unknown-field");
        assert_eq!(
            diags[0].span.as_ref().unwrap().location(),
            "rules/t.toml:4:1"
        );
        assert_eq!(diags[0].hint.as_deref(), Some("did you mean `patterns`?"));
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let (rules, diags) = load(
            "[[rule]]\nid = 'a'\narticle = '../x'\npatterns = ['ok']\n\n[[rule]]\nid = 'b'\narticle = 'y'\npatterns = ['(unclosed']\n\n[[rule]]\nid = 'c'\narticle = 'y'\npatterns = ['x']\nall = ['y']\n",
        );
        assert!(rules.is_empty());
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["bad-article-id", "bad-regex", "patterns-and-all"]);
        assert_eq!(
            diags[1].span.as_ref().unwrap().location(),
            "rules/t.toml:9:14"
        );
    }

    #[test]
    fn toml_syntax_error_has_a_position() {
        let (_, diags) = load("[[rule]]\nid = 'a\n");
        assert_eq!(diags[0].code, "toml-syntax");
        assert_eq!(diags[0].span.as_ref().unwrap().start().line, 2);
    }

    #[test]
    fn rule_without_literals_has_no_keywords() {
        let (rules, _) = load("[[rule]]\nid = 'a'\narticle = 'b'\npatterns = ['\\d+']\n");
        assert!(rules[0].keywords.is_empty());
    }
}
