//! Capture building for the integration tests: a classic pcap writer and a TCP
//! connection that keeps its sequence numbers.
#![allow(dead_code)]

pub mod labels;
pub mod run;
pub mod shared;
pub mod stream_harness;
pub mod tools;

/// The recorded fixtures (`fixtures/*.pcap`), in name order.
pub fn fixture_pcaps() -> Vec<std::path::PathBuf> {
    let mut v: Vec<std::path::PathBuf> = std::fs::read_dir("fixtures")
        .expect("fixtures/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    v.sort();
    v
}

pub type Ep = ([u8; 4], u16);

pub const SYN: u8 = 0x02;
pub const FIN: u8 = 0x01;
pub const ACK: u8 = 0x10;
pub const PSH: u8 = 0x08;

/// A classic pcap file (Ethernet link type) built in memory, with a packet
/// clock that advances one microsecond per packet unless moved on.
pub struct Cap {
    pub buf: Vec<u8>,
    pub usecs: u64,
}

impl Default for Cap {
    fn default() -> Self {
        Cap::new()
    }
}

impl Cap {
    pub fn new() -> Cap {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&0i32.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&262_144u32.to_le_bytes());
        buf.extend_from_slice(&1u32.to_le_bytes());
        Cap { buf, usecs: 0 }
    }

    pub fn wait_secs(&mut self, s: u64) {
        self.usecs += s * 1_000_000;
    }

    /// One Ethernet frame as given, its clock one microsecond on.
    pub fn frame(&mut self, frame: &[u8]) {
        self.usecs += 1;
        let secs = 1_700_000_000 + self.usecs / 1_000_000;
        self.buf.extend_from_slice(&(secs as u32).to_le_bytes());
        self.buf
            .extend_from_slice(&((self.usecs % 1_000_000) as u32).to_le_bytes());
        self.buf
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.buf
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(frame);
    }

    pub fn tcp(&mut self, src: Ep, dst: Ep, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        self.usecs += 1;
        let len = 14 + 20 + 20 + payload.len();
        let secs = 1_700_000_000 + self.usecs / 1_000_000;
        self.buf.extend_from_slice(&(secs as u32).to_le_bytes());
        self.buf
            .extend_from_slice(&((self.usecs % 1_000_000) as u32).to_le_bytes());
        self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        // Ethernet
        self.buf
            .extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        // IPv4
        let total = (20 + 20 + payload.len()) as u16;
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[6] = 0x40; // don't fragment
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&src.0);
        ip[16..20].copy_from_slice(&dst.0);
        let mut sum: u32 = ip
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        self.buf.extend_from_slice(&ip);
        // TCP (the analyzer, like every passive one, does not check the checksum)
        let mut tcp = [0u8; 20];
        tcp[0..2].copy_from_slice(&src.1.to_be_bytes());
        tcp[2..4].copy_from_slice(&dst.1.to_be_bytes());
        tcp[4..8].copy_from_slice(&seq.to_be_bytes());
        tcp[8..12].copy_from_slice(&ack.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        tcp[14..16].copy_from_slice(&65_535u16.to_be_bytes());
        self.buf.extend_from_slice(&tcp);
        self.buf.extend_from_slice(payload);
    }
}

/// One TCP connection: both sides' next sequence numbers.
pub struct Conn {
    pub c: Ep,
    pub s: Ep,
    pub cs: u32,
    pub ss: u32,
}

impl Conn {
    pub fn open(cap: &mut Cap, c: Ep, s: Ep) -> Conn {
        let (cisn, sisn) = (
            0x1000_0000u32.wrapping_add(u32::from(c.1) << 12),
            0xfff0_0000u32,
        );
        cap.tcp(c, s, cisn, 0, SYN, b"");
        cap.tcp(s, c, sisn, cisn + 1, SYN | ACK, b"");
        cap.tcp(c, s, cisn + 1, sisn.wrapping_add(1), ACK, b"");
        Conn {
            c,
            s,
            cs: cisn + 1,
            ss: sisn.wrapping_add(1),
        }
    }

    pub fn client(&mut self, cap: &mut Cap, data: &[u8]) {
        for seg in data.chunks(1448) {
            cap.tcp(self.c, self.s, self.cs, self.ss, PSH | ACK, seg);
            self.cs = self.cs.wrapping_add(seg.len() as u32);
        }
    }

    pub fn server(&mut self, cap: &mut Cap, data: &[u8]) {
        for seg in data.chunks(1448) {
            cap.tcp(self.s, self.c, self.ss, self.cs, PSH | ACK, seg);
            self.ss = self.ss.wrapping_add(seg.len() as u32);
        }
    }

    pub fn close(&mut self, cap: &mut Cap) {
        cap.tcp(self.c, self.s, self.cs, self.ss, FIN | ACK, b"");
        cap.tcp(
            self.s,
            self.c,
            self.ss,
            self.cs.wrapping_add(1),
            FIN | ACK,
            b"",
        );
        cap.tcp(
            self.c,
            self.s,
            self.cs.wrapping_add(1),
            self.ss.wrapping_add(1),
            ACK,
            b"",
        );
    }
}

pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

pub fn ws_request(path: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{extra}\r\n"
    )
    .into_bytes()
}

pub fn accepted_response() -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        wshs_sniff::classify::expected_accept(KEY.as_bytes())
    )
    .into_bytes()
}

/// SYNs from `n` distinct clients to one server, numbered from `from`.
pub fn syn_flood(cap: &mut Cap, from: u32, n: u32) {
    let server = ([10, 9, 9, 9], 80);
    for i in from..from + n {
        let ip = [
            172,
            16 + (i >> 24) as u8 % 16,
            (i >> 16) as u8,
            (i >> 8) as u8,
        ];
        let port = 1024 + (i & 0xff) as u16 * 97 % 60_000;
        cap.tcp(
            (ip, port),
            server,
            i.wrapping_mul(2_654_435_761),
            0,
            SYN,
            b"",
        );
    }
}

/// How a datagram's payload is cut into fragments: each piece's start and
/// end (multiples of 8 but the last end), in the order they are sent.
pub type Pieces = Vec<(usize, usize)>;

/// One frame per piece of `l4`: `frame(data, offset, more)` builds each.
pub fn cut_frames(
    l4: &[u8],
    pieces: &Pieces,
    frame: impl Fn(&[u8], usize, bool) -> Vec<u8>,
) -> Vec<Vec<u8>> {
    pieces
        .iter()
        .map(|&(from, to)| frame(&l4[from..to], from, to < l4.len()))
        .collect()
}

/// The frames of an IPv4 datagram carrying `l4`, cut as `pieces` says.
pub fn ipv4_fragments(
    src: [u8; 4],
    dst: [u8; 4],
    id: u16,
    l4: &[u8],
    pieces: &Pieces,
) -> Vec<Vec<u8>> {
    cut_frames(l4, pieces, |data, from, more| {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let frag = (from / 8) as u16 | if more { 0x2000 } else { 0 };
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&((20 + data.len()) as u16).to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(&frag.to_be_bytes());
        // TTL, TCP, no checksum (the analyzer checks none).
        f.extend_from_slice(&[64, 6, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(data);
        f
    })
}

/// A TCP segment (20-byte header) with its payload.
pub fn segment(
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&src_port.to_be_bytes());
    tcp[2..4].copy_from_slice(&dst_port.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&65_535u16.to_be_bytes());
    tcp.extend_from_slice(payload);
    tcp
}
