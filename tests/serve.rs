//! `arm-kb serve` as a process: the JSON API against the CLI's `--format json`, a clean
//! stop on SIGTERM, and a real browser (headless Chromium over WebDriver) going through
//! the page as a person would.
//!
//! The browser test needs Debian's `chromium` and `chromium-driver` (or `CHROMIUM` and
//! `CHROMEDRIVER` pointing at them). Without them it is skipped with a message, unless
//! `ARM_KB_REQUIRE_BROWSER` is set (as in CI), where it fails. `ARM_KB_SCREENSHOT=1`
//! saves the results page to `docs/serve-results.png`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const LOG_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/secret-expired.log");
const APP_ID: &str = "3f0c2a51-8d4e-4b7a-9c1e-52b7d0e4a9f1";

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `arm-kb serve` on a free port; its address, read from the line it prints when ready.
fn start_server() -> (Process, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arm-kb"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start arm-kb serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the ready line");
    let url = line
        .trim()
        .strip_prefix("arm-kb: serving on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    (Process(child), url)
}

/// One HTTP/1.1 request, `Connection: close`; the status and the body.
fn http(addr: &str, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8(answer).expect("UTF-8 answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("headers end");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "bodies have a length"
    );
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

fn cli_json(args: &[&str], stdin: &[u8]) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arm-kb"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stop(mut server: Process) {
    let pid = server.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(status.success(), "SIGTERM stops it with exit 0: {status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn api_answers_as_the_cli_does_and_sigterm_stops_it() {
    let log = std::fs::read(LOG_PATH).unwrap();
    let (server, addr) = start_server();

    let (status, body) = http(&addr, "POST", "/api/match", "text/plain", &log);
    assert_eq!(status, 200, "{body}");
    let api: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(api, cli_json(&["match", "--format", "json"], &log));

    let (status, body) = http(
        &addr,
        "GET",
        "/api/search?q=secret%20expired&limit=5",
        "",
        b"",
    );
    assert_eq!(status, 200);
    let api: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        api,
        cli_json(&["search", "--format", "json", "secret expired"], b"")
    );

    let (status, body) = http(&addr, "GET", "/api/articles", "", b"");
    assert_eq!(status, 200);
    let api: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(api, cli_json(&["list", "--format", "json"], b""));

    let (status, body) = http(&addr, "GET", "/healthz", "", b"");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    stop(server);
}

/// A program from the environment variable, else from the usual places.
fn program(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.push(PathBuf::from("/usr/bin"));
    dirs.push(PathBuf::from("/usr/lib/chromium"));
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
}

#[tokio::test]
async fn browser_pastes_a_log_reads_the_fix_follows_the_article_and_searches() {
    let required = std::env::var_os("ARM_KB_REQUIRE_BROWSER").is_some_and(|v| !v.is_empty());
    let chromium = program("CHROMIUM", &["chromium", "chromium-browser"]);
    let driver = program("CHROMEDRIVER", &["chromedriver"]);
    let (Some(chromium), Some(driver)) = (chromium, driver) else {
        assert!(
            !required,
            "ARM_KB_REQUIRE_BROWSER is set but chromium or chromedriver is missing \
             (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "SKIPPED browser test: chromium and chromedriver not found \
             (apt-get install chromium chromium-driver; set ARM_KB_REQUIRE_BROWSER=1 to make this a failure)"
        );
        return;
    };

    let (server, addr) = start_server();
    let base = format!("http://{addr}");
    let port = free_port();
    let _driver = Process(
        Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1600",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(client) => break client,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("chromedriver at {webdriver}: {e}"),
        }
    };

    // The page, the paste box, a real log.
    client.goto(&format!("{base}/")).await.unwrap();
    let log = std::fs::read_to_string(LOG_PATH).unwrap();
    let textarea = wait_for(&client, "textarea#log").await;
    textarea.send_keys(&log).await.unwrap();
    client
        .find(Locator::Css("form.match button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The right article and its fix, with the app id from the log.
    let title = wait_for(&client, "article.finding h2 a").await;
    assert_eq!(
        title.attr("href").await.unwrap().as_deref(),
        Some("/articles/sp-secret-expired")
    );
    let fix = client
        .find(Locator::Css("article.finding ol.fix"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        fix.contains(&format!("az ad app credential reset --id {APP_ID}")),
        "{fix}"
    );
    let url = client.current_url().await.unwrap();
    assert_eq!(url.path(), "/match");
    if std::env::var_os("ARM_KB_SCREENSHOT").is_some_and(|v| v == "1") {
        let png = client.screenshot().await.unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/serve-results.png");
        std::fs::write(&path, png).unwrap();
        eprintln!("saved {}", path.display());
    }

    // Follow the article link.
    title.click().await.unwrap();
    let h1 = wait_for(&client, "article.doc h1").await;
    assert!(
        h1.text()
            .await
            .unwrap()
            .contains("client secret has expired")
    );
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/articles/sp-secret-expired"
    );
    let body = client.source().await.unwrap();
    assert!(body.contains("<h2>Fix</h2>"));

    // Search from the header's box, with the keyboard.
    let q = client.find(Locator::Css("input#top-q")).await.unwrap();
    q.send_keys("AADSTS7000222\u{E007}").await.unwrap();
    let hit = wait_for(&client, "ol.hits li a").await;
    assert_eq!(
        hit.attr("href").await.unwrap().as_deref(),
        Some("/articles/sp-secret-expired")
    );
    assert_eq!(client.current_url().await.unwrap().path(), "/search");

    client.close().await.unwrap();
    stop(server);
}
