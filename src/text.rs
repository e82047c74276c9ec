//! Text made safe and short for display, and counted nouns. Every output goes through
//! these, so a log line can never move the cursor or recolour a terminal.

use memchr::{memchr, memrchr};

/// Characters of a line or value shown by the authoring tools (`explain`, `test`).
pub const SHORT_CHARS: usize = 160;

/// Bytes as text a terminal can show: lossy UTF-8, control characters (which could move
/// the cursor or recolour the screen) replaced; tabs are kept.
pub fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// `text` on one line: every control character (tabs and newlines too) replaced.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// A log line as shown to a person: lossy UTF-8, control characters replaced, and cut to
/// `max_chars` around the match at `match_start` when it is long (with a marker saying how
/// much was left out).
pub fn excerpt(text: &[u8], match_start: usize, max_chars: usize) -> String {
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
    let shown = printable(&text[start..end]);
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("[…{start} bytes] "));
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
            "a\tb\u{FFFD}[31m\u{FFFD}\u{FFFD}"
        );
        assert_eq!(one_line("a\tb\n"), "a\u{FFFD}b\u{FFFD}");
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
