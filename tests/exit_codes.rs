//! The README's table of exit codes, row by row, as runs of the binary: 0 when there is
//! something (a finding, a hit, success), 1 when the answer is no, 2 on an error.

use crate::util::Test;

const ARTICLE: &str = "+++\ntitle = \"App missing\"\n+++\n\n## Symptoms\n\nx\n\n## Cause\n\ny\n\n## Fix\n\n1. Find it.\n";
const RULES: &str = "[[rule]]\nid = \"team.app-missing\"\narticle = \"app-missing\"\npatterns = ['AADSTS700016']\nexamples = ['AADSTS700016: app']\n";
const FAILING_RULES: &str = "[[rule]]\nid = \"team.app-missing\"\narticle = \"app-missing\"\npatterns = ['AADSTS700016']\nexamples = ['AADSTS700017: app']\n";

/// A root with one article and its rule.
fn team() -> Test {
    Test::new()
        .root("team")
        .article("app-missing", ARTICLE)
        .rules("app-missing", RULES)
}

/// A root whose rule file does not parse.
fn broken() -> Test {
    Test::new()
        .root("team")
        .article("app-missing", ARTICLE)
        .rules("app-missing", "[[rule]]\nid = \"team.x\n")
}

#[test]
fn match_exits_0_with_a_finding_1_without_and_2_on_an_error() {
    team()
        .args(["match"])
        .stdin("AADSTS700016: app not found\n")
        .status(0)
        .run();
    team().args(["match"]).stdin("all good\n").status(1).run();
    team()
        .args(["match", "--quiet"])
        .stdin("all good\n")
        .status(1)
        .stdout("")
        .run();
    team()
        .args(["match", "no-such.log"])
        .status(2)
        .stderr_contains("no-such.log")
        .run();
    broken()
        .args(["match"])
        .stdin("AADSTS700016\n")
        .status(2)
        .stderr_contains("[toml-syntax]")
        .run();
    Test::new()
        .root("team")
        .article("app-missing", "no front matter")
        .rules("app-missing", RULES)
        .args(["match"])
        .stdin("AADSTS700016\n")
        .status(2)
        .run();
}

#[test]
fn search_exits_0_with_hits_1_without_and_2_on_an_error() {
    team().args(["search", "app missing"]).status(0).run();
    team().args(["search", "zzzyqx"]).status(1).run();
    broken().args(["search", "app"]).status(2).run();
}

#[test]
fn show_and_list_exit_0_or_2_for_an_unknown_id() {
    team().args(["show", "app-missing"]).status(0).run();
    team()
        .args(["show", "app-misisng"])
        .status(2)
        .stderr_contains("no article `app-misisng`; did you mean `app-missing`?")
        .run();
    team().args(["list"]).status(0).run();
    team().args(["list", "--rules"]).status(0).run();
    broken().args(["list"]).status(2).run();
}

#[test]
fn check_test_and_explain_say_no_with_1() {
    team().args(["check"]).status(0).run();
    broken().args(["check"]).status(1).run();
    team().args(["test"]).status(0).run();
    Test::new()
        .root("team")
        .article("app-missing", ARTICLE)
        .rules("app-missing", FAILING_RULES)
        .args(["test"])
        .status(1)
        .run();
    team()
        .args(["explain", "team.app-missing"])
        .stdin("AADSTS700016\n")
        .status(0)
        .run();
    team()
        .args(["explain", "team.app-missing"])
        .stdin("nothing\n")
        .status(1)
        .run();
    team()
        .args(["explain", "team.app-misisng"])
        .status(2)
        .stderr_contains("did you mean `team.app-missing`?")
        .run();
    team()
        .args(["test", "team.nope", "team.app-misisng"])
        .status(2)
        .stderr_contains("no rule `team.nope`")
        .stderr_contains("no rule `team.app-misisng`; did you mean `team.app-missing`?")
        .run();
}
