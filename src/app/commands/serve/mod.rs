//! `arm-kb serve`: the same engine behind a web page and a JSON API.
//!
//! Stateless: the knowledge base, the rule engine and the search index are built once at
//! start and only read afterwards; a request's log lives in memory for that request only
//! (nothing is written to disk, nothing of it is logged). Scans run on the blocking pool,
//! at most one per CPU at a time, and stop when the request's time is up.

mod intake;
#[cfg(test)]
mod tests;

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use self::intake::{Kind, Upload};
use super::matching::{SUGGESTIONS, suggestions};
use super::{CommandError, ExitStatus, load_kb};
use crate::app::args::{GlobalArgs, ServeArgs};
use arm_kb::kb::KnowledgeBase;
use arm_kb::matcher::{Engine, FindingSet, ScanError, ScanOptions};
use arm_kb::render::MatchOutput;
use arm_kb::render::html::{self, SourceSummary};
use arm_kb::report::Report;
use arm_kb::search::{SearchHit, SearchIndex};

/// Every request, body upload and scan included, ends within this time (408 after it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Search hits on the search page, and the API's default.
const SEARCH_LIMIT: usize = 10;
/// The API's largest `limit`.
const SEARCH_LIMIT_MAX: usize = 100;
/// Match requests holding a body in memory at once, per scan slot.
const BODIES_PER_SCAN: usize = 4;

/// What every request reads: built once, never changed.
pub struct AppState {
    kb: &'static KnowledgeBase,
    engine: Engine<'static>,
    index: SearchIndex,
    /// Match requests in flight (each holds its body in memory).
    bodies: Semaphore,
    /// Scans running at once (a permit goes with its scan to the blocking pool).
    scans: Arc<Semaphore>,
}

impl AppState {
    /// The server lives as long as the process: its knowledge base is never freed.
    pub fn new(kb: KnowledgeBase, scans: usize) -> Result<AppState, CommandError> {
        let kb: &'static KnowledgeBase = Box::leak(Box::new(kb));
        let scans = scans.max(1);
        Ok(AppState {
            kb,
            engine: Engine::new(kb, true),
            index: SearchIndex::build(kb)?,
            bodies: Semaphore::new(scans * BODIES_PER_SCAN),
            scans: Arc::new(Semaphore::new(scans)),
        })
    }
}

pub fn run(global: &GlobalArgs, args: &ServeArgs) -> Result<ExitStatus, CommandError> {
    let kb = load_kb(global)?;
    let cpus = arm_kb::workers::cores();
    let state = Arc::new(AppState::new(kb, cpus)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .map_err(|e| CommandError::Usage(format!("cannot listen on {}: {e}", args.addr)))?;
        let addr = listener.local_addr()?;
        let mut out = io::stdout().lock();
        writeln!(out, "arm-kb: serving on http://{addr}/")?;
        out.flush()?;
        drop(out);
        axum::serve(listener, router(state, args.max_body))
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        Ok(ExitStatus::Success)
    })
}

