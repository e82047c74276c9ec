//! Articles: `kb/<id>.md`, TOML front matter between `+++` lines, then Markdown sections.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

use crate::diagnostics::{Diagnostic, Suggestion, unknown_field_name};
use crate::ids::ArticleId;
use crate::source::{SharedSource, SourceSpan};

/// The sections an article must have, in the order they are written.
pub const REQUIRED_SECTIONS: [&str; 3] = ["Symptoms", "Cause", "Fix"];
/// The sections an article may have besides the required ones.
pub const OPTIONAL_SECTIONS: [&str; 2] = ["Prevention", "References"];
const FRONT_MATTER_FIELDS: [&str; 5] = ["title", "tags", "error_codes", "summary", "questions"];
/// Bounds on one entry of `questions`, in characters: a real question, not a word or a page.
pub const QUESTION_MIN_CHARS: usize = 8;
pub const QUESTION_MAX_CHARS: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    error_codes: Vec<String>,
    summary: Option<String>,
    #[serde(default)]
    questions: Vec<toml::Spanned<String>>,
}

/// A parsed article. Sections are kept apart for rendering and indexing; their text is
/// plain (Markdown markup removed, inline code kept in backticks).
#[derive(Debug, Deserialize, Serialize)]
pub struct Article {
    pub id: ArticleId,
    pub title: String,
    pub tags: Vec<String>,
    pub error_codes: Vec<String>,
    pub summary: Option<String>,
    /// How people ask about the problem (front matter `questions`), searched with a high
    /// weight.
    pub questions: Vec<String>,
    pub symptoms: String,
    pub cause: String,
    /// One entry per numbered step of `## Fix`.
    pub fix: Vec<String>,
    /// The prose of `## Fix` before its numbered steps (all of it when there are none; a
    /// bullet list stays prose).
    pub fix_before: Option<String>,
    /// The prose of `## Fix` after its numbered steps.
    pub fix_after: Option<String>,
    pub prevention: Option<String>,
    pub references: Option<String>,
    #[serde(with = "crate::source::by_name")]
    pub source: SharedSource,
    /// Byte offset of the Markdown body (after the front matter).
    pub body_start: usize,
}

impl Article {
    /// The Markdown body, without front matter.
    pub fn body(&self) -> &str {
        &self.source.text[self.body_start..]
    }
}

/// Text that a terminal or a pipeline runner would act on. A hidden character (control,
/// bidi, zero-width; `crate::text::is_hidden`) anywhere in the file, or decoded from a
/// TOML escape in the title or summary, is an error at its position. A line of the Fix
/// section that would start a runner command (`##vso[`, `##[`, `::`) is a warning: it is
/// printed inert, so it would not read as the author meant.
fn untrusted_text(
    source: &SharedSource,
    fm_range: std::ops::Range<usize>,
    front: Option<&FrontMatter>,
    body_start: usize,
    diags: &mut Vec<Diagnostic>,
) {
    let text = &*source.text;
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r');
    for (at, c) in text.char_indices() {
        if crate::text::is_hidden(c) && !allowed(c) && !(c == '\u{FEFF}' && at == 0) {
            diags.push(
                Diagnostic::error(
                    "bad-character",
                    format!("the article holds the hidden character U+{:04X}", u32::from(c)),
                )
                .at(SourceSpan::new(source, at..at + c.len_utf8()))
                .hint("control, bidi and zero-width characters could act on a terminal or a pipeline runner: remove it"),
            );
        }
    }
    if let Some(front) = front {
        let fields = [
            ("title", Some(&front.title)),
            ("summary", front.summary.as_ref()),
        ];
        for (field, value) in fields {
            let Some(c) = value.and_then(|v| v.chars().find(|&c| crate::text::is_hidden(c))) else {
                continue;
            };
            let at = text[fm_range.clone()]
                .find(field)
                .map_or(fm_range.start, |i| fm_range.start + i);
            diags.push(
                Diagnostic::error(
                    "bad-character",
                    format!(
                        "`{field}` holds the hidden character U+{:04X} (from an escape)",
                        u32::from(c)
                    ),
                )
                .at(SourceSpan::new(source, at..at + field.len()))
                .hint("a title or summary is one line of plain text: remove the escape"),
            );
        }
    }
    let body = &text[body_start..];
    let mut in_fix = false;
    let mut offset = body_start;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim();
        if let Some(heading) = trimmed.strip_prefix("## ") {
            in_fix = heading.trim().eq_ignore_ascii_case("fix");
        } else if in_fix {
            let code = trimmed.trim_start_matches(|c: char| {
                c == '`'
                    || c == '-'
                    || c == '*'
                    || c == '>'
                    || c.is_ascii_digit()
                    || c == '.'
                    || c.is_whitespace()
            });
            let lower = code.to_ascii_lowercase();
            if lower.starts_with("##vso[") || lower.starts_with("##[") || lower.starts_with("::") {
                let at = offset + (line.len() - line.trim_start().len());
                diags.push(
                    Diagnostic::warning(
                        "runner-command",
                        "a fix line starts a pipeline runner command; it is printed inert (`##vso［`, `：:`)",
                    )
                    .at(SourceSpan::new(source, at..at + trimmed.len()))
                    .hint("a fix step should say what to run, not be a logging command: quote it in a sentence"),
                );
            }
        }
        offset += line.len();
    }
}

