//! Masking of secrets before anything leaves the process.
//!
//! Pipeline logs can carry credentials: tokens, client secrets, SAS signatures, storage keys,
//! private keys. Every output of `match` goes through [`report`], so no output format can
//! forget to mask. A secret value becomes [`MASK`]; the key name in front of it stays, so the
//! line still says what was there (`client_secret=***`).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::{Evidence, Report};

pub use crate::secrets::{MASK, SHAPES, redact};

static KEY_BEGIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----").expect("valid regex"));
static KEY_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----END [A-Z0-9 ]*PRIVATE KEY-----").expect("valid regex"));

/// Masks consecutive lines of a log, following private-key blocks across lines: every line
/// between `-----BEGIN … PRIVATE KEY-----` and its `END` line is masked whole.
#[derive(Debug, Default)]
pub struct LineRedactor {
    in_private_key: bool,
}

impl LineRedactor {
    pub fn new() -> Self {
        LineRedactor::default()
    }

    /// Masks the next line; `line` must follow the previous one in the log.
    pub fn line(&mut self, text: &str) -> String {
        if self.in_private_key {
            return match KEY_END.find(text) {
                Some(end) => {
                    self.in_private_key = false;
                    format!("{MASK}{}", &text[end.start()..])
                }
                None => MASK.to_owned(),
            };
        }
        if let Some(begin) = KEY_BEGIN.find(text) {
            self.in_private_key = !KEY_END.is_match(&text[begin.end()..]);
        }
        redact(text).into_owned()
    }

    /// Forgets the block state: the next line does not follow the previous one.
    pub fn gap(&mut self) {
        self.in_private_key = false;
    }
}

/// The report with every secret masked: evidence and context lines, captures, the fix
/// steps they were filled into, and the unexplained error lines.
pub fn report(mut report: Report) -> Report {
    for finding in &mut report.findings {
        let raw_captures = finding.captures();
        for evidence in &mut finding.evidence {
            redact_evidence(evidence);
        }
        let masked_captures = finding.captures();
        let replaced: Vec<(&String, String)> = raw_captures
            .iter()
            .filter_map(|(name, raw)| {
                let masked = masked_captures
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| MASK.to_owned());
                (&masked != raw).then_some((raw, masked))
            })
            .collect();
        let prose = finding
            .fix_before
            .iter_mut()
            .chain(finding.fix_after.iter_mut());
        for step in finding.fix.iter_mut().chain(prose) {
            let mut text = std::mem::take(step);
            for (raw, masked) in &replaced {
                if !raw.is_empty() {
                    text = text.replace(raw.as_str(), masked);
                }
            }
            *step = redact(&text).into_owned();
        }
    }
    for line in report.unexplained.iter_mut().flat_map(|u| &mut u.lines) {
        line.text = redact(&line.text).into_owned();
    }
    report
}

/// Masks one piece of evidence. A capture is masked when it looks like a secret itself, or
/// when it vanished from its line once the line was masked (it was part of a secret).
fn redact_evidence(evidence: &mut Evidence) {
    let mut lines = LineRedactor::new();
    let mut previous: Option<u64> = None;
    let mut follow = |lines: &mut LineRedactor, line: u64, text: &str| {
        if previous.is_some_and(|p| p + 1 != line) {
            lines.gap();
        }
        previous = Some(line);
        lines.line(text)
    };
    for c in &mut evidence.context_before {
        c.text = follow(&mut lines, c.line, &c.text);
    }
    let raw_text = std::mem::take(&mut evidence.text);
    evidence.text = follow(&mut lines, evidence.line, &raw_text);
    for c in &mut evidence.context_after {
        c.text = follow(&mut lines, c.line, &c.text);
    }
    evidence.captures = redact_captures(&evidence.captures, &raw_text, &evidence.text);
}

