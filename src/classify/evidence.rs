//! What real servers answer for each cause: reason phrases and body texts, kept in
//! one table so that adding a server is adding rows. The classifier uses a match
//! to confirm (or choose among) the request's defects, and to name causes a
//! request check cannot see (Origin allow-lists, subprotocols, header limits).

use super::needles::Needles;
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
    /// Engine.IO: the `sid` is not a session of this node (and ASP.NET Core
    /// SignalR's connection `id`, the same failure).
    EngineIoSession,
    /// Engine.IO: the `EIO=` protocol revision is refused.
    EngineIoVersion,
    /// The Sec-WebSocket-Extensions offer (permessage-deflate parameters).
    Extension,
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
            Topic::EngineIoSession | Topic::EngineIoVersion | Topic::Extension => false,
        }
    }

    /// The cause to report when the message names it and the request shows no
    /// defect of that family (what only the server knows).
    pub fn standalone_cause(self) -> Option<Cause> {
        match self {
            Topic::Origin => Some(Cause::OriginRejected),
            Topic::Subprotocol => Some(Cause::SubprotocolRejected),
            Topic::HeaderSize => Some(Cause::HeaderTooLarge),
            Topic::EngineIoSession => Some(Cause::SessionNotSticky),
            Topic::EngineIoVersion => Some(Cause::EngineIoVersionMismatch),
            Topic::Extension => Some(Cause::ExtensionParamsRejected),
            _ => None,
        }
    }
}

/// The text of the generic row for a 403 that names the Origin in an
/// application's own words.
const ORIGIN_IN_OWN_WORDS: &str = "origin";

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