/// Ctrl-C or SIGTERM: stop accepting, let the requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Every route, with the limits and the headers every answer carries.
pub fn router(state: Arc<AppState>, max_body: usize) -> Router {
    Router::new()
        .route("/", get(index_page))
        .route("/match", post(match_page))
        .route("/search", get(search_page))
        .route("/articles", get(articles_page))
        .route("/articles/{id}", get(article_page))
        .route("/api/match", post(api_match))
        .route("/api/search", get(api_search))
        .route("/api/articles", get(api_articles))
        .route("/api/articles/{id}", get(api_article))
        .route("/healthz", get(healthz))
        .route(html::CSS_PATH, get(css))
        .fallback(not_found)
        .with_state(state)
        // The body limit is the layer's, for every extractor alike.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// Why a request could not be answered, with its status.
struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    fn page(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        (
            self.status,
            Html(html::error_page(title, &self.message).into_string()),
        )
            .into_response()
    }

    fn json(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// An extractor's rejection (413 for a body over the limit, 400 for a malformed form).
fn rejected(status: StatusCode, text: String) -> Failure {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Failure::new(
            status,
            "The request body is larger than this server accepts.",
        )
    } else {
        Failure::new(status, text)
    }
}

async fn index_page(State(state): State<Arc<AppState>>) -> Html<String> {
    Html(html::index_page(state.kb).into_string())
}

async fn css() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        html::CSS,
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

#[derive(Deserialize)]
struct LogForm {
    #[serde(default)]
    log: String,
}

/// The essence of a `Content-Type` (`text/plain; charset=utf-8` → `text/plain`).
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A multipart body: the text field `log` and the file field `file`; other fields are
/// ignored, and so are an empty paste box and a file input left empty.
async fn multipart_uploads(req: Request) -> Result<Vec<Upload>, Failure> {
    let mut form = Multipart::from_request(req, &())
        .await
        .map_err(|r| rejected(r.status(), r.body_text()))?;
    let mut uploads = Vec::new();
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| rejected(e.status(), e.body_text()))?;
        let Some(field) = field else { break };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        if name != "log" && name != "file" {
            continue;
        }
        let bytes = field
            .bytes()
            .await
            .map_err(|e| rejected(e.status(), e.body_text()))?;
        if name == "log" && bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if name == "file" && bytes.is_empty() && file_name.as_deref().unwrap_or("").is_empty() {
            continue;
        }
        uploads.push(Upload {
            name: if name == "file" {
                file_name.filter(|n| !n.is_empty())
            } else {
                None
            },
            bytes,
            kind: if name == "file" {
                Kind::Sniff
            } else {
                Kind::Text
            },
        });
    }
    Ok(uploads)
}

/// The logs of a `POST /match` (a form) or a `POST /api/match` (a form, or the body
/// itself by its `Content-Type`).
async fn uploads(req: Request, api: bool) -> Result<Vec<Upload>, Failure> {
    let media = media_type(req.headers());
    let body_kind = match media.as_str() {
        "multipart/form-data" => return multipart_uploads(req).await,
        "application/x-www-form-urlencoded" => {
            let Form(form) = Form::<LogForm>::from_request(req, &())
                .await
                .map_err(|r| rejected(r.status(), r.body_text()))?;
            if form.log.trim().is_empty() {
                return Ok(Vec::new());
            }
            return Ok(vec![Upload {
                name: None,
                bytes: Bytes::from(form.log),
                kind: Kind::Text,
            }]);
        }
        "text/plain" if api => Kind::Text,
        "application/gzip" | "application/x-gzip" if api => Kind::Gzip,
        "application/zip" | "application/x-zip-compressed" if api => Kind::Zip,
        "" | "application/octet-stream" if api => Kind::Sniff,
        _ => {
            let accepted = if api {
                "text/plain, application/gzip, application/zip, multipart/form-data or application/x-www-form-urlencoded"
            } else {
                "a form (multipart/form-data or application/x-www-form-urlencoded)"
            };
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported Content-Type `{media}`: send {accepted}"),
            ));
        }
    };
    let bytes = Bytes::from_request(req, &())
        .await
        .map_err(|r| rejected(r.status(), r.body_text()))?;
    Ok(vec![Upload {
        name: None,
        bytes,
        kind: body_kind,
    }])
}

/// One source as the results list it.
struct SourceInfo {
    name: String,
    bytes: u64,
    lines: u64,
    error: Option<String>,
}

/// The redacted report of a request's logs, with what each source was.
struct Scanned {
    report: Report,
    sources: Vec<SourceInfo>,
}

/// A reader that fails once the request's time is up, so that a scan (a large log, a
/// gzip bomb) never runs on after its answer was given up.
struct Deadline<R> {
    inner: R,
    until: Instant,
}

impl<R: Read> Read for Deadline<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if Instant::now() >= self.until {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the scan took longer than {} s and was stopped",
                    REQUEST_TIMEOUT.as_secs()
                ),
            ));
        }
        self.inner.read(buf)
    }
}

