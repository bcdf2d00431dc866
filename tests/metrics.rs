//! The Prometheus endpoint scraped during a live capture on loopback (as root;
//! skipped with a message otherwise): attempts per outcome, cause and server,
//! packets and kernel counters appear while the capture runs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn scrape(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// Kills the child on every exit path.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn metrics_are_served_during_a_live_capture() {
    if !is_root() {
        eprintln!("skipping: live capture needs root");
        return;
    }
    // A server that refuses every handshake with 400, for at most 5 connections.
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let sport = server.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in server.incoming().take(5) {
            let Ok(mut c) = conn else { continue };
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nmissing key",
            );
        }
    });
    let mport = free_port();
    let child = Command::new(BIN)
        .args([
            "-i",
            "lo",
            "--json",
            "--duration",
            "20",
            "--metrics-addr",
            &format!("127.0.0.1:{mport}"),
            "tcp",
            "port",
            &sport.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut child = Child(child);
    let mut up = false;
    for _ in 0..50 {
        if scrape(mport).is_some() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "metrics endpoint never answered");
    // Give the capture a moment to be open, then one refused handshake.
    std::thread::sleep(Duration::from_millis(500));
    let mut c = TcpStream::connect(("127.0.0.1", sport)).expect("connect");
    c.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .expect("send");
    let mut resp = Vec::new();
    let _ = c.read_to_end(&mut resp);
    let mut text = String::new();
    for _ in 0..50 {
        text = scrape(mport).unwrap_or_default();
        if text.contains("cause=\"missing-sec-websocket-key\"") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let attempt_line = text.lines().find(|l| {
        l.starts_with("wshs_upgrade_attempts_total{") && l.contains("missing-sec-websocket-key")
    });
    let attempt_line = attempt_line.unwrap_or_else(|| panic!("no attempt counter in:\n{text}"));
    assert!(
        attempt_line.contains("outcome=\"rejected\""),
        "{attempt_line}"
    );
    assert!(
        attempt_line.contains(&format!("server=\"127.0.0.1:{sport}\"")),
        "{attempt_line}"
    );
    assert!(attempt_line.trim_end().ends_with(" 1"), "{attempt_line}");
    for name in [
        "wshs_packets_total",
        "wshs_kernel_dropped_packets_total",
        "wshs_flows_tracked",
        "wshs_flows_evicted_total",
    ] {
        assert!(text.contains(name), "{name} missing in:\n{text}");
    }
    let packets: u64 = text
        .lines()
        .find(|l| l.starts_with("wshs_packets_total "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(packets > 0, "no packets counted:\n{text}");
    // SAFETY: signalling our own child by its PID.
    unsafe {
        libc::kill(child.0.id() as i32, libc::SIGINT);
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.0.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.0.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("summary"), "{stderr}");
}
