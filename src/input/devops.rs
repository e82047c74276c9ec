//! `match --build URL`: a run's task logs, fetched from Azure DevOps (REST API 7.1).
//!
//! The timeline (`_apis/build/builds/{id}/timeline`) lists the run's records (stages,
//! phases, jobs, tasks) linked by `parentId`; the log of each failed `Task` record (every
//! task with `--all-logs`) is a source named `Job / Task` (`Stage / Job / Task` when the
//! run has several stages), streamed from `_apis/build/builds/{id}/logs/{logId}` straight
//! into the scanner. The token comes from `SYSTEM_ACCESSTOKEN` (Bearer) or
//! `AZURE_DEVOPS_EXT_PAT` (Basic), travels only over https (or to a loopback host), is
//! never printed, and never follows a redirect.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use super::{Fetch, Source};

/// The REST API version every call names.
pub const API_VERSION: &str = "7.1";
/// The job access token of a pipeline step (sent as `Bearer`).
pub const ACCESS_TOKEN_VAR: &str = "SYSTEM_ACCESSTOKEN";
/// A personal access token, as the Azure DevOps CLI extension reads it (sent as `Basic`).
pub const PAT_VAR: &str = "AZURE_DEVOPS_EXT_PAT";
/// The timeline's JSON is read whole, up to this size.
const MAX_TIMELINE_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DevopsError {
    #[error("not a run's URL: {0}")]
    BadUrl(String),
    #[error(
        "no token to call Azure DevOps: set {ACCESS_TOKEN_VAR} (in a pipeline step: \
         `env: {{ {ACCESS_TOKEN_VAR}: $(System.AccessToken) }}`) or {PAT_VAR} (a personal \
         access token with the Build (Read) scope)"
    )]
    NoToken,
    #[error(
        "{0} is set but holds an unexpanded `$(...)` macro: map it with `$(System.AccessToken)`"
    )]
    UnexpandedToken(&'static str),
    #[error("refusing to send a token over plain http to {0}: use https")]
    InsecureUrl(String),
    #[error("{what}: 401 Unauthorized: the token was refused (expired or revoked?) ({url})")]
    Unauthorized { what: String, url: String },
    #[error(
        "{what}: 403 Forbidden: the token may not read this run (a PAT needs the Build (Read) \
         scope; a job token needs access to the project) ({url})"
    )]
    Forbidden { what: String, url: String },
    #[error(
        "{what}: Azure DevOps answered with a sign-in page ({status}), not data: the token is \
         not valid for this organisation ({url})"
    )]
    SignIn {
        what: String,
        status: u16,
        url: String,
    },
    #[error("{what}: 404 Not Found: no such run, or no access to it ({url})")]
    NotFound { what: String, url: String },
    #[error("{what}: redirected ({status}), which a token never follows; a sign-in page? ({url})")]
    Redirected {
        what: String,
        status: u16,
        url: String,
    },
    #[error("{what}: still {status} after {tries} tries (rate limited or unavailable) ({url})")]
    Busy {
        what: String,
        status: u16,
        tries: u32,
        url: String,
    },
    #[error("{what}: HTTP {status} ({url})")]
    Status {
        what: String,
        status: u16,
        url: String,
    },
    #[error("{what}: no answer within {secs} s ({url})")]
    Timeout {
        what: String,
        secs: u64,
        url: String,
    },
    #[error("{what}: {message} ({url})")]
    Transport {
        what: String,
        message: String,
        url: String,
    },
    #[error("{what}: not the timeline JSON the API documents: {message} ({url})")]
    BadTimeline {
        what: String,
        message: String,
        url: String,
    },
}

/// A run's results page, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildUrl {
    /// `https://dev.azure.com/{org}`, `https://{org}.visualstudio.com`, or a server's
    /// collection URL; no trailing slash.
    pub collection: String,
    /// The project as it appears in the path (percent-encoded).
    pub project: String,
    pub build_id: u64,
    https: bool,
    host: String,
}

