//! The facts the HTTP stage gathers about one WebSocket upgrade attempt, handed to
//! the classifier. Only facts: what was sent, what came back, how it ended.

use std::sync::Arc;

use super::head::{RequestHead, ResponseHead};
use super::proxy_protocol::ProxyHeader;
use crate::capture::Timestamp;
use crate::decode::Endpoint;

/// How an attempt's exchange ended, as far as the capture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A final response was seen.
    Answered,
    /// The server closed the connection (FIN) without answering.
    ServerClosed,
    /// The client closed its side (FIN) before any answer, and the server
    /// closed after it: the client gave up waiting. Not a refusal: a
    /// WebSocket client half-closes only to abandon the connection.
    ClientClosed,
    /// The connection was reset before an answer; `by_server` tells who sent it.
    Reset { by_server: bool },
    /// The capture (or the live session) ended while waiting for the answer.
    CaptureEnded,
    /// No packet on the connection for the idle timeout.
    Expired,
    /// The flow table was full and this connection was the idlest.
    Evicted,
    /// The server switched the connection to another protocol on an earlier
    /// pipelined request, so this one can never get an HTTP answer.
    Superseded,
    /// A new connection opened on the same ports before an answer was seen.
    PortReused,
    /// The answer was in bytes the capture lost: the server's direction lost
    /// bytes after this request, and the connection's next request, made
    /// after them, was answered.
    AnswerLost,
}

/// What happened on the connection right after a `101`: the signs of a
/// "refusal in disguise" (a policy close right after accepting).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AfterUpgrade {
    /// Close frame from the server: code and reason text.
    pub server_close: Option<(u16, String)>,
    /// Seconds from the 101 to that close frame or reset.
    pub after_secs: Option<f64>,
    /// The server reset the connection soon after the 101.
    pub server_reset: bool,
    /// The server wrote an HTTP response instead of frames right after its
    /// 101 (Engine.IO refuses a websocket-only session this way): its first
    /// bytes.
    pub server_http: Option<Vec<u8>>,
    /// The client sent bytes after the 101, before that close or reset.
    pub client_spoke: bool,
}

/// Global numbers (0-based, over all packets read) of the packets that
/// completed the request head and the response head, so an exported capture
/// can carry the diagnosis on those very packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketNumbers {
    pub request: u64,
    pub response: Option<u64>,
}

/// One upgrade request and what the capture shows of its answer.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Time of the request's first byte.
    pub ts: Timestamp,
    pub client: Endpoint,
    pub server: Endpoint,
    /// Shared, not owned: the correlator keeps a copy of every keyed attempt
    /// for a late proxy leg, and copying the request's headers (two
    /// allocations each) was most of that copy's cost.
    pub request: Arc<RequestHead>,
    /// Interim (1xx other than 101) statuses seen before the final response.
    pub interim: Vec<u16>,
    pub response: Option<ResponseHead>,
    pub response_ts: Option<Timestamp>,
    /// When the close or reset that left it unanswered came.
    pub ended_ts: Option<Timestamp>,
    /// First bytes of the response body, de-chunked.
    pub body_excerpt: Option<Vec<u8>>,
    pub ending: Ending,
    /// Position of this request among all requests on its connection (0-based).
    pub request_index: u32,
    /// A hole in the capture came before the answer: pairing may be off.
    pub gap_before_answer: bool,
    /// Bytes the server sent while this request waited are missing from the
    /// capture (a hole in its direction, or acknowledged and never seen):
    /// an unanswered request's answer may be among them, so "the server
    /// closed without answering" would not be known.
    pub answer_lost: bool,
    pub after_upgrade: Option<AfterUpgrade>,
    /// Global packet number of the packet that completed the attempt; the
    /// reporter orders output by it so any worker count gives the same bytes.
    pub completed_at: u64,
    pub packets: PacketNumbers,
    /// The attempt was read from inside TLS (decrypted with a key log).
    pub tls: Option<Box<TlsInfo>>,
    /// An RFC 8441 extended CONNECT over HTTP/2 rather than an HTTP/1.1 GET.
    pub h2: Option<Box<H2Info>>,
    /// The PROXY protocol header the connection began with, before its
    /// first request: a server not set up for it refuses what follows.
    pub proxy_header: Option<Box<ProxyHeader>>,
}