/// Parses one article; problems go to `diags` (an article with errors is still returned
/// when it has a title, so that rules pointing at it do not cascade into more errors).
pub fn parse_article(
    id: ArticleId,
    source: &SharedSource,
    diags: &mut Vec<Diagnostic>,
) -> Option<Article> {
    let text = &*source.text;
    let Some((fm_range, body_start)) = split_front_matter(text) else {
        diags.push(
            Diagnostic::error("missing-front-matter", "article has no front matter")
                .at(SourceSpan::new(source, 0..0))
                .hint(
                    "start the file with a `+++` line, `title = \"...\"`, and a closing `+++` line",
                ),
        );
        return None;
    };
    let front: Option<FrontMatter> = match toml::from_str(&text[fm_range.clone()]) {
        Ok(front) => Some(front),
        Err(err) => {
            let span = err.span().map_or(fm_range.start..fm_range.start, |s| {
                fm_range.start + s.start..fm_range.start + s.end
            });
            let mut d = Diagnostic::error(
                "front-matter",
                format!("front matter: {}", err.message().trim()),
            )
            .at(SourceSpan::new(source, span));
            if let Some(field) = unknown_field_name(err.message()) {
                d.code = "unknown-field";
                let hint = match Suggestion::nearest(field, FRONT_MATTER_FIELDS).first() {
                    Some(near) => format!(
                        "did you mean `{near}`? known fields: {}",
                        FRONT_MATTER_FIELDS.join(", ")
                    ),
                    None => format!("known fields: {}", FRONT_MATTER_FIELDS.join(", ")),
                };
                d = d.hint(hint);
            } else if err.message().contains("missing field `title`") {
                d.code = "missing-title";
                d = d.hint("add `title = \"...\"`: the title users see in findings and search");
            }
            diags.push(d);
            // Keep going: the body's problems are reported in the same run.
            None
        }
    };
    if front.as_ref().is_some_and(|f| f.title.trim().is_empty()) {
        diags.push(
            Diagnostic::error("missing-title", "article title is empty")
                .at(SourceSpan::new(source, fm_range.clone())),
        );
    }
    untrusted_text(source, fm_range.clone(), front.as_ref(), body_start, diags);
    let sections = Sections::parse(&text[body_start..]);
    let heading_span = |range: &std::ops::Range<usize>| {
        let start = body_start + range.start;
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        SourceSpan::new(
            source,
            start..line_end.min(body_start + range.end).max(start),
        )
    };
    let known: Vec<&str> = sections
        .found
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    for (k, name) in REQUIRED_SECTIONS.iter().enumerate() {
        if known.contains(name) {
            continue;
        }
        // A near miss (`## Causes`) is where the section is; otherwise it belongs before
        // the next required section there is, or at the end of the file.
        let near_miss = sections.found.iter().find(|(heading, _)| {
            !REQUIRED_SECTIONS.contains(&heading.as_str())
                && !OPTIONAL_SECTIONS.contains(&heading.as_str())
                && Suggestion::nearest(heading, [*name]).first().is_some()
        });
        let next = REQUIRED_SECTIONS[k + 1..]
            .iter()
            .find_map(|later| sections.found.iter().find(|(h, _)| h == later));
        let d = Diagnostic::error(
            "missing-section",
            format!("article has no `## {name}` section"),
        );
        let d = match (near_miss, next) {
            (Some((heading, range)), _) => d
                .at(heading_span(range))
                .label(format!("did you mean `## {name}`?"))
                .hint(format!(
                    "rename `## {heading}` to `## {name}`: every article needs `## Symptoms`, `## Cause` and `## Fix`"
                )),
            (None, Some((later, range))) => d
                .at(heading_span(range))
                .label(format!("`## {name}` goes before `## {later}`")),
            (None, None) => d
                .at(SourceSpan::new(source, text.len()..text.len()))
                .label(format!("add `## {name}` here")),
        };
        let d = if d.hint.is_none() {
            d.hint("every article needs `## Symptoms`, `## Cause` and `## Fix` (numbered steps)")
        } else {
            d
        };
        diags.push(d);
    }
    let fix_heading = sections.found.iter().find(|(h, _)| h == "Fix");
    if let Some((_, range)) = fix_heading.filter(|_| sections.fix.is_empty()) {
        diags.push(
            Diagnostic::warning("fix-without-steps", "`## Fix` has no numbered steps")
                .at(heading_span(range))
                .hint("write the steps as a numbered list (`1. ...`); `match` shows the rest of the section as prose"),
        );
    }
    let front = front?;
    let questions = check_questions(&front.questions, fm_range.start, source, diags);
    Some(Article {
        id,
        title: front.title.trim().to_owned(),
        tags: front.tags,
        error_codes: front.error_codes,
        summary: front.summary,
        questions,
        symptoms: sections.symptoms,
        cause: sections.cause,
        fix: sections.fix,
        fix_before: sections.fix_before,
        fix_after: sections.fix_after,
        prevention: sections.prevention,
        references: sections.references,
        source: SharedSource::clone(source),
        body_start,
    })
}

