#!/usr/bin/env bash
# Re-record every wshs-sniff fixture from scratch, on loopback only.
# Usage (as root): scripts/record-fixtures/record.sh [NAME ...]
# Starts the Python websockets and Node ws servers, a raw-socket test server
# and nginx (plain, TLS-terminating with a throwaway self-signed certificate,
# IPv6), HAProxy, Apache httpd, Caddy, Varnish, lighttpd, h2o, Traffic Server, nghttpx, Node's http-proxy and more nginx (proxies.py,
# ports 18420-18489, 18500-18508, 18597), more servers (clients.py, 18445-18479, 18509-18519, 18528: faye-websocket, Autobahn,
# uvicorn, Hypercorn, Daphne, websockets 15, axum, tokio-tungstenite, actix-web, WebSocket-Node, Mosquitto,
# python-socketio, Flask-Sock, websocketd, websockify (18590-18594),
# gorilla/websocket, x/net/websocket,
# Tomcat; browsers,
# also through Squid as their forward proxy) on
# 127.0.0.1 / ::1 (ports 18401-18415), captures each scenario with
# tcpdump on lo into fixtures/NAME.pcap and writes fixtures/NAME.labels.json.
# The TLS fixtures (tls_fixtures.py: nginx TLS on 18520-18522 and 18527, Node ws over TLS,
# server_wss.js, on 18523-18526) keep the client's key log as fixtures/NAME.keylog.
# Without NAME every fixture listed by driver.py, proxies.py and
# tls_fixtures.py is re-recorded (those old ones deleted first; the h2/
# recorders' fixtures are left alone); with NAMEs (see `driver.py list`) only
# those. Every process it starts is stopped
# by its PID on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="$REPO/fixtures"
PY_PORT=18401
NODE_PORT=18402
RAW_PORT=18403
NGINX_PORTS=(18410 18411 18412 18413 18414)
NGINX_PORTS6=(18415)

if [ "$(id -u)" -ne 0 ]; then
    echo "record.sh: run as root (tcpdump needs it)" >&2
    exit 1
fi

log() { echo "record.sh: $*" >&2; }

# ---------------------------------------------------------------- dependencies
APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
command -v tcpdump >/dev/null || apt_install tcpdump
command -v nginx >/dev/null || apt_install nginx
command -v python3 >/dev/null || apt_install python3 python3-pip
command -v node >/dev/null || apt_install nodejs
command -v npm >/dev/null || apt_install npm
command -v openssl >/dev/null || apt_install openssl
command -v editcap >/dev/null || apt_install wireshark-common
command -v haproxy >/dev/null || apt_install haproxy
command -v apache2 >/dev/null || apt_install apache2
command -v caddy >/dev/null || apt_install caddy
command -v chromium >/dev/null || apt_install chromium
command -v h2o >/dev/null || apt_install --no-install-recommends h2o
command -v traffic_server >/dev/null || apt_install --no-install-recommends trafficserver
command -v nghttpx >/dev/null || apt_install --no-install-recommends nghttp2-proxy
command -v firefox-esr >/dev/null || apt_install firefox-esr
command -v go >/dev/null || apt_install golang-go
[ -d /usr/share/gocode/src/github.com/gorilla/websocket ] || apt_install golang-github-gorilla-websocket-dev
[ -d /usr/share/gocode/src/golang.org/x/net/websocket ] || apt_install golang-golang-x-net-dev
command -v varnishd >/dev/null || apt_install --no-install-recommends varnish
command -v squid >/dev/null || apt_install --no-install-recommends squid
command -v lighttpd >/dev/null || apt_install --no-install-recommends lighttpd
command -v mosquitto >/dev/null || apt_install --no-install-recommends mosquitto
command -v websocketd >/dev/null || apt_install --no-install-recommends websocketd
[ -x /usr/share/tomcat10/bin/catalina.sh ] || apt_install --no-install-recommends tomcat10
[ -d /usr/share/tomcat10-examples/examples ] || apt_install --no-install-recommends tomcat10-examples

