//! A deterministic generator of busy-host captures with a ground truth of every
//! WebSocket upgrade attempt in them.
//!
//! Self-contained on purpose: its own random numbers, packet builder and pcap
//! writer, and a truth that comes from what it chose to send, never from the
//! analyzer. Shared by `examples/gen_capture.rs`, the benches and
//! `tests/generated_capture.rs` through `#[path]`.
//!
//! Traffic: thousands of interleaved TCP connections; most bytes are TLS on 443
//! and WebSocket frames after a 101; plain HTTP/1.1 keep-alive with
//! Content-Length and chunked bodies; upgrade attempts refused for every cause,
//! answered the way real servers answer; proxied attempts seen on both legs with
//! the same key; VLAN-tagged and IPv6 connections; reordered, duplicated,
//! retransmitted and lost-then-resent segments; requests split across
//! segments; connections seen without their SYN; RST closes.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{self, Write};

use base64::Engine;
use sha1::{Digest, Sha1};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop opening connections once this many bytes are written (the running
    /// ones then finish briefly, so the file is a little larger).
    pub size: u64,
    pub seed: u64,
    /// Connections open at once; `None` scales with `size`.
    pub concurrency: Option<usize>,
}

/// One upgrade attempt as sent, and the answer the modelled server gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    pub client: String,
    pub server: String,
    pub method: String,
    pub target: String,
    pub status: Option<u16>,
    pub cause: &'static str,
    pub header: Option<&'static str>,
    pub leg: &'static str,
}

impl Truth {
    /// One JSON line with the output contract's field names.
    pub fn to_json(&self) -> String {
        fn s(v: &str) -> String {
            let mut o = String::from("\"");
            for c in v.chars() {
                match c {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
        let opt = |v: Option<&str>| v.map_or("null".to_string(), s);
        format!(
            "{{\"client\":{},\"server\":{},\"method\":{},\"target\":{},\"status\":{},\"cause\":{},\"header\":{},\"leg\":{}}}",
            s(&self.client),
            s(&self.server),
            s(&self.method),
            s(&self.target),
            self.status.map_or("null".to_string(), |v| v.to_string()),
            s(self.cause),
            opt(self.header),
            s(self.leg),
        )
    }
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub bytes: u64,
    pub packets: u64,
    pub connections: u64,
}

/// SplitMix64: small, fast, and the same on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    /// True with probability `p` per mille.
    pub fn permille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ip {
    V4([u8; 4]),
    V6([u8; 16]),
}

#[derive(Debug, Clone, Copy)]
struct Ep {
    ip: Ip,
    port: u16,
}

impl std::fmt::Display for Ep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            Ip::V4(a) => write!(f, "{}:{}", std::net::Ipv4Addr::from(a), self.port),
            Ip::V6(a) => write!(f, "[{}]:{}", std::net::Ipv6Addr::from(a), self.port),
        }
    }
}

