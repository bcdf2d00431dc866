//! HTTP inside TLS: a connection whose client spoke TLS from its first byte
//! is read by a [`TlsConnection`]; with the connection's secrets (a key log)
//! the decrypted bytes of each direction go through an inner
//! [`Connection`] exactly as clear-text ones do, and its attempts carry
//! the TLS facts.

use super::attempt::TlsInfo;
use super::connection::{Connection, PacketFlags};
use super::conversation::{Sink, TlsSighting};
use crate::capture::Timestamp;
use crate::decode::{BySide, Endpoint, Side};
use crate::reassembly::Chunk;
use crate::tls::hello::version_name;
use crate::tls::record::HeaderWalker;
use crate::tls::{KeyLog, KeySource, Keys, Side as Peer, TlsConnection};

/// The TLS state of one connection and the HTTP read from inside it.
#[derive(Debug)]
pub struct Secure {
    tls: TlsConnection,
    inner: Connection,
    /// Index of the client's direction in the outer conversation.
    client_dir: Side,
    /// A hole in either direction: records are lost, nothing more opens.
    broken: bool,
    /// Time of the last bytes, for what a last look at the key log opens.
    last_ts: Option<Timestamp>,
    /// Some record was opened (counted once in the stats).
    opened: bool,
    /// The key log held this connection's secrets (counted once).
    keyed: bool,
    /// The client's records walked until it sends application data (see
    /// [`HeaderWalker`]); `None` once it has, or its bytes stopped framing.
    watch: Option<Box<ClientWatch>>,
}

/// The client's side of a connection, watched for its first application
/// data.
#[derive(Debug)]
struct ClientWatch {
    walker: HeaderWalker,
    /// Application-data records begun so far.
    seen: u32,
    /// (client, server).
    ends: (Endpoint, Endpoint),
}

/// What the plaintext connection hears of each packet: a SYN from its
/// client (a SYN-ACK from the server), and bytes to come.
fn plaintext_opening(d: Side, client_dir: Side) -> PacketFlags {
    PacketFlags {
        syn: true,
        ack: d != client_dir,
        carries: true,
        data: false,
    }
}

impl Secure {
    /// `client_dir` spoke TLS first; `ends` are the two directions'
    /// (sender, receiver) as far as known.
    pub fn new(client_dir: Side, ends: BySide<Option<(Endpoint, Endpoint)>>) -> Self {
        let mut inner = Connection::default();
        for d in Side::BOTH {
            if let Some((src, dst)) = &ends[d] {
                // The plaintext starts at its first byte in both directions.
                inner.note_packet(d, src, dst, plaintext_opening(d, client_dir));
            }
        }
        let watch = ends[client_dir].map(|ends| {
            Box::new(ClientWatch {
                walker: HeaderWalker::default(),
                seen: 0,
                ends,
            })
        });
        Secure {
            tls: TlsConnection::new(),
            inner,
            client_dir,
            broken: false,
            last_ts: None,
            opened: false,
            keyed: false,
            watch,
        }
    }

    pub fn note_packet(&mut self, d: Side, src: &Endpoint, dst: &Endpoint) {
        self.inner
            .note_packet(d, src, dst, plaintext_opening(d, self.client_dir));
    }

    fn peer(&self, d: Side) -> Peer {
        if d == self.client_dir {
            Peer::Client
        } else {
            Peer::Server
        }
    }

    /// What the handshake said, for the attempts (read from inside, so
    /// `decrypted`) and the correlator.
    pub fn info(&self) -> TlsInfo {
        let f = &self.tls.facts;
        TlsInfo {
            sni: f.sni.clone(),
            alpn: f.alpn.clone(),
            alpn_offered: f.alpn_offered.clone(),
            version: f.version.map(version_name),
            decrypted: true,
        }
    }

    pub fn on_chunk(
        &mut self,
        d: Side,
        chunk: Chunk<'_>,
        ts: Timestamp,
        keys: Option<&Keys>,
        out: &mut Sink<'_>,
    ) {
        let first = out.attempts.len();
        if d == self.client_dir {
            self.watch_client(&chunk, ts, out);
        }
        if self.broken && !matches!(chunk, Chunk::Fin) {
            // Read only for the watch: its bytes and holes are nothing to
            // the rest, which heard a stream that stopped being read.
            return;
        }
        // Without keys nothing but the hellos can be read: once they are,
        // the rest of the connection is passed over.
        let spent = match keys {
            None => self.tls.negotiated(),
            Some(_) => self.tls.is_idle(),
        };
        if spent && !self.broken {
            self.tls.stop_reading();
            self.broken = true;
        }
        match chunk {
            Chunk::Data(data) if !self.broken => self.decrypt(d, data, ts, keys, out),
            Chunk::Data(_) => {}
            Chunk::Gap(n) => {
                // Records after a hole never open: what is held is let go.
                if !self.broken {
                    self.tls.stop_reading();
                }
                self.broken = true;
                self.inner.on_chunk(d, Chunk::Gap(n), ts, out);
            }
            Chunk::Fin => {
                self.last_look(ts, keys, out);
                self.inner.on_chunk(d, Chunk::Fin, ts, out)
            }
        }
        self.last_ts = Some(ts);
        self.stamp(first, out);
    }