impl Row {
    /// Whether this is the generic row for a 403 that names the Origin in
    /// words of its own: it holds only where the text quotes the request's
    /// Origin, which the classifier checks.
    pub fn names_origin_in_own_words(&self) -> bool {
        self.server == "*" && self.text == ORIGIN_IN_OWN_WORDS
    }
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

/// Like [`body_row`], for a text one status always carries.
const fn status_body_row(
    server: &'static str,
    status: u16,
    text: &'static str,
    topic: Topic,
) -> Row {
    Row {
        server,
        status: Some(status),
        text,
        topic,
        in_reason: false,
    }
}

/// The table, most specific texts first: a row whose text is a substring of
/// another server's message must come after that server's rows.
///
/// Servers with no row, and why:
/// - tungstenite / tokio-tungstenite (`src/handshake/server.rs`): a request
///   failing `create_response` gets no HTTP answer at all, the connection is
///   dropped; its texts ("No \"Connection: upgrade\" in client request", ...)
///   only reach the server's log. hyper-tungstenite leaves the answer to the
///   application.
/// - uWebSockets (`src/App.h`): a GET without a 24-byte Sec-WebSocket-Key is
///   handed on to the other routes (`setYield`), so the answer is the app's.
/// - ASP.NET Core (`WebSocketMiddleware.cs`): a refused Origin is a bare 403;
///   a non-WebSocket request is left to the application.
/// - Spring (`AbstractHandshakeHandler.java`): method 405, version 426, key
///   400 and Origin 403 (`OriginHandshakeInterceptor`) carry no body; only the
///   Upgrade and Connection refusals have text.
/// - Tomcat (`UpgradeUtil.java`): `sendError(400)` / `sendError(403)` give the
///   generic error page; the version refusal is a bare 426.
/// - gorilla/websocket (`server.go`): with no `Upgrader.Error`, the body is
///   only the status text; the rows below match apps that echo the reason.
/// - uvicorn/Starlette: a close before accept is a bare 403 (websockets and
///   wsproto); "Unsupported upgrade request." is a log line, not an answer.
///
/// A static, not a const: a row found is told apart by its address, and each
/// use of a const may be a copy of its own (a build once compared rows from
/// two copies of the table).
pub static TABLE: &[Row] = &[
    // coder/websocket (nhooyr), accept.go `verifyClientRequest`: the error text
    // is the body (`http.Error`). Before Python websockets, whose
    // "missing Sec-WebSocket-Key" is a substring of one of these.
    // accept.go: 426 for an HTTP/1.0 request.
    row(
        "coder-websocket",
        Some(426),
        "handshake request must be at least HTTP/1.1",
        Topic::Generic,
    ),
    // accept.go: 426 `Connection header %q does not contain Upgrade`.
    row(
        "coder-websocket",
        Some(426),
        "WebSocket protocol violation: Connection header",
        Topic::Connection,
    ),
    // accept.go: 426 `Upgrade header %q does not contain websocket`.
    row(
        "coder-websocket",
        Some(426),
        "WebSocket protocol violation: Upgrade header",
        Topic::Upgrade,
    ),
    // accept.go: 405 `handshake request method is not GET but %q`.
    row(
        "coder-websocket",
        Some(405),
        "handshake request method is not GET",
        Topic::Method,
    ),
    // accept.go: 400 `unsupported WebSocket protocol version (only 13 is supported): %q`.
    row(
        "coder-websocket",
        Some(400),
        "unsupported WebSocket protocol version",
        Topic::Version,
    ),
    // accept.go: 400 `WebSocket protocol violation: missing Sec-WebSocket-Key`.
    row(
        "coder-websocket",
        Some(400),
        "WebSocket protocol violation: missing Sec-WebSocket-Key",
        Topic::Key,
    ),
    // accept.go `authenticateOrigin`: 403 `request Origin %q is not authorized for Host %q`.
    row(
        "coder-websocket",
        Some(403),
        "is not authorized for Host",
        Topic::Origin,
    ),
    // accept.go `acceptDeflate`: 400 `unsupported permessage-deflate parameter: %q`.
    row(
        "coder-websocket",
        Some(400),
        "unsupported permessage-deflate parameter",
        Topic::Extension,
    ),
    // gorilla/websocket, server.go `Upgrade` (HandshakeError reasons, seen when
    // the app's `Upgrader.Error` writes them; the default body is the status
    // text). Current prefix "websocket: the client is not using the websocket
    // protocol: ", older "websocket: not a websocket handshake: ".
    // server.go: 400 Connection.
    row(
        "gorilla",
        None,
        "'upgrade' token not found in 'Connection' header",
        Topic::Connection,
    ),
    // server.go: 426 (400 before v1.5.1) Upgrade.
    row(
        "gorilla",
        None,
        "'websocket' token not found in 'Upgrade' header",
        Topic::Upgrade,
    ),
    // server.go: 405.
    row(
        "gorilla",
        Some(405),
        "request method is not GET",
        Topic::Method,
    ),
    // server.go: 400 `unsupported version: 13 not found in 'Sec-Websocket-Version' header`.
    row(
        "gorilla",
        Some(400),
        "unsupported version: 13 not found",
        Topic::Version,
    ),
    // server.go: 403 `request origin not allowed by Upgrader.CheckOrigin`.
    row(
        "gorilla",
        Some(403),
        "request origin not allowed by Upgrader.CheckOrigin",
        Topic::Origin,
    ),
    // server.go: 400 `'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte in length`.
    row(
        "gorilla",
        Some(400),
        "'Sec-WebSocket-Key' header must be Base64 encoded",
        Topic::Key,
    ),
    // server.go (before v1.5): 400 "`Sec-WebSocket-Key' header is missing or blank".
    row(
        "gorilla",
        Some(400),
        "Sec-WebSocket-Key' header is missing or blank",
        Topic::Key,
    ),
    // server.go (early releases): "websocket: version != 13", "connection
    // header != upgrade", "upgrade != websocket", "key missing or blank".
    row(
        "gorilla",
        Some(400),
        "websocket: version != 13",
        Topic::Version,
    ),
    row(
        "gorilla",
        Some(400),
        "websocket: connection header != upgrade",
        Topic::Connection,
    ),
    row(
        "gorilla",
        Some(400),
        "websocket: upgrade != websocket",
        Topic::Upgrade,
    ),
    row(
        "gorilla",
        Some(400),
        "websocket: key missing or blank",
        Topic::Key,
    ),
    // Node ws, lib/websocket-server.js `handleUpgrade` / `abortHandshake`
    // (before Python websockets: "invalid Sec-WebSocket-Key" is inside
    // "Missing or invalid Sec-WebSocket-Key header")
    // (engine.io and Socket.IO hand the upgrade to it, so they answer the same).
    row(
        "node-ws",
        Some(400),
        "Missing or invalid Sec-WebSocket-Key",
        Topic::Key,
    ),
    row(
        "node-ws",
        Some(400),
        "Missing or invalid Sec-WebSocket-Version",
        Topic::Version,
    ),
    row(
        "node-ws",
        Some(400),
        "Invalid Upgrade header",
        Topic::Upgrade,
    ),
    row("node-ws", Some(405), "Invalid HTTP method", Topic::Method),
    row(
        "node-ws",
        Some(400),
        "Invalid Sec-WebSocket-Protocol",
        Topic::Subprotocol,
    ),
    row(
        "node-ws",
        Some(400),
        "Invalid or unacceptable Sec-WebSocket-Extensions",
        Topic::Extension,
    ),
    // websocket-server.js: the server ws creates for `port` answers every
    // non-upgrade request 426 with body `http.STATUS_CODES[426]` (no Upgrade
    // or no Connection: upgrade). Body only: Tornado, Spring and Tomcat send
    // the same reason phrase with an empty body for a version refusal.
    status_body_row(
        "node-ws",
        426,
        "Upgrade Required",
        Topic::UpgradeOrConnection,
    ),
    // WebSocket-Node (npm `websocket`), lib/WebSocketRequest.js
    // `readHandshake`: its own refusals, in an X-WebSocket-Reject-Reason
    // header with no body (the classifier reads that header as the text).
    row(
        "websocket-node",
        Some(400),
        "must provide a Host header",
        Topic::Host,
    ),
    row(
        "websocket-node",
        Some(400),
        "must provide a value for Sec-WebSocket-Key",
        Topic::Key,
    ),
    row(
        "websocket-node",
        Some(400),
        "must provide a value for Sec-WebSocket-Version",
        Topic::Version,
    ),
    row(
        "websocket-node",
        Some(426),
        "Unsupported websocket client version",
        Topic::Version,
    ),
    // Python websockets, legacy/server.py `handler` and server.py
    // `ServerProtocol.accept`: "Failed to open a WebSocket connection: <exc>."
    // with InvalidHeader's "missing/empty/invalid <name> header[: value]"
    // (exceptions.py); 426 for InvalidUpgrade, 403 for InvalidOrigin, else 400.
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
        "empty Connection header",
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
    // exceptions.py InvalidOrigin: 403 "invalid Origin header: <origin>", or
    // "missing Origin header" when the allow-list does not include None.
    row(
        "python-websockets",
        Some(403),
        "invalid Origin header",
        Topic::Origin,
    ),
    row(
        "python-websockets",
        Some(403),
        "missing Origin header",
        Topic::Origin,
    ),
    // legacy/server.py: NegotiationError "unsupported subprotocol; expected ...";
    // server.py `select_subprotocol`: "invalid subprotocol; expected one of ..."
    // and "missing subprotocol".
    row(
        "python-websockets",
        None,
        "unsupported subprotocol",
        Topic::Subprotocol,
    ),
    row(
        "python-websockets",
        None,
        "invalid subprotocol; expected one of",
        Topic::Subprotocol,
    ),
    row(
        "python-websockets",
        None,
        "missing subprotocol",
        Topic::Subprotocol,
    ),
    // server.py / legacy/server.py `read_http_request`: InvalidMessage for a
    // request it cannot parse (non-GET, HTTP/1.0, header limits).
    row(
        "python-websockets",
        None,
        "did not receive a valid HTTP request",
        Topic::Generic,
    ),
    // The 426 body's second paragraph (InvalidUpgrade: Upgrade or Connection).
    status_body_row(
        "python-websockets",
        426,
        "You cannot access a WebSocket server directly with a browser",
        Topic::UpgradeOrConnection,
    ),
    // Any other refusal, including the 500 "See server log for more information."
    body_row(
        "python-websockets",
        "Failed to open a WebSocket connection",
        Topic::Generic,
    ),
    // aiohttp, web_ws.py `WebSocketResponse._handshake`: 400 bodies. Before
    // actix-web, whose reason "No CONNECTION upgrade" is a substring of one.
    row("aiohttp", None, "No WebSocket UPGRADE hdr", Topic::Upgrade),
    row(
        "aiohttp",
        None,
        "No CONNECTION upgrade hdr",
        Topic::Connection,
    ),
    // python-engineio (python-socketio, Flask-SocketIO), base_server.py
    // `_bad_request`: a JSON string in a text/plain 400, before aiohttp's
    // "Unsupported version" row (words inside the version refusal). Under an
    // ASGI server a refused WebSocket is a bare 403 instead (the correlator
    // names the sid's issuer for it).
    row(
        "python-engineio",
        Some(400),
        "is not an accepted origin",
        Topic::Origin,
    ),
    row(
        "python-engineio",
        Some(400),
        "\"Invalid session",
        Topic::EngineIoSession,
    ),
    row(
        "python-engineio",
        Some(400),
        "unsupported version of the Socket.IO or Engine.IO protocols",
        Topic::EngineIoVersion,
    ),
    // web_ws.py: "Unsupported version: <v>" (actix-web's old reason phrase
    // "Unsupported version" is the same words).
    row("aiohttp", None, "Unsupported version", Topic::Version),
    // web_ws.py: "Handshake error: <key!r>" (actix-web's reason phrase for a
    // bad key, actix-http/src/ws/mod.rs, is "Handshake error" too).
    row("aiohttp", None, "Handshake error", Topic::Key),
    // aiohttp's request parser (recorded in the captures, missing-host).
    row("aiohttp", None, "Missing 'Host' header", Topic::Host),
    // http_parser.py / _http_parser.pyx LineTooLong: "Got more than N bytes when reading ...".
    row("aiohttp", None, "Got more than", Topic::HeaderSize),
    // The capture app's own Origin check (aiohttp has none).
    row("aiohttp", Some(403), "Origin not allowed", Topic::Origin),
    // engine.io, lib/server.ts `verify` / `abortUpgrade` (400, plain text) and
    // `abortRequest` (400 or 403, JSON {"code":N,"message":...}).
    row("socket.io", None, "Bad handshake method", Topic::Method),
    // Code 3: websocket transport without an upgrade, bad Origin characters, or a
    // session mismatch; not specific enough to name one.
    row(
        "socket.io",
        None,
        "\"message\":\"Bad request\"",
        Topic::Generic,
    ),
    // Code 4 (allowRequest refused) over plain HTTP: 403 JSON.
    row(
        "socket.io",
        None,
        "\"message\":\"Forbidden\"",
        Topic::Origin,
    ),
    row("socket.io", Some(400), "Transport unknown", Topic::Generic),
    // Code 1: a sid this node does not hold (a balancer without stickiness).
    row(
        "socket.io",
        Some(400),
        "Session ID unknown",
        Topic::EngineIoSession,
    ),
    // Code 5: the Engine.IO protocol (EIO=) revision, not Sec-WebSocket-Version.
    row(
        "socket.io",
        Some(400),
        "Unsupported protocol version",
        Topic::EngineIoVersion,
    ),
    // ASP.NET Core SignalR (HttpConnectionDispatcher): the connection id
    // a negotiate request issued is unknown to this node, text/plain 404.
    // Behind a balancer without sticky sessions, negotiate and the upgrade
    // reach different nodes: Engine.IO's failure under another name.
    row(
        "signalr",
        Some(404),
        "No Connection with that ID",
        Topic::EngineIoSession,
    ),
    // Tornado, tornado/websocket.py `WebSocketHandler.get` and
    // `WebSocketProtocol13.accept_connection`. A version refusal is a bare 426.
    row(
        "tornado",
        Some(400),
        "Missing/Invalid WebSocket headers",
        Topic::WebSocketHeaders,
    ),
    // Spring's AbstractHandshakeHandler.java writes the same words with
    // "upgrade" in lower case.
    row(
        "tornado",
        Some(400),
        "\"Connection\" must be \"Upgrade\"",
        Topic::Connection,
    ),
    // Also Spring (AbstractHandshakeHandler.java `handleInvalidUpgradeHeader`).
    row(
        "tornado",
        Some(400),
        "Can \"Upgrade\" only to \"WebSocket\"",
        Topic::Upgrade,
    ),
    row(
        "tornado",
        Some(403),
        "Cross origin websockets not allowed",
        Topic::Origin,
    ),
    // uvicorn, protocols/http/h11_impl.py and httptools_impl.py: 400 for a
    // request the HTTP parser rejects (no Host with h11, bad request line).
    row(
        "uvicorn",
        Some(400),
        "Invalid HTTP request received",
        Topic::Generic,
    ),
    // Jetty 10+, JettyWebSocketServlet/RFC6455Handshaker: BadMessageException
    // (400); Jetty 9 HandshakeRFC6455.java threw IllegalStateException (500).
    row(
        "jetty",
        None,
        "Missing request header 'Sec-WebSocket-Key'",
        Topic::Key,
    ),
    // Jetty 9, WebSocketServerFactory.java: sendError(400, ...) with
    // Sec-WebSocket-Version listing the supported versions.
    row(
        "jetty",
        Some(400),
        "Unsupported websocket version specification",
        Topic::Version,
    ),
    // ASP.NET Core, WebSocketMiddleware.cs `AcceptAsync`: InvalidOperationException
    // when the app accepts a non-WebSocket request (500, developer page).
    row(
        "aspnetcore",
        None,
        "Not a WebSocket request",
        Topic::Generic,
    ),
    // actix-web, actix-http/src/ws/mod.rs `From<HandshakeError> for Response`:
    // empty body, the text is the reason phrase (3.x spelling; 0.x/1.x/2.x used
    // "UPGRADE", "CONNECTION", "Websocket" and "Unsupported version", which match
    // case-insensitively or via the aiohttp rows). Method: bare 405.
    row(
        "actix-web",
        Some(400),
        "No WebSocket UPGRADE header found",
        Topic::Upgrade,
    ),
    row(
        "actix-web",
        Some(400),
        "No CONNECTION upgrade",
        Topic::Connection,
    ),
    row(
        "actix-web",
        Some(400),
        "WebSocket version header is required",
        Topic::Version,
    ),
    row(
        "actix-web",
        Some(400),
        "Unsupported WebSocket version",
        Topic::Version,
    ),
    // axum, axum/src/extract/ws.rs `mod rejection` (body text).
    row(
        "axum",
        Some(400),
        "Connection header did not include 'upgrade'",
        Topic::Connection,
    ),
    row(
        "axum",
        Some(400),
        "`Upgrade` header did not include 'websocket'",
        Topic::Upgrade,
    ),
    // HTTP/2 extended CONNECT's counterpart of the Upgrade header.
    row(
        "axum",
        Some(400),
        "`:protocol` pseudo-header did not include 'websocket'",
        Topic::Upgrade,
    ),
    row(
        "axum",
        Some(400),
        "`Sec-WebSocket-Version` header did not include '13'",
        Topic::Version,
    ),
    row(
        "axum",
        Some(400),
        "`Sec-WebSocket-Key` header missing",
        Topic::Key,
    ),
    row(
        "axum",
        Some(405),
        "Request method must be `GET`",
        Topic::Method,
    ),
    row(
        "axum",
        Some(405),
        "Request method must be `CONNECT`",
        Topic::Method,
    ),
    // 426 when hyper gives no upgrade handle (HTTP/1.0, or not served by hyper).
    row(
        "axum",
        Some(426),
        "couldn't be upgraded since no upgrade state was present",
        Topic::Generic,
    ),
    // nginx's own pages, src/http/ngx_http_special_response.c: the 494 page
    // (sent with status 400) and the 414 page.
    row(
        "nginx",
        None,
        "Request Header Or Cookie Too Large",
        Topic::HeaderSize,
    ),
    row("nginx", None, "Request-URI Too Large", Topic::HeaderSize),
    // Autobahn|Python, websocket/protocol.py `processHandshake`: refusals go in
    // the reason phrase ("WebSocket connection denied: origin '…' not allowed").
    row(
        "autobahn",
        Some(400),
        "connection denied: origin",
        Topic::Origin,
    ),
    // websockify, websocket.py `handle_upgrade`: an offer of subprotocols
    // without "binary" (the only one it serves) is refused with this text
    // as the reason phrase of a 400 (Python's http.server error page).
    row(
        "websockify",
        Some(400),
        "Invalid protocol selected",
        Topic::Subprotocol,
    ),
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
    // A 426 no row above explains: Tornado (websocket.py), Spring
    // (AbstractHandshakeHandler.java `handleWebSocketVersionNotSupported`),
    // Tomcat (UpgradeUtil.java) and wsproto (uvicorn) all use a bare 426 with
    // Sec-WebSocket-Version for a version they do not speak.
    row("*", Some(426), "", Topic::Version),
    row("*", Some(405), "", Topic::Method),
    // A server naming the Connection or Upgrade header in its refusal.
    body_row("*", "connection header", Topic::Connection),
    body_row("*", "upgrade header", Topic::Upgrade),
    // A refused permessage-deflate offer, in the server's own words.
    status_body_row("*", 400, "permessage-deflate", Topic::Extension),
    status_body_row("*", 400, "sec-websocket-extensions", Topic::Extension),
    status_body_row("*", 500, "permessage-deflate", Topic::Extension),
    // Last: a bare "Forbidden", only with the statuses of the servers it comes
    // from (engine.io's 400 body for a refused allowRequest, gorilla's default
    // 403 body, Tomcat's 403 page). A proxy's own error page also says
    // "Forbidden", for any reason: see `lookup_for`.
    status_body_row("*", 400, "forbidden", Topic::Origin),
    status_body_row("*", 403, "forbidden", Topic::Origin),
    // A 403 whose text names the Origin in words of its own ("Origin
    // http://evil.test is not allowed", as applications on WebSocket-Node
    // pass to `reject()`): read only where the text quotes the Origin the
    // request sent (`Row::names_origin_in_own_words`), never from a proxy's
    // own page.
    status_body_row("*", 403, ORIGIN_IN_OWN_WORDS, Topic::Origin),
];

/// Proxies whose own error pages say only the status ("403 Forbidden"),
/// whatever the reason: a generic row must not read an Origin refusal into
/// them.
const PROXY_PAGE_MARKS: &[&str] = &[
    "<center>nginx",
    "<address>apache",
    "request forbidden by administrative rules",
];

/// Whether the response is a proxy's own error page.
pub fn is_proxy_page(body: &[u8]) -> bool {
    static MARKS: std::sync::LazyLock<Needles> =
        std::sync::LazyLock::new(|| Needles::new(PROXY_PAGE_MARKS.iter().copied(), true));
    MARKS
        .in_text(&body[..body.len().min(2048)])
        .first()
        .is_some()
}

/// The first row that matches a response, applying rows only where they come
/// from: a generic Origin row never to a proxy's own error page, a proxy's
/// row only when the `Server` header is absent or names that proxy.
pub fn lookup_for(
    status: u16,
    reason: &str,
    body: &[u8],
    server_header: Option<&str>,
) -> Option<&'static Row> {
    let proxy_page = is_proxy_page(body);
    let server = server_header.unwrap_or("").to_ascii_lowercase();
    let maybe_nginx = server.is_empty() || server.contains("nginx");
    let fits = |r: &Row| {
        !(proxy_page && r.server == "*" && r.topic == Topic::Origin)
            && (r.server != "nginx" || maybe_nginx)
    };
    first_row(status, reason, body, fits)
}

