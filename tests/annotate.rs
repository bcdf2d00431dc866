//! Diagnoses inside Wireshark: `--annotate FILE.pcapng` copies the whole input
//! and `--write-rejected FILE.pcapng` the refused connections, with a packet
//! comment on each attempt's request and response packet. Read back with
//! tshark (`frame.comment`), as a Wireshark user would see them. Skipped with a
//! message when tshark is missing; a failure under `WSHS_E2E_REQUIRED=1`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::tools::{have_tool, tshark};

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");

fn out(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("annotate");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

fn run(args: &[&str]) {
    let o = Command::new(BIN).args(args).output().expect("run");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The first bytes of a hex TCP payload as text.
fn payload_start(hex: &str) -> String {
    (0..hex.len().min(16))
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .map(char::from)
        .collect()
}

#[test]
fn annotate_copies_every_packet_and_comments_request_and_response() {
    if !have_tool("tshark") {
        return;
    }
    let input = "fixtures/nginx-stripped__python-websockets.pcap";
    let file = out("stripped.pcapng");
    run(&["-r", input, "--annotate", file.to_str().expect("path")]);
    let all_in = tshark(&PathBuf::from(input), &[], &["frame.number"]);
    let all_out = tshark(&file, &[], &["frame.number"]);
    assert_eq!(all_in.len(), all_out.len(), "not a whole copy");
    let rows = tshark(
        &file,
        &["-Y", "frame.comment"],
        &["frame.comment", "tcp.payload", "tcp.srcport", "tcp.dstport"],
    );
    // Two legs, each with a request and a response packet.
    assert_eq!(rows.len(), 4, "{rows:#?}");
    for row in &rows {
        let comment = &row[0];
        let start = payload_start(&row[1]);
        let role = if comment.contains(": request of ") {
            assert!(
                start.starts_with("GET "),
                "request comment on {start:?}: {comment}"
            );
            "request"
        } else {
            assert!(
                start.starts_with("HTTP/1."),
                "response comment on {start:?}: {comment}"
            );
            "response"
        };
        assert!(comment.contains(&format!("wshs-sniff: {role} of a WebSocket handshake rejected: proxy-stripped-upgrade [Upgrade]")), "{comment}");
        assert!(
            comment.contains(" — evidence: proxy dropped Upgrade"),
            "{comment}"
        );
        assert!(comment.contains(" — fix: in nginx's location"), "{comment}");
        assert!(comment.contains(" — peer leg: 127.0.0.1:"), "{comment}");
    }
    // Both legs are annotated: the client leg's port and the backend's.
    assert!(rows.iter().any(|r| r[0].contains("(client leg)")));
    assert!(rows.iter().any(|r| r[0].contains("(backend leg)")));
}

#[test]
fn comments_mask_secrets_as_the_text_output_does() {
    if !have_tool("tshark") {
        return;
    }
    let file = out("credentials.pcapng");
    run(&[
        "-r",
        "fixtures/python-websockets__credentials.pcap",
        "--annotate",
        file.to_str().expect("path"),
    ]);
    let rows = tshark(&file, &["-Y", "frame.comment"], &["frame.comment"]);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    for r in &rows {
        assert!(r[0].contains("origin-rejected [Origin]"), "{}", r[0]);
        assert!(r[0].contains("token=[redacted]"), "{}", r[0]);
        assert!(!r[0].contains("FAKE-"), "a secret in a comment: {}", r[0]);
    }
}

#[test]
fn write_rejected_as_pcapng_keeps_refused_connections_with_comments() {
    if !have_tool("tshark") {
        return;
    }
    // One accepted and one refused attempt in two captures read together.
    let file = out("rejected.pcapng");
    run(&[
        "-r",
        "fixtures/node-ws__ok.pcap",
        "-r",
        "fixtures/node-ws__origin-rejected.pcap",
        "--write-rejected",
        file.to_str().expect("path"),
    ]);
    let rows = tshark(&file, &[], &["frame.comment", "tcp.srcport", "tcp.dstport"]);
    let ok_rows = tshark(
        &PathBuf::from("fixtures/node-ws__ok.pcap"),
        &[],
        &["frame.number"],
    );
    let refused_rows = tshark(
        &PathBuf::from("fixtures/node-ws__origin-rejected.pcap"),
        &[],
        &["frame.number"],
    );
    assert_eq!(
        rows.len(),
        refused_rows.len(),
        "ok has {} packets",
        ok_rows.len()
    );
    let comments: Vec<&String> = rows
        .iter()
        .map(|r| &r[0])
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(comments.len(), 2, "{rows:#?}");
    assert!(comments
        .iter()
        .all(|c| c.contains("origin-rejected [Origin]")));
}
