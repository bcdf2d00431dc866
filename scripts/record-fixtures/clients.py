"""Fixtures recorded with real clients and clusters (used by driver.py).

- Browsers: Debian's Chromium (headless) and Firefox ESR (headless) open
  `new WebSocket()` from a page this module serves on 127.0.0.1:18450 under the
  names app.test and evil.test (mapped to 127.0.0.1 inside the browser only).
- Socket.IO: two Node Socket.IO nodes (18451, 18452) behind nginx round-robin
  (18453) and nginx hash on the client address (18454); Engine.IO requests are
  written byte for byte, as a browser's engine.io-client sends them.
- Strict servers: a hand-written server that compares values and header names
  exactly (18459), nginx with a case-sensitive `if ($http_upgrade ...)` ACL
  (18457); Node ws with permessage-deflate and a pinned client window (18458).

Labels come from what each scenario sets up (the page's origin, the offered
subprotocols, the balancing, the header spelling) and from who answered in
the capture (which node issued an Engine.IO `sid`), never from wshs-sniff.
"""
import functools
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

PAGE_PORT = 18450
SIO_NODES = (18451, 18452)
SIO_ROUND_ROBIN = 18453
SIO_STICKY = 18454
PY_SIO_NODES = (18514, 18515)  # python-socketio on uvicorn (server_python_socketio.py)
PY_SIO_ROUND_ROBIN = 18516
PY_SIO_STICKY = 18517
PY_SIO_AIOHTTP = 18518  # one python-socketio node on aiohttp: its refusals keep their words
FLASK_SOCK_PORT = 18519
WEBSOCKETD_PORT = 18528
# websockify in front of a TCP echo service (18591): plain, by token (vm1's
# target is the echo service, vm2's 18409, where nothing listens), with
# Basic credentials, and to a target nothing listens on (record.sh)
WEBSOCKIFY_PORT = 18590
WEBSOCKIFY_TOKEN_PORT = 18592
WEBSOCKIFY_AUTH_PORT = 18593
WEBSOCKIFY_DOWN_PORT = 18594
NOTHING_LISTENS = 18409
FAYE_PORT = 18455
AUTOBAHN_PORT = 18456
STRICT_ACL = 18457
DEFLATE_PORT = 18458
STRICT_PORT = 18459
UVICORN_WSPROTO_PORT = 18474
UVICORN_WEBSOCKETS_PORT = 18475
UVICORN_SANSIO_PORT = 18509
AXUM_PORT = 18476
DAPHNE_PORT = 18477
GORILLA_PORT = 18478
XNET_PORT = 18448
TUNGSTENITE_PORT = 18449
ACTIX_PORT = 18510
WEBSOCKET_NODE_PORT = 18511
MOSQUITTO_PORT = 18512  # and its plain MQTT listener on 18513 (mosquitto.conf)
TOMCAT_PORT = 18479
HYPERCORN_PORT = 18445
WEBSOCKETS15_PORT = 18446
SQUID_PORT = 18447
WSS_PORT = 18524  # server_wss.js, TLS 1.3 with TLS_AES_128_GCM_SHA256 only (tls_fixtures.py)
PY_PORT = 18401
NODE_PORT = 18402
NGINX_STRIPPED = 18410
# Node's http-proxy with no upgrade handler, in front of python websockets
# (record.sh, proxy_http_proxy.js)
HTTP_PROXY_NO_UPGRADE = 18549
# the same with ws: true, to a port nothing listens on
HTTP_PROXY_BACKEND_DOWN = 18548
BROWSER_TIMEOUT = 20.0
BROWSER_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0.0.0 Safari/537.36")

# Servers recorded with the driver's standard kinds (driver.KINDS).
TARGETS = {
    "faye-websocket": {"ip": "127.0.0.1", "port": FAYE_PORT, "impl": "faye-websocket"},
    "autobahn": {"ip": "127.0.0.1", "port": AUTOBAHN_PORT, "impl": "autobahn"},
    # a bare ASGI app (server_uvicorn.py) on uvicorn's two WebSocket layers
    "uvicorn-wsproto": {"ip": "127.0.0.1", "port": UVICORN_WSPROTO_PORT, "impl": "uvicorn-wsproto"},
    "uvicorn-websockets": {"ip": "127.0.0.1", "port": UVICORN_WEBSOCKETS_PORT, "impl": "uvicorn-websockets"},
    # ... and its websockets-sansio layer (websockets 15, from .venv-ws15)
    "uvicorn-websockets-sansio": {"ip": "127.0.0.1", "port": UVICORN_SANSIO_PORT, "impl": "uvicorn-websockets-sansio"},
    # Rust: axum's WebSocketUpgrade (server_axum/)
    "axum": {"ip": "127.0.0.1", "port": AXUM_PORT, "impl": "axum"},
    # Django Channels on Daphne (server_daphne.py)
    "daphne": {"ip": "127.0.0.1", "port": DAPHNE_PORT, "impl": "daphne"},
    # Go: gorilla/websocket's Upgrader (server_gorilla/)
    "gorilla-websocket": {"ip": "127.0.0.1", "port": GORILLA_PORT, "impl": "gorilla-websocket"},
    # Rust: tokio-tungstenite's accept_hdr_async on a bare listener (server_tungstenite/)
    "tokio-tungstenite": {"ip": "127.0.0.1", "port": TUNGSTENITE_PORT, "impl": "tokio-tungstenite"},
    # Rust: actix-web with actix-ws (server_actix/)
    "actix-web": {"ip": "127.0.0.1", "port": ACTIX_PORT, "impl": "actix-web"},
    # Node: WebSocket-Node, the npm package `websocket` (server_websocket_node.js)
    "websocket-node": {"ip": "127.0.0.1", "port": WEBSOCKET_NODE_PORT, "impl": "websocket-node"},
    # Python: Flask-Sock (simple-websocket, wsproto) on Werkzeug (server_flask_sock.py)
    "flask-sock": {"ip": "127.0.0.1", "port": FLASK_SOCK_PORT, "impl": "flask-sock"},
    # Go: websocketd (Debian's, on gorilla/websocket) running cat, --origin=app.test
    "websocketd": {"ip": "127.0.0.1", "port": WEBSOCKETD_PORT, "impl": "websocketd"},
    # Python: websockify, noVNC's WebSocket-to-TCP proxy, to a TCP echo service
    "websockify": {"ip": "127.0.0.1", "port": WEBSOCKIFY_PORT, "impl": "websockify"},
    # C: Mosquitto's MQTT over WebSockets, on libwebsockets (mosquitto.conf)
    "mosquitto": {"ip": "127.0.0.1", "port": MOSQUITTO_PORT, "impl": "mosquitto"},
    # Go: golang.org/x/net/websocket's Server with Handshake functions (server_xnet/)
    "golang-x-net-websocket": {"ip": "127.0.0.1", "port": XNET_PORT, "impl": "golang-x-net-websocket"},
    # Java: Tomcat 10's JSR 356 implementation, the examples' echo endpoint (tomcat/)
    "tomcat": {"ip": "127.0.0.1", "port": TOMCAT_PORT, "impl": "tomcat"},
    # the same bare ASGI app on Hypercorn (HTTP/1.1, wsproto)
    "hypercorn": {"ip": "127.0.0.1", "port": HYPERCORN_PORT, "impl": "hypercorn"},
    # websockets 15's asyncio server, from a virtual environment of its own
    "python-websockets15": {"ip": "127.0.0.1", "port": WEBSOCKETS15_PORT, "impl": "python-websockets15"},
}

