//! The knowledge base: every loaded root's articles and rules, merged in order.

pub mod article;
pub mod generated;
pub mod prepared;
pub mod root;
pub mod synonyms;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub use article::{Article, parse_article};
pub use root::{RootFiles, RootLocation};
pub use synonyms::{SynonymGroup, Synonyms};

use crate::diagnostics::{Diagnostic, Suggestion};
use crate::ids::{ArticleId, RuleId};
use crate::rules::{Rule, load_rule_file_into};
use crate::source::SourceSpan;

/// Which roots to load, in order (later roots override earlier ones by id).
#[derive(Clone, Debug, Default)]
pub struct RootSelection {
    pub builtin: bool,
    pub dirs: Vec<PathBuf>,
}

impl RootSelection {
    /// The built-in root, then `ARM_KB_PATH` (colon-separated), then `--kb` folders.
    pub fn new(no_builtin: bool, env_path: Option<&str>, kb_flags: &[PathBuf]) -> RootSelection {
        let mut dirs: Vec<PathBuf> = env_path
            .unwrap_or_default()
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        dirs.extend(kb_flags.iter().cloned());
        RootSelection {
            builtin: !no_builtin,
            dirs,
        }
    }
}

/// Everything loaded: articles by id, rules in load order.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct KnowledgeBase {
    pub articles: BTreeMap<ArticleId, Article>,
    pub rules: Vec<Rule>,
    pub roots: Vec<RootLocation>,
    /// Every root's `kb/synonyms.toml`, merged in order.
    pub synonyms: Synonyms,
    /// Read from the prepared built-in base ([`prepared`]), whose search index is prepared too.
    #[serde(skip)]
    pub prepared: bool,
}

/// The outcome of loading: the usable knowledge base and every problem met.
pub struct Loaded {
    pub kb: KnowledgeBase,
    pub diagnostics: Vec<Diagnostic>,
    /// A root could not be read at all.
    pub unreadable_root: bool,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.unreadable_root || self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

impl KnowledgeBase {
    pub fn load(selection: &RootSelection) -> Loaded {
        if selection.builtin && selection.dirs.is_empty() {
            if let Some(kb) = prepared::builtin() {
                return Loaded {
                    kb,
                    diagnostics: Vec::new(),
                    unreadable_root: false,
                };
            }
        }
        Self::load_sources(selection)
    }

    /// Loads the selected roots from their sources, the built-in one included: what
    /// `check` validates.
    pub fn load_sources(selection: &RootSelection) -> Loaded {
        let mut diags = Vec::new();
        let mut unreadable_root = false;
        let mut roots = Vec::new();
        if selection.builtin {
            roots.push(root::builtin());
        }
        for dir in &selection.dirs {
            match root::read_dir_root(dir, &mut diags) {
                Ok(files) => roots.push(files),
                Err(d) => {
                    unreadable_root = true;
                    diags.push(*d);
                }
            }
        }
        let kb = Self::from_roots(roots, &mut diags);
        Loaded {
            kb,
            diagnostics: diags,
            unreadable_root,
        }
    }

    /// Parses and merges roots in order, with the built-in catalog (whose messages become
    /// rules when the built-in root is loaded).
    pub fn from_roots(roots: Vec<RootFiles>, diags: &mut Vec<Diagnostic>) -> KnowledgeBase {
        let message_rules = roots.iter().any(|r| r.location == RootLocation::Builtin);
        Self::from_roots_with(roots, crate::catalog::builtin(), message_rules, diags)
    }

