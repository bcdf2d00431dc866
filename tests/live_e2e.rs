//! End to end, live: real WebSocket servers (Python `websockets`, Node `ws`) and
//! real nginx (one proxy that strips the upgrade, one configured right) on
//! loopback, `wshs-sniff -i lo --json` capturing, a raw-TCP client driving good
//! and bad handshakes, then SIGINT. Root only (capturing needs it); skipped with
//! a message when not root or when nginx / websockets / ws are missing, unless
//! `WSHS_E2E_REQUIRED=1` (set by `.ci/run`), where a skip is a failure.
//!
//! Ports 18600-18699 on 127.0.0.1 only; every process started is stopped by PID
//! (Drop guard); every wait is bounded in count and time.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{sleep, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::run::json_lines;

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");
const PY_PORT: u16 = 18601;
const NODE_PORT: u16 = 18602;
const STRIPPED_PORT: u16 = 18610;
const GOOD_PORT: u16 = 18611;
/// Tiny in-test servers of the smaller live tests.
const COUNT_PORT: u16 = 18650;
/// The TLS server of the growing key log test.
const TLS_PORT: u16 = 18651;
const PORT_RANGE: &str = "18600-18649";

// ---------------------------------------------------------------- environment

fn recorder_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/record-fixtures")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn succeeds(cmd: &str, args: &[&str], dir: &Path) -> bool {
    Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why this test cannot run here, if it cannot.
fn missing(need_servers: bool) -> Option<String> {
    if !is_root() {
        return Some("not root (live capture needs it)".into());
    }
    if !need_servers {
        return None;
    }
    let dir = recorder_dir();
    if !succeeds("nginx", &["-v"], &dir) {
        return Some("nginx not installed".into());
    }
    if !succeeds("python3", &["-c", "import websockets"], &dir) {
        return Some("python3 with websockets not installed".into());
    }
    if !succeeds("node", &["-e", "require('ws')"], &dir) {
        return Some("node with ws not installed (npm ci in scripts/record-fixtures)".into());
    }
    None
}

/// Print why the test is skipped and return true; fail instead in CI.
fn skip(test: &str, need_servers: bool) -> bool {
    let Some(why) = missing(need_servers) else {
        return false;
    };
    if std::env::var("WSHS_E2E_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("{test}: cannot run: {why} (WSHS_E2E_REQUIRED=1)");
    }
    eprintln!("{test}: skipped: {why}");
    true
}

// ---------------------------------------------------------------- processes

/// Processes started by a test, stopped by PID (SIGTERM, then SIGKILL after
/// 3 s) in reverse order when dropped.
#[derive(Default)]
struct Procs {
    kids: Vec<(String, Child)>,
}

fn stop_child(c: &mut Child, sig: i32) -> Option<ExitStatus> {
    if let Ok(Some(s)) = c.try_wait() {
        return Some(s);
    }
    // SAFETY: signalling a child of ours by its PID; it is not reaped yet
    // (try_wait above said it is running), so the PID is still ours.
    unsafe {
        libc::kill(c.id() as libc::pid_t, sig);
    }
    for _ in 0..30 {
        if let Ok(Some(s)) = c.try_wait() {
            return Some(s);
        }
        sleep(Duration::from_millis(100));
    }
    let _ = c.kill();
    let _ = c.wait();
    None
}

impl Procs {
    fn spawn(&mut self, name: &str, cmd: &mut Command) -> usize {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.kids.push((name.to_string(), child));
        self.kids.len() - 1
    }

    fn child(&mut self, i: usize) -> &mut Child {
        &mut self.kids[i].1
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in self.kids.iter_mut().rev() {
            stop_child(c, libc::SIGTERM);
        }
    }
}

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("wshs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wait_port(port: u16) {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    for _ in 0..100 {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok() {
            return;
        }
        sleep(Duration::from_millis(100));
    }
    panic!("127.0.0.1:{port} did not come up within ~10 s");
}

// ---------------------------------------------------------------- wshs-sniff