# Scenarios: name -> (ports to capture, description).
SCENARIOS = {
    "chromium__ok": ([NODE_PORT], "Chromium, page on http://app.test:18450, ws://127.0.0.1:18402/ws"),
    "chromium__origin-rejected": ([NODE_PORT], "Chromium, page on http://evil.test:18450 (not allowed), node ws /ws"),
    "chromium__subprotocol-rejected": ([NODE_PORT], "Chromium offers chat.v2 on node ws /chat, which requires chat.v1"),
    "chromium__subprotocol-not-selected": ([PY_PORT], "Chromium offers chat.v1 on python websockets /ws, which selects none"),
    "chromium__nginx-stripped": ([NGINX_STRIPPED, PY_PORT], "Chromium through nginx with a bare proxy_pass"),
    "chromium__http-proxy-backend-down": ([HTTP_PROXY_BACKEND_DOWN, 18409], "Chromium through Node's http-proxy (ws: true) to a port nothing listens on: the proxy drops the browser's connection"),
    "chromium__http-proxy-no-upgrade": ([HTTP_PROXY_NO_UPGRADE, PY_PORT], "Chromium through Node's http-proxy with no upgrade handler (proxy_http_proxy.js no-upgrade) to python websockets /ws; the page gives up on the handshake after 3 s"),
    "squid-connect__ok": ([SQUID_PORT, NODE_PORT], "Chromium through Squid as its HTTP proxy (a CONNECT tunnel), page on http://app.test:18450, ws://127.0.0.1:18402/ws"),
    "squid-connect__origin-rejected": ([SQUID_PORT, NODE_PORT], "Chromium through Squid (a CONNECT tunnel), page on http://evil.test:18450 (not allowed), node ws /ws"),
    "squid-connect__subprotocol-rejected": ([SQUID_PORT, NODE_PORT], "Chromium through Squid (a CONNECT tunnel) offers chat.v2 on node ws /chat, which requires chat.v1"),
    "squid-connect__firefox-ok": ([SQUID_PORT, NODE_PORT], "Firefox ESR with Squid as its HTTP proxy (a CONNECT tunnel), page on http://app.test:18450, ws://127.0.0.1:18402/ws"),
    "squid-connect__firefox-origin-rejected": ([SQUID_PORT, NODE_PORT], "Firefox ESR through Squid (a CONNECT tunnel), page on http://evil.test:18450 (not allowed), node ws /ws"),
    "squid-connect-keylog-wss__ok": ([SQUID_PORT, WSS_PORT], "Chromium through Squid (a CONNECT tunnel), page on http://app.test:18450, wss://127.0.0.1:18524/ws (Node ws over TLS 1.3), key log kept"),
    "squid-connect-keylog-wss__origin-rejected": ([SQUID_PORT, WSS_PORT], "Chromium through Squid (a CONNECT tunnel), page on http://evil.test:18450 (not allowed), wss://127.0.0.1:18524/ws (Node ws over TLS 1.3), key log kept"),
    "firefox__ok": ([NODE_PORT], "Firefox ESR, page on http://app.test:18450, ws://127.0.0.1:18402/ws"),
    "firefox__http-proxy-no-upgrade": ([HTTP_PROXY_NO_UPGRADE, PY_PORT], "Firefox ESR through Node's http-proxy with no upgrade handler (proxy_http_proxy.js no-upgrade) to python websockets /ws; the page gives up on the handshake after 3 s"),
    "firefox__extension-params-rejected": ([DEFLATE_PORT], "Firefox ESR offers bare permessage-deflate to node ws with clientMaxWindowBits: 10"),
    "raw-strict__connection-keep-alive-upgrade": ([STRICT_PORT], "Connection: keep-alive, Upgrade (as Firefox sent it), then Connection: Upgrade, to a server that wants exactly 'Upgrade'"),
    "socketio-round-robin__session-not-sticky": ([SIO_ROUND_ROBIN] + list(SIO_NODES), "Engine.IO polling handshake, then the upgrade, through nginx round-robin"),
    "socketio-sticky__ok": ([SIO_STICKY] + list(SIO_NODES), "Engine.IO polling handshake, then the upgrade, through nginx hash $remote_addr"),
    "python-socketio-round-robin__session-not-sticky": ([PY_SIO_ROUND_ROBIN] + list(PY_SIO_NODES), "Engine.IO polling handshake, then the upgrade, through nginx round-robin to python-socketio nodes (uvicorn: a refused upgrade is a bare 403)"),
    "python-socketio-sticky__ok": ([PY_SIO_STICKY] + list(PY_SIO_NODES), "Engine.IO polling handshake, then the upgrade, through nginx hash $remote_addr to python-socketio nodes"),
    "python-socketio__eio3-after-eio4": ([PY_SIO_NODES[0]], "an Engine.IO 4 upgrade to a python-socketio node on uvicorn, accepted, then an Engine.IO 3 one, refused with a bare 403"),
    "python-socketio-aiohttp__origin-rejected": ([PY_SIO_AIOHTTP], "an Engine.IO upgrade from Origin http://evil.test, not in cors_allowed_origins, to python-socketio on aiohttp"),
    "python-socketio-aiohttp__eio3-websocket": ([PY_SIO_AIOHTTP], "an Engine.IO 3 client (websocket transport only) to python-socketio 5 on aiohttp"),
    "python-socketio-aiohttp__unknown-sid": ([PY_SIO_AIOHTTP], "an upgrade naming a sid the node never issued (another node's, or from before a restart) to python-socketio on aiohttp"),
    "socketio__eio3-websocket": ([SIO_NODES[0]], "an Engine.IO 3 client (websocket transport only) to a Socket.IO 4 node"),
    "raw-strict__lowercase-names": ([STRICT_PORT], "lowercase header names to a server that looks names up in one case"),
    "nginx-strict-acl__python-websockets": ([STRICT_ACL, PY_PORT], "Upgrade: WebSocket, then Upgrade: websocket, to nginx with a case-sensitive ACL"),
    "node-ws-deflate__extension-params": ([DEFLATE_PORT], "three permessage-deflate offers to node ws with clientMaxWindowBits: 10"),
    "uvicorn-wsproto__accepted-then-refused": ([UVICORN_WSPROTO_PORT], "accepted upgrades to uvicorn (wsproto), then bare 403s: no or another subprotocol, an unknown path, a refused Origin"),
    "uvicorn-websockets__accepted-then-refused": ([UVICORN_WEBSOCKETS_PORT], "accepted upgrades to uvicorn (websockets), then bare 403s: no or another subprotocol, an unknown path, a refused Origin"),
    "uvicorn-websockets-sansio__accepted-then-refused": ([UVICORN_SANSIO_PORT], "accepted upgrades to uvicorn (websockets-sansio), then bare 403s: no or another subprotocol, an unknown path, a refused Origin"),
    "mosquitto__subprotocol-refused": ([MOSQUITTO_PORT], "MQTT over WebSockets to Mosquitto: the two protocol names it serves accepted, then 'MQTT' and 'mqttv5', which libwebsockets refuses by closing without an answer"),
    "golang-x-net-websocket__missing-origin": ([XNET_PORT], "no Origin (a client that is no browser) to /ws, whose handshake allows only http://app.test: x/net/websocket's bare 403, as its default handshake gives a request without Origin"),
    "python-websockets15__missing-host-subprotocol": ([WEBSOCKETS15_PORT], "no Host and no subprotocol to /chat, which requires chat.v1: websockets 15 lets a missing Host pass and refuses the subprotocol"),
    "hypercorn__accepted-then-refused": ([HYPERCORN_PORT], "accepted upgrades to the bare ASGI app on Hypercorn, then bare 403s: no or another subprotocol, an unknown path, a refused Origin"),
    "websockify-token__unknown-token": ([WEBSOCKIFY_TOKEN_PORT], "websockify with its TokenFile plugin (noVNC's set-up: the token in the query names the VNC server): a known token, then one the file does not list and none at all, which it closes on without an answer"),
    "websockify-token__target-down": ([WEBSOCKIFY_TOKEN_PORT, NOTHING_LISTENS], "websockify with its TokenFile plugin: a token whose target has no listener; websockify answers 101, its connect is refused, and it closes with 1011"),
    "websockify__target-down": ([WEBSOCKIFY_DOWN_PORT], "websockify to a target nothing listens on, captured on its WebSocket port only: 101, then a close with 1011 once its connect is refused"),
    "websockify__subprotocol-refused": ([WEBSOCKIFY_PORT], "websockify, which serves the subprotocol binary alone: an offer of chat.v1, refused with 400 Invalid protocol selected, then binary; chat.v1 and binary with and without a space after the comma"),
    "websockify-auth__basic": ([WEBSOCKIFY_AUTH_PORT], "websockify with its BasicHTTPAuth plugin: no credentials, wrong ones, then the right ones"),
    "daphne__accepted-then-refused": ([DAPHNE_PORT], "accepted upgrades to Django Channels on Daphne, then bare 403s (no or another subprotocol, a refused Origin) and the 500 of a path without a route"),
}

