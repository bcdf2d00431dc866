//! Which reverse proxy or gateway an answer came through, from what proxies
//! put on the wire: their `Server` or `Via` names, headers only they add, and
//! the text of their own error pages. Advice depends on it: the fix for a
//! HAProxy is HAProxy configuration, never nginx directives.

use super::needles::Needles;
use crate::http::{Headers, ResponseHead};

/// Proxy families, as the `proxy` field spells them.
pub const FAMILIES: &[&str] = &[
    "nginx",
    "ingress-nginx",
    "haproxy",
    "apache",
    "caddy",
    "envoy",
    "traefik",
    "aws-elb",
    "cloudflare",
    "varnish",
    "lighttpd",
    "squid",
    "h2o",
    "trafficserver",
    "nghttpx",
];

/// Names in `Server` or `Via` (lower case substring, family). Tomcat calls
/// itself "Apache-Coyote": that is an application server, not httpd.
const NAMES: &[(&str, &str)] = &[
    ("openresty", "nginx"),
    ("nginx", "nginx"),
    ("caddy", "caddy"),
    ("envoy", "envoy"),
    ("haproxy", "haproxy"),
    ("traefik", "traefik"),
    ("awselb", "aws-elb"),
    ("cloudflare", "cloudflare"),
    ("varnish", "varnish"),
    ("lighttpd", "lighttpd"),
    ("squid", "squid"),
    ("h2o", "h2o"),
    ("nghttpx", "nghttpx"),
    // Before "apache": Traffic Server names itself ApacheTrafficServer in Via.
    ("trafficserver", "trafficserver"),
    ("apache", "apache"),
];

/// Headers that only one family adds to its answers.
const MARK_HEADERS: &[(&str, &str)] = &[
    ("cf-ray", "cloudflare"),
    ("x-envoy-upstream-service-time", "envoy"),
    // Varnish numbers every transaction in X-Varnish, on answers and on its
    // requests to the backend alike.
    ("x-varnish", "varnish"),
    // Squid names the error page it answered with.
    ("x-squid-error", "squid"),
];

/// Text of the error pages proxies write themselves (case-sensitive
/// substring, family). Each says the proxy, not the application, answered.
const PAGES: &[(&str, &str)] = &[
    // HAProxy, src/http_htx.c / include/haproxy/http.h default error pages.
    ("No server is available to handle this request", "haproxy"),
    ("Request forbidden by administrative rules", "haproxy"),
    ("Your browser sent an invalid request", "haproxy"),
    (
        "You need a valid user and password to access this content",
        "haproxy",
    ),
    (
        "The server returned an invalid or incomplete response",
        "haproxy",
    ),
    ("The server didn't respond in time", "haproxy"),
    // ingress-nginx's default backend.
    ("default backend - 404", "ingress-nginx"),
    // nginx, ngx_http_special_response.c: every page ends with its name.
    ("<center>nginx", "nginx"),
    ("<center>openresty", "nginx"),
    // Apache httpd's error documents.
    ("The server is temporarily unable to service your", "apache"),
    (
        "The proxy server received an invalid\nresponse from an upstream server",
        "apache",
    ),
    ("<address>Apache/", "apache"),
    // Envoy's local replies.
    ("no healthy upstream", "envoy"),
    (
        "upstream connect error or disconnect/reset before headers",
        "envoy",
    ),
    // Cloudflare's error pages.
    ("cloudflare-nginx", "cloudflare"),
    ("Cloudflare Ray ID", "cloudflare"),
    // Varnish's built-in synthetic error page (503 "Backend fetch failed").
    ("Guru Meditation", "varnish"),
    // Apache Traffic Server's body_factory pages: no remap rule matched, and
    // the origin refused the connection.
    ("<TITLE>Not Found on Accelerator</TITLE>", "trafficserver"),
    (
        "Could not connect to the requested server host",
        "trafficserver",
    ),
    // nghttpx's own error pages (502, 503, 504) sign off in a footer.
    ("<footer>nghttpx</footer>", "nghttpx"),
];

fn by_name(value: &str) -> Option<&'static str> {
    let v = value.to_ascii_lowercase();
    if v.contains("coyote") {
        return None;
    }
    // Traffic Server's own Server header is "ATS/9.2.9".
    if v.starts_with("ats/") {
        return Some("trafficserver");
    }
    NAMES.iter().find(|(n, _)| v.contains(n)).map(|(_, f)| *f)
}

/// The family whose own error page this body is.
pub fn page_family(body: &[u8]) -> Option<&'static str> {
    static TEXTS: std::sync::LazyLock<Needles> =
        std::sync::LazyLock::new(|| Needles::new(PAGES.iter().map(|(t, _)| *t), false));
    let first = TEXTS.in_text(body).first()?;
    PAGES.get(first).map(|(_, f)| *f)
}

