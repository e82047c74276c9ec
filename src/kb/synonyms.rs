//! Synonyms: `kb/synonyms.toml`, groups of terms that mean the same to a searcher
//! (acronyms, old and new product names). `arm-kb search` expands a query term or phrase
//! to the other terms of its group, with a lower weight than the words typed.
//!
//! ```toml
//! [[group]]
//! terms = ["managed identity", "MSI", "managed service identity"]
//! ```
//!
//! Roots merge in load order. A later root's group that shares a term with earlier groups
//! **extends** them: the groups become one, with every term of each. With `replace = true`
//! it **replaces** them instead: the earlier groups that share a term are dropped, and the
//! team's group stands alone (this is how a team removes an equivalence it does not want).

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::diagnostics::Diagnostic;
use crate::source::{SharedSource, SourceSpan};

/// The file name, inside a root's `kb/` folder.
pub const SYNONYMS_FILE: &str = "synonyms.toml";
/// Longest term, in characters.
pub const MAX_TERM_CHARS: usize = 60;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SynonymsToml {
    #[serde(default)]
    group: Vec<Spanned<GroupToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupToml {
    #[serde(default)]
    terms: Vec<Spanned<String>>,
    #[serde(default)]
    replace: bool,
}

/// One group of equivalent terms, lower-cased, spaces collapsed, in the order written.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct SynonymGroup {
    pub terms: Vec<String>,
    /// Where the group was written (the last root's group when groups were merged).
    pub location: String,
}

/// Every group in force once all roots are merged.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Synonyms {
    pub groups: Vec<SynonymGroup>,
}

/// A group as parsed from one file.
struct ParsedGroup {
    group: SynonymGroup,
    replace: bool,
    span: SourceSpan,
}

