//! Tools for the people who write articles and rules: `check` ([`lint`]), running
//! examples ([`examples`]), `explain` ([`explain`]) and `new` ([`scaffold`], drafting
//! patterns from log lines in [`from_log`]).

pub mod examples;
pub mod explain;
pub mod from_log;
pub mod lint;
pub mod scaffold;