/// A running `wshs-sniff` with its stdout lines (and when each arrived) and
/// its stderr lines collected by two threads.
struct Sniffer {
    idx: usize,
    out: Arc<Mutex<Vec<(Instant, String)>>>,
    err: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

fn start_sniffer(procs: &mut Procs, args: &[&str]) -> Sniffer {
    let idx = procs.spawn(
        "wshs-sniff",
        Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let c = procs.child(idx);
    let stdout = c.stdout.take().unwrap();
    let stderr = c.stderr.take().unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let err = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    let e = err.clone();
    let readers = vec![
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                o.lock().unwrap().push((Instant::now(), line));
            }
        }),
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                e.lock().unwrap().push(line);
            }
        }),
    ];
    let s = Sniffer {
        idx,
        out,
        err,
        readers,
    };
    // Bounded wait for the "capturing on" line, then a short settle.
    for _ in 0..100 {
        if s.err
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("capturing on"))
        {
            sleep(Duration::from_millis(200));
            return s;
        }
        if let Ok(Some(st)) = procs.child(idx).try_wait() {
            panic!(
                "wshs-sniff exited early ({st}): {:?}",
                s.err.lock().unwrap()
            );
        }
        sleep(Duration::from_millis(100));
    }
    panic!(
        "wshs-sniff did not open the capture within ~10 s: {:?}",
        s.err.lock().unwrap()
    );
}

impl Sniffer {
    /// Wait (bounded) until the process ends by itself; its exit status.
    fn wait_exit(&mut self, procs: &mut Procs, secs: u64) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(s)) = procs.child(self.idx).try_wait() {
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                return s;
            }
            if Instant::now() > deadline {
                panic!("wshs-sniff did not exit within {secs} s");
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// SIGINT by PID, then wait (bounded) for the exit.
    fn interrupt(&mut self, procs: &mut Procs) -> ExitStatus {
        let pid = procs.child(self.idx).id();
        // SAFETY: our child, not reaped yet.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGINT);
        }
        self.wait_exit(procs, 15)
    }

    fn records(&self) -> Vec<(Instant, Value)> {
        self.out
            .lock()
            .unwrap()
            .iter()
            .map(|(t, l)| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"));
                (*t, v)
            })
            .collect()
    }

    fn stderr(&self) -> String {
        self.err.lock().unwrap().join("\n")
    }
}

// ---------------------------------------------------------------- client

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ok,
    MissingKey,
    BadVersion,
    BadOrigin,
}

const KINDS: [Kind; 4] = [
    Kind::Ok,
    Kind::MissingKey,
    Kind::BadVersion,
    Kind::BadOrigin,
];

#[derive(Debug)]
struct Exchange {
    kind: Kind,
    port: u16,
    client: String,
    status: Option<u16>,
    answered: Instant,
}

fn random_key(n: u64) -> String {
    use base64::Engine;
    let mut x = (std::process::id() as u64) << 32 ^ n ^ 0x9e37_79b9_7f4a_7c15;
    let mut bytes = [0u8; 16];
    for b in bytes.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One handshake on a fresh connection, written byte for byte; reads the
/// response head (2 s at most), then closes.
fn handshake(port: u16, kind: Kind, n: u64) -> Exchange {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let client = s.local_addr().unwrap().to_string();
    let mut req = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: wshs-e2e\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    );
    if kind != Kind::MissingKey {
        req += &format!("Sec-WebSocket-Key: {}\r\n", random_key(n));
    }
    let version = if kind == Kind::BadVersion { "99" } else { "13" };
    req += &format!("Sec-WebSocket-Version: {version}\r\n");
    let origin = if kind == Kind::BadOrigin {
        "http://evil.test"
    } else {
        "http://app.test"
    };
    req += &format!("Origin: {origin}\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let answered = Instant::now();
    let status = std::str::from_utf8(&buf)
        .ok()
        .and_then(|t| t.split(' ').nth(1))
        .and_then(|c| c.parse().ok());
    // Let the rest of the response (body) arrive before closing, so the close
    // is not a reset that races the body.
    sleep(Duration::from_millis(50));
    drop(s);
    Exchange {
        kind,
        port,
        client,
        status,
        answered,
    }
}

// ---------------------------------------------------------------- servers

fn nginx_conf(prefix: &Path) -> String {
    format!(
        "daemon off;
master_process on;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/tmp/body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    upstream backend {{ server 127.0.0.1:{PY_PORT}; }}
    # Misconfigured: bare proxy_pass (HTTP/1.0, Upgrade and Connection dropped).
    server {{
        listen 127.0.0.1:{STRIPPED_PORT};
        location / {{ proxy_pass http://backend; }}
    }}
    # Well configured for WebSocket.
    server {{
        listen 127.0.0.1:{GOOD_PORT};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection \"upgrade\";
            proxy_set_header Host $host;
        }}
    }}
}}
",
        p = prefix.display()
    )
}

