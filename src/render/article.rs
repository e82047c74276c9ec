//! `arm-kb show`: an article rendered for a terminal (plain text when not one).

use std::io::{self, Write};

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};

use super::style;
use crate::kb::Article;
use crate::placeholder;

pub fn write_article(w: &mut dyn Write, a: &Article) -> io::Result<()> {
    let (t, d, id) = (style::TITLE, style::DIM, style::ID);
    writeln!(w, "{t}{}{t:#}  {id}[{}]{id:#}", a.title, a.id)?;
    if let Some(summary) = &a.summary {
        writeln!(w, "{}", summary.trim())?;
    }
    let mut meta = Vec::new();
    if !a.error_codes.is_empty() {
        meta.push(format!("codes: {}", a.error_codes.join(", ")));
    }
    if !a.tags.is_empty() {
        meta.push(format!("tags: {}", a.tags.join(", ")));
    }
    if !meta.is_empty() {
        writeln!(w, "{d}{}{d:#}", meta.join("  ·  "))?;
    }
    let body = placeholder::fill(a.body(), None);
    render_markdown(w, &body)
}

/// A small terminal renderer: headings, lists with their numbers, code in colour.
fn render_markdown(w: &mut dyn Write, md: &str) -> io::Result<()> {
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut line = String::new();
    let mut in_code_block = false;
    let mut link: Option<(String, usize)> = None;
    let indent = |lists: &Vec<Option<u64>>| "   ".repeat(lists.len().saturating_sub(1));
    let flush = |w: &mut dyn Write, line: &mut String| -> io::Result<()> {
        if !line.trim().is_empty() {
            writeln!(w, "{}", line.trim_end())?;
        }
        line.clear();
        Ok(())
    };
    for event in Parser::new(md) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(w, &mut line)?;
                writeln!(w)?;
                let s = if level <= HeadingLevel::H2 {
                    style::HEADING
                } else {
                    style::TITLE
                };
                line.push_str(&format!("{s}"));
            }
            Event::End(TagEnd::Heading(_)) => {
                line.push_str(&format!("{:#}", style::HEADING));
                flush(w, &mut line)?;
            }
            Event::Start(Tag::Paragraph) if lists.is_empty() => flush(w, &mut line)?,
            Event::End(TagEnd::Paragraph) => {
                flush(w, &mut line)?;
                if lists.is_empty() {
                    writeln!(w)?;
                }
            }
            Event::Start(Tag::List(start)) => {
                flush(w, &mut line)?;
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                flush(w, &mut line)?;
                lists.pop();
                if lists.is_empty() {
                    writeln!(w)?;
                }
            }
            Event::Start(Tag::Item) => {
                flush(w, &mut line)?;
                let prefix = match lists.last_mut() {
                    Some(Some(n)) => {
                        let p = format!("{n:>2}. ");
                        *n += 1;
                        p
                    }
                    _ => " - ".to_owned(),
                };
                line.push_str(&indent(&lists));
                line.push_str(&prefix);
            }
            Event::End(TagEnd::Item) => flush(w, &mut line)?,
            Event::Start(Tag::CodeBlock(_)) => {
                flush(w, &mut line)?;
                in_code_block = true;
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                if lists.is_empty() {
                    writeln!(w)?;
                }
            }
            Event::Start(Tag::Strong) => line.push_str(&format!("{}", style::TITLE)),
            Event::End(TagEnd::Strong) => line.push_str(&format!("{:#}", style::TITLE)),
            Event::Start(Tag::Link { dest_url, .. }) => {
                line.push_str(&format!("{}", style::ID));
                link = Some((dest_url.into_string(), line.len()));
            }
            Event::End(TagEnd::Link) => {
                line.push_str(&format!("{:#}", style::ID));
                // A terminal cannot follow a hidden link: show its target unless the
                // text already is the target.
                if let Some((url, start)) = link.take() {
                    if !line[start..].contains(url.as_str()) {
                        line.push_str(&format!(" <{url}>"));
                    }
                }
            }
            Event::Text(text) if in_code_block => {
                let pad = "   ".repeat(lists.len()) + "    ";
                for l in text.lines() {
                    writeln!(w, "{pad}{}{l}{:#}", style::CODE, style::CODE)?;
                }
            }
            Event::Text(text) => line.push_str(&text),
            // A placeholder left unfilled reads `<scope>`, which Markdown takes for an HTML
            // tag: a terminal shows it as written (HTML comments stay hidden).
            Event::InlineHtml(html) if !html.starts_with("<!--") => line.push_str(&html),
            Event::Html(html) if !html.trim_start().starts_with("<!--") => {
                line.push_str(html.trim_end_matches('\n'));
                line.push(' ');
            }
            Event::Code(code) => line.push_str(&format!("{}{code}{:#}", style::CODE, style::CODE)),
            Event::SoftBreak | Event::HardBreak => line.push(' '),
            Event::Rule => {
                flush(w, &mut line)?;
                writeln!(w, "{}", "─".repeat(40))?;
            }
            _ => {}
        }
    }
    flush(w, &mut line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfilled_placeholders_that_look_like_tags_are_kept() {
        let mut out = Vec::new();
        render_markdown(
            &mut out,
            &placeholder::fill("1. Ask an Owner of {scope} (subscription {host}).\n", None),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("of <scope> (subscription <host>)"), "{text}");
    }
}
