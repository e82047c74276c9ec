//! Source files of a knowledge root and positions inside them.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One file of a knowledge root, kept whole so diagnostics can quote it.
#[derive(Debug)]
pub struct SourceFile {
    /// How the file is named to the user: a path on disk, or `builtin:rules/x.toml`.
    pub name: String,
    /// Borrowed for the files the binary embeds: a start reads only the ones it needs.
    pub text: Cow<'static, str>,
    /// Byte offset of the start of every line, built on the first position asked for.
    line_starts: OnceLock<Vec<usize>>,
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
    pub fn new(name: impl Into<String>, text: impl Into<Cow<'static, str>>) -> SharedSource {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
            line_starts: OnceLock::new(),
        })
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', self.text.as_bytes()).map(|i| i + 1))
                .collect()
        })
    }

    /// The 0-based index of the line holding byte `offset` (clamped to the text).
    fn line_index(&self, offset: usize) -> usize {
        let starts = self.line_starts();
        starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }

    /// The line and column of a byte offset (clamped to the text).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let index = self.line_index(offset);
        let line_start = self.line_starts()[index];
        let column = self.text[line_start..offset].chars().count() + 1;
        LineCol {
            line: index + 1,
            column,
        }
    }

    /// The whole lines that `range` touches (each with its newline), and the 1-based
    /// number of the first: what a diagnostic quotes, without the rest of the file.
    pub fn lines_around(&self, range: Range<usize>) -> (usize, Range<usize>) {
        let len = self.text.len();
        let (start, end) = (range.start.min(len), range.end.min(len));
        let first = self.line_index(start);
        // An end at the start of a line is on that line (as the renderer counts it).
        let last = self.line_index(end.max(start));
        let starts = self.line_starts();
        let to = starts.get(last + 1).copied().unwrap_or(len);
        (first + 1, starts[first]..to)
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

// A prepared knowledge base (`crate::kb::prepared`) names each source by its name; the
// sources themselves are the files the binary embeds. Reading one back resolves the names
// against those files, handed over for the duration of the read.
thread_local! {
    static RESOLVING: RefCell<Option<HashMap<String, SharedSource>>> = const { RefCell::new(None) };
}

/// Runs `read` with `sources` as the files that serialized spans and sources may name.
pub fn resolving_names<R>(
    sources: impl IntoIterator<Item = SharedSource>,
    read: impl FnOnce() -> R,
) -> R {
    let map = sources.into_iter().map(|s| (s.name.clone(), s)).collect();
    RESOLVING.with(|r| *r.borrow_mut() = Some(map));
    let out = read();
    RESOLVING.with(|r| *r.borrow_mut() = None);
    out
}

fn resolve<E: serde::de::Error>(name: &str) -> Result<SharedSource, E> {
    RESOLVING.with(|r| {
        r.borrow()
            .as_ref()
            .and_then(|m| m.get(name).cloned())
            .ok_or_else(|| E::custom(format!("no source file named `{name}`")))
    })
}

/// Serde for a [`SharedSource`] field: the file's name.
pub mod by_name {
    use super::*;

    pub fn serialize<S: Serializer>(source: &SharedSource, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&source.name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SharedSource, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        resolve(&name)
    }
}

/// A span is written as `[name, start, end]`.
impl Serialize for SourceSpan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.source.name, self.range.start, self.range.end).serialize(s)
    }
}

impl<'de> Deserialize<'de> for SourceSpan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SourceSpan, D::Error> {
        let (name, start, end) = <(std::borrow::Cow<'de, str>, usize, usize)>::deserialize(d)?;
        let source = resolve::<D::Error>(&name)?;
        if start > end || end > source.text.len() {
            return Err(D::Error::custom(format!(
                "span {start}..{end} is outside `{name}`"
            )));
        }
        Ok(SourceSpan {
            source,
            range: start..end,
        })
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
        assert_eq!(f.line_col(3), LineCol { line: 2, column: 1 });
        assert_eq!(f.line_col(2), LineCol { line: 1, column: 3 });
    }

    #[test]
    fn lines_around_a_span_are_whole_lines() {
        let f = SourceFile::new("x", "ab\ncd\nef");
        assert_eq!(f.lines_around(4..5), (2, 3..6));
        assert_eq!(f.lines_around(1..4), (1, 0..6));
        assert_eq!(f.lines_around(8..8), (3, 6..8));
        assert_eq!(f.lines_around(2..3), (1, 0..6));
    }
}