fn start_servers(procs: &mut Procs, tmp: &Path) {
    let dir = recorder_dir();
    let log = |name: &str| std::fs::File::create(tmp.join(name)).unwrap();
    procs.spawn(
        "python websockets",
        Command::new("python3")
            .arg(dir.join("server_websockets.py"))
            .args([&PY_PORT.to_string(), "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(log("python.log"))
            .stderr(log("python.err")),
    );
    procs.spawn(
        "node ws",
        Command::new("node")
            .arg(dir.join("server_ws.js"))
            .args([&NODE_PORT.to_string(), "127.0.0.1"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log("node.log"))
            .stderr(log("node.err")),
    );
    let prefix = tmp.join("nginx");
    std::fs::create_dir_all(prefix.join("tmp")).unwrap();
    let conf = prefix.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(&prefix)).unwrap();
    procs.spawn(
        "nginx",
        Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(&prefix)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .stdin(Stdio::null())
            .stdout(log("nginx.out"))
            .stderr(log("nginx.err")),
    );
    for p in [PY_PORT, NODE_PORT, STRIPPED_PORT, GOOD_PORT] {
        wait_port(p);
    }
}

// ---------------------------------------------------------------- assertions

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// (status set, cause, header) a refusal or acceptance by the servers must get.
fn expected(kind: Kind) -> (&'static [u64], &'static str, Option<&'static str>) {
    match kind {
        Kind::Ok => (&[101], "ok", None),
        Kind::MissingKey => (
            &[400],
            "missing-sec-websocket-key",
            Some("Sec-WebSocket-Key"),
        ),
        Kind::BadVersion => (
            &[400, 426],
            "unsupported-sec-websocket-version",
            Some("Sec-WebSocket-Version"),
        ),
        Kind::BadOrigin => (&[403], "origin-rejected", Some("Origin")),
    }
}

fn check(rec: &Value, what: &str, status: &[u64], cause: &str, header: Option<&str>) {
    let got_status = rec["status"].as_u64();
    assert!(
        got_status.is_some_and(|st| status.contains(&st)),
        "{what}: status {got_status:?}, want one of {status:?}: {rec}"
    );
    assert_eq!(
        s(rec, "cause").as_deref(),
        Some(cause),
        "{what}: cause: {rec}"
    );
    assert_eq!(s(rec, "header").as_deref(), header, "{what}: header: {rec}");
    let outcome = if cause == "ok" {
        "accepted"
    } else {
        "rejected"
    };
    assert_eq!(
        s(rec, "outcome").as_deref(),
        Some(outcome),
        "{what}: outcome: {rec}"
    );
}

/// Attempts as comparable tuples (for the -w read-back).
fn keyed(recs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = recs
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {}",
                r["client"], r["server"], r["leg"], r["status"], r["cause"], r["header"]
            )
        })
        .collect();
    v.sort();
    v
}

fn read_back(pcap: &Path) -> Vec<Value> {
    json_lines(&["--json", "--all", "-r", pcap.to_str().unwrap()])
}

// ---------------------------------------------------------------- the test

