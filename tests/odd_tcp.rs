//! TCP as real captures hold it, with generated segment orders: a capture that
//! begins inside a connection, in the middle of a segment train that carries a
//! request line; and late copies of an answered request's segments arriving
//! after the connection closed. Every attempt found once, none invented.

mod common;
use common::*;

use proptest::prelude::*;
use proptest::sample::Index;
use wshs_sniff::pipeline::Config;
use wshs_sniff::report::Record;

const CLIENT: Ep = ([10, 0, 0, 1], 40_001);
const SERVER: Ep = ([10, 0, 0, 80], 8080);

fn attempts(bytes: Vec<u8>) -> Vec<Record> {
    let cfg = Config {
        workers: 1,
        ..Config::default()
    };
    let a = wshs_sniff::analyze_bytes("odd-tcp", bytes, &cfg).expect("capture opens");
    assert!(a.error.is_none(), "{:?}", a.error);
    a.records
}

fn request(path: &str) -> Vec<u8> {
    ws_request(
        path,
        &format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n"),
    )
}

const REFUSAL: &[u8] =
    b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n";

/// `0..len` cut at the given points into non-empty `(from, to)` pieces.
fn pieces(len: usize, cuts: &[usize]) -> Vec<(usize, usize)> {
    let mut at: Vec<usize> = cuts.iter().copied().filter(|c| *c < len).collect();
    at.push(0);
    at.push(len);
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Fisher-Yates driven by xorshift, so a failing case replays from its seed.
fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

/// A capture that starts inside a connection: earlier traffic is not in it,
/// and the first client segment it holds ends at `first_cut`, inside the
/// request line; the rest of the request follows in `cuts` pieces, in the
/// order `seed` gives; then the refusal, then the close.
fn picked_up_mid_line(first_cut: usize, cuts: &[usize], seed: u64) -> Vec<u8> {
    let mut cap = Cap::new();
    let req = request("/mid?room=1");
    let (cs, ss) = (0x2000_0000u32, 0x9000_0000u32);
    cap.tcp(CLIENT, SERVER, cs, ss, PSH | ACK, &req[..first_cut]);
    let mut rest: Vec<usize> = cuts.iter().map(|c| c + first_cut).collect();
    rest.push(first_cut);
    let mut segs: Vec<(usize, usize)> = pieces(req.len(), &rest)
        .into_iter()
        .filter(|(a, _)| *a >= first_cut)
        .collect();
    shuffle(&mut segs, seed);
    for (a, b) in segs {
        cap.tcp(CLIENT, SERVER, cs + a as u32, ss, PSH | ACK, &req[a..b]);
    }
    let cs = cs + req.len() as u32;
    cap.tcp(SERVER, CLIENT, ss, cs, PSH | ACK, REFUSAL);
    let ss = ss + REFUSAL.len() as u32;
    cap.tcp(CLIENT, SERVER, cs, ss, FIN | ACK, b"");
    cap.tcp(SERVER, CLIENT, ss, cs + 1, FIN | ACK, b"");
    cap.buf
}

/// A whole connection (request, refusal, close), then late copies of the
/// request's bytes (`late`, as ranges, in the order given), with a late copy of
/// the client's FIN among them when `late_fin`; then, when `reuse`, a new
/// connection on the same ports with an attempt of its own.
fn late_copies_after_close(late: &[(usize, usize)], late_fin: bool, reuse: bool) -> Vec<u8> {
    let mut cap = Cap::new();
    let req = request("/once");
    let mut c = Conn::open(&mut cap, CLIENT, SERVER);
    let start = c.cs;
    c.client(&mut cap, &req);
    c.server(&mut cap, REFUSAL);
    c.close(&mut cap);
    for (i, &(a, b)) in late.iter().enumerate() {
        cap.tcp(c.c, c.s, start + a as u32, c.ss, PSH | ACK, &req[a..b]);
        if late_fin && i == late.len() / 2 {
            cap.tcp(c.c, c.s, c.cs, c.ss, FIN | ACK, b"");
        }
    }
    if reuse {
        let isn = c.cs.wrapping_add(1_000_000);
        cap.tcp(CLIENT, SERVER, isn, 0, SYN, b"");
        cap.tcp(SERVER, CLIENT, 0x5000_0000, isn + 1, SYN | ACK, b"");
        let mut again = Conn {
            c: CLIENT,
            s: SERVER,
            cs: isn + 1,
            ss: 0x5000_0001,
        };
        cap.tcp(CLIENT, SERVER, again.cs, again.ss, ACK, b"");
        again.client(&mut cap, &request("/again"));
        again.server(&mut cap, REFUSAL);
        again.close(&mut cap);
    }
    cap.buf
}

fn targets(recs: &[Record]) -> Vec<&str> {
    recs.iter().map(|r| r.target.as_str()).collect()
}

#[test]
fn capture_starting_inside_a_request_line_still_yields_the_attempt() {
    // "GET /mid?ro" | "om=1 HTTP/1.1\r\n..." as one fixed case.
    let recs = attempts(picked_up_mid_line(11, &[], 1));
    assert_eq!(targets(&recs), ["/mid?room=1"], "{recs:#?}");
    assert_eq!(recs[0].status, Some(426));
    assert_eq!(recs[0].outcome.code(), "rejected");
}

#[test]
fn late_copy_of_an_answered_request_is_not_a_second_attempt() {
    let req_len = request("/once").len();
    let recs = attempts(late_copies_after_close(&[(0, req_len)], true, false));
    assert_eq!(targets(&recs), ["/once"], "{recs:#?}");
    assert_eq!(recs[0].status, Some(426));
}

#[test]
fn a_second_taps_copy_of_a_whole_connection_is_not_a_second_attempt() {
    // Two taps merged: the second one's copy of the connection, the same
    // packets 1 ms later, begins after the first copy closed. Its SYN has
    // the first one's initial sequence number: a copy, not a new
    // connection on the same ports.
    let mut cap = Cap::new();
    for _ in 0..2 {
        let mut c = Conn::open(&mut cap, CLIENT, SERVER);
        c.client(&mut cap, &request("/once"));
        c.server(&mut cap, REFUSAL);
        c.close(&mut cap);
        cap.usecs += 1000;
    }
    let recs = attempts(cap.buf);
    assert_eq!(targets(&recs), ["/once"], "{recs:#?}");
    assert_eq!(recs[0].status, Some(426));
}

/// Slow clients (and slow servers) that send their heads a byte per segment,
/// interleaved: a request with a 16 KiB cookie, one with a 4 KiB target,
/// and a plain request before each; every attempt is found with its whole
/// head, answered by its own byte-by-byte response.
#[test]
fn heads_sent_a_byte_per_segment_are_read_whole() {
    let mut cap = Cap::new();
    let long_cookie = ws_request(
        "/cookie",
        &format!(
            "Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\nCookie: {}\r\n",
            "c".repeat(16 * 1024)
        ),
    );
    let long_target = request(&format!("/target?{}", "t".repeat(4096)));
    let mut conns: Vec<(Conn, Vec<u8>, Vec<u8>)> = [(40_010, long_cookie), (40_011, long_target)]
        .into_iter()
        .map(|(port, ws)| {
            let c = Conn::open(&mut cap, ([10, 0, 0, 1], port), SERVER);
            let mut req = b"GET /plain HTTP/1.1\r\nHost: app.example\r\n\r\n".to_vec();
            req.extend_from_slice(&ws);
            let mut resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec();
            resp.extend_from_slice(REFUSAL);
            (c, req, resp)
        })
        .collect();
    let longest = conns
        .iter()
        .map(|(_, q, r)| q.len().max(r.len()))
        .max()
        .unwrap_or(0);
    for i in 0..longest {
        for (c, req, _) in conns.iter_mut() {
            if let Some(b) = req.get(i) {
                c.client(&mut cap, &[*b]);
            }
        }
    }
    for i in 0..longest {
        for (c, _, resp) in conns.iter_mut() {
            if let Some(b) = resp.get(i) {
                c.server(&mut cap, &[*b]);
            }
        }
    }
    for (c, _, _) in conns.iter_mut() {
        c.close(&mut cap);
    }
    let recs = attempts(cap.buf);
    let mut found = targets(&recs);
    found.sort_unstable();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0], "/cookie");
    // (The record shortens a target this long; the head was read whole.)
    assert!(found[1].starts_with("/target?tttt"), "{}", found[1]);
    for r in &recs {
        assert_eq!(r.status, Some(426), "{}", r.target);
        assert_eq!(
            r.cause.code(),
            "unsupported-sec-websocket-version",
            "{}",
            r.target
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_cut_of_the_first_request_line_yields_one_attempt(
        first in any::<Index>(),
        cuts in proptest::collection::vec(0usize..200, 0..6),
        seed in any::<u64>(),
    ) {
        // Cut anywhere inside "GET /mid?room=1 HTTP/1.1" (before its CRLF).
        let line = "GET /mid?room=1 HTTP/1.1".len();
        let first_cut = 1 + first.index(line - 1);
        let recs = attempts(picked_up_mid_line(first_cut, &cuts, seed));
        prop_assert_eq!(targets(&recs), vec!["/mid?room=1"]);
        prop_assert_eq!(recs[0].status, Some(426));
    }

    #[test]
    fn late_copies_in_any_order_add_no_attempt(
        cuts in proptest::collection::vec(0usize..200, 0..6),
        keep in proptest::collection::vec(any::<bool>(), 8),
        seed in any::<u64>(),
        late_fin in any::<bool>(),
        reuse in any::<bool>(),
    ) {
        let len = request("/once").len();
        let mut late: Vec<(usize, usize)> = pieces(len, &cuts)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep[i % keep.len()] || *i == 0)
            .map(|(_, p)| p)
            .collect();
        shuffle(&mut late, seed);
        let recs = attempts(late_copies_after_close(&late, late_fin, reuse));
        let want: Vec<&str> = if reuse { vec!["/once", "/again"] } else { vec!["/once"] };
        prop_assert_eq!(targets(&recs), want);
        prop_assert!(recs.iter().all(|r| r.status == Some(426)));
    }
}