/// The first row that matches a response.
pub fn lookup(status: u16, reason: &str, body: &[u8]) -> Option<&'static Row> {
    first_row(status, reason, body, |_| true)
}

/// The rows' texts lowercased, in table order: what the tests' reference
/// definitions search for.
#[cfg(test)]
static LOWERCASE_TEXTS: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| TABLE.iter().map(|r| r.text.to_ascii_lowercase()).collect());

/// The rows' texts, searched for in one pass over a body ignoring ASCII case
/// (a refusal would otherwise be scanned once per row).
static TEXTS: std::sync::LazyLock<Needles> =
    std::sync::LazyLock::new(|| Needles::new(TABLE.iter().map(|r| r.text), true));

/// The first row, in table order, that `fits` and matches the status and
/// the reason or body.
fn first_row(
    status: u16,
    reason: &str,
    body: &[u8],
    fits: impl Fn(&Row) -> bool,
) -> Option<&'static Row> {
    let in_body = TEXTS.in_text(body);
    // One pass over the reason phrase for every row, as over the body: a
    // substring search per row set up a searcher for each (36 a refusal).
    let in_reason = TEXTS.in_text(reason.as_bytes());
    ROWS_BY_STATUS
        .for_status(status)
        .iter()
        .map(|&i| usize::from(i))
        .find_map(|i| {
            let r = TABLE.get(i)?;
            if !fits(r) {
                return None;
            }
            let matched = if r.text.is_empty() {
                r.status.is_some()
            } else {
                in_body.has(i) || (r.in_reason && in_reason.has(i))
            };
            matched.then_some(r)
        })
}

