//! Reading one rule file into validated [`Rule`]s, collecting every problem on the way.

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml_parser::lexer::TokenKind;

use super::spec::{RuleSpec, field_errors, spec_error};
use super::validate::validate;
use super::{REGEX_NEST_LIMIT, Rule};
use crate::diagnostics::Diagnostic;
use crate::source::{SharedSource, SourceSpan};
use crate::workers;

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
    let (cuts, headers) = piece_starts(&source.text);
    if cuts.len() == 1 {
        rules.extend(load_piece(&Piece::new(source, 0..source.text.len()), diags));
        return;
    }
    let ranges: Vec<Range<usize>> = cuts
        .iter()
        .zip(cuts.iter().skip(1).chain([&source.text.len()]))
        .map(|(&a, &b)| a..b)
        .collect();
    // Each piece's rules are moved on as soon as their turn comes, into room made once:
    // holding every piece's rules until the last is done, then copying them, held two
    // copies of all of them at the peak (4.6 MB each for 10,000 rules).
    rules.reserve(headers);
    workers::for_each_in_order(
        &ranges,
        None,
        || (),
        |(), range| {
            let mut piece_diags = Vec::new();
            let rules = load_piece(&Piece::new(source, range.clone()), &mut piece_diags);
            (rules, piece_diags)
        },
        |(piece_rules, piece_diags)| {
            rules.extend(piece_rules);
            diags.extend(piece_diags);
        },
    );
}

/// Where the pieces of a big rule file start: 0, then `[[rule]]` headers at least
/// `PIECE_BYTES` apart; and how many `[[rule]]` headers the file has (counted only when
/// it is cut). The TOML lexer finds them, so a header-like line inside a multi-line
/// string is never taken for one.
fn piece_starts(text: &str) -> (Vec<usize>, usize) {
    let mut cuts = vec![0];
    let mut headers = 0;
    if text.len() < 2 * PIECE_BYTES {
        return (cuts, headers);
    }
    let mut line_start = true;
    for token in toml_parser::Source::new(text).lex() {
        match token.kind() {
            TokenKind::Newline => line_start = true,
            TokenKind::Whitespace => {}
            TokenKind::LeftSquareBracket if line_start => {
                let at = token.span().start();
                if is_rule_header(&text[at..]) {
                    headers += 1;
                    if at - cuts.last().copied().unwrap_or(0) >= PIECE_BYTES {
                        cuts.push(at);
                    }
                }
                line_start = false;
            }
            _ => line_start = false,
        }
    }
    (cuts, headers)
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
pub(super) struct Piece<'s> {
    pub source: &'s SharedSource,
    pub base: usize,
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
    pub fn span(&self, r: Range<usize>) -> SourceSpan {
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
            let copy = item.clone();
            match RuleSpec::deserialize(ValueDeserializer::from(item)) {
                Ok(spec) => {
                    if let Some(rule) = validate(spec, piece, &mut regex_parser, diags) {
                        rules.push(rule);
                    }
                }
                // Serde stops at the first problem: look at each field to report them all.
                Err(err) => {
                    let all = field_errors(&copy, piece, item_span.clone());
                    if all.is_empty() {
                        diags.push(spec_error(&err, piece, item_span));
                    } else {
                        diags.extend(all);
                    }
                }
            }
        }
    }
    rules
}

/// Byte offset where a TOML string's content starts, from the span of its token.
pub(super) fn content_offset(text: &str, token_start: usize) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Severity;
    use crate::source::SourceFile;

    fn load(text: &str) -> (Vec<Rule>, Vec<Diagnostic>) {
        let src = SourceFile::new("rules/t.toml", text.to_owned());
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
        let (cuts, headers) = piece_starts(&text);
        assert!(cuts.len() > 3, "{cuts:?}");
        // The headers inside the examples' multi-line strings are not counted.
        assert_eq!(headers, 8000);
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
    fn every_problem_of_one_rule_is_reported() {
        let (rules, diags) = load(
            "[[rule]]\nid = 'a.b'\narticle = 'x'\nkeyword = ['k']\nseverity = 'critical'\nprio = 3\npatterns = 'k'\n",
        );
        assert!(rules.is_empty());
        let found: Vec<(&str, usize)> = diags
            .iter()
            .map(|d| (d.code, d.span.as_ref().unwrap().start().line))
            .collect();
        assert_eq!(
            found,
            [
                ("unknown-field", 4),
                ("wrong-type", 5),
                ("unknown-field", 6),
                ("wrong-type", 7)
            ],
            "{diags:?}"
        );
        assert!(
            diags[1].message.contains("`severity`"),
            "{}",
            diags[1].message
        );
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