impl BuildUrl {
    /// Accepts `{collection}/{project}/_build/results?buildId={id}` (other query
    /// parameters and a fragment allowed).
    pub fn parse(url: &str) -> Result<BuildUrl, DevopsError> {
        let bad = |why: &str| DevopsError::BadUrl(format!("{why}: {url}"));
        // `$(System.TeamProject)` may hold spaces.
        let cleaned = url.trim().replace(' ', "%20");
        let without_fragment = cleaned.split('#').next().unwrap_or_default();
        let (scheme, rest) = without_fragment
            .split_once("://")
            .ok_or_else(|| bad("expected an https:// URL"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(bad("expected an https:// URL")),
        };
        let (authority, path_query) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("expected a host name"));
        }
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let at = segments
            .windows(2)
            .position(|w| {
                w[0].eq_ignore_ascii_case("_build") && w[1].eq_ignore_ascii_case("results")
            })
            .ok_or_else(|| bad("expected .../{project}/_build/results?buildId=N"))?;
        if at == 0 {
            return Err(bad("no project before /_build/results"));
        }
        let project = segments[at - 1].to_owned();
        let collection_path: String = segments[..at - 1].iter().map(|s| format!("/{s}")).collect();
        let build_id = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| k.eq_ignore_ascii_case("buildId"))
            .map(|(_, v)| v)
            .ok_or_else(|| bad("no buildId=N in the query"))?
            .parse::<u64>()
            .map_err(|_| bad("buildId is not a number"))?;
        let scheme = if https { "https" } else { "http" };
        Ok(BuildUrl {
            collection: format!("{scheme}://{authority}{collection_path}"),
            project,
            build_id,
            https,
            host: host_of(authority).to_owned(),
        })
    }

    fn api(&self) -> String {
        format!(
            "{}/{}/_apis/build/builds/{}",
            self.collection, self.project, self.build_id
        )
    }

    pub fn timeline_url(&self) -> String {
        format!("{}/timeline?api-version={API_VERSION}", self.api())
    }

    pub fn log_url(&self, log_id: u64) -> String {
        format!("{}/logs/{log_id}?api-version={API_VERSION}", self.api())
    }

    /// A token may travel over plain http only to this machine.
    fn may_carry_token(&self) -> bool {
        self.https || is_loopback(&self.host)
    }
}

/// The host of `host[:port]` or `[v6]:port`.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The `Authorization` header; its value is never shown (`Debug` masks it).
#[derive(Clone)]
pub struct Auth {
    header: String,
    kind: &'static str,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Auth({} ***)", self.kind)
    }
}

impl Auth {
    /// `SYSTEM_ACCESSTOKEN` → Bearer; else `AZURE_DEVOPS_EXT_PAT` → Basic `:PAT`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Auth, DevopsError> {
        let get = |name: &'static str| -> Result<Option<String>, DevopsError> {
            match var(name).map(|v| v.trim().to_owned()) {
                Some(v) if v.starts_with("$(") => Err(DevopsError::UnexpandedToken(name)),
                Some(v) if !v.is_empty() => Ok(Some(v)),
                _ => Ok(None),
            }
        };
        if let Some(token) = get(ACCESS_TOKEN_VAR)? {
            return Ok(Auth {
                header: format!("Bearer {token}"),
                kind: "Bearer",
            });
        }
        if let Some(pat) = get(PAT_VAR)? {
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!(":{pat}"));
            return Ok(Auth {
                header: format!("Basic {encoded}"),
                kind: "Basic",
            });
        }
        Err(DevopsError::NoToken)
    }
}

/// Time-outs and retries of the calls.
#[derive(Clone, Copy, Debug)]
pub struct ClientConfig {
    /// To connect, to get the answer's headers, and between two reads of a body.
    pub timeout: Duration,
    /// How many times a 429 or 503 is retried.
    pub retries: u32,
    /// The longest wait honoured from a `Retry-After` (longer ones are cut to this).
    pub max_retry_wait: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(30),
            retries: 3,
            max_retry_wait: Duration::from_secs(60),
        }
    }
}

/// Calls one organisation's REST API with one token.
pub struct Client {
    agent: ureq::Agent,
    auth: Auth,
    config: ClientConfig,
}