/// What HTTP/2 adds to an attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct H2Info {
    pub stream_id: u32,
    /// The server's SETTINGS_ENABLE_CONNECT_PROTOCOL when the request was
    /// sent; `None` when no server SETTINGS had been seen.
    pub connect_enabled: Option<bool>,
    /// RST_STREAM: sent by the server, error code.
    pub reset: Option<(bool, u32)>,
    /// The server's GOAWAY (error code) left the stream unanswered.
    pub goaway: Option<u32>,
    /// Why some request fields are unknown (lost HPACK state).
    pub incomplete: Option<String>,
}

/// What a TLS handshake said in clear (and, decrypted, in its encrypted
/// extensions); never any key material.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    pub sni: Option<String>,
    /// The protocol the server chose (ALPN).
    pub alpn: Option<String>,
    pub alpn_offered: Vec<String>,
    /// "1.3", "1.2", …
    pub version: Option<&'static str>,
    /// Application data was decrypted.
    pub decrypted: bool,
}

impl Attempt {
    /// Heap bytes the attempt holds, approximately (allocator overhead is
    /// not counted), for the memory budgets of the stages that keep
    /// attempts. The request counts in full although it may be shared.
    pub fn heap_bytes(&self) -> usize {
        let r = &self.request;
        let request = std::mem::size_of::<RequestHead>()
            + r.headers.heap_bytes()
            + r.method.capacity()
            + r.target.capacity();
        let response = self
            .response
            .as_ref()
            .map_or(0, |r| r.headers.heap_bytes() + r.reason.capacity());
        let after = self.after_upgrade.as_ref().map_or(0, |a| {
            std::mem::size_of::<AfterUpgrade>()
                + a.server_close.as_ref().map_or(0, |(_, t)| t.capacity())
                + a.server_http.as_ref().map_or(0, Vec::capacity)
        });
        request
            + response
            + after
            + self.interim.capacity() * std::mem::size_of::<u16>()
            + self.body_excerpt.as_ref().map_or(0, Vec::capacity)
            + self
                .tls
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<TlsInfo>())
            + self
                .h2
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<H2Info>())
            + self
                .proxy_header
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<ProxyHeader>())
    }
}

impl Attempt {
    /// A connection's first request that the server closed or reset
    /// without answering, with every byte it sent captured: what a server
    /// does with a connection whose opening it refuses to read.
    pub fn first_request_dropped(&self) -> bool {
        self.request_index == 0
            && !self.answer_lost
            && matches!(
                self.ending,
                Ending::ServerClosed | Ending::Reset { by_server: true }
            )
    }

    /// [`Attempt::heap_bytes`] of an attempt held boxed, as completed ones
    /// are from their connection to the writer: the box counts too.
    pub fn boxed_bytes(&self) -> usize {
        std::mem::size_of::<Attempt>() + self.heap_bytes()
    }
}

#[cfg(test)]
impl Attempt {
    /// A bare `GET target` from `client` to `server` at 100 s, unanswered:
    /// what tests of the later stages start from.
    pub(crate) fn for_test(client: Endpoint, server: Endpoint, target: &str) -> Attempt {
        Attempt {
            ts: Timestamp::new(100, 0),
            client,
            server,
            request: Arc::new(RequestHead {
                method: "GET".into(),
                target: target.into(),
                minor_version: 1,
                headers: Default::default(),
                head_len: 0,
                cut_short: false,
            }),
            interim: Vec::new(),
            response: None,
            response_ts: None,
            ended_ts: None,
            body_excerpt: None,
            ending: Ending::Answered,
            request_index: 0,
            gap_before_answer: false,
            answer_lost: false,
            after_upgrade: None,
            completed_at: 0,
            packets: PacketNumbers::default(),
            tls: None,
            h2: None,
            proxy_header: None,
        }
    }
}
