//! How a command ends: its exit status, or the error it stops with.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use arm_kb::diagnostics::Suggestion;
use arm_kb::render::RenderError;

/// The exit status of every command (the README's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: a finding, a hit, the rule fires; for the other commands, success.
    Success = 0,
    /// 1: the answer is no, like grep's: no finding, no hit, the rule does not fire; for
    /// `check` and `test`, problems found or examples failed.
    Negative = 1,
    /// 2: an error: unreadable input, a broken knowledge base, an unknown id, bad usage.
    Error = 2,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// An id the knowledge base does not have, and the ids nearest to it.
#[derive(Debug)]
pub struct UnknownId {
    pub id: String,
    pub suggestion: Suggestion,
}

impl fmt::Display for UnknownId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.id)?;
        match self.suggestion.question() {
            Some(question) => write!(f, "; {question}"),
            None => Ok(()),
        }
    }
}

/// Why a command failed. Each is printed once, as `arm-kb: <message>`, and exits 2.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The knowledge base has errors; they have been printed as diagnostics.
    #[error("the knowledge base has errors (run `arm-kb check` for the full report)")]
    KnowledgeBase,
    /// Rule ids that no loaded root has.
    #[error("{}\n(`arm-kb list --rules` shows every rule)", unknown_lines("rule", .0))]
    UnknownRule(Vec<UnknownId>),
    /// An article id that no loaded root has; `hint` says what to do instead.
    #[error("no article {unknown}\n({hint})")]
    UnknownArticle { unknown: UnknownId, hint: String },
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Search(#[from] arm_kb::search::SearchError),
    #[error("{0}")]
    Usage(String),
    /// A file the command reads or writes (e.g. `match --summary`).
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: io::Error },
}

/// `no rule `a`; did you mean `b`?`, one line per id (the first without `arm-kb: `).
fn unknown_lines(what: &str, ids: &[UnknownId]) -> String {
    ids.iter()
        .map(|u| format!("no {what} {u}"))
        .collect::<Vec<_>>()
        .join("\narm-kb: ")
}

impl From<RenderError> for CommandError {
    fn from(e: RenderError) -> Self {
        match e {
            RenderError::Io(e) => CommandError::Io(e),
            RenderError::File { path, source } => CommandError::File { path, source },
        }
    }
}
