//! Handshakes whose packets arrive as IP fragments, in any order, with
//! copies, and with overlaps that rewrite bytes: the attempt is found once,
//! from the bytes the server's IP stack keeps (Linux's: overlapping fragments
//! that differ drop the datagram). IPv4 and IPv6 alike. The recorded fixture
//! `router-fragments__python-websockets.pcap` (a real router splitting real
//! requests) is checked against its labels by `tests/labels.rs`.

mod common;
use common::*;

use proptest::prelude::*;
use wshs_sniff::pipeline::Config;

const CLIENT4: Ep = ([10, 0, 0, 1], 40_001);
const SERVER4: Ep = ([10, 0, 0, 80], 8080);
const CLIENT6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const SERVER6: [u8; 16] = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80];

const REFUSAL: &[u8] =
    b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n";

fn request() -> Vec<u8> {
    // A long Cookie makes the request outgrow a small link, as it does in
    // the recorded fixture.
    ws_request(
        "/ws",
        &format!(
            "Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\nCookie: s={}\r\n",
            "c".repeat(900)
        ),
    )
}

/// The same for IPv6, with a fragment header after the fixed one.
fn ipv6_fragments(
    src: [u8; 16],
    dst: [u8; 16],
    id: u32,
    l4: &[u8],
    pieces: &Pieces,
) -> Vec<Vec<u8>> {
    cut_frames(l4, pieces, |data, from, more| {
        let mut f = ipv6_header(src, dst, 44, 8 + data.len());
        f.extend_from_slice(&[6, 0]);
        f.extend_from_slice(&((from as u16) | u16::from(more)).to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(data);
        f
    })
}

/// Ethernet and a fixed IPv6 header announcing `next` and `len` bytes.
fn ipv6_header(src: [u8; 16], dst: [u8; 16], next: u8, len: usize) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(len as u16).to_be_bytes());
    f.extend_from_slice(&[next, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f
}

/// An IPv6 TCP segment, whole.
fn ipv6_whole(src: [u8; 16], dst: [u8; 16], l4: &[u8]) -> Vec<u8> {
    let mut f = ipv6_header(src, dst, 6, l4.len());
    f.extend_from_slice(l4);
    f
}

/// `0..len` cut at `cuts` (rounded down to multiples of 8) into pieces.
fn cut(len: usize, cuts: &[usize]) -> Pieces {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|c| c % len / 8 * 8)
        .filter(|&c| c > 0)
        .collect();
    at.push(0);
    at.push(len);
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| (w[0], w[1])).collect()
}

fn analyse(bytes: Vec<u8>) -> wshs_sniff::Analysis {
    let cfg = Config {
        workers: 1,
        ..Config::default()
    };
    let a = wshs_sniff::analyze_bytes("fragments", bytes, &cfg).expect("capture opens");
    assert!(a.error.is_none(), "{:?}", a.error);
    a
}

/// An IPv4 handshake whose request segment is sent as `frames`; returns the
/// capture.
fn ipv4_capture(frames: &[Vec<u8>], request_seq: u32, ack: u32) -> Vec<u8> {
    let mut cap = Cap::new();
    cap.tcp(CLIENT4, SERVER4, request_seq - 1, 0, SYN, b"");
    cap.tcp(SERVER4, CLIENT4, ack - 1, request_seq, SYN | ACK, b"");
    cap.tcp(CLIENT4, SERVER4, request_seq, ack, ACK, b"");
    for f in frames {
        cap.frame(f);
    }
    let req_len = request().len() as u32;
    cap.tcp(
        SERVER4,
        CLIENT4,
        ack,
        request_seq + req_len,
        PSH | ACK,
        REFUSAL,
    );
    cap.buf
}

fn one_refusal(a: &wshs_sniff::Analysis) {
    assert_eq!(a.records.len(), 1, "{:?}", a.records);
    let r = &a.records[0];
    assert_eq!(r.status, Some(426));
    assert_eq!(r.cause.code(), "unsupported-sec-websocket-version");
    assert_eq!(r.target, "/ws");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any cuts, any order, copies of any piece: one attempt, its cause read
    /// from the whole request.
    #[test]
    fn ipv4_pieces_in_any_order(
        cuts in proptest::collection::vec(0usize..2000, 0..6),
        order in proptest::collection::vec(any::<proptest::sample::Index>(), 1..12),
    ) {
        let (seq, ack) = (1000, 5000);
        let l4 = segment(CLIENT4.1, SERVER4.1, seq, ack, PSH | ACK, &request());
        let pieces = cut(l4.len(), &cuts);
        // Every piece once, in the drawn order, then drawn copies.
        let mut sent: Pieces = Vec::new();
        let mut left = pieces.clone();
        for i in &order {
            if left.is_empty() {
                sent.push(pieces[i.index(pieces.len())]);
            } else {
                sent.push(left.remove(i.index(left.len())));
            }
        }
        sent.extend(left);
        let frames = ipv4_fragments(CLIENT4.0, SERVER4.0, 77, &l4, &sent);
        let a = analyse(ipv4_capture(&frames, seq, ack));
        one_refusal(&a);
        // One piece is the whole packet, no fragment.
        let whole = pieces.len() == 1;
        let fragments = if whole { 0 } else { sent.len() as u64 };
        prop_assert_eq!(a.summary.capture.fragments, fragments);
        // Copies sent after the datagram was whole begin another one: it
        // may complete again (a retransmission to TCP) or be given up.
        let c = &a.summary.capture;
        prop_assert!(whole || c.datagrams_reassembled >= 1);
        prop_assert!(whole || 2 * c.datagrams_reassembled + c.fragments_discarded <= fragments);
    }
}

