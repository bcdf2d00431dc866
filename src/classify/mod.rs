//! From the facts of one attempt to a verdict: outcome, cause, the header that
//! caused it, the evidence, the fix and how sure we are.
//!
//! Request checks (RFC 6455 §4.2.1) find what the request did wrong; the
//! server's answer (status, reason, body text of known servers) confirms which
//! of those the server objected to, or names what only the server knows (Origin
//! allow-list, subprotocols, header limits). Cross-attempt reasoning (proxy legs,
//! comparison with accepted attempts) lives in [`correlate`].

pub mod advice;
pub mod correlate;
pub mod engine_io;
pub mod evidence;
pub mod grammar;
pub mod h2;
mod keyless_legs;
pub mod needles;
pub mod proxy;
pub mod proxy_advice;
pub mod rules;
pub mod session_end;
pub mod strict;
#[cfg(test)]
mod test_heads;

use std::borrow::Cow;

use base64::Engine as _;
use serde::Serialize;
use sha1::{Digest, Sha1};

use crate::html_text::Page;
use crate::http::{Attempt, Ending, Headers};
use rules::Defect;

/// The cause vocabulary of the output contract. Codes are stable: add, never
/// rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    Ok,
    MissingSecWebSocketKey,
    InvalidSecWebSocketKey,
    MissingSecWebSocketVersion,
    UnsupportedSecWebSocketVersion,
    MissingUpgrade,
    InvalidUpgrade,
    ConnectionMissingUpgrade,
    OriginRejected,
    MethodNotGet,
    HttpVersionTooOld,
    MissingHost,
    SubprotocolRejected,
    HeaderTooLarge,
    ProxyStrippedUpgrade,
    InvalidSecWebSocketAccept,
    PathNotFound,
    Unauthorized,
    ServerError,
    /// The server accepted with an extension the client never offered.
    ExtensionRejected,
    /// Accepted with 101, then closed by the server at once with a policy close
    /// code or a reset: a refusal after the handshake.
    ClosedAfterUpgrade,
    /// RFC 8441: an extended CONNECT on a connection whose server never
    /// advertised SETTINGS_ENABLE_CONNECT_PROTOCOL.
    H2ConnectNotEnabled,
    // Causes of proxies and gateways.
    /// The proxy answered 502/503/504 itself: it could not reach the backend.
    BackendUnreachable,
    /// The proxy refused a valid request on its own (an ACL on path or method,
    /// WebSocket support switched off), for no more specific reason.
    ProxyRefused,
    /// The backend refused the Origin because the proxy rewrote Host.
    HostRewritten,
    /// The proxy changed the target and the backend has nothing there.
    PathRewritten,
    /// A valid upgrade answered with 2xx or 3xx instead of 101.
    NotUpgraded,
    /// The proxy speaks HTTP/2 to a backend that needs the HTTP/1.1 upgrade.
    BackendIsHttp2,
    /// The connection began with a PROXY protocol header that the server,
    /// not set up for it, read as a malformed request.
    UnexpectedProxyProtocol,
    /// A connection without the PROXY protocol header closed unanswered by a
    /// server that other connections showed expects one.
    MissingProxyProtocol,
    // Causes of clients, clusters and strict servers (contract 1.2).
    /// An Engine.IO request carried a `sid` the node does not know: the
    /// balancer sent it to another node than the one that issued it.
    SessionNotSticky,
    /// The Engine.IO protocol revision (`EIO=`) is refused.
    EngineIoVersionMismatch,
    /// The server or a proxy refused what RFC 6455/9110 allow (a token list
    /// in Connection, the case of a token or of a header name).
    StrictServer,
    /// The client offered subprotocols and the 101 selected none; browsers
    /// then fail the connection.
    SubprotocolNotSelected,
    /// The server refused the permessage-deflate parameters offered.
    ExtensionParamsRejected,
    // Abnormal ends of accepted sessions (`--sessions`, record kind
    // `session_end`).
    /// Closed without a close frame after the same idle time as other
    /// sessions, or a well-known default: a proxy's idle timeout.
    IdleTimeout,
    /// TCP closed without the closing handshake (a crash, a restart, a
    /// killed process, a middlebox).
    NoCloseFrame,
    /// The session ended with a TCP reset.
    SessionReset,
    /// A close frame with a code other than 1000 or 1001.
    AbnormalCloseCode,
    Unknown,
}

impl Cause {
    pub const ALL: &'static [Cause] = &[
        Cause::Ok,
        Cause::MissingSecWebSocketKey,
        Cause::InvalidSecWebSocketKey,
        Cause::MissingSecWebSocketVersion,
        Cause::UnsupportedSecWebSocketVersion,
        Cause::MissingUpgrade,
        Cause::InvalidUpgrade,
        Cause::ConnectionMissingUpgrade,
        Cause::OriginRejected,
        Cause::MethodNotGet,
        Cause::HttpVersionTooOld,
        Cause::MissingHost,
        Cause::SubprotocolRejected,
        Cause::HeaderTooLarge,
        Cause::ProxyStrippedUpgrade,
        Cause::InvalidSecWebSocketAccept,
        Cause::PathNotFound,
        Cause::Unauthorized,
        Cause::ServerError,
        Cause::ExtensionRejected,
        Cause::ClosedAfterUpgrade,
        Cause::H2ConnectNotEnabled,
        Cause::BackendUnreachable,
        Cause::ProxyRefused,
        Cause::HostRewritten,
        Cause::PathRewritten,
        Cause::NotUpgraded,
        Cause::BackendIsHttp2,
        Cause::UnexpectedProxyProtocol,
        Cause::MissingProxyProtocol,
        Cause::SessionNotSticky,
        Cause::EngineIoVersionMismatch,
        Cause::StrictServer,
        Cause::SubprotocolNotSelected,
        Cause::ExtensionParamsRejected,
        Cause::IdleTimeout,
        Cause::NoCloseFrame,
        Cause::SessionReset,
        Cause::AbnormalCloseCode,
        Cause::Unknown,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Cause::Ok => "ok",
            Cause::MissingSecWebSocketKey => "missing-sec-websocket-key",
            Cause::InvalidSecWebSocketKey => "invalid-sec-websocket-key",
            Cause::MissingSecWebSocketVersion => "missing-sec-websocket-version",
            Cause::UnsupportedSecWebSocketVersion => "unsupported-sec-websocket-version",
            Cause::MissingUpgrade => "missing-upgrade",
            Cause::InvalidUpgrade => "invalid-upgrade",
            Cause::ConnectionMissingUpgrade => "connection-missing-upgrade",
            Cause::OriginRejected => "origin-rejected",
            Cause::MethodNotGet => "method-not-get",
            Cause::HttpVersionTooOld => "http-version-too-old",
            Cause::MissingHost => "missing-host",
            Cause::SubprotocolRejected => "subprotocol-rejected",
            Cause::HeaderTooLarge => "header-too-large",
            Cause::ProxyStrippedUpgrade => "proxy-stripped-upgrade",
            Cause::InvalidSecWebSocketAccept => "invalid-sec-websocket-accept",
            Cause::PathNotFound => "path-not-found",
            Cause::Unauthorized => "unauthorized",
            Cause::ServerError => "server-error",
            Cause::ExtensionRejected => "extension-rejected",
            Cause::ClosedAfterUpgrade => "closed-after-upgrade",
            Cause::H2ConnectNotEnabled => "h2-connect-not-enabled",
            Cause::BackendUnreachable => "backend-unreachable",
            Cause::ProxyRefused => "proxy-refused",
            Cause::HostRewritten => "host-rewritten",
            Cause::PathRewritten => "path-rewritten",
            Cause::NotUpgraded => "not-upgraded",
            Cause::BackendIsHttp2 => "backend-is-http2",
            Cause::UnexpectedProxyProtocol => "unexpected-proxy-protocol",
            Cause::MissingProxyProtocol => "missing-proxy-protocol",
            Cause::SessionNotSticky => "session-not-sticky",
            Cause::EngineIoVersionMismatch => "engine-io-version-mismatch",
            Cause::StrictServer => "strict-server",
            Cause::SubprotocolNotSelected => "subprotocol-not-selected",
            Cause::ExtensionParamsRejected => "extension-params-rejected",
            Cause::IdleTimeout => "idle-timeout",
            Cause::NoCloseFrame => "no-close-frame",
            Cause::SessionReset => "session-reset",
            Cause::AbnormalCloseCode => "abnormal-close-code",
            Cause::Unknown => "unknown",
        }
    }

    pub fn from_code(s: &str) -> Option<Cause> {
        Cause::ALL.iter().copied().find(|c| c.code() == s)
    }

    /// A cause of a session's end, not of a handshake's refusal.
    pub fn is_session_end(self) -> bool {
        matches!(
            self,
            Cause::IdleTimeout
                | Cause::NoCloseFrame
                | Cause::SessionReset
                | Cause::AbnormalCloseCode
        )
    }
}

