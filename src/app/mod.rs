//! The command line of the `arm-kb` binary: argument parsing ([`args`], the one clap
//! table), what `match` was asked to do ([`plan`]), one module per subcommand
//! ([`commands`]), and how a command ends ([`error`]). Nothing of the library can reach
//! this module: the library is the engine, this is one way to drive it.

pub mod args;
pub mod commands;
pub mod error;
pub mod plan;

pub use commands::run;