/// How a term is compared: lower case, single spaces.
pub fn normalize_term(term: &str) -> String {
    term.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Synonyms {
    /// Adds one root's synonyms file (see the module comment for extend and replace).
    pub fn merge_file(&mut self, source: &SharedSource, diags: &mut Vec<Diagnostic>) {
        for parsed in parse_file(source, diags) {
            let shares = |g: &SynonymGroup| g.terms.iter().any(|t| parsed.group.terms.contains(t));
            let earlier: Vec<SynonymGroup> =
                self.groups.iter().filter(|g| shares(g)).cloned().collect();
            self.groups.retain(|g| !shares(g));
            let mut group = parsed.group;
            for old in &earlier {
                diags.push(
                    Diagnostic::note(
                        "synonyms-override",
                        format!(
                            "synonym group {} the group at {}",
                            if parsed.replace {
                                "replaces"
                            } else {
                                "extends"
                            },
                            old.location
                        ),
                    )
                    .at(parsed.span.clone()),
                );
            }
            if !parsed.replace {
                let mut terms: Vec<String> = Vec::new();
                for t in earlier.iter().flat_map(|g| &g.terms).chain(&group.terms) {
                    if !terms.contains(t) {
                        terms.push(t.clone());
                    }
                }
                group.terms = terms;
            }
            self.groups.push(group);
        }
    }
}

/// Parses and validates one synonyms file; only valid groups of two or more terms are
/// returned (a term already in an earlier group of the file is left out of its group).
fn parse_file(source: &SharedSource, diags: &mut Vec<Diagnostic>) -> Vec<ParsedGroup> {
    let file: SynonymsToml = match toml::from_str(&source.text) {
        Ok(file) => file,
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            let mut d = Diagnostic::error(
                "synonyms-syntax",
                format!("synonyms: {}", err.message().trim()),
            )
            .at(SourceSpan::new(source, span));
            if err.message().contains("unknown field") {
                d = d.hint("a synonyms file holds `[[group]]` tables with `terms = [...]` and an optional `replace = true`");
            }
            diags.push(d);
            return Vec::new();
        }
    };
    // Every term seen in this file, with where it was first written.
    let mut seen: Vec<(String, SourceSpan)> = Vec::new();
    let mut out = Vec::new();
    for group in &file.group {
        let group_span = SourceSpan::new(source, group.span());
        let mut terms = Vec::new();
        for term in &group.get_ref().terms {
            let span = SourceSpan::new(source, term.span());
            let text = term.get_ref();
            let problem = if text.trim().is_empty() {
                Some("synonym term is empty".to_owned())
            } else if text.chars().any(char::is_control) {
                Some("synonym term holds a control character".to_owned())
            } else if text.chars().count() > MAX_TERM_CHARS {
                Some(format!(
                    "synonym term is longer than {MAX_TERM_CHARS} characters"
                ))
            } else if !text.chars().any(char::is_alphanumeric) {
                Some("synonym term has no letter or digit: it can never match a query".to_owned())
            } else {
                None
            };
            if let Some(message) = problem {
                diags.push(Diagnostic::error("synonym-term", message).at(span));
                continue;
            }
            let key = normalize_term(text);
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                diags.push(
                    Diagnostic::error(
                        "synonym-in-two-groups",
                        format!("synonym term `{key}` is listed twice"),
                    )
                    .at(span)
                    .hint(format!(
                        "first listed at {}; a term belongs to one group (merge the groups if they mean the same)",
                        first.location()
                    )),
                );
                continue;
            }
            seen.push((key.clone(), span));
            terms.push(key);
        }
        match (group.get_ref().terms.len(), terms.len()) {
            (0, _) => diags.push(
                Diagnostic::error("empty-synonym-group", "synonym group has no terms")
                    .at(group_span.clone())
                    .hint("list two or more equivalent terms: `terms = [\"MSI\", \"managed identity\"]`"),
            ),
            (1, _) => diags.push(
                Diagnostic::error("empty-synonym-group", "synonym group has only one term")
                    .at(group_span.clone())
                    .hint("a group lists two or more equivalent terms"),
            ),
            _ => {}
        }
        if terms.len() >= 2 || (group.get_ref().replace && !terms.is_empty()) {
            out.push(ParsedGroup {
                group: SynonymGroup {
                    terms,
                    location: group_span.location(),
                },
                replace: group.get_ref().replace,
                span: group_span,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn merged(files: &[&str]) -> (Synonyms, Vec<(&'static str, String)>) {
        let mut synonyms = Synonyms::default();
        let mut diags = Vec::new();
        for (i, text) in files.iter().enumerate() {
            synonyms.merge_file(
                &SourceFile::new(format!("r{i}/kb/synonyms.toml"), text.to_string()),
                &mut diags,
            );
        }
        let codes = diags
            .iter()
            .map(|d| (d.code, d.location().unwrap_or_default()))
            .collect();
        (synonyms, codes)
    }

    fn terms(s: &Synonyms) -> Vec<Vec<&str>> {
        s.groups
            .iter()
            .map(|g| g.terms.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn terms_are_normalized_and_problems_have_positions() {
        let (s, diags) = merged(&[concat!(
            "[[group]]\n",
            "terms = [\"MSI\", \"Managed   Identity\"]\n",
            "[[group]]\n",
            "terms = []\n",
            "[[group]]\n",
            "terms = [\"msi\", \"  \", \"SPN\", \"service principal\"]\n",
        )]);
        assert_eq!(
            terms(&s),
            [
                vec!["msi", "managed identity"],
                vec!["spn", "service principal"]
            ]
        );
        assert_eq!(
            diags,
            [
                ("empty-synonym-group", "r0/kb/synonyms.toml:3:1".to_owned()),
                (
                    "synonym-in-two-groups",
                    "r0/kb/synonyms.toml:6:10".to_owned()
                ),
                ("synonym-term", "r0/kb/synonyms.toml:6:17".to_owned()),
            ]
        );
    }

    #[test]
    fn a_later_group_extends_or_replaces_the_groups_it_shares_a_term_with() {
        let builtin = "[[group]]\nterms = [\"msi\", \"managed identity\"]\n[[group]]\nterms = [\"aad\", \"entra id\"]\n";
        let (s, diags) = merged(&[builtin, "[[group]]\nterms = [\"MSI\", \"uami\"]\n"]);
        assert_eq!(
            terms(&s),
            [
                vec!["aad", "entra id"],
                vec!["msi", "managed identity", "uami"]
            ]
        );
        assert_eq!(
            diags,
            [("synonyms-override", "r1/kb/synonyms.toml:1:1".to_owned())]
        );
        let (s, _) = merged(&[
            builtin,
            "[[group]]\nreplace = true\nterms = [\"aad\", \"azure ad\"]\n",
        ]);
        assert_eq!(
            terms(&s),
            [vec!["msi", "managed identity"], vec!["aad", "azure ad"]]
        );
    }

    #[test]
    fn syntax_errors_and_unknown_fields_are_reported() {
        let (_, diags) = merged(&["[[group]]\nterm = [\"a\", \"b\"]\n"]);
        assert_eq!(diags[0].0, "synonyms-syntax");
        assert_eq!(diags[0].1, "r0/kb/synonyms.toml:2:1");
        let (_, diags) = merged(&["[[group]\n"]);
        assert_eq!(diags[0].0, "synonyms-syntax");
    }
}
