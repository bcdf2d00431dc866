//! The advice for each cause: a one-line fix for the output, and the longer
//! explanation `wshs-sniff explain CAUSE` prints. Advice never suggests the known
//! dead ends (disabling client validation, switching client library, raising
//! timeouts): a refusal is immediate and caused by the request or the server's
//! policy, never by timing or by the client library's checks.

use super::{proxy_advice, Cause};

pub use proxy_advice::NGINX_LINES;

/// One line of advice; `None` for `ok` and where nothing sensible can be said.
/// With the proxy family the capture shows, the advice is in that proxy's
/// configuration language where the cause lives in it; otherwise generic.
pub fn fix(cause: Cause, proxy: Option<&str>) -> Option<&'static str> {
    proxy
        .and_then(|f| proxy_advice::fix(cause, f))
        .or_else(|| generic_fix(cause))
}

/// [`fix`] for an attempt that was answered `status`: a backend found
/// unreachable after a 101 is a gateway's (websockify connects after its
/// 101), and the proxies in front of it did reach that gateway, so their
/// own advice (check the upstream they connect to) would point at the
/// wrong hop.
pub fn fix_for(cause: Cause, proxy: Option<&str>, status: Option<u16>) -> Option<&'static str> {
    if cause == Cause::BackendUnreachable && status == Some(101) {
        return Some(GATEWAY_GAVE_UP);
    }
    fix(cause, proxy)
}

const GATEWAY_GAVE_UP: &str = "the server accepted the WebSocket, then could not reach the service it relays to: check that this service runs and listens at the address the gateway connects to (websockify: its target argument, or the token's line in its --token-source)";

