//! Servers and proxies stricter than the RFCs: they compare `Connection` as
//! one exact value instead of a token list, the `Upgrade` token or header
//! names case-sensitively (RFC 9110 §5.1, §7.6.1, §7.8; RFC 6455 §4.2.1).
//! A valid request in another spelling is then refused. Two ways to show it:
//! the server's text names a header that the request sent validly but not in
//! the one spelling everybody uses, or an accepted attempt to the same
//! endpoint differs from the refused one only in such a spelling.

use super::evidence::Topic;
use super::{rules, Cause, Confidence, Verdict};
use crate::http::{Attempt, Headers, RequestHead};

/// What in a valid request a strict server may object to: `(header, what was
/// sent and why it is valid)`, for the headers a message on `topic` is about.
fn unusual_spellings(req: &RequestHead, topic: Topic) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let about = |names: &[&str]| -> bool {
        match topic {
            Topic::Connection => names.contains(&"Connection"),
            Topic::Upgrade => names.contains(&"Upgrade"),
            Topic::UpgradeOrConnection => {
                names.contains(&"Upgrade") || names.contains(&"Connection")
            }
            Topic::Key => names.contains(&"Sec-WebSocket-Key"),
            Topic::Version => names.contains(&"Sec-WebSocket-Version"),
            Topic::WebSocketHeaders => {
                names.contains(&"Sec-WebSocket-Key") || names.contains(&"Sec-WebSocket-Version")
            }
            Topic::Host => names.contains(&"Host"),
            _ => false,
        }
    };
    if about(&["Connection"]) {
        if let Some(h) = req.header("connection") {
            if h.value.trim_ascii() != b"Upgrade" {
                out.push((
                    "Connection",
                    format!(
                        "Connection {} (a token list containing upgrade, as RFC 9110 §7.6.1 allows)",
                        rules::show(h.value)
                    ),
                ));
            }
        }
    }
    if about(&["Upgrade"]) {
        if let Some(h) = req.header("upgrade") {
            if h.value.trim_ascii() != b"websocket" {
                out.push((
                    "Upgrade",
                    format!(
                        "Upgrade {} (the protocol token is case-insensitive, RFC 6455 §4.2.1)",
                        rules::show(h.value)
                    ),
                ));
            }
        }
    }
    for name in [
        "Host",
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
    ] {
        if !about(&[name]) {
            continue;
        }
        if let Some(h) = req.header(name) {
            if h.name != name {
                out.push((
                    name,
                    format!(
                        "{name} sent as '{}' (header names are case-insensitive, RFC 9110 §5.1)",
                        h.name
                    ),
                ));
            }
        }
    }
    out
}

/// A refusal whose text speaks of a header the request sent validly, in an
/// unusual spelling: `strict-server`. `None` when the request uses the usual
/// spellings (then the text points elsewhere).
pub fn by_text(a: &Attempt, topic: Topic, said: &str) -> Option<Verdict> {
    let found = unusual_spellings(&a.request, topic);
    let (header, what) = found.first()?;
    Some(Verdict {
        outcome: super::Outcome::Rejected,
        cause: Cause::StrictServer,
        header: Some(header),
        evidence: format!("{what}; the server objected to it: {said}"),
        confidence: Confidence::High,
        warnings: Vec::new(),
        defects: Vec::new(),
    })
}

/// The spelling of the headers a strict server compares, for comparing a
/// refused request with accepted ones to the same endpoint: kept for the
/// accepted ones (see [`Spelled`] for a request's own, borrowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spelling {
    pub origin: Option<Vec<u8>>,
    pub target_path: String,
    /// Sec-WebSocket-Protocol as offered: a server that requires a
    /// subprotocol accepts only requests that offer one.
    pub protocol: Option<Vec<u8>>,
    connection: Option<Vec<u8>>,
    upgrade: Option<Vec<u8>>,
    names: Vec<String>,
}

/// Where Upgrade and Connection sit in `COMPARED`.
const UPGRADE: usize = 1;
const CONNECTION: usize = 2;

const COMPARED: [&str; 5] = [
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
];

/// A request's spelling, borrowed from it: every refusal at an endpoint with
/// accepted requests is compared, and building the owned form for each cost
/// a dozen allocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spelled<'a> {
    pub origin: Option<&'a [u8]>,
    pub target_path: &'a str,
    pub protocol: Option<&'a [u8]>,
    connection: Option<&'a [u8]>,
    upgrade: Option<&'a [u8]>,
    /// The names of `COMPARED` as sent, `None` where absent.
    names: [Option<&'a str>; COMPARED.len()],
}

impl<'a> Spelled<'a> {
    pub fn of(req: &'a RequestHead) -> Spelled<'a> {
        // Upgrade and Connection are among the compared names: one look-up.
        let found = COMPARED.map(|n| req.header(n));
        let value = |i: usize| found[i].map(|h| h.value.trim_ascii());
        Spelled {
            origin: req.header("origin").map(|h| h.value.trim_ascii()),
            target_path: req.target.split('?').next().unwrap_or(""),
            protocol: req
                .header("sec-websocket-protocol")
                .map(|h| h.value.trim_ascii()),
            connection: value(CONNECTION),
            upgrade: value(UPGRADE),
            names: found.map(|h| h.map(|h| h.name)),
        }
    }

    fn present_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.names.iter().flatten().copied()
    }

    /// Whether this is spelled as `ok`.
    pub fn same_as(&self, ok: &Spelling) -> bool {
        self.origin == ok.origin.as_deref()
            && self.target_path == ok.target_path
            && self.protocol == ok.protocol.as_deref()
            && self.connection == ok.connection.as_deref()
            && self.upgrade == ok.upgrade.as_deref()
            && self.present_names().eq(ok.names.iter().map(String::as_str))
    }