/// For each status the table names, the rows that can apply to it (that
/// status's and the status-free ones), in table order; the status-free rows
/// alone for any other. A refusal is looked up against a few rows instead of
/// all of them, with the same first match.
struct RowsByStatus {
    by_status: Vec<(u16, Vec<u16>)>,
    any_status: Vec<u16>,
}

impl RowsByStatus {
    fn new(table: &[Row]) -> RowsByStatus {
        // The rows that apply to `status` (`None`: a status no row names).
        let rows = |status: Option<u16>| -> Vec<u16> {
            table
                .iter()
                .enumerate()
                .filter(|(_, r)| r.status.is_none() || r.status == status)
                .map(|(i, _)| u16::try_from(i).unwrap_or(u16::MAX))
                .collect()
        };
        let mut statuses: Vec<u16> = table.iter().filter_map(|r| r.status).collect();
        statuses.sort_unstable();
        statuses.dedup();
        RowsByStatus {
            by_status: statuses.into_iter().map(|s| (s, rows(Some(s)))).collect(),
            any_status: rows(None),
        }
    }

    fn for_status(&self, status: u16) -> &[u16] {
        match self.by_status.binary_search_by_key(&status, |(s, _)| *s) {
            Ok(at) => &self.by_status[at].1,
            Err(_) => &self.any_status,
        }
    }
}