# Scenarios of one hand-written request: name -> (status, implementation,
# its key in versions(), cause, header).
LONE_ATTEMPTS = {
    "python-socketio-aiohttp__origin-rejected": (400, "python-socketio", "python-socketio",
                                                 "origin-rejected", "Origin"),
    "python-socketio-aiohttp__eio3-websocket": (400, "python-socketio", "python-socketio",
                                                "engine-io-version-mismatch", None),
    "python-socketio-aiohttp__unknown-sid": (400, "python-socketio", "python-socketio",
                                             "session-not-sticky", None),
    "golang-x-net-websocket__missing-origin": (403, "golang-x-net-websocket", "golang-x-net-websocket",
                                               "origin-rejected", "Origin"),
    "python-websockets15__missing-host-subprotocol": (400, "python-websockets", "python-websockets15",
                                                      "subprotocol-rejected", "Sec-WebSocket-Protocol"),
}

# The ASGI app refuses by closing before it accepts, which uvicorn answers
# with a bare 403: alone, such a refusal of a missing subprotocol or an
# unknown path names nothing, so those two kinds are recorded after accepted
# attempts to the same server (ACCEPTED_THEN_REFUSED) instead of alone.
BARE_403_KINDS = {"golang-x-net-websocket": ("subprotocol-missing",),
                  # websockify serves the subprotocol "binary" alone and
                  # refuses other offers: websockify__subprotocol-refused
                  "websockify": ("subprotocol-ok",),
                  # any path is MQTT's, and libwebsockets refuses an offer
                  # without a protocol it serves: mosquitto__subprotocol-refused
                  "mosquitto": ("subprotocol-ok",),
                  "uvicorn-wsproto": ("subprotocol-missing", "not-found-path"),
                  "uvicorn-websockets": ("subprotocol-missing", "not-found-path"),
                  "uvicorn-websockets-sansio": ("subprotocol-missing", "not-found-path"),
                  "daphne": ("subprotocol-missing", "not-found-path"),
                  "hypercorn": ("subprotocol-missing", "not-found-path")}

# Upgrades in turn on one connection each: scenario -> (port,
# implementation, [(target, extra headers, status, cause, header, what the
# step is)]). libwebsockets compares subprotocol names case-sensitively and
# closes the connection on an offer it serves none of; without an offer it
# picks its first protocol. python-engineio under uvicorn refuses an
# Engine.IO revision it does not speak with a bare 403.
STEPS_IN_TURN = {
    "mosquitto__subprotocol-refused": (MOSQUITTO_PORT, "mosquitto", [
        ("/mqtt", [("Sec-WebSocket-Protocol", "mqtt")], 101, "ok", None,
         "the protocol name MQTT 3.1.1 and 5 clients offer"),
        ("/mqtt", [("Sec-WebSocket-Protocol", "mqttv3.1")], 101, "ok", None,
         "the name MQTT 3.1 clients offer"),
        ("/mqtt", [("Sec-WebSocket-Protocol", "MQTT")], None, "subprotocol-rejected", "Sec-WebSocket-Protocol",
         "the name in capitals"),
        ("/mqtt", [("Sec-WebSocket-Protocol", "mqttv5")], None, "subprotocol-rejected", "Sec-WebSocket-Protocol",
         "a name it does not serve"),
    ]),
    # websockify looks the token up before it answers, and closes without
    # an answer on one it does not know; it connects to the target after
    # its 101, and closes with 1011 when that fails.
    "websockify-token__unknown-token": (WEBSOCKIFY_TOKEN_PORT, "websockify", [
        ("/?token=vm1", [], 101, "ok", None, "a token the file lists"),
        ("/?token=vm9", [], None, "path-not-found", None, "a token the file does not list"),
        ("/", [], None, "path-not-found", None, "no token"),
    ]),
    "websockify-token__target-down": (WEBSOCKIFY_TOKEN_PORT, "websockify", [
        ("/?token=vm1", [], 101, "ok", None, "a token whose target listens"),
        ("/?token=vm2", [], 101, "backend-unreachable", None, "a token whose target has no listener"),
    ]),
    "websockify__target-down": (WEBSOCKIFY_DOWN_PORT, "websockify", [
        ("/", [], 101, "backend-unreachable", None, "the target has no listener"),
    ]),
    "websockify__subprotocol-refused": (WEBSOCKIFY_PORT, "websockify", [
        ("/", [("Sec-WebSocket-Protocol", "chat.v1")], 400, "subprotocol-rejected", "Sec-WebSocket-Protocol",
         "a subprotocol it does not serve"),
        ("/", [("Sec-WebSocket-Protocol", "binary")], 101, "ok", None, "binary, the one it serves"),
        ("/", [("Sec-WebSocket-Protocol", "chat.v1, binary")], 400, "subprotocol-rejected", "Sec-WebSocket-Protocol",
         "chat.v1 and binary as browsers write the list: websockify splits it at commas without trimming the space, "
         "so ' binary' matches nothing"),
        ("/", [("Sec-WebSocket-Protocol", "chat.v1,binary")], 101, "ok", None, "the same list without the space"),
    ]),
    "websockify-auth__basic": (WEBSOCKIFY_AUTH_PORT, "websockify", [
        ("/", [], 401, "unauthorized", "Authorization", "no credentials"),
        ("/", [("Authorization", "Basic " + __import__("base64").b64encode(b"viewer:FAKE-wrong").decode())],
         401, "unauthorized", "Authorization", "a wrong password"),
        ("/", [("Authorization", "Basic " + __import__("base64").b64encode(b"viewer:FAKE-password-not-a-secret").decode())],
         101, "ok", None, "the right credentials"),
    ]),
    "python-socketio__eio3-after-eio4": (PY_SIO_NODES[0], "python-socketio", [
        ("/socket.io/?EIO=4&transport=websocket", [], 101, "ok", None,
         "a Socket.IO 4 client, websocket transport only"),
        ("/socket.io/?EIO=3&transport=websocket", [], 403, "engine-io-version-mismatch", None,
         "a Socket.IO 2 client (EIO=3), websocket transport only"),
    ]),
}

