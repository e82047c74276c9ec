//! The rules a knowledge base gets without a rule file: each rule's `messages` resolved
//! against the catalog; one rule per classified catalog message of the built-in root
//! (unless a rule file names the message); one per article owning `error_codes`; and the
//! generic Entra sign-in rule for the AADSTS codes no article owns.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::catalog::{Catalog, Class};
use crate::diagnostics::Diagnostic;
use crate::ids::ArticleId;
use crate::kb::Article;
use crate::rules::messages::{
    CODE_PRIORITY, ENTRA_GENERIC_ARTICLE, ENTRA_GENERIC_PRIORITY, Enrich, Parts, message_patterns,
    message_priority, pattern, rule_id,
};
use crate::rules::{Rule, RuleKind};
use crate::source::{SourceFile, SourceSpan};

/// The file a generated rule names when its catalog entry has no position.
pub const NO_CATALOG_FILE: &str = "builtin:catalog";

/// What the catalog adds to a merged knowledge base.
pub struct CatalogInput<'a> {
    pub catalog: &'a Catalog,
    /// Add a rule for each classified message (the built-in root's catalog).
    pub message_rules: bool,
    /// For each article, the number of the root it comes from.
    pub article_roots: &'a HashMap<ArticleId, usize>,
    /// The number of the built-in root, if loaded.
    pub builtin_root: Option<usize>,
}

/// Resolves the rules' `messages`, then adds the generated rules.
pub fn apply(
    rules: &mut Vec<Rule>,
    articles: &BTreeMap<ArticleId, Article>,
    input: &CatalogInput<'_>,
    diags: &mut Vec<Diagnostic>,
) {
    let catalog = input.catalog;
    let mut named: HashSet<String> = HashSet::new();
    let mut broken = Vec::new();
    for (i, rule) in rules.iter_mut().enumerate() {
        if rule.extras.messages.is_empty() && rule.extras.unless_messages.is_empty() {
            continue;
        }
        let mut ok = true;
        if !rule.extras.messages.is_empty() && matches!(rule.kind, RuleKind::All { .. }) {
            diags.push(
                Diagnostic::error("messages-with-all", "`messages` cannot be used with `all`")
                    .at(rule.extras.messages[0].span.clone())
                    .hint("write the messages in a rule of their own, beside `patterns`"),
            );
            ok = false;
        }
        let keep_unfiltered = rule.keywords.is_empty() && !rule.patterns().is_empty();
        let mut keywords = Vec::new();
        for (is_unless, r) in rule
            .extras
            .messages
            .iter()
            .map(|r| (false, r))
            .chain(rule.extras.unless_messages.iter().map(|r| (true, r)))
        {
            let Some(m) = catalog.message(&r.id) else {
                let near = catalog.similar_ids(&r.id);
                let mut d = Diagnostic::error(
                    "unknown-message",
                    format!("`{}` is not a catalog message", r.id),
                )
                .at(r.span.clone());
                d = if near.is_empty() {
                    d.hint("`arm-kb list --messages` lists the catalog's message ids")
                } else {
                    d.hint(format!("did you mean `{}`?", near[0]))
                };
                diags.push(d);
                ok = false;
                continue;
            };
            let (patterns, kws) = message_patterns(m, &r.captures, &r.span);
            if is_unless {
                rule.unless.extend(patterns);
                if matches!(rule.kind, RuleKind::All { .. }) {
                    keywords.extend(kws);
                }
            } else {
                named.insert(m.id.clone());
                if let RuleKind::Patterns(p) = &mut rule.kind {
                    p.extend(patterns);
                }
                keywords.extend(kws);
            }
        }
        if !keep_unfiltered {
            rule.keywords.extend(keywords);
            rule.keywords.sort();
            rule.keywords.dedup();
        }
        if !ok {
            broken.push(i);
        }
    }
    for i in broken.into_iter().rev() {
        rules.remove(i);
    }

    let mut taken: HashSet<String> = rules.iter().map(|r| r.id.as_str().to_owned()).collect();
    if input.message_rules {
        // One rule per key and article: task copies ship the same key (and mostly the
        // same texts) in many components; their texts are matched once.
        let mut groups: BTreeMap<(String, &str), Vec<&crate::catalog::Message>> = BTreeMap::new();
        for m in &catalog.messages {
            let Class::Article(article) = &m.class else {
                continue;
            };
            if named.contains(&m.id) {
                continue; // a hand-written rule names it
            }
            let span = m
                .span
                .clone()
                .unwrap_or_else(|| SourceSpan::new(&SourceFile::new(NO_CATALOG_FILE, ""), 0..0));
            if !ArticleId::parse(article).is_some_and(|a| articles.contains_key(&a)) {
                diags.push(
                    Diagnostic::error(
                        "unknown-article",
                        format!("catalog message `{}` names article `{article}`, which no loaded root has", m.id),
                    )
                    .at(span),
                );
                continue;
            }
            groups
                .entry((m.key.to_ascii_lowercase(), article.as_str()))
                .or_default()
                .push(m);
        }
        for ((key, article), members) in groups {
            let Some(article_id) = ArticleId::parse(article) else {
                continue;
            };
            let Some(id) = rule_id("catalog", &key, &taken) else {
                continue;
            };
            let span = members[0]
                .span
                .clone()
                .unwrap_or_else(|| SourceSpan::new(&SourceFile::new(NO_CATALOG_FILE, ""), 0..0));
            let mut patterns = Vec::new();
            let mut keywords = Vec::new();
            let mut seen = HashSet::new();
            for m in &members {
                let (p, k) = message_patterns(m, &[], &span);
                patterns.extend(p.into_iter().filter(|p| seen.insert(p.regex.clone())));
                keywords.extend(k);
            }
            keywords.sort();
            keywords.dedup();
            if patterns.is_empty() {
                continue;
            }
            let priority = members
                .iter()
                .map(|m| message_priority(m))
                .max()
                .unwrap_or(0);
            taken.insert(id.as_str().to_owned());
            rules.push(Rule::generated(
                id,
                article_id,
                span,
                priority,
                Parts {
                    keywords,
                    patterns,
                    unless: Vec::new(),
                },
                Enrich::None,
            ));
        }
    }
    code_rules(rules, articles, input, &mut taken, diags);
}

