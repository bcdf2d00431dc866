//! What real servers answer for each cause: reason phrases and body texts, kept in
//! one table so that adding a server is adding rows. The classifier uses a match
//! to confirm (or choose among) the request's defects, and to name causes a
//! request check cannot see (Origin allow-lists, subprotocols, header limits).

use super::Cause;

/// Which family of causes a server message speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Key,
    Version,
    Upgrade,
    Connection,
    /// Upgrade or Connection (servers that check them together).
    UpgradeOrConnection,
    /// Key or version (servers that check the WebSocket headers together).
    WebSocketHeaders,
    Origin,
    Subprotocol,
    Host,
    Method,
    HeaderSize,
    /// "The request is not a valid handshake", without saying why.
    Generic,
}

impl Topic {
    /// Whether a request defect is one this message can be about.
    pub fn covers(self, cause: Cause) -> bool {
        use Cause::*;
        match self {
            Topic::Key => matches!(cause, MissingSecWebSocketKey | InvalidSecWebSocketKey),
            Topic::Version => matches!(
                cause,
                MissingSecWebSocketVersion | UnsupportedSecWebSocketVersion
            ),
            Topic::Upgrade => matches!(cause, MissingUpgrade | InvalidUpgrade),
            Topic::Connection => cause == ConnectionMissingUpgrade,
            Topic::UpgradeOrConnection => {
                matches!(
                    cause,
                    MissingUpgrade | InvalidUpgrade | ConnectionMissingUpgrade
                )
            }
            Topic::WebSocketHeaders => matches!(
                cause,
                MissingSecWebSocketKey
                    | InvalidSecWebSocketKey
                    | MissingSecWebSocketVersion
                    | UnsupportedSecWebSocketVersion
            ),
            Topic::Origin => cause == OriginRejected,
            Topic::Subprotocol => cause == SubprotocolRejected,
            Topic::Host => cause == MissingHost,
            Topic::Method => cause == MethodNotGet,
            Topic::HeaderSize => cause == HeaderTooLarge,
            Topic::Generic => true,
        }
    }

    /// The cause to report when the message names it and the request shows no
    /// defect of that family (what only the server knows).
    pub fn standalone_cause(self) -> Option<Cause> {
        match self {
            Topic::Origin => Some(Cause::OriginRejected),
            Topic::Subprotocol => Some(Cause::SubprotocolRejected),
            Topic::HeaderSize => Some(Cause::HeaderTooLarge),
            _ => None,
        }
    }
}

/// One row: a server, the status it uses, and text that appears in its reason
/// phrase or body for that topic (case-insensitive substring).
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub server: &'static str,
    pub status: Option<u16>,
    pub text: &'static str,
    pub topic: Topic,
    /// Whether the text may also match the reason phrase (not for words that
    /// are every such status's standard phrase, like "Forbidden").
    pub in_reason: bool,
}

const fn row(server: &'static str, status: Option<u16>, text: &'static str, topic: Topic) -> Row {
    Row {
        server,
        status,
        text,
        topic,
        in_reason: true,
    }
}

const fn body_row(server: &'static str, text: &'static str, topic: Topic) -> Row {
    Row {
        server,
        status: None,
        text,
        topic,
        in_reason: false,
    }
}

