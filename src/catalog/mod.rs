//! The message catalog: the task, SDK and tool messages that report an ARM
//! authentication, authorization or connection failure, in every locale and shipped
//! variant, with their classification, plus the Entra (AADSTS) and ARM error codes.
//!
//! The data lives in `catalog/` at the repository root and is embedded at build time
//! (`build.rs` keeps only the entries the classification gives an article, and the
//! wrappers). [`compile`] turns each text into a tolerant regex and its prefilter
//! keywords; [`rules`](crate::rules) turns catalog entries and articles' `error_codes`
//! into rules; [`scope`] splits captured ARM scopes.

pub mod compile;
pub mod scope;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::diagnostics::Diagnostic;
use crate::source::{SharedSource, SourceFile, SourceSpan};

/// One text of a message: a locale's translation (or a tool's only text) and where it is
/// from.
#[derive(Clone, Debug, Deserialize)]
pub struct Text {
    pub locale: String,
    pub text: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub source: String,
}

/// How a catalog entry is classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Class {
    /// The article that explains it.
    Article(String),
    /// It carries an inner error that decides (the inner error's rule gives the article).
    Wrapper,
    /// Not an ARM connection problem, with the reason.
    NotArm(String),
    /// Not in the classification.
    Unclassified,
}

/// A catalog message: `<component>:<KEY>` (task messages) or `<tool>:<name>`.
#[derive(Clone, Debug)]
pub struct Message {
    pub id: String,
    /// The resource key as the task prints it when no string is found.
    pub key: String,
    pub texts: Vec<Text>,
    pub class: Class,
    /// Where the classification names it (for diagnostics of rules made from it).
    pub span: Option<SourceSpan>,
    /// A task message (keys are printed bare when a string is missing); tool messages
    /// have no key.
    pub has_key: bool,
}

/// An error code with its official description.
#[derive(Clone, Debug, Deserialize)]
pub struct Code {
    pub code: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub description: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub source: String,
}

/// A string field that may be `null`.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// The whole catalog.
#[derive(Debug, Default)]
pub struct Catalog {
    pub messages: Vec<Message>,
    index: HashMap<String, usize>,
    pub entra_codes: Vec<Code>,
    pub arm_codes: Vec<Code>,
    /// Code → article, from `entra-code-owners.toml`: decides the built-in owner of a code
    /// (also when several built-in articles list it).
    pub code_owners: BTreeMap<String, (String, SourceSpan)>,
    /// Problems met while reading the files (reported by `check`).
    pub diagnostics: Vec<Diagnostic>,
}

/// The files of a catalog, as text; a missing file is empty.
#[derive(Debug, Default)]
pub struct CatalogFiles {
    pub task_messages: Option<SharedSource>,
    pub tool_messages: Option<SharedSource>,
    pub classification: Option<SharedSource>,
    pub classification_tools: Option<SharedSource>,
    pub entra_codes: Option<SharedSource>,
    pub arm_codes: Option<SharedSource>,
    pub code_owners: Option<SharedSource>,
}

/// The file names under `catalog/`, in [`CatalogFiles`] order.
pub const FILE_NAMES: [&str; 7] = [
    "task-messages.json",
    "tool-messages.json",
    "classification.toml",
    "classification-tools.toml",
    "entra-codes.json",
    "arm-codes.json",
    "entra-code-owners.toml",
];

#[derive(Deserialize)]
struct TaskMessages {
    #[serde(default)]
    messages: Vec<TaskMessage>,
}

#[derive(Deserialize)]
struct TaskMessage {
    id: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    texts: Vec<Text>,
    // `tool-messages.json` entries: one text each.
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    source: String,
}

#[derive(Deserialize)]
struct Codes {
    #[serde(default)]
    codes: Vec<Code>,
}

#[derive(Deserialize)]
struct ClassEntry {
    article: Option<String>,
    kind: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OwnerEntry {
    Article(String),
    Table { article: String },
}

impl CatalogFiles {
    /// The files present, in [`FILE_NAMES`] order.
    pub fn all(&self) -> impl Iterator<Item = &SharedSource> {
        [
            &self.task_messages,
            &self.tool_messages,
            &self.classification,
            &self.classification_tools,
            &self.entra_codes,
            &self.arm_codes,
            &self.code_owners,
        ]
        .into_iter()
        .flatten()
    }

