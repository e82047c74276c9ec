//! Intake: what `match` is given (files, folders, zips, gzip, standard input, a run's task
//! logs), turned into *sources*: named streams of UTF-8 text for the scanner. Each source
//! is scanned on its own and its findings carry its name.
//!
//! Expanding the inputs ([`expand`]) walks folders (in path order, hidden entries and
//! binary files skipped with a note), lists zip members and tells archives, gzip and text
//! encodings apart by their first bytes, not by their names. Opening a source
//! ([`Source::read_with`]) stacks the readers it needs: gzip, UTF-16 transcoding, line
//! ends. Nothing is read whole: memory stays bounded. An input that cannot be read is
//! still a source, one whose reading fails with the reason, so it is reported, never
//! quietly dropped.

pub mod decode;
pub mod devops;

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use decode::{Kind, TextEncoding, read_head, sniff, text_reader};

/// How standard input is named: as on the command line.
pub const STDIN_NAME: &str = "-";

/// One argument of `match`: standard input or a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

impl Input {
    /// `-` is standard input, anything else a path.
    pub fn from_arg(arg: &Path) -> Input {
        if arg == Path::new(STDIN_NAME) {
            Input::Stdin
        } else {
            Input::Path(arg.to_owned())
        }
    }
}

/// Something that opens a stream of log bytes on demand (a task log fetched over HTTP).
pub trait Fetch: Send + Sync {
    fn open(&self) -> io::Result<Box<dyn Read + Send>>;
}

/// Where a source's bytes come from.
enum Origin {
    Stdin,
    File(PathBuf),
    ZipMember {
        zip: PathBuf,
        index: usize,
    },
    Fetched(Box<dyn Fetch>),
    /// Could not even be listed: reading it fails with this message.
    Unreadable(String),
}

/// A named stream of log text, scanned on its own.
pub struct Source {
    name: Arc<str>,
    origin: Origin,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("name", &self.name).finish()
    }
}

impl Source {
    pub fn stdin() -> Source {
        Source::new(STDIN_NAME, Origin::Stdin)
    }

    pub fn file(path: &Path) -> Source {
        Source::new(&path.display().to_string(), Origin::File(path.to_owned()))
    }

    /// A source read through `fetch` (a task log from a run).
    pub fn fetched(name: &str, fetch: Box<dyn Fetch>) -> Source {
        Source::new(name, Origin::Fetched(fetch))
    }

    /// A source that could not be listed or opened: reading it fails with `message`.
    pub fn unreadable(name: &str, message: impl Into<String>) -> Source {
        Source::new(name, Origin::Unreadable(message.into()))
    }

    fn new(name: &str, origin: Origin) -> Source {
        Source {
            name: display_name(name),
            origin,
        }
    }

    /// The name findings carry: the path as given, `<zip>!<member>`, `-`, `Job / Task`.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn is_stdin(&self) -> bool {
        matches!(self.origin, Origin::Stdin)
    }

    /// The size on disk of a plain file (for a progress bar), when known.
    pub fn file_len(&self) -> Option<u64> {
        match &self.origin {
            Origin::File(path) => fs::metadata(path).ok().map(|m| m.len()),
            _ => None,
        }
    }

    /// Opens the source and calls `f` with its UTF-8 text. Errors while opening come back
    /// here; errors while `f` reads come back through `f`'s reads.
    pub fn read_with<T>(&self, f: impl FnOnce(&mut dyn Read) -> T) -> io::Result<T> {
        match &self.origin {
            Origin::Stdin => {
                let stdin = io::stdin();
                with_text(stdin.lock(), "standard input", f)
            }
            Origin::File(path) => with_text(File::open(path)?, "a file", f),
            Origin::ZipMember { zip, index } => {
                let mut archive = open_zip(zip)?;
                let member = archive.by_index(*index).map_err(zip_error)?;
                with_text(member, "a zip member", f)
            }
            Origin::Fetched(fetch) => with_text(fetch.open()?, "a fetched log", f),
            Origin::Unreadable(message) => Err(io::Error::other(message.clone())),
        }
    }
}