# (path, extra headers, Origin, status, cause, header, what the step is); a
# status given per server as {server: status, "*": status}. Channels' router
# raises for a path without a route, which Daphne answers 500.
ACCEPTED_THEN_REFUSED = [
    ("/ws", [], "http://app.test", 101, "ok", None, "accepted"),
    ("/chat", [("Sec-WebSocket-Protocol", "chat.v1")], "http://app.test", 101, "ok", None,
     "accepted with the subprotocol /chat requires"),
    ("/chat", [], "http://app.test", 403, "subprotocol-rejected", "Sec-WebSocket-Protocol",
     "no subprotocol offered"),
    ("/chat", [("Sec-WebSocket-Protocol", "chat.v2")], "http://app.test", 403,
     "subprotocol-rejected", "Sec-WebSocket-Protocol", "another subprotocol offered"),
    ("/nope", [], "http://app.test", {"daphne": 500, "*": 403}, "path-not-found", None,
     "a path without a WebSocket route"),
    ("/ws", [], "http://evil.test", 403, "origin-rejected", "Origin", "an Origin the app refuses"),
]


def standard_fixtures(kinds):
    """(name, target, kind) for the extra servers with the driver's kinds."""
    return [(f"{t}__{k}", t, k) for t in TARGETS for k in kinds
            if k not in BARE_403_KINDS.get(t, ())]


def filter_of(name):
    return " or ".join(f"tcp port {p}" for p in SCENARIOS[name][0])


def pip_version(fmt, *pkgs):
    """`fmt` filled in with the installed versions of `pkgs`; "unknown" when
    one of them is missing."""
    try:
        from importlib.metadata import version
        return fmt.format(*(version(p) for p in pkgs))
    except Exception:
        return "unknown"


@functools.lru_cache(maxsize=None)
def versions():
    here = os.path.dirname(os.path.abspath(__file__))
    v = {}
    for key, pkg in (("faye-websocket", "faye-websocket"), ("socket.io", "socket.io"), ("ws", "ws"),
                     ("websocket-node", "websocket")):
        try:
            with open(os.path.join(here, "node_modules", pkg, "package.json")) as f:
                v[key] = json.load(f)["version"]
        except OSError:
            v[key] = "unknown"
    v["autobahn"] = pip_version("{}", "autobahn")
    v["python-socketio"] = pip_version("{}+engineio-{}", "python-socketio", "python-engineio")
    v["flask-sock"] = pip_version("{}+simple-websocket-{}+werkzeug-{}", "flask-sock", "simple-websocket", "werkzeug")
    v["hypercorn"] = pip_version("{}", "hypercorn")
    v["websockify"] = pip_version("{}", "websockify")
    v["daphne"] = pip_version("{}+channels-{}", "daphne", "channels")
    for layer in ("wsproto", "websockets"):
        v[f"uvicorn-{layer}"] = pip_version("{}+" + layer + "-{}", "uvicorn", layer)
    for key, crate in (("axum", "server_axum"), ("tokio-tungstenite", "server_tungstenite"),
                       ("actix-web", "server_actix")):
        v[key] = "unknown"
        try:
            with open(os.path.join(here, crate, "Cargo.lock")) as f:
                m = re.search(r'name = "' + key + r'"\nversion = "([^"]+)"', f.read())
                if m:
                    v[key] = m.group(1)
        except OSError:
            pass
    # websockets 15 and the uvicorn on top of it, from .venv-ws15's pins
    try:
        with open(os.path.join(here, "requirements-ws15.txt")) as f:
            pins = dict(line.strip().split("==", 1) for line in f if "==" in line)
    except OSError:
        pins = {}
    v["python-websockets15"] = pins.get("websockets", "unknown")
    v["uvicorn-websockets-sansio"] = (f"{pins.get('uvicorn', 'unknown')}+websockets-sansio-"
                                      f"{pins.get('websockets', 'unknown')}")
    for key, pkg in (("gorilla-websocket", "golang-github-gorilla-websocket-dev"), ("tomcat", "tomcat10"),
                     ("golang-x-net-websocket", "golang-golang-x-net-dev"),
                     ("squid", "squid"), ("mosquitto", "mosquitto"), ("websocketd", "websocketd")):
        try:
            out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                                 capture_output=True, text=True, timeout=10).stdout
            v[key] = out.split(":")[-1].split("-")[0] or "unknown"  # no epoch, no Debian revision
        except (OSError, subprocess.SubprocessError):
            v[key] = "unknown"
    for prog, args in (("chromium", ["--version"]), ("firefox-esr", ["--version"])):
        try:
            out = subprocess.run([prog] + args, capture_output=True, text=True, timeout=20).stdout
            m = re.search(r"\d+\.\d+[.\w]*", out)
            v[prog] = m.group(0) if m else "unknown"
        except (OSError, subprocess.SubprocessError):
            v[prog] = "unknown"
    return v


# ---------------------------------------------------------------- browsers

PAGE = """<!doctype html><meta charset="utf-8"><title>fixture</title><script>
const q = new URLSearchParams(location.search);
const protos = q.get('p') ? q.get('p').split(',') : [];
function report(what) { fetch('/result?' + new URLSearchParams(what)).catch(() => {}); }
try {
  const ws = protos.length ? new WebSocket(q.get('ws'), protos) : new WebSocket(q.get('ws'));
  ws.onopen = () => {
    report({event: 'open', protocol: ws.protocol, extensions: ws.extensions});
    ws.send('hello fixture');
    setTimeout(() => ws.close(1000, 'done'), 300);
  };
  ws.onclose = (e) => report({event: 'close', code: e.code, clean: e.wasClean});
  // g: give up on a handshake still unanswered after that many ms.
  if (q.get('g')) setTimeout(() => { if (ws.readyState === 0) { report({event: 'give-up'}); ws.close(); } }, +q.get('g'));
} catch (e) { report({event: 'close', code: 'throw', detail: String(e)}); }
</script>"""


class PageServer:
    """Serves the page and collects what it reports, on 127.0.0.1:PAGE_PORT."""

    def __init__(self):
        self.events = []
        self.done = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                if u.path == "/page":
                    body, ctype = PAGE.encode(), "text/html"
                elif u.path == "/result":
                    ev = dict(urllib.parse.parse_qsl(u.query))
                    outer.events.append(ev)
                    if ev.get("event") == "close":
                        outer.done.set()
                    body, ctype = b"ok", "text/plain"
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", PAGE_PORT), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def run_browser(browser, origin_host, ws_url, protocols=(), proxy=None, keylog=None, give_up_ms=None):
    """Open the page in a headless browser; return what the page reported.
    With `proxy`, the WebSocket goes through that HTTP proxy (loopback is
    not bypassed), the page itself does not; with `keylog`
    (Chromium only), the browser writes its TLS secrets there and takes the
    servers' throwaway certificate."""
    page = PageServer()
    profile = tempfile.mkdtemp(prefix="wshs-browser-")
    params = {"ws": ws_url, "p": ",".join(protocols)}
    if give_up_ms:
        params["g"] = str(give_up_ms)
    query = urllib.parse.urlencode(params)
    url = f"http://{origin_host}:{PAGE_PORT}/page?{query}"
    if browser == "chromium":
        cmd = ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
               f"--user-data-dir={profile}", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-extensions",
               "--host-resolver-rules=MAP app.test 127.0.0.1, MAP evil.test 127.0.0.1"]
        if proxy:
            cmd += [f"--proxy-server=http://{proxy}", "--proxy-bypass-list=app.test;evil.test;<-loopback>"]
        if keylog:
            cmd += [f"--ssl-key-log-file={keylog}", "--ignore-certificate-errors"]
        cmd.append(url)
    else:
        prefs = [("network.proxy.type", "0")]
        if proxy:
            host, port = proxy.rsplit(":", 1)
            prefs = [("network.proxy.type", "1"), ("network.proxy.http", f'"{host}"'),
                     ("network.proxy.http_port", port), ("network.proxy.allow_hijacking_localhost", "true"),
                     ("network.proxy.no_proxies_on", '"app.test, evil.test"')]
        with open(os.path.join(profile, "user.js"), "w") as f:
            for k, v in [("network.dns.localDomains", '"app.test,evil.test"')] + prefs + [
                         ("browser.shell.checkDefaultBrowser", "false"),
                         ("datareporting.policy.dataSubmissionEnabled", "false"),
                         ("toolkit.telemetry.enabled", "false"),
                         ("app.update.enabled", "false"),
                         ("browser.startup.homepage_override.mstone", '"ignore"')]:
                f.write(f'user_pref("{k}", {v});\n')
        cmd = ["firefox-esr", "--headless", "--no-remote", "--profile", profile, url]
    env = dict(os.environ, HOME=profile, MOZ_HEADLESS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=env)
    try:
        page.done.wait(BROWSER_TIMEOUT)
        time.sleep(0.5)  # let the close handshake finish on the wire
    finally:
        try:  # the browser and its helper processes: the group we started
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
        page.stop()
        shutil.rmtree(profile, ignore_errors=True)
    if not page.done.is_set():
        raise SystemExit(f"{browser}: the page reported no close within {BROWSER_TIMEOUT}s: {page.events}")
    return {"browser": browser, "url": url, "events": page.events}