want_ws="$(sed -n 's/^websockets==//p' "$HERE/requirements.txt")"
have_ws="$(python3 -c 'from importlib.metadata import version; print(version("websockets"))' 2>/dev/null || true)"
want_ab="$(sed -n 's/^autobahn==//p' "$HERE/requirements.txt")"
have_ab="$(python3 -c 'from importlib.metadata import version; print(version("autobahn"))' 2>/dev/null || true)"
if [ "$have_ws" != "$want_ws" ] || [ "$have_ab" != "$want_ab" ] \
    || ! python3 -c 'import tornado, aiohttp, uvicorn, wsproto, hypercorn, daphne, channels, django, socketio, flask_sock, websockify' 2>/dev/null; then
    log "installing Python requirements"
    python3 -m pip install -q -r "$HERE/requirements.txt"
fi
if [ ! -d "$HERE/node_modules/ws" ] || [ ! -d "$HERE/node_modules/socket.io" ] || [ ! -d "$HERE/node_modules/faye-websocket" ] \
    || [ ! -d "$HERE/node_modules/websocket" ]; then
    log "installing Node packages"
    (cd "$HERE" && { npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent; })
fi

for crate in axum tungstenite actix; do
    if [ ! -x "$HERE/server_$crate/target/release/wshs-fixture-server-$crate" ]; then
        log "building the $crate server"
        cargo build -q --release --locked --manifest-path "$HERE/server_$crate/Cargo.toml"
    fi
done

# ---------------------------------------------------------------- process care
TMP="$(mktemp -d -t wshs-record.XXXXXX)"
PIDS=()          # long-running servers, stopped on exit
TCPDUMP_PID=""   # the capture in progress, if any

stop_pid() {  # stop_pid PID SIGNAL: signal, wait at most 3 s, then SIGKILL
    local pid="$1" sig="${2:-TERM}" i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill "-$sig" "$pid" 2>/dev/null || true
    for i in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "PID $pid did not stop on SIG$sig, killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local i
    [ -n "$TCPDUMP_PID" ] && stop_pid "$TCPDUMP_PID" INT
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[$i]}" TERM
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- servers
log "starting servers"
python3 "$HERE/server_websockets.py" "$PY_PORT" 127.0.0.1 ::1 >"$TMP/python.log" 2>&1 &
PIDS+=("$!")
node "$HERE/server_ws.js" "$NODE_PORT" 127.0.0.1 ::1 >"$TMP/node.log" 2>&1 &
PIDS+=("$!")
python3 "$HERE/server_raw.py" "$RAW_PORT" 127.0.0.1 >"$TMP/raw.log" 2>&1 &
PIDS+=("$!")
# a backend address that drops SYNs (its accept queue full), for a proxy's
# connect that times out; not waited for with a connect, which would hang
python3 "$HERE/server_tarpit.py" 18408 127.0.0.1 >"$TMP/tarpit.log" 2>&1 &
PIDS+=("$!")
mkdir -p "$TMP/nginx/tmp" "$TMP/nginx/logs"
cp "$HERE/nginx.conf" "$TMP/nginx/nginx.conf"
# throwaway certificate for the TLS-terminating servers; lives and dies in $TMP
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
    -keyout "$TMP/nginx/key.pem" -out "$TMP/nginx/cert.pem" 2>"$TMP/openssl.log" \
    || { cat "$TMP/openssl.log" >&2; exit 1; }
nginx -t -q -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx/"
nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx/" >"$TMP/nginx.out" 2>&1 &
PIDS+=("$!")

# HAProxy, Apache httpd and Caddy, each from its own configuration in this
# directory (Apache's and Caddy's state lives in $TMP).
haproxy -c -q -f "$HERE/haproxy.cfg"
haproxy -db -f "$HERE/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PIDS+=("$!")
mkdir -p "$TMP/apache/docroot" "$TMP/caddy"
echo '<html><body>fixture page</body></html>' >"$TMP/apache/docroot/ws"
python3 -c 'import base64, hashlib; print("alice:{SHA}" + base64.b64encode(hashlib.sha1(b"FAKE-password-not-a-secret").digest()).decode())' >"$TMP/apache/htpasswd"
sed "s#@PREFIX@#$TMP/apache#g" "$HERE/apache.conf" >"$TMP/apache/apache.conf"
apache2 -t -f "$TMP/apache/apache.conf" 2>"$TMP/apache.check" || { cat "$TMP/apache.check" >&2; exit 1; }
apache2 -X -f "$TMP/apache/apache.conf" >"$TMP/apache.log" 2>&1 &
PIDS+=("$!")
XDG_DATA_HOME="$TMP/caddy" XDG_CONFIG_HOME="$TMP/caddy" HOME="$TMP/caddy" \
    caddy run --adapter caddyfile --config "$HERE/Caddyfile" >"$TMP/caddy.log" 2>&1 &