/// Validates `questions`: each a non-empty line of sane length without control characters,
/// none twice (compared without case and extra spaces). Returns the usable ones, trimmed.
fn check_questions(
    questions: &[toml::Spanned<String>],
    fm_start: usize,
    source: &SharedSource,
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let mut seen: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let mut out = Vec::new();
    for q in questions {
        let span = fm_start + q.span().start..fm_start + q.span().end;
        let at = || SourceSpan::new(source, span.clone());
        let text = q.get_ref().trim();
        let chars = text.chars().count();
        let problem = if text.is_empty() {
            Some(("empty-question", "question is empty".to_owned()))
        } else if text.chars().any(char::is_control) {
            Some((
                "question-control-character",
                "question holds a control character (a line break, tab or escape)".to_owned(),
            ))
        } else if chars < QUESTION_MIN_CHARS {
            Some((
                "question-length",
                format!("question is {chars} characters long, fewer than {QUESTION_MIN_CHARS}"),
            ))
        } else if chars > QUESTION_MAX_CHARS {
            Some((
                "question-length",
                format!("question is {chars} characters long, more than {QUESTION_MAX_CHARS}"),
            ))
        } else {
            None
        };
        if let Some((code, message)) = problem {
            diags.push(
                Diagnostic::error(code, message)
                    .at(at())
                    .hint("write each question as one line, the way people ask it"),
            );
            continue;
        }
        let key = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            diags.push(
                Diagnostic::error("duplicate-question", "question is listed twice")
                    .at(at())
                    .hint(format!(
                        "first listed at {}",
                        SourceSpan::new(source, first.clone()).location()
                    )),
            );
            continue;
        }
        seen.push((key, span.clone()));
        out.push(text.to_owned());
    }
    out
}

/// Returns the byte range of the front matter's TOML and the offset of the body.
fn split_front_matter(text: &str) -> Option<(std::ops::Range<usize>, usize)> {
    let text_start = text.strip_prefix('\u{feff}').map_or(0, |_| 3);
    let rest = &text[text_start..];
    let first_end = rest.find('\n')?;
    if rest[..first_end].trim_end() != "+++" {
        return None;
    }
    let fm_start = text_start + first_end + 1;
    let mut pos = fm_start;
    for line in text[fm_start..].split_inclusive('\n') {
        if line.trim_end() == "+++" {
            return Some((fm_start..pos, pos + line.len()));
        }
        pos += line.len();
    }
    None
}

#[derive(Default)]
struct Sections {
    /// Every `##` heading and its range in the body.
    found: Vec<(String, std::ops::Range<usize>)>,
    symptoms: String,
    cause: String,
    fix: Vec<String>,
    fix_before: Option<String>,
    fix_after: Option<String>,
    prevention: Option<String>,
    references: Option<String>,
}

