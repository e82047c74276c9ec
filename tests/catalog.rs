//! The catalog in matching: every classified message in every locale and variant gives
//! its article; wrappers defer to the inner error; error codes find their owner, and the
//! AADSTS codes no article owns the generic sign-in article; `messages` in rules bind
//! their captures by argument; confidence ranks; scopes are split for the fix.
//!
//! Runs against the sample catalog in `tests/fixtures/catalog` and against the built-in
//! one.

use std::collections::BTreeMap;
use std::path::Path;

use arm_kb::catalog::{Catalog, CatalogFiles, Class, Message, compile};
use arm_kb::diagnostics::Diagnostic;
use arm_kb::kb::{KnowledgeBase, RootFiles, root};
use arm_kb::matcher::Engine;
use arm_kb::report::{CONDITIONAL_STEP, Finding, Report};
use arm_kb::rules::Confidence;

const PREFIX: &str = "2024-05-01T10:00:03.5000000Z ##[error]";

fn fixture_catalog() -> Catalog {
    let cat = Catalog::parse(&CatalogFiles::from_dir(Path::new("tests/fixtures/catalog")));
    assert!(cat.diagnostics.is_empty(), "{:?}", cat.diagnostics);
    cat
}

fn dir_root(dir: &str) -> RootFiles {
    let mut diags = Vec::new();
    let r = root::read_dir_root(Path::new(dir), &mut diags).unwrap();
    assert!(diags.is_empty(), "{diags:?}");
    r
}

fn errors(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            format!(
                "{} {} {}",
                d.code,
                d.message,
                d.span.as_ref().map(|s| s.location()).unwrap_or_default()
            )
        })
        .collect()
}

/// The built-in root and `extra` roots with `catalog`.
fn kb_with(catalog: &Catalog, extra: &[&str]) -> KnowledgeBase {
    let mut roots = vec![root::builtin()];
    roots.extend(extra.iter().map(|d| dir_root(d)));
    let mut diags = Vec::new();
    let kb = KnowledgeBase::from_roots_with(roots, catalog, true, &mut diags);
    let errs = errors(&diags);
    // The built-in articles may not all resolve their shared codes without the built-in
    // catalog's owners file; only code-owner conflicts are tolerated here.
    assert!(
        errs.iter().all(|e| e.starts_with("duplicate-code-owner")),
        "{errs:#?}"
    );
    kb
}

fn report(kb: &KnowledgeBase, log: &str) -> Report {
    let set = Engine::new(kb, false)
        .scan_bytes(None, log.as_bytes())
        .unwrap();
    Report::build(set, kb)
}

fn top(kb: &KnowledgeBase, log: &str) -> Option<Finding> {
    report(kb, log).findings.into_iter().next()
}

/// A text with its placeholders filled with sample values.
fn render(text: &str) -> String {
    let args: Vec<String> = (1..=9).map(|i| format!("sample-value-{i}")).collect();
    compile::render(text, &args)
}

fn classified(cat: &Catalog) -> impl Iterator<Item = (&Message, &str)> {
    cat.messages.iter().filter_map(|m| match &m.class {
        Class::Article(a) => Some((m, a.as_str())),
        _ => None,
    })
}

/// Every text of every classified message, in a realistic error line, gives its article
/// as the top finding.
fn every_variant_gives_its_article(kb: &KnowledgeBase, cat: &Catalog) -> usize {
    let mut misses = Vec::new();
    let mut n = 0;
    for (m, article) in classified(cat) {
        for t in &m.texts {
            n += 1;
            let line = format!("{PREFIX}Error: {}\n", render(&t.text));
            let got = top(kb, &line);
            match &got {
                Some(f) if f.article.as_str() == article => {
                    assert_eq!(f.confidence, Confidence::Definite, "{line}");
                }
                _ => misses.push(format!(
                    "{} [{}] -> {:?}: {line}",
                    m.id,
                    t.locale,
                    got.map(|f| f.article.to_string())
                )),
            }
        }
    }
    assert!(
        misses.is_empty(),
        "{} of {n} variants missed:\n{}",
        misses.len(),
        misses.join("\n")
    );
    n
}

#[test]
fn every_sample_variant_gives_its_article_in_every_locale() {
    let cat = fixture_catalog();
    let kb = kb_with(&cat, &["tests/fixtures/catalog-root"]);
    let n = every_variant_gives_its_article(&kb, &cat);
    assert!(n > 100, "{n}");
}