#[test]
fn live_capture_of_real_servers_and_nginx_proxies() {
    if skip("live_capture_of_real_servers_and_nginx_proxies", true) {
        return;
    }
    let tmp = TempDir::new("e2e");
    let mut procs = Procs::default();
    start_servers(&mut procs, &tmp.0);

    let wfile = tmp.0.join("all.pcap");
    let wfile_s = wfile.to_str().unwrap().to_string();
    let rfile = tmp.0.join("rejected.pcap");
    let rfile_s = rfile.to_str().unwrap().to_string();
    let mut sniff = start_sniffer(
        &mut procs,
        &[
            "-i",
            "lo",
            "--json",
            "--all",
            "-w",
            &wfile_s,
            "--write-rejected",
            &rfile_s,
            "tcp",
            "portrange",
            PORT_RANGE,
        ],
    );

    let mut exchanges = Vec::new();
    let mut n = 0;
    for port in [PY_PORT, NODE_PORT, GOOD_PORT, STRIPPED_PORT] {
        for kind in KINDS {
            n += 1;
            let ex = handshake(port, kind, n);
            assert!(ex.status.is_some(), "no response from {port} to {kind:?}");
            exchanges.push(ex);
        }
    }
    // Every attempt must show up on its own, while the capture still runs:
    // wait (bounded) until every client leg has been reported.
    // Two legs for each of the 8 attempts through a proxy.
    let want_all = exchanges.len() + 8;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let have = sniff.out.lock().unwrap().len();
        if have >= want_all {
            break;
        }
        sleep(Duration::from_millis(50));
    }
    let seen_before_sigint = sniff.out.lock().unwrap().len();
    let status = sniff.interrupt(&mut procs);
    let records = sniff.records();
    let stderr = sniff.stderr();
    for (_, r) in &records {
        eprintln!("{r}");
    }
    eprintln!("{stderr}");

    // Exit, summary with kernel counters on stderr.
    assert!(
        status.success(),
        "exit status {status:?}; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("summary"),
        "no summary on stderr:\n{stderr}"
    );
    let kernel = stderr
        .lines()
        .find(|l| l.starts_with("kernel:"))
        .unwrap_or_else(|| panic!("no kernel line:\n{stderr}"));
    assert!(
        kernel.contains("received") && kernel.contains("dropped"),
        "kernel line: {kernel}"
    );

    // -w: the saved capture read back gives the same attempts.
    let live: Vec<Value> = records.iter().map(|(_, v)| v.clone()).collect();
    let back = read_back(&wfile);
    assert_eq!(keyed(&back), keyed(&live), "-w capture read back differs");
    // --write-rejected: exactly the attempts that were not accepted.
    assert!(
        stderr.contains("connections with a refused attempt"),
        "{stderr}"
    );
    let refused: Vec<Value> = live
        .iter()
        .filter(|r| r["outcome"] != "accepted")
        .cloned()
        .collect();
    assert!(refused.len() >= 16, "{refused:?}");
    let back = read_back(&rfile);
    assert_eq!(keyed(&back), keyed(&refused), "--write-rejected capture");

    // Every record once.
    let mut seen = BTreeMap::new();
    for (_, r) in &records {
        *seen.entry((s(r, "client"), s(r, "server"))).or_insert(0u32) += 1;
    }
    assert!(
        seen.values().all(|&c| c == 1),
        "an attempt reported twice: {seen:?}"
    );

    let find = |client: &str, server: &str| -> Option<&(Instant, Value)> {
        records.iter().find(|(_, r)| {
            s(r, "client").as_deref() == Some(client) && s(r, "server").as_deref() == Some(server)
        })
    };
    let backend = format!("127.0.0.1:{PY_PORT}");
    let mut backends_seen = 0;
    let mut worst = Duration::ZERO;
    for ex in &exchanges {
        let server = format!("127.0.0.1:{}", ex.port);
        let what = format!("{:?} to {server} from {}", ex.kind, ex.client);
        let (at, rec) = find(&ex.client, &server).unwrap_or_else(|| panic!("{what}: not reported"));
        worst = worst.max(at.saturating_duration_since(ex.answered));
        assert!(
            at.saturating_duration_since(ex.answered) < Duration::from_secs(5),
            "{what}: reported {:?} after the response",
            at.saturating_duration_since(ex.answered)
        );
        assert_eq!(
            rec["status"].as_u64(),
            ex.status.map(u64::from),
            "{what}: status differs from what the client got: {rec}"
        );
        let (st, cause, header) = expected(ex.kind);
        let proxied = ex.port == GOOD_PORT || ex.port == STRIPPED_PORT;
        if !proxied {
            assert_eq!(s(rec, "leg").as_deref(), Some("direct"), "{what}: {rec}");
            assert!(rec["peer"].is_null(), "{what}: {rec}");
            check(rec, &what, st, cause, header);
            continue;
        }
        assert_eq!(s(rec, "leg").as_deref(), Some("client"), "{what}: {rec}");
        let peer = s(rec, "peer").unwrap_or_else(|| panic!("{what}: no peer: {rec}"));
        let (bc, bs) = peer
            .split_once('>')
            .unwrap_or_else(|| panic!("{what}: peer '{peer}'"));
        assert_eq!(bs, backend, "{what}: backend leg to {bs}");
        let (_, back) =
            find(bc, bs).unwrap_or_else(|| panic!("{what}: backend leg {peer} not reported"));
        backends_seen += 1;
        assert_eq!(s(back, "leg").as_deref(), Some("backend"), "{what}: {back}");
        assert_eq!(
            s(back, "peer"),
            Some(format!("{}>{}", ex.client, server)),
            "{what}: backend leg's peer: {back}"
        );
        if ex.port == GOOD_PORT {
            check(rec, &format!("{what} (client leg)"), st, cause, header);
            check(back, &format!("{what} (backend leg)"), st, cause, header);
        } else if ex.kind == Kind::Ok {
            for (leg, r) in [("client", rec), ("backend", back)] {
                check(
                    r,
                    &format!("{what} ({leg} leg)"),
                    &[400],
                    "proxy-stripped-upgrade",
                    Some("Upgrade"),
                );
            }
        } else {
            // A broken request through a proxy that also strips the upgrade:
            // refused on both legs, and never called a success.
            for (leg, r) in [("client", rec), ("backend", back)] {
                assert_eq!(
                    s(r, "outcome").as_deref(),
                    Some("rejected"),
                    "{what} ({leg} leg): {r}"
                );
                let c = s(r, "cause").unwrap_or_default();
                assert!(
                    c == cause || c == "proxy-stripped-upgrade",
                    "{what} ({leg} leg): cause {c}: {r}"
                );
            }
        }
    }
    assert_eq!(backends_seen, 8, "backend legs found");
    // Nothing else on the wire of these ports but our attempts and their legs.
    assert_eq!(records.len(), want_all, "records: {records:?}");
    assert_eq!(
        seen_before_sigint, want_all,
        "attempts were held back until SIGINT"
    );
    eprintln!("slowest report after its response: {worst:?}");
}

