//! `{name}` placeholders in article text: the one definition of the syntax, filled from a
//! finding's captures (`fill`), located for `check` (`positions`), listed (`names`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{([a-z_][a-z0-9_]*)\}").expect("valid regex"));

/// Replaces `{name}` placeholders: by the captured value when `captures` has it, by
/// `<name>` otherwise.
pub fn fill(text: &str, captures: Option<&BTreeMap<String, String>>) -> String {
    PLACEHOLDER
        .replace_all(text, |caps: &regex::Captures<'_>| {
            let name = &caps[1];
            match captures.and_then(|c| c.get(name)) {
                Some(value) => value.clone(),
                None => format!("<{name}>"),
            }
        })
        .into_owned()
}

/// Byte offsets (of the `{`) and names of the placeholders in `text`.
pub fn positions(text: &str) -> Vec<(usize, &str)> {
    PLACEHOLDER
        .captures_iter(text)
        .filter_map(|c| Some((c.get(0)?.start(), c.get(1)?.as_str())))
        .collect()
}

/// The placeholder names used in `text`, in order.
pub fn names(text: &str) -> impl Iterator<Item = &str> {
    PLACEHOLDER
        .captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_take_captures_or_angle_names() {
        let mut caps = BTreeMap::new();
        caps.insert("app_id".to_owned(), "1234".to_owned());
        assert_eq!(
            fill(
                "az ad sp credential reset --id {app_id} --tenant {tenant_id}",
                Some(&caps)
            ),
            "az ad sp credential reset --id 1234 --tenant <tenant_id>"
        );
        assert_eq!(fill("{0} and {\"a\":1}", None), "{0} and {\"a\":1}");
        assert_eq!(names("x {a} {b_c}").collect::<Vec<_>>(), ["a", "b_c"]);
    }

    #[test]
    fn positions_are_those_of_the_opening_brace() {
        assert_eq!(
            positions("run {app_id} and {0} or {\"a\":1} {Tenant} {x_1}"),
            vec![(4, "app_id"), (41, "x_1")]
        );
        assert_eq!(positions("{{a}}"), vec![(1, "a")]);
    }
}