impl Client {
    pub fn new(url: &BuildUrl, auth: Auth, config: ClientConfig) -> Result<Client, DevopsError> {
        if !url.may_carry_token() {
            return Err(DevopsError::InsecureUrl(url.host.clone()));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .https_only(!is_loopback(&url.host))
            .timeout_connect(Some(config.timeout))
            .timeout_recv_response(Some(config.timeout))
            .timeout_per_read(Some(config.timeout))
            .user_agent(concat!("arm-kb/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Client {
            agent,
            auth,
            config,
        })
    }

    /// GETs `url`; `what` names it in errors. Retries 429 and 503 as `Retry-After` says.
    fn get(
        &self,
        url: &str,
        accept: &str,
        what: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, DevopsError> {
        let (what, url_owned) = (what.to_owned(), url.to_owned());
        let mut tries = 0;
        loop {
            tries += 1;
            let result = self
                .agent
                .get(url)
                .header("Authorization", &self.auth.header)
                .header("Accept", accept)
                .call();
            let response = match result {
                Ok(response) => response,
                Err(ureq::Error::Timeout(_)) => {
                    return Err(DevopsError::Timeout {
                        what,
                        secs: self.config.timeout.as_secs(),
                        url: url_owned,
                    });
                }
                Err(e) => {
                    return Err(DevopsError::Transport {
                        what,
                        message: e.to_string(),
                        url: url_owned,
                    });
                }
            };
            let status = response.status().as_u16();
            let html = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
            match status {
                203 => {
                    return Err(DevopsError::SignIn {
                        what,
                        status,
                        url: url_owned,
                    });
                }
                200..=299 if html => {
                    return Err(DevopsError::SignIn {
                        what,
                        status,
                        url: url_owned,
                    });
                }
                200..=299 => return Ok(response),
                300..=399 => {
                    return Err(DevopsError::Redirected {
                        what,
                        status,
                        url: url_owned,
                    });
                }
                401 => {
                    return Err(DevopsError::Unauthorized {
                        what,
                        url: url_owned,
                    });
                }
                403 => {
                    return Err(DevopsError::Forbidden {
                        what,
                        url: url_owned,
                    });
                }
                404 => {
                    return Err(DevopsError::NotFound {
                        what,
                        url: url_owned,
                    });
                }
                429 | 503 if tries <= self.config.retries => {
                    let wait = retry_after(&response).unwrap_or(Duration::from_secs(tries.into()));
                    std::thread::sleep(wait.min(self.config.max_retry_wait));
                }
                429 | 503 => {
                    return Err(DevopsError::Busy {
                        what,
                        status,
                        tries,
                        url: url_owned,
                    });
                }
                _ => {
                    return Err(DevopsError::Status {
                        what,
                        status,
                        url: url_owned,
                    });
                }
            }
        }
    }
}

/// `Retry-After: <seconds>` (the form Azure DevOps sends); a date is not honoured.
fn retry_after(response: &ureq::http::Response<ureq::Body>) -> Option<Duration> {
    let value = response.headers().get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[derive(Debug, Deserialize)]
pub struct Timeline {
    #[serde(default)]
    pub records: Vec<Record>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub id: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub order: Option<i64>,
    #[serde(default)]
    pub log: Option<LogReference>,
}

#[derive(Debug, Deserialize)]
pub struct LogReference {
    pub id: u64,
}

/// A task log chosen from the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskLog {
    /// `Job / Task`, or `Stage / Job / Task` when the run has several stages.
    pub name: String,
    pub log_id: u64,
}

/// The task logs to read, in the run's order: failed tasks only, or every task.
pub fn select_logs(timeline: &Timeline, all_logs: bool) -> Vec<TaskLog> {
    let by_id: HashMap<&str, &Record> = timeline
        .records
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let several_stages = timeline
        .records
        .iter()
        .filter(|r| r.kind.eq_ignore_ascii_case("Stage"))
        .count()
        > 1;
    let name_of = |r: &Record| r.name.clone().unwrap_or_else(|| r.kind.clone());
    let mut chosen: Vec<(Vec<(i64, String)>, TaskLog)> = timeline
        .records
        .iter()
        .filter(|r| r.kind.eq_ignore_ascii_case("Task"))
        .filter(|r| {
            all_logs
                || r.result
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("failed"))
        })
        .filter_map(|task| {
            let log_id = task.log.as_ref()?.id;
            let chain = chain(task, &by_id);
            let find = |kind: &str| chain.iter().find(|r| r.kind.eq_ignore_ascii_case(kind));
            let mut parts = Vec::new();
            if let Some(stage) = find("Stage").filter(|_| several_stages) {
                parts.push(name_of(stage));
            }
            if let Some(job) = find("Job") {
                parts.push(name_of(job));
            }
            parts.push(name_of(task));
            let key = chain
                .iter()
                .map(|r| (r.order.unwrap_or(i64::MAX), name_of(r)))
                .collect();
            Some((
                key,
                TaskLog {
                    name: parts.join(" / "),
                    log_id,
                },
            ))
        })
        .collect();
    chosen.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.log_id.cmp(&b.1.log_id)));
    let mut logs: Vec<TaskLog> = chosen.into_iter().map(|(_, log)| log).collect();
    // Two tasks of one name in one job: the log id tells them apart.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for log in &logs {
        *seen.entry(log.name.clone()).or_default() += 1;
    }
    for log in &mut logs {
        if seen[&log.name] > 1 {
            log.name = format!("{} (log {})", log.name, log.log_id);
        }
    }
    logs
}