impl Sections {
    fn parse(body: &str) -> Sections {
        let mut sections = Sections::default();
        let mut current: Option<String> = None;
        let mut text = String::new();
        let mut in_heading = false;
        let mut heading = String::new();
        // Fix steps: items of the first ordered list directly under `## Fix`.
        let mut list_depth = 0usize;
        // Whether the list at depth 1 is the list of fix steps.
        let mut steps_list = false;
        let mut fix_list_done = false;
        let mut step: Option<String> = None;
        let mut in_code_block = false;

        let flush = |sections: &mut Sections, name: &Option<String>, text: &mut String| {
            let body = std::mem::take(text).trim().to_owned();
            let prose = (!body.is_empty()).then(|| body.clone());
            match name.as_deref() {
                // Prose after the steps; all of it when the section has no steps.
                Some("Fix") if sections.fix.is_empty() => sections.fix_before = prose,
                Some("Fix") => sections.fix_after = prose,
                Some("Symptoms") => sections.symptoms = body,
                Some("Cause") => sections.cause = body,
                Some("Prevention") => sections.prevention = Some(body),
                Some("References") => sections.references = Some(body),
                _ => {}
            }
        };

        for (event, range) in Parser::new(body).into_offset_iter() {
            match event {
                Event::Start(Tag::Heading {
                    level: HeadingLevel::H2,
                    ..
                }) => {
                    flush(&mut sections, &current, &mut text);
                    in_heading = true;
                    heading.clear();
                }
                Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                    in_heading = false;
                    let name = heading.trim().to_owned();
                    sections.found.push((name.clone(), range));
                    current = Some(name);
                }
                Event::Text(t) | Event::Code(t) if in_heading => heading.push_str(&t),
                Event::Start(Tag::List(first)) => {
                    list_depth += 1;
                    if list_depth > 1 {
                        push_text(&mut text, &mut step, "\n");
                    } else if first.is_some() && current.as_deref() == Some("Fix") && !fix_list_done
                    {
                        // The steps begin: what came before is the fix's introduction.
                        steps_list = true;
                        let before = std::mem::take(&mut text).trim().to_owned();
                        sections.fix_before = (!before.is_empty()).then_some(before);
                    }
                }
                Event::End(TagEnd::List(_)) => {
                    list_depth -= 1;
                    if list_depth == 0 && steps_list {
                        steps_list = false;
                        fix_list_done = true;
                    }
                }
                Event::Start(Tag::Item) => {
                    if list_depth == 1 && steps_list {
                        step = Some(String::new());
                    } else {
                        push_text(
                            &mut text,
                            &mut step,
                            if list_depth > 1 { "  - " } else { "- " },
                        );
                    }
                }
                Event::End(TagEnd::Item) => {
                    if list_depth == 1 {
                        if let Some(done) = step.take() {
                            sections.fix.push(done.trim().to_owned());
                        }
                    }
                    push_text(&mut text, &mut step, "\n");
                }
                Event::Start(Tag::CodeBlock(kind)) => {
                    in_code_block = true;
                    let _ = matches!(kind, CodeBlockKind::Fenced(_));
                    push_text(&mut text, &mut step, "\n");
                }
                Event::End(TagEnd::CodeBlock) => {
                    in_code_block = false;
                    push_text(&mut text, &mut step, "\n");
                }
                Event::Text(t) => {
                    if in_code_block {
                        // Indent code inside a step so it reads as a block under the step.
                        let indented: String = t.lines().map(|l| format!("    {l}\n")).collect();
                        push_text(&mut text, &mut step, &indented);
                    } else {
                        push_text(&mut text, &mut step, &t);
                    }
                }
                Event::Code(t) => {
                    push_text(&mut text, &mut step, "`");
                    push_text(&mut text, &mut step, &t);
                    push_text(&mut text, &mut step, "`");
                }
                Event::SoftBreak | Event::HardBreak => push_text(&mut text, &mut step, " "),
                Event::End(TagEnd::Paragraph) => push_text(&mut text, &mut step, "\n"),
                _ => {}
            }
        }
        flush(&mut sections, &current, &mut text);
        sections
    }
}