/// Scans every source of the uploads (on the calling thread), merges, redacts.
fn scan(
    state: &AppState,
    uploads: &[Upload],
    until: Instant,
    suggest: bool,
) -> Result<Scanned, Failure> {
    let mut scanner = state.engine.scanner(ScanOptions::default());
    let mut merged = FindingSet::new(None);
    let mut sources = Vec::new();
    let mut broken_rule = None;
    for upload in uploads {
        intake::for_each_source(upload, &mut |name, reader| {
            let shown = name.clone().unwrap_or_else(|| match upload.kind {
                Kind::Text => "pasted log".to_owned(),
                _ => "request body".to_owned(),
            });
            let mut set = FindingSet::new(name.map(Arc::from));
            let result = reader.map_err(ScanError::Io).and_then(|reader| {
                scanner.scan(
                    Deadline {
                        inner: reader,
                        until,
                    },
                    &mut set,
                )
            });
            let error = match result {
                Ok(()) => None,
                Err(ScanError::Io(e)) => Some(e.to_string()),
                Err(ScanError::Rule(d)) => {
                    broken_rule.get_or_insert(d.message.clone());
                    Some("a rule could not be compiled".to_owned())
                }
            };
            sources.push(SourceInfo {
                name: shown,
                bytes: set.stats.bytes,
                lines: set.stats.lines,
                error,
            });
            let order = sources.len() - 1;
            merged.merge(set, order);
        });
    }
    if let Some(message) = broken_rule {
        return Err(Failure::new(StatusCode::INTERNAL_SERVER_ERROR, message));
    }
    // The one place where the report is masked, as in `match`.
    let mut report = arm_kb::report::redact::report(Report::build(merged, state.kb));
    report.suggestions = suggestions(&report, suggest, |lines| {
        state.index.related(lines, SUGGESTIONS)
    })
    .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Scanned { report, sources })
}

/// Reads the request's logs and scans them on the blocking pool, within the limits;
/// `render` turns the result into the answer there too.
async fn scan_request<T: Send + 'static>(
    state: Arc<AppState>,
    req: Request,
    api: bool,
    suggest: bool,
    render: impl FnOnce(&AppState, Scanned) -> T + Send + 'static,
) -> Result<T, Failure> {
    let until = Instant::now() + REQUEST_TIMEOUT;
    let busy = || {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down",
        )
    };
    let _body = state.bodies.acquire().await.map_err(|_| busy())?;
    let uploads = uploads(req, api).await?;
    if uploads.is_empty() {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "no log: paste one in the `log` field or send a file in the `file` field",
        ));
    }
    let permit = Arc::clone(&state.scans)
        .acquire_owned()
        .await
        .map_err(|_| busy())?;
    let worker = Arc::clone(&state);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        scan(&worker, &uploads, until, suggest).map(|scanned| render(&worker, scanned))
    })
    .await
    .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
}

