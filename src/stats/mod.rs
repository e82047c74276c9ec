//! `stats`: a corpus of logs summarised for the people who keep the rules. Each log is
//! scanned as `match` scans it and reduced at once to a [`LogSummary`] (its ranked
//! articles, the rules that fired, its unexplained error lines grouped by [`template`]);
//! a [`Tally`] adds summaries up, so memory depends on the number of rules and templates,
//! never on the size of the corpus. [`Tally::report`] gives the [`CorpusReport`], the
//! JSON schema of `stats --format json`.

pub mod template;

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::authoring::scaffold::{LogLine, RuleRequest, rule_text};
use crate::ids::{ArticleId, RuleId};
use crate::kb::KnowledgeBase;
use crate::matcher::{ErrorGroup, FindingSet};
use crate::report::Report;
use crate::report::redact::redact;
use crate::text;

pub use template::template;

/// Distinct templates a tally holds before it forgets the rarest ones.
const MAX_TEMPLATES: usize = 20_000;
/// How many templates are kept when the tally forgets (the most frequent).
const KEPT_TEMPLATES: usize = MAX_TEMPLATES / 2;

/// A new finding set for one log of a corpus: error lines grouped by template.
pub fn finding_set(name: Arc<str>) -> FindingSet {
    FindingSet::grouping_error_lines(Some(name), template)
}

/// What one log contributes to the corpus.
#[derive(Debug)]
pub struct LogSummary {
    /// The log's place in the input order (examples are taken from the earliest log).
    pub order: usize,
    pub name: Arc<str>,
    /// The articles found, best first (as `match` ranks them), with the rules that fired.
    pub findings: Vec<(ArticleId, Vec<RuleId>)>,
    /// Evidence lines per rule.
    pub rule_hits: HashMap<RuleId, u64>,
    /// Unexplained error lines by template.
    pub templates: Vec<(String, ErrorGroup)>,
    /// Unexplained error lines in all (also those of templates past the per-log limit).
    pub error_lines: u64,
}

