//! The serde shape of a `[[rule]]` table, and the diagnostics for a table that does not
//! fit it.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use super::Severity;
use super::load::Piece;
use super::messages::{Confidence, MessageSpec};
use crate::diagnostics::{Diagnostic, Suggestion, unknown_field_name};
use crate::source::SourceSpan;

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

/// Every problem of a rule table that does not deserialize: each unknown field, each
/// field of the wrong type, each missing required field, in the order of the file.
pub(super) fn field_errors(
    item: &Spanned<DeValue<'_>>,
    piece: &Piece<'_>,
    item_span: Range<usize>,
) -> Vec<Diagnostic> {
    fn probe<T: serde::de::DeserializeOwned>(
        value: &Spanned<DeValue<'_>>,
    ) -> Result<(), toml::de::Error> {
        T::deserialize(ValueDeserializer::from(value.clone())).map(|_| ())
    }
    let DeValue::Table(table) = item.get_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in table.iter() {
        let name: &str = key.get_ref();
        let result = match name {
            "id" | "article" => probe::<String>(value),
            "severity" => probe::<Severity>(value),
            "priority" | "window" => probe::<i64>(value),
            "keywords" | "patterns" | "all" | "unless" | "examples" | "counterexamples" => {
                probe::<Vec<String>>(value)
            }
            "example" => probe::<Vec<ExampleSpec>>(value),
            _ => {
                out.push(unknown_field(name, piece.span(key.span())));
                continue;
            }
        };
        if let Err(err) = result {
            let mut d = spec_error(&err, piece, value.span());
            if d.code == "wrong-type" {
                d.message = format!("rule: `{name}`: {}", err.message().trim());
            }
            out.push(d);
        }
    }
    for required in ["id", "article"] {
        if !table.iter().any(|(k, _)| k.get_ref() == required) {
            out.push(
                Diagnostic::error("missing-field", format!("rule: missing field `{required}`"))
                    .at(piece.span(item_span.clone())),
            );
        }
    }
    out.sort_by_key(|d| d.span.as_ref().map(|s| s.range.start));
    out
}

fn unknown_field(field: &str, at: SourceSpan) -> Diagnostic {
    let known = &RULE_FIELDS[..RULE_FIELDS.len() - 1];
    let hint = match Suggestion::nearest(field, known.iter().copied()).first() {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("known fields: {}", known.join(", ")),
    };
    Diagnostic::error("unknown-field", format!("unknown field `{field}` in rule"))
        .at(at)
        .label("not a rule field")
        .hint(hint)
}

pub(super) fn spec_error(
    err: &toml::de::Error,
    piece: &Piece<'_>,
    item_span: Range<usize>,
) -> Diagnostic {
    let message = err.message().trim();
    let at = piece.span(err.span().unwrap_or(item_span));
    if let Some(field) = unknown_field_name(message) {
        return unknown_field(field, at);
    }
    if message.starts_with("missing field") {
        return Diagnostic::error("missing-field", format!("rule: {message}")).at(at);
    }
    Diagnostic::error("wrong-type", format!("rule: {message}")).at(at)
}
