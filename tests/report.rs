//! `--report FILE.html` opened in a real headless Chromium (Debian's
//! `chromium`): the page loads with no console message (its
//! Content-Security-Policy would log any script or fetch), the timeline has one
//! point per series and busy second, the first and last refusal of each cause
//! are marked, and hostile text from the wire cannot become markup. A
//! screenshot is kept under target/tmp/report/. Skipped with a message when
//! chromium is missing; a failure under `WSHS_E2E_REQUIRED=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{accepted_response, Cap, Conn, KEY};

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");

fn have_chromium() -> bool {
    let ok = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("WSHS_E2E_REQUIRED").is_ok_and(|v| v == "1") {
            panic!("chromium is not installed (WSHS_E2E_REQUIRED=1)");
        }
        eprintln!("skipping: chromium is not installed");
    }
    ok
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// Chromium headless on `page` with extra arguments; its stdout and log,
/// killed after 90 s at most.
fn chromium(page: &Path, args: &[String]) -> (String, String) {
    // One profile per run: tests run in parallel and a profile is locked.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = scratch(&format!("profile-{}-{run}", std::process::id()));
    let mut child = Command::new("chromium")
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!(
            "file://{}",
            page.canonicalize().expect("page path").display()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let start = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(&profile);
    (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    )
}

/// The page as Chromium built it, and its console messages.
fn load(page: &Path) -> (String, Vec<String>) {
    let (dom, log) = chromium(page, &["--dump-dom".to_string()]);
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    (dom, console)
}

/// Whether `needle` occurs inside markup (after a `<` not yet closed by `>`)
/// rather than in text.
fn inside_a_tag(html: &str, needle: &str) -> bool {
    html.match_indices(needle).any(|(i, _)| {
        let before = &html[..i];
        before.rfind('<').unwrap_or(0) > before.rfind('>').unwrap_or(0)
    })
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// 48 attempts a second apart: 4 accepted, 40 refused (10 with version 8, 30
/// without a key), 4 accepted.
fn incident() -> PathBuf {
    let path = scratch("incident.pcap");
    let mut cap = Cap::new();
    let server = ([10, 0, 0, 2], 8080);
    for i in 0..48u16 {
        let client = ([10, 1, (i % 3) as u8, 7], 40_000 + i);
        let (req, resp) = if !(4..44).contains(&i) {
            (
                format!("GET /ws HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"),
                accepted_response(),
            )
        } else if i % 4 == 0 {
            (
                format!("GET /ws HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n\r\n"),
                b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            )
        } else {
            (
                "GET /ws HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n".to_string(),
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nmissing key".to_vec(),
            )
        };
        let mut c = Conn::open(&mut cap, client, server);
        c.client(&mut cap, req.as_bytes());
        c.server(&mut cap, &resp);
        c.close(&mut cap);
        cap.wait_secs(1);
    }
    std::fs::write(&path, &cap.buf).expect("write capture");
    path
}

fn report(pcap: &Path, name: &str) -> PathBuf {
    let page = scratch(name);
    let o = Command::new(BIN)
        .arg("-r")
        .arg(pcap)
        .arg("--report")
        .arg(&page)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    page
}

#[test]
fn the_report_loads_cleanly_with_the_expected_timeline() {
    if !have_chromium() {
        return;
    }
    let page = report(&incident(), "incident.html");
    let html = std::fs::read_to_string(&page).expect("page");
    // Self-contained: nothing to fetch.
    for needle in ["src=", "href=", "url(", "@import", "<script", "<link"] {
        assert!(!html.contains(needle), "the page holds {needle}");
    }
    let (dom, console) = load(&page);
    assert!(console.is_empty(), "console messages: {console:#?}");
    // One point per series and second with attempts: accepted 8, rejected
    // 40; per cause 30 and 10.
    assert_eq!(
        count(&dom, "<circle class=\"point\" data-series=\"accepted\""),
        8
    );
    assert_eq!(
        count(&dom, "<circle class=\"point\" data-series=\"rejected\""),
        40
    );
    assert_eq!(
        count(
            &dom,
            "<circle class=\"point\" data-series=\"missing-sec-websocket-key\""
        ),
        30
    );
    assert_eq!(
        count(
            &dom,
            "<circle class=\"point\" data-series=\"unsupported-sec-websocket-version\""
        ),
        10
    );
    assert_eq!(count(&dom, "<circle class=\"point\""), 88);
    assert_eq!(count(&dom, "class=\"mark first\""), 2);
    assert_eq!(count(&dom, "class=\"mark last\""), 2);
    // Tables and findings: two distinct findings, counted.
    assert!(dom.contains("<h2 id=\"causes\">"));
    assert!(dom.contains("10.1.0.0/24"), "client networks table");
    assert_eq!(count(&dom, "<section class=\"finding"), 2);
    assert!(dom.contains("× 30"), "the folded count");
    assert!(dom.contains("No drops, gaps, limits or damage"));
    let shot = scratch("incident.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &page,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1100,2400".to_string(),
        ],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn hostile_text_from_the_wire_stays_text() {
    if !have_chromium() {
        return;
    }
    let path = scratch("hostile.pcap");
    let mut cap = Cap::new();
    let mut c = Conn::open(&mut cap, ([10, 1, 0, 9], 41_000), ([10, 0, 0, 2], 8080));
    let req = format!(
        "GET /ws?x=\"><script>console.error('INJECTED-TARGET')</script> HTTP/1.1\r\nHost: app.example\r\n\
         Origin: http://\"><img src=x onerror=console.error('INJECTED-ORIGIN')>\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let body =
        "<script>console.error('INJECTED-BODY')</script><svg onload=console.error('INJECTED-SVG')>";
    let resp = format!(
        "HTTP/1.1 403 <b onmouseover=x>Forbidden</b>\r\nServer: <script>console.error('INJECTED-SERVER')</script>\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    c.client(&mut cap, req.as_bytes());
    c.server(&mut cap, resp.as_bytes());
    c.close(&mut cap);
    std::fs::write(&path, &cap.buf).expect("write capture");
    let page = report(&path, "hostile.html");
    let (dom, console) = load(&page);
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(!dom.contains("<script"), "a script element in the page");
    assert!(!dom.contains("<img"), "an img element in the page");
    for handler in ["onerror=", "onload=", "onmouseover="] {
        assert!(
            !inside_a_tag(&dom, handler),
            "{handler} became an attribute"
        );
    }
    assert!(!dom.contains("<svg onload"), "an svg from the body");
    assert!(!dom.contains("<b onmouseover"));
    // The text is there, as text.
    assert!(
        dom.contains("&lt;script&gt;console.error('INJECTED-BODY')"),
        "{dom}"
    );
}

/// Every judged attempt of a fixture, as the pipeline hands them out.
fn judged(fixture: &str) -> Vec<wshs_sniff::classify::correlate::Judged> {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use wshs_sniff::capture::file::FileSource;
    use wshs_sniff::capture::Files;
    use wshs_sniff::pipeline::{self, Config};
    let src = FileSource::open(fixture).expect("fixture");
    let mut out = Vec::new();
    pipeline::run(
        Box::new(Files::new(vec![src])),
        &Config::default(),
        Arc::new(AtomicBool::new(false)),
        &mut |j: &wshs_sniff::classify::correlate::Judged| {
            out.push(j.clone());
            Ok(())
        },
    );
    out
}

#[test]
fn a_hundred_thousand_attempts_make_a_small_page() {
    use wshs_sniff::report::html::Incident;
    use wshs_sniff::report::{Record, Summary};
    let mut base = judged("fixtures/nginx-stripped__python-websockets.pcap");
    base.extend(judged("fixtures/node-ws__origin-rejected.pcap"));
    base.extend(judged("fixtures/node-ws__ok.pcap"));
    assert_eq!(base.len(), 4);
    let mut incident = Incident::new(true);
    for i in 0..100_000u32 {
        let mut j = base[i as usize % base.len()].clone();
        // An hour of traffic from many clients.
        j.attempt.ts.secs += i64::from(i / 28);
        j.attempt.client.port = 1024 + (i % 60_000) as u16;
        let r = Record::new(&j, true);
        incident.add(&j, &r);
    }
    let page = incident.render(&Summary::default());
    assert!(page.len() < 400_000, "{} bytes", page.len());
    assert!(page.matches("<section class=\"finding").count() <= 100);
    // 120 bins at most per series.
    let points = page
        .matches("<circle class=\"point\" data-series=\"rejected\"")
        .count();
    assert!(points > 0 && points <= 120, "{points}");
}