/// Source names are printed in every format: control characters (a newline in a zip
/// member name or a job name) become U+FFFD, so a name is always one harmless line.
fn display_name(name: &str) -> Arc<str> {
    name.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect::<String>()
        .into()
}

/// Stacks the readers `raw` needs (gzip, transcoding, line ends) and calls `f` with them.
/// `what` names the kind of input in errors ("a file", "an upload"). Used for every
/// source, and by the server for the logs a request carries.
pub fn with_text<R: Read, T>(
    mut raw: R,
    what: &str,
    f: impl FnOnce(&mut dyn Read) -> T,
) -> io::Result<T> {
    let head = read_head(&mut raw)?;
    match sniff(&head) {
        Kind::Gzip => {
            let mut gz = flate2::read::MultiGzDecoder::new(io::Cursor::new(head).chain(raw));
            let inner = read_head(&mut gz).map_err(gzip_error)?;
            match sniff(&inner) {
                Kind::Zip | Kind::Gzip => Err(io::Error::other(
                    "gzip holding an archive or another gzip stream: not read (extract it first)",
                )),
                Kind::Text(encoding) => Ok(f(&mut text_reader(inner, GzipErrors(gz), encoding))),
                Kind::Binary => Ok(f(&mut text_reader(
                    inner,
                    GzipErrors(gz),
                    TextEncoding::Utf8,
                ))),
            }
        }
        Kind::Zip => Err(io::Error::other(format!(
            "{what} holding a zip archive: not read (name the .zip file itself)"
        ))),
        Kind::Text(encoding) => Ok(f(&mut text_reader(head, raw, encoding))),
        // A binary file named on its own is scanned all the same, as before.
        Kind::Binary => Ok(f(&mut text_reader(head, raw, TextEncoding::Utf8))),
    }
}

/// Gzip read errors say that the gzip stream is broken.
struct GzipErrors<R>(R);

impl<R: Read> Read for GzipErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(gzip_error)
    }
}

fn gzip_error(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("corrupt gzip data: {e}"))
}

fn zip_error(e: zip::result::ZipError) -> io::Error {
    match e {
        zip::result::ZipError::Io(e) => io::Error::new(e.kind(), format!("corrupt zip: {e}")),
        other => io::Error::other(format!("corrupt zip: {other}")),
    }
}

fn open_zip(path: &Path) -> io::Result<zip::ZipArchive<BufReader<File>>> {
    let file = File::open(path)?;
    zip::ZipArchive::new(BufReader::new(file)).map_err(zip_error)
}

/// What [`expand`] found: the sources in order, and notes on what it skipped.
#[derive(Debug, Default)]
pub struct Expansion {
    pub sources: Vec<Source>,
    /// One line each, for standard error: hidden entries and binary files skipped.
    pub notes: Vec<String>,
}

/// Turns the command line's inputs into sources: folders walked in path order, zips
/// listed member by member. An input that cannot be listed is an unreadable source.
pub fn expand(inputs: &[Input]) -> Expansion {
    let mut out = Expansion::default();
    for input in inputs {
        match input {
            Input::Stdin => out.sources.push(Source::stdin()),
            Input::Path(path) => expand_path(path, true, &mut out),
        }
    }
    out
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.') && name != "." && name != ".."
}

fn expand_path(path: &Path, named: bool, out: &mut Expansion) {
    let name = path.display().to_string();
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => return out.sources.push(Source::unreadable(&name, e.to_string())),
    };
    if meta.is_dir() {
        return walk(path, out);
    }
    if !meta.is_file() {
        // A pipe or a device (`<(unzip -p logs.zip)`): read as a stream, never sniffed
        // twice, since its first bytes can be read only once.
        return out.sources.push(Source::file(path));
    }
    let head = match File::open(path).and_then(|mut f| read_head(&mut f)) {
        Ok(head) => head,
        Err(e) => return out.sources.push(Source::unreadable(&name, e.to_string())),
    };
    match sniff(&head) {
        Kind::Zip => expand_zip(path, out),
        Kind::Binary if !named => out.notes.push(format!("skipped {name}: binary file")),
        _ => out.sources.push(Source::file(path)),
    }
}

