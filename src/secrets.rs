//! Secret shapes: one table of the credentials a pipeline log can carry, and where they
//! are in a line. Everything that leaves the process masks with these: the report of
//! `match` (`crate::report::redact`), the lines the scanner shows and captures (masked on
//! the whole line before a line is cut), `explain` and `new rule --from-log`.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// What a secret value is replaced with (also what Azure Pipelines prints for its secrets).
pub const MASK: &str = "***";

/// One secret shape. The value to mask is the capture group whose name starts with
/// `secret` (the first that took part in the match); without such a group the whole match
/// is masked.
struct SecretPattern {
    regex: Regex,
    /// The groups whose name starts with `secret`.
    value_groups: Vec<usize>,
}

/// A kind of secret and the regex that finds it; `name` is what tests and docs call it.
pub struct SecretShape {
    pub name: &'static str,
    pub regex: &'static str,
}

/// Every secret shape, in the order they are applied: whole tokens first, so a token after
/// `Bearer` or a key name is already masked when the key-value shapes run. Each shape has a
/// test (`tests::every_shape_is_masked`). Key-value shapes keep the key and mask the value.
pub const SHAPES: &[SecretShape] = &[
    // A private key on one line (JSON, escaped `\n`): keep the markers, mask the body.
    SecretShape {
        name: "private-key",
        regex: r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?P<secret>.+?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
    },
    // JSON Web Token: base64url header `{"…` (eyJ), payload and (maybe cut) signature.
    SecretShape {
        name: "jwt",
        regex: r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*)?",
    },
    // Entra ID client secret: three characters, a digit, `Q~`, then 31–34 more.
    SecretShape {
        name: "entra-client-secret",
        regex: r"[A-Za-z0-9_.~-]{3}[0-9]Q~[A-Za-z0-9_.~-]{31,34}",
    },
    // Azure DevOps personal access token, 2024 format: 84 characters with `AZDO` at 76.
    SecretShape {
        name: "azure-devops-pat-84",
        regex: r"\b[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}\b",
    },
    // Azure DevOps personal access token, classic format: 52 base32 characters.
    SecretShape {
        name: "azure-devops-pat-52",
        regex: r"\b[a-z2-7]{52}\b",
    },
    // GitHub tokens: classic (`ghp_`, OAuth `gho_`, user-to-server `ghu_`, server `ghs_`,
    // refresh `ghr_`) and fine-grained (`github_pat_`).
    SecretShape {
        name: "github-token",
        regex: r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
    },
    // GitLab personal, pipeline and deploy tokens.
    SecretShape {
        name: "gitlab-token",
        regex: r"\bgl(?:pat|ptt|dt|rt)-[A-Za-z0-9_-]{20,}\b",
    },
    // npm access token.
    SecretShape {
        name: "npm-token",
        regex: r"\bnpm_[A-Za-z0-9]{36}\b",
    },
    // PyPI upload token (a macaroon, base64 after `pypi-`).
    SecretShape {
        name: "pypi-token",
        regex: r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
    },
    // Docker Hub personal access token.
    SecretShape {
        name: "docker-hub-token",
        regex: r"\bdckr_pat_[A-Za-z0-9_-]{20,}",
    },
    // Slack tokens.
    SecretShape {
        name: "slack-token",
        regex: r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    },
    // AWS access key id.
    SecretShape {
        name: "aws-access-key-id",
        regex: r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
    },
    // Google API key.
    SecretShape {
        name: "google-api-key",
        regex: r"\bAIza[A-Za-z0-9_-]{35}\b",
    },
    // Stripe secret and restricted keys.
    SecretShape {
        name: "stripe-key",
        regex: r"\b[rs]k_live_[A-Za-z0-9]{20,}\b",
    },
    // SendGrid API key.
    SecretShape {
        name: "sendgrid-key",
        regex: r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
    },
    // Terraform Cloud / Enterprise API token.
    SecretShape {
        name: "terraform-cloud-token",
        regex: r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}",
    },
    // AWS secret access key after its variable or field name.
    SecretShape {
        name: "aws-secret-access-key",
        regex: r#"(?i:aws_?secret_?access_?key)["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9/+=]{40})"#,
    },
    // API keys sent as headers (API Management, Azure Functions, generic `x-api-key`).
    SecretShape {
        name: "api-key-header",
        regex: r#"(?i:\b(?:ocp-apim-subscription-key|x-functions-key|x-api-key|api-key))\s*[:=]\s*(?P<secret>[^\s"',;]+)"#,
    },
    // npm and .npmrc credentials: `_authToken=`, `_auth=`, `_password=`.
    SecretShape {
        name: "npmrc-auth",
        regex: r#"(?:\b|:)(?:_authToken|_auth|_password)\s*=\s*(?P<secret>[^\s"']+)"#,
    },
    // A password in PowerShell: `ConvertTo-SecureString 'value' -AsPlainText`.
    SecretShape {
        name: "powershell-securestring",
        regex: r#"(?i:convertto-securestring)\s+(?i:-string\s+)?(?:"(?P<secret_dq>[^"]*)"|'(?P<secret_sq>[^']*)'|(?P<secret>[^\s"'|;)]+))"#,
    },
    // A secret in a URL-encoded form body or query: `password%3D…`, `client_secret%3D…`.
    SecretShape {
        name: "url-encoded-secret",
        regex: r#"(?i:password|passwd|client_?secret|pwd)(?i:%3D)(?P<secret>[^&\s"']+)"#,
    },
    // HTTP basic or bearer credentials after an `Authorization:` header name (git's
    // `http.extraheader="AUTHORIZATION: basic …"` included).
    SecretShape {
        name: "authorization-header",
        regex: r"(?i:\bauthorization)\s*[:=]\s*(?i:basic|bearer|token|negotiate)\s+(?P<secret>[A-Za-z0-9._~+/-]+=*)",
    },
    // HTTP bearer token.
    SecretShape {
        name: "bearer-token",
        regex: r"(?i:\bbearer)\s+(?P<secret>[A-Za-z0-9._~+/-]{16,}=*)",
    },
    // A password in a URL: `scheme://user:password@host`.
    SecretShape {
        name: "url-userinfo",
        regex: r"(?i:\b[a-z][a-z0-9+.-]*://)[^\s:/@]*:(?P<secret>[^\s@/]+)@",
    },
    // SAS signature in a URL or connection string.
    SecretShape {
        name: "sas-signature",
        regex: r#"(?i:\bsig)=(?P<secret>[^&\s"'<>;]+)"#,
    },
    // Storage account key, Service Bus / Event Hubs shared access key and a SQL `Pwd=` in a
    // connection string.
    SecretShape {
        name: "connection-string-key",
        regex: r#"(?i:\b(?:accountkey|sharedaccesskey|pwd))\s*=\s*(?P<secret>[^;\s"']+)"#,
    },
    // Command-line secrets: `--password X`, `--client-secret X`, `--secret X`,
    // `-ClientSecret X`, `-Password X`, `-ServicePrincipalKey X`, `--token X` (also `=X`).
    SecretShape {
        name: "cli-secret-flag",
        regex: r#"(?i:(?:^|\s)(?:--(?:password|client-secret|secret|token|sas-token|account-key|pat)|-(?:password|clientsecret|serviceprincipalkey|secret|accesstoken|certificatepassword)))(?:\s+|=)(?:"(?P<secret_dq>[^"]*)"|'(?P<secret_sq>[^']*)'|(?P<secret>[^\s"']+))"#,
    },
    // `az login -u <id> -p <secret>` (and `-p` right after `az login … --service-principal`).
    SecretShape {
        name: "az-login-p",
        regex: r#"(?:\s-u\s+\S+|(?i:\baz\s+login\b)[^\n]*?)\s-p\s+(?:"(?P<secret_dq>[^"]*)"|'(?P<secret_sq>[^']*)'|(?P<secret>[^\s"']+))"#,
    },
    // An escaped JSON secret inside a JSON string: `\"client_secret\":\"…\"`.
    SecretShape {
        name: "escaped-json-secret",
        regex: r#"(?i)\\"(?:client_?secret|secret|password|access_?token|refresh_?token|id_?token|service_?principal_?key|client_?assertion|token)\\"\s*:\s*\\"(?P<secret>(?:[^"\\]|\\[^"])*)\\""#,
    },
    // Key-value secrets: client_secret / clientSecret / password / servicePrincipalKey /
    // access_token / refresh_token / id_token / client_assertion / secret / api key, as
    // key=value, key: value or "key": "value" (a quoted value is masked to its closing quote).
    SecretShape {
        name: "key-value-secret",
        regex: r#"(?i:client[_-]?secret|password|passwd|service_?principal_?key|access_?token|refresh_?token|id_?token|client_?assertion|api_?key|\bsecret)["']?\s*[:=]\s*(?:"(?P<secret_dq>[^"]*)"|'(?P<secret_sq>[^']*)'|(?P<secret>[^\s"'&;,]+))"#,
    },
];

