//! `arm-kb search` takes any text: broken query syntax, unbalanced quotes, symbols,
//! emoji, pasted log lines with control codes, pages of text. It answers with hits or a
//! clear "no article matches" message (exit 0 or 1), never an error or a panic.

use std::sync::OnceLock;

use arm_kb::kb::{KnowledgeBase, RootSelection};
use arm_kb::search::SearchIndex;
use proptest::prelude::*;
use serde_json::Value;

const PANIC_EXIT: i32 = 101;

/// Queries that break the query syntax one way or another.
const BROKEN_QUERIES: &[&str] = &[
    "\"secret",
    "secret\"",
    "\"",
    "title:(",
    "title:(secret",
    "title:\"unclosed",
    "nosuchfield:secret",
    "a:b:c",
    ":",
    "AND OR",
    "AND",
    "OR NOT",
    "NOT",
    "*",
    "*:*",
    "?",
    "~",
    "secret~",
    "secret~99",
    "\"a b\"~1000000000",
    "secret^",
    "secret^1e309",
    "secret^-1",
    "secret^NaN",
    "[",
    "]",
    "[a TO",
    "[* TO *]",
    "{",
    "}",
    "IN [",
    "((((",
    "))))",
    "\\",
    "\\\\\"",
    "-",
    "+",
    "+-+-",
    "-secret",
    "!",
    "&&",
    "||",
    "/",
    "/regex.*/",
    "'",
    "`",
    "''",
    "🔥",
    "🔑 secret 🔒",
    "\u{200f}\u{202e}secret",
    "e\u{301}\u{301}\u{301}",
    "\u{feff}",
    "日本語の検索",
    " ",
    "\t\t",
    "",
];

fn search(args: &[&str]) -> (i32, String, String) {
    let out = crate::util::arm_kb()
        .env_remove("ARM_KB_PATH")
        .arg("search")
        .args(args)
        .output()
        .expect("arm-kb runs");
    let code = out.status.code().expect("arm-kb exits normally");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(code, PANIC_EXIT, "{args:?} panicked: {stderr}");
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

/// Checks one query in both formats; returns the article ids found.
fn assert_answers(query: &str) -> Vec<String> {
    let (code, stdout, stderr) = search(&["--format", "json", "--", query]);
    assert!(
        code == 0 || code == 1,
        "{query:?}: exit {code}, stderr {stderr}"
    );
    assert!(stderr.is_empty(), "{query:?}: {stderr}");
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{query:?}: not JSON ({e}): {stdout}"));
    let ids: Vec<String> = json["hits"]
        .as_array()
        .expect("hits is a list")
        .iter()
        .map(|h| h["article"].as_str().expect("article id").to_owned())
        .collect();
    assert_eq!(
        code == 0,
        !ids.is_empty(),
        "{query:?}: exit {code}, {ids:?}"
    );

    let (text_code, text, stderr) = search(&["--color", "never", "--", query]);
    assert_eq!(text_code, code, "{query:?}: text and JSON disagree");
    assert!(stderr.is_empty(), "{query:?}: {stderr}");
    if ids.is_empty() {
        assert!(text.starts_with("no article matches"), "{query:?}: {text}");
    } else {
        assert!(text.starts_with(&ids[0]), "{query:?}: {text}");
    }
    ids
}

#[test]
fn broken_query_syntax_is_never_an_error() {
    // Every query through the library, a sample through the command line (each run
    // builds the index, which costs a tenth of a second in a debug build).
    let (_, index) = index();
    for query in BROKEN_QUERIES {
        index
            .search(query, 5)
            .unwrap_or_else(|e| panic!("{query:?}: {e}"));
    }
    for query in BROKEN_QUERIES.iter().step_by(4) {
        assert_answers(query);
    }
}

#[test]
fn broken_syntax_around_clear_words_still_finds_them() {
    for query in [
        "\"client secret",
        "client \"secret expired",
        "secret AND OR expired",
        "expired secret)",
        "(AADSTS7000222",
        "AADSTS7000222~",
        "title:(secret expired",
        "secret^ expired^^",
        "🔑 client secret expired 🔥",
    ] {
        let ids = assert_answers(query);
        assert!(
            ids.iter().any(|id| id == "sp-secret-expired"),
            "{query:?}: {ids:?}"
        );
    }
}

#[test]
fn ten_kilobytes_of_query_text() {
    let words = "Error: AADSTS7000222: The provided client secret keys for app are expired ";
    let prose = words.repeat(10 * 1024 / words.len() + 1);
    let ids = assert_answers(&prose);
    assert_eq!(ids.first().map(String::as_str), Some("sp-secret-expired"));
    // One 10 KB word, and 10 KB of query operators.
    assert_answers(&"x".repeat(10 * 1024));
    assert_answers(&"(\"[{~^*:".repeat(10 * 1024 / 8));
    // Many words given as separate arguments are one query.
    let many: Vec<String> = (0..2000).map(|i| format!("w{i}")).collect();
    let args: Vec<&str> = ["--format", "json", "--"]
        .into_iter()
        .chain(many.iter().map(String::as_str))
        .collect();
    let (code, _, stderr) = search(&args);
    assert!(code == 0 || code == 1, "{stderr}");
}

#[test]
fn control_codes_in_a_query_are_not_echoed_to_the_terminal() {
    // A pasted log line may carry colour codes or a terminal title sequence.
    let query = "\x1b]0;pwned\x07\x1b[2J\rzzzqqq";
    let (code, stdout, stderr) = search(&["--color", "always", "--", query]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.starts_with("no article matches"), "{stdout:?}");
    assert!(!stdout.contains('\x1b'), "{stdout:?}");
    assert!(!stdout.contains('\x07'), "{stdout:?}");
    assert!(!stdout.contains('\r'), "{stdout:?}");
    assert!(stdout.contains("zzzqqq"), "{stdout:?}");
}

fn index() -> &'static (KnowledgeBase, SearchIndex) {
    static INDEX: OnceLock<(KnowledgeBase, SearchIndex)> = OnceLock::new();
    INDEX.get_or_init(|| {
        let loaded = KnowledgeBase::load(&RootSelection {
            builtin: true,
            dirs: Vec::new(),
        });
        assert!(!loaded.has_errors(), "the built-in knowledge base loads");
        let index = SearchIndex::build(&loaded.kb).expect("the index builds");
        (loaded.kb, index)
    })
}