/// The advice that holds whatever proxy (if any) is in the path.
fn generic_fix(cause: Cause) -> Option<&'static str> {
    Some(match cause {
        Cause::Ok => return None,
        Cause::MissingSecWebSocketKey => "send Sec-WebSocket-Key: base64 of 16 random bytes; if a proxy or gateway builds this request, make it pass the client's header through",
        Cause::InvalidSecWebSocketKey => "generate Sec-WebSocket-Key as base64 of exactly 16 random bytes (24 characters ending in '==')",
        Cause::MissingSecWebSocketVersion => "send Sec-WebSocket-Version: 13",
        Cause::UnsupportedSecWebSocketVersion => "send Sec-WebSocket-Version: 13, the version RFC 6455 servers accept",
        Cause::MissingUpgrade => "send Upgrade: websocket; behind nginx add proxy_set_header Upgrade $http_upgrade; (with proxy_http_version 1.1;)",
        Cause::InvalidUpgrade => "send Upgrade: websocket (that exact token; not 'websockets', not 'h2c')",
        Cause::ConnectionMissingUpgrade => "send Connection: Upgrade ('keep-alive, Upgrade' is fine); behind nginx add proxy_set_header Connection \"upgrade\";",
        Cause::OriginRejected => "add this Origin to the server's allowed origins, or open the page from an origin the server allows",
        Cause::MethodNotGet => "open the WebSocket with a GET request",
        Cause::HttpVersionTooOld => "send the upgrade as HTTP/1.1; behind nginx add proxy_http_version 1.1;",
        Cause::MissingHost => "send a Host header (HTTP/1.1 requires it); check the client or proxy that builds the request",
        Cause::SubprotocolRejected => "offer a subprotocol the server supports in Sec-WebSocket-Protocol, or add this one to the server's list",
        Cause::HeaderTooLarge => "shrink the request head (usually cookies) below the server's limit, or raise the limit (nginx: large_client_header_buffers)",
        Cause::ProxyStrippedUpgrade => "make the proxy carry the upgrade: forward the client's Upgrade and Connection headers to the backend over HTTP/1.1 and relay its 101 back (both headers are hop-by-hop, so most proxies must be told to)",
        Cause::InvalidSecWebSocketAccept => "the server (or a proxy rewriting headers) must answer Sec-WebSocket-Accept = base64(SHA-1(key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11)) for the key it received",
        Cause::PathNotFound => "connect to the path the WebSocket endpoint is served on; check the URL and any proxy location or rewrite rule",
        Cause::Unauthorized => "send the credentials the endpoint requires (session cookie, token or Authorization header)",
        Cause::ServerError => "read the server's error log for this request: the handshake reached a handler that failed",
        Cause::ExtensionRejected => "the server must only accept extensions the client offered; fix the server or the proxy that adds the extension",
        Cause::ClosedAfterUpgrade => "the server accepted, then closed by policy: check the close reason and the server's log for this connection",
        Cause::H2ConnectNotEnabled => "enable WebSockets over HTTP/2 on the server (RFC 8441 SETTINGS_ENABLE_CONNECT_PROTOCOL), or serve this endpoint without h2 in ALPN so clients fall back to HTTP/1.1",
        // Causes of proxies and gateways.
        Cause::BackendUnreachable => "the proxy could not reach its backend: check the upstream address and port it is configured with, and that the backend runs and listens there",
        Cause::ProxyRefused => "the proxy refused the request on its own: check its access rules for this path, method and source, and that it allows WebSocket upgrades",
        Cause::HostRewritten => "make the proxy pass the client's Host header to the backend, or add the public origin to the backend's allowed origins",
        Cause::PathRewritten => "make the proxy's path rewrite land on the backend's WebSocket endpoint: the backend got another path than the client sent",
        Cause::NotUpgraded => "connect to the URL that serves the WebSocket (wss:// when the answer redirects to HTTPS: WebSocket clients do not follow redirects), and route that path to the WebSocket server",
        Cause::UnexpectedProxyProtocol => "make the proxy and the server agree: enable the PROXY protocol on the server's listener (nginx: listen ... proxy_protocol; a server library: its PROXY protocol option), or stop the proxy sending it to this server",
        Cause::MissingProxyProtocol => "connect through the load balancer or proxy that sends the PROXY protocol header, or give clients that connect directly (health checks, internal services) a listener without it",
        Cause::BackendIsHttp2 => "make the proxy speak HTTP/1.1 to this backend on the WebSocket path (the Upgrade mechanism does not exist in HTTP/2), or use a backend that accepts HTTP/2 extended CONNECT (RFC 8441)",
        // Clients, clusters and strict servers.
        Cause::SessionNotSticky => "make the balancer sticky for Engine.IO or SignalR sessions (nginx: hash $remote_addr or ip_hash in the upstream; HAProxy: balance source or a cookie; AWS ALB: target-group stickiness; Kubernetes: sessionAffinity: ClientIP), or connect over WebSocket alone (Engine.IO clients: transports: ['websocket']; SignalR: skipNegotiation with the WebSockets transport)",
        Cause::EngineIoVersionMismatch => "use a client of the server's Engine.IO major version (EIO=4 for Engine.IO 4 servers), or start the server with allowEIO3: true while old clients remain",
        Cause::StrictServer => "make the server or proxy compare Upgrade and Connection as case-insensitive token lists and header names case-insensitively (RFC 9110 §5.1, §7.6.1, §7.8); until then send exactly what it wants",
        Cause::SubprotocolNotSelected => "make the server select one of the offered subprotocols in Sec-WebSocket-Protocol, or open the WebSocket without subprotocols",
        Cause::ExtensionParamsRejected => "let the server decline permessage-deflate parameters it cannot use instead of refusing the handshake (RFC 7692 §5), or relax its deflate settings (Node ws: clientMaxWindowBits only when the client offers client_max_window_bits)",
        // Ends of accepted sessions.
        Cause::IdleTimeout => "send pings (or application heartbeats) more often than the idle timeout of every proxy and load balancer in the path, or raise that idle timeout for the WebSocket route",
        Cause::NoCloseFrame => "find why that side dropped the connection without a close frame at that time (a crash, a restart or deploy, a killed worker, a middlebox); clients should reconnect with backoff",
        Cause::SessionReset => "find what reset the connection: the server process (a crash or an abort), a proxy or firewall dropping the flow, or a full accept or send queue; clients should reconnect with backoff",
        Cause::AbnormalCloseCode => "read the close code and reason: 1009 means a message bigger than the receiver allows (raise its limit or split messages), 1008 a policy refusal, 1011 a server error (its log), 1012/1013 a restart (reconnect later)",
        Cause::Unknown => return None,
    })
}

