//! Reasoning across attempts: the two legs of an attempt that crosses a reverse
//! proxy (same `Sec-WebSocket-Key`, a random nonce, on two connections moments
//! apart), proxy marks on a lone backend leg, and comparison of a refusal with the
//! attempts the same server accepted.
//!
//! Attempts are held for a short window of packet time so the other leg can
//! arrive, then released in a deterministic order.

use std::borrow::Borrow;
use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::time::Duration;

use super::engine_io::{self, SidMemory};
use super::keyless_legs::KeylessLegs;
use super::session_end::SessionJudge;
use super::strict::{Spelled, Spelling};
use super::{classify, grammar, proxy, rules, Cause, Confidence, Outcome, Verdict};
use crate::capture::Timestamp;
use crate::decode::Endpoint;
use crate::http::session::{EndedBy, SessionEnd};
use crate::http::{
    Attempt, ConnectFailed, ConnectFailure, Ending, Headers, SidIssued, TlsSighting,
};

/// The correlator's maps are keyed by what peers send (keys, addresses):
/// hashed as the flow table hashes its keys, with a per-run seed, instead of
/// with SipHash, which was a twentieth of the reporter's instructions on a
/// capture of many handshakes.
pub(super) type HashMap<K, V> =
    std::collections::HashMap<K, V, crate::reassembly::table::FlowHasher>;

/// Which side of a proxy an attempt was seen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    Direct,
    Client,
    Backend,
}

impl Leg {
    pub fn code(self) -> &'static str {
        match self {
            Leg::Direct => "direct",
            Leg::Client => "client",
            Leg::Backend => "backend",
        }
    }
}

/// An attempt with its verdict and its place among proxy legs.
#[derive(Debug, Clone)]
pub struct Judged {
    /// Boxed, as it was completed: a judged attempt is moved several times
    /// between the worker, the judge's lists and the writer.
    pub attempt: Box<Attempt>,
    pub verdict: Verdict,
    pub leg: Leg,
    /// The other leg as `client>server`.
    pub peer: Option<String>,
    /// The proxy family the attempt went through, when the capture shows it.
    pub proxy: Option<&'static str>,
    /// Set for the abnormal end of an accepted session (`--sessions`): the
    /// record is a `session_end`, `attempt` its handshake.
    pub session: Option<Box<SessionEnd>>,
}

/// An attempt with the verdict it gets on its own, before any comparison
/// with others. Classified where the attempt completed (a flow worker, in
/// parallel and while the attempt's bytes are still in that core's cache);
/// the one correlating thread then only compares.
#[derive(Debug)]
pub struct Classified {
    pub attempt: Box<Attempt>,
    pub verdict: Verdict,
}

impl Classified {
    pub fn new(attempt: Box<Attempt>) -> Classified {
        Classified {
            verdict: classify(&attempt),
            attempt,
        }
    }
}

/// How far apart two legs of one attempt may be. A proxy forwards at once;
/// a few seconds covers a slow upstream connect.
pub const LEG_WINDOW: Duration = Duration::from_secs(5);
/// The same for two legs that carry one random key, which links them
/// whatever the time between. An attempt's time is its first byte, and a
/// proxy forwards once the head is whole: a slow client (a mobile link, a
/// request sent in pieces) may take as long as the proxy waits for a head,
/// 60 s in nginx's default `client_header_timeout`.
const KEYED_LEG_WINDOW: Duration = Duration::from_secs(60);
/// Packet time an attempt is held waiting for its other leg.
pub const HOLD: Duration = Duration::from_millis(500);
/// Accepted origins remembered per server endpoint.
const MAX_ORIGINS: usize = 16;
/// Server endpoints remembered for comparison.
const MAX_ENDPOINTS: usize = 4096;
/// Attempts held at once; past this the oldest are released early, so memory
/// stays bounded under a flood of attempts.
const MAX_HELD: usize = 65_536;
/// Bytes of held attempts (their own and their heap's), past which the oldest
/// are released early too. A browser's handshake takes about 2 KiB held,
/// several times that with large cookies: a storm of 100 000 attempts a
/// second of packet time, held 500 ms each, would otherwise keep 100 MB or
/// more. 4 MiB holds some 2000 browser handshakes, over 100 ms of such a
/// storm, where a proxy forwards in milliseconds. Released early, an
/// attempt still pairs with a leg that completes later (see `recent`),
/// though only that leg's record can then say so.
const MAX_HELD_BYTES: usize = 4 << 20;

#[derive(Default)]
pub struct Correlator {
    /// Boxed: a judged attempt is over 500 bytes, and a B-tree shifts its
    /// neighbours in the node on every insert and removal (about a fifth of
    /// the judge's copying on a storm of handshakes).
    held: BTreeMap<u64, Box<Judged>>,
    /// What the held attempts take, by `held_cost`.
    held_bytes: usize,
    next_id: u64,
    /// Held attempts by key; several when unrelated clients send one constant
    /// key.
    by_key: HashMap<Vec<u8>, Vec<u64>>,
    /// Held attempts by where their other leg would be (host and target):
    /// those without a key, and those with one for the extended CONNECTs,
    /// whose proxy makes up the backend leg's key.
    keyless: KeylessLegs,
    /// Held extended CONNECTs (HTTP/2): while there are none, an attempt
    /// with a key looks for its other leg by that key alone.
    held_h2_connects: usize,
    accepted_origins: HashMap<Endpoint, Vec<String>>,
    /// How accepted requests spelled Origin, path, Upgrade, Connection and
    /// the header names, per server endpoint: a refusal that differs from
    /// one of them only in a spelling the RFCs allow is a strict server's.
    accepted_spellings: HashMap<Endpoint, Vec<Spelling>>,
    /// The target queries of accepted requests, per server endpoint: a
    /// server that closes without an answer where it accepted the same path
    /// with another query did not know what the query names.
    accepted_queries: HashMap<Endpoint, Vec<AcceptedQuery>>,
    /// Servers that answered a connection opened with a PROXY protocol
    /// header: they read it, so they expect it (see `proxy_header_missing`).
    proxy_protocol_servers: HashMap<Endpoint, ()>,
    /// Servers that accepted an upgrade whose Origin names another host
    /// than its Host: they do not compare the two.
    cross_host_accepted: HashMap<Endpoint, ()>,
    /// Which server issued recent Engine.IO session ids.
    sids: SidMemory,
    /// The Engine.IO protocol revisions (`EIO=`, one bit each) of the
    /// upgrades each server endpoint accepted.
    accepted_eio: HashMap<Endpoint, u8>,
    /// Recent TLS connections by server address, newest last, for backend
    /// legs whose client leg was encrypted.
    tls: HashMap<IpAddr, VecDeque<TlsSeen>>,
    /// The servers of those connections, oldest first, for forgetting them.
    tls_order: VecDeque<IpAddr>,
    /// Recent HTTP/2 prior-knowledge connections by client address (a
    /// proxy's backend legs in HTTP/2), newest last.
    h2c: HashMap<IpAddr, VecDeque<TlsSighting>>,
    h2c_order: VecDeque<IpAddr>,
    /// Recent connects refused or left unanswered, by the connecting host
    /// (a proxy whose backend is down), newest last.
    connects: HashMap<IpAddr, VecDeque<ConnectFailed>>,
    connects_order: VecDeque<IpAddr>,
    /// Attempts with a key released alone moments ago, by key: a leg that
    /// completes late (a slow client side) still finds its peer, though only
    /// the late leg can still be corrected.
    recent: HashMap<Vec<u8>, Vec<(u64, Judged)>>,
    /// What the attempts in `recent` take, by `held_cost`.
    recent_bytes: usize,
    /// The same attempts oldest first, for forgetting them: backend legs
    /// apart from the rest (see `remember_recent`).
    recent_order: VecDeque<(u64, Timestamp, Vec<u8>)>,
    recent_backends: VecDeque<(u64, Timestamp, Vec<u8>)>,
    /// Idle gaps of earlier session ends, per server.
    session_ends: SessionJudge,
    /// How accepted attempts were judged (leg, peer, proxy), by connection,
    /// for their sessions' ends; oldest first in `opened_order`.
    opened: HashMap<(Endpoint, Endpoint), Opened>,
    opened_order: VecDeque<(Endpoint, Endpoint)>,
}

/// Accepted connections remembered for their sessions' ends.
const MAX_OPENED: usize = 16_384;

/// How an accepted attempt was judged: leg, peer and proxy family.
type Opened = (Leg, Option<String>, Option<&'static str>);

/// Released attempts remembered for late legs.
const MAX_RECENT: usize = 4096;
/// Attempts found by one key, held or recent, at most: the newest. A random
/// key is sent by one client and forwarded once; a key shared by more is a
/// constant one (clients that hard-code the RFC's sample key exist), and a
/// storm of them made every new attempt check every held one with its key,
/// quadratic in the storm (16 s for 30 000 handshakes). A proxy forwards in
/// moments, so its other leg is among the newest. Held attempts without a
/// key are found by host and target under the same bound (`keyless_legs`).
pub(super) const MAX_SAME_KEY: usize = 64;
/// Bytes of those, by `held_cost`: a slimmed attempt keeps its request,
/// and requests with large cookies would make 4096 of them tens of MB.
const MAX_RECENT_BYTES: usize = 4 << 20;

/// What a held attempt counts against `MAX_HELD_BYTES`: the same whenever
/// asked, since a held attempt is not changed.
fn held_cost(j: &Judged) -> usize {
    std::mem::size_of::<(u64, Judged)>() + j.attempt.boxed_bytes() + j.verdict.evidence.capacity()
}

fn key_of(a: &Attempt) -> Option<Vec<u8>> {
    a.request
        .header("sec-websocket-key")
        .map(|h| h.value.trim_ascii().to_vec())
        .filter(|k| !k.is_empty())
}

/// TLS connections remembered for matching backend legs.
const MAX_TLS: usize = 4096;

fn conn(a: &Attempt) -> String {
    format!("{}>{}", a.client, a.server)
}

fn done_ts(a: &Attempt) -> Timestamp {
    a.response_ts.unwrap_or(a.ts)
}

/// Where an attempt's request and its end stand among the capture's events:
/// by time, and among events stamped alike (a capture written with one
/// timestamp for many packets) by packet order.
fn request_at(a: &Attempt) -> (Timestamp, u64) {
    (a.ts, a.packets.request)
}

fn done_at(a: &Attempt) -> (Timestamp, u64) {
    match (a.response_ts, a.packets.response) {
        (Some(ts), Some(no)) => (ts, no),
        (Some(ts), None) => (ts, u64::MAX),
        (None, _) => (a.ts, u64::MAX),
    }
}

fn carries_upgrade(a: &Attempt) -> bool {
    a.request
        .header_joined("upgrade")
        .is_some_and(|v| grammar::list_has(&v, "websocket", true))
}

fn carries_connection_upgrade(a: &Attempt) -> bool {
    a.request
        .header_joined("connection")
        .is_some_and(|v| grammar::list_has(&v, "upgrade", false))
}

/// An accepted request's path, Origin and query: the query's parameter
/// names, and a hash of the whole query, since its values may be
/// credentials (a token) that are compared, never kept or shown.
#[derive(Debug, Clone)]
struct AcceptedQuery {
    path: String,
    origin: Option<Vec<u8>>,
    names: Vec<String>,
    hash: u64,
}

/// A request's path, Origin and query as sent, with the query's hash: what
/// an accepted query is recognised by. Nearly every accepted request repeats
/// one remembered before, so nothing is copied until one does not.
struct QueryOf<'a> {
    path: &'a str,
    origin: Option<&'a [u8]>,
    query: Option<&'a str>,
    hash: u64,
}

impl<'a> QueryOf<'a> {
    fn of(req: &'a crate::http::RequestHead) -> Self {
        use std::hash::{Hash, Hasher};
        let (path, query) = match req.target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (req.target.as_str(), None),
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        query.hash(&mut h);
        QueryOf {
            path,
            origin: req.header("origin").map(|h| h.value.trim_ascii()),
            query,
            hash: h.finish(),
        }
    }

    /// The remembered query `ok` is this one.
    fn is(&self, ok: &AcceptedQuery) -> bool {
        ok.hash == self.hash && ok.path == self.path && ok.origin.as_deref() == self.origin
    }

    fn to_owned_query(&self) -> AcceptedQuery {
        let mut names: Vec<String> = self
            .query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
            .map(|p| p.split('=').next().unwrap_or(p).to_string())
            .collect();
        names.sort();
        names.dedup();
        AcceptedQuery {
            path: self.path.to_string(),
            origin: self.origin.map(<[u8]>::to_vec),
            names,
            hash: self.hash,
        }
    }
}

pub(super) fn header_text(a: &Attempt, name: &str) -> String {
    a.request
        .header(name)
        .map_or("(none)".to_string(), |h| rules::show(h.value))
}

