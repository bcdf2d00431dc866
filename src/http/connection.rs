//! One TCP connection's protocol state, the flow table's per-flow value:
//! HTTP/1.x ([`Conversation`]) until the first bytes show TLS or the
//! HTTP/2 preface; from then on the [`Layer`] that reads that protocol takes
//! every call. The TLS layer reads its decrypted bytes through a connection
//! of its own, so HTTP/2 inside TLS is found the same way.

use super::attempt::TlsInfo;
use super::before_payload::BeforePayload;
use super::conversation::{Conversation, Handover, HandoverKind, Sink, TlsSighting};
use super::layer::Layer;
use super::opening::{ConnectFailed, Opening};
use super::over_h2::OverH2;
use super::secure::Secure;
use crate::capture::Timestamp;
use crate::decode::{BySide, Endpoint, Side, TcpFlags};
use crate::reassembly::{Chunk, FlowState};

/// What [`Connection::note_packet`] reads of a packet besides its endpoints.
#[derive(Debug, Clone, Copy)]
pub struct PacketFlags {
    pub syn: bool,
    pub ack: bool,
    /// Payload or a FIN: something its stream may deliver.
    pub carries: bool,
    /// Payload.
    pub data: bool,
}

#[derive(Debug, Default)]
pub struct Connection {
    http: Http,
    /// Set once the connection turned out to carry TLS or HTTP/2 (boxed:
    /// most connections never need it).
    layer: Option<Box<Layer>>,
    /// The TCP opening, for a connect that failed before any byte.
    opening: Opening,
    /// Set, with the FINs seen by side, once the conversation has settled
    /// (see [`Conversation::settled`]) and was dropped: a WebSocket
    /// connection then costs the table its entry alone for the rest of its
    /// life, and its packets touch nothing else.
    settled: Option<BySide<bool>>,
}

/// The HTTP/1.x reader, built at the first packet that carries bytes or a
/// FIN (whatever a stream delivers comes after one): until then a
/// connection costs the flow table a few bytes (see [`BeforePayload`]).
#[derive(Debug, Default)]
struct Http {
    before: BeforePayload,
    talking: Option<Box<Conversation>>,
}

impl Http {
    /// The conversation, built now if the connection had no byte yet; `now`
    /// is the packet being read, which gives the endpoints.
    fn talking_at(&mut self, now: Option<(Side, Endpoint, Endpoint)>) -> &mut Conversation {
        let before = &mut self.before;
        self.talking
            .get_or_insert_with(|| Box::new(std::mem::take(before).into_conversation(now)))
    }

    /// The conversation for what a stream delivers: built at the packet
    /// that carried it (see [`Connection::note_packet`]), so never here
    /// but for a caller that skipped that; its endpoints are then unknown.
    fn talking(&mut self) -> &mut Conversation {
        self.talking_at(None)
    }

    /// The conversation if it exists: a connection without one has no
    /// attempt, no watch and no buffered byte.
    fn get(&self) -> Option<&Conversation> {
        self.talking.as_deref()
    }
}

impl Connection {
    /// The HTTP/1.x reader, once built (for tests that look inside it).
    #[cfg(test)]
    pub(super) fn conversation(&self) -> Option<&Conversation> {
        self.http.get()
    }
}

impl Connection {
    /// See [`Conversation::note_packet`]; once a layer took over, only it.
    /// A packet that `carries` bytes or a FIN builds the conversation,
    /// before its stream delivers anything.
    pub fn note_packet(&mut self, d: Side, src: &Endpoint, dst: &Endpoint, p: PacketFlags) {
        if self.settled.is_some() {
            return;
        }
        let PacketFlags {
            syn,
            ack,
            carries,
            data,
        } = p;
        match (&mut self.layer, &mut self.http.talking) {
            (Some(l), _) => l.note_packet(d, src, dst),
            (None, Some(c)) => {
                c.note_packet(d, src, dst, syn, ack);
                if data && !syn {
                    c.note_data(d);
                }
            }
            (None, None) => {
                self.http.before.note_packet(d, syn, ack);
                if carries {
                    self.http.talking_at(Some((d, *src, *dst)));
                }
            }
        }
    }

