//! HTML pages for `arm-kb serve`: the paste box, match results, search hits and articles.
//!
//! Templates are maud macros, checked at compile time; every value is escaped by maud
//! except the HTML that [`markdown_html`] makes, which escapes the Markdown's raw HTML
//! itself (an article or a log line holding `<script>` shows as text). Pages hold no
//! script and no inline style, so they work under `Content-Security-Policy: default-src
//! 'self'`; the one stylesheet is [`CSS`], served by the server at [`CSS_PATH`].

use maud::{DOCTYPE, Markup, PreEscaped, html};
use pulldown_cmark::{CowStr, Event, Parser, Tag, TagEnd};

use super::MatchOutput;
use super::evidence::{RowKind, evidence_rows, location};
use crate::kb::{Article, KnowledgeBase};
use crate::placeholder;
use crate::report::Finding;
use crate::search::SearchHit;

/// The stylesheet: light and dark by `prefers-color-scheme`, no other asset.
pub const CSS: &str = include_str!("html.css");
/// Where the server serves [`CSS`].
pub const CSS_PATH: &str = "/assets/arm-kb.css";

/// One input of a match request, as the results page lists it.
pub struct SourceSummary<'a> {
    pub name: &'a str,
    pub bytes: u64,
    pub lines: u64,
    /// Why the input could not be read, if it could not.
    pub error: Option<&'a str>,
}

/// The frame of every page: title, stylesheet, header with the search box, main content.
pub fn page(title: &str, query: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · arm-kb" }
                link rel="stylesheet" href=(CSS_PATH);
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/" { "arm-kb" }
                    nav aria-label="Site" {
                        a href="/" { "Analyse a log" }
                        a href="/articles" { "Articles" }
                    }
                    (search_form(query, "top-q"))
                }
                main id="main" { (body) }
                footer {
                    "Troubleshooting for Azure Pipelines on Azure Resource Manager service connections. "
                    "The log you submit is scanned in memory and not kept."
                }
            }
        }
    }
}

fn search_form(query: &str, id: &str) -> Markup {
    html! {
        form class="search" role="search" method="get" action="/search" {
            label for=(id) { "Search the articles" }
            input id=(id) type="search" name="q" value=(query) placeholder="e.g. AADSTS7000222";
            button type="submit" { "Search" }
        }
    }
}

/// `GET /`: the paste box, the file upload, and the search box.
pub fn index_page(kb: &KnowledgeBase) -> Markup {
    page(
        "Analyse a pipeline log",
        "",
        html! {
            h1 { "Why did the pipeline fail?" }
            p class="lead" {
                "Paste a failed Azure Pipelines job log, or upload it (a log, a " code { ".gz" }
                ", or the " code { ".zip" } " of a run's logs). arm-kb names the service-connection "
                "problem, shows the lines that prove it, and gives the fix with the values from the log filled in."
            }
            form class="match" method="post" action="/match" enctype="multipart/form-data" {
                label for="log" { "Log text" }
                textarea id="log" name="log" rows="14" spellcheck="false" autocomplete="off"
                    placeholder="2025-03-04T09:12:03.0932154Z ##[error]…" {}
                label for="file" { "Or a file" }
                input id="file" type="file" name="file" accept=".log,.txt,.gz,.zip,text/plain,application/gzip,application/zip";
                p class="hint" { "Secrets in the log (tokens, client secrets, keys) are masked in the results." }
                button type="submit" { "Analyse" }
            }
            p class="dim" {
                (kb.articles.len()) " articles, " (kb.rules.len()) " rules. "
                a href="/articles" { "Browse the articles" } "."
            }
        },
    )
}