impl Correlator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Judge the abnormal end of an accepted session. The proxy family comes
    /// from the handshake's answer, which names the proxy that later closes.
    pub fn judge_session(&mut self, end: SessionEnd) -> Judged {
        let conn = (end.attempt.client, end.attempt.server);
        let (leg, peer, proxy) = self.opened.get(&conn).cloned().unwrap_or_else(|| {
            let family = end.attempt.response.as_ref().and_then(|r| {
                proxy::family(r, end.attempt.body_excerpt.as_deref().unwrap_or(&[]), None)
            });
            (Leg::Direct, None, family)
        });
        // The side that closed is a proxy: the server of a client leg (or one
        // whose answer names its family), the client of a backend leg.
        let closer_is_proxy = match end.by {
            EndedBy::Server => leg == Leg::Client || proxy.is_some(),
            EndedBy::Client => leg == Leg::Backend,
        };
        let verdict = self.session_ends.judge(&end, closer_is_proxy);
        Judged {
            attempt: end.attempt.clone(),
            verdict,
            leg,
            peer,
            proxy,
            session: Some(Box::new(end)),
        }
    }

    /// Remember how accepted attempts were judged, for their sessions' ends.
    pub fn note_opened(&mut self, judged: &[Judged]) {
        for j in judged {
            if j.verdict.outcome != Outcome::Accepted || j.session.is_some() {
                continue;
            }
            let conn = (j.attempt.client, j.attempt.server);
            if self
                .opened
                .insert(conn, (j.leg, j.peer.clone(), j.proxy))
                .is_none()
            {
                self.opened_order.push_back(conn);
            }
            while self.opened_order.len() > MAX_OPENED {
                if let Some(old) = self.opened_order.pop_front() {
                    self.opened.remove(&old);
                }
            }
        }
    }

    /// Remember a connection whose client spoke TLS (by its server's
    /// address), or HTTP/2 with prior knowledge (by its client's address);
    /// or that a TLS connection's client sent its first data.
    pub fn note_tls(&mut self, t: TlsSighting) {
        if t.data {
            let seen = self.tls.get_mut(&host(t.server.ip)).and_then(|l| {
                l.iter_mut()
                    .rev()
                    .find(|s| s.hello.client == t.client && s.hello.server == t.server)
            });
            if let Some(s) = seen {
                s.data_at.get_or_insert((t.ts, t.no));
            }
            return;
        }
        // A TLS client that offers only h2 will speak HTTP/2 or nothing: as
        // a proxy's backend leg it is as much HTTP/2 as a preface in clear.
        if !t.h2c && offers_only_h2(&t) {
            let ip = host(t.client.ip);
            remember(&mut self.h2c, &mut self.h2c_order, ip, t.clone());
        }
        if t.h2c {
            let ip = host(t.client.ip);
            remember(&mut self.h2c, &mut self.h2c_order, ip, t);
        } else {
            let ip = host(t.server.ip);
            let seen = TlsSeen {
                hello: t,
                data_at: None,
            };
            remember(&mut self.tls, &mut self.tls_order, ip, seen);
        }
    }

    /// Remember a connect that failed, by its client's (the proxy's) host.
    pub fn note_connect(&mut self, f: ConnectFailed) {
        let ip = host(f.client.ip);
        remember(&mut self.connects, &mut self.connects_order, ip, f);
    }

    /// A held attempt that is the other leg of `b` although they share no
    /// key: neither carries one (a client that forgot it, forwarded as is),
    /// or one is an extended CONNECT over HTTP/2 (see `h2_client_of`). The
    /// proxy connects from the address the client connected to, moments
    /// later, for the same target with the same WebSocket version and
    /// User-Agent.
    fn unkeyed_other_leg(&self, b: &Judged) -> Option<u64> {
        // The backend leg nests inside the client leg (see `proxied_by`), and
        // the proxy connects from the address the client connected to: two
        // direct attempts from one host to two of its own servers (loopback)
        // do not nest.
        let client_of = |x: &Attempt, y: &Attempt| {
            same_host(y.client.ip, x.server.ip)
                && forwarded_alike(x, y)
                && proxied_by(x, y)
                && x.request.header("sec-websocket-key").is_none()
                && y.request.header("sec-websocket-key").is_none()
        };
        // Newest first, as a proxy's other leg is among the newest.
        self.keyless.candidates(&b.attempt).into_iter().find(|id| {
            #[cfg(test)]
            LEG_CHECKS.with(|n| n.set(n.get() + 1));
            self.held.get(id).is_some_and(|held| {
                let (a, b) = (&held.attempt, &b.attempt);
                held.leg == Leg::Direct
                    && (client_of(a, b)
                        || client_of(b, a)
                        || h2_client_of(a, b)
                        || h2_client_of(b, a))
            })
        })
    }

    /// Classify an attempt and hold it for its other leg.
    pub fn push(&mut self, attempt: impl Into<Box<Attempt>>) -> Vec<Judged> {
        self.push_classified(Classified::new(attempt.into()))
    }

    /// [`Correlator::push`] for an attempt already classified on its own.
    pub fn push_classified(&mut self, c: Classified) -> Vec<Judged> {
        let Classified { attempt, verdict } = c;
        let id = self.next_id;
        self.next_id += 1;
        let key = key_of(&attempt);
        let mut j = Judged {
            attempt,
            verdict,
            leg: Leg::Direct,
            peer: None,
            proxy: None,
            session: None,
        };
        if let Some(key) = key {
            let held = &self.held;
            let other_id = self.by_key.get(&key).and_then(|ids| {
                ids.iter()
                    .rev()
                    .copied()
                    .find(|i| held.get(i).is_some_and(|o| is_other_leg(o, &j)))
            });
            if let Some(other) = other_id.and_then(|i| self.unhold(i)) {
                self.forget_key(&key, other_id);
                return self.judged_pair(other, j, true);
            }
            let late = edit_list(&mut self.recent, &key, Vec::is_empty, |list| {
                let pos = list.iter().rposition(|(_, r)| is_other_leg(r, &j))?;
                Some(list.remove(pos).1)
            });
            if let Some(mut other) = late.flatten() {
                self.recent_bytes = self.recent_bytes.saturating_sub(held_cost(&other));
                let note = self.pair_legs(&mut other, &mut j);
                self.compare(&mut j);
                note_changes(&mut j, &note);
                return vec![j];
            }
            // A proxy that took an extended CONNECT made this key up.
            if self.held_h2_connects > 0 {
                if let Some(other) = self.unkeyed_other_leg(&j).and_then(|id| self.unhold(id)) {
                    return self.judged_pair(other, j, false);
                }
            }
            let ids = self.by_key.entry(key).or_default();
            ids.push(id);
            if ids.len() > MAX_SAME_KEY {
                ids.remove(0);
            }
        } else if let Some(other) = self.unkeyed_other_leg(&j).and_then(|id| self.unhold(id)) {
            return self.judged_pair(other, j, false);
        }
        self.held_bytes += held_cost(&j);
        // With a key too: it may be the backend leg of an extended CONNECT
        // still to come.
        self.keyless.insert(id, &j.attempt);
        if extended_connect(&j.attempt) {
            self.held_h2_connects += 1;
        }
        self.held.insert(id, Box::new(j));
        let mut out = Vec::new();
        while self.held.len() > MAX_HELD || self.held_bytes > MAX_HELD_BYTES {
            let Some(&oldest) = self.held.keys().next() else {
                break;
            };
            if let Some(j) = self.unhold(oldest) {
                out.push(self.finish(oldest, j));
            }
        }
        out
    }

    /// A proxy's rewritten Host explains a backend's refusal of the Origin
    /// (`rewritten`) only where the backend compares the two: one that
    /// accepted an upgrade whose Origin names another host than its Host
    /// does not, and its refusal is its own Origin rule's (an allow-list).
    fn host_rewrite_disproved(&self, x: &mut Judged, y: &mut Judged) {
        let backend = if x.leg == Leg::Backend { &*x } else { &*y };
        let server = backend.attempt.server;
        if backend.verdict.cause != Cause::HostRewritten
            || !self.cross_host_accepted.contains_key(&server)
        {
            return;
        }
        let origin = header_text(&backend.attempt, "Origin");
        let ev = format!(
            "Origin {origin} was refused by {server}, which accepted upgrades whose Origin names another host than their Host: it does not compare them, so the Host the proxy rewrote is not the reason (answered {})",
            status_of(&backend.attempt).unwrap_or(0)
        );
        for leg in [x, y] {
            leg.verdict.restate(
                Cause::OriginRejected,
                Some("Origin"),
                Confidence::Medium,
                ev.clone(),
            );
        }
    }

    /// Mark two legs (`pair`), with what this correlator knows of the
    /// backend besides. Returns the note of what the proxy changed, for the
    /// caller to add once every later reading of the legs is done.
    fn pair_legs(&self, x: &mut Judged, y: &mut Judged) -> String {
        let note = pair(x, y);
        self.host_rewrite_disproved(x, y);
        note
    }

    /// Pair `mine` with `other`, a held attempt, and judge both. Found by
    /// a key, or (`by_key` false) by comparing requests, when the pairing is
    /// a judgement and neither leg's verdict stays certain.
    fn judged_pair(&mut self, mut other: Judged, mut mine: Judged, by_key: bool) -> Vec<Judged> {
        let note = self.pair_legs(&mut other, &mut mine);
        for x in [&mut other, &mut mine] {
            if !by_key && x.verdict.confidence == Confidence::High {
                x.verdict.confidence = Confidence::Medium;
            }
        }
        let mut out = vec![other, mine];
        for x in out.iter_mut() {
            // A backend leg may be a gateway that gave up after its 101.
            self.backend_connect_failed(x);
            self.compare(x);
            note_changes(x, &note);
        }
        sort(&mut out);
        out
    }

    /// Take an attempt out of `held`.
    fn unhold(&mut self, id: u64) -> Option<Judged> {
        let j = *self.held.remove(&id)?;
        self.held_bytes = self.held_bytes.saturating_sub(held_cost(&j));
        self.keyless.remove(id, &j.attempt);
        if extended_connect(&j.attempt) {
            self.held_h2_connects = self.held_h2_connects.saturating_sub(1);
        }
        Some(j)
    }

    /// Release what has waited long enough at packet time `now` (all when
    /// `now` is `None`, at the end of the capture).
    pub fn release(&mut self, now: Option<Timestamp>) -> Vec<Judged> {
        // Accepted attempts are judged first, so a refusal released with them
        // is compared with what the same endpoint accepted.
        let mut ready: Vec<(bool, u64)> = self
            .held
            .iter()
            .filter(|(_, j)| now.is_none_or(|n| (n - done_ts(&j.attempt)) >= HOLD))
            .map(|(id, j)| (j.verdict.outcome != Outcome::Accepted, *id))
            .collect();
        ready.sort_unstable();
        let ready: Vec<u64> = ready.into_iter().map(|(_, id)| id).collect();
        let mut out = Vec::with_capacity(ready.len());
        for id in ready {
            if let Some(j) = self.unhold(id) {
                out.push(self.finish(id, j));
            }
        }
        if let Some(n) = now {
            for backends in [false, true] {
                // A backend leg's client leg may complete long after it: the
                // proxy's answer to a lossy client is resent with a backoff
                // of seconds. Only a random key pairs legs that far apart.
                let (order, window) = if backends {
                    (&mut self.recent_backends, KEYED_LEG_WINDOW)
                } else {
                    (&mut self.recent_order, LEG_WINDOW)
                };
                let mut stale = Vec::new();
                while order
                    .front()
                    .is_some_and(|(_, done, _)| (n - *done) > window)
                {
                    stale.extend(order.pop_front());
                }
                for (id, _, key) in stale {
                    self.forget_recent(id, &key);
                }
            }
        }
        sort(&mut out);
        out
    }

    /// Drop a held attempt's entry from the key index.
    fn forget_key(&mut self, key: &[u8], id: Option<u64>) {
        edit_list(&mut self.by_key, key, Vec::is_empty, |ids| {
            ids.retain(|i| Some(*i) != id)
        });
    }

    fn forget_recent(&mut self, id: u64, key: &[u8]) {
        let freed = edit_list(&mut self.recent, key, Vec::is_empty, |list| {
            let mut freed = 0;
            list.retain(|(i, j)| {
                let keep = *i != id;
                if !keep {
                    freed += held_cost(j);
                }
                keep
            });
            freed
        });
        self.recent_bytes = self.recent_bytes.saturating_sub(freed.unwrap_or(0));
    }

    /// Keep a lone attempt for a leg that may still complete. When that
    /// memory is full, the oldest attempt that is not a backend leg goes
    /// first: a proxy's backend leg completes before its client leg, which
    /// can come seconds later (a slow client), while thousands of direct
    /// attempts are released alone meanwhile on a busy server.
    fn remember_recent(&mut self, id: u64, key: Vec<u8>, j: &mut Judged) {
        let entry = (id, done_ts(&j.attempt), key.clone());
        if awaits_client_leg(j) {
            self.recent_backends.push_back(entry);
        } else {
            self.recent_order.push_back(entry);
        }
        let kept = slim(j);
        self.recent_bytes += held_cost(&kept);
        // Nearly every key has one attempt: no room reserved for more.
        let same_key = self
            .recent
            .entry(key)
            .or_insert_with(|| Vec::with_capacity(1));
        same_key.push((id, kept));
        if same_key.len() > MAX_SAME_KEY {
            let (_, dropped) = same_key.remove(0);
            self.recent_bytes = self.recent_bytes.saturating_sub(held_cost(&dropped));
        }
        while self.recent_order.len() + self.recent_backends.len() > MAX_RECENT
            || self.recent_bytes > MAX_RECENT_BYTES
        {
            let oldest = match self.recent_order.pop_front() {
                Some(e) => Some(e),
                None => self.recent_backends.pop_front(),
            };
            let Some((id, _, key)) = oldest else {
                break;
            };
            self.forget_recent(id, &key);
        }
    }

    fn finish(&mut self, id: u64, mut j: Judged) -> Judged {
        let key = key_of(&j.attempt);
        if let Some(k) = &key {
            self.forget_key(k, Some(id));
        }
        self.tls_client_leg(&mut j);
        behind_proxy_header(&mut j);
        lone_backend(&mut j);
        j.proxy = match j.leg {
            Leg::Direct => answer_family(&j.attempt, None),
            _ => proxy::request_family(&j.attempt.request),
        };
        lone_client(&mut j);
        self.backend_in_http2(&mut j);
        self.backend_connect_failed(&mut j);
        envoy_without_upgrades(&mut j);
        proxy_page_refusal(&mut j);
        self.compare(&mut j);
        if let Some(k) = key.filter(|_| j.peer.is_none()) {
            self.remember_recent(id, k, &mut j);
        }
        j
    }

    /// A lone attempt coming from the address a TLS connection went to, moments
    /// after it: the backend leg of a TLS-terminating proxy. Of the
    /// connections opened then, the one whose client last started sending
    /// data before the request: a browser opens a spare connection beside
    /// the one it uses, and the spare one carries nothing. Without such
    /// data (a client sighted only by its hello), the newest.
    fn tls_client_leg(&self, j: &mut Judged) {
        if j.leg != Leg::Direct {
            return;
        }
        let a = &j.attempt;
        let Some(to_this_host) = self.tls.get(&host(a.client.ip)) else {
            return;
        };
        let at = request_at(a);
        let opened = |s: &&TlsSeen| {
            let t = &s.hello;
            t.server != a.server && (t.ts, t.no) <= at && (a.ts - t.ts) <= LEG_WINDOW
        };
        let hit = to_this_host
            .iter()
            .filter(opened)
            .filter(|s| s.data_at.is_some_and(|d| d <= at))
            .max_by_key(|s| s.data_at)
            .or_else(|| to_this_host.iter().rev().find(opened))
            .map(|s| &s.hello);
        if let Some(t) = hit {
            j.leg = Leg::Backend;
            j.peer = Some(format!("{}>{}", t.client, t.server));
            // The client's TLS hello names what it asked the proxy for.
            if j.attempt.tls.is_none() {
                j.attempt.tls = t.hello.clone();
            }
        }
    }

    /// A gateway error from a proxy whose host opened an HTTP/2 prior-knowledge
    /// connection while the request waited: the proxy speaks HTTP/2 to its
    /// backend, where the upgrade does not exist.
    fn backend_in_http2(&self, j: &mut Judged) {
        let a = &j.attempt;
        if j.leg == Leg::Backend
            || !matches!(status_of(a), Some(502..=504))
            || !j.verdict.defects.is_empty()
        {
            return;
        }
        let Some(from_proxy) = self.h2c.get(&host(a.server.ip)) else {
            return;
        };
        let hit = from_proxy.iter().rev().find(|t| {
            (t.ts, t.no) >= request_at(a) && (t.ts, t.no) <= done_at(a) && t.server != a.server
        });
        if let Some(t) = hit {
            let how = if t.h2c {
                "with the HTTP/2 preface (h2c)"
            } else {
                "in TLS whose ClientHello offers only h2 in ALPN"
            };
            let ev = format!(
                "the proxy opened {}>{} {how} while this upgrade waited, then answered {}: HTTP/2 has no Upgrade",
                t.client,
                t.server,
                status_of(a).unwrap_or(0)
            );
            j.verdict
                .restate(Cause::BackendIsHttp2, None, Confidence::High, ev);
        }
    }

    /// A gateway error from a proxy whose host failed to connect elsewhere
    /// while the request waited: the connect the proxy made to its backend,
    /// refused (nothing listens there) or unanswered (the address drops it).
    ///
    /// Some proxies answer nothing then: they close the client's connection
    /// (Node's http-proxy, a TCP-mode balancer). A valid request closed or
    /// reset unanswered while its server's host failed such a connect is read
    /// the same way, less surely: the failed connect could be another
    /// program's on that host.
    fn backend_connect_failed(&self, j: &mut Judged) {
        let a = &j.attempt;
        let gateway_error =
            j.verdict.cause == Cause::BackendUnreachable && matches!(status_of(a), Some(502..=504));
        let dropped = j.verdict.cause == Cause::Unknown
            && j.verdict.defects.is_empty()
            && a.response.is_none()
            && !a.answer_lost
            && matches!(
                a.ending,
                Ending::ServerClosed | Ending::ClientClosed | Ending::Reset { by_server: true }
            );
        // A gateway that answers 101 first and connects after (websockify)
        // closes with 1011 or 1014, or resets, when the connect fails.
        let closed_at = a.after_upgrade.as_ref().and_then(|au| {
            let gave_up = au.server_reset
                || au
                    .server_close
                    .as_ref()
                    .is_some_and(|(code, _)| matches!(code, 1011 | 1014));
            let after = std::time::Duration::try_from_secs_f64(au.after_secs?).ok()?;
            gave_up.then(|| done_ts(a) + after)
        });
        let after_101 = matches!(
            j.verdict.cause,
            Cause::ClosedAfterUpgrade | Cause::BackendUnreachable
        ) && closed_at.is_some();
        // The gateway that gave up after its 101 may be a proxy's backend.
        let leg_fits = j.leg == Leg::Direct || (after_101 && j.leg == Leg::Backend);
        if !leg_fits || !(gateway_error || dropped || after_101) {
            return;
        }
        let Some(from_proxy) = self.connects.get(&host(a.server.ip)) else {
            return;
        };
        let end = if gateway_error {
            done_ts(a)
        } else if let Some(t) = closed_at.filter(|_| after_101) {
            t
        } else {
            match a.ended_ts {
                Some(t) => t,
                None => return,
            }
        };
        let seen: Vec<&ConnectFailed> = from_proxy
            .iter()
            .filter(|f| f.ts >= a.ts && f.ts <= end && f.server != a.server && f.client != a.client)
            .collect();
        let Some(last) = seen.last() else {
            return;
        };
        let after = last.ts.secs_since(a.ts) * 1000.0;
        let (times, last_one) = match seen.len() {
            1 => (String::new(), ""),
            n => (format!(" {n} times"), "the last "),
        };
        // Without an answer of its own the server is a proxy only by this.
        let whose = if dropped || after_101 {
            "its host's"
        } else {
            "the proxy's"
        };
        let what = match last.how {
            ConnectFailure::Refused => format!(
                "{whose} connection to {} was refused{times} (RST to its SYN, {last_one}{after:.1} ms after the request)",
                last.server
            ),
            ConnectFailure::Unanswered => format!(
                "{whose} connection to {} timed out{times} (SYN sent again with no SYN-ACK, {last_one}{after:.1} ms after the request)",
                last.server
            ),
        };
        if dropped {
            let how = match a.ending {
                Ending::ServerClosed => "the server closed the connection without answering",
                Ending::ClientClosed => "no answer came before the client gave up",
                _ => "the server reset the connection without answering",
            };
            let then = match a.ending {
                Ending::ClientClosed => "",
                _ => " and dropped the client's connection instead of answering 502",
            };
            j.verdict.restate(
                Cause::BackendUnreachable,
                None,
                Confidence::Medium,
                format!("{how}, after {what}: a proxy that could not reach its backend{then}"),
            );
            return;
        }
        if after_101 {
            let v = &mut j.verdict;
            if v.cause == Cause::BackendUnreachable {
                v.evidence = format!("{}; {what}", v.evidence);
                v.confidence = Confidence::High;
            } else {
                let ev = format!(
                    "{}, after {what}: a gateway that accepted the WebSocket and then could not reach the service it relays to",
                    v.evidence
                );
                v.restate(Cause::BackendUnreachable, None, Confidence::Medium, ev);
            }
            return;
        }
        let v = &mut j.verdict;
        v.evidence = if v.evidence.contains(super::NO_ANSWER) {
            v.evidence.replacen(super::NO_ANSWER, &what, 1)
        } else {
            format!("{}; {what}", v.evidence)
        };
        v.confidence = Confidence::High;
    }

    /// Remember which server issued an Engine.IO session id.
    pub fn note_sid(&mut self, s: SidIssued) {
        self.sids.note(s);
    }

    /// Learn from accepted attempts; sharpen refusals by comparison with them.
    fn compare(&mut self, j: &mut Judged) {
        if j.verdict.cause == Cause::SessionNotSticky {
            self.name_sid_issuer(j);
        } else {
            self.foreign_sid_refused(j);
        }
        let server = j.attempt.server;
        let origin = j
            .attempt
            .request
            .header("origin")
            .map(|h| h.value_str().into_owned());
        self.proxy_header_missing(j);
        if j.verdict.outcome == Outcome::Accepted {
            if let Some(bit) = eio_bit(&j.attempt.request.target) {
                if self.accepted_eio.len() < MAX_ENDPOINTS
                    || self.accepted_eio.contains_key(&server)
                {
                    *self.accepted_eio.entry(server).or_default() |= bit;
                }
            }
            if self.accepted_spellings.len() < MAX_ENDPOINTS
                || self.accepted_spellings.contains_key(&server)
            {
                // Nearly every accepted request is spelled like one before it:
                // compared in place, built only when new.
                let sp = Spelled::of(&j.attempt.request);
                let list = self.accepted_spellings.entry(server).or_default();
                if list.len() < MAX_ORIGINS && !list.iter().any(|ok| sp.same_as(ok)) {
                    list.push(sp.to_owned_spelling());
                }
            }
            let cross_host = origin
                .as_deref()
                .and_then(|o| origin_authority(o.as_bytes()))
                .zip(host_authority(&j.attempt))
                .is_some_and(|(o, h)| !same_authority(&o, &h));
            if cross_host
                && (self.cross_host_accepted.len() < MAX_ENDPOINTS
                    || self.cross_host_accepted.contains_key(&server))
            {
                self.cross_host_accepted.insert(server, ());
            }
            if self.accepted_queries.len() < MAX_ENDPOINTS
                || self.accepted_queries.contains_key(&server)
            {
                let q = QueryOf::of(&j.attempt.request);
                let list = self.accepted_queries.entry(server).or_default();
                if list.len() < MAX_ORIGINS && !list.iter().any(|ok| q.is(ok)) {
                    list.push(q.to_owned_query());
                }
            }
            if let Some(o) = origin {
                if self.accepted_origins.len() < MAX_ENDPOINTS
                    || self.accepted_origins.contains_key(&server)
                {
                    let list = self.accepted_origins.entry(server).or_default();
                    if !list.contains(&o) && list.len() < MAX_ORIGINS {
                        list.push(o);
                        list.sort();
                    }
                }
            }
            return;
        }
        if self.compare_spelling(j, &server) {
            return;
        }
        self.offer_read_untrimmed(j, &server);
        if j.verdict.outcome == Outcome::NoResponse {
            self.silent_close_set_against_accepted(j, &server);
            self.silent_close_on_another_query(j, &server);
            return;
        }
        if self.engine_io_revision_refused(j, &server) {
            return;
        }
        let Some(o) = origin else {
            self.bare_refusal_set_against_accepted(j, &server);
            return;
        };
        let Some(accepted) = self.accepted_origins.get(&server) else {
            return;
        };
        if j.verdict.outcome != Outcome::Rejected {
            return;
        }
        if accepted.contains(&o) {
            proxy_refused(j, &o);
            self.bare_refusal_set_against_accepted(j, &server);
            return;
        }
        let v = &mut j.verdict;
        if matches!(
            v.cause,
            Cause::OriginRejected | Cause::Unknown | Cause::Unauthorized
        ) && v.defects.is_empty()
        {
            v.restate(
                Cause::OriginRejected,
                Some("Origin"),
                Confidence::High,
                format!(
                    "Origin '{}' was refused; accepted origins here: {}",
                    super::printable(o.as_bytes(), 80),
                    accepted.join(", ")
                ),
            );
        }
    }
}

