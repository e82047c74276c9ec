use std::io::Write;

use super::{CommandError, ExitStatus, UnknownId, load_kb};
use crate::app::args::{GlobalArgs, ShowArgs, ShowFormat};
use arm_kb::render::article::write_article;

pub fn run(global: &GlobalArgs, args: &ShowArgs) -> Result<ExitStatus, CommandError> {
    let kb = load_kb(global)?;
    let Some(article) = kb.article(&args.id) else {
        return Err(CommandError::UnknownArticle {
            unknown: UnknownId {
                suggestion: kb.similar_ids(&args.id),
                id: args.id.clone(),
            },
            hint: "`arm-kb list` shows every article".to_owned(),
        });
    };
    let mut out = arm_kb::neutralize::Stdout::new(arm_kb::neutralize::Mode::Text);
    match args.format {
        ShowFormat::Markdown => out.write_all(article.source.text.as_bytes())?,
        ShowFormat::Text => write_article(&mut out, article)?,
    }
    out.finish()?;
    Ok(ExitStatus::Success)
}
