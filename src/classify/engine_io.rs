//! Engine.IO (the transport under Socket.IO): its query parameters, the
//! refusals that name them, and a bounded memory of which server issued each
//! session id (from the polling handshakes the HTTP stage reports), so an
//! upgrade refused for an unknown `sid` can name both nodes of a balancer
//! without stickiness.

use std::collections::{HashMap, VecDeque};

use super::Cause;
use crate::http::SidIssued;

/// One query parameter of a request target (first occurrence, raw).
pub fn query_param<'a>(target: &'a str, name: &str) -> Option<&'a str> {
    let query = target.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether a target is an Engine.IO request (`EIO=` in the query).
pub fn is_engine_io(target: &str) -> bool {
    query_param(target, "EIO").is_some()
}

/// The evidence line for a refusal the server worded as Engine.IO's.
pub fn refusal_evidence(target: &str, cause: Cause, said: &str) -> String {
    match cause {
        Cause::SessionNotSticky => match (query_param(target, "sid"), query_param(target, "id")) {
            (Some(sid), _) => format!("sid '{sid}' is not a session of this node; {said}"),
            // ASP.NET Core SignalR names its connection `id`, issued by a
            // negotiate request that may have reached another node.
            (None, Some(id)) => format!(
                "connection id '{id}' is not a connection of this node (SignalR: the negotiate request that issued it reached another node, or the id expired); {said}"
            ),
            (None, None) => format!("the session named by this request is unknown here; {said}"),
        },
        _ => match query_param(target, "EIO") {
            Some(v) => format!("Engine.IO protocol EIO={v} refused; {said}"),
            None => format!("Engine.IO protocol revision refused; {said}"),
        },
    }
}

/// Sessions remembered; past this the oldest are forgotten.
const MAX_SIDS: usize = 8192;

/// Who issued recent sids. Each sid is held by at most a few connections
/// (the client leg and the backend leg of one handshake), so memory is
/// bounded by `MAX_SIDS` entries.
#[derive(Default)]
pub struct SidMemory {
    by_sid: HashMap<String, Vec<SidIssued>>,
    order: VecDeque<String>,
}

impl SidMemory {
    pub fn note(&mut self, s: SidIssued) {
        let list = self.by_sid.entry(s.sid.clone()).or_default();
        if list.len() >= 4 {
            return;
        }
        self.order.push_back(s.sid.clone());
        list.push(s);
        while self.order.len() > MAX_SIDS {
            if let Some(old) = self.order.pop_front() {
                if let Some(l) = self.by_sid.get_mut(&old) {
                    l.remove(0);
                    if l.is_empty() {
                        self.by_sid.remove(&old);
                    }
                }
            }
        }
    }

    /// The server that issued `sid`: of the answers carrying it, the one that
    /// came first (a proxy relays the origin server's answer after it).
    pub fn issuer(&self, sid: &str) -> Option<&SidIssued> {
        self.by_sid.get(sid)?.iter().min_by_key(|s| s.ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::decode::Endpoint;

    #[test]
    fn query_params_are_read_from_the_target() {
        let t = "/socket.io/?EIO=4&transport=websocket&sid=abc_DEF-1";
        assert_eq!(query_param(t, "EIO"), Some("4"));
        assert_eq!(query_param(t, "sid"), Some("abc_DEF-1"));
        assert_eq!(query_param(t, "t"), None);
        assert!(is_engine_io(t));
        assert!(!is_engine_io("/ws?room=1"));
    }

    #[test]
    fn the_first_answer_is_the_issuer_and_memory_is_bounded() {
        let ep = |p: u16| Endpoint {
            ip: "127.0.0.1".parse().unwrap(),
            port: p,
        };
        let mut m = SidMemory::default();
        let s = |ts: i64, server: u16, sid: &str| SidIssued {
            ts: Timestamp::new(ts, 0),
            client: ep(40000),
            server: ep(server),
            sid: sid.to_string(),
        };
        m.note(s(2, 18453, "a")); // the proxy's relay, later
        m.note(s(1, 18451, "a")); // the node's answer
        assert_eq!(m.issuer("a").map(|x| x.server.port), Some(18451));
        for i in 0..(MAX_SIDS + 10) {
            m.note(s(3, 1, &format!("x{i}")));
        }
        assert!(m.issuer("a").is_none());
        assert!(m.order.len() <= MAX_SIDS);
    }
}