/// The family that wrote this answer or passed it on. `relayed_server` is the
/// `Server` of the backend's answer when the other leg is in the capture: a
/// proxy that passes the backend's `Server` through is not named by it.
pub fn family(
    resp: &ResponseHead,
    body: &[u8],
    relayed_server: Option<&[u8]>,
) -> Option<&'static str> {
    if let Some(f) = page_family(body) {
        return Some(f);
    }
    if let Some(f) = MARK_HEADERS
        .iter()
        .find(|(h, _)| resp.header(h).is_some())
        .map(|(_, f)| *f)
    {
        return Some(f);
    }
    let server = resp.header("server").map(|h| h.value);
    let own_server = server.filter(|s| Some(*s) != relayed_server);
    own_server
        .and_then(|s| by_name(&crate::text::lossy(s)))
        .or_else(|| named_in_via(resp))
}

/// The family a `Via` header names, on an answer or on a request upstream.
fn named_in_via(head: &impl Headers) -> Option<&'static str> {
    head.header_joined("via")
        .and_then(|v| by_name(&crate::text::lossy(&v)))
}

/// The family a proxy's request to its backend shows, from what it does by
/// default: Apache's mod_proxy sets X-Forwarded-Server, Traefik sets it with
/// X-Forwarded-Port, Envoy adds x-envoy-* headers, lighttpd X-Host, Squid
/// names itself in Via, and nginx alone speaks
/// HTTP/1.0 with `Connection: close` upstream unless told otherwise.
pub fn request_family(req: &crate::http::RequestHead) -> Option<&'static str> {
    if req.minor_version == 0
        && req
            .header_joined("connection")
            .is_some_and(|v| super::grammar::list_has(&v, "close", false))
        && req.header("sec-websocket-key").is_some()
    {
        return Some("nginx");
    }
    if req
        .headers
        .iter()
        .any(|h| h.name.to_ascii_lowercase().starts_with("x-envoy-"))
    {
        return Some("envoy");
    }
    if req.header("x-varnish").is_some() {
        return Some("varnish");
    }
    // lighttpd's mod_proxy alone still sends the legacy X-Host beside
    // X-Forwarded-Host.
    if req.header("x-host").is_some() {
        return Some("lighttpd");
    }
    // Squid (and Varnish) say who forwarded the request in Via.
    if let Some(f) = named_in_via(req) {
        return Some(f);
    }
    match (
        req.header("x-forwarded-server").is_some(),
        req.header("x-forwarded-port").is_some(),
    ) {
        (true, true) => Some("traefik"),
        (true, false) => Some("apache"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::test_heads;

    fn resp(headers: &[(&str, &str)]) -> ResponseHead {
        ResponseHead {
            minor_version: 1,
            status: 503,
            reason: "Service Unavailable".into(),
            headers: test_heads::headers(headers),
            head_len: 100,
        }
    }

    #[test]
    fn names_pages_and_marks() {
        let haproxy = b"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n";
        assert_eq!(family(&resp(&[]), haproxy, None), Some("haproxy"));
        assert_eq!(
            family(&resp(&[("Server", "Apache/2.4.71 (Debian)")]), b"", None),
            Some("apache")
        );
        assert_eq!(
            family(&resp(&[("Server", "Apache-Coyote/1.1")]), b"", None),
            None
        );
        assert_eq!(
            family(&resp(&[("Server", "awselb/2.0")]), b"", None),
            Some("aws-elb")
        );
        assert_eq!(
            family(&resp(&[("CF-RAY", "8a1b2c3d-AMS")]), b"", None),
            Some("cloudflare")
        );
        assert_eq!(
            family(&resp(&[("Via", "1.1 Caddy")]), b"", None),
            Some("caddy")
        );
        assert_eq!(
            family(&resp(&[]), b"no healthy upstream", None),
            Some("envoy")
        );
        assert_eq!(family(&resp(&[]), b"Service Unavailable", None), None);
        assert_eq!(
            family(&resp(&[("Via", "1.1 varnish (Varnish/7.1)")]), b"", None),
            Some("varnish")
        );
        assert_eq!(
            family(&resp(&[("X-Varnish", "32770")]), b"", None),
            Some("varnish")
        );
        let guru = b"<h1>Error 503 Backend fetch failed</h1>\n<h3>Guru Meditation:</h3>";
        assert_eq!(family(&resp(&[]), guru, None), Some("varnish"));
    }

    #[test]
    fn lighttpd_is_named_by_its_server_and_its_upstream_x_host() {
        let page = b"<title>503 Service Unavailable</title>";
        assert_eq!(
            family(&resp(&[("Server", "lighttpd/1.4.69")]), page, None),
            Some("lighttpd")
        );
        // mod_proxy's request to the backend, upgrade not enabled.
        let upstream = [
            ("Host", "127.0.0.1:18501"),
            ("Sec-WebSocket-Key", "0mIKpGg5BOKJ2oprZ8R0HA=="),
            ("X-Forwarded-For", "127.0.0.1"),
            ("X-Host", "127.0.0.1:18501"),
            ("X-Forwarded-Host", "127.0.0.1:18501"),
            ("Connection", "close"),
        ];
        let req = test_heads::request("GET", 1, &upstream);
        assert_eq!(request_family(&req), Some("lighttpd"));
        let without: Vec<_> = upstream
            .into_iter()
            .filter(|(n, _)| *n != "X-Host")
            .collect();
        assert_eq!(
            request_family(&test_heads::request("GET", 1, &without)),
            None
        );
    }

    #[test]
    fn squid_is_named_by_its_error_header_its_server_and_its_via_upstream() {
        assert_eq!(
            family(
                &resp(&[("X-Squid-Error", "ERR_CONNECT_FAIL 111")]),
                b"",
                None
            ),
            Some("squid")
        );
        assert_eq!(
            family(&resp(&[("Server", "squid/5.7")]), b"", None),
            Some("squid")
        );
        let upstream = [
            ("Host", "127.0.0.1:18416"),
            ("Sec-WebSocket-Key", "0mIKpGg5BOKJ2oprZ8R0HA=="),
            ("Via", "1.1 proxy.test (squid/5.7)"),
            ("X-Forwarded-For", "127.0.0.1"),
            ("Connection", "keep-alive"),
        ];
        let req = test_heads::request("GET", 1, &upstream);
        assert_eq!(request_family(&req), Some("squid"));
        let via_nobody = test_heads::request("GET", 1, &[("Via", "1.1 gateway.example")]);
        assert_eq!(request_family(&via_nobody), None);
    }

    #[test]
    fn traffic_server_is_not_apache_httpd() {
        let via = test_heads::request(
            "GET",
            1,
            &[("Via", "http/1.1 edge[0a000001] (ApacheTrafficServer/9.2.9)")],
        );
        assert_eq!(request_family(&via), Some("trafficserver"));
        let r = resp(&[("Server", "ATS/9.2.9")]);
        assert_eq!(
            family(&r, b"", Some(b"Python/3.11 websockets/10.4")),
            Some("trafficserver")
        );
        let page = b"<HTML>\n<HEAD>\n<TITLE>Not Found on Accelerator</TITLE>\n</HEAD>";
        assert_eq!(family(&resp(&[]), page, None), Some("trafficserver"));
        assert_eq!(
            family(&resp(&[("Server", "Apache/2.4.71 (Debian)")]), b"", None),
            Some("apache")
        );
        assert_eq!(family(&resp(&[("Server", "Beats/1.0")]), b"", None), None);
    }

    #[test]
    fn h2o_is_named_by_the_server_it_puts_on_every_answer() {
        // h2o writes its own Server over the backend's, relayed answers too.
        let r = resp(&[("Server", "h2o/2.2.5")]);
        assert_eq!(
            family(&r, b"", Some(b"Python/3.11 websockets/10.4")),
            Some("h2o")
        );
        assert_eq!(family(&r, b"connection failed", None), Some("h2o"));
    }

    #[test]
    fn nghttpx_is_named_by_its_server_its_via_and_its_pages() {
        // nghttpx too writes its own Server over the backend's, and adds
        // Via: 1.1 nghttpx both ways.
        let r = resp(&[("Server", "nghttpx")]);
        assert_eq!(
            family(&r, b"", Some(b"Python/3.11 websockets/12.0")),
            Some("nghttpx")
        );
        let page = b"<!DOCTYPE html><html lang=\"en\"><title>502 Bad Gateway</title>\
            <body><h1>502 Bad Gateway</h1><footer>nghttpx</footer></body></html>";
        assert_eq!(family(&resp(&[]), page, None), Some("nghttpx"));
        let up = test_heads::request("GET", 1, &[("Via", "1.1 nghttpx")]);
        assert_eq!(request_family(&up), Some("nghttpx"));
    }

    #[test]
    fn a_relayed_server_header_does_not_name_the_proxy() {
        let r = resp(&[("Server", "nginx/1.22.1")]);
        assert_eq!(family(&r, b"", Some(b"nginx/1.22.1")), None);
        assert_eq!(family(&r, b"", Some(b"Python/3.11")), Some("nginx"));
    }

    #[test]
    fn every_family_is_listed() {
        for (_, f) in NAMES.iter().chain(MARK_HEADERS).chain(PAGES) {
            assert!(FAMILIES.contains(f), "{f}");
        }
    }
}