PIDS+=("$!")
# Varnish (proxies.py): the built-in VCL, a VCL that pipes upgrades, and a
# backend nothing listens on (18409)
for spec in "18472 -b 127.0.0.1:18401" "18473 -f $HERE/varnish-pipe.vcl" "18488 -b 127.0.0.1:18409"; do
    read -r vport vflag vtarget <<<"$spec"
    mkdir -p "$TMP/varnish/$vport"
    varnishd -F -a "127.0.0.1:$vport" -n "$TMP/varnish/$vport" -T none -s malloc,16m "$vflag" "$vtarget" \
        >"$TMP/varnish-$vport.log" 2>&1 &
    PIDS+=("$!")
done
# lighttpd (proxies.py), one listener per scenario (lighttpd.conf)
mkdir -p "$TMP/lighttpd/docroot"
sed "s#@PREFIX@#$TMP/lighttpd#g" "$HERE/lighttpd.conf" >"$TMP/lighttpd/lighttpd.conf"
cp "$TMP/apache/htpasswd" "$TMP/lighttpd/htpasswd"
lighttpd -tt -f "$TMP/lighttpd/lighttpd.conf"
lighttpd -D -f "$TMP/lighttpd/lighttpd.conf" >"$TMP/lighttpd.log" 2>&1 &
PIDS+=("$!")
# h2o (proxies.py), one process per scenario (h2o.conf): port, backend,
# proxy.websocket
mkdir -p "$TMP/h2o"
for spec in "18531 127.0.0.1:18401 ON" "18532 127.0.0.1:18401 OFF" "18533 127.0.0.1:18409 ON" \
    "18534 127.0.0.1:18402 ON"; do
    read -r hport hbackend hws <<<"$spec"
    sed "s#@PREFIX@#$TMP/h2o#g; s#@PORT@#$hport#g; s#@BACKEND@#$hbackend#g; s#@WEBSOCKET@#$hws#g" \
        "$HERE/h2o.conf" >"$TMP/h2o/h2o-$hport.conf"
    h2o -t -c "$TMP/h2o/h2o-$hport.conf" >"$TMP/h2o.check" 2>&1 || { cat "$TMP/h2o.check" >&2; exit 1; }
    h2o -c "$TMP/h2o/h2o-$hport.conf" >"$TMP/h2o-$hport.log" 2>&1 &
    PIDS+=("$!")
done
# Apache Traffic Server (proxies.py): the packaged configuration in a
# runroot of ours, listening on 18540-18542 with trafficserver-remap.config
mkdir -p "$TMP/ats/run" "$TMP/ats/log" "$TMP/ats/cache"
cp -r /etc/trafficserver "$TMP/ats/etc"
cp "$HERE/trafficserver-remap.config" "$TMP/ats/etc/remap.config"
echo "$TMP/ats/cache 64M" >"$TMP/ats/etc/storage.config"
sed -i 's#^CONFIG proxy.config.http.server_ports STRING .*#CONFIG proxy.config.http.server_ports STRING 18540 18541 18542#;
    s#^CONFIG proxy.config.admin.user_id STRING .*#CONFIG proxy.config.admin.user_id STRING \#-1#' "$TMP/ats/etc/records.config"
printf '%s\n' "prefix: /usr" "exec_prefix: /usr" "bindir: /usr/bin" "sbindir: /usr/sbin" \
    "libdir: /usr/lib/trafficserver" "libexecdir: /usr/lib/trafficserver/modules" \
    "includedir: /usr/include" "sysconfdir: $TMP/ats/etc" "datadir: $TMP/ats/cache" \
    "localstatedir: $TMP/ats" "runtimedir: $TMP/ats/run" "logdir: $TMP/ats/log" \
    "cachedir: $TMP/ats/cache" >"$TMP/ats/runroot.yaml"
