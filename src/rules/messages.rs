//! Rules and the message catalog: a rule's `messages` and `unless_messages` (catalog
//! messages matched in every locale and variant), its `confidence`, and the rules made
//! without a rule file: one per classified catalog message of the built-in root, one per
//! article owning `error_codes`, and the generic Entra sign-in rule for the AADSTS codes
//! no article owns.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{PatternSource, Rule, RuleKind};
use crate::catalog::{Message, compile};
use crate::diagnostics::Diagnostic;
use crate::ids::{ArticleId, RuleId};
use crate::source::SourceSpan;

/// The article for an AADSTS code that no article owns.
pub const ENTRA_GENERIC_ARTICLE: &str = "entra-sign-in-error";
/// Priority of the rules made from articles' error codes.
pub const CODE_PRIORITY: u8 = 98;
/// Priority of the rules made from classified catalog messages: from this, one more per
/// 20 characters of the message's longest text, up to `MESSAGE_PRIORITY + 10`. A message
/// that holds a shorter one ("No tenant found in the context. ... run Connect-AzAccount
/// to login." holds "Run Connect-AzAccount to login.") is the more specific, and ranks
/// first.
pub const MESSAGE_PRIORITY: u8 = 85;

/// The priority of the rule made from message `m`.
pub fn message_priority(m: &Message) -> u8 {
    let longest = m
        .texts
        .iter()
        .map(|t| t.text.chars().count())
        .max()
        .unwrap_or(0);
    MESSAGE_PRIORITY + (longest / 20).min(10) as u8
}
/// Priority of the generic Entra sign-in rule.
pub const ENTRA_GENERIC_PRIORITY: u8 = 40;
/// Below this priority a rule's findings are `likely` unless it says otherwise.
pub const LIKELY_BELOW: u8 = 50;

/// How sure a finding is: `definite` for an error code, a catalog message or a specific
/// rule; `likely` for a generic phrase. A definite finding ranks above a likely one.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Likely,
    #[default]
    Definite,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Likely => "likely",
            Confidence::Definite => "definite",
        }
    }

    /// The confidence of a rule that does not give one.
    pub fn from_priority(priority: u8) -> Confidence {
        if priority < LIKELY_BELOW {
            Confidence::Likely
        } else {
            Confidence::Definite
        }
    }
}

/// A catalog message named by a rule, with names for its arguments' captures.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MessageRef {
    pub id: String,
    /// `captures[i]` names argument `i + 1` (the i-th `%s`, or `{i}`); empty: not captured.
    pub captures: Vec<String>,
    pub span: SourceSpan,
}

/// What capture values a rule adds after a match.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub enum Enrich {
    #[default]
    None,
    /// `code` is an AADSTS code: add its `description` and `error_url`.
    EntraCode(Arc<BTreeMap<String, String>>),
}

/// A rule's catalog fields.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct RuleExtras {
    pub messages: Vec<MessageRef>,
    pub unless_messages: Vec<MessageRef>,
    pub confidence: Confidence,
    pub enrich: Enrich,
    /// Made from the catalog or an article, not written in a rule file.
    pub generated: bool,
}

