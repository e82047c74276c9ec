//! The knowledge base: every loaded root's articles and rules, merged in order.

pub mod article;
pub mod root;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub use article::{Article, parse_article};
pub use root::{RootFiles, RootLocation};

use crate::diagnostics::{Diagnostic, did_you_mean};
use crate::ids::{ArticleId, RuleId};
use crate::rules::{Rule, load_rule_file};
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
#[derive(Debug, Default)]
pub struct KnowledgeBase {
    pub articles: BTreeMap<ArticleId, Article>,
    pub rules: Vec<Rule>,
    pub roots: Vec<RootLocation>,
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

    /// Parses and merges roots in order.
    pub fn from_roots(roots: Vec<RootFiles>, diags: &mut Vec<Diagnostic>) -> KnowledgeBase {
        let mut kb = KnowledgeBase::default();
        // Where each rule id sits in `kb.rules`, and which root put it there.
        let mut rule_index: HashMap<RuleId, (usize, usize)> = HashMap::new();
        for (root_no, root) in roots.into_iter().enumerate() {
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
                    kb.articles.insert(id, article);
                }
            }
            for source in &root.rule_files {
                let rules = load_rule_file(source, diags);
                kb.rules.reserve(rules.len());
                for rule in rules {
                    match rule_index.get(&rule.id) {
                        Some(&(_, seen_root)) if seen_root == root_no => {
                            let first = rule_index[&rule.id].0;
                            diags.push(
                                Diagnostic::error(
                                    "duplicate-rule-id",
                                    format!("rule id `{}` is used twice in this root", rule.id),
                                )
                                .at(rule.span.clone())
                                .hint(format!(
                                    "first defined at {}",
                                    kb.rules[first].span.location()
                                )),
                            );
                        }
                        Some(&(i, _)) => {
                            diags.push(
                                Diagnostic::note(
                                    "override",
                                    format!(
                                        "rule `{}` overrides {}",
                                        rule.id,
                                        kb.rules[i].span.location()
                                    ),
                                )
                                .at(rule.span.clone()),
                            );
                            rule_index.insert(rule.id.clone(), (i, root_no));
                            kb.rules[i] = rule;
                        }
                        None => {
                            rule_index.insert(rule.id.clone(), (kb.rules.len(), root_no));
                            kb.rules.push(rule);
                        }
                    }
                }
            }
            kb.roots.push(root.location);
        }
        // Article references are checked once every root is in: a later root may add it.
        let ids: Vec<&str> = kb.articles.keys().map(ArticleId::as_str).collect();
        let mut missing = Vec::new();
        for (i, rule) in kb.rules.iter().enumerate() {
            if !kb.articles.contains_key(&rule.article) {
                let near = did_you_mean(rule.article.as_str(), ids.iter().copied());
                let mut d = Diagnostic::error(
                    "unknown-article",
                    format!(
                        "rule `{}` names article `{}`, which no loaded root has",
                        rule.id, rule.article
                    ),
                )
                .at(rule.article_span.clone());
                if !near.is_empty() {
                    d = d.hint(format!(
                        "did you mean {}?",
                        near.iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ));
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
    pub fn similar_ids(&self, id: &str) -> Vec<&str> {
        let mut near = did_you_mean(id, self.articles.keys().map(ArticleId::as_str));
        if near.is_empty() {
            near = self
                .articles
                .keys()
                .map(ArticleId::as_str)
                .filter(|k| k.contains(id) || id.contains(*k))
                .take(3)
                .collect();
        }
        near
    }
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
        rule_files: vec![SourceFile::new("rules/a.toml", rules)],
    };
    let mut diags = Vec::new();
    let kb = KnowledgeBase::from_roots(vec![root], &mut diags);
    assert!(diags.is_empty(), "{diags:?}");
    kb
}