#[test]
fn every_built_in_variant_gives_its_article_in_every_locale() {
    let cat = arm_kb::catalog::builtin();
    let loaded = KnowledgeBase::load(&arm_kb::kb::RootSelection::new(false, None, &[]));
    every_variant_gives_its_article(&loaded.kb, cat);
}

#[test]
fn the_bare_key_gives_the_article() {
    let kb = kb_with(&fixture_catalog(), &[]);
    let log = "##[warning]Resource file haven't set, can't find loc string for key: ExpiredServicePrincipal\n";
    assert_eq!(top(&kb, log).unwrap().article.as_str(), "sp-secret-expired");
}

#[test]
fn a_wrapper_gives_its_inner_errors_article() {
    let kb = kb_with(&fixture_catalog(), &["tests/fixtures/catalog-root"]);
    let log = format!(
        "{PREFIX}Error: Ein Zugriffstoken für Azure konnte nicht abgerufen werden. Statuscode: invalid_client, Statusmeldung: 7000222 - [2024-05-01 10:00:03Z]: AADSTS7000222: The provided client secret keys for app 'c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19' are expired.\n"
    );
    let f = top(&kb, &log).unwrap();
    assert_eq!(f.article.as_str(), "sp-secret-expired");
    assert_eq!(f.confidence, Confidence::Definite);
    assert_eq!(f.captures()["code"], "AADSTS7000222");
    // A wrapper alone names no article.
    let alone = format!(
        "{PREFIX}Error: Ein Zugriffstoken für Azure konnte nicht abgerufen werden. Statuscode: 500, Statusmeldung: upstream timeout\n"
    );
    let r = report(&kb, &alone);
    assert!(
        r.findings
            .iter()
            .all(|f| !f.rules.iter().any(|r| r.as_str().starts_with("catalog."))),
        "{:?}",
        r.findings
    );
}

#[test]
fn a_not_arm_entry_puts_no_arm_article_first() {
    let cat = fixture_catalog();
    let kb = kb_with(&cat, &[]);
    for m in cat
        .messages
        .iter()
        .filter(|m| matches!(m.class, Class::NotArm(_)))
    {
        for t in &m.texts {
            let line = format!("{PREFIX}{}\n", render(&t.text));
            let got = top(&kb, &line);
            assert!(
                got.as_ref()
                    .is_none_or(|f| f.confidence == Confidence::Likely),
                "{} [{}] -> {:?}",
                m.id,
                t.locale,
                got.map(|f| f.article)
            );
        }
    }
}

#[test]
fn english_keywords_do_not_fire_on_other_locales() {
    let cat = fixture_catalog();
    let (mut clean, mut total) = (0, 0);
    for (m, _) in classified(&cat) {
        let english: Vec<(String, String)> = m
            .texts
            .iter()
            .filter(|t| t.locale == "en-US")
            .flat_map(|t| {
                compile::compile(&t.text, &[])
                    .keywords
                    .into_iter()
                    .map(|k| (k, t.text.clone()))
            })
            .collect();
        let english_texts: Vec<&str> = english.iter().map(|(_, t)| t.as_str()).collect();
        for t in m.texts.iter().filter(|t| t.locale != "en-US") {
            if english_texts.contains(&t.text.as_str()) {
                continue; // an English text shipped in a localized file
            }
            let line = render(&t.text).to_ascii_lowercase();
            // Each translation is found by its own keyword.
            let own = compile::compile(&t.text, &[]).keywords;
            assert!(!own.is_empty(), "{} [{}]", m.id, t.locale);
            assert!(
                own.iter().all(|k| line.contains(k.as_str())),
                "{} [{}]",
                m.id,
                t.locale
            );
            // An English keyword on a translated line is a literal both texts share (a
            // link, a cognate like `principal`), never needed to find the line.
            let hits: Vec<&str> = english
                .iter()
                .filter(|(k, _)| line.contains(k.as_str()))
                .map(|(k, _)| k.as_str())
                .collect();
            for k in &hits {
                assert!(
                    t.text.to_ascii_lowercase().contains(k),
                    "{} [{}]: English keyword `{k}` on {line}",
                    m.id,
                    t.locale
                );
            }
            total += 1;
            // Links and codes are language-neutral; count the English words.
            if !hits
                .iter()
                .any(|k| k.chars().all(|c| c.is_alphabetic() || c == ' '))
            {
                clean += 1;
            }
        }
    }
    assert!(clean * 10 > total * 9, "{clean} of {total}");
}

