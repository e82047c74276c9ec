//! `arm-kb stats --format html`: one self-contained page (inline CSS, inline SVG bar
//! charts, no script, nothing fetched from anywhere) to attach to a ticket or publish as
//! a pipeline artifact. Every text is escaped; links point only inside the page.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{
    BARS_SHOWN, StatsOutput, StatsPrinter, TEMPLATES_SHOWN, draft_heading, fired_rules, percent,
};
use crate::text;

pub struct Html;

impl StatsPrinter for Html {
    fn write(&self, w: &mut dyn Write, out: &StatsOutput<'_>) -> io::Result<()> {
        w.write_all(page(out).as_bytes())
    }
}

const CSS: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#1f2328;background:#fff}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:13px ui-monospace,SFMono-Regular,Consolas,monospace;word-break:break-all}
pre{background:#f6f8fa;padding:1em;overflow:auto;font:13px ui-monospace,SFMono-Regular,Consolas,monospace}
.cards{display:flex;gap:1em;flex-wrap:wrap}
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6em 1em;min-width:10em}
.card b{display:block;font-size:1.6em}
svg text{font:12px system-ui,sans-serif;fill:#1f2328}
.bar{fill:#54aeff}.bar2{fill:#0969da}.bar3{fill:#bf8700}
ul.ids{columns:2}
";

/// Text made safe inside an element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text::one_line(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Multi-line text (a draft rule) for a `<pre>`.
fn escape_block(text: &str) -> String {
    text.lines().map(escape).collect::<Vec<_>>().join("\n")
}

pub fn page(out: &StatsOutput<'_>) -> String {
    let r = out.report;
    let mut h = String::new();
    let title = format!("arm-kb stats: {}", text::plural(r.logs, "log"));
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );

    h.push_str("<div class=\"cards\">\n");
    for (what, n) in [
        ("logs read", r.logs),
        ("with a finding", r.logs_with_findings),
        ("error lines, no finding (unclassified)", r.logs_with_errors),
        ("clean", r.clean_logs()),
    ] {
        let share = if what == "logs read" {
            String::new()
        } else {
            format!(" ({})", percent(n, r.logs))
        };
        let _ = writeln!(
            h,
            "<div class=\"card\"><b>{n}</b>{}{}</div>",
            escape(what),
            escape(&share)
        );
    }
    h.push_str("</div>\n");

    h.push_str("<h2 id=\"articles\">Articles</h2>\n");
    if r.articles.is_empty() {
        h.push_str("<p>None found.</p>\n");
    } else {
        let bars: Vec<Bar> = r
            .articles
            .iter()
            .take(BARS_SHOWN)
            .map(|a| Bar {
                label: a.article.to_string(),
                tip: a.title.clone(),
                value: a.logs,
                inner: Some(a.top),
            })
            .collect();
        h.push_str(&bar_chart(
            &bars,
            "Logs each article was found in (dark: as the top finding)",
        ));
        h.push_str(
            "<table>\n<tr><th>article</th><th>title</th><th>logs</th><th>top finding</th></tr>\n",
        );
        for a in &r.articles {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(a.article.as_str()),
                escape(&a.title),
                a.logs,
                a.top
            );
        }
        h.push_str("</table>\n");
    }

    let _ = writeln!(
        h,
        "<h2 id=\"rules\">Rules</h2>\n<p>{} loaded, {} fired, <a href=\"#dead\">{} dead</a>, <a href=\"#noisy\">{} noisy</a>.</p>",
        r.rules.len(),
        fired_rules(r).count(),
        r.dead_rules.len(),
        r.noisy_rules.len()
    );
    if fired_rules(r).next().is_some() {
        h.push_str("<table>\n<tr><th>rule</th><th>article</th><th>hits</th><th>logs</th></tr>\n");
        for rule in fired_rules(r) {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(rule.rule.as_str()),
                escape(rule.article.as_str()),
                rule.hits,
                rule.logs
            );
        }
        h.push_str("</table>\n");
    }
    id_list(
        &mut h,
        "dead",
        "Dead rules",
        "Fired in no log.",
        r.dead_rules.iter().map(|id| id.as_str()),
    );
    id_list(
        &mut h,
        "noisy",
        "Noisy rules",
        "Fired only beside a stronger finding for another article.",
        r.noisy_rules.iter().map(|id| id.as_str()),
    );

    let _ = writeln!(
        h,
        "<h2 id=\"unexplained\">Unexplained error lines</h2>\n<p>{} in {}.</p>",
        escape(&text::plural(r.error_lines, "line")),
        escape(&text::plural(r.unexplained.len() as u64, "template"))
    );
    let shown: Vec<_> = r.unexplained.iter().take(TEMPLATES_SHOWN).collect();
    if !shown.is_empty() {
        let bars: Vec<Bar> = shown
            .iter()
            .take(BARS_SHOWN)
            .enumerate()
            .map(|(i, t)| Bar {
                label: format!("#{} {}", i + 1, t.template),
                tip: t.template.clone(),
                value: t.count,
                inner: None,
            })
            .collect();
        h.push_str(&bar_chart(&bars, "Lines per template"));
        h.push_str(
            "<table>\n<tr><th>#</th><th>lines</th><th>logs</th><th>template</th><th>example</th></tr>\n",
        );
        for (i, t) in shown.iter().enumerate() {
            let _ = writeln!(
                h,
                "<tr><td class=\"n\">{n}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><code>{}</code></td><td><a href=\"#example-{n}\">{}:{}</a></td></tr>",
                t.count,
                t.logs,
                escape(&t.template),
                escape(&t.example.file),
                t.example.line,
                n = i + 1
            );
        }
        h.push_str("</table>\n<h2 id=\"examples\">Examples</h2>\n<dl>\n");
        for (i, t) in shown.iter().enumerate() {
            let _ = writeln!(
                h,
                "<dt id=\"example-{}\">#{} <code>{}:{}</code></dt><dd><code>{}</code></dd>",
                i + 1,
                i + 1,
                escape(&t.example.file),
                t.example.line,
                escape(&t.example_text)
            );
        }
        h.push_str("</dl>\n");
    }

    if !out.drafts.is_empty() {
        h.push_str("<h2 id=\"drafts\">Draft rules</h2>\n<p>For the most frequent templates; review them before adding them to a root.</p>\n");
        for d in out.drafts {
            let toml = format!("{}\n{}", draft_heading(d), d.toml.trim_start_matches('\n'));
            let _ = writeln!(h, "<pre>{}</pre>", escape_block(&toml));
        }
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn id_list<'a>(
    h: &mut String,
    anchor: &str,
    title: &str,
    what: &str,
    ids: impl Iterator<Item = &'a str>,
) {
    let ids: Vec<&str> = ids.collect();
    let _ = writeln!(
        h,
        "<h3 id=\"{anchor}\">{} ({})</h3>\n<p>{}</p>",
        escape(title),
        ids.len(),
        escape(what)
    );
    if !ids.is_empty() {
        h.push_str("<ul class=\"ids\">\n");
        for id in ids {
            let _ = writeln!(h, "<li><code>{}</code></li>", escape(id));
        }
        h.push_str("</ul>\n");
    }
}

