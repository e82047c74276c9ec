//! The serde shape of a `[[rule]]` table, and the diagnostics for a table that does not
//! fit it.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::Severity;
use super::load::Piece;
use super::messages::{Confidence, MessageSpec};
use crate::diagnostics::{Diagnostic, Suggestion, unknown_field_name};

/// The fields of a `[[rule]]` table.
pub const RULE_FIELDS: [&str; 16] = [
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
    "messages",
    "unless_messages",
    "confidence",
    // Not a field: listed so that a stray `rule` key gets a useful hint.
    "rule",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleSpec {
    pub id: Spanned<String>,
    pub article: Spanned<String>,
    pub severity: Option<Spanned<Severity>>,
    pub priority: Option<Spanned<i64>>,
    pub keywords: Option<Spanned<Vec<Spanned<String>>>>,
    pub patterns: Option<Spanned<Vec<Spanned<String>>>>,
    pub all: Option<Spanned<Vec<Spanned<String>>>>,
    pub window: Option<Spanned<i64>>,
    #[serde(default)]
    pub unless: Vec<Spanned<String>>,
    #[serde(default)]
    pub examples: Vec<Spanned<String>>,
    #[serde(default)]
    pub counterexamples: Vec<Spanned<String>>,
    #[serde(default)]
    pub example: Vec<Spanned<ExampleSpec>>,
    #[serde(default)]
    pub messages: Vec<Spanned<MessageSpec>>,
    #[serde(default)]
    pub unless_messages: Vec<Spanned<MessageSpec>>,
    pub confidence: Option<Confidence>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExampleSpec {
    pub text: String,
    #[serde(default)]
    pub captures: BTreeMap<String, String>,
}

pub(super) fn spec_error(
    err: &toml::de::Error,
    piece: &Piece<'_>,
    item_span: Range<usize>,
) -> Diagnostic {
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