    /// Like [`KnowledgeBase::from_roots`] with a given catalog; `message_rules` adds a rule
    /// for each of its classified messages.
    pub fn from_roots_with(
        roots: Vec<RootFiles>,
        catalog: &crate::catalog::Catalog,
        message_rules: bool,
        diags: &mut Vec<Diagnostic>,
    ) -> KnowledgeBase {
        let mut kb = KnowledgeBase::default();
        let mut article_roots: HashMap<ArticleId, usize> = HashMap::new();
        let mut builtin_root = None;
        // Where each rule id sits in `kb.rules`, and which root put it there.
        let mut rule_index: HashMap<RuleId, (usize, usize)> = HashMap::new();
        for (root_no, root) in roots.into_iter().enumerate() {
            if root.location == RootLocation::Builtin {
                builtin_root = Some(root_no);
            }
            for (stem, source) in &root.articles {
                let Some(id) = ArticleId::parse(stem) else {
                    diags.push(
                        Diagnostic::error("bad-article-id", format!("`{stem}` is not a valid article id"))
                            .in_file(source.name.clone())
                            .hint("name article files `kb/<id>.md` with a lowercase id of letters, digits and `-`"),
                    );
                    continue;
                };
                if let Some(article) = parse_article(id.clone(), source, diags) {
                    if let Some(old) = kb.articles.get(&id) {
                        diags.push(
                            Diagnostic::note(
                                "override",
                                format!("article `{id}` overrides {}", old.source.name),
                            )
                            .at(SourceSpan::new(source, 0..0)),
                        );
                    }
                    article_roots.insert(id.clone(), root_no);
                    kb.articles.insert(id, article);
                }
            }
            for source in &root.rule_files {
                // Rules go straight into `kb.rules`; the new ones are then checked against
                // the ids already there. An overriding rule takes the place of the one it
                // overrides, and the rules that lose (overridden, duplicate) are dropped.
                let start = kb.rules.len();
                load_rule_file_into(source, diags, &mut kb.rules);
                let mut dropped = vec![false; kb.rules.len() - start];
                for j in start..kb.rules.len() {
                    let id = &kb.rules[j].id;
                    match rule_index.get(id).copied() {
                        Some((first, seen_root)) if seen_root == root_no => {
                            diags.push(
                                Diagnostic::error(
                                    "duplicate-rule-id",
                                    format!("rule id `{id}` is used twice in this root"),
                                )
                                .at(kb.rules[j].span.clone())
                                .hint(format!(
                                    "first defined at {}",
                                    kb.rules[first].span.location()
                                )),
                            );
                            dropped[j - start] = true;
                        }
                        Some((i, _)) => {
                            diags.push(
                                Diagnostic::note(
                                    "override",
                                    format!(
                                        "rule `{id}` overrides {}",
                                        kb.rules[i].span.location()
                                    ),
                                )
                                .at(kb.rules[j].span.clone()),
                            );
                            rule_index.insert(id.clone(), (i, root_no));
                            kb.rules.swap(i, j);
                            dropped[j - start] = true;
                        }
                        None => {
                            rule_index.insert(id.clone(), (j, root_no));
                        }
                    }
                }
                if dropped.contains(&true) {
                    let mut k = 0;
                    kb.rules.retain(|_| {
                        k += 1;
                        k <= start || !dropped[k - 1 - start]
                    });
                    for (k, rule) in kb.rules.iter().enumerate().skip(start) {
                        if let Some(entry) = rule_index.get_mut(&rule.id) {
                            entry.0 = k;
                        }
                    }
                }
            }
            if let Some(source) = &root.synonyms {
                kb.synonyms.merge_file(source, diags);
            }
            // The budgets guard against roots nobody vetted. The built-in root is ours and
            // is held to them by a test; parsing its patterns again would cost each start.
            if root.location != RootLocation::Builtin {
                let this_root: Vec<&Rule> = kb
                    .rules
                    .iter()
                    .filter(|r| rule_index.get(&r.id).is_some_and(|(_, n)| *n == root_no))
                    .collect();
                check_budgets(&this_root, diags);
            }
            kb.roots.push(root.location);
        }
        if message_rules {
            diags.extend(catalog.diagnostics.iter().cloned());
        }
        generated::apply(
            &mut kb.rules,
            &kb.articles,
            &generated::CatalogInput {
                catalog,
                message_rules,
                article_roots: &article_roots,
                builtin_root,
            },
            diags,
        );
        // Article references are checked once every root is in: a later root may add it.
        let ids: Vec<&str> = kb.articles.keys().map(ArticleId::as_str).collect();
        let mut missing = Vec::new();
        for (i, rule) in kb.rules.iter().enumerate() {
            if !kb.articles.contains_key(&rule.article) {
                let near = Suggestion::nearest(rule.article.as_str(), ids.iter().copied());
                let mut d = Diagnostic::error(
                    "unknown-article",
                    format!(
                        "rule `{}` names article `{}`, which no loaded root has",
                        rule.id, rule.article
                    ),
                )
                .at(rule.article_span.clone());
                if let Some(question) = near.question() {
                    d = d.hint(question);
                }
                diags.push(d);
                missing.push(i);
            }
        }
        for i in missing.into_iter().rev() {
            kb.rules.remove(i);
        }
        kb
    }

