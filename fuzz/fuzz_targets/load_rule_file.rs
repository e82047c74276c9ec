//! Rule loading: TOML parsing, field validation, regex parsing with positions inside the
//! pattern, keyword derivation, and lazy compilation under the size and nest limits.
//! Whatever the bytes, nothing may panic and every diagnostic must render.
#![no_main]

use annotate_snippets::Renderer;
use arm_kb::rules::load_rule_file;
use arm_kb::source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let source = SourceFile::new("rules/fuzz.toml", text.into_owned());
    let mut diags = Vec::new();
    let rules = load_rule_file(&source, &mut diags);
    for rule in &rules {
        // Compilation is lazy in normal runs; force it so oversized patterns are seen.
        if let Err(d) = rule.compiled() {
            diags.push(d.clone());
        }
        let _ = rule.span.location();
        let _ = rule.article_span.location();
    }
    let renderer = Renderer::plain();
    for d in &diags {
        let _ = d.render(&renderer);
        let _ = d.location();
        let _ = d.to_json();
    }
});