traffic_server --run-root="$TMP/ats" >"$TMP/ats.log" 2>&1 &
PIDS+=("$!")
# nghttpx (proxies.py), one process per scenario: port, backend (with its
# parameters), extra options; an empty configuration file keeps the packaged
# one (and its syslog) out.
: >"$TMP/nghttpx.conf"
for spec in "18543 127.0.0.1,18401" "18544 127.0.0.1,18409" "18545 127.0.0.1,18401;;proto=h2" \
    "18546 127.0.0.1,18402 --host-rewrite"; do
    read -r nport nbackend nextra <<<"$spec"
    nghttpx --conf="$TMP/nghttpx.conf" --frontend="127.0.0.1,$nport;no-tls" --backend="$nbackend" \
        --workers=1 --accesslog-file="$TMP/nghttpx-$nport.access.log" \
        --errorlog-file="$TMP/nghttpx-$nport.error.log" $nextra >"$TMP/nghttpx-$nport.log" 2>&1 &
    PIDS+=("$!")
done
# Node's http-proxy (proxies.py, proxy_http_proxy.js): port, target, mode
for spec in "18547 http://127.0.0.1:18401 ws" "18548 http://127.0.0.1:18409 ws" \
    "18549 http://127.0.0.1:18401 no-upgrade"; do
    read -r pport ptarget pmode <<<"$spec"
    node "$HERE/proxy_http_proxy.js" "$pport" "$ptarget" "$pmode" >"$TMP/http-proxy-$pport.log" 2>&1 &
    PIDS+=("$!")
done
PROXY_PORTS=($(python3 "$HERE/proxies.py" ports))

# Node ws over TLS for the TLS fixtures (tls_fixtures.py; its nginx servers
# are in nginx.conf), one listener per version and suite, with the same
# throwaway certificate.
node "$HERE/server_wss.js" "$TMP/nginx/cert.pem" "$TMP/nginx/key.pem" \
    $(python3 "$HERE/tls_fixtures.py" listeners) >"$TMP/wss.log" 2>&1 &
PIDS+=("$!")
TLS_PORTS=($(python3 "$HERE/tls_fixtures.py" ports))

# more servers, a Socket.IO cluster and strict servers (clients.py)
node "$HERE/server_faye.js" 18455 127.0.0.1 >"$TMP/faye.log" 2>&1 &
PIDS+=("$!")
node "$HERE/server_websocket_node.js" 18511 127.0.0.1 >"$TMP/websocket-node.log" 2>&1 &
PIDS+=("$!")
python3 "$HERE/server_autobahn.py" 18456 127.0.0.1 >"$TMP/autobahn.log" 2>&1 &
PIDS+=("$!")
for p in 18451 18452; do
    node "$HERE/server_socketio.js" "$p" 127.0.0.1 >"$TMP/socketio-$p.log" 2>&1 &
    PIDS+=("$!")
done
# python-socketio nodes on uvicorn, behind the same nginx (nginx-cluster.conf)
for p in 18514 18515; do
    python3 "$HERE/server_python_socketio.py" "$p" 127.0.0.1 >"$TMP/python-socketio-$p.log" 2>&1 &
    PIDS+=("$!")
done
# Flask-Sock on Werkzeug's threaded server
python3 "$HERE/server_flask_sock.py" 18519 127.0.0.1 >"$TMP/flask-sock.log" 2>&1 &
PIDS+=("$!")
# ... and one on aiohttp, whose refusals keep their words
python3 "$HERE/server_python_socketio.py" 18518 127.0.0.1 aiohttp >"$TMP/python-socketio-aiohttp.log" 2>&1 &
PIDS+=("$!")
node "$HERE/server_ws_deflate.js" 18458 127.0.0.1 >"$TMP/deflate.log" 2>&1 &
PIDS+=("$!")
python3 "$HERE/server_strict.py" 18459 127.0.0.1 >"$TMP/strict.log" 2>&1 &
PIDS+=("$!")
# Tornado and aiohttp, behind HAProxy's PROXY protocol set-ups (proxies.py)
python3 "$HERE/server_tornado.py" 18496 127.0.0.1 >"$TMP/tornado.log" 2>&1 &
PIDS+=("$!")
python3 "$HERE/server_aiohttp.py" 18497 127.0.0.1 >"$TMP/aiohttp.log" 2>&1 &
PIDS+=("$!")
# Uvicorn with a bare ASGI app, on its wsproto and websockets layers (clients.py)
python3 "$HERE/server_uvicorn.py" 18474 127.0.0.1 wsproto >"$TMP/uvicorn-wsproto.log" 2>&1 &
PIDS+=("$!")
python3 "$HERE/server_uvicorn.py" 18475 127.0.0.1 websockets >"$TMP/uvicorn-websockets.log" 2>&1 &
PIDS+=("$!")
# Go: gorilla/websocket, built against Debian's package of it
(cd "$HERE/server_gorilla" && GOPATH=/usr/share/gocode GO111MODULE=off go build -o "$TMP/server_gorilla" .)
"$TMP/server_gorilla" 18478 127.0.0.1 >"$TMP/gorilla.log" 2>&1 &
PIDS+=("$!")
# Go: golang.org/x/net/websocket, built against Debian's package of it
(cd "$HERE/server_xnet" && GOPATH=/usr/share/gocode GO111MODULE=off go build -o "$TMP/server_xnet" .)
"$TMP/server_xnet" 18448 127.0.0.1 >"$TMP/xnet.log" 2>&1 &
PIDS+=("$!")
# Java: Tomcat 10 in a CATALINA_BASE of its own (tomcat/server.xml), the
# examples' JSR 356 echo endpoint at /ws and /chat
mkdir -p "$TMP/tomcat/conf/Catalina/localhost" "$TMP/tomcat/logs" "$TMP/tomcat/temp" \
    "$TMP/tomcat/work" "$TMP/tomcat/webapps"
