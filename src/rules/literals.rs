//! Required literals: strings of which every match of a regex must contain at least one.
//!
//! They feed the aho-corasick prefilter when a rule gives no `keywords`. regex-syntax's own
//! extractor only finds prefixes and suffixes; this walk also finds inner literals
//! (`.*AADSTS\d+` yields `aadsts`), which is what log patterns mostly are.
//! Literals are lowercased: the prefilter is ASCII case-insensitive.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Shorter literals would make nearly every line a candidate.
pub const MIN_LITERAL_LEN: usize = 3;
const MAX_LITERALS: usize = 64;

/// The required literals of `hir`, or `None` when no useful set exists.
pub fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let set = required(hir)?;
    (set.iter().all(|l| l.len() >= MIN_LITERAL_LEN)).then_some(set)
}

/// Most clauses a guard keeps (the longest first: long literals are the rare ones).
const MAX_CLAUSES: usize = 8;

/// Clauses of which every match of `hir` satisfies each: it contains one literal of every
/// clause (a conjunction of the sets `required_literals` picks one of). Each part of a
/// concatenation is required, so each gives its own clause.
pub fn required_clauses(hir: &Hir) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    clauses(hir, &mut out);
    out.retain(|set| set.iter().all(|l| l.len() >= MIN_LITERAL_LEN));
    for set in &mut out {
        set.sort();
    }
    out.sort_by_key(|set| std::cmp::Reverse(score(set)));
    out.dedup();
    out.truncate(MAX_CLAUSES);
    out
}

fn clauses(hir: &Hir, out: &mut Vec<Vec<Vec<u8>>>) {
    if let Some(lit) = exact(hir) {
        if !lit.is_empty() {
            out.push(vec![lit]);
        }
        return;
    }
    match hir.kind() {
        HirKind::Capture(cap) => clauses(&cap.sub, out),
        HirKind::Repetition(rep) if rep.min >= 1 => clauses(&rep.sub, out),
        HirKind::Concat(parts) => {
            let mut run: Vec<u8> = Vec::new();
            for part in parts {
                if let Some(lit) = exact(part) {
                    run.extend(lit);
                    continue;
                }
                if !run.is_empty() {
                    out.push(vec![std::mem::take(&mut run)]);
                }
                clauses(part, out);
            }
            if !run.is_empty() {
                out.push(vec![run]);
            }
        }
        _ => out.extend(required(hir)),
    }
}

fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    if let Some(lit) = exact(hir) {
        return (!lit.is_empty()).then(|| vec![lit]);
    }
    match hir.kind() {
        HirKind::Capture(cap) => required(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for alt in alts {
                all.extend(required(alt)?);
            }
            all.sort();
            all.dedup();
            (all.len() <= MAX_LITERALS).then_some(all)
        }
        HirKind::Concat(parts) => {
            // Candidates: each maximal run of exact parts, and each part's own set.
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut run: Vec<u8> = Vec::new();
            let consider = |best: &mut Option<Vec<Vec<u8>>>, cand: Vec<Vec<u8>>| {
                if cand.is_empty() {
                    return;
                }
                if best.as_ref().is_none_or(|b| score(&cand) > score(b)) {
                    *best = Some(cand);
                }
            };
            for part in parts {
                if let Some(lit) = exact(part) {
                    run.extend(lit);
                    continue;
                }
                if !run.is_empty() {
                    consider(&mut best, vec![std::mem::take(&mut run)]);
                }
                if let Some(set) = required(part) {
                    consider(&mut best, set);
                }
            }
            if !run.is_empty() {
                consider(&mut best, vec![run]);
            }
            best
        }
        _ => None,
    }
}

/// Prefers sets whose shortest literal is longest, then smaller sets.
fn score(set: &[Vec<u8>]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = set.iter().map(Vec::len).min().unwrap_or(0);
    (shortest.min(16), std::cmp::Reverse(set.len()))
}

