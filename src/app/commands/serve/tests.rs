//! Every route, limit and header, in process (`tower::ServiceExt::oneshot`).

use std::io::Write;
use std::sync::{Arc, LazyLock};

use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use super::*;
use arm_kb::kb::RootSelection;

const LOG: &str = include_str!("../../../../examples/secret-expired.log");
const APP_ID: &str = "3f0c2a51-8d4e-4b7a-9c1e-52b7d0e4a9f1";
const MAX_BODY: usize = 64 << 10;

static STATE: LazyLock<Arc<AppState>> = LazyLock::new(|| {
    let loaded = KnowledgeBase::load(&RootSelection::new(false, None, &[]));
    assert!(!loaded.has_errors());
    Arc::new(AppState::new(loaded.kb, 2).expect("state"))
});

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn send(req: Request<Body>) -> Answer {
    let response = router(Arc::clone(&STATE), MAX_BODY)
        .oneshot(req)
        .await
        .expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let answer = Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    // Every answer, errors and limits included, carries the safety headers.
    let h = |name| answer.headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(
        h(header::CONTENT_SECURITY_POLICY),
        Some("default-src 'self'")
    );
    assert_eq!(h(header::X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
    assert_eq!(h(header::REFERRER_POLICY), Some("no-referrer"));
    answer
}

async fn get(uri: &str) -> Answer {
    send(Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Answer {
    send(
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap(),
    )
    .await
}

fn urlencoded(log: &str) -> String {
    let mut s = String::from("log=");
    for b in log.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                s.push(b as char)
            }
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

const BOUNDARY: &str = "XyZboundary42";

/// A multipart body: `(field, file name, bytes)`.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, file, bytes) in parts {
        write!(
            body,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\""
        )
        .unwrap();
        if let Some(file) = file {
            write!(
                body,
                "; filename=\"{file}\"\r\nContent-Type: application/octet-stream"
            )
            .unwrap();
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{BOUNDARY}--\r\n").unwrap();
    body
}

fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn assert_secret_expired_page(page: &Answer) {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.body.contains(r#"href="/articles/sp-secret-expired""#));
    assert!(
        page.body
            .contains("Service principal client secret has expired")
    );
    // The fix, with the app id from the log filled in.
    assert!(
        page.body
            .contains(&format!("az ad app credential reset --id {APP_ID}"))
    );
    assert_eq!(page.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
}

#[tokio::test]
async fn index_has_labelled_paste_box_upload_and_search() {
    let page = get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    let body = &page.body;
    for needle in [
        r#"<form class="match" method="post" action="/match" enctype="multipart/form-data">"#,
        r#"<label for="log">"#,
        r#"<textarea id="log" name="log""#,
        r#"<label for="file">"#,
        r#"<input id="file" type="file" name="file""#,
        r#"action="/search""#,
        r#"name="q""#,
        r#"<link rel="stylesheet" href="/assets/arm-kb.css">"#,
    ] {
        assert!(body.contains(needle), "{needle} in {body}");
    }
    // No script, no inline style, nothing from another host.
    assert!(!body.contains("<script"));
    assert!(!body.contains("style="));
    assert!(!body.contains("http://") && !body.contains("https://"));
}

#[tokio::test]
async fn stylesheet_is_embedded() {
    let css = get(html::CSS_PATH).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.content_type().starts_with("text/css"));
    assert!(css.body.contains("prefers-color-scheme: dark"));
    assert!(!css.body.contains("url("), "no asset from elsewhere");
}

#[tokio::test]
async fn match_page_from_an_urlencoded_form() {
    let page = post(
        "/match",
        "application/x-www-form-urlencoded",
        urlencoded(LOG),
    )
    .await;
    assert_secret_expired_page(&page);
}

#[tokio::test]
async fn match_page_from_a_multipart_paste_and_an_empty_file_input() {
    let body = multipart(&[("log", None, LOG.as_bytes()), ("file", Some(""), b"")]);
    assert_secret_expired_page(&post("/match", &multipart_type(), body).await);
}

#[tokio::test]
async fn match_page_from_uploaded_gzip_and_zip_files() {
    let body = multipart(&[
        ("log", None, b" \r\n"),
        ("file", Some("job.log.gz"), &gzip(LOG)),
    ]);
    assert_secret_expired_page(&post("/match", &multipart_type(), body).await);

    let other = "2025-03-04T09:12:03Z ##[error]Error: something else failed\n";
    let logs = zip(&[
        ("Deploy/1_Initialize job.txt", other.as_bytes()),
        ("Deploy/2_Deploy web app.txt", LOG.as_bytes()),
    ]);
    let page = post(
        "/match",
        &multipart_type(),
        multipart(&[("file", Some("logs_42.zip"), &logs)]),
    )
    .await;
    assert_secret_expired_page(&page);
    // Per source: both members are listed, and evidence names its member.
    assert!(
        page.body
            .contains("logs_42.zip!Deploy/1_Initialize job.txt")
    );
    assert!(
        page.body
            .contains("logs_42.zip!Deploy/2_Deploy web app.txt:9")
    );
}

#[tokio::test]
async fn match_page_names_an_unreadable_file_and_still_scans_the_rest() {
    let body = multipart(&[
        ("log", None, LOG.as_bytes()),
        (
            "file",
            Some("broken.gz"),
            b"\x1f\x8b\x08\x00 not gzip at all",
        ),
    ]);
    let page = post("/match", &multipart_type(), body).await;
    assert_secret_expired_page(&page);
    assert!(page.body.contains("broken.gz"));
    assert!(page.body.contains("could not be read"));
}

#[tokio::test]
async fn log_lines_are_escaped_and_secrets_masked() {
    let log = format!(
        "{LOG}2025-03-04T09:12:04Z ##[error]<script>alert(1)</script> client_secret=Abc8Q~verysecretvalue12345678901234567\n"
    );
    let page = post(
        "/match",
        "application/x-www-form-urlencoded",
        urlencoded(&log),
    )
    .await;
    assert_secret_expired_page(&page);
    assert!(!page.body.contains("<script>"), "{}", page.body);
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.body.contains("verysecretvalue"));
    assert!(page.body.contains("Error lines no rule explains"));
}

#[tokio::test]
async fn no_finding_shows_possibly_related_articles() {
    let log =
        "##[error]The client secret of the service principal has expired and must be rotated\n";
    let page = post(
        "/match",
        "application/x-www-form-urlencoded",
        urlencoded(log),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No finding"));
    assert!(page.body.contains("Possibly related"), "{}", page.body);
}

#[tokio::test]
async fn match_without_a_log_is_a_clear_400() {
    let page = post("/match", "application/x-www-form-urlencoded", "log=").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("no log"));
    let api = post("/api/match", "text/plain", "").await;
    assert_eq!(api.status, StatusCode::OK, "an empty log is a log");
    let api = post("/api/match", &multipart_type(), multipart(&[])).await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST);
    assert!(api.json()["error"].as_str().unwrap().contains("no log"));
}

#[tokio::test]
async fn api_match_takes_text_gzip_zip_and_multipart() {
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("text/plain; charset=utf-8", LOG.as_bytes().to_vec()),
        ("application/gzip", gzip(LOG)),
        ("application/zip", zip(&[("job/1.txt", LOG.as_bytes())])),
        (
            &*Box::leak(multipart_type().into_boxed_str()),
            multipart(&[("file", Some("job.log"), LOG.as_bytes())]),
        ),
    ];
    for (content_type, body) in bodies {
        let answer = post("/api/match", content_type, body).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{content_type}: {}",
            answer.body
        );
        assert!(answer.content_type().starts_with("application/json"));
        let v = answer.json();
        assert_eq!(
            v["findings"][0]["article"], "sp-secret-expired",
            "{content_type}"
        );
        assert_eq!(v["stats"]["lines"], 12, "{content_type}");
        assert!(v.get("suggestions").is_none() && v.get("unexplained").is_none());
        let fix = v["findings"][0]["fix"].to_string();
        assert!(fix.contains(APP_ID), "{fix}");
    }
}

#[tokio::test]
async fn api_match_has_the_shape_of_match_format_json() {
    let answer = post(
        "/api/match?unexplained=true&suggest=true",
        "text/plain",
        LOG,
    )
    .await;
    let v = answer.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["findings", "sources", "stats", "suggestions", "unexplained"]
    );
    let finding = v["findings"][0].as_object().unwrap();
    let keys: Vec<&str> = finding.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "article",
            "confidence",
            "evidence",
            "evidence_total",
            "fix",
            "rules",
            "score",
            "severity",
            "source",
            "title"
        ]
    );
    assert_eq!(v["findings"][0]["evidence"][0]["file"], Value::Null);
}