impl Serialize for Cause {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// How the attempt ended, in the contract's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Rejected,
    NoResponse,
    Reset,
    Incomplete,
    /// An accepted session that ended abnormally (record kind
    /// `session_end`).
    AbnormalEnd,
}

impl Outcome {
    /// Every outcome, in the order reports list them.
    pub const ALL: [Outcome; 6] = [
        Outcome::Accepted,
        Outcome::Rejected,
        Outcome::NoResponse,
        Outcome::Reset,
        Outcome::Incomplete,
        Outcome::AbnormalEnd,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::NoResponse => "no_response",
            Outcome::Reset => "reset",
            Outcome::Incomplete => "incomplete",
            Outcome::AbnormalEnd => "abnormal_end",
        }
    }
}

/// How sure the verdict is: `high` when the request and the server's own words
/// agree, `medium` when one of them alone points to the cause, `low` when it is
/// inferred from circumstance (status code only, proxy marks without the other
/// leg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// The classifier's answer for one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub cause: Cause,
    pub header: Option<&'static str>,
    pub evidence: String,
    pub confidence: Confidence,
    /// Rules the request broke even though the server accepted it.
    pub warnings: Vec<String>,
    /// Request defects found (kept for cross-attempt reasoning).
    pub defects: Vec<Defect>,
}

impl Verdict {
    /// Another reading of the same answer, from what it was set against
    /// (the attempts the endpoint accepted, the other leg): the outcome, the
    /// warnings and the request's defects stay.
    pub fn restate(
        &mut self,
        cause: Cause,
        header: Option<&'static str>,
        confidence: Confidence,
        evidence: String,
    ) {
        self.cause = cause;
        self.header = header;
        self.confidence = confidence;
        self.evidence = evidence;
    }
}

