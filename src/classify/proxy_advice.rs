//! Advice in the configuration language of the proxy the capture shows. A
//! cause that lives in a proxy's configuration has one line per family;
//! `None` means no family-specific line, and the generic advice applies (so a
//! HAProxy is never told about nginx directives).

use super::Cause;

/// The nginx lines that make a proxy forward the upgrade.
pub const NGINX_LINES: &str = "proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\";";

/// One line of advice for `cause` behind the proxy `family`.
pub fn fix(cause: Cause, family: &str) -> Option<&'static str> {
    use Cause::*;
    Some(match (cause, family) {
        (ProxyStrippedUpgrade, "nginx") => "in nginx's location for this path: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\";",
        (ProxyStrippedUpgrade, "ingress-nginx") => "ingress-nginx forwards upgrades by itself: remove configuration-snippet or server-snippet annotations that set Upgrade, Connection or proxy_http_version",
        (ProxyStrippedUpgrade, "haproxy") => "HAProxy forwards the upgrade by itself in mode http: remove the http-request del-header/set-header rules that touch Upgrade or Connection",
        (ProxyStrippedUpgrade, "apache") => "Apache: add upgrade=websocket to this path's ProxyPass (ProxyPass /ws http://backend/ws upgrade=websocket), or map it with ws:// (mod_proxy_wstunnel) before any broader http:// ProxyPass",
        (ProxyStrippedUpgrade, "caddy") => "Caddy's reverse_proxy forwards the upgrade by itself: remove header_up lines that delete or set Upgrade or Connection",
        (ProxyStrippedUpgrade, "h2o") => "h2o forwards an upgrade only when told: add proxy.websocket: ON beside proxy.reverse.url for this path (h2o 2.x, which offers WebSockets over HTTP/1.1 only)",
        (ProxyStrippedUpgrade, "envoy") => "Envoy: add upgrade_configs: [{upgrade_type: websocket}] to the HttpConnectionManager (or the route)",
        (ProxyStrippedUpgrade, "traefik") => "Traefik forwards upgrades by itself: remove headers middlewares that delete or set Upgrade or Connection",
        (ProxyStrippedUpgrade, "aws-elb") => "put an Application Load Balancer (HTTP/HTTPS listener) or a TCP listener in front: a Classic Load Balancer HTTP listener does not pass the upgrade",
        (ProxyStrippedUpgrade, "varnish") => "Varnish drops Upgrade and Connection unless the request is piped: in vcl_recv, if (req.http.upgrade ~ \"(?i)websocket\") { return (pipe); }, and in vcl_pipe, if (req.http.upgrade) { set bereq.http.upgrade = req.http.upgrade; set bereq.http.connection = req.http.connection; }",
        (ProxyStrippedUpgrade, "cloudflare") => "Cloudflare: turn WebSockets on in the zone's Network settings, and check Transform Rules that touch Upgrade or Connection",
        (ProxyStrippedUpgrade, "lighttpd") => "lighttpd's mod_proxy forwards an upgrade only when told: add proxy.header = (\"upgrade\" => \"enable\") where proxy.server is set for this path (lighttpd 1.4.46 or later), or serve it with mod_wstunnel",
        (ProxyStrippedUpgrade, "squid") => "Squid drops Upgrade unless allowed by the name clients send, compared case-sensitively: http_upgrade_request_protocols websocket allow all (Squid 5 or later; \"WebSocket\" does not match browsers' \"websocket\"; older Squids cannot forward an upgrade)",

        (IdleTimeout, "nginx") => "nginx closes a WebSocket after proxy_read_timeout without a frame from the backend (60 s by default): raise proxy_read_timeout and proxy_send_timeout in this location, or ping more often",
        (IdleTimeout, "ingress-nginx") => "set the annotations nginx.ingress.kubernetes.io/proxy-read-timeout and proxy-send-timeout (seconds; 60 by default) on this Ingress, or ping more often",
        (IdleTimeout, "haproxy") => "HAProxy closes an idle tunnel after timeout tunnel (or timeout client/server when no tunnel timeout is set): set timeout tunnel 1h in the backend, or ping more often",
        (IdleTimeout, "apache") => "mod_proxy closes an idle tunnel after ProxyTimeout (or Timeout, 60 s by default): set timeout= on this ProxyPass or ProxyWebsocketIdleTimeout, or ping more often",
        (IdleTimeout, "caddy") => "check reverse_proxy's transport read_timeout/write_timeout and any stream_timeout set for this route; Caddy sets none by default, so look for a proxy or balancer in front of it",
        (IdleTimeout, "envoy") => "Envoy closes idle streams after the route's idle_timeout or the HttpConnectionManager's stream_idle_timeout (5 min): raise them for the WebSocket route, or ping more often",
        (IdleTimeout, "traefik") => "check the entryPoint's respondingTimeouts (readTimeout, idleTimeout) and the serversTransport's forwardingTimeouts for this route, or ping more often",
        (IdleTimeout, "aws-elb") => "raise the load balancer's idle timeout (idle_timeout.timeout_seconds, 60 s by default), or ping more often than it",
        (IdleTimeout, "varnish") => "Varnish closes a piped connection idle for pipe_timeout (60 s by default): raise it (varnishd -p pipe_timeout=3600, or param.set), or ping more often",
        (IdleTimeout, "cloudflare") => "Cloudflare closes WebSockets idle for 100 s and the limit cannot be raised on most plans: ping every 30-60 s",
        (IdleTimeout, "lighttpd") => "lighttpd closes a connection idle for server.max-read-idle or server.max-write-idle (60 and 360 s by default): raise them for this host, set wstunnel.ping-interval with mod_wstunnel, or ping more often",

        (BackendUnreachable, "nginx") => "nginx could not reach the upstream: check the proxy_pass/upstream address and that the backend listens there (error.log names the upstream and the connect error)",
        (BackendUnreachable, "ingress-nginx") => "the ingress found no reachable endpoint: check the Service's endpoints (kubectl get endpoints) and its targetPort",
        (BackendUnreachable, "haproxy") => "HAProxy found no usable server: check the backend's server address and port and its health checks (show stat on the stats socket)",
        (BackendUnreachable, "apache") => "mod_proxy could not connect: check the ProxyPass URL and that the backend listens there (error_log: AH00957); a failed worker stays out for retry= seconds (60 by default)",
        (BackendUnreachable, "caddy") => "Caddy could not dial the upstream: check the reverse_proxy address and that the backend listens there (Caddy's log names the dial error)",
        (BackendUnreachable, "envoy") => "Envoy had no healthy upstream: check the cluster's endpoints and health checks (admin /clusters)",
        (BackendUnreachable, "traefik") => "Traefik could not reach the service: check its loadBalancer servers URL and that the backend listens there",
        (BackendUnreachable, "aws-elb") => "the load balancer has no healthy target: check the target group's health and the security groups between it and the targets",
        (BackendUnreachable, "varnish") => "Varnish could not fetch from the backend (its 503 'Guru Meditation'): check the backend's .host and .port and its probe in the VCL; varnishlog -g request names the FetchError",
        (BackendUnreachable, "cloudflare") => "Cloudflare could not reach the origin: check that the origin listens on the port Cloudflare connects to and accepts Cloudflare's addresses",
        (BackendUnreachable, "lighttpd") => "lighttpd could not connect to proxy.server's host and port (its 503): check that the backend listens there; lighttpd's error log names the connect error",
        (BackendUnreachable, "trafficserver") => "Traffic Server could not connect to the remap rule's target (its \"Could Not Connect\" page): check the host and port in remap.config and that the backend listens there",
        (BackendUnreachable, "h2o") => "h2o could not connect to proxy.reverse.url's host and port (its 502 \"connection failed\"): check that the backend listens there",
        (BackendUnreachable, "nghttpx") => "nghttpx could not connect to the --backend host and port (its own 502 page): check that the backend listens there; nghttpx keeps a backend it failed to reach out of use for a while, so later attempts fail without trying",
        (BackendUnreachable, "squid") => "Squid could not connect to the origin server (its ERR_CONNECT_FAIL page): check the cache_peer host and port and that the backend listens there; cache.log names the error",

        (ProxyRefused, "nginx") => "an nginx access rule refused it: check allow/deny, limit_except and return rules in the location for this path",
        (ProxyRefused, "ingress-nginx") => "check the ingress annotations that restrict access (whitelist-source-range, auth-url, configuration snippets)",
        (ProxyRefused, "haproxy") => "an HAProxy http-request deny rule matched: check the frontend's ACLs on path, method and source for this request",
        (ProxyRefused, "apache") => "an Apache Require rule denied it: check the Require directives and <Location> blocks that cover this path",
        (ProxyRefused, "caddy") => "a Caddy respond/abort matcher refused it: check the site's matchers for this path",
        (ProxyRefused, "envoy") => "Envoy refuses upgrades it is not told about: add upgrade_configs: [{upgrade_type: websocket}] to the HttpConnectionManager or route, and check RBAC filters",
        (ProxyRefused, "traefik") => "check the router's middlewares (ipAllowList, forwardAuth) for this path",
        (ProxyRefused, "aws-elb") => "check the listener rules (fixed-response actions) and AWS WAF rules for this path",
        (ProxyRefused, "varnish") => "a VCL rule answered it: check return (synth(...)) in vcl_recv for this path, method or client",
        (ProxyRefused, "cloudflare") => "check the zone's WAF and firewall rules, and that WebSockets are on in its Network settings",
        (ProxyRefused, "lighttpd") => "a lighttpd rule refused it: check url.access-deny and the $HTTP[\"url\"], $HTTP[\"remoteip\"] and $HTTP[\"request-method\"] conditions that cover this path",
        (ProxyRefused, "squid") => "a Squid http_access rule denied it (its ERR_ACCESS_DENIED page): check the http_access lines and ACLs that match this request",

        (HostRewritten, "nginx") => "pass the client's Host to the backend: proxy_set_header Host $host; (or add the public origin to the backend's allowed origins)",
        (HostRewritten, "ingress-nginx") => "remove the nginx.ingress.kubernetes.io/upstream-vhost annotation (or add the public origin to the backend's allowed origins)",
        (HostRewritten, "haproxy") => "remove the http-request set-header Host rule for this backend (HAProxy forwards Host unchanged), or add the public origin to the backend's allowed origins",
        (HostRewritten, "apache") => "ProxyPreserveHost On, so the backend sees the Host the browser used (or add the public origin to the backend's allowed origins)",
        (HostRewritten, "caddy") => "remove header_up Host (Caddy forwards the client's Host by default), or add the public origin to the backend's allowed origins",
        (HostRewritten, "envoy") => "do not rewrite Host on this route (host_rewrite_literal, auto_host_rewrite), or add the public origin to the backend's allowed origins",
        (HostRewritten, "varnish") => "do not set req.http.host or bereq.http.host in the VCL for this path, or add the public origin to the backend's allowed origins",
        (HostRewritten, "traefik") => "keep passHostHeader: true on the service (the default), or add the public origin to the backend's allowed origins",
        (HostRewritten, "nghttpx") => "drop --host-rewrite (nghttpx passes the client's Host through by default), or add the public origin to the backend's allowed origins",
        (HostRewritten, "h2o") => "add proxy.preserve-host: ON for this path (h2o sends the backend its own address as Host by default), or add the public origin to the backend's allowed origins",
        (HostRewritten, "lighttpd") => "remove map-host-request from proxy.header (lighttpd forwards the client's Host by default), or add the public origin to the backend's allowed origins",

        (PathRewritten, "nginx") => "check proxy_pass's URI part: with a path ('proxy_pass http://backend/;') nginx replaces the matched location prefix, without one it passes the path as sent",
        (PathRewritten, "ingress-nginx") => "check nginx.ingress.kubernetes.io/rewrite-target and the path pattern it captures",
        (PathRewritten, "haproxy") => "check the http-request set-path / replace-path / set-uri rules of this frontend",
        (PathRewritten, "apache") => "make the ProxyPass mapping land on the backend's endpoint: ProxyPass /prefix/ http://backend/path/ maps /prefix/x to /path/x",
        (PathRewritten, "caddy") => "check handle_path, uri strip_prefix and rewrite for this path: handle_path strips the prefix it matched",
        (PathRewritten, "envoy") => "check the route's prefix_rewrite or regex_rewrite",
        (PathRewritten, "traefik") => "check the StripPrefix, ReplacePath and AddPrefix middlewares on the router",
        (PathRewritten, "lighttpd") => "check proxy.header's map-urlpath and the url.rewrite rules that cover this path",

        (NotUpgraded, "nginx") => "nginx answered this path without proxying it (a page, return or rewrite): proxy_pass it with the upgrade lines, and connect with wss:// when it redirects to HTTPS",
        (NotUpgraded, "ingress-nginx") => "connect with wss:// (ssl-redirect sends plain HTTP to HTTPS), and check that the ingress routes this path to the WebSocket Service",
        (NotUpgraded, "haproxy") => "an HAProxy redirect rule or another backend answered: exempt the WebSocket path from it, and connect with wss:// when it redirects to HTTPS",
        (NotUpgraded, "apache") => "this path is not under a ProxyPass (a file or a Redirect answered): add ProxyPass for it with upgrade=websocket, and connect with wss:// when it redirects to HTTPS",
        (NotUpgraded, "caddy") => "Caddy answered without proxying (redir, file_server or respond): route this path to reverse_proxy, and connect with wss:// when it redirects to HTTPS",
        (NotUpgraded, "aws-elb") => "the listener redirects or answers itself: connect with wss:// to the HTTPS listener, and check its rules for this path",
        (NotUpgraded, "cloudflare") => "connect with wss:// (Always Use HTTPS redirects plain requests), and check Page and Redirect Rules for this path",
        (NotUpgraded, "lighttpd") => "lighttpd answered without proxying (url.redirect, a file or another handler): route this path to mod_proxy with proxy.header = (\"upgrade\" => \"enable\"), and connect with wss:// when it redirects to HTTPS",

        (UnexpectedProxyProtocol, "haproxy") => "remove send-proxy / send-proxy-v2 from this backend's server line, or enable the PROXY protocol on the server (nginx: listen ... proxy_protocol;)",
        (UnexpectedProxyProtocol, "nginx") => "remove proxy_protocol on; from this stream server block, or enable the PROXY protocol on the backend's listener",
        (UnexpectedProxyProtocol, "aws-elb") => "turn off proxy_protocol_v2 on the target group, or enable the PROXY protocol on the targets' listener (nginx: listen ... proxy_protocol;)",
        (MissingProxyProtocol, "nginx") => "this listen directive has proxy_protocol: reach it through the load balancer that sends the header, or add a listen without proxy_protocol (another port) for direct clients and health checks",
        (BackendIsHttp2, "haproxy") => "speak HTTP/1.1 to this backend: remove 'proto h2' from its server line (or offer alpn h2,http/1.1 on a TLS server)",
        (BackendIsHttp2, "apache") => "proxy the WebSocket path with http:// and upgrade=websocket (mod_proxy_http), not h2c:// or h2:// (mod_proxy_http2)",
        (BackendIsHttp2, "caddy") => "use an http:// upstream for the WebSocket route (or transport http { versions 1.1 }), not h2c://",
        (BackendIsHttp2, "envoy") => "remove http2_protocol_options from the WebSocket route's cluster (or use explicit_http_config with http_protocol_options)",
        (BackendIsHttp2, "nghttpx") => "remove ;proto=h2 from this --backend (nghttpx then speaks HTTP/1.1 and forwards the upgrade), or put a backend there that accepts HTTP/2 extended CONNECT",
        (BackendIsHttp2, "traefik") => "use an http:// server URL for this service, not h2c://",

        (PathNotFound, "trafficserver") => "if the answer is Traffic Server's \"Not Found on Accelerator\" page, no remap rule matched: it matches an upgrade only against ws:// (and wss://) rules, so add map ws://HOST/ ws://BACKEND/ to remap.config; otherwise the backend has nothing at this path",

        (HeaderTooLarge, "nginx") => "shrink the request head (usually cookies), or raise nginx's large_client_header_buffers (for example 4 32k)",
        (HeaderTooLarge, "ingress-nginx") => "shrink the request head (usually cookies), or raise large-client-header-buffers in the ingress-nginx ConfigMap",
        (HeaderTooLarge, "haproxy") => "shrink the request head (usually cookies), or raise HAProxy's tune.bufsize (16384 by default, which bounds the whole head)",
        (HeaderTooLarge, "apache") => "shrink the request head (usually cookies), or raise Apache's LimitRequestFieldSize (8190 bytes per header line by default)",
        (HeaderTooLarge, "caddy") => "shrink the request head (usually cookies), or raise Caddy's servers { max_header_size }",
        (HeaderTooLarge, "envoy") => "shrink the request head (usually cookies), or raise max_request_headers_kb on the HttpConnectionManager",
        (HeaderTooLarge, "cloudflare") => "shrink the request head (usually cookies): Cloudflare bounds request headers at 32 KB in all",
        (HeaderTooLarge, "lighttpd") => "shrink the request head (usually cookies), or raise lighttpd's server.max-request-field-size (8192 bytes by default, for the whole head)",
        (HeaderTooLarge, "squid") => "shrink the request head (usually cookies), or raise Squid's request_header_max_size (64 KB by default)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::proxy::FAMILIES;
    use super::*;

    const NGINX_WORDS: &[&str] = &[
        "proxy_set_header",
        "proxy_http_version",
        "proxy_pass",
        "large_client_header_buffers",
    ];

    #[test]
    fn no_family_is_told_another_familys_directives() {
        for c in Cause::ALL {
            for f in FAMILIES {
                let Some(text) = fix(*c, f) else { continue };
                if !f.contains("nginx") {
                    for w in NGINX_WORDS {
                        assert!(!text.contains(w), "{} for {f} names {w}", c.code());
                    }
                }
                if *f != "haproxy" {
                    assert!(!text.contains("http-request"), "{} for {f}", c.code());
                }
                if *f != "apache" {
                    assert!(!text.contains("ProxyPass"), "{} for {f}", c.code());
                }
            }
        }
    }

    /// Each family is told its own directive: Varnish to pipe the upgrade,
    /// lighttpd to enable it, Squid the protocol name browsers send, h2o its
    /// switches, Traffic Server its ws:// remap rules.
    #[test]
    fn each_family_is_told_its_own_directives() {
        use Cause::*;
        let cases: &[(Cause, &str, &[&str])] = &[
            (
                ProxyStrippedUpgrade,
                "varnish",
                &["return (pipe)", "vcl_pipe"],
            ),
            (
                ProxyStrippedUpgrade,
                "lighttpd",
                &["proxy.header", "upgrade"],
            ),
            (
                ProxyStrippedUpgrade,
                "squid",
                &["http_upgrade_request_protocols websocket allow"],
            ),
            (ProxyStrippedUpgrade, "h2o", &["proxy.websocket: ON"]),
            (HostRewritten, "h2o", &["proxy.preserve-host: ON"]),
            (HostRewritten, "nghttpx", &["--host-rewrite"]),
            (BackendIsHttp2, "nghttpx", &[";proto=h2"]),
            (BackendUnreachable, "nghttpx", &["--backend"]),
            (
                PathNotFound,
                "trafficserver",
                &["map ws://", "remap.config"],
            ),
        ];
        for (cause, family, words) in cases {
            let f = fix(*cause, family).unwrap_or("");
            for w in *words {
                assert!(f.contains(w), "{} for {family}: {f}", cause.code());
            }
        }
    }

    #[test]
    fn the_stripped_upgrade_lines_for_nginx() {
        let f = fix(Cause::ProxyStrippedUpgrade, "nginx").unwrap_or("");
        assert!(f.contains(NGINX_LINES), "{f}");
    }
}