cp "$HERE/tomcat/server.xml" /etc/tomcat10/web.xml /etc/tomcat10/catalina.properties \
    /etc/tomcat10/logging.properties "$TMP/tomcat/conf/"
cp "$HERE/tomcat/rewrite.config" "$TMP/tomcat/conf/Catalina/localhost/"
CATALINA_HOME=/usr/share/tomcat10 CATALINA_BASE="$TMP/tomcat" \
    /usr/share/tomcat10/bin/catalina.sh run >"$TMP/tomcat.log" 2>&1 &
PIDS+=("$!")
# websockets 15's asyncio server, in a virtual environment of its own (the
# other fixtures keep websockets 12's legacy server)
WS15="$HERE/.venv-ws15"
if [ "$("$WS15/bin/python" -c 'import websockets, uvicorn; print(websockets.__version__, uvicorn.__version__)' 2>/dev/null)" \
        != "$(sed -n 's/^websockets==//p' "$HERE/requirements-ws15.txt") $(sed -n 's/^uvicorn==//p' "$HERE/requirements-ws15.txt")" ]; then
    log "installing websockets 15 and uvicorn into $WS15"
    python3 -m venv "$WS15"
    "$WS15/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements-ws15.txt"
fi
"$WS15/bin/python" "$HERE/server_websockets15.py" 18446 127.0.0.1 >"$TMP/websockets15.log" 2>&1 &
PIDS+=("$!")
# the bare ASGI app on uvicorn's websockets-sansio layer, which needs websockets 13 or later
"$WS15/bin/python" "$HERE/server_uvicorn.py" 18509 127.0.0.1 websockets-sansio >"$TMP/uvicorn-sansio.log" 2>&1 &
PIDS+=("$!")
# the same bare ASGI app on Hypercorn
(cd "$HERE" && exec python3 -m hypercorn --bind 127.0.0.1:18445 server_uvicorn:app) >"$TMP/hypercorn.log" 2>&1 &
PIDS+=("$!")
# Django Channels on Daphne
python3 "$HERE/server_daphne.py" 18477 127.0.0.1 >"$TMP/daphne.log" 2>&1 &
PIDS+=("$!")
# axum's WebSocketUpgrade (server_axum/, Rust)
"$HERE/server_axum/target/release/wshs-fixture-server-axum" 18476 127.0.0.1 >"$TMP/axum.log" 2>&1 &
PIDS+=("$!")
# tokio-tungstenite on a bare listener (server_tungstenite/, Rust)
"$HERE/server_tungstenite/target/release/wshs-fixture-server-tungstenite" 18449 127.0.0.1 >"$TMP/tungstenite.log" 2>&1 &
PIDS+=("$!")
# websocketd (Go, gorilla/websocket) running cat for every connection; the
# Origin must be app.test (a request without one is refused too)
websocketd --port=18528 --address=127.0.0.1 --origin=app.test,app.test:18450 cat >"$TMP/websocketd.log" 2>&1 &
PIDS+=("$!")
# websockify (noVNC's WebSocket-to-TCP proxy) in front of a TCP echo
# service (18591): plain (18590), choosing its target by a token in the
# query (18592; vm2's target, 18409, has no listener), asking for Basic
# credentials (18593), and with a target nothing listens on (18594)
python3 "$HERE/server_tcp_echo.py" 18591 127.0.0.1 >"$TMP/tcp-echo.log" 2>&1 &
PIDS+=("$!")
printf 'vm1: 127.0.0.1:18591\nvm2: 127.0.0.1:18409\n' >"$TMP/websockify-tokens"
python3 -m websockify 127.0.0.1:18590 127.0.0.1:18591 >"$TMP/websockify.log" 2>&1 &
PIDS+=("$!")
python3 -m websockify --token-plugin TokenFile --token-source "$TMP/websockify-tokens" \
    127.0.0.1:18592 >"$TMP/websockify-token.log" 2>&1 &
