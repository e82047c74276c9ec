//! Text made safe and short for display, and counted nouns. Every output goes through
//! these, so a log line can never move the cursor or recolour a terminal.

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
