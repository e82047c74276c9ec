//! `.arm-kb.toml`: a repository's or a team's defaults, found in the current folder or the
//! nearest parent (or named by `ARM_KB_CONFIG`), ignored with `--no-config`.
//!
//! ```toml
//! roots = ["team-kb"]      # knowledge roots, relative to this file
//! format = "markdown"      # the default --format of every command that has it
//! color = "never"          # auto, always or never
//! no_builtin = true        # do not load the built-in knowledge base
//! ```
//!
//! Flags given on the command line win over the file. The roots come after those of
//! `ARM_KB_PATH` and before those of `--kb`, so a `--kb` root overrides them.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use clap::parser::ValueSource;
use toml::de::{DeTable, DeValue};

use crate::app::args::{
    CheckFormat, Cli, ColorChoice, Command, MatchFormat, OutputFormat, ShowFormat, TestFormat,
};
use arm_kb::diagnostics::{Diagnostic, Suggestion};
use arm_kb::source::{SharedSource, SourceFile, SourceSpan};

pub const FILE_NAME: &str = ".arm-kb.toml";
const KEYS: [&str; 4] = ["roots", "format", "color", "no_builtin"];

/// The settings of a configuration file.
#[derive(Debug, Default)]
pub struct Config {
    pub roots: Vec<PathBuf>,
    pub format: Option<(String, SourceSpan)>,
    pub color: Option<ColorChoice>,
    pub no_builtin: Option<bool>,
}

/// The file to read: `ARM_KB_CONFIG`, else `.arm-kb.toml` in `start` or its nearest
/// parent that has one.
pub fn find(start: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ARM_KB_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// Reads and validates a configuration file; every problem is a diagnostic with its
/// position.
pub fn load(path: &Path) -> (Option<Config>, Vec<Diagnostic>) {
    let name = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return (
                None,
                vec![
                    Diagnostic::error(
                        "unreadable-file",
                        format!("cannot read the configuration file: {e}"),
                    )
                    .in_file(name),
                ],
            );
        }
    };
    let source = SourceFile::new(name, text);
    let (config, diags) = parse(path, &source);
    (Some(config), diags)
}

