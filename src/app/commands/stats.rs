//! `arm-kb stats`: scan a corpus of logs in parallel and print its summary. Each worker
//! of the pool reduces every log it scans to a summary at once and adds it to its own
//! tally; the tallies merge at the end. Nothing of a log is kept but counters and templates.

use std::io::Write;

use indicatif::{ProgressBar, ProgressStyle};

use super::matching::progress_wanted;
use super::{CommandError, ExitStatus, load_kb, print_diagnostics};
use crate::app::args::{GlobalArgs, StatsArgs, StatsFormat};
use arm_kb::diagnostics::DiagnosticSeverity;
use arm_kb::input::{self, Input, Source};
use arm_kb::kb::KnowledgeBase;
use arm_kb::matcher::{Engine, ScanError, ScanOptions, Scanner};
use arm_kb::render::stats::StatsOutput;
use arm_kb::stats::{LogSummary, SUGGESTED_RULES, Tally, draft_rules, finding_set};
use arm_kb::workers;

pub fn run(global: &GlobalArgs, args: &StatsArgs) -> Result<ExitStatus, CommandError> {
    if args.suggest_rules && args.format == StatsFormat::Json {
        return Err(CommandError::Usage(
            "--suggest-rules prints draft rules after the summary: use it with --format text, markdown or html".to_owned(),
        ));
    }
    let kb = load_kb(global)?;
    let engine = Engine::new(&kb, true);
    // The inputs of `match`: files, folders, zips, gzip, UTF-16; standard input when none.
    let inputs: Vec<Input> = if args.paths.is_empty() {
        vec![Input::Stdin]
    } else {
        args.paths.iter().map(|p| Input::from_arg(p)).collect()
    };
    let expansion = input::expand(&inputs);
    {
        let mut err = anstream::stderr().lock();
        for note in &expansion.notes {
            writeln!(err, "arm-kb: {note}")?;
        }
    }
    let progress = progress_wanted().then(|| progress_bar(expansion.sources.len() as u64));
    let threads = args.threads.map(usize::from);
    let (tally, failures) = scan(&engine, &kb, &expansion.sources, threads, progress.as_ref());
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let mut failed = false;
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
    logs: &[Source],
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
            let name = log.name().to_string();
            let mut set = finding_set(log.name().clone());
            if let Some(bar) = progress {
                bar.set_message(name.clone());
            }
            // An input that cannot be opened (a missing file, a corrupt zip) fails here,
            // named, and is counted as a failure rather than as a clean log.
            let result = log
                .read_with(|reader| w.scanner.scan(reader, &mut set))
                .map_err(ScanError::from)
                .and_then(|scanned| scanned);
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
