//! One TCP connection seen as HTTP/1.x: both directions parsed incrementally,
//! requests queued in order, each response paired with the oldest unanswered
//! request (keep-alive and pipelining), interim 1xx responses skipped.
//!
//! Only requests that are WebSocket upgrade attempts are kept as owned values; the
//! others leave a counter in the queue so pairing stays right at no cost.

use std::collections::VecDeque;
use std::time::Duration;

use super::attempt::{AfterUpgrade, Attempt, Ending, PacketNumbers};
use super::body::BodyReader;
use super::engine_io::{self, SidIssued};
use super::head::{self, Headers, Parsed, RequestHead};
use super::proxy_protocol::{self, ProxyHeader};
use super::session::{Session, SessionEnd};
use super::ws_frame;
use crate::capture::Timestamp;
use crate::decode::{BySide, Endpoint, Side};
use crate::reassembly::{Chunk, FlowState};
use crate::tls::SharedKeys;

use super::attempt::TlsInfo;

/// Bounds of the HTTP stage, so a hostile peer cannot make it hold memory.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest head buffered while incomplete. Servers refuse far smaller heads
    /// (8 KiB for most, 16–64 KiB for a few); past this the head is reported as
    /// too large with the headers that fit.
    pub max_head: usize,
    /// Upgrade attempts waiting for an answer on one connection.
    pub max_pending_attempts: usize,
    /// Follow accepted sessions to their end (`--sessions`): their frames
    /// are read, so their bytes stay in reassembly.
    pub sessions: bool,
    /// Secrets to open TLS connections with (a key log, a pcapng Decryption
    /// Secrets Block): not a limit, but carried to every flow the same way.
    pub tls_keys: Option<SharedKeys>,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_head: 64 * 1024,
            max_pending_attempts: 64,
            sessions: false,
            tls_keys: None,
        }
    }
}

/// Counters for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpStats {
    pub requests: u64,
    pub responses: u64,
    /// Responses with no request to pair with (capture started mid-connection).
    pub unpaired_responses: u64,
    /// Heads larger than [`HttpLimits::max_head`].
    pub heads_too_large: u64,
    /// Times a direction lost its place (gap, garbage) and searched for the next
    /// message start.
    pub resyncs: u64,
    /// Holes in the capture that fell inside a body whose framing says where
    /// it ends: read past without losing the place.
    pub gaps_in_bodies: u64,
    /// Heads a hole cut: a request's is not reported but keeps its place
    /// for its answer; a response's answers its request with the lines
    /// that came.
    pub heads_cut_by_holes: u64,
    /// Connection directions that carried no HTTP (TLS, other protocols).
    pub non_http_directions: u64,
    /// Attempts dropped because too many were pending on one connection.
    pub attempts_dropped: u64,
    /// Connections switched to WebSocket (or another protocol) by a 101.
    pub upgrades: u64,
    /// Connections that carried TLS, and those of them whose records were
    /// opened with keys: without keys, attempts inside TLS cannot be seen,
    /// and the summary must say so rather than report none.
    pub tls_connections: u64,
    pub tls_decrypted: u64,
    /// Connections whose secrets the key log held, opened or not: a
    /// browser's spare connection completes its handshake and sends
    /// nothing, and it is not one the user lacks keys for.
    pub tls_keyed: u64,
    /// Connections that began with a PROXY protocol header.
    pub proxy_headers: u64,
    /// WebSocket connections the capture joined after their upgrade,
    /// passed over once their frames showed it.
    pub websockets_joined: u64,
    /// CONNECT requests answered 2xx, whose tunnels were read as
    /// connections of their own (a forward proxy's client side).
    pub tunnels: u64,
    /// CONNECT requests answered otherwise: no tunnel, so whatever the
    /// client meant to send through it (a WebSocket among others) never
    /// left; on a proxy's host, the one trace of such a refusal.
    pub tunnels_refused: u64,
}

impl HttpStats {
    pub fn merge(&mut self, o: &HttpStats) {
        self.requests += o.requests;
        self.responses += o.responses;
        self.unpaired_responses += o.unpaired_responses;
        self.heads_too_large += o.heads_too_large;
        self.resyncs += o.resyncs;
        self.gaps_in_bodies += o.gaps_in_bodies;
        self.heads_cut_by_holes += o.heads_cut_by_holes;
        self.non_http_directions += o.non_http_directions;
        self.attempts_dropped += o.attempts_dropped;
        self.upgrades += o.upgrades;
        self.tls_connections += o.tls_connections;
        self.tls_decrypted += o.tls_decrypted;
        self.tls_keyed += o.tls_keyed;
        self.proxy_headers += o.proxy_headers;
        self.websockets_joined += o.websockets_joined;
        self.tunnels += o.tunnels;
        self.tunnels_refused += o.tunnels_refused;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Unknown,
    Requests,
    Responses,
}

#[derive(Debug)]
enum State {
    /// Expecting a head at the next byte.
    Head,
    /// Inside a body; `attempt` when it is the body of an upgrade attempt's
    /// response (its excerpt is being kept).
    Body {
        reader: BodyReader,
        attempt: Option<Box<Attempt>>,
    },
    /// Lost the message boundary: searching for the next message start.
    Resync,
    /// After a 101: the server's first WebSocket frames, scanned for a close.
    Frames,
    /// Nothing more to parse here (not HTTP, or switched protocols).
    Done,
}

#[derive(Debug)]
struct Direction {
    role: Role,
    state: State,
    /// Head bytes collected across segments (empty on the zero-copy path).
    buf: Vec<u8>,
    /// Time of the first byte of the message being read.
    msg_ts: Timestamp,
    /// Endpoints of this direction (sender, receiver), from its first packet.
    ends: Option<(Endpoint, Endpoint)>,
    fin: bool,
    /// A valid HTTP message was parsed in this direction.
    spoke_http: bool,
    /// The body being read answers an Engine.IO polling handshake.
    engine_io_body: bool,
    /// Some payload of this direction was read (its first bytes are where
    /// HTTP/2 shows itself mid-connection).
    read_any: bool,
    /// Length of `buf` when it was last known to be a head that is
    /// well-formed so far and not ended (0: not known). Bytes appended to it
    /// need parsing again only when they could end the head or make it
    /// malformed; without this, a head sent a byte per segment would be
    /// parsed from its start once per byte, quadratic in its size.
    unended_len: u32,
    /// Line ends in `buf` at `unended_len` (0: the start line is not whole).
    unended_lines: u32,
    /// Length of `buf` at the parser's last look.
    parsed_len: u32,
    /// Bytes after a hole that no message can start in (see
    /// [`Conversation::head_cut_by_hole`]), still to pass over while
    /// resynchronising.
    resync_skip: u64,
    /// Holes in this direction outside a body of known length, so far: a
    /// request made after one in its server's direction was made after
    /// bytes the capture lost (see [`Conversation::answers_lost`]).
    holes: u32,
    /// Chunks in a row, while resynchronising, that were whole WebSocket
    /// frames (see [`Conversation::frames_joined`]).
    frame_chunks: u8,
}

impl Direction {
    /// Replace the head buffer: what the parser knew of the old one is void.
    fn set_buf(&mut self, bytes: Vec<u8>) {
        self.buf = bytes;
        self.unended_len = 0;
    }

    /// The head parser found `buf` well-formed so far and not ended.
    fn note_unended(&mut self, buf: &[u8]) {
        self.unended_len = 0;
        if let (Ok(len), Ok(lines)) = (
            u32::try_from(buf.len()),
            u32::try_from(memchr::memchr_iter(b'\n', buf).count()),
        ) {
            self.unended_len = len;
            self.unended_lines = lines;
            self.parsed_len = len;
        }
    }

    /// Whether `buf`, known unended at `prev` bytes, may wait for more bytes
    /// without being parsed again.
    ///
    /// Once the start line is whole this is exact for the parser as
    /// configured here (invalid header lines skipped): only an empty line
    /// ends a head, and only a NUL, a CR not followed by LF, or more header
    /// lines than it has room for make it refuse one. A start line still
    /// being read is parsed again at its line end or when its bytes have
    /// doubled since the last look, so a malformed one is refused a little
    /// later than its first bad byte, after at most a few dozen looks.
    fn still_unended(&mut self, prev: usize, max_head: usize) -> bool {
        if prev == 0 || self.unended_len as usize != prev || self.buf.len() > max_head {
            return false;
        }
        let Ok(len) = u32::try_from(self.buf.len()) else {
            return false;
        };
        if self.unended_lines == 0 {
            let line_ends = memchr::memchr(b'\n', &self.buf[prev..]).is_some();
            if line_ends || len / 2 >= self.parsed_len {
                return false;
            }
            self.unended_len = len;
            return true;
        }
        let from = prev.saturating_sub(2);
        let window = &self.buf[from..];
        if memchr::memchr(0, window).is_some() {
            return false;
        }
        for i in memchr::memchr_iter(b'\r', window) {
            if window.get(i + 1).is_some_and(|&b| b != b'\n') {
                return false;
            }
        }
        let mut lines = self.unended_lines;
        for i in memchr::memchr_iter(b'\n', window) {
            let ends = match window.get(i + 1) {
                Some(b'\n') => true,
                Some(b'\r') => window.get(i + 2) == Some(&b'\n'),
                _ => false,
            };
            if ends {
                return false;
            }
            if from + i >= prev {
                lines += 1;
            }
        }
        if lines as usize >= head::MAX_RESPONSE_HEADERS {
            return false;
        }
        self.unended_len = len;
        self.unended_lines = lines;
        true
    }

    /// A head is half read (it may be an attempt's), or the body of an
    /// attempt's answer is.
    fn mid_attempt(&self) -> bool {
        let answering = matches!(&self.state, State::Body { attempt, .. } if attempt.is_some());
        answering || !self.buf.is_empty()
    }
}

impl Default for Direction {
    fn default() -> Self {
        Direction {
            role: Role::Unknown,
            state: State::Head,
            buf: Vec::new(),
            msg_ts: Timestamp::default(),
            ends: None,
            fin: false,
            spoke_http: false,
            engine_io_body: false,
            read_any: false,
            unended_len: 0,
            unended_lines: 0,
            parsed_len: 0,
            resync_skip: 0,
            holes: 0,
            frame_chunks: 0,
        }
    }
}

/// How long after a 101 a server close frame or reset counts as a refusal in
/// disguise. Short, so accepted attempts are still reported within a second
/// of their response in live capture.
pub const WATCH: Duration = Duration::from_millis(500);
/// Seconds a request must have waited before a client's half-close reads as
/// giving up on it: browsers and libraries wait seconds for an answer.
const GAVE_UP_AFTER: f64 = 0.5;
/// Bytes of server frames scanned after a 101 before giving up the watch.
const WATCH_BYTES: usize = 4096;

/// An accepted attempt held briefly to see whether the server closes at once.
#[derive(Debug)]
struct Watch {
    attempt: Box<Attempt>,
    since: Timestamp,
    deadline: Timestamp,
    /// Frame header (and close payload) bytes collected so far.
    buf: Vec<u8>,
    /// Payload bytes of a non-close frame still to skip.
    skip: u64,
    scanned: usize,
    /// The deadline has not been handed to the caller's timer yet.
    new: bool,
    /// The client sent bytes after the 101 (its first message): a close
    /// that follows may answer that message, not the handshake.
    client_spoke: bool,
}

/// What a frame scan concluded.
enum Scan {
    More,
    Close(u16, String),
    /// An HTTP response where the first frame should be.
    Http(Vec<u8>),
    GiveUp,
}

/// Bytes kept of an HTTP response written after a 101.
const AFTER_101_HTTP_BYTES: usize = 256;

impl Watch {
    /// Scan server→client frames (unmasked, RFC 6455 §5.2) for a close frame.
    fn scan(&mut self, mut data: &[u8]) -> Scan {
        if self.scanned == 0 && self.buf.is_empty() && data.starts_with(b"HTTP/1.") {
            return Scan::Http(data[..data.len().min(AFTER_101_HTTP_BYTES)].to_vec());
        }
        while !data.is_empty() {
            if self.scanned >= WATCH_BYTES {
                return Scan::GiveUp;
            }
            if self.skip > 0 {
                let n = self.skip.min(data.len() as u64) as usize;
                self.skip -= n as u64;
                self.scanned += n;
                data = &data[n..];
                continue;
            }
            // Collect the header: 2 bytes, then the extended length and mask.
            let need = ws_frame::header_len(&self.buf);
            let Some(frame) = ws_frame::parse_header(&self.buf) else {
                let n = (need - self.buf.len()).min(data.len());
                self.buf.extend_from_slice(&data[..n]);
                self.scanned += n;
                data = &data[n..];
                continue;
            };
            let len = frame.payload_len;
            if !frame.plausible_from_server() {
                return Scan::GiveUp;
            }
            if frame.is_close() {
                let have = self.buf.len() - need;
                if (have as u64) < len {
                    let n = ((len as usize) - have).min(data.len());
                    self.buf.extend_from_slice(&data[..n]);
                    self.scanned += n;
                    data = &data[n..];
                    if ((self.buf.len() - need) as u64) < len {
                        continue;
                    }
                }
                return match ws_frame::valid_close(&self.buf[need..]) {
                    Some((code, reason)) => Scan::Close(code, reason),
                    None => Scan::GiveUp,
                };
            }
            self.skip = len;
            self.buf.clear();
        }
        Scan::More
    }
}

/// How a plain request's answer is read (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asks {
    /// A message framed as its head says.
    Message,
    /// A head alone: a HEAD's answer has no content.
    HeadOnly,
    /// A CONNECT: a 2xx answer ends with its head, and from the next byte
    /// on both directions carry whatever the tunnel carries (RFC 9110
    /// §9.3.6) — through a forward proxy, a browser's `ws://` upgrade or
    /// its TLS.
    Tunnel,
}

impl Asks {
    fn head_only(head_method: bool) -> Self {
        if head_method {
            Asks::HeadOnly
        } else {
            Asks::Message
        }
    }
}

