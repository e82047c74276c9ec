//! What a stream of bytes is (a zip, gzip, text in some encoding, binary), and readers that
//! turn text into the UTF-8 the scanner reads: BOMs dropped, UTF-16 transcoded as it streams,
//! a log whose lines end with a lone `\r` given `\n` line ends. Each reader holds one small
//! buffer: memory stays bounded whatever the input size.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, Encoding, UTF_16BE, UTF_16LE};

/// Bytes looked at to tell what an input is.
pub const SNIFF_BYTES: usize = 8 << 10;
/// Decoded bytes looked at to decide whether a lone `\r` ends lines.
const LINE_END_SNIFF_BYTES: usize = 64 << 10;
/// Undecoded bytes read at a time when transcoding.
const DECODE_CHUNK: usize = 64 << 10;

/// What the first bytes of an input say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A zip archive (local file header or an empty archive's end record).
    Zip,
    /// A gzip stream.
    Gzip,
    /// Text in this encoding.
    Text(TextEncoding),
    /// NUL bytes that are not UTF-16: not a log.
    Binary,
}

/// The encodings a log comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 (or anything ASCII-compatible); invalid bytes are left for the scanner, which
    /// shows them as U+FFFD.
    Utf8,
    /// UTF-8 that starts with a byte order mark (dropped).
    Utf8Bom,
    /// UTF-16LE with a byte order mark (what Windows PowerShell 5.1 `Out-File` writes).
    Utf16LeBom,
    /// UTF-16BE with a byte order mark.
    Utf16BeBom,
    /// UTF-16LE without a byte order mark, recognised by its NUL-interleaved ASCII.
    Utf16Le,
}

impl TextEncoding {
    /// Bytes of byte order mark at the start.
    fn bom_len(self) -> usize {
        match self {
            TextEncoding::Utf8 | TextEncoding::Utf16Le => 0,
            TextEncoding::Utf8Bom => 3,
            TextEncoding::Utf16LeBom | TextEncoding::Utf16BeBom => 2,
        }
    }

    fn decoder(self) -> Option<&'static Encoding> {
        match self {
            TextEncoding::Utf8 | TextEncoding::Utf8Bom => None,
            TextEncoding::Utf16LeBom | TextEncoding::Utf16Le => Some(UTF_16LE),
            TextEncoding::Utf16BeBom => Some(UTF_16BE),
        }
    }
}

/// Tells what an input is from its first bytes (up to [`SNIFF_BYTES`]).
pub fn sniff(head: &[u8]) -> Kind {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Kind::Zip;
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Kind::Gzip;
    }
    if head.starts_with(&[0xef, 0xbb, 0xbf]) {
        return Kind::Text(TextEncoding::Utf8Bom);
    }
    // A BOM counts only if NULs follow (a log is mostly ASCII): `\xff\xfe` before plain
    // bytes is invalid UTF-8, left to the scanner as before.
    let nul_follows = head.len() <= 2 || memchr::memchr(0, &head[2..]).is_some();
    if head.starts_with(&[0xff, 0xfe]) && nul_follows {
        return Kind::Text(TextEncoding::Utf16LeBom);
    }
    if head.starts_with(&[0xfe, 0xff]) && nul_follows {
        return Kind::Text(TextEncoding::Utf16BeBom);
    }
    if looks_utf16le(head) {
        return Kind::Text(TextEncoding::Utf16Le);
    }
    if memchr::memchr(0, head).is_some() {
        return Kind::Binary;
    }
    Kind::Text(TextEncoding::Utf8)
}

/// UTF-16LE text that is mostly ASCII: a NUL after nearly every byte, and almost never a
/// NUL in the low byte.
fn looks_utf16le(head: &[u8]) -> bool {
    let units = head.len() / 2;
    if units < 2 {
        return false;
    }
    let (mut high_zero, mut low_zero) = (0usize, 0usize);
    for pair in head.chunks_exact(2) {
        if pair[1] == 0 && pair[0] != 0 {
            high_zero += 1;
        }
        if pair[0] == 0 {
            low_zero += 1;
        }
    }
    high_zero * 10 >= units * 7 && low_zero * 20 <= units
}