/// A folder: every entry in path order; hidden entries and links to folders skipped.
fn walk(dir: &Path, out: &mut Expansion) {
    let name = dir.display().to_string();
    let entries = match fs::read_dir(dir).and_then(|rd| rd.collect::<io::Result<Vec<_>>>()) {
        Ok(entries) => entries,
        Err(e) => return out.sources.push(Source::unreadable(&name, e.to_string())),
    };
    let mut entries: Vec<_> = entries.into_iter().map(|e| e.file_name()).collect();
    entries.sort();
    for file_name in entries {
        let path = dir.join(&file_name);
        if is_hidden(&file_name.to_string_lossy()) {
            out.notes
                .push(format!("skipped {}: hidden", path.display()));
            continue;
        }
        let is_link_to_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
            && fs::metadata(&path).is_ok_and(|m| m.is_dir());
        if is_link_to_dir {
            out.notes.push(format!(
                "skipped {}: symbolic link to a folder",
                path.display()
            ));
            continue;
        }
        match fs::metadata(&path) {
            Ok(m) if !m.is_dir() && !m.is_file() => out
                .notes
                .push(format!("skipped {}: not a regular file", path.display())),
            _ => expand_path(&path, false, out),
        }
    }
}

/// A zip: one source per member, in the archive's order (the run's order in the
/// Download-logs zip). Folders, hidden and binary members are skipped with a note.
fn expand_zip(path: &Path, out: &mut Expansion) {
    let zip_name = path.display().to_string();
    let mut archive = match open_zip(path) {
        Ok(archive) => archive,
        Err(e) => {
            return out
                .sources
                .push(Source::unreadable(&zip_name, e.to_string()));
        }
    };
    for index in 0..archive.len() {
        let listed = archive.name_for_index(index).unwrap_or("?").to_owned();
        let mut member = match archive.by_index(index) {
            Ok(member) => member,
            Err(e) => {
                let name = format!("{zip_name}!{listed}");
                out.sources
                    .push(Source::unreadable(&name, zip_error(e).to_string()));
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        let name = format!("{zip_name}!{}", member.name());
        if member.name().split(['/', '\\']).any(is_hidden) {
            out.notes.push(format!("skipped {name}: hidden"));
            continue;
        }
        match read_head(&mut member) {
            Ok(head) if sniff(&head) == Kind::Binary => {
                out.notes.push(format!("skipped {name}: binary file"));
            }
            Ok(_) => out.sources.push(Source::new(
                &name,
                Origin::ZipMember {
                    zip: path.to_owned(),
                    index,
                },
            )),
            Err(e) => out
                .sources
                .push(Source::unreadable(&name, format!("corrupt zip: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn text_of(source: &Source) -> io::Result<String> {
        source.read_with(|r| {
            let mut s = String::new();
            r.read_to_string(&mut s).map(|_| s)
        })?
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, bytes) in members {
            if name.ends_with('/') {
                zip.add_directory(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                continue;
            }
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn names(expansion: &Expansion) -> Vec<String> {
        expansion
            .sources
            .iter()
            .map(|s| s.name().to_string())
            .collect()
    }

    #[test]
    fn folders_are_walked_in_path_order_skipping_hidden_and_binary_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join("b/c/z.log"), "z\n").unwrap();
        fs::write(root.join("b/a.log"), "a\n").unwrap();
        fs::write(root.join("a.txt"), "t\n").unwrap();
        fs::write(root.join(".hidden.log"), "h\n").unwrap();
        fs::write(root.join(".git/HEAD"), "ref\n").unwrap();
        fs::write(root.join("tool.bin"), b"\x7fELF\0\0\0\0").unwrap();
        fs::write(root.join("job.log.gz"), gzip(b"gz\n")).unwrap();
        let expansion = expand(&[Input::Path(root.to_owned())]);
        let shown = |p: &str| root.join(p).display().to_string();
        assert_eq!(
            names(&expansion),
            [
                shown("a.txt"),
                shown("b/a.log"),
                shown("b/c/z.log"),
                shown("job.log.gz")
            ]
        );
        assert_eq!(
            expansion.notes,
            [
                format!("skipped {}: hidden", shown(".git")),
                format!("skipped {}: hidden", shown(".hidden.log")),
                format!("skipped {}: binary file", shown("tool.bin")),
            ]
        );
        assert_eq!(text_of(&expansion.sources[3]).unwrap(), "gz\n");
    }

    #[test]
    fn a_binary_file_named_on_its_own_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.log");
        fs::write(&path, b"a\0b\n").unwrap();
        let expansion = expand(&[Input::Path(path)]);
        assert!(expansion.notes.is_empty());
        assert_eq!(text_of(&expansion.sources[0]).unwrap(), "a\0b\n");
    }

    #[test]
    fn zip_members_are_sources_named_zip_bang_member() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs_42.zip");
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("utf16 line\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let gz = gzip(b"from gz\n");
        fs::write(
            &path,
            zip(&[
                ("Deploy/", b""),
                ("Deploy/1_Initialize job.txt", b"init\n"),
                ("Deploy/2_AzureCLI.txt", b"cli\n"),
                ("Deploy/3_PowerShell.txt", &utf16),
                ("Deploy/4_old.txt.gz", &gz),
                ("__MACOSX/.DS_Store", b"x"),
                ("Deploy/tool.exe", b"MZ\0\0\0"),
            ]),
        )
        .unwrap();
        let expansion = expand(&[Input::Path(path.clone())]);
        let zip_name = path.display().to_string();
        assert_eq!(
            names(&expansion),
            [
                format!("{zip_name}!Deploy/1_Initialize job.txt"),
                format!("{zip_name}!Deploy/2_AzureCLI.txt"),
                format!("{zip_name}!Deploy/3_PowerShell.txt"),
                format!("{zip_name}!Deploy/4_old.txt.gz"),
            ]
        );
        assert_eq!(expansion.notes.len(), 2, "{:?}", expansion.notes);
        let texts: Vec<String> = expansion
            .sources
            .iter()
            .map(|s| text_of(s).unwrap())
            .collect();
        assert_eq!(texts, ["init\n", "cli\n", "utf16 line\n", "from gz\n"]);
    }

    #[test]
    fn unreadable_inputs_are_sources_that_fail_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.log");
        let corrupt_zip = dir.path().join("corrupt.zip");
        fs::write(&corrupt_zip, b"PK\x03\x04 not really a zip").unwrap();
        let corrupt_gz = dir.path().join("corrupt.log.gz");
        let mut truncated = gzip(&b"a long line of log text\n".repeat(200));
        truncated.truncate(40);
        fs::write(&corrupt_gz, truncated).unwrap();
        let good = dir.path().join("good.log");
        fs::write(&good, "fine\n").unwrap();
        let expansion = expand(&[
            Input::Path(missing),
            Input::Path(corrupt_zip),
            Input::Path(corrupt_gz),
            Input::Path(good),
        ]);
        assert_eq!(expansion.sources.len(), 4);
        let results: Vec<io::Result<String>> = expansion.sources.iter().map(text_of).collect();
        let error = |i: usize| results[i].as_ref().unwrap_err().to_string();
        assert!(error(0).contains("No such file"), "{}", error(0));
        assert!(error(1).contains("corrupt zip"), "{}", error(1));
        assert!(error(2).contains("gzip"), "{}", error(2));
        assert_eq!(results[3].as_ref().unwrap(), "fine\n");
    }

    #[test]
    fn names_never_hold_control_characters() {
        let source = Source::unreadable("job\n##vso[task.complete]\r", "x");
        assert_eq!(&**source.name(), "job\u{fffd}##vso[task.complete]\u{fffd}");
    }

    #[test]
    fn dash_is_standard_input() {
        assert_eq!(Input::from_arg(Path::new("-")), Input::Stdin);
        assert_eq!(
            Input::from_arg(Path::new("./-")),
            Input::Path(PathBuf::from("./-"))
        );
        assert!(expand(&[Input::Stdin]).sources[0].is_stdin());
    }
}
