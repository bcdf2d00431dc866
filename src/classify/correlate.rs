//! Reasoning across attempts: the two legs of an attempt that crosses a reverse
//! proxy (same `Sec-WebSocket-Key`, a random nonce, on two connections moments
//! apart), proxy marks on a lone backend leg, and comparison of a refusal with the
//! attempts the same server accepted.
//!
//! Attempts are held for a short window of packet time so the other leg can
//! arrive, then released in a deterministic order.

use std::collections::{BTreeMap, HashMap};

use super::{classify, grammar, rules, Cause, Confidence, Outcome, Verdict};
use crate::capture::Timestamp;
use crate::http::{Attempt, Headers, TlsSighting};

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
    pub attempt: Attempt,
    pub verdict: Verdict,
    pub leg: Leg,
    /// The other leg as `client>server`.
    pub peer: Option<String>,
}

/// Seconds two legs of one attempt may be apart. A proxy forwards at once;
/// a few seconds covers a slow upstream connect.
pub const LEG_WINDOW_SECS: f64 = 5.0;
/// Seconds of packet time an attempt is held waiting for its other leg.
pub const HOLD_SECS: f64 = 0.5;
/// Accepted origins remembered per server endpoint.
const MAX_ORIGINS: usize = 16;
/// Server endpoints remembered for comparison.
const MAX_ENDPOINTS: usize = 4096;
/// Attempts held at once; past this the oldest are released early, so memory
/// stays bounded under a flood of attempts.
const MAX_HELD: usize = 65_536;

#[derive(Default)]
pub struct Correlator {
    held: BTreeMap<u64, Judged>,
    next_id: u64,
    by_key: HashMap<Vec<u8>, u64>,
    accepted_origins: HashMap<String, Vec<String>>,
    /// Recent TLS connections, newest last, for backend legs whose client leg
    /// was encrypted.
    tls: std::collections::VecDeque<TlsSighting>,
}

/// TLS connections remembered for matching backend legs.
const MAX_TLS: usize = 4096;

fn conn(a: &Attempt) -> String {
    format!("{}>{}", a.client, a.server)
}