/// A request waiting for its response, with the count of holes in the
/// server's direction when it was made (`Direction::holes`).
#[derive(Debug)]
enum Pending {
    /// `count` consecutive requests that are not upgrade attempts, made with
    /// no hole between them.
    Plain {
        count: u32,
        asks: Asks,
        holes: u32,
    },
    Attempt(Box<Attempt>, u32),
    /// An Engine.IO polling handshake: its answer's sid is reported.
    EngineIoHandshake(u32),
}

impl Pending {
    fn holes_before(&self) -> u32 {
        match self {
            Pending::Plain { holes, .. } => *holes,
            Pending::Attempt(_, h) | Pending::EngineIoHandshake(h) => *h,
        }
    }
}

/// The HTTP view of one connection; the flow table's per-flow state.
#[derive(Debug, Default)]
pub struct Conversation {
    dirs: BySide<Direction>,
    pending: VecDeque<Pending>,
    pending_attempts: usize,
    requests_seen: u32,
    /// Set once a 101 switched protocols: both directions stop being buffered.
    upgraded: bool,
    /// A gap was seen since the last response: pairing may be off.
    gap: bool,
    /// The accepted attempt being watched for a close right after its 101
    /// (boxed: rare, and every idle flow would otherwise carry its size).
    watch: Option<Box<Watch>>,
    /// The accepted session followed to its end (`--sessions`).
    session: Option<Box<Session>>,
    /// The connection turned out to be TLS or HTTP/2, for the owner to
    /// hand over (boxed: rare).
    handover: Option<Box<Handover>>,
    /// The PROXY protocol header the client's first bytes were, given to
    /// each attempt on the connection (boxed: rare).
    proxy_header: Option<Box<ProxyHeader>>,
}

/// Requests waiting for their answers that are remembered one by one. Runs
/// of plain requests are counted in one entry, but HEAD requests (whose
/// answers have no body) and Engine.IO handshakes (whose answers are read)
/// take one each: a peer pipelining those without reading answers would
/// otherwise grow the queue without bound. Past this, they are counted with
/// their neighbours and the pairing is marked as uncertain.
const MAX_PENDING_ENTRIES: usize = 1024;

/// Header values of a pending attempt kept when memory is shed: enough for
/// every check the classifier makes on keys, versions and tokens.
const SHED_VALUE_LEN: usize = 256;

impl FlowState for Conversation {
    /// Head buffers plus the attempts waiting for an answer (their owned
    /// heads), so a peer pipelining huge upgrade requests is held to the
    /// table's memory budget too.
    fn buffered_bytes(&self) -> usize {
        let heads: usize = self.dirs.iter().map(|d| d.buf.capacity()).sum();
        // Asked after every packet: the queue is walked only when it holds
        // an attempt (the plain requests it holds own no bytes).
        if self.pending_attempts == 0 {
            return heads;
        }
        let pending: usize = self
            .pending
            .iter()
            .map(|p| match p {
                Pending::Attempt(a, _) => a.heap_bytes(),
                Pending::Plain { .. } | Pending::EngineIoHandshake(_) => 0,
            })
            .sum();
        heads + pending
    }

    /// Free what can be freed without losing an attempt: partial heads are
    /// dropped (the direction resynchronises) and the long header values of
    /// waiting attempts are cut (their lengths stay in the head size).
    fn shed(&mut self) -> usize {
        let before = self.buffered_bytes();
        for d in self.dirs.iter_mut() {
            if !d.buf.is_empty() {
                d.set_buf(Vec::new());
                d.state = State::Resync;
            }
        }
        for p in self.pending.iter_mut() {
            if let Pending::Attempt(a, _) = p {
                // Still this connection's own (not yet reported): no copy.
                std::sync::Arc::make_mut(&mut a.request)
                    .headers
                    .cut_values(SHED_VALUE_LEN);
            }
        }
        before.saturating_sub(self.buffered_bytes())
    }
}

/// A connection whose client spoke TLS: the client leg of a TLS-terminating
/// proxy, if a plain backend request follows from the proxy's address. Or,
/// with `h2c`, one whose client opened with the HTTP/2 preface: a proxy's
/// backend leg in HTTP/2, where no HTTP/1.1 upgrade can happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSighting {
    pub ts: Timestamp,
    /// The packet that showed it: orders it among events stamped alike.
    pub no: u64,
    pub client: Endpoint,
    pub server: Endpoint,
    /// What the ClientHello said, when it came whole in the first bytes.
    pub hello: Option<Box<TlsInfo>>,
    pub h2c: bool,
    /// Not the hello but the client's first application data, in the
    /// connection its hello was sighted in (see `Secure::watch_client`).
    pub data: bool,
}

/// What a connection that is not HTTP/1.x carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoverKind {
    /// The client's first bytes are a TLS handshake record.
    Tls,
    /// The client's first bytes are the HTTP/2 preface (prior knowledge).
    H2,
    /// The server answered an `Upgrade: h2c` request with 101 (RFC 7540
    /// §3.2): HTTP/2 from the server's next byte and the client's preface.
    H2Upgrade,
    /// The capture began mid-connection and the first bytes seen are HTTP/2
    /// frames (see `h2::sniff`).
    H2MidConnection,
    /// A CONNECT was answered 2xx: a new conversation starts from both
    /// directions' next bytes, which may be HTTP/1.1, TLS or HTTP/2 again.
    Tunnel,
}

/// The connection turned out not to be HTTP/1.x: what it is, and the bytes
/// `from` sent that the layer reads first (the client's from the first, or
/// the server's after its 101).
#[derive(Debug)]
pub struct Handover {
    pub kind: HandoverKind,
    pub client: Side,
    pub from: Side,
    pub bytes: Vec<u8>,
    pub ts: Timestamp,
    /// Each direction's (sender, receiver), as far as known.
    pub ends: BySide<Option<(Endpoint, Endpoint)>>,
}

/// What a call into the conversation produced.
pub struct Sink<'a> {
    /// Boxed: attempts are handed from stage to stage, and a box moves as
    /// a pointer.
    #[allow(clippy::vec_box)]
    pub attempts: &'a mut Vec<Box<Attempt>>,
    pub tls: &'a mut Vec<TlsSighting>,
    pub sids: &'a mut Vec<SidIssued>,
    /// Abnormal ends of upgraded sessions (`--sessions`).
    pub sessions: &'a mut Vec<SessionEnd>,
    pub stats: &'a mut HttpStats,
    pub limits: &'a HttpLimits,
    /// Global number of the packet being processed.
    pub packet_no: u64,
}

impl Conversation {
    /// Record the endpoints of direction `d` (sender, receiver) and whether it
    /// began with a SYN (a stream seen from its start is parsed from byte 0; one
    /// picked up mid-way is searched for a message start first).
    pub fn note_packet(&mut self, d: Side, src: &Endpoint, dst: &Endpoint, syn: bool, ack: bool) {
        let dir = &mut self.dirs[d];
        if dir.ends.is_none() {
            dir.ends = Some((*src, *dst));
            if !syn && matches!(dir.state, State::Head) && dir.role == Role::Unknown {
                dir.state = State::Resync;
            }
        }
        if syn {
            // The SYN without ACK comes from the client.
            if !ack && self.dirs[d].role == Role::Unknown {
                self.dirs[d].role = Role::Requests;
                self.dirs[d].state = State::Head;
                if self.dirs[d.other()].role == Role::Unknown {
                    self.dirs[d.other()].role = Role::Responses;
                }
            } else if ack && self.dirs[d].role == Role::Unknown {
                self.dirs[d].role = Role::Responses;
                self.dirs[d].state = State::Head;
            }
        }
    }

    /// The conversation inside a tunnel that `h` opened: both directions
    /// start at their next byte, as on a connection seen from its SYN, with
    /// the roles and endpoints of the connection that carries them.
    pub fn in_tunnel(h: &Handover) -> Conversation {
        let mut c = Conversation::default();
        let server = h.client.other();
        let ends = |d: Side| {
            h.ends[d]
                .or_else(|| h.ends[d.other()].map(|(a, b)| (b, a)))
                .unwrap_or((unknown_endpoint(), unknown_endpoint()))
        };
        let (client_ends, server_ends) = (ends(h.client), ends(server));
        c.note_packet(h.client, &client_ends.0, &client_ends.1, true, false);
        c.note_packet(server, &server_ends.0, &server_ends.1, true, true);
        c
    }

    /// What the connection turned out to be, once, when it is not HTTP/1.x:
    /// nothing more is read here.
    pub fn take_handover(&mut self) -> Option<Box<Handover>> {
        self.handover.take()
    }

    /// After a 101 nothing more is parsed; the caller stops buffering the flow.
    pub fn is_upgraded(&self) -> bool {
        self.upgraded
    }

    /// A packet of direction `d` carried bytes: while an accepted attempt is
    /// watched, the client's mark that it spoke after the 101 (its stream is
    /// no longer read, so the packet is all there is to go by).
    pub fn note_data(&mut self, d: Side) {
        if let Some(w) = self.watch.as_mut() {
            if self.dirs[d].role == Role::Requests {
                w.client_spoke = true;
            }
        }
    }

    /// Whether direction `d` still needs its bytes (the server's first frames
    /// while an accepted attempt is watched).
    pub fn wants_bytes(&self, d: Side) -> bool {
        !self.upgraded
            || matches!(self.dirs[d].state, State::Frames)
            || self.session.as_ref().is_some_and(|s| s.wants_bytes())
    }

    /// The deadline of a watch that just started, once, for the caller's timer.
    pub fn take_new_watch(&mut self) -> Option<Timestamp> {
        let w = self.watch.as_mut()?;
        if w.new {
            w.new = false;
            Some(w.deadline)
        } else {
            None
        }
    }

    /// End the watch if its time is up at packet time `now`.
    pub fn release_watch(&mut self, now: Timestamp, out: &mut Sink<'_>) {
        if self.watch.as_ref().is_some_and(|w| w.deadline <= now) {
            self.end_watch(None, false, now, out);
        }
    }

    /// End the watch on an HTTP response written after the 101.
    fn end_watch_http(&mut self, bytes: Vec<u8>, ts: Timestamp, out: &mut Sink<'_>) {
        if let Some(w) = self.watch.as_mut() {
            w.attempt.after_upgrade = Some(AfterUpgrade {
                server_http: Some(bytes),
                after_secs: Some(ts.secs_since(w.since)),
                ..AfterUpgrade::default()
            });
        }
        self.end_watch(None, false, ts, out);
    }

    fn end_watch(
        &mut self,
        close: Option<(u16, String)>,
        reset: bool,
        ts: Timestamp,
        out: &mut Sink<'_>,
    ) {
        let Some(w) = self.watch.take() else { return };
        let mut a = w.attempt;
        if close.is_some() || reset {
            // Reported as a refusal after the handshake, not as a session.
            self.session = None;
            a.after_upgrade = Some(AfterUpgrade {
                server_close: close,
                after_secs: Some(ts.secs_since(w.since)),
                server_reset: reset,
                server_http: None,
                client_spoke: w.client_spoke,
            });
        }
        a.completed_at = out.packet_no;
        out.attempts.push(a);
        for dir in self.dirs.iter_mut() {
            if matches!(dir.state, State::Frames) {
                dir.state = State::Done;
            }
        }
    }

    /// Both directions are finished (FIN both ways, or nothing left to parse)
    /// and no attempt waits: the flow can be dropped.
    /// A request waits for its answer or its answer's body (an HTTP/1.0
    /// answer ends only with the connection), an accepted attempt is
    /// watched or followed, or a head is half read: losing the connection
    /// now would lose an attempt or its outcome.
    pub fn at_stake(&self) -> bool {
        self.pending_attempts > 0
            || self.watch.is_some()
            || self.session.is_some()
            || self.dirs.iter().any(Direction::mid_attempt)
    }

    pub fn is_finished(&self) -> bool {
        self.dirs.iter().all(|d| d.fin) && self.pending_attempts == 0 && self.watch.is_none()
    }

    /// Upgraded, its attempt reported, no session followed: nothing the
    /// connection carries from here on changes what is reported, and only
    /// its FINs (by side) are left to know, to end it.
    pub fn settled(&self) -> Option<BySide<bool>> {
        let settled = self.upgraded
            && self.watch.is_none()
            && self.session.is_none()
            && self.pending_attempts == 0
            && self.pending.is_empty()
            && self.dirs.iter().all(|d| matches!(d.state, State::Done));
        settled.then(|| BySide([self.dirs[Side::Lo].fin, self.dirs[Side::Hi].fin]))
    }

    /// Feed one in-order chunk of direction `d`.
    pub fn on_chunk(&mut self, d: Side, chunk: Chunk<'_>, ts: Timestamp, out: &mut Sink<'_>) {
        match chunk {
            Chunk::Data(data) => self.on_data(d, data, ts, out),
            Chunk::Gap(n) => self.on_gap(d, n, out),
            Chunk::Fin => self.on_fin(d, ts, out),
        }
    }

    fn on_gap(&mut self, d: Side, n: u64, out: &mut Sink<'_>) {
        if let Some(s) = self.session.as_mut() {
            s.on_gap(d);
        }
        if self.is_server(d) {
            for p in self.pending.iter_mut() {
                if let Pending::Attempt(a, _) = p {
                    a.answer_lost = true;
                }
            }
        }
        let dir = &mut self.dirs[d];
        // Lost bytes inside a body whose framing says where it ends: the
        // next head is found there, as a receiver that got them would. A
        // search for the next head instead would read the body's text
        // (which may quote a whole request) as messages.
        if let State::Body { reader, .. } = &mut dir.state {
            if reader.skip_lost(n) {
                out.stats.gaps_in_bodies += 1;
                self.after_body_bytes(d, out);
                return;
            }
        }
        dir.holes = dir.holes.saturating_add(1);
        self.head_cut_by_hole(d, n, out);
        let dir = &mut self.dirs[d];
        dir.set_buf(Vec::new());
        self.gap = true;
        if let State::Body { attempt, reader } = &mut dir.state {
            emit_with_body(attempt, reader, out);
        }
        if !matches!(dir.state, State::Done) {
            dir.state = State::Resync;
            out.stats.resyncs += 1;
        }
    }

