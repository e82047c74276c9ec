//! Parsing a rule's regexes for validation and literal extraction, with errors that point
//! inside the pattern.

use super::{PatternSource, REGEX_NEST_LIMIT};
use crate::diagnostics::Diagnostic;
use crate::source::{SharedSource, SourceSpan};

/// Parses a regex for validation and literal extraction; an error points inside the pattern.
pub(super) fn parse_regex(
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
