//! Fitting text output to a terminal: prose wrapped at word boundaries, log lines cut with
//! a marker, so that no line is wider than the terminal. Widths are display columns (a
//! CJK character takes two, a combining mark none). Output that does not go to a terminal
//! is never wrapped nor cut.

use unicode_width::UnicodeWidthChar;

/// What marks a cut log line.
pub const CUT_MARKER: char = '…';

/// The width to lay text out for: `ARM_KB_WIDTH` when set (tests, recordings), else the
/// terminal's when standard output is one, else none (a pipe or a file).
pub fn output_width() -> Option<usize> {
    if let Some(w) = std::env::var("ARM_KB_WIDTH")
        .ok()
        .and_then(|w| w.trim().parse::<usize>().ok())
    {
        return (w > 0).then_some(w);
    }
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size().map(|(terminal_size::Width(w), _)| usize::from(w))
}

/// Display width of `text`, escape sequences of colour excluded.
pub fn width(text: &str) -> usize {
    let mut w = 0;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ ... final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        w += c.width().unwrap_or(0);
    }
    w
}

/// Wraps `text` (one paragraph, no colour) to lines of at most `width` columns: the first
/// line starts with `first`, the others with `rest`. A word longer than a line is cut.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut line_w = self::width(first);
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let word_w = self::width(word);
        let need = if empty { word_w } else { word_w + 1 };
        if !empty && line_w + need > width {
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            line_w = self::width(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
            line_w += 1;
        }
        let room = width.saturating_sub(line_w);
        if word_w > room && room > 0 {
            // A word longer than the line: cut it over as many lines as it takes.
            let mut piece = String::new();
            let mut piece_w = 0;
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if line_w + piece_w + cw > width && piece_w > 0 {
                    line.push_str(&piece);
                    lines.push(std::mem::replace(&mut line, rest.to_owned()));
                    line_w = self::width(rest);
                    piece.clear();
                    piece_w = 0;
                }
                piece.push(c);
                piece_w += cw;
            }
            line.push_str(&piece);
            line_w += piece_w;
        } else {
            line.push_str(word);
            line_w += word_w;
        }
        empty = false;
    }
    lines.push(line);
    lines
}

/// `text` cut to at most `width` columns, ending with [`CUT_MARKER`] when something was
/// cut.
pub fn cut(text: &str, width: usize) -> (String, bool) {
    if self::width(text) <= width {
        return (text.to_owned(), false);
    }
    let mut out = String::new();
    let mut w = 0;
    let room = width.saturating_sub(1);
    for c in text.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > room {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push(CUT_MARKER);
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_words_within_the_width() {
        let lines = wrap("one two three four five six", 12, "  1. ", "     ");
        assert_eq!(
            lines,
            [
                "  1. one two",
                "     three",
                "     four",
                "     five",
                "     six"
            ]
        );
        for l in &lines {
            assert!(width(l) <= 12);
        }
    }

    #[test]
    fn cuts_long_words_and_lines() {
        let lines = wrap("https://example.com/a/very/long/path", 12, "", "");
        assert!(lines.iter().all(|l| width(l) <= 12), "{lines:?}");
        assert_eq!(lines.concat(), "https://example.com/a/very/long/path");
        assert_eq!(cut("abcdef", 4), ("abc…".to_owned(), true));
        assert_eq!(cut("abc", 4), ("abc".to_owned(), false));
        assert_eq!(cut("日本語です", 5), ("日本…".to_owned(), true));
    }

    #[test]
    fn colour_codes_take_no_width() {
        assert_eq!(width("\u{1b}[1;31mab\u{1b}[0m"), 2);
    }
}
