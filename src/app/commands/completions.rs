//! `arm-kb completions SHELL` and `arm-kb man`: generated from the clap definition in
//! [`crate::app::args`], so they never drift from the real flags.
//!
//! The scripts complete article ids after `show` and rule ids after `explain` and
//! `test` by calling the hidden `arm-kb __complete articles|rules`, which lists the ids
//! of the knowledge base the user's settings select.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{CommandError, ExitStatus, GlobalArgs, load_kb};
use crate::app::args::{Cli, CompleteArgs, CompleteWhat, CompletionsArgs, ManArgs};

pub fn run_completions(args: &CompletionsArgs) -> Result<ExitStatus, CommandError> {
    let mut out = std::io::stdout().lock();
    out.write_all(script(args.shell).as_bytes())?;
    out.flush()?;
    Ok(ExitStatus::Success)
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut buf);
    let script = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        Shell::Bash => bash(script),
        Shell::Fish => fish(script),
        Shell::Zsh => zsh(script),
        _ => script,
    }
}

/// Bash: the generator names the subcommand functions of a hyphenated program
/// inconsistently (`arm__kb__subcmd__match` is dispatched, `arm__subcmd__kb__subcmd__match`
/// is defined): align them, then complete ids from the knowledge base.
fn bash(script: String) -> String {
    let mut script = script.replace("arm__subcmd__kb__subcmd__", "arm__kb__subcmd__");
    for (sub, what) in [
        ("show", "articles"),
        ("explain", "rules"),
        ("test", "rules"),
    ] {
        let arm = format!("        arm__kb__subcmd__{sub})\n");
        let ids = format!(
            "{arm}            if [[ ${{cur}} != -* ]] && ! [[ ${{prev}} == --* && ${{prev}} != --no-* ]]; then\n                \
             COMPREPLY=( $(compgen -W \"$(_arm_kb_ids {what})\" -- \"${{cur}}\") )\n                \
             [[ ${{#COMPREPLY[@]}} -gt 0 ]] && return 0\n            fi\n"
        );
        script = script.replacen(&arm, &ids, 1);
    }
    format!("{BASH_IDS}\n{script}")
}

/// Lists ids with the `--kb` and `--no-builtin` flags already on the command line.
const BASH_IDS: &str = r#"_arm_kb_ids() {
    local i flags=()
    for (( i = 1; i < COMP_CWORD; i++ )); do
        case "${COMP_WORDS[i]}" in
            --kb) flags+=(--kb "${COMP_WORDS[i+1]}") ;;
            --kb=*|--no-builtin|--no-config) flags+=("${COMP_WORDS[i]}") ;;
        esac
    done
    "${COMP_WORDS[0]}" "${flags[@]}" __complete "$1" 2>/dev/null
}
"#;

fn fish(script: String) -> String {
    format!(
        "{script}complete -c arm-kb -n \"__fish_seen_subcommand_from show\" -f -a \"(arm-kb __complete articles 2>/dev/null)\"\n\
         complete -c arm-kb -n \"__fish_seen_subcommand_from explain test\" -f -a \"(arm-kb __complete rules 2>/dev/null)\"\n"
    )
}

fn zsh(script: String) -> String {
    let ids = |what: &str| {
        format!(":{{compadd -- ${{(f)\"$(arm-kb __complete {what} 2>/dev/null)\"}}}}'")
    };
    script
        .lines()
        .map(|line| {
            let what = if line.starts_with("':id -- The article id (see") {
                "articles"
            } else if line.starts_with("'*::rules -- ") || line.starts_with("':rule -- ") {
                "rules"
            } else {
                return format!("{line}\n");
            };
            match line.rsplit_once(":_default'") {
                Some((head, tail)) => format!("{head}{}{tail}\n", ids(what)),
                None => format!("{line}\n"),
            }
        })
        .collect()
}

/// `arm-kb __complete articles|rules`: one id per line.
pub fn run_complete(global: &GlobalArgs, args: &CompleteArgs) -> Result<ExitStatus, CommandError> {
    let kb = load_kb(global)?;
    let mut out = std::io::stdout().lock();
    match args.what {
        CompleteWhat::Articles => {
            for id in kb.articles.keys() {
                writeln!(out, "{id}")?;
            }
        }
        CompleteWhat::Rules => {
            for rule in &kb.rules {
                writeln!(out, "{}", rule.id)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitStatus::Success)
}

/// The man pages: `arm-kb(1)` and one `arm-kb-<subcommand>(1)` per subcommand.
fn pages() -> Vec<(String, Vec<u8>)> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    collect(&command, &mut pages);
    pages
}

fn collect(command: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
    let man = clap_mangen::Man::new(command.clone());
    let mut roff = Vec::new();
    man.render(&mut roff).expect("writing to memory");
    let top = command.get_name() == "arm-kb";
    roff.extend_from_slice(if top { MAIN_EXTRA } else { SUB_EXTRA }.as_bytes());
    pages.push((man.get_filename(), roff));
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, pages);
    }
}

/// Sections of `arm-kb(1)` that clap does not know about.
const MAIN_EXTRA: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
a finding (match), a hit (search), the rule fires (explain); success for the other commands
.TP
\fB1\fR
no finding, no hit, the rule does not fire; problems found (check) or examples failed (test)
.TP
\fB2\fR
an error: unreadable input, a broken knowledge base, an unknown id, bad usage
.SH ENVIRONMENT
.TP
\fBARM_KB_PATH\fR
knowledge roots to load before those of \fB\-\-kb\fR, separated by \fB:\fR
.TP
\fBARM_KB_CONFIG\fR
the configuration file to read instead of looking for \fB.arm\-kb.toml\fR
.TP
\fBNO_COLOR\fR
no colour on \fB\-\-color auto\fR
.TP
\fBCOLUMNS\fR
the width to lay text out for when the terminal does not say
.SH FILES
.TP
\fB.arm\-kb.toml\fR
in the current folder or the nearest parent: \fBroots\fR, and defaults for \fBformat\fR, \fBcolor\fR and \fBno_builtin\fR
.SH EXAMPLES
.TP
\fBarm\-kb match build.log\fR
classify a log
.TP
\fBaz pipelines runs show ... | arm\-kb match \-\-format json\fR
read standard input, print JSON
.TP
\fBarm\-kb check \-\-kb team\-kb \-\-format sarif > check.sarif\fR
check a team's knowledge root for code scanning
.TP
\fBarm\-kb test \-\-root team\-kb \-\-format junit > test.xml\fR
run a root's rule examples as test results
.SH "SEE ALSO"
\fBarm\-kb\-match\fR(1), \fBarm\-kb\-check\fR(1), \fBarm\-kb\-test\fR(1), \fBarm\-kb\-new\fR(1)
"#;

const SUB_EXTRA: &str = r#".SH "SEE ALSO"
\fBarm\-kb\fR(1)
"#;

pub fn run_man(args: &ManArgs) -> Result<ExitStatus, CommandError> {
    let pages = pages();
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| CommandError::File {
                path: dir.clone(),
                source,
            })?;
            for (name, roff) in &pages {
                write_page(&dir.join(name), roff)?;
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            for (_, roff) in &pages {
                out.write_all(roff)?;
            }
            out.flush()?;
        }
    }
    Ok(ExitStatus::Success)
}

fn write_page(path: &Path, roff: &[u8]) -> Result<(), CommandError> {
    std::fs::write(path, roff).map_err(|source| CommandError::File {
        path: path.to_owned(),
        source,
    })
}