/// Answers that hold a log's content are not to be kept by caches.
fn no_store(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn match_page(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let result = scan_request(state, req, false, true, |state, scanned| {
        let inputs: Vec<String> = scanned.sources.iter().map(|s| s.name.clone()).collect();
        let output = MatchOutput {
            report: &scanned.report,
            show_files: scanned.sources.len() > 1,
            inputs: &inputs,
            summary: None,
        };
        let sources: Vec<SourceSummary<'_>> = scanned
            .sources
            .iter()
            .map(|s| SourceSummary {
                name: &s.name,
                bytes: s.bytes,
                lines: s.lines,
                error: s.error.as_deref(),
            })
            .collect();
        html::results_page(&output, &sources, state.kb).into_string()
    })
    .await;
    match result {
        Ok(page) => no_store(Html(page)),
        Err(failure) => no_store(failure.page()),
    }
}

#[derive(Deserialize)]
struct MatchQuery {
    /// As `match --suggest`: a `suggestions` key with the "possibly related" articles.
    #[serde(default)]
    suggest: bool,
    /// As `match --unexplained`: an `unexplained` key with the error lines no rule explains.
    #[serde(default)]
    unexplained: bool,
}

async fn api_match(
    State(state): State<Arc<AppState>>,
    Query(query): Query<MatchQuery>,
    req: Request,
) -> Response {
    let unexplained = query.unexplained;
    let result = scan_request(state, req, true, query.suggest, move |_, mut scanned| {
        if let Some(failed) = scanned.sources.iter().find(|s| s.error.is_some()) {
            return Err(Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{}: {}",
                    failed.name,
                    failed.error.as_deref().unwrap_or_default()
                ),
            ));
        }
        if !unexplained {
            scanned.report.unexplained = None;
        }
        // The report's own serialisation: the schema of `match --format json`.
        serde_json::to_value(&scanned.report)
            .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
    })
    .await;
    match result.and_then(|r| r) {
        Ok(value) => no_store(Json(value)),
        Err(failure) => no_store(failure.json()),
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

fn search(state: &AppState, query: &SearchQuery) -> Result<Vec<SearchHit>, Failure> {
    if query.q.trim().is_empty() {
        return Ok(Vec::new());
    }
    let limit = query
        .limit
        .unwrap_or(SEARCH_LIMIT)
        .clamp(1, SEARCH_LIMIT_MAX);
    state
        .index
        .search(&query.q, limit)
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn search_page(
    State(state): State<Arc<AppState>>,
    Query(query): Query<SearchQuery>,
) -> Response {
    match search(&state, &query) {
        Ok(hits) => Html(html::search_page(&query.q, &hits).into_string()).into_response(),
        Err(failure) => failure.page(),
    }
}

async fn api_search(
    State(state): State<Arc<AppState>>,
    Query(query): Query<SearchQuery>,
) -> Response {
    if query.q.trim().is_empty() {
        return Failure::new(StatusCode::BAD_REQUEST, "the query `q` is empty").json();
    }
    match search(&state, &query) {
        // The shape of `search --format json`.
        Ok(hits) => Json(json!({ "hits": hits })).into_response(),
        Err(failure) => failure.json(),
    }
}

async fn articles_page(State(state): State<Arc<AppState>>) -> Html<String> {
    Html(html::articles_page(state.kb).into_string())
}

/// An article in the list (the shape of `list --format json`).
fn article_entry(kb: &KnowledgeBase, a: &arm_kb::kb::Article) -> Value {
    json!({
        "id": a.id,
        "title": a.title,
        "tags": a.tags,
        "rules": kb.rules_for(&a.id).map(|r| &r.id).collect::<Vec<_>>(),
    })
}

async fn api_articles(State(state): State<Arc<AppState>>) -> Json<Value> {
    let kb = state.kb;
    let articles: Vec<Value> = kb.articles.values().map(|a| article_entry(kb, a)).collect();
    Json(json!({ "articles": articles }))
}

async fn article_page(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let kb = state.kb;
    match kb.article(&id) {
        Some(a) => Html(html::article_page(kb, a).into_string()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html(
                html::not_found_page(&format!("article `{id}`"), kb.similar_ids(&id).names())
                    .into_string(),
            ),
        )
            .into_response(),
    }
}

async fn api_article(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let kb = state.kb;
    match kb.article(&id) {
        Some(a) => {
            let mut v = article_entry(kb, a);
            v["error_codes"] = json!(a.error_codes);
            v["summary"] = json!(a.summary);
            v["markdown"] = json!(a.source.text);
            Json(v).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({
                "error": format!("no article `{id}`"),
                "did_you_mean": kb.similar_ids(&id).names(),
            })),
        )
            .into_response(),
    }
}

async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        Failure::new(StatusCode::NOT_FOUND, "no such route").json()
    } else {
        (
            StatusCode::NOT_FOUND,
            Html(html::not_found_page("such page", &[]).into_string()),
        )
            .into_response()
    }
}