    /// A hole where a head was being read, or was to start. The message is
    /// lost, but not its place: the answer to a lost request, or a cut
    /// response's answer to its own request, must not be paired with the
    /// next request. And when the lines that came declare a body, the head
    /// ends in the hole or after it and that body follows, so no message
    /// starts in as many bytes after the hole, less the lost ones: a search
    /// there would read the body's text (which may quote a whole message)
    /// as messages. The head buffer is left for the caller to drop.
    fn head_cut_by_hole(&mut self, d: Side, n: u64, out: &mut Sink<'_>) {
        let dir = &self.dirs[d];
        let lost_request = match &dir.state {
            // A hole where a request was to start, in a direction known to
            // send requests, large enough to hold one: a request was lost
            // whole (a keep-alive probe or a stray byte is far shorter).
            State::Head if dir.role == Role::Requests && dir.buf.is_empty() => {
                (n >= SHORTEST_REQUEST).then_some(CutRequest {
                    head_method: false,
                    body: 0,
                })
            }
            State::Head if dir.role != Role::Responses => cut_request(&dir.buf),
            _ => None,
        };
        // A response whose status line came whole answers its request, with
        // the header lines that came.
        let answer = match &dir.state {
            State::Head if dir.role != Role::Requests => cut_response(&dir.buf),
            _ => None,
        };
        // A hole while searching: the lost bytes count toward the skip.
        let mut body = match &dir.state {
            State::Resync => dir.resync_skip,
            _ => 0,
        };
        if let Some(c) = lost_request {
            out.stats.heads_cut_by_holes += 1;
            self.requests_seen += 1;
            self.queue_plain(d, Asks::head_only(c.head_method));
            body = c.body;
        }
        if let Some(head) = answer {
            out.stats.heads_cut_by_holes += 1;
            self.gap = true;
            // Whatever the parser makes of it, the bytes after the hole are
            // searched for the next head.
            let _ = self.parse_response_head(d, &head, out);
            if let State::Body { reader, .. } = &self.dirs[d].state {
                body = reader.length_left();
            }
        }
        self.dirs[d].resync_skip = body.saturating_sub(n);
    }

    /// A body read on (bytes seen or lost): its attempt is reported once the
    /// body ends or its excerpt is complete, an Engine.IO handshake's session
    /// id is noted, and the next head is looked for after a body's end.
    fn after_body_bytes(&mut self, d: Side, out: &mut Sink<'_>) {
        let dir = &mut self.dirs[d];
        let State::Body { reader, attempt } = &mut dir.state else {
            return;
        };
        let finished = reader.is_done();
        let malformed = reader.malformed;
        if attempt.is_some() && (finished || reader.excerpt_full()) {
            emit_with_body(attempt, reader, out);
        }
        if dir.engine_io_body && (finished || reader.excerpt_full()) {
            dir.engine_io_body = false;
            let sid = reader
                .take_excerpt()
                .and_then(|b| engine_io::sid_in_handshake(&b));
            if let (Some(sid), Some((server, client))) = (sid, dir.ends) {
                out.sids.push(SidIssued {
                    ts: dir.msg_ts,
                    client,
                    server,
                    sid,
                });
            }
        }
        if finished {
            dir.state = if malformed {
                out.stats.resyncs += 1;
                State::Resync
            } else {
                State::Head
            };
        }
    }

    /// Whether direction `d` is the server's: it sends responses, or the
    /// other one sends requests.
    fn is_server(&self, d: Side) -> bool {
        self.dirs[d].role == Role::Responses
            || (self.dirs[d].role == Role::Unknown && self.dirs[d.other()].role == Role::Requests)
    }

    fn on_fin(&mut self, d: Side, ts: Timestamp, out: &mut Sink<'_>) {
        self.dirs[d].fin = true;
        let is_server = self.is_server(d);
        if let State::Body { reader, attempt } = &mut self.dirs[d].state {
            emit_with_body(attempt, reader, out);
            self.dirs[d].state = State::Head;
        }
        if is_server {
            self.end_watch(None, false, ts, out);
            let ending = if self.dirs[d.other()].fin {
                Ending::ClientClosed
            } else {
                Ending::ServerClosed
            };
            self.fail_pending(ending, Some(ts), out);
        }
        self.end_session(d, false, ts, out);
    }

    /// Report the followed session's end, if it was abnormal.
    fn end_session(&mut self, d: Side, reset: bool, ts: Timestamp, out: &mut Sink<'_>) {
        if let Some(end) = self
            .session
            .as_mut()
            .and_then(|s| s.on_close(d, reset, ts, out.packet_no))
        {
            out.sessions.push(end);
        }
    }

    /// The connection was reset by direction `d`'s sender.
    pub fn on_reset(&mut self, d: Side, ts: Timestamp, out: &mut Sink<'_>) {
        let by_server = self.dirs[d].role == Role::Responses;
        if self.watch.is_some() {
            let within = self.watch.as_ref().is_some_and(|w| ts - w.since <= WATCH);
            self.end_watch(None, by_server && within, ts, out);
        }
        self.end_session(d, true, ts, out);
        for dir in self.dirs.iter_mut() {
            dir.fin = true;
            if let State::Body { reader, attempt } = &mut dir.state {
                emit_with_body(attempt, reader, out);
            }
            dir.state = State::Done;
        }
        self.fail_pending(Ending::Reset { by_server }, Some(ts), out);
    }

    /// The flow leaves the table (capture end, idle expiry, eviction): whatever
    /// still waits is reported with that ending.
    pub fn finish(&mut self, ending: Ending, out: &mut Sink<'_>) {
        if let Some(since) = self.watch.as_ref().map(|w| w.since) {
            self.end_watch(None, false, since, out);
        }
        for dir in self.dirs.iter_mut() {
            if let State::Body { reader, attempt } = &mut dir.state {
                emit_with_body(attempt, reader, out);
            }
            dir.state = State::Done;
        }
        self.fail_pending(ending, None, out);
    }

    fn fail_pending(&mut self, ending: Ending, ts: Option<Timestamp>, out: &mut Sink<'_>) {
        for p in self.pending.drain(..) {
            if let Pending::Attempt(mut a, _) = p {
                // A client that half-closes right after its request (a
                // script piping into nc) is done sending, not giving up.
                a.ending = match (ending, ts) {
                    (Ending::ClientClosed, Some(t)) if t.secs_since(a.ts) < GAVE_UP_AFTER => {
                        Ending::ServerClosed
                    }
                    _ => ending,
                };
                a.ended_ts = ts;
                a.completed_at = out.packet_no;
                out.attempts.push(a);
            }
        }
        self.pending_attempts = 0;
    }

    fn on_data(&mut self, d: Side, mut data: &[u8], ts: Timestamp, out: &mut Sink<'_>) {
        while !data.is_empty() {
            let dir = &mut self.dirs[d];
            if dir.resync_skip > 0 && matches!(dir.state, State::Resync) {
                let n = dir.resync_skip.min(data.len() as u64);
                dir.resync_skip -= n;
                data = &data[n as usize..];
                continue;
            }
            // Past the cases below that look at a direction's first bytes.
            let searching = matches!(dir.state, State::Resync)
                && dir.buf.is_empty()
                && !dir.spoke_http
                && (dir.role != Role::Unknown || dir.read_any);
            if searching && self.frames_joined(d, data, out) {
                return;
            }
            let dir = &mut self.dirs[d];
            match &mut dir.state {
                State::Done => {
                    if let Some(s) = self.session.as_mut() {
                        s.on_data(d, data, ts);
                    }
                    return;
                }
                State::Frames => {
                    if let Some(s) = self.session.as_mut() {
                        s.on_data(d, data, ts);
                    }
                    // Frames after the watch's time (the connection was quiet
                    // until now) belong to the session, not to the handshake.
                    if self.watch.as_ref().is_some_and(|w| ts - w.since > WATCH) {
                        self.end_watch(None, false, ts, out);
                        return;
                    }
                    let result = match self.watch.as_mut() {
                        Some(w) => w.scan(data),
                        None => Scan::GiveUp,
                    };
                    match result {
                        Scan::More => {}
                        Scan::Close(code, reason) => {
                            self.end_watch(Some((code, reason)), false, ts, out)
                        }
                        Scan::Http(bytes) => self.end_watch_http(bytes, ts, out),
                        Scan::GiveUp => self.end_watch(None, false, ts, out),
                    }
                    return;
                }
                State::Resync if !dir.buf.is_empty() => {
                    // A start line cut by the end of the last chunk: search it
                    // joined with what follows.
                    let carried = std::mem::take(&mut dir.buf);
                    let mut joined = carried.clone();
                    joined.extend_from_slice(&data[..data.len().min(MAX_START_LINE)]);
                    match find_message_start(&joined, dir.role) {
                        Some(i) if i < carried.len() => {
                            // The message began in the carried bytes (at the
                            // time kept with them): parse on as a split head.
                            dir.set_buf(carried[i..].to_vec());
                            dir.state = State::Head;
                        }
                        Some(i) => {
                            data = &data[i - carried.len()..];
                            dir.state = State::Head;
                        }
                        None => {
                            if memchr::memchr(b'\n', data).is_some() {
                                keep_cut_start_line(dir, data, ts);
                            } else {
                                let since = dir.msg_ts;
                                keep_cut_start_line(dir, &joined, since);
                            }
                            return;
                        }
                    }
                }
                State::Resync if dir.role == Role::Unknown && !dir.spoke_http && !dir.read_any => {
                    // The capture began mid-connection: HTTP/2 shows no
                    // preface then, only frames.
                    dir.read_any = true;
                    if let Some(sniffed) = crate::h2::sniff::mid_connection(data) {
                        dir.state = State::Done;
                        dir.msg_ts = ts;
                        let client = match sniffed.client {
                            Some(true) => d,
                            Some(false) => d.other(),
                            None => self.ephemeral_side(d),
                        };
                        self.hand_over(HandoverKind::H2MidConnection, client, d, data);
                        return;
                    }
                    // Or the connection's start after all, behind a PROXY
                    // protocol header (whose version 2 no search for a
                    // request line would see past).
                    if self.proxy_header.is_none() {
                        if let proxy_protocol::Found::Header(h, n) = proxy_protocol::parse(data) {
                            self.opened_with(d, h, out);
                            self.dirs[d].state = State::Head;
                            data = &data[n..];
                            continue;
                        }
                    }
                }
                State::Resync => match find_message_start(data, dir.role) {
                    Some(i) => {
                        data = &data[i..];
                        dir.state = State::Head;
                    }
                    None => {
                        if dir.role == Role::Unknown && looks_like_tls(data) {
                            dir.state = State::Done;
                            out.stats.non_http_directions += 1;
                        } else {
                            keep_cut_start_line(dir, data, ts);
                        }
                        return;
                    }
                },
                State::Body { reader, .. } => {
                    let used = reader.consume(data);
                    data = &data[used..];
                    self.after_body_bytes(d, out);
                }
                State::Head => {
                    if dir.buf.is_empty() {
                        dir.msg_ts = ts;
                        match self.parse_head(d, data, out) {
                            Step::Consumed(n) => data = &data[n..],
                            Step::NeedMore => {
                                let dir = &mut self.dirs[d];
                                if data.len() > out.limits.max_head {
                                    self.head_too_large(d, data, out);
                                    return;
                                }
                                dir.buf.extend_from_slice(data);
                                return;
                            }
                            Step::Stop => return,
                        }
                    } else {
                        let prev = dir.buf.len();
                        let room = (out.limits.max_head + 1).saturating_sub(prev);
                        let take = room.min(data.len());
                        dir.buf.extend_from_slice(&data[..take]);
                        if dir.still_unended(prev, out.limits.max_head) {
                            return;
                        }
                        let buf = std::mem::take(&mut self.dirs[d].buf);
                        match self.parse_head(d, &buf, out) {
                            Step::Consumed(n) => {
                                // The head ends inside the bytes just appended.
                                data = &data[n.saturating_sub(prev).min(data.len())..];
                            }
                            Step::NeedMore => {
                                if buf.len() > out.limits.max_head {
                                    self.head_too_large(d, &buf, out);
                                    return;
                                }
                                self.dirs[d].buf = buf;
                                return;
                            }
                            Step::Stop => {
                                // A layer taking over reads what was not
                                // looked at as well.
                                if let Some(h) = &mut self.handover {
                                    h.bytes.extend_from_slice(&data[take..]);
                                }
                                return;
                            }
                        }
                    }
                }
            }
        }
    }

    /// A head larger than the limit. A request that looks like an upgrade
    /// attempt is still reported (with the headers that fit), since "header too
    /// large" is one of the refusals users need explained.
    fn head_too_large(&mut self, d: Side, bytes: &[u8], out: &mut Sink<'_>) {
        out.stats.heads_too_large += 1;
        let dir = &mut self.dirs[d];
        dir.set_buf(Vec::new());
        dir.state = State::Resync;
        let is_request = dir.role != Role::Responses && !bytes.starts_with(b"HTTP/");
        if is_request {
            self.requests_seen += 1;
            if let Some(req) = lenient_request(bytes, out.limits.max_head) {
                let idx = self.requests_seen - 1;
                self.queue_attempt(d, req, idx, out);
            } else {
                self.queue_plain(d, Asks::Message);
            }
        }
    }

    /// The side that is more likely the client when nothing else tells:
    /// the one sending from the higher port (clients take ephemeral ports),
    /// else `d`.
    fn ephemeral_side(&self, d: Side) -> Side {
        match self.dirs[d].ends {
            Some((src, dst)) if dst.port > src.port => d.other(),
            _ => d,
        }
    }

    fn hand_over(&mut self, kind: HandoverKind, client: Side, from: Side, bytes: &[u8]) {
        self.handover = Some(Box::new(Handover {
            kind,
            client,
            from,
            bytes: bytes.to_vec(),
            ts: self.dirs[from].msg_ts,
            ends: BySide([self.dirs[Side::Lo].ends, self.dirs[Side::Hi].ends]),
        }));
    }

