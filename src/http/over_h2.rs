//! HTTP/2 connections (h2c with prior knowledge, or `h2` inside decrypted
//! TLS) read by [`crate::h2::H2Connection`]; its RFC 8441 attempts become
//! [`Attempt`]s like HTTP/1.1 ones, with their [`H2Info`].

use super::attempt::{Attempt, Ending, H2Info, PacketNumbers};
use super::conversation::Sink;
use super::head::{HeaderList, RequestHead, ResponseHead};
use crate::capture::Timestamp;
use crate::decode::{BySide, Endpoint, Side};
use crate::h2::fields::Fields;
use crate::h2::{H2Attempt, H2Connection, Side as Peer};
use crate::reassembly::Chunk;

/// One HTTP/2 connection inside a flow.
#[derive(Debug)]
pub struct OverH2 {
    conn: H2Connection<Timestamp>,
    client_dir: Side,
    /// Client and server endpoints.
    ends: Option<(Endpoint, Endpoint)>,
    fin: BySide<bool>,
}

impl OverH2 {
    /// `client_dir` sent the preface; the connection is read from its start.
    pub fn new(client_dir: Side, ends: Option<(Endpoint, Endpoint)>) -> Self {
        OverH2 {
            conn: H2Connection::new(true),
            client_dir,
            ends,
            fin: BySide::default(),
        }
    }

    /// After a 101 to `Upgrade: h2c`: the server's frames come first, and
    /// stream 1 is the upgraded HTTP/1.1 request.
    pub fn after_upgrade(client_dir: Side, ends: Option<(Endpoint, Endpoint)>) -> Self {
        OverH2 {
            conn: H2Connection::after_h2c_upgrade(),
            ..OverH2::new(client_dir, ends)
        }
    }

    /// The capture began after the connection did: the HPACK state is
    /// unknown, so only fields that stand alone are read.
    pub fn mid_connection(client_dir: Side, ends: Option<(Endpoint, Endpoint)>) -> Self {
        OverH2 {
            conn: H2Connection::new(false),
            ..OverH2::new(client_dir, ends)
        }
    }

    fn peer(&self, d: Side) -> Peer {
        if d == self.client_dir {
            Peer::Client
        } else {
            Peer::Server
        }
    }

    pub fn is_finished(&self) -> bool {
        self.fin[Side::Lo] && self.fin[Side::Hi]
    }

    pub fn on_chunk(&mut self, d: Side, chunk: Chunk<'_>, ts: Timestamp, out: &mut Sink<'_>) {
        let side = self.peer(d);
        let mut done = Vec::new();
        match chunk {
            Chunk::Data(data) => self.conn.feed(side, data, ts, &mut |a| done.push(a)),
            Chunk::Gap(_) => self.conn.gap(side),
            Chunk::Fin => {
                self.fin[d] = true;
                if side == Peer::Server {
                    self.conn.finish(&mut |a| done.push(a));
                    return self.emit(done, Ending::ServerClosed, out);
                }
            }
        }
        self.emit(done, Ending::Answered, out);
    }

    pub fn finish(&mut self, ending: Ending, out: &mut Sink<'_>) {
        let mut done = Vec::new();
        self.conn.finish(&mut |a| done.push(a));
        self.emit(done, ending, out);
    }

    /// `unanswered`: the ending of attempts with neither answer nor reset.
    fn emit(&self, done: Vec<H2Attempt<Timestamp>>, unanswered: Ending, out: &mut Sink<'_>) {
        for a in done {
            out.stats.requests += 1;
            out.attempts
                .push(Box::new(self.attempt(a, unanswered, out.packet_no)));
        }
    }

    fn attempt(&self, a: H2Attempt<Timestamp>, unanswered: Ending, packet_no: u64) -> Attempt {
        let unknown = Endpoint {
            ip: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            port: 0,
        };
        let (client, server) = self.ends.unwrap_or((unknown, unknown));
        let ending = match (&a.response, a.reset, a.goaway) {
            (Some(_), _, _) => Ending::Answered,
            (None, Some((side, _)), _) => Ending::Reset {
                by_server: side == Peer::Server,
            },
            (None, None, Some(_)) => Ending::ServerClosed,
            (None, None, None) => unanswered,
        };
        let response_seen = a.response.is_some();
        let response = a.response.as_ref().map(|f| ResponseHead {
            minor_version: 1,
            status: a.status.unwrap_or(0),
            reason: String::new(),
            headers: regular(f, None),
            head_len: 0,
        });
        // `:authority` is HTTP/2's Host.
        let headers = regular(&a.request, a.request.get(":authority"));
        let head_len = a
            .request
            .list
            .iter()
            .map(|(n, v)| n.len() + v.len() + 32)
            .sum();
        Attempt {
            ts: a.at,
            client,
            server,
            request: std::sync::Arc::new(RequestHead {
                method: a.request.get(":method").unwrap_or("(unknown)").to_string(),
                target: a.request.get(":path").unwrap_or("(unknown)").to_string(),
                minor_version: 1,
                headers,
                head_len,
                cut_short: false,
            }),
            interim: Vec::new(),
            response_ts: response.as_ref().map(|_| a.at),
            response,
            ended_ts: None,
            body_excerpt: None,
            ending,
            request_index: a.stream_id / 2,
            gap_before_answer: false,
            answer_lost: false,
            after_upgrade: None,
            completed_at: packet_no,
            // The HTTP/2 layer does not track packets per stream: the packet
            // that settled the attempt stands for both.
            packets: PacketNumbers {
                request: packet_no,
                response: response_seen.then_some(packet_no),
            },
            tls: None,
            h2: Some(Box::new(H2Info {
                stream_id: a.stream_id,
                connect_enabled: a.connect_enabled,
                reset: a.reset.map(|(s, code)| (s == Peer::Server, code)),
                goaway: a.goaway,
                incomplete: a.incomplete,
            })),
            proxy_header: None,
        }
    }
}

/// The fields that are not pseudo-headers, as HTTP/1.1-style headers, after
/// `host` when there is one.
fn regular(f: &Fields, host: Option<&str>) -> HeaderList {
    let host = host.map(|h| ("host", h.as_bytes()));
    host.into_iter()
        .chain(
            f.list
                .iter()
                .filter(|(n, _)| !n.starts_with(':'))
                .map(|(n, v)| (n.as_str(), v.as_bytes())),
        )
        .collect()
}