/// The table, most specific texts first.
pub const TABLE: &[Row] = &[
    // Python websockets (legacy and new server): 400/426 with
    // "Failed to open a WebSocket connection: <reason>."
    row(
        "python-websockets",
        None,
        "missing Sec-WebSocket-Key",
        Topic::Key,
    ),
    row(
        "python-websockets",
        None,
        "invalid Sec-WebSocket-Key",
        Topic::Key,
    ),
    row(
        "python-websockets",
        None,
        "missing Sec-WebSocket-Version",
        Topic::Version,
    ),
    row(
        "python-websockets",
        None,
        "invalid Sec-WebSocket-Version",
        Topic::Version,
    ),
    row(
        "python-websockets",
        None,
        "invalid Connection header",
        Topic::Connection,
    ),
    row(
        "python-websockets",
        None,
        "missing Connection header",
        Topic::Connection,
    ),
    row(
        "python-websockets",
        None,
        "invalid Upgrade header",
        Topic::Upgrade,
    ),
    row(
        "python-websockets",
        None,
        "empty Upgrade header",
        Topic::Upgrade,
    ),
    row(
        "python-websockets",
        None,
        "missing Upgrade header",
        Topic::Upgrade,
    ),
    row(
        "python-websockets",
        Some(403),
        "invalid Origin header",
        Topic::Origin,
    ),
    row(
        "python-websockets",
        None,
        "unsupported subprotocol",
        Topic::Subprotocol,
    ),
    row(
        "python-websockets",
        None,
        "did not receive a valid HTTP request",
        Topic::Generic,
    ),
    // aiohttp
    row("aiohttp", None, "No WebSocket UPGRADE hdr", Topic::Upgrade),
    row(
        "aiohttp",
        None,
        "No CONNECTION upgrade hdr",
        Topic::Connection,
    ),
    row("aiohttp", None, "Unsupported version", Topic::Version),
    row("aiohttp", None, "Handshake error", Topic::Key),
    row("aiohttp", None, "Missing 'Host' header", Topic::Host),
    row("aiohttp", None, "Got more than", Topic::HeaderSize),
    row("aiohttp", Some(403), "Origin not allowed", Topic::Origin),
    // Node ws (and engine.io / Socket.IO, which share its handshake code)
    row(
        "node-ws",
        None,
        "Missing or invalid Sec-WebSocket-Key",
        Topic::Key,
    ),
    row(
        "node-ws",
        None,
        "Missing or invalid Sec-WebSocket-Version",
        Topic::Version,
    ),
    row("node-ws", None, "Invalid Upgrade header", Topic::Upgrade),
    row("node-ws", None, "Invalid HTTP method", Topic::Method),
    row(
        "node-ws",
        None,
        "Invalid Sec-WebSocket-Protocol",
        Topic::Subprotocol,
    ),
    row(
        "node-ws",
        None,
        "Invalid Sec-WebSocket-Extensions",
        Topic::Generic,
    ),
    row(
        "node-ws",
        Some(426),
        "Upgrade Required",
        Topic::UpgradeOrConnection,
    ),
    row("socket.io", None, "Bad handshake method", Topic::Method),
    row(
        "socket.io",
        None,
        "\"message\":\"Bad request\"",
        Topic::Generic,
    ),
    row(
        "socket.io",
        None,
        "\"message\":\"Forbidden\"",
        Topic::Origin,
    ),
    // Tornado
    row(
        "tornado",
        None,
        "Missing/Invalid WebSocket headers",
        Topic::WebSocketHeaders,
    ),
    row(
        "tornado",
        None,
        "\"Connection\" must be \"Upgrade\"",
        Topic::Connection,
    ),
    row(
        "tornado",
        None,
        "Can \"Upgrade\" only to \"WebSocket\"",
        Topic::Upgrade,
    ),
    row(
        "tornado",
        Some(403),
        "Cross origin websockets not allowed",
        Topic::Origin,
    ),
    // gorilla/websocket
    row(
        "gorilla",
        None,
        "'websocket' token not found in 'Upgrade' header",
        Topic::Upgrade,
    ),
    row(
        "gorilla",
        None,
        "'upgrade' token not found in 'Connection' header",
        Topic::Connection,
    ),
    row(
        "gorilla",
        None,
        "'Sec-WebSocket-Key' header must be Base64 encoded",
        Topic::Key,
    ),
    row(
        "gorilla",
        None,
        "not a websocket handshake: 'Sec-WebSocket-Key'",
        Topic::Key,
    ),
    row(
        "gorilla",
        None,
        "unsupported version: 13 not found",
        Topic::Version,
    ),
    row("gorilla", None, "request origin not allowed", Topic::Origin),
    row("gorilla", None, "request method is not GET", Topic::Method),
    // coder/websocket (nhooyr)
    row(
        "coder-websocket",
        None,
        "WebSocket protocol violation: handshake request must be at least HTTP/1.1",
        Topic::Generic,
    ),
    row(
        "coder-websocket",
        None,
        "Connection header",
        Topic::Connection,
    ),
    row("coder-websocket", None, "Upgrade header", Topic::Upgrade),
    row(
        "coder-websocket",
        None,
        "WebSocket protocol violation: invalid Sec-WebSocket-Key",
        Topic::Key,
    ),
    row(
        "coder-websocket",
        None,
        "unsupported WebSocket protocol version",
        Topic::Version,
    ),
    row(
        "coder-websocket",
        Some(403),
        "not authorized",
        Topic::Origin,
    ),
    // uvicorn / Starlette / wsproto / h11
    row(
        "uvicorn",
        None,
        "Invalid HTTP request received",
        Topic::Generic,
    ),
    row(
        "uvicorn",
        None,
        "Unsupported upgrade request",
        Topic::UpgradeOrConnection,
    ),
    // Jetty, Tomcat, Spring
    row(
        "jetty",
        None,
        "Missing request header 'Sec-WebSocket-Key'",
        Topic::Key,
    ),
    row(
        "spring",
        None,
        "Can \"Upgrade\" only to \"WebSocket\"",
        Topic::Upgrade,
    ),
    row(
        "spring",
        None,
        "\"Connection\" must be \"upgrade\"",
        Topic::Connection,
    ),
    row(
        "spring",
        None,
        "Missing \"Sec-WebSocket-Key\" header",
        Topic::Key,
    ),
    row(
        "spring",
        None,
        "Unsupported WebSocket version",
        Topic::Version,
    ),
    row("tomcat", Some(426), "Upgrade Required", Topic::Version),
    // ASP.NET Core
    row(
        "aspnetcore",
        None,
        "Not a WebSocket request",
        Topic::Generic,
    ),
    // actix-web / axum (tungstenite)
    row(
        "actix-web",
        None,
        "No WebSocket UPGRADE header found",
        Topic::Upgrade,
    ),
    row(
        "actix-web",
        None,
        "No CONNECTION upgrade",
        Topic::Connection,
    ),
    row("actix-web", None, "Unsupported version", Topic::Version),
    row("actix-web", None, "Handshake error", Topic::Key),
    row(
        "axum",
        None,
        "Connection header did not include 'upgrade'",
        Topic::Connection,
    ),
    row(
        "axum",
        None,
        "`Upgrade` header did not include 'websocket'",
        Topic::Upgrade,
    ),
    row(
        "axum",
        None,
        "`Sec-WebSocket-Version` header did not include '13'",
        Topic::Version,
    ),
    row(
        "axum",
        None,
        "`Sec-WebSocket-Key` header missing",
        Topic::Key,
    ),
    row("axum", None, "Request method must be `GET`", Topic::Method),
    row("uwebsockets", None, "Missing Sec-WebSocket-Key", Topic::Key),
    // nginx's own refusals
    row(
        "nginx",
        None,
        "Request Header Or Cookie Too Large",
        Topic::HeaderSize,
    ),
    row("nginx", None, "Request-URI Too Large", Topic::HeaderSize),
    // Generic phrases used by many servers and proxies
    row("*", Some(431), "", Topic::HeaderSize),
    row(
        "*",
        None,
        "Request Header Fields Too Large",
        Topic::HeaderSize,
    ),
    row("*", None, "header too large", Topic::HeaderSize),
    row("*", None, "origin not allowed", Topic::Origin),
    row("*", None, "cross-origin", Topic::Origin),
    row("*", None, "subprotocol", Topic::Subprotocol),
    row("*", Some(405), "", Topic::Method),
    // Last: a bare "Forbidden" (Socket.IO's 400 body for a refused Origin).
    body_row("*", "forbidden", Topic::Origin),
];