fn redact_captures(
    captures: &BTreeMap<String, String>,
    raw_line: &str,
    masked_line: &str,
) -> BTreeMap<String, String> {
    captures
        .iter()
        .map(|(name, value)| {
            let masked = redact(value);
            let hidden_in_line = !value.is_empty()
                && raw_line.contains(value.as_str())
                && !masked_line.contains(value.as_str());
            let shown = if hidden_in_line {
                MASK.to_owned()
            } else {
                masked.into_owned()
            };
            (name.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn masked(text: &str) -> String {
        redact(text).into_owned()
    }

    #[test]
    fn json_web_tokens_are_masked_whole() {
        let jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJhcGk6Ly9BenVyZUFEVG9rZW5FeGNoYW5nZSJ9.c2lnbmF0dXJlLXBhcnQtMTIzNDU2";
        assert_eq!(
            masked(&format!("assertion {jwt} was rejected")),
            "assertion *** was rejected"
        );
        // A token cut short by the evidence display still goes.
        assert_eq!(
            masked("token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYy8"),
            "token=***"
        );
    }

    #[test]
    fn client_secret_values_are_masked_keeping_the_key() {
        assert_eq!(
            masked("POST /token client_id=abc&client_secret=S3cr3t-v4lue&grant_type=x"),
            "POST /token client_id=abc&client_secret=***&grant_type=x"
        );
        assert_eq!(
            masked("ClientSecret: hunter2-but-longer"),
            "ClientSecret: ***"
        );
        assert_eq!(
            masked(r#"{"clientId": "1234", "clientSecret": "has spaces; and more"}"#),
            r#"{"clientId": "1234", "clientSecret": "***"}"#
        );
        assert_eq!(
            masked("export ARM_CLIENT_SECRET='abc def'"),
            "export ARM_CLIENT_SECRET='***'"
        );
    }

    #[test]
    fn bearer_tokens_are_masked() {
        assert_eq!(
            masked("Authorization: Bearer 0123456789abcdefABCDEF_-.~+/=="),
            "Authorization: Bearer ***"
        );
        // Prose after "bearer" is not a token.
        assert_eq!(
            masked("Bearer authentication failed"),
            "Bearer authentication failed"
        );
    }

    #[test]
    fn sas_signatures_are_masked() {
        assert_eq!(
            masked(
                "GET https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2025-01-01&sig=AbC%2Bdef%3D&sp=r"
            ),
            "GET https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2025-01-01&sig=***&sp=r"
        );
    }

    #[test]
    fn storage_account_keys_are_masked() {
        assert_eq!(
            masked(
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4+/Zm9vYmFy==;EndpointSuffix=core.windows.net"
            ),
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix=core.windows.net"
        );
    }

    #[test]
    fn entra_client_secret_shapes_are_masked() {
        let secret = "abc8Q~Zx1yW2vU3tS4rQ5pO6nM7lK8jI9hG0fE1d";
        assert_eq!(secret.len(), 40);
        assert_eq!(
            masked(&format!(
                "az login --service-principal -p {secret} -t tenant"
            )),
            "az login --service-principal -p *** -t tenant"
        );
    }

    #[test]
    fn private_keys_are_masked_on_one_line_and_across_lines() {
        assert_eq!(
            masked(
                r#""key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n""#
            ),
            r#""key": "-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----\n""#
        );
        let mut lines = LineRedactor::new();
        let block = [
            "2025-03-04T09:12:01.0000000Z -----BEGIN RSA PRIVATE KEY-----",
            "2025-03-04T09:12:01.0000000Z MIIEowIBAAKCAQEAv3",
            "2025-03-04T09:12:01.0000000Z short",
            "2025-03-04T09:12:01.0000000Z -----END RSA PRIVATE KEY-----",
            "2025-03-04T09:12:01.0000000Z next step",
        ];
        let out: Vec<String> = block.iter().map(|l| lines.line(l)).collect();
        assert_eq!(
            out,
            [
                block[0].to_owned(),
                MASK.to_owned(),
                MASK.to_owned(),
                "***-----END RSA PRIVATE KEY-----".to_owned(),
                block[4].to_owned(),
            ]
        );
        // The body of a key whose BEGIN line is out of sight.
        assert_eq!(
            masked(
                "2025-03-04T09:12:01.0000000Z MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
            ),
            "2025-03-04T09:12:01.0000000Z ***"
        );
        // A hex digest is not key material.
        let digest = "3f0c2a518d4e4b7a9c1e52b7d0e4a9f13f0c2a518d4e4b7a9c1e52b7d0e4a9f1";
        assert_eq!(masked(digest), digest);
    }

    #[test]
    fn password_values_are_masked() {
        assert_eq!(
            masked("sqlcmd -S db -U admin password=Pa55w0rd! -Q x"),
            "sqlcmd -S db -U admin password=*** -Q x"
        );
        assert_eq!(
            masked(r#"{"password": "p a s s"}"#),
            r#"{"password": "***"}"#
        );
    }

    /// One case per shape: the line as a log prints it, and what every output must show.
    const SHAPE_CASES: &[(&str, &str, &str)] = &[
        (
            "private-key",
            r#""k": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\n-----END PRIVATE KEY-----""#,
            r#""k": "-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----""#,
        ),
        (
            "jwt",
            "assertion eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYyJ9.c2ln rejected",
            "assertion *** rejected",
        ),
        (
            "entra-client-secret",
            "secret value abc8Q~Zx1yW2vU3tS4rQ5pO6nM7lK8jI9hG0fE1d in use",
            "secret value *** in use",
        ),
        (
            "azure-devops-pat-84",
            "PAT 0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEFGHIJ0123456789abcdefAZDOwxyz used",
            "PAT *** used",
        ),
        (
            "azure-devops-pat-52",
            "git -c user.pat=k2abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopq2 fetch",
            "git -c user.pat=*** fetch",
        ),
        (
            "github-token",
            "remote: ghp_0123456789abcdefghijABCDEFGHIJ012345 and github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "remote: *** and ***",
        ),
        (
            "gitlab-token",
            "token glpat-abcdefghij0123456789 was revoked",
            "token *** was revoked",
        ),
        (
            "npm-token",
            "//registry.npmjs.org/:_authToken npm_0123456789abcdefghijABCDEFGHIJ012345",
            "//registry.npmjs.org/:_authToken ***",
        ),
        (
            "pypi-token",
            "twine upload -u __token__ pypi-AgEIcHlwaS5vcmcCJDAxMjM0NTY3LTg5YWItY2RlZi0wMTIzLTQ1Njc4OWFiY2RlZgACKlsz",
            "twine upload -u __token__ ***",
        ),
        (
            "docker-hub-token",
            "docker login -u me dckr_pat_abcdefghij0123456789XYZ",
            "docker login -u me ***",
        ),
        (
            "slack-token",
            "webhook xoxb-1234567890-abcdefghijkl posted",
            "webhook *** posted",
        ),
        (
            "aws-access-key-id",
            "aws key AKIAIOSFODNN7EXAMPLE found",
            "aws key *** found",
        ),
        (
            "google-api-key",
            "key=AIzaSyA0123456789abcdefghijklmnopqrstuv",
            "key=***",
        ),
        (
            "stripe-key",
            "STRIPE sk_live_0123456789abcdefghijklmn set",
            "STRIPE *** set",
        ),
        (
            "sendgrid-key",
            "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG sent",
            "*** sent",
        ),
        (
            "terraform-cloud-token",
            "TFE_TOKEN abcdefghij0123.atlasv1.abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01 set",
            "TFE_TOKEN *** set",
        ),
        (
            "aws-secret-access-key",
            "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "export AWS_SECRET_ACCESS_KEY=***",
        ),
        (
            "api-key-header",
            "curl -H 'Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef' https://x",
            "curl -H 'Ocp-Apim-Subscription-Key: ***' https://x",
        ),
        (
            "npmrc-auth",
            "//pkgs.dev.azure.com/o/_packaging/f/npm/registry/:_authToken=c2VjcmV0dG9rZW4",
            "//pkgs.dev.azure.com/o/_packaging/f/npm/registry/:_authToken=***",
        ),
        (
            "powershell-securestring",
            "$p = ConvertTo-SecureString 'Hunter2Hunter2' -AsPlainText -Force",
            "$p = ConvertTo-SecureString '***' -AsPlainText -Force",
        ),
        (
            "url-encoded-secret",
            "body=grant_type%3Dpassword%26password%3DHunter2Hunter2&scope=x",
            "body=grant_type%3Dpassword%26password%3D***&scope=x",
        ),
        (
            "authorization-header",
            r#"git -c http.extraheader="AUTHORIZATION: basic OmFiY2RlZmdoaWprbG1ub3A=" fetch"#,
            r#"git -c http.extraheader="AUTHORIZATION: basic ***" fetch"#,
        ),
        (
            "bearer-token",
            "Authorization: Bearer 0123456789abcdefABCDEF_-.~+/==",
            "Authorization: Bearer ***",
        ),
        (
            "url-userinfo",
            "fatal: unable to access 'https://build:hunter2pass@dev.azure.com/org/_git/repo/'",
            "fatal: unable to access 'https://build:***@dev.azure.com/org/_git/repo/'",
        ),
        (
            "sas-signature",
            "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=AbC%2Bdef%3D&sp=r",
            "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=***&sp=r",
        ),
        (
            "connection-string-key",
            "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=Zm9vYmFy+/=;Server=db;Pwd=Pa55;",
            "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=***;Server=db;Pwd=***;",
        ),
        (
            "cli-secret-flag",
            "az ad sp create --password Sup3rS3cret --client-secret 'a b' ; Connect-AzAccount -ClientSecret hunter2x -Password=pw2",
            "az ad sp create --password *** --client-secret '***' ; Connect-AzAccount -ClientSecret *** -Password=***",
        ),
        (
            "az-login-p",
            "az login --service-principal -u 3f0c2a51-8d4e-4b7a-9c1e-52b7d0e4a9f1 -p plainpassword --tenant t",
            "az login --service-principal -u 3f0c2a51-8d4e-4b7a-9c1e-52b7d0e4a9f1 -p *** --tenant t",
        ),
        (
            "escaped-json-secret",
            r#"{"body": "{\"client_id\":\"abc\",\"client_secret\":\"s3cr3t value\"}"}"#,
            r#"{"body": "{\"client_id\":\"abc\",\"client_secret\":\"***\"}"}"#,
        ),
        (
            "key-value-secret",
            r#"{"servicePrincipalKey": "abc", "secret": "x y", "access_token": "tok"} refresh_token=rt1"#,
            r#"{"servicePrincipalKey": "***", "secret": "***", "access_token": "***"} refresh_token=***"#,
        ),
    ];

    #[test]
    fn every_shape_is_masked() {
        for shape in SHAPES {
            assert!(
                SHAPE_CASES.iter().any(|(name, _, _)| *name == shape.name),
                "shape {} has no test case",
                shape.name
            );
        }
        for (name, line, want) in SHAPE_CASES {
            assert_eq!(masked(line), *want, "shape {name}");
        }
    }

    #[test]
    fn look_alikes_of_secrets_are_left_alone() {
        for line in [
            "mkdir -p /home/vsts/work/1/a",
            "##[error]Could not fetch access token for Azure. Status code: 401",
            "Secret expired, update service connection at https://dev.azure.com/o/p/_settings/adminservices?resourceId=1",
            "sha256 3f0c2a518d4e4b7a9c1e52b7d0e4a9f13f0c2a518d4e4b7a9c1e52b7d0e4a9f1",
            "git@github.com:org/repo.git",
            "https://host:8080/path@v2",
            "--token-file ./t.txt",
        ] {
            assert_eq!(masked(line), line);
        }
    }

    #[test]
    fn ordinary_log_lines_are_left_alone() {
        for line in [
            "##[error]AADSTS7000222: The provided client secret keys for app '3f0c2a51-8d4e-4b7a-9c1e-52b7d0e4a9f1' are expired.",
            "use the `password` field of the output",
            "https://dev.azure.com/contoso/Web/_settings/adminservices?resourceId=1b2c3d4e-5f60-4718-9a0b-c1d2e3f40516",
            "##[error]ClientSecretCredential authentication failed",
        ] {
            assert!(matches!(redact(line), Cow::Borrowed(_)), "{line}");
        }
    }
}