    pub fn article(&self, id: &str) -> Option<&Article> {
        ArticleId::parse(id).and_then(|id| self.articles.get(&id))
    }

    /// Rules pointing at `id`, in load order.
    pub fn rules_for<'a>(&'a self, id: &'a ArticleId) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| &r.article == id)
    }

    /// Article ids close to `id`, for "did you mean".
    pub fn similar_ids(&self, id: &str) -> Suggestion {
        let near = Suggestion::nearest(id, self.articles.keys().map(ArticleId::as_str));
        if !near.is_empty() {
            return near;
        }
        Suggestion::of(
            self.articles
                .keys()
                .map(ArticleId::as_str)
                .filter(|k| k.contains(id) || id.contains(*k))
                .take(3),
        )
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id.as_str() == id)
    }

    /// The rule ids nearest to a mistyped one.
    pub fn similar_rule_ids(&self, id: &str) -> Suggestion {
        Suggestion::nearest(id, self.rules.iter().map(|r| r.id.as_str()))
    }
}

/// The regex budgets of one root's rules: a pattern over the capture-group cap refuses its
/// rule; a root over the total size budget refuses all its rules, with one error naming
/// the costliest. Nothing here compiles a regex.
fn check_budgets(rules: &[&Rule], diags: &mut Vec<Diagnostic>) {
    use crate::rules::budget::{self, MAX_CAPTURES_PER_PATTERN, ROOT_REGEX_BUDGET};
    let mut total: u64 = 0;
    let mut costs: Vec<(u64, &Rule)> = Vec::with_capacity(rules.len());
    for rule in rules {
        let mut size: u64 = 0;
        for p in rule.patterns().iter().chain(&rule.unless) {
            let Some(cost) = budget::pattern_cost(&p.regex) else {
                continue;
            };
            size = size.saturating_add(cost.size);
            if cost.captures > MAX_CAPTURES_PER_PATTERN {
                let d = Diagnostic::error(
                    "too-many-captures",
                    format!(
                        "rule `{}`: a pattern has {} capture groups (at most {MAX_CAPTURES_PER_PATTERN})",
                        rule.id, cost.captures
                    ),
                )
                .at(p.span.clone())
                .hint("use non-capturing groups `(?:...)` for what no fix step needs");
                rule.refuse(Diagnostic::error(budget::REFUSED, d.message.clone()));
                diags.push(d);
            }
        }
        total = total.saturating_add(size);
        costs.push((size, rule));
    }
    if total <= ROOT_REGEX_BUDGET {
        return;
    }
    costs.sort_by_key(|c| std::cmp::Reverse(c.0));
    let named: Vec<String> = costs
        .iter()
        .take(5)
        .map(|(size, r)| format!("`{}` (about {} KiB)", r.id, size >> 10))
        .collect();
    let message = format!(
        "the rules of this root need about {} MiB of regex programs, over the budget of {} GiB: {}{}",
        total >> 20,
        ROOT_REGEX_BUDGET >> 30,
        named.join(", "),
        if costs.len() > named.len() {
            format!(" and {} more", costs.len() - named.len())
        } else {
            String::new()
        }
    );
    for (_, rule) in &costs {
        rule.refuse(Diagnostic::error(budget::REFUSED, message.clone()));
    }
    diags.push(
        Diagnostic::error("root-regex-budget", message)
            .at(costs[0].1.span.clone())
            .hint("large Unicode classes under big repetitions cost the most: `(?-u)\\w{80}` instead of `\\w{80}`"),
    );
}

