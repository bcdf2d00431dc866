//! Inputs that once crashed or misled the analyzer (found by the fuzz targets
//! under `fuzz/` or by the hostile-traffic tests), kept so they stay fixed.

mod common;
use common::stream_harness;
use common::*;

use wshs_sniff::pipeline::Config;
use wshs_sniff::Analysis;

const SERVER: Ep = ([10, 0, 0, 80], 8080);

fn analyse(bytes: Vec<u8>) -> Analysis {
    let cfg = Config {
        workers: 1,
        ..Config::default()
    };
    wshs_sniff::analyze_bytes("regression", bytes, &cfg).expect("capture opens")
}

/// A request with more header lines than the head parser holds (128) was taken
/// for "not HTTP": an upgrade attempt among them was lost, and a head that never
/// ends (megabytes of header lines) left no trace in the summary.
#[test]
fn too_many_headers_is_a_head_too_large_not_a_lost_attempt() {
    let mut cap = Cap::new();
    let mut c = Conn::open(&mut cap, ([10, 0, 0, 1], 40_001), SERVER);
    let mut extra = format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n");
    for i in 0..200 {
        extra.push_str(&format!("X-Tag-{i}: {i}\r\n"));
    }
    c.client(&mut cap, &ws_request("/many", &extra));
    c.server(
        &mut cap,
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n",
    );
    // The same connection goes on with a normal attempt.
    c.client(
        &mut cap,
        &ws_request(
            "/next",
            &format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n"),
        ),
    );
    c.server(
        &mut cap,
        b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
    );
    c.close(&mut cap);

    // A head that never ends.
    let mut e = Conn::open(&mut cap, ([10, 0, 0, 2], 40_002), SERVER);
    let mut endless = b"GET /endless HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..20_000 {
        endless.extend_from_slice(format!("X-Filler-{i}: ffffffffffffffff\r\n").as_bytes());
    }
    e.client(&mut cap, &endless);

    let a = analyse(cap.buf);
    let targets: Vec<&str> = a.records.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/many", "/next"], "{:#?}", a.records);
    assert_eq!(a.records[0].status, Some(431));
    assert_eq!(a.records[0].cause.code(), "header-too-large");
    assert_eq!(a.records[1].status, Some(426));
    assert_eq!(
        a.records[1].cause.code(),
        "unsupported-sec-websocket-version"
    );
    assert_eq!(a.summary.http.heads_too_large, 2, "{:?}", a.summary.http);
}

/// `stream_http` fuzz crash: a head too large whose header name holds a
/// multi-byte character across its 14th byte panicked (a `str` sliced off a
/// character boundary) in the lenient reader; in the pipeline that killed a
/// flow worker and ended the analysis of the whole capture.
#[test]
fn lenient_head_with_non_ascii_header_name() {
    stream_harness::run(include_bytes!("data/stream_http-lenient-header-name.bin"));

    let mut cap = Cap::new();
    let mut c = Conn::open(&mut cap, ([10, 0, 0, 1], 40_001), SERVER);
    let mut head =
        b"GET /big HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket\xff-Key: k\r\n"
            .to_vec();
    while head.len() < 80 * 1024 {
        head.extend_from_slice(b"X-Filler: ffffffffffffffffffffffffffffffffffffffffffffff\r\n");
    }
    head.extend_from_slice(b"\r\n");
    c.client(&mut cap, &head);
    c.server(
        &mut cap,
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n",
    );
    c.close(&mut cap);
    let mut d = Conn::open(&mut cap, ([10, 0, 0, 2], 40_002), SERVER);
    d.client(
        &mut cap,
        &ws_request(
            "/after",
            &format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"),
        ),
    );
    d.server(&mut cap, &accepted_response());
    d.close(&mut cap);

    let a = analyse(cap.buf);
    let targets: Vec<&str> = a.records.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(targets, ["/big", "/after"], "{:#?}", a.records);
    assert_eq!(a.records[0].cause.code(), "header-too-large");
    assert_eq!(a.records[1].outcome.code(), "accepted");
}