    fn parse_head(&mut self, d: Side, buf: &[u8], out: &mut Sink<'_>) -> Step {
        let dir = &mut self.dirs[d];
        dir.unended_len = 0;
        if buf.len() < 5 && dir.role == Role::Unknown {
            return Step::NeedMore;
        }
        if !dir.spoke_http && looks_like_tls(buf) {
            // TLS from the first byte: nothing to parse here, ever.
            dir.state = State::Done;
            dir.set_buf(Vec::new());
            out.stats.non_http_directions += 1;
            if dir.role != Role::Responses && buf.first() == Some(&0x16) {
                // From here on a TLS layer reads both directions.
                self.hand_over(HandoverKind::Tls, d, d, buf);
            }
            return Step::Stop;
        }
        if !dir.spoke_http && dir.role != Role::Responses && preface_so_far(buf) {
            return Step::NeedMore;
        }
        if !dir.spoke_http && dir.role != Role::Responses && starts_h2_preface(buf) {
            // HTTP/2 with prior knowledge (RFC 9113 §3.3), in clear or
            // decrypted: an HTTP/2 reader takes both directions.
            dir.state = State::Done;
            self.hand_over(HandoverKind::H2, d, d, buf);
            return Step::Stop;
        }
        if !dir.spoke_http && dir.role == Role::Responses && self.requests_seen == 0 {
            // The server's preface (RFC 9113 §3.4) may come before the
            // client's: a server that knows the connection is HTTP/2 (ALPN
            // under TLS, a port of prior knowledge) sends its SETTINGS as
            // soon as it is connected, and browsers' preface often follows.
            match server_preface(buf) {
                Preface::No => {}
                Preface::SoFar => return Step::NeedMore,
                Preface::Yes => {
                    dir.state = State::Done;
                    self.hand_over(HandoverKind::H2, d.other(), d, buf);
                    return Step::Stop;
                }
            }
        }
        let response = match dir.role {
            Role::Responses => true,
            Role::Requests => false,
            Role::Unknown => buf.starts_with(b"HTTP/"),
        };
        // A load balancer's PROXY protocol header comes before a
        // connection's first request; read as HTTP it would cost the
        // direction its place (or, with no SYN seen, the connection).
        if !response && !dir.spoke_http && self.requests_seen == 0 && self.proxy_header.is_none() {
            match proxy_protocol::parse(buf) {
                proxy_protocol::Found::No => {}
                proxy_protocol::Found::Partial => return Step::NeedMore,
                proxy_protocol::Found::Header(h, n) => {
                    self.opened_with(d, h, out);
                    return Step::Consumed(n);
                }
            }
        }
        if response {
            self.parse_response_head(d, buf, out)
        } else {
            self.parse_request_head(d, buf, out)
        }
    }

    fn parse_request_head(&mut self, d: Side, buf: &[u8], out: &mut Sink<'_>) -> Step {
        match head::parse_request(buf) {
            Parsed::Partial => {
                self.dirs[d].note_unended(buf);
                Step::NeedMore
            }
            // More header lines than the parser holds: a head too large for the
            // analyzer, read leniently (an attempt among them is still reported),
            // once it is complete or past the head limit.
            Parsed::Invalid(head::TOO_MANY_HEADERS) => {
                match memchr::memmem::find(buf, b"\r\n\r\n") {
                    Some(end) => {
                        self.head_too_large(d, &buf[..end + 4], out);
                        self.dirs[d].role = Role::Requests;
                        self.dirs[d].state = State::Head;
                        Step::Consumed(end + 4)
                    }
                    None => {
                        self.dirs[d].note_unended(buf);
                        Step::NeedMore
                    }
                }
            }
            Parsed::Invalid(_) => self.not_http(d, out),
            Parsed::Complete((peek, owned), n) => {
                let dir = &mut self.dirs[d];
                dir.role = Role::Requests;
                dir.spoke_http = true;
                out.stats.requests += 1;
                self.requests_seen += 1;
                let idx = self.requests_seen - 1;
                match owned {
                    Some(req) => self.queue_attempt(d, req, idx, out),
                    None if peek.engine_io_handshake
                        && self.pending.len() < MAX_PENDING_ENTRIES =>
                    {
                        let holes = self.dirs[d.other()].holes;
                        self.pending.push_back(Pending::EngineIoHandshake(holes))
                    }
                    None if peek.is_connect => self.queue_plain(d, Asks::Tunnel),
                    None => self.queue_plain(d, Asks::head_only(peek.is_head)),
                }
                let dir = &mut self.dirs[d];
                dir.state = if peek.chunked {
                    State::Body {
                        reader: BodyReader::chunked(false),
                        attempt: None,
                    }
                } else {
                    match peek.content_length {
                        Some(len) if len > 0 => State::Body {
                            reader: BodyReader::length(len, false),
                            attempt: None,
                        },
                        _ => State::Head,
                    }
                };
                Step::Consumed(n)
            }
        }
    }

    /// A direction that never spoke HTTP here, whose chunks are whole
    /// WebSocket frames: a WebSocket connection the capture joined after its
    /// upgrade (a live capture started on a busy server holds thousands).
    /// Such a chunk holds no HTTP message to search for; after two in a row
    /// the connection is taken for what it is and settles like one
    /// upgraded before the capture's eyes, passed over from then on. A
    /// connection that is still HTTP (a body joined in its middle) would
    /// have to chain whole frames twice by accident.
    fn frames_joined(&mut self, d: Side, data: &[u8], out: &mut Sink<'_>) -> bool {
        let dir = &mut self.dirs[d];
        if !ws_frame::whole_frames(data) {
            dir.frame_chunks = 0;
            return false;
        }
        dir.frame_chunks = dir.frame_chunks.saturating_add(1);
        if dir.frame_chunks >= 2 && self.pending.is_empty() && !self.upgraded {
            self.upgraded = true;
            for dir in self.dirs.iter_mut() {
                dir.set_buf(Vec::new());
                dir.state = State::Done;
            }
            out.stats.websockets_joined += 1;
        }
        true
    }

    /// The client's first bytes, `d`'s, were this PROXY protocol header.
    fn opened_with(&mut self, d: Side, h: ProxyHeader, out: &mut Sink<'_>) {
        self.dirs[d].role = Role::Requests;
        self.proxy_header = Some(Box::new(h));
        out.stats.proxy_headers += 1;
    }

    fn queue_plain(&mut self, d: Side, asks: Asks) {
        let full = self.pending.len() >= MAX_PENDING_ENTRIES;
        let holes = self.dirs[d.other()].holes;
        if let Some(Pending::Plain {
            count,
            asks: back_asks,
            holes: back_holes,
        }) = self.pending.back_mut()
        {
            let alike = asks == Asks::Message && *back_asks == Asks::Message;
            if (alike && *back_holes == holes) || full {
                if asks != *back_asks {
                    // A HEAD or CONNECT merged with others (or the reverse):
                    // its answer may be misread, so pairing may be off.
                    self.gap = true;
                    *back_asks = Asks::Message;
                }
                *count = count.saturating_add(1);
                return;
            }
        }
        self.pending.push_back(Pending::Plain {
            count: 1,
            asks,
            holes,
        });
    }

    fn queue_attempt(&mut self, d: Side, req: RequestHead, idx: u32, out: &mut Sink<'_>) {
        if self.pending_attempts >= out.limits.max_pending_attempts {
            out.stats.attempts_dropped += 1;
            self.queue_plain(d, Asks::Message);
            return;
        }
        let dir = &self.dirs[d];
        let (client, server) = dir.ends.unwrap_or((unknown_endpoint(), unknown_endpoint()));
        let attempt = Attempt {
            ts: dir.msg_ts,
            client,
            server,
            request: req.into(),
            interim: Vec::new(),
            response: None,
            response_ts: None,
            ended_ts: None,
            body_excerpt: None,
            ending: Ending::Answered,
            request_index: idx,
            gap_before_answer: self.gap,
            answer_lost: false,
            after_upgrade: None,
            completed_at: 0,
            tls: None,
            h2: None,
            proxy_header: self.proxy_header.clone(),
            packets: PacketNumbers {
                request: out.packet_no,
                response: None,
            },
        };
        let holes = self.dirs[d.other()].holes;
        self.pending
            .push_back(Pending::Attempt(Box::new(attempt), holes));
        self.pending_attempts += 1;
    }

    /// How many waiting requests, from the oldest, had their answers lost
    /// from the capture. A request made after a hole in the server's
    /// direction that came after the request before it was made once that
    /// request's answer had been sent, by a client that waits for each
    /// answer (browsers and WebSocket clients do): the answer was in the
    /// hole, and the next answer is not its. Requests made with no hole
    /// between them (pipelined) keep their order.
    fn answers_lost(&self) -> usize {
        let mut holes = self.pending.iter().map(Pending::holes_before);
        let Some(mut before) = holes.next() else {
            return 0;
        };
        let mut lost = 0;
        for next in holes {
            if next <= before {
                break;
            }
            lost += 1;
            before = next;
        }
        lost
    }

    /// Report the `n` oldest waiting requests' attempts as answered in bytes
    /// the capture lost.
    fn fail_answers_lost(&mut self, n: usize, out: &mut Sink<'_>) {
        for _ in 0..n {
            if let Some(Pending::Attempt(mut a, _)) = self.pending.pop_front() {
                self.pending_attempts -= 1;
                a.ending = Ending::AnswerLost;
                a.answer_lost = true;
                a.completed_at = out.packet_no;
                out.attempts.push(a);
            }
        }
    }

    fn parse_response_head(&mut self, d: Side, buf: &[u8], out: &mut Sink<'_>) -> Step {
        let lost = self.answers_lost();
        let keep = matches!(self.pending.get(lost), Some(Pending::Attempt(..)));
        match head::parse_response(buf, keep) {
            Parsed::Partial => {
                self.dirs[d].note_unended(buf);
                Step::NeedMore
            }
            Parsed::Invalid(_) => self.not_http(d, out),
            Parsed::Complete((peek, owned), n) => {
                let ts = self.dirs[d].msg_ts;
                self.dirs[d].role = Role::Responses;
                self.dirs[d].spoke_http = true;
                out.stats.responses += 1;
                let status = peek.status;
                if (100..200).contains(&status) && status != 101 {
                    if let Some(Pending::Attempt(a, _)) = self.pending.get_mut(lost) {
                        a.interim.push(status);
                    }
                    return Step::Consumed(n);
                }
                self.fail_answers_lost(lost, out);
                let mut engine_io = false;
                let (asks, attempt) = match self.pending.pop_front() {
                    None => {
                        out.stats.unpaired_responses += 1;
                        (Asks::Message, None)
                    }
                    Some(Pending::Plain { count, asks, holes }) => {
                        if count > 1 {
                            self.pending.push_front(Pending::Plain {
                                count: count - 1,
                                asks,
                                holes,
                            });
                        }
                        (asks, None)
                    }
                    Some(Pending::EngineIoHandshake(_)) => {
                        engine_io = status == 200;
                        (Asks::Message, None)
                    }
                    Some(Pending::Attempt(mut a, _)) => {
                        self.pending_attempts -= 1;
                        a.response = owned;
                        a.response_ts = Some(ts);
                        a.packets.response = Some(out.packet_no);
                        a.ending = Ending::Answered;
                        a.gap_before_answer |= self.gap;
                        (Asks::Message, Some(a))
                    }
                };
                self.gap = false;
                if status == 101 {
                    out.stats.upgrades += 1;
                    self.upgraded = true;
                    for dir in self.dirs.iter_mut() {
                        dir.state = State::Done;
                        dir.set_buf(Vec::new());
                    }
                    self.fail_pending(Ending::Superseded, None, out);
                    if let Some(a) = attempt {
                        // Watch the server's first frames: a policy close right
                        // after the 101 is a refusal in disguise.
                        let since = a.response_ts.unwrap_or(ts);
                        if out.limits.sessions {
                            self.session = Some(Box::new(Session::new(a.clone(), d, since)));
                        }
                        self.watch = Some(Box::new(Watch {
                            attempt: a,
                            since,
                            deadline: since + WATCH,
                            buf: Vec::new(),
                            skip: 0,
                            scanned: 0,
                            new: true,
                            client_spoke: false,
                        }));
                        self.dirs[d].state = State::Frames;
                        // Frames may follow the 101 in the same segment.
                        return Step::Consumed(n);
                    }
                    if peek.upgrade_h2c {
                        // HTTP/2 follows on the same connection.
                        self.hand_over(HandoverKind::H2Upgrade, d.other(), d, &buf[n..]);
                    }
                    return Step::Stop;
                }
                if asks == Asks::Tunnel {
                    if (200..300).contains(&status) {
                        self.open_tunnel(d, &buf[n..], out);
                        return Step::Stop;
                    }
                    out.stats.tunnels_refused += 1;
                }
                let no_body = asks == Asks::HeadOnly || status == 204 || status == 304;
                let keep_excerpt = attempt.is_some() || engine_io;
                let reader = if no_body {
                    None
                } else if peek.chunked {
                    Some(BodyReader::chunked(keep_excerpt))
                } else {
                    match peek.content_length {
                        Some(0) => None,
                        Some(len) => Some(BodyReader::length(len, keep_excerpt)),
                        None => Some(BodyReader::until_close(keep_excerpt)),
                    }
                };
                let dir = &mut self.dirs[d];
                dir.engine_io_body = engine_io && reader.is_some();
                match reader {
                    None => {
                        if let Some(mut a) = attempt {
                            a.body_excerpt = None;
                            a.completed_at = out.packet_no;
                            out.attempts.push(a);
                        }
                        dir.state = State::Head;
                    }
                    Some(reader) => dir.state = State::Body { reader, attempt },
                }
                Step::Consumed(n)
            }
        }
    }

