//! Text made safe and short for display, and counted nouns. Every output goes through
//! these, so a log line can never move the cursor, recolour a terminal or end a line.

use std::borrow::Cow;
use std::fmt::Write as _;

use memchr::{memchr, memrchr};

/// Characters of a line or value shown by the authoring tools (`explain`, `test`).
pub const SHORT_CHARS: usize = 160;

/// Whether `c` is shown as its code (`<U+202E>`) rather than as itself: control
/// characters (C0, DEL, C1: they move the cursor, recolour the screen, or end a line for a
/// pipeline runner), bidirectional controls (they reorder what is read), invisible
/// characters (zero-width spaces and joiners, word joiner, BOM) and the line and paragraph
/// separators.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `text` with every hidden character (see [`is_hidden`]) but `keep` written as its code,
/// `<U+001B>`.
fn shown<'t>(text: &'t str, keep: &[char]) -> Cow<'t, str> {
    if !text.chars().any(|c| is_hidden(c) && !keep.contains(&c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden(c) && !keep.contains(&c) {
            let _ = write!(out, "<U+{:04X}>", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text fit for one line of any output: hidden characters written as their code; tabs
/// are kept.
pub fn clean(text: &str) -> Cow<'_, str> {
    shown(text, &['\t'])
}

/// Like [`clean`], keeping line feeds too (an article's multi-line fix step).
pub fn clean_lines(text: &str) -> Cow<'_, str> {
    shown(text, &['\t', '\n'])
}

/// Bytes as text a terminal can show: lossy UTF-8 and [`clean`].
pub fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match clean(&text) {
        Cow::Borrowed(_) => text.into_owned(),
        Cow::Owned(cleaned) => cleaned,
    }
}

/// `text` on one line: every hidden character (tabs and newlines too) written as its code.
pub fn one_line(text: &str) -> String {
    shown(text, &[]).into_owned()
}

/// A log line as shown to a person: lossy UTF-8, control characters replaced, and cut to
/// `max_chars` around the match at `match_start` when it is long (with a marker saying how
/// much was left out).
pub fn excerpt(text: &[u8], match_start: usize, max_chars: usize) -> String {
    excerpt_with(text, match_start, max_chars, 0, &|start, end| {
        printable(&text[start..end])
    })
}

/// Like [`excerpt`], with the shown part `text[start..end]` rendered by `show` (which
/// may mask it knowing the whole line), and `offset` bytes of the line before `text`.
pub fn excerpt_with(
    text: &[u8],
    match_start: usize,
    max_chars: usize,
    offset: u64,
    show: &dyn Fn(usize, usize) -> String,
) -> String {
    let before_chars = max_chars / 4;
    let match_start = match_start.min(text.len());
    // Output that redraws one line ends its parts with a bare CR (progress bars): only
    // the part holding the match is worth showing.
    let part_start = memrchr(b'\r', &text[..match_start]).map_or(0, |i| i + 1);
    let part_end = memchr(b'\r', &text[match_start..]).map_or(text.len(), |i| match_start + i);
    // Characters are counted by their first byte (any byte that is not a UTF-8
    // continuation), so a cut never splits one.
    let is_char_start = |b: u8| b & 0xc0 != 0x80;
    let mut start = match_start;
    let mut before = 0;
    while start > part_start && before < before_chars {
        start -= 1;
        before += usize::from(is_char_start(text[start]));
    }
    // Show the whole part when it fits, else up to BEFORE characters before the match.
    let fits = |from: usize| {
        text[from..part_end]
            .iter()
            .filter(|&&b| is_char_start(b))
            .nth(max_chars)
            .is_none()
    };
    if fits(part_start) {
        start = part_start;
    } else if start > part_start
        && let Some(space) = memchr(b' ', &text[start..match_start])
    {
        // Start at a word rather than in the middle of one.
        start += space + 1;
    }
    let mut end = start;
    let mut shown_chars = 0;
    while end < part_end {
        if is_char_start(text[end]) {
            if shown_chars == max_chars {
                break;
            }
            shown_chars += 1;
        }
        end += 1;
    }
    let shown = show(start, end);
    let mut out = String::new();
    let skipped = start as u64 + offset;
    if skipped > 0 {
        out.push_str(&format!("[…{skipped} bytes] "));
    }
    out.push_str(shown.trim_end());
    let left = text.len() - end;
    if left > 0 {
        out.push_str(&format!(" […{left} bytes]"));
    }
    out
}

/// The first `max` characters of `s`, and whether anything was cut.
pub fn cut(s: &str, max: usize) -> (&str, bool) {
    match s.char_indices().nth(max) {
        Some((at, _)) => (&s[..at], true),
        None => (s, false),
    }
}

/// `s` cut to `max` characters, with `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    match cut(s, max) {
        (head, true) => format!("{head}…"),
        (whole, false) => whole.to_owned(),
    }
}

/// `1 rule`, `2 rules`.
pub fn plural(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Like [`plural`], but `no finding` for zero.
pub fn quantity(n: u64, word: &str) -> String {
    match n {
        0 => format!("no {word}"),
        n => plural(n, word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            printable(b"a\tb\x1b[31m\r\xff"),
            "a\tb<U+001B>[31m<U+000D>\u{FFFD}"
        );
        assert_eq!(one_line("a\tb\n"), "a<U+0009>b<U+000A>");
        assert_eq!(
            clean("x\u{202E}exe.txt\u{200B}\u{9B}2J\u{7}"),
            "x<U+202E>exe.txt<U+200B><U+009B>2J<U+0007>"
        );
        assert_eq!(clean_lines("a\nb\rc"), "a\nb<U+000D>c");
        assert!(matches!(clean("plain\ttext é"), Cow::Borrowed(_)));
    }

    #[test]
    fn cuts_count_characters() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hé", 2), "hé");
        assert_eq!(cut("abc", 3), ("abc", false));
    }

    #[test]
    fn counts_read_naturally() {
        assert_eq!(plural(1, "rule"), "1 rule");
        assert_eq!(plural(2, "rule"), "2 rules");
        assert_eq!(quantity(0, "finding"), "no finding");
        assert_eq!(quantity(3, "finding"), "3 findings");
    }
}