    /// Tell the correlator when the client sends its first application
    /// data: under TLS 1.3 its first application-data record is its
    /// Finished, under 1.2 (whose Finished is a handshake record) it is
    /// data. Until the ServerHello is read the version is a guess, and the
    /// later of the two is waited for.
    fn watch_client(&mut self, chunk: &Chunk<'_>, ts: Timestamp, out: &mut Sink<'_>) {
        let Some(w) = self.watch.as_deref_mut() else {
            return;
        };
        let Chunk::Data(bytes) = chunk else {
            // A hole loses the framing; the end, anything to come.
            self.watch = None;
            return;
        };
        match w.walker.walk(bytes) {
            Ok(n) => w.seen += n,
            Err(_) => {
                self.watch = None;
                return;
            }
        }
        let data_from = if self.tls.negotiated_before_tls13() {
            1
        } else {
            2
        };
        if w.seen >= data_from {
            let (client, server) = w.ends;
            out.tls.push(TlsSighting {
                ts,
                no: out.packet_no,
                client,
                server,
                hello: None,
                h2c: false,
                data: true,
            });
            self.watch = None;
        }
    }

    /// Open what the records of direction `d` hold and read it as HTTP.
    fn decrypt(
        &mut self,
        d: Side,
        data: &[u8],
        ts: Timestamp,
        keys: Option<&Keys>,
        out: &mut Sink<'_>,
    ) {
        let empty = KeyLog::default();
        let keys: &dyn KeySource = match keys {
            Some(k) => k,
            None => &empty,
        };
        let mut plain: Vec<(Peer, Vec<u8>)> = Vec::new();
        let peer = self.peer(d);
        self.tls
            .feed(peer, data, keys, &mut |s, p| plain.push((s, p.to_vec())));
        if !plain.is_empty() && !self.opened {
            self.opened = true;
            out.stats.tls_decrypted += 1;
        }
        if !self.keyed && self.tls.progress.keys_found {
            self.keyed = true;
            out.stats.tls_keyed += 1;
        }
        for (s, p) in plain {
            let pd = if s == Peer::Client {
                self.client_dir
            } else {
                self.client_dir.other()
            };
            self.inner.on_chunk(pd, Chunk::Data(&p), ts, out);
        }
    }

    /// Records held for secrets a live key log had not written yet get a
    /// last chance before the connection's end is read: no later bytes
    /// would ask again.
    fn last_look(&mut self, ts: Timestamp, keys: Option<&Keys>, out: &mut Sink<'_>) {
        if !self.broken && keys.is_some_and(|k| k.may_grow()) {
            self.decrypt(self.client_dir, &[], ts, keys, out);
        }
    }

    pub fn on_reset(&mut self, d: Side, ts: Timestamp, out: &mut Sink<'_>) {
        let first = out.attempts.len();
        self.inner.on_reset(d, ts, out);
        self.stamp(first, out);
    }

    pub fn finish(&mut self, ending: super::Ending, out: &mut Sink<'_>) {
        let first = out.attempts.len();
        if let Some(ts) = self.last_ts {
            let limits = out.limits;
            self.last_look(ts, limits.tls_keys.as_deref(), out);
        }
        self.inner.finish(ending, out);
        self.stamp(first, out);
    }

    pub fn release_watch(&mut self, now: Timestamp, out: &mut Sink<'_>) {
        let first = out.attempts.len();
        self.inner.release_watch(now, out);
        self.stamp(first, out);
    }

    /// Bytes held: records waiting to be whole, and the inner HTTP's.
    pub fn buffered_bytes(&self) -> usize {
        use crate::reassembly::FlowState;
        // Asked after every segment; a broken connection stopped reading
        // and holds no records.
        debug_assert!(!self.broken || self.tls.buffered() == 0);
        let records = if self.broken { 0 } else { self.tls.buffered() };
        records + self.inner.buffered_bytes()
    }

    pub fn inner(&self) -> &Connection {
        &self.inner
    }

    /// Whether direction `d` is read. Nothing more opens once there are no
    /// keys and the hellos were read, the keys' records are spent, or a
    /// hole came; then only the client is read, while it is watched for its
    /// first data, and the reassembler stops buffering and delivering the
    /// rest. On a server host without keys that is most of the TLS traffic,
    /// which otherwise went through reassembly only to be dropped here.
    pub fn wants_bytes(&self, d: Side) -> bool {
        !self.broken || (d == self.client_dir && self.watch.is_some())
    }

    /// Some direction will not be read again (see [`Self::wants_bytes`]).
    pub fn reads_less(&self) -> bool {
        self.broken
    }

    pub fn inner_mut(&mut self) -> &mut Connection {
        &mut self.inner
    }

    /// Attempts the inner conversation just produced came through TLS.
    fn stamp(&self, first: usize, out: &mut Sink<'_>) {
        if out.attempts.len() > first {
            let info = self.info();
            for a in &mut out.attempts[first..] {
                a.tls = Some(Box::new(info.clone()));
            }
        }
    }
}
