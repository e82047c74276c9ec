use std::io::Write;

use super::{CommandError, EXIT_ERROR, EXIT_OK, load_kb};
use crate::cli::{GlobalArgs, ShowArgs, ShowFormat};
use crate::render::article::write_article;

pub fn run(global: &GlobalArgs, args: &ShowArgs) -> Result<u8, CommandError> {
    let kb = load_kb(global)?;
    let Some(article) = kb.article(&args.id) else {
        let near = kb.similar_ids(&args.id);
        let mut msg = format!("arm-kb: no article `{}`", args.id);
        if !near.is_empty() {
            msg.push_str(&format!(
                "; did you mean {}?",
                near.iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        writeln!(
            anstream::stderr(),
            "{msg}\n(`arm-kb list` shows every article)"
        )?;
        return Ok(EXIT_ERROR);
    };
    let mut out = anstream::stdout().lock();
    match args.format {
        ShowFormat::Markdown => out.write_all(article.source.text.as_bytes())?,
        ShowFormat::Text => write_article(&mut out, article)?,
    }
    out.flush()?;
    Ok(EXIT_OK)
}