    /// The catalog embedded in the binary.
    pub fn embedded() -> CatalogFiles {
        let file = |name: &str, text: &'static str| {
            (!text.trim().is_empty())
                .then(|| SourceFile::new(format!("builtin:catalog/{name}"), text))
        };
        CatalogFiles {
            task_messages: file(
                FILE_NAMES[0],
                include_str!(concat!(env!("OUT_DIR"), "/catalog/task-messages.json")),
            ),
            tool_messages: file(
                FILE_NAMES[1],
                include_str!(concat!(env!("OUT_DIR"), "/catalog/tool-messages.json")),
            ),
            classification: file(
                FILE_NAMES[2],
                include_str!(concat!(env!("OUT_DIR"), "/catalog/classification.toml")),
            ),
            classification_tools: file(
                FILE_NAMES[3],
                include_str!(concat!(
                    env!("OUT_DIR"),
                    "/catalog/classification-tools.toml"
                )),
            ),
            entra_codes: file(
                FILE_NAMES[4],
                include_str!(concat!(env!("OUT_DIR"), "/catalog/entra-codes.json")),
            ),
            arm_codes: file(
                FILE_NAMES[5],
                include_str!(concat!(env!("OUT_DIR"), "/catalog/arm-codes.json")),
            ),
            code_owners: file(
                FILE_NAMES[6],
                include_str!(concat!(env!("OUT_DIR"), "/catalog/entra-code-owners.toml")),
            ),
        }
    }

    /// The files of a `catalog/` folder (missing files are empty).
    pub fn from_dir(dir: &Path) -> CatalogFiles {
        let file = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .ok()
                .map(|text| SourceFile::new(path.display().to_string(), text))
        };
        CatalogFiles {
            task_messages: file(FILE_NAMES[0]),
            tool_messages: file(FILE_NAMES[1]),
            classification: file(FILE_NAMES[2]),
            classification_tools: file(FILE_NAMES[3]),
            entra_codes: file(FILE_NAMES[4]),
            arm_codes: file(FILE_NAMES[5]),
            code_owners: file(FILE_NAMES[6]),
        }
    }
}

/// The embedded catalog, parsed on first use.
pub fn builtin() -> &'static Catalog {
    static BUILTIN: OnceLock<Catalog> = OnceLock::new();
    BUILTIN.get_or_init(|| Catalog::parse(&CatalogFiles::embedded()))
}