# ---------------------------------------------------------------- raw requests

def raw_exchange(d, port, head_lines, note=None):
    """Send one request written line by line; read one response."""
    conn = d.Conn("127.0.0.1", port)
    head = "\r\n".join(head_lines) + "\r\n\r\n"
    conn.send(head.encode())
    resp = conn.read_response()
    tail = b""
    if resp and resp["status"] == 101:
        deadline = time.monotonic() + d.READ_TIMEOUT
        while conn._fill(deadline):  # what the server sends before closing
            pass
        tail, conn.buf = conn.buf, b""
    out = {"client_port": conn.local[1], "status": resp["status"] if resp else None,
           "body": resp["body"].decode("utf-8", "replace") if resp else None,
           "after_101": tail.decode("latin-1"), "note": note}
    conn.close()
    return out


def ws_head(port, target, extra=(), upgrade="websocket", connection="Upgrade",
            names=None):
    names = names or {}
    key = __import__("base64").b64encode(os.urandom(16)).decode()
    lines = [f"GET {target} HTTP/1.1"]
    for name, value in (("Host", f"127.0.0.1:{port}"), ("User-Agent", BROWSER_UA),
                        ("Upgrade", upgrade), ("Connection", connection),
                        ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
                        ("Origin", "http://app.test")):
        lines.append(f"{names.get(name, name)}: {value}")
    lines += [f"{k}: {v}" for k, v in extra]
    return lines


# The Engine.IO upgrades of the python-socketio-aiohttp scenarios: name ->
# (target, Origin).
ENGINE_IO_UPGRADES = {
    "python-socketio-aiohttp__origin-rejected": ("/socket.io/?EIO=4&transport=websocket", "http://evil.test"),
    "python-socketio-aiohttp__eio3-websocket": ("/socket.io/?EIO=3&transport=websocket", "http://app.test"),
    "python-socketio-aiohttp__unknown-sid": ("/socket.io/?EIO=4&transport=websocket&sid=V0AqaD8vWz1nX2xYAAAB",
                                             "http://app.test"),
}

# Socket.IO clusters behind nginx: scenario prefix -> (round-robin port,
# sticky port, node ports, implementation key in versions(), the status of an
# upgrade whose sid another node issued: Node's engine.io answers 400
# "Session ID unknown", python-engineio under uvicorn a bare 403).
CLUSTERS = {
    "socketio": (SIO_ROUND_ROBIN, SIO_STICKY, SIO_NODES, "socket.io", 400),
    "python-socketio": (PY_SIO_ROUND_ROBIN, PY_SIO_STICKY, PY_SIO_NODES, "python-socketio", 403),
}
CLUSTER_SCENARIOS = {f"{c}-{how}" for c in CLUSTERS
                     for how in ("round-robin__session-not-sticky", "sticky__ok")}


def cluster_of(name):
    front = name.split("__")[0]
    for how in ("-round-robin", "-sticky"):
        if front.endswith(how):
            return CLUSTERS[front[:-len(how)]]
    raise SystemExit(f"{name}: not a cluster scenario")


def cluster_front(name):
    rr, sticky, _, _, _ = cluster_of(name)
    return rr if "round-robin" in name else sticky


def polling_handshake(d, port, eio=4):
    conn = d.Conn("127.0.0.1", port)
    head = (f"GET /socket.io/?EIO={eio}&transport=polling&t=PfXq1a2 HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nUser-Agent: {BROWSER_UA}\r\nAccept: */*\r\n"
            "Origin: http://app.test\r\n\r\n")
    conn.send(head.encode())
    resp = conn.read_response()
    conn.close()
    body = resp["body"].decode("utf-8", "replace") if resp else ""
    m = re.search(r'"sid":"([^"]+)"', body)
    return m.group(1) if m else None, body


