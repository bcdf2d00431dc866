//! Many input files: consecutive slices of one capture (tcpdump -C/-G rotation)
//! are read in time order as one stream, whatever order they are given in, so an
//! attempt whose request and response fall in two files is still paired.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::run::{json_lines, parse_json_lines, BIN};
use common::{ws_request, Cap, Conn, KEY};

/// Split a classic little-endian pcap right before the first packet whose bytes
/// contain `marker`: the slice before (with the file header) and the slice from it.
fn split_before(pcap: &[u8], marker: &[u8]) -> (Vec<u8>, Vec<u8>) {
    assert!(pcap.len() > 24, "not a pcap");
    assert!(
        pcap[..4] == [0xd4, 0xc3, 0xb2, 0xa1] || pcap[..4] == [0x4d, 0x3c, 0xb2, 0xa1],
        "fixture is not a little-endian pcap"
    );
    let header = &pcap[..24];
    let mut off = 24;
    while off + 16 <= pcap.len() {
        let caplen = u32::from_le_bytes(pcap[off + 8..off + 12].try_into().unwrap()) as usize;
        let data = &pcap[off + 16..off + 16 + caplen];
        if data.windows(marker.len()).any(|w| w == marker) {
            let mut first = header.to_vec();
            first.extend_from_slice(&pcap[24..off]);
            let mut second = header.to_vec();
            second.extend_from_slice(&pcap[off..]);
            return (first, second);
        }
        off += 16 + caplen;
    }
    panic!("marker not found");
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("wshs-inputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_handshake_split_across_rotated_files_is_paired() {
    let pcap = std::fs::read("fixtures/python-websockets__missing-key.pcap").unwrap();
    let (a, b) = split_before(&pcap, b"HTTP/1.1 400");
    let dir = tmpdir("rot");
    // tcpdump -C names: dump.pcap, dump.pcap1
    std::fs::write(dir.join("dump.pcap"), &a).unwrap();
    std::fs::write(dir.join("dump.pcap1"), &b).unwrap();
    let first = dir.join("dump.pcap");
    let second = dir.join("dump.pcap1");
    let (first, second) = (first.to_str().unwrap(), second.to_str().unwrap());

    // Alone, the first slice ends mid-handshake.
    let only_a = json_lines(&["-r", first, "--json", "--all"]);
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0]["outcome"], "incomplete");

    // Given in the wrong order, or as a directory, the slices join up.
    for args in [
        vec!["-r", second, "-r", first, "--json", "--all"],
        vec!["-r", dir.to_str().unwrap(), "--json", "--all"],
    ] {
        let lines = json_lines(&args);
        assert_eq!(lines.len(), 1, "{args:?}");
        assert_eq!(lines[0]["status"], 400, "{args:?}");
        assert_eq!(lines[0]["cause"], "missing-sec-websocket-key", "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_glob_reads_every_match_with_one_summary() {
    let out = Command::new(BIN)
        .args(["-r", "fixtures/node-ws__*.pcap", "--json", "--all"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let n = String::from_utf8_lossy(&out.stdout).lines().count();
    let files = std::fs::read_dir("fixtures")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.starts_with("node-ws__") && n.ends_with(".pcap")
        })
        .count();
    assert!(n >= files, "{n} attempts from {files} files");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("summary").count(), 1, "{err}");
}

#[test]
fn ecs_output_carries_the_ecs_field_names() {
    let lines = json_lines(&[
        "-r",
        "fixtures/nginx-stripped__python-websockets.pcap",
        "--format",
        "ecs",
    ]);
    assert_eq!(lines.len(), 2);
    for d in &lines {
        assert!(d["@timestamp"].is_string());
        assert!(d["source"]["ip"].is_string());
        assert!(d["destination"]["port"].is_u64());
        assert_eq!(d["http"]["request"]["method"], "GET");
        assert_eq!(d["http"]["response"]["status_code"], 400);
        assert_eq!(d["url"]["original"], "/ws");
        assert_eq!(d["event"]["outcome"], "failure");
        assert_eq!(d["error"]["type"], "proxy-stripped-upgrade");
    }
}

#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("wshs-sniff"));
    }
    let out = Command::new(BIN).arg("man").output().unwrap();
    assert!(out.status.success());
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(man.contains(".TH") && man.contains(r"\-\-fail\-on\-rejected"));
    let v = Command::new(BIN).arg("--version").output().unwrap();
    let want = format!("contract {}", wshs_sniff::report::CONTRACT_VERSION);
    assert!(String::from_utf8_lossy(&v.stdout).contains(&want));
}

#[test]
fn directory_without_captures_is_a_clear_error() {
    let dir = tmpdir("empty");
    let out = Command::new(BIN)
        .args(["-r", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}

/// Every packet of a classic pcap (as `Cap` writes it) as its own file, the
/// way a rotation by packet count names them (`dump.pcap`, `dump.pcap1`, …).
fn one_file_per_packet(pcap: &[u8], dir: &Path) -> usize {
    let header = &pcap[..24];
    let (mut off, mut n) = (24, 0);
    while off + 16 <= pcap.len() {
        let caplen = u32::from_le_bytes(pcap[off + 8..off + 12].try_into().unwrap()) as usize;
        let end = off + 16 + caplen;
        let mut slice = header.to_vec();
        slice.extend_from_slice(&pcap[off..end]);
        let name = match n {
            0 => "dump.pcap".to_string(),
            _ => format!("dump.pcap{n}"),
        };
        std::fs::write(dir.join(name), slice).unwrap();
        off = end;
        n += 1;
    }
    n
}

/// More slices than the open-file limit the tool runs under: files are opened
/// one at a time, and still read in time order as one stream.
#[test]
fn thousands_of_slices_are_read_under_a_small_open_file_limit() {
    let mut cap = Cap::new();
    let server = ([10, 0, 0, 1], 8080);
    // 625 connections of 8 packets: 5,000 slices.
    for i in 0..625u32 {
        let client = ([10, 1, (i >> 8) as u8, i as u8], 40_000 + (i % 1000) as u16);
        let mut c = Conn::open(&mut cap, client, server);
        let req = ws_request(
            "/ws",
            &format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"),
        );
        c.client(&mut cap, &req);
        let resp: &[u8] = if i % 2 == 0 {
            &common::accepted_response()
        } else {
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
        };
        c.server(&mut cap, resp);
        c.close(&mut cap);
    }
    let dir = tmpdir("slices");
    let whole = dir.join("whole.pcap");
    std::fs::write(&whole, &cap.buf).unwrap();
    let slices = dir.join("slices");
    std::fs::create_dir_all(&slices).unwrap();
    assert_eq!(one_file_per_packet(&cap.buf, &slices), 5000);
    let rejected = dir.join("rejected.pcap");

    let expected = json_lines(&["-r", whole.to_str().unwrap(), "--json", "--all"]);
    assert_eq!(expected.len(), 625);
    let out = Command::new("sh")
        .args(["-c", "ulimit -n 256 && exec \"$0\" \"$@\"", BIN])
        .args(["-r", slices.to_str().unwrap(), "--json", "--all"])
        .arg("--write-rejected")
        .arg(&rejected)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let got = parse_json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(got, expected);
    // The second pass over the slices (for --write-rejected) ran under the
    // limit too, and kept the refused half.
    let back = json_lines(&["-r", rejected.to_str().unwrap(), "--json"]);
    assert_eq!(back.len(), 625 / 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