static ROWS_BY_STATUS: std::sync::LazyLock<RowsByStatus> =
    std::sync::LazyLock::new(|| RowsByStatus::new(TABLE));

/// Name the server software from the `Server` header or its message style:
/// a check that the evidence table tells the servers of the fixtures apart.
#[cfg(test)]
fn server_family(server_header: Option<&str>, body: &[u8]) -> Option<&'static str> {
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
    let b = crate::text::lossy(body);
    TABLE
        .iter()
        .find(|r| r.server != "*" && !r.text.is_empty() && b.contains(r.text))
        .map(|r| r.server)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `first_row` as the table defines it: every row in order.
    fn first_row_of_all(status: u16, reason: &str, body: &[u8]) -> Option<&'static Row> {
        let in_body = TEXTS.in_text(body);
        let reason = reason.to_ascii_lowercase();
        TABLE
            .iter()
            .enumerate()
            .find(|&(i, r)| {
                let text = &LOWERCASE_TEXTS[i];
                r.status.is_none_or(|s| s == status)
                    && if text.is_empty() {
                        r.status.is_some()
                    } else {
                        in_body.has(i) || (r.in_reason && reason.contains(text.as_str()))
                    }
            })
            .map(|(_, r)| r)
    }

    #[test]
    fn rows_by_status_find_the_row_a_walk_of_the_table_finds() {
        let mut statuses: Vec<u16> = TABLE.iter().filter_map(|r| r.status).collect();
        statuses.extend([100, 200, 299, 400, 401, 403, 418, 426, 500, 999]);
        let mut found = 0;
        for status in statuses {
            for r in TABLE {
                let shouted = r.text.to_ascii_uppercase();
                for (reason, body) in [
                    (r.text, &b""[..]),
                    (shouted.as_str(), &b""[..]),
                    ("x", shouted.as_bytes()),
                    ("", r.text.as_bytes()),
                    ("x", &b"y"[..]),
                ] {
                    let want = first_row_of_all(status, reason, body);
                    let got = lookup(status, reason, body);
                    assert_eq!(
                        got.map(|r| r as *const Row),
                        want.map(|r| r as *const Row),
                        "status {status}, reason {reason:?}, body {:?}",
                        String::from_utf8_lossy(body)
                    );
                    found += usize::from(got.is_some());
                }
            }
        }
        assert!(found > TABLE.len(), "the rows' own texts find rows");
    }

    /// Each (status, reason, body) must find a row of `server` with `topic`.
    fn check(server: &str, cases: &[(u16, &str, &str, Topic)]) {
        for (status, reason, body, topic) in cases {
            let r = lookup(*status, reason, body.as_bytes())
                .unwrap_or_else(|| panic!("{server}: no row for {status} {reason:?} {body:?}"));
            assert_eq!(r.topic, *topic, "{server}: {status} {reason:?} {body:?}");
            assert!(
                r.server == server || r.server == "*" || r.server == "aiohttp",
                "{server}: {body:?} matched a {} row",
                r.server
            );
        }
    }

    #[test]
    fn python_websockets() {
        let p = "Failed to open a WebSocket connection: ";
        let cases: Vec<(u16, String, Topic)> = vec![
            (400, format!("{p}missing Sec-WebSocket-Key header.\n"), Topic::Key),
            (
                400,
                format!("{p}invalid Sec-WebSocket-Key header: abc.\n"),
                Topic::Key,
            ),
            (
                400,
                format!("{p}missing Sec-WebSocket-Version header.\n"),
                Topic::Version,
            ),
            (
                400,
                format!("{p}invalid Sec-WebSocket-Version header: 8.\n"),
                Topic::Version,
            ),
            (
                426,
                format!("{p}invalid Connection header: close.\n\nYou cannot access a WebSocket server directly with a browser. You need a WebSocket client.\n"),
                Topic::Connection,
            ),
            (
                426,
                format!("{p}missing Connection header.\n"),
                Topic::Connection,
            ),
            (426, format!("{p}empty Upgrade header.\n"), Topic::Upgrade),
            (
                426,
                format!("{p}invalid Upgrade header: h2c.\n"),
                Topic::Upgrade,
            ),
            (
                403,
                format!("{p}invalid Origin header: http://evil.test.\n"),
                Topic::Origin,
            ),
            (403, format!("{p}missing Origin header.\n"), Topic::Origin),
            (
                400,
                format!("{p}unsupported subprotocol; expected one of chat.\n"),
                Topic::Subprotocol,
            ),
            (
                400,
                format!("{p}invalid subprotocol; expected one of chat, superchat.\n"),
                Topic::Subprotocol,
            ),
            (
                400,
                format!("{p}missing subprotocol.\n"),
                Topic::Subprotocol,
            ),
            (
                400,
                format!("{p}did not receive a valid HTTP request.\n"),
                Topic::Generic,
            ),
            (
                500,
                "Failed to open a WebSocket connection.\nSee server log for more information.\n"
                    .to_string(),
                Topic::Generic,
            ),
        ];
        let cases: Vec<(u16, &str, &str, Topic)> = cases
            .iter()
            .map(|(s, b, t)| (*s, "", b.as_str(), *t))
            .collect();
        check("python-websockets", &cases);
    }

    #[test]
    fn node_ws() {
        check(
            "node-ws",
            &[
                (
                    400,
                    "Bad Request",
                    "Missing or invalid Sec-WebSocket-Key header",
                    Topic::Key,
                ),
                (
                    400,
                    "Bad Request",
                    "Missing or invalid Sec-WebSocket-Version header",
                    Topic::Version,
                ),
                (400, "Bad Request", "Invalid Upgrade header", Topic::Upgrade),
                (
                    405,
                    "Method Not Allowed",
                    "Invalid HTTP method",
                    Topic::Method,
                ),
                (
                    400,
                    "Bad Request",
                    "Invalid Sec-WebSocket-Protocol header",
                    Topic::Subprotocol,
                ),
                (
                    400,
                    "Bad Request",
                    "Invalid or unacceptable Sec-WebSocket-Extensions header",
                    Topic::Extension,
                ),
                (
                    426,
                    "Upgrade Required",
                    "Upgrade Required",
                    Topic::UpgradeOrConnection,
                ),
            ],
        );
        assert_eq!(
            server_family(None, b"Missing or invalid Sec-WebSocket-Key header"),
            Some("node-ws")
        );
    }

    #[test]
    fn websocket_node() {
        check(
            "websocket-node",
            &[
                (
                    400,
                    "Bad Request",
                    "Client must provide a Host header.",
                    Topic::Host,
                ),
                (
                    400,
                    "Bad Request",
                    "Client must provide a value for Sec-WebSocket-Key.",
                    Topic::Key,
                ),
                (
                    400,
                    "Bad Request",
                    "Client must provide a value for Sec-WebSocket-Version.",
                    Topic::Version,
                ),
                (
                    426,
                    "Upgrade Required",
                    "Unsupported websocket client version: 7Only versions 8 and 13 are supported.",
                    Topic::Version,
                ),
                (
                    403,
                    "Forbidden",
                    "Origin http://evil.test is not allowed",
                    Topic::Origin,
                ),
                (
                    400,
                    "Bad Request",
                    "Subprotocol chat.v1 is required",
                    Topic::Subprotocol,
                ),
            ],
        );
    }

    #[test]
    fn signalr() {
        check(
            "signalr",
            &[(
                404,
                "Not Found",
                "No Connection with that ID",
                Topic::EngineIoSession,
            )],
        );
    }

    #[test]
    fn engine_io_socket_io() {
        check(
            "socket.io",
            &[
                (400, "Bad Request", "Bad handshake method", Topic::Method),
                (
                    400,
                    "Bad Request",
                    "{\"code\":3,\"message\":\"Bad request\"}",
                    Topic::Generic,
                ),
                (
                    403,
                    "Forbidden",
                    "{\"code\":4,\"message\":\"Forbidden\"}",
                    Topic::Origin,
                ),
                (400, "Bad Request", "Transport unknown", Topic::Generic),
                (
                    400,
                    "Bad Request",
                    "Session ID unknown",
                    Topic::EngineIoSession,
                ),
                // The Engine.IO protocol, not the WebSocket version.
                (
                    400,
                    "Bad Request",
                    "Unsupported protocol version",
                    Topic::EngineIoVersion,
                ),
                // abortUpgrade's plain body for a refused allowRequest.
                (400, "Bad Request", "Forbidden", Topic::Origin),
            ],
        );
    }

    #[test]
    fn python_engineio() {
        check(
            "python-engineio",
            &[
                (
                    400,
                    "BAD REQUEST",
                    "\"http://evil.test is not an accepted origin.\"",
                    Topic::Origin,
                ),
                (
                    400,
                    "BAD REQUEST",
                    "\"Invalid session vArH7znGbooMxBc8AAAB\"",
                    Topic::EngineIoSession,
                ),
                (
                    400,
                    "BAD REQUEST",
                    "\"The client is using an unsupported version of the Socket.IO or Engine.IO protocols\"",
                    Topic::EngineIoVersion,
                ),
            ],
        );
    }

    #[test]
    fn aiohttp() {
        check(
            "aiohttp",
            &[
                (
                    400,
                    "Bad Request",
                    "No WebSocket UPGRADE hdr: h2c\n Can \"Upgrade\" only to \"WebSocket\".",
                    Topic::Upgrade,
                ),
                (
                    400,
                    "Bad Request",
                    "No CONNECTION upgrade hdr: keep-alive",
                    Topic::Connection,
                ),
                (400, "Bad Request", "Unsupported version: ", Topic::Version),
                (400, "Bad Request", "Handshake error: 'abc'", Topic::Key),
                (400, "Bad Request", "Handshake error: None", Topic::Key),
                (
                    400,
                    "Bad Request",
                    "Missing 'Host' header in request.",
                    Topic::Host,
                ),
                (
                    400,
                    "Bad Request",
                    "Got more than 8190 bytes when reading: b'session=aaaa'",
                    Topic::HeaderSize,
                ),
                (403, "Forbidden", "Origin not allowed", Topic::Origin),
            ],
        );
    }

    #[test]
    fn tornado() {
        check(
            "tornado",
            &[
                (
                    400,
                    "Bad Request",
                    "Can \"Upgrade\" only to \"WebSocket\".",
                    Topic::Upgrade,
                ),
                (
                    400,
                    "Bad Request",
                    "\"Connection\" must be \"Upgrade\".",
                    Topic::Connection,
                ),
                (
                    400,
                    "Bad Request",
                    "Missing/Invalid WebSocket headers",
                    Topic::WebSocketHeaders,
                ),
                (
                    403,
                    "Forbidden",
                    "Cross origin websockets not allowed",
                    Topic::Origin,
                ),
                // Unsupported version: a bare 426, not Node's body.
                (426, "Upgrade Required", "", Topic::Version),
            ],
        );
    }

    #[test]
    fn gorilla() {
        let b = "websocket: the client is not using the websocket protocol: ";
        let conn = format!("{b}'upgrade' token not found in 'Connection' header");
        let upg = format!("{b}'websocket' token not found in 'Upgrade' header");
        let meth = format!("{b}request method is not GET");
        check(
            "gorilla",
            &[
                (400, "", &conn, Topic::Connection),
                (426, "", &upg, Topic::Upgrade),
                (405, "", &meth, Topic::Method),
                (
                    400,
                    "",
                    "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header",
                    Topic::Version,
                ),
                (
                    403,
                    "",
                    "websocket: request origin not allowed by Upgrader.CheckOrigin",
                    Topic::Origin,
                ),
                (
                    400,
                    "",
                    "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte in length",
                    Topic::Key,
                ),
                (
                    400,
                    "",
                    "websocket: not a websocket handshake: `Sec-Websocket-Key' header is missing or blank",
                    Topic::Key,
                ),
            ],
        );
        // Default Upgrader: only the status text, which the shared rows read.
        let topic = |s: u16, b: &[u8]| lookup(s, "", b).map(|r| r.topic);
        assert_eq!(
            topic(426, b"Upgrade Required\n"),
            Some(Topic::UpgradeOrConnection)
        );
        assert_eq!(topic(403, b"Forbidden\n"), Some(Topic::Origin));
        assert_eq!(topic(405, b"Method Not Allowed\n"), Some(Topic::Method));
    }

    #[test]
    fn coder_websocket() {
        check(
            "coder-websocket",
            &[
                (
                    426,
                    "Upgrade Required",
                    "WebSocket protocol violation: handshake request must be at least HTTP/1.1: \"HTTP/1.0\"\n",
                    Topic::Generic,
                ),
                (
                    426,
                    "Upgrade Required",
                    "WebSocket protocol violation: Connection header \"close\" does not contain Upgrade\n",
                    Topic::Connection,
                ),
                (
                    426,
                    "Upgrade Required",
                    "WebSocket protocol violation: Upgrade header \"h2c\" does not contain websocket\n",
                    Topic::Upgrade,
                ),
                (
                    405,
                    "Method Not Allowed",
                    "WebSocket protocol violation: handshake request method is not GET but \"POST\"\n",
                    Topic::Method,
                ),
                (
                    400,
                    "Bad Request",
                    "unsupported WebSocket protocol version (only 13 is supported): \"8\"\n",
                    Topic::Version,
                ),
                (
                    400,
                    "Bad Request",
                    "WebSocket protocol violation: missing Sec-WebSocket-Key\n",
                    Topic::Key,
                ),
                (
                    403,
                    "Forbidden",
                    "request Origin \"http://evil.test\" is not authorized for Host \"app.test\"\n",
                    Topic::Origin,
                ),
            ],
        );
        assert_eq!(
            server_family(
                None,
                b"WebSocket protocol violation: missing Sec-WebSocket-Key\n"
            ),
            Some("coder-websocket")
        );
    }

    #[test]
    fn uvicorn() {
        // The websockets implementation answers with Python websockets' texts;
        // the HTTP parser's own refusal:
        check(
            "uvicorn",
            &[(
                400,
                "Bad Request",
                "Invalid HTTP request received.",
                Topic::Generic,
            )],
        );
        // wsproto: a bare 426 with Sec-WebSocket-Version for version 8.
        assert_eq!(lookup(426, "", b"").map(|r| r.topic), Some(Topic::Version));
        // A close before accept: a bare 403, which names nothing.
        assert!(lookup(403, "Forbidden", b"").is_none());
    }

    #[test]
    fn jetty() {
        check(
            "jetty",
            &[
                (
                    400,
                    "Missing request header 'Sec-WebSocket-Key'",
                    "<h2>HTTP ERROR 400 Missing request header 'Sec-WebSocket-Key'</h2>",
                    Topic::Key,
                ),
                (
                    400,
                    "Unsupported websocket version specification",
                    "",
                    Topic::Version,
                ),
            ],
        );
    }

    #[test]
    fn spring_and_tomcat() {
        check(
            "tornado",
            &[
                (
                    400,
                    "",
                    "Can \"Upgrade\" only to \"WebSocket\".",
                    Topic::Upgrade,
                ),
                (
                    400,
                    "",
                    "\"Connection\" must be \"upgrade\".",
                    Topic::Connection,
                ),
            ],
        );
        // Version refusal (Spring and Tomcat): a bare 426.
        assert_eq!(lookup(426, "", b"").map(|r| r.topic), Some(Topic::Version));
        // Tomcat's 403 error page for a refused Origin.
        assert_eq!(
            lookup(
                403,
                "",
                b"<title>HTTP Status 403 \xe2\x80\x93 Forbidden</title>"
            )
            .map(|r| r.topic),
            Some(Topic::Origin)
        );
    }

    #[test]
    fn aspnetcore() {
        check(
            "aspnetcore",
            &[(
                500,
                "Internal Server Error",
                "System.InvalidOperationException: Not a WebSocket request.",
                Topic::Generic,
            )],
        );
    }

    #[test]
    fn actix_web() {
        // Reason phrases with an empty body, current and older spellings.
        check(
            "actix-web",
            &[
                (400, "No WebSocket Upgrade header found", "", Topic::Upgrade),
                (400, "No WebSocket UPGRADE header found", "", Topic::Upgrade),
                (400, "No Connection upgrade", "", Topic::Connection),
                (400, "No CONNECTION upgrade", "", Topic::Connection),
                (
                    400,
                    "WebSocket version header is required",
                    "",
                    Topic::Version,
                ),
                (400, "Unsupported WebSocket version", "", Topic::Version),
                (400, "Unsupported version", "", Topic::Version),
                (400, "Handshake error", "", Topic::Key),
                (405, "Method Not Allowed", "", Topic::Method),
            ],
        );
    }

    #[test]
    fn axum() {
        check(
            "axum",
            &[
                (
                    400,
                    "Bad Request",
                    "Connection header did not include 'upgrade'",
                    Topic::Connection,
                ),
                (
                    400,
                    "Bad Request",
                    "`Upgrade` header did not include 'websocket'",
                    Topic::Upgrade,
                ),
                (
                    400,
                    "Bad Request",
                    "`Sec-WebSocket-Version` header did not include '13'",
                    Topic::Version,
                ),
                (
                    400,
                    "Bad Request",
                    "`Sec-WebSocket-Key` header missing",
                    Topic::Key,
                ),
                (
                    405,
                    "Method Not Allowed",
                    "Request method must be `GET`",
                    Topic::Method,
                ),
                (
                    426,
                    "Upgrade Required",
                    "WebSocket request couldn't be upgraded since no upgrade state was present",
                    Topic::Generic,
                ),
            ],
        );
    }

    #[test]
    fn nginx() {
        check(
            "nginx",
            &[
                (
                    400,
                    "Bad Request",
                    "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>",
                    Topic::HeaderSize,
                ),
                (
                    414,
                    "Request-URI Too Large",
                    "<html>\r\n<head><title>414 Request-URI Too Large</title></head>",
                    Topic::HeaderSize,
                ),
            ],
        );
        assert_eq!(
            lookup(431, "", b"").map(|r| r.topic),
            Some(Topic::HeaderSize)
        );
        assert!(lookup(400, "Bad Request", b"something else").is_none());
    }

    #[test]
    fn one_pass_finds_the_rows_one_search_per_row_finds() {
        let texts: Vec<&str> = TABLE.iter().map(|r| r.text).collect();
        for (i, t) in texts.iter().enumerate() {
            // Each text upper-cased, between invalid UTF-8 and its neighbours
            // (overlapping texts must all be found).
            let mut body = b"\xff\xfe<p>".to_vec();
            body.extend(t.to_ascii_uppercase().bytes());
            body.extend(b" \xc3");
            body.extend(texts[(i + 1) % texts.len()].bytes());
            let found = TEXTS.in_text(&body);
            let lower = crate::text::lossy(&body).to_ascii_lowercase();
            for (j, u) in LOWERCASE_TEXTS.iter().enumerate() {
                let expected = !u.is_empty() && lower.contains(u.as_str());
                assert_eq!(found.has(j), expected, "row {j} in {t:?}");
            }
            assert_eq!(found.has(i), !t.is_empty(), "{t:?}");
        }
    }

    #[test]
    fn every_row_is_reachable_by_its_own_text() {
        // A row shadowed by an earlier one with another topic is a table bug.
        for r in TABLE.iter().filter(|r| !r.text.is_empty()) {
            let status = r.status.unwrap_or(400);
            let found = lookup(status, "", r.text.as_bytes()).expect("own text matches");
            assert_eq!(found.topic, r.topic, "{:?} shadowed by {:?}", r, found);
        }
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
