//! What a request body holds: a log, a gzip file, or a zip of logs (the Download-logs zip
//! of a run, whose members may themselves be gzip files), decoded as it is read.
//!
//! Kept behind [`for_each_source`] so that the intake module of `match` can take its
//! place without touching the server.

use std::io::{self, Cursor, Read};

use axum::body::Bytes;

/// What is called per source: its name (`None` for a paste or bare body) and its text, or
/// why it could not be opened.
pub type Visit<'a> = dyn FnMut(Option<String>, io::Result<&mut dyn Read>) + 'a;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How the bytes of an upload are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Gzip,
    Zip,
    /// Decided by the first bytes (gzip and zip magic numbers), text otherwise.
    Sniff,
}

/// One thing a request sent: a pasted log, an uploaded file, a request body.
pub struct Upload {
    /// The file name, `None` for pasted text and bare request bodies.
    pub name: Option<String>,
    pub bytes: Bytes,
    pub kind: Kind,
}

impl Upload {
    fn kind(&self) -> Kind {
        match self.kind {
            Kind::Sniff if self.bytes.starts_with(&GZIP_MAGIC) => Kind::Gzip,
            Kind::Sniff
                if self.bytes.starts_with(b"PK\x03\x04")
                    || self.bytes.starts_with(b"PK\x05\x06") =>
            {
                Kind::Zip
            }
            Kind::Sniff => Kind::Text,
            kind => kind,
        }
    }
}

/// Calls `visit` once per source of `upload`, in order: the upload itself, or each file
/// of a zip (named `<zip>!<member>`), decoded as `match` decodes its inputs (gzip, UTF-16,
/// line ends). A source that cannot be opened is visited with the error; the others are
/// still visited.
pub fn for_each_source(upload: &Upload, visit: &mut Visit<'_>) {
    match upload.kind() {
        // The request said gzip: bytes that are not are an error, not a log.
        Kind::Gzip if !upload.bytes.starts_with(&GZIP_MAGIC) => {
            let error = io::Error::other("not gzip data (the Content-Type says gzip)");
            visit(upload.name.clone(), Err(error))
        }
        Kind::Text | Kind::Sniff | Kind::Gzip => {
            decoded(upload.name.clone(), &upload.bytes[..], "an upload", visit)
        }
        Kind::Zip => {
            let zip_name = upload.name.as_deref().unwrap_or("upload.zip");
            let mut archive = match zip::ZipArchive::new(Cursor::new(&upload.bytes[..])) {
                Ok(archive) => archive,
                Err(e) => {
                    let error = io::Error::other(format!("corrupt zip: {e}"));
                    return visit(Some(zip_name.to_owned()), Err(error));
                }
            };
            for i in 0..archive.len() {
                let member = match archive.by_index(i) {
                    Ok(member) => member,
                    Err(e) => {
                        let error = io::Error::other(format!("corrupt zip: {e}"));
                        visit(Some(format!("{zip_name}!#{}", i + 1)), Err(error));
                        continue;
                    }
                };
                if member.is_dir() {
                    continue;
                }
                let name = format!("{zip_name}!{}", member.name());
                decoded(Some(name), member, "a zip member", visit);
            }
        }
    }
}

/// Visits `raw` through the decoders of [`arm_kb::input::with_text`].
fn decoded(name: Option<String>, raw: impl Read, what: &str, visit: &mut Visit<'_>) {
    let opened = arm_kb::input::with_text(raw, what, |reader| visit(name.clone(), Ok(reader)));
    if let Err(e) = opened {
        visit(name, Err(e));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    pub fn gzip(text: &str) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap()
    }

    fn sources(upload: &Upload) -> Vec<(Option<String>, Result<String, String>)> {
        let mut out = Vec::new();
        for_each_source(upload, &mut |name, reader| {
            let text = reader
                .and_then(|r| {
                    let mut s = String::new();
                    r.read_to_string(&mut s).map(|_| s)
                })
                .map_err(|e| e.to_string());
            out.push((name, text));
        });
        out
    }

    #[test]
    fn gzip_is_sniffed_and_decoded() {
        let upload = Upload {
            name: Some("job.log.gz".into()),
            bytes: gzip("line one\n").into(),
            kind: Kind::Sniff,
        };
        assert_eq!(
            sources(&upload),
            [(Some("job.log.gz".into()), Ok("line one\n".into()))]
        );
    }

    #[test]
    fn utf16_from_windows_powershell_is_decoded() {
        let mut bytes = vec![0xff, 0xfe];
        for unit in "AADSTS7000215: Invalid client secret\r\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let upload = Upload {
            name: Some("job.log".into()),
            bytes: bytes.into(),
            kind: Kind::Sniff,
        };
        assert_eq!(
            sources(&upload),
            [(
                Some("job.log".into()),
                Ok("AADSTS7000215: Invalid client secret\r\n".into())
            )]
        );
    }

    #[test]
    fn a_corrupt_zip_is_an_error_not_an_empty_log() {
        let upload = Upload {
            name: None,
            bytes: Bytes::from_static(b"PK\x03\x04 not really"),
            kind: Kind::Sniff,
        };
        let got = sources(&upload);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.as_deref(), Some("upload.zip"));
        assert!(got[0].1.is_err());
    }
}
