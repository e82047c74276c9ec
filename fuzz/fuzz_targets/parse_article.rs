//! Article parsing: front matter split, TOML front matter, Markdown sections. Whatever the
//! bytes, parsing must not panic, and every diagnostic must render (its span may point
//! anywhere in the text, including inside a multi-byte character).
#![no_main]

use annotate_snippets::Renderer;
use arm_kb::ids::ArticleId;
use arm_kb::kb::parse_article;
use arm_kb::render::article::write_article;
use arm_kb::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Files on disk must be UTF-8 (others are refused before parsing); the built-in
    // root decodes lossily. Either way the parser sees a `str`.
    let text = String::from_utf8_lossy(data);
    let source = SourceFile::new("kb/fuzz-article.md", text.into_owned());
    let id = ArticleId::parse("fuzz-article").expect("a valid id");
    let mut diags = Vec::new();
    let article = parse_article(id, &source, &mut diags);
    let renderer = Renderer::plain();
    for d in &diags {
        let _ = d.render(&renderer);
        let _ = d.location();
        let _ = d.to_json();
    }
    if let Some(article) = article {
        let _ = article.body();
        let mut out = Vec::new();
        write_article(&mut out, &article).expect("writing to memory cannot fail");
    }
});
