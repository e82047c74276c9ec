//! From a parsed `[[rule]]` table to a [`Rule`]: every check of a rule's fields, each
//! problem reported as a diagnostic with its span.

use std::ops::Range;

use toml::Spanned;

use super::load::{Piece, content_offset};
use super::spec::RuleSpec;
use super::syntax::parse_regex;
use super::{
    DEFAULT_PRIORITY, DEFAULT_WINDOW, Example, PatternSource, Rule, RuleKind, required_literals,
};
use crate::diagnostics::Diagnostic;
use crate::ids::{ArticleId, RuleId};

pub(super) fn validate(
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
        (None, None) if !spec.messages.is_empty() => RuleKind::Patterns(Vec::new()),
        (None, None) => {
            diags.push(
                Diagnostic::error("no-patterns", "a rule needs `patterns` or `all`")
                    .at(id_span)
                    .hint(
                        "add `patterns = ['regex', ...]` or `messages = ['<catalog message id>']`",
                    ),
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
    let extras = super::messages::extras(
        spec.messages,
        spec.unless_messages,
        spec.confidence,
        priority,
        &span,
        diags,
    );

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
        extras,
        lazy: Default::default(),
    })
}