/// One TCP connection's addressing and sequence state. Direction 0 is client
/// to server.
#[derive(Debug, Clone)]
struct Tcp {
    ends: [Ep; 2],
    vlan: Option<u16>,
    seq: [u32; 2],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bulk {
    /// TLS application data records.
    Tls,
    /// WebSocket frames; masked when sent by the client.
    Ws,
}

#[derive(Debug)]
enum Step {
    /// SYN, SYN-ACK, ACK.
    Open { f: usize },
    /// A message (head, body) in segments; `split` cuts it at random points.
    Msg {
        f: usize,
        d: usize,
        data: Vec<u8>,
        off: usize,
        split: bool,
    },
    /// `left` bytes of bulk payload, in records/frames of `rec` bytes.
    Bulk {
        f: usize,
        d: usize,
        kind: Bulk,
        left: u64,
        rec_left: u64,
    },
    /// FIN from `d`, FIN from the other side, last ACK.
    Close { f: usize, d: usize, n: u8 },
    /// RST from `d`.
    Reset { f: usize, d: usize },
}

/// A copy of a segment to be sent again later (reordered, lost or retransmitted).
#[derive(Debug)]
struct Held {
    pkt: Vec<u8>,
    after: u32,
}

#[derive(Debug)]
struct Conn {
    tcp: Vec<Tcp>,
    steps: VecDeque<Step>,
    held: Vec<Held>,
    since_ack: u32,
}

const POOL_LEN: usize = 1 << 20;
const MSS4: usize = 1448;
const MSS6: usize = 1428;
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The generator: builds connections, interleaves them, writes pcap records.
pub struct Gen<W: Write> {
    out: W,
    buf: Vec<u8>,
    pkt: Vec<u8>,
    pool: Vec<u8>,
    text: Vec<u8>,
    rng: Rng,
    /// Capture time in microseconds.
    now: u64,
    next_id: u64,
    bulk_mean: u64,
    pub stats: Stats,
    pub truth: Vec<Truth>,
}

/// Generate a capture into `out`; returns what was written and the truth.
pub fn generate<W: Write>(opts: &Options, out: W) -> io::Result<(Stats, Vec<Truth>)> {
    let mut g = Gen::new(opts, out);
    g.run(opts)?;
    Ok((g.stats, g.truth))
}

/// Generate into memory (tests, benches).
pub fn generate_vec(opts: &Options) -> (Vec<u8>, Vec<Truth>) {
    let mut v = Vec::with_capacity(opts.size as usize + (opts.size as usize / 8));
    let (_, truth) = generate(opts, &mut v).expect("writing to memory cannot fail");
    (v, truth)
}

/// Parse sizes like `1G`, `100M`, `64k`, `12345`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mul) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mul)
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn accept_of(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(GUID.as_bytes());
    b64(&h.finalize())
}

fn csum(mut sum: u32, b: &[u8]) -> u32 {
    let mut i = 0;
    while i + 1 < b.len() {
        sum += u32::from(u16::from_be_bytes([b[i], b[i + 1]]));
        i += 2;
    }
    if i < b.len() {
        sum += u32::from(b[i]) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A modelled server's answer.
struct Answer {
    status: u16,
    reason: &'static str,
    server: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn answer(status: u16, reason: &'static str, server: Option<&'static str>, body: &str) -> Answer {
    Answer {
        status,
        reason,
        server,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

const AIOHTTP: Option<&str> = Some("Python/3.11 aiohttp/3.9.5");
const PYWS: Option<&str> = Some("Python/3.11 websockets/12.0");
const TORNADO: Option<&str> = Some("TornadoServer/6.4");
const UVICORN: Option<&str> = Some("uvicorn");
const NGINX: Option<&str> = Some("nginx/1.24.0");
const NODE: Option<&str> = None;

impl Answer {
    fn bytes(&self) -> Vec<u8> {
        let mut s = format!("HTTP/1.1 {} {}\r\n", self.status, self.reason);
        if let Some(sv) = self.server {
            s.push_str(&format!("Server: {sv}\r\n"));
        }
        s.push_str("Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n");
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        if self.status != 101 {
            s.push_str("Content-Type: text/plain; charset=utf-8\r\n");
            s.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n",
                self.body.len()
            ));
        }
        s.push_str("\r\n");
        s.push_str(&self.body);
        s.into_bytes()
    }
}

/// What is wrong with a request (one defect per refused attempt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    None,
    MissingKey,
    BadKey,
    MissingVersion,
    Version8,
    MissingUpgrade,
    BadUpgrade,
    ConnKeepAlive,
    BadOrigin,
    Post,
    Http10,
    MissingHost,
    Subprotocol,
    HugeCookie,
    UnknownPath,
    NoAuth,
    Crash,
    BadAccept,
}

const REFUSALS: &[Defect] = &[
    Defect::MissingKey,
    Defect::BadKey,
    Defect::MissingVersion,
    Defect::Version8,
    Defect::MissingUpgrade,
    Defect::BadUpgrade,
    Defect::ConnKeepAlive,
    Defect::BadOrigin,
    Defect::Post,
    Defect::Http10,
    Defect::MissingHost,
    Defect::Subprotocol,
    Defect::HugeCookie,
    Defect::UnknownPath,
    Defect::NoAuth,
    Defect::Crash,
    Defect::BadAccept,
];

const PYWS_BAD_REQ: &str = "Failed to open a WebSocket connection: did not receive a valid HTTP request.\n\nYou cannot access a WebSocket server directly with a browser. You need a WebSocket client.\n";

impl<W: Write> Gen<W> {
    fn new(opts: &Options, out: W) -> Self {
        let mut rng = Rng::new(opts.seed);
        let mut pool = vec![0u8; POOL_LEN + 2 * MSS4];
        for c in pool.chunks_mut(8) {
            let v = rng.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
        let words: &[&str] = &[
            "<div class=\"item\">",
            "</div>\n",
            "<p>",
            "</p>",
            "lorem ",
            "ipsum ",
            "dolor ",
            "{\"id\":",
            "\"name\":\"",
            "\",\"price\":",
            "},",
            "sit ",
            "amet ",
            "\n",
        ];
        let mut text = Vec::with_capacity(POOL_LEN + 2 * MSS4);
        while text.len() < POOL_LEN + 2 * MSS4 {
            text.extend_from_slice(rng.pick(words).as_bytes());
        }
        text.truncate(POOL_LEN + 2 * MSS4);
        let bulk_mean = (opts.size / 4000).clamp(1500, 400_000);
        Gen {
            out,
            buf: Vec::with_capacity(4 << 20),
            pkt: Vec::with_capacity(2048),
            pool,
            text,
            rng,
            now: 1_700_000_000_000_000,
            next_id: 0,
            bulk_mean,
            stats: Stats::default(),
            truth: Vec::new(),
        }
    }

    fn run(&mut self, opts: &Options) -> io::Result<()> {
        // pcap file header: microseconds, Ethernet.
        self.buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        self.buf.extend_from_slice(&2u16.to_le_bytes());
        self.buf.extend_from_slice(&4u16.to_le_bytes());
        self.buf.extend_from_slice(&[0; 8]);
        self.buf.extend_from_slice(&262_144u32.to_le_bytes());
        self.buf.extend_from_slice(&1u32.to_le_bytes());
        let conc = opts
            .concurrency
            .unwrap_or(((opts.size / (256 << 10)) as usize).clamp(16, 3000));
        let mut live: Vec<Conn> = (0..conc).map(|_| self.new_conn()).collect();
        let mut draining = false;
        while !live.is_empty() {
            let i = self.rng.below(live.len() as u64) as usize;
            let burst = self.rng.range(1, 4);
            let mut done = false;
            for _ in 0..burst {
                if !self.step(&mut live[i], draining) {
                    done = true;
                    break;
                }
            }
            if done {
                if !draining && self.stats.bytes + self.buf.len() as u64 >= opts.size {
                    draining = true;
                }
                if draining {
                    live.swap_remove(i);
                } else {
                    live[i] = self.new_conn();
                }
            }
            if self.buf.len() >= (4 << 20) - 70_000 {
                self.flush()?;
                if self.stats.bytes >= opts.size {
                    draining = true;
                }
            }
        }
        self.flush()?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.stats.bytes += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    // ---------------------------------------------------------------- packets

    /// Build one Ethernet frame into `self.pkt`.
    fn build(&mut self, t: &Tcp, d: usize, flags: u8, payload: Payload) {
        let (src, dst) = (t.ends[d], t.ends[1 - d]);
        let plen = payload.len();
        let p = &mut self.pkt;
        p.clear();
        // MACs: stable per endpoint side.
        p.extend_from_slice(&[0x02, 0, 0, 0, 0, if d == 0 { 2 } else { 1 }]);
        p.extend_from_slice(&[0x02, 0, 0, 0, 0, if d == 0 { 1 } else { 2 }]);
        if let Some(v) = t.vlan {
            p.extend_from_slice(&[0x81, 0x00]);
            p.extend_from_slice(&v.to_be_bytes());
        }
        let tcp_len = 20 + plen;
        let mut pseudo: u32;
        match (src.ip, dst.ip) {
            (Ip::V4(s), Ip::V4(dd)) => {
                p.extend_from_slice(&[0x08, 0x00]);
                let at = p.len();
                let total = (20 + tcp_len) as u16;
                p.extend_from_slice(&[0x45, 0]);
                p.extend_from_slice(&total.to_be_bytes());
                p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
                p.extend_from_slice(&s);
                p.extend_from_slice(&dd);
                let c = fold(csum(0, &p[at..at + 20]));
                p[at + 10..at + 12].copy_from_slice(&c.to_be_bytes());
                pseudo = csum(csum(0, &s), &dd) + 6 + tcp_len as u32;
            }
            (Ip::V6(s), Ip::V6(dd)) => {
                p.extend_from_slice(&[0x86, 0xdd]);
                p.extend_from_slice(&[0x60, 0, 0, 0]);
                p.extend_from_slice(&(tcp_len as u16).to_be_bytes());
                p.extend_from_slice(&[6, 64]);
                p.extend_from_slice(&s);
                p.extend_from_slice(&dd);
                pseudo = csum(csum(0, &s), &dd) + 6 + tcp_len as u32;
            }
            _ => unreachable!("both ends of a connection share an address family"),
        }
        let at = p.len();
        p.extend_from_slice(&src.port.to_be_bytes());
        p.extend_from_slice(&dst.port.to_be_bytes());
        p.extend_from_slice(&t.seq[d].to_be_bytes());
        let ack = if flags & 0x10 != 0 { t.seq[1 - d] } else { 0 };
        p.extend_from_slice(&ack.to_be_bytes());
        p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        match payload {
            Payload::None => {}
            Payload::Bytes(b) => p.extend_from_slice(b),
            Payload::Pool {
                hdr,
                hdr_len,
                from,
                len,
                text,
            } => {
                p.extend_from_slice(&hdr[..hdr_len]);
                let src = if text { &self.text } else { &self.pool };
                p.extend_from_slice(&src[from..from + len]);
            }
        }
        // The TCP checksum covers the payload: only worth it on short
        // segments (heads, ACKs); bulk segments carry 0, which capture tools
        // do not check by default (offloaded checksums look the same).
        if plen <= 256 {
            pseudo = csum(pseudo, &p[at..]);
            let c = fold(pseudo);
            p[at + 16..at + 18].copy_from_slice(&c.to_be_bytes());
        }
    }

    fn tick(&mut self) {
        self.now += self.rng.range(1, 12);
    }

    fn emit_pkt(&mut self) {
        self.tick();
        let secs = (self.now / 1_000_000) as u32;
        let usecs = (self.now % 1_000_000) as u32;
        let len = self.pkt.len() as u32;
        self.buf.extend_from_slice(&secs.to_le_bytes());
        self.buf.extend_from_slice(&usecs.to_le_bytes());
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(&self.pkt);
        self.stats.packets += 1;
    }

    /// Send the segment in `self.pkt`, maybe impaired; data segments only.
    fn send_data(&mut self, c: &mut Conn, may_hold: bool) {
        let r = self.rng.below(1000);
        if may_hold && r < 8 {
            // Reordered (sent after the next one) or lost and resent later.
            let after = if r < 4 {
                1
            } else {
                self.rng.range(2, 6) as u32
            };
            c.held.push(Held {
                pkt: self.pkt.clone(),
                after,
            });
            return;
        }
        self.emit_pkt();
        if r < 12 {
            self.emit_pkt(); // duplicated by the capture (span port)
        } else if r < 16 {
            c.held.push(Held {
                pkt: self.pkt.clone(),
                after: self.rng.range(1, 4) as u32,
            }); // retransmitted though it arrived
        }
        self.release(c, false);
    }

    fn release(&mut self, c: &mut Conn, all: bool) {
        let mut i = 0;
        while i < c.held.len() {
            if all || c.held[i].after <= 1 {
                let h = c.held.swap_remove(i);
                self.pkt = h.pkt;
                self.emit_pkt();
            } else {
                c.held[i].after -= 1;
                i += 1;
            }
        }
    }

    fn pure_ack(&mut self, t: &Tcp, d: usize) {
        self.build(t, d, 0x10, Payload::None);
        self.emit_pkt();
    }

    /// Emit the next packet(s) of `c`; false when it has nothing left.
    fn step(&mut self, c: &mut Conn, draining: bool) -> bool {
        let Some(mut step) = c.steps.pop_front() else {
            return false;
        };
        let mut finished = false;
        match &mut step {
            Step::Open { f } => {
                let t = &mut c.tcp[*f];
                let t2 = t.clone();
                self.build(&t2, 0, 0x02, Payload::None);
                self.emit_pkt();
                t.seq[0] = t.seq[0].wrapping_add(1);
                let t2 = t.clone();
                self.build(&t2, 1, 0x12, Payload::None);
                self.emit_pkt();
                t.seq[1] = t.seq[1].wrapping_add(1);
                let t2 = t.clone();
                self.pure_ack(&t2, 0);
                finished = true;
            }
            Step::Msg {
                f,
                d,
                data,
                off,
                split,
            } => {
                let (f, d) = (*f, *d);
                let mss = self.mss(&c.tcp[f]);
                let rest = data.len() - *off;
                let mut n = rest.min(mss);
                if *split && n > 1 && self.rng.permille(500) {
                    // Cut anywhere, even inside the blank line ending a head.
                    n = self.rng.range(1, n as u64 - 1) as usize;
                }
                let seg = data[*off..*off + n].to_vec();
                *off += n;
                finished = *off >= data.len();
                let t = c.tcp[f].clone();
                self.build(&t, d, 0x18, Payload::Bytes(&seg));
                self.send_data(c, !finished);
                c.tcp[f].seq[d] = c.tcp[f].seq[d].wrapping_add(n as u32);
                self.maybe_ack(c, f, d);
            }
            Step::Bulk {
                f,
                d,
                kind,
                left,
                rec_left,
            } => {
                let (f, d, kind) = (*f, *d, *kind);
                if draining {
                    *left = (*left).min(*rec_left);
                }
                let mss = self.mss(&c.tcp[f]) as u64;
                let mut hdr = [0u8; 14];
                let mut hdr_len = 0;
                if *rec_left == 0 {
                    // A new record or frame starts in this segment.
                    let rec = self.rng.range(200, 16_384).min((*left).max(1));
                    match kind {
                        Bulk::Tls => {
                            hdr[..3].copy_from_slice(&[0x17, 0x03, 0x03]);
                            hdr[3..5].copy_from_slice(&(rec as u16).to_be_bytes());
                            hdr_len = 5;
                        }
                        Bulk::Ws => {
                            hdr[0] = 0x82;
                            let mask = if d == 0 { 0x80 } else { 0 };
                            if rec < 126 {
                                hdr[1] = mask | rec as u8;
                                hdr_len = 2;
                            } else {
                                hdr[1] = mask | 126;
                                hdr[2..4].copy_from_slice(&(rec as u16).to_be_bytes());
                                hdr_len = 4;
                            }
                            if d == 0 {
                                let m = self.rng.next().to_le_bytes();
                                hdr[hdr_len..hdr_len + 4].copy_from_slice(&m[..4]);
                                hdr_len += 4;
                            }
                        }
                    }
                    *rec_left = rec;
                }
                let n = (mss - hdr_len as u64).min(*rec_left).min((*left).max(1));
                *rec_left -= n;
                *left = left.saturating_sub(n + hdr_len as u64);
                finished = *left == 0 && *rec_left == 0;
                let from = self.rng.below(POOL_LEN as u64) as usize;
                let t = c.tcp[f].clone();
                self.build(
                    &t,
                    d,
                    0x18,
                    Payload::Pool {
                        hdr,
                        hdr_len,
                        from,
                        len: n as usize,
                        text: false,
                    },
                );
                self.send_data(c, !finished);
                c.tcp[f].seq[d] = c.tcp[f].seq[d].wrapping_add(n as u32 + hdr_len as u32);
                self.maybe_ack(c, f, d);
            }
            Step::Close { f, d, n } => {
                let (f, d0) = (*f, *d);
                let t = &mut c.tcp[f];
                let d = if *n == 1 { 1 - d0 } else { d0 };
                let t2 = t.clone();
                if *n < 2 {
                    self.build(&t2, d, 0x11, Payload::None);
                    self.emit_pkt();
                    t.seq[d] = t.seq[d].wrapping_add(1);
                    *n += 1;
                } else {
                    self.pure_ack(&t2, d0);
                    finished = true;
                }
            }
            Step::Reset { f, d } => {
                let t = c.tcp[*f].clone();
                self.build(&t, *d, 0x14, Payload::None);
                self.emit_pkt();
                finished = true;
            }
        }
        if finished {
            self.release(c, true);
        } else {
            c.steps.push_front(step);
        }
        true
    }

    fn maybe_ack(&mut self, c: &mut Conn, f: usize, d: usize) {
        c.since_ack += 1;
        if c.since_ack >= 2 {
            c.since_ack = 0;
            let t = c.tcp[f].clone();
            self.pure_ack(&t, 1 - d);
        }
    }

    fn mss(&self, t: &Tcp) -> usize {
        match t.ends[0].ip {
            Ip::V4(_) => MSS4,
            Ip::V6(_) => MSS6,
        }
    }

    // ------------------------------------------------------------ connections

    fn endpoint_pair(&mut self, server_port: u16, v6: bool) -> [Ep; 2] {
        let id = self.next_id;
        self.next_id += 1;
        // Distinct (address, port) for every connection of a run: 4093
        // client hosts, each using its ports in turn.
        let host = id % 4093;
        let port = 20_000 + ((id / 4093) % 40_000) as u16;
        let srv = self.rng.range(10, 40) as u8;
        if v6 {
            let mut c = [0u8; 16];
            c[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            c[4] = 0xc1;
            c[8..16].copy_from_slice(&(host + 1).to_be_bytes());
            let mut s = [0u8; 16];
            s[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            s[15] = srv;
            [
                Ep {
                    ip: Ip::V6(c),
                    port,
                },
                Ep {
                    ip: Ip::V6(s),
                    port: server_port,
                },
            ]
        } else {
            let h = host as u32 + 1;
            let c = [10, (h >> 16) as u8, (h >> 8) as u8, h as u8];
            [
                Ep {
                    ip: Ip::V4(c),
                    port,
                },
                Ep {
                    ip: Ip::V4([192, 0, 2, srv]),
                    port: server_port,
                },
            ]
        }
    }

    fn tcp(&mut self, server_port: u16) -> Tcp {
        let v6 = self.rng.permille(100);
        let vlan = if self.rng.permille(100) {
            Some(*self.rng.pick(&[100u16, 200, 301]))
        } else {
            None
        };
        Tcp {
            ends: self.endpoint_pair(server_port, v6),
            vlan,
            seq: [self.rng.next() as u32, self.rng.next() as u32],
        }
    }

    fn bulk_len(&mut self) -> u64 {
        let m = self.bulk_mean;
        self.rng.range(m / 4, m * 7 / 4)
    }

    fn new_conn(&mut self) -> Conn {
        self.stats.connections += 1;
        let mut c = Conn {
            tcp: Vec::new(),
            steps: VecDeque::new(),
            held: Vec::new(),
            since_ack: 0,
        };
        let r = self.rng.below(1000);
        match r {
            0..=299 => self.tls_conn(&mut c),
            300..=449 => self.ws_conn(&mut c),
            450..=799 => self.plain_conn(&mut c),
            800..=829 => self.proxy_conn(&mut c),
            _ => self.refused_conn(&mut c),
        }
        c
    }

    fn close(&mut self, c: &mut Conn, f: usize, d: usize) {
        if self.rng.permille(100) {
            c.steps.push_back(Step::Reset { f, d });
        } else {
            c.steps.push_back(Step::Close { f, d, n: 0 });
        }
    }

    fn tls_conn(&mut self, c: &mut Conn) {
        c.tcp.push(self.tcp(443));
        let midway = self.rng.permille(200);
        if !midway {
            c.steps.push_back(Step::Open { f: 0 });
            let mut hello = vec![
                0x16, 0x03, 0x01, 0x00, 0xf8, 0x01, 0x00, 0x00, 0xf4, 0x03, 0x03,
            ];
            let from = self.rng.below(POOL_LEN as u64) as usize;
            hello.extend_from_slice(&self.pool[from..from + 0xf8 - 6]);
            c.steps.push_back(Step::Msg {
                f: 0,
                d: 0,
                data: hello,
                off: 0,
                split: false,
            });
            let mut sh = vec![
                0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03,
            ];
            sh.extend_from_slice(&self.pool[from + 300..from + 300 + 0x7a - 6]);
            c.steps.push_back(Step::Msg {
                f: 0,
                d: 1,
                data: sh,
                off: 0,
                split: false,
            });
        }
        let rounds = self.rng.range(1, 3);
        for _ in 0..rounds {
            let up = self.bulk_len() / 8;
            c.steps.push_back(Step::Bulk {
                f: 0,
                d: 0,
                kind: Bulk::Tls,
                left: up.max(100),
                rec_left: 0,
            });
            let down = self.bulk_len();
            c.steps.push_back(Step::Bulk {
                f: 0,
                d: 1,
                kind: Bulk::Tls,
                left: down,
                rec_left: 0,
            });
        }
        self.close(c, 0, 0);
    }

    fn key(&mut self) -> String {
        let k: [u8; 16] = {
            let a = self.rng.next().to_le_bytes();
            let b = self.rng.next().to_le_bytes();
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&a);
            k[8..].copy_from_slice(&b);
            k
        };
        b64(&k)
    }

    fn host_of(t: &Tcp) -> String {
        t.ends[1].to_string()
    }

    /// A request as a browser or client library sends it, with one defect.
    fn request(&mut self, t: &Tcp, defect: Defect, key: &str, path: &str) -> (String, Vec<u8>) {
        let method = if defect == Defect::Post {
            "POST"
        } else {
            "GET"
        };
        let version = if defect == Defect::Http10 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        };
        let target = if defect == Defect::UnknownPath {
            "/socket-v1/stream".to_string()
        } else {
            format!("{path}?room={}", self.rng.below(10_000))
        };
        let mut s = format!("{method} {target} {version}\r\n");
        if defect != Defect::MissingHost {
            s.push_str(&format!("Host: {}\r\n", Self::host_of(t)));
        }
        let ua = *self.rng.pick(&[
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0",
            "Python/3.11 websockets/12.0",
        ]);
        s.push_str(&format!("User-Agent: {ua}\r\n"));
        match defect {
            Defect::MissingUpgrade => {}
            Defect::BadUpgrade => s.push_str(if self.rng.permille(500) {
                "Upgrade: websockets\r\n"
            } else {
                "Upgrade: h2c\r\n"
            }),
            _ => s.push_str("Upgrade: websocket\r\n"),
        }
        if defect == Defect::ConnKeepAlive {
            s.push_str("Connection: keep-alive\r\n");
        } else {
            s.push_str("Connection: Upgrade\r\n");
        }
        match defect {
            Defect::MissingKey => {}
            _ => s.push_str(&format!("Sec-WebSocket-Key: {key}\r\n")),
        }
        match defect {
            Defect::MissingVersion => {}
            Defect::Version8 => s.push_str("Sec-WebSocket-Version: 8\r\n"),
            _ => s.push_str("Sec-WebSocket-Version: 13\r\n"),
        }
        let origin = if defect == Defect::BadOrigin {
            "http://evil.example".to_string()
        } else {
            format!("http://{}", Self::host_of(t))
        };
        s.push_str(&format!("Origin: {origin}\r\n"));
        if defect == Defect::Subprotocol {
            s.push_str("Sec-WebSocket-Protocol: chat.v9\r\n");
        }
        s.push_str("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
        if defect == Defect::HugeCookie {
            let n = self.rng.range(9_000, 20_000) as usize;
            s.push_str("Cookie: session=");
            s.extend(std::iter::repeat_n('a', n));
            s.push_str("\r\n");
        } else if self.rng.permille(300) {
            s.push_str(&format!("Cookie: session={:016x}\r\n", self.rng.next()));
        }
        if defect == Defect::Post {
            s.push_str("Content-Length: 0\r\n");
        }
        s.push_str("\r\n");
        (target, s.into_bytes())
    }

    /// How a real server of some kind answers a request with this defect, and
    /// the cause and header that explain it.
    fn refusal(
        &mut self,
        defect: Defect,
        key: &str,
    ) -> (Answer, &'static str, Option<&'static str>) {
        let pick = self.rng.below(3);
        let key_h = Some("Sec-WebSocket-Key");
        let ver_h = Some("Sec-WebSocket-Version");
        match defect {
            Defect::MissingKey => (
                match pick {
                    0 => answer(400, "Bad Request", AIOHTTP, "Handshake error: None"),
                    1 => answer(400, "Bad Request", NODE, "Missing or invalid Sec-WebSocket-Key header"),
                    _ => answer(400, "Bad Request", PYWS, "Failed to open a WebSocket connection: missing Sec-WebSocket-Key header.\n"),
                },
                "missing-sec-websocket-key",
                key_h,
            ),
            Defect::BadKey => (
                match pick {
                    0 => answer(400, "Bad Request", AIOHTTP, &format!("Handshake error: '{key}'")),
                    1 => answer(400, "Bad Request", NODE, "Missing or invalid Sec-WebSocket-Key header"),
                    _ => answer(
                        400,
                        "Bad Request",
                        PYWS,
                        &format!("Failed to open a WebSocket connection: invalid Sec-WebSocket-Key header: {key}.\n"),
                    ),
                },
                "invalid-sec-websocket-key",
                key_h,
            ),
            Defect::MissingVersion => (
                match pick {
                    0 => answer(400, "Bad Request", AIOHTTP, "Unsupported version: None"),
                    1 => answer(400, "Bad Request", NODE, "Missing or invalid Sec-WebSocket-Version header"),
                    _ => {
                        let mut a = answer(426, "Upgrade Required", TORNADO, "");
                        a.headers.push(("Sec-WebSocket-Version", "7, 8, 13".to_string()));
                        a
                    }
                },
                "missing-sec-websocket-version",
                ver_h,
            ),
            Defect::Version8 => (
                if pick == 0 {
                    answer(400, "Bad Request", PYWS, "Failed to open a WebSocket connection: invalid Sec-WebSocket-Version header: 8.\n")
                } else {
                    let mut a = answer(426, "Upgrade Required", UVICORN, "");
                    a.headers.push(("Sec-WebSocket-Version", "13".to_string()));
                    a
                },
                "unsupported-sec-websocket-version",
                ver_h,
            ),
            Defect::MissingUpgrade => (
                match pick {
                    0 => answer(400, "Bad Request", AIOHTTP, "No WebSocket UPGRADE hdr: None"),
                    1 => answer(426, "Upgrade Required", NODE, "Upgrade Required"),
                    _ => answer(426, "Upgrade Required", PYWS, "Failed to open a WebSocket connection: empty Upgrade header.\n"),
                },
                "missing-upgrade",
                Some("Upgrade"),
            ),
            Defect::BadUpgrade => (
                match pick {
                    0 => answer(400, "Bad Request", NODE, "Invalid Upgrade header"),
                    _ => answer(400, "Bad Request", TORNADO, "Can \"Upgrade\" only to \"WebSocket\"."),
                },
                "invalid-upgrade",
                Some("Upgrade"),
            ),
            Defect::ConnKeepAlive => (
                match pick {
                    0 => answer(400, "Bad Request", AIOHTTP, "No CONNECTION upgrade hdr: keep-alive"),
                    1 => answer(426, "Upgrade Required", NODE, "Upgrade Required"),
                    _ => answer(400, "Bad Request", TORNADO, "\"Connection\" must be \"Upgrade\"."),
                },
                "connection-missing-upgrade",
                Some("Connection"),
            ),
            Defect::BadOrigin => (
                match pick {
                    0 => answer(403, "Forbidden", AIOHTTP, "Origin not allowed"),
                    1 => answer(403, "Forbidden", PYWS, "Failed to open a WebSocket connection: invalid Origin header: http://evil.example.\n"),
                    _ => answer(403, "Forbidden", TORNADO, "Cross origin websockets not allowed"),
                },
                "origin-rejected",
                Some("Origin"),
            ),
            Defect::Post => (
                if pick == 0 {
                    answer(405, "Method Not Allowed", AIOHTTP, "405: Method Not Allowed")
                } else {
                    answer(405, "Method Not Allowed", NODE, "Invalid HTTP method")
                },
                "method-not-get",
                None,
            ),
            Defect::Http10 => (answer(400, "Bad Request", PYWS, PYWS_BAD_REQ), "http-version-too-old", None),
            Defect::MissingHost => (
                if pick == 0 {
                    answer(400, "Bad Request", AIOHTTP, "Missing 'Host' header in request.")
                } else {
                    answer(400, "Bad Request", UVICORN, "Invalid HTTP request received.")
                },
                "missing-host",
                Some("Host"),
            ),
            Defect::Subprotocol => (
                answer(400, "Bad Request", PYWS, "Failed to open a WebSocket connection: unsupported subprotocol; expected one of chat.v2.\n"),
                "subprotocol-rejected",
                Some("Sec-WebSocket-Protocol"),
            ),
            Defect::HugeCookie => (
                if pick == 0 {
                    answer(431, "Request Header Fields Too Large", NODE, "")
                } else {
                    answer(400, "Bad Request", NGINX, "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n")
                },
                "header-too-large",
                Some("Cookie"),
            ),
            Defect::UnknownPath => (answer(404, "Not Found", UVICORN, "Not Found"), "path-not-found", None),
            Defect::NoAuth => {
                let mut a = answer(401, "Unauthorized", NODE, "Unauthorized");
                a.headers.push(("WWW-Authenticate", "Bearer realm=\"ws\"".to_string()));
                (a, "unauthorized", Some("Authorization"))
            }
            Defect::Crash => (
                answer(500, "Internal Server Error", PYWS, "Failed to open a WebSocket connection.\nSee server log for more information.\n"),
                "server-error",
                None,
            ),
            Defect::BadAccept => {
                let mut a = answer(101, "Switching Protocols", Some("legacy-gateway/2.1"), "");
                a.headers.push(("Upgrade", "websocket".to_string()));
                a.headers.push(("Connection", "Upgrade".to_string()));
                // The accept of another key: a gateway that rewrote the key.
                let other = accept_of(&format!("{key}x"));
                a.headers.push(("Sec-WebSocket-Accept", other));
                (a, "invalid-sec-websocket-accept", Some("Sec-WebSocket-Accept"))
            }
            Defect::None => (self.accept(key), "ok", None),
        }
    }

    fn accept(&mut self, key: &str) -> Answer {
        let mut a = answer(
            101,
            "Switching Protocols",
            *self.rng.pick(&[AIOHTTP, PYWS, NODE, UVICORN]),
            "",
        );
        a.headers.push(("Upgrade", "websocket".to_string()));
        a.headers.push(("Connection", "Upgrade".to_string()));
        a.headers.push(("Sec-WebSocket-Accept", accept_of(key)));
        a
    }

    #[allow(clippy::too_many_arguments)]
    fn note(
        &mut self,
        t: &Tcp,
        method: &str,
        target: &str,
        status: Option<u16>,
        cause: &'static str,
        header: Option<&'static str>,
        leg: &'static str,
    ) {
        self.truth.push(Truth {
            client: t.ends[0].to_string(),
            server: t.ends[1].to_string(),
            method: method.to_string(),
            target: target.to_string(),
            status,
            cause,
            header,
            leg,
        });
    }

    fn ws_conn(&mut self, c: &mut Conn) {
        let port = *self.rng.pick(&[80u16, 8080, 8765]);
        let t = self.tcp(port);
        c.tcp.push(t.clone());
        c.steps.push_back(Step::Open { f: 0 });
        // Lenient servers accept a few rule breakers; the cause stays ok.
        let defect = match self.rng.below(20) {
            0 => Defect::Version8,
            1 => Defect::Http10,
            _ => Defect::None,
        };
        let key = self.key();
        let (target, req) = self.request(&t, defect, &key, "/ws");
        let method = if defect == Defect::Post {
            "POST"
        } else {
            "GET"
        };
        c.steps.push_back(Step::Msg {
            f: 0,
            d: 0,
            data: req,
            off: 0,
            split: true,
        });
        let mut resp = self.accept(&key).bytes();
        // Servers often send their first frame in the same segment.
        if self.rng.permille(300) {
            resp.extend_from_slice(b"\x81\x0f{\"type\":\"hello\"}");
        }
        c.steps.push_back(Step::Msg {
            f: 0,
            d: 1,
            data: resp,
            off: 0,
            split: false,
        });
        self.note(&t, method, &target, Some(101), "ok", None, "direct");
        let rounds = self.rng.range(1, 4);
        for _ in 0..rounds {
            let up = self.bulk_len() / 4;
            c.steps.push_back(Step::Bulk {
                f: 0,
                d: 0,
                kind: Bulk::Ws,
                left: up.max(50),
                rec_left: 0,
            });
            let down = self.bulk_len() / 2;
            c.steps.push_back(Step::Bulk {
                f: 0,
                d: 1,
                kind: Bulk::Ws,
                left: down.max(50),
                rec_left: 0,
            });
        }
        if self.rng.permille(200) {
            c.steps.push_back(Step::Reset { f: 0, d: 0 });
        } else {
            let mut close = vec![0x88, 0x82];
            close.extend_from_slice(&self.rng.next().to_le_bytes()[..4]);
            close.extend_from_slice(&[0x03, 0xe8]);
            c.steps.push_back(Step::Msg {
                f: 0,
                d: 0,
                data: close,
                off: 0,
                split: false,
            });
            c.steps.push_back(Step::Msg {
                f: 0,
                d: 1,
                data: vec![0x88, 0x02, 0x03, 0xe8],
                off: 0,
                split: false,
            });
            c.steps.push_back(Step::Close { f: 0, d: 1, n: 0 });
        }
    }

    fn plain_request(&mut self, t: &Tcp) -> Vec<u8> {
        let path = *self.rng.pick(&[
            "/",
            "/index.html",
            "/api/items",
            "/static/app.js",
            "/img/logo.png",
            "/feed.json",
        ]);
        format!(
            "GET {path}?v={} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n",
            self.rng.below(1000),
            Self::host_of(t)
        )
        .into_bytes()
    }

    fn plain_response(&mut self) -> Vec<u8> {
        let len = (self.rng.range(100, self.bulk_mean / 4 + 200)) as usize;
        let from = self.rng.below(POOL_LEN as u64) as usize;
        let text = self.rng.permille(500);
        let src = if text { &self.text } else { &self.pool };
        let body = &src[from..from + len.min(2 * MSS4)];
        let mut v;
        if self.rng.permille(300) {
            v = b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            let mut left = len;
            while left > 0 {
                let n = left.min(self.rng.range(50, 4000) as usize);
                v.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                fill(&mut v, body, n);
                v.extend_from_slice(b"\r\n");
                left -= n;
            }
            v.extend_from_slice(b"0\r\n\r\n");
        } else if self.rng.permille(80) {
            v = b"HTTP/1.1 304 Not Modified\r\nServer: nginx/1.24.0\r\nETag: \"6553a1b2-1f4\"\r\n\r\n".to_vec();
        } else {
            v = format!("HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: text/html\r\nContent-Length: {len}\r\nConnection: keep-alive\r\n\r\n").into_bytes();
            fill(&mut v, body, len);
        }
        v
    }

    fn plain_conn(&mut self, c: &mut Conn) {
        let port = *self.rng.pick(&[80u16, 8080]);
        let t = self.tcp(port);
        c.tcp.push(t.clone());
        if !self.rng.permille(150) {
            c.steps.push_back(Step::Open { f: 0 });
        }
        let n = self.rng.range(1, 6);
        for _ in 0..n {
            let req = self.plain_request(&t);
            c.steps.push_back(Step::Msg {
                f: 0,
                d: 0,
                data: req,
                off: 0,
                split: true,
            });
            let resp = self.plain_response();
            c.steps.push_back(Step::Msg {
                f: 0,
                d: 1,
                data: resp,
                off: 0,
                split: false,
            });
        }
        self.close(c, 0, 0);
    }

    fn refused_conn(&mut self, c: &mut Conn) {
        let port = *self.rng.pick(&[80u16, 8000, 8080, 8765]);
        let t = self.tcp(port);
        c.tcp.push(t.clone());
        c.steps.push_back(Step::Open { f: 0 });
        // Some arrive after a few plain requests on a keep-alive connection.
        if self.rng.permille(200) {
            for _ in 0..self.rng.range(1, 2) {
                let req = self.plain_request(&t);
                c.steps.push_back(Step::Msg {
                    f: 0,
                    d: 0,
                    data: req,
                    off: 0,
                    split: true,
                });
                let resp = self.plain_response();
                c.steps.push_back(Step::Msg {
                    f: 0,
                    d: 1,
                    data: resp,
                    off: 0,
                    split: false,
                });
            }
        }
        let defect = *self.rng.pick(REFUSALS);
        let key = if defect == Defect::BadKey {
            // Hand-written keys: too short, or not base64 at all.
            self.rng.pick(&["abc", "AAECAwQFBgcICQ=="]).to_string()
        } else {
            self.key()
        };
        let (target, req) = self.request(&t, defect, &key, "/ws");
        let method = if defect == Defect::Post {
            "POST"
        } else {
            "GET"
        };
        c.steps.push_back(Step::Msg {
            f: 0,
            d: 0,
            data: req,
            off: 0,
            split: true,
        });
        let (ans, cause, header) = self.refusal(defect, &key);
        c.steps.push_back(Step::Msg {
            f: 0,
            d: 1,
            data: ans.bytes(),
            off: 0,
            split: false,
        });
        self.note(
            &t,
            method,
            &target,
            Some(ans.status),
            cause,
            header,
            "direct",
        );
        if defect == Defect::BadAccept {
            // The client fails the connection.
            c.steps.push_back(Step::Close { f: 0, d: 0, n: 0 });
        } else {
            c.steps.push_back(Step::Close { f: 0, d: 1, n: 0 });
        }
    }

    /// An nginx proxy without the upgrade headers configured: the client leg
    /// carries a good request, the backend leg a plain GET with the same key.
    fn proxy_conn(&mut self, c: &mut Conn) {
        let mut front = self.tcp(80);
        let proxy_ip = match front.ends[1].ip {
            Ip::V4(_) => Ip::V4([192, 0, 2, 100]),
            Ip::V6(mut a) => {
                a[15] = 100;
                Ip::V6(a)
            }
        };
        front.ends[1].ip = proxy_ip;
        let mut back = self.tcp(8000);
        back.vlan = front.vlan;
        let id = self.next_id;
        self.next_id += 1;
        back.ends[0] = Ep {
            ip: proxy_ip,
            port: 30_000 + (id % 30_000) as u16,
        };
        back.ends[1].ip = match proxy_ip {
            Ip::V4(_) => Ip::V4([192, 0, 2, 200]),
            Ip::V6(mut a) => {
                a[15] = 200;
                Ip::V6(a)
            }
        };
        c.tcp.push(front.clone());
        c.tcp.push(back.clone());
        let key = self.key();
        let (target, req) = self.request(&front, Defect::None, &key, "/ws");
        let backend_req = format!(
            "GET {target} HTTP/1.0\r\nHost: backend\r\nConnection: close\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{}\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
            Self::host_of(&front)
        )
        .into_bytes();
        let ans = if self.rng.permille(500) {
            answer(
                400,
                "Bad Request",
                AIOHTTP,
                "No WebSocket UPGRADE hdr: None",
            )
        } else {
            answer(400, "Bad Request", PYWS, PYWS_BAD_REQ)
        };
        let mut front_ans = ans.bytes();
        // nginx puts its own Server header on what it forwards.
        if let Some(sv) = ans.server {
            let s = String::from_utf8_lossy(&front_ans).replace(sv, "nginx/1.24.0");
            front_ans = s.into_bytes();
        } else {
            let s = String::from_utf8_lossy(&front_ans).replacen(
                "\r\n",
                "\r\nServer: nginx/1.24.0\r\n",
                1,
            );
            front_ans = s.into_bytes();
        }
        c.steps.push_back(Step::Open { f: 0 });
        c.steps.push_back(Step::Msg {
            f: 0,
            d: 0,
            data: req,
            off: 0,
            split: true,
        });
        c.steps.push_back(Step::Open { f: 1 });
        c.steps.push_back(Step::Msg {
            f: 1,
            d: 0,
            data: backend_req,
            off: 0,
            split: false,
        });
        c.steps.push_back(Step::Msg {
            f: 1,
            d: 1,
            data: ans.bytes(),
            off: 0,
            split: false,
        });
        c.steps.push_back(Step::Close { f: 1, d: 1, n: 0 });
        c.steps.push_back(Step::Msg {
            f: 0,
            d: 1,
            data: front_ans,
            off: 0,
            split: false,
        });
        c.steps.push_back(Step::Close { f: 0, d: 1, n: 0 });
        let h = Some("Upgrade");
        self.note(
            &front,
            "GET",
            &target,
            Some(400),
            "proxy-stripped-upgrade",
            h,
            "client",
        );
        self.note(
            &back,
            "GET",
            &target,
            Some(400),
            "proxy-stripped-upgrade",
            h,
            "backend",
        );
    }
}

/// Append `n` bytes cycling through `src`.
fn fill(v: &mut Vec<u8>, src: &[u8], mut n: usize) {
    while n > 0 {
        let k = n.min(src.len());
        v.extend_from_slice(&src[..k]);
        n -= k;
    }
}

enum Payload<'a> {
    None,
    Bytes(&'a [u8]),
    Pool {
        hdr: [u8; 14],
        hdr_len: usize,
        from: usize,
        len: usize,
        text: bool,
    },
}

impl Payload<'_> {
    fn len(&self) -> usize {
        match self {
            Payload::None => 0,
            Payload::Bytes(b) => b.len(),
            Payload::Pool { hdr_len, len, .. } => hdr_len + len,
        }
    }
}
