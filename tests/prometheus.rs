//! A real Prometheus (Debian's `prometheus`) scrapes `--metrics-addr` during a
//! live capture on loopback, and its query API gives the attempts per cause
//! that the traffic held. The README's alert rules are checked by
//! `promtool check rules`, loaded by that Prometheus, and the refusal alert
//! becomes active. As root with prometheus installed; skipped with a message
//! otherwise, a failure under `WSHS_E2E_REQUIRED=1` (set by `.ci/run`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use sha1::{Digest, Sha1};

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");
/// Every wait in this test is bounded by this.
const WAIT: Duration = Duration::from_secs(60);

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn skip(why: &str) {
    if std::env::var("WSHS_E2E_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("cannot run: {why} (WSHS_E2E_REQUIRED=1)");
    }
    eprintln!("skipping: {why}");
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Kills the child on every exit path.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.0 GET on loopback; the body, or None when nothing answers.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_string()))
}

/// Percent-encodes a PromQL expression for a query string.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `sum by (cause)` of the attempt counter as Prometheus has it now.
fn attempts_by_cause(prom: u16) -> BTreeMap<String, u64> {
    let q = encode("sum by (cause) (wshs_upgrade_attempts_total)");
    let Some(body) = get(prom, &format!("/api/v1/query?query={q}")) else {
        return BTreeMap::new();
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let mut out = BTreeMap::new();
    for r in v["data"]["result"].as_array().into_iter().flatten() {
        let cause = r["metric"]["cause"].as_str().unwrap_or("").to_string();
        let n = r["value"][1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(-1.0);
        out.insert(cause, n as u64);
    }
    out
}

/// Polls `f` until it returns Some, for at most WAIT.
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The alert rules block of the README (the fenced yaml after its marker).
fn readme_rules() -> String {
    let readme = std::fs::read_to_string("README.md").expect("README");
    let start = readme
        .find("```yaml\n# wshs-sniff alert rules")
        .expect("alert rules block in README");
    let body = &readme[start + "```yaml\n".len()..];
    body[..body.find("```").expect("block end")].to_string()
}

/// A server on loopback answering each handshake as a real one would: 101 with
/// the right accept, 426 for a version it does not speak, 400 otherwise.
fn serve(listener: TcpListener, connections: usize) {
    std::thread::spawn(move || {
        for conn in listener.incoming().take(connections) {
            let Ok(mut c) = conn else { continue };
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            // The whole head, however it was segmented.
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                match c.read(&mut buf) {
                    Ok(n) if n > 0 => head.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            let req = String::from_utf8_lossy(&head).to_string();
            let header = |name: &str| {
                req.lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    })
                    .map(|(_, v)| v.trim().to_string())
            };
            let resp = match (header("sec-websocket-key"), header("sec-websocket-version")) {
                (Some(key), Some(v)) if v == "13" => {
                    let mut h = Sha1::new();
                    h.update(key.as_bytes());
                    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
                    let accept = base64::engine::general_purpose::STANDARD.encode(h.finalize());
                    format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n")
                }
                (Some(_), Some(_)) => "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                _ => "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nmissing key".to_string(),
            };
            let _ = c.write_all(resp.as_bytes());
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    });
}

/// One handshake: `key` and `version` headers when given.
fn handshake(port: u16, key: Option<&str>, version: &str) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let key = key.map_or(String::new(), |k| format!("Sec-WebSocket-Key: {k}\r\n"));
    let head = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{key}Sec-WebSocket-Version: {version}\r\n\r\n"
    );
    c.write_all(head.as_bytes()).expect("send");
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let mut resp = [0u8; 1024];
    let _ = c.read(&mut resp);
}

#[test]
fn prometheus_scrapes_the_attempts_by_cause_and_loads_the_alert_rules() {
    if !is_root() {
        return skip("live capture needs root");
    }
    if !have("prometheus") || !have("promtool") {
        return skip("prometheus and promtool are not installed");
    }
    let dir = std::env::temp_dir().join(format!("wshs-prometheus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rules = dir.join("wshs-sniff.rules.yml");
    std::fs::write(&rules, readme_rules()).expect("write rules");
    let check = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&rules)
        .output()
        .expect("promtool");
    assert!(
        check.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let sport = server.local_addr().expect("addr").port();
    serve(server, 6);
    let mport = free_port();
    let mut sniffer = Child(
        Command::new(BIN)
            .args(["-i", "lo", "--json", "--duration", "120"])
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{mport}"))
            .args(["tcp", "port", &sport.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wshs-sniff"),
    );
    // The capture is open once it says so on stderr.
    let mut stderr = BufReader::new(sniffer.0.stderr.take().expect("stderr"));
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("capturing on") {
        line.clear();
    }
    assert!(line.contains("capturing on"), "the capture did not open");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));

    let pport = free_port();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: wshs-sniff\n    static_configs:\n      - targets: ['127.0.0.1:{mport}']\n",
            rules.display()
        ),
    )
    .expect("write prometheus.yml");
    let _prometheus = Child(
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{pport}"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("prometheus.log")).expect("log file"),
            ))
            .spawn()
            .expect("spawn prometheus"),
    );
    wait_for("Prometheus to be ready", || get(pport, "/-/ready"));
    let target_up = || {
        let body = get(pport, "/api/v1/targets")?;
        body.contains("\"health\":\"up\"").then_some(())
    };
    wait_for("the scrape target to be up", target_up);

    // One refusal first, so the counter exists before it grows and rate() sees
    // the growth; then the rest.
    handshake(sport, None, "13");
    wait_for("the first refusal in Prometheus", || {
        (attempts_by_cause(pport).get("missing-sec-websocket-key") == Some(&1)).then_some(())
    });
    handshake(sport, None, "13");
    handshake(sport, None, "13");
    handshake(sport, Some("dGhlIHNhbXBsZSBub25jZQ=="), "8");
    handshake(sport, Some("dGhlIHNhbXBsZSBub25jZQ=="), "8");
    handshake(sport, Some("AQIDBAUGBwgJCgsMDQ4PEA=="), "13");
    let want: BTreeMap<String, u64> = [
        ("missing-sec-websocket-key", 3),
        ("unsupported-sec-websocket-version", 2),
        ("ok", 1),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_string(), n))
    .collect();
    let mut last = BTreeMap::new();
    let start = Instant::now();
    while start.elapsed() < WAIT {
        last = attempts_by_cause(pport);
        if last == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(last, want, "attempts by cause as Prometheus has them");

    // The rules are loaded, healthy, and the refusal alert is active.
    let rules_now = get(pport, "/api/v1/rules").expect("rules API");
    for name in ["WebSocketHandshakesRefused", "WebSocketSnifferBlind"] {
        assert!(rules_now.contains(name), "{name} not loaded: {rules_now}");
    }
    assert!(!rules_now.contains("\"health\":\"err\""), "{rules_now}");
    wait_for("the refusal alert", || {
        let alerts = get(pport, "/api/v1/alerts")?;
        let v: serde_json::Value = serde_json::from_str(&alerts).ok()?;
        v["data"]["alerts"]
            .as_array()?
            .iter()
            .any(|a| {
                a["labels"]["alertname"] == "WebSocketHandshakesRefused"
                    && a["labels"]["cause"] == "missing-sec-websocket-key"
                    && a["labels"]["server"] == format!("127.0.0.1:{sport}").as_str()
            })
            .then_some(())
    });
    let _ = std::fs::remove_dir_all(&dir);
}