// ---------------------------------------------------------------- smaller live tests

/// A bare HTTP server on 127.0.0.1:`port` that refuses every request with 400,
/// in a thread, until `done` is set or `secs` seconds pass.
fn refusing_server(
    port: u16,
    secs: u64,
    done: Arc<std::sync::atomic::AtomicBool>,
) -> JoinHandle<()> {
    let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    l.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline && !done.load(std::sync::atomic::Ordering::Relaxed) {
            match l.accept() {
                Ok((mut c, _)) => {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 2048];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match c.read(&mut chunk) {
                            Ok(k) if k > 0 => buf.extend_from_slice(&chunk[..k]),
                            _ => break,
                        }
                    }
                    let _ = c.write_all(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
                Err(_) => sleep(Duration::from_millis(20)),
            }
        }
    })
}

#[test]
fn live_duration_ends_by_itself_with_the_summary() {
    if skip("live_duration_ends_by_itself_with_the_summary", false) {
        return;
    }
    let mut procs = Procs::default();
    let started = Instant::now();
    let mut sniff = start_sniffer(
        &mut procs,
        &[
            "-i",
            "lo",
            "--duration",
            "1",
            "--json",
            "tcp",
            "port",
            "18699",
        ],
    );
    let status = sniff.wait_exit(&mut procs, 15);
    let err = sniff.stderr();
    assert!(status.success(), "{status:?}: {err}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(
        err.contains("summary") && !err.contains("interrupted"),
        "{err}"
    );
    assert!(err.lines().any(|l| l.starts_with("kernel:")), "{err}");
    assert!(sniff.records().is_empty());
}

