//! Criterion benchmarks of each hot stage: link/IP/TCP decode, stream
//! reassembly (in order and out of order), HTTP head parsing and the
//! per-connection HTTP scan, and classification.

#[path = "support/gen.rs"]
mod gen;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use wshs_sniff::capture::file::FileSource;
use wshs_sniff::capture::{LinkType, Timestamp};
use wshs_sniff::decode::{self, Decoded, Endpoint, Side};
use wshs_sniff::http::conversation::Sink;
use wshs_sniff::http::head;
use wshs_sniff::http::{Attempt, Conversation, HttpLimits, HttpStats};
use wshs_sniff::reassembly::{Chunk, Limits, ReassemblyStats, Stream};

/// The packets of a small generated capture, copied out of the reader.
fn packets() -> Vec<(LinkType, Vec<u8>, u32)> {
    let (bytes, _) = gen::generate_vec(&gen::Options {
        size: 8 << 20,
        seed: 1,
        concurrency: Some(500),
    });
    let mut src = FileSource::from_reader("bench", Box::new(std::io::Cursor::new(bytes)))
        .expect("generated capture opens");
    let mut v = Vec::new();
    while let Ok(Some(p)) = src.next_packet() {
        v.push((p.linktype, p.data.to_vec(), p.orig_len));
    }
    v
}

fn bench_decode(c: &mut Criterion) {
    let pkts = packets();
    let bytes: usize = pkts.iter().map(|p| p.1.len()).sum();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(pkts.len() as u64));
    g.bench_function("busy_capture_packets", |b| {
        b.iter(|| {
            let mut tcp = 0usize;
            for (lt, data, orig) in &pkts {
                if let Decoded::Tcp(s) = decode::decode(*lt, data, *orig) {
                    tcp += s.payload.len();
                }
            }
            black_box(tcp)
        })
    });
    g.finish();
    let _ = bytes;
}

const MSS: usize = 1448;

fn bench_reassembly(c: &mut Criterion) {
    let data: Vec<u8> = (0..256 * MSS).map(|i| (i * 31 % 251) as u8).collect();
    let segs: Vec<(u32, &[u8])> = data
        .chunks(MSS)
        .enumerate()
        .map(|(i, s)| (1000u32.wrapping_add((i * MSS) as u32), s))
        .collect();
    // Out of order: every pair swapped, and every 16th segment resent.
    let mut ooo = Vec::new();
    for pair in segs.chunks(2) {
        ooo.extend(pair.iter().rev().copied());
    }
    let mut with_retrans = Vec::new();
    for (i, s) in ooo.iter().enumerate() {
        with_retrans.push(*s);
        if i % 16 == 15 {
            with_retrans.push(ooo[i - 3]);
        }
    }
    let limits = Limits::default();
    let mut g = c.benchmark_group("reassembly");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (name, order) in [("in_order", &segs), ("out_of_order", &with_retrans)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut s = Stream::default();
                let mut stats = ReassemblyStats::default();
                s.syn(999);
                let mut got = 0usize;
                for (seq, p) in order.iter() {
                    s.push(*seq, p, false, &limits, &mut stats, &mut |ch| {
                        if let Chunk::Data(d) = ch {
                            got += d.len();
                        }
                    });
                }
                black_box(got)
            })
        });
    }
    g.finish();
}

const UPGRADE: &[u8] = b"GET /ws?room=42 HTTP/1.1\r\nHost: 192.0.2.10:8080\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://192.0.2.10:8080\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nCookie: session=0123456789abcdef\r\n\r\n";
const PLAIN: &[u8] = b"GET /api/items?v=7 HTTP/1.1\r\nHost: 192.0.2.10\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n";
const SWITCH: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nServer: Python/3.11 websockets/12.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
const REFUSED: &[u8] = b"HTTP/1.1 400 Bad Request\r\nServer: Python/3.11 aiohttp/3.9.5\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\nConnection: close\r\n\r\nHandshake error: None";