def run(name, d):
    """Play a scenario of this module; returns what the driver observed."""
    if name.startswith(("chromium__", "firefox__")):
        browser, what = name.split("__")
        ws = f"ws://127.0.0.1:{NODE_PORT}/ws"
        origin_host, protos = "app.test", ()
        if what == "origin-rejected":
            origin_host = "evil.test"
        elif what == "subprotocol-rejected":
            ws, protos = f"ws://127.0.0.1:{NODE_PORT}/chat", ("chat.v2",)
        elif what == "subprotocol-not-selected":
            ws, protos = f"ws://127.0.0.1:{PY_PORT}/ws", ("chat.v1",)
        elif what == "nginx-stripped":
            ws = f"ws://127.0.0.1:{NGINX_STRIPPED}/ws"
        elif what == "http-proxy-backend-down":
            ws = f"ws://127.0.0.1:{HTTP_PROXY_BACKEND_DOWN}/ws"
        elif what == "http-proxy-no-upgrade":
            ws = f"ws://127.0.0.1:{HTTP_PROXY_NO_UPGRADE}/ws"
            return run_browser(browser, origin_host, ws, protos, give_up_ms=3000)
        elif what == "extension-params-rejected":
            ws = f"ws://127.0.0.1:{DEFLATE_PORT}/ws"
        return run_browser(browser, origin_host, ws, protos)
    if name.startswith("squid-connect-keylog-wss__"):
        origin_host = "evil.test" if name.endswith("origin-rejected") else "app.test"
        return run_browser("chromium", origin_host, f"wss://127.0.0.1:{WSS_PORT}/ws",
                           proxy=f"127.0.0.1:{SQUID_PORT}", keylog=os.environ["WSHS_KEYLOG"])
    if name.startswith("squid-connect__"):
        browser, what = tunnel_browser(name)
        ws, origin_host, protos = f"ws://127.0.0.1:{NODE_PORT}/ws", "app.test", ()
        if what == "origin-rejected":
            origin_host = "evil.test"
        elif what == "subprotocol-rejected":
            ws, protos = f"ws://127.0.0.1:{NODE_PORT}/chat", ("chat.v2",)
        return run_browser(browser, origin_host, ws, protos, proxy=f"127.0.0.1:{SQUID_PORT}")
    if name in CLUSTER_SCENARIOS:
        port = cluster_front(name)
        sid, body = polling_handshake(d, port)
        if not sid:
            raise SystemExit(f"{name}: no sid in the polling handshake: {body!r}")
        up = raw_exchange(d, port, ws_head(port, f"/socket.io/?EIO=4&transport=websocket&sid={sid}"))
        return {"sid": sid, "handshake_body": body, "upgrade": up}
    if name in ENGINE_IO_UPGRADES:
        target, origin = ENGINE_IO_UPGRADES[name]
        head = [f"Origin: {origin}" if line.startswith("Origin: ") else line
                for line in ws_head(PY_SIO_AIOHTTP, target)]
        return {"attempts": [raw_exchange(d, PY_SIO_AIOHTTP, head, SCENARIOS[name][1])]}
    if name == "socketio__eio3-websocket":
        port = SIO_NODES[0]
        up = raw_exchange(d, port, ws_head(port, "/socket.io/?EIO=3&transport=websocket"))
        return {"upgrade": up}
    if name == "raw-strict__lowercase-names":
        low = {n: n.lower() for n in ("Host", "Upgrade", "Connection", "Sec-WebSocket-Key",
                                      "Sec-WebSocket-Version", "Origin")}
        return {"attempts": [
            raw_exchange(d, STRICT_PORT, ws_head(STRICT_PORT, "/strict-names", names=low),
                         "header names in lowercase"),
            raw_exchange(d, STRICT_PORT, ws_head(STRICT_PORT, "/strict-names"),
                         "the same request with the usual spelling"),
        ]}
    if name == "raw-strict__connection-keep-alive-upgrade":
        return {"attempts": [
            raw_exchange(d, STRICT_PORT, ws_head(STRICT_PORT, "/strict-connection",
                                                 connection="keep-alive, Upgrade"),
                         "Connection: keep-alive, Upgrade (valid: a token list)"),
            raw_exchange(d, STRICT_PORT, ws_head(STRICT_PORT, "/strict-connection"),
                         "the same request with Connection: Upgrade"),
        ]}
    if name == "nginx-strict-acl__python-websockets":
        return {"attempts": [
            raw_exchange(d, STRICT_ACL, ws_head(STRICT_ACL, "/ws", upgrade="WebSocket"),
                         "Upgrade: WebSocket (valid: the token is case-insensitive)"),
            raw_exchange(d, STRICT_ACL, ws_head(STRICT_ACL, "/ws"), "Upgrade: websocket"),
        ]}
    if name == "node-ws-deflate__extension-params":
        offers = ("permessage-deflate; client_max_window_bits",
                  "permessage-deflate",
                  "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        return {"attempts": [
            raw_exchange(d, DEFLATE_PORT,
                         ws_head(DEFLATE_PORT, "/ws", extra=[("Sec-WebSocket-Extensions", o)]),
                         f"offers '{o}'")
            for o in offers]}
    if name == "golang-x-net-websocket__missing-origin":
        head = [line for line in ws_head(XNET_PORT, "/ws") if not line.startswith("Origin: ")]
        return {"attempts": [raw_exchange(d, XNET_PORT, head, "no Origin, to /ws")]}
    if name == "python-websockets15__missing-host-subprotocol":
        head = [line for line in ws_head(WEBSOCKETS15_PORT, "/chat") if not line.startswith("Host: ")]
        return {"attempts": [raw_exchange(d, WEBSOCKETS15_PORT, head, "no Host, no subprotocol, to /chat")]}
    if name in STEPS_IN_TURN:
        port, _, steps = STEPS_IN_TURN[name]
        out = []
        for target, extra, _, _, _, what in steps:
            head = ws_head(port, target, extra=extra)
            key = next(line.split(": ", 1)[1] for line in head if line.startswith("Sec-WebSocket-Key: "))
            out.append(dict(raw_exchange(d, port, head, what), key=key))
        return {"attempts": out}
    if name.endswith("__accepted-then-refused"):
        port = SCENARIOS[name][0][0]
        steps = []
        for path, extra, origin, _, _, _, what in ACCEPTED_THEN_REFUSED:
            head = [line if not line.startswith("Origin: ") else f"Origin: {origin}"
                    for line in ws_head(port, path, extra=extra)]
            key = next(line.split(": ", 1)[1] for line in head if line.startswith("Sec-WebSocket-Key: "))
            steps.append(dict(raw_exchange(d, port, head, what), key=key))
        return {"attempts": steps}
    raise SystemExit(f"unknown scenario {name}")


# ---------------------------------------------------------------- labels

def http_messages(stream, responses):
    """Split one direction of a connection into HTTP messages:
    [(start line, [(name, value)], body, offset)]. Stops after a 101."""
    out, pos = [], 0
    while True:
        end = stream.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        lines = stream[pos:end].decode("latin-1").split("\r\n")
        hdrs = [tuple(s.strip() for s in l.split(":", 1)) for l in lines[1:] if ":" in l]
        body_start = end + 4
        n = None
        for k, v in hdrs:
            if k.lower() == "content-length":
                n = int(v)
        status = None
        if responses:
            m = re.match(r"HTTP/\d\.\d (\d{3})", lines[0])
            status = int(m.group(1)) if m else None
        if status == 101:
            out.append((lines[0], hdrs, b"", pos, stream[body_start:]))
            break
        if n is None:
            n = len(stream) - body_start if responses else 0
        out.append((lines[0], hdrs, stream[body_start:body_start + n], pos, b""))
        pos = body_start + n
    return out


def hv(hdrs, name):
    for k, v in hdrs:
        if k.lower() == name.lower():
            return v
    return None


def is_attempt(hdrs):
    up = hv(hdrs, "upgrade") or ""
    return "websocket" in up.lower() or any(k.lower().startswith("sec-websocket-") for k, _ in hdrs)


def through_tunnel(requests, answers):
    """A connection that opens with a CONNECT answered 2xx carries a tunnel
    (RFC 9110 9.3.6): both directions' bytes after the two heads, a new
    exchange. Anything else is returned as it is."""
    if not requests.startswith(b"CONNECT ") or not re.match(rb"HTTP/1\.[01] 2\d\d ", answers):
        return requests, answers
    q, r = requests.find(b"\r\n\r\n"), answers.find(b"\r\n\r\n")
    if q < 0 or r < 0:
        return requests, answers
    return requests[q + 4:], answers[r + 4:]


def capture_attempts(d, pcap, ports):
    """Every upgrade attempt on connections to `ports`, with its answer."""
    streams = d.tcp_streams(pcap)
    found = []
    for (src, sport, dst, dport), data in streams.items():
        if dport not in ports:
            continue
        answers = streams.get((dst, dport, src, sport), b"")
        data, answers = through_tunnel(data, answers)
        reqs = http_messages(data, False)
        resps = http_messages(answers, True)
        for i, (line, hdrs, _, _, _) in enumerate(reqs):
            if not is_attempt(hdrs):
                continue
            resp = resps[i] if i < len(resps) else None
            status = None
            if resp:
                m = re.match(r"HTTP/\d\.\d (\d{3})", resp[0])
                status = int(m.group(1)) if m else None
            found.append({
                "client_ip": src, "client_port": sport, "server_ip": dst, "server_port": dport,
                "method": line.split(" ")[0], "target": line.split(" ")[1] if " " in line else "",
                "headers": hdrs, "request_index": i, "status": status,
                "status_line": resp[0] if resp else None,
                "body": resp[2].decode("utf-8", "replace") if resp else None,
                "after_101": resp[4] if resp else b"",
            })
    found.sort(key=lambda a: a["client_port"])
    return found