/// The long explanation of a cause.
pub fn explain(cause: Cause) -> String {
    let (rfc, wire) = match cause {
        Cause::Ok => ("A 101 Switching Protocols with Upgrade: websocket, Connection: Upgrade and the right Sec-WebSocket-Accept completes the handshake (RFC 6455 §4.2.2).", "The response to the upgrade request is 101 and the accept value matches the key."),
        Cause::MissingSecWebSocketKey => ("RFC 6455 §4.1 requires Sec-WebSocket-Key, a nonce of 16 random bytes, base64-encoded; §4.2.1 lets the server refuse a request without it.", "The GET carries Upgrade/Connection but no Sec-WebSocket-Key; servers answer 400 (python websockets: 'missing Sec-WebSocket-Key header')."),
        Cause::InvalidSecWebSocketKey => ("The key must decode to exactly 16 bytes (RFC 6455 §4.1, §4.2.1 point 5).", "The key is not base64, or decodes to another length: 'abc', a 10-byte value. Strict servers answer 400; lenient ones accept."),
        Cause::MissingSecWebSocketVersion => ("RFC 6455 §4.1 requires Sec-WebSocket-Version: 13.", "No Sec-WebSocket-Version in the request; servers answer 400 or 426."),
        Cause::UnsupportedSecWebSocketVersion => ("Only version 13 is standard; §4.4 tells a server to answer 426 with the versions it supports.", "Sec-WebSocket-Version 8 (an old draft) or another number; the 426 response lists the versions the server accepts."),
        Cause::MissingUpgrade => ("The request must carry Upgrade: websocket (RFC 6455 §4.1, RFC 9110 §7.8).", "No Upgrade header while Sec-WebSocket-* headers are there: often a proxy dropped the hop-by-hop headers."),
        Cause::InvalidUpgrade => ("Upgrade must list the websocket protocol token.", "Upgrade: websockets (a typo) or h2c; servers answer 400, 426 or 404."),
        Cause::ConnectionMissingUpgrade => ("Connection must contain the upgrade token (RFC 6455 §4.1); 'keep-alive, Upgrade' is valid.", "Connection: keep-alive or close without upgrade; servers answer 400 or 426."),
        Cause::OriginRejected => ("Servers may refuse an Origin they do not trust (RFC 6455 §4.2.2 point 4, §10.2); this is how browsers' cross-site WebSocket use is limited.", "An otherwise valid request answered 403 (most servers), 401 or 400; accepted attempts to the same server carry another Origin."),
        Cause::MethodNotGet => ("The opening handshake is a GET (RFC 6455 §4.1).", "POST or another method with WebSocket headers; servers answer 400 or 405."),
        Cause::HttpVersionTooOld => ("The handshake needs HTTP/1.1 or later (RFC 6455 §4.1); HTTP/1.0 has no Upgrade mechanism.", "GET ... HTTP/1.0; a reverse proxy without proxy_http_version 1.1 sends exactly this to its backend."),
        Cause::MissingHost => ("HTTP/1.1 requires Host (RFC 9112 §3.2), and RFC 6455 §4.1 names it.", "No Host header; some servers refuse with 400, others accept."),
        Cause::SubprotocolRejected => ("The server picks one of the offered Sec-WebSocket-Protocol values or none (RFC 6455 §4.2.2); a server that requires one refuses a request that offers none it knows, and a client fails a 101 that names one it did not offer.", "400/403 naming the subprotocol, or a 101 with an unoffered subprotocol."),
        Cause::HeaderTooLarge => ("Servers bound the request head (8 KiB is common; nginx: large_client_header_buffers 4 8k).", "A request head over the limit, nearly always a large Cookie; answered 400 or 431, or the connection is just closed."),
        Cause::ProxyStrippedUpgrade => ("Upgrade and Connection are hop-by-hop headers (RFC 9110 §7.6.1): a proxy must be told to forward them, and to speak HTTP/1.1 upstream.", "Two legs with the same Sec-WebSocket-Key: the client's carries Upgrade/Connection, the backend's lacks them (and is often HTTP/1.0 with Connection: close); the backend answers 400 and the proxy relays it."),
        Cause::InvalidSecWebSocketAccept => ("The client must check Sec-WebSocket-Accept = base64(SHA-1(key + GUID)) and fail the connection otherwise (RFC 6455 §4.1).", "A 101 whose accept value does not match the request's key: a broken server or a proxy that rewrote the key."),
        Cause::PathNotFound => ("The request target names the resource (RFC 6455 §4.1); a server without a WebSocket endpoint there answers 404.", "A valid handshake answered 404."),
        Cause::Unauthorized => ("Servers may require authentication before accepting (RFC 6455 §4.2.2 point 4).", "401 with WWW-Authenticate, or 403 to a request without the expected credentials."),
        Cause::ServerError => ("A 5xx is the server failing, not refusing.", "A valid handshake answered 500, 502, 503 or 504 by the server, or relayed by a proxy from its backend. A proxy that could not reach its backend at all answers with its own error page: that is backend-unreachable."),
        Cause::ExtensionRejected => ("A server may only accept extensions the client offered (RFC 6455 §9.1); the client must fail the connection otherwise.", "A 101 with Sec-WebSocket-Extensions naming an extension absent from the request."),
        Cause::H2ConnectNotEnabled => ("RFC 8441 §3: a client may send an extended CONNECT (:protocol websocket) only after the server's SETTINGS carried SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.", "An HTTP/2 CONNECT with :protocol websocket on a connection whose server SETTINGS lack the setting, answered with an error status or a reset stream."),
        Cause::ClosedAfterUpgrade => ("After a 101, a close frame with 1008 (policy), 1002, 1003, 1007 or 1011 at once is a refusal in disguise.", "A 101 followed within seconds by a server close frame or a reset."),
        // Causes of proxies and gateways.
        Cause::BackendUnreachable => ("A gateway that cannot obtain an answer from the server it forwards to answers 502 (Bad Gateway), 503 or 504 (Gateway Timeout) itself (RFC 9110 §15.6.3-5).", "The proxy's own error page (HAProxy 'No server is available', Apache's 503 page, an empty 502 from Caddy) and no backend leg. When the capture also holds the proxy's side toward the backend, the evidence names the connect that failed while the request waited: the proxy's SYN answered by a RST (refused: nothing listens there) or sent again with no SYN-ACK (timed out: the address drops it), and the confidence is high."),
        Cause::ProxyRefused => ("A proxy may refuse a request by its own policy (RFC 9110 §15.5.4); the WebSocket server never sees it.", "A valid request answered 403 or 405 by the proxy's own page with no backend leg, while the same Origin is accepted elsewhere on that proxy (an ACL on path or method), or an Envoy without upgrade_configs."),
        Cause::HostRewritten => ("Servers that check Origin against Host (same-origin policy: gorilla, coder/websocket, Django Channels' AllowedHostsOriginValidator) refuse when the proxy replaced Host with the upstream's name.", "Two legs: the client leg's Host matches its Origin, the backend leg's Host is the upstream address, and the backend refuses (403) naming the Origin."),
        Cause::PathRewritten => ("The request target names the WebSocket resource (RFC 6455 §4.1); a proxy's rewrite must land on it.", "Two legs with the same key but different targets (a prefix stripped or added), and the backend answers 404."),
        Cause::NotUpgraded => ("Only 101 completes the handshake (RFC 6455 §4.1); a client fails the connection on any other status and does not follow redirects.", "A valid upgrade answered 200 (a page) or 3xx (a redirect to HTTPS or a login page, Location quoted) by something that does not speak WebSocket."),
        Cause::UnexpectedProxyProtocol => ("The PROXY protocol (HAProxy's specification, versions 1 and 2) puts a header with the client's address before a connection's first byte; only a server set up to expect it may receive it, and one that is not reads it as a malformed request line.", "A connection that opens with 'PROXY TCP4 ...' (version 1) or the 12-byte signature '\\r\\n\\r\\n\\0\\r\\nQUIT\\n' (version 2) before a valid upgrade request, answered 400 (nginx, Node, Go, Apache, python-websockets: 'did not receive a valid HTTP request')."),
        Cause::MissingProxyProtocol => ("A server set up for the PROXY protocol (HAProxy's specification) requires the header before any byte of a connection; without it, it closes the connection without an HTTP answer (nginx logs 'broken header').", "An upgrade request that is a connection's first bytes, with no PROXY header before it, followed by the server's FIN or reset and no answer, while connections to the same server that opened with a PROXY header were answered."),
        Cause::BackendIsHttp2 => ("HTTP/2 has no Upgrade (RFC 9113 §8.6); WebSocket over HTTP/2 needs extended CONNECT (RFC 8441) on both ends.", "While the upgrade waits, the proxy opens a backend connection that speaks HTTP/2: in clear text it starts with the preface 'PRI * HTTP/2.0' (h2c); over TLS its ClientHello offers only h2 in ALPN (HAProxy 'alpn h2'). The client then gets 502/503."),
        Cause::SessionNotSticky => ("Engine.IO (Socket.IO) opens a session with an HTTP long-polling handshake whose answer carries a sid; every later request of the session, the WebSocket upgrade included, names that sid and must reach the node that holds it.", "GET /socket.io/?EIO=4&transport=websocket&sid=… answered 400 'Session ID unknown' (plain text on an upgrade, {\"code\":1,…} JSON on polling); the polling answer that issued the sid came from another node behind the same balancer. ASP.NET Core SignalR fails the same way: its negotiate request issues a connection id, and an upgrade with ?id=… that reaches another node is answered 404 'No Connection with that ID'."),
        Cause::EngineIoVersionMismatch => ("Engine.IO protocol revisions are not compatible: Socket.IO 3 and 4 servers speak EIO=4 and refuse EIO=3 unless allowEIO3 is set.", "A request with EIO=3 answered 400 'Unsupported protocol version' ({\"code\":5,…}); on a websocket-only connection the 101 comes first and that 400 is written on the upgraded connection."),
        Cause::StrictServer => ("Header names are case-insensitive (RFC 9110 §5.1); Connection is a token list and its tokens, like the Upgrade protocol name, compare case-insensitively (RFC 9110 §7.6.1, §7.8; RFC 6455 §4.2.1).", "A request the RFCs allow (Connection: keep-alive, Upgrade; Upgrade: WebSocket; lowercase header names) refused with a text about that header, or refused while an attempt to the same endpoint that differs only there was accepted."),
        Cause::SubprotocolNotSelected => ("The server may select none of the offered subprotocols (RFC 6455 §4.2.2), but the WHATWG WebSocket standard makes browsers fail a connection whose 101 selects none when the page asked for some; Node ws and other clients do the same.", "The request has Sec-WebSocket-Protocol, the 101 has none; the browser closes the TCP connection at once (1006 in the page) while the server logged a successful connection."),
        Cause::ExtensionParamsRejected => ("A server that cannot accept an extension offer must decline it by leaving it out of its 101 (RFC 6455 §9.1, RFC 7692 §5); refusing the whole handshake is not required by either RFC.", "A request offering permessage-deflate (Firefox: no parameters; Chromium: client_max_window_bits) answered 400 naming Sec-WebSocket-Extensions or the parameters, or 500 from a server whose deflate setup failed."),
        Cause::IdleTimeout => ("RFC 6455 §5.5.2 gives Ping and Pong to keep a connection alive; proxies and load balancers that see no bytes for their idle timeout close the tunnel without a close frame (RFC 6455 §7.1.5: the client then reports 1006).", "Sessions to one server each closed (FIN or reset, no close frame) the same number of seconds after their last frame, from the proxy's side; or one such end at a well-known default (60 s nginx and AWS ALB, 100 s Cloudflare)."),
        Cause::NoCloseFrame => ("The closing handshake (RFC 6455 §7.1.2) sends a close frame before TCP closes; without it the other side reports 1006 (abnormal closure).", "A FIN on an upgraded connection with no close frame before it from that side, and no repeated idle gap."),
        Cause::SessionReset => ("A reset ends a connection at once (RFC 9293 §3.10.7); the WebSocket peer sees 1006.", "A RST on an upgraded connection before any close frame with 1000 or 1001."),
        Cause::AbnormalCloseCode => ("Close codes say why a session ended (RFC 6455 §7.4.1): 1000 normal and 1001 going away are the only ends that are not errors.", "A close frame with 1002-1015, 3000-3999 or 4000-4999, with the sender's reason text."),
        Cause::Unknown => ("The capture does not show why.", "A valid request refused with no telling status or body, or no answer at all."),
    };
    let fix = fix(cause, None).unwrap_or(
        "nothing in the capture points to a fix; read the server's log for this request",
    );
    let by_proxy: String = super::proxy::FAMILIES
        .iter()
        .filter_map(|f| proxy_advice::fix(cause, f).map(|t| format!("  {f}: {t}\n")))
        .collect();
    let fix = if by_proxy.is_empty() {
        fix.to_string()
    } else {
        format!(
            "{fix}\n\nFix by the proxy the capture shows:\n{}",
            by_proxy.trim_end()
        )
    };
    let general = if cause.is_session_end() {
        "  - changing the handshake: it was accepted; the session ended later\n"
    } else {
        "  - disabling the client library's header validation: the server refuses the request, not the client\n  - switching client library (ws to socket.io and the like): the request the server sees is the problem\n  - raising connection timeouts: the refusal is immediate\n"
    };
    format!(
        "{code}\n\nWhat the RFC requires:\n  {rfc}\n\nHow it shows on the wire:\n  {wire}\n\nFix:\n  {fix}\n\nDead ends (do not try):\n{general}{more}",
        code = cause.code(),
        more = more_dead_ends(cause)
    )
}