/// The chain of records from the root down to `record` (cycles and dangling parents cut).
fn chain<'a>(record: &'a Record, by_id: &HashMap<&str, &'a Record>) -> Vec<&'a Record> {
    let mut chain = vec![record];
    let mut current = record;
    while let Some(parent) = current.parent_id.as_deref().and_then(|p| by_id.get(p)) {
        if chain.len() > 16 || chain.iter().any(|r| r.id == parent.id) {
            break;
        }
        chain.push(parent);
        current = parent;
    }
    chain.reverse();
    chain
}

/// One task log, fetched when the scanner opens it and streamed, never held whole.
struct RemoteLog {
    client: Arc<Client>,
    url: String,
    what: String,
}

impl Fetch for RemoteLog {
    fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        let response = self
            .client
            .get(&self.url, "text/plain", &self.what)
            .map_err(io::Error::other)?;
        let timeout = self.client.config.timeout.as_secs();
        Ok(Box::new(BodyErrors {
            body: response.into_body().into_reader(),
            timeout,
        }))
    }
}

/// Read errors of a log body in plain words.
struct BodyErrors<R> {
    body: R,
    timeout: u64,
}

impl<R: Read> Read for BodyErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.body.read(buf).map_err(|e| {
            if e.kind() == io::ErrorKind::TimedOut || e.to_string().contains("timeout") {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no data within {} s while reading the log", self.timeout),
                )
            } else {
                e
            }
        })
    }
}

/// What `--build` found: the sources to scan, and notes for standard error.
#[derive(Debug)]
pub struct BuildSources {
    pub sources: Vec<Source>,
    pub notes: Vec<String>,
}