def polling_sids(d, pcap, node_ports):
    """sid -> the node (port) whose polling handshake answer issued it."""
    streams = d.tcp_streams(pcap)
    sids = {}
    for (src, sport, dst, dport), data in streams.items():
        if src != "127.0.0.1" or sport not in node_ports:
            continue
        for _, _, body, _, _ in http_messages(data, True):
            for sid in re.findall(rb'"sid":"([^"]+)"', body):
                sids[sid.decode()] = sport
    return sids


def base_label(a, impl, scenario, cause, header, leg="client", note=None):
    lab = {
        "client_ip": a["client_ip"], "client_port": a["client_port"],
        "server_ip": a["server_ip"], "server_port": a["server_port"], "leg": leg,
        "request_method": a["method"], "request_path": a["target"], "status": a["status"],
        "cause": cause, "header": header, "server_impl": impl,
        "response_body_excerpt": "" if a["status"] == 101 else (a["body"] or "")[:200],
        "scenario": scenario, "request_defect": "ok" if cause in ("ok",) else scenario,
        "request_index": a["request_index"], "response_status_line": a["status_line"],
    }
    if note:
        lab["note"] = note
    return lab


def tunnel_browser(name):
    """(browser, what) of a squid-connect scenario: Chromium unless named."""
    what = name.split("__")[1]
    if what.startswith("firefox-"):
        return "firefox", what[len("firefox-"):]
    return "chromium", what


def tunnelled_wss_labels(name, obs, pcap, d, vers, desc):
    """wss:// through Squid: the handshake is inside TLS, so the legs are
    found by their plaintext (the CONNECT naming the TLS server, and Squid's
    one connection to it) and labelled from the set-up (the page's origin),
    checked against what the page saw."""
    what = name.split("__")[1]
    status, cause, header = {"ok": (101, "ok", None),
                             "origin-rejected": (403, "origin-rejected", "Origin")}[what]
    opened = any(e.get("event") == "open" for e in obs["events"])
    if opened != (status == 101):
        raise SystemExit(f"{name}: the page saw {obs['events']}, set up for {status}")
    streams = d.tcp_streams(pcap)
    target = f"CONNECT 127.0.0.1:{WSS_PORT} ".encode()
    fronts = [k for k, data in streams.items() if k[3] == SQUID_PORT and data.startswith(target)]
    backs = [k for k in streams if k[3] == WSS_PORT]
    if len(fronts) != 1 or len(backs) != 1:
        raise SystemExit(f"{name}: expected one tunnel to {WSS_PORT} and one connection from Squid, "
                         f"found {fronts} and {backs}")
    events = "; ".join(f"{e.get('event')} {e.get('code', '')}".strip() for e in obs["events"])
    note = (f"client chromium-{vers['chromium']} headless, squid-{vers['squid']} as its proxy; {desc}; "
            f"page saw: {events}; TLS 1.3 TLS_AES_128_GCM_SHA256 end to end, through the tunnel")
    keys = os.path.basename(os.environ["WSHS_KEYLOG"])
    labels = []
    for (src, sport, dst, dport), leg in ((fronts[0], "client"), (backs[0], "backend")):
        labels.append({
            "client_ip": src, "client_port": sport, "server_ip": dst, "server_port": dport,
            "leg": leg, "request_method": "GET", "request_path": "/ws", "status": status,
            "cause": cause, "header": header, "server_impl": f"node-ws-{vers['ws']}",
            "response_body_excerpt": "", "scenario": what,
            "request_defect": "ok" if cause == "ok" else what, "request_index": 0,
            "response_status_line": None, "tls": True, "keys": keys,
            "tls_version": "TLSv1.3", "cipher_suite": "TLS_AES_128_GCM_SHA256",
            "note": note if leg == "client" else note + "; Squid's connection to the server carries the same TLS",
        })
    return labels


def expect(name, a, status):
    if a["status"] != status:
        raise SystemExit(f"{name}: expected status {status} on {a['client_port']}>{a['server_port']}, "
                         f"the capture shows {a['status']} (scenario not what it was set up to be)")


def pair_legs(attempts, front_port):
    """Split attempts into (client leg, backend leg or None) by Sec-WebSocket-Key."""
    fronts = [a for a in attempts if a["server_port"] == front_port]
    backs = [a for a in attempts if a["server_port"] != front_port]
    out = []
    for f in fronts:
        key = hv(f["headers"], "sec-websocket-key")
        b = [x for x in backs if hv(x["headers"], "sec-websocket-key") == key]
        out.append((f, b[0] if b else None))
    return out