#[tokio::test]
async fn api_match_refuses_what_it_cannot_read() {
    let answer = post("/api/match", "application/json", "{}").await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let answer = post("/api/match", "application/gzip", "not gzip").await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("request body")
    );
    let answer = post("/api/match", "application/zip", "not a zip").await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn bodies_over_max_body_get_413() {
    let big = "x".repeat(MAX_BODY + 1);
    let answer = post("/api/match", "text/plain", big.clone()).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    let answer = post(
        "/match",
        "application/x-www-form-urlencoded",
        urlencoded(&big),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    let answer = post(
        "/match",
        &multipart_type(),
        multipart(&[("log", None, big.as_bytes())]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Without a Content-Length (a chunked upload), the limit holds as the body arrives.
    let stream = futures_stream(big.into_bytes());
    let answer = send(
        Request::post("/api/match")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from_stream(stream))
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Just under the limit is fine.
    let answer = post("/api/match", "text/plain", "x".repeat(MAX_BODY)).await;
    assert_eq!(answer.status, StatusCode::OK);
}

/// A body in 4 KiB chunks, with no length known in advance.
fn futures_stream(
    bytes: Vec<u8>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    struct Chunks(Vec<u8>, usize);
    impl futures_core::Stream for Chunks {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            let start = self.1;
            if start >= self.0.len() {
                return std::task::Poll::Ready(None);
            }
            let end = (start + 4096).min(self.0.len());
            self.1 = end;
            std::task::Poll::Ready(Some(Ok(Bytes::copy_from_slice(&self.0[start..end]))))
        }
    }
    Chunks(bytes, 0)
}

#[test]
fn a_scan_past_its_deadline_stops() {
    let mut reader = Deadline {
        inner: &b"line\n"[..],
        until: Instant::now(),
    };
    let err = std::io::Read::read(&mut reader, &mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
}

#[tokio::test]
async fn search_page_and_api() {
    let page = get("/search?q=secret+expired").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"href="/articles/sp-secret-expired""#));
    assert!(page.body.contains("<mark>"));
    assert!(page.body.contains(r#"value="secret expired""#));

    let page = get("/search?q=%3Cqqzz%3Ezzzqqq").await;
    assert!(page.body.contains("No article matches"));
    assert!(page.body.contains("&lt;qqzz&gt;zzzqqq"), "{}", page.body);
    assert!(!page.body.contains("<qqzz>"));

    let api = get("/api/search?q=AADSTS7000222&limit=2").await;
    assert_eq!(api.status, StatusCode::OK);
    let hits = api.json()["hits"].as_array().unwrap().clone();
    assert!(!hits.is_empty() && hits.len() <= 2);
    assert_eq!(hits[0]["article"], "sp-secret-expired");
    let keys: Vec<&str> = hits[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["article", "score", "snippet", "title"]);

    assert_eq!(get("/api/search?q=").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        get("/api/search?q=x&limit=many").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn articles_list_page_and_api() {
    let n = STATE.kb.articles.len();
    let page = get("/articles").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches(r#"<a href="/articles/"#).count(), n);

    let api = get("/api/articles").await.json();
    let articles = api["articles"].as_array().unwrap();
    assert_eq!(articles.len(), n);
    let keys: Vec<&str> = articles[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "rules", "tags", "title"]);
}

#[tokio::test]
async fn article_page_and_api() {
    let page = get("/articles/sp-secret-expired").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<h1>Service principal client secret has expired")
    );
    assert!(page.body.contains("<h2>Fix</h2>"));
    assert!(
        page.body.contains("&lt;app_id&gt;"),
        "placeholders as <name>"
    );

    let api = get("/api/articles/sp-secret-expired").await;
    assert_eq!(api.status, StatusCode::OK);
    let v = api.json();
    assert_eq!(v["id"], "sp-secret-expired");
    assert!(v["markdown"].as_str().unwrap().contains("## Fix"));
    assert!(!v["rules"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_article_is_a_404_with_the_closest_ids() {
    let page = get("/articles/sp-secret-expird").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.body.contains(r#"href="/articles/sp-secret-expired""#));

    let api = get("/api/articles/sp-secret-expird").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.json()["did_you_mean"][0], "sp-secret-expired");

    let page = get("/articles/%3Cscript%3E").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("<script>"));
}

#[tokio::test]
async fn healthz_and_unknown_routes() {
    let health = get("/healthz").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok\n")
    );
    let page = get("/nope").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.content_type().starts_with("text/html"));
    let api = get("/api/nope").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.json()["error"].is_string());
    assert_eq!(get("/match").await.status, StatusCode::METHOD_NOT_ALLOWED);
}