    /// A CONNECT was answered 2xx: what follows in both directions is a
    /// new conversation, handed to the owner with the server's bytes after
    /// the answer's head. Nothing more is read here; a request the client
    /// sent after the CONNECT without waiting for its answer was read as
    /// this connection's, and ends superseded.
    fn open_tunnel(&mut self, d: Side, after: &[u8], out: &mut Sink<'_>) {
        out.stats.tunnels += 1;
        for dir in self.dirs.iter_mut() {
            dir.state = State::Done;
            dir.set_buf(Vec::new());
        }
        self.fail_pending(Ending::Superseded, None, out);
        self.hand_over(HandoverKind::Tunnel, d.other(), d, after);
    }

    /// Bytes that do not parse as HTTP: a direction of unknown role is not HTTP
    /// at all (TLS, SSH…) and is given up; a known HTTP direction lost its place.
    fn not_http(&mut self, d: Side, out: &mut Sink<'_>) -> Step {
        let dir = &mut self.dirs[d];
        dir.set_buf(Vec::new());
        if dir.role == Role::Unknown {
            dir.state = State::Done;
            out.stats.non_http_directions += 1;
            Step::Stop
        } else {
            dir.state = State::Resync;
            out.stats.resyncs += 1;
            // Skip the byte that failed so the search moves on.
            Step::Consumed(1)
        }
    }
}

/// Report the attempt whose response body just ended (or was cut off), with
/// the excerpt of it kept so far.
fn emit_with_body(attempt: &mut Option<Box<Attempt>>, reader: &mut BodyReader, out: &mut Sink<'_>) {
    if let Some(mut a) = attempt.take() {
        a.body_excerpt = reader.take_excerpt();
        a.completed_at = out.packet_no;
        out.attempts.push(a);
    }
}

enum Step {
    Consumed(usize),
    NeedMore,
    Stop,
}

fn unknown_endpoint() -> Endpoint {
    Endpoint {
        ip: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        port: 0,
    }
}

/// The HTTP/2 client preface, or as much of it as has arrived (at least
/// enough to tell it from an HTTP/1.x request line).
fn starts_h2_preface(data: &[u8]) -> bool {
    let p = crate::h2::frame::PREFACE;
    let n = data.len().min(p.len());
    n >= 14 && data[..n] == p[..n]
}

/// What a server's first bytes say of HTTP/2.
#[derive(Debug, PartialEq, Eq)]
enum Preface {
    No,
    /// Too few bytes to tell.
    SoFar,
    Yes,
}

/// Whether a server's first bytes are HTTP/2's server preface: a SETTINGS
/// frame on stream 0, not an acknowledgement, of whole 6-byte settings.
/// An HTTP/1.x response starts with `HTTP/`, never with a zero byte.
fn server_preface(data: &[u8]) -> Preface {
    use crate::h2::frame::{HEADER_LEN, SETTINGS};
    // Length (its high byte 0: a preface holds a few settings), type,
    // flags, stream 0.
    let shape = |i: usize, b: u8| match i {
        0 | 4..=8 => b == 0,
        3 => b == SETTINGS,
        _ => true,
    };
    if !data
        .iter()
        .take(HEADER_LEN)
        .enumerate()
        .all(|(i, &b)| shape(i, b))
    {
        return Preface::No;
    }
    match crate::h2::frame::parse_header(data) {
        None => Preface::SoFar,
        Some(h) if h.len % 6 == 0 => Preface::Yes,
        Some(_) => Preface::No,
    }
}

/// Too few bytes yet to tell the HTTP/2 preface from an HTTP/1.x request.
fn preface_so_far(data: &[u8]) -> bool {
    let p = crate::h2::frame::PREFACE;
    data.len() < 14 && p.starts_with(data)
}

fn looks_like_tls(data: &[u8]) -> bool {
    matches!(data, [0x14..=0x17, 0x03, 0x00..=0x04, ..])
}

/// The searcher for the version that every HTTP/1.x start line holds, built
/// once: a resynchronising direction searches each chunk it reads, and on a
/// busy host most of them carry no HTTP at all (other protocols, bodies of
/// connections the capture caught in the middle). Built per call, the
/// searcher cost a third of what the search itself did.
static HTTP_VERSION: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"HTTP/1."));

/// The start of the next HTTP message in `data`: a request line
/// (`METHOD SP target SP HTTP/1.x`) or a status line (`HTTP/1.x SP ddd`) at the
/// start of a line.
fn find_message_start(data: &[u8], role: Role) -> Option<usize> {
    for pos in HTTP_VERSION.find_iter(data) {
        let line_start = memchr::memrchr(b'\n', &data[..pos]).map_or(0, |i| i + 1);
        if role != Role::Requests && pos == line_start {
            let rest = &data[pos..];
            if rest.len() < 12 || (rest[8] == b' ' && rest[9..12].iter().all(u8::is_ascii_digit)) {
                return Some(pos);
            }
        }
        if role != Role::Responses && pos > line_start {
            let line = &data[line_start..pos];
            if let Some(sp) = memchr::memchr(b' ', line) {
                if head::looks_like_method(&line[..sp]) && line.last() == Some(&b' ') {
                    return Some(line_start);
                }
            }
        }
    }
    None
}

/// Bytes of the shortest request a server answers (`GET / HTTP/1.0`, CRLF,
/// CRLF).
const SHORTEST_REQUEST: u64 = 18;

/// What the whole lines of a request head cut short by a hole say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CutRequest {
    head_method: bool,
    /// The body length they declare (0 when none, or none that is sure): a
    /// Content-Length, unless a Transfer-Encoding overrides it or an Expect
    /// lets the server refuse the body before it is sent. Lines the hole
    /// took may have said otherwise; only what the client had already sent
    /// is read.
    body: u64,
}

/// `None` unless `head` starts with a whole request line.
fn cut_request(head: &[u8]) -> Option<CutRequest> {
    let first_end = memchr::memchr(b'\n', head)?;
    if find_message_start(&head[..first_end + 1], Role::Requests) != Some(0) {
        return None;
    }
    let head_method = head.starts_with(b"HEAD ");
    // A line cut right after its CR is whole: no header value holds a CR.
    let whole = match head.last() {
        Some(b'\r') => &head[first_end + 1..],
        _ => &head[first_end + 1..memchr::memrchr(b'\n', head).unwrap_or(first_end) + 1],
    };
    let mut length = None;
    let unsure = Some(CutRequest {
        head_method,
        body: 0,
    });
    for line in whole.split(|&b| b == b'\n') {
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.eq_ignore_ascii_case(b"transfer-encoding") || name.eq_ignore_ascii_case(b"expect") {
            return unsure;
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            match (length, head::parse_decimal(value)) {
                (_, None) => return unsure,
                (Some(a), Some(b)) if a != b => return unsure,
                (_, b) => length = b,
            }
        }
    }
    Some(CutRequest {
        head_method,
        body: length.unwrap_or(0),
    })
}

/// A response head cut short by a hole, ended after its last whole line, when
/// its status line is whole and does not switch protocols (a 101 read from
/// part of its head would be judged on headers the hole may have taken).
fn cut_response(head: &[u8]) -> Option<Vec<u8>> {
    let last_end = memchr::memrchr(b'\n', head)?;
    if find_message_start(head, Role::Responses) != Some(0) || head.get(9..12) == Some(b"101") {
        return None;
    }
    let mut whole = head[..last_end + 1].to_vec();
    whole.extend_from_slice(b"\r\n");
    Some(whole)
}

/// Longest start line carried over to the next chunk while resynchronising:
/// real request lines are far shorter (servers refuse targets past 8 KiB), and
/// a flow of junk must not hold more than this.
const MAX_START_LINE: usize = 8192;

/// While resynchronising: keep the last line of `data` when it could be the
/// beginning of a start line cut by the end of the chunk (a capture that begins
/// inside a connection often begins inside a segment train), so the next chunk
/// completes it. `ts` is the time of its first byte.
fn keep_cut_start_line(dir: &mut Direction, data: &[u8], ts: Timestamp) {
    let from = memchr::memrchr(b'\n', data).map_or(0, |i| i + 1);
    let tail = &data[from..];
    if !could_start_message(tail, dir.role) {
        dir.set_buf(Vec::new());
        return;
    }
    dir.set_buf(tail.to_vec());
    dir.msg_ts = ts;
}

/// Whether `v` may be the first bytes of `HTTP/1.`.
fn prefix_of_version(v: &[u8]) -> bool {
    const VERSION: &[u8] = b"HTTP/1.";
    let n = v.len().min(VERSION.len());
    v[..n] == VERSION[..n]
}

/// Whether `t` (a line without its end) may be the first bytes of a request
/// line (`METHOD SP target SP HTTP/1.x`) or a status line (`HTTP/1.x SP ddd`).
fn could_start_message(t: &[u8], role: Role) -> bool {
    if t.is_empty() || t.len() > MAX_START_LINE {
        return false;
    }
    if role != Role::Requests && prefix_of_version(t) {
        return true;
    }
    role != Role::Responses && could_start_request(t)
}

/// Whether `t` may be the first bytes of a request line.
fn could_start_request(t: &[u8]) -> bool {
    // The method ends within its 16 bytes or the line is none: junk (the
    // common case while resynchronising) is told apart in a few bytes.
    let method_len = t
        .iter()
        .take(head::MAX_METHOD + 1)
        .position(|b| *b == b' ')
        .unwrap_or(t.len());
    if !head::looks_like_method(&t[..method_len]) {
        return false;
    }
    let mut parts = t
        .get(method_len + 1..)
        .unwrap_or_default()
        .splitn(2, |b| *b == b' ');
    let target_ok = parts
        .next()
        .is_none_or(|t| t.iter().all(u8::is_ascii_graphic));
    let version_ok = parts.next().is_none_or(prefix_of_version);
    target_ok && version_ok
}