PIDS+=("$!")
python3 -m websockify --auth-plugin BasicHTTPAuth --auth-source viewer:FAKE-password-not-a-secret \
    127.0.0.1:18593 127.0.0.1:18591 >"$TMP/websockify-auth.log" 2>&1 &
PIDS+=("$!")
python3 -m websockify 127.0.0.1:18594 127.0.0.1:18409 >"$TMP/websockify-down.log" 2>&1 &
PIDS+=("$!")
# Mosquitto's MQTT over WebSockets (mosquitto.conf; libwebsockets)
mosquitto -c "$HERE/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
PIDS+=("$!")
# actix-web with actix-ws (server_actix/, Rust)
"$HERE/server_actix/target/release/wshs-fixture-server-actix" 18510 127.0.0.1 >"$TMP/actix.log" 2>&1 &
PIDS+=("$!")
# Squid as the browsers' forward proxy (squid.conf; clients.py's
# squid-connect fixtures): run as its own user, in a directory of ours
mkdir -p "$TMP/squid"
chmod o+x "$TMP"  # squid's own user reaches its directory, and no other
sed "s#@PREFIX@#$TMP/squid#g" "$HERE/squid.conf" >"$TMP/squid/squid.conf"
chown -R proxy "$TMP/squid"
squid -N -f "$TMP/squid/squid.conf" >"$TMP/squid.log" 2>&1 &
PIDS+=("$!")
mkdir -p "$TMP/nginx-cluster/tmp" "$TMP/nginx-cluster/logs"
cp "$HERE/nginx-cluster.conf" "$TMP/nginx-cluster/nginx.conf"
nginx -t -q -c "$TMP/nginx-cluster/nginx.conf" -p "$TMP/nginx-cluster/"
nginx -c "$TMP/nginx-cluster/nginx.conf" -p "$TMP/nginx-cluster/" >"$TMP/nginx-cluster.out" 2>&1 &
PIDS+=("$!")
CLIENT_PORTS=(18451 18452 18453 18454 18455 18456 18457 18458 18459 18474 18475 18476 18477 18478 18479 18445 18446 18447 18448 18449 18509 18510 18511 18512 18514 18515 18516 18517 18518 18519 18528 18496 18497 18590 18591 18592 18593 18594)

