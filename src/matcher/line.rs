//! The line the rules see. Log bytes become that line in two steps, and nothing else
//! changes them: terminal escape sequences are removed, then a trailing `\r` (CRLF
//! endings) is dropped.
//!
//! Escapes are removed the way a terminal would consume them (ECMA-48, as the `vte` parser
//! reads them): CSI (`ESC [` … final byte, with any C0 control bytes inside dropped, since
//! a terminal executes them without ending the sequence), OSC (`ESC ]` … BEL or ST), DCS,
//! SOS, PM and APC strings (`ESC P`, `ESC X`, `ESC ^`, `ESC _` … ST), and two-byte and
//! `nF` escapes. One rule is stricter than a terminal: a sequence never swallows a
//! newline, so line numbers and line bounds never depend on escapes. Control bytes outside
//! sequences (tabs, a bare `\r` of a progress bar) stay: rules may see them, and every
//! display replaces them (`crate::text::printable`).
//!
//! The scanner strips a whole read buffer in place with [`strip_escapes_in_place`] (the
//! same result as stripping each of its lines, since no sequence crosses a newline) and
//! trims `\r` per line; [`normalize_line`] does both for one line, for `explain`, `new
//! --from-log` and every test oracle.

use std::borrow::Cow;

use memchr::memchr;

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
/// CAN and SUB cancel a sequence (consumed with it).
const CAN: u8 = 0x18;
const SUB: u8 = 0x1a;

/// `raw` (one line, without its `\n`) as the rules see it.
pub fn normalize_line(raw: &[u8]) -> Cow<'_, [u8]> {
    match memchr(ESC, raw) {
        None => Cow::Borrowed(trim_cr(raw)),
        Some(_) => {
            let mut owned = raw.to_vec();
            let len = strip_escapes_in_place(&mut owned);
            owned.truncate(len);
            let kept = trim_cr(&owned).len();
            owned.truncate(kept);
            Cow::Owned(owned)
        }
    }
}

/// A line (as the rules see it) as evidence shows it: cleaned, cut around the match at
/// `match_start` when long. With `redact`, secrets are found on the whole line before it
/// is cut, so a cut never shows the value of a key it left out. `offset`: bytes of the
/// line before `text` (earlier pieces of an overlong line).
pub(crate) fn display_text(text: &[u8], match_start: usize, offset: u64, redact: bool) -> String {
    use crate::text::printable;
    crate::text::excerpt_with(
        text,
        match_start,
        super::MAX_EVIDENCE_CHARS,
        offset,
        &|start, end| {
            if !redact {
                return printable(&text[start..end]);
            }
            let before = printable(&text[..start]);
            let part = printable(&text[start..end]);
            let whole = format!("{before}{part}{}", printable(&text[end..]));
            let spans = crate::secrets::secret_spans(&whole);
            crate::secrets::mask(&whole, &spans, before.len()..before.len() + part.len())
        },
    )
}

/// A line without its trailing `\r`.
pub fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Removes escape sequences from `buf` in place and returns the new length. A sequence
/// never swallows a newline, so the line structure is kept.
pub fn strip_escapes_in_place(buf: &mut [u8]) -> usize {
    let Some(first_esc) = memchr(ESC, buf) else {
        return buf.len();
    };
    let mut read = first_esc;
    let mut write = first_esc;
    loop {
        read += escape_len(&buf[read..]);
        let run = memchr(ESC, &buf[read..]).unwrap_or(buf.len() - read);
        buf.copy_within(read..read + run, write);
        write += run;
        read += run;
        if read >= buf.len() {
            return write;
        }
    }
}

/// Length of the escape sequence at the start of `s` (`s[0]` is ESC). A lone or
/// malformed ESC drops only what it consumed.
fn escape_len(s: &[u8]) -> usize {
    match s.get(1) {
        None => 1,
        Some(b'[') => csi_len(s),
        Some(b']') => string_len(s, true),
        Some(b'P' | b'X' | b'^' | b'_') => string_len(s, false),
        // nF: intermediate bytes, then a final byte.
        Some(0x20..=0x2f) => {
            let mut i = 1;
            while i < s.len() && (0x20..=0x2f).contains(&s[i]) {
                i += 1;
            }
            if i < s.len() && (0x30..=0x7e).contains(&s[i]) {
                i + 1
            } else {
                i
            }
        }
        Some(0x30..=0x7e) => 2,
        Some(_) => 1,
    }
}