/// Reads the run's timeline and returns one source per chosen task log (fetched when
/// scanned). `var` reads the environment (for the token).
pub fn build_sources(
    url: &str,
    all_logs: bool,
    var: impl Fn(&str) -> Option<String>,
    config: ClientConfig,
) -> Result<BuildSources, DevopsError> {
    let build = BuildUrl::parse(url)?;
    let auth = Auth::from_env(var)?;
    let client = Arc::new(Client::new(&build, auth, config)?);
    let timeline_url = build.timeline_url();
    let what = format!("timeline of run {}", build.build_id);
    let response = client.get(&timeline_url, "application/json", &what)?;
    let bad_timeline = |message: String| DevopsError::BadTimeline {
        what: what.clone(),
        message,
        url: timeline_url.clone(),
    };
    let body = response
        .into_body()
        .with_config()
        .limit(MAX_TIMELINE_BYTES)
        .read_to_vec()
        .map_err(|e| bad_timeline(e.to_string()))?;
    let timeline: Timeline = if body.iter().all(u8::is_ascii_whitespace) {
        Timeline {
            records: Vec::new(),
        }
    } else {
        serde_json::from_slice(&body).map_err(|e| bad_timeline(e.to_string()))?
    };
    let logs = select_logs(&timeline, all_logs);
    let mut notes = Vec::new();
    if logs.is_empty() {
        notes.push(if all_logs {
            format!("run {}: the timeline lists no task log yet", build.build_id)
        } else {
            format!(
                "run {}: no failed task with a log in the timeline (--all-logs reads every task's log)",
                build.build_id
            )
        });
    }
    let sources = logs
        .into_iter()
        .map(|log| {
            let fetch = RemoteLog {
                client: Arc::clone(&client),
                url: build.log_url(log.log_id),
                what: format!("log of {}", log.name),
            };
            Source::fetched(&log.name, Box::new(fetch))
        })
        .collect();
    Ok(BuildSources { sources, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_url_forms_parse() {
        let url = BuildUrl::parse(
            "https://dev.azure.com/contoso/Web/_build/results?buildId=4521&view=logs&j=abc#x",
        )
        .unwrap();
        assert_eq!(url.collection, "https://dev.azure.com/contoso");
        assert_eq!(url.project, "Web");
        assert_eq!(url.build_id, 4521);
        assert_eq!(
            url.timeline_url(),
            "https://dev.azure.com/contoso/Web/_apis/build/builds/4521/timeline?api-version=7.1"
        );
        assert_eq!(
            url.log_url(7),
            "https://dev.azure.com/contoso/Web/_apis/build/builds/4521/logs/7?api-version=7.1"
        );
        let url = BuildUrl::parse("https://contoso.visualstudio.com/Web/_build/results?buildId=9")
            .unwrap();
        assert_eq!(url.collection, "https://contoso.visualstudio.com");
        assert_eq!(url.project, "Web");
        let url = BuildUrl::parse(
            "https://tfs.contoso.local:8443/tfs/DefaultCollection/My Project/_build/results?buildId=12",
        )
        .unwrap();
        assert_eq!(
            url.collection,
            "https://tfs.contoso.local:8443/tfs/DefaultCollection"
        );
        assert_eq!(url.project, "My%20Project");
        assert_eq!(url.build_id, 12);
    }

    #[test]
    fn other_urls_are_refused_with_the_reason() {
        for (url, why) in [
            (
                "dev.azure.com/contoso/Web/_build/results?buildId=1",
                "https://",
            ),
            (
                "ftp://dev.azure.com/c/W/_build/results?buildId=1",
                "https://",
            ),
            (
                "https://dev.azure.com/contoso/Web/_build?buildId=1",
                "_build/results",
            ),
            (
                "https://dev.azure.com/_build/results?buildId=1",
                "no project",
            ),
            (
                "https://dev.azure.com/c/W/_build/results?view=logs",
                "buildId",
            ),
            (
                "https://dev.azure.com/c/W/_build/results?buildId=x",
                "not a number",
            ),
            (
                "https://user:pw@dev.azure.com/c/W/_build/results?buildId=1",
                "host",
            ),
        ] {
            let e = BuildUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
    }

    #[test]
    fn the_job_token_wins_and_a_pat_is_basic_colon_pat() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let auth =
            Auth::from_env(env(&[(ACCESS_TOKEN_VAR, "job-token"), (PAT_VAR, "pat")])).unwrap();
        assert_eq!(auth.header, "Bearer job-token");
        let auth = Auth::from_env(env(&[(ACCESS_TOKEN_VAR, ""), (PAT_VAR, "pat")])).unwrap();
        // base64(":pat")
        assert_eq!(auth.header, "Basic OnBhdA==");
        assert_eq!(format!("{auth:?}"), "Auth(Basic ***)");
        let e = Auth::from_env(env(&[])).unwrap_err().to_string();
        assert!(e.contains(ACCESS_TOKEN_VAR) && e.contains(PAT_VAR), "{e}");
        let e = Auth::from_env(env(&[(ACCESS_TOKEN_VAR, "$(System.AccessToken)")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unexpanded"), "{e}");
    }

    #[test]
    fn a_token_goes_over_http_only_to_loopback() {
        let auth = || Auth {
            header: "Bearer t".into(),
            kind: "Bearer",
        };
        let config = ClientConfig::default();
        for ok in [
            "https://dev.azure.com/c/W/_build/results?buildId=1",
            "http://127.0.0.1:8080/c/W/_build/results?buildId=1",
            "http://localhost/c/W/_build/results?buildId=1",
            "http://[::1]:9/c/W/_build/results?buildId=1",
        ] {
            assert!(
                Client::new(&BuildUrl::parse(ok).unwrap(), auth(), config).is_ok(),
                "{ok}"
            );
        }
        let url = BuildUrl::parse("http://tfs.contoso.local/c/W/_build/results?buildId=1").unwrap();
        let e = Client::new(&url, auth(), config).err().unwrap().to_string();
        assert!(e.contains("plain http") && !e.contains("Bearer"), "{e}");
    }

    fn record(id: &str, parent: Option<&str>, kind: &str, name: &str, order: i64) -> Record {
        Record {
            id: id.into(),
            parent_id: parent.map(Into::into),
            kind: kind.into(),
            name: Some(name.into()),
            result: Some("succeeded".into()),
            order: Some(order),
            log: None,
        }
    }

    fn task(id: &str, parent: &str, name: &str, order: i64, result: &str, log: u64) -> Record {
        Record {
            result: Some(result.into()),
            log: Some(LogReference { id: log }),
            ..record(id, Some(parent), "Task", name, order)
        }
    }

    #[test]
    fn failed_tasks_are_named_by_job_and_task_in_run_order() {
        let mut records = vec![
            task("t3", "j2", "AzureCLI", 2, "failed", 13),
            record("s1", None, "Stage", "__default", 1),
            record("p1", Some("s1"), "Phase", "Build", 1),
            record("j1", Some("p1"), "Job", "Build", 1),
            record("p2", Some("s1"), "Phase", "Deploy", 2),
            record("j2", Some("p2"), "Job", "Deploy", 1),
            task("t1", "j1", "Checkout", 1, "succeeded", 11),
            task("t2", "j1", "Build", 2, "failed", 12),
            task("t4", "j2", "Skipped", 3, "skipped", 14),
        ];
        records.push(Record {
            log: None,
            ..task("t5", "j2", "No log", 4, "failed", 0)
        });
        let timeline = Timeline { records };
        assert_eq!(
            select_logs(&timeline, false),
            [
                TaskLog {
                    name: "Build / Build".into(),
                    log_id: 12
                },
                TaskLog {
                    name: "Deploy / AzureCLI".into(),
                    log_id: 13
                },
            ]
        );
        let all: Vec<u64> = select_logs(&timeline, true)
            .iter()
            .map(|l| l.log_id)
            .collect();
        assert_eq!(all, [11, 12, 13, 14]);
    }

    #[test]
    fn several_stages_name_the_stage_and_twins_get_their_log_id() {
        let timeline = Timeline {
            records: vec![
                record("s1", None, "Stage", "Infra", 1),
                record("s2", None, "Stage", "Web", 2),
                record("j1", Some("s1"), "Job", "Deploy", 1),
                record("j2", Some("s2"), "Job", "Deploy", 1),
                task("a", "j2", "AzureCLI", 1, "failed", 21),
                task("b", "j1", "AzureCLI", 1, "failed", 20),
                task("c", "j1", "AzureCLI", 2, "failed", 22),
            ],
        };
        let names: Vec<String> = select_logs(&timeline, false)
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(
            names,
            [
                "Infra / Deploy / AzureCLI (log 20)",
                "Infra / Deploy / AzureCLI (log 22)",
                "Web / Deploy / AzureCLI",
            ]
        );
    }

    #[test]
    fn a_parent_cycle_does_not_loop() {
        let timeline = Timeline {
            records: vec![
                record("j1", Some("j2"), "Job", "A", 1),
                record("j2", Some("j1"), "Job", "B", 1),
                task("t", "j1", "T", 1, "failed", 1),
            ],
        };
        assert_eq!(select_logs(&timeline, false).len(), 1);
    }
}