static SECRET_PATTERNS: LazyLock<Vec<SecretPattern>> = LazyLock::new(|| {
    SHAPES
        .iter()
        .map(|shape| {
            let regex = Regex::new(shape.regex).expect("secret patterns are valid");
            let value_groups = regex
                .capture_names()
                .enumerate()
                .filter(|(_, n)| n.is_some_and(|n| n.starts_with("secret")))
                .map(|(i, _)| i)
                .collect();
            SecretPattern {
                regex,
                value_groups,
            }
        })
        .collect()
});

/// A line that is nothing but a long base64 run (after an optional pipeline timestamp):
/// the body of a PEM private key whose `BEGIN` line is out of sight.
static KEY_BODY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<prefix>\s*(?:\d{4}-\d{2}-\d{2}T[0-9:.]+Z\s+)?)(?P<secret>[A-Za-z0-9+/]{40,}={0,2})\s*$")
        .expect("valid regex")
});

/// Masks every secret in one line of text.
pub fn redact(text: &str) -> Cow<'_, str> {
    let spans = secret_spans(text);
    if spans.is_empty() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(mask(text, &spans, 0..text.len()))
    }
}

/// The byte ranges of `text` that hold a secret, sorted; overlapping and touching ranges
/// are merged. Every shape looks at the whole of `text`, so a caller that shows only part
/// of a line finds the secrets of the whole line first, then cuts ([`mask`]).
pub fn secret_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    // Each shape on its own, not one `RegexSet`: every shape has its literal prefilter
    // then, and a small lazy DFA; the set's overlapping search over 29 shapes took 15 µs
    // per log line against 4 µs, and its DFA grew to 2 MiB.
    for pattern in SECRET_PATTERNS.iter() {
        pattern.spans(text, &mut spans);
    }
    if let Some(body) = key_body_span(text) {
        spans.push(body);
    }
    spans.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// `text[shown]` with every part of it that lies in one of `spans` (from