/// `messages = ["id", { id = "...", captures = [...] }]` as written.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum MessageSpec {
    Id(String),
    Table(MessageTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessageTable {
    id: String,
    #[serde(default)]
    captures: Vec<String>,
}

fn is_capture_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The catalog fields of a rule file's rule.
pub(super) fn extras(
    messages: Vec<Spanned<MessageSpec>>,
    unless_messages: Vec<Spanned<MessageSpec>>,
    confidence: Option<Confidence>,
    priority: u8,
    span: &dyn Fn(Range<usize>) -> SourceSpan,
    diags: &mut Vec<Diagnostic>,
) -> RuleExtras {
    let mut refs = |list: Vec<Spanned<MessageSpec>>| -> Vec<MessageRef> {
        list.into_iter()
            .map(|m| {
                let at = span(m.span());
                let (id, captures) = match m.into_inner() {
                    MessageSpec::Id(id) => (id, Vec::new()),
                    MessageSpec::Table(t) => (t.id, t.captures),
                };
                for name in captures.iter().filter(|n| !n.is_empty()) {
                    if !is_capture_name(name) {
                        diags.push(
                            Diagnostic::error(
                                "bad-capture-name",
                                format!("`{name}` is not a capture name"),
                            )
                            .at(at.clone())
                            .hint("capture names are lowercase letters, digits and `_`, as in `{app_id}`"),
                        );
                    }
                }
                MessageRef {
                    id,
                    captures,
                    span: at,
                }
            })
            .collect()
    };
    RuleExtras {
        messages: refs(messages),
        unless_messages: refs(unless_messages),
        confidence: confidence.unwrap_or(Confidence::from_priority(priority)),
        enrich: Enrich::None,
        generated: false,
    }
}

impl Rule {
    pub fn confidence(&self) -> Confidence {
        self.extras.confidence
    }

    /// Completes the captures of a match: the parts of a `scope`, and what the rule adds
    /// (an Entra code's description and link).
    pub fn finish_captures(&self, captures: &mut BTreeMap<String, String>) {
        crate::catalog::scope::fill(captures);
        if let Enrich::EntraCode(descriptions) = &self.extras.enrich {
            if let Some(code) = captures.get("code").cloned() {
                let number = code.trim_start_matches(|c: char| c.is_ascii_alphabetic());
                captures.insert(
                    "error_url".to_owned(),
                    format!("https://login.microsoftonline.com/error?code={number}"),
                );
                if let Some(d) = descriptions.get(&code.to_ascii_uppercase()) {
                    captures.insert("description".to_owned(), d.clone());
                }
            }
        }
    }

    pub fn generated(
        id: RuleId,
        article: ArticleId,
        span: SourceSpan,
        priority: u8,
        parts: Parts,
        enrich: Enrich,
    ) -> Rule {
        let Parts {
            keywords,
            patterns,
            unless,
        } = parts;
        Rule {
            id,
            article,
            article_span: span.clone(),
            severity: super::Severity::Error,
            priority,
            keywords,
            keywords_derived: true,
            kind: RuleKind::Patterns(patterns),
            unless,
            examples: Vec::new(),
            counterexamples: Vec::new(),
            span,
            extras: RuleExtras {
                confidence: Confidence::Definite,
                enrich,
                generated: true,
                ..RuleExtras::default()
            },
            lazy: Default::default(),
        }
    }
}

/// What a generated rule matches.
pub struct Parts {
    pub keywords: Vec<String>,
    pub patterns: Vec<PatternSource>,
    pub unless: Vec<PatternSource>,
}

pub fn pattern(regex: String, span: &SourceSpan) -> PatternSource {
    PatternSource {
        regex,
        span: span.clone(),
        // Not written in the file: errors point at the whole entry.
        text_offset: usize::MAX,
    }
}

/// The patterns and keywords of a message: one regex per distinct text, and its bare key.
pub fn message_patterns(
    m: &Message,
    names: &[String],
    span: &SourceSpan,
) -> (Vec<PatternSource>, Vec<String>) {
    let mut seen = HashSet::new();
    let mut patterns = Vec::new();
    let mut keywords = Vec::new();
    let mut add = |c: compile::Compiled| {
        if c.keywords.is_empty() || !seen.insert(c.regex.clone()) {
            return;
        }
        keywords.extend(c.keywords);
        patterns.push(pattern(c.regex, span));
    };
    for t in &m.texts {
        add(compile::compile(&t.text, names));
    }
    if m.has_key && !m.key.is_empty() {
        add(compile::bare_key(&m.key));
    }
    keywords.sort();
    keywords.dedup();
    (patterns, keywords)
}

/// A rule id from a catalog id: lowercase, other characters as `-`.
pub fn rule_id(prefix: &str, id: &str, taken: &HashSet<String>) -> Option<RuleId> {
    let base: String = id
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            ':' | '/' => '.',
            _ => '-',
        })
        .collect();
    let mut candidate = format!("{prefix}.{base}");
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{prefix}.{base}-{n}");
        n += 1;
    }
    RuleId::parse(&candidate)
}