#[test]
fn reordered_index_placeholders_bind_their_captures_by_index() {
    let kb = kb_with(&fixture_catalog(), &["tests/fixtures/catalog-root"]);
    let log = format!(
        "{PREFIX}[Azure の呼び出し]VM 'vm-build-01' のカスタム スクリプト拡張機能 'ext-init' を取得しています\n{PREFIX}[Azure call]Getting custom script extension 'ext-en' for virtual machine 'vm-en'\n"
    );
    let r = report(&kb, &log);
    let f = r
        .findings
        .iter()
        .find(|f| f.article.as_str() == "team-role-scope")
        .unwrap();
    let caps: Vec<BTreeMap<String, String>> =
        f.evidence.iter().map(|e| e.captures.clone()).collect();
    assert_eq!(caps[0]["vm"], "vm-build-01");
    assert_eq!(caps[0]["extension"], "ext-init");
    assert_eq!(caps[1]["vm"], "vm-en");
    assert_eq!(caps[1]["extension"], "ext-en");
}

#[test]
fn an_unowned_aadsts_code_gives_the_generic_article_with_description_and_link() {
    let kb = kb_with(&fixture_catalog(), &["tests/fixtures/catalog-root"]);
    let log = format!(
        "{PREFIX}ERROR: AADSTS50034: The user account {{EmailHidden}} does not exist in the 72f988bf directory.\n"
    );
    let f = top(&kb, &log).unwrap();
    assert_eq!(f.article.as_str(), "entra-sign-in-error");
    assert_eq!(f.confidence, Confidence::Definite);
    let c = f.captures();
    assert_eq!(c["code"], "AADSTS50034");
    assert_eq!(
        c["description"],
        "The user account does not exist in the directory."
    );
    assert_eq!(
        c["error_url"],
        "https://login.microsoftonline.com/error?code=50034"
    );
    assert!(
        f.fix[0].contains("https://login.microsoftonline.com/error?code=50034"),
        "{:?}",
        f.fix
    );
    // An owned code goes to its owner only.
    let owned = format!("{PREFIX}AADSTS7000222: The provided client secret keys are expired.\n");
    let r = report(&kb, &owned);
    assert_eq!(r.findings[0].article.as_str(), "sp-secret-expired");
    assert!(
        r.findings
            .iter()
            .all(|f| f.article.as_str() != "entra-sign-in-error")
    );
}

#[test]
fn a_team_article_listing_a_code_wins_it() {
    let kb = kb_with(&fixture_catalog(), &["tests/fixtures/catalog-team-root"]);
    let log = format!("{PREFIX}AADSTS7000222: The provided client secret keys are expired.\n");
    let r = report(&kb, &log);
    let code_findings: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.rules.iter().any(|r| r.as_str().starts_with("code.")))
        .map(|f| f.article.as_str())
        .collect();
    assert_eq!(code_findings, ["team-secret-runbook"]);
}

#[test]
fn two_owners_of_a_code_in_one_root_is_an_error() {
    use arm_kb::kb::RootLocation;
    use arm_kb::source::SourceFile;
    let article = |id: &str| {
        (
            id.to_owned(),
            SourceFile::new(
                format!("team/kb/{id}.md"),
                "+++\ntitle = \"T\"\nerror_codes = [\"VS402913\"]\n+++\n## Symptoms\nx\n## Cause\ny\n## Fix\n1. z\n",
            ),
        )
    };
    let root = RootFiles {
        location: RootLocation::Dir("team".into()),
        articles: vec![article("one"), article("two")],
        rule_files: vec![],
        synonyms: None,
    };
    let mut diags = Vec::new();
    KnowledgeBase::from_roots_with(vec![root], &Catalog::default(), false, &mut diags);
    let errs = errors(&diags);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("duplicate-code-owner"), "{errs:?}");
    assert!(errs[0].ends_with("team/kb/two.md:3:17"), "{errs:?}");
}