fn parse(path: &Path, source: &SharedSource) -> (Config, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut config = Config {
        ..Config::default()
    };
    let span = |r: std::ops::Range<usize>| SourceSpan::new(source, r);
    let (table, errors) = DeTable::parse_recoverable(&source.text);
    for err in &errors {
        diags.push(
            Diagnostic::error(
                "toml-syntax",
                format!("TOML syntax: {}", err.message().trim()),
            )
            .at(span(err.span().unwrap_or(0..0))),
        );
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let wrong = |key: &str, expected: &str, at: std::ops::Range<usize>| {
        Diagnostic::error("wrong-type", format!("`{key}` must be {expected}")).at(span(at))
    };
    for (key, value) in table.get_ref().iter() {
        let key_name: &str = key.get_ref();
        let at = value.span();
        match (key_name, value.get_ref()) {
            ("roots", DeValue::Array(items)) => {
                for item in items {
                    match item.get_ref() {
                        DeValue::String(s) => config.roots.push(base.join(&**s)),
                        _ => diags.push(wrong("roots", "a list of folder names", item.span())),
                    }
                }
            }
            ("roots", _) => diags.push(wrong("roots", "a list of folder names", at)),
            ("format", DeValue::String(s)) => {
                let known = MatchFormat::value_variants()
                    .iter()
                    .any(|f| f.to_possible_value().is_some_and(|v| v.matches(s, false)));
                if known {
                    config.format = Some((s.to_string(), span(at)));
                } else {
                    diags.push(
                        Diagnostic::error("wrong-type", format!("unknown format `{s}`"))
                            .at(span(at))
                            .hint(format!("one of {}", names::<MatchFormat>())),
                    );
                }
            }
            ("format", _) => diags.push(wrong("format", "a format name", at)),
            ("color", DeValue::String(s)) => match ColorChoice::from_str(s, false) {
                Ok(c) => config.color = Some(c),
                Err(_) => diags.push(
                    Diagnostic::error("wrong-type", format!("unknown color choice `{s}`"))
                        .at(span(at))
                        .hint(format!("one of {}", names::<ColorChoice>())),
                ),
            },
            ("color", _) => diags.push(wrong("color", "\"auto\", \"always\" or \"never\"", at)),
            ("no_builtin", DeValue::Boolean(b)) => config.no_builtin = Some(*b),
            ("no_builtin", _) => diags.push(wrong("no_builtin", "true or false", at)),
            (other, _) => {
                let hint = match Suggestion::nearest(other, KEYS).first() {
                    Some(near) => format!("did you mean `{near}`? known keys: {}", KEYS.join(", ")),
                    None => format!("known keys: {}", KEYS.join(", ")),
                };
                diags.push(
                    Diagnostic::error(
                        "unknown-field",
                        format!("unknown key `{other}` in the configuration file"),
                    )
                    .at(span(key.span()))
                    .hint(hint),
                );
            }
        }
    }
    diags.sort_by_key(|d| d.span.as_ref().map(|s| s.range.start));
    (config, diags)
}

fn names<E: ValueEnum>() -> String {
    E::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|v| v.get_name().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the user gave the argument `id` of `matches` (or of its subcommand).
fn given(matches: &clap::ArgMatches, id: &str) -> bool {
    let explicit = |m: &clap::ArgMatches| {
        m.try_get_raw(id).ok().flatten().is_some()
            && !matches!(m.value_source(id), Some(ValueSource::DefaultValue) | None)
    };
    explicit(matches) || matches.subcommand().is_some_and(|(_, sub)| explicit(sub))
}

/// Applies the file's settings to what the command line left at its defaults.
pub fn apply(cli: &mut Cli, matches: &clap::ArgMatches, config: &Config) {
    if let Some(color) = config.color.filter(|_| !given(matches, "color")) {
        cli.global.color = color;
    }
    if config.no_builtin == Some(true) {
        cli.global.no_builtin = true;
    }
    cli.global.config_roots = config.roots.clone();
    let Some((format, _)) = &config.format else {
        return;
    };
    if given(matches, "format") {
        return;
    }
    // The default format of each command that can print it; others keep theirs.
    fn pick<E: ValueEnum>(name: &str) -> Option<E> {
        E::from_str(name, false).ok()
    }
    match &mut cli.command {
        Command::Match(a) => a.format = pick(format).unwrap_or(a.format),
        Command::Check(a) => a.format = pick::<CheckFormat>(format).unwrap_or(a.format),
        Command::Test(a) => a.format = pick::<TestFormat>(format).unwrap_or(a.format),
        Command::Search(a) => a.format = pick::<OutputFormat>(format).unwrap_or(a.format),
        Command::List(a) => a.format = pick::<OutputFormat>(format).unwrap_or(a.format),
        Command::Show(a) => a.format = pick::<ShowFormat>(format).unwrap_or(a.format),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (Config, Vec<Diagnostic>) {
        let source = SourceFile::new("team/.arm-kb.toml", text.to_owned());
        parse(Path::new("team/.arm-kb.toml"), &source)
    }

    #[test]
    fn reads_every_setting_with_roots_relative_to_the_file() {
        let (c, diags) = parsed(
            "roots = [\"kb-a\", \"../kb-b\"]\nformat = \"json\"\ncolor = \"never\"\nno_builtin = true\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            c.roots,
            [PathBuf::from("team/kb-a"), PathBuf::from("team/../kb-b")]
        );
        assert_eq!(c.format.unwrap().0, "json");
        assert_eq!(c.color, Some(ColorChoice::Never));
        assert_eq!(c.no_builtin, Some(true));
    }

    #[test]
    fn reports_every_problem_with_its_position() {
        let (_, diags) =
            parsed("root = [\"a\"]\nformat = \"yaml\"\ncolor = 3\nno_builtin = \"yes\"\n");
        let found: Vec<(&str, String)> = diags
            .iter()
            .map(|d| (d.code, d.location().unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                ("unknown-field", "team/.arm-kb.toml:1:1".to_owned()),
                ("wrong-type", "team/.arm-kb.toml:2:10".to_owned()),
                ("wrong-type", "team/.arm-kb.toml:3:9".to_owned()),
                ("wrong-type", "team/.arm-kb.toml:4:14".to_owned()),
            ]
        );
        assert!(diags[0].hint.as_deref().unwrap().contains("`roots`"));
    }

    #[test]
    fn a_syntax_error_has_a_position() {
        let (_, diags) = parsed("roots = [\"a\"\n");
        assert_eq!(diags[0].code, "toml-syntax");
        assert!(
            diags[0]
                .location()
                .unwrap()
                .starts_with("team/.arm-kb.toml:")
        );
    }
}
