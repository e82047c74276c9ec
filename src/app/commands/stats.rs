//! `arm-kb stats`: scan a corpus of logs in parallel and print its summary. Each worker
//! of the pool reduces every log it scans to a summary at once and adds it to its own
//! tally; the tallies merge at the end. Nothing of a log is kept but counters and templates.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};

use super::matching::progress_wanted;
use super::{CommandError, ExitStatus, load_kb, print_diagnostics};
use crate::app::args::{GlobalArgs, StatsArgs, StatsFormat};
use arm_kb::diagnostics::DiagnosticSeverity;
use arm_kb::kb::KnowledgeBase;
use arm_kb::matcher::{Engine, ScanError, ScanOptions, Scanner};
use arm_kb::render::stats::StatsOutput;
use arm_kb::stats::{LogSummary, SUGGESTED_RULES, Tally, draft_rules, finding_set};
use arm_kb::workers;

/// How standard input is named in the report.
const STDIN_NAME: &str = "-";

pub fn run(global: &GlobalArgs, args: &StatsArgs) -> Result<ExitStatus, CommandError> {
    if args.suggest_rules && args.format == StatsFormat::Json {
        return Err(CommandError::Usage(
            "--suggest-rules prints draft rules after the summary: use it with --format text, markdown or html".to_owned(),
        ));
    }
    let kb = load_kb(global)?;
    let engine = Engine::new(&kb, true);
    let expansion = expand(&args.paths);
    {
        let mut err = anstream::stderr().lock();
        for note in &expansion.notes {
            writeln!(err, "arm-kb: {note}")?;
        }
    }
    let progress = progress_wanted().then(|| progress_bar(expansion.logs.len() as u64));
    let threads = args.threads.map(usize::from);
    let (tally, failures) = scan(&engine, &kb, &expansion.logs, threads, progress.as_ref());
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let mut failed = !expansion.unreadable.is_empty();
    {
        let mut err = anstream::stderr().lock();
        for (name, e) in &expansion.unreadable {
            writeln!(err, "arm-kb: {name}: {e}")?;
        }
    }
    for (name, e) in failures {
        match e {
            ScanError::Io(e) => {
                writeln!(anstream::stderr(), "arm-kb: {name}: {e}")?;
                failed = true;
            }
            ScanError::Rule(d) => {
                print_diagnostics(&[*d], DiagnosticSeverity::Error)?;
                return Err(CommandError::KnowledgeBase);
            }
        }
    }
    let report = tally.report(&kb);
    let drafts = if args.suggest_rules {
        draft_rules(&report, SUGGESTED_RULES)
    } else {
        Vec::new()
    };
    let output = StatsOutput {
        report: &report,
        drafts: &drafts,
    };
    let mut out = anstream::stdout().lock();
    args.format.printer().write(&mut out, &output)?;
    out.flush()?;
    Ok(if failed {
        ExitStatus::Error
    } else {
        ExitStatus::Success
    })
}

fn progress_bar(logs: u64) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "stats [{bar:30}] {pos}/{len} logs {per_sec} ETA {eta} {wide_msg}",
    )
    .expect("valid progress template")
    .progress_chars("=> ");
    ProgressBar::new(logs).with_style(style)
}

/// Scans every log, `threads` at once (default one per CPU), with the worker pool: each
/// worker tallies the logs it takes; the tallies merge. Returns the failures by input
/// name, in input order.
fn scan(
    engine: &Engine<'_>,
    kb: &KnowledgeBase,
    logs: &[LogInput],
    threads: Option<usize>,
    progress: Option<&ProgressBar>,
) -> (Tally, Vec<(String, ScanError)>) {
    struct Worker<'e, 'kb> {
        scanner: Scanner<'e, 'kb>,
        tally: Tally,
        failures: Vec<(usize, String, ScanError)>,
    }
    let workers = workers::fold(
        logs,
        threads,
        || Worker {
            scanner: engine.scanner(ScanOptions::default()),
            tally: Tally::new(),
            failures: Vec::new(),
        },
        |w, order, log| {
            let name = log.name();
            let mut set = finding_set(Arc::from(name.as_str()));
            if let Some(bar) = progress {
                bar.set_message(name.clone());
            }
            let result = log
                .open()
                .map_err(ScanError::from)
                .and_then(|reader| w.scanner.scan(reader, &mut set));
            match result {
                Ok(()) => w.tally.add(LogSummary::from_scan(order, set, kb)),
                Err(e) => w.failures.push((order, name, e)),
            }
            if let Some(bar) = progress {
                bar.inc(1);
            }
        },
    );
    let mut tally = Tally::new();
    let mut failures = Vec::new();
    for w in workers {
        tally.merge(w.tally);
        failures.extend(w.failures);
    }
    failures.sort_by_key(|(order, _, _)| *order);
    (
        tally,
        failures.into_iter().map(|(_, n, e)| (n, e)).collect(),
    )
}

/// One log to read.
#[derive(Clone, Debug, PartialEq, Eq)]
enum LogInput {
    Stdin,
    File(PathBuf),
}

impl LogInput {
    fn name(&self) -> String {
        match self {
            LogInput::Stdin => STDIN_NAME.to_owned(),
            LogInput::File(path) => path.display().to_string(),
        }
    }

    fn open(&self) -> io::Result<Box<dyn Read>> {
        Ok(match self {
            LogInput::Stdin => Box::new(io::stdin().lock()),
            LogInput::File(path) => Box::new(File::open(path)?),
        })
    }
}

/// The logs of the command line, and what could not be listed.
#[derive(Debug, Default)]
struct Expansion {
    logs: Vec<LogInput>,
    /// Skipped entries (hidden files and folders), one line each for stderr.
    notes: Vec<String>,
    unreadable: Vec<(String, io::Error)>,
}

/// Files as given, folders walked in path order (hidden entries skipped), `-` or
/// nothing for standard input.
fn expand(paths: &[PathBuf]) -> Expansion {
    let mut out = Expansion::default();
    if paths.is_empty() {
        out.logs.push(LogInput::Stdin);
    }
    for path in paths {
        if path == Path::new(STDIN_NAME) {
            out.logs.push(LogInput::Stdin);
        } else {
            walk(path, &mut out);
        }
    }
    out
}

fn walk(path: &Path, out: &mut Expansion) {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => return out.unreadable.push((path.display().to_string(), e)),
    };
    if !meta.is_dir() {
        return out.logs.push(LogInput::File(path.to_owned()));
    }
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => return out.unreadable.push((path.display().to_string(), e)),
    };
    let mut children: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    children.sort();
    for child in children {
        let hidden = child
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            out.notes
                .push(format!("{}: hidden, skipped", child.display()));
        } else {
            walk(&child, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_walked_in_path_order_without_hidden_entries() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("b/c")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        for f in ["b/c/2.log", "b/1.log", "a.log", ".hidden.log", ".git/x"] {
            fs::write(root.join(f), "x\n").unwrap();
        }
        let e = expand(&[root.to_owned(), PathBuf::from("-")]);
        let names: Vec<String> = e
            .logs
            .iter()
            .map(|l| match l {
                LogInput::File(p) => p.strip_prefix(root).unwrap().display().to_string(),
                LogInput::Stdin => "-".to_owned(),
            })
            .collect();
        assert_eq!(names, ["a.log", "b/1.log", "b/c/2.log", "-"]);
        assert_eq!(e.notes.len(), 2);
        assert!(expand(&[root.join("missing")]).unreadable.len() == 1);
        assert_eq!(expand(&[]).logs, [LogInput::Stdin]);
    }
}