/// RFC 6455 §1.3: the GUID appended to the key before hashing.
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` a server must send for `key`.
pub fn expected_accept(key: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(key.trim_ascii());
    h.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Printable rendering of bytes for one-line output: control characters and
/// invalid UTF-8 become escapes, at most `max` characters.
pub fn printable(b: &[u8], max: usize) -> String {
    // Nearly every header value is short printable ASCII, kept as it is.
    if b.len() <= max && all_printable_ascii(b) {
        return crate::text::lossy(b).into_owned();
    }
    let s = crate::text::lossy(&b[..b.len().min(max * 4)]);
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            break;
        }
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Whether every byte is printable ASCII (0x20 to 0x7e), eight bytes at a
/// time: each record's texts are checked, and a byte-by-byte test was most
/// of what rendering one cost.
fn all_printable_ascii(b: &[u8]) -> bool {
    use crate::byte_word::{has_at_least, has_below, load};
    let mut words = b.chunks_exact(8);
    if words
        .by_ref()
        .filter_map(load)
        .any(|w| has_below(w, 0x20) || has_at_least(w, 0x7f))
    {
        return false;
    }
    words.remainder().iter().all(|c| (0x20..0x7f).contains(c))
}

/// The server's words beyond its status line: the body, after the
/// `X-WebSocket-Reject-Reason` header that WebSocket-Node (the npm package
/// `websocket`) and the services built on it send instead of a body, both for
/// its own checks and for the reason an application passes to `reject()`.
fn server_text<'a>(resp: &crate::http::ResponseHead, body: &'a [u8]) -> Cow<'a, [u8]> {
    match resp.header("x-websocket-reject-reason") {
        Some(h) if !h.value.trim_ascii().is_empty() => {
            let mut text = h.value.trim_ascii().to_vec();
            if !body.is_empty() {
                text.push(b'\n');
                text.extend_from_slice(body);
            }
            Cow::Owned(text)
        }
        _ => Cow::Borrowed(body),
    }
}

/// "server answered STATUS REASON: "its words"": an HTML page's words are
/// its text (see `html_text`), anything else its first characters.
fn server_says(status: u16, reason: &str, body: &[u8], page: Option<&Page>) -> String {
    let text = crate::text::lossy(body);
    let text = text.trim();
    let said = answered(status, reason);
    if text.is_empty() {
        return said;
    }
    let shown = page.and_then(Page::text).unwrap_or(text);
    let quoted = printable(shown.as_bytes(), 120);
    [&said, ": \"", &quoted, "\""].concat()
}

/// What the server's words are searched in for a row of the evidence
/// table. Of an HTML page, what a reader sees (its title and body text)
/// after its first bytes as sent (where the proxies' own marks are, which
/// are markup): the kept 2 KB of a page reach into inline scripts and style
/// sheets, whose words are no message. Anything else as it is.
fn searched<'a>(body: &'a [u8], page: Option<&Page>) -> Cow<'a, [u8]> {
    let Some(p) = page else {
        return Cow::Borrowed(body);
    };
    let head = &body[..body.len().min(crate::http::body::EXCERPT_LEN)];
    Cow::Owned([head, b"\n", p.title.as_bytes(), b"\n", p.body.as_bytes()].concat())
}

/// "server answered STATUS REASON", or without the reason where there is
/// none: HTTP/2 has no reason phrase, and some HTTP/1.1 servers send an
/// empty one.
pub(crate) fn answered(status: u16, reason: &str) -> String {
    let code = status.to_string();
    if reason.is_empty() {
        ["server answered ", &code].concat()
    } else {
        ["server answered ", &code, " ", reason].concat()
    }
}

/// Classify one attempt on its own.
pub fn classify(a: &Attempt) -> Verdict {
    if let Some(h2) = &a.h2 {
        if let Some(v) = h2::early_verdict(a, h2) {
            return v;
        }
    }
    let defects = match &a.h2 {
        Some(_) => h2::defects(a),
        None => rules::check_request(&a.request),
    };
    let outcome_if_unanswered = match a.ending {
        Ending::Answered => None,
        Ending::ServerClosed
        | Ending::ClientClosed
        | Ending::Expired
        | Ending::Superseded
        | Ending::PortReused
        | Ending::AnswerLost => Some(Outcome::NoResponse),
        Ending::Reset { .. } => Some(Outcome::Reset),
        Ending::CaptureEnded | Ending::Evicted => Some(Outcome::Incomplete),
    };
    let resp = match (&a.response, outcome_if_unanswered) {
        (Some(r), _) => r,
        (None, o) => return unanswered(a, o.unwrap_or(Outcome::Incomplete), defects),
    };
    if resp.status == 101 {
        return switching_protocols(a, resp, defects);
    }
    let text = server_text(resp, a.body_excerpt.as_deref().unwrap_or(&[]));
    let body = &text[..];
    let page = crate::html_text::read(&crate::text::lossy(body));
    let said = server_says(resp.status, &resp.reason, body, page.as_ref());
    let server_header = resp.header("server").map(|h| h.value_str().into_owned());
    let words = searched(body, page.as_ref());
    let row = evidence::lookup_for(resp.status, &resp.reason, &words, server_header.as_deref())
        .filter(|r| r.topic != evidence::Topic::Origin || !only_the_status(resp, body))
        .filter(|r| !r.names_origin_in_own_words() || quotes_the_origin(a, body));
    let topic = row.map(|r| upgrade_required(r, resp, &defects));
    if let Some(v) = unexpected_proxy_protocol(a, resp.status, topic, &said, &defects) {
        return v;
    }

    // What only the server knows, named in its words. An Origin refusal
    // needs an Origin to refuse, an extension refusal an offer.
    let standalone = topic
        .and_then(|t| t.standalone_cause())
        .filter(|c| match c {
            Cause::OriginRejected => a.request.header("origin").is_some(),
            Cause::ExtensionParamsRejected => {
                a.request.header("sec-websocket-extensions").is_some()
            }
            _ => true,
        });
    // A request that broke a rule the server did not enforce (websockets
    // accepts a missing Host) and was refused for what the server names
    // instead (its subprotocol): the server's words win over the rule.
    let named_instead =
        standalone.is_some() && topic.is_some_and(|t| !defects.iter().any(|d| t.covers(d.cause)));

    // The request broke a rule: the server's words pick which one it objected to.
    if !defects.is_empty() && !named_instead {
        let chosen = topic
            .and_then(|t| {
                defects
                    .iter()
                    .find(|d| t.covers(d.cause) && t != evidence::Topic::Generic)
            })
            .or_else(|| status_pick(resp.status, &defects))
            .unwrap_or(&defects[0]);
        let confirmed =
            topic.is_some_and(|t| t.covers(chosen.cause) && t != evidence::Topic::Generic);
        let contradicted = topic.is_some_and(|t| !t.covers(chosen.cause));
        let confidence = if confirmed {
            Confidence::High
        } else if contradicted {
            Confidence::Low
        } else {
            Confidence::Medium
        };
        let others: Vec<&str> = defects
            .iter()
            .filter(|d| d.cause != chosen.cause)
            .map(|d| d.cause.code())
            .collect();
        let mut ev = [&chosen.evidence, "; ", &said].concat();
        if !others.is_empty() {
            ev.push_str(" (also: ");
            ev.push_str(&others.join(", "));
            ev.push(')');
        }
        return verdict(
            Outcome::Rejected,
            chosen.cause,
            chosen.header,
            ev,
            confidence,
            defects,
        );
    }

    // The server names a header the request sent validly, in a spelling the
    // RFCs allow but a strict comparison does not.
    if let Some(v) = topic.and_then(|t| strict::by_text(a, t, &said)) {
        return v;
    }
    if let Some(v) = topic.and_then(|t| changed_on_the_way(a, t, &said)) {
        return v;
    }
    if let Some(c) = standalone {
        let header = match c {
            Cause::OriginRejected => Some("Origin"),
            Cause::SubprotocolRejected => Some("Sec-WebSocket-Protocol"),
            Cause::ExtensionParamsRejected => Some("Sec-WebSocket-Extensions"),
            Cause::SessionNotSticky | Cause::EngineIoVersionMismatch => None,
            _ => rules::canonical(&rules::largest_header(&a.request).0),
        };
        let mut ev = match c {
            Cause::OriginRejected => format!(
                "Origin {} refused; {said}",
                a.request
                    .header("origin")
                    .map_or("(none)".to_string(), |h| rules::show(h.value))
            ),
            Cause::SubprotocolRejected => format!(
                "Sec-WebSocket-Protocol {} refused; {said}",
                a.request
                    .header("sec-websocket-protocol")
                    .map_or("(none)".to_string(), |h| rules::show(h.value))
            ),
            Cause::ExtensionParamsRejected => format!(
                "Sec-WebSocket-Extensions {} refused; {said}",
                a.request
                    .header("sec-websocket-extensions")
                    .map_or("(none)".to_string(), |h| rules::show(h.value))
            ),
            Cause::SessionNotSticky | Cause::EngineIoVersionMismatch => {
                engine_io::refusal_evidence(&a.request.target, c, &said)
            }
            _ => said.clone(),
        };
        if !defects.is_empty() {
            let others: Vec<&str> = defects.iter().map(|d| d.cause.code()).collect();
            ev.push_str(" (also: ");
            ev.push_str(&others.join(", "));
            ev.push_str(", which the server did not name)");
        }
        return verdict(Outcome::Rejected, c, header, ev, Confidence::High, defects);
    }
    by_status(a, resp.status, &said, defects)
}

/// The server objected to Upgrade or Connection, which this request
/// carries validly and spelled as clients send them (a spelling a strict
/// server refuses was looked for first): the request that reached the
/// server was not the one captured. A proxy between the capture point and
/// the server dropped or changed the header, and its leg to the server is
/// not in the capture (another host or interface, TLS, or lost); when that
/// leg is captured, the two legs are compared instead.
fn changed_on_the_way(a: &Attempt, topic: evidence::Topic, said: &str) -> Option<Verdict> {
    let (named, header) = match topic {
        evidence::Topic::Upgrade => ("Upgrade", "Upgrade"),
        evidence::Topic::Connection => ("Connection", "Connection"),
        evidence::Topic::UpgradeOrConnection => ("Upgrade or Connection", "Upgrade"),
        _ => return None,
    };
    let shown = |name| correlate::header_text(a, name);
    let ev = format!(
        "the server objected to {named}, but this request carries Upgrade {} and Connection {}: the request that reached the server was not this one, so something between this capture point and the server (a proxy whose leg to the server is not in the capture) dropped or changed it; {said}",
        shown("upgrade"),
        shown("connection"),
    );
    Some(verdict(
        Outcome::Rejected,
        Cause::ProxyStrippedUpgrade,
        Some(header),
        ev,
        Confidence::Medium,
        Vec::new(),
    ))
}

/// The connection began with a PROXY protocol header, and the server
/// answered its first request 400 without naming anything in it: the
/// server read the header as that request's start line (it is not set up
/// for the PROXY protocol), and never got to the request the capture shows.
/// A server that names a header read past the PROXY line, so that refusal
/// is about the request; one that objects to the method of a GET read
/// `PROXY` as the method (llhttp's "Invalid method encountered"). With a
/// request that also breaks a rule, which of the two the server choked on
/// first is not certain.
fn unexpected_proxy_protocol(
    a: &Attempt,
    status: u16,
    topic: Option<evidence::Topic>,
    said: &str,
    defects: &[Defect],
) -> Option<Verdict> {
    let header = a.proxy_header.as_deref()?;
    if status != 400 || a.request_index != 0 {
        return None;
    }
    let about_the_start_line = match topic {
        None | Some(evidence::Topic::Generic) => true,
        Some(t @ evidence::Topic::Method) => !defects.iter().any(|d| t.covers(d.cause)),
        Some(_) => false,
    };
    if !about_the_start_line {
        return None;
    }
    let (also, confidence) = if defects.is_empty() {
        (String::new(), Confidence::High)
    } else {
        let codes: Vec<&str> = defects.iter().map(|d| d.cause.code()).collect();
        (
            format!(" (the request also breaks a rule: {})", codes.join(", ")),
            Confidence::Medium,
        )
    };
    let ev = format!(
        "the connection began with a {} before this request, and the server answered 400 naming nothing in the request: it read that header as a malformed request line, so it is not set up for the PROXY protocol{also}; {said}",
        header.describe()
    );
    Some(verdict(
        Outcome::Rejected,
        Cause::UnexpectedProxyProtocol,
        None,
        ev,
        confidence,
        defects.to_vec(),
    ))
}

/// A body that only repeats the reason phrase ("Forbidden" under 403, as
/// Node ws and gorilla send by default) says no more than the status: it is
/// no evidence of which check refused.
fn only_the_status(resp: &crate::http::ResponseHead, body: &[u8]) -> bool {
    let standard = match resp.status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        _ => "",
    };
    let text = crate::text::lossy(body);
    let text = text.trim();
    let reason = resp.reason.trim();
    if text.is_empty() {
        return reason.is_empty() || reason.eq_ignore_ascii_case(standard);
    }
    text.eq_ignore_ascii_case(reason) || text.eq_ignore_ascii_case(standard)
}

/// What a 426 no server's words explain is about. RFC 6455 §4.4 has a
/// server that refuses the version list the ones it speaks in
/// Sec-WebSocket-Version; a 426 without that list is RFC 9110 §15.5.22's
/// "upgrade to the protocol in my Upgrade header": about a request that was
/// no upgrade (Node's HTTP server hands a request without the upgrade
/// tokens to its plain handler, which answers so), when the request lacks
/// them.
fn upgrade_required(
    row: &evidence::Row,
    resp: &crate::http::ResponseHead,
    defects: &[Defect],
) -> evidence::Topic {
    let bare_426 = row.server == "*" && row.status == Some(426) && row.text.is_empty();
    let not_an_upgrade = defects
        .iter()
        .any(|d| evidence::Topic::UpgradeOrConnection.covers(d.cause));
    if bare_426 && not_an_upgrade && resp.header("sec-websocket-version").is_none() {
        evidence::Topic::UpgradeOrConnection
    } else {
        row.topic
    }
}

/// Which defect a status code alone points to (426 speaks of version or
/// upgrade, 405 of the method, 431 of size).
fn status_pick(status: u16, defects: &[Defect]) -> Option<&Defect> {
    let want: &[Cause] = match status {
        405 => &[Cause::MethodNotGet],
        426 => &[
            Cause::UnsupportedSecWebSocketVersion,
            Cause::MissingSecWebSocketVersion,
            Cause::MissingUpgrade,
            Cause::InvalidUpgrade,
            Cause::ConnectionMissingUpgrade,
        ],
        431 | 413 | 414 => &[Cause::HeaderTooLarge],
        _ => &[],
    };
    defects.iter().find(|d| want.contains(&d.cause))
}

/// A refusal of a request that broke no rule and whose body names nothing:
/// the status code is all there is.
fn by_status(a: &Attempt, status: u16, said: &str, defects: Vec<Defect>) -> Verdict {
    let origin = a.request.header("origin");
    let proto = a.request.header("sec-websocket-protocol");
    let www_auth = a
        .response
        .as_ref()
        .and_then(|r| r.header("www-authenticate"));
    let (cause, header, ev, conf) = match status {
        404 | 410 => (
            Cause::PathNotFound,
            None,
            ["no WebSocket endpoint at ", &a.request.target, "; ", said].concat(),
            Confidence::High,
        ),
        401 if www_auth.is_some() || origin.is_none() => (
            Cause::Unauthorized,
            Some("Authorization"),
            [
                "request ",
                if a.request.header("authorization").is_some() {
                    "carried refused"
                } else {
                    "carried no Authorization"
                },
                " credentials; ",
                said,
            ].concat(),
            Confidence::Medium,
        ),
        401 | 403 if origin.is_some() => (
            Cause::OriginRejected,
            Some("Origin"),
            format!(
                "a bare {status} to an otherwise valid request: a guess between origin-rejected (Origin {}) and {}; {said}",
                origin.map_or(String::new(), |h| rules::show(h.value)),
                bare_refusal_candidates(a)
            ),
            Confidence::Low,
        ),
        403 if proto.is_some() => (
            Cause::SubprotocolRejected,
            Some("Sec-WebSocket-Protocol"),
            format!(
                "Sec-WebSocket-Protocol {} refused (the request is otherwise valid); {said}",
                proto.map_or(String::new(), |h| rules::show(h.value))
            ),
            Confidence::Medium,
        ),
        // golang.org/x/net/websocket writes a refusal by its Handshake
        // function as a status line and nothing else, and the default
        // Handshake refuses a request without Origin.
        403 if origin.is_none() && headerless_and_empty(a) => (
            Cause::OriginRejected,
            Some("Origin"),
            format!(
                "a bare 403 with no header and no body, as golang.org/x/net/websocket writes when its Handshake refuses (the default one refuses a request without Origin): a guess between origin-rejected (no Origin sent) and {}; {said}",
                bare_refusal_candidates(a)
            ),
            Confidence::Low,
        ),
        401 | 403 => (
            Cause::Unauthorized,
            None,
            ["request refused as unauthorized; ", said].concat(),
            Confidence::Low,
        ),
        400 if origin.is_some() && proto.is_none() => (
            Cause::Unknown,
            None,
            ["valid request refused; ", said].concat(),
            Confidence::Low,
        ),
        426 => {
            let supported = a
                .response
                .as_ref()
                .and_then(|r| r.header("sec-websocket-version"))
                .map(|h| h.value_str().into_owned());
            match supported {
                Some(v) => (
                    Cause::UnsupportedSecWebSocketVersion,
                    Some("Sec-WebSocket-Version"),
                    format!("server supports Sec-WebSocket-Version {v}; {said}"),
                    Confidence::Medium,
                ),
                None => (Cause::Unknown, None, said.to_string(), Confidence::Low),
            }
        }
        431 | 413 | 414 => {
            let (name, len) = rules::largest_header(&a.request);
            (
                Cause::HeaderTooLarge,
                rules::canonical(&name),
                format!(
                    "request head {} bytes, {name} {len} bytes; {said}",
                    a.request.head_len
                ),
                Confidence::High,
            )
        }
        500..=599 => gateway_error(a, status, said),
        200..=399 => not_upgraded(a, status, said),
        _ => (
            Cause::Unknown,
            None,
            ["valid request refused; ", said].concat(),
            Confidence::Low,
        ),
    };
    verdict(Outcome::Rejected, cause, header, ev, conf, defects)
}

/// Whether the server's text quotes the Origin the request sent: a
/// refusal in an application's own words that names the refused Origin
/// ("Origin http://evil.test is not allowed"), not a page that says
/// "origin" of something else (a CDN's "origin server").
fn quotes_the_origin(a: &Attempt, text: &[u8]) -> bool {
    a.request
        .header("origin")
        .map(|h| h.value.trim_ascii())
        .is_some_and(|o| !o.is_empty() && memchr::memmem::find(text, o).is_some())
}

/// An answer of a status line alone: no header, no body.
fn headerless_and_empty(a: &Attempt) -> bool {
    a.response.as_ref().is_some_and(|r| r.headers.is_empty())
        && a.body_excerpt.as_deref().is_none_or(|b| b.is_empty())
}

/// What else a bare 401/403 to a request with an Origin can be: the
/// credentials it carried (or lacked), the subprotocol it offered, or the ACL
/// of a proxy whose own error page it is.
fn bare_refusal_candidates(a: &Attempt) -> String {
    let mut c = Vec::new();
    let creds: Vec<&str> = ["cookie", "authorization"]
        .into_iter()
        .filter(|h| a.request.header(h).is_some())
        .collect();
    if creds.is_empty() {
        c.push("unauthorized (the request carried no Cookie or Authorization)".to_string());
    } else {
        c.push(format!(
            "unauthorized (the {} it carried refused)",
            creds.join(" and ")
        ));
    }
    if let Some(p) = a.request.header("sec-websocket-protocol") {
        c.push(format!(
            "subprotocol-rejected (offered {})",
            rules::show(p.value)
        ));
    }
    if a.body_excerpt
        .as_deref()
        .is_some_and(evidence::is_proxy_page)
    {
        c.push("a proxy's own ACL (the body is the proxy's error page)".to_string());
    }
    c.join(", ")
}

/// What a gateway error says when the capture does not show why; the
/// correlator puts the backend connect it saw in its place.
pub(crate) const NO_ANSWER: &str = "it could not get an answer from its backend";

/// A 5xx to a valid handshake. 502 and 504 are a gateway's words for "my
/// upstream failed" (RFC 9110 §15.6.3, §15.6.5); a 503 is the proxy's too when
/// its own error page or name says so. Anything else failed in the server.
fn gateway_error(
    a: &Attempt,
    status: u16,
    said: &str,
) -> (Cause, Option<&'static str>, String, Confidence) {
    let body = a.body_excerpt.as_deref().unwrap_or(&[]);
    let page = proxy::page_family(body);
    let named = a
        .response
        .as_ref()
        .and_then(|r| proxy::family(r, body, None));
    match (status, page.or(named)) {
        (502 | 504, Some(f)) | (503, Some(f)) => (
            Cause::BackendUnreachable,
            None,
            format!(
                "{f} answered {status} itself{}: {NO_ANSWER}; {said}",
                if page.is_some() {
                    " with its own error page"
                } else {
                    ""
                }
            ),
            if page.is_some() {
                Confidence::High
            } else {
                Confidence::Medium
            },
        ),
        (502 | 504, None) => (
            Cause::BackendUnreachable,
            None,
            format!("a gateway answered {status}: {NO_ANSWER}; {said}"),
            Confidence::Medium,
        ),
        _ => (
            Cause::ServerError,
            None,
            format!("server failed while handling a valid handshake; {said}"),
            Confidence::Medium,
        ),
    }
}

/// A 2xx or 3xx to a valid upgrade: whatever answered does not speak
/// WebSocket on this path (a page served, a redirect to HTTPS or a login).
fn not_upgraded(
    a: &Attempt,
    status: u16,
    said: &str,
) -> (Cause, Option<&'static str>, String, Confidence) {
    let loc = a
        .response
        .as_ref()
        .and_then(|r| r.header("location"))
        .map(|h| rules::show(h.value));
    let ev = match loc {
        Some(l) => format!(
            "a valid upgrade was redirected to {l} (WebSocket clients do not follow redirects); {said}"
        ),
        None => format!("a valid upgrade was answered {status} instead of 101: no WebSocket server on this path; {said}"),
    };
    (Cause::NotUpgraded, None, ev, Confidence::High)
}

fn unanswered(a: &Attempt, outcome: Outcome, defects: Vec<Defect>) -> Verdict {
    let gave_up;
    let how = match a.ending {
        Ending::ServerClosed => "server closed the connection without answering",
        Ending::ClientClosed => {
            let waited = a
                .ended_ts
                .map(|end| format!(" {:.1} s after the request", end.secs_since(a.ts).max(0.0)))
                .unwrap_or_default();
            gave_up = format!(
                "the client closed its side first, with no answer{waited} (it gave up waiting), and the server closed after it"
            );
            &gave_up
        }
        Ending::Reset { by_server: true } => "server reset the connection without answering",
        Ending::Reset { by_server: false } => "client reset the connection before an answer",
        Ending::Expired => "no answer before the idle timeout",
        Ending::Superseded => {
            "the connection switched protocols on an earlier request; this one was never answered"
        }
        Ending::Evicted => "flow evicted (flow table full) before an answer",
        Ending::PortReused => "a new connection reused the ports before an answer",
        Ending::AnswerLost => {
            "its answer is missing from the capture: bytes the server sent after it were lost, and the next request on the connection was answered"
        }
        Ending::CaptureEnded | Ending::Answered => "capture ended before an answer",
    };
    // "Without answering" is known only when every byte the server sent was
    // captured: with a loss in its direction (kernel drops, a capture filter,
    // a mirror port), the answer may have been among the lost bytes.
    let lost;
    let how = match (a.answer_lost, a.ending) {
        (false, _) | (true, Ending::AnswerLost) => how,
        (true, Ending::ServerClosed) => {
            "server closed the connection after bytes the capture lost (its answer may be among them)"
        }
        (true, Ending::Reset { by_server: true }) => {
            "server reset the connection after bytes the capture lost (its answer may be among them)"
        }
        (true, _) => {
            lost = [how, "; bytes the server sent are missing from the capture (its answer may be among them)"].concat();
            &lost
        }
    };
    // A request that broke a rule and got no answer was most likely dropped for
    // it (servers that refuse oversized heads often just close).
    if let Some(d) = defects.first() {
        let ev = [&d.evidence, "; ", how].concat();
        return verdict(
            outcome,
            d.cause,
            d.header,
            ev,
            Confidence::Low,
            defects.clone(),
        );
    }
    // Behind a PROXY protocol header, a server closed its first request
    // unanswered: most servers not set up for the header answer 400 (see
    // `unexpected_proxy_protocol`), some drop what they cannot parse.
    if let Some(header) = a
        .proxy_header
        .as_deref()
        .filter(|_| a.first_request_dropped())
    {
        let ev = format!(
            "valid request after a {}; {how}: a server not set up for the PROXY protocol may drop a connection whose first line it cannot parse",
            header.describe()
        );
        return verdict(
            outcome,
            Cause::UnexpectedProxyProtocol,
            None,
            ev,
            Confidence::Low,
            defects,
        );
    }
    verdict(
        outcome,
        Cause::Unknown,
        None,
        ["valid request; ", how].concat(),
        Confidence::Low,
        defects,
    )
}

fn switching_protocols(
    a: &Attempt,
    resp: &crate::http::ResponseHead,
    defects: Vec<Defect>,
) -> Verdict {
    let upgrade = resp.header_joined("upgrade");
    if !upgrade
        .as_deref()
        .is_some_and(|u| grammar::list_has(u, "websocket", true))
    {
        let to = upgrade.map_or("nothing".to_string(), |u| rules::show(&u));
        return verdict(
            Outcome::Rejected,
            Cause::InvalidUpgrade,
            Some("Upgrade"),
            format!("101 switched to {to}, not websocket"),
            Confidence::High,
            defects,
        );
    }
    let mut problems: Vec<(Cause, &'static str, String)> = Vec::new();
    if let Some(key) = a.request.header("sec-websocket-key") {
        let want = expected_accept(key.value);
        match resp.header("sec-websocket-accept") {
            None => problems.push((
                Cause::InvalidSecWebSocketAccept,
                "Sec-WebSocket-Accept",
                "101 without Sec-WebSocket-Accept".to_string(),
            )),
            Some(h) if h.value.trim_ascii() != want.as_bytes() => problems.push((
                Cause::InvalidSecWebSocketAccept,
                "Sec-WebSocket-Accept",
                format!(
                    "Sec-WebSocket-Accept {} does not match the key (expected '{want}')",
                    rules::show(h.value)
                ),
            )),
            _ => {}
        }
    }
    if !resp
        .header_joined("connection")
        .is_some_and(|c| grammar::list_has(&c, "upgrade", false))
    {
        problems.push((
            Cause::ConnectionMissingUpgrade,
            "Connection",
            "101 without Connection: Upgrade".to_string(),
        ));
    }
    if let Some(p) = resp.header("sec-websocket-protocol") {
        let offered = a
            .request
            .header_joined("sec-websocket-protocol")
            .unwrap_or_default();
        let ok = grammar::token_list(&offered)
            .unwrap_or_default()
            .iter()
            .any(|t| *t == p.value.trim_ascii());
        if !ok {
            problems.push((
                Cause::SubprotocolRejected,
                "Sec-WebSocket-Protocol",
                format!(
                    "server chose subprotocol {} that the client did not offer",
                    rules::show(p.value)
                ),
            ));
        }
    }
    // Only a browser is sure to fail it: other clients (Python websockets,
    // aiohttp, Tornado) carry on without a subprotocol.
    if resp.header("sec-websocket-protocol").is_none() && is_browser(a) {
        if let Some(offered) = a.request.header_joined("sec-websocket-protocol") {
            problems.push((
                Cause::SubprotocolNotSelected,
                "Sec-WebSocket-Protocol",
                subprotocol_not_selected(&offered),
            ));
        }
    }
    if let Some(e) = resp.header_joined("sec-websocket-extensions") {
        let offered: Vec<String> = a
            .request
            .header_joined("sec-websocket-extensions")
            .and_then(|v| grammar::extension_list(&v))
            .unwrap_or_default()
            .into_iter()
            .map(|x| x.name.to_ascii_lowercase())
            .collect();
        for x in grammar::extension_list(&e).unwrap_or_default() {
            if !offered.contains(&x.name.to_ascii_lowercase()) {
                problems.push((
                    Cause::ExtensionRejected,
                    "Sec-WebSocket-Extensions",
                    format!(
                        "server accepted extension '{}' that the client did not offer",
                        x.name
                    ),
                ));
            }
        }
    }
    if let Some((cause, header, ev)) = problems.into_iter().next() {
        if cause == Cause::SubprotocolNotSelected {
            return verdict(
                Outcome::Rejected,
                cause,
                Some(header),
                ev,
                Confidence::High,
                defects,
            );
        }
        return verdict(
            Outcome::Rejected,
            cause,
            Some(header),
            format!("{ev}; a conforming client fails the connection (RFC 6455 §4.1)"),
            Confidence::High,
            defects,
        );
    }
    if let Some(au) = &a.after_upgrade {
        if let Some(http) = &au.server_http {
            return http_after_101(a, http, defects);
        }
        if au.server_reset {
            return verdict(
                Outcome::Rejected,
                Cause::ClosedAfterUpgrade,
                None,
                format!(
                    "101, then the server reset the connection after {:.3}s",
                    au.after_secs.unwrap_or(0.0)
                ),
                Confidence::Medium,
                defects,
            );
        }
        if let Some((code, reason)) = &au.server_close {
            if answered_a_message(*code, au.client_spoke) {
                let mut v = accepted(defects);
                v.evidence = format!(
                    "{}; then the server closed with {code} '{}' after {:.3}s, in answer to the client's first message (a kind or content of message it does not take, such as text frames where it takes binary): the handshake succeeded, the session's messages did not",
                    v.evidence,
                    printable(reason.as_bytes(), 80),
                    au.after_secs.unwrap_or(0.0)
                );
                return v;
            }
            if gateway_gave_up(*code, reason) {
                return verdict(
                    Outcome::Rejected,
                    Cause::BackendUnreachable,
                    None,
                    format!(
                        "101, then the server closed with {code} '{}' after {:.3}s: a gateway that accepted the WebSocket and then could not reach the service it relays to (it connects after its 101, as websockify does)",
                        printable(reason.as_bytes(), 80),
                        au.after_secs.unwrap_or(0.0)
                    ),
                    Confidence::Medium,
                    defects,
                );
            }
            if matches!(code, 1002 | 1003 | 1007 | 1008 | 1011 | 1014) {
                return verdict(
                    Outcome::Rejected,
                    Cause::ClosedAfterUpgrade,
                    None,
                    format!(
                        "101, then the server closed with {code} '{}' after {:.3}s",
                        printable(reason.as_bytes(), 80),
                        au.after_secs.unwrap_or(0.0)
                    ),
                    Confidence::Medium,
                    defects,
                );
            }
        }
    }
    accepted(defects)
}

/// A close after the 101 that says the server could not reach what it
/// relays to: 1014 (Bad Gateway, RFC 6455 §7.4.1 as registered), or 1011
/// (an unexpected condition) whose reason names a connect that failed or an
/// upstream that is unavailable. A WebSocket-to-TCP gateway (websockify,
/// noVNC's proxy) answers 101 first and connects after it, so its backend's
/// absence shows this way and never as a 502.
fn gateway_gave_up(code: u16, reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    let failed = [
        "fail",
        "refus",
        "unreachable",
        "unavailable",
        "timed out",
        "timeout",
        "could not",
        "cannot",
        "can't",
        "unable",
    ]
    .iter()
    .any(|w| r.contains(w));
    let relayed = ["connect", "upstream", "downstream", "backend", "target"]
        .iter()
        .any(|w| r.contains(w));
    code == 1014 || (code == 1011 && failed && relayed)
}

/// A close whose code says it answers data the server received (1003: a
/// kind of data it cannot accept, 1007: data inconsistent with the
/// message's type, RFC 6455 §7.4.1), after the client spoke: the server
/// refused the client's first message, and the handshake itself succeeded.
/// Without the client's bytes first, the same codes stay a refusal right
/// after the 101.
fn answered_a_message(code: u16, client_spoke: bool) -> bool {
    client_spoke && matches!(code, 1003 | 1007)
}

/// A 101 read as valid: accepted, with the rules the request broke (a
/// lenient server) as warnings.
fn accepted(defects: Vec<Defect>) -> Verdict {
    let mut v = verdict(
        Outcome::Accepted,
        Cause::Ok,
        None,
        "101 Switching Protocols with a valid Sec-WebSocket-Accept".to_string(),
        Confidence::High,
        Vec::new(),
    );
    if !defects.is_empty() {
        v.warnings = defects.iter().map(|d| d.evidence.clone()).collect();
        v.evidence = format!(
            "accepted although the request breaks RFC 6455: {}",
            v.warnings.join("; ")
        );
    }
    v.defects = defects;
    v
}

/// The server accepted, then wrote an HTTP refusal on the upgraded
/// connection: Engine.IO does this for a websocket-only session it refuses.
fn http_after_101(a: &Attempt, http: &[u8], defects: Vec<Defect>) -> Verdict {
    let text = printable(http, 160);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    let body = http
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&http[..0], |i| &http[i + 4..]);
    let said = format!(
        "101, then the server wrote \"{}\" on the upgraded connection",
        printable(http.split(|b| *b == b'\r').next().unwrap_or(&[]), 60)
    );
    let row = evidence::lookup(status, "", body);
    let cause = row.and_then(|r| r.topic.standalone_cause()).filter(|c| {
        matches!(c, Cause::EngineIoVersionMismatch | Cause::SessionNotSticky)
            && engine_io::is_engine_io(&a.request.target)
    });
    match cause {
        Some(c) => verdict(
            Outcome::Rejected,
            c,
            None,
            format!(
                "{}: \"{}\"",
                engine_io::refusal_evidence(&a.request.target, c, &said),
                printable(body, 80)
            ),
            Confidence::High,
            defects,
        ),
        None => verdict(
            Outcome::Rejected,
            Cause::ClosedAfterUpgrade,
            None,
            format!("{said}: \"{}\"", printable(body, 80)),
            Confidence::Medium,
            defects,
        ),
    }
}

/// A browser's WebSocket: a `Mozilla/` user agent and the Origin a page
/// always sends.
fn is_browser(a: &Attempt) -> bool {
    let ua = a
        .request
        .header("user-agent")
        .map(|h| h.value_str().into_owned())
        .unwrap_or_default();
    ua.starts_with("Mozilla/") && a.request.header("origin").is_some()
}

/// The 101 selected none of the subprotocols the client offered: RFC 6455
/// allows it, but browsers (WHATWG WebSocket) and Node ws fail the connection.
fn subprotocol_not_selected(offered: &[u8]) -> String {
    format!(
        "the browser offered Sec-WebSocket-Protocol {}; the 101 selected none, so the browser fails the connection (1006 in the page) while the server counts it as opened",
        rules::show(offered)
    )
}

fn verdict(
    outcome: Outcome,
    cause: Cause,
    header: Option<&'static str>,
    evidence: String,
    confidence: Confidence,
    defects: Vec<Defect>,
) -> Verdict {
    Verdict {
        outcome,
        cause,
        header,
        evidence,
        confidence,
        warnings: Vec::new(),
        defects,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_without_a_reason_phrase_reads_without_a_gap() {
        assert_eq!(
            server_says(404, "Not Found", b"", None),
            "server answered 404 Not Found"
        );
        assert_eq!(server_says(404, "", b"", None), "server answered 404");
        assert_eq!(
            server_says(404, "", b" no such endpoint\n", None),
            "server answered 404: \"no such endpoint\""
        );
        assert_eq!(
            server_says(403, "Forbidden", b"no", None),
            "server answered 403 Forbidden: \"no\""
        );
    }

    #[test]
    fn accept_matches_rfc_example() {
        assert_eq!(
            expected_accept(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn codes_round_trip() {
        for c in Cause::ALL {
            assert_eq!(Cause::from_code(c.code()), Some(*c));
        }
    }

    proptest::proptest! {
        /// The word-at-a-time check is the byte-by-byte one.
        #[test]
        fn printable_ascii_check_is_exact(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), ascii in proptest::collection::vec(0x1eu8..0x81, 0..40)) {
            for v in [&b, &ascii] {
                proptest::prop_assert_eq!(
                    all_printable_ascii(v),
                    v.iter().all(|c| (0x20..0x7f).contains(c))
                );
            }
        }
    }

    #[test]
    fn printable_ascii_check_finds_each_edge_in_every_place() {
        for at in 0..19 {
            for bad in [0x00u8, 0x1f, 0x7f, 0x80, 0xff] {
                let mut v = vec![b'a'; 19];
                assert!(all_printable_ascii(&v));
                v[at] = bad;
                assert!(!all_printable_ascii(&v), "{bad:#x} at {at}");
                v[at] = 0x20;
                assert!(all_printable_ascii(&v));
                v[at] = 0x7e;
                assert!(all_printable_ascii(&v));
            }
        }
    }

    #[test]
    fn a_close_that_answers_the_clients_first_message_leaves_the_handshake_accepted() {
        let ep = |port| crate::decode::Endpoint {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            port,
        };
        let mut a = Attempt::for_test(ep(40000), ep(80), "/ws");
        let key = a
            .request
            .header("sec-websocket-key")
            .map(|h| h.value.to_vec())
            .unwrap_or_default();
        a.response = Some(crate::http::ResponseHead {
            minor_version: 1,
            status: 101,
            reason: "Switching Protocols".into(),
            headers: crate::classify::test_heads::headers(&[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", &expected_accept(&key)),
            ]),
            head_len: 100,
        });
        let closed = |code: u16, reason: &str, client_spoke: bool| {
            let mut a = a.clone();
            a.after_upgrade = Some(crate::http::AfterUpgrade {
                server_close: Some((code, reason.to_string())),
                after_secs: Some(0.001),
                client_spoke,
                ..Default::default()
            });
            classify(&a)
        };
        for code in [1003, 1007] {
            let v = closed(code, "Unsupported: Text frames are not supported", true);
            assert_eq!(
                (v.outcome, v.cause),
                (Outcome::Accepted, Cause::Ok),
                "{code}"
            );
            assert!(
                v.evidence
                    .contains("in answer to the client's first message"),
                "{}",
                v.evidence
            );
            // Before the client said anything it refused the handshake.
            let v = closed(code, "", false);
            assert_eq!(v.cause, Cause::ClosedAfterUpgrade, "{code}");
        }
        // A policy close stays a refusal, whoever spoke first.
        assert_eq!(closed(1008, "", true).cause, Cause::ClosedAfterUpgrade);
        // A gateway that says it could not reach what it relays to.
        for (code, reason) in [
            (1011, "Failed to connect to downstream server"),
            (1011, "upstream unavailable"),
            (1014, ""),
        ] {
            let v = closed(code, reason, false);
            assert_eq!(v.cause, Cause::BackendUnreachable, "{code} {reason}");
            assert_eq!(v.confidence, Confidence::Medium);
        }
        assert_eq!(
            closed(1011, "internal error", false).cause,
            Cause::ClosedAfterUpgrade
        );
    }

    #[test]
    fn an_answer_lost_from_the_capture_is_not_called_no_answer() {
        let ep = |port| crate::decode::Endpoint {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            port,
        };
        let ended = |ending, answer_lost| {
            let mut a = Attempt::for_test(ep(40000), ep(80), "/ws");
            a.ending = ending;
            a.answer_lost = answer_lost;
            classify(&a).evidence
        };
        let closed = ended(Ending::ServerClosed, false);
        assert!(
            closed.ends_with("server closed the connection without answering"),
            "{closed}"
        );
        let lost = ended(Ending::ServerClosed, true);
        assert!(!lost.contains("without answering"), "{lost}");
        assert!(lost.ends_with("server closed the connection after bytes the capture lost (its answer may be among them)"), "{lost}");
        let reset = ended(Ending::Reset { by_server: true }, true);
        assert!(!reset.contains("without answering"), "{reset}");
        let ended_early = ended(Ending::CaptureEnded, true);
        assert!(
            ended_early
                .contains("capture ended before an answer; bytes the server sent are missing"),
            "{ended_early}"
        );
    }

    /// A valid upgrade from 127.0.0.1 refused 400 with `body`.
    fn refused_with(hs: &[(&str, &str)], body: &str) -> Verdict {
        classify(&refused_attempt(hs, body))
    }

    fn refused_attempt(hs: &[(&str, &str)], body: &str) -> Attempt {
        let ep = |port| crate::decode::Endpoint {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            port,
        };
        let mut a = Attempt::for_test(ep(40000), ep(80), "/ws");
        a.request = test_heads::request("GET", 1, hs).into();
        a.response = Some(crate::http::ResponseHead {
            minor_version: 1,
            status: 400,
            reason: "Bad Request".into(),
            headers: Default::default(),
            head_len: 40,
        });
        a.body_excerpt = Some(body.as_bytes().to_vec());
        a
    }

    /// `a` answered `status` with these response headers (its body kept).
    fn answered(mut a: Attempt, status: u16, reason: &str, hs: &[(&str, &str)]) -> Attempt {
        if let Some(r) = a.response.as_mut() {
            r.status = status;
            r.reason = reason.into();
            r.headers = test_heads::headers(hs);
        }
        a
    }

    #[test]
    fn a_reason_given_in_x_websocket_reject_reason_is_the_servers_text() {
        let reject = |status, reason: &str, text: &str, hs: &[(&str, &str)]| {
            let a = refused_attempt(hs, "");
            classify(&answered(
                a,
                status,
                reason,
                &[("Connection", "close"), ("X-WebSocket-Reject-Reason", text)],
            ))
        };
        let with_origin: Vec<_> = VALID
            .iter()
            .copied()
            .chain([("Origin", "http://evil.test")])
            .collect();
        let v = reject(
            403,
            "Forbidden",
            "Origin http://evil.test is not allowed",
            &with_origin,
        );
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::OriginRejected, Confidence::High)
        );
        assert!(
            v.evidence
                .contains("\"Origin http://evil.test is not allowed\""),
            "{}",
            v.evidence
        );
        let v = reject(400, "Bad Request", "Subprotocol chat.v1 is required", VALID);
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::SubprotocolRejected, Confidence::High)
        );
        let no_host: Vec<_> = VALID
            .iter()
            .copied()
            .filter(|(n, _)| *n != "Host")
            .collect();
        let v = reject(
            400,
            "Bad Request",
            "Client must provide a Host header.",
            &no_host,
        );
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::MissingHost, Confidence::High)
        );
        // The same refusals without the header name nothing for sure.
        let bare = classify(&answered(
            refused_attempt(VALID, ""),
            400,
            "Bad Request",
            &[("Connection", "close")],
        ));
        assert_ne!(bare.cause, Cause::SubprotocolRejected);
        let bare = classify(&answered(
            refused_attempt(&with_origin, ""),
            403,
            "Forbidden",
            &[("Connection", "close")],
        ));
        assert_ne!(bare.confidence, Confidence::High);
    }

    #[test]
    fn a_403_names_the_origin_in_its_own_words_only_by_quoting_it() {
        let with_origin: Vec<_> = VALID
            .iter()
            .copied()
            .chain([("Origin", "http://evil.test")])
            .collect();
        let forbidden = |body: &str| {
            classify(&answered(
                refused_attempt(&with_origin, body),
                403,
                "Forbidden",
                &[("Content-Type", "text/plain")],
            ))
        };
        let v = forbidden("Origin http://evil.test is not allowed");
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::OriginRejected, Confidence::High)
        );
        // "origin" of something else: no reading of the Origin for sure.
        let v = forbidden("The origin server refused this request.");
        assert_ne!(v.confidence, Confidence::High, "{}", v.evidence);
    }

    #[test]
    fn a_426_without_a_version_list_to_a_request_that_was_no_upgrade_names_the_upgrade() {
        let keep_alive = test_heads::with_value(VALID, "Connection", "keep-alive");
        let upgrade_required = |hs: &[(&str, &str)]| {
            classify(&answered(
                refused_attempt(&keep_alive, ""),
                426,
                "Upgrade Required",
                hs,
            ))
        };
        let v = upgrade_required(&[("Upgrade", "websocket"), ("Connection", "keep-alive")]);
        assert_eq!(
            (v.cause, v.header, v.confidence),
            (
                Cause::ConnectionMissingUpgrade,
                Some("Connection"),
                Confidence::High
            )
        );
        // A 426 that lists versions speaks of the version: the Connection
        // defect is then not what it names.
        let v = upgrade_required(&[("Sec-WebSocket-Version", "13")]);
        assert_eq!(v.cause, Cause::ConnectionMissingUpgrade);
        assert_eq!(v.confidence, Confidence::Low);
    }

    #[test]
    fn a_400_to_a_connection_opened_with_a_proxy_header_names_the_header() {
        let behind = |hs: &[(&str, &str)], body: &str| {
            let mut a = refused_attempt(hs, body);
            a.proxy_header = Some(Box::new(crate::http::proxy_protocol::ProxyHeader {
                version: 1,
                source: None,
                destination: None,
            }));
            classify(&a)
        };
        for body in [
            "",
            "Failed to open a WebSocket connection: did not receive a valid HTTP request.\n",
            "Invalid HTTP request received.",
        ] {
            let v = behind(VALID, body);
            assert_eq!(
                v.cause,
                Cause::UnexpectedProxyProtocol,
                "{body:?}: {}",
                v.evidence
            );
            assert_eq!((v.header, v.confidence), (None, Confidence::High));
            assert!(
                v.evidence.contains("PROXY protocol v1 header"),
                "{}",
                v.evidence
            );
            // Without the header the same answer stays unexplained.
            assert_ne!(
                refused_with(VALID, body).cause,
                Cause::UnexpectedProxyProtocol
            );
        }
        // The request also breaks a rule: which one the server choked on is
        // not sure.
        let no_key: Vec<_> = VALID
            .iter()
            .copied()
            .filter(|(n, _)| *n != "Sec-WebSocket-Key")
            .collect();
        let v = behind(&no_key, "");
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::UnexpectedProxyProtocol, Confidence::Medium)
        );
        assert!(
            v.evidence.contains("missing-sec-websocket-key"),
            "{}",
            v.evidence
        );
        // Closed unanswered behind the header: a guess.
        let mut dropped = refused_attempt(VALID, "");
        dropped.response = None;
        dropped.body_excerpt = None;
        dropped.ending = Ending::ServerClosed;
        let unanswered = classify(&dropped);
        assert_eq!(unanswered.cause, Cause::Unknown);
        dropped.proxy_header = Some(Box::new(crate::http::proxy_protocol::ProxyHeader {
            version: 2,
            source: None,
            destination: None,
        }));
        let v = classify(&dropped);
        assert_eq!(
            (v.cause, v.outcome, v.confidence),
            (
                Cause::UnexpectedProxyProtocol,
                Outcome::NoResponse,
                Confidence::Low
            )
        );
        assert!(
            v.evidence.contains("PROXY protocol v2 header"),
            "{}",
            v.evidence
        );
        dropped.answer_lost = true;
        assert_eq!(classify(&dropped).cause, Cause::Unknown);
        // A server that names a header read past the PROXY line.
        let v = behind(
            &no_key,
            "Failed to open a WebSocket connection: missing Sec-WebSocket-Key header.\n",
        );
        assert_eq!(v.cause, Cause::MissingSecWebSocketKey, "{}", v.evidence);
    }

    #[test]
    fn a_pages_words_are_searched_where_a_reader_sees_them() {
        let mut hs = VALID.to_vec();
        hs.push(("Sec-WebSocket-Protocol", "chat"));
        let style = format!("<style>{}</style>", "p {color: red} ".repeat(20));
        let page = |head: &str, body: &str| {
            format!(
                "<html><head><title>Error</title>{style}{head}</head><body>{body}</body></html>"
            )
        };
        // The message past the first 200 bytes, in the body's text.
        let v = refused_with(&hs, &page("", "<p>Invalid protocol selected</p>"));
        assert_eq!(v.cause, Cause::SubprotocolRejected, "{}", v.evidence);
        assert!(
            v.evidence.contains(": \"Invalid protocol selected\""),
            "{}",
            v.evidence
        );
        // The same words in a script are no message.
        let v = refused_with(
            &hs,
            &page(
                "<script>var m = 'Invalid protocol selected';</script>",
                "<p>Bad request</p>",
            ),
        );
        assert_ne!(v.cause, Cause::SubprotocolRejected, "{}", v.evidence);
        assert!(v.evidence.contains(": \"Bad request\""), "{}", v.evidence);
    }

    const VALID: &[(&str, &str)] = &[
        ("Host", "x"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];

    #[test]
    fn a_403_of_a_status_line_alone_to_a_request_without_origin_guesses_the_origin() {
        let forbidden = |hs: &[(&str, &str)], headers: &[(&str, &str)], body: &str| {
            classify(&answered(
                refused_attempt(hs, body),
                403,
                "Forbidden",
                headers,
            ))
        };
        // golang.org/x/net/websocket's refusal: "HTTP/1.1 403 Forbidden", CRLF, CRLF.
        let v = forbidden(VALID, &[], "");
        assert_eq!(
            (v.cause, v.header, v.confidence),
            (Cause::OriginRejected, Some("Origin"), Confidence::Low)
        );
        assert!(v.evidence.contains("no Origin sent"), "{}", v.evidence);
        assert!(v.evidence.contains("unauthorized"), "{}", v.evidence);
        // Any header or body: another server, and no such reading.
        let v = forbidden(VALID, &[("Content-Length", "0")], "");
        assert_eq!((v.cause, v.header), (Cause::Unauthorized, None));
        let v = forbidden(VALID, &[], "Forbidden");
        assert_eq!(v.cause, Cause::Unauthorized);
    }

    #[test]
    fn what_the_server_names_wins_over_a_rule_it_did_not_enforce() {
        // websockets 15 accepts a missing Host, and refuses a request that
        // offers none of its subprotocols in these words.
        let no_host = &VALID[1..];
        let said = "Failed to open a WebSocket connection: missing subprotocol.\n";
        let v = refused_with(no_host, said);
        assert_eq!(v.cause, Cause::SubprotocolRejected, "{}", v.evidence);
        assert_eq!(
            (v.header, v.confidence),
            (Some("Sec-WebSocket-Protocol"), Confidence::High)
        );
        assert!(
            v.evidence
                .contains("(also: missing-host, which the server did not name)"),
            "{}",
            v.evidence
        );
        // Words that name the broken rule, or name nothing, keep it.
        let v = refused_with(no_host, "Missing Host header");
        assert_eq!(v.cause, Cause::MissingHost);
        let v = refused_with(no_host, "");
        assert_eq!(v.cause, Cause::MissingHost);
        // An Origin named in the words of a request that carries none is no
        // Origin refusal: the broken rule stays the answer.
        let v = refused_with(
            no_host,
            "Failed to open a WebSocket connection: invalid Origin header: x.\n",
        );
        assert_eq!(v.cause, Cause::MissingHost, "{}", v.evidence);
    }

    #[test]
    fn a_server_that_did_not_get_the_upgrade_this_request_carries_names_a_proxy() {
        let v = refused_with(VALID, "No WebSocket UPGRADE hdr: None");
        assert_eq!(v.cause, Cause::ProxyStrippedUpgrade);
        assert_eq!(v.header, Some("Upgrade"));
        assert_eq!(v.confidence, Confidence::Medium);
        assert!(v.evidence.contains("Upgrade 'websocket'"), "{}", v.evidence);
        let v = refused_with(VALID, "No CONNECTION upgrade hdr: close");
        assert_eq!(
            (v.cause, v.header),
            (Cause::ProxyStrippedUpgrade, Some("Connection"))
        );
        // A spelling a strict server refuses is that server's doing.
        let spelled = test_heads::with_value(VALID, "Upgrade", "WebSocket");
        let v = refused_with(&spelled, "No WebSocket UPGRADE hdr: WebSocket");
        assert_ne!(v.cause, Cause::ProxyStrippedUpgrade, "{}", v.evidence);
        // Words about another header say nothing of the way.
        let v = refused_with(VALID, "Handshake error: 'abc'");
        assert_ne!(v.cause, Cause::ProxyStrippedUpgrade, "{}", v.evidence);
    }

    #[test]
    fn printable_escapes_controls() {
        assert_eq!(printable(b"a\r\nb\x01", 10), "a\\r\\nb\\x01");
        assert_eq!(printable(b"abcdef", 3), "abc");
    }
}