/// `ESC [`, parameter and intermediate bytes, a final byte. C0 controls inside are
/// dropped with the sequence; a newline, `\r` or another ESC ends it unfinished (kept), a
/// byte that cannot be in a sequence ends it too, CAN and SUB cancel it.
fn csi_len(s: &[u8]) -> usize {
    let mut i = 2;
    while let Some(&b) = s.get(i) {
        match b {
            0x40..=0x7e | CAN | SUB => return i + 1,
            b'\n' | b'\r' | ESC | 0x80..=0xff => return i,
            _ => i += 1,
        }
    }
    i
}

/// A control string (`ESC ]`, `ESC P`, `ESC X`, `ESC ^`, `ESC _`) up to ST (`ESC \`),
/// or BEL for OSC. A newline or another ESC ends it unfinished (kept); CAN and SUB
/// cancel it.
fn string_len(s: &[u8], bel_ends: bool) -> usize {
    let mut i = 2;
    while let Some(&b) = s.get(i) {
        match b {
            BEL if bel_ends => return i + 1,
            CAN | SUB => return i + 1,
            b'\n' => return i,
            ESC if s.get(i + 1) == Some(&b'\\') => return i + 2,
            ESC => return i,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(raw: &[u8]) -> String {
        String::from_utf8_lossy(&normalize_line(raw)).into_owned()
    }

    #[test]
    fn strips_ansi_like_strip_ansi_escapes() {
        let samples: [&[u8]; 8] = [
            b"\x1b[32mPASS\x1b[39m src/a.test.js\n",
            b"AADS\x1b[1mTS70\x1b[0m00222: x",
            b"\x1b]8;;https://x\x07link\x1b]8;;\x1b\\ end",
            b"a\x1b(Bb\x1b=c",
            b"no escape at all",
            b"\x1b[38;5;196mred\x1b[0m\n\x1b[1mbold\n",
            b"start:a\x1bPqq\x1b\\b",
            b"start:a\x1b[1\x01mb",
        ];
        for sample in samples {
            let mut buf = sample.to_vec();
            let len = strip_escapes_in_place(&mut buf);
            assert_eq!(
                String::from_utf8_lossy(&buf[..len]),
                String::from_utf8_lossy(&strip_ansi_escapes::strip(sample)),
            );
        }
    }

    #[test]
    fn control_strings_and_controls_inside_a_sequence_are_removed() {
        assert_eq!(line(b"start:a\x1bPqq\x1b\\b"), "start:ab");
        assert_eq!(line(b"start:a\x1b[1\x01mb"), "start:ab");
        assert_eq!(
            line(b"a\x1b_apc\x1b\\b\x1bXsos\x1b\\c\x1b^pm\x1b\\d"),
            "abcd"
        );
        assert_eq!(line(b"a\x1b[1\x18b"), "ab");
    }

    #[test]
    fn a_sequence_never_swallows_a_newline() {
        let mut buf = b"a\x1b]8;;unterminated\nb\x1bPdcs\nc\x1b[1\nd".to_vec();
        let len = strip_escapes_in_place(&mut buf);
        assert_eq!(&buf[..len], b"a\nb\nc\nd");
    }

    #[test]
    fn the_trailing_cr_goes_after_the_escapes() {
        assert_eq!(line(b"error\r\x1b[0m"), "error");
        assert_eq!(line(b"error\r"), "error");
        assert_eq!(line(b"tab\there\r"), "tab\there");
        assert_eq!(line(b"50%\r100%"), "50%\r100%");
    }

    #[test]
    fn stripping_a_buffer_is_stripping_each_line() {
        let buf = b"x\x1b[31mred\x1b[0m\r\n\x1b]0;t\x07y\n\x1b[1\x02mz\x1bPq\x1b\\\n";
        let mut whole = buf.to_vec();
        let len = strip_escapes_in_place(&mut whole);
        let by_line: Vec<u8> = buf
            .split(|&b| b == b'\n')
            .map(|l| {
                let mut l = l.to_vec();
                let n = strip_escapes_in_place(&mut l);
                l.truncate(n);
                l
            })
            .collect::<Vec<_>>()
            .join(&b'\n');
        assert_eq!(&whole[..len], &by_line[..]);
    }
}