fn bench_http(c: &mut Criterion) {
    let mut g = c.benchmark_group("http_head");
    g.throughput(Throughput::Bytes(UPGRADE.len() as u64));
    g.bench_function("parse_upgrade_request", |b| {
        b.iter(|| black_box(head::parse_request(black_box(UPGRADE))))
    });
    g.throughput(Throughput::Bytes(PLAIN.len() as u64));
    g.bench_function("parse_plain_request", |b| {
        b.iter(|| black_box(head::parse_request(black_box(PLAIN))))
    });
    g.throughput(Throughput::Bytes(SWITCH.len() as u64));
    g.bench_function("parse_101_response", |b| {
        b.iter(|| black_box(head::parse_response(black_box(SWITCH), true)))
    });
    g.finish();

    // A keep-alive connection: requests, and responses with Content-Length and
    // chunked bodies, fed to the conversation in MSS-sized chunks.
    let mut req_stream = Vec::new();
    let mut resp_stream = Vec::new();
    for i in 0..64 {
        req_stream.extend_from_slice(PLAIN);
        let body: Vec<u8> = (0..4000 + i * 100).map(|j| b'a' + (j % 26) as u8).collect();
        if i % 3 == 0 {
            resp_stream.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nServer: nginx\r\nTransfer-Encoding: chunked\r\n\r\n",
            );
            for part in body.chunks(1000) {
                resp_stream.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                resp_stream.extend_from_slice(part);
                resp_stream.extend_from_slice(b"\r\n");
            }
            resp_stream.extend_from_slice(b"0\r\n\r\n");
        } else {
            resp_stream.extend_from_slice(
                format!(
                    "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            resp_stream.extend_from_slice(&body);
        }
    }
    let mut g = c.benchmark_group("http_conversation");
    g.throughput(Throughput::Bytes(
        (req_stream.len() + resp_stream.len()) as u64,
    ));
    g.bench_function("keep_alive_bodies", |b| {
        b.iter(|| {
            let (attempts, stats) = converse(&[(Side::Lo, &req_stream), (Side::Hi, &resp_stream)]);
            black_box((attempts.len(), stats.responses))
        })
    });
    g.finish();
}

fn ep(s: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: s.parse().expect("address"),
        port,
    }
}

/// Feed whole streams to one conversation (the client is on the `Lo` side).
#[allow(clippy::vec_box)]
fn converse(parts: &[(Side, &[u8])]) -> (Vec<Box<Attempt>>, HttpStats) {
    let (cli, srv) = (ep("10.0.0.1", 40000), ep("192.0.2.10", 8080));
    let mut conv = Conversation::default();
    conv.note_packet(Side::Lo, &cli, &srv, true, false);
    conv.note_packet(Side::Hi, &srv, &cli, true, true);
    let mut attempts = Vec::new();
    let mut tls = Vec::new();
    let mut sids = Vec::new();
    let mut sessions = Vec::new();
    let mut stats = HttpStats::default();
    let limits = HttpLimits::default();
    let mut sink = Sink {
        attempts: &mut attempts,
        tls: &mut tls,
        sids: &mut sids,
        sessions: &mut sessions,
        stats: &mut stats,
        limits: &limits,
        packet_no: 1,
    };
    let ts = Timestamp::new(1_700_000_000, 0);
    for (d, data) in parts {
        for chunk in data.chunks(MSS) {
            conv.on_chunk(*d, Chunk::Data(chunk), ts, &mut sink);
        }
    }
    for d in Side::BOTH {
        conv.on_chunk(d, Chunk::Fin, ts, &mut sink);
    }
    (attempts, stats)
}

fn bench_classify(c: &mut Criterion) {
    let bad_key = String::from_utf8_lossy(UPGRADE).replace("dGhlIHNhbXBsZSBub25jZQ==", "abc");
    let cases: Vec<(&str, Box<Attempt>)> = [
        (
            "accepted",
            converse(&[(Side::Lo, UPGRADE), (Side::Hi, SWITCH)]).0,
        ),
        (
            "refused_bad_key",
            converse(&[(Side::Lo, bad_key.as_bytes()), (Side::Hi, REFUSED)]).0,
        ),
    ]
    .into_iter()
    .filter_map(|(n, mut v)| v.pop().map(|a| (n, a)))
    .collect();
    assert_eq!(cases.len(), 2, "the conversation yields the attempts");
    let mut g = c.benchmark_group("classify");
    for (name, a) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| black_box(wshs_sniff::classify::classify(black_box(a))))
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_decode,
    bench_reassembly,
    bench_http,
    bench_classify
);
criterion_main!(benches);
