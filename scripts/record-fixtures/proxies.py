#!/usr/bin/env python3
"""Proxy scenarios for the fixture recorder: HAProxy, Apache httpd
(mod_proxy_http with upgrade=websocket, and mod_proxy_wstunnel), Caddy,
Varnish, lighttpd, h2o, Traffic Server, nghttpx, Node's http-proxy and nginx in front of the Python websockets and Node ws
servers.

Subcommands (as in driver.py, whose client code this reuses):
  list                      one line per fixture: NAME <tab> tcpdump filter
  ports                     the proxies' listening ports, one per line
  run NAME OBS.json         play the scenario, write what was sent and received
  label NAME OBS.json PCAP  print the ground-truth labels (JSON) for the capture
  versions                  proxy versions used (JSON)

Every label comes from the scenario table below: what the proxy was set up to
do (its configuration in haproxy.cfg, apache.conf, Caddyfile, varnish-pipe.vcl,
lighttpd.conf, h2o.conf, trafficserver-remap.config, record.sh's nghttpx
command lines, proxy_http_proxy.js, nginx.conf) and what the
client sent, never from an analyzer's output. The backend leg is found in the
capture by the request's Sec-WebSocket-Key.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402
import subcommands  # noqa: E402

BACKENDS = {
    "python-websockets": ("127.0.0.1", 18401),
    "node-ws": ("127.0.0.1", 18402),
    # nginx's TLS server (record.sh, nginx.conf), HTTP/1.1 only, in front of
    # python-websockets.
    "nginx-tls": ("127.0.0.1", 18414),
    # nginx listening with proxy_protocol (nginx.conf), in front of
    # python-websockets.
    "nginx-proxy-protocol": ("127.0.0.1", 18494),
    "tornado": ("127.0.0.1", 18496),
    "aiohttp": ("127.0.0.1", 18497),
    # websockify to a target nothing listens on (record.sh): it answers 101,
    # then closes with 1011 when its connect is refused.
    "websockify-down": ("127.0.0.1", 18594),
}
# What answers at a backend address that is not a WebSocket server itself.
BACKEND_IMPL = {"nginx-tls": "nginx", "nginx-proxy-protocol": "nginx", "websockify-down": "websockify"}
DOWN_PORT = 18409  # nothing listens there
TARPIT_PORT = 18408  # drops SYNs (server_tarpit.py)

# Client kinds beyond driver.KINDS: kind -> changes to the base request.
KINDS = {
    "ok": {},
    "foreign-origin": {"set": {"Origin": driver.ORIGIN_BAD}},
    "admin-path": {"path": "/admin/ws"},
    "big-cookie": {"add": [("Cookie", "session=" + "a" * 20000)]},
    # A page served by the proxy opens a socket to the proxy: Origin is the
    # proxy's own scheme://host:port, the path a same-origin endpoint.
    "same-origin": {"path": "/same-origin", "origin": "self"},
    # A valid handshake sent straight to the backend, not through the proxy
    # (a health check, a client with the backend's address).
    "direct": {},
}

# Expected verdicts, from the set-up: the client kinds sent (one connection
# each; every one before the last is a valid handshake the proxy lets
# through, shown first so that a refusal can be compared with it), then
# (cause, header) of the last attempt's client leg, and its backend leg's, or
# None when the proxy does not reach a backend over HTTP/1 (it refuses on its
# own, the backend is down, or it speaks HTTP/2).
OK = ("ok", None)
STRIPPED_UPGRADE = ("proxy-stripped-upgrade", "Upgrade")
SETUPS = {
    "good": (["ok"], OK, OK),
    "stripped": (["ok"], STRIPPED_UPGRADE, STRIPPED_UPGRADE),
    "stripped-case": (["ok"], STRIPPED_UPGRADE, STRIPPED_UPGRADE),
    "backend-down": (["ok"], ("backend-unreachable", None), None),
    "backend-timeout": (["ok"], ("backend-unreachable", None), None),
    "ws-not-mapped": (["ok"], ("path-not-found", None), None),
    "acl-origin": (["ok", "foreign-origin"], ("origin-rejected", "Origin"), None),
    "acl-path": (["ok", "admin-path"], ("proxy-refused", None), None),
    "big-cookie": (["big-cookie"], ("header-too-large", "Cookie"), None),
    "auth": (["ok"], ("unauthorized", "Authorization"), None),
    "host-rewritten": (["same-origin"], ("host-rewritten", "Host"), ("host-rewritten", "Host")),
    "path-rewritten": (["ok"], ("path-rewritten", None), ("path-rewritten", None)),
    "not-upgraded": (["ok"], ("not-upgraded", None), None),
    "backend-h2": (["ok"], ("backend-is-http2", None), None),
    "backend-h2-tls": (["ok"], ("backend-is-http2", None), None),
    "proxy-protocol": (["ok"], ("unexpected-proxy-protocol", None), ("unexpected-proxy-protocol", None)),
    "proxy-protocol-v2": (["ok"], ("unexpected-proxy-protocol", None), ("unexpected-proxy-protocol", None)),
    "proxy-protocol-tornado": (["ok"], ("unexpected-proxy-protocol", None), ("unexpected-proxy-protocol", None)),
    "proxy-protocol-v2-aiohttp": (["ok"], ("unexpected-proxy-protocol", None), ("unexpected-proxy-protocol", None)),
    # The last attempt bypasses the proxy: the backend's own verdict, no
    # backend leg.
    "proxy-protocol-expected": (["ok", "direct"], ("missing-proxy-protocol", None), None),
    # The proxy forwards the upgrade as a plain request: the backend accepts
    # it and its 101 never reaches the client, who gives up waiting.
    "no-upgrade-handler": (["ok"], ("proxy-stripped-upgrade", None), OK),
    # HAProxy in TCP mode: bytes passed through, or the client's connection
    # closed unanswered when the backend refuses.
    "tcp-good": (["ok"], OK, OK),
    "tcp-backend-down": (["ok"], ("backend-unreachable", None), None),
    # A WebSocket-to-TCP gateway behind the proxy answers 101 and then
    # cannot reach its own target: both legs, though the client got 101.
    "gateway-target-down": (["ok"], ("backend-unreachable", None), ("backend-unreachable", None)),
}
# Set-ups whose last attempt is refused after a 101.
REFUSED_AFTER_101 = {"gateway-target-down"}

# proxy fixture prefix -> (implementation, {setup: (port, backend, what the configuration does)})
PROXIES = {
    "haproxy": ("haproxy", {
        "good": (18420, "node-ws", "default_backend; HAProxy forwards the upgrade by itself"),
        "stripped": (18421, "node-ws", "http-request del-header Upgrade"),
        "backend-down": (18422, None, "the backend's only server refuses connections"),
        "acl-origin": (18423, "node-ws", "http-request deny unless Origin is http://app.test"),
        "acl-path": (18424, "node-ws", "http-request deny if path_beg /admin"),
        "big-cookie": (18425, "node-ws", "default tune.bufsize 16384 against a 20 KB Cookie"),
        "auth": (18426, "node-ws", "http-request auth unless http_auth(fixture_users)"),
        "host-rewritten": (18427, "node-ws", "http-request set-header Host backend.internal:18402; backend checks Origin against Host"),
        "path-rewritten": (18428, "node-ws", "http-request set-path /api%[path]"),
        "not-upgraded": (18429, "node-ws", "http-request redirect scheme https (302)"),
        "backend-h2": (18430, "python-websockets", "server ... proto h2 to an HTTP/1.1-only backend"),
        "backend-h2-tls": (18487, "nginx-tls", "server ... ssl alpn h2 proto h2 to a TLS backend that speaks HTTP/1.1 only"),
        "proxy-protocol": (18492, "node-ws", "server ... send-proxy (PROXY protocol v1) to a backend not set up for it"),
        "proxy-protocol-v2": (18493, "python-websockets", "server ... send-proxy-v2 (PROXY protocol v2) to a backend not set up for it"),
        "proxy-protocol-tornado": (18498, "tornado", "server ... send-proxy (PROXY protocol v1) to Tornado, not set up for it"),
        "proxy-protocol-v2-aiohttp": (18499, "aiohttp", "server ... send-proxy-v2 (PROXY protocol v2) to aiohttp, not set up for it"),
        "tcp-good": (18561, "node-ws", "mode tcp: the bytes passed through, the upgrade with them"),
        "tcp-backend-down": (18562, None, "mode tcp to a port nothing listens on: the client's connection closed unanswered after the connect and its retry were refused"),
        "proxy-protocol-expected": (18495, "nginx-proxy-protocol", "server ... send-proxy to nginx listening with proxy_protocol; then a client connects to nginx directly, without the header"),
    }),
    "apache-proxy-http": ("apache", {
        "good": (18431, "python-websockets", "ProxyPass / http://backend/ upgrade=websocket"),
        "stripped": (18432, "python-websockets", "ProxyPass / http://backend/ without upgrade=websocket"),
        "backend-down": (18433, None, "ProxyPass to a port nothing listens on"),
        "acl-origin": (18434, "python-websockets", "Require expr Origin == 'http://app.test'"),
        "acl-path": (18435, "python-websockets", "<Location /admin> Require all denied"),
        "big-cookie": (18436, "python-websockets", "default LimitRequestFieldSize 8190 against a 20 KB Cookie"),
        "auth": (18437, "python-websockets", "AuthType Basic, Require valid-user"),
        "host-rewritten": (18438, "node-ws", "ProxyPreserveHost Off (the default); backend checks Origin against Host"),
        "path-rewritten": (18439, "python-websockets", "ProxyPass / http://backend/v2/ upgrade=websocket"),
        "not-upgraded": (18440, None, "only /api/ is proxied; /ws is a file in the document root (200)"),
        "backend-h2": (18441, "python-websockets", "ProxyPass / h2c://backend/ (mod_proxy_http2)"),
    }),
    "apache-wstunnel": ("apache", {
        "good": (18442, "node-ws", "ProxyPass / ws://backend/ (mod_proxy_wstunnel, no fallback)"),
        "stripped": (18443, "node-ws", "ProxyPass / http://backend/ listed before ProxyPass /ws ws://backend/ws: the http mapping wins"),
        "backend-down": (18444, None, "ProxyPass / ws:// to a port nothing listens on"),
    }),
    "varnish": ("varnish", {
        "good": (18473, "python-websockets", "varnish-pipe.vcl: return (pipe) for upgrades, Upgrade and Connection copied in vcl_pipe"),
        "stripped": (18472, "python-websockets", "varnishd -b with the built-in VCL: Upgrade and Connection dropped from the backend request"),
        "backend-down": (18488, None, "varnishd -b to a port nothing listens on: Varnish's 503 Guru Meditation"),
    }),
    "caddy": ("caddy", {
        "good": (18461, "python-websockets", "reverse_proxy; Caddy forwards the upgrade by itself"),
        "stripped": (18462, "python-websockets", "reverse_proxy { header_up -Upgrade }"),
        "backend-down": (18463, None, "reverse_proxy to a port nothing listens on"),
        "acl-origin": (18464, "python-websockets", "respond 403 unless Origin is http://app.test"),
        "acl-path": (18465, "python-websockets", "respond /admin* 403"),
        "big-cookie": (18466, "python-websockets", "servers { max_header_size 8KB } against a 20 KB Cookie"),
        "auth": (18467, "python-websockets", "basicauth"),
        "host-rewritten": (18471, "node-ws", "header_up Host {upstream_hostport}; backend checks Origin against Host"),
        "path-rewritten": (18468, "python-websockets", "handle_path /ws* strips the prefix: the backend gets /"),
        "not-upgraded": (18469, None, "redir https://{host}{uri} 308"),
        "backend-h2": (18470, "python-websockets", "reverse_proxy h2c://backend"),
    }),
    "lighttpd": ("lighttpd", {
        "good": (18500, "python-websockets", "mod_proxy with proxy.header = (\"upgrade\" => \"enable\")"),
        "stripped": (18501, "python-websockets", "mod_proxy without \"upgrade\": HTTP/1.0 to the backend, Upgrade dropped"),
        "backend-down": (18502, None, "proxy.server to a port nothing listens on"),
        "acl-path": (18503, "python-websockets", "$HTTP[\"url\"] =~ \"^/admin\" { url.access-deny = (\"\") }"),
        "big-cookie": (18504, "python-websockets", "default server.max-request-field-size 8192 against a 20 KB Cookie"),
        "auth": (18505, "python-websockets", "auth.require basic, valid-user"),
        "not-upgraded": (18506, None, "url.redirect to https (301)"),
        "path-rewritten": (18507, "python-websockets", "proxy.header map-urlpath / => /v2/"),
        "host-rewritten": (18508, "node-ws", "proxy.header map-host-request - => backend.internal:18402; backend checks Origin against Host"),
    }),
    # h2o 2.2 (record.sh starts one process per scenario from h2o.conf).
    "h2o": ("h2o", {
        "good": (18531, "python-websockets", "proxy.reverse.url with proxy.websocket: ON"),
        "stripped": (18532, "python-websockets", "proxy.reverse.url without proxy.websocket (OFF by default): Upgrade and Connection dropped"),
        "backend-down": (18533, None, "proxy.reverse.url to a port nothing listens on: h2o's 502"),
        "host-rewritten": (18534, "node-ws", "no proxy.preserve-host: h2o sends the backend's address as Host; backend checks Origin against Host"),
    }),
    # Apache Traffic Server 9.2 (record.sh runs it from a runroot of its own
    # with trafficserver-remap.config).
    "trafficserver": ("trafficserver", {
        "good": (18540, "python-websockets", "remap.config: map ws://127.0.0.1:18540/ ws://backend/"),
        "ws-not-mapped": (18541, None, "remap.config maps http:// only, which an upgrade never matches: Traffic Server's own 404 Not Found on Accelerator"),
        "backend-down": (18542, None, "map ws:// to a port nothing listens on"),
    }),
    # nghttpx 1.52 (record.sh starts one process per scenario, configured on
    # its command line).
    "nghttpx": ("nghttpx", {
        "good": (18543, "python-websockets", "--backend=127.0.0.1,18401: nghttpx forwards the upgrade by itself"),
        "backend-down": (18544, None, "--backend to a port nothing listens on: nghttpx's own 502 page"),
        "backend-h2": (18545, "python-websockets", "--backend=127.0.0.1,18401;;proto=h2 to an HTTP/1.1-only backend"),
        "host-rewritten": (18546, "node-ws", "--host-rewrite: nghttpx sends the backend's address as Host; backend checks Origin against Host"),
    }),
    # Node's http-proxy 1.18 (proxy_http_proxy.js; record.sh starts one
    # process per scenario).
    "node-http-proxy": ("node-http-proxy", {
        "good": (18547, "python-websockets", "ws: true and server.on('upgrade') handed to proxy.ws()"),
        "backend-down": (18548, None, "ws: true to a port nothing listens on: http-proxy drops the client's connection without an answer"),
        "no-upgrade-handler": (18549, "python-websockets", "only the request handler (no 'upgrade' listener): the upgrade goes on as a plain request and the backend's 101 is never relayed"),
    }),
    # Squid 5.7 as a reverse proxy (accel, squid.conf; the same instance is
    # the browsers' forward proxy in clients.py's squid-connect fixtures).
    "squid": ("squid", {
        "good": (18417, "python-websockets", "http_port ... accel; http_upgrade_request_protocols websocket allow (this port)"),
        "stripped": (18416, "python-websockets", "http_port ... accel without http_upgrade_request_protocols: Squid drops Upgrade"),
        "stripped-case": (18419, "python-websockets", "http_upgrade_request_protocols WebSocket allow (this port): Squid compares the name case-sensitively, and the client sends 'websocket'"),
        "backend-down": (18418, None, "cache_peer to a port nothing listens on: Squid's ERR_CONNECT_FAIL page"),
    }),
    # nginx's good and stripped set-ups are driver.py's nginx-* fixtures.
    "nginx": ("nginx", {
        "backend-down": (18480, None, "proxy_pass to a port nothing listens on"),
        "backend-timeout": (18489, None, "proxy_pass to an address that drops SYNs (server_tarpit.py), proxy_connect_timeout 1500ms"),
        "acl-origin": (18481, "python-websockets", "if ($http_origin != \"http://app.test\") { return 403; }"),
        "acl-path": (18482, "python-websockets", "location /admin { deny all; }"),
        "big-cookie": (18483, "python-websockets", "default large_client_header_buffers 4 8k against a 20 KB Cookie"),
        "host-rewritten": (18484, "node-ws", "no proxy_set_header Host: nginx sends $proxy_host; backend checks Origin against Host"),
        "path-rewritten": (18485, "python-websockets", "proxy_pass http://backend/v1/ (a URI part replaces the location prefix)"),
        "not-upgraded": (18486, None, "return 301 https://$host$request_uri"),
        "gateway-target-down": (18597, "websockify-down", "proxy_pass with the upgrade lines to websockify, whose target has no listener: websockify answers 101 (nginx relays it), its connect is refused, and it closes with 1011"),
    }),
}


def fixtures():
    """Ordered list of (name, proxy, setup)."""
    out = []
    for proxy, (_, setups) in PROXIES.items():
        for setup, (_, backend, _) in setups.items():
            suffix = backend or {"backend-down": "nothing", "tcp-backend-down": "nothing", "backend-timeout": "drops-syn"}.get(setup, "none")
            out.append((f"{proxy}-{setup}__{suffix}", proxy, setup))
    return out


def fixture(name):
    for f in fixtures():
        if f[0] == name:
            return f
    sys.exit(f"unknown proxy fixture {name}")


def build(port, kind):
    ch = dict(KINDS[kind])
    host = f"127.0.0.1:{port}"
    if ch.pop("origin", None) == "self":
        ch.setdefault("set", {})["Origin"] = f"http://{host}"
    driver.EXTRA_KINDS["_proxy"] = ("ok", ch)
    req = driver.build_request("127.0.0.1", port, "_proxy")
    req["kind"] = kind
    return req


def run(name):
    _, proxy, setup = fixture(name)
    port = PROXIES[proxy][1][setup][0]
    backend = PROXIES[proxy][1][setup][1]
    out = []
    for kind in SETUPS[setup][0]:
        ip, to = BACKENDS[backend] if kind == "direct" else ("127.0.0.1", port)
        out += driver.one_shot(ip, to, build(to, kind))
    return out


PROXY_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def after_proxy_header(data):
    """The bytes after a PROXY protocol header the proxy was set up to send
    (haproxy.cfg's send-proxy and send-proxy-v2), or all of them."""
    if data.startswith(b"PROXY "):
        end = data.find(b"\r\n")
        return data[end + 2:] if end >= 0 else data
    if data.startswith(PROXY_V2_SIGNATURE) and len(data) >= 16:
        return data[16 + int.from_bytes(data[14:16], "big"):]
    return data


def find_backend_leg(streams, backend, key):
    """The proxy -> backend connection carrying this key, as (conn, line, headers, status, status line, body)."""
    ip, port = BACKENDS[backend]
    hits = []
    for (src, sport, dst, dport), data in streams.items():
        if (dst, dport) != (ip, port):
            continue
        parsed = driver.parse_head(after_proxy_header(data))
        if not parsed:
            continue
        line, hdrs, _ = parsed
        if driver.header_value(hdrs, "Sec-WebSocket-Key") != key:
            continue
        back = driver.parse_head(streams.get((dst, dport, src, sport), b""))
        status, status_line, body = None, None, None
        if back:
            status_line, rhdrs, rest = back
            m = re.match(r"HTTP/\d\.\d (\d{3})", status_line)
            status = int(m.group(1)) if m else None
            n = driver.header_value(rhdrs, "Content-Length")
            body = "" if status == 101 else rest[:int(n) if n else len(rest)].decode("utf-8", "replace")
        hits.append(((src, sport, dst, dport), line, hdrs, status, status_line, body))
    return hits


def versions():
    v = {}
    for prog, args, pat in (("haproxy", ["haproxy", "-v"], r"version (\S+)"),
                            ("apache", ["apache2", "-v"], r"Apache/(\S+)"),
                            ("caddy", ["caddy", "version"], r"v?(\S+)"),
                            ("varnish", ["varnishd", "-V"], r"varnish-([\d.]+)"),
                            ("lighttpd", ["lighttpd", "-v"], r"lighttpd/(\S+)"),
                            ("squid", ["squid", "-v"], r"Version (\S+)"),
                            ("h2o", ["h2o", "--version"], r"h2o version (\S+)"),
                            ("trafficserver", ["traffic_server", "--version"], r"Traffic Server (\S+)"),
                            ("nghttpx", ["nghttpx", "--version"], r"nghttp2/(\S+)"),
                            ("node-http-proxy", ["node", "-p", "require('http-proxy/package.json').version"],
                             r"(\S+)")):
        try:
            r = subprocess.run(args, capture_output=True, text=True, timeout=5,
                               cwd=os.path.dirname(os.path.abspath(__file__)))
            out = r.stdout + r.stderr
            m = re.search(pat, out)
            v[prog] = m.group(1) if m else "unknown"
        except (OSError, subprocess.SubprocessError):
            v[prog] = "unknown"
    return v


def backend_impl(backend, vers):
    impl = BACKEND_IMPL.get(backend, backend)
    return f"{impl}-{vers.get(impl, 'unknown')}"


def label(name, obs_path, pcap_path):
    _, proxy, setup = fixture(name)
    impl, setups = PROXIES[proxy]
    port, backend, what = setups[setup]
    _, last_client, last_backend = SETUPS[setup]
    with open(obs_path) as f:
        exchanges = json.load(f)
    vers = {**driver.versions(), **versions()}
    streams = driver.tcp_streams(pcap_path)
    labels = []
    for n, ex in enumerate(exchanges):
        last = n == len(exchanges) - 1
        client_verdict = last_client if last else OK
        backend_verdict = last_backend if last else OK
        cause, header = client_verdict
        after_101 = last and setup in REFUSED_AFTER_101
        if after_101 and ex["status"] != 101:
            sys.exit(f"{name}: the set-up should answer 101 first, but the client got {ex['status']}")
        if ex["status"] == 101 and cause != "ok" and not after_101:
            sys.exit(f"{name}: the set-up should refuse, but the client got 101")
        if ex["status"] != 101 and cause == "ok":
            sys.exit(f"{name}: the set-up should accept, but the client got {ex['status']}")
        direct = ex["kind"] == "direct"
        server_ip, server_port = BACKENDS[backend] if direct else ("127.0.0.1", port)
        lab = {
            "client_ip": ex["client_ip"], "client_port": ex["client_port"],
            "server_ip": server_ip, "server_port": server_port,
            "leg": "client", "request_method": ex["method"], "request_path": ex["path"],
            "status": ex["status"], "cause": cause, "header": header,
            "server_impl": backend_impl(backend, vers) if direct else f"{impl}-{vers.get(impl, 'unknown')}",
            "response_body_excerpt": "" if ex["status"] == 101 else driver.excerpt(ex["body"]),
            "scenario": f"{proxy}-{setup}" + ("" if last else "-accepted-first"), "request_defect": "ok" if ex["kind"] == "ok" else ex["kind"],
            "request_index": ex["request_index"], "response_status_line": ex["status_line"],
            "proxy": impl,
            "note": f"{impl} ({proxy}): {what}"
                    + (f"; backend {backend} at {BACKENDS[backend][0]}:{BACKENDS[backend][1]}" if backend else ""),
        }
        location = driver.header_value(ex["response_headers"], "Location")
        if location:
            lab["response_location"] = location
        if ex["ws_replies"] is not None:
            lab["ws_replies"] = ex["ws_replies"]
        labels.append(lab)
        key = driver.header_value(ex["headers"], "Sec-WebSocket-Key")
        hits = find_backend_leg(streams, backend, key) if backend and not direct else []
        if backend_verdict is None:
            if hits:
                sys.exit(f"{name}: the set-up should not reach the backend over HTTP/1, but it did")
            continue
        if len(hits) != 1:
            sys.exit(f"{name}: expected one backend leg, found {len(hits)}")
        (src, sport, dst, dport), line, hdrs, status, status_line, body = hits[0]
        b = dict(lab)
        b.update({
            "client_ip": src, "client_port": sport, "server_ip": dst, "server_port": dport,
            "leg": "backend", "status": status, "response_status_line": status_line,
            "server_impl": backend_impl(backend, vers),
            "response_body_excerpt": driver.excerpt(body),
            "cause": backend_verdict[0], "header": backend_verdict[1],
            "request_path": line.split(" ")[1] if len(line.split(" ")) > 1 else "",
            "note": (f"backend leg found in the capture by its key; request line '{line}', "
                     f"Host={driver.header_value(hdrs, 'Host')!r}, "
                     f"Upgrade={driver.header_value(hdrs, 'Upgrade')!r}, "
                     f"Connection={driver.header_value(hdrs, 'Connection')!r}"),
        })
        b.pop("ws_replies", None)
        b.pop("response_location", None)
        labels.append(b)
    return labels


def list_fixtures():
    for name, proxy, setup in fixtures():
        port, backend, _ = PROXIES[proxy][1][setup]
        down = TARPIT_PORT if setup == "backend-timeout" else DOWN_PORT
        ports = [port, BACKENDS[backend][1] if backend else down]
        if setup in REFUSED_AFTER_101:
            ports.append(DOWN_PORT)  # the gateway's own connect
        print(name + "\t" + " or ".join(f"tcp port {p}" for p in ports))


def list_ports():
    for _, setups in PROXIES.values():
        for port, _, _ in setups.values():
            print(port)


def main(argv):
    return subcommands.main(argv, __doc__, {
        "list": list_fixtures,
        "ports": list_ports,
        "run": lambda name, obs_path: subcommands.write_json(obs_path, run(name)),
        **subcommands.recorder_commands(label, versions),
    })

if __name__ == "__main__":
    sys.exit(main(sys.argv))
