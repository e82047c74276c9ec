//! What one root's regexes may cost. Each regex is compiled under size, nest and cache
//! limits, but a root of many regexes each just under the limit, or of regexes with
//! thousands of capture groups, would still cost minutes and gigabytes: a root's regexes
//! get a total budget of estimated program size, and a pattern a cap on capture groups.
//! The estimate walks the parsed pattern (no compilation), so checking it is cheap.

use regex_syntax::hir::{Class, Hir, HirKind};

use super::REGEX_NEST_LIMIT;

/// Capture groups one pattern may have.
pub const MAX_CAPTURES_PER_PATTERN: usize = 64;
/// Estimated program bytes all the regexes of one root may add up to.
pub const ROOT_REGEX_BUDGET: u64 = 1 << 30;
/// A repetition at least this large of a large Unicode class draws a `check` warning.
pub const LARGE_REPETITION: u32 = 16;

/// The code of the error a refused rule gives when it is asked to run.
pub const REFUSED: &str = "over-budget";

/// The estimated cost of one pattern.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Estimated compiled size in bytes (about what regex's size limit measures).
    pub size: u64,
    pub captures: usize,
    /// The largest repetition count over a large Unicode class (`\w{80}`: 80).
    pub unicode_repetition: u32,
    /// The largest bounded repetition around an unbounded one (`(?:\w+\s+){1,60}`: 60):
    /// patterns like this are slow per byte.
    pub nested_repetition: u32,
}

/// The cost of `regex`, or `None` when it does not parse (reported elsewhere).
pub fn pattern_cost(regex: &str) -> Option<Cost> {
    let hir = regex_syntax::ParserBuilder::new()
        .utf8(false)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(regex)
        .ok()?;
    let mut cost = Cost {
        captures: hir.properties().explicit_captures_len(),
        ..Cost::default()
    };
    cost.size = size(&hir, &mut cost);
    Some(cost)
}

/// A Unicode class this large compiles to a big automaton (`\w` has hundreds of ranges).
fn is_large_class(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => c.ranges().len() > 16 && !c.is_ascii(),
        HirKind::Capture(c) => is_large_class(&c.sub),
        HirKind::Repetition(r) => is_large_class(&r.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(is_large_class),
        _ => false,
    }
}

fn has_unbounded(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Repetition(r) => r.max.is_none() || has_unbounded(&r.sub),
        HirKind::Capture(c) => has_unbounded(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().any(has_unbounded),
        _ => false,
    }
}

fn size(hir: &Hir, cost: &mut Cost) -> u64 {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 8,
        HirKind::Literal(lit) => 8 * lit.0.len() as u64,
        HirKind::Class(Class::Unicode(c)) if c.is_ascii() => 8 * c.ranges().len() as u64,
        // Each non-ASCII range becomes several UTF-8 byte-range states.
        HirKind::Class(Class::Unicode(c)) => 64 * c.ranges().len() as u64,
        HirKind::Class(Class::Bytes(c)) => 8 * c.ranges().len() as u64,
        HirKind::Repetition(r) => {
            let count = r.max.unwrap_or(r.min).max(r.min).max(1);
            if count >= LARGE_REPETITION {
                if is_large_class(&r.sub) {
                    cost.unicode_repetition = cost.unicode_repetition.max(count);
                }
                if r.max.is_some() && has_unbounded(&r.sub) {
                    cost.nested_repetition = cost.nested_repetition.max(count);
                }
            }
            let sub = size(&r.sub, cost);
            sub.saturating_mul(u64::from(count))
        }
        HirKind::Capture(c) => size(&c.sub, cost).saturating_add(16),
        HirKind::Concat(v) | HirKind::Alternation(v) => v
            .iter()
            .fold(0u64, |sum, h| sum.saturating_add(size(h, cost))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_repetitions_and_classes() {
        let w80 = pattern_cost(r"ZZZ\w{80}").unwrap();
        assert_eq!(w80.unicode_repetition, 80);
        assert!(w80.size > 1 << 20, "{w80:?}");
        let ascii = pattern_cost(r"(?-u)ZZZ\w{80}").unwrap();
        assert_eq!(ascii.unicode_repetition, 0);
        assert!(ascii.size < 4 << 10, "{ascii:?}");
        let slow = pattern_cost(r"(?:\w+\s+){1,60}Q").unwrap();
        assert_eq!(slow.nested_repetition, 60);
        let groups: String = (0..100).map(|i| format!("(?P<g{i}>a)")).collect();
        assert_eq!(pattern_cost(&groups).unwrap().captures, 100);
        let plain = pattern_cost(r"AADSTS7000222: .* app '(?P<app_id>[0-9a-f-]{36})'").unwrap();
        assert_eq!(plain.captures, 1);
        assert_eq!((plain.unicode_repetition, plain.nested_repetition), (0, 0));
    }
}