/// A knowledge base of one article `a` and the given rule file, for unit tests.
#[cfg(test)]
pub(crate) fn test_kb(rules: &str) -> KnowledgeBase {
    use crate::source::SourceFile;
    let root = RootFiles {
        location: RootLocation::Builtin,
        articles: vec![(
            "a".to_owned(),
            SourceFile::new(
                "kb/a.md",
                "+++\ntitle = \"A\"\n+++\n## Symptoms\nx\n## Cause\ny\n## Fix\n1. z\n",
            ),
        )],
        rule_files: vec![SourceFile::new("rules/a.toml", rules.to_owned())],
        synonyms: None,
    };
    let mut diags = Vec::new();
    let kb = KnowledgeBase::from_roots_with(
        vec![root],
        &crate::catalog::Catalog::default(),
        false,
        &mut diags,
    );
    assert!(diags.is_empty(), "{diags:?}");
    kb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn the_builtin_root_keeps_the_budgets_it_is_not_checked_against_at_load() {
        let loaded = KnowledgeBase::load(&RootSelection {
            builtin: true,
            dirs: Vec::new(),
        });
        let rules: Vec<&Rule> = loaded.kb.rules.iter().collect();
        assert!(rules.len() > 300, "{} rules", rules.len());
        let mut diags = Vec::new();
        check_budgets(&rules, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
    }

    fn root(dir: &str, rules: &str) -> RootFiles {
        RootFiles {
            location: RootLocation::Dir(dir.into()),
            articles: vec![(
                "a".to_owned(),
                SourceFile::new(
                    format!("{dir}/kb/a.md"),
                    "+++\ntitle = \"A\"\n+++\n## Symptoms\nx\n## Cause\ny\n## Fix\n1. z\n",
                ),
            )],
            rule_files: vec![SourceFile::new(
                format!("{dir}/rules/a.toml"),
                rules.to_owned(),
            )],
            synonyms: None,
        }
    }

    fn rules(ids: &[(&str, &str)]) -> String {
        ids.iter()
            .map(|(id, pattern)| {
                format!("[[rule]]\nid = '{id}'\narticle = 'a'\npatterns = ['{pattern}']\n\n")
            })
            .collect()
    }

    /// Each rule's id and the pattern that says which root it came from.
    fn ids(kb: &KnowledgeBase) -> Vec<(&str, &str)> {
        kb.rules
            .iter()
            .map(|r| (r.id.as_str(), r.patterns()[0].regex.as_str()))
            .collect()
    }

    /// Root "one" with r1..r3; root "two" adds r4 (twice) and r5 and overrides r2.
    fn first_two_roots() -> Vec<RootFiles> {
        vec![
            root(
                "one",
                &rules(&[("r1", "one"), ("r2", "one"), ("r3", "one")]),
            ),
            root(
                "two",
                &rules(&[("r4", "two"), ("r2", "two"), ("r5", "two"), ("r4", "again")]),
            ),
        ]
    }

    #[test]
    fn a_later_root_overrides_in_place_and_a_duplicate_id_is_an_error() {
        let mut diags = Vec::new();
        let kb = KnowledgeBase::from_roots(first_two_roots(), &mut diags);
        // The override keeps r2's place; the duplicate r4 is left out, the first one kept.
        assert_eq!(
            ids(&kb),
            [
                ("r1", "one"),
                ("r2", "two"),
                ("r3", "one"),
                ("r4", "two"),
                ("r5", "two")
            ]
        );
        let codes: Vec<(&str, String)> = diags
            .iter()
            .map(|d| (d.code, d.span.as_ref().unwrap().location()))
            .collect();
        assert_eq!(
            codes,
            [
                ("override", "two/kb/a.md:1:1".to_owned()),
                ("override", "two/rules/a.toml:7:6".to_owned()),
                ("duplicate-rule-id", "two/rules/a.toml:17:6".to_owned()),
            ]
        );
        assert_eq!(
            diags[2].hint.as_deref(),
            Some("first defined at two/rules/a.toml:2:6")
        );
    }

    #[test]
    fn a_third_root_overrides_rules_placed_by_earlier_overrides_and_additions() {
        let mut roots = first_two_roots();
        roots.push(root("three", &rules(&[("r5", "three"), ("r1", "three")])));
        let kb = KnowledgeBase::from_roots(roots, &mut Vec::new());
        assert_eq!(
            ids(&kb),
            [
                ("r1", "three"),
                ("r2", "two"),
                ("r3", "one"),
                ("r4", "two"),
                ("r5", "three")
            ]
        );
    }
}
