//! Source files of a knowledge root and positions inside them.

use std::ops::Range;
use std::sync::Arc;

/// One file of a knowledge root, kept whole so diagnostics can quote it.
#[derive(Debug)]
pub struct SourceFile {
    /// How the file is named to the user: a path on disk, or `builtin:rules/x.toml`.
    pub name: String,
    pub text: String,
}

pub type SharedSource = Arc<SourceFile>;

/// A byte range inside a [`SourceFile`].
#[derive(Clone, Debug)]
pub struct SourceSpan {
    pub source: SharedSource,
    pub range: Range<usize>,
}

/// A 1-based line and column (column counted in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SharedSource {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
        })
    }

    /// The line and column of a byte offset (clamped to the text).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        LineCol { line, column }
    }
}

impl SourceSpan {
    pub fn new(source: &SharedSource, range: Range<usize>) -> SourceSpan {
        SourceSpan {
            source: Arc::clone(source),
            range,
        }
    }

    pub fn start(&self) -> LineCol {
        self.source.line_col(self.range.start)
    }

    /// `file:line:column`, the way compilers print a position.
    pub fn location(&self) -> String {
        let LineCol { line, column } = self.start();
        format!("{}:{line}:{column}", self.source.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let f = SourceFile::new("x", "ab\ncdé\nf");
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(f.line_col(4), LineCol { line: 2, column: 2 });
        assert_eq!(f.line_col(8), LineCol { line: 3, column: 1 });
        assert_eq!(f.line_col(999), LineCol { line: 3, column: 2 });
    }
}