impl LogSummary {
    /// Ranks the scan of one log (made with [`finding_set`]) as `match` would.
    pub fn from_scan(order: usize, mut set: FindingSet, kb: &KnowledgeBase) -> LogSummary {
        let name = set.file.clone().unwrap_or_else(|| Arc::from("-"));
        let templates = set
            .take_error_groups()
            .map(|g| g.groups.into_iter().collect())
            .unwrap_or_default();
        let rule_hits = set.rule_hits().clone();
        let error_lines = set.error_lines_total;
        let report = Report::build(set, kb);
        LogSummary {
            order,
            name,
            findings: report
                .findings
                .into_iter()
                .map(|f| (f.article, f.rules))
                .collect(),
            rule_hits,
            templates,
            error_lines,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct ArticleCount {
    logs: u64,
    top: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct RuleCount {
    hits: u64,
    logs: u64,
    /// Logs where another article was the top finding.
    beside_stronger: u64,
}

#[derive(Clone, Debug)]
struct TemplateCount {
    count: u64,
    logs: u64,
    /// (input order, file, line, text) of the first line seen in the earliest log.
    example: (usize, Arc<str>, u64, String),
}

/// Counters over any number of logs; tallies of disjoint parts of a corpus merge.
#[derive(Debug, Default)]
pub struct Tally {
    logs: u64,
    logs_with_findings: u64,
    logs_with_errors: u64,
    error_lines: u64,
    articles: HashMap<ArticleId, ArticleCount>,
    rules: HashMap<RuleId, RuleCount>,
    templates: HashMap<String, TemplateCount>,
    /// Unexplained lines of templates that were forgotten or never kept.
    templates_dropped: u64,
}

impl Tally {
    pub fn new() -> Tally {
        Tally::default()
    }

    pub fn add(&mut self, log: LogSummary) {
        self.logs += 1;
        self.error_lines += log.error_lines;
        if !log.findings.is_empty() {
            self.logs_with_findings += 1;
        } else if log.error_lines > 0 {
            self.logs_with_errors += 1;
        }
        let top = log.findings.first().map(|(a, _)| a.clone());
        for (article, rules) in &log.findings {
            let count = self.articles.entry(article.clone()).or_default();
            count.logs += 1;
            let is_top = top.as_ref() == Some(article);
            count.top += u64::from(is_top);
            for rule in rules {
                let count = self.rules.entry(rule.clone()).or_default();
                count.logs += 1;
                count.beside_stronger += u64::from(!is_top);
            }
        }
        for (rule, hits) in log.rule_hits {
            self.rules.entry(rule).or_default().hits += hits;
        }
        let mut kept = 0;
        for (template, group) in log.templates {
            kept += group.count;
            let example = (log.order, log.name.clone(), group.line, group.text);
            self.add_template(template, group.count, 1, example);
        }
        self.templates_dropped += log.error_lines.saturating_sub(kept);
        self.forget_rare_templates();
    }

    fn add_template(
        &mut self,
        template: String,
        count: u64,
        logs: u64,
        example: (usize, Arc<str>, u64, String),
    ) {
        match self.templates.get_mut(&template) {
            Some(t) => {
                t.count += count;
                t.logs += logs;
                if (example.0, example.2) < (t.example.0, t.example.2) {
                    t.example = example;
                }
            }
            None => {
                self.templates.insert(
                    template,
                    TemplateCount {
                        count,
                        logs,
                        example,
                    },
                );
            }
        }
    }

    /// Past [`MAX_TEMPLATES`], keeps the most frequent half: the report is about the
    /// frequent templates, and memory stays bounded however varied the corpus.
    fn forget_rare_templates(&mut self) {
        if self.templates.len() <= MAX_TEMPLATES {
            return;
        }
        let mut all: Vec<(String, TemplateCount)> = self.templates.drain().collect();
        all.sort_by_key(|(t, c)| (Reverse(c.count), Reverse(c.logs), t.clone()));
        for (_, c) in all.drain(KEPT_TEMPLATES..) {
            self.templates_dropped += c.count;
        }
        self.templates.extend(all);
    }

    /// Adds the counts of another part of the corpus.
    pub fn merge(&mut self, other: Tally) {
        self.logs += other.logs;
        self.logs_with_findings += other.logs_with_findings;
        self.logs_with_errors += other.logs_with_errors;
        self.error_lines += other.error_lines;
        self.templates_dropped += other.templates_dropped;
        for (article, c) in other.articles {
            let mine = self.articles.entry(article).or_default();
            mine.logs += c.logs;
            mine.top += c.top;
        }
        for (rule, c) in other.rules {
            let mine = self.rules.entry(rule).or_default();
            mine.hits += c.hits;
            mine.logs += c.logs;
            mine.beside_stronger += c.beside_stronger;
        }
        for (template, c) in other.templates {
            self.add_template(template, c.count, c.logs, c.example);
        }
        self.forget_rare_templates();
    }

    /// The report over every rule of `kb`; example lines are masked.
    pub fn report(self, kb: &KnowledgeBase) -> CorpusReport {
        let mut articles: Vec<ArticleStat> = self
            .articles
            .iter()
            .map(|(id, c)| ArticleStat {
                article: id.clone(),
                logs: c.logs,
                top: c.top,
                title: kb
                    .articles
                    .get(id)
                    .map_or_else(|| id.to_string(), |a| a.title.clone()),
            })
            .collect();
        articles.sort_by(|a, b| {
            (b.logs, b.top)
                .cmp(&(a.logs, a.top))
                .then(a.article.cmp(&b.article))
        });
        let mut rules: Vec<RuleStat> = kb
            .rules
            .iter()
            .map(|r| {
                let c = self.rules.get(&r.id).copied().unwrap_or_default();
                RuleStat {
                    rule: r.id.clone(),
                    article: r.article.clone(),
                    hits: c.hits,
                    logs: c.logs,
                }
            })
            .collect();
        rules.sort_by(|a, b| {
            (b.logs, b.hits)
                .cmp(&(a.logs, a.hits))
                .then(a.rule.cmp(&b.rule))
        });
        let mut dead_rules: Vec<RuleId> = rules
            .iter()
            .filter(|r| r.logs == 0)
            .map(|r| r.rule.clone())
            .collect();
        dead_rules.sort();
        let mut noisy_rules: Vec<RuleId> = kb
            .rules
            .iter()
            .filter(|r| {
                self.rules
                    .get(&r.id)
                    .is_some_and(|c| c.logs > 0 && c.beside_stronger == c.logs)
            })
            .map(|r| r.id.clone())
            .collect();
        noisy_rules.sort();
        let mut unexplained: Vec<TemplateStat> = self
            .templates
            .into_iter()
            .map(|(template, c)| {
                let (_, file, line, text) = c.example;
                TemplateStat {
                    template,
                    count: c.count,
                    logs: c.logs,
                    example: Example {
                        file: text::one_line(&file),
                        line,
                    },
                    example_text: text::one_line(&redact(&text)),
                }
            })
            .collect();
        unexplained.sort_by(|a, b| {
            (b.count, b.logs)
                .cmp(&(a.count, a.logs))
                .then(a.template.cmp(&b.template))
        });
        CorpusReport {
            logs: self.logs,
            logs_with_findings: self.logs_with_findings,
            logs_with_errors: self.logs_with_errors,
            articles,
            rules,
            dead_rules,
            noisy_rules,
            unexplained,
            error_lines: self.error_lines,
            unexplained_dropped: self.templates_dropped,
        }
    }
}

// The JSON schema of `stats --format json`: keys in the order the documentation lists
// them; fields marked `skip` are for the other formats.

/// The summary of a corpus.
#[derive(Clone, Debug, Serialize)]
pub struct CorpusReport {
    /// Logs read.
    pub logs: u64,
    /// Logs with at least one finding.
    pub logs_with_findings: u64,
    /// Logs with error lines and no finding: the unclassified logs.
    pub logs_with_errors: u64,
    /// Articles found, by the number of logs, most first.
    pub articles: Vec<ArticleStat>,
    /// Every loaded rule, the most used first.
    pub rules: Vec<RuleStat>,
    /// Rules that fired in no log.
    pub dead_rules: Vec<RuleId>,
    /// Rules that fired only in logs whose top finding is another article.
    pub noisy_rules: Vec<RuleId>,
    /// Unexplained error lines by template, the most frequent first.
    pub unexplained: Vec<TemplateStat>,
    /// Unexplained error lines in all.
    #[serde(skip)]
    pub error_lines: u64,
    /// Unexplained lines whose template is not listed (too many distinct templates).
    #[serde(skip)]
    pub unexplained_dropped: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ArticleStat {
    pub article: ArticleId,
    /// Logs where the article was found at all.
    pub logs: u64,
    /// Logs where it was the top finding.
    pub top: u64,
    #[serde(skip)]
    pub title: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleStat {
    pub rule: RuleId,
    pub article: ArticleId,
    /// Evidence lines.
    pub hits: u64,
    /// Logs it fired in.
    pub logs: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TemplateStat {
    pub template: String,
    /// Lines.
    pub count: u64,
    /// Logs with at least one such line.
    pub logs: u64,
    /// The first such line of the earliest log.
    pub example: Example,
    /// The example line, secrets masked.
    #[serde(skip)]
    pub example_text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Example {
    pub file: String,
    pub line: u64,
}

impl CorpusReport {
    /// Logs without a finding and without an unexplained error line.
    pub fn clean_logs(&self) -> u64 {
        self.logs - self.logs_with_findings - self.logs_with_errors
    }
}

/// Templates `stats --suggest-rules` drafts a rule for.
pub const SUGGESTED_RULES: usize = 5;

/// A rule drafted for an unexplained template, for review.
#[derive(Clone, Debug)]
pub struct DraftRule {
    pub template: String,
    pub count: u64,
    pub logs: u64,
    /// The `[[rule]]` table, as `new rule --from-log` drafts it from the example line.
    pub toml: String,
}

/// One draft for each of the `n` most frequent templates, from its (masked) example line.
pub fn draft_rules(report: &CorpusReport, n: usize) -> Vec<DraftRule> {
    report
        .unexplained
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, t)| {
            let id = format!("todo.unexplained-{}", i + 1);
            let req = RuleRequest {
                id: &id,
                article: "todo-article",
                from_log: Some(LogLine {
                    file: t.example.file.clone().into(),
                    line: t.example.line,
                    text: t.example_text.trim().to_owned(),
                }),
            };
            DraftRule {
                template: t.template.clone(),
                count: t.count,
                logs: t.logs,
                toml: rule_text(&req),
            }
        })
        .collect()
}