#[test]
fn live_count_stops_after_one_attempt() {
    if skip("live_count_stops_after_one_attempt", false) {
        return;
    }
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = refusing_server(COUNT_PORT, 20, done.clone());
    let mut procs = Procs::default();
    let port = COUNT_PORT.to_string();
    let tmp = TempDir::new("count");
    let rfile = tmp.0.join("rejected.pcap");
    let rfile_s = rfile.to_str().unwrap().to_string();
    let mut sniff = start_sniffer(
        &mut procs,
        &[
            "-i",
            "lo",
            "--json",
            "-c",
            "1",
            "--write-rejected",
            &rfile_s,
            "tcp",
            "port",
            &port,
        ],
    );
    // One attempt at a time until wshs-sniff ends by itself (bounded).
    let mut sent = 0;
    let mut status = None;
    for n in 0..20 {
        if let Ok(Some(s)) = procs.child(sniff.idx).try_wait() {
            status = Some(s);
            break;
        }
        if n < 5 {
            let ex = handshake(COUNT_PORT, Kind::MissingKey, n);
            assert_eq!(ex.status, Some(400));
            sent += 1;
        }
        sleep(Duration::from_millis(500));
    }
    assert!(status.is_some(), "-c 1 did not stop after {sent} attempts");
    let status = sniff.wait_exit(&mut procs, 5);
    let err = sniff.stderr();
    assert!(status.success(), "{status:?}: {err}");
    let recs = sniff.records();
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(
        s(&recs[0].1, "cause").as_deref(),
        Some("missing-sec-websocket-key")
    );
    assert!(err.contains("summary"), "{err}");
    // --write-rejected without -w: the one refused connection, and the
    // scratch file of all packets is gone.
    let back = read_back(&rfile);
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0]["client"], recs[0].1["client"]);
    let left: Vec<_> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "scratch files left: {left:?}");
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = server.join();
}

/// uid of a user from the password database.
fn uid_of(user: &str) -> Option<u32> {
    let name = std::ffi::CString::new(user).ok()?;
    // SAFETY: getpwnam returns static storage or null; read at once.
    unsafe {
        let pw = libc::getpwnam(name.as_ptr());
        (!pw.is_null()).then(|| (*pw).pw_uid)
    }
}

#[test]
fn live_z_drops_root_once_the_capture_is_open() {
    if skip("live_z_drops_root_once_the_capture_is_open", false) {
        return;
    }
    let Some(nobody) = uid_of("nobody") else {
        eprintln!("live_z_drops_root_once_the_capture_is_open: skipped: no user 'nobody'");
        return;
    };
    let mut procs = Procs::default();
    let mut sniff = start_sniffer(
        &mut procs,
        &[
            "-i",
            "lo",
            "-Z",
            "nobody",
            "--duration",
            "3",
            "tcp",
            "port",
            "18698",
        ],
    );
    let pid = procs.child(sniff.idx).id();
    let status_file = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids: Vec<u32> = status_file
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .unwrap()
        .split_whitespace()
        .map(|u| u.parse().unwrap())
        .collect();
    assert_eq!(uids, vec![nobody; 4], "real, effective, saved, fs uid");
    let gids = status_file
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .unwrap()
        .trim()
        .to_string();
    assert!(gids.is_empty(), "supplementary groups kept: {gids}");
    let status = sniff.wait_exit(&mut procs, 15);
    let err = sniff.stderr();
    assert!(status.success(), "{status:?}: {err}");
    assert!(err.contains("privileges dropped"), "{err}");
    // Text mode: the summary ends stdout.
    let out: Vec<String> = sniff
        .out
        .lock()
        .unwrap()
        .iter()
        .map(|(_, l)| l.clone())
        .collect();
    assert!(out.iter().any(|l| l.contains("summary")), "{out:?}");
    assert!(out.iter().any(|l| l.starts_with("kernel:")), "{out:?}");
}