/// Query text mixing words of the articles with query syntax and odd characters.
fn query_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            "secret", "expired", "AADSTS7000222", "7000222", "subscription", "token",
            "federated", "identity", "tenant", "title", "tags", "error_codes",
        ])
        .prop_map(str::to_owned),
        4 => prop::sample::select(vec![
            "\"", "(", ")", "[", "]", "{", "}", ":", "~", "^", "*", "?", "+", "-", "!",
            "\\", "/", "'", "AND", "OR", "NOT", "TO", "IN", "^2", "~1", "title:", "tags:",
        ])
        .prop_map(str::to_owned),
        2 => any::<char>().prop_map(String::from),
        1 => "\\PC{1,12}",
    ];
    prop::collection::vec((piece, prop::bool::ANY), 0..12).prop_map(|pieces| {
        pieces
            .into_iter()
            .map(|(p, space)| if space { p + " " } else { p })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any text is a query; hits stay within the limit and their highlights are valid
    /// ranges of their snippet (the text output slices the snippet with them).
    #[test]
    fn any_text_is_a_query(query in query_text(), limit in 1usize..8) {
        let (kb, index) = index();
        let hits = index.search(&query, limit).expect("searching never fails");
        prop_assert!(hits.len() <= limit);
        for hit in &hits {
            prop_assert!(kb.article(&hit.article).is_some(), "{}", hit.article);
            let mut last = 0;
            for r in &hit.highlights {
                prop_assert!(r.start >= last && r.start <= r.end && r.end <= hit.snippet.len());
                prop_assert!(hit.snippet.is_char_boundary(r.start));
                prop_assert!(hit.snippet.is_char_boundary(r.end));
                last = r.end;
            }
        }
        let lines = vec![query.clone(), query];
        index.related(&lines, limit).expect("related never fails");
    }
}

/// A field-exists query on a field that does not exist parses, but cannot run: the
/// words are searched instead (found by the property test above).
#[test]
fn an_exists_query_on_an_unknown_field_falls_back_to_words() {
    let (_, index) = index();
    for query in ["¡:*", "nosuchfield:*", "secret nosuchfield:* expired"] {
        index.search(query, 3).expect("searching never fails");
    }
    let hits = index.search("secret nosuchfield:* expired", 3).unwrap();
    assert_eq!(
        hits.first().map(|h| h.article.as_str()),
        Some("sp-secret-expired")
    );
}
