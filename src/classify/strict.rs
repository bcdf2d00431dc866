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
/// refused request with accepted ones to the same endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spelling {
    pub origin: Option<Vec<u8>>,
    pub target_path: String,
    connection: Option<Vec<u8>>,
    upgrade: Option<Vec<u8>>,
    names: Vec<String>,
}

const COMPARED: &[&str] = &[
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
];

impl Spelling {
    pub fn of(req: &RequestHead) -> Spelling {
        let raw = |n: &str| req.header(n).map(|h| h.value.trim_ascii().to_vec());
        Spelling {
            origin: raw("origin"),
            target_path: req.target.split('?').next().unwrap_or("").to_string(),
            connection: raw("connection"),
            upgrade: raw("upgrade"),
            names: COMPARED
                .iter()
                .filter_map(|n| req.header(n).map(|h| h.name.to_string()))
                .collect(),
        }
    }

    /// Whether `req` is spelled as `self`: `Spelling::of(req) == *self`,
    /// without building it.
    pub fn same_as(&self, req: &RequestHead) -> bool {
        let raw = |n: &str| req.header(n).map(|h| h.value.trim_ascii());
        self.origin.as_deref() == raw("origin")
            && self.target_path == req.target.split('?').next().unwrap_or("")
            && self.connection.as_deref() == raw("connection")
            && self.upgrade.as_deref() == raw("upgrade")
            && self.names.iter().map(String::as_str).eq(COMPARED
                .iter()
                .filter_map(|n| req.header(n).map(|h| h.name)))
    }

    /// The one header in which `self` (refused) differs from `ok` (accepted),
    /// when the two are otherwise alike: same Origin and path.
    pub fn only_difference(&self, ok: &Spelling) -> Option<(&'static str, String)> {
        if self.origin != ok.origin || self.target_path != ok.target_path {
            return None;
        }
        let conn = self.connection != ok.connection;
        let up = self.upgrade != ok.upgrade;
        let names = self.names != ok.names;
        let show = |v: &Option<Vec<u8>>| v.as_deref().map_or("(none)".into(), rules::show);
        match (conn, up, names) {
            (true, false, false) => Some((
                "Connection",
                format!(
                    "Connection {} refused while {} to the same endpoint was accepted",
                    show(&self.connection),
                    show(&ok.connection)
                ),
            )),
            (false, true, false) => Some((
                "Upgrade",
                format!(
                    "Upgrade {} refused while {} to the same endpoint was accepted",
                    show(&self.upgrade),
                    show(&ok.upgrade)
                ),
            )),
            (false, false, true) => {
                let which = self
                    .names
                    .iter()
                    .find(|n| !ok.names.contains(n))
                    .cloned()
                    .unwrap_or_default();
                Some((
                    rules::canonical(&which).unwrap_or("Connection"),
                    format!(
                        "header names spelled {} refused while {} to the same endpoint was accepted",
                        self.names.join(", "),
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
        let refused = Spelling::of(&req(
            &format!("{BASE}Connection: Upgrade\r\n\r\n").replace("websocket", "WebSocket")
        ));
        let ok = Spelling::of(&req(&format!("{BASE}Connection: Upgrade\r\n\r\n")));
        assert_eq!(refused.only_difference(&ok).map(|d| d.0), Some("Upgrade"));
        let other_origin = Spelling::of(&req(
            &format!("{BASE}Connection: Upgrade\r\n\r\n").replace("http://a", "http://b")
        ));
        assert_eq!(other_origin.only_difference(&ok), None);
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
            let sa = Spelling::of(a);
            for b in &reqs {
                let same = sa == Spelling::of(b);
                alike += usize::from(same);
                assert_eq!(sa.same_as(b), same, "{sa:?} against {:?}", Spelling::of(b));
            }
        }
        // The query string and surrounding blanks do not count.
        assert_eq!(alike, reqs.len() + 6);
    }
}
