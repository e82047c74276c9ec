//! `arm-kb match`: scan logs, rank findings, mask secrets, print them in the chosen format.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{CommandError, ExitStatus, load_kb, print_diagnostics};
use crate::app::args::{GlobalArgs, MatchArgs};
use crate::app::plan::MatchPlan;
use arm_kb::diagnostics::DiagnosticSeverity;
use arm_kb::input::devops::{ClientConfig, build_sources};
use arm_kb::input::{Expansion, Source, expand};
use arm_kb::matcher::{Engine, FindingSet, ScanError, ScanOptions, Scanner};
use arm_kb::render::MatchOutput;
use arm_kb::report::{RelatedArticle, Report};
use arm_kb::search::{SearchHit, SearchIndex};
use arm_kb::workers;

/// The pipe size asked for on standard input (the default per-user limit allows 1 MiB).
#[cfg(target_os = "linux")]
const STDIN_PIPE_BYTES: usize = 1 << 20;

/// How many "possibly related" articles to suggest.
pub(super) const SUGGESTIONS: usize = 3;
/// Files at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 64 << 20;
/// Variables set by CI systems; their logs are no terminal for a progress bar.
const CI_VARIABLES: [&str; 3] = ["CI", "TF_BUILD", "GITHUB_ACTIONS"];

pub fn run(global: &GlobalArgs, args: &MatchArgs) -> Result<ExitStatus, CommandError> {
    let plan = MatchPlan::from_args(args);
    let kb = load_kb(global)?;
    let suggest = plan.suggest;
    let engine = Engine::new(&kb, plan.track_error_lines);
    let options = plan.scan_options();

    if let Some(summary) = plan.summary.as_deref()
        && let Some(input) = plan.inputs.iter().find_map(|input| match input {
            arm_kb::input::Input::Path(path) if same_file(path, summary) => Some(path),
            _ => None,
        })
    {
        return Err(CommandError::Usage(format!(
            "--summary {} is the input {}: the report would replace the log",
            summary.display(),
            input.display()
        )));
    }
    let Expansion {
        mut sources,
        mut notes,
    } = expand(&plan.inputs);
    if let Some(url) = &plan.build {
        let var = |name: &str| std::env::var(name).ok();
        match build_sources(url, plan.all_logs, var, ClientConfig::default()) {
            Ok(fetched) => {
                sources.extend(fetched.sources);
                notes.extend(fetched.notes);
            }
            // The run could not be listed: it is a source that could not be read.
            Err(e) => sources.push(Source::unreadable(url, e.to_string())),
        }
    }
    let mut stderr = anstream::stderr();
    for note in &notes {
        writeln!(stderr, "arm-kb: {note}")?;
    }
    if sources.iter().any(Source::is_stdin) {
        widen_stdin_pipe();
        if io::stdin().is_terminal() {
            writeln!(
                stderr,
                "arm-kb: reading a log from standard input (paste it, then Ctrl-D; or name files: arm-kb match PATH...)"
            )?;
        }
    }
    // Standard input alone keeps its evidence unnamed, as a single file does.
    let name_evidence = !(sources.len() == 1 && sources[0].is_stdin());
    let progress = progress_wanted().then(MultiProgress::new);
    let threads = plan.threads;
    let results = scan_sources(
        &engine,
        &sources,
        options,
        threads,
        progress.as_ref(),
        name_evidence,
    );
    let mut failed = false;
    let mut parts = Vec::with_capacity(results.len());
    for (source, (set, error)) in sources.iter().zip(results) {
        let error = match error {
            None => None,
            Some(e) => {
                failed |= report_scan_error(source.name(), &e)?;
                Some(e.to_string())
            }
        };
        parts.push((Report::build(set, &kb), error));
    }
    let report = Report::combine(parts);
    // The one place where the report is masked: every format below sees only this.
    let mut report = if !plan.redact {
        report
    } else {
        arm_kb::report::redact::report(report)
    };
    if let Some(max) = plan.max_findings {
        report.truncate(max);
    }
    let exit = if failed {
        ExitStatus::Error
    } else if report.findings.is_empty() {
        ExitStatus::Negative
    } else {
        ExitStatus::Success
    };
    if plan.quiet {
        return Ok(exit);
    }
    if plan.list || plan.count {
        let mut out = anstream::stdout().lock();
        write_counts(&mut out, &report, plan.count)?;
        out.flush()?;
        return Ok(exit);
    }

    report.suggestions = suggestions(&report, suggest, |lines| {
        SearchIndex::build(&kb)?.related(lines, SUGGESTIONS)
    })?;
    if !plan.unexplained {
        report.unexplained = None;
    }
    let names: Vec<String> = if name_evidence {
        sources.iter().map(|s| s.name().to_string()).collect()
    } else {
        Vec::new()
    };
    let output = MatchOutput {
        report: &report,
        show_files: sources.len() > 1,
        inputs: &names,
        summary: plan.summary.as_deref(),
    };
    let printer = plan.format.printer();
    // Everything printed passes through one filter: no line can command a runner.
    let mut out = arm_kb::neutralize::Stdout::new(printer.mode());
    printer.write(&mut out, &output)?;
    printer.finish(&mut out, &output)?;
    out.finish()?;
    Ok(exit)
}