/// A TLS server that refuses every WebSocket upgrade with 403 and a client
/// whose key log (Python's `keylog_filename`, OpenSSL) is written during its
/// handshake; one connection, every wait bounded. Prints the status line.
/// Arguments: port, key log path, scratch directory.
const TLS_EXCHANGE: &str = r#"
import os, socket, ssl, subprocess, sys, threading
port, keylog, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                "-out", crt, "-days", "2", "-subj", "/CN=localhost"],
               check=True, capture_output=True)
server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server.load_cert_chain(crt, key)
listener = socket.create_server(("127.0.0.1", port))
listener.settimeout(10)

def read_head(t):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = t.recv(4096)
        if not d:
            break
        buf += d
    return buf

def serve():
    c, _ = listener.accept()
    c.settimeout(10)
    with server.wrap_socket(c, server_side=True) as t:
        read_head(t)
        t.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        try:
            t.recv(1)
        except OSError:
            pass

th = threading.Thread(target=serve)
th.start()
client = ssl.create_default_context()
client.check_hostname = False
client.verify_mode = ssl.CERT_NONE
client.keylog_filename = keylog
with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
    with client.wrap_socket(s, server_hostname="localhost") as t:
        t.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        print(read_head(t).split(b"\r\n")[0].decode())
th.join(10)
"#;

#[test]
fn live_a_key_log_written_during_the_capture_is_read_as_it_grows() {
    if skip(
        "live_a_key_log_written_during_the_capture_is_read_as_it_grows",
        false,
    ) {
        return;
    }
    let tmp = TempDir::new("keylog");
    // Empty when the capture starts: every secret comes later.
    let keylog = tmp.0.join("keys.log");
    std::fs::write(&keylog, b"").unwrap();
    let keylog_s = keylog.to_str().unwrap().to_string();
    let port = TLS_PORT.to_string();
    let mut procs = Procs::default();
    let mut sniff = start_sniffer(
        &mut procs,
        &[
            "-i",
            "lo",
            "--json",
            "--all",
            "--tls-keylog",
            &keylog_s,
            "tcp",
            "port",
            &port,
        ],
    );
    let exchange = Command::new("python3")
        .args([
            "-c",
            TLS_EXCHANGE,
            &port,
            &keylog_s,
            tmp.0.to_str().unwrap(),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        exchange.status.success(),
        "{}",
        String::from_utf8_lossy(&exchange.stderr)
    );
    assert!(
        String::from_utf8_lossy(&exchange.stdout).contains(" 403 "),
        "{exchange:?}"
    );
    assert!(
        std::fs::metadata(&keylog).unwrap().len() > 0,
        "no key log written"
    );
    for _ in 0..50 {
        if !sniff.records().is_empty() {
            break;
        }
        sleep(Duration::from_millis(100));
    }
    let status = sniff.interrupt(&mut procs);
    let err = sniff.stderr();
    assert!(status.success(), "{status:?}: {err}");
    let recs: Vec<Value> = sniff.records().into_iter().map(|(_, v)| v).collect();
    assert_eq!(recs.len(), 1, "{recs:?} {err}");
    assert_eq!(recs[0]["status"].as_u64(), Some(403), "{}", recs[0]);
    assert_eq!(s(&recs[0], "outcome").as_deref(), Some("rejected"));
    assert_eq!(recs[0]["tls"], Value::Bool(true), "{}", recs[0]);
}