    /// See [`Opening::note`]: a refused or unanswered connect comes out once.
    pub fn note_opening(
        &mut self,
        d: Side,
        ends: (Endpoint, Endpoint),
        flags: TcpFlags,
        ts: Timestamp,
    ) -> Option<ConnectFailed> {
        self.opening.note(d, ends, flags, ts)
    }

    pub fn is_upgraded(&self) -> bool {
        if self.settled.is_some() {
            return true;
        }
        match &self.layer {
            Some(l) => l.is_upgraded(),
            None => self.http.get().is_some_and(Conversation::is_upgraded),
        }
    }

    /// Whether a direction may stop being read ([`wants_bytes`](Self::wants_bytes)
    /// says which): once upgraded, or once a TLS layer can open nothing more.
    pub fn may_stop_reading(&self) -> bool {
        self.is_upgraded() || self.layer.as_ref().is_some_and(|l| l.reads_less())
    }

    pub fn wants_bytes(&self, d: Side) -> bool {
        if self.settled.is_some() {
            return false;
        }
        match &self.layer {
            Some(l) => l.wants_bytes(d),
            None => self.http.get().is_none_or(|c| c.wants_bytes(d)),
        }
    }

    pub fn take_new_watch(&mut self) -> Option<Timestamp> {
        match &mut self.layer {
            Some(l) => l.take_new_watch(),
            None => self.http.talking.as_mut()?.take_new_watch(),
        }
    }

    pub fn release_watch(&mut self, now: Timestamp, out: &mut Sink<'_>) {
        match &mut self.layer {
            Some(l) => l.release_watch(now, out),
            None => {
                if let Some(c) = &mut self.http.talking {
                    c.release_watch(now, out);
                    self.settle();
                }
            }
        }
    }

    /// Drop the conversation once it has settled.
    fn settle(&mut self) {
        if let Some(fins) = self.http.get().and_then(Conversation::settled) {
            self.http.talking = None;
            self.settled = Some(fins);
        }
    }

    pub fn is_finished(&self) -> bool {
        if let Some(fins) = &self.settled {
            return fins.iter().all(|&f| f);
        }
        match &self.layer {
            Some(l) => l.is_finished(),
            None => self.http.get().is_some_and(Conversation::is_finished),
        }
    }

    pub fn on_chunk(&mut self, d: Side, chunk: Chunk<'_>, ts: Timestamp, out: &mut Sink<'_>) {
        if let Some(fins) = &mut self.settled {
            if let Chunk::Fin = chunk {
                fins[d] = true;
            }
            return;
        }
        match &mut self.layer {
            Some(l) => l.on_chunk(d, chunk, ts, out),
            None => {
                self.http.talking().on_chunk(d, chunk, ts, out);
                self.after_http(out);
            }
        }
    }

    /// What the HTTP/1.x reader found after a chunk: a tunnel starts a new
    /// conversation (which may find TLS or HTTP/2 in its first bytes, or
    /// another CONNECT), another protocol a layer; else the reader may
    /// have settled.
    fn after_http(&mut self, out: &mut Sink<'_>) {
        while let Some(h) = self.http.talking.as_mut().and_then(|c| c.take_handover()) {
            if h.kind == HandoverKind::Tunnel {
                let mut inner = Conversation::in_tunnel(&h);
                if !h.bytes.is_empty() {
                    inner.on_chunk(h.from, Chunk::Data(&h.bytes), h.ts, out);
                }
                self.http.talking = Some(Box::new(inner));
                continue;
            }
            self.take_over(*h, out);
            // From here on the layer takes every call: the HTTP/1.x
            // reader would only cost the table its size, for each
            // of what can be tens of thousands of TLS connections.
            self.http.talking = None;
            return;
        }
        self.settle();
    }

    /// A settled connection has nothing left to report.
    pub fn on_reset(&mut self, d: Side, ts: Timestamp, out: &mut Sink<'_>) {
        if self.settled.is_some() {
            return;
        }
        match &mut self.layer {
            Some(l) => l.on_reset(d, ts, out),
            // Nothing was ever read: nothing to report.
            None => {
                if let Some(c) = self.http.talking.as_deref_mut() {
                    c.on_reset(d, ts, out);
                }
            }
        }
    }