/// Reads up to `SNIFF_BYTES` from `reader` (fewer only at the end of the input).
pub fn read_head<R: Read + ?Sized>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; SNIFF_BYTES];
    let mut len = 0;
    while len < head.len() {
        match reader.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(len);
    Ok(head)
}

/// The UTF-8 text of `raw` (whose first bytes, `head`, were already read), line ends
/// normalised: the reader the scanner is given.
pub fn text_reader<'a, R: Read + 'a>(
    head: Vec<u8>,
    raw: R,
    encoding: TextEncoding,
) -> Box<dyn Read + 'a> {
    // The BOM is dropped: it is not part of the first line.
    let bom = encoding.bom_len().min(head.len());
    let mut head = io::Cursor::new(head);
    head.set_position(bom as u64);
    let bytes = head.chain(raw);
    match encoding.decoder() {
        None => Box::new(LineEnds::new(bytes)),
        Some(enc) => Box::new(LineEnds::new(Transcode::new(
            bytes,
            enc.new_decoder_without_bom_handling(),
        ))),
    }
}

/// Transcodes a stream to UTF-8 as it is read; malformed sequences become U+FFFD.
pub struct Transcode<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    in_eof: bool,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    done: bool,
}

impl<R: Read> Transcode<R> {
    pub fn new(inner: R, decoder: Decoder) -> Self {
        let out_len = decoder
            .max_utf8_buffer_length(DECODE_CHUNK)
            .unwrap_or(DECODE_CHUNK * 3)
            + 16;
        Transcode {
            inner,
            decoder,
            input: vec![0; DECODE_CHUNK],
            in_start: 0,
            in_end: 0,
            in_eof: false,
            output: vec![0; out_len],
            out_start: 0,
            out_end: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.in_eof {
                let n = loop {
                    match self.inner.read(&mut self.input) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other?,
                    }
                };
                self.in_start = 0;
                self.in_end = n;
                self.in_eof = n == 0;
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.in_eof,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.in_eof && result == CoderResult::InputEmpty {
                self.done = true;
            }
        }
    }
}

/// Line ends as the scanner expects them: a log with no `\n` at all in its first 64 KiB
/// but a `\r` (old Mac line ends, some Windows tools) gets every `\r` read as `\n`, so
/// its lines are lines. Any other log passes unchanged.
pub struct LineEnds<R> {
    inner: R,
    /// The first bytes, kept to decide; then served.
    head: Vec<u8>,
    head_pos: usize,
    decided: bool,
    cr_only: bool,
}

impl<R: Read> LineEnds<R> {
    pub fn new(inner: R) -> Self {
        LineEnds {
            inner,
            head: Vec::new(),
            head_pos: 0,
            decided: false,
            cr_only: false,
        }
    }

    fn decide(&mut self) -> io::Result<()> {
        self.head.resize(LINE_END_SNIFF_BYTES, 0);
        let mut len = 0;
        while len < self.head.len() {
            match self.inner.read(&mut self.head[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.head.truncate(len);
                    return Err(e);
                }
            }
        }
        self.head.truncate(len);
        self.cr_only = memchr::memchr(b'\n', &self.head).is_none()
            && memchr::memchr(b'\r', &self.head).is_some();
        self.decided = true;
        Ok(())
    }
}

