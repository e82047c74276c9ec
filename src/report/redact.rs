//! Masking of secrets before anything leaves the process.
//!
//! Pipeline logs can carry credentials: tokens, client secrets, SAS signatures, storage keys,
//! private keys. Every output of `match` goes through [`report`], so no output format can
//! forget to mask. A secret value becomes [`MASK`]; the key name in front of it stays, so the
//! line still says what was there (`client_secret=***`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use super::{Evidence, Report};

/// What a secret value is replaced with (also what Azure Pipelines prints for its secrets).
pub const MASK: &str = "***";

/// One secret shape. The value to mask is the capture group whose name starts with
/// `secret` (the first that took part in the match); without such a group the whole match
/// is masked.
struct SecretPattern {
    regex: Regex,
}

/// Source of every secret shape, in the order they are applied: whole tokens first, so a
/// token after `Bearer` is already masked when the key-value shapes run.
const PATTERNS: &[&str] = &[
    // A private key on one line (JSON, escaped `\n`): keep the markers, mask the body.
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?P<secret>.+?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
    // JSON Web Token: base64url header `{"…` (eyJ), payload and (maybe cut) signature.
    r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*)?",
    // Entra ID client secret: three characters, a digit, `Q~`, then 31–34 more.
    r"[A-Za-z0-9_.~-]{3}[0-9]Q~[A-Za-z0-9_.~-]{31,34}",
    // HTTP bearer token.
    r"(?i:\bbearer)\s+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)",
    // SAS signature in a URL or connection string.
    r#"(?i:\bsig)=(?P<secret>[^&\s"'<>;]+)"#,
    // Storage account key in a connection string.
    r#"(?i:\baccountkey)\s*=\s*(?P<secret>[^;\s"']+)"#,
    // client_secret / clientSecret / client-secret / password as key=value, key: value or
    // "key": "value" (a quoted value is masked up to its closing quote).
    r#"(?i:client[_-]?secret|password)["']?\s*[:=]\s*(?:"(?P<secret_dq>[^"]*)"|'(?P<secret_sq>[^']*)'|(?P<secret>[^\s"'&;,]+))"#,
];

static SECRET_PATTERNS: LazyLock<Vec<SecretPattern>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|p| SecretPattern {
            regex: Regex::new(p).expect("secret patterns are valid"),
        })
        .collect()
});

/// All shapes at once: most lines hold no secret and are answered by one search.
static ANY_SECRET: LazyLock<RegexSet> =
    LazyLock::new(|| RegexSet::new(PATTERNS).expect("secret patterns are valid"));

/// A line that is nothing but a long base64 run (after an optional pipeline timestamp):
/// the body of a PEM private key whose `BEGIN` line is out of sight.
static KEY_BODY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<prefix>\s*(?:\d{4}-\d{2}-\d{2}T[0-9:.]+Z\s+)?)(?P<secret>[A-Za-z0-9+/]{40,}={0,2})\s*$")
        .expect("valid regex")
});

static KEY_BEGIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----").expect("valid regex"));
static KEY_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"-----END [A-Z0-9 ]*PRIVATE KEY-----").expect("valid regex"));

/// Masks every secret in one line of text.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    if ANY_SECRET.is_match(text) {
        for pattern in SECRET_PATTERNS.iter() {
            if let Cow::Owned(masked) = pattern.mask(&out) {
                out = Cow::Owned(masked);
            }
        }
    }
    if let Some(masked) = mask_key_body_line(&out) {
        out = Cow::Owned(masked);
    }
    out
}

impl SecretPattern {
    fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let names: Vec<usize> = self
            .regex
            .capture_names()
            .enumerate()
            .filter(|(_, n)| n.is_some_and(|n| n.starts_with("secret")))
            .map(|(i, _)| i)
            .collect();
        self.regex.replace_all(text, |caps: &regex::Captures<'_>| {
            let whole = caps.get(0).expect("group 0 always matches");
            let Some(secret) = names.iter().find_map(|&i| caps.get(i)) else {
                return MASK.to_owned();
            };
            if secret.as_str().trim().is_empty() || secret.as_str() == MASK {
                return whole.as_str().to_owned();
            }
            format!(
                "{}{MASK}{}",
                &text[whole.start()..secret.start()],
                &text[secret.end()..whole.end()]
            )
        })
    }
}

/// Masks a line that is only a long base64 run mixing upper case, lower case and digits
/// (hex digests, which have no upper case, stay readable).
fn mask_key_body_line(text: &str) -> Option<String> {
    let caps = KEY_BODY_LINE.captures(text)?;
    let body = caps.name("secret")?.as_str();
    let mixed = body.bytes().any(|b| b.is_ascii_uppercase())
        && body.bytes().any(|b| b.is_ascii_lowercase())
        && body.bytes().any(|b| b.is_ascii_digit());
    mixed.then(|| format!("{}{MASK}", &caps["prefix"]))
}

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