/// Text goes to the open fix step if there is one, otherwise to the section text.
fn push_text(text: &mut String, step: &mut Option<String>, s: &str) {
    match step {
        Some(step) => step.push_str(s),
        None => text.push_str(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn parse(text: &str) -> (Option<Article>, Vec<Diagnostic>) {
        let src = SourceFile::new("kb/a.md", text.to_owned());
        let mut diags = Vec::new();
        let article = parse_article(ArticleId::parse("a").unwrap(), &src, &mut diags);
        (article, diags)
    }

    const GOOD: &str = "+++\ntitle = \"Secret expired\"\ntags = [\"secret\"]\nerror_codes = [\"AADSTS7000222\"]\n+++\n\n## Symptoms\n\n`AADSTS7000222` in the log.\n\n## Cause\n\nThe **secret** ran out.\n\n## Fix\n\n1. Open **Project settings** > **Service connections**.\n2. Run:\n   ```\n   az ad sp credential reset --id {app_id}\n   ```\n3. Re-run.\n\n## Prevention\n\nUse workload identity.\n";

    #[test]
    fn parses_front_matter_and_sections() {
        let (article, diags) = parse(GOOD);
        assert!(diags.is_empty(), "{diags:?}");
        let a = article.unwrap();
        assert_eq!(a.title, "Secret expired");
        assert_eq!(a.error_codes, ["AADSTS7000222"]);
        assert_eq!(a.symptoms, "`AADSTS7000222` in the log.");
        assert_eq!(a.cause, "The secret ran out.");
        assert_eq!(a.fix.len(), 3);
        assert_eq!(a.fix[0], "Open Project settings > Service connections.");
        assert!(
            a.fix[1].contains("az ad sp credential reset --id {app_id}"),
            "{:?}",
            a.fix[1]
        );
        assert_eq!(a.prevention.as_deref(), Some("Use workload identity."));
        assert!(a.body().starts_with("\n## Symptoms"));
    }

    #[test]
    fn reports_missing_front_matter_and_sections() {
        let (_, diags) = parse("# no front matter\n");
        assert_eq!(diags[0].code, "missing-front-matter");
        let (_, diags) = parse("+++\ntitle = \"t\"\n+++\n## Symptoms\nx\n");
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["missing-section", "missing-section"]);
        // Nothing to point at: the end of the file.
        assert_eq!(diags[0].span.as_ref().unwrap().start().line, 6);
    }

    #[test]
    fn missing_section_points_at_a_near_miss_or_where_it_belongs() {
        let text = "+++\ntitle = \"t\"\n+++\n## Symptoms\nx\n## Causes\ny\n## Fix\n1. z\n";
        let (_, diags) = parse(text);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].span.as_ref().unwrap().start().line, 6);
        assert!(
            diags[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("rename `## Causes`")
        );
        let (_, diags) = parse("+++\ntitle = \"t\"\n+++\n## Symptoms\nx\n## Fix\n1. z\n");
        assert_eq!(diags[0].span.as_ref().unwrap().start().line, 6);
        assert!(
            diags[0]
                .label
                .as_deref()
                .unwrap()
                .contains("before `## Fix`")
        );
    }

    #[test]
    fn fix_prose_is_kept_and_bullets_are_not_steps() {
        let text = "+++\ntitle = \"t\"\n+++\n## Symptoms\nx\n## Cause\ny\n## Fix\n\nImportant: never disable the proxy.\n\n1. One.\n2. Two.\n\nIf that fails, call us.\n";
        let (a, diags) = parse(text);
        assert!(diags.is_empty(), "{diags:?}");
        let a = a.unwrap();
        assert_eq!(a.fix, ["One.", "Two."]);
        assert_eq!(
            a.fix_before.as_deref(),
            Some("Important: never disable the proxy.")
        );
        assert_eq!(a.fix_after.as_deref(), Some("If that fails, call us."));

        let text =
            "+++\ntitle = \"t\"\n+++\n## Symptoms\nx\n## Cause\ny\n## Fix\n\nCheck:\n\n- a\n- b\n";
        let (a, diags) = parse(text);
        let a = a.unwrap();
        assert!(a.fix.is_empty());
        assert_eq!(a.fix_before.as_deref(), Some("Check:\n- a\n- b"));
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "fix-without-steps");
        assert_eq!(
            diags[0].severity,
            crate::diagnostics::DiagnosticSeverity::Warning
        );
        assert_eq!(diags[0].span.as_ref().unwrap().start().line, 8);
    }

    #[test]
    fn unknown_front_matter_field_points_at_it() {
        let (_, diags) = parse("+++\ntitle = \"t\"\ntag = [\"x\"]\n+++\n");
        assert_eq!(diags[0].code, "unknown-field");
        assert_eq!(diags[0].span.as_ref().unwrap().start().line, 3);
        assert!(diags[0].hint.as_deref().unwrap().contains("`tags`"));
    }
}