def label(name, obs_path, pcap, d):
    with open(obs_path) as f:
        obs = json.load(f)
    vers = versions()
    ports, desc = SCENARIOS[name]
    attempts = capture_attempts(d, pcap, set(ports))
    labels = []
    if name.startswith(("chromium__", "firefox__")):
        browser, what = name.split("__")
        bv = f"{browser}-{vers['chromium' if browser == 'chromium' else 'firefox-esr']}"
        events = "; ".join(f"{e.get('event')} {e.get('code', e.get('protocol', ''))}" for e in obs["events"])
        note = f"client {bv} headless; {desc}; page saw: {events}"
        table = {
            "ok": (101, "ok", None, f"node-ws-{vers['ws']}"),
            "origin-rejected": (403, "origin-rejected", "Origin", f"node-ws-{vers['ws']}"),
            "subprotocol-rejected": (400, "subprotocol-rejected", "Sec-WebSocket-Protocol", f"node-ws-{vers['ws']}"),
            "subprotocol-not-selected": (101, "subprotocol-not-selected", "Sec-WebSocket-Protocol",
                                         "python-websockets-" + d.versions()["python-websockets"]),
            "nginx-stripped": (400, "proxy-stripped-upgrade", "Upgrade", "nginx"),
            "http-proxy-no-upgrade": (None, "proxy-stripped-upgrade", None, "node-http-proxy"),
            "http-proxy-backend-down": (None, "backend-unreachable", None, "node-http-proxy"),
            "extension-params-rejected": (400, "extension-params-rejected", "Sec-WebSocket-Extensions",
                                          f"node-ws-{vers['ws']}"),
        }
        status, cause, header, impl = table[what]
        # Through a proxy in front of python websockets: (its port, its
        # label's impl, the backend leg's status, cause and header). Behind
        # nginx's bare proxy_pass the backend refuses the stripped request;
        # behind http-proxy with no upgrade handler it accepts the upgrade,
        # whose 101 never reaches the browser.
        proxied = {
            "nginx-stripped": (NGINX_STRIPPED, f"nginx-{d.versions()['nginx']}", status, cause, header),
            "http-proxy-no-upgrade": (HTTP_PROXY_NO_UPGRADE, impl, 101, "ok", None),
        }
        if what in proxied:
            port, front_impl, back_status, back_cause, back_header = proxied[what]
            legs = pair_legs(attempts, port)
            if len(legs) != 1 or legs[0][1] is None:
                raise SystemExit(f"{name}: expected one proxied attempt, found {legs}")
            front, back = legs[0]
            expect(name, front, status)
            expect(name, back, back_status)
            labels.append(base_label(front, front_impl, what, cause, header, "client", note))
            labels.append(base_label(back, "python-websockets-" + d.versions()["python-websockets"],
                                     what, back_cause, back_header, "backend",
                                     note + "; backend leg found by its Sec-WebSocket-Key"))
            return labels
        if len(attempts) != 1:
            raise SystemExit(f"{name}: expected one attempt from the browser, found {len(attempts)}")
        expect(name, attempts[0], status)
        labels.append(base_label(attempts[0], impl, what, cause, header, "direct", note))
        return labels
    if name.startswith("squid-connect-keylog-wss__"):
        return tunnelled_wss_labels(name, obs, pcap, d, vers, desc)
    if name.startswith("squid-connect__"):
        browser, what = tunnel_browser(name)
        status, cause, header = {
            "ok": (101, "ok", None),
            "origin-rejected": (403, "origin-rejected", "Origin"),
            "subprotocol-rejected": (400, "subprotocol-rejected", "Sec-WebSocket-Protocol"),
        }[what]
        events = "; ".join(f"{e.get('event')} {e.get('code', e.get('protocol', ''))}" for e in obs["events"])
        bv = vers["chromium" if browser == "chromium" else "firefox-esr"]
        note = (f"client {browser}-{bv} headless, squid-{vers['squid']} as its proxy; {desc}; "
                f"page saw: {events}; the tunnel passes the node server's answer unchanged")
        legs = pair_legs(attempts, SQUID_PORT)
        if len(legs) != 1 or legs[0][1] is None:
            raise SystemExit(f"{name}: expected one attempt through the tunnel and its backend leg, found {legs}")
        front, back = legs[0]
        expect(name, front, status)
        expect(name, back, status)
        impl = f"node-ws-{vers['ws']}"
        return [base_label(front, impl, what, cause, header, "client", note),
                base_label(back, impl, what, cause, header, "backend",
                           note + "; backend leg found by its Sec-WebSocket-Key")]
    if name.startswith("socketio") or name in CLUSTER_SCENARIOS:
        if name == "socketio__eio3-websocket":
            sio = f"node-socket.io-{vers['socket.io']}"
            a = attempts[0]
            expect(name, a, 101)
            lab = base_label(a, sio, "eio3-websocket", "engine-io-version-mismatch", None, "direct",
                             "EIO=3 (websocket transport only) to a Socket.IO 4 node without allowEIO3: "
                             "101, then an HTTP 400 'Unsupported protocol version' written on the upgraded "
                             f"connection: {a['after_101'][:80]!r}")
            return [lab]
        _, _, nodes, impl, refused = cluster_of(name)
        sids = polling_sids(d, pcap, set(nodes))
        sio = f"{'node-' if impl == 'socket.io' else ''}{impl}-{vers[impl]}"
        front_port = cluster_front(name)
        for front, back in pair_legs(attempts, front_port):
            sid = re.search(r"sid=([^&]+)", front["target"]).group(1)
            issuer = sids.get(sid)
            node = back["server_port"] if back else None
            if issuer is None or node is None:
                raise SystemExit(f"{name}: sid issuer {issuer}, upgrade node {node}")
            if issuer != node:
                expect(name, front, refused)
                cause = "session-not-sticky"
            else:
                expect(name, front, 101)
                cause = "ok"
            note = (f"{desc}; sid issued by node 127.0.0.1:{issuer} (polling handshake), "
                    f"upgrade sent to node 127.0.0.1:{node}")
            labels.append(base_label(front, f"nginx-{d.versions()['nginx']}", name.split("__")[1],
                                     cause, None, "client", note))
            labels.append(base_label(back, sio, name.split("__")[1], cause, None, "backend", note))
        return labels
    if name.startswith("raw-strict__"):
        what = name.split("__")[1]
        header = "Sec-WebSocket-Key" if what == "lowercase-names" else "Connection"
        out = []
        if len(attempts) != 2:
            raise SystemExit(f"{name}: expected two attempts, found {len(attempts)}")
        for a, cause, header in zip(attempts, ("strict-server", "ok"), (header, None)):
            expect(name, a, 400 if cause != "ok" else 101)
            out.append(base_label(a, "raw-python-strict-server", what, cause, header, "direct",
                                  SCENARIOS[name][1]))
        return out
    if name == "nginx-strict-acl__python-websockets":
        legs = pair_legs(attempts, STRICT_ACL)
        if len(legs) != 2:
            raise SystemExit(f"{name}: expected two attempts to nginx, found {len(legs)}")
        (f1, b1), (f2, b2) = legs
        expect(name, f1, 403)
        expect(name, f2, 101)
        if b1 is not None or b2 is None:
            raise SystemExit(f"{name}: the refused attempt reached the backend or the accepted one did not")
        nginx = f"nginx-{d.versions()['nginx']}"
        pyws = "python-websockets-" + d.versions()["python-websockets"]
        return [
            base_label(f1, nginx, "strict-acl-upgrade-case", "strict-server", "Upgrade", "client",
                       "Upgrade: WebSocket refused by nginx's case-sensitive if ($http_upgrade != \"websocket\") { return 403; }"),
            base_label(f2, nginx, "strict-acl-ok", "ok", None, "client", "Upgrade: websocket"),
            base_label(b2, pyws, "strict-acl-ok", "ok", None, "backend", "Upgrade: websocket"),
        ]
    if name == "node-ws-deflate__extension-params":
        out = []
        for a in attempts:
            ext = hv(a["headers"], "sec-websocket-extensions")
            ok = "client_max_window_bits" in ext
            expect(name, a, 101 if ok else 400)
            out.append(base_label(a, f"node-ws-{vers['ws']}", "extension-params",
                                  "ok" if ok else "extension-params-rejected",
                                  None if ok else "Sec-WebSocket-Extensions", "direct",
                                  f"offers '{ext}'; server perMessageDeflate {{clientMaxWindowBits: 10}}"))
        return out
    if name in LONE_ATTEMPTS:
        status, impl, version, cause, header = LONE_ATTEMPTS[name]
        if len(attempts) != 1:
            raise SystemExit(f"{name}: expected one attempt, found {len(attempts)}")
        expect(name, attempts[0], status)
        return [base_label(attempts[0], f"{impl}-{vers[version]}", name.split("__")[1],
                           cause, header, "direct", desc)]
    if name in STEPS_IN_TURN:
        _, impl, steps = STEPS_IN_TURN[name]
        by_key = {hv(a["headers"], "sec-websocket-key"): a for a in attempts}
        if len(attempts) != len(steps):
            raise SystemExit(f"{name}: expected {len(steps)} attempts, found {len(attempts)}")
        out = []
        for step, (target, extra, status, cause, header, what) in zip(obs["attempts"], steps):
            a = by_key.get(step["key"])
            if a is None:
                raise SystemExit(f"{name}: the attempt for '{what}' is not in the capture")
            expect(name, a, status)
            out.append(base_label(a, f"{impl}-{vers[impl]}", name.split("__")[1], cause, header,
                                  "direct", f"{what}: {target}"
                                  + "".join(f", {n}: {v}" for n, v in extra) + f"; {desc}"))
        return out
    if name.endswith("__accepted-then-refused"):
        target = name.split("__")[0]
        by_key = {hv(a["headers"], "sec-websocket-key"): a for a in attempts}
        if len(attempts) != len(ACCEPTED_THEN_REFUSED):
            raise SystemExit(f"{name}: expected {len(ACCEPTED_THEN_REFUSED)} attempts, found {len(attempts)}")
        out = []
        for step, (path, _, origin, status, cause, header, what) in zip(obs["attempts"], ACCEPTED_THEN_REFUSED):
            a = by_key.get(step["key"])
            if a is None:
                raise SystemExit(f"{name}: the attempt for '{what}' is not in the capture")
            if isinstance(status, dict):
                status = status.get(target, status["*"])
            expect(name, a, status)
            out.append(base_label(a, f"{target}-{vers[target]}", "accepted-then-refused", cause, header,
                                  "direct", f"{what}: {path}, Origin {origin}; {desc}"))
        return out
    raise SystemExit(f"unknown scenario {name}")
