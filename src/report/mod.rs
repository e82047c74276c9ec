//! The report of `match`: a scan's findings joined with their articles, ranked, and masked
//! once ([`redact`]) before any output format sees them.

mod rank;
pub mod redact;