    /// The owned form, kept for an accepted request.
    pub fn to_owned_spelling(&self) -> Spelling {
        Spelling {
            origin: self.origin.map(<[u8]>::to_vec),
            target_path: self.target_path.to_string(),
            protocol: self.protocol.map(<[u8]>::to_vec),
            connection: self.connection.map(<[u8]>::to_vec),
            upgrade: self.upgrade.map(<[u8]>::to_vec),
            names: self.present_names().map(str::to_string).collect(),
        }
    }

    /// The one header in which `self` (refused) differs from `ok` (accepted),
    /// when the two are otherwise alike: same Origin and path.
    pub fn only_difference(&self, ok: &Spelling) -> Option<(&'static str, String)> {
        if self.origin != ok.origin.as_deref() || self.target_path != ok.target_path {
            return None;
        }
        let conn = self.connection != ok.connection.as_deref();
        let up = self.upgrade != ok.upgrade.as_deref();
        let names = !self.present_names().eq(ok.names.iter().map(String::as_str));
        let show = |v: Option<&[u8]>| v.map_or("(none)".into(), rules::show);
        match (conn, up, names) {
            (true, false, false) => Some((
                "Connection",
                format!(
                    "Connection {} refused while {} to the same endpoint was accepted",
                    show(self.connection),
                    show(ok.connection.as_deref())
                ),
            )),
            (false, true, false) => Some((
                "Upgrade",
                format!(
                    "Upgrade {} refused while {} to the same endpoint was accepted",
                    show(self.upgrade),
                    show(ok.upgrade.as_deref())
                ),
            )),
            (false, false, true) => {
                let which = self
                    .present_names()
                    .find(|n| !ok.names.iter().any(|o| o == n))
                    .unwrap_or_default();
                Some((
                    rules::canonical(which).unwrap_or("Connection"),
                    format!(
                        "header names spelled {} refused while {} to the same endpoint was accepted",
                        self.present_names().collect::<Vec<_>>().join(", "),
                        ok.names.join(", ")
                    ),
                ))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::head::parse_request;
    use crate::http::head::Parsed;

    fn req(head: &str) -> RequestHead {
        match parse_request(head.as_bytes()) {
            Parsed::Complete((_, Some(r)), _) => r,
            _ => panic!("test request does not parse"),
        }
    }

    const BASE: &str = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://a\r\n";

    #[test]
    fn a_token_list_in_connection_is_an_unusual_spelling() {
        let r = req(&format!("{BASE}Connection: keep-alive, Upgrade\r\n\r\n"));
        let found = unusual_spellings(&r, Topic::Connection);
        assert_eq!(found.first().map(|f| f.0), Some("Connection"));
        let r = req(&format!("{BASE}Connection: Upgrade\r\n\r\n"));
        assert!(unusual_spellings(&r, Topic::Connection).is_empty());
    }

    #[test]
    fn a_lowercase_header_name_is_an_unusual_spelling() {
        let r = req("GET /ws HTTP/1.1\r\nhost: h\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n");
        let found = unusual_spellings(&r, Topic::Key);
        assert_eq!(found.first().map(|f| f.0), Some("Sec-WebSocket-Key"));
        assert!(unusual_spellings(&r, Topic::Origin).is_empty());
    }

    #[test]
    fn the_only_difference_names_the_header() {
        let refused_req =
            req(&format!("{BASE}Connection: Upgrade\r\n\r\n").replace("websocket", "WebSocket"));
        let ok_req = req(&format!("{BASE}Connection: Upgrade\r\n\r\n"));
        let ok = Spelled::of(&ok_req).to_owned_spelling();
        let refused = Spelled::of(&refused_req);
        assert_eq!(refused.only_difference(&ok).map(|d| d.0), Some("Upgrade"));
        let other_req =
            req(&format!("{BASE}Connection: Upgrade\r\n\r\n").replace("http://a", "http://b"));
        assert_eq!(Spelled::of(&other_req).only_difference(&ok), None);
    }

    #[test]
    fn a_spelling_compared_in_place_agrees_with_one_built() {
        let heads = [
            format!("{BASE}Connection: Upgrade\r\n\r\n"),
            format!("{BASE}Connection:  Upgrade \r\n\r\n"),
            format!("{BASE}Connection: keep-alive, Upgrade\r\n\r\n"),
            format!("{BASE}connection: Upgrade\r\n\r\n"),
            format!("{BASE}Connection: Upgrade\r\n\r\n").replace("http://a", "http://b"),
            format!("{BASE}Connection: Upgrade\r\n\r\n").replace("/ws", "/ws?x=1"),
            format!("{BASE}Connection: Upgrade\r\n\r\n").replace("/ws", "/other"),
            format!("{BASE}Connection: Upgrade\r\n\r\n")
                .replace("Upgrade: websocket", "Upgrade: WebSocket"),
            format!("{BASE}\r\n"),
            "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n"
                .to_string(),
        ];
        let reqs: Vec<RequestHead> = heads.iter().map(|h| req(h)).collect();
        let mut alike = 0;
        for a in &reqs {
            let kept = Spelled::of(a).to_owned_spelling();
            for b in &reqs {
                let same = Spelled::of(a) == Spelled::of(b);
                alike += usize::from(same);
                assert_eq!(kept == Spelled::of(b).to_owned_spelling(), same);
                assert_eq!(
                    Spelled::of(b).same_as(&kept),
                    same,
                    "{kept:?} against {:?}",
                    Spelled::of(b)
                );
            }
        }
        // The query string and surrounding blanks do not count.
        assert_eq!(alike, reqs.len() + 6);
    }
}
