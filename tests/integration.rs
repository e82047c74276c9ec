//! The integration tests: one binary, one module per file of `tests/` (the binary is linked
//! once). `util` holds what they share: the `Test` builder that drives the `arm-kb` binary,
//! and the reference matcher the engine is checked against.

mod util;

mod authoring_check;
mod authoring_tools;
mod buffer_scan;
mod catalog;
mod cli_core;
mod corpus;
mod ecosystem;
mod exit_codes;
mod fast_path_agrees;
mod generated_log_truth;
mod hostile_input;
mod intake;
mod layers;
mod output_formats;
mod prepared;
mod real_corpus;
mod search_dev;
mod search_features;
mod search_quality;
mod search_queries;
mod security;
mod serve;
mod stats;
mod streaming_property;
mod untrusted_roots;