for p in "$PY_PORT" "$NODE_PORT" "$RAW_PORT" "${NGINX_PORTS[@]}" "${PROXY_PORTS[@]}" "${CLIENT_PORTS[@]}" "${TLS_PORTS[@]}"; do
    python3 "$HERE/driver.py" wait 127.0.0.1 "$p" || { cat "$TMP"/*.log "$TMP/nginx/error.log" >&2; exit 1; }
done
for p in "$PY_PORT" "$NODE_PORT" "${NGINX_PORTS6[@]}"; do
    python3 "$HERE/driver.py" wait ::1 "$p" || exit 1
done
for i in $(seq 1 50); do
    grep -q "tarpit on" "$TMP/tarpit.log" 2>/dev/null && break
    sleep 0.1
done
grep -q "tarpit on" "$TMP/tarpit.log" || { log "the SYN-dropping backend did not start"; cat "$TMP/tarpit.log" >&2; exit 1; }

# ---------------------------------------------------------------- recording
mkdir -p "$OUT"
ALL="$(python3 "$HERE/driver.py" list; python3 "$HERE/proxies.py" list; python3 "$HERE/tls_fixtures.py" list)"
if [ "$#" -eq 0 ]; then
    SELECTED="$ALL"
    # Only the fixtures recorded here are deleted first: the HTTP/2 and
    # browser fixtures (h2/record_*.sh) keep theirs.
    while IFS=$'\t' read -r name _; do
        [ -n "$name" ] && rm -f "$OUT/$name.pcap" "$OUT/$name.labels.json"
    done <<<"$ALL"
else
    SELECTED=""
    for want in "$@"; do
        line="$(printf '%s\n' "$ALL" | awk -F '\t' -v n="$want" '$1 == n')"
        [ -n "$line" ] || { log "unknown fixture $want (see: driver.py list)"; exit 1; }
        SELECTED+="$line"$'\n'
        rm -f "$OUT/$want.pcap" "$OUT/$want.labels.json" "$OUT/$want.keylog"
    done
fi

record_one() {  # record_one NAME FILTER
    local name="$1" filter="$2" pcap="$OUT/$1.pcap" tpid i size last
    tcpdump -i lo -s 0 -U --immediate-mode -Z root -w "$pcap" "$filter" 2>"$TMP/$name.tcpdump" &
    tpid=$!
    TCPDUMP_PID="$tpid"
    for i in $(seq 1 50); do
        grep -q "listening on" "$TMP/$name.tcpdump" 2>/dev/null && break
        sleep 0.1
    done
    grep -q "listening on" "$TMP/$name.tcpdump" || { log "tcpdump did not start for $name"; cat "$TMP/$name.tcpdump" >&2; exit 1; }
    sleep 0.2
    local drv="$HERE/driver.py"
    if python3 "$HERE/proxies.py" list | cut -f1 | grep -qx "$name"; then
        drv="$HERE/proxies.py"
    fi
    # Keyed TLS fixtures: the client writes its session secrets beside the capture.
    local keylog=""
    case "$name" in *-keylog-*) keylog="$OUT/$name.keylog"; rm -f "$keylog" ;; esac
    if python3 "$HERE/tls_fixtures.py" list | cut -f1 | grep -qx "$name"; then
        drv="$HERE/tls_fixtures.py"
        keylog="$OUT/$name.keylog"
        rm -f "$keylog"
    fi
    WSHS_KEYLOG="$keylog" python3 "$drv" run "$name" "$TMP/$name.obs.json"
    # let the last packets (FIN/ACK) reach the file: wait until its size is stable
    last=-1
    for i in $(seq 1 20); do
        sleep 0.2
        size="$(stat -c %s "$pcap")"
        [ "$size" = "$last" ] && break
        last="$size"
    done
    stop_pid "$tpid" INT
    TCPDUMP_PID=""
    if grep -Eq "^[1-9][0-9]* packets? dropped by (kernel|interface)" "$TMP/$name.tcpdump"; then
        log "$name: tcpdump lost packets:"; cat "$TMP/$name.tcpdump" >&2; exit 1
    fi
    WSHS_KEYLOG="$keylog" python3 "$drv" label "$name" "$TMP/$name.obs.json" "$pcap" >"$OUT/$name.labels.json"
    python3 "$HERE/driver.py" summary "$name" "$pcap" "$OUT/$name.labels.json"
    if [ -n "$keylog" ] && [ "$drv" = "$HERE/driver.py" ]; then
        # The same capture with the secrets only inside it (a pcapng
        # Decryption Secrets Block), as editcap or eCapture write it.
        local dsb="${name/-keylog-/-dsb-}"
        editcap --inject-secrets "tls,$keylog" "$pcap" "$OUT/$dsb.pcapng"
        sed 's/"keys": "[^"]*"/"keys": "dsb"/' "$OUT/$name.labels.json" >"$OUT/$dsb.labels.json"
    fi
}

COUNT=0
while IFS=$'\t' read -r name filter; do
    record_one "$name" "$filter"
    COUNT=$((COUNT + 1))
done < <(printf '%s\n' "$SELECTED" | sed '/^$/d')

if [ "$#" -eq 0 ]; then
    log "sessions that end abnormally (sessions.py)"
    python3 "$HERE/sessions.py"
fi
log "recorded $COUNT fixtures into $OUT ($(du -sh "$OUT" | cut -f1))"
python3 "$HERE/driver.py" versions
python3 "$HERE/proxies.py" versions
python3 "$HERE/tls_fixtures.py" versions
if command -v tshark >/dev/null; then
    python3 "$HERE/verify.py" "$OUT"
else
    log "tshark not installed: skipped the cross-check of labels against captures (verify.py)"
fi