/// `POST /match`: the findings, per source, then what no rule explained (the report's
/// suggestions and unexplained lines, when it has them).
pub fn results_page(
    out: &MatchOutput<'_>,
    sources: &[SourceSummary<'_>],
    kb: &KnowledgeBase,
) -> Markup {
    let report = out.report;
    let n = report.findings.len();
    let heading = match n {
        0 => "No finding".to_owned(),
        1 => "1 finding".to_owned(),
        n => format!("{n} findings"),
    };
    page(
        &heading,
        "",
        html! {
            h1 { (heading) }
            p class="dim" {
                "Scanned " (report.stats.lines) " lines (" (report.stats.bytes) " bytes)"
                @if sources.len() > 1 { " in " (sources.len()) " sources" } "."
                " " a href="/" { "Analyse another log" }
            }
            @if sources.len() > 1 || sources.iter().any(|s| s.error.is_some()) {
                section aria-labelledby="sources-h" {
                    h2 id="sources-h" { "Sources" }
                    ul class="sources" {
                        @for s in sources {
                            li {
                                code { (s.name) } " "
                                @match s.error {
                                    Some(e) => span class="unreadable" { "could not be read: " (e) },
                                    None => span class="dim" {
                                        (s.lines) " lines, "
                                        (findings_in(out, s.name)) " finding(s)"
                                    },
                                }
                            }
                        }
                    }
                }
            }
            @for (i, f) in report.findings.iter().enumerate() {
                (finding(f, i, out.show_files, kb))
            }
            @if n == 0 {
                p { "No rule matched this log." }
                @if let Some(hits) = report.suggestions.as_ref().filter(|s| !s.is_empty()) {
                    section class="related" aria-labelledby="related-h" {
                        h2 id="related-h" { "Possibly related" }
                        p class="dim" { "Search hits for the log's error lines; not findings." }
                        ul {
                            @for h in hits {
                                li { a href={ "/articles/" (h.article) } { (h.title) } " " code { (h.article) } }
                            }
                        }
                    }
                }
            }
            @if let Some(unexplained) = report.unexplained.as_ref().filter(|u| !u.lines.is_empty()) {
                section aria-labelledby="unexplained-h" {
                    h2 id="unexplained-h" { "Error lines no rule explains (" (unexplained.total) ")" }
                    pre class="log" tabindex="0" aria-label="Error lines no rule explains" {
                        @for e in &unexplained.lines {
                            span class="row" {
                                span class="ln" { (location(e.file.as_deref(), e.line, out.show_files)) }
                                (e.text)
                            }
                            "\n"
                        }
                    }
                    @let more = unexplained.total.saturating_sub(unexplained.lines.len() as u64);
                    @if more > 0 { p class="dim" { "… and " (more) " more." } }
                }
            }
        },
    )
}

/// How many findings have evidence in `source`.
fn findings_in(out: &MatchOutput<'_>, source: &str) -> usize {
    out.report
        .findings
        .iter()
        .filter(|f| f.evidence.iter().any(|e| e.file.as_deref() == Some(source)))
        .count()
}

fn finding(f: &Finding, i: usize, show_files: bool, kb: &KnowledgeBase) -> Markup {
    let sev = f.severity.as_str();
    let id = format!("finding-{}", i + 1);
    let captures = f.captures();
    let shown = f.evidence.len() as u64;
    html! {
        article class={ "finding " (sev) } aria-labelledby=(id) {
            h2 id=(id) {
                span class={ "badge " (sev) } { (sev) } " "
                a href={ "/articles/" (f.article) } { (f.title) }
            }
            p class="meta" {
                code { (f.article) }
                " · " span class="confidence" { (f.confidence.as_str()) }
                " · priority " (f.priority)
                " · rules: " @for (j, r) in f.rules.iter().enumerate() { @if j > 0 { ", " } code { (r) } }
            }
            @if let Some(summary) = kb.articles.get(&f.article).and_then(|a| a.summary.as_deref()) {
                p { (summary) }
            }
            h3 {
                "Evidence"
                @if f.evidence_total > shown { " (" (shown) " of " (f.evidence_total) " lines)" }
            }
            pre class="log" tabindex="0" aria-label={ "Evidence for " (f.article) } {
                @for row in evidence_rows(&f.evidence) {
                    @match row.kind {
                        RowKind::Evidence => span class="row" {
                            span class="ln" { (location(row.file, row.line, show_files)) }
                            (row.text)
                        },
                        RowKind::Context => span class="row context" {
                            span class="ln" { (location(row.file, row.line, show_files)) }
                            (row.text)
                        },
                        RowKind::Gap => span class="row gap" { "…" },
                    }
                    "\n"
                }
            }
            @if !captures.is_empty() {
                h3 { "Captured from the log" }
                dl class="captures" {
                    @for (k, v) in &captures {
                        dt { (k) }
                        dd { code { (v) } }
                    }
                }
            }
            @if !f.fix.is_empty() || f.fix_before.is_some() || f.fix_after.is_some() {
                h3 { "Fix" }
                @if let Some(prose) = &f.fix_before { (markdown_html(prose)) }
                @if !f.fix.is_empty() {
                    ol class="fix" {
                        @for step in &f.fix { li { (markdown_html(step)) } }
                    }
                }
                @if let Some(prose) = &f.fix_after { (markdown_html(prose)) }
            }
            p { a href={ "/articles/" (f.article) } { "Read the article: " (f.title) } }
        }
    }
}

/// `GET /search?q=`: hits with their snippets, the matched words marked.
pub fn search_page(query: &str, hits: &[SearchHit]) -> Markup {
    let title = if query.is_empty() {
        "Search".to_owned()
    } else {
        format!("Search: {query}")
    };
    page(
        &title,
        query,
        html! {
            h1 { "Search" }
            (search_form(query, "q"))
            @if query.trim().is_empty() {
                p { "Type words, an error code (" code { "AADSTS700213" } ") or a message." }
            } @else if hits.is_empty() {
                p { "No article matches " q { (query) } ". " a href="/articles" { "Every article" } "." }
            } @else {
                ol class="hits" {
                    @for h in hits {
                        li {
                            a href={ "/articles/" (h.article) } { (h.title) } " " code { (h.article) }
                            p class="snippet" { (highlighted(h)) }
                        }
                    }
                }
            }
        },
    )
}

/// The snippet with `<mark>` around the matched words (everything escaped).
fn highlighted(h: &SearchHit) -> Markup {
    let mut pieces: Vec<(bool, &str)> = Vec::new();
    let mut last = 0;
    for r in &h.highlights {
        if r.start < last
            || r.end > h.snippet.len()
            || !h.snippet.is_char_boundary(r.start)
            || !h.snippet.is_char_boundary(r.end)
        {
            continue;
        }
        pieces.push((false, &h.snippet[last..r.start]));
        pieces.push((true, &h.snippet[r.clone()]));
        last = r.end;
    }
    pieces.push((false, &h.snippet[last..]));
    html! {
        @for (marked, text) in pieces {
            @if marked { mark { (text) } } @else { (text) }
        }
    }
}

/// `GET /articles`: every article with its tags and rule count.
pub fn articles_page(kb: &KnowledgeBase) -> Markup {
    page(
        "Articles",
        "",
        html! {
            h1 { "Articles" }
            p class="dim" { (kb.articles.len()) " articles, " (kb.rules.len()) " rules." }
            ul class="articles" {
                @for a in kb.articles.values() {
                    li {
                        a href={ "/articles/" (a.id) } { (a.title) } " " code { (a.id) }
                        @let n = kb.rules_for(&a.id).count();
                        span class="dim" {
                            " · " (n) @if n == 1 { " rule" } @else { " rules" }
                            @if !a.tags.is_empty() { " · " (a.tags.join(", ")) }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /articles/{id}`: the article from its Markdown, placeholders shown as `<name>`.
pub fn article_page(kb: &KnowledgeBase, a: &Article) -> Markup {
    let rules: Vec<_> = kb.rules_for(&a.id).collect();
    page(
        &a.title,
        "",
        html! {
            article class="doc" {
                h1 { (a.title) }
                p class="meta" {
                    code { (a.id) }
                    @if !a.error_codes.is_empty() {
                        " · codes: " @for (i, c) in a.error_codes.iter().enumerate() { @if i > 0 { ", " } code { (c) } }
                    }
                    @if !a.tags.is_empty() { " · tags: " (a.tags.join(", ")) }
                }
                @if let Some(s) = &a.summary { p class="lead" { (s.trim()) } }
                (markdown_html(&placeholder::fill(a.body(), None)))
                @if !rules.is_empty() {
                    h2 { "Rules" }
                    ul {
                        @for r in rules { li { code { (r.id) } " (" (r.severity.as_str()) ", priority " (r.priority) ")" } }
                    }
                }
            }
        },
    )
}

/// An unknown article id: the closest ids.
pub fn not_found_page(what: &str, near: &[String]) -> Markup {
    page(
        "Not found",
        "",
        html! {
            h1 { "Not found" }
            p { "There is no " (what) "." }
            @if !near.is_empty() {
                p { "Did you mean:" }
                ul {
                    @for id in near { li { a href={ "/articles/" (id) } { code { (id) } } } }
                }
            }
            p { a href="/articles" { "Every article" } " · " a href="/" { "Analyse a log" } }
        },
    )
}

/// An error page (a body that cannot be read, a scan that took too long).
pub fn error_page(title: &str, message: &str) -> Markup {
    page(
        title,
        "",
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/" { "Back" } }
        },
    )
}

/// Markdown to HTML that is safe to embed: raw HTML in the Markdown is shown as text,
/// images become links (no asset from another host), and a link whose scheme is not
/// http, https or mailto loses its target.
pub fn markdown_html(md: &str) -> PreEscaped<String> {
    let events = Parser::new(md).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    });
    let mut out = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut out, events);
    PreEscaped(out)
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let scheme = url
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.contains(['/', '?', '#']));
    match scheme.map(str::to_ascii_lowercase).as_deref() {
        None | Some("http" | "https" | "mailto") => url,
        Some(_) => CowStr::Borrowed("#"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_in_markdown_is_text() {
        let html =
            markdown_html("Run <script>alert(1)</script> and <b>x</b>\n\n<div onclick=x>y</div>\n")
                .0;
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn links_keep_only_safe_schemes_and_images_become_links() {
        let html = markdown_html(
            "[a](javascript:alert(1)) [b](https://learn.microsoft.com/x) [c](/articles/x) ![i](https://example.com/i.png)",
        )
        .0;
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains(r#"href="https://learn.microsoft.com/x""#),
            "{html}"
        );
        assert!(html.contains(r#"href="/articles/x""#), "{html}");
        assert!(!html.contains("<img"), "{html}");
    }

    #[test]
    fn snippet_marks_are_escaped() {
        let hit = SearchHit {
            article: "a".into(),
            title: "t".into(),
            score: 1.0,
            snippet: "<b>secret</b> expired".into(),
            highlights: std::iter::once(3..9).collect(),
            rules: Vec::new(),
            explanation: None,
        };
        assert_eq!(
            highlighted(&hit).into_string(),
            "&lt;b&gt;<mark>secret</mark>&lt;/b&gt; expired"
        );
    }
}
