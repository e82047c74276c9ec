//! Rendering: findings, articles and hits as text or Markdown for people, JSON for scripts,
//! and logging commands for CI systems.

pub mod article;
pub mod ci;
pub mod explain;
pub mod findings;
pub mod markdown;

use anstyle::{AnsiColor, Effects, Style};

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