impl Correlator {
    /// A server that answered a connection opened with a PROXY protocol
    /// header (a 101, or a refusal about the request itself) read the
    /// header: it expects one. Such a server closes a connection that
    /// opens without it unanswered (nginx: "broken header"), which alone
    /// looks like any server that closed without answering. Known only from
    /// the connections judged before this one.
    fn proxy_header_missing(&mut self, j: &mut Judged) {
        let a = &j.attempt;
        let v = &j.verdict;
        if a.proxy_header.is_some() {
            let read_it = v.outcome == Outcome::Accepted
                || (v.outcome == Outcome::Rejected
                    && !matches!(v.cause, Cause::UnexpectedProxyProtocol | Cause::Unknown));
            if read_it
                && (self.proxy_protocol_servers.len() < MAX_ENDPOINTS
                    || self.proxy_protocol_servers.contains_key(&a.server))
            {
                self.proxy_protocol_servers.insert(a.server, ());
            }
            return;
        }
        if !a.first_request_dropped()
            || v.cause != Cause::Unknown
            || !v.defects.is_empty()
            || !self.proxy_protocol_servers.contains_key(&a.server)
        {
            return;
        }
        let how = if matches!(a.ending, Ending::ServerClosed) {
            "closed"
        } else {
            "reset"
        };
        let v = &mut j.verdict;
        v.restate(Cause::MissingProxyProtocol, None, Confidence::Medium, format!(
            "this connection opened with the request itself, no PROXY protocol header before it, and the server {how} it without answering, while it answered connections that opened with one: it expects the header (a client that bypassed the load balancer or proxy that sends it)"
        ));
    }

    /// A guessed refusal of a valid request, set against the requests this
    /// endpoint accepted: one that differs only in a spelling the RFCs allow is
    /// `strict-server`. Whether the verdict changed.
    fn compare_spelling(&self, j: &mut Judged, server: &Endpoint) -> bool {
        let v = &j.verdict;
        if v.outcome != Outcome::Rejected
            || !v.defects.is_empty()
            || !matches!(
                v.cause,
                Cause::OriginRejected | Cause::Unknown | Cause::Unauthorized
            )
            || (v.confidence == Confidence::High && v.cause != Cause::Unknown)
        {
            return false;
        }
        let Some(list) = self.accepted_spellings.get(server) else {
            return false;
        };
        let sp = Spelled::of(&j.attempt.request);
        if let Some((header, ev)) = list.iter().find_map(|ok| sp.only_difference(ok)) {
            let said = status_said(&j.attempt);
            let v = &mut j.verdict;
            v.restate(
                Cause::StrictServer,
                Some(header),
                Confidence::Medium,
                format!("{ev}; {said}"),
            );
            return true;
        }
        false
    }

    /// A refused subprotocol offer that carries, after a comma and white
    /// space, a name this server accepted where it stood first (alone or
    /// first of a list). Browsers join the names with ", "; a server that
    /// splits the offer at commas without trimming (websockify 0.13 reads
    /// " binary") or reads only the first name refuses such a list while
    /// serving one of its names. What the server said stands; the evidence
    /// adds the difference and what to offer instead.
    fn offer_read_untrimmed(&self, j: &mut Judged, server: &Endpoint) {
        if j.verdict.outcome != Outcome::Rejected || j.verdict.cause != Cause::SubprotocolRejected {
            return;
        }
        let Some(offer) = j.attempt.request.header("sec-websocket-protocol") else {
            return;
        };
        let Some(list) = self.accepted_spellings.get(server) else {
            return;
        };
        let accepted_first = |name: &[u8]| {
            list.iter()
                .filter_map(|ok| ok.protocol.as_deref()?.split(|&b| b == b',').next())
                .any(|first| first.trim_ascii() == name)
        };
        let spaced = offer
            .value
            .split(|&b| b == b',')
            .skip(1)
            .filter(|name| name.first().is_some_and(|&b| b == b' ' || b == b'\t'))
            .map(<[u8]>::trim_ascii)
            .find(|name| !name.is_empty() && accepted_first(name));
        let Some(name) = spaced else {
            return;
        };
        let name = super::printable(name, 80);
        j.verdict.evidence.push_str(&format!(
            "; this server accepted '{name}' offered first, and this offer carries it after a comma and a space: a server that splits the offer at commas without trimming (websockify does) or reads only the first name refuses it; offer '{name}' first, or the names without spaces"
        ));
    }

    /// A guessed bare refusal (403 to a valid request) at an endpoint that
    /// accepted requests from the same Origin (or, like this one, without
    /// one): set against them, it is not about the Origin. What differs
    /// from the accepted requests names the likelier cause: no subprotocol
    /// of the ones every accepted request to this path offered (an ASGI or
    /// Starlette endpoint that requires one closes before accepting, which
    /// the server answers with a bare 403), or a path never accepted here
    /// (Starlette's router refuses an unknown WebSocket route the same way).
    fn bare_refusal_set_against_accepted(&self, j: &mut Judged, server: &Endpoint) {
        let v = &j.verdict;
        let status = status_of(&j.attempt);
        let bare_403 =
            matches!(v.cause, Cause::OriginRejected | Cause::Unauthorized) && status == Some(403);
        // Django Channels' URLRouter raises for a path without a route, and
        // Daphne answers that with an empty 500: only the path is compared.
        let bare_500 = v.cause == Cause::ServerError
            && status == Some(500)
            && j.attempt
                .body_excerpt
                .as_deref()
                .is_none_or(|b| b.trim_ascii().is_empty());
        if v.outcome != Outcome::Rejected
            || !v.defects.is_empty()
            || v.confidence == Confidence::High
            || !(bare_403 || bare_500)
        {
            return;
        }
        let Some(list) = self.accepted_spellings.get(server) else {
            return;
        };
        let sp = Spelled::of(&j.attempt.request);
        let alike: Vec<&Spelling> = list
            .iter()
            .filter(|ok| ok.origin.as_deref() == sp.origin)
            .collect();
        if alike.is_empty() {
            if bare_403 && sp.origin.is_none() {
                let path = sp.target_path.to_string();
                origin_required(j, list, &path);
            }
            return;
        }
        let origin = origin_said(&j.attempt, &sp);
        let said = status_said(&j.attempt);
        // Only a path under none of the accepted ones' routes is a route of
        // its own.
        let route = first_segment(sp.target_path);
        let (on_path, on_route) = on_path_and_route(&alike, &sp);
        if on_route.is_empty() {
            let mut paths: Vec<&str> = alike.iter().map(|ok| ok.target_path.as_str()).collect();
            paths.sort_unstable();
            paths.dedup();
            let alternative = if bare_500 {
                "a router that raises for a path without a route, as Django Channels' does under Daphne; a fault in the handler of this path alone would look the same"
            } else {
                "no WebSocket route there, or a path rule; an authorization rule for this path alone would look the same"
            };
            let ev = format!(
                "requests with {origin} were accepted at this endpoint on {}, never under {}: a guess that this path is refused ({alternative}); {said}",
                super::printable(paths.join(", ").as_bytes(), 120),
                super::printable(sp.target_path.as_bytes(), 80),
            );
            j.verdict
                .restate(Cause::PathNotFound, None, Confidence::Low, ev);
            return;
        }
        if bare_500 {
            return;
        }
        let compared = if on_path.is_empty() {
            &on_route
        } else {
            &on_path
        };
        if let Some(offered) = subprotocol_required(compared, sp.protocol) {
            let this = match sp.protocol {
                Some(_) => format!(
                    "Sec-WebSocket-Protocol {} refused",
                    header_text(&j.attempt, "Sec-WebSocket-Protocol")
                ),
                None => "no Sec-WebSocket-Protocol offered".to_string(),
            };
            let where_ = if on_path.is_empty() {
                format!("under /{}", super::printable(route.as_bytes(), 80))
            } else {
                format!("on {}", super::printable(sp.target_path.as_bytes(), 80))
            };
            let ev = format!(
                "{this}, while every request accepted {where_} with {origin} offered {}; {said}",
                super::printable(offered.as_bytes(), 120),
            );
            j.verdict.restate(
                Cause::SubprotocolRejected,
                Some("Sec-WebSocket-Protocol"),
                Confidence::Medium,
                ev,
            );
            return;
        }
        if on_path.is_empty() {
            return;
        }
        if j.verdict.cause == Cause::OriginRejected {
            let accepted = match sp.origin {
                Some(_) => format!("{origin} was accepted at this endpoint"),
                None => "requests without Origin were accepted on this path".to_string(),
            };
            let v = &mut j.verdict;
            v.restate(Cause::Unauthorized, None, Confidence::Low, format!(
                "{accepted}, so this refusal is not about Origin: a guess between unauthorized (credentials) and a proxy or application ACL; {said}"
            ));
        }
    }
}

impl Correlator {
    /// A valid request the server closed or reset without answering, at an
    /// endpoint that accepted requests like it. A server that refuses an
    /// offer of subprotocols it serves none of by closing the connection
    /// (libwebsockets: Mosquitto's MQTT over WebSockets, ttyd, the devices
    /// built on it) leaves no words, only the difference: set against the
    /// requests accepted on this path (or under its route) with the same
    /// Origin that offered a subprotocol, an offer that shares no name with
    /// theirs is the likely cause. Sure only as far as every accepted
    /// request offered one.
    fn silent_close_set_against_accepted(&self, j: &mut Judged, server: &Endpoint) {
        if !unexplained_silent_close(j) {
            return;
        }
        let a = &j.attempt;
        let Some(list) = self.accepted_spellings.get(server) else {
            return;
        };
        let sp = Spelled::of(&a.request);
        let Some(protocol) = sp.protocol else {
            return;
        };
        let alike: Vec<&Spelling> = list
            .iter()
            .filter(|ok| ok.origin.as_deref() == sp.origin)
            .collect();
        let (on_path, on_route) = on_path_and_route(&alike, &sp);
        let compared = if on_path.is_empty() {
            on_route
        } else {
            on_path
        };
        let offering: Vec<&Spelling> = compared
            .iter()
            .copied()
            .filter(|ok| ok.protocol.is_some())
            .collect();
        if offering.is_empty() {
            return;
        }
        let Some(served) = subprotocol_required(&offering, Some(protocol)) else {
            return;
        };
        let confidence = if offering.len() == compared.len() {
            Confidence::Medium
        } else {
            Confidence::Low
        };
        let origin = origin_said(a, &sp);
        let ev = format!(
            "Sec-WebSocket-Protocol {} offered, while the requests accepted on {} with {origin} offered {} (names compare exactly): a server that serves none of the offered protocols and closes instead of answering, as libwebsockets does; {}",
            header_text(a, "Sec-WebSocket-Protocol"),
            super::printable(sp.target_path.as_bytes(), 80),
            super::printable(served.as_bytes(), 120),
            j.verdict.evidence.rsplit_once("; ").map_or("no answer", |x| x.1),
        );
        j.verdict.restate(
            Cause::SubprotocolRejected,
            Some("Sec-WebSocket-Protocol"),
            confidence,
            ev,
        );
    }

    /// A valid request the server closed on without an answer, where it
    /// accepted requests to the same path with the same Origin and another
    /// query: the query names something the server does not know, a token
    /// or a route key. websockify's token plugin (noVNC's set-up, where the
    /// token picks the VNC server) closes so on a token its list lacks, and
    /// on a request without one. Surer when the accepted requests all
    /// carried a parameter this one lacks than when only a value differs.
    fn silent_close_on_another_query(&self, j: &mut Judged, server: &Endpoint) {
        if !unexplained_silent_close(j) {
            return;
        }
        let a = &j.attempt;
        let Some(list) = self.accepted_queries.get(server) else {
            return;
        };
        let q = QueryOf::of(&a.request).to_owned_query();
        let on_path: Vec<&AcceptedQuery> = list
            .iter()
            .filter(|ok| ok.path == q.path && ok.origin == q.origin)
            .collect();
        let Some(first) = on_path.first() else {
            return;
        };
        if on_path.iter().any(|ok| ok.hash == q.hash) {
            return;
        }
        let always: Vec<&str> = first
            .names
            .iter()
            .filter(|n| on_path.iter().all(|ok| ok.names.contains(n)))
            .map(String::as_str)
            .collect();
        let missing: Vec<&str> = always
            .iter()
            .copied()
            .filter(|n| !q.names.iter().any(|m| m == n))
            .collect();
        let (confidence, how) = if !missing.is_empty() {
            (
                Confidence::Medium,
                format!("this one carries no {}", missing.join(", ")),
            )
        } else if q.names.is_empty() {
            (Confidence::Low, "this one has none".to_string())
        } else {
            (
                Confidence::Low,
                format!(
                    "in this one {} took values none of them had",
                    q.names.join(", ")
                ),
            )
        };
        let carried = if always.is_empty() {
            "another query".to_string()
        } else {
            format!("a query with {}", always.join(", "))
        };
        let n = on_path.len();
        let ev = format!(
            "the server closed without answering, while it accepted {n} request{} to {} with {} and {carried} (values not shown); {how}: the query names nothing the server knows (a token or route key, as websockify's token plugin closes on a token its list lacks)",
            if n == 1 { "" } else { "s" },
            super::printable(q.path.as_bytes(), 80),
            origin_said(a, &Spelled::of(&a.request)),
        );
        j.verdict.restate(Cause::PathNotFound, None, confidence, ev);
    }
}

/// A valid request the server closed or reset without an answer (none the
/// capture may have lost), that nothing explained yet.
fn unexplained_silent_close(j: &Judged) -> bool {
    let (a, v) = (&j.attempt, &j.verdict);
    v.cause == Cause::Unknown
        && v.defects.is_empty()
        && !a.answer_lost
        && matches!(
            a.ending,
            Ending::ServerClosed | Ending::Reset { by_server: true }
        )
}

/// Of the accepted spellings `alike` (those with this request's Origin),
/// the ones on its very path and the ones under its route. Paths that name a
/// resource (/rooms/17/ws) differ from attempt to attempt, so a path is set
/// against the accepted ones under its first segment.
fn on_path_and_route<'s>(
    alike: &[&'s Spelling],
    sp: &Spelled,
) -> (Vec<&'s Spelling>, Vec<&'s Spelling>) {
    let route = first_segment(sp.target_path);
    let on_path = alike
        .iter()
        .copied()
        .filter(|ok| ok.target_path == sp.target_path)
        .collect();
    let on_route = alike
        .iter()
        .copied()
        .filter(|ok| first_segment(&ok.target_path) == route)
        .collect();
    (on_path, on_route)
}

/// "Origin 'x'" or "no Origin", as an evidence line names a request's.
fn origin_said(a: &Attempt, sp: &Spelled) -> String {
    match sp.origin {
        Some(_) => format!("Origin {}", header_text(a, "Origin")),
        None => "no Origin".to_string(),
    }
}

/// A 4xx refusal of a request that broke no rule, which the verdict is
/// not sure of: what a comparison with other attempts may still name.
fn unsure_client_error(j: &Judged) -> bool {
    let v = &j.verdict;
    v.outcome == Outcome::Rejected
        && v.defects.is_empty()
        && v.confidence != Confidence::High
        && status_of(&j.attempt).is_some_and(|s| (400..500).contains(&s))
}

/// The bit of a request's Engine.IO protocol revision (`EIO=0`..`EIO=7`).
fn eio_bit(target: &str) -> Option<u8> {
    let v: u8 = engine_io::query_param(target, "EIO")?.parse().ok()?;
    (v < 8).then(|| 1 << v)
}

/// A path's first segment (`/rooms/17/ws`: `rooms`), what routes are
/// told apart by.
fn first_segment(path: &str) -> &str {
    let p = path.strip_prefix('/').unwrap_or(path);
    p.split('/').next().unwrap_or(p)
}

/// A bare 403 to a request without Origin, on a path (or under a route)
/// where the endpoint accepted requests, every one of them with an Origin:
/// the server requires one (golang.org/x/net/websocket's default handshake,
/// an allow-list that does not list "no Origin"). Requests from clients
/// that are no browser send none.
fn origin_required(j: &mut Judged, accepted: &[Spelling], path: &str) {
    let route = first_segment(path);
    let mut origins: Vec<&[u8]> = accepted
        .iter()
        .filter(|ok| first_segment(&ok.target_path) == route)
        .filter_map(|ok| ok.origin.as_deref())
        .collect();
    if origins.is_empty() {
        return;
    }
    origins.sort_unstable();
    origins.dedup();
    let ev = format!(
        "no Origin sent, while every request accepted at this endpoint under /{} carried one ({}): the server requires an Origin; {}",
        super::printable(route.as_bytes(), 80),
        super::printable(&origins.join(&b", "[..]), 120),
        status_said(&j.attempt),
    );
    j.verdict.restate(
        Cause::OriginRejected,
        Some("Origin"),
        Confidence::Medium,
        ev,
    );
}

/// The subprotocols that every accepted request to a path offered, when
/// `offered` (the refused request's) names none of them: the path requires
/// one. `None` when an accepted request offered none, or `offered` shares a
/// token with them. Names are compared exactly: RFC 6455 §4.1 has the
/// server echo one of the client's strings, and servers look them up so
/// (libwebsockets refuses "MQTT" while serving "mqtt").
fn subprotocol_required(accepted: &[&Spelling], offered: Option<&[u8]>) -> Option<String> {
    let tokens = |v: &[u8]| -> Vec<Vec<u8>> {
        v.split(|&b| b == b',')
            .map(|t| t.trim_ascii().to_vec())
            .filter(|t| !t.is_empty())
            .collect()
    };
    let mut wanted: Vec<Vec<u8>> = Vec::new();
    for ok in accepted {
        let t = tokens(ok.protocol.as_deref()?);
        if t.is_empty() {
            return None;
        }
        wanted.extend(t);
    }
    wanted.sort();
    wanted.dedup();
    if offered.is_some_and(|o| tokens(o).iter().any(|t| wanted.contains(t))) {
        return None;
    }
    Some(
        wanted
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
    )
}

impl Correlator {
    /// The node that issued this request's sid (from the polling handshake
    /// in the capture) and the node the request reached: this attempt's
    /// server, or for the client leg of a proxy, its backend leg's.
    fn sid_nodes(&self, j: &Judged) -> Option<(String, String, String)> {
        let sid = engine_io::query_param(&j.attempt.request.target, "sid")?;
        let issuer = self.sids.issuer(sid)?;
        let reached = match (j.leg, &j.peer) {
            (Leg::Client, Some(p)) => p.rsplit_once('>').map_or(p.clone(), |x| x.1.to_string()),
            _ => j.attempt.server.to_string(),
        };
        Some((sid.to_string(), issuer.server.to_string(), reached))
    }

    /// A refusal without words of an Engine.IO upgrade whose sid another
    /// node issued. python-engineio (python-socketio, Flask-SocketIO) under
    /// an ASGI server ends a WebSocket it refuses before accepting it, which
    /// uvicorn, Hypercorn and Daphne answer with a bare 403: "Invalid
    /// session" never reaches the wire. The polling handshake that issued
    /// the sid came from one node and the upgrade reached another: a
    /// balancer without stickiness. A client leg whose backend leg is not in
    /// the capture is not judged (the node it reached is unknown).
    fn foreign_sid_refused(&self, j: &mut Judged) {
        if !unsure_client_error(j) || (j.leg == Leg::Client && j.peer.is_none()) {
            return;
        }
        let Some((sid, issued_by, reached)) = self.sid_nodes(j) else {
            return;
        };
        if issued_by == reached {
            return;
        }
        let said = status_said(&j.attempt);
        j.verdict.restate(
            Cause::SessionNotSticky,
            None,
            Confidence::Medium,
            format!(
                "sid '{sid}' was issued by {issued_by} (polling handshake), but this upgrade reached {reached}: the balancer is not sticky; the refusal names nothing, as python-engineio's under an ASGI server (a WebSocket ended before it is accepted is a bare 403); {said}"
            ),
        );
    }