/// [`secret_spans`] of the whole `text`) replaced by [`MASK`]; a secret cut by the edge of
/// `shown` is masked as far as it is shown.
pub fn mask(text: &str, spans: &[Range<usize>], shown: Range<usize>) -> String {
    let mut out = String::with_capacity(shown.len());
    let mut at = shown.start;
    for span in spans {
        let (from, to) = (span.start.max(shown.start), span.end.min(shown.end));
        if from >= to || from < at {
            continue;
        }
        out.push_str(&text[at..from]);
        out.push_str(MASK);
        at = to;
    }
    out.push_str(&text[at..shown.end]);
    out
}

impl SecretPattern {
    /// Adds the ranges this shape masks in `text`: the value group (the first `secret…`
    /// group that took part), else the whole match. A value already masked or blank is no
    /// secret.
    fn spans(&self, text: &str, spans: &mut Vec<Range<usize>>) {
        for caps in self.regex.captures_iter(text) {
            let whole = caps.get(0).expect("group 0 always matches");
            match self.value_groups.iter().find_map(|&i| caps.get(i)) {
                None => spans.push(whole.range()),
                Some(value) if value.as_str().trim().is_empty() || value.as_str() == MASK => {}
                Some(value) => spans.push(value.range()),
            }
        }
    }
}

/// A line that is only a long base64 run mixing upper case, lower case and digits (hex
/// digests, which have no upper case, stay readable): the run, to the end of the line.
fn key_body_span(text: &str) -> Option<Range<usize>> {
    let caps = KEY_BODY_LINE.captures(text)?;
    let body = caps.name("secret")?;
    let b = body.as_str().as_bytes();
    let mixed = b.iter().any(u8::is_ascii_uppercase)
        && b.iter().any(u8::is_ascii_lowercase)
        && b.iter().any(u8::is_ascii_digit);
    mixed.then(|| body.start()..text.len())
}
