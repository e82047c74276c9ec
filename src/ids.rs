//! Identifiers that carry meaning: an [`ArticleId`] names an article file, a [`RuleId`] a rule.
//!
//! Both are validated on construction, so a value of these types can never be a path
//! (`../x`) or an empty string.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The id of an article: the stem of `kb/<id>.md`, `[a-z0-9][a-z0-9-]*`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct ArticleId(String);

/// The id of a rule: `[a-z0-9][a-z0-9._-]*`, unique across the loaded roots.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct RuleId(String);

fn is_plain_id(s: &str, extra: &[u8]) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || extra.contains(&b)
        })
}

impl ArticleId {
    /// Validates `s` as an article id.
    pub fn parse(s: &str) -> Option<ArticleId> {
        is_plain_id(s, b"").then(|| ArticleId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl RuleId {
    /// Validates `s` as a rule id.
    pub fn parse(s: &str) -> Option<RuleId> {
        is_plain_id(s, b"._").then(|| RuleId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ArticleId {
    type Error = String;
    fn try_from(s: String) -> Result<ArticleId, String> {
        ArticleId::parse(&s).ok_or_else(|| format!("`{s}` is not a valid article id"))
    }
}

impl TryFrom<String> for RuleId {
    type Error = String;
    fn try_from(s: String) -> Result<RuleId, String> {
        RuleId::parse(&s).ok_or_else(|| format!("`{s}` is not a valid rule id"))
    }
}

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_ids_are_plain_names() {
        assert!(ArticleId::parse("sp-secret-expired").is_some());
        assert!(ArticleId::parse("0day").is_some());
        for bad in [
            "",
            "../etc/passwd",
            "a/b",
            "Upper",
            "-lead",
            "a.b",
            "a_b",
            "a b",
        ] {
            assert!(ArticleId::parse(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn rule_ids_allow_dots_and_underscores() {
        assert!(RuleId::parse("sp-secret-expired.aadsts7000222").is_some());
        assert!(RuleId::parse("team_x.rule-1").is_some());
        assert!(RuleId::parse("../x").is_none());
        assert!(RuleId::parse(".hidden").is_none());
    }
}