/// One bar: a label, a tooltip, its value and an optional part of it drawn darker.
struct Bar {
    label: String,
    tip: String,
    value: u64,
    inner: Option<u64>,
}

/// A horizontal bar chart as inline SVG.
fn bar_chart(bars: &[Bar], caption: &str) -> String {
    const WIDTH: u64 = 1000;
    const LABEL: u64 = 460;
    const ROW: u64 = 22;
    const BAR_MAX: u64 = WIDTH - LABEL - 60;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = ROW * bars.len() as u64 + 28;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<figure><svg viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" aria-label=\"{c}\">\n<title>{c}</title>",
        c = escape(caption)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = i as u64 * ROW + 4;
        let len = |v: u64| (v * BAR_MAX).div_ceil(max).max(u64::from(v > 0));
        let _ = write!(
            s,
            "<g><title>{}</title><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            escape(&b.tip),
            LABEL - 8,
            y + 15,
            escape(&text::truncate(&b.label, 64))
        );
        let _ = write!(
            s,
            "<rect class=\"{}\" x=\"{LABEL}\" y=\"{y}\" width=\"{}\" height=\"{}\"/>",
            if b.inner.is_some() { "bar" } else { "bar3" },
            len(b.value),
            ROW - 6
        );
        if let Some(inner) = b.inner {
            let _ = write!(
                s,
                "<rect class=\"bar2\" x=\"{LABEL}\" y=\"{y}\" width=\"{}\" height=\"{}\"/>",
                len(inner),
                ROW - 6
            );
        }
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\">{}</text></g>",
            LABEL + len(b.value) + 6,
            y + 15,
            b.value
        );
    }
    let _ = writeln!(
        s,
        "</svg><figcaption>{}</figcaption></figure>",
        escape(caption)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\"\n"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;&lt;U+000A&gt;"
        );
    }
}