    pub fn finish(&mut self, ending: super::Ending, out: &mut Sink<'_>) {
        if self.settled.is_some() {
            return;
        }
        match &mut self.layer {
            Some(l) => l.finish(ending, out),
            None => {
                if let Some(c) = self.http.talking.as_deref_mut() {
                    c.finish(ending, out);
                }
            }
        }
    }

    /// Start the layer the HTTP/1.x reader found, with the bytes it began
    /// with. The correlator hears of it: a TLS client leg pairs with a
    /// proxy's plain backend leg, and an HTTP/2 backend leg cannot carry an
    /// HTTP/1.1 upgrade.
    fn take_over(&mut self, h: Handover, out: &mut Sink<'_>) {
        let client = h.ends[h.client];
        let layer = match h.kind {
            HandoverKind::Tls => {
                out.stats.tls_connections += 1;
                let mut secure = Secure::new(h.client, h.ends);
                let limits = out.limits;
                let keys = limits.tls_keys.as_deref();
                secure.on_chunk(h.from, Chunk::Data(&h.bytes), h.ts, keys, out);
                if let Some((client, server)) = client {
                    let info = TlsInfo {
                        decrypted: false,
                        ..secure.info()
                    };
                    out.tls.push(TlsSighting {
                        ts: h.ts,
                        no: out.packet_no,
                        client,
                        server,
                        hello: (info.sni.is_some() || !info.alpn_offered.is_empty())
                            .then(|| Box::new(info)),
                        h2c: false,
                        data: false,
                    });
                }
                Layer::Tls(secure)
            }
            // Read by a new conversation instead (see `after_http`).
            HandoverKind::Tunnel => return,
            HandoverKind::H2 | HandoverKind::H2Upgrade | HandoverKind::H2MidConnection => {
                if let Some((client, server)) = client {
                    out.tls.push(TlsSighting {
                        ts: h.ts,
                        no: out.packet_no,
                        client,
                        server,
                        hello: None,
                        h2c: true,
                        data: false,
                    });
                }
                let mut h2 = if h.kind == HandoverKind::H2Upgrade {
                    OverH2::after_upgrade(h.client, client)
                } else if h.kind == HandoverKind::H2MidConnection {
                    OverH2::mid_connection(h.client, client)
                } else {
                    OverH2::new(h.client, client)
                };
                h2.on_chunk(h.from, Chunk::Data(&h.bytes), h.ts, out);
                Layer::H2(h2)
            }
        };
        self.layer = Some(Box::new(layer));
    }
}

impl FlowState for Connection {
    fn buffered_bytes(&self) -> usize {
        match &self.layer {
            Some(l) => l.buffered_bytes(),
            None => self.http.get().map_or(0, Conversation::buffered_bytes),
        }
    }

    /// The conversation and the layer, once built: a connection with
    /// neither costs nothing beyond its table entry.
    fn structure_bytes(&self) -> usize {
        self.http
            .get()
            .map_or(0, |_| std::mem::size_of::<Conversation>() + 16)
            + self
                .layer
                .as_ref()
                .map_or(0, |_| std::mem::size_of::<Layer>() + 16)
    }

    fn prefetch_parts(&self) {
        match &self.layer {
            Some(l) => crate::hint::prefetch_all(&**l),
            None => {
                if let Some(c) = self.http.get() {
                    crate::hint::prefetch_all(c);
                }
            }
        }
    }

    /// An HTTP/2 connection always is: its streams are not tracked one by
    /// one, and such connections are few.
    fn at_stake(&self) -> bool {
        match &self.layer {
            Some(l) => l.at_stake(),
            None => self.http.get().is_some_and(Conversation::at_stake),
        }
    }

    fn shed(&mut self) -> usize {
        match &mut self.layer {
            Some(_) => 0,
            None => self.http.talking.as_mut().map_or(0, |c| c.shed()),
        }
    }
}
