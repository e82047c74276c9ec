//! Rendering: findings, articles and hits as text or Markdown for people, JSON for scripts,
//! and logging commands for CI systems.

pub mod article;
pub mod ci;
pub mod findings;
pub mod markdown;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use anstyle::{AnsiColor, Effects, Style};
use regex::Regex;

/// Styles used across the text outputs; anstream strips them when colour is off.
pub mod style {
    use super::*;
    pub const ERROR: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
    pub const WARNING: Style = AnsiColor::Yellow.on_default().effects(Effects::BOLD);
    pub const INFO: Style = AnsiColor::Cyan.on_default().effects(Effects::BOLD);
    pub const TITLE: Style = Style::new().effects(Effects::BOLD);
    pub const DIM: Style = Style::new().effects(Effects::DIMMED);
    pub const ID: Style = AnsiColor::Cyan.on_default();
    pub const LINE_NO: Style = AnsiColor::Green.on_default();
    pub const CODE: Style = AnsiColor::Magenta.on_default();
    pub const HEADING: Style = AnsiColor::Blue.on_default().effects(Effects::BOLD);
    pub const MATCH: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
}

static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{([a-z_][a-z0-9_]*)\}").expect("valid regex"));

/// Replaces `{name}` placeholders: by the captured value when `captures` has it, by
/// `<name>` otherwise.
pub fn fill_placeholders(text: &str, captures: Option<&BTreeMap<String, String>>) -> String {
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

/// The placeholder names used in `text`.
pub fn placeholders(text: &str) -> impl Iterator<Item = &str> {
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
            fill_placeholders(
                "az ad sp credential reset --id {app_id} --tenant {tenant_id}",
                Some(&caps)
            ),
            "az ad sp credential reset --id 1234 --tenant <tenant_id>"
        );
        assert_eq!(
            fill_placeholders("{0} and {\"a\":1}", None),
            "{0} and {\"a\":1}"
        );
        assert_eq!(
            placeholders("x {a} {b_c}").collect::<Vec<_>>(),
            ["a", "b_c"]
        );
    }
}