/// The first row that matches a response.
pub fn lookup(status: u16, reason: &str, body: &[u8]) -> Option<&'static Row> {
    let body = String::from_utf8_lossy(body).to_ascii_lowercase();
    let reason = reason.to_ascii_lowercase();
    TABLE.iter().find(|r| {
        let status_ok = r.status.is_none_or(|s| s == status);
        if !status_ok {
            return false;
        }
        if r.text.is_empty() {
            return r.status.is_some();
        }
        let t = r.text.to_ascii_lowercase();
        body.contains(&t) || (r.in_reason && reason.contains(&t))
    })
}

/// Name the server software from the `Server` header or its message style.
pub fn server_family(server_header: Option<&str>, body: &[u8]) -> Option<&'static str> {
    let s = server_header.unwrap_or("").to_ascii_lowercase();
    let known: &[(&str, &str)] = &[
        ("websockets/", "python-websockets"),
        ("aiohttp", "aiohttp"),
        ("tornado", "tornado"),
        ("uvicorn", "uvicorn"),
        ("hypercorn", "hypercorn"),
        ("nginx", "nginx"),
        ("jetty", "jetty"),
        ("kestrel", "aspnetcore"),
        ("apache", "apache"),
        ("envoy", "envoy"),
    ];
    if let Some((_, f)) = known.iter().find(|(k, _)| s.contains(k)) {
        return Some(f);
    }
    let b = String::from_utf8_lossy(body);
    TABLE
        .iter()
        .find(|r| r.server != "*" && !r.text.is_empty() && b.contains(r.text))
        .map(|r| r.server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_server_texts_map_to_topics() {
        let cases: &[(u16, &str, Topic)] = &[
            (
                400,
                "Failed to open a WebSocket connection: missing Sec-WebSocket-Key header.",
                Topic::Key,
            ),
            (400, "No WebSocket UPGRADE hdr: h2c", Topic::Upgrade),
            (
                400,
                "Missing or invalid Sec-WebSocket-Version header",
                Topic::Version,
            ),
            (403, "Cross origin websockets not allowed", Topic::Origin),
            (
                400,
                "Missing/Invalid WebSocket headers",
                Topic::WebSocketHeaders,
            ),
            (
                400,
                "{\"code\":3,\"message\":\"Bad request\"}",
                Topic::Generic,
            ),
            (431, "", Topic::HeaderSize),
            (
                400,
                "<title>400 Request Header Or Cookie Too Large</title>",
                Topic::HeaderSize,
            ),
        ];
        for (status, body, topic) in cases {
            let r = lookup(*status, "", body.as_bytes()).map(|r| r.topic);
            assert_eq!(r, Some(*topic), "{body}");
        }
        assert!(lookup(400, "Bad Request", b"something else").is_none());
    }

    #[test]
    fn topics_cover_their_causes() {
        assert!(Topic::Key.covers(Cause::InvalidSecWebSocketKey));
        assert!(!Topic::Key.covers(Cause::MissingUpgrade));
        assert_eq!(
            Topic::Origin.standalone_cause(),
            Some(Cause::OriginRejected)
        );
    }
}