#[test]
fn an_unknown_message_id_is_a_load_error_with_its_position() {
    use arm_kb::kb::RootLocation;
    use arm_kb::source::SourceFile;
    let root = RootFiles {
        location: RootLocation::Dir("team".into()),
        articles: vec![(
            "a".to_owned(),
            SourceFile::new(
                "team/kb/a.md",
                "+++\ntitle = \"A\"\n+++\n## Symptoms\nx\n## Cause\ny\n## Fix\n1. z\n",
            ),
        )],
        rule_files: vec![SourceFile::new(
            "team/rules/a.toml",
            "[[rule]]\nid = 'team.a'\narticle = 'a'\nmessages = ['azure-arm-rest:ExpiredServicePrincipalMessageWithLnk']\n",
        )],
        synonyms: None,
    };
    let mut diags = Vec::new();
    let kb = KnowledgeBase::from_roots_with(vec![root], &fixture_catalog(), false, &mut diags);
    let errs = errors(&diags);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("unknown-message"), "{errs:?}");
    assert!(errs[0].ends_with("team/rules/a.toml:4:13"), "{errs:?}");
    let hint = diags[0].hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("ExpiredServicePrincipalMessageWithLink"),
        "{hint}"
    );
    assert!(kb.rules.is_empty());
}

#[test]
fn a_definite_code_outranks_a_likely_phrase_whatever_its_priority() {
    let kb = kb_with(&fixture_catalog(), &["tests/fixtures/catalog-root"]);
    let log = format!(
        "{PREFIX}Failed to obtain an access token.\n{PREFIX}AADSTS7000222: The provided client secret keys are expired.\n"
    );
    let r = report(&kb, &log);
    assert_eq!(r.findings[0].article.as_str(), "sp-secret-expired");
    let generic = r
        .findings
        .iter()
        .find(|f| f.article.as_str() == "team-role-scope")
        .unwrap();
    assert_eq!(generic.confidence, Confidence::Likely);
    assert!(generic.priority > r.findings[0].priority);
}

#[test]
fn unless_messages_veto_in_every_locale() {
    let kb = kb_with(&fixture_catalog(), &["tests/fixtures/catalog-root"]);
    let fires = |line: &str| {
        report(&kb, &format!("{line}\n"))
            .findings
            .iter()
            .any(|f| f.rules.iter().any(|r| r.as_str() == "team.msi-unless"))
    };
    assert!(fires("identity probe"));
    assert!(!fires(
        "identity probe: Could not fetch access token for Managed Service Principal. Status code: 400, status message: x"
    ));
    assert!(!fires(
        "identity probe: 無法擷取受控服務主體的存取權杖。狀態碼: 400，狀態訊息: x"
    ));
}

#[test]
fn a_scope_is_split_and_unfilled_steps_are_conditional() {
    let kb = kb_with(&fixture_catalog(), &["tests/fixtures/catalog-root"]);
    let log = format!(
        "{PREFIX}The client 'c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19' with object id 'c2d6a1f4-3b8e-4f70-9a51-0e5d2b7c8f19' does not have authorization to perform action 'Microsoft.Resources/deployments/write' over scope '/subscriptions/0f2b9d6e-1c3a-4e5f-8a7b-6c5d4e3f2a1b/resourceGroups/rg-app/providers/Microsoft.Resources/deployments/main-20240501100003' or the scope is invalid. (Code: AuthorizationFailed)\n"
    );
    let r = report(&kb, &log);
    let f = r
        .findings
        .iter()
        .find(|f| f.article.as_str() == "team-role-scope")
        .unwrap();
    let c = f.captures();
    assert_eq!(
        c["scope"],
        "/subscriptions/0f2b9d6e-1c3a-4e5f-8a7b-6c5d4e3f2a1b/resourceGroups/rg-app"
    );
    assert_eq!(c["resource_group"], "rg-app");
    assert_eq!(c["subscription_id"], "0f2b9d6e-1c3a-4e5f-8a7b-6c5d4e3f2a1b");
    assert!(
        f.fix[0].ends_with(
            "--scope /subscriptions/0f2b9d6e-1c3a-4e5f-8a7b-6c5d4e3f2a1b/resourceGroups/rg-app`."
        ),
        "{}",
        f.fix[0]
    );
    assert!(!f.fix[1].starts_with(CONDITIONAL_STEP), "{}", f.fix[1]);
    assert!(
        f.fix[2].starts_with(&format!("{CONDITIONAL_STEP}resource)")),
        "{}",
        f.fix[2]
    );
    assert!(!f.fix[3].starts_with(CONDITIONAL_STEP));
    // The AuthorizationFailed code finds its owner, ranked first (definite).
    assert_eq!(r.findings[0].confidence, Confidence::Definite);
}
