//! arm-kb: classify failed Azure Pipelines logs against a knowledge base of Azure Resource
//! Manager service-connection problems.
//!
//! Data flows from knowledge roots ([`kb`]) through rule loading ([`rules`]) into one
//! matching engine ([`matcher`]) that streams logs into findings, which [`report`] ranks
//! and masks and [`render`] prints; [`search`] indexes the articles; [`authoring`] holds
//! the tools for writing rules; [`stats`] summarises a corpus of logs. This is the engine
//! only: the command line lives in the binary (`src/main.rs`, `src/app/`).

pub mod authoring;
pub mod catalog;
pub mod diagnostics;
pub mod ids;
pub mod input;
pub mod kb;
pub mod matcher;
pub mod neutralize;
pub mod placeholder;
pub mod render;
pub mod report;
pub mod rules;
pub mod search;
pub mod secrets;
pub mod source;
pub mod stats;
pub mod text;
pub mod workers;

/// `--version`: the crate version and what the built-in knowledge base holds.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (built-in knowledge base ",
    env!("ARM_KB_CONTENT_HASH"),
    ": ",
    env!("ARM_KB_ARTICLES"),
    " articles, ",
    env!("ARM_KB_RULES"),
    " rules)"
);