/// The single lowercase literal `hir` matches (zero-width assertions count as empty),
/// treating a class of one ASCII letter in both cases as that letter.
fn exact(hir: &Hir) -> Option<Vec<u8>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(Vec::new()),
        HirKind::Literal(lit) => Some(lit.0.to_ascii_lowercase()),
        HirKind::Class(class) => class_letter(class).map(|b| vec![b]),
        HirKind::Capture(cap) => exact(&cap.sub),
        HirKind::Concat(parts) => {
            let mut out = Vec::new();
            for part in parts {
                out.extend(exact(part)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// `[Aa]` (what `(?i)a` becomes) is the letter `a` for a case-insensitive prefilter.
fn class_letter(class: &Class) -> Option<u8> {
    let mut bytes: Vec<u8> = Vec::new();
    match class {
        Class::Unicode(c) => {
            for r in c.ranges() {
                for ch in r.start()..=r.end() {
                    if !ch.is_ascii() || bytes.len() > 3 {
                        // (?i)k and (?i)s also match the Kelvin sign and long s: the
                        // ASCII letter is still required of every ASCII text.
                        if matches!(ch, '\u{212A}' | '\u{17F}') {
                            continue;
                        }
                        return None;
                    }
                    bytes.push(ch as u8);
                }
            }
        }
        Class::Bytes(c) => {
            for r in c.ranges() {
                for b in r.start()..=r.end() {
                    if bytes.len() > 3 {
                        return None;
                    }
                    bytes.push(b);
                }
            }
        }
    }
    let lower: Vec<u8> = bytes.iter().map(u8::to_ascii_lowercase).collect();
    (lower.iter().all(|&b| b == lower[0]) && !lower.is_empty()).then(|| lower[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(pattern: &str) -> Option<Vec<String>> {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern)
            .unwrap();
        required_literals(&hir).map(|set| {
            set.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn finds_inner_literals() {
        assert_eq!(
            lits(r"status message: .*AADSTS(?P<code>\d+)"),
            Some(vec!["status message: ".into()])
        );
        assert_eq!(lits(r".*AADSTS7000222"), Some(vec!["aadsts7000222".into()]));
    }

    #[test]
    fn case_insensitive_patterns_give_lowercase_literals() {
        assert_eq!(
            lits(r"(?i)secret expired"),
            Some(vec!["secret expired".into()])
        );
    }

    #[test]
    fn alternations_give_sets() {
        assert_eq!(
            lits(r"(?:Secret expired|AADSTS7000222)"),
            Some(vec!["aadsts7000222".into(), "secret expired".into()])
        );
        // A run of exact parts beats a shorter alternation beside it.
        assert_eq!(lits(r"AADSTS(70021|700213):"), Some(vec!["aadsts".into()]));
        assert_eq!(lits(r"(foo|\d+)"), None);
    }

    fn clauses_of(pattern: &str) -> Vec<Vec<String>> {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern)
            .unwrap();
        required_clauses(&hir)
            .into_iter()
            .map(|set| {
                set.into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_word_of_a_tolerant_text_is_a_clause() {
        assert_eq!(
            clauses_of(r"(?i)Subscription[\s\x{a0}]*(?P<id>.*?)[\s\x{a0}]*not[\s\x{a0}]*found"),
            [vec!["subscription"], vec!["found"], vec!["not"]]
        );
        // An alternation is one clause of its literals; short runs are left out.
        assert_eq!(
            clauses_of(r"AADSTS(700016|7000215)\b.*(?:tenant|directory) \d"),
            [
                vec!["aadsts"],
                vec!["700016", "7000215"],
                vec!["directory", "tenant"]
            ]
        );
        assert!(clauses_of(r"\d+ab\d").is_empty());
    }

    #[test]
    fn no_literal_means_none() {
        assert_eq!(lits(r"\d+\s+\w+"), None);
        assert_eq!(lits(r"ab"), None);
    }
}
