//! `arm-kb match`: scan logs, rank findings, print them.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{CommandError, EXIT_ERROR, EXIT_NO_MATCH, EXIT_OK, load_kb, print_diagnostics};
use crate::cli::{GlobalArgs, MatchArgs, MatchFormat};
use crate::diagnostics::DiagnosticSeverity;
use crate::matcher::{Engine, FindingSet, ScanError, ScanOptions};
use crate::render::findings::{MatchOutput, to_json, write_text};
use crate::search::SearchIndex;

/// How many "possibly related" articles to suggest.
const SUGGESTIONS: usize = 3;

pub fn run(global: &GlobalArgs, args: &MatchArgs) -> Result<u8, CommandError> {
    let kb = load_kb(global)?;
    let suggest = if args.no_suggest {
        false
    } else {
        args.suggest || args.format == MatchFormat::Text
    };
    let engine = Engine::new(&kb, suggest || args.unexplained);

    let files: Vec<&Path> = args.files.iter().map(PathBuf::as_path).collect();
    let from_stdin = files.is_empty() || files == [Path::new("-")];
    let mut failed = false;
    let mut merged = FindingSet::new(None);
    if from_stdin {
        let mut set = FindingSet::new(None);
        match engine
            .scanner(ScanOptions::default())
            .scan(io::stdin().lock(), &mut set)
        {
            Ok(()) => merged.merge(set, 0),
            Err(e) => failed |= report_scan_error("<stdin>", e)?,
        }
    } else {
        for (order, result) in scan_files(&engine, &files).into_iter().enumerate() {
            match result {
                Ok(set) => merged.merge(set, order),
                Err(e) => failed |= report_scan_error(&files[order].display().to_string(), e)?,
            }
        }
    }
    let report = merged.into_report(&kb);

    let suggestions = if suggest && report.findings.is_empty() && !report.error_lines.is_empty() {
        let index = SearchIndex::build(&kb)?;
        let lines: Vec<String> = report.error_lines.iter().map(|e| e.text.clone()).collect();
        Some(index.related(&lines, SUGGESTIONS)?)
    } else if suggest {
        Some(Vec::new())
    } else {
        None
    };
    let output = MatchOutput {
        report: &report,
        suggestions: suggestions.as_deref(),
        unexplained: args.unexplained,
        show_files: files.len() > 1,
    };
    let mut out = anstream::stdout().lock();
    match args.format {
        MatchFormat::Text => write_text(&mut out, &output)?,
        MatchFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &to_json(&output)).map_err(io::Error::other)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(if failed {
        EXIT_ERROR
    } else if report.findings.is_empty() {
        EXIT_NO_MATCH
    } else {
        EXIT_OK
    })
}

/// Prints a scan failure; returns true (the run has failed) or an error for broken rules.
fn report_scan_error(name: &str, e: ScanError) -> Result<bool, CommandError> {
    match e {
        ScanError::Io(e) => {
            writeln!(anstream::stderr(), "arm-kb: {name}: {e}")?;
            Ok(true)
        }
        ScanError::Rule(d) => {
            print_diagnostics(&[*d], DiagnosticSeverity::Error)?;
            Err(CommandError::KnowledgeBase)
        }
    }
}

/// Scans files in parallel, one file per worker; results in input order.
fn scan_files(engine: &Engine<'_>, files: &[&Path]) -> Vec<Result<FindingSet, ScanError>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<FindingSet, ScanError>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut scanner = engine.scanner(ScanOptions::default());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let name: Arc<str> = Arc::from(path.display().to_string());
                    let mut set = FindingSet::new(Some(name));
                    let result = File::open(path)
                        .map_err(ScanError::from)
                        .and_then(|f| scanner.scan(f, &mut set))
                        .map(|()| set);
                    results.lock().expect("no worker panics")[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .expect("no worker panics")
        .into_iter()
        .map(|r| r.expect("every file is scanned"))
        .collect()
}