fn done_ts(a: &Attempt) -> Timestamp {
    a.response_ts.unwrap_or(a.ts)
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

fn header_text(a: &Attempt, name: &str) -> String {
    a.request
        .header(name)
        .map_or("(none)".to_string(), |h| rules::show(&h.value))
}

impl Correlator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remember a connection whose client spoke TLS.
    pub fn note_tls(&mut self, t: TlsSighting) {
        self.tls.push_back(t);
        while self.tls.len() > MAX_TLS {
            self.tls.pop_front();
        }
    }

    /// A held attempt that is the client leg of `b` although neither carries a
    /// key (a client that forgot it, forwarded as is): the proxy connects from
    /// the address the client connected to, moments later, for the same target
    /// with the same WebSocket version and User-Agent.
    fn keyless_client_leg(&self, b: &Judged) -> Option<u64> {
        let same = |x: &Attempt, y: &Attempt, h: &str| {
            x.request.header(h).map(|v| &v.value) == y.request.header(h).map(|v| &v.value)
        };
        // The backend leg nests inside the client leg: forwarded after the
        // client's request, answered before the proxy relays the answer, with
        // the same status. Without that, two direct attempts from a host to
        // two of its own servers (loopback) would look like legs.
        let nested = |x: &Attempt, y: &Attempt| match (x.response_ts, y.response_ts) {
            (Some(xr), Some(yr)) => {
                yr <= xr
                    && x.response.as_ref().map(|r| r.status)
                        == y.response.as_ref().map(|r| r.status)
            }
            (None, None) => true,
            _ => false,
        };
        let client_of = |x: &Attempt, y: &Attempt| {
            y.client.ip == x.server.ip
                && x.server != y.server
                && y.ts >= x.ts
                && y.ts.secs_since(x.ts) <= LEG_WINDOW_SECS
                && nested(x, y)
                && x.request.target == y.request.target
                && x.request.header("sec-websocket-key").is_none()
                && y.request.header("sec-websocket-key").is_none()
                && same(x, y, "sec-websocket-version")
                && same(x, y, "user-agent")
        };
        self.held
            .iter()
            .rev()
            .find(|(_, a)| {
                a.leg == Leg::Direct
                    && (client_of(&a.attempt, &b.attempt) || client_of(&b.attempt, &a.attempt))
            })
            .map(|(id, _)| *id)
    }

    /// Classify an attempt and hold it for its other leg.
    pub fn push(&mut self, attempt: Attempt) -> Vec<Judged> {
        let verdict = classify(&attempt);
        let id = self.next_id;
        self.next_id += 1;
        let key = attempt
            .request
            .header("sec-websocket-key")
            .map(|h| h.value.trim_ascii().to_vec())
            .filter(|k| !k.is_empty());
        let mut j = Judged {
            attempt,
            verdict,
            leg: Leg::Direct,
            peer: None,
        };
        if let Some(key) = key {
            if let Some(other_id) = self.by_key.get(&key).copied() {
                if let Some(mut other) = self.held.remove(&other_id) {
                    if is_other_leg(&other, &j) {
                        self.by_key.remove(&key);
                        pair(&mut other, &mut j);
                        let mut out = vec![other, j];
                        for x in out.iter_mut() {
                            self.compare(x);
                        }
                        sort(&mut out);
                        return out;
                    }
                    self.held.insert(other_id, other);
                }
            }
            self.by_key.insert(key, id);
        } else if let Some(other_id) = self.keyless_client_leg(&j) {
            if let Some(mut other) = self.held.remove(&other_id) {
                pair(&mut other, &mut j);
                for x in [&mut other, &mut j] {
                    if x.verdict.confidence == Confidence::High {
                        x.verdict.confidence = Confidence::Medium;
                    }
                }
                let mut out = vec![other, j];
                for x in out.iter_mut() {
                    self.compare(x);
                }
                sort(&mut out);
                return out;
            }
        }
        self.held.insert(id, j);
        let mut out = Vec::new();
        while self.held.len() > MAX_HELD {
            if let Some((_, j)) = self.held.pop_first() {
                out.push(self.finish(j));
            }
        }
        out
    }

    /// Release what has waited long enough at packet time `now` (all when
    /// `now` is `None`, at the end of the capture).
    pub fn release(&mut self, now: Option<Timestamp>) -> Vec<Judged> {
        let ready: Vec<u64> = self
            .held
            .iter()
            .filter(|(_, j)| now.is_none_or(|n| n.secs_since(done_ts(&j.attempt)) >= HOLD_SECS))
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::with_capacity(ready.len());
        for id in ready {
            if let Some(j) = self.held.remove(&id) {
                out.push(self.finish(j));
            }
        }
        sort(&mut out);
        out
    }

    fn finish(&mut self, mut j: Judged) -> Judged {
        if let Some(k) = j.attempt.request.header("sec-websocket-key") {
            let k = k.value.trim_ascii();
            if self.by_key.contains_key(k) {
                self.by_key.remove(k);
            }
        }
        self.tls_client_leg(&mut j);
        lone_backend(&mut j);
        self.compare(&mut j);
        j
    }

    /// A lone attempt coming from the address a TLS connection went to, moments
    /// after it: the backend leg of a TLS-terminating proxy.
    fn tls_client_leg(&self, j: &mut Judged) {
        if j.leg != Leg::Direct {
            return;
        }
        let a = &j.attempt;
        let hit = self.tls.iter().rev().find(|t| {
            t.server.ip == a.client.ip
                && t.server != a.server
                && t.ts <= a.ts
                && a.ts.secs_since(t.ts) <= LEG_WINDOW_SECS
        });
        if let Some(t) = hit {
            j.leg = Leg::Backend;
            j.peer = Some(format!("{}>{}", t.client, t.server));
        }
    }

    /// Learn from accepted attempts; sharpen refusals by comparison with them.
    fn compare(&mut self, j: &mut Judged) {
        let server = j.attempt.server.to_string();
        let origin = j
            .attempt
            .request
            .header("origin")
            .map(|h| h.value_str().into_owned());
        if j.verdict.outcome == Outcome::Accepted {
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
        let Some(o) = origin else { return };
        let Some(accepted) = self.accepted_origins.get(&server) else {
            return;
        };
        if accepted.contains(&o) || j.verdict.outcome != Outcome::Rejected {
            return;
        }
        let v = &mut j.verdict;
        if matches!(
            v.cause,
            Cause::OriginRejected | Cause::Unknown | Cause::Unauthorized
        ) && v.defects.is_empty()
        {
            v.cause = Cause::OriginRejected;
            v.header = Some("Origin");
            v.confidence = Confidence::High;
            v.evidence = format!(
                "Origin '{}' was refused; accepted origins here: {}",
                super::printable(o.as_bytes(), 80),
                accepted.join(", ")
            );
        }
    }
}

fn sort(v: &mut [Judged]) {
    v.sort_by(|a, b| {
        (
            a.attempt.ts,
            a.attempt.client,
            a.attempt.server,
            a.attempt.request_index,
        )
            .cmp(&(
                b.attempt.ts,
                b.attempt.client,
                b.attempt.server,
                b.attempt.request_index,
            ))
    });
}

/// Two attempts with the same key are legs of one attempt when they are on
/// different connections to different servers, moments apart.
fn is_other_leg(a: &Judged, b: &Judged) -> bool {
    a.attempt.server != b.attempt.server
        && a.attempt.client != b.attempt.client
        && (b.attempt.ts.secs_since(a.attempt.ts) <= LEG_WINDOW_SECS
            && a.attempt.ts.secs_since(b.attempt.ts) <= LEG_WINDOW_SECS)
}

/// Mark two legs; the earlier request is the client's, the later the proxy's.
fn pair(x: &mut Judged, y: &mut Judged) {
    let (client, backend) = if (x.attempt.ts, x.attempt.client) <= (y.attempt.ts, y.attempt.client)
    {
        (x, y)
    } else {
        (y, x)
    };
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
    let dropped = if carries_upgrade(&client.attempt) && !carries_upgrade(&backend.attempt) {
        Some("Upgrade")
    } else if carries_connection_upgrade(&client.attempt)
        && !carries_connection_upgrade(&backend.attempt)
    {
        Some("Connection")
    } else {
        None
    };
    if let Some(h) = dropped {
        let backend_version = backend.attempt.request.http_version();
        let ev = format!(
            "proxy dropped {h}: client leg {} sent Upgrade {} and Connection {}; backend leg {} ({backend_version}) has Upgrade {} and Connection {}",
            conn(&client.attempt),
            header_text(&client.attempt, "Upgrade"),
            header_text(&client.attempt, "Connection"),
            conn(&backend.attempt),
            header_text(&backend.attempt, "Upgrade"),
            header_text(&backend.attempt, "Connection"),
        );
        for leg in [&mut *client, &mut *backend] {
            if leg.verdict.outcome == Outcome::Accepted {
                continue;
            }
            leg.verdict.cause = Cause::ProxyStrippedUpgrade;
            leg.verdict.header = Some(h);
            leg.verdict.confidence = Confidence::High;
            leg.verdict.evidence = ev.clone();
        }
    } else if client.verdict.outcome == Outcome::Rejected
        && backend.verdict.outcome == Outcome::Rejected
        && client.verdict.defects.is_empty()
        && client.verdict.cause == Cause::Unknown
    {
        // The proxy relayed the backend's refusal: the backend leg knows why.
        client.verdict.cause = backend.verdict.cause;
        client.verdict.header = backend.verdict.header;
        client.verdict.confidence = backend.verdict.confidence;
        client.verdict.evidence = format!(
            "relayed from backend leg {}: {}",
            conn(&backend.attempt),
            backend.verdict.evidence
        );
    }
    if !changed.is_empty() {
        let note = format!(" (proxy changed: {})", changed.join("; "));
        client.verdict.evidence.push_str(&note);
        backend.verdict.evidence.push_str(&note);
    }
}

/// A backend request with WebSocket headers but without Upgrade or Connection,
/// carrying the marks of a proxy, seen without its client leg (TLS on the client
/// side): the proxy stripped the hop-by-hop headers.
fn lone_backend(j: &mut Judged) {
    let via_tls = j.leg == Leg::Backend;
    if (j.leg != Leg::Direct && !via_tls) || j.verdict.outcome == Outcome::Accepted {
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
    if marks.is_empty() {
        return;
    }
    let h = if has_upgrade { "Connection" } else { "Upgrade" };
    j.leg = Leg::Backend;
    j.verdict.cause = Cause::ProxyStrippedUpgrade;
    j.verdict.header = Some(h);
    j.verdict.confidence = if marks.len() > 1 {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    j.verdict.evidence = format!(
        "request carries Sec-WebSocket-Key but no {h} websocket/upgrade, with proxy marks ({}); the client leg is not in the capture (TLS?)",
        marks.join(", ")
    );
}