    /// A refusal without words of an Engine.IO upgrade whose protocol
    /// revision (`EIO=`) is not one this endpoint accepted upgrades of: a
    /// Socket.IO 2 client (EIO=3) against a Socket.IO 3+ server, which
    /// python-engineio under an ASGI server refuses with a bare 403.
    /// Whether the verdict changed.
    fn engine_io_revision_refused(&self, j: &mut Judged, server: &Endpoint) -> bool {
        if !unsure_client_error(j) {
            return false;
        }
        let target = &j.attempt.request.target;
        let (Some(bit), Some(&accepted)) = (eio_bit(target), self.accepted_eio.get(server)) else {
            return false;
        };
        if accepted & bit != 0 {
            return false;
        }
        let revisions: Vec<String> = (0..8)
            .filter(|i| accepted & (1 << i) != 0)
            .map(|i| format!("EIO={i}"))
            .collect();
        let ev = format!(
            "{} refused, while this endpoint accepted upgrades with {}: the Engine.IO protocol revision (a Socket.IO 2 client against a Socket.IO 3 or later server; python-engineio under an ASGI server refuses it with a bare 403); {}",
            engine_io::query_param(target, "EIO").map_or(String::new(), |v| format!("EIO={v}")),
            revisions.join(", "),
            status_said(&j.attempt),
        );
        j.verdict
            .restate(Cause::EngineIoVersionMismatch, None, Confidence::Medium, ev);
        true
    }

    /// An upgrade refused for an unknown sid, with the polling handshake that
    /// issued it in the capture: name both nodes.
    fn name_sid_issuer(&self, j: &mut Judged) {
        let Some((sid, issued_by, reached)) = self.sid_nodes(j) else {
            return;
        };
        let how = if issued_by == reached {
            format!("sid '{sid}' was issued by {issued_by} itself, which no longer knows it (restarted, or the session timed out)")
        } else {
            format!("sid '{sid}' was issued by {issued_by} (polling handshake), but this upgrade reached {reached}: the balancer is not sticky")
        };
        // The issuer replaces the line's "not a session of this node" clause.
        let said = j
            .verdict
            .evidence
            .split_once("; ")
            .map_or(j.verdict.evidence.as_str(), |x| x.1);
        j.verdict.evidence = format!("{how}; {said}");
    }
}

/// "server answered STATUS REASON" for an evidence line.
fn status_said(a: &Attempt) -> String {
    match &a.response {
        Some(r) => super::answered(r.status, &r.reason),
        None => "no answer".to_string(),
    }
}

/// Edit the list kept under `key`, and forget the key once its list is empty.
pub(super) fn edit_list<K, Q, L, R>(
    map: &mut HashMap<K, L>,
    key: &Q,
    is_empty: fn(&L) -> bool,
    edit: impl FnOnce(&mut L) -> R,
) -> Option<R>
where
    K: Borrow<Q> + Hash + Eq,
    Q: Hash + Eq + ?Sized,
{
    let list = map.get_mut(key)?;
    let r = edit(list);
    if is_empty(list) {
        map.remove(key);
    }
    Some(r)
}

/// What a released attempt keeps for a late leg: pairing compares requests,
/// statuses and times, and only the late leg is reported again, so the
/// response's headers and body can go (they are most of an attempt's memory).
fn slim(j: &mut Judged) -> Judged {
    // Set aside, not cloned and then dropped: they are most of the copy's cost.
    let body = j.attempt.body_excerpt.take();
    let after = j.attempt.after_upgrade.take();
    let headers = j
        .attempt
        .response
        .as_mut()
        .map(|r| std::mem::take(&mut r.headers));
    let s = j.clone();
    j.attempt.body_excerpt = body;
    j.attempt.after_upgrade = after;
    if let (Some(r), Some(h)) = (j.attempt.response.as_mut(), headers) {
        r.headers = h;
    }
    s
}

fn sort(v: &mut Vec<Judged>) {
    crate::order::sort_by_key_moving_once(v, |j| {
        let a = &j.attempt;
        (a.ts, a.client, a.server, a.request_index)
    });
}