/// Where `code` is written in an article's source, for diagnostics.
fn code_span(article: &Article, code: &str) -> SourceSpan {
    let text = &article.source.text;
    let at = text
        .find(&format!("\"{code}\""))
        .map_or(0..0, |i| i + 1..i + 1 + code.len());
    SourceSpan::new(&article.source, at)
}

/// Every code's owner: per root, the articles listing it (the built-in root's
/// `entra-code-owners.toml` decides there); a later root's owner wins.
fn code_owners(
    articles: &BTreeMap<ArticleId, Article>,
    input: &CatalogInput<'_>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, ArticleId> {
    let mut by_root: BTreeMap<usize, Vec<&Article>> = BTreeMap::new();
    for (id, article) in articles {
        if article.tags.iter().any(|t| t == "reference") {
            continue; // background reading owns no code
        }
        let root = input.article_roots.get(id).copied().unwrap_or(0);
        by_root.entry(root).or_default().push(article);
    }
    let mut owners: BTreeMap<String, ArticleId> = BTreeMap::new();
    let roots: BTreeSet<usize> = by_root.keys().copied().chain(input.builtin_root).collect();
    for root in roots {
        let decided: BTreeMap<&str, ArticleId> = if Some(root) == input.builtin_root {
            input
                .catalog
                .code_owners
                .iter()
                .filter_map(|(code, (article, span))| {
                    match ArticleId::parse(article).filter(|a| articles.contains_key(a)) {
                        Some(a) => Some((code.as_str(), a)),
                        None => {
                            diags.push(
                                Diagnostic::error(
                                    "unknown-article",
                                    format!("code `{code}` is given to article `{article}`, which no loaded root has"),
                                )
                                .at(span.clone()),
                            );
                            None
                        }
                    }
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        let mut mine: BTreeMap<String, &Article> = BTreeMap::new();
        for article in by_root.get(&root).into_iter().flatten() {
            for code in &article.error_codes {
                if decided.contains_key(code.as_str()) {
                    continue;
                }
                match mine.get(code.as_str()) {
                    Some(first) => diags.push(
                        Diagnostic::error(
                            "duplicate-code-owner",
                            format!(
                                "code `{code}` is listed by articles `{}` and `{}` of the same root",
                                first.id, article.id
                            ),
                        )
                        .at(code_span(article, code))
                        .hint(format!(
                            "a code has one owner per root: keep it in one article (first listed at {})",
                            code_span(first, code).location()
                        )),
                    ),
                    None => {
                        mine.insert(code.clone(), article);
                    }
                }
            }
        }
        for (code, a) in decided {
            owners.insert(code.to_owned(), a);
        }
        for (code, a) in mine {
            owners.insert(code, a.id.clone());
        }
    }
    owners
}

fn code_rules(
    rules: &mut Vec<Rule>,
    articles: &BTreeMap<ArticleId, Article>,
    input: &CatalogInput<'_>,
    taken: &mut HashSet<String>,
    diags: &mut Vec<Diagnostic>,
) {
    let owners = code_owners(articles, input, diags);
    let mut by_article: BTreeMap<&ArticleId, Vec<&str>> = BTreeMap::new();
    for (code, article) in &owners {
        let plain = !code.is_empty()
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if plain {
            by_article.entry(article).or_default().push(code);
        }
    }
    for (article, codes) in &by_article {
        let Some(id) = rule_id("code", article.as_str(), taken) else {
            continue;
        };
        let a = &articles[*article];
        let span = code_span(a, codes[0]);
        let alternation = codes
            .iter()
            .map(|c| regex_syntax::escape(c))
            .collect::<Vec<_>>()
            .join("|");
        let regex = format!(r"\b(?P<code>{alternation})\b");
        taken.insert(id.as_str().to_owned());
        rules.push(Rule::generated(
            id,
            (*article).clone(),
            span.clone(),
            CODE_PRIORITY,
            Parts {
                keywords: codes.iter().map(|c| c.to_ascii_lowercase()).collect(),
                patterns: vec![pattern(regex, &span)],
                unless: Vec::new(),
            },
            Enrich::None,
        ));
    }
    // The AADSTS codes no article owns: the generic sign-in article, with the code's
    // official description and its error page.
    let Some(generic) =
        ArticleId::parse(ENTRA_GENERIC_ARTICLE).filter(|a| articles.contains_key(a))
    else {
        return;
    };
    let Some(id) = rule_id("code", &format!("{ENTRA_GENERIC_ARTICLE}.other"), taken) else {
        return;
    };
    let owned: Vec<String> = owners
        .keys()
        .filter_map(|c| c.strip_prefix("AADSTS"))
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect();
    let span = SourceSpan::new(&articles[&generic].source, 0..0);
    let unless = if owned.is_empty() {
        Vec::new()
    } else {
        vec![pattern(
            format!(r"\bAADSTS(?:{})\b", owned.join("|")),
            &span,
        )]
    };
    let descriptions: BTreeMap<String, String> = input
        .catalog
        .entra_codes
        .iter()
        .map(|c| (c.code.to_ascii_uppercase(), c.description.clone()))
        .collect();
    rules.push(Rule::generated(
        id,
        generic,
        span.clone(),
        ENTRA_GENERIC_PRIORITY,
        Parts {
            keywords: vec!["aadsts".to_owned()],
            patterns: vec![pattern(r"\b(?P<code>AADSTS\d{2,10})\b".to_owned(), &span)],
            unless,
        },
        Enrich::EntraCode(Arc::new(descriptions)),
    ));
}