/// Dead ends particular to one cause, one `  - ` line each.
fn more_dead_ends(cause: Cause) -> &'static str {
    match cause {
        Cause::SessionNotSticky => "  - raising pingTimeout or pingInterval: the node never had the session\n  - more nodes or a shared adapter (Redis): the adapter shares broadcasts, not Engine.IO sessions\n",
        Cause::EngineIoVersionMismatch => "  - changing the path or the CORS settings: the protocol revision is refused\n",
        Cause::StrictServer => "  - changing the Origin or the credentials: the same request with the other spelling is accepted\n",
        Cause::SubprotocolNotSelected => "  - reading the server's log: it logged a successful connection; the client failed it\n",
        Cause::ExtensionParamsRejected => "  - switching permessage-deflate off in the browser: pages cannot; the server must decline instead\n",
        Cause::IdleTimeout => "  - raising the server's own timeouts: the proxy in front closes first\n  - TCP keepalive: it is invisible to HTTP proxies, which count WebSocket bytes\n",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_that_gave_up_after_its_101_is_not_told_to_fix_the_proxy_in_front() {
        let nginx = fix(Cause::BackendUnreachable, Some("nginx"));
        assert!(nginx.is_some_and(|t| t.contains("proxy_pass")), "{nginx:?}");
        for family in [Some("nginx"), Some("haproxy"), None] {
            let after_101 = fix_for(Cause::BackendUnreachable, family, Some(101));
            assert_eq!(after_101, Some(GATEWAY_GAVE_UP), "{family:?}");
            // A gateway error page is the proxy's own: its advice stands.
            assert_eq!(
                fix_for(Cause::BackendUnreachable, family, Some(502)),
                fix(Cause::BackendUnreachable, family)
            );
        }
    }

    #[test]
    fn advice_never_suggests_a_dead_end() {
        let families =
            std::iter::once(None).chain(super::super::proxy::FAMILIES.iter().map(|f| Some(*f)));
        // An idle timeout is the one case where the timeout is the fix.
        for (c, p) in Cause::ALL
            .iter()
            .filter(|c| **c != Cause::IdleTimeout)
            .flat_map(|c| families.clone().map(move |p| (c, p)))
        {
            let f = fix(*c, p).unwrap_or("").to_ascii_lowercase();
            for bad in [
                "timeout",
                "socket.io",
                "disable",
                "switch client",
                "rejectunauthorized",
            ] {
                assert!(!f.contains(bad), "{} ({p:?}) suggests {bad}", c.code());
            }
        }
    }

    #[test]
    fn every_refusal_cause_has_a_fix() {
        for c in Cause::ALL {
            if !matches!(c, Cause::Ok | Cause::Unknown) {
                assert!(fix(*c, None).is_some(), "{}", c.code());
            }
        }
    }

    #[test]
    fn proxy_fix_names_the_nginx_lines_for_nginx_only() {
        let f = fix(Cause::ProxyStrippedUpgrade, Some("nginx")).unwrap_or("");
        assert!(f.contains("proxy_http_version 1.1"));
        assert!(f.contains("proxy_set_header Upgrade $http_upgrade"));
        assert!(f.contains("proxy_set_header Connection \"upgrade\""));
        for p in [None, Some("haproxy"), Some("caddy")] {
            let f = fix(Cause::ProxyStrippedUpgrade, p).unwrap_or("");
            assert!(!f.contains("proxy_set_header"), "{p:?}: {f}");
        }
        assert!(fix(Cause::ProxyStrippedUpgrade, Some("apache"))
            .unwrap_or("")
            .contains("upgrade=websocket"));
        assert!(explain(Cause::ProxyStrippedUpgrade).contains("hop-by-hop"));
    }

    #[test]
    fn session_ends_are_explained_without_the_handshake_dead_ends() {
        let e = explain(Cause::IdleTimeout);
        assert!(e.contains("Ping"), "{e}");
        assert!(!e.contains("the refusal is immediate"), "{e}");
        assert!(fix(Cause::IdleTimeout, Some("nginx"))
            .unwrap_or("")
            .contains("proxy_read_timeout"));
        assert!(fix(Cause::IdleTimeout, Some("haproxy"))
            .unwrap_or("")
            .contains("timeout tunnel"));
        assert!(explain(Cause::OriginRejected).contains("the refusal is immediate"));
    }
}