#[cfg(test)]
thread_local! {
    /// Pairs of attempts compared as legs on this thread: tests bound it.
    static LEG_CHECKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Two attempts with the same key are legs of one attempt when they are on
/// different connections to different servers, moments apart, and one nests
/// inside the other as a proxied exchange does. Broken clients that send a
/// constant key do exist, so the key alone is not enough.
fn is_other_leg(a: &Judged, b: &Judged) -> bool {
    #[cfg(test)]
    LEG_CHECKS.with(|n| n.set(n.get() + 1));
    a.attempt.server != b.attempt.server
        && a.attempt.client != b.attempt.client
        && (nested_with_key(&a.attempt, &b.attempt) || nested_with_key(&b.attempt, &a.attempt))
}

/// A valid 16-byte nonce is random, so two connections carrying it are one
/// attempt; an invalid or well-known constant key (the RFC's sample) is not,
/// and then the backend leg must also come from the proxy, moments after.
fn nested_with_key(client: &Attempt, backend: &Attempt) -> bool {
    const RFC_SAMPLE_KEY: &[u8] = b"dGhlIHNhbXBsZSBub25jZQ==";
    let random_key = backend
        .request
        .header("sec-websocket-key")
        .is_some_and(|k| {
            grammar::websocket_key(k.value) == grammar::KeyForm::Valid
                && k.value.trim_ascii() != RFC_SAMPLE_KEY
        });
    let window = if random_key {
        KEYED_LEG_WINDOW
    } else {
        LEG_WINDOW
    };
    // `nested` puts the backend leg's first byte after the client's.
    nested(client, backend)
        && (backend.ts - client.ts) <= window
        && (random_key || from_proxy(client, backend))
}

fn status_of(a: &Attempt) -> Option<u16> {
    a.response.as_ref().map(|r| r.status)
}

/// Whether `backend` can be the request a proxy sent upstream for `client`:
/// sent after it, answered before the proxy answered (with the same status,
/// or a gateway error), from the proxy's address or with a proxy's marks.
pub(crate) fn proxied_by(client: &Attempt, backend: &Attempt) -> bool {
    nested(client, backend) && from_proxy(client, backend)
}

/// Whether `a` asked for a WebSocket by HTTP/2's extended CONNECT
/// (RFC 8441): no key, no Upgrade; `:protocol` says it.
fn extended_connect(a: &Attempt) -> bool {
    a.h2.is_some() && a.request.method == "CONNECT"
}

/// Whether `backend`, an HTTP/1.x request, can be what a proxy sent
/// upstream for `client`, an extended CONNECT over HTTP/2 (Apache's
/// mod_http2 with `H2WebSockets on`, HAProxy, Envoy): the proxy makes the
/// backend leg's key up, so the legs share none. It asks for the same
/// target with the same WebSocket version and User-Agent, from the
/// proxy, moments later. HTTP/2 says success with 200 where HTTP/1.1 says
/// 101, and the stream's answer has no time of its own here (see
/// `OverH2`), so only its status is compared.
fn h2_client_of(client: &Attempt, backend: &Attempt) -> bool {
    let answers_agree = match (status_of(client), status_of(backend)) {
        (Some(c), Some(b)) => c == b || (c, b) == (200, 101) || matches!(c, 502..=504),
        (Some(c), None) => matches!(c, 502..=504),
        (None, _) => true,
    };
    extended_connect(client)
        && backend.h2.is_none()
        && backend.ts >= client.ts
        && forwarded_alike(client, backend)
        && answers_agree
        && from_proxy(client, backend)
}

/// What legs found without a shared key have in common: another server,
/// moments apart, the same target, WebSocket version and User-Agent.
fn forwarded_alike(client: &Attempt, backend: &Attempt) -> bool {
    let same = |h: &str| {
        client.request.header(h).map(|v| v.value) == backend.request.header(h).map(|v| v.value)
    };
    client.server != backend.server
        && (backend.ts - client.ts) <= LEG_WINDOW
        && client.request.target == backend.request.target
        && same("sec-websocket-version")
        && same("user-agent")
}

/// The backend exchange happens inside the client's, as a proxy's does.
fn nested(client: &Attempt, backend: &Attempt) -> bool {
    if backend.ts < client.ts {
        return false;
    }
    match (client.response_ts, backend.response_ts) {
        (Some(c), Some(b)) => {
            b <= c
                && (status_of(client) == status_of(backend)
                    || matches!(status_of(client), Some(502..=504)))
        }
        (Some(_), None) => matches!(status_of(client), Some(502..=504)),
        (None, _) => true,
    }
}

/// The backend request comes from the proxy: from the address the client
/// connected to (or the same host), or carrying a proxy's marks.
fn from_proxy(client: &Attempt, backend: &Attempt) -> bool {
    same_host(backend.client.ip, client.server.ip)
        || carries_forwarding(backend)
        || (backend.request.minor_version == 0
            && backend
                .request
                .header_joined("connection")
                .is_some_and(|v| grammar::list_has(&v, "close", false)))
}

/// Whether a TLS client's hello offers h2 and nothing else in ALPN.
fn offers_only_h2(t: &TlsSighting) -> bool {
    t.hello
        .as_ref()
        .is_some_and(|h| h.alpn_offered.len() == 1 && h.alpn_offered[0] == "h2")
}

/// A TLS connection's hello, and when its client first sent data.
#[derive(Debug)]
struct TlsSeen {
    hello: TlsSighting,
    /// Time and packet number.
    data_at: Option<(Timestamp, u64)>,
}

/// Add `t` to the list of `ip`, forgetting the oldest entries past
/// [`MAX_TLS`] in all.
fn remember<T>(
    map: &mut HashMap<IpAddr, VecDeque<T>>,
    order: &mut VecDeque<IpAddr>,
    ip: IpAddr,
    t: T,
) {
    order.push_back(ip);
    map.entry(ip).or_default().push_back(t);
    while order.len() > MAX_TLS {
        let Some(ip) = order.pop_front() else {
            break;
        };
        edit_list(map, &ip, VecDeque::is_empty, VecDeque::pop_front);
    }
}

/// Add what the proxy changed between the legs to a leg's evidence, after
/// whatever restated it: the note stands whatever the cause.
fn note_changes(j: &mut Judged, note: &str) {
    j.verdict.evidence.push_str(note);
}

/// Mark two legs; the earlier request is the client's, the later the proxy's.
/// Requests stamped with the same time (a capture written with one timestamp
/// for many packets, or a clock coarser than the proxy) are ordered as the
/// capture holds them: a proxy can only forward what it has received.
/// Returns the note of what the proxy changed (empty when nothing did).
fn pair(x: &mut Judged, y: &mut Judged) -> String {
    let order = |j: &Judged| (j.attempt.ts, j.attempt.packets.request, j.attempt.client);
    let (client, backend) = if order(x) <= order(y) { (x, y) } else { (y, x) };
    client.leg = Leg::Client;
    backend.leg = Leg::Backend;
    client.peer = Some(conn(&backend.attempt));
    backend.peer = Some(conn(&client.attempt));

    let mut changed = Vec::new();
    for name in [
        "Host",
        "Origin",
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Version",
    ] {
        let (c, b) = (
            header_text(&client.attempt, name),
            header_text(&backend.attempt, name),
        );
        if c != b {
            changed.push(format!("{name} {c} became {b}"));
        }
    }
    // An extended CONNECT asks for the upgrade by `:protocol`; its proxy
    // owes the backend leg both headers.
    let asked = |a: &Attempt, carries: fn(&Attempt) -> bool| carries(a) || extended_connect(a);
    let dropped = if asked(&client.attempt, carries_upgrade) && !carries_upgrade(&backend.attempt) {
        Some("Upgrade")
    } else if asked(&client.attempt, carries_connection_upgrade)
        && !carries_connection_upgrade(&backend.attempt)
    {
        Some("Connection")
    } else {
        None
    };
    let relayed = backend
        .attempt
        .response
        .as_ref()
        .and_then(|r| r.header("server"))
        .map(|h| h.value.to_vec());
    client.proxy = answer_family(&client.attempt, relayed.as_deref())
        .or_else(|| proxy::request_family(&backend.attempt.request));
    backend.proxy = client.proxy;
    if let Some(h) = dropped {
        let backend_version = backend.attempt.request.http_version();
        let sent = if extended_connect(&client.attempt) {
            "an extended CONNECT (HTTP/2, :protocol websocket)".to_string()
        } else {
            format!(
                "Upgrade {} and Connection {}",
                header_text(&client.attempt, "Upgrade"),
                header_text(&client.attempt, "Connection")
            )
        };
        let ev = format!(
            "proxy dropped {h}: client leg {} sent {sent}; backend leg {} ({backend_version}) has Upgrade {} and Connection {}",
            conn(&client.attempt),
            conn(&backend.attempt),
            header_text(&backend.attempt, "Upgrade"),
            header_text(&backend.attempt, "Connection"),
        );
        for leg in [&mut *client, &mut *backend] {
            if leg.verdict.outcome == Outcome::Accepted {
                continue;
            }
            leg.verdict.restate(
                Cause::ProxyStrippedUpgrade,
                Some(h),
                Confidence::High,
                ev.clone(),
            );
        }
    } else if let Some((cause, header, ev, conf)) = rewritten(client, backend) {
        for leg in [&mut *client, &mut *backend] {
            leg.verdict.restate(cause, header, conf, ev.clone());
        }
    } else if backend.verdict.outcome == Outcome::Accepted
        && client.attempt.response.is_none()
        && !client.attempt.answer_lost
        // The proxy had the 101 before the client's connection ended.
        && matches!(
            (backend.attempt.response_ts, client.attempt.ended_ts),
            (Some(answered), Some(ended)) if answered <= ended
        )
        && client.verdict.defects.is_empty()
        && matches!(client.verdict.outcome, Outcome::NoResponse | Outcome::Reset)
    {
        // The backend switched protocols and the client never heard, though
        // it was still there: the proxy could not carry the 101 back (an
        // HTTP proxy with no upgrade handler).
        let ev = format!(
            "the backend accepted the upgrade (backend leg {}: 101), but the proxy never relayed its 101: it does not carry upgrades on this route (an HTTP proxy with no upgrade handler); {}",
            conn(&backend.attempt),
            client
                .verdict
                .evidence
                .strip_prefix("valid request; ")
                .unwrap_or(&client.verdict.evidence)
        );
        client
            .verdict
            .restate(Cause::ProxyStrippedUpgrade, None, Confidence::Medium, ev);
    } else if client.verdict.outcome == Outcome::Rejected
        && backend.verdict.outcome == Outcome::Rejected
        && client.verdict.defects.is_empty()
        && (client.verdict.cause == Cause::Unknown
            || (status_of(&client.attempt) == status_of(&backend.attempt)
                && matches!(
                    client.verdict.cause,
                    Cause::BackendUnreachable | Cause::NotUpgraded | Cause::ProxyRefused
                )))
    {
        // The proxy relayed the backend's refusal: the backend leg knows why.
        client.verdict.restate(
            backend.verdict.cause,
            backend.verdict.header,
            backend.verdict.confidence,
            format!(
                "relayed from backend leg {}: {}",
                conn(&backend.attempt),
                backend.verdict.evidence
            ),
        );
    }
    if changed.is_empty() {
        String::new()
    } else {
        format!(" (proxy changed: {})", changed.join("; "))
    }
}

/// One address per host: an IPv4 address seen through an IPv6 socket
/// (`::ffff:a.b.c.d`) is the same host as the IPv4 address.
pub(super) fn host(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// Whether two addresses are the same host: equal once canonical, or both
/// loopback (a proxy listening on ::1 connects to its backend from 127.0.0.1).
fn same_host(a: IpAddr, b: IpAddr) -> bool {
    host(a) == host(b) || (a.is_loopback() && b.is_loopback())
}

/// The proxy family of an answer (its page, `Server` unless relayed, `Via`).
fn answer_family(a: &Attempt, relayed_server: Option<&[u8]>) -> Option<&'static str> {
    let r = a.response.as_ref()?;
    proxy::family(r, a.body_excerpt.as_deref().unwrap_or(&[]), relayed_server)
}

/// `scheme://host[:port]` of an Origin, as `host[:port]` without the scheme's
/// default port, lower case, to compare with a Host header.
fn origin_authority(origin: &[u8]) -> Option<String> {
    let o = crate::text::lossy(origin.trim_ascii()).to_ascii_lowercase();
    let (scheme, rest) = o.split_once("://")?;
    let auth = rest.split('/').next()?;
    Some(match (scheme, auth.rsplit_once(':')) {
        ("http" | "ws", Some((h, "80"))) | ("https" | "wss", Some((h, "443"))) => h.to_string(),
        _ => auth.to_string(),
    })
}

fn host_authority(a: &Attempt) -> Option<String> {
    a.request
        .header("host")
        .map(|h| crate::text::lossy(h.value.trim_ascii()).to_ascii_lowercase())
}

/// An Origin's authority (`origin_authority`) and a Host header name the
/// same place: equal, or the Host spells out the scheme's default port.
fn same_authority(origin: &str, host: &str) -> bool {
    host == origin
        || [":80", ":443"]
            .iter()
            .any(|p| host.strip_suffix(p) == Some(origin))
}

fn path_of(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or(target)
}

/// A refusal the proxy's rewriting explains: the backend has nothing at the
/// rewritten path (404), or refused an Origin that matched the Host the
/// client sent but not the Host the proxy sent.
fn rewritten(
    client: &Judged,
    backend: &Judged,
) -> Option<(Cause, Option<&'static str>, String, Confidence)> {
    let (c, b) = (&client.attempt, &backend.attempt);
    if backend.verdict.outcome != Outcome::Rejected || !backend.verdict.defects.is_empty() {
        return None;
    }
    let status = status_of(b)?;
    let (ct, bt) = (path_of(&c.request.target), path_of(&b.request.target));
    if matches!(status, 404 | 410) && ct != bt {
        return Some((
            Cause::PathRewritten,
            None,
            format!(
                "the proxy rewrote the target: client leg {} asked for '{}', backend leg {} for '{}', which the backend does not serve ({status})",
                conn(c),
                printable(ct),
                conn(b),
                printable(bt)
            ),
            Confidence::High,
        ));
    }
    let origin = c
        .request
        .header("origin")
        .and_then(|h| origin_authority(h.value))?;
    let (ch, bh) = (host_authority(c)?, host_authority(b)?);
    let refused_origin = matches!(
        backend.verdict.cause,
        Cause::OriginRejected | Cause::Unauthorized | Cause::Unknown
    ) && matches!(status, 400 | 401 | 403);
    if refused_origin && origin == ch && bh != ch {
        let body =
            crate::text::lossy(b.body_excerpt.as_deref().unwrap_or(&[])).to_ascii_lowercase();
        let named = body.contains("origin") || body.contains("host");
        return Some((
            Cause::HostRewritten,
            Some("Host"),
            format!(
                "the proxy rewrote Host: client leg {} sent Host '{ch}' matching its Origin, backend leg {} got Host '{bh}', and the backend refused the Origin ({status}{})",
                conn(c),
                conn(b),
                if named { ", naming Origin or Host" } else { "" }
            ),
            if named { Confidence::High } else { Confidence::Medium },
        ));
    }
    None
}

fn printable(s: &str) -> String {
    super::printable(s.as_bytes(), 120)
}

/// Envoy answers a bare 403 to an upgrade its HttpConnectionManager has no
/// `upgrade_configs` entry for; the backend never sees it.
fn envoy_without_upgrades(j: &mut Judged) {
    let a = &j.attempt;
    let bare = a
        .body_excerpt
        .as_deref()
        .is_none_or(|b| b.trim_ascii().is_empty());
    if j.leg != Leg::Direct
        || j.proxy != Some("envoy")
        || status_of(a) != Some(403)
        || !bare
        || !j.verdict.defects.is_empty()
        || !carries_upgrade(a)
    {
        return;
    }
    let v = &mut j.verdict;
    v.restate(Cause::ProxyRefused, None, Confidence::Medium, "Envoy answered a bare 403 to a valid upgrade: it refuses upgrades its HttpConnectionManager has no upgrade_configs entry for (an Origin or RBAC rule would be the other candidates)".to_string());
}

/// A 403 on a proxy's own error page (no backend leg, no challenge) to a valid
/// request that carries no Origin, or its own origin (a page served through
/// this proxy): no Origin allow-list refuses that, so an access rule did.
fn proxy_page_refusal(j: &mut Judged) {
    let a = &j.attempt;
    let Some(resp) = a.response.as_ref() else {
        return;
    };
    let page = proxy::page_family(a.body_excerpt.as_deref().unwrap_or(&[]));
    if j.leg != Leg::Direct
        || page.is_none()
        || resp.status != 403
        || resp.header("www-authenticate").is_some()
        || !j.verdict.defects.is_empty()
    {
        return;
    }
    let origin = a.request.header("origin").map(|h| h.value.to_vec());
    let same_origin = origin
        .as_deref()
        .and_then(origin_authority)
        .is_some_and(|o| host_authority(a).as_deref() == Some(o.as_str()));
    if origin.is_some() && !same_origin {
        return;
    }
    let confidence = if origin.is_none() {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    let ev = format!(
        "{} refused {} {} itself with its own 403 page, and the request {}: an access rule on path, method or source (an Origin rule is the other candidate)",
        page.unwrap_or("the proxy"),
        a.request.method,
        printable(&a.request.target),
        if origin.is_none() {
            "carries no Origin"
        } else {
            "comes from the proxy's own origin"
        }
    );
    j.verdict.restate(Cause::ProxyRefused, None, confidence, ev);
}

/// A proxy's own refusal (no backend leg) of an Origin it accepts on other
/// requests to the same address: an ACL on something else (path, method).
fn proxy_refused(j: &mut Judged, origin: &str) {
    let v = &mut j.verdict;
    let refused_here = j.leg == Leg::Direct
        && j.proxy.is_some()
        && v.defects.is_empty()
        && matches!(status_of(&j.attempt), Some(401 | 403 | 405))
        && j.attempt
            .response
            .as_ref()
            .is_some_and(|r| r.header("www-authenticate").is_none())
        && matches!(
            v.cause,
            Cause::OriginRejected | Cause::Unknown | Cause::Unauthorized
        );
    if !refused_here {
        return;
    }
    v.restate(Cause::ProxyRefused, None, Confidence::Medium, format!(
        "{} refused {} {} itself, though it accepts Origin '{}' on other requests here: an access rule on path or method; answered {}",
        j.proxy.unwrap_or("the proxy"),
        j.attempt.request.method,
        printable(&j.attempt.request.target),
        super::printable(origin.as_bytes(), 80),
        status_of(&j.attempt).unwrap_or(0)
    ));
}

/// A backend request with WebSocket headers but without Upgrade or Connection,
/// carrying the marks of a proxy, seen without its client leg (TLS on the client
/// side): the proxy stripped the hop-by-hop headers.
/// A lone attempt that looks like a proxy's backend leg, whose client leg
/// may still come: judged one already, or a request carrying a proxy's
/// forwarding headers.
fn awaits_client_leg(j: &Judged) -> bool {
    j.leg == Leg::Backend || carries_forwarding(&j.attempt)
}

/// A request carrying the headers a proxy adds to what it forwards.
fn carries_forwarding(a: &Attempt) -> bool {
    ["X-Forwarded-For", "X-Real-IP", "Via", "Forwarded"]
        .iter()
        .any(|m| a.request.header(m).is_some())
}

/// A lone attempt whose server got it without the upgrade the capture
/// shows it carrying (see `classify::changed_on_the_way`): the client leg
/// of a proxy whose backend leg is not in the capture.
fn lone_client(j: &mut Judged) {
    if j.leg == Leg::Direct
        && j.verdict.cause == Cause::ProxyStrippedUpgrade
        && carries_upgrade(&j.attempt)
        && carries_connection_upgrade(&j.attempt)
    {
        j.leg = Leg::Client;
    }
}

/// A lone attempt on a connection that opened with a PROXY protocol header
/// is a proxy's backend leg, and the header names the other leg exactly:
/// the client's connection to the proxy (typically a load balancer on
/// another host, whose client side the capture cannot hold).
fn behind_proxy_header(j: &mut Judged) {
    if j.leg != Leg::Direct || j.peer.is_some() {
        return;
    }
    let a = &j.attempt;
    let Some((source, destination)) = a
        .proxy_header
        .as_deref()
        .and_then(|h| h.source.zip(h.destination))
    else {
        return;
    };
    if source == a.client {
        return;
    }
    j.leg = Leg::Backend;
    j.peer = Some(format!("{source}>{destination}"));
}

fn lone_backend(j: &mut Judged) {
    // Marked a backend leg already: behind TLS, or behind a PROXY header.
    let via_tls = j.leg == Leg::Backend && j.attempt.proxy_header.is_none();
    if !matches!(j.leg, Leg::Direct | Leg::Backend) || j.verdict.outcome == Outcome::Accepted {
        return;
    }
    let a = &j.attempt;
    let has_upgrade = carries_upgrade(a);
    let has_conn = carries_connection_upgrade(a);
    if has_upgrade && has_conn {
        return;
    }
    if a.request.header("sec-websocket-key").is_none()
        && a.request.header("sec-websocket-version").is_none()
    {
        return;
    }
    let mut marks: Vec<&str> = [
        "X-Forwarded-For",
        "X-Real-IP",
        "Via",
        "Forwarded",
        "X-Forwarded-Proto",
    ]
    .into_iter()
    .filter(|m| a.request.header(m).is_some())
    .collect();
    let conn_close = a
        .request
        .header_joined("connection")
        .is_some_and(|v| grammar::list_has(&v, "close", false));
    if a.request.minor_version == 0 && conn_close {
        marks.push("HTTP/1.0 with Connection: close (nginx's default upstream request)");
    }
    if via_tls {
        marks.push("it follows a TLS connection to this proxy's address");
    }
    if a.proxy_header.is_some() {
        marks.push("a PROXY protocol header before it");
    }
    if marks.is_empty() {
        return;
    }
    let h = if has_upgrade { "Connection" } else { "Upgrade" };
    j.leg = Leg::Backend;
    let confidence = if marks.len() > 1 {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    let ev = format!(
        "request carries Sec-WebSocket-Key but no {h} websocket/upgrade, with proxy marks ({}); the client leg is not in the capture (TLS?)",
        marks.join(", ")
    );
    j.verdict
        .restate(Cause::ProxyStrippedUpgrade, Some(h), confidence, ev);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::test_heads::{headers, request, with_value};
    use crate::decode::Endpoint;
    use crate::http::{Ending, ResponseHead};
    use std::sync::Arc;

    fn ep(s: &str) -> Endpoint {
        let (ip, port) = s.rsplit_once(':').unwrap();
        Endpoint {
            ip: ip.trim_matches(['[', ']']).parse().unwrap(),
            port: port.parse().unwrap(),
        }
    }

    fn t(ms: i64) -> Timestamp {
        Timestamp::new(1000 + ms / 1000, ((ms % 1000) * 1_000_000) as u32)
    }

    fn attempt(
        client: &str,
        server: &str,
        req_ms: i64,
        resp_ms: i64,
        status: u16,
        minor: u8,
        hs: &[(&str, &str)],
    ) -> Attempt {
        Attempt {
            ts: t(req_ms),
            client: ep(client),
            server: ep(server),
            request: request("GET", minor, hs).into(),
            interim: Vec::new(),
            response: Some(ResponseHead {
                minor_version: 1,
                status,
                reason: "Bad Request".into(),
                headers: Default::default(),
                head_len: 50,
            }),
            response_ts: Some(t(resp_ms)),
            ended_ts: None,
            body_excerpt: None,
            ending: Ending::Answered,
            request_index: 0,
            gap_before_answer: false,
            answer_lost: false,
            after_upgrade: None,
            completed_at: 0,
            tls: None,
            h2: None,
            proxy_header: None,
            packets: Default::default(),
        }
    }

    const KEY: (&str, &str) = ("Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw==");
    const FULL: &[(&str, &str)] = &[
        ("Host", "app"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        KEY,
        ("Sec-WebSocket-Version", "13"),
    ];
    const STRIPPED: &[(&str, &str)] = &[
        ("Host", "backend"),
        ("Connection", "close"),
        KEY,
        ("Sec-WebSocket-Version", "13"),
    ];

    /// A request without Sec-WebSocket-Key: legs can pair only by address.
    const KEYLESS: &[(&str, &str)] = &[
        ("Host", "x"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
    ];

    /// `hs` with the RFC 6455 sample key, which clients that hard-code a key
    /// send: it links no legs by itself.
    fn sample_key(hs: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        with_value(hs, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
    }

    fn run(attempts: Vec<Attempt>) -> Vec<Judged> {
        let mut c = Correlator::new();
        let mut out = Vec::new();
        for a in attempts {
            out.extend(c.push(a));
        }
        out.extend(c.release(None));
        out
    }

    #[test]
    fn legs_with_the_same_key_are_paired_and_stripping_is_named() {
        let client = attempt("10.0.0.9:5000", "10.0.0.1:443", 0, 30, 400, 1, FULL);
        let backend = attempt("10.0.0.1:6000", "10.0.0.2:8080", 5, 20, 400, 0, STRIPPED);
        // The backend leg completes first, as it does through a proxy.
        let out = run(vec![backend, client]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].leg, Leg::Client);
        assert_eq!(out[1].leg, Leg::Backend);
        for j in &out {
            assert_eq!(j.verdict.cause, Cause::ProxyStrippedUpgrade);
            assert_eq!(j.verdict.header, Some("Upgrade"));
        }
        assert_eq!(out[0].peer.as_deref(), Some("10.0.0.1:6000>10.0.0.2:8080"));
    }

    #[test]
    fn a_slow_client_is_paired_by_its_key_after_seconds() {
        // The client sent its head over 8 s; the proxy forwarded it whole.
        let client = attempt("10.0.0.9:5000", "10.0.0.1:443", 0, 8_030, 400, 1, FULL);
        let backend = attempt(
            "10.0.0.1:6000",
            "10.0.0.2:8080",
            8_005,
            8_020,
            400,
            0,
            STRIPPED,
        );
        let out = run(vec![backend, client]);
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].leg, out[1].leg), (Leg::Client, Leg::Backend));
        assert_eq!(out[0].verdict.cause, Cause::ProxyStrippedUpgrade);
        // The RFC's sample key links nothing: the legs must be moments apart.
        let (full, stripped) = (sample_key(FULL), sample_key(STRIPPED));
        for (forwarded_ms, paired) in [(8_005, false), (3_005, true)] {
            let client = attempt("10.0.0.9:5000", "10.0.0.1:443", 0, 8_030, 400, 1, &full);
            let backend = attempt(
                "10.0.0.1:6000",
                "10.0.0.2:8080",
                forwarded_ms,
                8_020,
                400,
                0,
                &stripped,
            );
            let out = run(vec![backend, client]);
            assert_eq!(out.iter().all(|j| j.peer.is_some()), paired);
        }
    }

    #[test]
    fn attempts_with_large_heads_are_held_and_remembered_within_their_byte_budgets() {
        let cookie = "c".repeat(4000);
        let mut c = Correlator::new();
        let mut out = Vec::new();
        let n = 5000;
        for i in 0..n {
            let key = format!("{i:021}A==");
            let hs = [
                ("Host", "app"),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Cookie", cookie.as_str()),
                ("Sec-WebSocket-Key", key.as_str()),
                ("Sec-WebSocket-Version", "13"),
            ];
            let client = format!("10.1.{}.{}:5000", i / 250, i % 250);
            // All within the hold: only the budget releases them.
            out.extend(c.push(attempt(
                &client,
                "10.0.0.2:8080",
                i / 100,
                i / 100 + 1,
                400,
                1,
                &hs,
            )));
            assert!(c.held_bytes <= MAX_HELD_BYTES, "{} held", c.held_bytes);
            assert!(
                c.recent_bytes <= MAX_RECENT_BYTES,
                "{} recent",
                c.recent_bytes
            );
        }
        assert!(out.len() > n as usize / 2, "{} released early", out.len());
        let remembered: usize = c.recent.values().flatten().map(|(_, j)| held_cost(j)).sum();
        assert_eq!(c.recent_bytes, remembered);
        out.extend(c.release(None));
        assert_eq!(c.held_bytes, 0);
        assert!(c.held.is_empty());
        let mut targets: Vec<_> = out.iter().map(|j| j.attempt.client).collect();
        targets.sort();
        targets.dedup();
        assert_eq!(targets.len(), n as usize, "each attempt once");
    }

    /// A storm of `storm` attempts with `storm_hs` from as many clients to
    /// one server, with a proxy's two legs (`backend_hs`, `client_hs`) in the
    /// middle of it: the number of leg comparisons made, and what came out.
    fn storm_with_legs(
        storm: i64,
        storm_hs: &[(&str, &str)],
        backend_hs: &[(&str, &str)],
        backend_minor: u8,
        client_hs: &[(&str, &str)],
    ) -> (usize, Vec<Judged>) {
        let mut c = Correlator::new();
        let mut out = Vec::new();
        LEG_CHECKS.with(|n| n.set(0));
        for i in 0..storm {
            let client = format!("10.1.{}.{}:5000", i / 250, i % 250);
            let a = attempt(&client, "10.0.0.2:8080", i, i + 1, 400, 1, storm_hs);
            out.extend(c.push(a));
            if i == 2000 {
                let backend = attempt(
                    "10.0.0.1:6000",
                    "10.0.0.2:8080",
                    i + 5,
                    i + 20,
                    400,
                    backend_minor,
                    backend_hs,
                );
                let client = attempt(
                    "10.0.0.9:5000",
                    "10.0.0.1:443",
                    i,
                    i + 30,
                    400,
                    1,
                    client_hs,
                );
                out.extend(c.push(backend));
                out.extend(c.push(client));
            }
        }
        out.extend(c.release(None));
        (LEG_CHECKS.with(|n| n.get()), out)
    }

    /// Each attempt of a storm compared with a few others, and the proxy's
    /// legs in it paired.
    fn assert_few_checks_and_legs_paired(storm: i64, checks: usize, out: &[Judged]) {
        assert!(
            checks <= (storm as usize + 2) * 2 * MAX_SAME_KEY,
            "{checks} comparisons"
        );
        assert_eq!(out.len(), storm as usize + 2);
        let legs: Vec<_> = out.iter().filter(|j| j.leg != Leg::Direct).collect();
        assert_eq!(
            legs.len(),
            2,
            "{:?}",
            legs.iter().map(|j| j.leg).collect::<Vec<_>>()
        );
        assert!(legs.iter().all(|j| j.peer.is_some()));
    }

    #[test]
    fn a_storm_sharing_one_key_compares_each_attempt_with_a_few_and_still_pairs_legs() {
        let (full, stripped) = (sample_key(FULL), sample_key(STRIPPED));
        let (checks, out) = storm_with_legs(3000, &full, &stripped, 0, &full);
        assert_few_checks_and_legs_paired(3000, checks, &out);
    }

    #[test]
    fn a_storm_without_keys_compares_each_attempt_with_a_few_and_still_pairs_legs() {
        let (checks, out) = storm_with_legs(3000, KEYLESS, KEYLESS, 1, KEYLESS);
        assert_few_checks_and_legs_paired(3000, checks, &out);
    }

    #[test]
    fn a_client_leg_answered_seconds_after_its_backend_leg_is_paired() {
        // The proxy's answer reached the client 6 s after the backend's
        // (resent to a lossy client); the backend leg was released alone.
        let backend = attempt("10.0.0.1:6000", "10.0.0.2:8080", 5, 20, 400, 0, STRIPPED);
        let client = attempt("10.0.0.9:5000", "10.0.0.1:443", 0, 6_020, 400, 1, FULL);
        let mut c = Correlator::new();
        assert!(c.push(backend).is_empty());
        let alone = c.release(Some(t(6_000)));
        assert_eq!(alone.len(), 1);
        assert!(alone[0].peer.is_none());
        let late = c.push(client);
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].leg, Leg::Client);
        assert_eq!(late[0].verdict.cause, Cause::ProxyStrippedUpgrade);
        assert_eq!(late[0].peer.as_deref(), Some("10.0.0.1:6000>10.0.0.2:8080"));
    }

    #[test]
    fn a_constant_invalid_key_from_unrelated_clients_is_not_a_proxy() {
        let hs: &[(&str, &str)] = &[
            ("Host", "app"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "abc"),
            ("Sec-WebSocket-Version", "13"),
        ];
        let a = attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 30, 400, 1, hs);
        let b = attempt("10.0.0.7:5001", "10.0.0.3:80", 5, 20, 400, 1, hs);
        let out = run(vec![a, b]);
        assert!(out.iter().all(|j| j.leg == Leg::Direct), "{out:?}");
    }

    #[test]
    fn exchanges_that_do_not_nest_are_not_legs() {
        let a = attempt("10.0.0.9:5000", "10.0.0.1:443", 0, 10, 400, 1, FULL);
        // Same key, but answered after the would-be client leg was answered.
        let b = attempt("10.0.0.1:6000", "10.0.0.2:8080", 5, 20, 400, 0, STRIPPED);
        let out = run(vec![a, b]);
        assert!(out.iter().all(|j| j.leg != Leg::Client), "{out:?}");
    }

    #[test]
    fn keyless_direct_attempts_on_one_host_are_not_legs() {
        let hs = KEYLESS;
        let a = attempt("127.0.0.1:5000", "127.0.0.1:18601", 0, 5, 400, 1, hs);
        let b = attempt("127.0.0.1:5001", "127.0.0.1:18602", 250, 255, 400, 1, hs);
        let out = run(vec![a, b]);
        assert!(out.iter().all(|j| j.leg == Leg::Direct), "{out:?}");
    }

    #[test]
    fn keyless_legs_through_a_proxy_are_paired() {
        let hs = KEYLESS;
        let client = attempt("127.0.0.1:5000", "127.0.0.1:18611", 0, 30, 400, 1, hs);
        let backend = attempt("127.0.0.1:6000", "127.0.0.1:18601", 5, 20, 400, 1, hs);
        let out = run(vec![backend, client]);
        assert_eq!(out.iter().filter(|j| j.leg == Leg::Client).count(), 1);
        assert_eq!(out.iter().filter(|j| j.leg == Leg::Backend).count(), 1);
        assert!(out
            .iter()
            .all(|j| j.verdict.cause == Cause::MissingSecWebSocketKey));
    }

    #[test]
    fn a_backend_that_accepts_another_hosts_origin_does_not_refuse_for_the_rewritten_host() {
        let client_hs = [
            ("Host", "app.test"),
            ("Origin", "https://app.test"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            KEY,
            ("Sec-WebSocket-Version", "13"),
        ];
        // The proxy (10.0.0.1) sends Host backend:8080 upstream.
        let backend_hs = with_value(&client_hs, "Host", "backend:8080");
        let legs = |origin: &'static str| {
            let c = with_value(&client_hs, "Origin", origin);
            let b = with_value(&backend_hs, "Origin", origin);
            (
                attempt("10.0.0.9:5000", "10.0.0.1:443", 1000, 1030, 403, 1, &c),
                attempt("10.0.0.1:6000", "10.0.0.2:8080", 1005, 1020, 403, 1, &b),
            )
        };
        // Alone, the refusal follows the rewrite: Host no longer matches
        // the Origin.
        let (client, backend) = legs("https://app.test");
        let out = run(vec![client, backend]);
        assert!(
            out.iter().all(|j| j.verdict.cause == Cause::HostRewritten),
            "{out:?}"
        );
        // After the backend accepted another host's Origin under that
        // rewritten Host, it is its Origin rule.
        let accepted_hs = with_value(
            &with_value(&backend_hs, "Origin", "https://other.test"),
            "Sec-WebSocket-Key",
            "AQIDBAUGBwgJCgsMDQ4PEA==",
        );
        let accepted = accepted(attempt(
            "10.0.0.1:6001",
            "10.0.0.2:8080",
            0,
            5,
            101,
            1,
            &accepted_hs,
        ));
        let mut c = Correlator::new();
        let mut out = c.push(accepted);
        out.extend(c.release(Some(t(600))));
        assert_eq!(out.len(), 1, "the accepted attempt judged first");
        let (client, backend) = legs("https://app.test");
        out.extend(c.push(client));
        out.extend(c.push(backend));
        out.extend(c.release(None));
        let refused: Vec<_> = out.iter().filter(|j| j.leg != Leg::Direct).collect();
        assert_eq!(refused.len(), 2, "{out:?}");
        for j in refused {
            assert_eq!(j.verdict.cause, Cause::OriginRejected, "{:?}", j.verdict);
            assert_eq!(j.verdict.header, Some("Origin"));
        }
        // A Host that spells out the default port names the Origin's host.
        assert!(same_authority("app.test", "app.test:443"));
        assert!(!same_authority("app.test", "app.test:8443"));
    }

    /// A browser's extended CONNECT over HTTP/2 to a proxy, answered
    /// `status` (as `OverH2` gives it: the answer stamped with the request's
    /// time).
    fn h2_connect(client: &str, proxy: &str, ms: i64, status: u16) -> Attempt {
        let fields = [
            ("host", "app.test"),
            ("origin", "https://app.test"),
            ("sec-websocket-version", "13"),
            ("user-agent", "Chromium"),
        ];
        let mut a = attempt(client, proxy, ms, ms, status, 1, &fields);
        a.request = request("CONNECT", 1, &fields).into();
        a.h2 = Some(Box::new(crate::http::H2Info {
            stream_id: 3,
            connect_enabled: Some(true),
            ..Default::default()
        }));
        a
    }

    /// The proxy's HTTP/1.1 request for it, with a key it made up.
    fn proxied(hs: &[(&str, &str)], ms: i64, status: u16) -> Attempt {
        let mut fields = vec![("X-Forwarded-For", "127.0.0.1"), ("User-Agent", "Chromium")];
        fields.extend_from_slice(hs);
        attempt(
            "127.0.0.1:6000",
            "127.0.0.1:18530",
            ms,
            ms + 2,
            status,
            1,
            &fields,
        )
    }

    #[test]
    fn an_extended_connect_pairs_with_the_backend_leg_its_proxy_keyed() {
        // Accepted: 200 on the HTTP/2 stream, 101 upstream; found whichever
        // leg the correlator hears of first.
        for backend_first in [false, true] {
            let client = h2_connect("127.0.0.1:5000", "127.0.0.1:18529", 0, 200);
            let backend = proxied(FULL, 3, 101);
            let legs = if backend_first {
                vec![backend, client]
            } else {
                vec![client, backend]
            };
            let out = run(legs);
            assert_eq!(out.len(), 2);
            let client = out
                .iter()
                .find(|j| j.leg == Leg::Client)
                .expect("client leg");
            let backend = out
                .iter()
                .find(|j| j.leg == Leg::Backend)
                .expect("backend leg");
            assert_eq!(
                client.peer.as_deref(),
                Some("127.0.0.1:6000>127.0.0.1:18530")
            );
            assert_eq!(
                backend.peer.as_deref(),
                Some("127.0.0.1:5000>127.0.0.1:18529")
            );
        }
        // Apache without upgrade=websocket: a plain GET upstream, answered
        // 200, and a 502 to the browser.
        let out = run(vec![
            h2_connect("127.0.0.1:5000", "127.0.0.1:18529", 0, 502),
            proxied(STRIPPED, 3, 200),
        ]);
        assert_eq!(out.len(), 2);
        for j in &out {
            assert_eq!(
                j.verdict.cause,
                Cause::ProxyStrippedUpgrade,
                "{:?}",
                j.verdict
            );
            assert_eq!(j.verdict.header, Some("Upgrade"));
            assert!(
                j.verdict.evidence.contains("extended CONNECT"),
                "{}",
                j.verdict.evidence
            );
        }
        // Another path, or a request before the CONNECT, is no leg of it.
        let mut elsewhere = proxied(FULL, 3, 101);
        Arc::make_mut(&mut elsewhere.request).target = "/chat".into();
        let before = proxied(FULL, 0, 101);
        let mut late = h2_connect("127.0.0.1:5000", "127.0.0.1:18529", 0, 200);
        late.ts = t(1);
        for (backend, client) in [
            (
                elsewhere,
                h2_connect("127.0.0.1:5000", "127.0.0.1:18529", 0, 200),
            ),
            (before, late),
        ] {
            let out = run(vec![backend, client]);
            assert!(out.iter().all(|j| j.peer.is_none()), "{out:?}");
        }
    }

    /// A correlator that has released a proxy's backend leg alone, its
    /// client leg not complete by `now_ms`.
    fn released_backend(now_ms: i64) -> Correlator {
        let backend = attempt("10.0.0.1:6000", "10.0.0.2:8080", 5, 20, 400, 0, STRIPPED);
        let mut c = Correlator::new();
        let mut out = c.push(backend);
        out.extend(c.release(Some(t(now_ms))));
        assert_eq!(out.len(), 1, "backend leg released alone");
        assert_eq!(out[0].leg, Leg::Backend);
        c
    }

    /// The client leg completing late finds that backend leg.
    fn late_client_leg_is_paired(c: &mut Correlator) {
        let client = attempt("10.0.0.9:5000", "10.0.0.1:443", 0, 3000, 400, 1, FULL);
        let mut out = c.push(client);
        out.extend(c.release(None));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].leg, Leg::Client, "{:?}", out[0].verdict);
        assert_eq!(out[0].verdict.cause, Cause::ProxyStrippedUpgrade);
        assert_eq!(out[0].peer.as_deref(), Some("10.0.0.1:6000>10.0.0.2:8080"));
    }

    #[test]
    fn a_late_client_leg_still_finds_its_released_backend_leg() {
        let mut c = released_backend(2000);
        late_client_leg_is_paired(&mut c);
    }

    #[test]
    fn a_busy_server_does_not_push_a_released_backend_leg_out_of_memory() {
        let mut c = released_backend(600);
        // More direct attempts, each with its own key, than the memory for
        // late legs holds, all released alone before the client leg ends.
        let keys: Vec<String> = (0..MAX_RECENT + 10)
            .map(|i| format!("key{i:08}=="))
            .collect();
        // Some go before their hold is over, past the held attempts' budget.
        let mut released = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let hs = with_value(FULL, "Sec-WebSocket-Key", k);
            let client = format!("10.1.{}.{}:7000", i / 250, i % 250);
            released.extend(c.push(attempt(&client, "10.0.0.3:80", 100, 200, 400, 1, &hs)));
        }
        released.extend(c.release(Some(t(1000))));
        assert_eq!(released.len(), MAX_RECENT + 10);
        late_client_leg_is_paired(&mut c);
    }

    #[test]
    fn a_refused_origin_is_named_by_comparison_with_accepted_ones() {
        let ok_hs = with_origin(FULL, "https://app.test");
        let ok = attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 5, 101, 1, &ok_hs);
        let ok = accepted(ok);
        let other_key = with_value(FULL, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        let bad_hs = with_origin(&other_key, "https://evil.test");
        let bad = attempt("10.0.0.8:5000", "10.0.0.1:80", 100, 105, 400, 1, &bad_hs);
        let out = run(vec![ok, bad]);
        let refused = out
            .iter()
            .find(|j| j.verdict.outcome == Outcome::Rejected)
            .expect("refusal");
        assert_eq!(refused.verdict.cause, Cause::OriginRejected);
        assert_eq!(refused.verdict.confidence, Confidence::High);
        assert!(refused.verdict.evidence.contains("https://app.test"));
    }

    fn with_headers(mut a: Attempt, resp: &[(&str, &str)], body: &[u8]) -> Attempt {
        if let Some(r) = a.response.as_mut() {
            r.headers = headers(resp);
        }
        a.body_excerpt = Some(body.to_vec());
        a
    }

    #[test]
    fn a_lone_client_leg_whose_server_got_no_upgrade_is_a_client_leg() {
        let a = attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 30, 400, 1, FULL);
        let a = with_headers(a, &[], b"No WebSocket UPGRADE hdr: None");
        let out = run(vec![a]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].verdict.cause, Cause::ProxyStrippedUpgrade);
        assert_eq!((out[0].leg, out[0].peer.as_deref()), (Leg::Client, None));
        // The same words to a request without the upgrade are its own defect.
        let b = attempt("10.0.0.9:5001", "10.0.0.1:80", 0, 30, 400, 1, STRIPPED);
        let b = with_headers(b, &[], b"No WebSocket UPGRADE hdr: None");
        let out = run(vec![b]);
        assert_ne!(out[0].leg, Leg::Client);
    }

    #[test]
    fn legs_pair_by_key_across_hosts_and_address_families() {
        // The proxy listens on IPv6 and reaches the backend from another
        // network over IPv4, without adding any header.
        let client = attempt(
            "[2001:db8::9]:5000",
            "[2001:db8::1]:443",
            0,
            30,
            400,
            1,
            FULL,
        );
        let backend = attempt(
            "192.0.2.1:6000",
            "198.51.100.2:8080",
            5,
            20,
            400,
            0,
            STRIPPED,
        );
        let out = run(vec![backend, client]);
        assert_eq!(out[0].leg, Leg::Client, "{out:?}");
        assert_eq!(out[1].leg, Leg::Backend);
        assert!(out
            .iter()
            .all(|j| j.verdict.cause == Cause::ProxyStrippedUpgrade));
    }

    #[test]
    fn an_ipv4_address_seen_through_an_ipv6_socket_is_the_same_host() {
        assert!(same_host(
            "::ffff:10.0.0.1".parse().unwrap(),
            "10.0.0.1".parse().unwrap()
        ));
        assert!(same_host(
            "::1".parse().unwrap(),
            "127.0.0.1".parse().unwrap()
        ));
        assert!(!same_host(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap()
        ));
        // Keyless legs rely on the proxy's address alone.
        let hs = KEYLESS;
        let client = attempt("10.0.0.9:5000", "[::ffff:10.0.0.1]:80", 0, 30, 400, 1, hs);
        let backend = attempt("10.0.0.1:6000", "10.0.0.2:8080", 5, 20, 400, 1, hs);
        let out = run(vec![backend, client]);
        assert_eq!(
            out.iter().filter(|j| j.leg == Leg::Backend).count(),
            1,
            "{out:?}"
        );
    }

    const SAME_ORIGIN: &[(&str, &str)] = &[
        ("Host", "app.test:8443"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        KEY,
        ("Sec-WebSocket-Version", "13"),
        ("Origin", "http://app.test:8443"),
    ];

    #[test]
    fn a_rewritten_host_behind_an_origin_refusal_is_named() {
        let upstream = with_value(SAME_ORIGIN, "Host", "10.0.0.2:8080");
        let client = attempt("10.0.0.9:5000", "10.0.0.1:8443", 0, 30, 403, 1, SAME_ORIGIN);
        let backend = with_headers(
            attempt("10.0.0.1:6000", "10.0.0.2:8080", 5, 20, 403, 1, &upstream),
            &[],
            b"Origin http://app.test:8443 does not match Host 10.0.0.2:8080",
        );
        let out = run(vec![backend, client]);
        for j in &out {
            assert_eq!(j.verdict.cause, Cause::HostRewritten, "{out:?}");
            assert_eq!(j.verdict.header, Some("Host"));
        }
        // The same refusal with Host passed through is the Origin's.
        let client = attempt("10.0.0.9:5000", "10.0.0.1:8443", 0, 30, 403, 1, SAME_ORIGIN);
        let backend = attempt("10.0.0.1:6000", "10.0.0.2:8080", 5, 20, 403, 1, SAME_ORIGIN);
        let out = run(vec![backend, client]);
        assert!(
            out.iter().all(|j| j.verdict.cause != Cause::HostRewritten),
            "{out:?}"
        );
    }

    #[test]
    fn a_rewritten_target_answered_404_is_named() {
        let client = attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 30, 404, 1, FULL);
        let mut backend = attempt("10.0.0.1:6000", "10.0.0.2:8080", 5, 20, 404, 1, FULL);
        Arc::make_mut(&mut backend.request).target = "/api/ws".into();
        let out = run(vec![backend, client]);
        assert!(
            out.iter().all(|j| j.verdict.cause == Cause::PathRewritten),
            "{out:?}"
        );
        // Same target on both legs: the path is simply not served.
        let client = attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 30, 404, 1, FULL);
        let backend = attempt("10.0.0.1:6000", "10.0.0.2:8080", 5, 20, 404, 1, FULL);
        let out = run(vec![backend, client]);
        assert!(
            out.iter().all(|j| j.verdict.cause == Cause::PathNotFound),
            "{out:?}"
        );
    }

    #[test]
    fn a_backend_leg_behind_tls_names_the_connection_that_carried_data() {
        let sighting = |client: &str, ms: i64, no: u64, data: bool| TlsSighting {
            ts: t(ms),
            no,
            client: ep(client),
            server: ep("10.0.0.1:443"),
            hello: None,
            h2c: false,
            data,
        };
        let backend = || attempt("10.0.0.1:6000", "10.0.0.2:8080", 50, 60, 101, 1, FULL);
        let peer_of = |sightings: &[TlsSighting]| {
            let mut c = Correlator::new();
            for s in sightings {
                c.note_tls(s.clone());
            }
            let mut out = c.push(backend());
            out.extend(c.release(None));
            assert_eq!(out[0].leg, Leg::Backend, "{out:?}");
            out[0].peer.clone()
        };
        let used = "10.0.0.9:5000>10.0.0.1:443";
        let spare = "10.0.0.9:5002>10.0.0.1:443";
        // A browser's used connection, then the spare one it opens beside
        // it: the newest is the spare.
        let hellos = [
            sighting("10.0.0.9:5000", 0, 1, false),
            sighting("10.0.0.9:5002", 2, 5, false),
        ];
        assert_eq!(peer_of(&hellos).as_deref(), Some(spare));
        // The used one sent data before the request; data after it, or a
        // second data sighting, changes nothing.
        let mut seen = hellos.to_vec();
        seen.push(sighting("10.0.0.9:5000", 3, 7, true));
        seen.push(sighting("10.0.0.9:5000", 70, 90, true));
        assert_eq!(peer_of(&seen).as_deref(), Some(used));
        // The spare's data, once it is used too, is the newer.
        seen.push(sighting("10.0.0.9:5002", 40, 60, true));
        assert_eq!(peer_of(&seen).as_deref(), Some(spare));
        // Data after the request is not what the proxy forwarded.
        let late = [
            hellos[0].clone(),
            hellos[1].clone(),
            sighting("10.0.0.9:5000", 55, 95, true),
        ];
        assert_eq!(peer_of(&late).as_deref(), Some(spare));
        // One timestamp on every packet: packet numbers order them.
        let mut flat = seen[..3].to_vec();
        flat.push(sighting("10.0.0.9:5002", 0, 6, true));
        let flat: Vec<TlsSighting> = flat
            .into_iter()
            .map(|s| TlsSighting { ts: t(0), ..s })
            .collect();
        assert_eq!(peer_of(&flat).as_deref(), Some(used));
    }

    #[test]
    fn a_gateway_error_after_an_http2_preface_from_the_proxy_is_backend_is_http2() {
        let page: &[u8] = b"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n";
        let a = || {
            with_headers(
                attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 30, 503, 1, FULL),
                &[],
                page,
            )
        };
        let mut c = Correlator::new();
        c.note_tls(TlsSighting {
            ts: t(5),
            no: 0,
            client: ep("10.0.0.1:7000"),
            server: ep("10.0.0.2:8080"),
            hello: None,
            h2c: true,
            data: false,
        });
        let mut out = c.push(a());
        out.extend(c.release(None));
        assert_eq!(out[0].verdict.cause, Cause::BackendIsHttp2);
        assert_eq!(out[0].proxy, Some("haproxy"));
        // Without the preface: the backend is unreachable.
        let out = run(vec![a()]);
        assert_eq!(out[0].verdict.cause, Cause::BackendUnreachable);
        // A TLS connect offering only h2 in ALPN is HTTP/2 too; offering
        // http/1.1 beside it is not.
        let tls_offering = |alpn: &[&str]| TlsSighting {
            ts: t(5),
            no: 0,
            client: ep("10.0.0.1:7000"),
            server: ep("10.0.0.2:8443"),
            hello: Some(Box::new(crate::http::TlsInfo {
                sni: None,
                alpn: None,
                alpn_offered: alpn.iter().map(|s| s.to_string()).collect(),
                version: None,
                decrypted: false,
            })),
            h2c: false,
            data: false,
        };
        for (alpn, cause) in [
            (&["h2"][..], Cause::BackendIsHttp2),
            (&["h2", "http/1.1"][..], Cause::BackendUnreachable),
        ] {
            let mut c = Correlator::new();
            c.note_tls(tls_offering(alpn));
            let mut out = c.push(a());
            out.extend(c.release(None));
            assert_eq!(out[0].verdict.cause, cause, "{alpn:?}");
            if cause == Cause::BackendIsHttp2 {
                assert!(
                    out[0].verdict.evidence.starts_with("the proxy opened 10.0.0.1:7000>10.0.0.2:8443 in TLS whose ClientHello offers only h2 in ALPN while this upgrade waited, then answered 503"),
                    "{}",
                    out[0].verdict.evidence
                );
            }
        }
    }

    #[test]
    fn a_gateway_error_names_the_backend_connect_the_proxy_failed() {
        // A 502 without the proxy's page: medium on its own.
        let a = || attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 30, 502, 1, FULL);
        let alone = run(vec![a()]);
        assert_eq!(alone[0].verdict.cause, Cause::BackendUnreachable);
        assert_eq!(alone[0].verdict.confidence, Confidence::Medium);
        let judge = |fails: Vec<ConnectFailed>| {
            let mut c = Correlator::new();
            for f in fails {
                c.note_connect(f);
            }
            let mut out = c.push(a());
            out.extend(c.release(None));
            out.remove(0).verdict
        };
        let fail = |ms, client: &str, server: &str, how| ConnectFailed {
            ts: t(ms),
            client: ep(client),
            server: ep(server),
            how,
        };
        let v = judge(vec![fail(
            5,
            "10.0.0.1:7000",
            "10.0.0.2:8080",
            ConnectFailure::Refused,
        )]);
        assert_eq!(v.cause, Cause::BackendUnreachable);
        assert_eq!(v.confidence, Confidence::High);
        assert!(
            v.evidence.starts_with("a gateway answered 502: the proxy's connection to 10.0.0.2:8080 was refused (RST to its SYN, 5.0 ms after the request)"),
            "{}",
            v.evidence
        );
        let v = judge(vec![
            fail(5, "10.0.0.1:7000", "10.0.0.2:8080", ConnectFailure::Refused),
            fail(
                20,
                "10.0.0.1:7002",
                "10.0.0.3:8080",
                ConnectFailure::Unanswered,
            ),
        ]);
        assert!(
            v.evidence.contains("the proxy's connection to 10.0.0.3:8080 timed out 2 times (SYN sent again with no SYN-ACK, the last 20.0 ms after the request)"),
            "{}",
            v.evidence
        );
        // Not the proxy's connect: from another host, before the request or
        // after the answer, or the client's own.
        for f in [
            fail(5, "10.0.0.7:7000", "10.0.0.2:8080", ConnectFailure::Refused),
            fail(
                -5,
                "10.0.0.1:7000",
                "10.0.0.2:8080",
                ConnectFailure::Refused,
            ),
            fail(
                31,
                "10.0.0.1:7000",
                "10.0.0.2:8080",
                ConnectFailure::Refused,
            ),
            fail(5, "10.0.0.1:7000", "10.0.0.1:80", ConnectFailure::Refused),
        ] {
            let v = judge(vec![f]);
            assert_eq!(v.confidence, Confidence::Medium, "{}", v.evidence);
            assert!(v.evidence.contains(crate::classify::NO_ANSWER));
        }
    }

    #[test]
    fn a_proxy_page_403_to_its_own_origin_is_proxy_refused() {
        let page: &[u8] = b"<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n";
        let same_host = with_value(FULL, "Host", "app.test");
        let a = |hs: &[(&str, &str)]| {
            with_headers(
                attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 5, 403, 1, hs),
                &[],
                page,
            )
        };
        let out = run(vec![a(&with_origin(&same_host, "http://app.test"))]);
        assert_eq!(out[0].verdict.cause, Cause::ProxyRefused, "{out:?}");
        let out = run(vec![a(FULL)]);
        assert_eq!(out[0].verdict.cause, Cause::ProxyRefused, "{out:?}");
        // A foreign Origin: the Origin is the likelier reason.
        let out = run(vec![a(&with_origin(&same_host, "http://evil.test"))]);
        assert_eq!(out[0].verdict.cause, Cause::OriginRejected, "{out:?}");
    }

    #[test]
    fn envoy_refusing_an_upgrade_it_is_not_configured_for_is_proxy_refused() {
        let hs = with_origin(FULL, "http://app.test");
        let a = |server: &str| {
            with_headers(
                attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 5, 403, 1, &hs),
                &[("server", server)],
                b"",
            )
        };
        let out = run(vec![a("envoy")]);
        assert_eq!(out[0].verdict.cause, Cause::ProxyRefused, "{out:?}");
        assert_eq!(out[0].proxy, Some("envoy"));
        let out = run(vec![a("nginx")]);
        assert_ne!(out[0].verdict.cause, Cause::ProxyRefused, "{out:?}");
    }

    #[test]
    fn a_proxy_refusal_of_an_origin_it_accepts_elsewhere_is_proxy_refused() {
        let ok_hs = with_origin(FULL, "http://app.test");
        let ok = attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 5, 101, 1, &ok_hs);
        let ok = accepted(ok);
        let refused_hs = with_value(&ok_hs, "Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==");
        let refused = |server: &[(&str, &str)]| {
            let mut r = with_headers(
                attempt(
                    "10.0.0.8:5000",
                    "10.0.0.1:80",
                    100,
                    105,
                    403,
                    1,
                    &refused_hs,
                ),
                server,
                b"",
            );
            Arc::make_mut(&mut r.request).target = "/admin/ws".into();
            r
        };
        let out = run(vec![ok.clone(), refused(&[("Server", "Caddy")])]);
        let j = out
            .iter()
            .find(|j| j.verdict.outcome == Outcome::Rejected)
            .expect("refusal");
        assert_eq!(j.verdict.cause, Cause::ProxyRefused, "{out:?}");
        // An application (no proxy named) refusing it is not the proxy's doing.
        let out = run(vec![ok, refused(&[])]);
        let j = out
            .iter()
            .find(|j| j.verdict.outcome == Outcome::Rejected)
            .expect("refusal");
        assert_ne!(j.verdict.cause, Cause::ProxyRefused, "{out:?}");
    }

    fn with_origin<'a>(hs: &[(&'a str, &'a str)], origin: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut v = hs.to_vec();
        v.push(("Origin", origin));
        v
    }

    /// `a` left unanswered: `ending` at `end_ms`.
    fn unanswered(mut a: Attempt, ending: Ending, end_ms: i64) -> Attempt {
        a.response = None;
        a.response_ts = None;
        a.ending = ending;
        a.ended_ts = Some(t(end_ms));
        a
    }

    /// A connect from 10.0.0.1 (the server's host) to `server`, refused at `ms`.
    fn refused_connect(ms: i64, server: &str) -> ConnectFailed {
        ConnectFailed {
            ts: t(ms),
            client: ep("10.0.0.1:7000"),
            server: ep(server),
            how: ConnectFailure::Refused,
        }
    }

    /// The verdict on `a` judged after the connects `fails` failed.
    fn judged_after_connects(a: Attempt, fails: Vec<ConnectFailed>) -> Verdict {
        let mut c = Correlator::new();
        for f in fails {
            c.note_connect(f);
        }
        let mut out = c.push(a);
        out.extend(c.release(None));
        out.remove(0).verdict
    }

    #[test]
    fn a_connection_dropped_while_its_host_failed_a_connect_could_not_reach_its_backend() {
        let a = |ending| {
            let a = attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 30, 502, 1, FULL);
            unanswered(a, ending, 30)
        };
        let fail = |ms| refused_connect(ms, "10.0.0.2:8080");
        let judge = judged_after_connects;
        for (ending, starts) in [
            (
                Ending::ServerClosed,
                "the server closed the connection without answering, after its host's connection to 10.0.0.2:8080 was refused (RST to its SYN, 5.0 ms after the request)",
            ),
            (
                Ending::Reset { by_server: true },
                "the server reset the connection without answering, after",
            ),
            (
                Ending::ClientClosed,
                "no answer came before the client gave up, after its host's connection",
            ),
        ] {
            let v = judge(a(ending), vec![fail(5)]);
            assert_eq!(v.cause, Cause::BackendUnreachable, "{ending:?}");
            assert_eq!(v.confidence, Confidence::Medium);
            assert!(v.evidence.starts_with(starts), "{}", v.evidence);
            // Nothing failed, or only after the connection ended.
            for fails in [vec![], vec![fail(31)], vec![fail(-1)]] {
                let v = judge(a(ending), fails);
                assert_eq!(v.cause, Cause::Unknown, "{ending:?} {}", v.evidence);
            }
        }
        // The client's own reset, or an answer the capture may have lost.
        let v = judge(a(Ending::Reset { by_server: false }), vec![fail(5)]);
        assert_eq!(v.cause, Cause::Unknown);
        let mut lost = a(Ending::ServerClosed);
        lost.answer_lost = true;
        assert_eq!(judge(lost, vec![fail(5)]).cause, Cause::Unknown);
    }

    /// A 101 followed by a close with `code` and `reason` `after_ms` later.
    fn closed_after_101(mut a: Attempt, code: u16, reason: &str, after_ms: u64) -> Attempt {
        a.after_upgrade = Some(crate::http::AfterUpgrade {
            server_close: Some((code, reason.to_string())),
            after_secs: Some(after_ms as f64 / 1000.0),
            ..Default::default()
        });
        a
    }

    #[test]
    fn a_gateway_that_closes_after_its_101_while_its_host_failed_a_connect_could_not_reach_its_backend(
    ) {
        let fail = |ms| refused_connect(ms, "10.0.0.2:5900");
        let judge = judged_after_connects;
        let ok = accepted(attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 2, 101, 1, FULL));
        // 1011 without words: the connect alone names it.
        let bare = closed_after_101(ok.clone(), 1011, "", 8);
        let v = judge(bare.clone(), vec![fail(5)]);
        assert_eq!(v.cause, Cause::BackendUnreachable);
        assert_eq!(v.confidence, Confidence::Medium);
        assert!(
            v.evidence.contains("after its host's connection to 10.0.0.2:5900 was refused (RST to its SYN, 5.0 ms after the request)"),
            "{}",
            v.evidence
        );
        // No connect failed, or only after the close (2 + 8 ms).
        for fails in [vec![], vec![fail(11)]] {
            assert_eq!(judge(bare.clone(), fails).cause, Cause::ClosedAfterUpgrade);
        }
        // Words that say so alone, and with the connect seen.
        let said = closed_after_101(
            ok.clone(),
            1011,
            "Failed to connect to downstream server",
            8,
        );
        let v = judge(said.clone(), vec![]);
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::BackendUnreachable, Confidence::Medium)
        );
        let v = judge(said, vec![fail(5)]);
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::BackendUnreachable, Confidence::High)
        );
        assert!(v.evidence.contains("was refused"), "{}", v.evidence);
        // A policy close is not about the backend, whatever failed nearby.
        let policy = closed_after_101(ok, 1008, "forbidden", 8);
        assert_eq!(
            judge(policy, vec![fail(5)]).cause,
            Cause::ClosedAfterUpgrade
        );
    }

    #[test]
    fn a_backend_leg_that_gave_up_after_its_101_names_its_hosts_failed_connect() {
        let mut forwarded = FULL.to_vec();
        forwarded[0] = ("Host", "backend");
        let backend = closed_after_101(
            accepted(attempt(
                "10.0.0.1:6000",
                "10.0.0.1:6080",
                5,
                6,
                101,
                1,
                &forwarded,
            )),
            1011,
            "",
            4,
        );
        let client = closed_after_101(
            accepted(attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 7, 101, 1, FULL)),
            1011,
            "",
            4,
        );
        let mut c = Correlator::new();
        c.note_connect(refused_connect(8, "10.0.0.2:5900"));
        let mut out = c.push(backend);
        out.extend(c.push(client));
        out.extend(c.release(None));
        let back = out
            .iter()
            .find(|j| j.leg == Leg::Backend)
            .map(|j| &j.verdict);
        let back = back.expect("a backend leg");
        assert_eq!(back.cause, Cause::BackendUnreachable, "{}", back.evidence);
        assert!(
            back.evidence
                .contains("its host's connection to 10.0.0.2:5900 was refused"),
            "{}",
            back.evidence
        );
    }

    #[test]
    fn a_silent_close_where_the_same_path_was_accepted_with_another_query_names_the_query() {
        let hs = with_origin(FULL, "http://app.test");
        let on = |target: &str, a: Attempt| {
            let mut a = a;
            Arc::make_mut(&mut a.request).target = target.into();
            a
        };
        let ok = |target| {
            on(
                target,
                accepted(attempt("10.0.0.9:5000", "10.0.0.1:6080", 0, 2, 101, 1, &hs)),
            )
        };
        let closed = |target| {
            let a = attempt("10.0.0.9:5002", "10.0.0.1:6080", 10, 10, 400, 1, &hs);
            on(target, unanswered(a, Ending::ServerClosed, 11))
        };
        let verdict = |attempts: Vec<Attempt>| run(attempts).pop().map(|j| j.verdict);
        // No token where the accepted one carried one.
        let v = verdict(vec![ok("/websockify?token=vm1"), closed("/websockify")]).unwrap();
        assert_eq!((v.cause, v.header), (Cause::PathNotFound, None));
        assert_eq!(v.confidence, Confidence::Medium);
        assert!(
            v.evidence
                .contains("a query with token (values not shown); this one carries no token"),
            "{}",
            v.evidence
        );
        assert!(!v.evidence.contains("vm1"), "{}", v.evidence);
        // A token it never accepted: less sure.
        let v = verdict(vec![
            ok("/websockify?token=vm1"),
            closed("/websockify?token=vm9"),
        ])
        .unwrap();
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::PathNotFound, Confidence::Low)
        );
        assert!(
            v.evidence
                .contains("in this one token took values none of them had"),
            "{}",
            v.evidence
        );
        assert!(!v.evidence.contains("vm9"), "{}", v.evidence);
        // The very query it accepted, or another path: the query is not it.
        for (accepted_target, refused_target) in [
            ("/websockify?token=vm1", "/websockify?token=vm1"),
            ("/other?token=vm1", "/websockify?token=vm9"),
        ] {
            let v = verdict(vec![ok(accepted_target), closed(refused_target)]).unwrap();
            assert_eq!(v.cause, Cause::Unknown, "{refused_target}: {}", v.evidence);
        }
        // Another Origin: not comparable.
        let mut other = closed("/websockify");
        Arc::make_mut(&mut other.request).headers = headers(&with_origin(FULL, "http://evil.test"));
        let v = verdict(vec![ok("/websockify?token=vm1"), other]).unwrap();
        assert_eq!(v.cause, Cause::Unknown, "{}", v.evidence);
    }

    #[test]
    fn a_backend_101_the_client_never_got_is_an_upgrade_the_proxy_does_not_carry() {
        let client = unanswered(
            attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 0, 101, 1, FULL),
            Ending::ClientClosed,
            2_000,
        );
        let mut forwarded = FULL.to_vec();
        forwarded[0] = ("Host", "backend");
        let backend = accepted(attempt(
            "10.0.0.1:6000",
            "10.0.0.2:8080",
            5,
            6,
            101,
            1,
            &forwarded,
        ));
        let out = run(vec![backend.clone(), client.clone()]);
        assert_eq!((out[0].leg, out[1].leg), (Leg::Client, Leg::Backend));
        let v = &out[0].verdict;
        assert_eq!(v.cause, Cause::ProxyStrippedUpgrade);
        assert_eq!((v.header, v.confidence), (None, Confidence::Medium));
        assert!(
            v.evidence.starts_with("the backend accepted the upgrade (backend leg 10.0.0.1:6000>10.0.0.2:8080: 101), but the proxy never relayed its 101"),
            "{}",
            v.evidence
        );
        assert!(
            v.evidence.contains("the client closed its side first"),
            "{}",
            v.evidence
        );
        assert_eq!(out[1].verdict.cause, Cause::Ok);
        // A client that left before the backend answered: nothing to relay.
        let early = unanswered(client.clone(), Ending::ClientClosed, 5);
        let out = run(vec![backend.clone(), early]);
        assert_eq!(out[0].verdict.cause, Cause::Unknown);
        // A backend that refused too: the client's silence is not the proxy's.
        let mut refused = backend;
        if let Some(r) = refused.response.as_mut() {
            r.status = 403;
            r.headers = Default::default();
        }
        let out = run(vec![refused, client]);
        assert_ne!(out[0].verdict.cause, Cause::ProxyStrippedUpgrade);
    }

    fn accepted(mut a: Attempt) -> Attempt {
        let key = a
            .request
            .header("sec-websocket-key")
            .map(|h| h.value.to_vec());
        if let Some(r) = a.response.as_mut() {
            r.status = 101;
            r.reason = "Switching Protocols".into();
            let accept = super::super::expected_accept(&key.unwrap_or_default());
            r.headers = headers(&[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", &accept),
            ]);
        }
        a
    }

    #[test]
    fn a_refusal_that_differs_from_an_accepted_attempt_only_in_spelling_is_strict() {
        let hs = with_origin(FULL, "http://app.test");
        let ok = accepted(attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 5, 101, 1, &hs));
        let case: Vec<(&str, &str)> = hs
            .iter()
            .map(|(n, v)| {
                if *n == "Upgrade" {
                    (*n, "WebSocket")
                } else {
                    (*n, *v)
                }
            })
            .collect();
        let mut refused = attempt("10.0.0.9:5001", "10.0.0.1:80", 10, 12, 403, 1, &case);
        if let Some(r) = refused.response.as_mut() {
            r.reason = "Forbidden".into();
        }
        let out = run(vec![refused, ok]);
        let r = out
            .iter()
            .find(|j| j.verdict.outcome == Outcome::Rejected)
            .unwrap();
        assert_eq!(r.verdict.cause, Cause::StrictServer);
        assert_eq!(r.verdict.header, Some("Upgrade"));
        assert!(r.verdict.evidence.contains("'WebSocket'"));
    }

    #[test]
    fn a_connection_without_the_proxy_header_a_server_expects_is_named() {
        let behind_proxy = |a: &mut Attempt| {
            a.proxy_header = Some(Box::new(crate::http::proxy_protocol::ProxyHeader {
                version: 1,
                source: None,
                destination: None,
            }));
        };
        let direct = |client: &str, ms: i64, ending: Ending| {
            let key = format!("{ms:0>4}AAAAAAAAAAAAAAAAAA==");
            let hs = with_value(FULL, "Sec-WebSocket-Key", &key);
            let mut a = attempt(client, "10.0.0.1:80", ms, ms, 400, 1, &hs);
            a.response = None;
            a.response_ts = None;
            a.ending = ending;
            a
        };
        let closed = Ending::ServerClosed;
        let cause = |out: &[Judged]| {
            out.iter()
                .find(|j| j.verdict.outcome != Outcome::Accepted)
                .map(|j| (j.verdict.cause, j.verdict.confidence))
        };
        // Alone, a server that closed without answering says nothing.
        let alone = run(vec![direct("10.0.0.9:5000", 0, closed)]);
        assert_eq!(cause(&alone), Some((Cause::Unknown, Confidence::Low)));
        // After a connection that opened with the header and was accepted.
        let mut ok = accepted(attempt("10.0.0.2:6000", "10.0.0.1:80", 0, 5, 101, 1, FULL));
        behind_proxy(&mut ok);
        for ending in [closed, Ending::Reset { by_server: true }] {
            let out = run(vec![ok.clone(), direct("10.0.0.9:5001", 1000, ending)]);
            assert_eq!(
                cause(&out),
                Some((Cause::MissingProxyProtocol, Confidence::Medium)),
                "{ending:?}"
            );
        }
        // Not when the client reset, or the server's bytes were lost, or the
        // server refused the header itself.
        let reset_by_client = direct("10.0.0.9:5002", 1000, Ending::Reset { by_server: false });
        let out = run(vec![ok.clone(), reset_by_client]);
        assert_ne!(cause(&out).map(|c| c.0), Some(Cause::MissingProxyProtocol));
        let mut lost = direct("10.0.0.9:5003", 1000, closed);
        lost.answer_lost = true;
        let out = run(vec![ok.clone(), lost]);
        assert_ne!(cause(&out).map(|c| c.0), Some(Cause::MissingProxyProtocol));
        let mut refused = attempt("10.0.0.2:6001", "10.0.0.1:80", 0, 5, 400, 1, FULL);
        behind_proxy(&mut refused);
        let out = run(vec![refused, direct("10.0.0.9:5004", 1000, closed)]);
        assert!(out
            .iter()
            .all(|j| j.verdict.cause != Cause::MissingProxyProtocol));
    }

    #[test]
    fn a_proxy_header_names_the_other_leg_of_a_lone_backend_leg() {
        let from_balancer = |header_source: &str| {
            let mut a = accepted(attempt(
                "10.0.0.1:6000",
                "10.0.0.2:8080",
                0,
                5,
                101,
                1,
                FULL,
            ));
            a.proxy_header = Some(Box::new(crate::http::proxy_protocol::ProxyHeader {
                version: 2,
                source: Some(ep(header_source)),
                destination: Some(ep("198.51.100.1:443")),
            }));
            run(vec![a]).remove(0)
        };
        let j = from_balancer("203.0.113.5:51234");
        assert_eq!(j.leg, Leg::Backend);
        assert_eq!(
            j.peer.as_deref(),
            Some("203.0.113.5:51234>198.51.100.1:443")
        );
        // A header that names this very connection says nothing of another.
        let j = from_balancer("10.0.0.1:6000");
        assert_eq!((j.leg, j.peer), (Leg::Direct, None));
    }

    #[test]
    fn a_bare_403_is_a_guess_unless_the_same_origin_was_accepted() {
        let hs = with_origin(FULL, "http://app.test");
        let forbidden = |client: &str, ms: i64| {
            let mut a = attempt(client, "10.0.0.1:80", ms, ms + 2, 403, 1, &hs);
            if let Some(r) = a.response.as_mut() {
                r.reason = "Forbidden".into();
            }
            a
        };
        let alone = run(vec![forbidden("10.0.0.9:5000", 0)]);
        assert_eq!(alone[0].verdict.cause, Cause::OriginRejected);
        assert_eq!(alone[0].verdict.confidence, Confidence::Low);
        assert!(alone[0].verdict.evidence.contains("unauthorized"));

        let ok = accepted(attempt("10.0.0.9:5001", "10.0.0.1:80", 0, 5, 101, 1, &hs));
        let out = run(vec![ok, forbidden("10.0.0.9:5002", 10)]);
        let r = out
            .iter()
            .find(|j| j.verdict.outcome == Outcome::Rejected)
            .unwrap();
        assert_eq!(r.verdict.cause, Cause::Unauthorized);
        assert!(r.verdict.evidence.contains("was accepted at this endpoint"));
    }

    /// A 403 for this attempt's path, after `ok` were accepted by the same
    /// server (one each, in order), judged with them.
    fn bare_403_after(ok: Vec<Attempt>, target: &str, hs: &[(&str, &str)]) -> Judged {
        let mut all: Vec<Attempt> = ok.into_iter().map(accepted).collect();
        let mut a = attempt("10.0.0.9:6000", "10.0.0.1:80", 50, 52, 403, 1, hs);
        Arc::make_mut(&mut a.request).target = target.into();
        all.push(a);
        run(all)
            .into_iter()
            .find(|j| j.verdict.outcome == Outcome::Rejected)
            .unwrap()
    }

    fn on_path(client: &str, target: &str, hs: &[(&str, &str)]) -> Attempt {
        let mut a = attempt(client, "10.0.0.1:80", 0, 5, 101, 1, hs);
        Arc::make_mut(&mut a.request).target = target.into();
        a
    }

    #[test]
    fn a_refused_list_carrying_after_a_space_a_name_accepted_first_says_so() {
        fn offering(names: &str) -> Vec<(&str, &str)> {
            let mut hs = FULL.to_vec();
            hs.push(("Sec-WebSocket-Protocol", names));
            hs
        }
        let judged = |ok: &str, refused: &str, server: &str| {
            let good = accepted(attempt(
                "10.0.0.9:5000",
                "10.0.0.1:80",
                0,
                5,
                101,
                1,
                &offering(ok),
            ));
            let mut bad = attempt("10.0.0.9:6000", server, 50, 52, 400, 1, &offering(refused));
            if let Some(r) = bad.response.as_mut() {
                r.reason = "Invalid protocol selected".into();
            }
            run(vec![good, bad])
                .into_iter()
                .find(|j| j.verdict.outcome == Outcome::Rejected)
                .unwrap()
        };
        let said = "this offer carries it after a comma and a space";
        let r = judged("binary", "chat.v1, binary", "10.0.0.1:80");
        assert_eq!(r.verdict.cause, Cause::SubprotocolRejected);
        assert!(r.verdict.evidence.contains(said), "{}", r.verdict.evidence);
        assert!(r.verdict.evidence.contains("offer 'binary' first"));
        // First of an accepted list counts; tabs are white space too.
        let r = judged("binary, base64", "chat.v1,\tbinary", "10.0.0.1:80");
        assert!(r.verdict.evidence.contains(said), "{}", r.verdict.evidence);
        // Nothing to say: no space, a name accepted only second, another
        // server, or a name never accepted.
        for (ok, refused, server) in [
            ("binary", "chat.v1,binary", "10.0.0.1:80"),
            ("base64, binary", "chat.v1, binary", "10.0.0.1:80"),
            ("binary", "chat.v1, binary", "10.0.0.2:80"),
            ("binary", "chat.v1, chat.v2", "10.0.0.1:80"),
        ] {
            let r = judged(ok, refused, server);
            assert_eq!(r.verdict.cause, Cause::SubprotocolRejected, "{refused}");
            assert!(
                !r.verdict.evidence.contains(said),
                "{ok} / {refused}: {}",
                r.verdict.evidence
            );
        }
    }

    #[test]
    fn a_bare_403_without_the_subprotocol_every_accepted_request_offered_names_it() {
        let hs = with_origin(FULL, "http://app.test");
        let mut chat = hs.clone();
        chat.push(("Sec-WebSocket-Protocol", "chat.v1, chat.v0"));
        let ok = || vec![on_path("10.0.0.9:5000", "/chat", &chat)];

        let none = bare_403_after(ok(), "/chat", &hs);
        assert_eq!(none.verdict.cause, Cause::SubprotocolRejected);
        assert_eq!(none.verdict.header, Some("Sec-WebSocket-Protocol"));
        assert_eq!(none.verdict.confidence, Confidence::Medium);
        assert!(none.verdict.evidence.contains("offered chat.v0, chat.v1"));

        let mut other = hs.clone();
        other.push(("Sec-WebSocket-Protocol", "chat.v2"));
        let r = bare_403_after(ok(), "/chat?x=1", &other);
        assert_eq!(r.verdict.cause, Cause::SubprotocolRejected);
        assert!(r.verdict.evidence.contains("'chat.v2' refused"));

        let rooms = vec![on_path("10.0.0.9:5000", "/rooms/1/ws", &chat)];
        let r = bare_403_after(rooms, "/rooms/2/ws", &hs);
        assert_eq!(r.verdict.cause, Cause::SubprotocolRejected);
        assert!(r.verdict.evidence.contains("accepted under /rooms with"));

        // Offering one the server accepted, or a path accepted without one:
        // not about the subprotocol. Names compare exactly, as servers
        // compare them: another case is another name.
        let mut same = hs.clone();
        same.push(("Sec-WebSocket-Protocol", "chat.v1"));
        assert_eq!(
            bare_403_after(ok(), "/chat", &same).verdict.cause,
            Cause::Unauthorized
        );
        let mut capitals = hs.clone();
        capitals.push(("Sec-WebSocket-Protocol", "CHAT.V1"));
        assert_eq!(
            bare_403_after(ok(), "/chat", &capitals).verdict.cause,
            Cause::SubprotocolRejected
        );
        let mixed = vec![
            on_path("10.0.0.9:5000", "/chat", &chat),
            on_path("10.0.0.9:5001", "/chat", &hs),
        ];
        assert_eq!(
            bare_403_after(mixed, "/chat", &hs).verdict.cause,
            Cause::Unauthorized
        );
    }

    /// A request to `target` the server closed without answering, after
    /// `ok` were accepted by it (one each, in order), judged with them.
    fn closed_after(ok: Vec<Attempt>, target: &str, hs: &[(&str, &str)]) -> Judged {
        let mut all: Vec<Attempt> = ok.into_iter().map(accepted).collect();
        let mut a = attempt("10.0.0.9:6000", "10.0.0.1:80", 50, 52, 101, 1, hs);
        Arc::make_mut(&mut a.request).target = target.into();
        a.response = None;
        a.ending = Ending::ServerClosed;
        all.push(a);
        run(all)
            .into_iter()
            .find(|j| j.verdict.outcome == Outcome::NoResponse)
            .unwrap()
    }

    #[test]
    fn a_silent_close_of_an_offer_no_accepted_request_made_names_the_subprotocol() {
        let hs = with_origin(FULL, "http://app.test");
        let offering = |p: &'static str| {
            let mut h = hs.clone();
            h.push(("Sec-WebSocket-Protocol", p));
            h
        };
        let ok = || {
            vec![
                on_path("10.0.0.9:5000", "/mqtt", &offering("mqtt")),
                on_path("10.0.0.9:5001", "/mqtt", &offering("mqttv3.1")),
            ]
        };
        let r = closed_after(ok(), "/mqtt", &offering("MQTT"));
        assert_eq!(
            (
                r.verdict.outcome,
                r.verdict.cause,
                r.verdict.header,
                r.verdict.confidence
            ),
            (
                Outcome::NoResponse,
                Cause::SubprotocolRejected,
                Some("Sec-WebSocket-Protocol"),
                Confidence::Medium
            )
        );
        assert!(
            r.verdict.evidence.contains("offered mqtt, mqttv3.1")
                && r.verdict
                    .evidence
                    .ends_with("server closed the connection without answering"),
            "{}",
            r.verdict.evidence
        );
        // An accepted request without an offer: still the likely cause, less sure.
        let mut mixed = ok();
        mixed.push(on_path("10.0.0.9:5002", "/mqtt", &hs));
        let r = closed_after(mixed, "/mqtt", &offering("mqttv5"));
        assert_eq!(
            (r.verdict.cause, r.verdict.confidence),
            (Cause::SubprotocolRejected, Confidence::Low)
        );
        // An offer the server accepted, no offer, or nothing accepted to
        // compare with: the close stays unexplained.
        for (ok, hs) in [
            (ok(), offering("mqtt")),
            (ok(), hs.clone()),
            (Vec::new(), offering("MQTT")),
            (
                vec![on_path("10.0.0.9:5000", "/mqtt", &hs)],
                offering("MQTT"),
            ),
        ] {
            assert_eq!(closed_after(ok, "/mqtt", &hs).verdict.cause, Cause::Unknown);
        }
    }

    #[test]
    fn a_bare_403_without_origin_where_every_accepted_request_carried_one_names_it() {
        let hs = with_origin(FULL, "http://app.test");
        let ok = || vec![on_path("10.0.0.9:5000", "/ws", &hs)];
        let r = bare_403_after(ok(), "/ws", FULL);
        assert_eq!(
            (r.verdict.cause, r.verdict.header, r.verdict.confidence),
            (Cause::OriginRejected, Some("Origin"), Confidence::Medium)
        );
        assert!(
            r.verdict
                .evidence
                .contains("no Origin sent, while every request accepted at this endpoint under /ws carried one (http://app.test)"),
            "{}",
            r.verdict.evidence
        );
        // Under a route nothing was accepted on: not compared.
        assert_ne!(
            bare_403_after(ok(), "/feed", FULL).verdict.confidence,
            Confidence::Medium
        );
        // Accepted without Origin as well: not the Origin.
        let mixed = vec![
            on_path("10.0.0.9:5000", "/ws", &hs),
            on_path("10.0.0.9:5001", "/ws", FULL),
        ];
        assert_ne!(
            bare_403_after(mixed, "/ws", FULL).verdict.cause,
            Cause::OriginRejected
        );
    }

    #[test]
    fn a_bare_403_on_a_path_never_accepted_is_a_guess_of_path_not_found() {
        let hs = with_origin(FULL, "http://app.test");
        let ok = vec![
            on_path("10.0.0.9:5000", "/ws", &hs),
            on_path("10.0.0.9:5001", "/feed", &hs),
        ];
        let r = bare_403_after(ok, "/nope", &hs);
        assert_eq!(r.verdict.cause, Cause::PathNotFound);
        assert_eq!(r.verdict.header, None);
        assert_eq!(r.verdict.confidence, Confidence::Low);
        assert!(r
            .verdict
            .evidence
            .contains("on /feed, /ws, never under /nope"));

        // A path that names a resource is set against its route's.
        let rooms = vec![on_path("10.0.0.9:5000", "/rooms/1/ws", &hs)];
        let r = bare_403_after(rooms, "/rooms/2/ws", &hs);
        assert_eq!(r.verdict.cause, Cause::OriginRejected);
        assert_eq!(r.verdict.confidence, Confidence::Low);

        // The same without Origin on either side (a service's client).
        let r = bare_403_after(vec![on_path("10.0.0.9:5000", "/ws", FULL)], "/nope", FULL);
        assert_eq!(r.verdict.cause, Cause::PathNotFound);
        assert!(r.verdict.evidence.contains("requests with no Origin"));

        // An empty 500 there (Daphne's answer when Channels finds no route);
        // under an accepted route it stays a server error.
        let five_hundred = |target: &str| {
            let mut all = vec![accepted(on_path("10.0.0.9:5000", "/ws", &hs))];
            let mut a = attempt("10.0.0.9:6000", "10.0.0.1:80", 50, 52, 500, 1, &hs);
            Arc::make_mut(&mut a.request).target = target.into();
            all.push(a);
            run(all).pop().unwrap().verdict
        };
        let v = five_hundred("/nope");
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::PathNotFound, Confidence::Low)
        );
        assert!(v.evidence.contains("Django Channels"));
        assert_eq!(five_hundred("/ws/2").cause, Cause::ServerError);

        // Accepted only from another Origin: nothing to set it against.
        let elsewhere = with_origin(FULL, "http://other.test");
        let r = bare_403_after(
            vec![on_path("10.0.0.9:5000", "/ws", &elsewhere)],
            "/nope",
            &hs,
        );
        assert_eq!(r.verdict.cause, Cause::OriginRejected);
    }

    #[test]
    fn engine_io_refusals_are_named() {
        let mut a = attempt("10.0.0.9:5000", "10.0.0.1:3000", 0, 2, 400, 1, FULL);
        Arc::make_mut(&mut a.request).target =
            "/socket.io/?EIO=4&transport=websocket&sid=abc".into();
        a.body_excerpt = Some(b"Session ID unknown".to_vec());
        let out = run(vec![a.clone()]);
        assert_eq!(out[0].verdict.cause, Cause::SessionNotSticky);
        assert!(out[0].verdict.evidence.contains("sid 'abc'"));

        // ASP.NET Core SignalR: a connection id this node did not issue, 404
        // where a bare 404 would be a missing path.
        let mut hub = attempt("10.0.0.9:5001", "10.0.0.1:5000", 0, 2, 404, 1, FULL);
        Arc::make_mut(&mut hub.request).target = "/chathub?id=Q2h9x".into();
        if let Some(r) = hub.response.as_mut() {
            r.reason = "Not Found".into();
        }
        let bare = run(vec![hub.clone()]);
        assert_eq!(bare[0].verdict.cause, Cause::PathNotFound);
        hub.body_excerpt = Some(b"No Connection with that ID".to_vec());
        let v = &run(vec![hub])[0].verdict;
        assert_eq!(v.cause, Cause::SessionNotSticky);
        assert_eq!(v.confidence, Confidence::High);
        assert!(
            v.evidence.contains("connection id 'Q2h9x'"),
            "{}",
            v.evidence
        );

        let mut v3 = accepted(a);
        Arc::make_mut(&mut v3.request).target = "/socket.io/?EIO=3&transport=websocket".into();
        v3.body_excerpt = None;
        v3.after_upgrade = Some(crate::http::AfterUpgrade {
            server_http: Some(
                b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nUnsupported protocol version"
                    .to_vec(),
            ),
            ..Default::default()
        });
        let out = run(vec![v3]);
        assert_eq!(out[0].verdict.cause, Cause::EngineIoVersionMismatch);
        assert!(out[0].verdict.evidence.contains("EIO=3"));
    }

    #[test]
    fn a_bare_refusal_of_a_sid_another_node_issued_is_session_not_sticky() {
        let hs = with_origin(FULL, "http://app.test");
        // The upgrade to `node` of the sid `issuer` answered, refused with a
        // bare 403 (python-engineio under uvicorn).
        let judged = |issuer: &str, node: &str| {
            let mut c = Correlator::new();
            c.note_sid(crate::http::SidIssued {
                ts: Timestamp::default(),
                client: ep("10.0.0.9:4999"),
                server: ep(issuer),
                sid: "Xy9_sid".into(),
            });
            let mut a = attempt("10.0.0.9:5000", node, 10, 12, 403, 1, &hs);
            Arc::make_mut(&mut a.request).target =
                "/socket.io/?EIO=4&transport=websocket&sid=Xy9_sid".into();
            if let Some(r) = a.response.as_mut() {
                r.reason = "Forbidden".into();
            }
            let mut out = c.push(a);
            out.extend(c.release(None));
            out.remove(0).verdict
        };
        let v = judged("10.0.0.1:8001", "10.0.0.2:8001");
        assert_eq!(
            (v.cause, v.header, v.confidence),
            (Cause::SessionNotSticky, None, Confidence::Medium)
        );
        assert!(
            v.evidence.starts_with("sid 'Xy9_sid' was issued by 10.0.0.1:8001 (polling handshake), but this upgrade reached 10.0.0.2:8001"),
            "{}",
            v.evidence
        );
        // The node that issued it refused it: not the balancer.
        assert_ne!(
            judged("10.0.0.2:8001", "10.0.0.2:8001").cause,
            Cause::SessionNotSticky
        );
    }

    #[test]
    fn a_bare_refusal_of_an_engine_io_revision_never_accepted_here_names_it() {
        let hs = with_origin(FULL, "http://app.test");
        let upgrade = |client: &str, eio: &str, status: u16, ms: i64| {
            let mut a = attempt(client, "10.0.0.1:8000", ms, ms + 2, status, 1, &hs);
            Arc::make_mut(&mut a.request).target =
                format!("/socket.io/?EIO={eio}&transport=websocket");
            if let Some(r) = a.response.as_mut() {
                r.reason = "Forbidden".into();
            }
            a
        };
        let ok = accepted(upgrade("10.0.0.9:5000", "4", 101, 0));
        let out = run(vec![ok.clone(), upgrade("10.0.0.9:5001", "3", 403, 10)]);
        let v = &out
            .iter()
            .find(|j| j.verdict.outcome == Outcome::Rejected)
            .unwrap()
            .verdict;
        assert_eq!(
            (v.cause, v.header, v.confidence),
            (Cause::EngineIoVersionMismatch, None, Confidence::Medium)
        );
        assert!(
            v.evidence
                .starts_with("EIO=3 refused, while this endpoint accepted upgrades with EIO=4"),
            "{}",
            v.evidence
        );
        // A revision accepted here, or nothing accepted to compare with.
        for out in [
            run(vec![ok, upgrade("10.0.0.9:5001", "4", 403, 10)]),
            run(vec![upgrade("10.0.0.9:5001", "3", 403, 10)]),
        ] {
            let r = out
                .iter()
                .find(|j| j.verdict.outcome == Outcome::Rejected)
                .unwrap();
            assert_ne!(r.verdict.cause, Cause::EngineIoVersionMismatch);
        }
    }

    #[test]
    fn only_a_browser_fails_a_101_that_selects_no_subprotocol() {
        let mut hs = with_origin(FULL, "http://app.test");
        hs.push(("Sec-WebSocket-Protocol", "chat.v1"));
        let lib = accepted(attempt("10.0.0.9:5000", "10.0.0.1:80", 0, 2, 101, 1, &hs));
        assert_eq!(run(vec![lib])[0].verdict.cause, Cause::Ok);
        hs.push(("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"));
        let browser = accepted(attempt("10.0.0.9:5001", "10.0.0.1:80", 0, 2, 101, 1, &hs));
        let out = run(vec![browser]);
        assert_eq!(out[0].verdict.cause, Cause::SubprotocolNotSelected);
        assert_eq!(out[0].verdict.outcome, Outcome::Rejected);
    }
}
