//! The text output as a person sees it: the binary runs in a pseudo-terminal of
//! a fixed size, its bytes go through a terminal emulator (vt100), and the
//! screen is compared with `tests/data/screens/NAME.txt` (regenerate
//! deliberately with `WSHS_UPDATE_GOLDEN=1 cargo test --test terminal`). Also:
//! folding and `--no-fold`, the width, `--color`/`NO_COLOR`, and the one-line
//! format when stdout is not a terminal or with `--oneline`.

mod common;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Cap, Conn, KEY};

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");
/// Screen rows: enough that nothing scrolls away.
const ROWS: u16 = 3000;

/// What the terminal received, and the screen it drew.
struct Screen {
    raw: Vec<u8>,
    text: String,
}

/// Runs the binary with stdout on a pseudo-terminal `cols` wide (stderr, where
/// the progress bar would go, is discarded).
fn in_pty(args: &[&str], cols: u16, env: &[(&str, &str)]) -> Screen {
    let mut master = 0;
    let mut slave = 0;
    let ws = libc::winsize {
        ws_row: ROWS,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors we then own; the winsize is ours.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: both descriptors were just opened and are owned only here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    // The child holds the only slave descriptor now (the Command's copy is
    // dropped with it): reading ends with EIO once the child has exited.
    drop(cmd);
    let mut raw = Vec::new();
    let mut f = std::fs::File::from(master);
    let mut buf = [0u8; 65536];
    loop {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit {status:?}");
    let size = |n: u16| std::num::NonZeroU16::new(n).expect("non-zero size");
    let mut parser = vt100::Parser::new(size(ROWS), size(cols), 0);
    parser.process(&raw);
    let text = parser.screen().contents();
    Screen { raw, text }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("terminal");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// Hundreds of refusals: 240 without a key to one server, 60 to another, 12
/// with version 8 to the first, a second apart, as a busy incident looks.
/// Written once per caller (`tag`): tests run in parallel.
fn many_refusals(tag: &str) -> PathBuf {
    let path = scratch(&format!("many-refusals-{tag}.pcap"));
    let mut cap = Cap::new();
    let a = ([10, 0, 0, 2], 8080);
    let b = ([10, 0, 0, 3], 8080);
    let no_key = b"GET /ws HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let v8 = format!(
        "GET /ws HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n\r\n"
    );
    let bad = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 44\r\nConnection: close\r\n\r\nmissing Sec-WebSocket-Key header in request\n";
    let upgrade_required = b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    for i in 0..312u16 {
        let client = ([10, 1, (i / 200) as u8, (i % 200) as u8 + 1], 40_000 + i);
        let (server, req, resp): (_, &[u8], &[u8]) = match i % 26 {
            0 => (a, v8.as_bytes(), upgrade_required),
            1..=5 => (b, no_key, bad),
            _ => (a, no_key, bad),
        };
        let mut c = Conn::open(&mut cap, client, server);
        c.client(&mut cap, req);
        c.server(&mut cap, resp);
        c.close(&mut cap);
        cap.wait_secs(1);
    }
    std::fs::write(&path, &cap.buf).expect("write capture");
    path
}

fn check_screen(name: &str, text: &str) {
    let golden = PathBuf::from("tests/data/screens").join(format!("{name}.txt"));
    if std::env::var_os("WSHS_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all("tests/data/screens").expect("screens dir");
        std::fs::write(&golden, text).expect("write screen");
        return;
    }
    let want = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (WSHS_UPDATE_GOLDEN=1)", golden.display()));
    if want != text {
        let mut diff = String::new();
        for (i, (w, t)) in want.lines().zip(text.lines()).enumerate() {
            if w != t {
                diff.push_str(&format!("- {}: {w}\n+ {}: {t}\n", i + 1, i + 1));
            }
        }
        panic!(
            "screen {name} differs ({} vs {} lines):\n{diff}\n--- whole screen:\n{text}",
            want.lines().count(),
            text.lines().count()
        );
    }
}

fn headings(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("20") && l.contains(" → "))
        .count()
}

#[test]
fn hundreds_of_refusals_fold_into_a_screen() {
    let pcap = many_refusals("fold");
    let s = in_pty(
        &["-r", pcap.to_str().expect("path"), "--color", "never"],
        100,
        &[],
    );
    check_screen("many-refusals-100", &s.text);
    assert_eq!(headings(&s.text), 3, "{}", s.text);
    assert!(
        s.text
            .contains("… and 239 more like this (first 2023-11-14T22:13:26.000052Z,"),
        "{}",
        s.text
    );
    assert!(s.text.contains("… and 59 more like this"), "{}", s.text);
    assert!(s.text.contains("… and 11 more like this"), "{}", s.text);
    assert!(s.text.lines().all(|l| l.chars().count() <= 100));
}

#[test]
fn no_fold_shows_every_finding() {
    let pcap = many_refusals("nofold");
    let s = in_pty(
        &[
            "-r",
            pcap.to_str().expect("path"),
            "--color",
            "never",
            "--no-fold",
        ],
        100,
        &[],
    );
    assert_eq!(headings(&s.text), 312);
    assert!(!s.text.contains("more like this"));
}

#[test]
fn a_proxied_attempt_shows_both_legs_side_by_side() {
    let pcap = "fixtures/nginx-stripped__python-websockets.pcap";
    let s = in_pty(&["-r", pcap, "--color", "never"], 120, &[]);
    check_screen("nginx-stripped-120", &s.text);
    let row = |name: &str| {
        s.text
            .lines()
            .find(|l| {
                l.trim_start()
                    .trim_start_matches('≠')
                    .trim_start()
                    .starts_with(name)
            })
            .unwrap_or_else(|| panic!("no {name} row in:\n{}", s.text))
            .to_string()
    };
    assert!(row("Upgrade").contains("websocket") && row("Upgrade").contains("(none)"));
    assert!(row("Upgrade").trim_start().starts_with('≠'));
    assert!(row("Connection").contains("close"));
    assert!(!row("status").trim_start().starts_with('≠'));
    // One block for the two legs.
    assert_eq!(headings(&s.text), 1, "{}", s.text);
}

#[test]
fn the_width_comes_from_the_terminal() {
    let pcap = "fixtures/nginx-stripped__python-websockets.pcap";
    let narrow = in_pty(&["-r", pcap, "--color", "never"], 64, &[]);
    check_screen("nginx-stripped-64", &narrow.text);
    assert!(narrow.text.lines().all(|l| l.chars().count() <= 64));
    let said = narrow
        .text
        .lines()
        .find(|l| l.contains("server said:"))
        .expect("server said line");
    assert!(said.ends_with("…\""), "not cut: {said}");
    let wide = in_pty(&["-r", pcap, "--color", "never"], 200, &[]);
    let said = wide
        .text
        .lines()
        .find(|l| l.contains("server said:"))
        .expect("server said line");
    assert!(!said.contains('…'), "cut at 200 columns: {said}");
}

const ESC: &[u8] = b"\x1b[";

fn has_colour(raw: &[u8]) -> bool {
    raw.windows(ESC.len()).any(|w| w == ESC)
}

#[test]
fn colour_follows_color_and_no_color() {
    let pcap = "fixtures/node-ws__origin-rejected.pcap";
    let auto = in_pty(&["-r", pcap], 100, &[]);
    assert!(has_colour(&auto.raw), "auto on a terminal has no colour");
    let red_cause = b"\x1b[1;31morigin-rejected [Origin]\x1b[0m";
    assert!(auto.raw.windows(red_cause.len()).any(|w| w == red_cause));
    let no_color = in_pty(&["-r", pcap], 100, &[("NO_COLOR", "1")]);
    assert!(!has_colour(&no_color.raw), "NO_COLOR ignored");
    let never = in_pty(&["-r", pcap, "--color", "never"], 100, &[]);
    assert!(!has_colour(&never.raw));
    let always = in_pty(
        &["-r", pcap, "--color", "always"],
        100,
        &[("NO_COLOR", "1")],
    );
    assert!(has_colour(&always.raw), "--color always beats NO_COLOR");
    // The same screen, colour or not.
    assert_eq!(auto.text, never.text);
    let piped = Command::new(BIN)
        .args(["-r", pcap, "--color", "always"])
        .output()
        .expect("run");
    assert!(has_colour(&piped.stdout), "--color always when piped");
}

#[test]
fn one_line_per_finding_when_piped_or_asked() {
    let pcap = many_refusals("oneline");
    let p = pcap.to_str().expect("path");
    let piped = Command::new(BIN).args(["-r", p]).output().expect("run");
    assert!(piped.status.success());
    let piped = String::from_utf8(piped.stdout).expect("utf-8");
    assert!(!has_colour(piped.as_bytes()));
    // The one-line format, unchanged: every finding, aligned columns.
    let first = piped.lines().next().expect("a line");
    assert_eq!(
        first,
        "2023-11-14T22:13:20.000004Z  10.1.0.1:40000 > 10.0.0.2:8080                GET /ws                  426 Upgrade Required         unsupported-sec-websocket-version [Sec-WebSocket-Version]: Sec-WebSocket-Version is '8', not 13; server answered 426 Upgrade Required — fix: send Sec-WebSocket-Version: 13, the version RFC 6455 servers accept"
    );
    assert_eq!(
        piped.lines().filter(|l| l.starts_with("2023-")).count(),
        312
    );
    let oneline = in_pty(&["-r", p, "--oneline", "--color", "never"], 100, &[]);
    let oneline = String::from_utf8(oneline.raw)
        .expect("utf-8")
        .replace("\r\n", "\n");
    assert_eq!(
        oneline, piped,
        "--oneline on a terminal differs from piped output"
    );
}
