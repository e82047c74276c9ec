//! `arm-kb new article|rule`: scaffold files in a knowledge root.

use std::io::Write;
use std::path::Path;

use super::{CommandError, ExitStatus, UnknownId, root_selection};
use crate::app::args::{GlobalArgs, NewArticleArgs, NewCommand, NewRuleArgs};
use arm_kb::authoring::scaffold::{LogLine, RuleRequest, new_article, new_rule};
use arm_kb::kb::KnowledgeBase;

pub fn run(global: &GlobalArgs, command: &NewCommand) -> Result<ExitStatus, CommandError> {
    // The last --kb is the root written to: it is also the one that overrides the others.
    let Some(root) = global.kb.last().cloned() else {
        return Err(CommandError::Usage(
            "`arm-kb new` writes into a knowledge root: name it with --kb ROOT".to_owned(),
        ));
    };
    match command {
        NewCommand::Article(args) => article(global, &root, args),
        NewCommand::Rule(args) => rule(global, &root, args),
    }
}

fn article(
    global: &GlobalArgs,
    root: &Path,
    args: &NewArticleArgs,
) -> Result<ExitStatus, CommandError> {
    // An id another root already has would replace that article everywhere: only on
    // purpose.
    if !args.r#override {
        let loaded = KnowledgeBase::load(&root_selection(global)?);
        let existing = loaded
            .kb
            .article(&args.id)
            .filter(|a| !Path::new(&a.source.name).starts_with(root));
        if let Some(existing) = existing {
            return Err(CommandError::Usage(format!(
                "article `{}` already exists at {}: a new one in {} would replace it\n(pass --override to write a replacement on purpose, or choose another id)",
                args.id,
                existing.source.name,
                root.display()
            )));
        }
    }
    match new_article(root, &args.id) {
        Ok(path) => {
            writeln!(
                anstream::stdout(),
                "created {}\nnext: replace every `TODO:` text, add a rule with `arm-kb new rule ID --article {} --kb {}`, then run `arm-kb check --kb {}`",
                path.display(),
                args.id,
                root.display(),
                root.display()
            )?;
            Ok(ExitStatus::Success)
        }
        Err(e) => {
            writeln!(anstream::stderr(), "arm-kb: {e}")?;
            Ok(ExitStatus::Error)
        }
    }
}

fn rule(global: &GlobalArgs, root: &Path, args: &NewRuleArgs) -> Result<ExitStatus, CommandError> {
    // The article may live in any loaded root (a team rule can point at a built-in
    // article); problems elsewhere in the roots are for `check` to report.
    let loaded = KnowledgeBase::load(&root_selection(global)?);
    let in_root = root
        .join("kb")
        .join(format!("{}.md", args.article))
        .is_file();
    if !in_root && loaded.kb.article(&args.article).is_none() {
        return Err(CommandError::UnknownArticle {
            unknown: UnknownId {
                suggestion: loaded.kb.similar_ids(&args.article),
                id: args.article.clone(),
            },
            hint: format!(
                "create it first with `arm-kb new article {} --kb {}`",
                args.article,
                root.display()
            ),
        });
    }
    let from_log = match (&args.from_log, args.line) {
        (Some(file), Some(line)) => match LogLine::read(file, line) {
            Ok(l) => Some(l),
            Err(e) => {
                writeln!(anstream::stderr(), "arm-kb: {e}")?;
                return Ok(ExitStatus::Error);
            }
        },
        _ => None,
    };
    let req = RuleRequest {
        id: &args.id,
        article: &args.article,
        from_log,
    };
    match new_rule(root, &req, args.file.as_deref()) {
        Ok(path) => {
            let mut out = anstream::stdout().lock();
            writeln!(out, "added rule `{}` to {}", args.id, path.display())?;
            if let Some(old) = loaded.kb.rules.iter().find(|r| r.id.as_str() == args.id) {
                writeln!(
                    out,
                    "note: it overrides the rule of the same id at {}",
                    old.span.location()
                )?;
            }
            writeln!(
                out,
                "next: edit it, then run `arm-kb test --kb {root} {id}` and `arm-kb check --kb {root}`",
                root = root.display(),
                id = args.id
            )?;
            Ok(ExitStatus::Success)
        }
        Err(e) => {
            writeln!(anstream::stderr(), "arm-kb: {e}")?;
            Ok(ExitStatus::Error)
        }
    }
}