#[test]
fn ipv6_fragments_make_the_request() {
    let (c, s) = ((CLIENT6, 40_002u16), (SERVER6, 8080u16));
    let (seq, ack) = (7000u32, 9000u32);
    let l4 = segment(c.1, s.1, seq, ack, PSH | ACK, &request());
    let mut cap = Cap::new();
    cap.frame(&ipv6_whole(
        c.0,
        s.0,
        &segment(c.1, s.1, seq - 1, 0, SYN, b""),
    ));
    cap.frame(&ipv6_whole(
        s.0,
        c.0,
        &segment(s.1, c.1, ack - 1, seq, SYN | ACK, b""),
    ));
    // Last piece first.
    let pieces = vec![(1000, l4.len()), (0, 504), (504, 1000)];
    for f in ipv6_fragments(c.0, s.0, 0xdead_beef, &l4, &pieces) {
        cap.frame(&f);
    }
    let req_len = request().len() as u32;
    cap.frame(&ipv6_whole(
        s.0,
        c.0,
        &segment(s.1, c.1, ack, seq + req_len, PSH | ACK, REFUSAL),
    ));
    let a = analyse(cap.buf);
    one_refusal(&a);
    assert_eq!(a.records[0].client, "[2001:db8::1]:40002");
    assert_eq!(a.summary.capture.datagrams_reassembled, 1);
}

/// A fragment that overlaps another with different bytes (an evasion
/// trick: which copy wins depends on the host) drops the datagram, as Linux
/// does; the client's retransmission is what the server reads. Here the
/// forged copy renames the version header: had it won, the request would
/// lack one.
#[test]
fn an_overlap_that_rewrites_bytes_drops_the_datagram() {
    let (seq, ack) = (1000, 5000);
    let l4 = segment(CLIENT4.1, SERVER4.1, seq, ack, PSH | ACK, &request());
    let at = l4
        .windows(24)
        .position(|w| w == b"Sec-WebSocket-Version: 8")
        .expect("version header");
    assert!(at + 24 < 512, "the header lies in the first piece");
    let mut forged = l4.clone();
    forged[at + 14] = b'X';
    let end = l4.len();
    let mut frames = ipv4_fragments(CLIENT4.0, SERVER4.0, 9, &l4, &vec![(0, 512)]);
    frames.extend(ipv4_fragments(
        CLIENT4.0,
        SERVER4.0,
        9,
        &forged,
        &vec![(at / 8 * 8, 768)],
    ));
    frames.extend(ipv4_fragments(
        CLIENT4.0,
        SERVER4.0,
        9,
        &l4,
        &vec![(768, end)],
    ));
    // The retransmission, under a new identification.
    frames.extend(ipv4_fragments(
        CLIENT4.0,
        SERVER4.0,
        10,
        &l4,
        &vec![(0, 1024), (1024, end)],
    ));
    let a = analyse(ipv4_capture(&frames, seq, ack));
    one_refusal(&a);
    let c = &a.summary.capture;
    // Only the retransmission was rebuilt ("first copy wins" would have
    // rebuilt both).
    assert_eq!(c.datagrams_reassembled, 1);
    // The two overlapping pieces, and the last one, which began a datagram
    // that never completed.
    assert_eq!(c.fragments_discarded, 3);
}

/// An IPv4 handshake whose request goes out under `id`, cut by `pieces`
/// (given the segment's length).
fn fragmented_request(id: u16, pieces: impl Fn(usize) -> Pieces) -> Vec<u8> {
    let (seq, ack) = (1000, 5000);
    let l4 = segment(CLIENT4.1, SERVER4.1, seq, ack, PSH | ACK, &request());
    let frames = ipv4_fragments(CLIENT4.0, SERVER4.0, id, &l4, &pieces(l4.len()));
    ipv4_capture(&frames, seq, ack)
}

/// Pieces of a datagram that never completes are given up and counted; the
/// request they carried is not invented.
#[test]
fn an_incomplete_datagram_is_counted_not_guessed() {
    let a = analyse(fragmented_request(3, |len| vec![(0, 512), (1024, len)]));
    assert!(a.records.is_empty(), "{:?}", a.records);
    assert_eq!(a.summary.capture.datagrams_reassembled, 0);
    assert_eq!(a.summary.capture.fragments_discarded, 2);
}

/// A port filter (`-r FILE 'tcp port 8080'`) keeps the fragmented request:
/// its later fragments carry no port, so every fragment passes the packet
/// filter and the rebuilt datagram is checked against it instead. A filter
/// for another port leaves the datagram out, counted.
#[test]
fn a_port_filter_keeps_fragmented_requests_of_that_port() {
    let bytes = fragmented_request(5, |len| vec![(0, 512), (512, len)]);
    let run = |filter: &str| {
        let cfg = Config {
            workers: 1,
            filter: Some(filter.to_string()),
            ..Config::default()
        };
        let a = wshs_sniff::analyze_bytes("filtered", bytes.clone(), &cfg).expect("opens");
        assert!(a.error.is_none(), "{:?}", a.error);
        a
    };
    one_refusal(&run("tcp port 8080"));
    let other = run("tcp port 9999");
    assert!(other.records.is_empty(), "{:?}", other.records);
    // Five whole packets and the rebuilt datagram.
    assert_eq!(other.summary.capture.filtered_out, 5);
    assert_eq!(other.summary.capture.datagrams_reassembled, 1);
}