/// Whether `a` and `b` name one file (the same inode, through any link); false when
/// either does not exist.
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok()
    }
}

/// `-l` (the sources with a finding, one per line) or `-c` (`NAME:COUNT` per source, or
/// the count alone for a single source), as grep prints them.
fn write_counts(w: &mut dyn Write, report: &Report, count: bool) -> io::Result<()> {
    if count && report.sources.len() == 1 {
        return writeln!(w, "{}", report.sources[0].findings);
    }
    for source in &report.sources {
        if count {
            writeln!(w, "{}:{}", source.name, source.findings)?;
        } else if source.findings > 0 {
            writeln!(w, "{}", source.name)?;
        }
    }
    Ok(())
}

/// A progress bar only for a person watching a terminal: never in a pipe or a CI log.
pub(super) fn progress_wanted() -> bool {
    io::stderr().is_terminal()
        && !CI_VARIABLES
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|value| !value.is_empty()))
}

fn progress_bar(progress: &MultiProgress, len: u64, name: &str) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .expect("valid progress template")
    .progress_chars("=> ");
    progress.add(
        ProgressBar::new(len)
            .with_style(style)
            .with_message(name.to_owned()),
    )
}

/// Prints a scan failure; returns true (the run has failed) or an error for broken rules.
fn report_scan_error(name: &str, e: &ScanError) -> Result<bool, CommandError> {
    match e {
        ScanError::Io(e) => {
            writeln!(anstream::stderr(), "arm-kb: {name}: {e}")?;
            Ok(true)
        }
        ScanError::Rule(d) => {
            print_diagnostics(&[(**d).clone()], DiagnosticSeverity::Error)?;
            Err(CommandError::KnowledgeBase)
        }
    }
}

/// Scans one source, behind a progress bar when it is a large file and bars are wanted.
fn scan_source(
    scanner: &mut Scanner<'_, '_>,
    source: &Source,
    set: &mut FindingSet,
    progress: Option<&MultiProgress>,
) -> Result<(), ScanError> {
    let len = source.file_len().unwrap_or(0);
    source.read_with(|reader| match progress {
        Some(progress) if len >= PROGRESS_MIN_BYTES => {
            let bar = progress_bar(progress, len, source.name());
            let result = scanner.scan(bar.wrap_read(reader), set);
            bar.finish_and_clear();
            result
        }
        _ => scanner.scan(reader, set),
    })?
}

/// A pipe holds 64 KiB by default, so the writer and arm-kb take turns every 64 KiB. With
/// 1 MiB the reads are larger and the turns fewer: `cat 1 GiB | arm-kb match` went from
/// 0.69 to 0.37 s with 20 rules, from 1.39 to 1.30 s with the built-in ones. Not a pipe,
/// or not allowed: nothing changes.
fn widen_stdin_pipe() {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsFd;
        let _ = rustix::pipe::fcntl_setpipe_size(io::stdin().as_fd(), STDIN_PIPE_BYTES);
    }
}

/// Scans sources in parallel, one source per worker (`threads` workers, default one per
/// CPU), or one source with all the threads; each source's findings (what was read
/// before an error too) and its error, in input order.
fn scan_sources(
    engine: &Engine<'_>,
    sources: &[Source],
    options: ScanOptions,
    threads: Option<usize>,
    progress: Option<&MultiProgress>,
    name_evidence: bool,
) -> Vec<(FindingSet, Option<ScanError>)> {
    // The CPU count is read once (it reads cgroup files), for both uses.
    let threads = threads.unwrap_or_else(workers::cores);
    let options = ScanOptions {
        threads: match sources {
            [_] => threads,
            _ => 1,
        },
        ..options
    };
    workers::map_in_order(
        sources,
        Some(threads),
        || engine.scanner(options),
        |scanner, source| {
            let name = name_evidence.then(|| Arc::clone(source.name()));
            let mut set = FindingSet::new(name);
            let error = scan_source(scanner, source, &mut set, progress).err();
            (set, error)
        },
    )
}

/// The "possibly related" articles of a report: `None` when they were not asked for, none
/// when the report has a finding or no error line, else the search hits for its error
/// lines (`related` runs the search, so the index is built only when it is needed). One
/// rule for `match --suggest` and the server.
pub(super) fn suggestions<E>(
    report: &Report,
    suggest: bool,
    related: impl FnOnce(&[String]) -> Result<Vec<SearchHit>, E>,
) -> Result<Option<Vec<RelatedArticle>>, E> {
    if !suggest {
        return Ok(None);
    }
    if !report.findings.is_empty() || report.error_lines().is_empty() {
        return Ok(Some(Vec::new()));
    }
    let lines: Vec<String> = report
        .error_lines()
        .iter()
        .map(|e| e.text.clone())
        .collect();
    Ok(Some(
        related(&lines)?
            .into_iter()
            .map(|h| RelatedArticle {
                article: h.article,
                score: f64::from(h.score),
                title: h.title,
            })
            .collect(),
    ))
}