/// Best-effort parse of a head too large for httparse's buffer limit: the
/// request line and whole header lines that fit. Kept only if it is an
/// upgrade attempt.
fn lenient_request(bytes: &[u8], max: usize) -> Option<RequestHead> {
    let bytes = &bytes[..bytes.len().min(max)];
    let mut lines = bytes.split(|b| *b == b'\n');
    let first = lines.next()?;
    let first = crate::text::lossy(first.strip_suffix(b"\r").unwrap_or(first));
    let mut parts = first.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let version = parts.next()?;
    let minor_version = if version.trim() == "HTTP/1.0" { 0 } else { 1 };
    let mut headers = head::HeaderList::new();
    let all: Vec<&[u8]> = lines.collect();
    // The last line may be cut mid-way; keep it (its value is what makes the head
    // too large) but mark the head as cut short.
    for line in all {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(colon) = memchr::memchr(b':', line) {
            let name = crate::text::lossy(&line[..colon]).trim().to_string();
            if name.is_empty() || name.contains(' ') {
                continue;
            }
            let mut v = &line[colon + 1..];
            while let [b' ' | b'\t', rest @ ..] = v {
                v = rest;
            }
            headers.push(&name, v);
        }
    }
    let req = RequestHead {
        method,
        target,
        minor_version,
        headers,
        head_len: bytes.len(),
        cut_short: true,
    };
    let ws = req.headers.iter().any(|h| {
        h.name.len() > 14 && h.name.as_bytes()[..14].eq_ignore_ascii_case(b"sec-websocket-")
    }) || req
        .header("upgrade")
        .is_some_and(|h| head::contains_token(h.value, b"websocket"));
    ws.then_some(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: Side = Side::Lo;
    const SERVER: Side = Side::Hi;

    fn ep(port: u16) -> Endpoint {
        Endpoint {
            ip: "127.0.0.1".parse().unwrap(),
            port,
        }
    }

    struct Harness {
        conv: super::super::Connection,
        #[allow(clippy::vec_box)]
        attempts: Vec<Box<Attempt>>,
        tls: Vec<TlsSighting>,
        sids: Vec<SidIssued>,
        sessions: Vec<SessionEnd>,
        stats: HttpStats,
        limits: HttpLimits,
    }

    impl Harness {
        fn new() -> Self {
            let mut conv = super::super::Connection::default();
            conv.note_packet(CLIENT, &ep(5000), &ep(80), flags(true, false, false));
            conv.note_packet(SERVER, &ep(80), &ep(5000), flags(true, true, false));
            Harness {
                conv,
                attempts: Vec::new(),
                tls: Vec::new(),
                sids: Vec::new(),
                sessions: Vec::new(),
                stats: HttpStats::default(),
                limits: HttpLimits::default(),
            }
        }
        /// Call into the conversation with a sink over the harness's outputs.
        fn with(&mut self, f: impl FnOnce(&mut super::super::Connection, &mut Sink<'_>)) {
            let mut sink = Sink {
                attempts: &mut self.attempts,
                tls: &mut self.tls,
                sids: &mut self.sids,
                sessions: &mut self.sessions,
                stats: &mut self.stats,
                limits: &self.limits,
                packet_no: 0,
            };
            f(&mut self.conv, &mut sink);
        }
        fn feed(&mut self, d: Side, data: &[u8]) {
            self.feed_at(d, data, Timestamp::new(1, 0));
        }
        fn feed_at(&mut self, d: Side, data: &[u8], ts: Timestamp) {
            self.carrying(d);
            self.with(|c, s| c.on_chunk(d, Chunk::Data(data), ts, s));
        }
        /// The packet that carries what a stream delivers next, as the
        /// analyzer notes it first.
        fn carrying(&mut self, d: Side) {
            let (src, dst) = if d == CLIENT {
                (ep(5000), ep(80))
            } else {
                (ep(80), ep(5000))
            };
            self.conv
                .note_packet(d, &src, &dst, flags(false, true, true));
        }
        fn release(&mut self, now: Timestamp) {
            self.with(|c, s| c.release_watch(now, s));
        }
        fn fin(&mut self, d: Side) {
            self.carrying(d);
            self.with(|c, s| c.on_chunk(d, Chunk::Fin, Timestamp::new(2, 0), s));
        }
        /// `n` bytes the capture lost, given up by the stream.
        fn gap(&mut self, d: Side, n: u64) {
            self.with(|c, s| c.on_chunk(d, Chunk::Gap(n), Timestamp::new(1, 0), s));
        }
        /// Each attempt reported so far, as (target, status).
        fn answered(&self) -> Vec<(&str, Option<u16>)> {
            self.attempts
                .iter()
                .map(|a| {
                    (
                        a.request.target.as_str(),
                        a.response.as_ref().map(|r| r.status),
                    )
                })
                .collect()
        }
        fn statuses(&self) -> Vec<Option<u16>> {
            self.answered().into_iter().map(|(_, s)| s).collect()
        }
    }

    fn flags(syn: bool, ack: bool, carries: bool) -> super::super::PacketFlags {
        super::super::PacketFlags {
            syn,
            ack,
            carries,
            data: carries,
        }
    }

    const WS_REQ: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    /// A POST whose body quotes upgrade requests, then an upgrade request,
    /// with `lost` bytes of the client's stream lost from `before` bytes
    /// before the POST's head ends; the server answers both. What the
    /// conversation reported, as (target, status).
    fn post_quoting_requests_then_upgrade(
        before: usize,
        lost: usize,
    ) -> Vec<(String, Option<u16>)> {
        let quoted = b"GET /fake HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        let body = quoted.repeat(3);
        let mut client = format!(
            "POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        let at = client.len() - before;
        client.extend_from_slice(&body);
        client.extend_from_slice(&WS_REQ.replace("/ws HTTP".as_bytes(), "/chat HTTP".as_bytes()));
        let mut h = Harness::new();
        h.feed(CLIENT, &client[..at]);
        h.gap(CLIENT, lost as u64);
        h.feed(CLIENT, &client[at + lost..]);
        h.feed(
            SERVER,
            b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        );
        h.fin(CLIENT);
        h.fin(SERVER);
        h.answered()
            .into_iter()
            .map(|(target, status)| (target.to_string(), status))
            .collect()
    }

    trait Replace {
        fn replace(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
    }

    impl Replace for &[u8] {
        fn replace(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
            let at = memchr::memmem::find(self, from).expect("present");
            [&self[..at], to, &self[at + from.len()..]].concat()
        }
    }

    #[test]
    fn a_hole_in_a_request_head_keeps_its_declared_body_from_being_read_as_requests() {
        // The hole takes the head's last byte and the body's first ones,
        // or the head's blank line and more, or just the head's end.
        for (before, lost) in [(1, 20), (3, 40), (2, 2), (1, 200)] {
            assert_eq!(
                post_quoting_requests_then_upgrade(before, lost),
                vec![("/chat".to_string(), Some(400))],
                "hole of {lost} from {before} before the head's end"
            );
        }
    }

    #[test]
    fn a_request_lost_whole_keeps_its_place_for_its_answer() {
        let answers = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        let lost = b"GET /gone HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        h.gap(CLIENT, lost.len() as u64);
        h.feed(CLIENT, WS_REQ);
        h.feed(SERVER, answers);
        assert_eq!(h.statuses(), vec![Some(400)]);
        // A byte or two lost between requests (a probe's) is not a request.
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        h.gap(CLIENT, 1);
        h.feed(CLIENT, WS_REQ);
        let two = memchr::memmem::find(answers, b"HTTP/1.1 400").expect("third answer");
        h.feed(SERVER, &answers[..two]);
        assert_eq!(h.statuses(), vec![Some(404)]);
    }

    #[test]
    fn a_hole_in_a_response_head_answers_its_own_request_not_the_next() {
        let chat = WS_REQ.replace("/ws HTTP".as_bytes(), "/chat HTTP".as_bytes());
        let plain = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        // The refusal's body quotes a response, and ends its last line.
        let quoting = b"quoted:\nHTTP/1.1 200 OK\r\nX: y\r\n\r\nend of the page.\n";
        let refusal = [
            format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n",
                quoting.len()
            )
            .as_bytes(),
            quoting,
        ]
        .concat();
        let bad = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        // (requests, responses, hole in the responses: from, length, what
        // the attempts must be)
        type Case = (
            Vec<u8>,
            Vec<u8>,
            usize,
            usize,
            Vec<(&'static str, Option<u16>)>,
        );
        let plain_then_attempt: Case = (
            [&b"GET /api HTTP/1.1\r\nHost: x\r\n\r\n"[..], &chat].concat(),
            [&plain[..], bad].concat(),
            20,
            40,
            vec![("/chat", Some(400))],
        );
        // The hole takes the end of the refusal's head (from inside its
        // Content-Type line) and the first bytes of its body, or the whole
        // body as well.
        let head_end = refusal.len() - quoting.len();
        let attempt_then_attempt = |lost| {
            (
                [WS_REQ, &chat].concat(),
                [&refusal[..], bad].concat(),
                head_end - 10,
                lost,
                vec![("/ws", Some(403)), ("/chat", Some(400))],
            )
        };
        for (requests, responses, from, lost, want) in [
            plain_then_attempt,
            attempt_then_attempt(14),
            attempt_then_attempt(10 + quoting.len()),
        ] {
            let mut h = Harness::new();
            h.feed(CLIENT, &requests);
            h.feed(SERVER, &responses[..from]);
            h.gap(SERVER, lost as u64);
            h.feed(SERVER, &responses[from + lost..]);
            h.fin(CLIENT);
            h.fin(SERVER);
            assert_eq!(h.answered(), want, "hole of {lost} from {from}");
            assert_eq!(h.stats.heads_cut_by_holes, 1);
        }
    }

    #[test]
    fn a_request_head_cut_short_declares_only_a_sure_body_length() {
        let body = |s: &str| cut_request(s.as_bytes()).map(|c| c.body);
        assert_eq!(
            body("POST / HTTP/1.1\r\nContent-Length: 12\r\nHost: x\r\n\r"),
            Some(12)
        );
        assert_eq!(
            body("PUT /a HTTP/1.1\r\ncontent-length:7\r\nX-A: b"),
            Some(7)
        );
        // The line itself cut: its value may be longer, unless its CR came.
        assert_eq!(body("POST / HTTP/1.1\r\nContent-Length: 12"), Some(0));
        assert_eq!(body("POST / HTTP/1.1\r\nContent-Length: 12\r"), Some(12));
        assert_eq!(
            body("POST / HTTP/1.1\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\n"),
            Some(0)
        );
        assert_eq!(
            body("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 12\r\n"),
            Some(0)
        );
        assert_eq!(
            body("POST / HTTP/1.1\r\nContent-Length: 12\r\nContent-Length: 13\r\n"),
            Some(0)
        );
        assert_eq!(body("POST / HTTP/1.1\r\nContent-Length: 1x\r\n"), Some(0));
        assert_eq!(body("GET / HTTP/1.1\r\nHost: x\r\n"), Some(0));
        assert_eq!(
            cut_request(b"HEAD /a HTTP/1.1\r\nHost: x"),
            Some(CutRequest {
                head_method: true,
                body: 0
            })
        );
        // Not a request line, or not a whole one.
        assert_eq!(body("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n"), None);
        assert_eq!(body("garbage\r\nContent-Length: 12\r\n"), None);
        assert_eq!(body("POST / HTTP/1"), None);
    }

    #[test]
    fn a_response_head_cut_short_is_ended_after_its_whole_lines() {
        assert_eq!(
            cut_response(b"HTTP/1.1 403 Forbidden\r\nServer: x\r\nContent-Le").as_deref(),
            Some(&b"HTTP/1.1 403 Forbidden\r\nServer: x\r\n\r\n"[..])
        );
        // A 101's headers decide its verdict; a status line not whole, or
        // not a status line, says nothing.
        assert_eq!(
            cut_response(b"HTTP/1.1 101 Switching Protocols\r\nUpg"),
            None
        );
        assert_eq!(cut_response(b"HTTP/1.1 403 Forb"), None);
        assert_eq!(cut_response(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn head_split_over_many_segments_is_parsed() {
        let mut h = Harness::new();
        for part in WS_REQ.chunks(WS_REQ.len() / 20 + 1) {
            h.feed(CLIENT, part);
        }
        h.feed(
            SERVER,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad",
        );
        assert_eq!(h.attempts.len(), 1);
        let a = &h.attempts[0];
        assert_eq!(a.response.as_ref().map(|r| r.status), Some(400));
        assert_eq!(a.body_excerpt.as_deref(), Some(&b"bad"[..]));
        assert_eq!(a.request.target, "/ws");
    }

    #[test]
    fn an_upgraded_connection_settles_once_its_watch_is_over() {
        use crate::reassembly::FlowState;
        const ACCEPT: &[u8] =
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.feed(SERVER, ACCEPT);
        // Watched: the conversation stays, and wants the server's frames.
        assert!(h.conv.conversation().is_some());
        assert!(h.conv.wants_bytes(SERVER));
        assert!(h.conv.at_stake());
        h.release(Timestamp::new(5, 0));
        assert_eq!(h.attempts.len(), 1);
        // Settled: the table holds the entry alone, and nothing it carries
        // is read or reported.
        assert!(h.conv.conversation().is_none());
        assert_eq!(h.conv.structure_bytes(), 0);
        assert!(h.conv.is_upgraded());
        assert!(!h.conv.wants_bytes(CLIENT) && !h.conv.wants_bytes(SERVER));
        assert!(!h.conv.at_stake());
        h.feed(CLIENT, WS_REQ);
        h.feed(SERVER, b"HTTP/1.1 400 Bad Request\r\n\r\n");
        h.conv
            .note_packet(CLIENT, &ep(5000), &ep(80), flags(false, true, false));
        assert!(h.conv.conversation().is_none(), "not built again");
        assert_eq!(h.attempts.len(), 1);
        // Its FINs still end it, and its end reports nothing more.
        h.fin(SERVER);
        assert!(!h.conv.is_finished());
        h.fin(CLIENT);
        assert!(h.conv.is_finished());
        h.with(|c, s| {
            c.on_reset(SERVER, Timestamp::new(6, 0), s);
            c.finish(super::super::Ending::CaptureEnded, s);
        });
        assert_eq!(h.attempts.len(), 1);
        assert!(h.conv.conversation().is_none());

        // A session followed to its end (`--sessions`) keeps the conversation.
        let mut h = Harness::new();
        h.limits.sessions = true;
        h.feed(CLIENT, WS_REQ);
        h.feed(SERVER, ACCEPT);
        h.release(Timestamp::new(5, 0));
        assert!(h.conv.conversation().is_some());
    }

    #[test]
    fn pipelined_requests_pair_in_order() {
        let mut h = Harness::new();
        let mut both = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        both.extend_from_slice(WS_REQ);
        h.feed(CLIENT, &both);
        h.feed(
            SERVER,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
        );
        // Held while the server's first frames are watched.
        assert!(h.attempts.is_empty());
        assert!(h.conv.take_new_watch().is_some());
        assert!(h.conv.take_new_watch().is_none());
        h.release(Timestamp::new(5, 0));
        assert_eq!(h.attempts.len(), 1);
        assert_eq!(h.attempts[0].response.as_ref().map(|r| r.status), Some(101));
        assert_eq!(h.attempts[0].request_index, 1);
        assert!(h.attempts[0].after_upgrade.is_none());
        assert!(h.conv.is_upgraded());
    }

    #[test]
    fn http_response_written_after_101_is_kept() {
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.feed(SERVER, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
        assert!(h.attempts.is_empty());
        h.feed(
            SERVER,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 28\r\n\r\nUnsupported protocol version",
        );
        assert_eq!(h.attempts.len(), 1);
        let au = h.attempts[0].after_upgrade.clone().unwrap_or_default();
        assert!(au
            .server_http
            .is_some_and(|b| b.ends_with(b"Unsupported protocol version")));
    }

    #[test]
    fn engine_io_handshake_answers_report_their_sid() {
        let mut h = Harness::new();
        h.feed(
            CLIENT,
            b"GET /socket.io/?EIO=4&transport=polling&t=x HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        h.feed(
            SERVER,
            b"HTTP/1.1 200 OK\r\nContent-Length: 28\r\n\r\n0{\"sid\":\"abcDEF123\",\"up\":[]}",
        );
        assert!(h.attempts.is_empty());
        assert_eq!(h.sids.len(), 1);
        assert_eq!(h.sids[0].sid, "abcDEF123");
        assert_eq!(h.sids[0].server.port, 80);
        // A poll with a sid is no handshake.
        h.feed(
            CLIENT,
            b"GET /socket.io/?EIO=4&transport=polling&sid=abcDEF123 HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        h.feed(
            SERVER,
            b"HTTP/1.1 200 OK\r\nContent-Length: 28\r\n\r\n0{\"sid\":\"zzzzzzzzz\",\"up\":[]}",
        );
        assert_eq!(h.sids.len(), 1);
    }

    #[test]
    fn a_close_long_after_the_101_ends_the_session_not_the_handshake() {
        for sessions in [false, true] {
            let mut h = Harness::new();
            h.limits.sessions = sessions;
            h.feed(CLIENT, WS_REQ);
            h.feed(
                SERVER,
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            );
            // The connection is quiet, then the server closes with 1011.
            h.feed_at(SERVER, b"\x88\x04\x03\xf3ok", Timestamp::new(3, 0));
            assert_eq!(h.attempts.len(), 1);
            assert!(h.attempts[0].after_upgrade.is_none(), "accepted");
            h.fin(SERVER);
            if sessions {
                assert_eq!(h.sessions.len(), 1);
                assert_eq!(h.sessions[0].close, Some((1011, "ok".to_string())));
            } else {
                assert!(h.sessions.is_empty());
            }
        }
    }

    #[test]
    fn policy_close_right_after_101_is_recorded() {
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        let mut resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi".to_vec();
        resp.extend_from_slice(&[0x88, 0x08, 0x03, 0xf0]);
        h.feed(SERVER, &resp);
        assert!(h.attempts.is_empty(), "close frame split: still waiting");
        h.feed(SERVER, b"policy");
        assert_eq!(h.attempts.len(), 1);
        let au = h.attempts[0].after_upgrade.clone().unwrap_or_default();
        assert_eq!(au.server_close, Some((1008, "policy".to_string())));
    }

    #[test]
    fn bytes_no_server_could_send_are_not_read_as_a_close() {
        // After a data frame, bytes that parse as a close only by accident:
        // masked, with a reason that is not UTF-8, with a code out of range,
        // behind a reserved opcode. The attempt stays accepted.
        let cases: [&[u8]; 4] = [
            &[0x88, 0x84, 1, 2, 3, 4, 0x02, 0xe8, 0x6f, 0x6b],
            &[0x88, 0x04, 0x03, 0xea, 0xff, 0xfe],
            &[0x88, 0x02, 0x00, 0x10],
            &[0x83, 0x01, 0x00, 0x88, 0x02, 0x03, 0xf0],
        ];
        for bytes in cases {
            let mut h = Harness::new();
            h.feed(CLIENT, WS_REQ);
            let mut resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi".to_vec();
            resp.extend_from_slice(bytes);
            h.feed(SERVER, &resp);
            assert_eq!(h.attempts.len(), 1, "{bytes:x?}");
            assert!(h.attempts[0].after_upgrade.is_none(), "{bytes:x?}");
        }
    }

    #[test]
    fn interim_responses_do_not_pair() {
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.feed(
            SERVER,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(h.attempts.len(), 1);
        assert_eq!(h.attempts[0].interim, vec![100]);
        assert_eq!(h.attempts[0].response.as_ref().map(|r| r.status), Some(403));
    }

    #[test]
    fn head_response_has_no_body() {
        let mut h = Harness::new();
        let mut reqs = b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        reqs.extend_from_slice(WS_REQ);
        h.feed(CLIENT, &reqs);
        h.feed(
            SERVER,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(h.attempts.len(), 1);
        assert_eq!(h.attempts[0].response.as_ref().map(|r| r.status), Some(426));
    }

    #[test]
    fn server_close_without_answer_is_reported() {
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.fin(SERVER);
        assert_eq!(h.attempts.len(), 1);
        assert_eq!(h.attempts[0].ending, Ending::ServerClosed);
        assert!(h.attempts[0].response.is_none());
    }

    #[test]
    fn a_client_that_closes_first_gave_up_and_was_not_refused() {
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.fin(CLIENT);
        assert!(h.attempts.is_empty(), "a half-close is no end yet");
        h.fin(SERVER);
        assert_eq!(h.attempts.len(), 1);
        assert_eq!(h.attempts[0].ending, Ending::ClientClosed);
        assert_eq!(h.attempts[0].ended_ts, Some(Timestamp::new(2, 0)));
        // A half-close right after the request only ends the sending.
        let mut h = Harness::new();
        h.feed_at(CLIENT, WS_REQ, Timestamp::new(1, 900_000_000));
        h.fin(CLIENT);
        h.fin(SERVER);
        assert_eq!(h.attempts[0].ending, Ending::ServerClosed);
        // An answer after the client's half-close is still an answer.
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.fin(CLIENT);
        h.feed(
            SERVER,
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
        );
        h.fin(SERVER);
        assert_eq!(h.answered(), vec![("/ws", Some(403))]);
        assert_eq!(h.attempts[0].ending, Ending::Answered);
    }

    #[test]
    fn bytes_lost_from_the_server_while_a_request_waits_are_noted_on_it() {
        // The server's answer lost, then its FIN: not known to be unanswered.
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.gap(SERVER, 166);
        h.fin(SERVER);
        assert_eq!(h.attempts.len(), 1);
        assert_eq!(h.attempts[0].ending, Ending::ServerClosed);
        assert!(h.attempts[0].answer_lost);
        // Bytes lost from the client, or from the server before the request
        // was made, say nothing about its answer.
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.gap(CLIENT, 200);
        h.fin(SERVER);
        assert!(!h.attempts[0].answer_lost);
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        h.gap(SERVER, 300);
        h.feed(CLIENT, WS_REQ);
        h.fin(SERVER);
        assert_eq!(h.attempts.len(), 1);
        assert!(!h.attempts[0].answer_lost);
    }

    #[test]
    fn an_answer_lost_whole_does_not_shift_the_next_answers() {
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET /logo.png HTTP/1.1\r\nHost: x\r\n\r\n");
        // The answer's head lost; its body's tail came. The client, which
        // waits for each answer, asks again after it.
        h.gap(SERVER, 1448);
        h.feed(SERVER, &[b'x'; 300]);
        h.feed(CLIENT, b"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
        h.feed(SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        h.feed(CLIENT, WS_REQ);
        h.feed(
            SERVER,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(h.answered(), vec![("/ws", Some(400))]);
        assert_eq!(h.attempts[0].ending, Ending::Answered);
    }

    #[test]
    fn requests_made_back_to_back_keep_their_order_after_a_loss() {
        // Pipelined: the lost bytes may be either answer, so the next one
        // answers the oldest request, as without the loss.
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET /logo.png HTTP/1.1\r\nHost: x\r\n\r\n");
        h.feed(CLIENT, WS_REQ);
        h.gap(SERVER, 1448);
        h.feed(
            SERVER,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(h.attempts.is_empty(), "{:?}", h.answered());
        h.fin(SERVER);
        assert_eq!(h.attempts[0].ending, Ending::ServerClosed);
        assert!(h.attempts[0].answer_lost);
    }

    #[test]
    fn an_attempt_whose_answer_was_lost_is_reported_so() {
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.gap(SERVER, 166);
        h.feed(CLIENT, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        h.feed(SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(h.attempts.len(), 1);
        assert_eq!(h.attempts[0].ending, Ending::AnswerLost);
        assert!(h.attempts[0].answer_lost && h.attempts[0].response.is_none());
    }

    #[test]
    fn body_until_close_is_kept_until_fin() {
        let mut h = Harness::new();
        h.feed(CLIENT, WS_REQ);
        h.feed(SERVER, b"HTTP/1.0 400 Bad Request\r\n\r\nno upgrade");
        assert!(h.attempts.is_empty());
        h.fin(SERVER);
        assert_eq!(h.attempts.len(), 1);
        assert_eq!(
            h.attempts[0].body_excerpt.as_deref(),
            Some(&b"no upgrade"[..])
        );
    }

    #[test]
    fn unanswered_head_requests_cannot_grow_the_queue_without_bound() {
        let mut h = Harness::new();
        let mut reqs = Vec::new();
        for i in 0..20_000 {
            let method = if i % 2 == 0 { "HEAD" } else { "GET" };
            reqs.extend_from_slice(format!("{method} / HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        }
        reqs.extend_from_slice(WS_REQ);
        h.feed(CLIENT, &reqs);
        let queued = h.conv.conversation().map_or(0, |c| c.pending.len());
        assert!(queued <= 2048, "{queued} entries queued");
        // Answers without bodies either way still pair the attempt with its own.
        let mut answers = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".repeat(20_000);
        answers.extend_from_slice(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        h.feed(SERVER, &answers);
        assert_eq!(h.attempts.len(), 1);
        let status = h.attempts[0].response.as_ref().map(|r| r.status);
        assert_eq!(status, Some(400));
    }

    #[test]
    fn plain_requests_are_not_attempts() {
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n");
        h.feed(
            SERVER,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
        );
        assert!(h.attempts.is_empty());
    }

    #[test]
    fn proxy_stripped_request_is_still_an_attempt() {
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET /ws HTTP/1.0\r\nHost: b\r\nConnection: close\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        h.feed(
            SERVER,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(h.attempts.len(), 1);
    }

    const CONNECT: &[u8] = b"CONNECT app.test:8080 HTTP/1.1\r\nHost: app.test:8080\r\n\r\n";
    const SWITCHED: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

    #[test]
    fn an_upgrade_inside_a_connect_tunnel_is_paired_with_its_answer() {
        let mut h = Harness::new();
        h.feed(CLIENT, CONNECT);
        // No Content-Length: read as any other 200, the tunnel's bytes
        // would be its body until the connection closes.
        h.feed(SERVER, b"HTTP/1.1 200 Connection established\r\n\r\n");
        h.feed(CLIENT, WS_REQ);
        h.feed(SERVER, SWITCHED);
        h.release(Timestamp::new(9, 0));
        assert_eq!(h.answered(), vec![("/ws", Some(101))]);
        assert_eq!(
            (h.attempts[0].client.port, h.attempts[0].server.port),
            (5000, 80)
        );
        assert_eq!(h.stats.tunnels, 1);
        assert_eq!(h.stats.resyncs, 0);
    }

    #[test]
    fn a_refused_connect_leaves_the_connection_http_and_the_retry_tunnels() {
        let mut h = Harness::new();
        h.feed(CLIENT, CONNECT);
        h.feed(
            SERVER,
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 6\r\n\r\ndenied",
        );
        // The byte after the 407's body is not the tunnel's.
        assert_eq!((h.stats.tunnels, h.stats.tunnels_refused), (0, 1));
        h.feed(CLIENT, CONNECT);
        h.feed(SERVER, b"HTTP/1.1 200 OK\r\n\r\n");
        h.feed(CLIENT, WS_REQ);
        h.feed(
            SERVER,
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno",
        );
        assert_eq!(h.answered(), vec![("/ws", Some(403))]);
        assert_eq!(h.attempts[0].body_excerpt.as_deref(), Some(&b"no"[..]));
        assert_eq!(h.stats.tunnels, 1);
        assert_eq!(h.stats.resyncs, 0);
    }

    #[test]
    fn a_plain_get_answered_200_is_no_tunnel() {
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        h.feed(SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        h.feed(CLIENT, WS_REQ);
        h.feed(SERVER, SWITCHED);
        h.release(Timestamp::new(9, 0));
        assert_eq!(h.answered(), vec![("/ws", Some(101))]);
        assert_eq!(h.stats.tunnels, 0);
    }

    #[test]
    fn tls_inside_a_connect_tunnel_is_handed_to_the_tls_layer() {
        let mut h = Harness::new();
        h.feed(CLIENT, CONNECT);
        h.feed(SERVER, b"HTTP/1.1 200 Connection established\r\n\r\n");
        h.feed(CLIENT, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]);
        assert_eq!(h.tls.len(), 1);
        assert_eq!((h.tls[0].client.port, h.tls[0].server.port), (5000, 80));
        assert!(h.conv.conversation().is_none());
        assert_eq!(h.stats.tunnels, 1);
    }

    #[test]
    fn tls_client_is_noted_and_not_parsed() {
        let mut h = Harness::new();
        h.feed(CLIENT, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]);
        h.feed(CLIENT, WS_REQ);
        assert!(h.attempts.is_empty());
        assert_eq!(h.tls.len(), 1);
        assert_eq!(h.tls[0].server.port, 80);
        assert!(!h.tls[0].h2c);
    }

    #[test]
    fn an_attempt_is_at_stake_until_its_answer_is_read_whole() {
        use crate::reassembly::FlowState;
        let mut h = Harness::new();
        assert!(!h.conv.at_stake(), "no byte yet");
        h.feed(CLIENT, &WS_REQ[..20]);
        assert!(h.conv.at_stake(), "a head half read");
        h.feed(CLIENT, &WS_REQ[20..]);
        assert!(h.conv.at_stake(), "a request waiting");
        h.feed(
            SERVER,
            b"HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\nno upg",
        );
        assert!(h.attempts.is_empty());
        assert!(h.conv.at_stake(), "an answer read until the close");
        h.fin(SERVER);
        assert_eq!(h.attempts.len(), 1);
        assert!(!h.conv.at_stake());
        h.feed(CLIENT, b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(!h.conv.at_stake(), "a plain request is not an attempt");
    }

    #[test]
    fn a_layer_that_takes_over_leaves_no_http_reader_behind() {
        use crate::reassembly::FlowState;
        // Every TLS connection in the table carries a layer: the parts only
        // a connection with keys needs are boxed (824 bytes before; 16 of
        // the 568 are the handshake readers' offsets, which keep a record of
        // empty messages from being moved once per message).
        assert!(std::mem::size_of::<super::super::layer::Layer>() <= 568);
        for first in [
            &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00][..],
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            let mut h = Harness::new();
            h.feed(CLIENT, first);
            assert!(h.conv.conversation().is_none());
            assert_eq!(
                h.conv.structure_bytes(),
                std::mem::size_of::<super::super::layer::Layer>() + 16
            );
            h.conv
                .note_packet(CLIENT, &ep(5000), &ep(80), flags(false, true, false));
            assert!(h.conv.conversation().is_none());
        }
    }

    #[test]
    fn an_http2_preface_is_noted_and_not_parsed() {
        let mut h = Harness::new();
        h.feed(
            CLIENT,
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        );
        assert!(h.attempts.is_empty());
        assert_eq!(h.tls.len(), 1);
        assert!(h.tls[0].h2c);
    }

    #[test]
    fn a_server_preface_before_the_clients_starts_http2() {
        use crate::h2::frame::{encode, FLAG_END_HEADERS, HEADERS, PREFACE, SETTINGS};
        const WINDOW_UPDATE: u8 = 8;
        let block = |fields: &[(&str, &str)]| {
            loona_hpack::Encoder::new()
                .encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
        };
        // As Apache's mod_http2 sends under TLS, before the browser's
        // preface: SETTINGS (extended CONNECT on) and a WINDOW_UPDATE, in
        // one record, the second frame's end in the next.
        let server_first = [
            encode(SETTINGS, 0, 0, &[0, 8, 0, 0, 0, 1]),
            encode(WINDOW_UPDATE, 0, 0, &[0, 0x10, 0, 0]),
        ]
        .concat();
        let client = [
            PREFACE.to_vec(),
            encode(SETTINGS, 0, 0, &[]),
            encode(
                HEADERS,
                FLAG_END_HEADERS,
                1,
                &block(&[
                    (":method", "CONNECT"),
                    (":protocol", "websocket"),
                    (":scheme", "https"),
                    (":path", "/ws"),
                    (":authority", "ws.test"),
                    ("sec-websocket-version", "13"),
                ]),
            ),
        ]
        .concat();
        let answer = encode(HEADERS, FLAG_END_HEADERS, 1, &block(&[(":status", "403")]));
        // Whole, a byte at a time, and cut inside the frame header.
        for size in [server_first.len(), 1, 5, 13] {
            let mut h = Harness::new();
            for part in server_first.chunks(size) {
                h.feed(SERVER, part);
            }
            h.feed(CLIENT, &client);
            h.feed(SERVER, &answer);
            assert_eq!(h.answered(), [("/ws", Some(403))], "{size}");
            assert_eq!(h.stats.resyncs, 0, "{size}");
            assert!(h.tls[0].h2c);
        }
        // An HTTP/1.x answer is still one, and bytes that only start like a
        // frame header are no preface.
        assert_eq!(server_preface(b"HTTP/1.1 200 OK\r\n"), Preface::No);
        assert_eq!(server_preface(&[0, 0, 6, 4, 0, 0, 0]), Preface::SoFar);
        assert_eq!(server_preface(&[0, 0, 6, 4, 1, 0, 0, 0, 0]), Preface::No);
        assert_eq!(server_preface(&[0, 0, 5, 4, 0, 0, 0, 0, 0]), Preface::No);
        assert_eq!(server_preface(&[0, 0, 6, 1, 0, 0, 0, 0, 1]), Preface::No);
    }

    #[test]
    fn resync_finds_a_request_after_garbage() {
        assert_eq!(
            find_message_start(b"xx\r\nGET /ws HTTP/1.1\r\n", Role::Requests),
            Some(4)
        );
        assert_eq!(
            find_message_start(b"zzz\r\nHTTP/1.1 200 OK\r\n", Role::Responses),
            Some(5)
        );
        assert_eq!(
            find_message_start(b"body text HTTP/1.1 in prose", Role::Responses),
            None
        );
    }

    fn looks() -> usize {
        head::LOOKS.with(|n| n.get())
    }

    /// A version 2 PROXY header from 192.0.2.7:40000 to 198.51.100.1:80.
    fn proxy_v2() -> Vec<u8> {
        let mut b = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
        b.extend_from_slice(&[192, 0, 2, 7, 198, 51, 100, 1, 0x9c, 0x40, 0, 80]);
        b
    }

    #[test]
    fn a_proxy_protocol_header_is_read_before_the_first_request() {
        let v1 = b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n".to_vec();
        for header in [v1, proxy_v2()] {
            let bytes = [header.as_slice(), WS_REQ].concat();
            // Whole, then a byte per segment, then cut inside the header.
            for size in [bytes.len(), 1, 7] {
                let mut h = Harness::new();
                for part in bytes.chunks(size) {
                    h.feed(CLIENT, part);
                }
                h.feed(
                    SERVER,
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
                );
                assert_eq!(h.answered(), [("/ws", Some(400))], "{size}");
                assert_eq!((h.stats.resyncs, h.stats.proxy_headers), (0, 1), "{size}");
                let p = h.attempts[0].proxy_header.as_deref().expect("header kept");
                assert_eq!(
                    p.source.map(|e| e.to_string()).as_deref(),
                    Some("192.0.2.7:40000")
                );
            }
        }
    }

    #[test]
    fn a_proxy_protocol_header_without_a_syn_keeps_the_connection() {
        // Joined after the handshake: nothing says which side is the client,
        // and a first line that is not HTTP would end the reading.
        let mut h = Harness::new();
        h.conv = super::super::Connection::default();
        h.feed(CLIENT, &[proxy_v2().as_slice(), WS_REQ].concat());
        h.feed(
            SERVER,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(h.answered(), [("/ws", Some(400))]);
        assert_eq!(h.stats.non_http_directions, 0);
    }

    #[test]
    fn a_websocket_joined_after_its_upgrade_is_passed_over() {
        let server_frames = [&[0x81, 3][..], b"abc", &[0x89, 0]].concat();
        let client_frame = [&[0x81, 0x82, 1, 2, 3, 4][..], b"hi"].concat();
        let mut h = Harness::new();
        h.conv = super::super::Connection::default();
        h.feed(SERVER, &server_frames);
        h.feed(CLIENT, &client_frame);
        assert!(!h.conv.may_stop_reading(), "one chunk a side is not enough");
        h.feed(SERVER, &server_frames);
        assert_eq!(h.stats.websockets_joined, 1);
        assert!(h.conv.may_stop_reading());
        assert!(!h.conv.wants_bytes(CLIENT) && !h.conv.wants_bytes(SERVER));
        // A request quoted inside a frame is a message's text, not HTTP.
        h.feed(CLIENT, &[&[0x81, WS_REQ.len() as u8][..], WS_REQ].concat());
        assert!(h.attempts.is_empty());
    }

    #[test]
    fn frames_that_stop_chaining_leave_the_search_on() {
        // Whole frames once, then HTTP: the chunk that chained was skipped,
        // the request after it is found.
        let mut h = Harness::new();
        h.conv = super::super::Connection::default();
        h.feed(CLIENT, &[0x82, 2, 0, 0]);
        h.feed(CLIENT, WS_REQ);
        h.feed(
            SERVER,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(h.answered(), [("/ws", Some(400))]);
        assert_eq!(h.stats.websockets_joined, 0);
        // A connection that spoke HTTP here never turns into frames.
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        h.gap(CLIENT, 100);
        for _ in 0..3 {
            h.feed(CLIENT, &[0x82, 2, 0, 0]);
        }
        assert_eq!(h.stats.websockets_joined, 0);
        assert!(!h.conv.may_stop_reading());
    }

    #[test]
    fn only_a_connections_first_bytes_are_a_proxy_protocol_header() {
        let mut h = Harness::new();
        h.feed(CLIENT, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        h.feed(CLIENT, b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n");
        h.feed(CLIENT, WS_REQ);
        h.feed(SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        h.feed(
            SERVER,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(h.stats.proxy_headers, 0);
        assert_eq!(h.stats.resyncs, 1);
        assert!(h.attempts.iter().all(|a| a.proxy_header.is_none()));
    }

    #[test]
    fn a_head_sent_a_byte_per_segment_is_parsed_a_few_times_not_per_byte() {
        let mut req = b"GET /ws?".to_vec();
        req.extend_from_slice(&[b'q'; 3000]);
        req.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nCookie: ");
        req.extend_from_slice(&[b'c'; 20_000]);
        req.extend_from_slice(b"\r\n\r\n");
        let mut h = Harness::new();
        let before = looks();
        for b in req.chunks(1) {
            h.feed(CLIENT, b);
        }
        let resp = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n";
        for b in resp.chunks(1) {
            h.feed(SERVER, b);
        }
        let n = looks() - before;
        assert!(
            n <= 40,
            "{} bytes looked at {n} times",
            req.len() + resp.len()
        );
        assert_eq!(h.attempts.len(), 1);
        let a = &h.attempts[0];
        assert_eq!(a.request.target.len(), 3004);
        assert_eq!(
            a.request.header("cookie").map(|c| c.value.len()),
            Some(20_000)
        );
        assert_eq!(a.response.as_ref().map(|r| r.status), Some(431));
        assert_eq!(h.stats.resyncs, 0);
    }

    #[test]
    fn a_head_turned_malformed_byte_by_byte_is_refused_where_it_breaks() {
        // A NUL or a bare CR in a header line makes the parser refuse the
        // head: it must do so at that byte, as when it looked at every byte,
        // and resynchronise on the request that follows it.
        for bad in [&b"\0"[..], b"\rx"] {
            let mut h = Harness::new();
            h.feed(CLIENT, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
            let mut bytes = b"GET /b/".to_vec();
            bytes.extend_from_slice(&[b'p'; 120]);
            bytes.extend_from_slice(b" HTTP/1.1\r\nX-Junk: ab");
            bytes.extend_from_slice(bad);
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(WS_REQ);
            for b in bytes.chunks(1) {
                h.feed(CLIENT, b);
            }
            h.feed(SERVER, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            h.feed(
                SERVER,
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
            );
            assert_eq!(h.stats.resyncs, 1, "{bad:?}");
            assert_eq!(h.attempts.len(), 1, "{bad:?}");
            assert_eq!(h.attempts[0].request.target, "/ws");
        }
    }

    /// The verdict the head parser gives `bytes`: complete, more needed, or
    /// refused (a request with too many header lines only waits for its end).
    fn verdict(bytes: &[u8], response: bool) -> &'static str {
        if response {
            match head::parse_response(bytes, false) {
                Parsed::Complete(..) => "complete",
                Parsed::Partial => "partial",
                Parsed::Invalid(_) => "refused",
            }
        } else {
            match head::parse_request(bytes) {
                Parsed::Complete(..) => "complete",
                Parsed::Partial | Parsed::Invalid(head::TOO_MANY_HEADERS) => "partial",
                Parsed::Invalid(_) => "refused",
            }
        }
    }

    #[test]
    fn a_response_past_the_parsers_header_room_is_looked_at_again() {
        let mut dir = Direction {
            buf: b"HTTP/1.1 200 OK\r\n".to_vec(),
            ..Direction::default()
        };
        let first = dir.buf.clone();
        dir.note_unended(&first);
        let mut refused = false;
        for _ in 0..head::MAX_RESPONSE_HEADERS + 10 {
            let prev = dir.buf.len();
            dir.buf.extend_from_slice(b"X-H: v\r\n");
            if dir.still_unended(prev, 1 << 20) {
                assert_eq!(verdict(&dir.buf, true), "partial", "at {prev}");
                continue;
            }
            match verdict(&dir.buf, true) {
                "partial" => {
                    let buf = dir.buf.clone();
                    dir.note_unended(&buf);
                }
                _ => {
                    refused = true;
                    break;
                }
            }
        }
        assert!(refused);
    }

    /// What `could_start_request` answers, said the plain way: the line
    /// split at its first two spaces into method, target and version.
    fn could_start_request_by_split(t: &[u8]) -> bool {
        let mut parts = t.splitn(3, |b| *b == b' ');
        let method = parts.next().unwrap_or_default();
        let method_ok = !method.is_empty()
            && method.len() <= 16
            && method.iter().all(|b| b.is_ascii_uppercase() || *b == b'-');
        let target_ok = parts
            .next()
            .is_none_or(|t| t.iter().all(u8::is_ascii_graphic));
        method_ok && target_ok && parts.next().is_none_or(prefix_of_version)
    }

    #[test]
    fn a_cut_start_line_is_told_from_junk() {
        let cases: [(&[u8], bool); 13] = [
            (b"GET", true),
            (b"GET ", true),
            (b"GET /chat HTTP/1.", true),
            (b"M-SEARCH * HTTP/1.1", true),
            (b"ABCDEFGHIJKLMNOP /x", true),
            (b"", false),
            (b"get / HTTP/1.1", false),
            (b"ABCDEFGHIJKLMNOPQ /x", false),
            (b"ABCDEFGHIJKLMNOPQ", false),
            (b" GET /", false),
            (b"GET /a\x01b", false),
            (b"GET / HTTP/2", false),
            (b"\x16\x03\x01\x02\x00", false),
        ];
        for (line, starts) in cases {
            assert_eq!(
                could_start_message(line, Role::Requests),
                starts,
                "{line:?}"
            );
        }
        assert!(could_start_message(b"HTTP/1.1 40", Role::Responses));
        assert!(!could_start_message(b"GET /", Role::Responses));
    }

    proptest::proptest! {
        /// The early end on a long method changes no answer.
        #[test]
        fn a_cut_start_line_is_judged_as_split_at_its_spaces(
            // Method-like runs of every length around the 16 a method may
            // have, and what follows them.
            method_len in proptest::sample::select(vec![0usize, 1, 3, 15, 16, 17, 18]),
            method_byte in proptest::sample::select(vec![b'A', b'-', b'a']),
            sep in proptest::sample::select(vec![&b""[..], b" ", b"  "]),
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    &b"GET"[..], b"-", b" ", b"/", b"x", b"HTTP/1.", b"HTTP/1.1",
                    b"HTTP/2", b"\x00", b"\xff", b"\r",
                ]),
                0..8,
            ),
        ) {
            let mut t = vec![method_byte; method_len];
            t.extend_from_slice(sep);
            t.extend(pieces.concat());
            proptest::prop_assert_eq!(
                could_start_request(&t),
                could_start_request_by_split(&t),
                "{:?}", t
            );
        }

        /// Whenever a head is left to wait without a look, the parser would
        /// have said "more bytes" had it looked.
        #[test]
        fn a_head_left_waiting_is_one_the_parser_would_leave_waiting(
            response in proptest::bool::ANY,
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    &b"a"[..], b"Host", b":", b" ", b"\t", b"\r", b"\n", b"\r\n",
                    b"\0", b"\x01", b"\x7f", b"\xc3", b"X-H: v\r\n", b"/", b"?",
                ]),
                0..60,
            ),
            cuts in proptest::collection::vec(1usize..8, 1..40),
        ) {
            let mut bytes = if response {
                b"HTTP/1.1 200 OK".to_vec()
            } else {
                b"GET /p".to_vec()
            };
            for p in &pieces {
                bytes.extend_from_slice(p);
            }
            let mut dir = Direction::default();
            let mut at = 0;
            for cut in cuts.iter().copied().chain(std::iter::repeat(1)) {
                if at >= bytes.len() {
                    break;
                }
                let end = (at + cut).min(bytes.len());
                let prev = dir.buf.len();
                dir.buf.extend_from_slice(&bytes[at..end]);
                at = end;
                if dir.still_unended(prev, 64 * 1024) {
                    // A start line still being read may turn malformed
                    // unseen for a while; header lines may not.
                    if dir.unended_lines > 0 {
                        proptest::prop_assert_eq!(verdict(&dir.buf, response), "partial");
                    }
                    continue;
                }
                match verdict(&dir.buf, response) {
                    "partial" => {
                        let buf = dir.buf.clone();
                        dir.note_unended(&buf);
                    }
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn endless_head_is_cut_and_still_reported() {
        let mut h = Harness::new();
        h.limits.max_head = 1024;
        h.feed(
            CLIENT,
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nCookie: ",
        );
        for _ in 0..100 {
            h.feed(CLIENT, &[b'a'; 100]);
        }
        h.feed(
            SERVER,
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(h.stats.heads_too_large, 1);
        assert_eq!(h.attempts.len(), 1);
        assert!(h.attempts[0].request.cut_short);
        assert!(h.conv.buffered_bytes() <= 2048);
    }
}
