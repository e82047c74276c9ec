//! Tools for the people who write articles and rules: `check` ([`lint`]), running
//! examples ([`examples`]) and `new` ([`scaffold`], drafting patterns from log lines in
//! [`from_log`]). `explain` prints, so it lives in `render::explain`.

pub mod examples;
pub mod from_log;
pub mod lint;
pub mod scaffold;