impl<R: Read> Read for LineEnds<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.decided {
            self.decide()?;
        }
        let n = if self.head_pos < self.head.len() {
            let n = buf.len().min(self.head.len() - self.head_pos);
            buf[..n].copy_from_slice(&self.head[self.head_pos..self.head_pos + n]);
            self.head_pos += n;
            if self.head_pos == self.head.len() {
                self.head = Vec::new();
                self.head_pos = 0;
            }
            n
        } else {
            self.inner.read(buf)?
        };
        if self.cr_only {
            for b in &mut buf[..n] {
                if *b == b'\r' {
                    *b = b'\n';
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xff, 0xfe] } else { Vec::new() };
        for unit in s.encode_utf16() {
            out.extend_from_slice(&unit.to_le_bytes());
        }
        out
    }

    fn utf16be(s: &str) -> Vec<u8> {
        let mut out = vec![0xfe, 0xff];
        for unit in s.encode_utf16() {
            out.extend_from_slice(&unit.to_be_bytes());
        }
        out
    }

    /// Decodes through `text_reader`, feeding the raw bytes `chunk` at a time.
    fn decode(bytes: &[u8], chunk: usize) -> Vec<u8> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut raw = Trickle(bytes, chunk);
        let head = read_head(&mut raw).unwrap();
        let Kind::Text(encoding) = sniff(&head) else {
            panic!("not text: {:?}", sniff(&head));
        };
        let mut out = Vec::new();
        text_reader(head, raw, encoding)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    const LOG: &str = "2025-03-04T09:12:03Z ##[error]AADSTS7000222: The provided client secret keys are expired.\r\nnext line é ✓\r\n";

    #[test]
    fn kinds_are_told_by_their_first_bytes() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Kind::Zip);
        assert_eq!(sniff(b"PK\x05\x06"), Kind::Zip);
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Kind::Gzip);
        assert_eq!(sniff(b"plain log\n"), Kind::Text(TextEncoding::Utf8));
        assert_eq!(sniff(b""), Kind::Text(TextEncoding::Utf8));
        assert_eq!(sniff(b"\xef\xbb\xbflog"), Kind::Text(TextEncoding::Utf8Bom));
        assert_eq!(
            sniff(&utf16le(LOG, true)),
            Kind::Text(TextEncoding::Utf16LeBom)
        );
        assert_eq!(sniff(&utf16be(LOG)), Kind::Text(TextEncoding::Utf16BeBom));
        assert_eq!(
            sniff(&utf16le(LOG, false)),
            Kind::Text(TextEncoding::Utf16Le)
        );
        assert_eq!(
            sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"),
            Kind::Binary
        );
        // Invalid UTF-8 without NULs stays text, as before.
        assert_eq!(
            sniff(b"AADSTS70\xff00222\n"),
            Kind::Text(TextEncoding::Utf8)
        );
    }

    #[test]
    fn utf16_in_every_form_decodes_to_the_same_text() {
        for chunk in [1, 3, 7, 4096, 1 << 20] {
            assert_eq!(
                decode(&utf16le(LOG, true), chunk),
                LOG.as_bytes(),
                "{chunk}"
            );
            assert_eq!(
                decode(&utf16le(LOG, false), chunk),
                LOG.as_bytes(),
                "{chunk}"
            );
            assert_eq!(decode(&utf16be(LOG), chunk), LOG.as_bytes(), "{chunk}");
        }
    }

    #[test]
    fn large_utf16_streams_decode_whole() {
        let text: String = (0..50_000).map(|i| format!("line {i} ✓\n")).collect();
        assert_eq!(decode(&utf16le(&text, true), 10_000), text.as_bytes());
    }

    #[test]
    fn a_utf8_bom_is_dropped_and_other_bytes_pass_unchanged() {
        let mut bytes = b"\xef\xbb\xbf".to_vec();
        bytes.extend_from_slice(b"AADSTS70\xff00222\r\nx");
        assert_eq!(decode(&bytes, 2), b"AADSTS70\xff00222\r\nx");
    }

    #[test]
    fn a_truncated_utf16_unit_becomes_a_replacement_character() {
        let mut bytes = utf16le("ab", true);
        bytes.push(b'c');
        assert_eq!(decode(&bytes, 1), "ab\u{fffd}".as_bytes());
    }

    #[test]
    fn lone_carriage_returns_end_lines_only_when_no_newline_is_seen() {
        assert_eq!(decode(b"one\rtwo\rthree", 2), b"one\ntwo\nthree");
        assert_eq!(
            decode(b"progress 10%\rprogress 100%\ndone\n", 2),
            b"progress 10%\rprogress 100%\ndone\n"
        );
        let utf16 = utf16le("one\rtwo\r", true);
        assert_eq!(decode(&utf16, 5), b"one\ntwo\n");
    }

    #[test]
    fn read_errors_reach_the_reader() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("broken"))
            }
        }
        let mut reader = text_reader(b"abc".to_vec(), Failing, TextEncoding::Utf8);
        let mut out = Vec::new();
        assert!(reader.read_to_end(&mut out).is_err());
    }
}
