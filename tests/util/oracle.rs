//! The reference matcher every engine test compares against: the rules applied by the
//! book, line by line, with none of the engine's shortcuts (no prefilter automaton, no
//! buffers, no guards). Lines are what the rules see: `arm_kb::matcher::normalize_line`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use regex::bytes::Regex;

use arm_kb::kb::KnowledgeBase;
use arm_kb::matcher::{FindingSet, normalize_line};
use arm_kb::rules::{Rule, RuleKind};

/// The lines of `log` as the rules see them; a final newline ends the last line. A log
/// with a `\r` and no `\n` ends its lines with `\r`.
pub fn lines(log: &[u8]) -> Vec<Cow<'_, [u8]>> {
    let end = if !log.contains(&b'\n') && log.contains(&b'\r') {
        b'\r'
    } else {
        b'\n'
    };
    let mut lines: Vec<&[u8]> = log.split(|&b| b == end).collect();
    if log.is_empty() || log.ends_with(&[end]) {
        lines.pop();
    }
    lines.into_iter().map(normalize_line).collect()
}

/// A rule's patterns and vetoes compiled with the `regex` crate itself, so the reference
/// shares none of the engine's regex setup (each compiled once per thread).
pub struct Compiled {
    pub regexes: Vec<Regex>,
    pub unless: Vec<Regex>,
}

pub fn compiled(rule: &Rule) -> Compiled {
    thread_local! {
        static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
    }
    let compile = |pattern: &str| {
        CACHE.with(|cache| {
            cache
                .borrow_mut()
                .entry(pattern.to_owned())
                .or_insert_with(|| Regex::new(pattern).expect("the rules compile"))
                .clone()
        })
    };
    rule.compiled().expect("the rules compile in the engine");
    Compiled {
        regexes: rule.patterns().iter().map(|p| compile(&p.regex)).collect(),
        unless: rule.unless.iter().map(|p| compile(&p.regex)).collect(),
    }
}

/// Whether a line (lower-cased) may fire `rule`: it holds one of the rule's keywords, when
/// the rule names them (derived keywords only speed things up: they never decide).
pub fn keywords_allow(rule: &Rule, lower: &[u8]) -> bool {
    rule.keywords_derived
        || rule.keywords.is_empty()
        || rule
            .keywords
            .iter()
            .any(|k| memchr::memmem::find(lower, k.as_bytes()).is_some())
}

/// Whether the single-line `rule` fires on `text` (`lower`: the same, lower-cased): a
/// keyword allows it, a pattern matches, and no `unless` does.
pub fn fires(rule: &Rule, text: &[u8], lower: &[u8]) -> bool {
    let compiled = compiled(rule);
    keywords_allow(rule, lower)
        && compiled.regexes.iter().any(|re| re.is_match(text))
        && !compiled.unless.iter().any(|re| re.is_match(text))
}

/// The lines (1-based) each of `rules` (single-line ones) fires on, every one of them.
pub fn fired_lines<'r>(
    rules: impl IntoIterator<Item = &'r Rule>,
    log: &[u8],
) -> BTreeMap<String, Vec<u64>> {
    let lines = lines(log);
    let lowered: Vec<Vec<u8>> = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
    let mut fired: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for rule in rules {
        for (i, (text, lower)) in lines.iter().zip(&lowered).enumerate() {
            if fires(rule, text, lower) {
                fired
                    .entry(rule.id.to_string())
                    .or_default()
                    .push(i as u64 + 1);
            }
        }
    }
    fired
}

/// A naive matcher: split on `\n`, remove ANSI codes, drop a trailing `\r`, and run every
/// rule on every line (a rule with explicit keywords only on lines holding one of them;
/// derived keywords are an optimisation and must not change results). A line is
/// "explained" when a rule fires on it (a window signature: when it completes).
pub fn reference(kb: &KnowledgeBase, log: &[u8]) -> FindingSet {
    let lines = lines(log);
    let last_line = lines.len() as u64;
    let mut set = FindingSet::new(None);
    #[derive(Default)]
    struct Window {
        parts: Vec<Option<(u64, BTreeMap<String, String>)>>,
        last_veto: Option<u64>,
    }
    let mut windows: HashMap<usize, Window> = HashMap::new();
    let captures = |re: &Regex, text: &[u8]| -> BTreeMap<String, String> {
        let caps = re.captures(text).expect("the regex matched");
        re.capture_names()
            .flatten()
            .filter_map(|n| {
                let m = caps.name(n)?;
                Some((
                    n.to_owned(),
                    String::from_utf8_lossy(m.as_bytes()).into_owned(),
                ))
            })
            .collect()
    };
    for (i, text) in lines.iter().enumerate() {
        let line_no = i as u64 + 1;
        let text: &[u8] = text;
        let lower = text.to_ascii_lowercase();
        // Rules with keywords first, then the keyword-less ones, which the engine tries
        // only on lines no keyword rule explained (src/matcher/mod.rs).
        let (with_keywords, without): (Vec<usize>, Vec<usize>) =
            (0..kb.rules.len()).partition(|&i| !kb.rules[i].keywords.is_empty());
        let mut explained_by_keyword_rule = false;
        for index in with_keywords.into_iter().chain(without) {
            let rule = &kb.rules[index];
            if rule.keywords.is_empty() && explained_by_keyword_rule {
                continue;
            }
            if !keywords_allow(rule, &lower) {
                continue;
            }
            let compiled = compiled(rule);
            let vetoed = compiled.unless.iter().any(|u| u.is_match(text));
            match &rule.kind {
                RuleKind::Patterns(_) => {
                    if let Some(re) = compiled.regexes.iter().find(|re| re.is_match(text))
                        && !vetoed
                    {
                        explained_by_keyword_rule |= !rule.keywords.is_empty();
                        set.add(rule, line_no, String::new(), captures(re, text));
                    }
                }
                RuleKind::All { window, .. } => {
                    let window = u64::from(*window);
                    let state = windows.entry(index).or_default();
                    state.parts.resize(compiled.regexes.len(), None);
                    if vetoed {
                        state.last_veto = Some(line_no);
                    }
                    let mut matched = false;
                    for (p, re) in compiled.regexes.iter().enumerate() {
                        if re.is_match(text) {
                            state.parts[p] = Some((line_no, captures(re, text)));
                            matched = true;
                        }
                    }
                    if !matched || state.parts.iter().any(Option::is_none) {
                        continue;
                    }
                    let lines = || state.parts.iter().flatten().map(|p| p.0);
                    let (lo, hi) = (lines().min().unwrap(), lines().max().unwrap());
                    if hi - lo > window
                        || state
                            .last_veto
                            .is_some_and(|v| v >= lo.saturating_sub(window) && v <= hi)
                    {
                        continue;
                    }
                    let mut hits: Vec<_> =
                        state.parts.iter_mut().filter_map(Option::take).collect();
                    hits.sort_by_key(|h| h.0);
                    explained_by_keyword_rule |= !rule.keywords.is_empty();
                    for (line, caps) in hits {
                        set.add(rule, line, String::new(), caps);
                    }
                }
            }
        }
    }
    set.stats.lines = last_line;
    set
}