fn json_error(source: &SharedSource, err: &serde_json::Error) -> Diagnostic {
    let offset = source
        .text
        .split_inclusive('\n')
        .take(err.line().saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        + err.column().saturating_sub(1);
    Diagnostic::error("catalog", format!("catalog file does not parse: {err}"))
        .at(SourceSpan::new(source, offset..offset))
}

impl Catalog {
    /// Parses catalog files; problems go to `diagnostics`.
    pub fn parse(files: &CatalogFiles) -> Catalog {
        let mut cat = Catalog::default();
        for (source, has_key) in [(&files.task_messages, true), (&files.tool_messages, false)] {
            let Some(source) = source else { continue };
            match serde_json::from_str::<TaskMessages>(&source.text) {
                Ok(list) => {
                    for m in list.messages {
                        let mut texts = m.texts;
                        if let Some(text) = m.text {
                            texts.push(Text {
                                locale: "en-US".to_owned(),
                                text,
                                source: m.source.clone(),
                            });
                        }
                        let key = if m.key.is_empty() {
                            m.id.rsplit(':').next().unwrap_or_default().to_owned()
                        } else {
                            m.key
                        };
                        cat.insert(Message {
                            id: m.id,
                            key,
                            texts,
                            class: Class::Unclassified,
                            span: None,
                            has_key,
                        });
                    }
                }
                Err(err) => cat.diagnostics.push(json_error(source, &err)),
            }
        }
        for (source, entra) in [(&files.entra_codes, true), (&files.arm_codes, false)] {
            let Some(source) = source else { continue };
            match serde_json::from_str::<Codes>(&source.text) {
                Ok(list) if entra => cat.entra_codes = list.codes,
                Ok(list) => cat.arm_codes = list.codes,
                Err(err) => cat.diagnostics.push(json_error(source, &err)),
            }
        }
        for source in [&files.classification, &files.classification_tools]
            .into_iter()
            .flatten()
        {
            cat.classify(source);
        }
        if let Some(source) = &files.code_owners {
            match toml::de::DeTable::parse(&source.text) {
                Ok(table) => {
                    for (key, value) in table.into_inner() {
                        let span = SourceSpan::new(source, key.span());
                        let entry =
                            OwnerEntry::deserialize(toml::de::ValueDeserializer::from(value));
                        match entry {
                            Ok(OwnerEntry::Article(a) | OwnerEntry::Table { article: a }) => {
                                cat.code_owners
                                    .insert(key.into_inner().into_owned(), (a, span));
                            }
                            Err(err) => cat.diagnostics.push(
                                Diagnostic::error(
                                    "catalog",
                                    format!("code owner: {}", err.message().trim()),
                                )
                                .at(span),
                            ),
                        }
                    }
                }
                Err(err) => cat.diagnostics.push(
                    Diagnostic::error("catalog", format!("TOML syntax: {}", err.message().trim()))
                        .at(SourceSpan::new(source, err.span().unwrap_or(0..0))),
                ),
            }
        }
        cat
    }

    fn insert(&mut self, m: Message) {
        match self.index.get(&m.id) {
            Some(&i) => self.messages[i].texts.extend(m.texts),
            None => {
                self.index.insert(m.id.clone(), self.messages.len());
                self.messages.push(m);
            }
        }
    }

    fn classify(&mut self, source: &SharedSource) {
        let table = match toml::de::DeTable::parse(&source.text) {
            Ok(t) => t,
            Err(err) => {
                self.diagnostics.push(
                    Diagnostic::error("catalog", format!("TOML syntax: {}", err.message().trim()))
                        .at(SourceSpan::new(source, err.span().unwrap_or(0..0))),
                );
                return;
            }
        };
        for (key, value) in table.into_inner() {
            let span = SourceSpan::new(source, key.span());
            let id = key.into_inner();
            let entry = match ClassEntry::deserialize(toml::de::ValueDeserializer::from(value)) {
                Ok(e) => e,
                Err(err) => {
                    self.diagnostics.push(
                        Diagnostic::error(
                            "catalog",
                            format!("classification: {}", err.message().trim()),
                        )
                        .at(span),
                    );
                    continue;
                }
            };
            let class = match (entry.article, entry.kind.as_deref()) {
                (Some(a), _) => Class::Article(a),
                (None, Some("wrapper")) => Class::Wrapper,
                (None, Some("not-arm")) => Class::NotArm(entry.reason.unwrap_or_default()),
                _ => {
                    self.diagnostics.push(
                        Diagnostic::error("catalog", format!("`{id}` has neither an article nor a known kind"))
                            .at(span)
                            .hint("write `{ article = \"<id>\" }`, `{ kind = \"wrapper\" }` or `{ kind = \"not-arm\", reason = \"...\" }`"),
                    );
                    continue;
                }
            };
            // Entries the binary does not hold (not-arm ones) are simply absent.
            if let Some(&i) = self.index.get(id.as_ref()) {
                self.messages[i].class = class;
                self.messages[i].span = Some(span);
            }
        }
    }

    pub fn message(&self, id: &str) -> Option<&Message> {
        self.index.get(id).map(|&i| &self.messages[i])
    }

    /// Message ids close to `id`, for "did you mean".
    pub fn similar_ids(&self, id: &str) -> Vec<&str> {
        crate::diagnostics::did_you_mean(id, self.messages.iter().map(|m| m.id.as_str()))
    }

    /// The official description of an Entra code (`AADSTS50034`).
    pub fn entra_description(&self, code: &str) -> Option<&str> {
        self.entra_codes
            .iter()
            .find(|c| c.code.eq_ignore_ascii_case(code))
            .map(|c| c.description.as_str())
    }
}
