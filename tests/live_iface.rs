//! An interface that disappears under a live capture (root only; skipped with
//! a message otherwise): one clear line, exit status 2, and the summary of what
//! was seen so far. The interface is one end of a veth pair in a network
//! namespace the test creates and removes.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes the namespace and the host end of the pair on every exit path.
struct Netns {
    name: String,
    host_end: String,
}

impl Drop for Netns {
    fn drop(&mut self) {
        ip(&["link", "del", &self.host_end]);
        ip(&["netns", "del", &self.name]);
    }
}

#[test]
fn an_interface_that_disappears_ends_with_status_2_and_the_summary() {
    if !is_root() {
        eprintln!("skipping: live capture needs root");
        return;
    }
    let id = std::process::id() % 100_000;
    let ns = Netns {
        name: format!("wshs-gone-{id}"),
        host_end: format!("wsg{id}a"),
    };
    let inner = format!("wsg{id}b");
    if !(ip(&["netns", "add", &ns.name])
        && ip(&[
            "link",
            "add",
            &ns.host_end,
            "type",
            "veth",
            "peer",
            "name",
            &inner,
        ])
        && ip(&["link", "set", &inner, "netns", &ns.name])
        && ip(&["netns", "exec", &ns.name, "ip", "link", "set", &inner, "up"]))
    {
        eprintln!("skipping: cannot create a network namespace with a veth pair here");
        return;
    }
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, BIN, "-i", &inner, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = child.stderr.take().expect("stderr");
    // Wait (bounded) for the capture to be open: its first stderr line.
    let mut seen = Vec::new();
    let start = Instant::now();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\n") && start.elapsed() < Duration::from_secs(10) {
        match stderr.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => break,
        }
    }
    assert!(
        String::from_utf8_lossy(&seen).contains("capturing on"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    // Deleting one end of a veth pair deletes both: the captured one vanishes.
    assert!(
        ip(&["link", "del", &ns.host_end]),
        "cannot delete the veth pair"
    );
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    let mut status = None;
    for _ in 0..100 {
        if let Ok(Some(s)) = child.try_wait() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("still running after its interface disappeared:\n{rest}");
    };
    assert_eq!(status.code(), Some(2), "{rest}");
    assert!(rest.contains("summary"), "{rest}");
    let last = rest.lines().last().unwrap_or("");
    assert!(
        last.starts_with("wshs-sniff: capture on ") && last.contains(&inner),
        "{rest}"
    );
}
